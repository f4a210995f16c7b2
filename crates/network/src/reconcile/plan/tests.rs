use std::path::Path;

use super::super::AppliedState;
use super::*;
use crate::spec::BatchSize;
use crate::topology::Topology;

fn ws(body: &str) -> Workspace {
    let text = format!("apiVersion: fabdev/v1alpha1\nkind: Workspace\n{body}");
    Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new("."))
        .unwrap_or_else(|e| panic!("spec: {e}"))
}

const TWO_ORGS: &str = "orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
                            channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n";

fn applied(body: &str) -> AppliedState {
    let w = ws(body);
    AppliedState::of(&w, &Topology::of(&w))
}

#[test]
fn nothing_applied_is_a_first_up_and_the_same_spec_a_noop() {
    let w = ws(TWO_ORGS);
    let first = plan(None, &w);
    assert!(first.first_up && first.applicable() && !first.is_noop());
    assert!(first.text().contains("a new network"), "{}", first.text());
    let again = plan(Some(&AppliedState::of(&w, &Topology::of(&w))), &w);
    assert!(again.is_noop(), "{again:?}");
    assert!(again.text().contains("nothing to do"), "{}", again.text());
}

#[test]
fn a_batch_size_change_is_one_action_on_the_running_channels() {
    let old = applied(TWO_ORGS);
    let new = ws(
        "fabric: { batchSize: { maxMessageCount: 100, preferredMaxBytes: 2097152 } }\n\
             orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n\
             channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n  - { name: second, orgs: [Org1] }\n",
    );
    let p = plan(Some(&old), &new);
    let to = BatchSize {
        max_message_count: 100,
        preferred_max_bytes: 2 * 1024 * 1024,
        ..BatchSize::default()
    };
    assert_eq!(
        p.actions,
        [
            Action::AddChannel {
                channel: "second".into(),
                orgs: vec!["Org1".into()]
            },
            Action::ChangeBatchSize {
                channels: vec!["mychannel".into()],
                from: BatchSize::default(),
                to
            }
        ],
        "the new channel is made with the new size: {p:?}"
    );
    let text = p.text();
    assert!(
        text.contains(
            "  ~ batch size 10 msgs/99 MiB/512 KiB -> 100 msgs/99 MiB/2 MiB on mychannel \
                 (config update signed for /Channel/Orderer/Admins)\n"
        ),
        "{text}"
    );
    assert_eq!(p.json()["actions"][1]["to"]["max_message_count"], 100);
    // Recorded, the same spec plans nothing.
    let again = plan(Some(&AppliedState::of(&new, &Topology::of(&new))), &new);
    assert!(again.is_noop(), "{again:?}");
}

#[test]
fn an_applied_state_without_a_batch_size_has_the_default() {
    let w = ws(TWO_ORGS);
    let mut json = serde_json::to_value(AppliedState::of(&w, &Topology::of(&w))).unwrap();
    json.as_object_mut().unwrap().remove("batch_size");
    let old: AppliedState = serde_json::from_value(json).unwrap();
    assert_eq!(old.batch_size, BatchSize::default());
    assert!(plan(Some(&old), &w).is_noop());
}

#[test]
fn anchor_peers_changed_are_one_action_per_org_signed_by_that_org() {
    let old = applied(
        "orgs:\n  - { name: Org1, peers: 2 }\n  - { name: Org2, peers: 1 }\n\
             channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n  - { name: other, orgs: [Org1] }\n",
    );
    let new = ws(
        "orgs:\n  - { name: Org1, peers: 2, anchorPeers: [peer0, peer1] }\n  - { name: Org2, peers: 1, anchorPeers: [] }\n\
             channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n  - { name: other, orgs: [Org1, Org2] }\n",
    );
    let p = plan(Some(&old), &new);
    assert_eq!(
        p.actions,
        [
            Action::AddOrgToChannel {
                channel: "other".into(),
                org: "Org2".into()
            },
            Action::ChangeAnchorPeers {
                org: "Org1".into(),
                channels: vec!["mychannel".into(), "other".into()],
                from: vec!["peer0-org1".into()],
                to: vec!["peer0-org1".into(), "peer1-org1".into()],
            },
            Action::ChangeAnchorPeers {
                org: "Org2".into(),
                channels: vec!["mychannel".into()],
                from: vec!["peer0-org2".into()],
                to: vec![],
            },
        ],
        "Org2 joins `other` with its anchors already: {p:?}"
    );
    let text = p.text();
    assert!(
        text.contains(
            "  ~ anchor peers of Org1 [peer0-org1] -> [peer0-org1, peer1-org1] on mychannel, other \
                 (config update signed for /Channel/Application/Org1/Admins)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  ~ anchor peers of Org2 [peer0-org2] -> [] on mychannel"),
        "{text}"
    );
    assert_eq!(p.json()["actions"][1]["action"], "change-anchor-peers");
    let again = plan(Some(&AppliedState::of(&new, &Topology::of(&new))), &new);
    assert!(again.is_noop(), "{again:?}");
}

