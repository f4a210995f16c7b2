//! The `fabdev` binary against real Fabric: a workspace folder whose
//! `.fabdev/crypto` a test network shares ([`super::start_workspace`]), and
//! the binary run on it, each run's transcript printed for `--nocapture`
//! readers. A run that must succeed and does not fails the test with what
//! fabdev said and the network's logs.
//!
//! Holding a [`CliNetwork`] holds the test binary's one-network-at-a-time
//! lock: every peer builds chaincode, on few cores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use testnet::TestNetwork;

use super::{home, spec_text, start_workspace_keeping, two_orgs};
use crate::{fabdev_exits, fabdev_logged_async, json_lines, stderr};

/// One real Fabric network at a time in a test binary.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for the test binary's turn to run a network; the turn lasts as
/// long as the guard.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A workspace folder and the test network that runs it. Drop order: the
/// network stops before the folder goes.
pub struct CliNetwork {
    /// The running network: stop and start its nodes through it.
    pub net: TestNetwork,
    dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// A fresh workspace folder, for a test to put its chaincode into before
/// [`CliNetwork::start`].
pub fn workspace_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes fabdev.yaml into `dir`: `body` (name, host ports, orgs,
/// channels, chaincodes) for the Fabric version of the release folder.
pub fn write_spec(dir: &Path, body: &str) {
    std::fs::write(dir.join("fabdev.yaml"), spec_text(&home(), body)).expect("write fabdev.yaml");
}

impl std::fmt::Debug for CliNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliNetwork")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl CliNetwork {
    /// Writes fabdev.yaml into `dir` ([`two_orgs`] named `clitest` on
    /// `host_port_base`, then `chaincodes`, a `chaincodes:` section or
    /// nothing) and starts its network (with DinD and the builder images),
    /// after waiting for the test binary's turn.
    pub async fn start(dir: tempfile::TempDir, host_port_base: u16, chaincodes: &str) -> Self {
        let body = format!("{}{chaincodes}", two_orgs("clitest", host_port_base));
        Self::start_with(dir, &body).await
    }

    /// [`CliNetwork::start`] with the whole body of fabdev.yaml (after its
    /// `apiVersion`, `kind` and `fabric` lines).
    pub async fn start_with(dir: tempfile::TempDir, body: &str) -> Self {
        write_spec(dir.path(), body);
        Self::start_written(dir).await
    }

    /// Starts the network of the fabdev.yaml in `dir` (see [`write_spec`]),
    /// after waiting for the test binary's turn: for a test that runs
    /// `fabdev` on the workspace before its network runs.
    pub async fn start_written(dir: tempfile::TempDir) -> Self {
        Self::start_keeping(dir, BTreeMap::new()).await
    }

    /// [`CliNetwork::start_written`] with the nodes in `slots` at those
    /// slots: the network as it will be once fabdev.yaml lists a node that
    /// the first `up` does not make (which then keeps its own host ports).
    pub async fn start_keeping(dir: tempfile::TempDir, slots: BTreeMap<String, u32>) -> Self {
        let turn = one_at_a_time().await;
        let net = start_workspace_keeping(dir.path(), slots).await;
        CliNetwork {
            net,
            dir,
            _turn: turn,
        }
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path in the workspace folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `fabdev -w DIR ARGS`, whatever its outcome.
    pub async fn run(&self, args: &[&str]) -> Output {
        fabdev_logged_async(self.dir(), args).await
    }

    /// `fabdev -w DIR ARGS`, which must succeed (else the test fails with
    /// what fabdev said and the network's logs).
    pub async fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "fabdev {}: {}\n{}",
            args.join(" "),
            stderr(&out),
            self.net.all_logs()
        );
        out
    }

    /// `fabdev -w DIR ARGS -o json`, which must succeed: its events.
    pub async fn json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut with_json = args.to_vec();
        with_json.extend(["-o", "json"]);
        json_lines(&self.ok(&with_json).await)
    }

    /// `fabdev -w DIR ARGS`, which must exit with `code`: what it said on
    /// stderr.
    pub async fn fails(&self, code: i32, args: &[&str]) -> String {
        fabdev_exits(self.dir(), code, args).await
    }

    /// The library's options for this workspace, with every peer's daemon
    /// reached through its socket (no Kubernetes here): what `chaincode
    /// logs` and `chaincode watch` are called with in process.
    pub fn options(&self) -> fabdev::flow::Options {
        let mut opts = fabdev::flow::Options::new(self.dir());
        opts.local_daemons = self.local_daemons();
        opts
    }

    /// Every peer's DinD socket, by peer name.
    pub fn local_daemons(&self) -> BTreeMap<String, PathBuf> {
        self.net
            .topology()
            .peers()
            .map(|p| {
                let socket = self
                    .net
                    .dind_socket(&p.name)
                    .unwrap_or_else(|e| panic!("{}'s DinD socket: {e}", p.name));
                (p.name.clone(), socket)
            })
            .collect()
    }
}
