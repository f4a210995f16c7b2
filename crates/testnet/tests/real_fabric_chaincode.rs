//! Chaincode end to end on real peers, each with its own DinD-shaped
//! dockerd: fabdev packages the fixture chaincode, installs it on every peer
//! of two orgs (each peer's daemon builds and runs it), approves, commits,
//! invokes through one org and queries through the other. Needs the
//! builder images in the host's Docker (scripts/setup/builder-images.sh).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chaincode::lifecycle::{self, Caller, DeploySpec};
use chaincode::package::{PackageOptions, package_dir};
use network::Workspace;
use testnet::{FabricHome, Options, TestNetwork};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn fabric() -> FabricHome {
    FabricHome::find()
        .unwrap_or_else(|e| panic!("real_fabric tests were built with Fabric binaries, but: {e}"))
}

fn workspace(fabric: &FabricHome, port_base: u16) -> Workspace {
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: cc\nhostPortBase: {port_base}\n\
         fabric: {{ version: \"{}\" }}\n",
        fabric.two_digit_version()
    );
    Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new(".")).expect("spec")
}

/// Two orgs with a peer each, every peer with its own DinD daemon, on a
/// channel, with the builder images seeded into every daemon.
async fn chaincode_network(port_base: u16) -> TestNetwork {
    let fabric = fabric();
    let opts = Options {
        dind: true,
        ready_timeout: Duration::from_secs(120),
        ..Options::default()
    };
    let net = TestNetwork::start(workspace(&fabric, port_base), opts)
        .await
        .expect("network");
    net.create_channel("mychannel").await.expect("channel");
    net.seed_images(&net.builder_images())
        .await
        .expect("builder images (scripts/setup/builder-images.sh)");
    net
}

fn spec(dir: &Path, label: &str) -> DeploySpec {
    let pkg = package_dir(
        dir,
        &PackageOptions {
            label: Some(label.to_string()),
            lang: None,
        },
    )
    .expect("package");
    DeploySpec::plain("basic", "mychannel", pkg.bytes, pkg.id)
}

fn caller(org: &str) -> Caller {
    Caller {
        org: org.into(),
        user: "User1".into(),
    }
}

