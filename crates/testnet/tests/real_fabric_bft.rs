//! Real Fabric 3 BFT ordering: fabdev's BFT genesis block (four SmartBFT
//! orderers) run by real orderers and peers; transactions commit, and keep
//! committing with one orderer stopped (3f+1 = 4 tolerates f = 1); with
//! two stopped a submit fails saying so, and with both back the channel
//! orders again.
//! Without binaries this is reported `ignored` with the reason (build.rs).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::path::Path;
use std::time::{Duration, Instant};

use network::Workspace;
use network::channel::{ChannelEvent, PeerClient};
use network::pki::ADMIN;
use testkit::fabric::{channel_height, first_definition, home, spec_text, start};
use testnet::{Options, TestNetwork};

const TIMEOUT: Duration = Duration::from_secs(20);
const CHANNEL: &str = "mychannel";

/// The network's fabdev.yaml after its header: four BFT orderers, two orgs.
const BODY: &str = "name: bft\nhostPortBase: 32300\n\
    orderer: { org: OrdererOrg, count: 4, consensus: bft }\n\
    orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
    channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n";

/// An approval (a transaction ordered by the orderers; no chaincode is
/// needed for it) of chaincode `name` through `peer`, waiting for it to
/// commit.
async fn approve(
    net: &TestNetwork,
    peer: &str,
    name: &str,
    timeout: Duration,
) -> Result<(), network::channel::ChannelError> {
    let node = net.topology().node(peer).expect("peer");
    let client = PeerClient::connect(
        node,
        &net.endpoints().get(peer).cloned().expect("endpoint"),
        net.crypto(),
        ADMIN,
        TIMEOUT,
    )
    .await
    .expect("connect");
    let def = first_definition(name);
    client
        .approve(CHANNEL, &def, &format!("{name}_1:00"), timeout)
        .await
}

/// [`approve`], then every peer has the next block; how long it took.
async fn commit_one(net: &TestNetwork, peer: &str, name: &str) -> Duration {
    let before = channel_height(net, "peer0-org1", CHANNEL).await;
    let start = Instant::now();
    approve(net, peer, name, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("approve through {peer}: {e}\n{}", net.all_logs()));
    for p in ["peer0-org1", "peer0-org2"] {
        let got = testkit::wait_until_async(
            Duration::from_secs(60),
            Duration::from_millis(200),
            || async { (channel_height(net, p, CHANNEL).await > before).then_some(()) },
        )
        .await;
        assert!(
            got.is_some(),
            "{p} never received the block of {name}:\n{}",
            net.all_logs()
        );
    }
    start.elapsed()
}

#[tokio::test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_bft_commits_with_one_orderer_stopped_not_two() {
    let fabric = home();
    let version = fabric.two_digit_version();
    let parsed = Workspace::parse(
        &spec_text(&fabric, BODY),
        Path::new("fabdev.yaml"),
        Path::new("."),
    );
    if !version.starts_with('3') {
        // Fabric 2.5 has no BFT: the spec must say so rather than start.
        let e = parsed.expect_err("BFT on Fabric 2.5");
        assert!(e.to_string().contains("orderer.consensus"), "{e}");
        return;
    }
    let ws = parsed.unwrap_or_else(|e| panic!("test spec: {e}"));
    let mut net = start(ws, Options::default()).await;
    let events = net.create_channel(CHANNEL).await.expect("channel");
    let joined = events
        .iter()
        .filter(|e| matches!(e, ChannelEvent::Joined { .. }))
        .count();
    assert_eq!(joined, 4 + 2, "{events:?}");

    let all_four = commit_one(&net, "peer0-org1", "first").await;
    eprintln!("BFT, 4 orderers: a transaction committed on both peers in {all_four:?}");

    // One follower stopped (consenter 4; consenter 1 leads the first view).
    net.stop_node("orderer3-ordererorg").expect("stop orderer3");
    let three = commit_one(&net, "peer0-org2", "second").await;
    eprintln!("BFT, orderer3 stopped: a transaction committed on both peers in {three:?}");
    let again = commit_one(&net, "peer0-org1", "third").await;
    eprintln!("BFT, orderer3 stopped: another in {again:?}");

    // Two of four stopped: no quorum (3), so nothing is ordered and the
    // submit fails once its deadline passes, saying what it waited for.
    net.stop_node("orderer2-ordererorg").expect("stop orderer2");
    let e = approve(&net, "peer0-org1", "no-quorum", Duration::from_secs(10))
        .await
        .expect_err("ordered without a quorum");
    eprintln!("BFT, two orderers stopped: {e}");
    assert!(e.to_string().contains("no-quorum"), "{e}");

    // Both back: they catch up with the blocks they missed, and the
    // channel orders again.
    net.start_node("orderer2-ordererorg")
        .await
        .expect("start orderer2");
    net.start_node("orderer3-ordererorg")
        .await
        .expect("start orderer3");
    let back = commit_one(&net, "peer0-org2", "fourth").await;
    eprintln!("BFT, both back: a transaction committed in {back:?}");
}
