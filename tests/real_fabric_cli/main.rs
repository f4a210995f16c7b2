//! The `fabdev` binary's chaincode commands against real Fabric peers: a
//! workspace (fabdev.yaml, Node chaincode) whose `.fabdev/crypto` the test
//! network shares, run by the test network (crates/testnet: real orderer and
//! peers, each peer with its own DinD-shaped dockerd, reachable on the host
//! ports as on kind), then `fabdev channel create`, `chaincode deploy`,
//! `invoke`, `query`, `deploy` again, `list` and bad input, each as a
//! process (`add_peer`: a peer added to an org of a running network
//! joins, gets the deployed chaincode and endorses; `add_org`: an org added
//! to the running channel joins, catches up and endorses). Without a kubeconfig in the workspace fabdev talks to the host
//! ports, where the test network answers as kind's port mappings do.
//!
//! Needs root, FABRIC_HOME and the builder images in the host's Docker
//! (scripts/setup/builder-images.sh). Run with `--nocapture` to see the
//! transcript.

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::path::Path;

use testkit::fabric::{CliNetwork, two_orgs, wait_for_peer, workspace_dir};
use testkit::{assert_has, copy_fixture, edit, event, stdout};

mod add_org;
mod add_peer;
mod anchor_peers;
mod config_update;
mod watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_chaincode_deploy_invoke_query_list() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/asset-node"));
    // A line for `chaincode logs` to find: the chaincode prints it on
    // every CreateAsset.
    let code_file = ws.path().join("chaincode/asset-node/lib/assetTransfer.js");
    edit(
        &code_file,
        "        const asset = makeAsset(id, color, size, owner, appraisedValue);",
        "        console.log(`fabdev-logs-test: creating ${id} for ${owner}`);\n        const asset = makeAsset(id, color, size, owner, appraisedValue);",
    );
    copy_fixture("chaincode/node-init", &ws.path().join("chaincode/counter"));
    let mut t = CliNetwork::start(
        ws,
        32000,
        concat!(
            "chaincodes:\n",
            "  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n",
            "  - { name: counter, path: chaincode/counter, initRequired: true, initArgs: [InitLedger],",
            " signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\" }\n",
        ),
    )
    .await;

    let out = t.ok(&["channel", "create"]).await;
    assert_has(
        &testkit::stderr(&out),
        "host ports on 127.0.0.1 (no kubeconfig)",
    );

    // First deploy: installed on both peers, approved by both orgs, committed.
    let out = t.ok(&["chaincode", "deploy"]).await;
    let said = testkit::stderr(&out);
    for step in [
        "package basic",
        "install basic",
        "approve basic",
        "commit basic",
    ] {
        assert_has(&said, &format!(" ✓ {step}"));
    }
    assert_has(&stdout(&out), "basic on mychannel: deployed at sequence 1");
    // The chaincode that requires Init: called once, after its commit.
    assert_has(&said, " ✓ init counter");
    assert_has(
        &stdout(&out),
        "counter on mychannel: deployed at sequence 1",
    );
    let out = t.ok(&["chaincode", "query", "counter", "InitRuns"]).await;
    assert_eq!(stdout(&out).trim(), "1");

    // Invoke as Org1 (the default), query as Org2: the write is seen on
    // the other org's peer.
    let out = t
        .ok(&create_asset(["asset1", "blue", "5", "Tom", "300"]))
        .await;
    assert_has(&testkit::stderr(&out), "transaction ");
    // As JSON events: the transaction ID and the result, parsed.
    let events = t
        .json(&create_asset(["asset2", "red", "3", "Ann", "100"]))
        .await;
    let result = event(&events, "tx_result");
    assert_eq!(result["step"], "invoke basic CreateAsset");

    // `chaincode logs`: what the chaincode printed, from each peer's own
    // daemon (here through the daemons' sockets, as the test network runs
    // the peers without Kubernetes; on a cluster the same `docker` commands
    // run in the DinD sidecars). Both orgs' peers endorsed both invokes.
    let mut log_events = Vec::new();
    fabdev::flow::logs::logs(
        &t.options(),
        fabdev::flow::logs::LogsRequest {
            name: "basic".to_string(),
            peer: None,
            follow: false,
            tail: None,
        },
        &mut log_events,
    )
    .await
    .unwrap_or_else(|e| panic!("chaincode logs: {e}\n{}", t.net.all_logs()));
    for peer in ["peer0-org1", "peer0-org2"] {
        let printed: Vec<&str> = log_events
            .iter()
            .filter_map(|e| match &e.kind {
                fabdev::events::EventKind::ChaincodeLog { peer: p, line, .. } if p == peer => {
                    Some(line.as_str())
                }
                _ => None,
            })
            .collect();
        for asset in ["asset1 for Tom", "asset2 for Ann"] {
            assert!(
                printed
                    .iter()
                    .any(|l| l.contains(&format!("fabdev-logs-test: creating {asset}"))),
                "{peer}: {printed:#?}"
            );
        }
    }
    assert_eq!(result["json"]["owner"], "Ann", "{result}");
    assert!(
        result["transaction_id"]
            .as_str()
            .is_some_and(|t| t.len() == 64),
        "{result}"
    );
    let read1 = ["chaincode", "query", "basic", "ReadAsset", "asset1"];
    let out = t.ok(&[&read1[..], &["--org", "Org2"]].concat()).await;
    let asset: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("pretty JSON");
    assert_eq!(asset["owner"], "Tom", "{asset}");
    assert_has(&stdout(&out), "\n  \"");

    // The same as JSON events: the result and its parsed JSON.
    let events = t.json(&read1).await;
    let result = event(&events, "tx_result");
    assert_eq!(result["json"]["color"], "blue", "{result}");
    assert_eq!(result["step"], "query basic ReadAsset");

    // Unchanged: nothing installed, approved or committed, and it says so.
    let out = t.ok(&["chaincode", "deploy"]).await;
    assert_has(&stdout(&out), "basic on mychannel: unchanged (sequence 1");
    // Init is not called again.
    assert_has(&stdout(&out), "counter on mychannel: unchanged (sequence 1");
    assert_has(&testkit::stderr(&out), "Init not called again");
    let out = t.ok(&["chaincode", "query", "counter", "InitRuns"]).await;
    assert_eq!(stdout(&out).trim(), "1");
    let events = t.json(&["chaincode", "deploy", "basic"]).await;
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["outcome"], "unchanged", "{deployed}");
    assert_eq!(deployed["sequence"], 1);
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "chaincode")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "already_installed",
            "already_installed",
            "already_approved",
            "already_approved",
            "already_committed"
        ]
    );

    // Installed packages per peer, committed definitions per channel.
    let text = stdout(&t.ok(&["chaincode", "list"]).await);
    for peer in ["peer0-org1", "peer0-org2"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(peer) && l.contains("basic_1.0:")),
            "{text}"
        );
    }
    assert!(
        text.lines().any(|l| l.starts_with("mychannel")
            && l.contains("basic")
            && l.contains("sequence 1")
            && l.contains("Org1MSP ✓")
            && l.contains("Org2MSP ✓")),
        "{text}"
    );

    // A changed line is an upgrade at sequence 2, and the new code answers.
    add_version(&code_file, "two");
    let out = t.ok(&["chaincode", "deploy"]).await;
    assert_has(&stdout(&out), "basic on mychannel: upgraded at sequence 2");
    let out = t.ok(&["chaincode", "query", "basic", "Version"]).await;
    assert_eq!(stdout(&out).trim(), "two");

    // Bad input: an org that is not there (exit 2, naming the known orgs).
    let said = t.fails(2, &[&read1[..], &["--org", "Org9"]].concat()).await;
    assert!(
        said.contains("Org9") && said.contains("Org1, Org2"),
        "{said}"
    );
    // An unknown function: the chaincode's message, exit 1.
    let said = t
        .fails(1, &["chaincode", "query", "basic", "NoSuchFunction"])
        .await;
    assert_has(&said, "NoSuchFunction");
    // A wrong --org on invoke too: exit 2, naming the org and the known ones.
    let said = t
        .fails(
            2,
            &[
                "chaincode",
                "invoke",
                "counter",
                "Increment",
                "--org",
                "org3",
            ],
        )
        .await;
    assert!(
        said.contains("org3") && said.contains("Org1, Org2"),
        "{said}"
    );
    // A chaincode error: the chaincode's message, exit 1.
    let said = t
        .fails(1, &["chaincode", "query", "basic", "ReadAsset", "nope"])
        .await;
    assert_has(&said, "asset nope does not exist");
    // A peer that is down during install: the other peer gets the new
    // package and the error names the down one (exit 1); once it is back,
    // the next deploy installs only there, and approves and commits.
    edit(&code_file, "return 'two';", "return 'three';");
    t.net.stop_node("peer0-org2").expect("stop peer0-org2");
    let said = t.fails(1, &["chaincode", "deploy", "basic"]).await;
    assert!(
        said.contains("peer0-org2") && said.contains("installed now on peer0-org1"),
        "{said}"
    );
    t.net
        .start_node("peer0-org2")
        .await
        .expect("start peer0-org2");
    wait_for_peer(&t.net, "peer0-org2").await;
    let events = t.json(&["chaincode", "deploy", "basic"]).await;
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["outcome"], "upgraded", "{deployed}");
    assert_eq!(deployed["sequence"], 3, "{deployed}");
    assert_eq!(
        deployed["installed"],
        serde_json::json!(["peer0-org2"]),
        "{deployed}"
    );
    let out = t
        .ok(&["chaincode", "query", "basic", "Version", "--org", "Org2"])
        .await;
    assert_eq!(stdout(&out).trim(), "three");
}

