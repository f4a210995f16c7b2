//! The flows behind `fabdev up`, `down`, `status`, `channel create` and the
//! `chaincode` commands, as a library, for the CLI, CI (JSON lines) and
//! other projects' test harnesses.
//!
//! Every flow has the same shape, the one kind gives its `create` actions: a
//! list of named [`Step`]s run in order over one shared state (the loaded
//! [`Context`] plus what earlier steps made: the kind driver, the Kubernetes
//! client, the node endpoints, ...). Each step is one function of the flow's
//! module; every fallible call happens inside a step, so a failure always
//! reaches the reporter as `step_failed` with the step's name; and steps
//! emit typed [`Event`](crate::events::Event)s into a
//! [`Sink`](crate::events::Sink) (progress, the cluster, images, objects,
//! channel joins).
//!
//! | flow | its steps |
//! |---|---|
//! | [`up()`] | [`up::steps`] |
//! | [`down()`] | [`down::steps`] |
//! | [`status()`] | [`status::steps`] |
//! | [`create_channels`] | [`channel::steps`] |
//! | [`chaincode::run_lifecycle`] (`deploy`, `install`, `approve`, `commit`, `instantiate`) | [`chaincode::steps`] |
//! | [`chaincode::call`] (`invoke`, `query`) | [`chaincode::call_steps`] |
//! | [`chaincode::list`] | [`chaincode::list_steps`] |
//! | [`logs::logs`] (`chaincode logs`) | [`logs::steps`] |
//!
//! Every step is idempotent, so `up` on a healthy network changes nothing,
//! and `up` after an interrupted run completes what is missing.
//!
//! The kind binary is run through the `cluster::kind::Runner` of the
//! [`Options`]: a process by default, a fake in tests
//! ([`Options::with_runner`]).

pub mod chaincode;
pub mod channel;
mod context;
pub mod down;
mod endpoints;
pub mod logs;
mod prepare;
pub mod status;
mod steps;
pub mod up;

use std::path::PathBuf;
use std::time::Duration;

use cluster::kind::{ProcessRunner, Runner};
use network::spec::Provider;

pub use channel::create_channels;
pub use context::{Context, ImagesToLoad, STATE_DIR, Target};
pub use down::{DownReport, down};
pub use endpoints::endpoints_for;
pub use prepare::{ensure_crypto, prepare, render_objects};
pub use status::{NodeStatus, Status, status};
pub use steps::{Step, StepFn, StepFuture, StepResult, run_steps};
pub use up::{CREATING_MARKER, UpReport, up};

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
}

/// `--provider`, `--kubeconfig` and `--context`: each, when given, wins
/// over fabdev.yaml's `cluster:` (see [`Context::load`]).
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
        }
    }
}

/// Errors of the flows: each says which step and why (the step's own error
/// carries the details).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(
        "workspace folder {} does not exist\n  hint: pass an existing folder with -w/--workspace, or run fabdev inside your project",
        path.display()
    )]
    NoWorkspace { path: PathBuf },
    #[error("{0}")]
    Spec(#[from] network::SpecError),
    #[error("{0}")]
    Pki(#[from] network::pki::PkiError),
    #[error("{0}")]
    Render(#[from] network::render::RenderError),
    #[error("{0}")]
    Kind(#[from] cluster::kind::KindError),
    #[error("{0}")]
    K8s(#[from] cluster::k8s::K8sError),
    #[error("{0}")]
    Images(#[from] cluster::images::ImageError),
    #[error("{0}")]
    NodeImages(#[from] cluster::node_images::NodeError),
    #[error("{0}")]
    Genesis(#[from] network::genesis::GenesisError),
    #[error("{0}")]
    Channel(#[from] network::channel::ChannelError),
    #[error("{0}")]
    Profile(#[from] network::profile::ProfileError),
    #[error("{0}")]
    Lifecycle(#[from] ::chaincode::lifecycle::LifecycleError),
    #[error("{0}")]
    Package(#[from] ::chaincode::package::PackageError),
    #[error("{0}")]
    Vendor(#[from] ::chaincode::vendor::VendorError),
    #[error("{0}")]
    NodeBuild(#[from] ::chaincode::nodebuild::NodeBuildError),
    /// A chaincode, channel or option the workspace does not have.
    #[error("{message}\n  hint: {hint}")]
    Input { message: String, hint: String },
    #[error("cluster {name} does not exist\n  hint: run `fabdev up` first")]
    NoCluster { name: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `docker` command run in a peer's DinD sidecar failed.
    #[error("cannot {action} on {peer}: {source}")]
    Dind {
        action: String,
        peer: String,
        #[source]
        source: Box<cluster::exec::ExecError>,
    },
    /// A step used what an earlier step makes, and that step did not run: a
    /// step list in the wrong order.
    #[error("internal error: {what} is not there yet (the step that makes it did not run first)")]
    StepOrder { what: &'static str },
}

impl FlowError {
    /// Whether the user can fix it in the command line or a file (exit 2):
    /// a workspace folder or spec that is wrong, and a `render --out` folder
    /// that someone else created while render ran (still the path the user
    /// gave).
    pub fn is_bad_input(&self) -> bool {
        match self {
            FlowError::NoWorkspace { .. }
            | FlowError::Spec(_)
            | FlowError::Render(network::render::RenderError::OutExists { .. })
            | FlowError::Package(_)
            | FlowError::Input { .. } => true,
            FlowError::Lifecycle(e) => e.is_bad_input(),
            // A context the kubeconfig does not have: fixed by --context.
            FlowError::K8s(cluster::k8s::K8sError::NoContext { .. }) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