#[test]
fn an_applied_state_without_anchor_peers_has_peer0() {
    let w = ws(TWO_ORGS);
    let mut json = serde_json::to_value(AppliedState::of(&w, &Topology::of(&w))).unwrap();
    for org in json["orgs"].as_array_mut().unwrap() {
        org.as_object_mut().unwrap().remove("anchor_peers");
    }
    let old: AppliedState = serde_json::from_value(json).unwrap();
    assert_eq!(old.orgs[0].anchor_peers, [0]);
    assert!(plan(Some(&old), &w).is_noop());
}

#[test]
fn the_issues_changes_are_planned_in_order() {
    let old = applied(&format!("orderer: {{ count: 2 }}\n{TWO_ORGS}"));
    let new = ws("fabric: { batchTimeoutMs: 2000 }\norderer: { count: 3 }\n\
                      orgs:\n  - { name: Org1, peers: 2 }\n  - { name: Org2, peers: 1 }\n  - { name: Org3, peers: 1 }\n\
                      channels:\n  - { name: mychannel, orgs: [Org1, Org2, Org3] }\n");
    let p = plan(Some(&old), &new);
    assert!(p.applicable(), "{p:?}");
    assert_eq!(
        p.actions,
        [
            Action::AddPeer {
                org: "Org1".into(),
                peer: "peer1-org1".into()
            },
            Action::AddOrg {
                org: "Org3".into(),
                msp_id: "Org3MSP".into(),
                peers: 1
            },
            Action::AddOrgToChannel {
                channel: "mychannel".into(),
                org: "Org3".into()
            },
            Action::ChangeBatchTimeout {
                channels: vec!["mychannel".into()],
                from_ms: 250,
                to_ms: 2000
            },
            Action::AddOrderer {
                orderer: "orderer2-ordererorg".into()
            },
        ]
    );
    let text = p.text();
    assert!(
        text.starts_with("plan: 4 to add, 1 to change, 0 to remove, 0 refused\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  + Org3 on channel mychannel (config update signed for /Channel/Application/Admins)"
        ),
        "{text}"
    );
    assert!(
            text.contains("  ~ batch timeout 250ms -> 2s on mychannel (config update signed for /Channel/Orderer/Admins)"),
            "{text}"
        );
    let json = p.json();
    assert_eq!(json["actions"][2]["action"], "add-org-to-channel");
    assert_eq!(json["actions"][2]["org"], "Org3");
    assert_eq!(json["refused"], serde_json::json!([]));
}

#[test]
fn unsafe_changes_are_refused_with_what_to_do_instead() {
    let old = applied(&format!(
        "{TWO_ORGS}chaincodes:\n  - {{ name: cc, path: ., lang: go, signaturePolicy: \"AND('Org1MSP.peer', 'Org2MSP.peer')\" }}\n"
    ));
    let cases: [(&str, &str, &str); 6] = [
        (
            "fabric: { version: \"3.1\" }\n",
            "fabric.version",
            "major version",
        ),
        (
            "orderer: { count: 4, consensus: bft }\nfabric: { version: \"3.1\" }\n",
            "orderer.consensus",
            "maintenance-mode",
        ),
        (
            "orgs:\n  - { name: Org1, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1] }\n",
            "orgs",
            "cc on mychannel",
        ),
        (
            "orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org9, mspId: Org2MSP, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1, Org9] }\n",
            "orgs[1].name",
            "renamed Org9",
        ),
        (
            "orgs:\n  - { name: Org1, peers: 1, stateDatabase: couchdb }\n  - { name: Org2, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n",
            "orgs[0].stateDatabase",
            "world state",
        ),
        (
            "orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\nchannels:\n  - { name: other, orgs: [Org1, Org2] }\n",
            "channels",
            "cannot delete a channel",
        ),
    ];
    for (body, field, says) in cases {
        // The chaincode stays in the new spec where its orgs do.
        let p = plan(Some(&old), &ws(body));
        assert!(!p.applicable(), "{body}: {p:?}");
        let r = p
            .refused
            .iter()
            .find(|r| r.field == field)
            .unwrap_or_else(|| panic!("{body}: no refusal of {field}: {:?}", p.refused));
        let all = format!("{} {} {}", r.what, r.reason, r.instead);
        assert!(all.contains(says), "{body}: {all}");
        assert!(!r.instead.is_empty());
        assert!(
            p.text()
                .contains("nothing is applied while a change is refused")
        );
    }
}

