//! `chaincode package` and `chaincode logs`, and the chaincode commands'
//! answers to bad input and to nodes that do not answer.

use super::*;

#[test]
fn package_prints_a_stable_package_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ids = Vec::new();
    for name in ["a.tar.gz", "b.tar.gz"] {
        let out = fabdev()
            .args(["-q", "chaincode", "package"])
            .arg(repo().join("fixtures/chaincode/go"))
            .args(["--label", "basic_1.0", "-o"])
            .arg(dir.path().join(name))
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr_of(&out));
        let id = String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string();
        let (label, hash) = id.split_once(':').expect("label:hash");
        assert_eq!(label, "basic_1.0");
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        ids.push(id);
    }
    assert_eq!(ids[0], ids[1]);
    let a = std::fs::read(dir.path().join("a.tar.gz")).expect("a");
    let b = std::fs::read(dir.path().join("b.tar.gz")).expect("b");
    assert_eq!(a, b);

    // Existing output: refused, exit 2, file untouched.
    let out = fabdev()
        .args(["chaincode", "package"])
        .arg(repo().join("fixtures/chaincode/node"))
        .arg("-o")
        .arg(dir.path().join("a.tar.gz"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("a.tar.gz already exists"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(dir.path().join("a.tar.gz")).expect("a"), a);
}

#[test]
fn package_of_a_folder_without_go_mod_or_package_json_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.go"), "package main\n").expect("write");
    let out = fabdev()
        .current_dir(dir.path())
        .args(["chaincode", "package", "."])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("go.mod") && err.contains("package.json"),
        "{err}"
    );
    assert!(err.contains("--lang"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "nothing written"
    );
}

#[test]
fn package_with_a_bad_label_exits_2() {
    let out = fabdev()
        .args(["chaincode", "package"])
        .arg(repo().join("fixtures/chaincode/go"))
        .args([
            "--label",
            "bad:label",
            "-o",
            "/nonexistent/never-written.tar.gz",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("bad:label"), "{}", stderr_of(&out));
}

#[test]
fn chaincode_logs_checks_the_peer_and_needs_a_cluster() {
    let ws = chaincode_workspace("");
    let run = |args: &[&str]| {
        fabdev()
            .arg("-w")
            .arg(ws.path())
            .args(["chaincode", "logs", "basic"])
            .args(args)
            .output()
            .expect("run")
    };
    let out = run(&["--peer", "peer9-org1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("no peer peer9-org1") && err.contains("peer0-org1"),
        "{err}"
    );
    let out = run(&["--follow"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("--follow reads one peer"),
        "{}",
        stderr_of(&out)
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("does not exist") && stderr_of(&out).contains("fabdev up"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn chaincode_commands_answer_bad_input_with_exit_2_in_the_step_that_found_it() {
    let ws = chaincode_workspace("");
    // A chaincode fabdev.yaml does not list.
    let (out, events) = chaincode_json(ws.path(), &["chaincode", "deploy", "nosuch"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(failed_step(&events), "chaincodes");
    assert!(
        stderr_of(&out)
            .contains("chaincode `nosuch` is not in fabdev.yaml (its chaincodes: basic)"),
        "{}",
        stderr_of(&out)
    );
    // A channel the workspace does not have.
    let (out, events) = chaincode_json(ws.path(), &["chaincode", "install", "--channel", "other"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(failed_step(&events), "chaincodes");
    // An org that is not there: named, with the known ones.
    let (out, events) = chaincode_json(
        ws.path(),
        &[
            "chaincode",
            "query",
            "basic",
            "ReadAsset",
            "a1",
            "--org",
            "Org9",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(failed_step(&events), "query basic ReadAsset");
    assert!(
        stderr_of(&out).contains("org `Org9` is not in the workspace (its orgs: Org1, Org2)"),
        "{}",
        stderr_of(&out)
    );
    // Transient data that is not KEY=VALUE: clap's usage error.
    let out = fabdev()
        .arg("-w")
        .arg(ws.path())
        .args([
            "chaincode",
            "invoke",
            "basic",
            "F",
            "--transient",
            "novalue",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("is not KEY=VALUE"),
        "{}",
        stderr_of(&out)
    );

    // A typo'd MSP ID in the endorsement policy: bad input before anything
    // is dialled, naming the field and the known MSP IDs.
    let ws = chaincode_workspace(", signaturePolicy: \"OR('Org1MSP.peer', 'Org3MSP.peer')\"");
    let (out, events) = chaincode_json(ws.path(), &["chaincode", "deploy"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(failed_step(&events), "workspace");
    assert!(
        stderr_of(&out).contains("chaincodes[0].signaturePolicy")
            && stderr_of(&out).contains("\"Org3MSP\"")
            && stderr_of(&out).contains("Org1MSP, Org2MSP"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn chaincode_deploy_packages_then_fails_at_install_when_no_peer_answers() {
    let ws = chaincode_workspace("");
    // A file that looks like a secret: packaged, with a warning.
    std::fs::write(ws.path().join("chaincode/node/.env"), "TOKEN=x\n").expect(".env");
    let (out, events) = chaincode_json(ws.path(), &["chaincode", "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let steps: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step_done")
        .map(|e| e["step"].as_str().expect("step"))
        .collect();
    assert_eq!(
        steps,
        ["workspace", "node endpoints", "chaincodes", "package basic"]
    );
    let packaged = events
        .iter()
        .find(|e| e["event"] == "packaged")
        .expect("packaged event");
    assert_eq!(packaged["chaincode"], "basic");
    assert_eq!(packaged["lang"], "node");
    assert_eq!(packaged["vendored"], false);
    assert!(
        packaged["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains(".env")),
        "{packaged}"
    );
    assert!(
        packaged["package_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("basic_1.0:")),
        "{packaged}"
    );
    assert_eq!(failed_step(&events), "install basic");
    assert!(
        stderr_of(&out).contains("peer0-org1"),
        "{}",
        stderr_of(&out)
    );

    // `list` and `query` fail in their first step that dials a peer.
    let (out, events) = chaincode_json(ws.path(), &["chaincode", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed_step(&events), "installed packages");
    let (out, events) = chaincode_json(
        ws.path(),
        &["chaincode", "query", "basic", "ReadAsset", "a1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed_step(&events), "query basic ReadAsset");
}
