//! What a flow needs to know: the workspace, the cluster flags, and the
//! seams a test (or another harness) sets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use cluster::kind::{ProcessRunner, Runner};
use network::channel::Endpoints;
use network::spec::Provider;

/// What a flow needs to know.
#[derive(Debug, Clone)]
pub struct Options<R: Runner = ProcessRunner> {
    /// The workspace folder (its `.fabdev/` holds the state).
    pub workspace_dir: PathBuf,
    /// The spec file; default `<workspace_dir>/fabdev.yaml` (or the default network).
    pub spec: Option<PathBuf>,
    /// The kind binary; default `$FABDEV_KIND`, then PATH.
    pub kind: Option<PathBuf>,
    /// Deadline of each wait (nodes, pods).
    pub wait_timeout: Duration,
    /// Which cluster: the command line's choices, over fabdev.yaml's `cluster:`.
    pub cluster: ClusterFlags,
    /// How the kind binary is run.
    pub runner: R,
    /// Where the nodes are reached, instead of the cluster's endpoints (a
    /// network run as processes, `crates/testnet`). The CLI leaves it `None`.
    pub endpoints: Option<Endpoints>,
    /// Peer → its DinD daemon's socket on this machine, for a network run
    /// as processes without Kubernetes; empty (the CLI): each daemon
    /// through its pod.
    pub local_daemons: BTreeMap<String, PathBuf>,
}

/// `--provider`, `--kubeconfig` and `--context`: each, when given, wins
/// over fabdev.yaml's `cluster:` (see `Context::load`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFlags {
    pub provider: Option<Provider>,
    /// As given on the command line (relative to the current folder).
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `up --load-images`: load the nodes' images into the cluster's nodes.
    /// What kind mode always does; with an existing cluster it is bad
    /// input (not implemented there: its nodes pull from its registries).
    pub load_images: bool,
    /// `--adopt-cluster`: on kind, take over (up) or delete (down) a kind
    /// cluster of the workspace's name that this workspace did not create
    /// (see `flow::ownership`).
    pub adopt_cluster: bool,
    /// `--adopt-namespace`: on an existing cluster, take over (up) or
    /// delete (down) a namespace of the workspace's name that does not
    /// carry this workspace's ID.
    pub adopt_namespace: bool,
}

impl Options {
    pub fn new(workspace_dir: impl Into<PathBuf>) -> Options {
        Options {
            workspace_dir: workspace_dir.into(),
            spec: None,
            kind: None,
            wait_timeout: Duration::from_secs(600),
            cluster: ClusterFlags::default(),
            runner: ProcessRunner,
            endpoints: None,
            local_daemons: BTreeMap::new(),
        }
    }
}

impl<R: Runner> Options<R> {
    /// The same options, running kind through `runner`.
    pub fn with_runner<S: Runner>(self, runner: S) -> Options<S> {
        Options {
            workspace_dir: self.workspace_dir,
            spec: self.spec,
            kind: self.kind,
            wait_timeout: self.wait_timeout,
            cluster: self.cluster,
            runner,
            endpoints: self.endpoints,
            local_daemons: self.local_daemons,
        }
    }
}
