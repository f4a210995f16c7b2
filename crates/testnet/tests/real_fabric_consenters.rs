//! Real Fabric: an orderer added to a running channel's Raft consenters and
//! removed again (`network::channel::change_consenters`): three orderers
//! run, the channel starts with two consenters; the third is added by a
//! config update signed by the orderer org's admin, joins through the
//! channel participation API with the latest config block and catches up;
//! with an old consenter stopped a transaction still commits; then the
//! third is taken out of the consenters, stopped, and transactions still
//! commit.
//! Without binaries this is reported `ignored` with the reason (build.rs).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::time::Duration;

use network::channel::{
    ChannelError, Network, change_consenters, create_channel, current_config, orderer_channel,
    wait_for_leader,
};
use network::fabric::{Message as _, common, etcdraft, orderer};
use network::{Topology, Workspace};
use testkit::fabric::{CHANNEL, commit_approval, home, start, workspace};
use testnet::{Options, TestNetwork};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The consenters' hosts in a Raft channel's config.
fn consenters(config: &common::Config) -> Vec<String> {
    let value = config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Orderer"))
        .and_then(|g| g.values.get("ConsensusType"))
        .expect("ConsensusType");
    let ct = orderer::ConsensusType::decode(value.value.as_slice()).expect("ConsensusType");
    let md = etcdraft::ConfigMetadata::decode(ct.metadata.as_slice()).expect("Raft metadata");
    md.consenters.into_iter().map(|c| c.host).collect()
}

/// fabdev's config of the channel for `ws` run as `topo`.
fn built(net: &TestNetwork, ws: &Workspace, topo: &Topology) -> common::Config {
    let block = network::genesis::genesis_block(ws, topo, net.crypto(), CHANNEL).expect("genesis");
    network::configtx::config_from_block(&block).expect("config")
}

#[tokio::test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_an_orderer_added_to_the_raft_consenters_and_removed() {
    let fabric = home();
    let three = workspace(
        &fabric,
        "name: consenters\nhostPortBase: 31200\norderer: { org: OrdererOrg, count: 3 }\n\
         orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
         channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n",
    );
    let mut net = start(three.clone(), Options::default()).await;
    let endpoints = net.endpoints();
    let crypto = net.crypto().clone();
    let three_topo = net.topology().clone();
    // The channel starts with two consenters (the third orderer runs, but
    // is no member), the nodes keeping their ports.
    let mut two = three.clone();
    two.orderer.count = 2;
    let two_topo = Topology::with_slots(&two, &net.topology().slots());
    let genesis =
        network::genesis::genesis_block(&two, &two_topo, net.crypto(), CHANNEL).expect("genesis");
    create_channel(
        &two,
        &two_topo,
        net.crypto(),
        &endpoints,
        CHANNEL,
        &genesis,
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("channel: {e}\n{}", net.all_logs()));
    wait_for_leader(&two, &two_topo, net.crypto(), &endpoints, CHANNEL, TIMEOUT)
        .await
        .expect("a leader");
    commit_approval(&net, "peer0-org1", "first").await;

    // The third orderer added.
    let all = Network {
        ws: &three,
        topo: &three_topo,
        crypto: &crypto,
        endpoints: &endpoints,
    };
    let added = change_consenters(all, CHANNEL, &built(&net, &three, net.topology()), TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("add orderer2: {e}\n{}", net.all_logs()));
    eprintln!(
        "orderer2 added: update signed by {:?} for {:?} seen by the peers in {:?}; joined with config block {}, every orderer active with leader {:?} in {:?}",
        added.update.signers,
        added.update.policies,
        added.update.took,
        added.config_block,
        added.ready.leader,
        added.took
    );
    assert_eq!(added.update.signers, ["OrdererOrg"]);
    assert_eq!(
        added.update.policies,
        [
            "/Channel/Orderer/Admins",
            "/Channel/Orderer/OrdererOrg/Admins"
        ]
    );
    assert_eq!(added.joined, ["orderer2-ordererorg"]);
    let now = current_config(all, CHANNEL, TIMEOUT).await.expect("config");
    assert_eq!(
        consenters(&now.config).len(),
        3,
        "{:?}",
        consenters(&now.config)
    );
    let o2 = net
        .topology()
        .node("orderer2-ordererorg")
        .expect("orderer2");
    let seen = orderer_channel(
        o2,
        endpoints.get(&o2.name).expect("endpoint"),
        net.crypto(),
        &three,
        CHANNEL,
        TIMEOUT,
    )
    .await
    .expect("orderer2's view")
    .expect("orderer2 is a member");
    assert_eq!(
        (seen.consensus_relation.as_str(), seen.status.as_str()),
        ("consenter", "active")
    );

    // An old consenter stopped: two of three still order.
    net.stop_node("orderer0-ordererorg").expect("stop orderer0");
    let took = commit_approval(&net, "peer0-org2", "second").await;
    eprintln!("orderer0 stopped: a transaction committed in {took:?}");
    net.start_node("orderer0-ordererorg")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.all_logs()));
    wait_for_leader(
        &three,
        net.topology(),
        net.crypto(),
        &endpoints,
        CHANNEL,
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("orderer0 back: {e}\n{}", net.all_logs()));

    // The third taken out again: the reverse update, nothing joins.
    let back = Network {
        ws: &two,
        topo: &two_topo,
        crypto: &crypto,
        endpoints: &endpoints,
    };
    let removed = change_consenters(back, CHANNEL, &built(&net, &two, &two_topo), TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("remove orderer2: {e}\n{}", net.all_logs()));
    eprintln!(
        "orderer2 removed: update seen by the peers in {:?}, ordering ready in {:?}",
        removed.update.took, removed.took
    );
    assert!(removed.joined.is_empty());
    let now = current_config(back, CHANNEL, TIMEOUT)
        .await
        .expect("config");
    assert_eq!(
        consenters(&now.config),
        ["orderer0-ordererorg", "orderer1-ordererorg"]
    );
    net.stop_node("orderer2-ordererorg").expect("stop orderer2");
    commit_approval(&net, "peer0-org1", "third").await;

    // The same change again changes nothing: the orderer refuses an
    // update with no differences before anything is sent.
    let e = change_consenters(back, CHANNEL, &built(&net, &two, &two_topo), TIMEOUT)
        .await
        .expect_err("nothing to change");
    assert!(matches!(e, ChannelError::ConfigTx { .. }), "{e}");
}
