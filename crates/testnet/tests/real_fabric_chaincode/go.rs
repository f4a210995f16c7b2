//! Go chaincode: vendored and built by each peer, and one that does not compile.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_go_chaincode_vendored_and_built_by_each_peer() {
    let _one = one_at_a_time().await;
    let net = two_org_network(31700).await;

    // The builders have no network: the package carries vendor/ (made with
    // the test runner's Go environment; the fixture folder is not changed).
    let fixture = testkit::fixture("chaincode/go");
    let (dir, _copy) = testkit::fabric::vendored(&fixture);
    assert!(dir.join("vendor/modules.txt").is_file());
    assert!(!fixture.join("vendor").exists());
    let go = spec(&dir, "basic_go");
    let (again_dir, _again) = testkit::fabric::vendored(&fixture);
    let again = spec(&again_dir, "basic_go");
    assert_eq!(
        go.package_id, again.package_id,
        "vendoring is deterministic"
    );

    let (report, _) = deploy(&net, &go, Some(&net)).await;
    assert_eq!(
        (report.sequence, report.installed.len()),
        (1, 2),
        "{report:?}"
    );

    invoke(
        &net,
        "Org2",
        "basic",
        "CreateAsset",
        &["a1", "red", "3", "Ann", "100"],
    )
    .await;
    let asset = query_json(&net, "Org1", "basic", "ReadAsset", &["a1"]).await;
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
    let e = try_query(&net, "Org1", "basic", "ReadAsset", &["nope"])
        .await
        .expect_err("missing asset");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = try_query(&net, "Org1", "basic", "NoSuchFunction", &[])
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
    let _one = one_at_a_time().await;
    let net = two_org_network(31900).await;
    let broken = spec(&testkit::fixture("chaincode/go-broken"), "broken_1");
    let e = deploy_observed(&net, &broken, Some(&net), &mut |_| {})
        .await
        .expect_err("does not compile");
    let text = e.to_string();
    eprintln!("the error fabdev reports:\n{text}");
    assert!(text.contains("peer0-org1"), "{text}");
    // The Go compiler's own words, with the file and line.
    assert!(text.contains("main.go:6"), "{text}");
    assert!(text.contains("cannot use \"not a number\""), "{text}");
}
