//! An application on fabdev's network, against real Fabric peers: identities
//! issued by `fabdev identity add` (one with the attribute `role=auditor`),
//! used through `--user` by `fabdev chaincode invoke/query`, and by the
//! official Fabric Gateway client for Node (`fixtures/client/gateway-node`,
//! `@hyperledger/fabric-gateway` from the npm registry) configured only
//! from `fabdev connect -o json`. The fixture chaincode
//! (`fixtures/chaincode/node-abac`) gates `Audit` on the attribute through
//! fabric-shim's client identity library, so a real peer checks the
//! certificates (chain, NodeOU) and the chaincode reads the attribute
//! extension.
//!
//! Needs root, FABRIC_HOME, the builder images (scripts/setup/builder-images.sh),
//! `node` (>= 20) and `npm` with the npm registry reachable (the client's
//! dependencies are installed into a copy of the fixture). Run with
//! `--nocapture` to see the transcript.

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::path::Path;

use testkit::fabdev_logged_async as fabdev;
use testkit::fabric::{home, spec_text, start_workspace, two_orgs};
use testkit::{copy_tree, fixture, show, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_app_gateway_client_identities_and_attributes() {
    let fabric = home();
    let ws = tempfile::tempdir().expect("tempdir");
    let dir = ws.path();
    copy_tree(
        &fixture("chaincode/node-abac"),
        &dir.join("chaincode/notes"),
    );
    let body = format!(
        "{}chaincodes:\n  - {{ name: notes, path: chaincode/notes }}\n",
        two_orgs("apptest", 32200)
    );
    std::fs::write(dir.join("fabdev.yaml"), spec_text(&fabric, &body)).expect("fabdev.yaml");

    // The identities, before the network runs (the crypto is made then).
    let out = fabdev(
        dir,
        &["identity", "add", "Org1", "alice", "--attr", "role=auditor"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fabdev(
        dir,
        &["identity", "add", "Org2", "bob", "--attr", "role=clerk"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fabdev(dir, &["identity", "add", "Org2", "ops", "--role", "admin"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fabdev(dir, &["identity", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let net = start_workspace(dir).await;
    let logs = || net.all_logs();

    let out = fabdev(dir, &["channel", "create"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fabdev(dir, &["chaincode", "deploy"]).await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), logs());

    // --user on invoke and query: the peer accepts each issued certificate,
    // and the chaincode reads its attributes.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "invoke",
            "notes",
            "Put",
            "n1",
            "hello",
            "--user",
            "alice",
        ],
    )
    .await;
    assert!(out.status.success(), "{}\n{}", stderr(&out), logs());
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "notes",
            "WhoAmI",
            "--org",
            "Org2",
            "--user",
            "bob",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let who: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(who["mspId"], "Org2MSP", "{who}");
    assert_eq!(who["role"], "clerk", "{who}");
    assert_eq!(who["enrollmentId"], "bob@org2", "{who}");
    assert_eq!(who["type"], "client", "{who}");
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "notes",
            "Audit",
            "n1",
            "--user",
            "alice",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("hello"), "{}", stdout(&out));
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "notes",
            "Audit",
            "n1",
            "--org",
            "Org2",
            "--user",
            "bob",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("access denied"), "{}", stderr(&out));
    // An org admin made by `identity add --role admin` transacts too.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "invoke",
            "notes",
            "Put",
            "n2",
            "by ops",
            "--org",
            "Org2",
            "--user",
            "ops",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    // A user the org does not have: bad input, naming the ones it has.
    let out = fabdev(
        dir,
        &[
            "chaincode",
            "query",
            "notes",
            "Get",
            "n1",
            "--user",
            "mallory",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Admin, User1, alice"),
        "{}",
        stderr(&out)
    );

    // The official Gateway client, configured only from `fabdev connect`.
    let app = tempfile::tempdir().expect("app dir");
    copy_tree(&fixture("client/gateway-node"), app.path());
    npm_ci(app.path()).await;
    for (org, user) in [("Org1", "alice"), ("Org2", "bob")] {
        let out = fabdev(dir, &["connect", org, "--user", user, "-o", "json"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::write(app.path().join(format!("{user}.json")), &out.stdout).expect("write");
    }
    let run = tokio::process::Command::new("node")
        .args(["app.js", "alice.json", "bob.json"])
        .current_dir(app.path())
        .output()
        .await
        .expect("node");
    show("node app.js alice.json bob.json", &run);
    assert!(run.status.success(), "{}\n{}", stdout(&run), logs());
    let lines: Vec<serde_json::Value> = stdout(&run)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let step = |name: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["step"] == name).collect()
    };
    let abac = step("abac");
    assert_eq!(abac.len(), 2, "{lines:?}");
    assert_eq!(abac[0]["user"], "alice");
    assert_eq!(abac[0]["allowed"], true);
    assert_eq!(abac[1]["user"], "bob");
    assert_eq!(abac[1]["allowed"], false);
    let events = step("chaincode_events");
    assert_eq!(events.len(), 1, "{lines:?}");
    assert!(
        events[0]["events"]
            .as_array()
            .is_some_and(|e| e.len() >= 2 && e.iter().all(|e| e["name"] == "NotePut")),
        "{lines:?}"
    );
    assert_eq!(step("block_events").len(), 1, "{lines:?}");
    assert_eq!(
        step("done").first().map(|d| d["ok"].clone()),
        Some(true.into())
    );

    // The connection profile `up` writes (its `connection profiles` step,
    // the same function), read by the SDK that reads them: fabric-network,
    // with discovery off, as alice.
    let workspace = network::Workspace::load_dir(dir).expect("spec");
    let topo = network::Topology::of(&workspace);
    network::profile::write_profiles(
        &workspace,
        &topo,
        &network::pki::CryptoDir::new(dir.join(".fabdev/crypto")),
        &dir.join(".fabdev/profiles"),
    )
    .expect("profiles");
    let legacy = tempfile::tempdir().expect("legacy app dir");
    copy_tree(&fixture("client/profile-node"), legacy.path());
    npm_ci(legacy.path()).await;
    std::fs::copy(
        app.path().join("alice.json"),
        legacy.path().join("alice.json"),
    )
    .expect("copy");
    let run = tokio::process::Command::new("node")
        .args(["app.js", "alice.json"])
        .current_dir(legacy.path())
        .output()
        .await
        .expect("node");
    show(
        "node app.js alice.json (fabric-network, the connection profile)",
        &run,
    );
    assert!(run.status.success(), "{}\n{}", stdout(&run), logs());
    assert!(
        stdout(&run).contains(r#""step":"done","ok":true"#),
        "{}",
        stdout(&run)
    );
    drop(net);
}

/// `npm ci` in `dir` (the npm registry must answer); install scripts are
/// skipped (only optional native modules have them).
async fn npm_ci(dir: &Path) {
    let npm = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(dir)
        .output()
        .await
        .expect("npm (Node.js >= 20 and npm on PATH)");
    show(&format!("npm ci ({})", dir.display()), &npm);
    assert!(npm.status.success(), "npm ci: {}", stderr(&npm));
}
