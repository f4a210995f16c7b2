//! The real single-node cluster itself: pods with a privileged DinD native
//! sidecar start dockerd, Services and cluster DNS work between pods, exec
//! goes through the API server, and teardown leaves nothing.
//!
//! Needs root, the binaries of scripts/setup/kube.sh and the images of
//! scripts/setup/node-images.sh; without them each test is reported
//! `ignored`, with why (the `real_node` cfg of build.rs). Under
//! FABDEV_REQUIRE_REAL_NODE=1 (scripts/test.sh sets it) a missing piece
//! fails the test instead, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::Api;
use kube::api::{AttachParams, PostParams};
use serde_json::json;

use testkit::realnode::{self as support, exec, node, wait_pod};

const POD_DEADLINE: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_dind_sidecar_service_and_dns() {
    let node = node("real_node_dind_sidecar_service_and_dns").await;
    for image in [kubenode::DIND_STANDIN_IMAGE, kubenode::PEER_STANDIN_IMAGE] {
        node.import_image(image).expect("import a stand-in image");
    }
    let client = node.client().await.expect("client");
    let ns = "realnode";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .expect("create namespace");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);

    // A peer-like pod: the stand-in node behind a privileged DinD native
    // sidecar, as fabdev renders it (the sidecar must be up first).
    let peer: Pod = serde_json::from_value(json!({
        "metadata": {"name": "peer0", "labels": {"app": "peer0"}},
        "spec": {
            "initContainers": [{
                "name": "dind",
                "image": kubenode::DIND_STANDIN_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "restartPolicy": "Always",
                "args": ["dockerd", "--host=unix:///var/run/dind/docker.sock", "--group=10001"],
                "env": [{"name": "DOCKER_HOST", "value": "unix:///var/run/dind/docker.sock"}],
                "securityContext": {"privileged": true},
                "startupProbe": {
                    "exec": {"command": ["docker", "version"]},
                    "periodSeconds": 1, "failureThreshold": 120
                },
                "volumeMounts": [
                    {"name": "docker", "mountPath": "/var/lib/docker"},
                    {"name": "dind-socket", "mountPath": "/var/run/dind"}
                ]
            }],
            "containers": [{
                "name": "peer",
                "image": kubenode::PEER_STANDIN_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": "operations", "containerPort": 9443}],
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 9443}, "periodSeconds": 1},
                "securityContext": {"runAsUser": 10001, "runAsNonRoot": true, "readOnlyRootFilesystem": true},
                "volumeMounts": [{"name": "dind-socket", "mountPath": "/var/run/dind"}]
            }],
            "securityContext": {"fsGroup": 10001},
            "volumes": [{"name": "docker", "emptyDir": {}}, {"name": "dind-socket", "emptyDir": {}}]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &peer)
        .await
        .expect("create pod peer0");
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "peer0"},
        "spec": {"selector": {"app": "peer0"}, "ports": [{"name": "operations", "port": 9443}]}
    }))
    .unwrap();
    let svc = services
        .create(&PostParams::default(), &svc)
        .await
        .expect("create service");
    let cluster_ip = svc.spec.and_then(|s| s.cluster_ip).expect("a ClusterIP");
    assert!(
        cluster_ip.starts_with("198.19.128."),
        "ClusterIP {cluster_ip} in the service range"
    );

    let ready = wait_pod(&node, &pods, "peer0", POD_DEADLINE, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    })
    .await;
    // The sidecar started (its startup probe ran `docker version` against
    // the daemon) before the peer container.
    let status = ready.status.expect("status");
    let dind = &status
        .init_container_statuses
        .expect("init container statuses")[0];
    assert_eq!(dind.started, Some(true), "dind sidecar started: {dind:?}");
    let pod_ip = status.pod_ip.expect("a pod IP");
    assert!(
        pod_ip.starts_with("198.19.0."),
        "pod IP {pod_ip} in the pod range"
    );

    // dockerd answers inside the sidecar, through exec via the API server.
    let version = exec(
        &pods,
        "peer0",
        &[
            "docker",
            "--host=unix:///var/run/dind/docker.sock",
            "info",
            "--format",
            "{{.ServerVersion}}",
        ],
        AttachParams::default().container("dind"),
    )
    .await;
    assert!(
        version.trim().starts_with("20.10"),
        "dockerd in the sidecar: {version:?}"
    );
    // Its socket, shared with the peer container, belongs to the peer's group.
    let socket = exec(
        &pods,
        "peer0",
        &["stat", "-c", "%g %a", "/var/run/dind/docker.sock"],
        AttachParams::default().container("dind"),
    )
    .await;
    assert_eq!(
        socket.trim(),
        "10001 660",
        "the DinD socket's group and mode"
    );

    // A port-forward through the API server reaches the peer's /healthz.
    let healthz = support::get_through_port_forward(&pods, "peer0", 9443, "/healthz").await;
    assert!(
        healthz.starts_with("HTTP/1.0 200") && healthz.contains("\"status\":\"OK\""),
        "port-forward: {healthz}"
    );

    // Another pod resolves the Service by its cluster DNS name and reaches
    // the peer through it (kube-proxy's ClusterIP).
    let name = format!("peer0.{ns}.svc.cluster.local");
    let script = format!(
        "set -e; for i in $(seq 1 60); do getent hosts {name} && break; sleep 1; done; \
         addr=$(getent hosts {name} | cut -d' ' -f1); echo \"resolved $addr\"; \
         if (exec 4<>/dev/tcp/{pod_ip}/2375) 2>/dev/null; then echo 'dind reachable'; else echo 'dind not reachable'; fi; \
         exec 3<>/dev/tcp/{name}/9443; printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"
    );
    let probe: Pod = serde_json::from_value(json!({
        "metadata": {"name": "client"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "client",
                "image": kubenode::DIND_STANDIN_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/bash", "-c", script]
            }]
        }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &probe)
        .await
        .expect("create pod client");
    let done = wait_pod(&node, &pods, "client", POD_DEADLINE, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|ph| ph == "Succeeded" || ph == "Failed")
    })
    .await;
    let logs = pods
        .logs("client", &Default::default())
        .await
        .expect("client logs");
    assert_eq!(
        done.status.and_then(|s| s.phase).as_deref(),
        Some("Succeeded"),
        "client pod: {logs}"
    );
    assert!(
        logs.contains(&format!("resolved {cluster_ip}")),
        "DNS answer: {logs}"
    );
    // The sidecar's daemon listens on the pod's loopback only.
    assert!(
        logs.contains("dind not reachable"),
        "DinD port from another pod: {logs}"
    );
    assert!(
        logs.contains("200 OK") && logs.contains("\"status\":\"OK\""),
        "GET /healthz through the Service: {logs}"
    );

    drop(node);
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");
}

