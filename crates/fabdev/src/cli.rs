//! Command-line surface (clap). Only parsing lives here; `commands` runs them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod identity;
pub use identity::{ConnectArgs, ConnectFormat, IdentityCommand, RoleArg};

/// A real Hyperledger Fabric network on a local kind cluster, with one command.
#[derive(Debug, Parser)]
#[command(name = "fabdev", version, about, propagate_version = true)]
pub struct Cli {
    /// Workspace folder holding fabdev.yaml (default: the current folder).
    #[arg(
        long,
        short = 'w',
        global = true,
        env = "FABDEV_WORKSPACE",
        value_name = "DIR"
    )]
    pub workspace: Option<PathBuf>,

    /// The spec file (default: <workspace>/fabdev.yaml; without one, the
    /// default two-org network).
    #[arg(long, global = true, env = "FABDEV_SPEC", value_name = "FILE")]
    pub spec: Option<PathBuf>,

    /// Where the network runs: `kind` (a local kind cluster fabdev makes)
    /// or `existing` (a cluster you have); default: fabdev.yaml's
    /// `cluster.provider`, else kind.
    #[arg(long, global = true, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderArg>,

    /// With an existing cluster: its kubeconfig (default: fabdev.yaml's
    /// `cluster.kubeconfig`, else $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// With an existing cluster: the kubeconfig's context (default:
    /// fabdev.yaml's `cluster.context`, else the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// On kind: `up` takes over, and `down` deletes, a kind cluster of the
    /// workspace's name that this workspace did not create (it becomes this
    /// workspace's).
    #[arg(long, global = true)]
    pub adopt_cluster: bool,

    /// With an existing cluster: `up` takes over, and `down` deletes, a
    /// namespace of the workspace's name that this workspace did not make
    /// (it lacks this workspace's fabdev.dev/workspace-id).
    #[arg(long, global = true)]
    pub adopt_namespace: bool,

    /// Accept fabdev.yaml's choice of an existing cluster (`cluster:
    /// provider: existing`, `kubeconfig`, `context`) and of images that run
    /// privileged (`images.dind`, `cluster.kind.nodeImage`); recorded in
    /// .fabdev/trusted-spec.json, so later runs ask again only when one of
    /// them changes. Without it, fabdev asks on a terminal and refuses
    /// elsewhere.
    #[arg(long, global = true)]
    pub trust_spec: bool,

    /// Say more about what happens.
    #[arg(long, short = 'v', global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print only results and errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Kind,
    Existing,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented fabdev.yaml (and a .gitignore entry for .fabdev/).
    Init(InitArgs),
    /// Bring the network up on a local kind cluster, or an existing one (idempotent).
    Up(UpArgs),
    /// Remove the cluster (or only the namespace; on an existing cluster always) and runtime state.
    Down(DownArgs),
    /// Show the cluster, each pod's readiness and each node's channels.
    Status(StatusArgs),
    /// Check prerequisites: Docker, kind, kubectl, CPU, memory, ports, inotify;
    /// on an existing cluster its context, API server, RBAC and Pod Security.
    Doctor(DoctorArgs),
    /// Write everything fabdev would apply, without a cluster.
    Render(RenderArgs),
    /// Channel operations.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Chaincode packaging and lifecycle.
    #[command(subcommand)]
    Chaincode(ChaincodeCommand),
    /// Identities issued from an org's CA, with a role and attributes.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Everything a Fabric Gateway client needs to connect as a user of an
    /// org: peer endpoint, TLS CA, MSP ID, certificate and key.
    Connect(ConnectArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing fabdev.yaml.
    #[arg(long)]
    pub force: bool,
    /// Print the file instead of writing it.
    #[arg(long, conflicts_with = "force")]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Output: text lines (a spinner on a terminal) or one JSON event a line.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// The kind binary (default: $FABDEV_KIND, then PATH).
    #[arg(long, value_name = "PATH")]
    pub kind: Option<PathBuf>,
    /// Deadline of each wait, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub timeout: u64,
    /// Load the nodes' images from the host's Docker into the cluster's
    /// nodes: what kind mode always does; not implemented for an existing
    /// cluster (its nodes pull from the cluster's registries).
    #[arg(long)]
    pub load_images: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Keep the kind cluster; remove only the namespace.
    #[arg(long)]
    pub keep_cluster: bool,
    /// Also delete the crypto material under .fabdev/.
    #[arg(long)]
    pub purge: bool,
    /// Output: text lines or one JSON event a line.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// The kind binary (default: $FABDEV_KIND, then PATH).
    #[arg(long, value_name = "PATH")]
    pub kind: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// The kind binary (default: $FABDEV_KIND, then PATH).
    #[arg(long, value_name = "PATH")]
    pub kind: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// The kind binary (default: $FABDEV_KIND, then PATH).
    #[arg(long, value_name = "PATH")]
    pub kind: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write the kind config and manifests into this new folder (it must not
    /// exist); without it, print all objects as one YAML stream.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a channel and join every orderer and peer (idempotent),
    /// through the nodes' host ports on localhost (port-forwards on an
    /// existing cluster).
    Create {
        /// Channel name (default: every channel in fabdev.yaml).
        name: Option<String>,
        /// Output: text lines or one JSON event a line.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Go,
    Node,
}

#[derive(Debug, Subcommand)]
pub enum ChaincodeCommand {
    /// Write a Fabric 2.x lifecycle package and print its package ID.
    Package(PackageArgs),
    /// Package, install on every peer, approve for every org, commit; only
    /// what is missing (an unchanged chaincode is left as it is, a changed
    /// one is upgraded at the next sequence).
    Deploy(LifecycleArgs),
    /// Package and install on every peer of the channel's orgs.
    Install(LifecycleArgs),
    /// Approve the definition for every org of the channel.
    Approve(LifecycleArgs),
    /// Commit the definition every org approved.
    Commit(LifecycleArgs),
    /// Approve and commit.
    Instantiate(LifecycleArgs),
    /// Submit a transaction (endorse, order, wait for the commit); prints
    /// the result and the transaction ID.
    Invoke(InvokeArgs),
    /// Evaluate a transaction function on one peer; prints the result.
    Query(QueryArgs),
    /// Installed packages per peer, committed definitions per channel.
    List {
        /// Output: text lines or one JSON event a line.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Watch the chaincode folders and redeploy what changed, until Ctrl-C:
    /// a first deploy, then on each change (once the files are quiet) the
    /// deploy steps, every peer asked to start the new chaincode, and its
    /// first log lines, or the build's error.
    Watch(WatchArgs),
    /// What a chaincode's container printed, from each peer's own Docker
    /// daemon (read through the Kubernetes API).
    Logs {
        /// The chaincode.
        name: String,
        /// One peer (e.g. peer0-org1); default every peer.
        #[arg(long, value_name = "PEER")]
        peer: Option<String>,
        /// Keep printing until the container stops or Ctrl-C (needs --peer
        /// when there are several peers).
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only the last N lines of each container.
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        /// Output: text lines or one JSON event a line.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The chaincode (default: every chaincode in fabdev.yaml).
    pub name: Option<String>,
    /// A chaincode folder (listed in fabdev.yaml or not; named NAME or after
    /// the folder).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The channel (default: the chaincode's in fabdev.yaml, else the
    /// workspace's only channel).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Package Go chaincode as it is, without a vendored copy (by default a
    /// Go module without vendor/ is packaged as a copy vendored with `go mod
    /// vendor`, so that the peer's build needs no network).
    #[arg(long)]
    pub no_vendor: bool,
    /// Output: text lines or one JSON event a line.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The chaincodes of fabdev.yaml to watch (default: every one).
    pub names: Vec<String>,
    /// Package Go chaincode as it is, without a vendored copy.
    #[arg(long)]
    pub no_vendor: bool,
    /// How many of each new container's first log lines to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub log_lines: usize,
    /// Output: text lines or one JSON event a line.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The chaincode.
    pub name: String,
    /// The transaction function.
    pub function: String,
    /// Its arguments, as strings (after `--` when one starts with `-`).
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// The caller's org (default: the workspace's first org).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// The caller: an identity of the org (`fabdev identity list`).
    #[arg(long, default_value = "User1", value_name = "USER")]
    pub user: String,
    /// The channel (default: the chaincode's in fabdev.yaml, else the
    /// workspace's only channel).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Output: the result as text (pretty JSON when it is JSON), or one JSON
    /// event a line.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub call: CallArgs,
    /// Transient data, `key=value` (repeatable); the chaincode reads it
    /// with GetTransient, and it is not written to the ledger.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_transient)]
    pub transient: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub call: CallArgs,
}

fn parse_transient(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The chaincode folder (a Go module or a Node package).
    pub path: PathBuf,
    /// Package label (default: the folder name).
    #[arg(long)]
    pub label: Option<String>,
    /// Language (default: detected from go.mod or package.json).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Output file (default: ./<label>.tar.gz); it must not exist.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}
