//! Reuse of existing material, and additions for new nodes.

use super::*;

#[test]
fn second_run_creates_nothing_and_changes_no_byte() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let before = tree(&dir);
    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("second run");
    assert!(report.created.is_empty(), "{report:?}");
    assert_eq!(report.reused, default_labels());
    assert_eq!(tree(&dir), before);
}

#[test]
fn adding_a_peer_creates_only_that_peer_signed_by_the_same_ca() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let before = tree(&dir);

    let ws = ws_with_org1_peers(2);
    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("add a peer");
    assert_eq!(report.created, ["peer1-org1"]);
    assert_eq!(report.reused.len(), default_labels().len());

    let after = tree(&dir);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} unchanged");
    }
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(added.len(), 8);
    assert!(
        added
            .iter()
            .all(|k| k.starts_with("org1/nodes/peer1-org1/")),
        "{added:?}"
    );

    let ca = Cert::read(&dir.root().join("org1/ca/ca.crt"));
    let tlsca = Cert::read(&dir.root().join("org1/tlsca/tlsca.crt"));
    let node = dir.root().join("org1/nodes/peer1-org1");
    let sign = Cert::read(&node.join("msp/signcerts/cert.pem"));
    sign.assert_issued_by(&ca);
    assert_eq!(sign.ous(), ["peer"]);
    let tls = Cert::read(&node.join("tls/server.crt"));
    tls.assert_issued_by(&tlsca);
    assert!(
        tls.sans()
            .contains(&"peer1-org1.fabdev.svc.cluster.local".to_string())
    );
    // Same AKI as the first peer's.
    let peer0 = Cert::read(
        &dir.root()
            .join("org1/nodes/peer0-org1/msp/signcerts/cert.pem"),
    );
    assert_eq!(sign.aki(), peer0.aki());
}

#[test]
fn a_deleted_identity_is_regenerated_and_leftovers_are_cleaned() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let user = dir.user_dir("Org2", "User1");
    std::fs::remove_dir_all(&user).expect("rm");
    // What an interrupted run leaves behind: a partial temporary folder.
    let leftover = dir.root().join("org2/users/.fabdev-tmp-x1y2z3");
    std::fs::create_dir_all(leftover.join("msp/signcerts")).expect("mkdir");
    std::fs::write(leftover.join("msp/signcerts/cert.pem"), b"partial").expect("write");
    assert!(
        !tree(&dir).keys().any(|k| k.contains(".fabdev-tmp-")),
        "read_tree skips leftovers"
    );

    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("regenerate");
    assert_eq!(report.created, ["User1@org2"]);
    assert!(!leftover.exists());
    let ca = Cert::read(&dir.root().join("org2/ca/ca.crt"));
    let sign = Cert::read(&user.join("msp/signcerts/cert.pem"));
    sign.assert_issued_by(&ca);
    assert_eq!(sign.ous(), ["client"]);
    let tls = Cert::read(&user.join("tls/client.crt"));
    tls.assert_issued_by(&Cert::read(&dir.root().join("org2/tlsca/tlsca.crt")));
}
