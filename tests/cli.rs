//! The `fabdev` binary end to end, for the commands that need no cluster:
//! init, render and chaincode package, and their answers to bad input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fabdev() -> Command {
    Command::cargo_bin("fabdev").expect("fabdev binary")
}

use testkit::repo;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

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

/// A workspace whose fabdev.yaml lists a copy of the Node fixture as
/// `basic` (with `extra` in its entry), on host ports nothing listens on.
fn chaincode_workspace(extra: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().expect("tempdir");
    let to = ws.path().join("chaincode/node");
    for (rel, bytes) in tree(&repo().join("fixtures/chaincode/node")) {
        let file = to.join(rel);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, bytes).expect("copy");
    }
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32600\n\
             chaincodes:\n  - {{ name: basic, path: chaincode/node{extra} }}\n"
        ),
    )
    .expect("spec");
    ws
}

/// `fabdev -w WS ARGS... -o json`: the output and its JSON events.
fn chaincode_json(ws: &Path, args: &[&str]) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = fabdev()
        .arg("-w")
        .arg(ws)
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("run");
    let events = String::from_utf8(out.stdout.clone())
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
        .collect();
    (out, events)
}

fn failed_step(events: &[serde_json::Value]) -> &str {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "step_failed", "{events:#?}");
    last["step"].as_str().expect("step")
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

#[test]
fn status_reports_its_steps_and_then_the_status_as_json_lines() {
    let ws = tempfile::tempdir().expect("tempdir");
    // A fake kind that knows no clusters.
    let kind = fake_kind(ws.path(), "v0.33.0");
    let (out, events) = json_run(ws.path(), &kind, "status");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let done: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step_done")
        .map(|e| e["step"].as_str().expect("step"))
        .collect();
    assert_eq!(
        done,
        ["workspace", "kind cluster fabdev", "pods", "channels"]
    );
    let status = events.last().expect("events");
    assert_eq!(status["event"], "status");
    assert_eq!(status["cluster_exists"], false);
    assert_eq!(status["nodes"].as_array().expect("nodes").len(), 3);
    assert_eq!(status["nodes"][0]["channels"]["Err"], "no cluster");

    // In text, the status goes to stdout and the steps to stderr; `-q`
    // leaves the status alone.
    let out = with_kind(ws.path(), &kind, &["-q", "status"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(
        stdout.starts_with("workspace fabdev: kind cluster does not exist\n"),
        "{stdout}"
    );
    assert_eq!(stderr_of(&out), "", "-q prints no steps");
}

#[test]
fn doctor_reports_every_check_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kind = dir.path().join("kind");
    std::fs::write(
        &kind,
        "#!/bin/sh\necho 'kind v0.29.0 go1.24.2 linux/amd64'\n",
    )
    .expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = fabdev()
        .current_dir(dir.path())
        .env("KIND_EXPERIMENTAL_PROVIDER", "docker")
        .args(["doctor", "-o", "json", "--kind"])
        .arg(&kind)
        .output()
        .expect("run");
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let checks: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    // kind's node provider comes first; the engine's own checks (docker…
    // or podman…) differ by host; the rest keep a fixed order.
    assert_eq!(names.first(), Some(&"provider"), "{stdout}");
    let rest: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.starts_with("docker") && !n.starts_with("podman"))
        .collect();
    assert_eq!(
        rest,
        [
            "provider", "fabric", "dind", "kind", "kubectl", "cpu", "memory", "inotify", "ports"
        ],
        "{stdout}"
    );
    let check = |n: &str| checks.iter().find(|c| c["name"] == n).expect("check");
    // The exact Fabric release the images run (spec::FABRIC_RELEASES).
    assert_eq!(
        check("fabric")["detail"],
        "2.5 runs Fabric 2.5.14 (hyperledger/fabric-peer:2.5.14, hyperledger/fabric-orderer:2.5.14)"
    );
    let verdict = |n: &str| check(n)["verdict"].clone();
    assert_eq!(verdict("kind"), "ok", "{stdout}");
    assert!(
        check("kind")["detail"]
            .as_str()
            .expect("detail")
            .starts_with("v0.29.0")
    );
    // The test setup (scripts/test.sh) starts Docker: doctor must see it.
    assert_eq!(verdict("docker"), "ok", "{stdout}");
    // Exit code follows the verdicts: 0 unless a check failed.
    let failed = checks.iter().any(|c| c["verdict"] == "fail");
    assert_eq!(out.status.success(), !failed, "{stdout}");
}

