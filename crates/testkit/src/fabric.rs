//! Real Fabric networks for the `real_fabric_*` tests: the release folder,
//! a workspace for its Fabric version, a `crates/testnet` network started
//! (with DinD daemons and the builder images where chaincode runs), a
//! restarted peer waited for, a channel's height, and the chaincode
//! package and caller the lifecycle calls take.
//!
//! [`calls`]: deploy, invoke and query on a test network as its tests do;
//! [`cli`]: the `fabdev` binary run on a workspace a test network shares.
//!
//! Each test still says what its network is (the body of its fabdev.yaml,
//! its host ports); what every such test did the same way is here.

use std::path::Path;
use std::time::Duration;

use chaincode::lifecycle::{Caller, DeploySpec};
use chaincode::package::{Package, PackageOptions, package_dir};
use network::Workspace;
use network::channel::Definition;
use network::pki::{ADMIN, USER1};
use network::policy::EndorsementPolicy;
use testnet::{FabricHome, Options, TestNetwork};

use crate::dockerd::chain;

pub mod calls;
pub mod cli;

pub use calls::{
    admins, containers_of, deploy, deploy_observed, invoke, peer_docker, query, query_json,
    try_invoke, try_query, vendored,
};
pub use cli::{CliNetwork, one_at_a_time, workspace_dir, write_spec};

/// The channel the chaincode tests deploy on: the default network's.
pub const CHANNEL: &str = "mychannel";

/// How long a network with DinD daemons may take to answer `/healthz`, and
/// a restarted peer to serve again.
pub const DIND_READY: Duration = Duration::from_secs(120);

/// The release folder of Fabric's binaries. The test was built because
/// they were there (the `fabric_binaries` cfg): gone now, it fails, never
/// passes.
pub fn home() -> FabricHome {
    FabricHome::find().unwrap_or_else(|e| {
        panic!(
            "real_fabric tests were built with Fabric binaries, but: {}",
            shown(&e)
        )
    })
}

/// The text of a fabdev.yaml for the Fabric version of `fabric`'s binaries,
/// with `body` (the name, host ports, orgs, channels, chaincodes) after it.
/// Its builder and runtime images are the local stand-ins
/// ([`testkit_probe::builder_standins`]), named in its `images:`.
pub fn spec_text(fabric: &FabricHome, body: &str) -> String {
    let two = fabric.two_digit_version();
    let [ccenv, baseos, nodeenv] = testkit_probe::builder_standins(&two);
    format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric: {{ version: \"{two}\" }}\n\
         images: {{ ccenv: {ccenv}, baseos: {baseos}, nodeenv: {nodeenv} }}\n{body}"
    )
}

/// The workspace of [`spec_text`], as if read from `./fabdev.yaml`.
pub fn workspace(fabric: &FabricHome, body: &str) -> Workspace {
    Workspace::parse(
        &spec_text(fabric, body),
        Path::new("fabdev.yaml"),
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("test spec: {e}"))
}

/// The body of a fabdev.yaml with two orgs of one leveldb peer each on
/// [`CHANNEL`], named `name`, its host ports from `host_port_base`.
pub fn two_orgs(name: &str, host_port_base: u16) -> String {
    format!(
        "name: {name}\nhostPortBase: {host_port_base}\n\
         orgs:\n  - {{ name: Org1, peers: 1, stateDatabase: leveldb }}\n  - {{ name: Org2, peers: 1, stateDatabase: leveldb }}\n\
         channels:\n  - {{ name: {CHANNEL}, orgs: [Org1, Org2] }}\n"
    )
}

/// Options for a network that runs chaincode: every peer with its DinD
/// daemon, and [`DIND_READY`] to answer.
pub fn dind() -> Options {
    Options {
        dind: true,
        ready_timeout: DIND_READY,
        ..Options::default()
    }
}

/// A test network's error as a failed test shows it: its chain, then its
/// hint.
pub fn shown(e: &testnet::TestnetError) -> String {
    match e.hint() {
        Some(h) => format!("{}\n  hint: {h}", chain(e)),
        None => chain(e),
    }
}

/// Starts the network of `ws`; a failure fails the test with what the
/// network said.
pub async fn start(ws: Workspace, opts: Options) -> TestNetwork {
    network::channel::install_crypto_provider();
    TestNetwork::start(ws, opts)
        .await
        .unwrap_or_else(|e| panic!("test network: {}", shown(&e)))
}

/// [`start`] with [`dind`], and the builder images seeded into every peer's
/// daemon (so that peers build chaincode as they do on kind).
pub async fn start_with_builders(ws: Workspace) -> TestNetwork {
    let net = start(ws, dind()).await;
    seed_builders(&net).await;
    net
}

/// Seeds the builder images into every peer's daemon.
pub async fn seed_builders(net: &TestNetwork) {
    net.seed_images(&net.builder_images())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "builder images (scripts/setup/builder-images.sh): {}",
                shown(&e)
            )
        });
}

