//! An org added to a running channel, applied by `fabdev up`'s steps once
//! the nodes run (`up_running`, on the test network): the plan is exactly
//! `add-org` and `add-org-to-channel`; its `channel` step reads the
//! channel's config from the orderer, makes one config update signed by
//! the member orgs' admins, joins the new org's peer from the channel's
//! genesis block as the orderer delivers it, and installs the committed
//! chaincode on it and approves it for the org at the committed sequence.
//! Then the chaincode given a policy that needs Org3 (the next `up`
//! redeploys it) commits a transaction Org3's peer endorsed; the old state
//! reads back, also on Org3's peer; a further `up` plans nothing and
//! changes nothing. Before all that, an `up` that fails half-way (Org3's
//! peer down after the config update) records nothing, and the next `up`
//! finishes it without a second update.

use std::time::Instant;

use testkit::fabric::write_spec;

use super::config_update::{applied, as_json, plan_of, up};
use super::*;

const ORG3: &str = "  - { name: Org3, peers: 1, stateDatabase: leveldb }\n";
const CC: &str =
    "chaincodes:\n  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n";

/// fabdev.yaml's body: the two orgs, and Org3 in the network and on the
/// channel when `org3`.
fn body(org3: bool) -> String {
    let two = two_orgs("clitest", 32300);
    if !org3 {
        return format!("{two}{CC}");
    }
    let with = two
        .replace("channels:\n", &format!("{ORG3}channels:\n"))
        .replace("[Org1, Org2]", "[Org1, Org2, Org3]");
    format!("{with}{CC}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_an_org_added_to_a_channel_joins_catches_up_and_endorses() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    // The network as it will be (the test network runs every node it
    // renders, Org3's peer on no channel); fabdev.yaml then says two orgs
    // until Org3 is added.
    let mut t = CliNetwork::start_with(ws, &body(true)).await;
    let dir = t.dir().to_path_buf();
    let dir = dir.as_path();
    write_spec(dir, &body(false));
    let up_ok = |r: Result<(), fabdev::flow::FlowError>,
                 what: &str,
                 events: &[fabdev::events::Event],
                 net: &testnet::TestNetwork| {
        if let Err(e) = r {
            panic!("{what}: {e}\n{events:#?}\n{}", net.all_logs());
        }
    };
    let (r, events) = up(dir).await;
    up_ok(r.map(|_| ()), "first up", &events, &t.net);
    assert_eq!(applied(dir).orgs.len(), 2);
    t.ok(&create_asset(["asset1", "blue", "5", "Tom", "300"]))
        .await;

    // Org3 is added to the network and the channel: the plan says exactly
    // that.
    write_spec(dir, &body(true));
    // First with Org3's peer down: the config update is made, the join
    // fails, `up` fails and records nothing. Nothing is lost: the next
    // `up` plans the same and finishes without a second update (a config
    // update cannot be taken back without another one the members sign,
    // so fabdev goes forward, and every part of the step is idempotent).
    t.net.stop_node("peer0-org3").expect("stop Org3's peer");
    let (r, events) = up(dir).await;
    assert!(r.is_err(), "up with Org3's peer down: {events:#?}");
    let updated = |events: &[serde_json::Value]| {
        events.iter().any(|e| {
            e["event"] == "note"
                && e["message"].as_str().is_some_and(|m| {
                    m.starts_with(
                        "Org3 added to channel mychannel: config update signed by Org1, Org2",
                    )
                })
        })
    };
    assert!(updated(&as_json(&events)), "{events:#?}");
    assert_eq!(applied(dir).orgs.len(), 2, "nothing recorded");
    if let Err(e) = t.net.start_node("peer0-org3").await {
        panic!("{e}\n{}", t.net.all_logs());
    }
    wait_for_peer(&t.net, "peer0-org3").await;
    let started = Instant::now();
    let (r, events) = up(dir).await;
    up_ok(r.map(|_| ()), "up (Org3 added)", &events, &t.net);
    let p = plan_of(&events);
    eprintln!("{}", p.text());
    assert_eq!(
        p.text(),
        "plan: 2 to add, 0 to change, 0 to remove, 0 refused\n  \
         + org Org3 (Org3MSP, 1 peer)\n  \
         + Org3 on channel mychannel (config update signed for /Channel/Application/Admins)\n"
    );
    let events = as_json(&events);
    let notes: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "note")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect();
    eprintln!("{}", notes.join("\n"));
    assert!(
        !updated(&events),
        "the update was made by the failed up: {notes:#?}"
    );
    // The channel step installs and approves for an org it adds; Org3 is
    // in the channel's config already, so `up`'s deploy step does it: the
    // committed definition, installed on Org3's peer and approved for it.
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["outcome"], "completed", "{deployed}");
    assert_eq!(deployed["sequence"], 1, "{deployed}");
    assert_eq!(
        deployed["installed"],
        serde_json::json!(["peer0-org3"]),
        "{deployed}"
    );
    assert!(
        deployed["approved"].to_string().contains("Org3"),
        "{deployed}"
    );
    let joined = |events: &[serde_json::Value], node: &str, state: &str| {
        events
            .iter()
            .any(|e| e["event"] == "channel" && e["node"] == node && e["state"] == state)
    };
    assert!(joined(&events, "peer0-org3", "joined"), "{events:#?}");
    assert!(
        joined(&events, "peer0-org1", "already_joined"),
        "{events:#?}"
    );
    let joined_at = started.elapsed();

    // The old state reads back, on Org3's peer too.
    for org in ["Org1", "Org3"] {
        let out = t
            .ok(&[
                "chaincode",
                "query",
                "basic",
                "ReadAsset",
                "asset1",
                "--org",
                org,
            ])
            .await;
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(v["owner"], "Tom", "{org}: {v}");
    }

    // A policy that needs Org3: the definition's next sequence, approved
    // by the three orgs (the package is the one Org3 has), and an invoke
    // that commits only with Org3's peer's endorsement.
    let needs_org3 = body(true).replace(
        "channel: mychannel }",
        "channel: mychannel, signaturePolicy: \"AND('Org1MSP.peer', 'Org3MSP.peer')\" }",
    );
    write_spec(dir, &needs_org3);
    let (r, events) = up(dir).await;
    up_ok(r.map(|_| ()), "up (policy needing Org3)", &events, &t.net);
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
    let events = as_json(&events);
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["sequence"], 2, "{deployed}");
    assert_eq!(deployed["installed"], serde_json::json!([]), "{deployed}");
    t.ok(&create_asset(["asset2", "blue", "5", "Tom", "300"]))
        .await;
    let endorsed = started.elapsed();
    // Both assets read back on Org3's peer.
    for asset in ["asset1", "asset2"] {
        let out = t
            .ok(&[
                "chaincode",
                "query",
                "basic",
                "ReadAsset",
                asset,
                "--org",
                "Org3",
            ])
            .await;
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(v["owner"], "Tom", "{v}");
    }

    // Recorded: a further `up` plans nothing, and its channel step changes
    // nothing: no update, every node joined already.
    assert_eq!(applied(dir).orgs.len(), 3);
    let (r, events) = up(dir).await;
    up_ok(r.map(|_| ()), "last up", &events, &t.net);
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
    let events = as_json(&events);
    assert!(
        !events.iter().any(|e| e["event"] == "note"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("added to channel"))),
        "{events:#?}"
    );
    for node in [
        "orderer0-ordererorg",
        "peer0-org1",
        "peer0-org2",
        "peer0-org3",
    ] {
        assert!(
            joined(&events, node, "already_joined"),
            "{node}: {events:#?}"
        );
    }
    eprintln!(
        "Org3 on mychannel (after the failed up): join and catch-up in {:.1}s; Org3's peer endorsed {:.1}s after that up started",
        joined_at.as_secs_f64(),
        endorsed.as_secs_f64()
    );
}
