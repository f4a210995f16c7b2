//! A chaincode as fabdev.yaml declares it: Init, policies, collections, bad
//! inputs and half-done deploys.

use super::*;

/// A chaincode entry of fabdev.yaml (`extra` added to it), as validated:
/// what `fabdev chaincode deploy` makes its `DeploySpec` from.
fn declared(dir: &Path, name: &str, extra: &str) -> network::spec::Chaincode {
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\n\
         chaincodes:\n  - {{ name: {name}, path: ., channel: mychannel{extra} }}\n"
    );
    let ws =
        Workspace::parse(&text, &dir.join("fabdev.yaml"), dir).unwrap_or_else(|e| panic!("{e}"));
    ws.chaincodes[0].clone()
}

fn declared_spec(dir: &Path, name: &str, label: &str, extra: &str) -> DeploySpec {
    let pkg = package(dir, label);
    DeploySpec::of(&declared(dir, name, extra), pkg.bytes, pkg.id)
}

/// `initRequired`, an endorsement policy and collections from fabdev.yaml
/// on real peers; Init once (and again after a failed Init, never after a
/// successful one); a policy change is an upgrade with no install; an
/// unknown function; a peer down during install, then the half-done
/// deploy completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_init_policies_bad_inputs_and_half_done_deploys() {
    let _one = one_at_a_time().await;
    let mut net = two_org_network(31800).await;

    let src = fixture_copy("chaincode/node-init");
    std::fs::write(
        src.path().join("collections.json"),
        r#"[{"name":"secrets","policy":"OR('Org1MSP.member','Org2MSP.member')","maxPeerCount":1,"blockToLive":0,"memberOnlyRead":true}]"#,
    )
    .expect("collections");

    // initRequired with InitLedger, both orgs must endorse, one collection.
    let and = ", initRequired: true, initArgs: [InitLedger], collections: collections.json, \
               signaturePolicy: \"AND('Org1MSP.peer', 'Org2MSP.peer')\"";
    let counter = declared_spec(src.path(), "counter", "counter_1", and);
    let (report, events) = deploy(&net, &counter, Some(&net)).await;
    assert_eq!(
        (report.sequence, report.committed, report.initialized),
        (1, true, true),
        "{events:?}"
    );
    assert_eq!(query(&net, "Org2", "counter", "InitRuns", &[]).await, "1");
    // The peers committed exactly the policy and collections fabdev sent.
    let channel = admins(&net).await;
    let first = channel.peers().next().expect("a peer");
    let committed = first
        .committed(CHANNEL, "counter", lifecycle::CALL_TIMEOUT)
        .await
        .expect("query")
        .expect("committed");
    assert_eq!(committed.definition, counter.definition(1));
    // An invoke is endorsed by both orgs (the Gateway finds them).
    invoke(&net, "Org1", "counter", "Increment", &[]).await;
    assert_eq!(query(&net, "Org2", "counter", "Count", &[]).await, "1");

    // Again: nothing to do, and Init is not run again.
    let (again, events) = deploy(&net, &counter, Some(&net)).await;
    assert!(again.unchanged(), "{again:?}");
    assert!(
        events.contains(&lifecycle::LifecycleEvent::AlreadyInitialized { sequence: 1 }),
        "{events:?}"
    );
    assert_eq!(query(&net, "Org2", "counter", "InitRuns", &[]).await, "1");

    // Only the policy changes: sequence 2, no install, both orgs approve,
    // and the same version needs no new Init.
    let or = ", initRequired: true, initArgs: [InitLedger], collections: collections.json, \
              signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"";
    let relaxed = declared_spec(src.path(), "counter", "counter_1", or);
    assert_eq!(relaxed.package_id, counter.package_id);
    let (up, _) = deploy(&net, &relaxed, Some(&net)).await;
    assert_eq!(
        (
            up.sequence,
            up.installed.len(),
            up.approved.len(),
            up.committed,
            up.initialized
        ),
        (2, 0, 2, true, false),
        "{up:?}"
    );
    assert_eq!(query(&net, "Org2", "counter", "InitRuns", &[]).await, "1");

    // An unknown function: the chaincode's own message.
    let e = try_query(&net, "Org2", "counter", "NoSuchFunction", &[])
        .await
        .expect_err("unknown function");
    assert!(e.to_string().contains("NoSuchFunction"), "{e}");

    // An Init that fails: the chaincode's message; the chaincode is not
    // initialised, so it refuses transactions, and the next deploy (with a
    // working Init) runs Init again and completes the deploy.
    let boom = declared_spec(
        src.path(),
        "boom",
        "counter_1",
        ", initRequired: true, initArgs: [Panic]",
    );
    let e = deploy_observed(&net, &boom, Some(&net), &mut |_| {})
        .await
        .expect_err("Init fails");
    assert!(matches!(e, lifecycle::LifecycleError::Init { .. }), "{e}");
    // The chaincode's message is the cause, not part of the message.
    let cause = std::error::Error::source(&e).map(|s| s.to_string());
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("Init panicked")),
        "{e}: {cause:?}"
    );
    let e = try_invoke(&net, "Org1", "boom", "Increment", &[])
        .await
        .expect_err("not initialised");
    assert!(e.to_string().contains("has not been initialized"), "{e}");
    let fixed = declared_spec(
        src.path(),
        "boom",
        "counter_1",
        ", initRequired: true, initArgs: [InitLedger]",
    );
    let (done, _) = deploy(&net, &fixed, Some(&net)).await;
    assert_eq!(
        (done.sequence, done.committed, done.initialized),
        (1, false, true),
        "{done:?}"
    );
    assert_eq!(query(&net, "Org2", "boom", "InitRuns", &[]).await, "1");

    // A peer down during install: the others get the package and the error
    // names the peer. Once it is back, the next deploy installs only there,
    // approves only for the org that has not approved, and commits.
    std::fs::write(
        src.path().join("lib/extra.js"),
        "module.exports = 'late';\n",
    )
    .expect("change");
    let late = declared_spec(src.path(), "late", "late_1", "");
    drop(channel);
    let channel = admins(&net).await;
    net.stop_node("peer0-org2").expect("stop");
    let e = lifecycle::install_all(&channel, &late, None, &mut |_| {})
        .await
        .expect_err("a peer is down");
    assert!(e.to_string().contains("peer0-org2"), "{e}");
    match &e {
        lifecycle::LifecycleError::NotInstalled { installed, .. } => {
            assert_eq!(installed, &["peer0-org1"], "{e}")
        }
        other => panic!("{other}"),
    }
    let org1 = channel.peers().next().expect("peer0-org1");
    org1.approve(
        CHANNEL,
        &late.definition(1),
        &late.package_id,
        lifecycle::CALL_TIMEOUT,
    )
    .await
    .expect("Org1 approves");
    drop(channel);
    net.start_node("peer0-org2").await.expect("start");
    wait_for_peer(&net, "peer0-org2").await;
    let (rest, _) = deploy(&net, &late, Some(&net)).await;
    assert_eq!(rest.installed, ["peer0-org2"], "{rest:?}");
    assert_eq!(rest.approved, ["Org2"], "{rest:?}");
    assert!(rest.committed && rest.sequence == 1, "{rest:?}");
}
