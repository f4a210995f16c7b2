//! The reconcile planner through its public API: the plan of an org added
//! to a channel as `up` shows it (text and JSON snapshots), host ports that
//! count the highest kept slot, and the chaincodes the record keeps.

use network::Topology;
use network::reconcile::{AppliedChaincode, AppliedState, plan};
use testkit::net::{TWO_ORGS, workspace_of as ws};

fn applied(body: &str) -> AppliedState {
    let w = ws(body);
    AppliedState::of(&w, &Topology::of(&w))
}

#[test]
fn an_org_added_to_a_channel_plans_the_org_then_the_update() {
    let old = applied(&format!(
        "{TWO_ORGS}chaincodes:\n  - {{ name: basic, path: ., lang: node }}\n"
    ));
    let new = ws(
        "orgs:\n  - { name: Org1, peers: 1 }\n  - { name: Org2, peers: 1 }\n  - { name: Org3, peers: 2 }\n\
                  channels:\n  - { name: mychannel, orgs: [Org1, Org2, Org3] }\n  - { name: solo, orgs: [Org1] }\n\
                  chaincodes:\n  - { name: basic, path: ., lang: node, channel: mychannel, signaturePolicy: \"AND('Org1MSP.peer', 'Org3MSP.peer')\" }\n",
    );
    let p = plan(Some(&old), &new);
    assert!(p.applicable(), "{p:?}");
    insta::assert_snapshot!("add_org_text", p.text());
    insta::assert_snapshot!(
        "add_org_json",
        serde_json::to_string_pretty(&p.json()).expect("json")
    );
    // Applied, it is nothing to do.
    let now = AppliedState::of(&new, &Topology::with_slots(&new, &old.slots));
    assert!(plan(Some(&now), &new).is_noop());
}

#[test]
fn host_ports_count_the_highest_kept_slot_not_the_nodes() {
    // Org2 left; Org1's second peer had been given block 9 (the
    // blocks between were nodes removed since): 3 nodes, 10 blocks.
    let mut old = applied(TWO_ORGS);
    old.slots.insert("peer1-org1".into(), 9);
    let body = "orgs:\n  - { name: Org1, peers: 2 }\n\
                channels:\n  - { name: mychannel, orgs: [Org1] }\n";
    let fits = plan(Some(&old), &ws(body));
    assert!(
        fits.refused.iter().all(|r| r.field != "hostPortBase"),
        "{fits:?}"
    );
    // 3 nodes fit below 32767 from 32700, but block 9 does not.
    let high = format!("hostPortBase: 32700\n{body}");
    let p = plan(Some(&old), &ws(&high));
    let r = p
        .refused
        .iter()
        .find(|r| r.field == "hostPortBase")
        .unwrap_or_else(|| panic!("{p:?}"));
    assert!(
        r.what.contains("peer1-org1") && r.what.contains("block 9"),
        "{r:?}"
    );
    assert!(r.instead.contains("hostPortBase"), "{r:?}");
}

#[test]
fn chaincodes_deployed_outside_fabdev_yaml_stay_recorded() {
    let mut before = applied(TWO_ORGS);
    let cc = AppliedChaincode {
        name: "gobasic".into(),
        channel: "mychannel".into(),
        msp_ids: vec!["Org2MSP".into()],
    };
    before.record_chaincode(cc.clone());
    before.record_chaincode(cc.clone());
    assert_eq!(before.chaincodes, std::slice::from_ref(&cc));
    let w = ws(TWO_ORGS);
    let after = AppliedState::after(Some(&before), &w, &Topology::of(&w));
    assert_eq!(after.chaincodes, [cc]);
    // It names Org2MSP: Org2 cannot leave while it does.
    let p = plan(
        Some(&after),
        &ws(
            "orgs:\n  - { name: Org1, peers: 1 }\nchannels:\n  - { name: mychannel, orgs: [Org1] }\n",
        ),
    );
    assert!(!p.applicable(), "{p:?}");
    assert!(p.text().contains("gobasic on mychannel"), "{}", p.text());
}
