//! `up`'s plan step: what the last `up` applied (`.fabdev/applied.json`)
//! against fabdev.yaml, refused changes stopping `up` before anything is
//! written, the nodes' host ports kept, and `down` forgetting the record.

use network::reconcile::{APPLIED_FILE, Action, AppliedState, Plan};

use super::*;

const TWO_ORGS: &str = "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n\
                        orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
                        channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n";

/// Records the workspace as applied, as `up`'s last step does.
fn record_applied(dir: &Path) -> AppliedState {
    let ctx = Context::load(&options(dir)).unwrap();
    let applied = AppliedState::of(&ctx.ws, &ctx.topo);
    state_file(dir, APPLIED_FILE, &applied.to_json());
    applied
}

/// Runs `up` with kind too old to go past the `kind` step; returns the
/// events and the plan it showed.
fn up_until_kind(dir: &Path) -> (Vec<Event>, Result<UpReport, FlowError>, Option<Plan>) {
    let old = FakeKind {
        version: "v0.20.0",
        ..KIND_OK
    };
    let opts = options(dir).with_runner(old);
    let mut events: Vec<Event> = Vec::new();
    let r = rt().block_on(up(&opts, &mut events));
    let plan = events.iter().find_map(|e| match &e.kind {
        EventKind::Plan(p) => Some(p.clone()),
        _ => None,
    });
    (events, r, plan)
}

/// Every file under `dir`, by path, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn a_refused_plan_stops_up_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::write(ws.join("fabdev.yaml"), TWO_ORGS).unwrap();
    let applied = record_applied(ws);
    // Org2 renamed, and Fabric 3: both refused; the batch timeout is a
    // change `up` applies, but not while anything is refused.
    std::fs::write(
        ws.join("fabdev.yaml"),
        TWO_ORGS
            .replace("Org2", "Org9")
            .replace("{ name: Org9,", "{ name: Org9, mspId: Org2MSP,")
            .replace(
                "hostPortBase: 32700\n",
                "hostPortBase: 32700\nfabric: { version: \"3.1\", batchTimeoutMs: 900 }\n",
            ),
    )
    .unwrap();
    let (events, r, plan) = up_until_kind(ws);
    assert_eq!(failed_step(&events), "plan");
    let e = r.unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("instead")));
    let plan = plan.expect("the plan is shown before the failure");
    assert!(
        e.to_string()
            .contains(&format!("{} changes", plan.refused.len())),
        "{e}"
    );
    let fields: Vec<&str> = plan.refused.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields[..2], ["fabric.version", "orgs[1].name"], "{plan:?}");
    // The rest: what `up` plans (Org2 off the channel) but does not apply
    // yet.
    assert!(fields[2..].iter().all(|f| *f == "fabdev.yaml"), "{plan:?}");
    assert!(
        !plan
            .refused
            .iter()
            .any(|r| r.what.contains("batch timeout")),
        "{plan:?}"
    );
    // Org9 on the channel and the batch timeout are applied... in a plan
    // nothing refused.
    assert_eq!(
        plan.actions,
        [
            Action::AddOrgToChannel {
                channel: "mychannel".into(),
                org: "Org9".into()
            },
            Action::ChangeBatchTimeout {
                channels: vec!["mychannel".into()],
                from_ms: 250,
                to_ms: 900
            }
        ],
        "{plan:?}"
    );
    // Nothing written: no crypto, the record as it was.
    assert!(!ws.join(STATE_DIR).join("crypto").exists());
    let kept = std::fs::read_to_string(ws.join(STATE_DIR).join(APPLIED_FILE)).unwrap();
    assert_eq!(AppliedState::from_json(&kept).unwrap(), applied);
}

