//! A channel parameter changed in fabdev.yaml and applied by `up` to a
//! running network: the batch timeout raised, then the batch size. `up`'s steps run here as
//! `fabdev::flow::up::up_running` (every step `up` runs once the nodes run,
//! on the test network that runs the rendered pods as processes): the plan
//! shows exactly the change, `config update mychannel` applies it (signed
//! by the orderer org's admin, as `/Channel/Orderer/Admins` needs), the
//! orderer's config has it, the old state reads back, `.fabdev/applied.json`
//! changes only once it succeeded, and a second `up` plans nothing.

use std::time::Duration;

use fabdev::events::{Event, EventKind};
use fabdev::flow::up::up_running;
use network::fabric::orderer;
use network::reconcile::{APPLIED_FILE, Action, AppliedState, Plan};

use testkit::fabric::home;
use testnet::TestNetwork;

use super::*;

const CHAINCODE: &str =
    "chaincodes:\n  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n";

/// `up` as it runs once the nodes run; its events.
pub(super) async fn up(
    dir: &Path,
) -> (
    Result<fabdev::flow::up::UpReport, fabdev::flow::FlowError>,
    Vec<Event>,
) {
    let opts = fabdev::flow::Options::new(dir);
    let mut events: Vec<Event> = Vec::new();
    let r = up_running(&opts, &mut events).await;
    (r, events)
}

/// The events as `-o json` prints them.
pub(super) fn as_json(events: &[Event]) -> Vec<serde_json::Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(e).expect("an event serializes"))
        .collect()
}

pub(super) fn plan_of(events: &[Event]) -> Plan {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Plan(p) => Some(p.clone()),
            _ => None,
        })
        .expect("a plan event")
}

/// The steps that ran, with their detail and time.
pub(super) fn done(events: &[Event]) -> Vec<(String, Option<String>, Duration)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepDone { elapsed, detail } => {
                Some((e.step.clone().unwrap_or_default(), detail.clone(), *elapsed))
            }
            _ => None,
        })
        .collect()
}

/// The detail and time of the step `name`, failing when it did not run.
pub(super) fn step_detail(events: &[Event], name: &str) -> (String, Duration) {
    let steps = done(events);
    let (_, detail, took) = steps
        .iter()
        .find(|(s, _, _)| s == name)
        .unwrap_or_else(|| panic!("no {name} step: {steps:?}"));
    (detail.clone().unwrap_or_default(), *took)
}

pub(super) fn applied(dir: &Path) -> AppliedState {
    let text =
        std::fs::read_to_string(dir.join(".fabdev").join(APPLIED_FILE)).expect("applied.json");
    AppliedState::from_json(&text).expect("applied.json reads")
}

/// mychannel's latest config as the orderers deliver it.
pub(super) async fn channel_config(net: &TestNetwork) -> network::fabric::common::Config {
    let endpoints = net.endpoints();
    let access = network::channel::Network {
        ws: net.workspace(),
        topo: net.topology(),
        crypto: net.crypto(),
        endpoints: &endpoints,
    };
    network::channel::current_config(access, "mychannel", Duration::from_secs(30))
        .await
        .expect("the channel's config")
        .config
}

