//! `init` and `render`, and a workspace folder that does not exist.

use super::*;

#[test]
fn init_writes_the_default_spec_and_gitignore_once() {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::write(ws.path().join(".gitignore"), "target/").expect("gitignore");
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("init")
        .assert()
        .success();
    let spec = std::fs::read_to_string(ws.path().join("fabdev.yaml")).expect("spec written");
    assert!(spec.contains("apiVersion: fabdev/v1alpha1"));
    let gitignore = std::fs::read_to_string(ws.path().join(".gitignore")).expect("gitignore");
    assert_eq!(gitignore.matches(".fabdev/").count(), 1);
    assert!(gitignore.starts_with("target/\n"));

    // A second init refuses to overwrite, exit code 2, naming the file.
    let out = fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("init")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("fabdev.yaml already exists"),
        "{}",
        stderr_of(&out)
    );
    assert!(stderr_of(&out).contains("--force"));

    // --force rewrites, without a second .gitignore entry.
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .args(["init", "--force"])
        .assert()
        .success();
    let gitignore = std::fs::read_to_string(ws.path().join(".gitignore")).expect("gitignore");
    assert_eq!(gitignore.matches(".fabdev/").count(), 1);
}

#[test]
fn init_stdout_prints_a_spec_that_loads() {
    let out = fabdev().args(["init", "--stdout"]).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let ws = network::Workspace::parse(&text, Path::new("stdout"), Path::new(".")).expect("parses");
    assert_eq!(ws, network::Workspace::default_network());
}

#[test]
fn render_writes_kind_config_and_manifests_reusing_crypto() {
    let ws = tempfile::tempdir().expect("tempdir");
    let out1 = ws.path().join("out1");
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(&out1)
        .assert()
        .success();
    assert!(out1.join("kind-config.yaml").is_file());
    let manifests = tree(&out1.join("manifests"));
    assert!(manifests.len() >= 10, "{} manifests", manifests.len());
    assert!(ws.path().join(".fabdev/crypto").is_dir());

    // Same workspace, same crypto: the same bytes again.
    let out2 = ws.path().join("out2");
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(&out2)
        .assert()
        .success();
    assert_eq!(tree(&out1), tree(&out2));

    // An existing --out is refused and left alone.
    let before = tree(&out1);
    let out = fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(&out1)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("already exists"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(tree(&out1), before);

    // Without --out: one YAML stream on stdout with every object.
    let out = fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .output()
        .expect("run");
    assert!(out.status.success());
    let stream = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(
        stream.matches("\nkind: StatefulSet").count()
            + usize::from(stream.starts_with("kind: StatefulSet")),
        3
    );
}

#[test]
fn render_of_a_broken_spec_exits_2_and_writes_nothing() {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo().join("fixtures/specs/broken/unknown-field.yaml"),
        ws.path().join("fabdev.yaml"),
    )
    .expect("copy");
    let out = fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("fabdev.yaml:5:5: unknown field `peer`"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(
        !ws.path().join(".fabdev").exists(),
        "nothing may be written"
    );
    assert!(!ws.path().join("out").exists(), "nothing may be written");
}

#[test]
fn a_missing_workspace_folder_exits_2() {
    // Bad input for every command that loads the workspace, not a default
    // network made up in its place.
    for command in [
        &["render"][..],
        &["doctor"],
        &["up"],
        &["down"],
        &["status"],
        &["channel", "create"],
        &["chaincode", "deploy"],
        &["chaincode", "list"],
        &["chaincode", "query", "basic", "ReadAsset"],
    ] {
        let out = fabdev()
            .args(["-w", "/nonexistent/fabdev-ws"])
            .args(command)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(
            stderr_of(&out).contains("/nonexistent/fabdev-ws does not exist"),
            "{command:?}: {}",
            stderr_of(&out)
        );
    }
    // In JSON the failure is the workspace step's.
    let out = fabdev()
        .args(["-w", "/nonexistent/fabdev-ws", "status", "-o", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let last: serde_json::Value = String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .expect("events");
    assert_eq!(last["event"], "step_failed");
    assert_eq!(last["step"], "workspace");
}