/// fabdev's own objects for the default network (one orderer, Org1 and
/// Org2 with one peer each), as `fabdev up` applies them: every pod Ready,
/// every peer's DinD sidecar started first and its dockerd answering.
/// With the CI stand-ins for the peer and orderer images; with the real
/// Fabric images of scripts/setup/node-images.sh when FABRIC_HOME is set and
/// they exist (then the peers' /healthz is Fabric's, which asks their DinD).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_default_network_objects_become_ready() {
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use network::pki::{self, CryptoDir};
    use network::render::{self, NodeFiles};
    use network::{Topology, Workspace};

    let node = node("real_node_default_network_objects_become_ready").await;
    let mut ws = Workspace::default_network();
    // The DinD image is always the stand-in: the default name
    // (`docker:28.5.1-dind`) is never made here, and a machine that once had
    // it must not decide whether this test passes.
    ws.images.dind = kubenode::DIND_STANDIN_IMAGE.to_string();
    let fabric_images = std::env::var_os("FABRIC_HOME").is_some()
        && testkit::probe::absent_images(&[&ws.images.peer, &ws.images.orderer]).is_empty();
    if fabric_images {
        eprintln!(
            "real Fabric images: {} and {}",
            ws.images.peer, ws.images.orderer
        );
    } else {
        eprintln!("stand-in peer and orderer images (no FABRIC_HOME, or no images made from it)");
        ws.images.peer = kubenode::PEER_STANDIN_IMAGE.to_string();
        ws.images.orderer = kubenode::ORDERER_STANDIN_IMAGE.to_string();
    }
    for image in [&ws.images.dind, &ws.images.peer, &ws.images.orderer] {
        node.import_image(image).expect("import a stand-in image");
    }
    let topo = Topology::of(&ws);
    let dir = tempfile::tempdir().expect("temp folder");
    let crypto = CryptoDir::new(dir.path().join("crypto"));
    pki::ensure(&ws, &topo, &crypto).expect("crypto material");
    let mut files = NodeFiles::new();
    for n in &topo.nodes {
        files.insert(
            n.name.clone(),
            pki::read_tree(&crypto.node_dir(n)).expect("node files"),
        );
    }
    let typed = render::typed_objects(&ws, &topo, &files).expect("render");

    let client = node.client().await.expect("client");
    let ns = topo.namespace.clone();
    let pp = PostParams::default();
    Api::<Namespace>::all(client.clone())
        .create(&pp, &typed.namespace)
        .await
        .expect("namespace");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for s in &typed.secrets {
        secrets.create(&pp, s).await.expect("secret");
    }
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    for s in &typed.services {
        services.create(&pp, s).await.expect("service");
    }
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    for p in &typed.network_policies {
        policies.create(&pp, p).await.expect("network policy");
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    for s in &typed.statefulsets {
        sets.create(&pp, s).await.expect("statefulset");
    }

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for sts in &typed.statefulsets {
        let name = format!(
            "{}-0",
            sts.metadata.name.as_deref().expect("statefulset name")
        );
        let pod = wait_pod(&node, &pods, &name, POD_DEADLINE, |p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .await;
        let status = pod.status.expect("status");
        for sidecar in status.init_container_statuses.unwrap_or_default() {
            assert_eq!(sidecar.started, Some(true), "{name}: sidecar {sidecar:?}");
            if sidecar.name == "dind" {
                let version = exec(
                    &pods,
                    &name,
                    &[
                        "docker",
                        "--host=unix:///var/run/dind/docker.sock",
                        "version",
                        "--format",
                        "{{.Server.Version}}",
                    ],
                    AttachParams::default().container("dind"),
                )
                .await;
                assert!(
                    version.trim().starts_with("20.10"),
                    "{name}: dockerd {version:?}"
                );
            }
        }
        eprintln!("{name}: Ready");
    }

    drop(node);
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");
}

/// Set in the child process of [`real_node_a_killed_run_is_cleared_by_the_next`].
const HELPER_ENV: &str = "FABDEV_KUBENODE_KILLED_RUN_HELPER";

/// Not a test of its own: run as a child process by
/// [`real_node_a_killed_run_is_cleared_by_the_next`] (with `--ignored`), it
/// starts a node with a DinD pod running, says `READY`, and waits to be
/// killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a helper: real_node_a_killed_run_is_cleared_by_the_next runs it in a child process"]
async fn real_node_killed_run_helper() {
    assert!(
        std::env::var_os(HELPER_ENV).is_some(),
        "a helper of real_node_a_killed_run_is_cleared_by_the_next, not a test of its own"
    );
    let node = kubenode::KubeNode::start(kubenode::NodeOptions::default())
        .await
        .expect("the helper's node");
    node.import_image(kubenode::DIND_STANDIN_IMAGE)
        .expect("import");
    let pods: Api<Pod> = Api::namespaced(node.client().await.expect("client"), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "dind"},
        "spec": {"containers": [{
            "name": "dind",
            "image": kubenode::DIND_STANDIN_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "args": ["dockerd", "--host=unix:///var/run/docker.sock"],
            "securityContext": {"privileged": true},
            "readinessProbe": {"exec": {"command": ["docker", "version"]}, "periodSeconds": 1},
            "volumeMounts": [{"name": "docker", "mountPath": "/var/lib/docker"}]
        }], "volumes": [{"name": "docker", "emptyDir": {}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    wait_pod(&node, &pods, "dind", POD_DEADLINE, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    })
    .await;
    println!("READY");
    // Until the parent kills this process (SIGKILL: no teardown runs). Its
    // stdin is the parent's pipe: should the parent die first, the pipe
    // closes and the helper tears its node down at once, rather than
    // waiting out its deadline.
    let parent_gone = tokio::task::spawn_blocking(|| {
        use std::io::Read as _;
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    match tokio::time::timeout(Duration::from_secs(600), parent_gone).await {
        Ok(_) => panic!("the helper's parent closed its stdin before killing it"),
        Err(_) => panic!("the helper was not killed within 600 s"),
    }
}

/// A run killed with SIGKILL (no teardown) leaves its processes, pods,
/// mounts, bridge and iptables rules behind; the next start clears them,
/// and that node's teardown leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_a_killed_run_is_cleared_by_the_next() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    testkit::probe::Check::real_node()
        .fail_if_missing("real_node_a_killed_run_is_cleared_by_the_next");
    let exe = std::env::current_exe().expect("this test binary");
    let mut child = Command::new(exe)
        .args([
            "real_node_killed_run_helper",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the helper");
    let stdout = child.stdout.take().expect("helper stdout");
    // Read its output on a thread; the helper's own deadlines bound it.
    let ready = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.trim() == "READY")
    })
    .await
    .expect("reader");
    child.kill().expect("kill the helper");
    let status = child.wait().expect("helper exit");
    assert!(ready, "the helper never said READY (exit {status})");

    // The components die with the process that started them (parent-death
    // signal); the pods' processes (containerd's shims, dockerd) stay.
    let components = [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "containerd",
        "kubelet",
        "kube-proxy",
        "coredns",
    ];
    let component_of = |line: &String| {
        let cmd = line.split_once('(')?.1;
        let program = cmd.split_whitespace().next()?;
        let name = std::path::Path::new(program).file_name()?.to_str()?;
        // Each component's arguments name the node's folder; the pods'
        // own processes (a DinD's containerd) do not.
        (components.contains(&name) && cmd.contains(kubenode::BASE_DIR)).then(|| line.clone())
    };
    let alive = testkit::wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
        let alive: Vec<String> = kubenode::leftovers()
            .iter()
            .filter_map(component_of)
            .collect();
        alive.is_empty().then_some(())
    });
    assert!(
        alive.is_some(),
        "the node's components outlived the killed process: {:#?}",
        kubenode::leftovers()
            .iter()
            .filter_map(component_of)
            .collect::<Vec<_>>()
    );
    let left = kubenode::leftovers();
    // The pods' processes usually outlive the kill (containerd's shims),
    // but not always: a shim can die with its containerd (seen once in a
    // full CI run: mounts of both tasks left, no shim). What stays always
    // is the node's folder, its mounts and its bridge.
    if !left.iter().any(|l| l.starts_with("process")) {
        eprintln!("no process of the killed run outlived it: {left:#?}");
    }
    for what in ["/var/lib/fabdev-kubenode exists", "bridge fdkbr0", "mount"] {
        assert!(
            left.iter().any(|l| l.starts_with(what)),
            "a killed run leaves {what:?} behind (else this test proves nothing): {left:#?}"
        );
    }

    let node = node("real_node_a_killed_run_is_cleared_by_the_next").await;
    let pods: Api<Pod> = Api::namespaced(node.client().await.expect("client"), "default");
    assert!(
        pods.get_opt("dind").await.expect("get").is_none(),
        "a new node starts empty"
    );
    drop(node);
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");
}
