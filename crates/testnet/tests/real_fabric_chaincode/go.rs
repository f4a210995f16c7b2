//! Go chaincode: vendored and built by each peer, and one that does not compile.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_go_chaincode_vendored_and_built_by_each_peer() {
    let _one = ONE_AT_A_TIME.lock().await;
    let net = chaincode_network(31700).await;
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );

    // The builders have no network: the package carries vendor/ (made with
    // the test runner's Go environment; the fixture folder is not changed).
    let fixture = Path::new("../../fixtures/chaincode/go");
    let copy = chaincode::vendor::vendored_copy(fixture)
        .expect("go mod vendor")
        .expect("go on PATH");
    let dir = chaincode::vendor::copy_dir(&copy, fixture);
    assert!(dir.join("vendor/modules.txt").is_file());
    assert!(!fixture.join("vendor").exists());
    let go = spec(&dir, "basic_go");
    let again = spec(
        &chaincode::vendor::copy_dir(
            &chaincode::vendor::vendored_copy(fixture)
                .expect("vendor")
                .expect("go"),
            fixture,
        ),
        "basic_go",
    );
    assert_eq!(
        go.package_id, again.package_id,
        "vendoring is deterministic"
    );

    let report = lifecycle::deploy(ws, topo, crypto, &eps, &go, Some(&net), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(
        (report.sequence, report.installed.len()),
        (1, 2),
        "{report:?}"
    );

    let args: Vec<String> = ["a1", "red", "3", "Ann", "100"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    let got = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["a1".to_string()],
    )
    .await
    .unwrap_or_else(|e| panic!("query: {e}"));
    let asset: serde_json::Value = serde_json::from_slice(&got).expect("JSON asset");
    assert_eq!(
        asset["owner"].as_str().or(asset["Owner"].as_str()),
        Some("Ann"),
        "{asset}"
    );

    // Built and run by each peer's own daemon, under the name that peer
    // gives it; the host's daemon runs no chaincode.
    for peer in ["peer0-org1", "peer0-org2"] {
        let names = containers_of(&net, peer);
        assert!(
            names.contains(peer) && names.contains("basic_go"),
            "{peer}'s daemon runs: {names}"
        );
    }
    let host = std::process::Command::new("docker")
        .args(["ps", "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    assert!(!String::from_utf8_lossy(&host.stdout).contains("basic_go"));

    // A chaincode error reaches the caller with the chaincode's message.
    let e = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["nope".to_string()],
    )
    .await
    .expect_err("missing asset");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "NoSuchFunction",
        &[],
    )
    .await
    .expect_err("unknown function");
    assert!(e.to_string().contains("NoSuchFunction"), "{e}");
}

/// Go chaincode that does not compile: each peer's build fails and the
/// compiler's output reaches the caller through the install error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_chaincode_that_does_not_compile() {
    let _one = ONE_AT_A_TIME.lock().await;
    let net = chaincode_network(31900).await;
    let broken = spec(Path::new("../../fixtures/chaincode/go-broken"), "broken_1");
    let e = lifecycle::deploy(
        net.workspace(),
        net.topology(),
        net.crypto(),
        &net.endpoints(),
        &broken,
        Some(&net),
        &mut |_| {},
    )
    .await
    .expect_err("does not compile");
    let text = e.to_string();
    eprintln!("the error fabdev reports:\n{text}");
    assert!(text.contains("peer0-org1"), "{text}");
    // The Go compiler's own words, with the file and line.
    assert!(text.contains("main.go:6"), "{text}");
    assert!(text.contains("cannot use \"not a number\""), "{text}");
}
