//! `fabdev identity add|list|remove` and `fabdev connect` as a process:
//! they need no cluster, only the workspace's crypto folder.

use std::path::Path;

fn run(ws: &Path, args: &[&str]) -> std::process::Output {
    testkit::fabdev(ws).args(args).output().expect("run fabdev")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: app\n",
    )
    .expect("spec");
    ws
}

#[test]
fn identities_are_added_listed_used_by_connect_and_removed() {
    let ws = workspace();
    let dir = ws.path();

    // Before `up`: the crypto is made, then alice is issued.
    let out = run(
        dir,
        &[
            "identity",
            "add",
            "org1",
            "alice",
            "--attr",
            "role=auditor",
            "--attr",
            "level=3",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(id["org"], "Org1");
    assert_eq!(id["name"], "alice");
    assert_eq!(id["enrollment_id"], "alice@org1");
    assert_eq!(id["role"], "client");
    assert_eq!(
        id["attrs"],
        serde_json::json!({"level": "3", "role": "auditor"})
    );
    assert!(Path::new(id["cert"].as_str().expect("cert")).is_file());
    assert!(
        text(&out.stderr).contains("issued alice@org1"),
        "{}",
        text(&out.stderr)
    );

    let out = run(dir, &["identity", "add", "Org2", "ops", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ops of Org2: ops@org2 (admin)"),
        "{}",
        text(&out.stdout)
    );

    // Listed with the built-in users.
    let out = run(dir, &["identity", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["ORG", "NAME", "ROLE", "ATTRIBUTES"], "{table}");
    assert!(
        lines.contains(&vec!["Org1", "alice", "client", "level=3,role=auditor"]),
        "{table}"
    );
    assert!(
        lines.contains(&vec!["Org1", "User1", "client", "-", "(built-in)"]),
        "{table}"
    );
    assert!(
        lines.contains(&vec!["Org2", "ops", "admin", "-"]),
        "{table}"
    );
    let out = run(dir, &["identity", "list", "-o", "json"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    assert_eq!(all.as_array().map(Vec::len), Some(6), "{all}");

    // connect: JSON, env, text.
    let out = run(dir, &["connect", "Org1", "--user", "alice", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(c["msp_id"], "Org1MSP");
    assert_eq!(c["peer_endpoint"], "localhost:30010");
    assert_eq!(c["peer_host_alias"], "localhost");
    assert_eq!(
        c["cluster_endpoint"],
        "peer0-org1.app.svc.cluster.local:7051"
    );
    assert_eq!(c["attrs"]["role"], "auditor");
    for f in ["tls_ca_file", "cert_file", "key_file"] {
        let p = c[f].as_str().expect(f);
        assert!(
            Path::new(p).is_absolute() && Path::new(p).is_file(),
            "{f}: {p}"
        );
    }
    let out = run(dir, &["connect", "Org1", "--user", "alice", "-o", "env"]);
    let env = text(&out.stdout);
    assert!(env.contains("export MSP_ID='Org1MSP'\n"), "{env}");
    assert!(
        env.contains("export PEER_ENDPOINT='localhost:30010'\n"),
        "{env}"
    );
    assert!(env.contains("/users/alice/msp/keystore'\n"), "{env}");
    let out = run(dir, &["connect", "Org2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("User1@org2"),
        "{}",
        text(&out.stdout)
    );

    // Bad input: exit 2, saying what to fix, nothing written.
    let before = std::fs::read_dir(dir.join(".fabdev/crypto/org1/users"))
        .expect("users")
        .count();
    for (args, says) in [
        (&["identity", "add", "Org9", "x"][..], "Org1, Org2"),
        (
            &["identity", "add", "OrdererOrg", "x"][..],
            "not a peer org",
        ),
        (
            &["identity", "add", "Org1", "Alice"][..],
            "already has an identity",
        ),
        (
            &["identity", "add", "Org1", "User1"][..],
            "already has an identity",
        ),
        (&["identity", "add", "Org1", "a/b"][..], "'/'"),
        (
            &["identity", "add", "Org1", "bob", "--attr", "role"][..],
            "is not key=value",
        ),
        (
            &["identity", "add", "Org1", "bob", "--attr", "hf.Type=x"][..],
            "hf. prefix",
        ),
        (
            &[
                "identity", "add", "Org1", "bob", "--attr", "a=1", "--attr", "a=2",
            ][..],
            "repeats a",
        ),
        (&["identity", "remove", "Org1", "User1"][..], "built-in"),
        (
            &["identity", "remove", "Org1", "nobody"][..],
            "Admin, User1, alice",
        ),
        (
            &["connect", "Org1", "--user", "nobody"][..],
            "identity add Org1 nobody",
        ),
        (&["connect", "Org7"][..], "Org1, Org2"),
    ] {
        let out = run(dir, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let after = std::fs::read_dir(dir.join(".fabdev/crypto/org1/users"))
        .expect("users")
        .count();
    assert_eq!(before, after);

    // Removed: gone from the list and from the disk.
    let out = run(dir, &["identity", "remove", "Org1", "alice"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.join(".fabdev/crypto/org1/users/alice").exists());
    let out = run(dir, &["identity", "list"]);
    assert!(
        !text(&out.stdout).contains("alice"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn bad_input_before_any_crypto_writes_nothing() {
    let ws = workspace();
    let out = run(
        ws.path(),
        &["identity", "add", "Org1", "bob", "--attr", "=x"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!ws.path().join(".fabdev").exists());
    // connect before `up`: says to run it.
    let out = run(ws.path(), &["connect", "Org1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("fabdev up"),
        "{}",
        text(&out.stderr)
    );
    // list before `up`: nothing, and no error.
    let out = run(ws.path(), &["identity", "list", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");
    assert!(!ws.path().join(".fabdev").exists());
}
