//! Signals and what they leave (issue 19, finding 8): SIGTERM while `go mod
//! vendor` runs in a copy of the chaincode removes the copy (with the
//! chaincode's `.env`) and kills `go`; a second signal ends a command whose
//! clean stop waits on something that does not end (an `npm` that hangs).

use std::io::{BufRead, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command as Std, Stdio};
use std::time::Duration;

/// A fake tool in `bin` that writes its pid and working folder to
/// `<bin>/<name>.started` and then hangs.
fn hanging_tool(bin: &Path, name: &str) {
    let script = bin.join(name);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$$ $(pwd)\" > {}.tmp && mv {0}.tmp {0}\nexec sleep 120\n",
            bin.join(format!("{name}.started")).display()
        ),
    )
    .expect("fake tool");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The pid and working folder of a started [`hanging_tool`].
fn started(bin: &Path, name: &str) -> (u32, std::path::PathBuf) {
    let file = bin.join(format!("{name}.started"));
    testkit::wait_until(Duration::from_secs(60), Duration::from_millis(10), || {
        let text = std::fs::read_to_string(&file).ok()?;
        let (pid, dir) = text.trim().split_once(' ')?;
        Some((pid.parse().ok()?, dir.into()))
    })
    .unwrap_or_else(|| panic!("the fake {name} never started"))
}

fn alive(pid: u32) -> bool {
    Std::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn signal(child: &Child, sig: &str) {
    let sent = Std::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// `fabdev -w WS chaincode deploy` with `bin` first on PATH and TMPDIR
/// `tmp`.
fn deploy(ws: &Path, bin: &Path, tmp: &Path) -> Child {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Std::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(ws)
        .args(["chaincode", "deploy"])
        .env("PATH", path)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fabdev")
}

fn workspace(ws: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = ws.join("cc").join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    std::fs::write(
        ws.join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n\
         chaincodes:\n  - { name: cc, path: cc }\n",
    )
    .expect("spec");
}

#[test]
fn sigterm_while_go_mod_vendor_runs_removes_the_copy_and_its_env_file() {
    let ws = tempfile::tempdir().expect("ws");
    let bin = tempfile::tempdir().expect("bin");
    let tmp = tempfile::tempdir().expect("tmp");
    workspace(
        ws.path(),
        &[
            ("go.mod", "module example.com/cc\n\ngo 1.22\n"),
            ("main.go", "package main\n\nfunc main() {}\n"),
            (".env", "SECRET=do-not-leave-me-in-tmp\n"),
        ],
    );
    hanging_tool(bin.path(), "go");
    let mut child = deploy(ws.path(), bin.path(), tmp.path());
    let (go, copy) = started(bin.path(), "go");
    assert!(copy.starts_with(tmp.path()), "{}", copy.display());
    assert!(copy.join(".env").is_file(), "the copy has the .env file");

    signal(&child, "-TERM");
    let stderr = child.stderr.take().expect("stderr");
    let out = testkit::wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
        child.try_wait().ok().flatten()
    });
    let mut err = String::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        err.push_str(&line);
        err.push('\n');
    }
    let status = out.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("fabdev did not stop within 30 s of SIGTERM: {err}")
    });
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(!copy.exists(), "{} was left: {err}", copy.display());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let gone = testkit::wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
        (!alive(go)).then_some(())
    });
    assert!(gone.is_some(), "go mod vendor (pid {go}) survived");
}

#[test]
fn a_second_signal_stops_at_once_while_the_first_waits() {
    let ws = tempfile::tempdir().expect("ws");
    let bin = tempfile::tempdir().expect("bin");
    let tmp = tempfile::tempdir().expect("tmp");
    workspace(
        ws.path(),
        &[
            (
                "package.json",
                r#"{"name":"cc","version":"1.0.0","main":"dist/index.js","scripts":{"build":"tsc","start":"fabric-chaincode-node start"}}"#,
            ),
            ("src/index.ts", "export {};\n"),
        ],
    );
    // The build's `npm install` hangs: the first signal's clean stop waits
    // for it (it runs on a blocking thread).
    hanging_tool(bin.path(), "npm");
    let mut child = deploy(ws.path(), bin.path(), tmp.path());
    let (npm, _) = started(bin.path(), "npm");

    signal(&child, "-TERM");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut err = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
        err.push_str(&line);
        let said = line.contains("a second signal stops at once");
        line.clear();
        if said {
            break;
        }
    }
    assert!(
        err.contains("a second signal stops at once"),
        "the first signal was not taken: {err}"
    );
    assert!(child.try_wait().expect("wait").is_none(), "{err}");
    signal(&child, "-INT");
    let status = testkit::wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
        child.try_wait().ok().flatten()
    });
    let _ = Std::new("kill").args(["-9", &npm.to_string()]).status();
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the second signal did not stop fabdev within 10 s: {err}")
    });
    let _ = stderr.read_to_string(&mut err);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("a second signal: stopping at once"), "{err}");
}
