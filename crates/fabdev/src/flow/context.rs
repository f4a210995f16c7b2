//! The one way to load a workspace: its spec and its state folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cluster::k8s;
use cluster::kind::{self, Kind, Runner};
use cluster::provider::{self, ProviderChoice};
use network::pki::CryptoDir;
use network::render;
use network::spec::{ClusterSpec, Lang, Provider, StateDatabase};
use network::{Topology, Workspace};

use super::{ClusterFlags, FlowError, Options};

/// Where fabdev keeps its state inside a workspace.
pub const STATE_DIR: &str = ".fabdev";

/// Name of the marker file in the state folder that says `kind create` is
/// under way: `up` writes it before and removes it after, `down` removes
/// it with the cluster (see `up::kind_cluster`).
pub const CREATING_MARKER: &str = "cluster-creating";

/// Name of the file in the state folder that holds the workspace's random
/// ID (32 hex digits), made by the first `up`: the namespace carries it
/// (`fabdev.dev/workspace-id`), so that two workspaces of the same name, or
/// a namespace someone else made, are told apart from this one's.
pub const WORKSPACE_ID_FILE: &str = "workspace-id";

/// The workspace ID in `state_dir`, if one was made: `None` when there is
/// no file; a file that is not 32 lowercase hex digits is an error (fabdev
/// wrote it, so someone changed it).
pub(crate) fn read_workspace_id(state_dir: &Path) -> Result<Option<String>, FlowError> {
    let path = state_dir.join(WORKSPACE_ID_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(FlowError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    let id = text.trim();
    if is_workspace_id(id) {
        Ok(Some(id.to_string()))
    } else {
        Err(FlowError::Input {
            message: format!(
                "{} is not a workspace ID (32 lowercase hex digits)",
                path.display()
            ),
            hint: "remove the file: the next `fabdev up` makes a new ID (a namespace of the old one on an existing cluster then needs --adopt-namespace)".into(),
        })
    }
}

fn is_workspace_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 16 random bytes from the kernel, as 32 hex digits.
fn new_workspace_id(state_dir: &Path) -> Result<String, FlowError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| FlowError::Io {
            action: "read random bytes for the workspace ID of",
            path: state_dir.to_path_buf(),
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The kind binary of `opts` (`--kind`, `$FABDEV_KIND`, PATH), run
/// through its runner with the workspace's node provider
/// ([`kind_provider`]).
pub(crate) fn kind_driver<R: Runner + Clone>(
    opts: &Options<R>,
    ctx: &Context,
) -> Result<Kind<R>, FlowError> {
    let provider = kind_provider(ctx)?;
    Ok(
        Kind::new(kind::find_kind(opts.kind.as_deref())?, opts.runner.clone())
            .with_provider(provider.provider),
    )
}

/// Where kind runs its nodes, and why: fabdev.yaml's
/// `cluster.kind.provider`, else `KIND_EXPERIMENTAL_PROVIDER`, else what
/// the machine has (see `cluster::provider::choose`).
pub(crate) fn kind_provider(ctx: &Context) -> Result<ProviderChoice, FlowError> {
    Ok(provider::choose_here(ctx.ws.cluster.kind.provider)?)
}

/// The kind node image: fabdev.yaml's `cluster.kind.nodeImage`, else
/// `$FABDEV_KIND_NODE_IMAGE`, else none (kind's default, kindest/node).
pub(crate) fn kind_node_image(ctx: &Context) -> Option<String> {
    ctx.ws.cluster.kind.node_image.clone().or_else(|| {
        std::env::var(provider::NODE_IMAGE_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
    })
}

/// The workspace and where its state lives: what every step of every flow
/// starts from.
#[derive(Debug, Clone)]
pub struct Context {
    pub ws: Workspace,
    pub topo: Topology,
    pub state_dir: PathBuf,
    pub crypto: CryptoDir,
    /// The cluster the network runs on.
    pub target: Target,
    /// What the last `up` applied (`.fabdev/applied.json`), when it reads:
    /// `up` plans its steps from it (one that does not read fails `up`'s
    /// `plan` step, which reads it again).
    pub applied: Option<network::reconcile::AppliedState>,
}

/// The cluster a workspace's network runs on: fabdev.yaml's `cluster:`
/// with the command line's flags over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A kind cluster of fabdev's own, named after the workspace; its
    /// kubeconfig is `.fabdev/kubeconfig` ([`Context::kubeconfig`]).
    Kind,
    /// A cluster that exists already, reached through this kubeconfig and
    /// context.
    Existing(k8s::Access),
}

impl Target {
    /// The flags over the spec's `cluster:`. `--kubeconfig` or `--context`
    /// with kind is bad input (kind's kubeconfig is fabdev's own), and so is
    /// `--load-images` with an existing cluster (not implemented there).
    pub fn of(spec: &ClusterSpec, flags: &ClusterFlags) -> Result<Target, FlowError> {
        let provider = flags.provider.unwrap_or(spec.provider);
        match provider {
            Provider::Kind => {
                if flags.kubeconfig.is_some() || flags.context.is_some() {
                    return Err(FlowError::Input {
                        message: "--kubeconfig and --context name an existing cluster, and this workspace runs on kind".into(),
                        hint: "add --provider existing (or `cluster: { provider: existing }` in fabdev.yaml); kind's kubeconfig is fabdev's own .fabdev/kubeconfig".into(),
                    });
                }
                Ok(Target::Kind)
            }
            Provider::Existing if flags.load_images => Err(FlowError::Input {
                message: "--load-images is not implemented for an existing cluster: fabdev loads images into nodes only on kind".into(),
                hint: "push the orderer, peer and DinD images to a registry the cluster pulls from and name them under `images:` in fabdev.yaml".into(),
            }),
            Provider::Existing => Ok(Target::Existing(k8s::Access {
                kubeconfig: flags.kubeconfig.clone().or_else(|| spec.kubeconfig.clone()),
                context: flags.context.clone().or_else(|| spec.context.clone()),
                untrusted_root: None,
            })),
        }
    }

    pub fn provider(&self) -> Provider {
        match self {
            Target::Kind => Provider::Kind,
            Target::Existing(_) => Provider::Existing,
        }
    }
}

/// The images a network needs, by where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagesToLoad {
    /// Run by the orderer and peer pods: loaded into the kind nodes.
    pub into_nodes: Vec<String>,
    /// What chaincode runs on, by language (Go's runtime, and Node's
    /// image, which is also Node's builder): pulled on the host, and
    /// copied into every peer's DinD for the languages fabdev.yaml
    /// declares (a deploy copies a language's into the daemons that lack
    /// it).
    pub runtimes: Vec<(Lang, String)>,
    /// Go's builder (ccenv): needed in a peer's DinD only when the peer
    /// builds Go chaincode itself, i.e. when fabdev's warm builder (the
    /// host's Docker) cannot build it.
    pub builders: Vec<String>,
    /// The languages of fabdev.yaml's chaincodes.
    pub declared: BTreeSet<Lang>,
}

impl ImagesToLoad {
    /// Every image, nodes' first: what `up` pulls on the host.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.into_nodes.iter().chain(self.for_peers())
    }

    /// Every image for the peers' daemons, builders first: what `up` pulls
    /// on the host for them, so that the builders are there for the
    /// fallback too, and every runtime for a later deploy.
    pub fn for_peers(&self) -> impl Iterator<Item = &String> {
        self.builders
            .iter()
            .chain(self.runtimes.iter().map(|(_, image)| image))
    }

    /// What `up` copies into every peer's DinD: what the declared
    /// languages' chaincode runs on, and Go's builder too when Go is
    /// declared and fabdev does not build (`fabdev_builds`: its warm
    /// builder has the builder images), so the peers never build
    /// themselves. Nothing when fabdev.yaml declares no chaincode.
    pub fn for_dind(&self, fabdev_builds: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .runtimes
            .iter()
            .filter(|(lang, _)| self.declared.contains(lang))
            .map(|(_, image)| image.clone())
            .collect();
        if !fabdev_builds && self.declared.contains(&Lang::Go) {
            v.extend(self.builders.iter().cloned());
        }
        v
    }
}

impl Context {
    /// Load the workspace of `opts` (see [`Context::load_with`]).
    pub fn load<R: Runner>(opts: &Options<R>) -> Result<Context, FlowError> {
        Context::load_with(&opts.workspace_dir, opts.spec.as_deref(), &opts.cluster)
    }

    /// [`Context::load_with`] without cluster flags: the spec's `cluster:` as it is.
    pub fn load_from(workspace_dir: &Path, spec: Option<&Path>) -> Result<Context, FlowError> {
        Context::load_with(workspace_dir, spec, &ClusterFlags::default())
    }

    /// The spec (`spec`, else `<workspace_dir>/fabdev.yaml`, else the
    /// default network), the state folder `<workspace_dir>/.fabdev`, and
    /// the cluster (`flags` over the spec's `cluster:`, see [`Target::of`]).
    /// A workspace folder that does not exist is bad input, whatever the
    /// command.
    pub fn load_with(
        workspace_dir: &Path,
        spec: Option<&Path>,
        flags: &ClusterFlags,
    ) -> Result<Context, FlowError> {
        if !workspace_dir.is_dir() {
            return Err(FlowError::NoWorkspace {
                path: workspace_dir.to_path_buf(),
            });
        }
        let ws = match spec {
            Some(f) => Workspace::load_file(f)?,
            None => Workspace::load_dir(workspace_dir)?,
        };
        let mut target = Target::of(&ws.cluster, flags)?;
        // A kubeconfig inside the workspace is the workspace's word, not
        // the user's: it may not run a credential plugin.
        if let Target::Existing(access) = &mut target {
            access.untrusted_root = Some(network::spec::workspace_root(workspace_dir));
        }
        // Rendering follows the cluster the network runs on (no NodePort
        // host Services on an existing one), whichever way it was chosen.
        let mut ws = ws;
        ws.cluster.provider = target.provider();
        let state_dir = workspace_dir.join(STATE_DIR);
        ws.workspace_id = read_workspace_id(&state_dir)?;
        // The nodes keep the host ports the last `up` gave them; a state
        // file that does not read is `up`'s `plan` step's error, and the
        // other flows number the nodes afresh.
        let applied = super::plan::read_applied(&state_dir).ok().flatten();
        let slots = applied
            .as_ref()
            .map(|a| a.slots.clone())
            .unwrap_or_default();
        let topo = Topology::with_slots(&ws, &slots);
        let crypto = CryptoDir::new(state_dir.join("crypto"));
        Ok(Context {
            ws,
            topo,
            state_dir,
            crypto,
            target,
            applied,
        })
    }

    /// The workspace's ID, made and written to `.fabdev/workspace-id`
    /// (0600, never replaced) when there is none yet.
    pub(crate) fn ensure_workspace_id(&mut self) -> Result<String, FlowError> {
        if let Some(id) = &self.ws.workspace_id {
            return Ok(id.clone());
        }
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| FlowError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(&self.state_dir).map_err(io("create", &self.state_dir))?;
        let id = new_workspace_id(&self.state_dir)?;
        let path = self.state_dir.join(WORKSPACE_ID_FILE);
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io("create", &path))?;
            f.write_all(format!("{id}\n").as_bytes())
                .map_err(io("write", &path))?;
        }
        self.ws.workspace_id = Some(id.clone());
        Ok(id)
    }

    /// fabdev's own kubeconfig of the kind cluster (the user's
    /// ~/.kube/config is never touched). Not used with an existing cluster.
    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir.join("kubeconfig")
    }

    /// Whether there is a cluster to ask: an existing one always, a kind one
    /// once `up` wrote its kubeconfig.
    pub fn has_cluster(&self) -> bool {
        match &self.target {
            Target::Kind => self.kubeconfig().is_file(),
            Target::Existing(_) => true,
        }
    }

    /// A Kubernetes client for the workspace's cluster: from
    /// `.fabdev/kubeconfig` on kind, from the kubeconfig and context of an
    /// existing cluster (a context that is not there is an error naming the
    /// ones that are).
    pub async fn client(&self) -> Result<kube::Client, FlowError> {
        Ok(match &self.target {
            Target::Kind => k8s::client(&self.kubeconfig()).await?,
            Target::Existing(access) => access.resolve()?.client().await?,
        })
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
        let on = match self.target {
            Target::Kind => "",
            Target::Existing(_) => ", on an existing cluster",
        };
        format!(
            "{}: {}, {}, {}{on}",
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
            runtimes: vec![
                (Lang::Go, im.baseos.clone()),
                (Lang::Node, im.nodeenv.clone()),
            ],
            builders: vec![im.ccenv.clone()],
            declared: self.ws.chaincodes.iter().map(|c| c.lang).collect(),
        }
    }
}

/// Remove a file or folder; one that is not there is fine.
pub(crate) fn remove_path(p: &Path) -> Result<(), FlowError> {
    let result = if p.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FlowError::Io {
            action: "remove",
            path: p.to_path_buf(),
            source,
        }),
    }
}
