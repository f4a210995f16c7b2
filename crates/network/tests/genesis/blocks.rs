//! Whole blocks checked against configtxgen's construction, for several
//! workspaces, Fabric versions and options.

use super::*;

#[test]
fn default_workspace_block_is_what_configtxgen_would_write() {
    let net = Net::new(Workspace::default_network());
    let bytes = net.block("mychannel");
    let b = check_block(&net, "mychannel", &bytes);
    assert_eq!(
        value::<orderer::BatchTimeout>(b.group(&["Orderer"]), "BatchTimeout").timeout,
        "250ms"
    );
    assert_eq!(
        keys(&b.group(&["Application"]).groups),
        ["Org1", "Org2"],
        "org groups keyed by org name"
    );
    assert_eq!(keys(&b.group(&["Orderer"]).groups), ["OrdererOrg"]);
}

#[test]
fn three_orderers_three_orgs_and_a_two_org_channel() {
    let net = Net::new(three_orgs_ws());
    let all = net.block("mychannel");
    let b = check_block(&net, "mychannel", &all);
    let raft: etcdraft::ConfigMetadata =
        dec(&value::<orderer::ConsensusType>(b.group(&["Orderer"]), "ConsensusType").metadata);
    let hosts: Vec<&str> = raft.consenters.iter().map(|c| c.host.as_str()).collect();
    assert_eq!(
        hosts,
        [
            "orderer0-ordererorg",
            "orderer1-ordererorg",
            "orderer2-ordererorg"
        ]
    );
    let endpoints: common::OrdererAddresses =
        value(b.group(&["Orderer", "OrdererOrg"]), "Endpoints");
    assert_eq!(
        endpoints.addresses,
        [
            "orderer0-ordererorg:7050",
            "orderer1-ordererorg:7050",
            "orderer2-ordererorg:7050"
        ]
    );
    assert_eq!(
        keys(&b.group(&["Application"]).groups),
        ["Org1", "Org2", "Org3"]
    );

    let two = net.block("bilateral");
    let b2 = check_block(&net, "bilateral", &two);
    assert_eq!(keys(&b2.group(&["Application"]).groups), ["Org1", "Org2"]);
    assert_ne!(b.shdr.nonce, b2.shdr.nonce, "nonce depends on the channel");
    assert_ne!(b.chdr.tx_id, b2.chdr.tx_id);
}

#[test]
fn fabric_3_uses_channel_v3_0_and_its_batch_timeout() {
    let net = Net::new(v3_ws());
    let bytes = net.block("mychannel");
    let b = check_block(&net, "mychannel", &bytes);
    assert_eq!(capabilities(b.root()), ["V3_0"]);
    assert_eq!(capabilities(b.group(&["Orderer"])), ["V2_0"]);
    assert_eq!(capabilities(b.group(&["Application"])), ["V2_5"]);
    assert!(!b.root().values.contains_key("OrdererAddresses"));
    assert_eq!(
        value::<orderer::BatchTimeout>(b.group(&["Orderer"]), "BatchTimeout").timeout,
        "1.5s"
    );
    // Org2 has two peers; only peer0 is its anchor.
    let anchors: peer::AnchorPeers = value(b.group(&["Application", "Org2"]), "AnchorPeers");
    assert_eq!(anchors.anchor_peers.len(), 1);
    assert_eq!(anchors.anchor_peers[0].host, "peer0-org2");
}

#[test]
fn anchor_peers_are_the_orgs_list_in_its_order_and_none_for_an_empty_one() {
    let mut ws = v3_ws();
    ws.orgs[1].anchor_peers = vec![1, 0];
    ws.orgs[0].anchor_peers = vec![];
    let net = Net::new(ws);
    let bytes = net.block("mychannel");
    let b = check_block(&net, "mychannel", &bytes);
    let anchors: peer::AnchorPeers = value(b.group(&["Application", "Org2"]), "AnchorPeers");
    let hosts: Vec<(&str, i32)> = anchors
        .anchor_peers
        .iter()
        .map(|a| (a.host.as_str(), a.port))
        .collect();
    assert_eq!(hosts, [("peer1-org2", 7051), ("peer0-org2", 7051)]);
    assert!(
        !b.group(&["Application", "Org1"])
            .values
            .contains_key("AnchorPeers"),
        "like configtxgen, no value without anchors"
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let net = Net::new(three_orgs_ws());
    let a = net.block("mychannel");
    let b = net.block("mychannel");
    assert_eq!(a, b);
    // Re-encoding the decoded block gives the same bytes too (canonical
    // encoding; no unknown or out-of-order fields).
    let block: common::Block = dec(&a);
    assert_eq!(block.encode_to_vec(), a);
}

#[test]
fn workspace_batch_size_and_raft_options() {
    let mut ws = Workspace::default_network();
    ws.batch_size = BatchSize {
        max_message_count: 500,
        absolute_max_bytes: 10 * 1024 * 1024,
        preferred_max_bytes: 2 * 1024 * 1024,
    };
    let net = Net::new(ws);
    let mut opts = GenesisOptions::new("mychannel");
    opts.raft.tick_interval = "100ms".into();
    let bytes = genesis_block_with(&net.ws, &net.topo, &net.crypto, &opts).expect("block");
    let b = Parsed::new(&bytes);
    let orderer = b.group(&["Orderer"]);
    assert_eq!(
        value::<orderer::BatchSize>(orderer, "BatchSize").max_message_count,
        500
    );
    let raft: etcdraft::ConfigMetadata =
        dec(&value::<orderer::ConsensusType>(orderer, "ConsensusType").metadata);
    assert_eq!(raft.options.expect("options").tick_interval, "100ms");
    // The default block of this workspace has its batch size too.
    let b = Parsed::new(&net.block("mychannel"));
    let size = value::<orderer::BatchSize>(b.group(&["Orderer"]), "BatchSize");
    assert_eq!(
        (size.max_message_count, size.preferred_max_bytes),
        (500, 2 * 1024 * 1024)
    );
    assert_ne!(bytes, net.block("mychannel"));
}