#[test]
fn an_unchanged_workspace_plans_nothing_and_an_added_peer_moves_no_port() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::write(ws.join("fabdev.yaml"), TWO_ORGS).unwrap();
    // Nothing applied yet: a new network.
    let (events, _, plan) = up_until_kind(ws);
    assert_eq!(failed_step(&events), "kind");
    assert!(plan.is_some_and(|p| p.first_up));
    let before = Context::load(&options(ws)).unwrap().topo;
    let peer0 = files(&ws.join(STATE_DIR).join("crypto/org1/nodes/peer0-org1"));
    assert!(!peer0.is_empty());
    let applied = record_applied(ws);

    let (events, _, plan) = up_until_kind(ws);
    assert_eq!(failed_step(&events), "kind");
    assert!(plan.is_some_and(|p| p.is_noop()));

    std::fs::write(
        ws.join("fabdev.yaml"),
        TWO_ORGS.replace("{ name: Org1, peers: 1 }", "{ name: Org1, peers: 2 }"),
    )
    .unwrap();
    let (events, _, plan) = up_until_kind(ws);
    assert_eq!(failed_step(&events), "kind");
    let plan = plan.expect("plan");
    assert_eq!(
        plan.actions,
        [Action::AddPeer {
            org: "Org1".into(),
            peer: "peer1-org1".into()
        }]
    );
    // Crypto for the new peer only (by `crypto material`, after the plan).
    let nodes = ws.join(STATE_DIR).join("crypto/org1/nodes");
    assert!(nodes.join("peer1-org1").is_dir());
    assert_eq!(files(&nodes.join("peer0-org1")), peer0);
    let after = Context::load(&options(ws)).unwrap().topo;
    for n in &before.nodes {
        let now = after.node(&n.name).map(|m| m.host_ports);
        assert_eq!(now, Some(n.host_ports), "{} moved", n.name);
    }
    let new = after.node("peer1-org1").expect("the new peer");
    assert_eq!(new.host_ports.grpc, 32730);
    // `up` stopped before its end: the record is the old one.
    let kept = std::fs::read_to_string(ws.join(STATE_DIR).join(APPLIED_FILE)).unwrap();
    assert_eq!(AppliedState::from_json(&kept).unwrap(), applied);
}

#[test]
fn a_record_that_does_not_read_fails_the_plan_only_and_down_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::write(ws.join("fabdev.yaml"), TWO_ORGS).unwrap();
    state_file(ws, APPLIED_FILE, "{ not json");
    // Other flows load the workspace (numbering the nodes afresh).
    assert!(Context::load(&options(ws)).is_ok());
    let (events, r, _) = up_until_kind(ws);
    assert_eq!(failed_step(&events), "plan");
    assert!(matches!(r, Err(FlowError::Reconcile(_))), "{r:?}");

    let no_cluster = FakeKind {
        version: "v0.33.0",
        clusters: Some(""),
    };
    let opts = options(ws).with_runner(no_cluster);
    let mut events: Vec<Event> = Vec::new();
    rt().block_on(down(&opts, false, false, &mut events))
        .unwrap_or_else(|e| panic!("{e}: {events:#?}"));
    assert!(!ws.join(STATE_DIR).join(APPLIED_FILE).exists());
}

#[test]
fn a_changed_batch_timeout_is_a_config_update_step_after_the_channels() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::write(ws.join("fabdev.yaml"), TWO_ORGS).unwrap();
    record_applied(ws);
    let names = |ctx: &Context| -> Vec<String> {
        up::steps::<FakeKind>(ctx)
            .iter()
            .map(|s| s.name().to_string())
            .collect()
    };
    let unchanged = names(&Context::load(&options(ws)).unwrap());
    assert!(
        !unchanged.iter().any(|s| s.starts_with("config update")),
        "{unchanged:?}"
    );

    std::fs::write(
        ws.join("fabdev.yaml"),
        TWO_ORGS.replace(
            "hostPortBase: 32700\n",
            "hostPortBase: 32700\nfabric: { batchTimeoutMs: 2000 }\n",
        ),
    )
    .unwrap();
    let ctx = Context::load(&options(ws)).unwrap();
    let changed = names(&ctx);
    let at = changed
        .iter()
        .position(|s| s == "config update mychannel")
        .unwrap_or_else(|| panic!("{changed:?}"));
    assert_eq!(changed[at - 1], "channel mychannel");
    assert_eq!(changed[at + 1], "connection profiles");
    assert_eq!(changed.len(), unchanged.len() + 1);
    // On a network whose nodes run already: the same, without the cluster.
    let running: Vec<String> = up::running_steps::<FakeKind>(&ctx)
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    assert_eq!(
        running,
        [
            "plan",
            "crypto material",
            "node endpoints",
            "channel mychannel",
            "config update mychannel",
            "connection profiles",
            "record what was applied"
        ]
    );
    // The plan shows the change, and `up` applies it.
    let (_, _, plan) = up_until_kind(ws);
    let plan = plan.expect("plan");
    assert!(plan.refused.is_empty(), "{plan:?}");
    assert_eq!(
        plan.actions,
        [Action::ChangeBatchTimeout {
            channels: vec!["mychannel".into()],
            from_ms: 250,
            to_ms: 2000
        }]
    );
}