/// Waits until a restarted peer serves: its gRPC port accepts connections
/// (from the host, on the test bridge) and its DinD daemon answers.
/// `TestNetwork::start_node` returns once the peer's /healthz answers,
/// which a restarted peer does while it still opens its ledgers and before
/// its restarted dockerd is up.
async fn wait_for_peer(net: &TestNetwork, node: &str) {
    let ip = net.ip(node).expect("node address");
    let socket = net.dind_socket(node).expect("DinD socket");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let grpc = tokio::net::TcpStream::connect((ip, 7051)).await.is_ok();
        let docker = tokio::process::Command::new("docker")
            .arg(format!("--host=unix://{}", socket.display()))
            .arg("version")
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        if grpc && docker {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{node} after 120 s: gRPC on {ip}:7051 {grpc}, its Docker daemon answers {docker}:\n{}",
            net.all_logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_node_chaincode_deploy_invoke_query_upgrade() {
    let _one = ONE_AT_A_TIME.lock().await;
    network::channel::install_crypto_provider();
    let net = chaincode_network(31600).await;
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );

    // A copy of the fixture, so that the upgrade can change a line.
    let src = tempfile::tempdir().expect("tempdir");
    testnet::copy_tree(Path::new("../../fixtures/chaincode/node"), src.path())
        .expect("copy fixture");

    let first = spec(src.path(), "basic_1");
    let mut events = Vec::new();
    let report = lifecycle::deploy(ws, topo, crypto, &eps, &first, Some(&net), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(report.sequence, 1, "{events:?}");
    assert_eq!(report.installed.len(), 2, "{report:?}");
    assert_eq!(report.approved, ["Org1", "Org2"]);
    assert!(report.committed);

    // Invoke through Org1, query through Org2.
    let args: Vec<String> = ["asset1", "blue", "5", "Tom", "300"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tx = lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    assert!(!tx.transaction_id.is_empty());
    let got = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["asset1".to_string()],
    )
    .await
    .unwrap_or_else(|e| panic!("query: {e}"));
    let asset: serde_json::Value = serde_json::from_slice(&got).expect("JSON asset");
    assert_eq!(asset["owner"], "Tom", "{asset}");

    // The chaincode runs in each peer's own daemon.
    for peer in ["peer0-org1", "peer0-org2"] {
        let socket = net.dind_socket(peer).expect("socket");
        let out = std::process::Command::new("docker")
            .arg(format!("--host=unix://{}", socket.display()))
            .args(["ps", "--format", "{{.Names}}"])
            .output()
            .expect("docker ps");
        let names = String::from_utf8_lossy(&out.stdout);
        assert!(
            names.contains(peer) && names.contains("basic_1"),
            "{peer}'s daemon runs: {names}"
        );
    }

    // The daemon is closed to chaincode: from inside the chaincode container
    // (the pod's network namespace, its own filesystem), no TCP port of the
    // pod and no socket path answers the Docker API, while the peer's
    // chaincode port (the pod's namespace) is reachable.
    daemon_is_closed_to_chaincode(&net, "peer0-org1", "basic_1");

    // Again, unchanged: nothing installed, approved or committed.
    let again = lifecycle::deploy(ws, topo, crypto, &eps, &first, Some(&net), &mut |_| {})
        .await
        .expect("again");
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(again.sequence, 1);

    // One line changed: sequence 2, and the new code answers.
    let file = src.path().join("lib/assetTransfer.js");
    let code = std::fs::read_to_string(&file).expect("read");
    let changed = code.replace(
        "async AssetExists(ctx, id) {",
        "async Version(ctx) {\n        return 'two';\n    }\n\n    async AssetExists(ctx, id) {",
    );
    assert_ne!(code, changed);
    std::fs::write(&file, changed).expect("write");
    let second = spec(src.path(), "basic_1");
    assert_ne!(second.package_id, first.package_id);
    let up = lifecycle::deploy(ws, topo, crypto, &eps, &second, Some(&net), &mut |_| {})
        .await
        .expect("upgrade");
    assert_eq!(up.sequence, 2, "{up:?}");
    let v = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "Version",
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("query new code: {e}"));
    assert_eq!(String::from_utf8_lossy(&v), "two");
}

/// Connects to every TCP port listening in the network namespace it runs in
/// (from /proc/net/tcp{,6}), to 2375 and 2376, and to the Docker socket
/// paths, sends `GET /version` to each and prints one JSON line: which
/// ports listen and, per target, whether it connected and whether a Docker
/// API answered.
const DAEMON_PROBE: &str = r#"
const net = require('net'), fs = require('fs');
const listening = new Set();
for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
  try {
    for (const l of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = l.trim().split(/\s+/);
      if (c[3] === '0A') listening.add(parseInt(c[1].split(':').pop(), 16));
    }
  } catch (e) {}
}
const targets = [...new Set([...listening, 2375, 2376])].map(p => ({ host: '127.0.0.1', port: p }))
  .concat(['/var/run/dind/docker.sock', '/var/run/docker.sock', '/run/docker.sock'].map(p => ({ path: p })));
const probe = t => new Promise(done => {
  let buf = '', connected = false;
  const s = net.connect(t);
  const end = err => { s.destroy(); done({ target: t.path || t.port, connected, docker: /ApiVersion/.test(buf), err }); };
  s.setTimeout(3000, () => end('timeout'));
  s.on('connect', () => { connected = true; s.write('GET /version HTTP/1.0\r\nHost: docker\r\n\r\n'); });
  s.on('data', d => { buf += d; });
  s.on('end', () => end(null));
  s.on('error', e => end(e.code));
});
(async () => {
  const results = [];
  for (const t of targets) results.push(await probe(t));
  console.log(JSON.stringify({ listening: [...listening], results }));
})();
"#;