/// The network of the workspace in `dir` (its fabdev.yaml), sharing the
/// workspace's `.fabdev/crypto` so that the `fabdev` binary run on `dir`
/// and the network agree, with DinD and the builder images: what the
/// tests of the binary against real Fabric run it on.
pub async fn start_workspace(dir: &Path) -> TestNetwork {
    let ws = Workspace::load_dir(dir).unwrap_or_else(|e| panic!("spec: {e}"));
    let net = start(
        ws,
        Options {
            crypto_dir: Some(dir.join(".fabdev/crypto")),
            ..dind()
        },
    )
    .await;
    seed_builders(&net).await;
    net
}

/// [`start_with_builders`] and [`CHANNEL`] created: what the chaincode
/// tests deploy on.
pub async fn chaincode_network(ws: Workspace) -> TestNetwork {
    let net = start_with_builders(ws).await;
    net.create_channel(CHANNEL)
        .await
        .unwrap_or_else(|e| panic!("channel {CHANNEL}: {}\n{}", shown(&e), net.all_logs()));
    net
}

/// Waits until a restarted peer serves: its gRPC port accepts connections
/// (from the host, on the test bridge) and its DinD daemon answers.
/// `TestNetwork::start_node` returns once the peer's /healthz answers,
/// which a restarted peer does while it still opens its ledgers and before
/// its restarted dockerd is up.
pub async fn wait_for_peer(net: &TestNetwork, node: &str) {
    let ip = net.ip(node).expect("node address");
    let socket = net.dind_socket(node).expect("DinD socket");
    let last = std::cell::Cell::new((false, false));
    let up = crate::wait_until_async(DIND_READY, Duration::from_millis(200), || async {
        let grpc = tokio::net::TcpStream::connect((ip, 7051)).await.is_ok();
        let docker = tokio::process::Command::new("docker")
            .arg(format!("--host=unix://{}", socket.display()))
            .arg("version")
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        last.set((grpc, docker));
        (grpc && docker).then_some(())
    })
    .await;
    let (grpc, docker) = last.get();
    assert!(
        up.is_some(),
        "{node} after {} s: gRPC on {ip}:7051 {grpc}, its Docker daemon answers {docker}:\n{}",
        DIND_READY.as_secs(),
        net.all_logs()
    );
}

/// Fabric's `peer` CLI set up to talk to `peer` through its host port as
/// its org's Admin (TLS on). Async: the host-port forwarders run on the
/// caller's runtime.
pub fn peer_cli(net: &TestNetwork, peer: &str) -> tokio::process::Command {
    let node = net
        .topology()
        .node(peer)
        .unwrap_or_else(|| panic!("no node {peer} in the test network"));
    let crypto = net.crypto();
    let mut cmd = tokio::process::Command::new(net.fabric().bin("peer"));
    cmd.env("FABRIC_CFG_PATH", net.fabric().config())
        .env("CORE_PEER_LOCALMSPID", &node.msp_id)
        .env(
            "CORE_PEER_MSPCONFIGPATH",
            crypto.user_dir(&node.org, ADMIN).join("msp"),
        )
        .env(
            "CORE_PEER_ADDRESS",
            format!("127.0.0.1:{}", node.host_ports.grpc),
        )
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env(
            "CORE_PEER_TLS_ROOTCERT_FILE",
            crypto.node_dir(node).join("tls/ca.crt"),
        );
    cmd
}

