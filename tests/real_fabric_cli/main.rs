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

use testkit::fabdev_logged_async as fabdev;
use testkit::fabric::{home, spec_text, start_workspace, two_orgs, wait_for_peer};
use testkit::{json_lines, stderr, stdout};
use testnet::TestNetwork;

mod add_org;
mod add_peer;
mod watch;

/// One test network at a time: each peer builds chaincode, on 2 cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writes fabdev.yaml into `dir` (two leveldb orgs, `mychannel`, then
/// `chaincodes`), starts the test network on the workspace's crypto, with
/// DinD, and seeds the builder images into the peers' daemons.
async fn start(dir: &Path, host_port_base: u16, chaincodes: &str) -> TestNetwork {
    let body = format!("{}{chaincodes}", two_orgs("clitest", host_port_base));
    std::fs::write(dir.join("fabdev.yaml"), spec_text(&home(), &body)).expect("fabdev.yaml");
    start_workspace(dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_cli_chaincode_deploy_invoke_query_list() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ws = tempfile::tempdir().expect("tempdir");
    let dir = ws.path();
    testkit::copy_tree(
        &testkit::fixture("chaincode/node"),
        &dir.join("chaincode/asset-node"),
    );
    // A line for `chaincode logs` to find: the chaincode prints it on
    // every CreateAsset.
    let code_file = dir.join("chaincode/asset-node/lib/assetTransfer.js");
    let code = std::fs::read_to_string(&code_file).expect("read chaincode");
    let printing = code.replace(
        "        const asset = makeAsset(id, color, size, owner, appraisedValue);",
        "        console.log(`fabdev-logs-test: creating ${id} for ${owner}`);\n        const asset = makeAsset(id, color, size, owner, appraisedValue);",
    );
    assert_ne!(code, printing, "the fixture's CreateAsset changed");
    std::fs::write(&code_file, printing).expect("write chaincode");
    testkit::copy_tree(
        &testkit::fixture("chaincode/node-init"),
        &dir.join("chaincode/counter"),
    );
    let mut net = start(
        dir,
        32000,
        concat!(
            "chaincodes:\n",
            "  - { name: basic, path: chaincode/asset-node, channel: mychannel }\n",
            "  - { name: counter, path: chaincode/counter, initRequired: true, initArgs: [InitLedger],",
            " signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\" }\n",
        ),
    )
    .await;
    let logs = || net.all_logs();

    let out = fabdev(dir, &["channel", "create"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("host ports on 127.0.0.1 (no kubeconfig)"),
        "{}",
        stderr(&out)
    );

    // First deploy: installed on both peers, approved by both orgs, committed.
    let out = fabdev(dir, &["chaincode", "deploy"]).await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), logs());
    for step in [
        "package basic",
        "install basic",
        "approve basic",
        "commit basic",
    ] {
        assert!(
            stderr(&out).contains(&format!(" ✓ {step}")),
            "{step}: {}",
            stderr(&out)
        );
    }
    assert!(
        stdout(&out).contains("basic on mychannel: deployed at sequence 1"),
        "{}",
        stdout(&out)
    );
    // The chaincode that requires Init: called once, after its commit.
    assert!(stderr(&out).contains(" ✓ init counter"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("counter on mychannel: deployed at sequence 1"),
        "{}",
        stdout(&out)
    );
    let out = fabdev(dir, &["chaincode", "query", "counter", "InitRuns"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "1");

    // Invoke as Org1 (the default), query as Org2: the write is seen on
    // the other org's peer.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "invoke",
            "basic",
            "CreateAsset",
            "asset1",
            "blue",
            "5",
            "Tom",
            "300",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("transaction "), "{}", stderr(&out));
    // As JSON events: the transaction ID and the result, parsed.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "invoke",
            "basic",
            "CreateAsset",
            "asset2",
            "red",
            "3",
            "Ann",
            "100",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let events = json_lines(&out);
    let result = events
        .iter()
        .find(|e| e["event"] == "tx_result")
        .expect("tx_result event");
    assert_eq!(result["step"], "invoke basic CreateAsset");

    // `chaincode logs`: what the chaincode printed, from each peer's own
    // daemon (here through the daemons' sockets, as the test network runs
    // the peers without Kubernetes; on a cluster the same `docker` commands
    // run in the DinD sidecars). Both orgs' peers endorsed both invokes.
    let local_daemons: std::collections::BTreeMap<String, std::path::PathBuf> =
        ["peer0-org1", "peer0-org2"]
            .map(|p| (p.to_string(), net.dind_socket(p).expect("socket")))
            .into_iter()
            .collect();
    let mut log_events = Vec::new();
    let mut opts = fabdev::flow::Options::new(dir);
    opts.local_daemons = local_daemons;
    fabdev::flow::logs::logs(
        &opts,
        fabdev::flow::logs::LogsRequest {
            name: "basic".to_string(),
            peer: None,
            follow: false,
            tail: None,
        },
        &mut log_events,
    )
    .await
    .unwrap_or_else(|e| panic!("chaincode logs: {e}\n{}", logs()));
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
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "basic",
            "ReadAsset",
            "asset1",
            "--org",
            "Org2",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let asset: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("pretty JSON");
    assert_eq!(asset["owner"], "Tom", "{asset}");
    assert!(stdout(&out).contains("\n  \""), "pretty: {}", stdout(&out));

    // The same as JSON events: the result and its parsed JSON.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "basic",
            "ReadAsset",
            "asset1",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let events = json_lines(&out);
    let result = events
        .iter()
        .find(|e| e["event"] == "tx_result")
        .expect("tx_result event");
    assert_eq!(result["json"]["color"], "blue", "{result}");
    assert_eq!(result["step"], "query basic ReadAsset");

    // Unchanged: nothing installed, approved or committed, and it says so.
    let out = fabdev(dir, &["chaincode", "deploy"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("basic on mychannel: unchanged (sequence 1"),
        "{}",
        stdout(&out)
    );
    // Init is not called again.
    assert!(
        stdout(&out).contains("counter on mychannel: unchanged (sequence 1"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("Init not called again"),
        "{}",
        stderr(&out)
    );
    let out = fabdev(dir, &["chaincode", "query", "counter", "InitRuns"]).await;
    assert_eq!(stdout(&out).trim(), "1", "{}", stderr(&out));
    let out = fabdev(dir, &["chaincode", "deploy", "basic", "-o", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let events = json_lines(&out);
    let deployed = events
        .iter()
        .find(|e| e["event"] == "deployed")
        .expect("deployed event");
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
    let out = fabdev(dir, &["chaincode", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
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
    let file = dir.join("chaincode/asset-node/lib/assetTransfer.js");
    let code = std::fs::read_to_string(&file).expect("read");
    let changed = code.replace(
        "async AssetExists(ctx, id) {",
        "async Version(ctx) {\n        return 'two';\n    }\n\n    async AssetExists(ctx, id) {",
    );
    assert_ne!(code, changed);
    std::fs::write(&file, changed).expect("write");
    let out = fabdev(dir, &["chaincode", "deploy"]).await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), logs());
    assert!(
        stdout(&out).contains("basic on mychannel: upgraded at sequence 2"),
        "{}",
        stdout(&out)
    );
    let out = fabdev(dir, &["chaincode", "query", "basic", "Version"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "two");

    // Bad input: an org that is not there (exit 2, naming the known orgs).
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "basic",
            "ReadAsset",
            "asset1",
            "--org",
            "Org9",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Org9") && stderr(&out).contains("Org1, Org2"),
        "{}",
        stderr(&out)
    );
    // An unknown function: the chaincode's message, exit 1.
    let out = fabdev(dir, &["chaincode", "query", "basic", "NoSuchFunction"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("NoSuchFunction"), "{}", stderr(&out));
    // A wrong --org on invoke too: exit 2, naming the org and the known ones.
    let out = fabdev(
        dir,
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
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("org3") && stderr(&out).contains("Org1, Org2"),
        "{}",
        stderr(&out)
    );
    // A chaincode error: the chaincode's message, exit 1.
    let out = fabdev(dir, &["chaincode", "query", "basic", "ReadAsset", "nope"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("asset nope does not exist"),
        "{}",
        stderr(&out)
    );
    // A peer that is down during install: the other peer gets the new
    // package and the error names the down one (exit 1); once it is back,
    // the next deploy installs only there, and approves and commits.
    let code = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, code.replace("return 'two';", "return 'three';")).expect("write");
    net.stop_node("peer0-org2").expect("stop peer0-org2");
    let out = fabdev(dir, &["chaincode", "deploy", "basic"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("peer0-org2") && stderr(&out).contains("installed now on peer0-org1"),
        "{}",
        stderr(&out)
    );
    net.start_node("peer0-org2")
        .await
        .expect("start peer0-org2");
    wait_for_peer(&net, "peer0-org2").await;
    let out = fabdev(dir, &["chaincode", "deploy", "basic", "-o", "json"]).await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), net.all_logs());
    let events = json_lines(&out);
    let deployed = events
        .iter()
        .find(|e| e["event"] == "deployed")
        .expect("deployed event");
    assert_eq!(deployed["outcome"], "upgraded", "{deployed}");
    assert_eq!(deployed["sequence"], 3, "{deployed}");
    assert_eq!(
        deployed["installed"],
        serde_json::json!(["peer0-org2"]),
        "{deployed}"
    );
    let out = fabdev(
        dir,
        &["chaincode", "query", "basic", "Version", "--org", "Org2"],
    )
    .await;
    assert_eq!(stdout(&out).trim(), "three", "{}", stderr(&out));
    drop(net);
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
    let _one = ONE_AT_A_TIME.lock().await;
    let ws = tempfile::tempdir().expect("tempdir");
    let dir = ws.path();
    let src = dir.join("elsewhere/asset-go");
    testkit::copy_tree(&testkit::fixture("chaincode/go"), &src);
    let net = start(dir, 32100, "").await;
    let out = fabdev(dir, &["channel", "create"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let path = src.display().to_string();
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "deploy",
            "gobasic",
            "--path",
            &path,
            "-o",
            "json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), net.all_logs());
    let events = json_lines(&out);
    let packaged = events
        .iter()
        .find(|e| e["event"] == "packaged")
        .expect("packaged event");
    assert_eq!(packaged["lang"], "go", "{packaged}");
    assert_eq!(packaged["vendored"], true, "{packaged}");
    assert!(!src.join("vendor").exists(), "the folder is not changed");
    let deployed = events
        .iter()
        .find(|e| e["event"] == "deployed")
        .expect("deployed event");
    assert_eq!(deployed["outcome"], "deployed", "{deployed}");
    assert_eq!(deployed["channel"], "mychannel");

    // Not in fabdev.yaml: the workspace's only channel.
    let out = fabdev(
        dir,
        &[
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
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fabdev(dir, &["chaincode", "query", "gobasic", "ReadAsset", "a1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let asset: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(asset["owner"], "Ann", "{asset}");

    // Vendoring is deterministic: the same folder deploys as unchanged.
    let out = fabdev(dir, &["chaincode", "deploy", "gobasic", "--path", &path]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("gobasic on mychannel: unchanged (sequence 1"),
        "{}",
        stdout(&out)
    );
    drop(net);
}
