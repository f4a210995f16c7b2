//! The flows' one error type: each variant says what failed; its cause is
//! its `source()` (printed by `errors::chain`, never by the message), its
//! fix is [`Hint::hint`], and the step it failed in is the `step_failed`
//! event's.

use std::path::PathBuf;

use crate::errors::Hint;

/// Errors of the flows: each says which step and why (the step's own error
/// carries the details).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(
        "workspace folder {} does not exist",
        path.display()
    )]
    NoWorkspace { path: PathBuf },
    #[error(transparent)]
    Spec(#[from] network::SpecError),
    #[error(transparent)]
    Pki(#[from] network::pki::PkiError),
    #[error(transparent)]
    Render(#[from] network::render::RenderError),
    #[error(transparent)]
    Kind(#[from] cluster::kind::KindError),
    #[error(transparent)]
    K8s(#[from] cluster::k8s::K8sError),
    #[error(transparent)]
    Images(#[from] cluster::images::ImageError),
    #[error(transparent)]
    NodeImages(#[from] cluster::node_images::NodeImageError),
    #[error(transparent)]
    Provider(#[from] cluster::provider::ProviderError),
    #[error(transparent)]
    Genesis(#[from] network::genesis::GenesisError),
    #[error(transparent)]
    Channel(#[from] network::channel::ChannelError),
    #[error(transparent)]
    Profile(#[from] network::profile::ProfileError),
    #[error(transparent)]
    Identity(#[from] network::pki::identity::IdentityError),
    #[error(transparent)]
    Lifecycle(#[from] chaincode::lifecycle::LifecycleError),
    #[error(transparent)]
    Package(#[from] chaincode::package::PackageError),
    #[error(transparent)]
    Vendor(#[from] chaincode::vendor::VendorError),
    #[error(transparent)]
    NodeBuild(#[from] chaincode::nodebuild::NodeBuildError),
    #[error(transparent)]
    Watch(#[from] chaincode::watch::WatchError),
    /// A deployed chaincode that a peer does not run (it could not start
    /// it, or did not answer).
    #[error("{chaincode} does not run on {peer}")]
    NotRunning {
        chaincode: String,
        peer: String,
        #[source]
        source: Box<network::channel::ChannelError>,
    },
    #[error(transparent)]
    Reconcile(#[from] network::reconcile::ReconcileError),
    /// The plan from what the last `up` applied to fabdev.yaml refuses
    /// changes (each shown by the plan event): nothing was applied.
    #[error(
        "fabdev.yaml asks for {refused} change{} that `up` refuses; nothing was applied",
        if *refused == 1 { "" } else { "s" }
    )]
    Refused { refused: usize },
    /// A chaincode, channel or option the workspace does not have.
    #[error("{message}")]
    Input { message: String, hint: String },
    #[error("cluster {name} does not exist")]
    NoCluster { name: String },
    /// A kind cluster of the workspace's name that this workspace did not
    /// create (see `flow::ownership`).
    #[error("kind cluster {name} is not this workspace's: {why}")]
    NotOurCluster { name: String, why: String },
    /// The cluster `kind create` made has no kube-system namespace to name it by.
    #[error("kind cluster {name} has no kube-system namespace: its identity cannot be recorded")]
    NoIdentity { name: String },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `docker` command run in a peer's DinD sidecar failed.
    #[error("cannot {action} on {peer}")]
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
            | FlowError::Input { .. }
            | FlowError::NotOurCluster { .. }
            | FlowError::Refused { .. } => true,
            FlowError::Lifecycle(e) => e.is_bad_input(),
            FlowError::Identity(e) => e.is_bad_input(),
            // A context the kubeconfig does not have: fixed by --context.
            FlowError::K8s(cluster::k8s::K8sError::NoContext { .. }) => true,
            _ => false,
        }
    }
}

impl Hint for FlowError {
    fn hint(&self) -> Option<String> {
        match self {
            FlowError::NoWorkspace { .. } => Some(
                "pass an existing folder with -w/--workspace, or run fabdev inside your project"
                    .to_string(),
            ),
            FlowError::Input { hint, .. } => Some(hint.clone()),
            FlowError::NoCluster { .. } => Some("run `fabdev up` first".to_string()),
            FlowError::NotOurCluster { name, .. } => Some(format!(
                "if this workspace may use it, run `fabdev up --adopt-cluster` (it becomes this workspace's: `fabdev down` then deletes it), or delete it with `fabdev down --adopt-cluster`; else delete it yourself with `kind delete cluster --name {name}`, or give this workspace another name in fabdev.yaml"
            )),
            FlowError::NoIdentity { name } => Some(format!(
                "the cluster is half made: run `fabdev up` again (it is made again), or delete it with `kind delete cluster --name {name}`"
            )),
            FlowError::Refused { .. } => Some(
                "change fabdev.yaml as each refusal of the plan says (`instead:`), then run `fabdev up` again"
                    .to_string(),
            ),
            FlowError::Spec(e) => e.hint(),
            FlowError::Pki(e) => e.hint(),
            FlowError::Render(e) => e.hint(),
            FlowError::Kind(e) => e.hint(),
            FlowError::K8s(e) => e.hint(),
            FlowError::NodeImages(e) => e.hint(),
            FlowError::Provider(e) => e.hint(),
            FlowError::Genesis(e) => e.hint(),
            FlowError::Channel(e) => e.hint(),
            FlowError::Profile(e) => e.hint(),
            FlowError::Identity(e) => e.hint(),
            FlowError::Reconcile(e) => e.hint(),
            FlowError::Lifecycle(e) => e.hint(),
            FlowError::Vendor(e) => e.hint(),
            FlowError::NodeBuild(e) => e.hint(),
            FlowError::NotRunning { source, .. } => source.hint(),
            _ => None,
        }
    }
}
