#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `fabdev up` in existing-cluster mode on the real single-node cluster of
//! crates/kubenode (kubelet on the host's containerd, kube-proxy, CNI
//! bridge, CoreDNS): the pod side of fabdev run for real.
//!
//! - `real_node_up_pod_plumbing` (CI): with the stand-in peer and orderer
//!   images (they only answer /healthz) and the DinD stand-in (Debian's
//!   dockerd), `up` brings every pod Ready with a running dockerd in each
//!   DinD sidecar (the peer's /healthz pings it), copies what the
//!   declared (Go) chaincode runs on, and only that, into every DinD
//!   through the API server (`docker load` run in the
//!   sidecar), and stops where real Fabric is needed (the channel joins),
//!   saying so. A second `up` changes nothing and copies nothing; `status`
//!   lists every pod Ready; no DinD daemon listens on any TCP port of its
//!   pod, so none is reachable from the host, from another pod or from a
//!   container sharing the pod's network (chaincode); `down` leaves no
//!   namespace.
//! - `real_node_up_real_fabric_chaincode` (locally, with FABRIC_HOME and
//!   the images scripts/setup/node-images.sh makes from it): `up` goes all
//!   the way (channel joined through port-forwards, the Node fixture
//!   deployed), `invoke` / `query` / `chaincode logs` answer, `status`
//!   shows each node on its channel, and killing the DinD sidecar's
//!   dockerd makes the peer unready until the sidecar is restarted, after
//!   which the chaincode is launched again and answers.
//!
//! Needs root, the binaries of scripts/setup/kube.sh and the images of
//! scripts/setup/node-images.sh (the second test also FABRIC_HOME and the
//! images made from it); without them each test is reported `ignored`, with
//! why (the `real_node` and `real_node_fabric` cfgs of build.rs). Under
//! FABDEV_REQUIRE_REAL_NODE=1 (scripts/test.sh sets it) a missing piece
//! fails the test instead, naming it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fabdev::flow::{self, Options};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::AttachParams;
use kubenode::KubeNode;
use testkit::outcome::outcome;
use testkit::probe::{self, Check};
use testkit::realnode::{exec, node, wait_pod};

/// One node at a time (kubenode also serializes with a lock file).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A workspace on the node's cluster: one peer org, one orderer, one
/// channel, with `images` and `extra` in fabdev.yaml.
fn workspace(dir: &Path, node: &KubeNode, name: &str, images: &str, extra: &str) {
    std::fs::write(
        dir.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {name}\n\
             cluster: {{ provider: existing, kubeconfig: {}, context: {} }}\n\
             images: {{ {images} }}\n\
             orgs:\n  - {{ name: Org1, peers: 1, stateDatabase: leveldb }}\n\
             channels:\n  - {{ name: mychannel, orgs: [Org1] }}\n{extra}",
            node.kubeconfig().display(),
            node.context(),
        ),
    )
    .unwrap();
}

/// Ports listening in a pod's network namespace (from /proc/net/tcp{,6} as
/// a container of the pod sees them).
async fn listening_ports(pods: &Api<Pod>, pod: &str, container: &str) -> Vec<u16> {
    let out = exec(
        pods,
        pod,
        &["cat", "/proc/net/tcp", "/proc/net/tcp6"],
        AttachParams::default().container(container),
    )
    .await;
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.get(3) == Some(&"0A"))
                .then(|| cols.get(1)?.rsplit(':').next())
                .flatten()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Whether a TCP connection from `pod`'s `container` to `ip:port` opens
/// (bash's /dev/tcp; the DinD stand-in has bash).
async fn connects_from(pods: &Api<Pod>, pod: &str, container: &str, ip: &str, port: u16) -> bool {
    let script = format!(
        "if timeout 3 bash -c 'exec 3<>/dev/tcp/{ip}/{port}' 2>/dev/null; then echo open; else echo closed; fi"
    );
    exec(
        pods,
        pod,
        &["bash", "-c", &script],
        AttachParams::default().container(container),
    )
    .await
    .contains("open")
}

