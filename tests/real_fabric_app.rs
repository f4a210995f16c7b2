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

use testkit::fabric::{CliNetwork, two_orgs, workspace_dir, write_spec};
use testkit::{assert_has, copy_fixture, copy_tree, fabdev_ok, fixture, show, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_app_gateway_client_identities_and_attributes() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node-abac", &ws.path().join("chaincode/notes"));
    write_spec(
        ws.path(),
        &format!(
            "{}chaincodes:\n  - {{ name: notes, path: chaincode/notes }}\n",
            two_orgs("apptest", 32200)
        ),
    );

    // The identities, before the network runs (the crypto is made then).
    for args in [
        &["identity", "add", "Org1", "alice", "--attr", "role=auditor"][..],
        &["identity", "add", "Org2", "bob", "--attr", "role=clerk"],
        &["identity", "add", "Org2", "ops", "--role", "admin"],
        &["identity", "list"],
    ] {
        fabdev_ok(ws.path(), args).await;
    }

    let t = CliNetwork::start_written(ws).await;
    let dir = t.dir();
    let logs = || t.net.all_logs();
    t.ok(&["channel", "create"]).await;
    t.ok(&["chaincode", "deploy"]).await;

    // --user on invoke and query: the peer accepts each issued certificate,
    // and the chaincode reads its attributes.
    t.ok(&[
        "chaincode",
        "invoke",
        "notes",
        "Put",
        "n1",
        "hello",
        "--user",
        "alice",
    ])
    .await;
    let as_bob = ["--org", "Org2", "--user", "bob"];
    let out = t
        .ok(&[&["chaincode", "query", "notes", "WhoAmI"][..], &as_bob].concat())
        .await;
    let who: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(who["mspId"], "Org2MSP", "{who}");
    assert_eq!(who["role"], "clerk", "{who}");
    assert_eq!(who["enrollmentId"], "bob@org2", "{who}");
    assert_eq!(who["type"], "client", "{who}");
    let audit = ["chaincode", "query", "notes", "Audit", "n1"];
    let out = t.ok(&[&audit[..], &["--user", "alice"]].concat()).await;
    assert_has(&stdout(&out), "hello");
    let said = t.fails(1, &[&audit[..], &as_bob].concat()).await;
    assert_has(&said, "access denied");
    // An org admin made by `identity add --role admin` transacts too.
    t.ok(&[
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
    ])
    .await;
    // A user the org does not have: bad input, naming the ones it has.
    let said = t
        .fails(
            2,
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
    assert_has(&said, "Admin, User1, alice");

    // The official Gateway client, configured only from `fabdev connect`.
    let app = tempfile::tempdir().expect("app dir");
    copy_tree(&fixture("client/gateway-node"), app.path());
    npm_ci(app.path()).await;
    for (org, user) in [("Org1", "alice"), ("Org2", "bob")] {
        let out = t.ok(&["connect", org, "--user", user, "-o", "json"]).await;
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
