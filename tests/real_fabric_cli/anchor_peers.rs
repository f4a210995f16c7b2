//! Anchor peers changed in fabdev.yaml and applied by `up` to a running
//! network (`up`'s steps once the nodes run, `up_running`, on the test
//! network): Org1 anchors its second peer too and Org2 none. The plan shows
//! exactly the two changes, each signed for its org's own
//! `/Channel/Application/<org>/Admins`; `config update mychannel` makes
//! both in one update signed by both orgs' admins (and by no orderer
//! admin); the orderer delivers them; the old state reads back and a new
//! transaction commits; `applied.json` records them; a second `up` plans
//! nothing; and the anchors go back as they were the same way.

use network::fabric::{Message as _, peer};
use network::reconcile::Action;
use testnet::TestNetwork;

use super::config_update::{applied, done, plan_of, up};
use super::*;

const ORG1: &str = "{ name: Org1, peers: 2, stateDatabase: leveldb }";
const ORG2: &str = "{ name: Org2, peers: 1, stateDatabase: leveldb }";
const ORG1_BOTH: &str =
    "{ name: Org1, peers: 2, stateDatabase: leveldb, anchorPeers: [peer0, peer1] }";
const ORG2_NONE: &str = "{ name: Org2, peers: 1, stateDatabase: leveldb, anchorPeers: [] }";

/// Each org's anchor peers (host names) in the channel config the orderer
/// delivers; an org without the value has none.
async fn delivered_anchors(net: &TestNetwork) -> Vec<(String, Vec<String>)> {
    let endpoints = net.endpoints();
    let access = network::channel::Network {
        ws: net.workspace(),
        topo: net.topology(),
        crypto: net.crypto(),
        endpoints: &endpoints,
    };
    let config =
        network::channel::current_config(access, "mychannel", std::time::Duration::from_secs(30))
            .await
            .expect("the channel's config");
    let app = config
        .config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Application"))
        .expect("an Application group");
    app.groups
        .iter()
        .map(|(org, g)| {
            let hosts = g
                .values
                .get("AnchorPeers")
                .map(|v| {
                    peer::AnchorPeers::decode(v.value.as_slice())
                        .expect("AnchorPeers decodes")
                        .anchor_peers
                        .into_iter()
                        .map(|a| a.host)
                        .collect()
                })
                .unwrap_or_default();
            (org.clone(), hosts)
        })
        .collect()
}

fn set(dir: &Path, from: &[&str; 2], to: &[&str; 2]) {
    let file = dir.join("fabdev.yaml");
    let mut text = std::fs::read_to_string(&file).expect("fabdev.yaml");
    for (a, b) in from.iter().zip(to) {
        assert!(text.contains(a), "{text}");
        text = text.replace(a, b);
    }
    std::fs::write(&file, text).expect("write fabdev.yaml");
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_up_changes_anchor_peers_signed_by_each_org() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    let body = format!(
        "{}chaincodes:\n  - {{ name: basic, path: chaincode/asset-node, channel: mychannel }}\n",
        two_orgs("clitest", 32600)
            .replace("{ name: Org1, peers: 1, stateDatabase: leveldb }", ORG1)
    );
    assert_has(&body, ORG1);
    let t = CliNetwork::start_with(ws, &body).await;
    let dir = t.dir().to_path_buf();
    let dir = dir.as_path();
    let logs = |net: &TestNetwork| net.all_logs();

    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("first up: {e}\n{events:#?}\n{}", logs(&t.net)));
    assert_eq!(
        delivered_anchors(&t.net).await,
        [
            ("Org1".to_string(), names(&["peer0-org1"])),
            ("Org2".to_string(), names(&["peer0-org2"]))
        ]
    );
    t.ok(&create_asset(["asset1", "blue", "5", "Tom", "300"]))
        .await;

    // Org1 anchors both its peers, Org2 none.
    set(dir, &[ORG1, ORG2], &[ORG1_BOTH, ORG2_NONE]);
    let changes = [
        Action::ChangeAnchorPeers {
            org: "Org1".into(),
            channels: names(&["mychannel"]),
            from: names(&["peer0-org1"]),
            to: names(&["peer0-org1", "peer1-org1"]),
        },
        Action::ChangeAnchorPeers {
            org: "Org2".into(),
            channels: names(&["mychannel"]),
            from: names(&["peer0-org2"]),
            to: vec![],
        },
    ];
    let started = std::time::Instant::now();
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("up: {e}\n{events:#?}\n{}", logs(&t.net)));
    let took = started.elapsed();
    let plan = plan_of(&events);
    assert_eq!(plan.actions, changes);
    let text = plan.text();
    assert_has(
        &text,
        "~ anchor peers of Org1 [peer0-org1] -> [peer0-org1, peer1-org1] on mychannel (config update signed for /Channel/Application/Org1/Admins)",
    );
    assert_has(
        &text,
        "~ anchor peers of Org2 [peer0-org2] -> [] on mychannel (config update signed for /Channel/Application/Org2/Admins)",
    );
    let steps = done(&events);
    let updates: Vec<_> = steps
        .iter()
        .filter(|(s, _, _)| s.starts_with("config update"))
        .collect();
    assert_eq!(updates.len(), 1, "one update for both changes: {steps:?}");
    let detail = updates[0].1.clone().unwrap_or_default();
    eprintln!("anchor peers changed by up in {took:.1?}: config update mychannel: {detail}");
    assert_has(&detail, "signed by Org1 Admin, Org2 Admin for ");
    assert_has(&detail, "/Channel/Application/Org1/Admins");
    assert_has(&detail, "/Channel/Application/Org2/Admins");
    assert!(
        !detail.contains("OrdererOrg Admin"),
        "no orderer signature: {detail}"
    );
    assert_eq!(
        delivered_anchors(&t.net).await,
        [
            ("Org1".to_string(), names(&["peer0-org1", "peer1-org1"])),
            ("Org2".to_string(), vec![])
        ]
    );
    let recorded: Vec<Vec<u32>> = applied(dir)
        .orgs
        .iter()
        .map(|o| o.anchor_peers.clone())
        .collect();
    assert_eq!(recorded, [vec![0, 1], vec![]]);

    // The old state reads back; a new transaction commits.
    let out = t
        .ok(&["chaincode", "query", "basic", "ReadAsset", "asset1"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["owner"], "Tom", "{v}");
    t.ok(&create_asset(["asset2", "red", "3", "Ann", "100"]))
        .await;

    // A second `up` plans nothing.
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("second up: {e}\n{events:#?}"));
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));

    // Back as they were: the same step, the values come back.
    set(dir, &[ORG1_BOTH, ORG2_NONE], &[ORG1, ORG2]);
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("up back: {e}\n{events:#?}\n{}", logs(&t.net)));
    assert_eq!(plan_of(&events).actions.len(), 2, "{:?}", plan_of(&events));
    assert_eq!(
        delivered_anchors(&t.net).await,
        [
            ("Org1".to_string(), names(&["peer0-org1"])),
            ("Org2".to_string(), names(&["peer0-org2"]))
        ]
    );
    let out = t
        .ok(&["chaincode", "query", "basic", "ReadAsset", "asset2"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["owner"], "Ann", "{v}");
}