/// Value `key` of the orderer group the orderers deliver in the channel's
/// latest config, decoded.
async fn orderers_value<M: network::fabric::Message + Default>(net: &TestNetwork, key: &str) -> M {
    let config = channel_config(net).await;
    let value = config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Orderer"))
        .and_then(|g| g.values.get(key))
        .unwrap_or_else(|| panic!("no {key}"));
    M::decode(value.value.as_slice()).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The batch timeout the orderers deliver in the channel's latest config.
async fn orderers_batch_timeout(net: &TestNetwork) -> String {
    orderers_value::<orderer::BatchTimeout>(net, "BatchTimeout")
        .await
        .timeout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_up_raises_the_batch_timeout_of_a_running_channel() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    let mut t = CliNetwork::start(ws, 31600, CHAINCODE).await;
    let dir = t.dir().to_path_buf();
    let dir = dir.as_path();
    let logs = |net: &TestNetwork| net.all_logs();

    // The first `up`: channel, chaincode, the record.
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("first up: {e}\n{events:#?}\n{}", logs(&t.net)));
    assert!(plan_of(&events).first_up);
    assert_eq!(applied(dir).batch_timeout_ms, 250);
    let create = [
        "chaincode",
        "invoke",
        "basic",
        "CreateAsset",
        "asset1",
        "blue",
        "5",
        "Tom",
        "300",
    ];
    t.ok(&create).await;

    // fabdev.yaml raises the batch timeout.
    let file = dir.join("fabdev.yaml");
    let text = std::fs::read_to_string(&file).expect("fabdev.yaml");
    let version = home().two_digit_version();
    let before = format!("fabric: {{ version: \"{version}\" }}");
    assert!(text.contains(&before), "{text}");
    let after = format!("fabric: {{ version: \"{version}\", batchTimeoutMs: 2000 }}");
    std::fs::write(&file, text.replace(&before, &after)).expect("write fabdev.yaml");
    let change = Action::ChangeBatchTimeout {
        channels: vec!["mychannel".into()],
        from_ms: 250,
        to_ms: 2000,
    };

    // With the orderer down the update cannot be made: `up` fails and the
    // record stays as it was.
    t.net
        .stop_node("orderer0-ordererorg")
        .expect("stop the orderer");
    let (r, events) = up(dir).await;
    assert!(r.is_err(), "up with the orderer down: {events:#?}");
    assert_eq!(plan_of(&events).actions, std::slice::from_ref(&change));
    assert_eq!(applied(dir).batch_timeout_ms, 250);
    t.net
        .start_node("orderer0-ordererorg")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", logs(&t.net)));

    // Applied: the plan shows exactly the change, the step makes it.
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("up: {e}\n{events:#?}\n{}", logs(&t.net)));
    let plan = plan_of(&events);
    assert_eq!(plan.actions, [change]);
    assert!(
        plan.text()
            .contains("batch timeout 250ms -> 2s on mychannel"),
        "{}",
        plan.text()
    );
    let (detail, took) = step_detail(&events, "config update mychannel");
    eprintln!("config update mychannel: {detail} (step {took:?})");
    assert!(
        detail.contains("signed by OrdererOrg Admin for /Channel/Orderer/Admins")
            && detail.contains("peer0-org1, peer0-org2"),
        "{detail}"
    );
    assert_eq!(orderers_batch_timeout(&t.net).await, "2s");
    assert_eq!(applied(dir).batch_timeout_ms, 2000);

    // The old state reads back; a new transaction commits.
    let out = t
        .ok(&["chaincode", "query", "basic", "ReadAsset", "asset1"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["owner"], "Tom", "{v}");
    let create2 = create.map(|a| if a == "asset1" { "asset2" } else { a });
    t.ok(&create2).await;

    // A second `up` plans nothing and changes nothing.
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("second up: {e}\n{events:#?}"));
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
    assert!(
        !done(&events)
            .iter()
            .any(|(s, _, _)| s.starts_with("config update")),
        "{events:#?}"
    );
    assert_eq!(orderers_batch_timeout(&t.net).await, "2s");

    // fabdev.yaml raises the batch size too: one more change, the same
    // step, signed for the same policy.
    let text = std::fs::read_to_string(&file).expect("fabdev.yaml");
    let bigger = format!(
        "fabric: {{ version: \"{version}\", batchTimeoutMs: 2000, \
         batchSize: {{ maxMessageCount: 100, preferredMaxBytes: 2097152 }} }}"
    );
    std::fs::write(&file, text.replace(&after, &bigger)).expect("write fabdev.yaml");
    let to = network::spec::BatchSize {
        max_message_count: 100,
        preferred_max_bytes: 2 * 1024 * 1024,
        ..Default::default()
    };
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("up (batch size): {e}\n{events:#?}\n{}", logs(&t.net)));
    let plan = plan_of(&events);
    assert_eq!(
        plan.actions,
        [Action::ChangeBatchSize {
            channels: vec!["mychannel".into()],
            from: Default::default(),
            to
        }]
    );
    assert!(
        plan.text()
            .contains("batch size 10 msgs/99 MiB/512 KiB -> 100 msgs/99 MiB/2 MiB on mychannel"),
        "{}",
        plan.text()
    );
    let (detail, took) = step_detail(&events, "config update mychannel");
    eprintln!("config update mychannel (batch size): {detail} (step {took:?})");
    assert!(
        detail.contains("signed by OrdererOrg Admin for /Channel/Orderer/Admins"),
        "{detail}"
    );
    let size: orderer::BatchSize = orderers_value(&t.net, "BatchSize").await;
    assert_eq!(
        (
            size.max_message_count,
            size.preferred_max_bytes,
            size.absolute_max_bytes
        ),
        (100, 2 * 1024 * 1024, 99 * 1024 * 1024)
    );
    assert_eq!(applied(dir).batch_size, to);
    let out = t
        .ok(&["chaincode", "query", "basic", "ReadAsset", "asset2"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["owner"], "Tom", "{v}");
    let create3 = create.map(|a| if a == "asset1" { "asset3" } else { a });
    t.ok(&create3).await;
    let (r, events) = up(dir).await;
    r.unwrap_or_else(|e| panic!("third up: {e}\n{events:#?}"));
    assert!(plan_of(&events).is_noop(), "{:?}", plan_of(&events));
}