fn run_probe(cmd: &mut std::process::Command) -> serde_json::Value {
    let out = cmd.output().expect("run the daemon probe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("probe output {text:?}: {e}"))
}

fn answered_docker(probe: &serde_json::Value) -> Vec<String> {
    probe["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["docker"] == true)
        .map(|r| r["target"].to_string())
        .collect()
}

/// The chaincode container of `label` on `peer` reaches the peer but no
/// Docker daemon (see [`DAEMON_PROBE`]).
fn daemon_is_closed_to_chaincode(net: &TestNetwork, peer: &str, label: &str) {
    let socket = net.dind_socket(peer).expect("socket");
    let host = format!("--host=unix://{}", socket.display());
    let names = containers_of(net, peer);
    let container = names
        .lines()
        .find(|n| n.contains(label))
        .unwrap_or_else(|| panic!("no chaincode container {label} on {peer}: {names}"));
    let inside = run_probe(std::process::Command::new("docker").args([
        host.as_str(),
        "exec",
        container,
        "node",
        "-e",
        DAEMON_PROBE,
    ]));
    let listening: Vec<u64> = inside["listening"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    // The pod's namespace: the peer's chaincode port listens and connects.
    assert!(listening.contains(&7052), "{inside}");
    assert!(
        inside["results"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["target"] == 7052 && r["connected"] == true),
        "{inside}"
    );
    assert!(!listening.contains(&2375), "{inside}");
    assert_eq!(answered_docker(&inside), Vec::<String>::new(), "{inside}");
    // Control: the same probe in the pod's namespace on the host, where the
    // host daemon's socket is at /var/run/docker.sock, finds it, so the probe
    // does detect a reachable daemon.
    let control = run_probe(std::process::Command::new("ip").args([
        "netns",
        "exec",
        &net.netns(peer).expect("netns"),
        "node",
        "-e",
        DAEMON_PROBE,
    ]));
    assert!(
        answered_docker(&control).contains(&"\"/var/run/docker.sock\"".to_string()),
        "{control}"
    );
}

/// The containers a peer's own daemon runs.
fn containers_of(net: &TestNetwork, peer: &str) -> String {
    let socket = net.dind_socket(peer).expect("socket");
    let out = std::process::Command::new("docker")
        .arg(format!("--host=unix://{}", socket.display()))
        .args(["ps", "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_go_chaincode_vendored_and_built_by_each_peer() {
    let _one = ONE_AT_A_TIME.lock().await;
    network::channel::install_crypto_provider();
    let net = chaincode_network(31700).await;
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );

    // The builders have no network: the package carries vendor/ (made with
    // the test runner's Go environment; the fixture folder is not changed).
    let fixture = Path::new("../../fixtures/chaincode/go");
    let copy = chaincode::vendor::vendored_copy(fixture)
        .expect("go mod vendor")
        .expect("go on PATH");
    let dir = chaincode::vendor::copy_dir(&copy, fixture);
    assert!(dir.join("vendor/modules.txt").is_file());
    assert!(!fixture.join("vendor").exists());
    let go = spec(&dir, "basic_go");
    let again = spec(
        &chaincode::vendor::copy_dir(
            &chaincode::vendor::vendored_copy(fixture)
                .expect("vendor")
                .expect("go"),
            fixture,
        ),
        "basic_go",
    );
    assert_eq!(
        go.package_id, again.package_id,
        "vendoring is deterministic"
    );

    let report = lifecycle::deploy(ws, topo, crypto, &eps, &go, Some(&net), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(
        (report.sequence, report.installed.len()),
        (1, 2),
        "{report:?}"
    );

    let args: Vec<String> = ["a1", "red", "3", "Ann", "100"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    let got = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["a1".to_string()],
    )
    .await
    .unwrap_or_else(|e| panic!("query: {e}"));
    let asset: serde_json::Value = serde_json::from_slice(&got).expect("JSON asset");
    assert_eq!(
        asset["owner"].as_str().or(asset["Owner"].as_str()),
        Some("Ann"),
        "{asset}"
    );

    // Built and run by each peer's own daemon, under the name that peer
    // gives it; the host's daemon runs no chaincode.
    for peer in ["peer0-org1", "peer0-org2"] {
        let names = containers_of(&net, peer);
        assert!(
            names.contains(peer) && names.contains("basic_go"),
            "{peer}'s daemon runs: {names}"
        );
    }
    let host = std::process::Command::new("docker")
        .args(["ps", "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    assert!(!String::from_utf8_lossy(&host.stdout).contains("basic_go"));

    // A chaincode error reaches the caller with the chaincode's message.
    let e = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["nope".to_string()],
    )
    .await
    .expect_err("missing asset");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "NoSuchFunction",
        &[],
    )
    .await
    .expect_err("unknown function");
    assert!(e.to_string().contains("NoSuchFunction"), "{e}");
}

/// A chaincode entry of fabdev.yaml (`extra` added to it), as validated:
/// what `fabdev chaincode deploy` makes its `DeploySpec` from.
fn declared(dir: &Path, name: &str, extra: &str) -> network::spec::Chaincode {
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\n\
         chaincodes:\n  - {{ name: {name}, path: ., channel: mychannel{extra} }}\n"
    );
    let ws =
        Workspace::parse(&text, &dir.join("fabdev.yaml"), dir).unwrap_or_else(|e| panic!("{e}"));
    ws.chaincodes[0].clone()
}

fn declared_spec(dir: &Path, name: &str, label: &str, extra: &str) -> DeploySpec {
    let pkg = package_dir(
        dir,
        &PackageOptions {
            label: Some(label.to_string()),
            lang: None,
        },
    )
    .expect("package");
    DeploySpec::of(&declared(dir, name, extra), pkg.bytes, pkg.id)
}

/// `initRequired`, an endorsement policy and collections from fabdev.yaml
/// on real peers; Init once (and again after a failed Init, never after a
/// successful one); a policy change is an upgrade with no install; an
/// unknown function; a peer down during install, then the half-done
/// deploy completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_init_policies_bad_inputs_and_half_done_deploys() {
    let _one = ONE_AT_A_TIME.lock().await;
    network::channel::install_crypto_provider();
    let mut net = chaincode_network(31800).await;
    let (ws, topo, crypto) = (
        net.workspace().clone(),
        net.topology().clone(),
        net.crypto().clone(),
    );
    let eps = net.endpoints();
    let (ws, topo, crypto) = (&ws, &topo, &crypto);

    let src = tempfile::tempdir().expect("tempdir");
    testnet::copy_tree(Path::new("../../fixtures/chaincode/node-init"), src.path())
        .expect("copy fixture");
    std::fs::write(
        src.path().join("collections.json"),
        r#"[{"name":"secrets","policy":"OR('Org1MSP.member','Org2MSP.member')","maxPeerCount":1,"blockToLive":0,"memberOnlyRead":true}]"#,
    )
    .expect("collections");
    let query = |name: &'static str, f: &'static str| {
        let eps = eps.clone();
        async move {
            lifecycle::query(
                ws,
                topo,
                crypto,
                &eps,
                &caller("Org2"),
                "mychannel",
                name,
                f,
                &[],
            )
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        }
    };

    // initRequired with InitLedger, both orgs must endorse, one collection.
    let and = ", initRequired: true, initArgs: [InitLedger], collections: collections.json, \
               signaturePolicy: \"AND('Org1MSP.peer', 'Org2MSP.peer')\"";
    let counter = declared_spec(src.path(), "counter", "counter_1", and);
    let mut events = Vec::new();
    let report = lifecycle::deploy(ws, topo, crypto, &eps, &counter, Some(&net), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(
        (report.sequence, report.committed, report.initialized),
        (1, true, true),
        "{events:?}"
    );
    assert_eq!(query("counter", "InitRuns").await.expect("InitRuns"), "1");
    // The peers committed exactly the policy and collections fabdev sent.
    let admins = lifecycle::ChannelAdmins::connect(ws, topo, crypto, &eps, "mychannel")
        .await
        .expect("admins");
    let first = admins.peers().next().expect("a peer");
    let committed = first
        .committed("mychannel", "counter", lifecycle::CALL_TIMEOUT)
        .await
        .expect("query")
        .expect("committed");
    assert_eq!(committed.definition, counter.definition(1));
    // An invoke is endorsed by both orgs (the Gateway finds them).
    lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "counter",
        "Increment",
        &[],
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    assert_eq!(query("counter", "Count").await.expect("Count"), "1");

    // Again: nothing to do, and Init is not run again.
    let mut events = Vec::new();
    let again = lifecycle::deploy(ws, topo, crypto, &eps, &counter, Some(&net), &mut |e| {
        events.push(e)
    })
    .await
    .expect("again");
    assert!(again.unchanged(), "{again:?}");
    assert!(
        events.contains(&lifecycle::LifecycleEvent::AlreadyInitialized { sequence: 1 }),
        "{events:?}"
    );
    assert_eq!(query("counter", "InitRuns").await.expect("InitRuns"), "1");

    // Only the policy changes: sequence 2, no install, both orgs approve,
    // and the same version needs no new Init.
    let or = ", initRequired: true, initArgs: [InitLedger], collections: collections.json, \
              signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"";
    let relaxed = declared_spec(src.path(), "counter", "counter_1", or);
    assert_eq!(relaxed.package_id, counter.package_id);
    let up = lifecycle::deploy(ws, topo, crypto, &eps, &relaxed, Some(&net), &mut |_| {})
        .await
        .expect("policy upgrade");
    assert_eq!(
        (
            up.sequence,
            up.installed.len(),
            up.approved.len(),
            up.committed,
            up.initialized
        ),
        (2, 0, 2, true, false),
        "{up:?}"
    );
    assert_eq!(query("counter", "InitRuns").await.expect("InitRuns"), "1");

    // An unknown function: the chaincode's own message.
    let e = query("counter", "NoSuchFunction")
        .await
        .expect_err("unknown function");
    assert!(e.to_string().contains("NoSuchFunction"), "{e}");

    // An Init that fails: the chaincode's message; the chaincode is not
    // initialised, so it refuses transactions, and the next deploy (with a
    // working Init) runs Init again and completes the deploy.
    let boom = declared_spec(
        src.path(),
        "boom",
        "counter_1",
        ", initRequired: true, initArgs: [Panic]",
    );
    let e = lifecycle::deploy(ws, topo, crypto, &eps, &boom, Some(&net), &mut |_| {})
        .await
        .expect_err("Init fails");
    assert!(matches!(e, lifecycle::LifecycleError::Init { .. }), "{e}");
    assert!(e.to_string().contains("Init panicked"), "{e}");
    let e = lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "boom",
        "Increment",
        &[],
        &BTreeMap::new(),
    )
    .await
    .expect_err("not initialised");
    assert!(e.to_string().contains("has not been initialized"), "{e}");
    let fixed = declared_spec(
        src.path(),
        "boom",
        "counter_1",
        ", initRequired: true, initArgs: [InitLedger]",
    );
    let done = lifecycle::deploy(ws, topo, crypto, &eps, &fixed, Some(&net), &mut |_| {})
        .await
        .expect("Init again");
    assert_eq!(
        (done.sequence, done.committed, done.initialized),
        (1, false, true),
        "{done:?}"
    );
    assert_eq!(query("boom", "InitRuns").await.expect("InitRuns"), "1");

    // A peer down during install: the others get the package and the error
    // names the peer. Once it is back, the next deploy installs only there,
    // approves only for the org that has not approved, and commits.
    std::fs::write(
        src.path().join("lib/extra.js"),
        "module.exports = 'late';\n",
    )
    .expect("change");
    let late = declared_spec(src.path(), "late", "late_1", "");
    drop(admins);
    let admins = lifecycle::ChannelAdmins::connect(ws, topo, crypto, &eps, "mychannel")
        .await
        .expect("admins");
    net.stop_node("peer0-org2").expect("stop");
    let e = lifecycle::install_all(&admins, &late, None, &mut |_| {})
        .await
        .expect_err("a peer is down");
    assert!(e.to_string().contains("peer0-org2"), "{e}");
    match &e {
        lifecycle::LifecycleError::NotInstalled { installed, .. } => {
            assert_eq!(installed, &["peer0-org1"], "{e}")
        }
        other => panic!("{other}"),
    }
    let org1 = admins.peers().next().expect("peer0-org1");
    org1.approve(
        "mychannel",
        &late.definition(1),
        &late.package_id,
        lifecycle::CALL_TIMEOUT,
    )
    .await
    .expect("Org1 approves");
    drop(admins);
    net.start_node("peer0-org2").await.expect("start");
    wait_for_peer(&net, "peer0-org2").await;
    let eps = net.endpoints();
    let rest = lifecycle::deploy(ws, topo, crypto, &eps, &late, Some(&net), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("completing deploy: {e}\n{}", net.all_logs()));
    assert_eq!(rest.installed, ["peer0-org2"], "{rest:?}");
    assert_eq!(rest.approved, ["Org2"], "{rest:?}");
    assert!(rest.committed && rest.sequence == 1, "{rest:?}");
}

/// Go chaincode that does not compile: each peer's build fails and the
/// compiler's output reaches the caller through the install error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_chaincode_that_does_not_compile() {
    let _one = ONE_AT_A_TIME.lock().await;
    network::channel::install_crypto_provider();
    let net = chaincode_network(31900).await;
    let broken = spec(Path::new("../../fixtures/chaincode/go-broken"), "broken_1");
    let e = lifecycle::deploy(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        &broken,
        Some(&net),
        &mut |_| {},
    )
    .await
    .expect_err("does not compile");
    let text = e.to_string();
    eprintln!("the error fabdev reports:\n{text}");
    assert!(text.contains("peer0-org1"), "{text}");
    // The Go compiler's own words, with the file and line.
    assert!(text.contains("main.go:6"), "{text}");
    assert!(text.contains("cannot use \"not a number\""), "{text}");
}