#[test]
fn doctor_without_kind_fails_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = without_kind(fabdev().current_dir(dir.path()), dir.path())
        .env("PATH", "/nonexistent")
        .arg("doctor")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(stdout.contains("✗ kind"), "{stdout}");
    assert!(stdout.contains("--kind PATH"), "{stdout}");
    assert!(
        stdout.contains("go install sigs.k8s.io/kind@v0.33.0"),
        "{stdout}"
    );
    // Other checks may fail on this host too (the provider, Docker's
    // --privileged, busy ports): kind must be among the problems named.
    let stderr = stderr_of(&out);
    let problems = stderr
        .lines()
        .find_map(|l| l.split("doctor found problems: ").nth(1))
        .unwrap_or_default();
    assert!(problems.split(", ").any(|p| p.trim() == "kind"), "{stderr}");

    // `go install sigs.k8s.io/kind@…` puts kind in ~/go/bin, often not on PATH:
    // fabdev looks there too.
    let go_bin = dir.path().join("go/bin");
    std::fs::create_dir_all(&go_bin).expect("go/bin");
    let kind = fake_kind(&go_bin, "v0.33.0");
    let out = without_kind(fabdev().current_dir(dir.path()), dir.path())
        .env("PATH", "/nonexistent")
        .args(["doctor", "-o", "json"])
        .output()
        .expect("run");
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(
        stdout.contains(&format!("v0.33.0 at {}", kind.display())),
        "{stdout}"
    );
}

/// No kind by flag, env, PATH or Go bin folder (HOME is `home`).
fn without_kind<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env_remove("FABDEV_KIND")
        .env_remove("GOBIN")
        .env_remove("GOPATH")
        .env("HOME", home)
}

fn fake_kind(dir: &Path, version: &str) -> PathBuf {
    let kind = dir.join("kind");
    std::fs::write(
        &kind,
        format!("#!/bin/sh\necho 'kind {version} go1.24.2 linux/amd64'\n"),
    )
    .expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    kind
}

/// `fabdev -w WS ARGS... --kind KIND`.
fn with_kind(ws: &Path, kind: &Path, args: &[&str]) -> std::process::Output {
    fabdev()
        .arg("-w")
        .arg(ws)
        .args(args)
        .arg("--kind")
        .arg(kind)
        .output()
        .expect("run")
}

/// `fabdev -w WS COMMAND -o json --kind KIND`, and its JSON events.
fn json_run(
    ws: &Path,
    kind: &Path,
    command: &str,
) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = with_kind(ws, kind, &[command, "-o", "json"]);
    let events = String::from_utf8(out.stdout.clone())
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
        .collect();
    (out, events)
}

#[test]
fn up_without_kind_stops_at_the_kind_step_with_a_hint() {
    let ws = tempfile::tempdir().expect("tempdir");
    let out = without_kind(&mut fabdev(), ws.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("-w")
        .arg(ws.path())
        .arg("up")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(" ✓ crypto material: 17 created, 0 reused"),
        "{err}"
    );
    assert!(
        err.contains(" ✓ render Kubernetes objects: 16 objects"),
        "{err}"
    );
    assert!(err.contains(" ✗ kind"), "{err}");
    assert!(err.contains("--kind PATH"), "{err}");
}

#[test]
fn up_json_events_report_a_kind_that_is_too_old() {
    let ws = tempfile::tempdir().expect("tempdir");
    let kind = fake_kind(ws.path(), "v0.20.0");
    let (out, events) = json_run(ws.path(), &kind, "up");
    assert_eq!(out.status.code(), Some(1));
    let steps: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().expect("event"),
                e["step"].as_str().expect("step"),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("step_started", "workspace"),
            ("step_done", "workspace"),
            ("step_started", "plan"),
            ("plan", "plan"),
            ("step_done", "plan"),
            ("step_started", "crypto material"),
            ("step_done", "crypto material"),
            ("step_started", "render Kubernetes objects"),
            ("step_done", "render Kubernetes objects"),
            ("step_started", "kind"),
            ("step_failed", "kind")
        ]
    );
    assert_eq!(events[1]["detail"], "fabdev: 1 orderer, 2 peers, 1 channel");
    let last = events.last().expect("events");
    assert_eq!(last["step"], "kind");
    assert!(
        last["error"]
            .as_str()
            .expect("error")
            .contains("kind v0.20.0 is too old"),
        "{last}"
    );
    assert!(last["elapsed_ms"].is_u64());
}

