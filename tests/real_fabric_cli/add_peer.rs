//! A peer added to an org of a running network, applied by `fabdev up`'s
//! steps once the nodes run (`up_running`, on the test network, which runs
//! the new peer's pod as processes): the plan is exactly the `add-peer`,
//! the peer joins from the channel's genesis block, gets the chaincode,
//! and endorses for its org while the org's first peer is down; the old
//! state reads back, the other nodes keep their host ports, and a second
//! `up` plans nothing.

use std::time::Instant;

use network::reconcile::Action;

use super::config_update::{applied, as_json, plan_of, up};
use super::*;

const YAML_ORG2: &str = "{ name: Org2, peers: 2, stateDatabase: leveldb }";

fn set_org2_peers(dir: &Path, peers: u32) {
    let file = dir.join("fabdev.yaml");
    let text = std::fs::read_to_string(&file).expect("fabdev.yaml");
    let now = if text.contains(YAML_ORG2) {
        YAML_ORG2.to_string()
    } else {
        YAML_ORG2.replace("peers: 2", "peers: 1")
    };
    let wanted = YAML_ORG2.replace("peers: 2", &format!("peers: {peers}"));
    assert!(text.contains(&now), "{text}");
    std::fs::write(&file, text.replace(&now, &wanted)).expect("write fabdev.yaml");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_a_peer_added_to_an_org_joins_installs_and_endorses() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    // The network as it will be (the test network runs every node it
    // renders); the peer to add stays stopped, and fabdev.yaml says one
    // peer for Org2 until it is added.
    let body = format!(
        "{}chaincodes:\n  - {{ name: basic, path: chaincode/asset-node, channel: mychannel }}\n",
        two_orgs("clitest", 32200).replace(&YAML_ORG2.replace("peers: 2", "peers: 1"), YAML_ORG2)
    );
    assert_has(&body, YAML_ORG2);
    let mut t = CliNetwork::start_with(ws, &body).await;
    t.net.stop_node("peer1-org2").expect("stop the peer to add");
    set_org2_peers(t.dir(), 1);
    let before = network::Topology::of(&network::Workspace::load_dir(t.dir()).expect("spec"));

    let (r, events) = up(t.dir()).await;
    r.unwrap_or_else(|e| panic!("first up: {e}\n{events:#?}\n{}", t.net.all_logs()));
    assert_eq!(event(&as_json(&events), "deployed")["outcome"], "deployed");
    assert_eq!(applied(t.dir()).orgs[1].peers, 1);
    t.ok(&create_asset(["asset1", "blue", "5", "Tom", "300"]))
        .await;

    // The peer is added: fabdev.yaml says so, its pod runs.
    let added = Instant::now();
    set_org2_peers(t.dir(), 2);
    let after = network::Topology::of(&network::Workspace::load_dir(t.dir()).expect("spec"));
    for n in &before.nodes {
        assert_eq!(
            after.node(&n.name).map(|m| m.host_ports),
            Some(n.host_ports),
            "{} moved",
            n.name
        );
    }
    if let Err(e) = t.net.start_node("peer1-org2").await {
        panic!("{e}\n{}", t.net.all_logs());
    }
    wait_for_peer(&t.net, "peer1-org2").await;
    let (r, events) = up(t.dir()).await;
    r.unwrap_or_else(|e| panic!("up: {e}\n{events:#?}\n{}", t.net.all_logs()));
    assert_eq!(
        plan_of(&events).actions,
        [Action::AddPeer {
            org: "Org2".into(),
            peer: "peer1-org2".into()
        }]
    );
    let events = as_json(&events);
    let joined: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "channel")
        .filter(|e| e["state"] == "joined" || e["state"] == "already_joined")
        .map(|e| {
            (
                e["node"].as_str().unwrap_or_default().to_string(),
                e["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (node, state) in [
        ("orderer0-ordererorg", "already_joined"),
        ("peer0-org1", "already_joined"),
        ("peer0-org2", "already_joined"),
        ("peer1-org2", "joined"),
    ] {
        assert!(
            joined.contains(&(node.to_string(), state.to_string())),
            "{node} {state}: {joined:?}"
        );
    }
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["outcome"], "completed", "{deployed}");
    assert_eq!(deployed["sequence"], 1, "{deployed}");
    assert_eq!(
        deployed["installed"],
        serde_json::json!(["peer1-org2"]),
        "{deployed}"
    );
    eprintln!(
        "peer1-org2 added, joined and installed in {:.1}s",
        added.elapsed().as_secs_f64()
    );

    // It endorses for Org2 (the default policy needs both orgs) with
    // Org2's first peer down; the old state reads back.
    t.net.stop_node("peer0-org2").expect("stop peer0-org2");
    t.ok(&create_asset(["asset2", "blue", "5", "Tom", "300"]))
        .await;
    for asset in ["asset1", "asset2"] {
        let out = t
            .ok(&["chaincode", "query", "basic", "ReadAsset", asset])
            .await;
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(v["owner"], "Tom", "{v}");
    }
    eprintln!(
        "peer1-org2 endorsed {:.1}s after it was added",
        added.elapsed().as_secs_f64()
    );
    assert_eq!(applied(t.dir()).orgs[1].peers, 2);

    // With peer0-org2 back, a second `up` plans nothing and its deploy
    // changes nothing.
    if let Err(e) = t.net.start_node("peer0-org2").await {
        panic!("{e}\n{}", t.net.all_logs());
    }
    wait_for_peer(&t.net, "peer0-org2").await;
    let (r, events) = up(t.dir()).await;
    r.unwrap_or_else(|e| panic!("second up: {e}\n{events:#?}\n{}", t.net.all_logs()));
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
    assert_eq!(event(&as_json(&events), "deployed")["outcome"], "unchanged");
}
