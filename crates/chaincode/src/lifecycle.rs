//! The Fabric 2.x chaincode lifecycle, driven to "committed and answering":
//! install on every peer of the channel's orgs (skipping peers that have the
//! package), approve for each org (skipping orgs whose approval matches),
//! commit (skipping a definition that is committed already), then the
//! chaincode answers through the Gateway.
//!
//! What to do is decided by pure functions over what the peers report
//! ([`target`], [`approval_needed`]), so a re-run does only what is missing
//! (an unchanged chaincode is a no-op; a half-done deploy is completed) and a
//! changed one is an upgrade at the next sequence. No user types a sequence
//! number. The Fabric calls go through `network::channel::PeerClient`.

mod admins;
mod call;
mod catchup;
mod install;
mod launch;
mod planner;
mod steps;

use std::time::Duration;

use network::Topology;
use network::Workspace;
use network::channel::{ChannelError, Endpoints};
use network::pki::CryptoDir;

pub use crate::event::LifecycleEvent;
pub use crate::image::{BoxFuture, ImageSource, PeerImageError, PeerImages, Seeded};
pub use crate::names::{NETWORK_ID, chaincode_container_name, chaincode_image_name, version_of};
pub use admins::{ChannelAdmins, connect};
pub use call::{Caller, DISCOVERY_TIMEOUT, caller_peer, endorsers_not_known_yet, invoke, query};
pub use catchup::{CatchUp, CaughtUp, catch_up_org, catch_up_plan};
pub use install::install_all;
pub use launch::{LAUNCH_FUNCTION, Launch, launch_all, not_running};
pub use planner::{DeploySpec, Planned, approval_needed, target};
pub use steps::{InitOutcome, approve_all, commit_definition, init, plan};

/// Deadline of one query or of one ordered transaction.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Deadline of one install: the peer builds the chaincode before it answers.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// What [`deploy`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployReport {
    pub package_id: String,
    pub version: String,
    pub sequence: i64,
    /// Peers that got the package now.
    pub installed: Vec<String>,
    /// Orgs that approved now.
    pub approved: Vec<String>,
    /// Whether the definition was committed now.
    pub committed: bool,
    /// Whether the chaincode's `Init` ran now.
    pub initialized: bool,
}

impl DeployReport {
    /// Nothing was installed, approved, committed or initialised: the
    /// chaincode was deployed as it is already.
    pub fn unchanged(&self) -> bool {
        self.installed.is_empty()
            && self.approved.is_empty()
            && !self.committed
            && !self.initialized
    }
}

/// Errors of the lifecycle; each names the peer or org and the cause.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("channel `{channel}` is not in the workspace")]
    UnknownChannel { channel: String },
    #[error("org `{org}` has no peer on channel `{channel}`")]
    NoPeer { org: String, channel: String },
    #[error("org `{org}` is not in the workspace (its orgs: {known})")]
    UnknownOrg { org: String, known: String },
    /// A `--user` the caller's org does not have.
    #[error(transparent)]
    Identity(#[from] network::pki::identity::IdentityError),
    #[error(transparent)]
    Peer(#[from] ChannelError),
    #[error(
        "{name} is not installed on every peer:{}",
        failures.iter().map(|e| format!("\n  - {e}")).collect::<String>()
    )]
    NotInstalled {
        name: String,
        /// The peers that got the package.
        installed: Vec<String>,
        /// Each peer's failure (each names its peer).
        failures: Vec<String>,
    },
    #[error("{name} does not build")]
    Build {
        name: String,
        #[source]
        source: Box<crate::image::ImageBuildError>,
    },
    #[error(
        "not every peer of channel `{channel}` can be reached:{}",
        failures.iter().map(|e| format!("\n  - {e}")).collect::<String>()
    )]
    Unreachable {
        channel: String,
        /// Each peer's failure (each names its peer).
        failures: Vec<String>,
    },
    #[error("Init of {name} on {channel} failed")]
    Init {
        name: String,
        channel: String,
        #[source]
        source: Box<ChannelError>,
    },
    #[error(
        "{name} sequence {sequence} on {channel} cannot be committed: not approved by {missing}"
    )]
    NotApproved {
        name: String,
        channel: String,
        sequence: i64,
        missing: String,
    },
    #[error(
        "{name} sequence {sequence} is committed on {channel}, but {org} approved it with no package, so there is none to install on a new org's peers"
    )]
    NoPackage {
        name: String,
        channel: String,
        sequence: i64,
        org: String,
    },
}

impl LifecycleError {
    /// The fix to paste, when there is one (a hint is data: the reporters
    /// print it, JSON `step_failed` carries it).
    pub fn hint(&self) -> Option<String> {
        match self {
            LifecycleError::UnknownOrg { .. } => Some("pass one of those to --org".to_string()),
            LifecycleError::Identity(e) => e.hint(),
            LifecycleError::Peer(e) => e.hint(),
            LifecycleError::NotInstalled { installed, .. } if installed.is_empty() => {
                Some("fix the cause and run `fabdev chaincode deploy` again".to_string())
            }
            LifecycleError::NotInstalled { installed, .. } => Some(format!(
                "installed now on {}; once the cause is fixed, `fabdev chaincode deploy` installs it where it is missing and goes on",
                installed.join(", ")
            )),
            LifecycleError::Build { source, .. } => Some(
                source
                    .hint()
                    .unwrap_or_else(|| "fix the error above and deploy again".to_string()),
            ),
            LifecycleError::Unreachable { .. } => Some(
                "start the peer (or fix its endpoint) and run `fabdev chaincode deploy` again; it goes on where this one stopped"
                    .to_string(),
            ),
            LifecycleError::Init { .. } => Some(
                "the chaincode's Init (the function given in `initArgs`) failed; fix it and run `fabdev chaincode deploy` again, which calls Init until it succeeds"
                    .to_string(),
            ),
            LifecycleError::NotApproved { .. } => {
                Some("run `fabdev chaincode deploy` again to approve for every org".to_string())
            }
            LifecycleError::NoPackage { name, .. } => Some(format!(
                "run `fabdev chaincode deploy {name}` once the org is on the channel: it installs and approves from the chaincode's folder"
            )),
            _ => None,
        }
    }

    /// Whether the user can fix it in the command line or fabdev.yaml (an
    /// org or channel that is not in the workspace).
    pub fn is_bad_input(&self) -> bool {
        match self {
            LifecycleError::UnknownOrg { .. } | LifecycleError::UnknownChannel { .. } => true,
            LifecycleError::Identity(e) => e.is_bad_input(),
            _ => false,
        }
    }
}

/// Deploy a chaincode on its channel: install, approve, commit, each only
/// where missing ([`install_all`], [`plan`], [`approve_all`],
/// [`commit_definition`]).
pub async fn deploy(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    spec: &DeploySpec,
    images: Option<&dyn PeerImages>,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<DeployReport, LifecycleError> {
    let admins = ChannelAdmins::connect(ws, topo, crypto, endpoints, &spec.channel).await?;
    let installed = install_all(&admins, spec, images, on_event).await?;
    let planned = plan(&admins, spec).await?;
    let approved = approve_all(&admins, spec, &planned.definition, on_event).await?;
    let committed = commit_definition(&admins, spec, &planned, on_event).await?;
    let initialized = matches!(
        init(&admins, spec, &planned, on_event).await?,
        InitOutcome::Initialized { .. }
    );
    Ok(DeployReport {
        package_id: spec.package_id.clone(),
        version: planned.definition.version.clone(),
        sequence: planned.definition.sequence,
        installed,
        approved,
        committed,
        initialized,
    })
}
