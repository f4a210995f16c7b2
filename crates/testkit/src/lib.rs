//! fabdev's test support, one crate for every test binary (`publish =
//! false`; the product crates only dev-depend on it):
//!
//! - [`apiserver`]: a real etcd, kube-apiserver and kube-controller-manager
//!   (from `scripts/setup/kube.sh`), with an admin and a limited user;
//! - [`kubelet`]: the fake kubelet for that API server (no kubelet runs
//!   there): the node registered Ready, pods marked Ready as they appear;
//! - [`dockerd`]: the host's Docker, a second dockerd as a copy target,
//!   tiny local images;
//! - [`fabric`]: real Fabric networks of `crates/testnet` for the
//!   `real_fabric_*` tests: started, seeded, a peer waited for, a height;
//! - [`kindnode`]: a stand-in for a kind node (a container running a real
//!   containerd);
//! - [`realnode`]: the real single-node cluster of `crates/kubenode` for
//!   the `real_node_*` tests, and helpers for its pods;
//! - [`outcome`]: what a flow's typed events say;
//! - [`wait_until`] / [`wait_until_async`]: the one way a test waits for a
//!   condition (a deadline and an interval, never a fixed sleep);
//! - [`repo`], [`copy_tree`], [`copy_fixture`], [`fixture_copy`],
//!   [`edit`]: the repository, copies of fixtures and a change to one;
//! - [`fabdev_bin`], [`fabdev`], [`fabdev_logged`], [`fabdev_ok`],
//!   [`fabdev_exits`], [`stdout`],
//!   [`stderr`], [`json_lines`], [`event`], [`assert_has`]: the `fabdev`
//!   binary and what it said.
//!
//! Whether a test that needs more than Rust can run here is decided at build
//! time by `crates/testkit-probe` (re-exported as [`probe`]): see
//! ARCHITECTURE.md, "Tests, by how much of the world they need".
//!
//! Everything here panics (the test fails) with what went wrong: use it in
//! tests only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod apiserver;
pub mod dockerd;
pub mod fabric;
pub mod kindnode;
pub mod kubelet;
pub mod net;
pub mod outcome;
pub mod realnode;
mod wait;

pub use testkit_probe as probe;
pub use wait::{wait_until, wait_until_async};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A fixture of `fixtures/`, e.g. `fixture("chaincode/node")`.
pub fn fixture(path: &str) -> PathBuf {
    repo().join("fixtures").join(path)
}

/// Copies the folder `from` into `to` (made if missing), recursively,
/// leaving out `node_modules` folders (a local `npm install` in a fixture).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("a folder entry");
        if entry.file_name() == "node_modules" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// Copies the fixture `name` (e.g. `chaincode/node`) into `to`.
pub fn copy_fixture(name: &str, to: &Path) {
    copy_tree(&fixture(name), to);
}

/// A copy of the fixture `name` in a temporary folder of its own (a test
/// that changes it leaves the fixture as it is).
pub fn fixture_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixture(name, dir.path());
    dir
}

/// Chaincodes of `langs` (`go`, `node`) declared in a workspace: writes
/// `<ws>/cc-<lang>` with a go.mod or a package.json for each and returns
/// the `chaincodes:` lines of fabdev.yaml naming them on `channel`, so that
/// `up` copies those languages' runtimes into the peers' DinDs (it copies
/// only what the declared languages' chaincode runs on).
pub fn declared_chaincodes(ws: &Path, channel: &str, langs: &[&str]) -> String {
    let mut yaml = String::from("chaincodes:\n");
    for lang in langs {
        let dir = ws.join(format!("cc-{lang}"));
        std::fs::create_dir_all(&dir).expect("create the chaincode folder");
        let (file, text) = match *lang {
            "go" => ("go.mod", "module example.com/cc\n\ngo 1.22\n"),
            "node" => (
                "package.json",
                r#"{"name":"cc","version":"1.0.0","scripts":{"start":"fabric-chaincode-node start"}}"#,
            ),
            other => panic!("no stub chaincode for {other}"),
        };
        std::fs::write(dir.join(file), text).expect("write the chaincode stub");
        yaml.push_str(&format!(
            "  - {{ name: cc-{lang}, path: cc-{lang}, channel: {channel} }}\n"
        ));
    }
    yaml
}

/// Replaces `from` by `to` in the file `path`; `from` must be there (a
/// fixture that changed fails the test rather than silently testing
/// nothing).
pub fn edit(path: &Path, from: &str, to: &str) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        text.contains(from),
        "{} no longer has {from:?}",
        path.display()
    );
    std::fs::write(path, text.replace(from, to))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Fails the test, showing `text`, unless it contains `part`.
#[track_caller]
pub fn assert_has(text: &str, part: &str) {
    assert!(text.contains(part), "no {part:?} in:\n{text}");
}

