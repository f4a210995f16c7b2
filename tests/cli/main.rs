//! The `fabdev` binary end to end, for the commands that need no cluster:
//! init, render and chaincode package, and their answers to bad input;
//! the chaincode commands against nodes that do not answer; status,
//! doctor, up and down with a fake kind. One test binary: this file holds
//! the set-up the topics share, one module per topic holds its tests.

mod chaincode;
mod init_render;
mod signals;
mod status_doctor;
mod trust;
mod up_down;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use testkit::repo;

fn fabdev() -> Command {
    Command::cargo_bin("fabdev").expect("fabdev binary")
}

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
    let events = testkit::json_lines(&out);
    (out, events)
}

fn failed_step(events: &[serde_json::Value]) -> &str {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "step_failed", "{events:#?}");
    last["step"].as_str().expect("step")
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

/// `fabdev -w WS COMMAND -o json --trust-spec --kind KIND` (the test wrote
/// the spec), and its JSON events.
fn json_run(
    ws: &Path,
    kind: &Path,
    command: &str,
) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = with_kind(ws, kind, &[command, "-o", "json", "--trust-spec"]);
    let events = testkit::json_lines(&out);
    (out, events)
}