/// `chaincode invoke basic CreateAsset ID COLOR SIZE OWNER VALUE`.
fn create_asset(asset: [&str; 5]) -> Vec<&str> {
    [&["chaincode", "invoke", "basic", "CreateAsset"][..], &asset].concat()
}

/// Adds a `Version` transaction function answering `answer` to the Node
/// asset-transfer fixture in `file`: a one-line change a redeploy shows.
fn add_version(file: &Path, answer: &str) {
    edit(
        file,
        "    async AssetExists(ctx, id) {",
        &format!(
            "    async Version(ctx) {{\n        return '{answer}';\n    }}\n\n    async AssetExists(ctx, id) {{"
        ),
    );
}

/// Go chaincode given by `--path` (not listed in fabdev.yaml): packaged as
/// a vendored copy (the folder is left as it is), so that each peer's
/// builder, which has no network, builds it. Needs `go` on PATH and a Go
/// proxy that serves fabric-contract-api-go (e.g.
/// `GOPROXY=file:///opt/goproxy,https://proxy.golang.org
/// GONOSUMDB='github.com/hyperledger/*'`). Slow: each peer compiles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_go_chaincode_from_a_path_vendored() {
    let ws = workspace_dir();
    let src = ws.path().join("elsewhere/asset-go");
    copy_fixture("chaincode/go", &src);
    let t = CliNetwork::start(ws, 32100, "").await;
    t.ok(&["channel", "create"]).await;

    let path = src.display().to_string();
    let events = t
        .json(&["chaincode", "deploy", "gobasic", "--path", &path])
        .await;
    let packaged = event(&events, "packaged");
    assert_eq!(packaged["lang"], "go", "{packaged}");
    assert_eq!(packaged["vendored"], true, "{packaged}");
    assert!(!src.join("vendor").exists(), "the folder is not changed");
    let deployed = event(&events, "deployed");
    assert_eq!(deployed["outcome"], "deployed", "{deployed}");
    assert_eq!(deployed["channel"], "mychannel");

    // Not in fabdev.yaml: the workspace's only channel.
    t.ok(&[
        "chaincode",
        "invoke",
        "gobasic",
        "CreateAsset",
        "a1",
        "red",
        "3",
        "Ann",
        "100",
        "--org",
        "Org2",
    ])
    .await;
    let out = t
        .ok(&["chaincode", "query", "gobasic", "ReadAsset", "a1"])
        .await;
    let asset: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(asset["owner"], "Ann", "{asset}");

    // Vendoring is deterministic: the same folder deploys as unchanged.
    let out = t
        .ok(&["chaincode", "deploy", "gobasic", "--path", &path])
        .await;
    assert_has(&stdout(&out), "gobasic on mychannel: unchanged (sequence 1");
}