/// The height of `channel` on `peer` (the blocks it has committed), from
/// `peer channel getinfo` ([`peer_cli`]).
pub async fn channel_height(net: &TestNetwork, peer: &str, channel: &str) -> u64 {
    let out = peer_cli(net, peer)
        .args(["channel", "getinfo", "-c", channel])
        .output()
        .await
        .expect("peer channel getinfo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "peer channel getinfo on {peer}: {text}"
    );
    let json = text
        .split("Blockchain info: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no Blockchain info in: {text}"));
    let v: serde_json::Value =
        serde_json::from_str(json.lines().next().unwrap_or("")).expect("getinfo JSON");
    v["height"].as_u64().expect("height")
}

/// The first definition of chaincode `name` (version 1, sequence 1, the
/// default validation, no Init, no collections): what an approval that
/// needs no installed chaincode approves (a transaction to order).
pub fn first_definition(name: &str) -> Definition {
    Definition {
        name: name.into(),
        version: "1".into(),
        sequence: 1,
        init_required: false,
        validation_parameter: EndorsementPolicy::default_validation_parameter(),
        collections: vec![],
    }
}

/// An approval of chaincode `name`'s [`first_definition`] through `peer`
/// as its org's Admin (a transaction the orderers order; no chaincode is
/// needed for it), then every peer of the network has a block more on
/// [`CHANNEL`]; how long that took. A failure fails the test with the
/// nodes' logs.
pub async fn commit_approval(net: &TestNetwork, peer: &str, name: &str) -> Duration {
    let timeout = Duration::from_secs(60);
    let peers: Vec<String> = net.topology().peers().map(|p| p.name.clone()).collect();
    let mut before = Vec::new();
    for p in &peers {
        before.push(channel_height(net, p, CHANNEL).await);
    }
    let start = std::time::Instant::now();
    let node = net
        .topology()
        .node(peer)
        .unwrap_or_else(|| panic!("no peer {peer}"));
    let ep = net
        .endpoints()
        .get(peer)
        .cloned()
        .unwrap_or_else(|| panic!("no endpoint for {peer}"));
    let client = network::channel::PeerClient::connect(node, &ep, net.crypto(), ADMIN, timeout)
        .await
        .unwrap_or_else(|e| panic!("connect to {peer}: {}\n{}", chain(&e), net.all_logs()));
    client
        .approve(
            CHANNEL,
            &first_definition(name),
            &format!("{name}_1:00"),
            timeout,
        )
        .await
        .unwrap_or_else(|e| panic!("approve through {peer}: {}\n{}", chain(&e), net.all_logs()));
    for (p, before) in peers.iter().zip(before) {
        let got = crate::wait_until_async(timeout, Duration::from_millis(200), || async {
            (channel_height(net, p, CHANNEL).await > before).then_some(())
        })
        .await;
        assert!(
            got.is_some(),
            "{p} never received the block of {name}:\n{}",
            net.all_logs()
        );
    }
    start.elapsed()
}

/// The chaincode in `dir` packaged with `label`.
pub fn package(dir: &Path, label: &str) -> Package {
    package_dir(
        dir,
        &PackageOptions {
            label: Some(label.to_string()),
            lang: None,
        },
    )
    .unwrap_or_else(|e| panic!("package {}: {e}", dir.display()))
}

/// The chaincode in `dir`, packaged with `label`, to deploy as `name` on
/// [`CHANNEL`] with the default definition.
pub fn deploy_spec(name: &str, dir: &Path, label: &str) -> DeploySpec {
    let pkg = package(dir, label);
    DeploySpec::plain(name, CHANNEL, pkg.bytes, pkg.id)
}

/// `User1` of `org`, the caller of invokes and queries.
pub fn caller(org: &str) -> Caller {
    Caller {
        org: org.into(),
        user: USER1.into(),
    }
}