#[test]
fn down_without_a_cluster_removes_runtime_state_but_keeps_crypto() {
    let ws = tempfile::tempdir().expect("tempdir");
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out"))
        .assert()
        .success();
    std::fs::create_dir_all(ws.path().join(".fabdev/profiles")).expect("profiles");
    std::fs::write(ws.path().join(".fabdev/kubeconfig"), "x").expect("kubeconfig");
    // A fake kind that knows no clusters.
    let kind = ws.path().join("kind");
    std::fs::write(&kind, "#!/bin/sh\nexit 0\n").expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = with_kind(ws.path(), &kind, &["down"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("kind cluster fabdev: not there"),
        "{}",
        stderr_of(&out)
    );
    assert!(!ws.path().join(".fabdev/profiles").exists());
    assert!(!ws.path().join(".fabdev/kubeconfig").exists());
    assert!(
        ws.path().join(".fabdev/crypto").is_dir(),
        "crypto is kept without --purge"
    );
    let out = with_kind(ws.path(), &kind, &["down", "--purge"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        !ws.path().join(".fabdev/crypto").exists(),
        "--purge deletes the crypto"
    );
}

/// Ctrl-C during `up` stops it cleanly: exit 130, a hint to run it again, and
/// no child process left behind. Needs the Docker engine that scripts/test.sh
/// starts (the images must be "present on the host" for `up` to get as far
/// as creating the cluster); the kind binary is a fake whose `create` hangs.
#[test]
fn ctrl_c_during_up_stops_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Std, Stdio};
    use std::time::Duration;

    let ws = tempfile::tempdir().expect("tempdir");
    let image = format!("fabdev-test/ctrlc:{}", std::process::id());
    let made = Std::new("sh")
        .arg("-c")
        .arg(format!(
            "tar cf - --files-from /dev/null | docker import - {image}"
        ))
        .output()
        .expect("docker import");
    assert!(
        made.status.success(),
        "needs Docker (run scripts/test.sh): {}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: ctrlc\nimages: {{ peer: {image}, orderer: {image}, dind: {image}, ccenv: {image}, baseos: {image}, nodeenv: {image}, couchdb: {image} }}\n"
        ),
    )
    .expect("spec");
    let pidfile = ws.path().join("kind-create.pid");
    let kind = ws.path().join("kind");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  version) echo 'kind v0.29.0 go1.24.2 linux/amd64';;\n  create) echo $$ > {}; exec sleep 120;;\n  *) exit 0;;\nesac\n",
            pidfile.display()
        ),
    )
    .expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let mut child = Std::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(ws.path())
        .args(["up", "-o", "json", "--kind"])
        .arg(&kind)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fabdev");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let started_create =
            line.contains("\"step_started\"") && line.contains("kind cluster ctrlc");
        seen.push(line);
        if started_create {
            break;
        }
    }
    assert!(
        seen.last()
            .is_some_and(|l| l.contains("kind cluster ctrlc")),
        "up never reached the cluster step: {seen:#?}"
    );
    // Wait (with a deadline) until the fake `kind create` runs.
    let kind_pid = testkit::wait_until(Duration::from_secs(20), Duration::from_millis(1), || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    })
    .expect("the fake kind create never started");
    let sent = Std::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fabdev up was interrupted"), "{err}");
    assert!(err.contains("run it again"), "{err}");
    // The hanging `kind create` was killed with fabdev, not left running.
    let gone = testkit::wait_until(Duration::from_secs(10), Duration::from_millis(1), || {
        let alive = Std::new("kill")
            .args(["-0", &kind_pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!alive).then_some(())
    });
    assert!(
        gone.is_some(),
        "kind create (pid {kind_pid}) survived the interrupt"
    );

    // The interrupted create may have left a half-made cluster: the next
    // `up` deletes it before creating it again (here kind says the cluster
    // exists, and the new create fails at once to end the run).
    let marker = ws.path().join(".fabdev/cluster-creating");
    assert!(
        marker.is_file(),
        "the create marker must survive the interrupt"
    );
    let calls = ws.path().join("kind-calls.log");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\ncase \"$1\" in\n  version) echo 'kind v0.29.0 go1.24.2 linux/amd64';;\n  get) echo ctrlc;;\n  create) echo 'no node image here' >&2; exit 1;;\n  *) exit 0;;\nesac\n",
            calls.display()
        ),
    )
    .expect("fake kind, second run");
    let out = Std::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(ws.path())
        .args(["up", "--kind"])
        .arg(&kind)
        .output()
        .expect("run fabdev up again");
    let _ = Std::new("docker").args(["rmi", "-f", &image]).output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let log = std::fs::read_to_string(&calls).expect("kind calls");
    let order: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("delete cluster") || l.starts_with("create cluster"))
        .map(|l| {
            if l.starts_with("delete") {
                "delete"
            } else {
                "create"
            }
        })
        .collect();
    assert_eq!(order, ["delete", "create"], "{log}");
    assert!(
        stderr_of(&out).contains("no node image here"),
        "{}",
        stderr_of(&out)
    );
    assert!(marker.is_file(), "a failed create keeps the marker");
}