#[test]
fn an_org_added_to_a_channel_is_applied_with_its_crypto_and_ports_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::write(ws.join("fabdev.yaml"), TWO_ORGS).unwrap();
    let (_, _, plan) = up_until_kind(ws);
    assert!(plan.is_some_and(|p| p.first_up));
    let before = Context::load(&options(ws)).unwrap().topo;
    let org1 = files(&ws.join(STATE_DIR).join("crypto/org1"));
    let applied = record_applied(ws);

    // Org3, new to the network, on the channel.
    std::fs::write(
        ws.join("fabdev.yaml"),
        TWO_ORGS
            .replace(
                "  - { name: Org2, peers: 1 }\n",
                "  - { name: Org2, peers: 1 }\n  - { name: Org3, peers: 1 }\n",
            )
            .replace("[Org1, Org2]", "[Org1, Org2, Org3]"),
    )
    .unwrap();
    let (events, r, plan) = up_until_kind(ws);
    // Past the plan (kind is too old here): nothing refused.
    assert_eq!(failed_step(&events), "kind", "{r:?}");
    let plan = plan.expect("plan");
    assert_eq!(
        plan.actions,
        [
            Action::AddOrg {
                org: "Org3".into(),
                msp_id: "Org3MSP".into(),
                peers: 1
            },
            Action::AddOrgToChannel {
                channel: "mychannel".into(),
                org: "Org3".into()
            },
        ],
        "{plan:?}"
    );
    assert!(plan.refused.is_empty(), "{plan:?}");
    // Org3's crypto (CA, MSP, its peer), the other orgs' untouched.
    let org3 = ws.join(STATE_DIR).join("crypto/org3");
    assert!(org3.join("nodes/peer0-org3").is_dir());
    assert_eq!(files(&ws.join(STATE_DIR).join("crypto/org1")), org1);
    let after = Context::load(&options(ws)).unwrap().topo;
    for n in &before.nodes {
        let now = after.node(&n.name).map(|m| m.host_ports);
        assert_eq!(now, Some(n.host_ports), "{} moved", n.name);
    }
    assert_eq!(
        after.node("peer0-org3").map(|n| n.host_ports.grpc),
        Some(32730)
    );
    let kept = std::fs::read_to_string(ws.join(STATE_DIR).join(APPLIED_FILE)).unwrap();
    assert_eq!(AppliedState::from_json(&kept).unwrap(), applied);

    // Org2 already in the network, on a second channel: only that change.
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!("{TWO_ORGS}  - {{ name: other, orgs: [Org1] }}\n"),
    )
    .unwrap();
    record_applied(ws);
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!("{TWO_ORGS}  - {{ name: other, orgs: [Org1, Org2] }}\n"),
    )
    .unwrap();
    let (_, _, plan) = up_until_kind(ws);
    assert_eq!(
        plan.expect("plan").actions,
        [Action::AddOrgToChannel {
            channel: "other".into(),
            org: "Org2".into()
        }]
    );
}
