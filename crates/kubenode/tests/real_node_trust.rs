//! What the real node lets in and what it leaves alone: only its admin
//! drives it (etcd on loopback with client certificates, this run's token,
//! private keys, a firewall for the node's address), and it removes only
//! what it made and refuses to start beside another kubelet's chains or
//! device-plugin socket.
//!
//! Needs root, the binaries of scripts/setup/kube.sh and the images of
//! scripts/setup/node-images.sh; without them each test is reported
//! `ignored`, with why (the `real_node` cfg of build.rs). Under
//! FABDEV_REQUIRE_REAL_NODE=1 (scripts/test.sh sets it) a missing piece
//! fails the test instead, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use testkit::realnode::node;

/// One node at a time in this binary (kubenode also serializes with a lock
/// file; these tests change the host's packet filter around it).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A network namespace joined to the host by a veth pair (203.0.113.0/30,
/// TEST-NET-3: this host's own address may be in TEST-NET-1), routing the
/// node's address through the host like a neighbour would; removed on drop.
struct Neighbour;

const NEIGHBOUR_NS: &str = "fdk-neighbour";

impl Neighbour {
    fn new() -> Neighbour {
        let _ = Command::new("ip")
            .args(["netns", "del", NEIGHBOUR_NS])
            .output();
        for cmd in [
            "ip netns add fdk-neighbour",
            "ip link add fdkn0 type veth peer name fdkn1 netns fdk-neighbour",
            "ip addr add 203.0.113.1/30 dev fdkn0",
            "ip link set fdkn0 up",
            "ip -n fdk-neighbour addr add 203.0.113.2/30 dev fdkn1",
            "ip -n fdk-neighbour link set fdkn1 up",
            "ip -n fdk-neighbour link set lo up",
            "ip -n fdk-neighbour route add 198.19.0.0/16 via 203.0.113.1",
        ] {
            let words: Vec<&str> = cmd.split(' ').collect();
            let out = Command::new(words[0])
                .args(&words[1..])
                .output()
                .expect(cmd);
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Neighbour
    }

    /// Whether a TCP connection from the namespace to `addr` opens within
    /// 3 s, and what bash said.
    fn connects(&self, addr: &str) -> (bool, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", NEIGHBOUR_NS, "timeout", "3", "bash", "-c"])
            .arg(format!(
                "exec 3<>/dev/tcp/{}/{}",
                addr.split(':').next().unwrap(),
                addr.split(':').nth(1).unwrap()
            ))
            .output()
            .expect("ip netns exec");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Neighbour {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", "fdkn0"]).output();
        let _ = Command::new("ip")
            .args(["netns", "del", NEIGHBOUR_NS])
            .output();
    }
}

/// Packets the node's firewall dropped so far (its DROP rule's counter).
fn firewall_drops() -> u64 {
    let out = Command::new("iptables")
        .args(["-L", "FABDEV-KUBENODE-INPUT", "-v", "-x", "-n"])
        .output()
        .expect("iptables -L");
    assert!(
        out.status.success(),
        "the node's firewall chain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some("DROP"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("a DROP rule with a packet count")
}

/// Packets for the pods from outside the bridge that the node dropped so
/// far (its rule in mangle's FORWARD).
fn pod_range_drops() -> u64 {
    let out = Command::new("iptables")
        .args(["-t", "mangle", "-L", "FORWARD", "-v", "-x", "-n"])
        .output()
        .expect("iptables -L");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("pods only from the bridge"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("the node's pods-only-from-the-bridge rule with a packet count")
}

/// `GET path` in plain HTTP on `addr`: the answer's first bytes, or the
/// connection error.
fn plain_http(addr: &str, path: &str) -> Result<String, std::io::Error> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Only the node's admin drives it: etcd is not on the node's address and
/// wants TLS client certificates on loopback, the constant token of old is
/// refused, the keys, token and kubeconfig are private, and a neighbour
/// routing the node's address through this host is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_only_its_admin_reaches_it() {
    use std::os::unix::fs::PermissionsExt;
    let _one = ONE_AT_A_TIME.lock().await;

    let node = node("real_node_only_its_admin_reaches_it").await;
    let base = std::path::Path::new(kubenode::BASE_DIR);

    // etcd: nothing on the node's address; on loopback, no plain HTTP.
    let on_node = plain_http("198.19.0.1:2379", "/version");
    assert!(
        on_node.is_err(),
        "etcd answers on the node address: {on_node:?}"
    );
    // (etcd closes a connection that does not start a TLS handshake.)
    let on_loopback = plain_http("127.0.0.1:2379", "/version").expect("etcd on loopback");
    assert!(
        !on_loopback.contains("etcdserver") && !on_loopback.contains(" 200 "),
        "etcd answers plain HTTP on loopback: {on_loopback}"
    );

    // The token every node had before is refused; this run's works.
    let kubeconfig = std::fs::read_to_string(node.kubeconfig()).expect("kubeconfig");
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("a token in the kubeconfig");
    assert_ne!(token, "fabdev-kubenode-admin-token");
    node.client()
        .await
        .expect("client")
        .apiserver_version()
        .await
        .expect("this run's token is accepted");
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old-token.kubeconfig");
    std::fs::write(
        &old,
        kubeconfig.replace(token, "fabdev-kubenode-admin-token"),
    )
    .unwrap();
    let refused = kubenode::client(&old)
        .await
        .expect("a client with the old token")
        .apiserver_version()
        .await;
    match refused {
        Err(kube::Error::Api(status)) if status.code == 401 => {}
        other => panic!("the old constant token must be refused (401): {other:?}"),
    }

    // Private files and folders.
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(base), 0o711);
    for dir in ["pki", "etcd", "kubelet", "containerd", "logs"] {
        assert_eq!(mode(&base.join(dir)), 0o700, "{dir}");
    }
    for file in [
        "tokens.csv",
        "kubeconfig",
        "pki/sa.key",
        "pki/apiserver.key",
        "pki/apiserver-kubelet-client.key",
        "pki/etcd.key",
        "pki/apiserver-etcd-client.key",
    ] {
        assert_eq!(mode(&base.join(file)), 0o600, "{file}");
    }

    // A neighbour that routes the node's address through this host is
    // dropped by the node's firewall; this host itself still reaches it.
    let neighbour = Neighbour::new();
    let before = firewall_drops();
    let (connected, said) = neighbour.connects("198.19.0.1:6443");
    assert!(
        !connected,
        "a neighbour reaches the API server on the node address"
    );
    let sh = |cmd: &str| {
        let out = Command::new("sh").args(["-c", cmd]).output().expect("sh");
        format!(
            "$ {cmd}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    assert!(
        firewall_drops() > before,
        "the node's firewall dropped nothing: the attempt did not reach it ({said})\n{}{}{}{}",
        sh("iptables -S INPUT"),
        sh("iptables -L FABDEV-KUBENODE-INPUT -v -x -n"),
        sh("ip -n fdk-neighbour route; ip -n fdk-neighbour addr"),
        sh(
            "ip route get 198.19.0.1 from 203.0.113.2 iif fdkn0; ip addr show fdkn0; sysctl net.ipv4.conf.fdkn0.rp_filter net.ipv4.conf.all.rp_filter"
        )
    );
    assert!(plain_http("198.19.0.1:6443", "/").is_ok());
    drop(neighbour);

    drop(node);
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");
}

/// Run `cmd` (words), failing the test with its output if it fails.
fn must(cmd: &str) {
    let words: Vec<&str> = cmd.split(' ').collect();
    let out = Command::new(words[0])
        .args(&words[1..])
        .output()
        .expect(cmd);
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `family` (iptables, ip6tables) has `chain` in `table`.
fn has_chain(family: &str, table: &str, chain: &str) -> bool {
    Command::new(family)
        .args(["-t", table, "-S", chain])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the test made on the host, removed whatever happens.
struct Foreign;

const FOREIGN_CNI: &str = "CNI-FDKTEST-FOREIGN";
const FOREIGN_KUBE: &str = "KUBE-FDKTEST-FOREIGN";
const DEVICE_PLUGINS: &str = "/var/lib/kubelet/device-plugins";

impl Drop for Foreign {
    fn drop(&mut self) {
        for family in ["iptables", "ip6tables"] {
            for (table, chain) in [("nat", FOREIGN_CNI), ("mangle", FOREIGN_KUBE)] {
                let _ = Command::new(family)
                    .args(["-t", "nat", "-D", "PREROUTING", "-j", FOREIGN_CNI])
                    .output();
                let _ = Command::new(family)
                    .args(["-t", table, "-F", chain])
                    .output();
                let _ = Command::new(family)
                    .args(["-t", table, "-X", chain])
                    .output();
            }
        }
        let _ = std::fs::remove_file(format!("{DEVICE_PLUGINS}/kubelet.sock"));
        let _ = std::fs::remove_dir(DEVICE_PLUGINS);
        let _ = std::fs::remove_dir("/var/lib/kubelet");
    }
}

/// Another CNI's chain (named like the node's, `CNI-*`, with a rule and a
/// jump from PREROUTING) survives the node's start and teardown; another
/// kubelet's `KUBE-*` chain or device-plugin socket makes the node refuse
/// to start, naming it, and leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_removes_only_what_it_made() {
    let _one = ONE_AT_A_TIME.lock().await;
    testkit::probe::Check::real_node().fail_if_missing("real_node_removes_only_what_it_made");
    let _foreign = Foreign;
    for family in ["iptables", "ip6tables"] {
        must(&format!("{family} -t nat -N {FOREIGN_CNI}"));
        must(&format!("{family} -t nat -A {FOREIGN_CNI} -j RETURN"));
        must(&format!("{family} -t nat -A PREROUTING -j {FOREIGN_CNI}"));
    }
    let node = node("real_node_removes_only_what_it_made").await;
    drop(node);
    for family in ["iptables", "ip6tables"] {
        assert!(
            has_chain(family, "nat", FOREIGN_CNI),
            "the node's teardown removed {family}'s {FOREIGN_CNI}, which was there before it"
        );
        let jump = Command::new(family)
            .args(["-t", "nat", "-C", "PREROUTING", "-j", FOREIGN_CNI])
            .output()
            .unwrap();
        assert!(
            jump.status.success(),
            "the jump to {FOREIGN_CNI} is gone ({family})"
        );
    }
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");

    // Another kubelet's chain: refused, named, left alone.
    must(&format!("iptables -t mangle -N {FOREIGN_KUBE}"));
    let refused = kubenode::KubeNode::start(kubenode::NodeOptions::default()).await;
    match refused {
        Err(kubenode::NodeError::Conflict(why)) => {
            assert!(why.contains(FOREIGN_KUBE), "{why}");
        }
        other => panic!("the node must refuse beside another kubelet's chains: {other:?}"),
    }
    assert!(has_chain("iptables", "mangle", FOREIGN_KUBE));
    must(&format!("iptables -t mangle -X {FOREIGN_KUBE}"));

    // Another kubelet's device-plugin socket: refused, left alone.
    std::fs::create_dir_all(DEVICE_PLUGINS).unwrap();
    let socket = format!("{DEVICE_PLUGINS}/kubelet.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let refused = kubenode::KubeNode::start(kubenode::NodeOptions::default()).await;
    match refused {
        Err(kubenode::NodeError::Conflict(why)) => {
            assert!(why.contains("kubelet.sock"), "{why}");
        }
        other => panic!("the node must refuse beside another kubelet's socket: {other:?}"),
    }
    assert!(
        std::path::Path::new(&socket).exists(),
        "the socket was removed"
    );
    assert!(kubenode::leftovers().is_empty());
}

/// Set in the child process of [`real_node_sigterm_and_sighup_tear_it_down`].
const SIGNAL_HELPER_ENV: &str = "FABDEV_KUBENODE_SIGNAL_HELPER";

/// Not a test of its own: run as a child process by
/// [`real_node_sigterm_and_sighup_tear_it_down`] (with `--ignored`), it runs
/// a node as the `kubenode` example does (start, `READY`, wait for
/// [`kubenode::stop_signal`], tear down) and says which signal stopped it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a helper: real_node_sigterm_and_sighup_tear_it_down runs it in a child process"]
async fn real_node_signal_helper() {
    assert!(
        std::env::var_os(SIGNAL_HELPER_ENV).is_some(),
        "a helper of real_node_sigterm_and_sighup_tear_it_down, not a test of its own"
    );
    let stop = kubenode::stop_signal();
    tokio::pin!(stop);
    let node = tokio::select! {
        node = kubenode::KubeNode::start(kubenode::NodeOptions::default()) => node.expect("the helper's node"),
        signal = &mut stop => panic!("stopped while starting: {signal:?}"),
    };
    println!("READY");
    let signal = stop.await.expect("a signal");
    drop(node);
    println!("STOPPED {signal}");
}

/// SIGTERM and SIGHUP stop a node run until told to stop as Ctrl-C does:
/// it is torn down and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_sigterm_and_sighup_tear_it_down() {
    use std::io::BufRead;
    use std::process::Stdio;

    let _one = ONE_AT_A_TIME.lock().await;
    testkit::probe::Check::real_node().fail_if_missing("real_node_sigterm_and_sighup_tear_it_down");
    let exe = std::env::current_exe().expect("this test binary");
    for signal in ["TERM", "HUP"] {
        let mut child = Command::new(&exe)
            .args([
                "real_node_signal_helper",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(SIGNAL_HELPER_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the helper");
        let stdout = child.stdout.take().expect("helper stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let ready =
            testkit::wait_until(Duration::from_secs(240), Duration::from_millis(100), || {
                rx.try_iter().any(|l| l.trim() == "READY").then_some(())
            });
        assert!(ready.is_some(), "the helper never said READY");
        must(&format!("kill -{signal} {}", child.id()));
        let status =
            testkit::wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
                child.try_wait().ok().flatten()
            });
        let Some(status) = status else {
            let _ = child.kill();
            panic!("SIG{signal} did not stop the helper within 120 s");
        };
        let said: Vec<String> = rx.try_iter().collect();
        assert!(
            status.success(),
            "the helper after SIG{signal}: {status}, said {said:?}"
        );
        assert!(
            said.iter()
                .any(|l| l.trim() == format!("STOPPED SIG{signal}")),
            "{said:?}"
        );
        let left = kubenode::leftovers();
        assert!(left.is_empty(), "SIG{signal} left: {left:#?}");
    }
}

/// Whether a TCP connection from `pod` to `ip:port` opens within 3 s.
async fn pod_connects(
    pods: &kube::Api<k8s_openapi::api::core::v1::Pod>,
    pod: &str,
    ip: &str,
    port: u16,
) -> bool {
    let script = format!(
        "if timeout 3 bash -c 'exec 3<>/dev/tcp/{ip}/{port}' 2>/dev/null; then echo open; else echo closed; fi"
    );
    let out = testkit::realnode::exec(
        pods,
        pod,
        &["bash", "-c", &script],
        kube::api::AttachParams::default(),
    )
    .await;
    match out.trim() {
        "open" => true,
        "closed" => false,
        other => panic!("{pod} -> {ip}:{port}: unexpected answer {other:?}"),
    }
}

/// The NetworkPolicies fabdev renders, enforced (kube-router is the node's
/// policy controller): a pod outside the workspace reaches neither a peer's
/// gRPC port (7051) nor its operations port (9443), a pod of the workspace
/// reaches the gRPC port, and the node (the kubelet's probes) reaches both.
/// Before the policies are applied the outside pod reaches both ports: the
/// refusal is the policies' doing, and a policy that lets everyone in (no
/// policy, the state before finding 6) fails this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_node),
    ignore = "no real node here (needs root, scripts/setup/kube.sh, scripts/setup/node-images.sh, kube-router); FABDEV_REQUIRE_REAL_NODE=1 fails naming what is missing"
)]
async fn real_node_network_policies_admit_only_the_workspace() {
    use k8s_openapi::api::core::v1::{Namespace, Pod};
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use kube::Api;
    use kube::api::PostParams;
    use network::render::{self, NodeFiles};
    use network::{Topology, Workspace};
    use serde_json::json;
    use testkit::realnode::wait_pod;

    let _one = ONE_AT_A_TIME.lock().await;
    let node = node("real_node_network_policies_admit_only_the_workspace").await;
    for image in [kubenode::DIND_STANDIN_IMAGE, kubenode::PEER_STANDIN_IMAGE] {
        node.import_image(image).expect("import a stand-in image");
    }
    // fabdev drives the test node as an existing cluster (as
    // tests/real_node_up.rs does). On kind the policy also opens the ports
    // kind maps to the host to every source, by design, so an outside pod
    // reaching 7051 there is no failure of enforcement.
    let mut ws = Workspace::default_network();
    ws.cluster.provider = network::spec::Provider::Existing;
    let topo = Topology::of(&ws);
    let dir = tempfile::tempdir().expect("temp folder");
    let crypto = network::pki::CryptoDir::new(dir.path().join("crypto"));
    network::pki::ensure(&ws, &topo, &crypto).expect("crypto material");
    let mut files = NodeFiles::new();
    for n in &topo.nodes {
        files.insert(
            n.name.clone(),
            network::pki::read_tree(&crypto.node_dir(n)).expect("node files"),
        );
    }
    let typed = render::typed_objects(&ws, &topo, &files).expect("render");
    let labels_of = |role: &str| {
        typed
            .statefulsets
            .iter()
            .map(|s| {
                s.spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref())
                    .and_then(|m| m.labels.clone())
                    .expect("pod labels")
            })
            .find(|l| l.values().any(|v| v == role))
            .unwrap_or_else(|| panic!("a {role} StatefulSet"))
    };
    let (peer_labels, orderer_labels) = (labels_of("peer"), labels_of("orderer"));

    let client = node.client().await.expect("client");
    let pp = PostParams::default();
    let ns = topo.namespace.clone();
    Api::<Namespace>::all(client.clone())
        .create(&pp, &typed.namespace)
        .await
        .expect("namespace");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let outside_pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let client_pod = |name: &str, labels: serde_json::Value| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{
                "name": "client",
                "image": kubenode::DIND_STANDIN_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "3600"],
            }]}
        }))
        .unwrap()
    };
    // The peer: the stand-in (TCP on 7051, /healthz on 9443) with the
    // labels fabdev gives peer pods.
    let peer: Pod = serde_json::from_value(json!({
        "metadata": {"name": "peer", "labels": peer_labels},
        "spec": {"containers": [{
            "name": "peer",
            "image": kubenode::PEER_STANDIN_IMAGE,
            "imagePullPolicy": "IfNotPresent",
        }]}
    }))
    .unwrap();
    pods.create(&pp, &peer).await.expect("peer pod");
    pods.create(&pp, &client_pod("member", json!(orderer_labels)))
        .await
        .expect("workspace client pod");
    outside_pods
        .create(&pp, &client_pod("outsider", json!({})))
        .await
        .expect("outside client pod");
    let running = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Running")
    };
    let deadline = Duration::from_secs(180);
    let peer = wait_pod(&node, &pods, "peer", deadline, running).await;
    wait_pod(&node, &pods, "member", deadline, running).await;
    wait_pod(&node, &outside_pods, "outsider", deadline, running).await;
    let ip = peer
        .status
        .and_then(|s| s.pod_ip)
        .expect("the peer's address");

    // Without the policies every pod reaches both ports.
    for port in [7051, 9443] {
        assert!(
            pod_connects(&outside_pods, "outsider", &ip, port).await,
            "before the policies the outside pod should reach the peer's {port} \
             (otherwise the test proves nothing)"
        );
    }
    // A neighbour that routes the pod range through this host does not,
    // although kube-router accepts in filter's FORWARD whatever no policy
    // refuses: the node drops it first (mangle).
    {
        let neighbour = Neighbour::new();
        let before = pod_range_drops();
        let (connected, said) = neighbour.connects(&format!("{ip}:7051"));
        assert!(!connected, "a neighbour reaches the peer pod's 7051");
        assert!(
            pod_range_drops() > before,
            "the node dropped nothing for the pods: the neighbour's attempt did not reach it ({said})"
        );
    }

    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    for p in &typed.network_policies {
        policies.create(&pp, p).await.expect("network policy");
    }
    // kube-router applies a policy within a sync: wait for the refusal.
    let refused = testkit::wait_until_async(
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async { (!pod_connects(&outside_pods, "outsider", &ip, 7051).await).then_some(()) },
    )
    .await;
    assert!(
        refused.is_some(),
        "the outside pod still reaches the peer's 7051 60 s after the policies; kube-router log:\n{}",
        std::fs::read_to_string(node.log_path("kube-router")).unwrap_or_default()
    );
    assert!(
        !pod_connects(&outside_pods, "outsider", &ip, 9443).await,
        "the outside pod reaches the peer's operations port 9443"
    );
    assert!(
        pod_connects(&pods, "member", &ip, 7051).await,
        "a pod of the workspace does not reach the peer's gRPC port 7051"
    );
    assert!(
        !pod_connects(&pods, "member", &ip, 9443).await,
        "a pod of the workspace reaches the peer's operations port 9443 (only the node and \
         port-forwards should)"
    );
    // The node itself (the kubelet's probes) still reaches the operations port.
    let addr: std::net::SocketAddr = format!("{ip}:9443").parse().expect("address");
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok(),
        "the node does not reach the peer's 9443 (the kubelet's probes would fail)"
    );

    drop(node);
    let left = kubenode::leftovers();
    assert!(left.is_empty(), "teardown left: {left:#?}");
}