/// `up` as far as this machine goes without kind: the images are found on
/// the host's Docker (the test setup starts it; each image is a tiny local
/// one), each reported as a typed `images` event, and a kind that cannot
/// export the kubeconfig of its existing cluster fails the cluster step,
/// in JSON as that step's `step_failed`.
#[test]
fn up_finds_its_images_on_the_host_then_fails_in_the_cluster_step() {
    let ws = tempfile::tempdir().expect("tempdir");
    let tag = format!("fabdev-test/cli-up:{}", std::process::id());
    // An empty image, made locally: no registry involved.
    let import = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("tar cf - -T /dev/null | docker import - {tag}"))
        .output()
        .expect("docker import");
    assert!(import.status.success(), "{}", stderr_of(&import));
    let names = ["orderer", "peer", "dind", "ccenv", "baseos", "nodeenv"];
    let image = |what: &str| format!("{tag}-{what}");
    for what in names {
        let tagged = std::process::Command::new("docker")
            .args(["tag", &tag, &image(what)])
            .status()
            .expect("docker tag");
        assert!(tagged.success());
    }
    let images: Vec<String> = names.iter().map(|w| format!("{w}: {}", image(w))).collect();
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nimages: {{ {} }}\n",
            images.join(", ")
        ),
    )
    .expect("spec");
    // A kind whose cluster exists but that refuses everything else.
    let kind = ws.path().join("kind");
    std::fs::write(
        &kind,
        "#!/bin/sh\ncase \"$1\" in\n  version) echo 'kind v0.33.0 go1.24.2 linux/amd64';;\n  get) echo fabdev;;\n  *) echo 'no' >&2; exit 1;;\nesac\n",
    )
    .expect("fake kind");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let (out, events) = json_run(ws.path(), &kind, "up");
    for what in names {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image(what)])
            .output();
    }
    let _ = std::process::Command::new("docker")
        .args(["rmi", &tag])
        .output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    for what in names {
        let step = format!("image {}", image(what));
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "step_done" && e["step"] == step),
            "{step}: {events:#?}"
        );
        assert!(
            events.iter().any(|e| e["event"] == "images"
                && e["step"] == step
                && e["target"] == "host Docker"
                && e["present"] == serde_json::json!([image(what)])),
            "{step}: {events:#?}"
        );
    }
    let last = events.last().expect("events");
    assert_eq!(last["event"], "step_failed", "{events:#?}");
    assert_eq!(last["step"], "kind cluster fabdev");
    let error = last["error"].as_str().unwrap_or_default();
    assert!(error.contains("export kubeconfig"), "{last}");
}