fn pod_ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_up_pod_plumbing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let node = node("real_node_up_pod_plumbing").await;
    for image in [
        kubenode::DIND_STANDIN_IMAGE,
        kubenode::PEER_STANDIN_IMAGE,
        kubenode::ORDERER_STANDIN_IMAGE,
    ] {
        node.import_image(image).expect("import a stand-in image");
    }
    let builders = [
        "fabdev.invalid/realnode-ccenv:1",
        "fabdev.invalid/realnode-baseos:1",
        "fabdev.invalid/realnode-nodeenv:1",
    ];
    for b in builders {
        testkit::tiny_image("docker", b);
    }
    let dir = tempfile::tempdir().unwrap();
    let ns = "realnode-up";
    workspace(
        dir.path(),
        &node,
        ns,
        &format!(
            "peer: {}, orderer: {}, dind: {}, ccenv: {}, baseos: {}, nodeenv: {}",
            kubenode::PEER_STANDIN_IMAGE,
            kubenode::ORDERER_STANDIN_IMAGE,
            kubenode::DIND_STANDIN_IMAGE,
            builders[0],
            builders[1],
            builders[2]
        ),
        &testkit::declared_chaincodes(dir.path(), "mychannel", &["go"]),
    );
    let mut opts = Options::new(dir.path());
    opts.wait_timeout = Duration::from_secs(240);

    // First up: every pod Ready, Go's runtime in every DinD, then
    // the channel step fails: the stand-ins are not Fabric.
    let mut events = Vec::new();
    let started = Instant::now();
    let first = flow::up(&opts, &mut events).await;
    let o = outcome(&events);
    eprintln!("first up: {:.1?}\n{o:#?}", started.elapsed());
    let err = first.expect_err("stand-in nodes cannot join a channel");
    assert_eq!(
        o.failed.keys().collect::<Vec<_>>(),
        ["channel mychannel"],
        "{err}\n{o:#?}\n{}",
        node.logs(40)
    );
    for step in [
        "existing cluster",
        "apply objects",
        "wait for orderers and peers Ready",
        "builder images in every peer's DinD",
        "node endpoints",
    ] {
        assert!(o.done.iter().any(|d| d == step), "{step}: {o:#?}");
    }
    assert_eq!(o.pods_ready, Some(2), "{o:#?}");
    // fabdev.yaml declares Go chaincode only, and the host's Docker has
    // Go's builder, so fabdev builds Go chaincode itself and the DinDs get
    // only what Go chaincode runs on (issue 18): not Node's image, not
    // Go's builder.
    let (copied, present) = o.dind.get("dind of peer0-org1").expect("DinD event");
    assert_eq!(
        (copied.clone(), present.len()),
        (vec![builders[1].to_string()], 0),
        "{o:#?}"
    );
    assert!(
        o.detail("builder images in every peer's DinD")
            .contains("Go's builder stays on the host"),
        "{o:#?}"
    );

    // The images are in the sidecar's daemon, which the peer pings.
    let client = node.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let peer_pod = "peer0-org1-0";
    let images = exec(
        &pods,
        peer_pod,
        &["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        AttachParams::default().container("dind"),
    )
    .await;
    assert!(
        images.lines().any(|l| l == builders[1]),
        "{} in {images}",
        builders[1]
    );
    assert!(
        !images.lines().any(|l| l == builders[0]),
        "Go's builder in the DinD though fabdev builds: {images}"
    );
    assert!(
        !images.lines().any(|l| l == builders[2]),
        "Node's image in the DinD though no Node chaincode is declared: {images}"
    );

    // Second up: nothing applied, nothing copied; it stops at the same place.
    let mut events = Vec::new();
    let again = flow::up(&opts, &mut events).await;
    let o = outcome(&events);
    assert!(again.is_err());
    assert_eq!(o.applied.map(|(_, changed)| changed), Some(0), "{o:#?}");
    let (copied, present) = o.dind.get("dind of peer0-org1").expect("DinD event");
    assert_eq!((copied.len(), present.len()), (0, 1), "{o:#?}");

    // status: both pods Ready.
    let status = flow::status(&opts, &mut Vec::new()).await.expect("status");
    testkit::outcome::assert_all_ready(&status, "existing", 2);

    // No daemon port anywhere: nothing listens on 2375/2376 in the peer's
    // network namespace (which chaincode shares), and the pod's address
    // refuses them from the host and from another pod (the orderer's
    // namespace is the stand-in's; the probe runs from the peer's own DinD
    // sidecar against the pod IP, and from the host).
    let listening = listening_ports(&pods, peer_pod, "dind").await;
    assert!(listening.contains(&9443), "the peer's port: {listening:?}");
    assert!(
        !listening.contains(&2375) && !listening.contains(&2376),
        "{listening:?}"
    );
    let peer_ip = pod_ip(&pods.get(peer_pod).await.unwrap());
    for port in [2375u16, 2376] {
        let from_host = std::net::TcpStream::connect_timeout(
            &format!("{peer_ip}:{port}").parse().unwrap(),
            Duration::from_secs(3),
        );
        assert!(from_host.is_err(), "host reached {peer_ip}:{port}");
        assert!(
            !connects_from(&pods, peer_pod, "dind", "127.0.0.1", port).await,
            "loopback {port} open in the pod"
        );
    }
    // Control: the probe does see an open port (the peer's operations port).
    assert!(connects_from(&pods, peer_pod, "dind", &peer_ip, 9443).await);
    assert!(
        std::net::TcpStream::connect_timeout(
            &format!("{peer_ip}:9443").parse().unwrap(),
            Duration::from_secs(3)
        )
        .is_ok()
    );
    // The socket is in the volume shared by the sidecar and the peer only.
    let mounted = exec(
        &pods,
        peer_pod,
        &["sh", "-c", "ls -l /var/run/dind/docker.sock"],
        AttachParams::default().container("dind"),
    )
    .await;
    assert!(
        mounted.contains("docker.sock") && mounted.contains("10001"),
        "{mounted}"
    );

    // down: the namespace is gone.
    flow::down(&opts, true, false, &mut Vec::new())
        .await
        .expect("down");
    let namespaces: Api<Namespace> = Api::all(client);
    assert!(namespaces.get_opt(ns).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node_fabric),
    ignore = "needs the real node and FABRIC_HOME with the images scripts/setup/node-images.sh makes from it; FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_up_real_fabric_chaincode() {
    let _one = ONE_AT_A_TIME.lock().await;
    Check::real_node_fabric().fail_if_missing("real_node_up_real_fabric_chaincode");
    let home = probe::fabric_home().expect("checked");
    let version = probe::fabric_version(&home).expect("checked");
    let peer_image = probe::local_fabric_image("peer", &version);
    let orderer_image = probe::local_fabric_image("orderer", &version);
    let node = node("real_node_up_real_fabric_chaincode").await;
    let two = version
        .rsplit_once('.')
        .map(|(two, _)| two.to_string())
        .expect("a version a.b.c");
    for image in [kubenode::DIND_STANDIN_IMAGE, &peer_image, &orderer_image] {
        node.import_image(image).expect("import an image");
    }
    let dir = tempfile::tempdir().unwrap();
    let cc = dir.path().join("chaincode/asset-node");
    testkit::copy_tree(&testkit::fixture("chaincode/node"), &cc);
    let ns = "realnode-fabric";
    workspace(
        dir.path(),
        &node,
        ns,
        &{
            let [ccenv, baseos, nodeenv] = probe::builder_standins(&two);
            format!(
                "peer: {peer_image}, orderer: {orderer_image}, dind: {}, ccenv: {ccenv}, baseos: {baseos}, nodeenv: {nodeenv}",
                kubenode::DIND_STANDIN_IMAGE
            )
        },
        "chaincodes:\n  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n",
    );
    std::fs::write(
        dir.path().join("fabdev.yaml"),
        std::fs::read_to_string(dir.path().join("fabdev.yaml"))
            .unwrap()
            .replace(
                "kind: Workspace\n",
                &format!("kind: Workspace\nfabric: {{ version: \"{two}\" }}\n"),
            ),
    )
    .unwrap();
    let mut opts = Options::new(dir.path());
    opts.wait_timeout = Duration::from_secs(300);

    let fabdev = |args: &[&str]| testkit::fabdev_logged(dir.path(), args);

    let started = Instant::now();
    let out = fabdev(&["up"]);
    let up_time = started.elapsed();
    assert!(out.status.success(), "up failed\n{}", node.logs(60));
    eprintln!("cold up: {up_time:.1?}");
    let started = Instant::now();
    let out = fabdev(&["up"]);
    assert!(out.status.success(), "second up failed\n{}", node.logs(60));
    eprintln!("warm up: {:.1?}", started.elapsed());

    testkit::assert_basic_answers(fabdev);
    let status = flow::status(&opts, &mut Vec::new()).await.expect("status");
    for n in &status.nodes {
        assert_eq!(
            n.channels.as_deref(),
            Ok(&["mychannel".to_string()][..]),
            "{n:?}"
        );
    }

    // The sidecar's dockerd stops answering (SIGSTOP): the peer turns
    // unready, as its /healthz pings the daemon. Then it is killed: the
    // kubelet restarts the sidecar, the peer is Ready again, and the
    // chaincode (its container died with the daemon) is launched again on
    // the next call.
    let client = node.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client, ns);
    let peer_pod = "peer0-org1-0";
    let dind_id = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.init_container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == "dind"))
            .map(|c| {
                (
                    c.container_id
                        .clone()
                        .unwrap_or_default()
                        .trim_start_matches("containerd://")
                        .to_string(),
                    c.restart_count,
                )
            })
            .expect("the dind sidecar's status")
    };
    let signal = |id: &str, sig: &str| {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(node.containerd_socket())
            .args(["-n", "k8s.io", "tasks", "kill", "--signal", sig, id])
            .output()
            .expect("ctr");
        assert!(
            out.status.success(),
            "ctr tasks kill {sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ready = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let (id, restarts) = dind_id(&pods.get(peer_pod).await.unwrap());
    signal(&id, "SIGSTOP");
    wait_pod(&node, &pods, peer_pod, Duration::from_secs(90), |p| {
        !ready(p)
    })
    .await;
    signal(&id, "SIGKILL");
    let back = wait_pod(&node, &pods, peer_pod, Duration::from_secs(180), ready).await;
    assert_eq!(dind_id(&back).1, restarts + 1, "the sidecar was restarted");
    // The peer launches the chaincode again on the first call after the
    // restart; calls before that fail.
    let answered = testkit::wait_until(Duration::from_secs(60), Duration::from_secs(2), || {
        let out = fabdev(&["chaincode", "query", "basic", "ReadAsset", "a1"]);
        out.status.success().then_some(())
    })
    .is_some();
    assert!(
        answered,
        "the chaincode was not launched again\n{}",
        node.logs(60)
    );
    let out = fabdev(&["down"]);
    assert!(out.status.success());
}