/// The first JSON event named `name` (its `event` field) of `events`.
#[track_caller]
pub fn event<'a>(events: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:#?}"))
}

/// The `fabdev` binary cargo built for this test binary: it sits in the
/// profile's folder, one up from `deps/` where the test binary is (cargo
/// builds a package's binaries for its integration tests).
pub fn fabdev_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_fabdev") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("this test binary");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = profile.join("fabdev");
    assert!(
        bin.is_file(),
        "{} is missing: only the fabdev package's tests have it",
        bin.display()
    );
    bin
}

/// `fabdev -w <ws> --trust-spec`: the test wrote the workspace's spec, so
/// its choices of cluster and images are the test's own word (the tests of
/// that question use [`fabdev_bin`] without the flag).
pub fn fabdev(ws: &Path) -> Command {
    let mut c = Command::new(fabdev_bin());
    c.arg("-w").arg(ws).arg("--trust-spec");
    c
}

/// Runs `fabdev -w <ws> <args>` and prints a transcript of it (the
/// command, what it said, its exit code) for `--nocapture` readers.
pub fn fabdev_logged(ws: &Path, args: &[&str]) -> Output {
    let out = fabdev(ws).args(args).output().expect("run fabdev");
    show(&format!("fabdev {}", args.join(" ")), &out);
    out
}

/// [`fabdev_logged`] for async tests: the binary runs without blocking the
/// runtime.
pub async fn fabdev_logged_async(ws: &Path, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::from(fabdev(ws));
    let out = cmd.args(args).output().await.expect("run fabdev");
    show(&format!("fabdev {}", args.join(" ")), &out);
    out
}

/// [`fabdev_logged_async`] that must succeed: the test fails with what
/// fabdev said otherwise.
pub async fn fabdev_ok(ws: &Path, args: &[&str]) -> Output {
    let out = fabdev_logged_async(ws, args).await;
    assert!(
        out.status.success(),
        "fabdev {}: {}",
        args.join(" "),
        stderr(&out)
    );
    out
}

/// [`fabdev_logged_async`] that must exit with `code`: what it said on
/// stderr.
pub async fn fabdev_exits(ws: &Path, code: i32, args: &[&str]) -> String {
    let out = fabdev_logged_async(ws, args).await;
    assert_eq!(
        out.status.code(),
        Some(code),
        "fabdev {}: {}",
        args.join(" "),
        stderr(&out)
    );
    stderr(&out)
}

/// The asset-transfer fixture deployed as `basic` (fabdev.yaml's
/// chaincode) answers through the `fabdev` binary that `fabdev` runs: an
/// invoke, the query that reads it back, and `chaincode logs` with
/// peer0-org1's lines. What the tests of `up` on a real cluster check once
/// the network runs.
pub fn assert_basic_answers(fabdev: impl Fn(&[&str]) -> Output) {
    let out = fabdev(&[
        "chaincode",
        "invoke",
        "basic",
        "CreateAsset",
        "a1",
        "blue",
        "5",
        "Tom",
        "300",
    ]);
    assert!(out.status.success(), "invoke: {}", stderr(&out));
    let out = fabdev(&["chaincode", "query", "basic", "ReadAsset", "a1"]);
    assert!(out.status.success(), "query: {}", stderr(&out));
    assert_has(&stdout(&out), "Tom");
    let out = fabdev(&["chaincode", "logs", "basic"]);
    assert!(out.status.success(), "logs: {}", stderr(&out));
    assert_has(&stderr(&out), "==> peer0-org1:");
}

/// Prints a transcript of a command that ran: `$ what`, what it said on
/// stderr and stdout, its exit code.
pub fn show(what: &str, out: &Output) {
    eprintln!(
        "$ {what}\n{}{}[exit {}]\n",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        out.status.code().unwrap_or(-1)
    );
}

/// Makes `path` executable (a fake tool written by a test).
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// What a command wrote to stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command wrote to stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON events of `fabdev ... -o json`: one object a line of stdout.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON event a line: {l:?}: {e}"))
        })
        .collect()
}

/// A tiny image under `name` in `engine` (`docker` or `podman`): a one-file
/// filesystem imported with `ENGINE import`, for a test that only checks
/// where an image was copied (a builder image stand-in).
pub fn tiny_image(engine: &str, name: &str) {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("IMAGE"), format!("{name}\n")).expect("write IMAGE");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .args(["-c", "."])
        .output()
        .expect("tar");
    let mut import = Command::new(engine)
        .args(["import", "-", name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{engine} import: {e}"));
    import
        .stdin
        .take()
        .expect("stdin")
        .write_all(&tar.stdout)
        .expect("write the tar");
    assert!(
        import.wait().expect("wait").success(),
        "{engine} import {name}"
    );
}
