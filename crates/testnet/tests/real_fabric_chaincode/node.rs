//! Node chaincode: deploy, invoke, query, upgrade; the daemon closed to it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_node_chaincode_deploy_invoke_query_upgrade() {
    let _one = one_at_a_time().await;
    let net = two_org_network(31600).await;

    // A copy of the fixture, so that the upgrade can change a line.
    let src = fixture_copy("chaincode/node");

    let first = spec(src.path(), "basic_1");
    let (report, events) = deploy(&net, &first, Some(&net)).await;
    assert_eq!(report.sequence, 1, "{events:?}");
    assert_eq!(report.installed.len(), 2, "{report:?}");
    assert_eq!(report.approved, ["Org1", "Org2"]);
    assert!(report.committed);

    // Invoke through Org1, query through Org2.
    let tx = invoke(
        &net,
        "Org1",
        "basic",
        "CreateAsset",
        &["asset1", "blue", "5", "Tom", "300"],
    )
    .await;
    assert!(!tx.transaction_id.is_empty());
    let asset = query_json(&net, "Org2", "basic", "ReadAsset", &["asset1"]).await;
    assert_eq!(asset["owner"], "Tom", "{asset}");

    // The chaincode runs in each peer's own daemon.
    for peer in ["peer0-org1", "peer0-org2"] {
        let names = containers_of(&net, peer);
        assert!(
            names.contains(peer) && names.contains("basic_1"),
            "{peer}'s daemon runs: {names}"
        );
    }

    // The daemon is closed to chaincode: from inside the chaincode container
    // (the pod's network namespace, its own filesystem), no TCP port of the
    // pod and no socket path answers the Docker API, while the peer's
    // chaincode port (the pod's namespace) is reachable.
    daemon_is_closed_to_chaincode(&net, "peer0-org1", "basic_1");

    // Again, unchanged: nothing installed, approved or committed.
    let (again, _) = deploy(&net, &first, Some(&net)).await;
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(again.sequence, 1);

    // One line changed: sequence 2, and the new code answers.
    testkit::edit(
        &src.path().join("lib/assetTransfer.js"),
        "async AssetExists(ctx, id) {",
        "async Version(ctx) {\n        return 'two';\n    }\n\n    async AssetExists(ctx, id) {",
    );
    let second = spec(src.path(), "basic_1");
    assert_ne!(second.package_id, first.package_id);
    let (up, _) = deploy(&net, &second, Some(&net)).await;
    assert_eq!(up.sequence, 2, "{up:?}");
    assert_eq!(query(&net, "Org2", "basic", "Version", &[]).await, "two");
}