#[test]
fn cluster_flags_that_do_not_fit_exit_2_and_write_nothing() {
    let ws = tempfile::tempdir().expect("tempdir");
    // The default network runs on kind: --kubeconfig and --context name an
    // existing cluster, and --load-images is not implemented for one.
    for args in [
        &["--context", "team", "up"][..],
        &["--kubeconfig", "k.yaml", "down"],
        &["--context", "team", "render"],
        &["--provider", "existing", "up", "--load-images"],
    ] {
        let out = fabdev()
            .arg("-w")
            .arg(ws.path())
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains("--provider existing") || err.contains("--load-images is not implemented"),
            "{args:?}: {err}"
        );
        assert!(
            tree(ws.path()).is_empty(),
            "{args:?} wrote {:?}",
            tree(ws.path())
        );
    }

    // A context the kubeconfig does not have: bad input naming the ones it
    // has, found before any crypto is written.
    std::fs::write(
        ws.path().join("kube.yaml"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: alpha\n  context:\n    cluster: c\n    user: u\n\
         current-context: alpha\n",
    )
    .expect("kubeconfig");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: existing, kubeconfig: kube.yaml }\n",
    )
    .expect("spec");
    for command in ["up", "status"] {
        let out = fabdev()
            .arg("-w")
            .arg(ws.path())
            .args(["--context", "beta", command])
            .output()
            .expect("run");
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("context \"beta\" is not in the kubeconfig")
                && err.contains("it has: alpha"),
            "{command}: {err}"
        );
    }
    assert!(!ws.path().join(".fabdev/crypto").exists());
}

#[test]
fn an_existing_cluster_without_a_kubeconfig_reads_kubeconfig_as_kubectl_does() {
    let ws = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("home");
    let kubeconfig = |context: &str, port: u16| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c-{context}\n  cluster:\n    server: https://127.0.0.1:{port}\n\
             users:\n- name: u-{context}\n  user:\n    token: t\ncontexts:\n- name: {context}\n  context:\n    cluster: c-{context}\n    user: u-{context}\n\
             current-context: {context}\n"
        )
    };
    let a = ws.path().join("a.yaml");
    let b = ws.path().join("b.yaml");
    std::fs::write(&a, kubeconfig("alpha", 1)).expect("a");
    std::fs::write(&b, kubeconfig("beta", 2)).expect("b");
    let list = format!("{}:{}", a.display(), b.display());
    let status = |env: Option<&str>, args: &[&str]| {
        let mut cmd = fabdev();
        cmd.arg("-w")
            .arg(ws.path())
            .args(["--provider", "existing"])
            .args(args)
            .arg("status")
            .env("HOME", home.path())
            .env_remove("KUBECONFIG");
        if let Some(v) = env {
            cmd.env("KUBECONFIG", v);
        }
        stderr_of(&cmd.output().expect("run"))
    };
    // $KUBECONFIG's files are merged: the first file's current context, and
    // a context of the second file.
    let err = status(Some(&list), &[]);
    assert!(
        err.contains("the API server of context alpha (https://127.0.0.1:1) does not answer"),
        "{err}"
    );
    let err = status(Some(&list), &["--context", "beta"]);
    assert!(
        err.contains("the API server of context beta (https://127.0.0.1:2) does not answer"),
        "{err}"
    );
    let err = status(Some(&list), &["--context", "gamma"]);
    assert!(
        err.contains(&format!(
            "is not in the kubeconfig $KUBECONFIG ({list}); it has: alpha, beta"
        )),
        "{err}"
    );
    // --kubeconfig wins over $KUBECONFIG.
    let err = status(Some(&list), &["--kubeconfig", b.to_str().expect("utf8")]);
    assert!(err.contains("context beta (https://127.0.0.1:2)"), "{err}");
    // Without either: ~/.kube/config, and a hint when there is none.
    let err = status(None, &[]);
    assert!(
        err.contains(&format!("{}/.kube/config", home.path().display()))
            && err.contains("--kubeconfig FILE"),
        "{err}"
    );
    std::fs::create_dir(home.path().join(".kube")).expect(".kube");
    std::fs::write(home.path().join(".kube/config"), kubeconfig("home", 3)).expect("config");
    let err = status(None, &[]);
    assert!(err.contains("context home (https://127.0.0.1:3)"), "{err}");
}