#[test]
fn what_up_cannot_apply_yet_is_refused_whole() {
    let old = applied(TWO_ORGS);
    let new = ws("fabric: { batchTimeoutMs: 2000 }\n\
                      orgs:\n  - { name: Org1, peers: 2 }\n  - { name: Org2, peers: 1 }\n\
                      channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n");
    let only_peers = |a: &Action| matches!(a, Action::AddPeer { .. });
    let p = plan(Some(&old), &new).refusing_unapplied(only_peers);
    assert!(!p.applicable(), "{p:?}");
    assert_eq!(p.actions.len(), 1, "{p:?}");
    assert_eq!(p.refused.len(), 1, "{p:?}");
    assert!(p.refused[0].what.contains("batch timeout"), "{p:?}");
    assert!(p.text().contains("does not apply it"), "{}", p.text());
    let peer_only = ws(
        "orgs:\n  - { name: Org1, peers: 2 }\n  - { name: Org2, peers: 1 }\n\
                            channels:\n  - { name: mychannel, orgs: [Org1, Org2] }\n",
    );
    let p = plan(Some(&old), &peer_only).refusing_unapplied(only_peers);
    assert!(p.applicable() && p.actions.len() == 1, "{p:?}");
}

#[test]
fn an_org_no_definition_names_can_leave() {
    let old = applied(TWO_ORGS);
    let p = plan(
        Some(&old),
        &ws(
            "orgs:\n  - { name: Org1, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1] }\n",
        ),
    );
    assert!(p.applicable(), "{p:?}");
    assert_eq!(
        p.actions,
        [
            Action::RemoveOrgFromChannel {
                channel: "mychannel".into(),
                org: "Org2".into()
            },
            Action::RemoveOrg { org: "Org2".into() },
        ]
    );
}

#[test]
fn consenters_are_removed_one_at_a_time_last_first() {
    let old = applied(&format!("orderer: {{ count: 5 }}\n{TWO_ORGS}"));
    let p = plan(
        Some(&old),
        &ws(&format!("orderer: {{ count: 3 }}\n{TWO_ORGS}")),
    );
    assert_eq!(
        p.actions,
        [
            Action::RemoveOrderer {
                orderer: "orderer4-ordererorg".into()
            },
            Action::RemoveOrderer {
                orderer: "orderer3-ordererorg".into()
            },
        ]
    );
}

#[test]
fn a_raft_removal_that_leaves_fewer_than_three_is_refused() {
    let old = applied(&format!("orderer: {{ count: 3 }}\n{TWO_ORGS}"));
    let p = plan(
        Some(&old),
        &ws(&format!("orderer: {{ count: 2 }}\n{TWO_ORGS}")),
    );
    assert!(!p.applicable(), "{p:?}");
    assert!(p.actions.is_empty(), "{p:?}");
    let r = &p.refused[0];
    assert_eq!(r.field, "orderer.count");
    assert_eq!(r.what, "orderers 3 -> 2");
    assert!(r.reason.contains("at least 3 stay"), "{}", r.reason);
    assert!(r.instead.contains("keep `count: 3`"), "{}", r.instead);
    // 4 -> 3 leaves three: planned.
    let old = applied(&format!("orderer: {{ count: 4 }}\n{TWO_ORGS}"));
    let p = plan(
        Some(&old),
        &ws(&format!("orderer: {{ count: 3 }}\n{TWO_ORGS}")),
    );
    assert!(p.applicable(), "{p:?}");
    assert_eq!(
        p.actions,
        [Action::RemoveOrderer {
            orderer: "orderer3-ordererorg".into()
        }]
    );
}

#[test]
fn applied_state_round_trips_and_refuses_other_formats() {
    let a = applied(TWO_ORGS);
    assert_eq!(AppliedState::from_json(&a.to_json()).expect("read"), a);
    let other = a.to_json().replace("\"format\": 1", "\"format\": 7");
    let e = AppliedState::from_json(&other).expect_err("format 7");
    assert!(e.to_string().contains("format 7"), "{e}");
    assert!(AppliedState::from_json("{").is_err());
}
