//! An orderer added to a running network's consenters by `fabdev up`, and
//! removed again, as `fabdev::flow::up::up_running` runs `up` on the test
//! network (every node it renders runs; the orderer to add stays stopped
//! until fabdev.yaml lists it): the plan shows exactly the change, the
//! `consenters mychannel` step updates the consenter set (signed by the
//! orderer org's admin), the new orderer joins with the latest config block
//! and reports the channel as a consenter, active; a transaction commits
//! and the old state reads back; a second `up` plans nothing. Then the
//! reverse: the orderer leaves the consenters and the channel, is stopped,
//! and transactions still commit; a removal that would leave fewer
//! consenters than fabdev allows is refused and changes nothing.
//!
//! Raft: 3 orderers -> 4 -> 3. BFT (Fabric 3 only): 4 -> 5 -> 4.

use std::time::{Duration, Instant};

use network::fabric::{Message as _, common, etcdraft, orderer};
use network::reconcile::Action;
use testnet::TestNetwork;

use super::config_update::{applied, channel_config, done, plan_of, step_detail, up};
use super::*;

const CHAINCODE: &str =
    "chaincodes:\n  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n";
const TIMEOUT: Duration = Duration::from_secs(30);

/// The consenters' hosts in the channel's latest config, as the orderers
/// deliver it (Raft's metadata, or BFT's consenter mapping).
async fn consenters(net: &TestNetwork) -> Vec<String> {
    let config = channel_config(net).await;
    let orderer_group = config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Orderer"))
        .expect("Orderer group");
    let ct = orderer_group
        .values
        .get("ConsensusType")
        .map(|v| orderer::ConsensusType::decode(v.value.as_slice()).expect("ConsensusType"))
        .expect("ConsensusType");
    if ct.r#type == "BFT" {
        let v = orderer_group.values.get("Orderers").expect("Orderers");
        return common::Orderers::decode(v.value.as_slice())
            .expect("Orderers")
            .consenter_mapping
            .into_iter()
            .map(|c| c.host)
            .collect();
    }
    etcdraft::ConfigMetadata::decode(ct.metadata.as_slice())
        .expect("Raft metadata")
        .consenters
        .into_iter()
        .map(|c| c.host)
        .collect()
}

/// What `orderer` says of mychannel: (relation, status), none when it is
/// no member.
async fn orderers_view(net: &TestNetwork, orderer: &str) -> Option<(String, String)> {
    let node = net.topology().node(orderer).expect("the orderer");
    let endpoints = net.endpoints();
    network::channel::orderer_channel(
        node,
        endpoints.get(orderer).expect("its endpoint"),
        net.crypto(),
        net.workspace(),
        "mychannel",
        TIMEOUT,
    )
    .await
    .expect("the orderer's channel participation API")
    .map(|c| (c.consensus_relation, c.status))
}

fn set_count(dir: &Path, from: u32, to: u32) {
    let file = dir.join("fabdev.yaml");
    let text = std::fs::read_to_string(&file).expect("fabdev.yaml");
    let (before, after) = (format!("count: {from} "), format!("count: {to} "));
    assert!(text.contains(&before), "{text}");
    std::fs::write(&file, text.replace(&before, &after)).expect("write fabdev.yaml");
}

fn hosts(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("orderer{i}-ordererorg")).collect()
}

/// `up` succeeds; its events, and the time it took.
async fn up_ok(t: &CliNetwork, what: &str) -> (Vec<fabdev::events::Event>, Duration) {
    let start = Instant::now();
    let (r, events) = up(t.dir()).await;
    r.unwrap_or_else(|e| panic!("{what}: {e}\n{events:#?}\n{}", t.net.all_logs()));
    (events, start.elapsed())
}

