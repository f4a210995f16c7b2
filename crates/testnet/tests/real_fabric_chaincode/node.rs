//! Node chaincode: deploy, invoke, query, upgrade; the daemon closed to it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_node_chaincode_deploy_invoke_query_upgrade() {
    let _one = ONE_AT_A_TIME.lock().await;
    let net = chaincode_network(31600).await;
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );

    // A copy of the fixture, so that the upgrade can change a line.
    let src = tempfile::tempdir().expect("tempdir");
    testnet::copy_tree(Path::new("../../fixtures/chaincode/node"), src.path())
        .expect("copy fixture");

    let first = spec(src.path(), "basic_1");
    let mut events = Vec::new();
    let report = lifecycle::deploy(ws, topo, crypto, &eps, &first, Some(&net), &mut |e| {
        events.push(e)
    })
    .await
    .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(report.sequence, 1, "{events:?}");
    assert_eq!(report.installed.len(), 2, "{report:?}");
    assert_eq!(report.approved, ["Org1", "Org2"]);
    assert!(report.committed);

    // Invoke through Org1, query through Org2.
    let args: Vec<String> = ["asset1", "blue", "5", "Tom", "300"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tx = lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    assert!(!tx.transaction_id.is_empty());
    let got = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["asset1".to_string()],
    )
    .await
    .unwrap_or_else(|e| panic!("query: {e}"));
    let asset: serde_json::Value = serde_json::from_slice(&got).expect("JSON asset");
    assert_eq!(asset["owner"], "Tom", "{asset}");

    // The chaincode runs in each peer's own daemon.
    for peer in ["peer0-org1", "peer0-org2"] {
        let socket = net.dind_socket(peer).expect("socket");
        let out = std::process::Command::new("docker")
            .arg(format!("--host=unix://{}", socket.display()))
            .args(["ps", "--format", "{{.Names}}"])
            .output()
            .expect("docker ps");
        let names = String::from_utf8_lossy(&out.stdout);
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
    let again = lifecycle::deploy(ws, topo, crypto, &eps, &first, Some(&net), &mut |_| {})
        .await
        .expect("again");
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(again.sequence, 1);

    // One line changed: sequence 2, and the new code answers.
    let file = src.path().join("lib/assetTransfer.js");
    let code = std::fs::read_to_string(&file).expect("read");
    let changed = code.replace(
        "async AssetExists(ctx, id) {",
        "async Version(ctx) {\n        return 'two';\n    }\n\n    async AssetExists(ctx, id) {",
    );
    assert_ne!(code, changed);
    std::fs::write(&file, changed).expect("write");
    let second = spec(src.path(), "basic_1");
    assert_ne!(second.package_id, first.package_id);
    let up = lifecycle::deploy(ws, topo, crypto, &eps, &second, Some(&net), &mut |_| {})
        .await
        .expect("upgrade");
    assert_eq!(up.sequence, 2, "{up:?}");
    let v = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "Version",
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("query new code: {e}"));
    assert_eq!(String::from_utf8_lossy(&v), "two");
}
