//! The one way to load a workspace: its spec and its state folder.

use std::path::{Path, PathBuf};

use cluster::kind::{self, Kind, Runner};
use network::pki::CryptoDir;
use network::render;
use network::spec::StateDatabase;
use network::{Topology, Workspace};

use super::{FlowError, Options};
use crate::events::{Sink, run_step};

/// Where fabdev keeps its state inside a workspace.
pub const STATE_DIR: &str = ".fabdev";

/// The first step of every flow: the workspace's spec and state folder.
pub(crate) async fn workspace_step<R: Runner>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
) -> Result<Context, FlowError> {
    run_step(
        sink,
        "workspace",
        |ctx: &Context| Some(ctx.summary()),
        async |_: &mut dyn Sink| Context::load(opts),
    )
    .await
}

/// The kind binary of `opts` (`--kind`, `$FABDEV_KIND`, PATH), run
/// through its runner.
pub(crate) fn kind_driver<R: Runner + Clone>(opts: &Options<R>) -> Result<Kind<R>, FlowError> {
    Ok(Kind::new(
        kind::find_kind(opts.kind.as_deref())?,
        opts.runner.clone(),
    ))
}

/// The workspace and where its state lives: what every step of every flow
/// starts from.
#[derive(Debug, Clone)]
pub struct Context {
    pub ws: Workspace,
    pub topo: Topology,
    pub state_dir: PathBuf,
    pub crypto: CryptoDir,
}

/// The images a network needs, by where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagesToLoad {
    /// Run by the orderer and peer pods: loaded into the kind nodes.
    pub into_nodes: Vec<String>,
    /// Fabric's chaincode builder and runtime images: seeded into every
    /// peer's DinD daemon.
    pub into_dind: Vec<String>,
}

impl ImagesToLoad {
    /// Every image, nodes' first: what `up` pulls on the host.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.into_nodes.iter().chain(&self.into_dind)
    }
}

impl Context {
    /// Load the workspace of `opts` (see [`Context::load_from`]).
    pub fn load<R: Runner>(opts: &Options<R>) -> Result<Context, FlowError> {
        Context::load_from(&opts.workspace_dir, opts.spec.as_deref())
    }

    /// The spec (`spec`, else `<workspace_dir>/fabdev.yaml`, else the
    /// default network) and the state folder `<workspace_dir>/.fabdev`. A
    /// workspace folder that does not exist is bad input, whatever the command.
    pub fn load_from(workspace_dir: &Path, spec: Option<&Path>) -> Result<Context, FlowError> {
        if !workspace_dir.is_dir() {
            return Err(FlowError::NoWorkspace {
                path: workspace_dir.to_path_buf(),
            });
        }
        let ws = match spec {
            Some(f) => Workspace::load_file(f)?,
            None => Workspace::load_dir(workspace_dir)?,
        };
        let topo = Topology::of(&ws);
        let state_dir = workspace_dir.join(STATE_DIR);
        let crypto = CryptoDir::new(state_dir.join("crypto"));
        Ok(Context {
            ws,
            topo,
            state_dir,
            crypto,
        })
    }

    /// fabdev's own kubeconfig (the user's ~/.kube/config is never touched).
    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir.join("kubeconfig")
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.state_dir.join("profiles")
    }

    /// The label selector of every pod fabdev runs for this workspace.
    pub fn selector(&self) -> String {
        format!("{}={}", render::labels::WORKSPACE, self.ws.name)
    }

    /// What the workspace step reports: its name and size.
    pub fn summary(&self) -> String {
        let n = |count: usize, what: &str| {
            format!("{count} {what}{}", if count == 1 { "" } else { "s" })
        };
        format!(
            "{}: {}, {}, {}",
            self.ws.name,
            n(self.topo.orderers().count(), "orderer"),
            n(self.topo.peers().count(), "peer"),
            n(self.ws.channels.len(), "channel")
        )
    }

    /// The images the nodes run and those the peers' DinD daemons need to
    /// build and run chaincode.
    pub fn images(&self) -> ImagesToLoad {
        let im = &self.ws.images;
        let mut into_nodes = vec![im.orderer.clone(), im.peer.clone(), im.dind.clone()];
        if self
            .ws
            .orgs
            .iter()
            .any(|o| o.state_database == StateDatabase::Couchdb)
        {
            into_nodes.push(im.couchdb.clone());
        }
        ImagesToLoad {
            into_nodes,
            into_dind: vec![im.ccenv.clone(), im.baseos.clone(), im.nodeenv.clone()],
        }
    }
}