async fn add_and_remove(consensus: &str, from: u32, port: u16) {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    let to = from + 1;
    let added = format!("orderer{from}-ordererorg");
    let body = format!(
        "orderer: {{ count: {to} , consensus: {consensus} }}\n{}{CHAINCODE}",
        two_orgs("clitest", port)
    );
    // The nodes at the slots the first `up` (with `from` orderers) gives
    // them; the added orderer in the next free one, as `up` adds it.
    // (Parsed here without the chaincode, whose folder is the workspace's.)
    let first = body
        .replace(&format!("count: {to} "), &format!("count: {from} "))
        .replace(CHAINCODE, "");
    let slots = network::Topology::of(&testkit::fabric::workspace(
        &testkit::fabric::home(),
        &first,
    ))
    .slots();
    testkit::fabric::write_spec(ws.path(), &body);
    let mut t = CliNetwork::start_keeping(ws, slots).await;
    t.net.stop_node(&added).expect("stop the orderer to add");
    set_count(t.dir(), to, from);
    let dir = t.dir().to_path_buf();
    let dir = dir.as_path();

    // The first `up`: channel (with `from` consenters), chaincode, record.
    let (events, _) = up_ok(&t, "first up").await;
    assert!(plan_of(&events).first_up);
    assert_eq!(consenters(&t.net).await, hosts(from));
    t.ok(&create_asset(["asset1", "blue", "5", "Tom", "300"]))
        .await;

    // One orderer more: its node runs, fabdev.yaml lists it.
    t.net
        .start_node(&added)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", t.net.all_logs()));
    set_count(dir, from, to);
    let (events, took) = up_ok(&t, "up adding an orderer").await;
    let plan = plan_of(&events);
    assert_eq!(
        plan.actions,
        [Action::AddOrderer {
            orderer: added.clone()
        }]
    );
    assert!(
        plan.text()
            .contains(&format!("+ orderer {added} (consenter)")),
        "{}",
        plan.text()
    );
    let detail = step_detail(&events, "consenters mychannel").0;
    eprintln!(
        "{consensus}: {added} added by up in {:.1}s: {detail}",
        took.as_secs_f64()
    );
    assert!(
        detail.contains(&format!("{added} added to mychannel ({to} consenters)"))
            && detail.contains("signed by OrdererOrg Admin")
            && detail.contains("joined with config block"),
        "{detail}"
    );
    assert_eq!(consenters(&t.net).await, hosts(to));
    assert_eq!(
        orderers_view(&t.net, &added).await,
        Some(("consenter".to_string(), "active".to_string()))
    );
    assert_eq!(applied(dir).orderer.count, to);
    // A transaction commits; the old state reads back.
    t.ok(&create_asset(["asset2", "red", "3", "Ann", "100"]))
        .await;
    for (asset, owner) in [("asset1", "Tom"), ("asset2", "Ann")] {
        let out = t
            .ok(&["chaincode", "query", "basic", "ReadAsset", asset])
            .await;
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(v["owner"], owner, "{v}");
    }
    // A second `up` plans nothing and has no consenter step.
    let (events, _) = up_ok(&t, "second up").await;
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
    assert!(
        !done(&events)
            .iter()
            .any(|(s, _, _)| s.starts_with("consenters")),
        "{events:#?}"
    );

    // The reverse: the orderer leaves the consenters and the channel.
    set_count(dir, to, from);
    let (events, took) = up_ok(&t, "up removing the orderer").await;
    assert_eq!(
        plan_of(&events).actions,
        [Action::RemoveOrderer {
            orderer: added.clone()
        }]
    );
    let detail = step_detail(&events, "consenters mychannel").0;
    eprintln!(
        "{consensus}: {added} removed by up in {:.1}s: {detail}",
        took.as_secs_f64()
    );
    assert!(
        detail.contains(&format!(
            "{added} removed from mychannel ({from} consenters)"
        )) && detail.contains("left the channel"),
        "{detail}\n{added}'s view: {:?}\n{added}'s log:\n{}",
        orderers_view(&t.net, &added).await,
        t.net.logs(&added).unwrap_or_default()
    );
    assert_eq!(consenters(&t.net).await, hosts(from));
    assert_eq!(orderers_view(&t.net, &added).await, None);
    assert_eq!(applied(dir).orderer.count, from);
    t.net.stop_node(&added).expect("stop the removed orderer");
    t.ok(&create_asset(["asset3", "green", "7", "Bo", "200"]))
        .await;

    // Fewer than fabdev allows: refused, nothing changes.
    let (fewest, field) = if consensus == "bft" {
        (3, "orderer.count")
    } else {
        (2, "orderer.count")
    };
    set_count(dir, from, fewest);
    let (r, events) = up(dir).await;
    assert!(r.is_err(), "{events:#?}");
    if consensus == "bft" {
        // The spec itself says BFT needs 4.
        assert!(
            format!("{:?}", r.err()).contains(field),
            "BFT with {fewest} orderers"
        );
    } else {
        let plan = plan_of(&events);
        assert_eq!(plan.refused.len(), 1, "{plan:?}");
        assert_eq!(plan.refused[0].field, field);
        assert!(plan.actions.is_empty() || !plan.applicable());
    }
    assert_eq!(consenters(&t.net).await, hosts(from));
    assert_eq!(applied(dir).orderer.count, from);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_up_adds_a_raft_orderer_and_removes_it() {
    add_and_remove("raft", 3, 30600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_up_adds_a_bft_orderer_and_removes_it() {
    let fabric = testkit::fabric::home();
    if !fabric.two_digit_version().starts_with('3') {
        // Fabric 2.5 has no BFT: the spec must say so rather than start.
        let text = testkit::fabric::spec_text(
            &fabric,
            &format!(
                "orderer: {{ count: 5, consensus: bft }}\n{}",
                two_orgs("clitest", 30800)
            ),
        );
        let e = network::Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new("."))
            .expect_err("BFT on Fabric 2.5");
        assert!(e.to_string().contains("orderer.consensus"), "{e}");
        return;
    }
    add_and_remove("bft", 4, 30800).await;
}
