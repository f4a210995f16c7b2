//! The workspace spec: `fabdev.yaml`, parsed with serde-saphyr and validated
//! against Fabric's and Kubernetes' naming rules.
//!
//! Parsing happens in two stages: a raw, span-aware form that mirrors the file
//! (unknown fields rejected), then a validated [`Workspace`] with defaults
//! filled in. Every validation problem names the file, the line and column,
//! the field path and what to do about it.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::policy::{self, Collection, EndorsementPolicy};

/// The file name fabdev looks for in a workspace folder.
pub const SPEC_FILE: &str = "fabdev.yaml";
/// The only `apiVersion` this version of fabdev reads.
pub const API_VERSION: &str = "fabdev/v1alpha1";
/// The only `kind` this version of fabdev reads.
pub const KIND: &str = "Workspace";

/// Pinned Docker-in-Docker image for the peers' sidecars. Docker 28 works with
/// both the old Docker client of Fabric <= 2.5.14 and the moby client of
/// 2.5.15+ / 3.1.4+ (Docker 29 breaks the former, see fabric-facts.md).
pub const DEFAULT_DIND_IMAGE: &str = "docker:28.5.1-dind";
/// Pinned CouchDB image used when an org asks for `stateDatabase: couchdb`.
pub const DEFAULT_COUCHDB_IMAGE: &str = "couchdb:3.4.2";
/// Default channel BatchTimeout: short, so each lifecycle step does not wait
/// for Fabric's 2 s default to cut a block.
pub const DEFAULT_BATCH_TIMEOUT_MS: u32 = 250;

/// The exact Fabric release each supported `MAJOR.MINOR` runs: the one place
/// the peer and orderer image tags are pinned. A version written with its
/// patch number (`2.5.13`) runs that release; one not listed here floats.
pub const FABRIC_RELEASES: &[(&str, &str)] =
    &[("2.5", "2.5.14"), ("3.0", "3.0.0"), ("3.1", "3.1.5")];

/// The largest spec file fabdev reads (a fabdev.yaml is a few KiB).
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// The commented file `fabdev init` writes. It parses to [`Workspace::default_network`].
pub const INIT_TEMPLATE: &str = include_str!("init_template.yaml");

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A place in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// One thing wrong with a spec, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, when known.
    pub pos: Option<Pos>,
    /// The field path, such as `orgs[1].name`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// Errors of reading and validating `fabdev.yaml`.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is larger than {MAX_SPEC_BYTES} bytes (1 MiB), which no fabdev.yaml is\n  hint: give the workspace's spec file with --spec, or none to use <workspace>/fabdev.yaml",
        path.display()
    )]
    TooLarge { path: PathBuf },
    #[error("{}{}: {message}\n  hint: {hint}", path.display(), fmt_pos(*pos))]
    Parse {
        path: PathBuf,
        pos: Option<Pos>,
        message: String,
        hint: String,
    },
    #[error("{}", fmt_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl SpecError {
    /// The problems of an `Invalid` error (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            SpecError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn fmt_pos(pos: Option<Pos>) -> String {
    match pos {
        Some(p) => format!(":{}:{}", p.line, p.column),
        None => String::new(),
    }
}

fn fmt_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}{}: {}: {}\n  hint: {}",
            path.display(),
            fmt_pos(p.pos),
            p.field,
            p.message,
            p.hint
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// The validated model
// ---------------------------------------------------------------------------

/// Chaincode language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[serde(alias = "golang")]
    Go,
    #[serde(alias = "javascript", alias = "typescript")]
    Node,
}

impl Lang {
    /// The `type` Fabric writes in a package's metadata.json.
    pub fn fabric_type(self) -> &'static str {
        match self {
            Lang::Go => "golang",
            Lang::Node => "node",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Go => "go",
            Lang::Node => "node",
        })
    }
}

/// What happened when looking for a chaincode's language in its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    Found(Lang),
    /// Both go.mod and package.json exist.
    Ambiguous,
    /// Neither exists.
    Neither,
}

/// Detect a chaincode folder's language from `go.mod` / `package.json`.
pub fn detect_lang(dir: &Path) -> Detected {
    let go = dir.join("go.mod").is_file();
    let node = dir.join("package.json").is_file();
    match (go, node) {
        (true, false) => Detected::Found(Lang::Go),
        (false, true) => Detected::Found(Lang::Node),
        (true, true) => Detected::Ambiguous,
        (false, false) => Detected::Neither,
    }
}

/// Peer state database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateDatabase {
    #[default]
    #[serde(alias = "goleveldb", alias = "LevelDB")]
    Leveldb,
    #[serde(alias = "CouchDB")]
    Couchdb,
}

/// The Fabric release line the network runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricVersion {
    /// As written: `2.5` or `2.5.14`; the image tag is [`FabricVersion::release`].
    pub tag: String,
    pub major: u32,
    pub minor: u32,
}

impl FabricVersion {
    /// Two-digit version, as the peer uses for builder image tags.
    pub fn two_digit(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
    /// The exact release the peer and orderer images run: the version as
    /// written when it names a patch, else the pinned one of
    /// [`FABRIC_RELEASES`], else the version as written.
    pub fn release(&self) -> String {
        if self.tag.split('.').count() >= 3 {
            return self.tag.clone();
        }
        FABRIC_RELEASES
            .iter()
            .find(|(two, _)| *two == self.two_digit())
            .map_or_else(|| self.tag.clone(), |(_, exact)| (*exact).to_string())
    }
    /// Fabric 3.x (Channel V3_0 capability, no global orderer addresses).
    pub fn is_v3(&self) -> bool {
        self.major >= 3
    }
}

/// Every image the network uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub peer: String,
    pub orderer: String,
    pub ccenv: String,
    pub baseos: String,
    pub nodeenv: String,
    pub dind: String,
    pub couchdb: String,
}

impl Images {
    fn for_version(v: &FabricVersion) -> Images {
        let two = v.two_digit();
        Images {
            peer: format!("hyperledger/fabric-peer:{}", v.release()),
            orderer: format!("hyperledger/fabric-orderer:{}", v.release()),
            ccenv: format!("hyperledger/fabric-ccenv:{two}"),
            baseos: format!("hyperledger/fabric-baseos:{two}"),
            // nodeenv stays at 2.5 for 3.x (fabric-facts.md).
            nodeenv: "hyperledger/fabric-nodeenv:2.5".to_string(),
            dind: DEFAULT_DIND_IMAGE.to_string(),
            couchdb: DEFAULT_COUCHDB_IMAGE.to_string(),
        }
    }
}

/// The orderer organisation and its consenters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdererOrg {
    pub name: String,
    pub msp_id: String,
    pub count: u32,
    /// `orderer.consensus`: Raft (default) or BFT (Fabric 3, 4+ orderers).
    pub consensus: Consensus,
}

/// The channels' consensus (`orderer.consensus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consensus {
    /// `raft` (or `etcdraft`): crash fault tolerant, 1 or more orderers.
    #[default]
    Raft,
    /// `bft`: Fabric 3's SmartBFT, byzantine fault tolerant; 3f+1 orderers
    /// tolerate f faulty ones, so at least 4.
    Bft,
}

/// The fewest orderers a BFT channel takes (3f+1 with f = 1).
pub const MIN_BFT_ORDERERS: u32 = 4;

impl Consensus {
    /// As written in fabdev.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Consensus::Raft => "raft",
            Consensus::Bft => "bft",
        }
    }
}

/// A peer organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerOrg {
    pub name: String,
    pub msp_id: String,
    pub peers: u32,
    pub state_database: StateDatabase,
}

/// An application channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    /// Org names, in the order given.
    pub orgs: Vec<String>,
}

/// A chaincode to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chaincode {
    pub name: String,
    /// Absolute or workspace-relative path, as resolved against the workspace folder.
    pub path: PathBuf,
    pub channel: String,
    pub lang: Lang,
    pub version: String,
    /// Package label; defaults to `<name>_<version>` when absent.
    pub label: Option<String>,
    /// Whether the chaincode must be initialised (an `Init` transaction,
    /// `is_init` set) before it answers; fabdev's deploy sends it.
    pub init_required: bool,
    /// The function and arguments of that `Init` transaction (`initArgs`);
    /// empty: no function, which the contract APIs answer with success.
    pub init_args: Vec<String>,
    /// The endorsement policy (`signaturePolicy` or `channelConfigPolicy`);
    /// none: the channel's `/Channel/Application/Endorsement`.
    pub endorsement: Option<EndorsementPolicy>,
    /// Private data collections (`collections`, a JSON file), checked.
    pub collections: Option<Collections>,
}

/// A chaincode's private data collections and the file they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collections {
    pub file: PathBuf,
    pub collections: Vec<Collection>,
}

impl Chaincode {
    /// A chaincode with no policy, collections or Init: what a folder not
    /// listed in fabdev.yaml is deployed as.
    pub fn plain(name: &str, path: PathBuf, channel: &str, lang: Lang) -> Chaincode {
        Chaincode {
            name: name.to_string(),
            path,
            channel: channel.to_string(),
            lang,
            version: "1.0".to_string(),
            label: None,
            init_required: false,
            init_args: Vec::new(),
            endorsement: None,
            collections: None,
        }
    }

    /// The package label: the one given or `<name>_<version>`.
    pub fn label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("{}_{}", self.name, self.version))
    }
}

/// Where the network runs: a kind cluster fabdev makes, or a cluster that
/// exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// A local kind cluster, created and deleted by fabdev, reached through
    /// its host port mappings; its kubeconfig is `.fabdev/kubeconfig`.
    #[default]
    Kind,
    /// A cluster someone else runs (shared, remote, several nodes): fabdev
    /// only applies its objects into its namespace and removes that
    /// namespace again; nodes are reached through API-server port-forwards.
    Existing,
}

impl Provider {
    /// As written in fabdev.yaml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Kind => "kind",
            Provider::Existing => "existing",
        }
    }

    /// `kind` or `existing`.
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "kind" => Some(Provider::Kind),
            "existing" => Some(Provider::Existing),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `cluster:` of fabdev.yaml: which cluster the network runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSpec {
    pub provider: Provider,
    /// `existing` only: the kubeconfig file, resolved against the spec
    /// file's folder; `None` means `$KUBECONFIG`, else `~/.kube/config`,
    /// as kubectl reads them.
    pub kubeconfig: Option<PathBuf>,
    /// `existing` only: the kubeconfig context; `None` means its current one.
    pub context: Option<String>,
}

/// A validated workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// kind cluster name and Kubernetes namespace.
    pub name: String,
    pub fabric: FabricVersion,
    /// Channel BatchTimeout in milliseconds.
    pub batch_timeout_ms: u32,
    pub orderer: OrdererOrg,
    pub orgs: Vec<PeerOrg>,
    pub channels: Vec<Channel>,
    pub chaincodes: Vec<Chaincode>,
    pub images: Images,
    /// First host port for NodePort mappings (see topology).
    pub host_port_base: u16,
    /// Which cluster the network runs on (default: a kind cluster).
    pub cluster: ClusterSpec,
}

/// Default first host port; each node takes a block of ten from here.
pub const DEFAULT_HOST_PORT_BASE: u16 = 30000;
/// Host ports each node takes, from `hostPortBase` on.
pub const HOST_PORTS_PER_NODE: u32 = 10;
/// Kubernetes' default NodePort range, where the host ports must fall.
pub const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

impl Workspace {
    /// The network used when no fabdev.yaml exists: one Raft orderer, Org1 and
    /// Org2 with one peer each, channel `mychannel`, Fabric 2.5.
    pub fn default_network() -> Workspace {
        let fabric = FabricVersion {
            tag: "2.5".into(),
            major: 2,
            minor: 5,
        };
        Workspace {
            name: "fabdev".into(),
            images: Images::for_version(&fabric),
            fabric,
            batch_timeout_ms: DEFAULT_BATCH_TIMEOUT_MS,
            orderer: OrdererOrg {
                name: "OrdererOrg".into(),
                msp_id: "OrdererOrgMSP".into(),
                count: 1,
                consensus: Consensus::Raft,
            },
            orgs: ["Org1", "Org2"]
                .iter()
                .map(|n| PeerOrg {
                    name: (*n).into(),
                    msp_id: format!("{n}MSP"),
                    peers: 1,
                    state_database: StateDatabase::Leveldb,
                })
                .collect(),
            channels: vec![Channel {
                name: "mychannel".into(),
                orgs: vec!["Org1".into(), "Org2".into()],
            }],
            chaincodes: vec![],
            host_port_base: DEFAULT_HOST_PORT_BASE,
            cluster: ClusterSpec::default(),
        }
    }

    /// The old name of [`Workspace::default_network`], kept while branches
    /// that call it are merged.
    #[doc(hidden)]
    pub fn default_for() -> Workspace {
        Workspace::default_network()
    }

    /// Load `fabdev.yaml` from a workspace folder, or the default network
    /// when the file does not exist.
    pub fn load_dir(dir: &Path) -> Result<Workspace, SpecError> {
        let path = dir.join(SPEC_FILE);
        if !path.exists() {
            return Ok(Workspace::default_network());
        }
        Workspace::load_file(&path)
    }

    /// Load and validate a spec file; relative chaincode paths resolve against
    /// the file's folder.
    pub fn load_file(path: &Path) -> Result<Workspace, SpecError> {
        let text = read_spec(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Workspace::parse(&text, path, base)
    }

    /// Parse and validate spec text. `path` is only used in messages; `base` is
    /// the folder relative chaincode paths resolve against.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Workspace, SpecError> {
        let raw: RawWorkspace =
            serde_saphyr::from_str(text).map_err(|e| parse_error(path, text, &e))?;
        validate(raw, path, base)
    }

    /// The org with this name.
    pub fn org(&self, name: &str) -> Option<&PeerOrg> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// The channel with this name.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

/// Reads a spec file of at most [`MAX_SPEC_BYTES`], without trusting its
/// size (a device or a pipe has none).
fn read_spec(path: &Path) -> Result<String, SpecError> {
    use std::io::Read as _;
    let read_err = |source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(SpecError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e})"),
        ))
    })
}

fn parse_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> SpecError {
    let pos = e.location().and_then(|l| {
        (l.line() > 0).then_some(Pos {
            line: l.line(),
            column: l.column(),
        })
    });
    let mut message = first_line_of(e);
    // Name the field when the message does not: the key on the error's line.
    if let Some(key) = pos.and_then(|p| key_on_line(text, p))
        && !message.contains(&format!("`{key}`"))
    {
        message = format!("field `{key}`: {message}");
    }
    let hint = if message.contains("unknown field") {
        format!(
            "remove or rename the field; `fabdev init` writes a commented file listing every field ({API_VERSION})"
        )
    } else {
        "fix the YAML at that place; `fabdev init --stdout` prints a valid example".to_string()
    };
    SpecError::Parse {
        path: path.to_path_buf(),
        pos,
        message,
        hint,
    }
}

/// The mapping key written on `pos`'s line before `pos`, as in `  - peers: two`.
fn key_on_line(text: &str, pos: Pos) -> Option<String> {
    let line = text
        .lines()
        .nth(usize::try_from(pos.line).ok()?.checked_sub(1)?)?;
    let body = line.trim_start().trim_start_matches("- ").trim_start();
    let (key, _) = body.split_once(':')?;
    let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key_end = line.find(key)? + key.len();
    (key_ok && usize::try_from(pos.column).ok()? > key_end).then(|| key.to_string())
}

/// serde-saphyr renders errors with a source snippet; keep the message line.
fn first_line_of(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let line = full
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML");
    // Drop the "error: line X column Y: " prefix: we print the place ourselves.
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((place, msg)) if place.contains("column") => msg.to_string(),
        _ => line.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The raw, span-aware file form
// ---------------------------------------------------------------------------

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawWorkspace {
    api_version: S<String>,
    kind: S<String>,
    name: Option<S<String>>,
    fabric: Option<RawFabric>,
    orderer: Option<RawOrderer>,
    orgs: Option<S<Vec<RawOrg>>>,
    channels: Option<S<Vec<RawChannel>>>,
    #[serde(default)]
    chaincodes: Vec<RawChaincode>,
    images: Option<RawImages>,
    host_port_base: Option<S<u16>>,
    cluster: Option<S<RawCluster>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCluster {
    provider: Option<S<String>>,
    kubeconfig: Option<S<String>>,
    context: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFabric {
    version: Option<S<String>>,
    batch_timeout_ms: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOrderer {
    org: Option<S<String>>,
    msp_id: Option<S<String>>,
    count: Option<S<u32>>,
    consensus: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOrg {
    name: S<String>,
    msp_id: Option<S<String>>,
    peers: Option<S<u32>>,
    state_database: Option<StateDatabase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawChannel {
    name: S<String>,
    orgs: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawChaincode {
    name: S<String>,
    path: S<String>,
    channel: Option<S<String>>,
    lang: Option<S<Lang>>,
    version: Option<S<String>>,
    label: Option<S<String>>,
    init_required: Option<S<bool>>,
    init_args: Option<S<Vec<String>>>,
    signature_policy: Option<S<String>>,
    channel_config_policy: Option<S<String>>,
    collections: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawImages {
    peer: Option<S<String>>,
    orderer: Option<S<String>>,
    ccenv: Option<S<String>>,
    baseos: Option<S<String>>,
    nodeenv: Option<S<String>>,
    dind: Option<S<String>>,
    couchdb: Option<S<String>>,
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// Fabric channel IDs: `[a-z][a-z0-9.-]*`, at most 249 characters.
pub fn check_channel_name(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '-'));
    if !ok {
        return Err(format!(
            "{s:?} is not a valid channel name: Fabric wants a lower-case letter first, then lower-case letters, digits, '.' or '-'"
        ));
    }
    if s.len() > 249 {
        return Err(format!(
            "channel name is {} characters long; Fabric allows at most 249",
            s.len()
        ));
    }
    Ok(())
}

/// Fabric lifecycle chaincode names: `^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`.
pub fn check_chaincode_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid chaincode name: Fabric wants letters and digits, optionally joined by single '-' or '_' (e.g. asset-transfer)"
        ))
    }
}

/// Fabric chaincode versions: `^[A-Za-z0-9_.+-]+$`.
pub fn check_chaincode_version(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
    {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid chaincode version: use letters, digits, '_', '.', '+' or '-'"
        ))
    }
}

/// Fabric package labels: `^[[:alnum:]][[:alnum:]_.+-]*$`.
pub fn check_label(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid package label: Fabric wants a letter or digit first, then letters, digits, '_', '.', '+' or '-'"
        ))
    }
}

/// Kubernetes DNS-1123 label: lower-case alphanumerics and '-', starting and
/// ending alphanumeric, at most `max` (<= 63) characters.
pub fn check_dns_label(s: &str, max: usize) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        return Err(format!(
            "{s:?} is not a valid Kubernetes name (DNS-1123 label): use lower-case letters, digits and '-', starting and ending with a letter or digit"
        ));
    }
    if s.len() > max {
        return Err(format!(
            "{s:?} is {} characters long; at most {max} are allowed here",
            s.len()
        ));
    }
    Ok(())
}

/// Org names: a letter, then letters, digits or '-'; at most 30 characters.
/// Lower-cased, they become part of Kubernetes names, so that form must be a
/// DNS-1123 label too.
pub fn check_org_name(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.ends_with('-');
    if !ok {
        return Err(format!(
            "{s:?} is not a valid organisation name: use a letter first, then letters, digits or '-' (it becomes part of Kubernetes names)"
        ));
    }
    if s.len() > 30 {
        return Err(format!(
            "organisation name {s:?} is {} characters long; at most 30 are allowed",
            s.len()
        ));
    }
    Ok(())
}

/// MSP IDs: letters, digits, '.', '-' and '_'.
pub fn check_msp_id(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid MSP ID: use letters, digits, '.', '-' or '_'"
        ))
    }
}

/// The folder a spec's chaincode must stay inside: the git repository
/// holding `base` (the spec file's folder), or `base` itself outside one.
pub fn workspace_root(base: &Path) -> PathBuf {
    let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    base.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&base)
        .to_path_buf()
}

/// Rule: a chaincode folder named in the spec is inside the workspace (see
/// [`workspace_root`]), links resolved, so that a spec from a cloned
/// repository cannot package `/etc` or `~/.ssh`. A folder elsewhere can be
/// packaged by naming it on the command line. A folder that does not exist
/// passes here (another rule reports it).
pub fn check_inside_workspace(dir: &Path, base: &Path) -> Result<(), (String, String)> {
    let Ok(real) = std::fs::canonicalize(dir) else {
        return Ok(());
    };
    let root = workspace_root(base);
    if real.starts_with(&root) {
        return Ok(());
    }
    Err((
        format!(
            "chaincode folder {} is outside the workspace",
            real.display()
        ),
        "keep chaincode inside the workspace: the git repository holding the spec file, or the spec file's folder outside a repository; to package a folder elsewhere, name it on the command line: `fabdev chaincode package PATH`".to_string(),
    ))
}

/// Rule: every node's block of [`HOST_PORTS_PER_NODE`] host ports, from
/// `base`, fits Kubernetes' NodePort range (the host ports are NodePorts).
/// Checked before anything is written, in `u32`: `Topology::of` relies on it.
pub fn check_host_ports(base: u16, nodes: u32) -> Result<(), (String, String)> {
    let (low, high) = (u32::from(*NODE_PORTS.start()), u32::from(*NODE_PORTS.end()));
    let last = u32::from(base).saturating_add(nodes.saturating_mul(HOST_PORTS_PER_NODE));
    if u32::from(base) >= low && last <= high {
        return Ok(());
    }
    let message = format!(
        "{nodes} nodes take {HOST_PORTS_PER_NODE} host ports each from hostPortBase {base}, which does not fit Kubernetes' NodePort range {low}-{high}"
    );
    let max_nodes = (high - low) / HOST_PORTS_PER_NODE;
    let hint = if nodes > max_nodes {
        format!(
            "use fewer orgs or peers: at most {max_nodes} nodes (orderers and peers together) fit the range"
        )
    } else {
        format!(
            "set `hostPortBase` between {low} and {}",
            high - nodes * HOST_PORTS_PER_NODE
        )
    };
    Err((message, hint))
}

fn parse_fabric_version(s: &str) -> Result<FabricVersion, String> {
    let parts: Vec<&str> = s.split('.').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse::<u32>().ok()).collect();
    let Some(nums) = nums.filter(|n| n.len() == 2 || n.len() == 3) else {
        return Err(format!(
            "{s:?} is not a Fabric version: write MAJOR.MINOR or MAJOR.MINOR.PATCH, such as \"2.5\" or \"3.1.1\" (quoted)"
        ));
    };
    let (major, minor) = (nums[0], nums[1]);
    if !(major == 2 && minor == 5 || major == 3) {
        return Err(format!(
            "Fabric {s} is not supported: fabdev runs Fabric 2.5 and 3.x"
        ));
    }
    Ok(FabricVersion {
        tag: s.to_string(),
        major,
        minor,
    })
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn at<T>(&mut self, v: &S<T>, field: impl Into<String>, r: Result<(), String>, hint: &str) {
        if let Err(message) = r {
            self.problems.push(Problem {
                pos: pos_of(v),
                field: field.into(),
                message,
                hint: hint.to_string(),
            });
        }
    }
    fn push(&mut self, pos: Option<Pos>, field: impl Into<String>, message: String, hint: &str) {
        self.problems.push(Problem {
            pos,
            field: field.into(),
            message,
            hint: hint.to_string(),
        });
    }
}

fn pos_of<T>(v: &S<T>) -> Option<Pos> {
    let l = v.referenced;
    (l.line() > 0).then_some(Pos {
        line: l.line(),
        column: l.column(),
    })
}

/// The spec's rules, one function each, in the order their problems are
/// reported. Each reads the raw file and what earlier rules settled, adds
/// its problems to the checker and returns the settled value. Only
/// [`chaincode_inside_workspace`], [`chaincode_folders`] and
/// [`chaincode_collections`] (which reads a collections file) look at the
/// file system.
fn validate(raw: RawWorkspace, path: &Path, base: &Path) -> Result<Workspace, SpecError> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let def = Workspace::default_network();

    api_version_and_kind(&mut c, &raw);
    let name = workspace_name(&mut c, &raw, &def);
    let (fabric, batch_timeout_ms) = fabric_release(&mut c, &raw, &def);
    let mut orderer = orderer_org(&mut c, &raw, &def);
    orderer_consensus(&mut c, &raw, &fabric, &mut orderer);
    let orgs = peer_orgs(&mut c, &raw, &def);
    orgs_are_unique(&mut c, &raw, &orderer, &orgs);
    let channels = channels(&mut c, &raw, &orgs);
    let mut chaincodes = Vec::new();
    let mut seen_cc = BTreeSet::new();
    for (i, cc) in raw.chaincodes.iter().enumerate() {
        let mut chaincode = chaincode(&mut c, i, cc, &channels, &mut seen_cc, base);
        chaincode_policies(&mut c, i, cc, &orgs, &mut chaincode);
        chaincode_inside_workspace(&mut c, i, cc, &chaincode, base);
        chaincode_folders(&mut c, i, cc, &mut chaincode);
        chaincode_collections(&mut c, i, cc, &orgs, base, &mut chaincode);
        chaincodes.push(chaincode);
    }
    let images = images(&mut c, &raw, &fabric);
    let host_port_base = host_port_base(&mut c, &raw, &orderer, &orgs);
    let cluster = cluster(&mut c, &raw, base);

    if !c.problems.is_empty() {
        return Err(SpecError::Invalid {
            path: path.to_path_buf(),
            problems: c.problems,
        });
    }
    Ok(Workspace {
        name,
        fabric,
        batch_timeout_ms,
        orderer,
        orgs,
        channels,
        chaincodes,
        images,
        host_port_base,
        cluster,
    })
}

/// `apiVersion` and `kind` are the ones this fabdev reads.
fn api_version_and_kind(c: &mut Checker, raw: &RawWorkspace) {
    c.at(
        &raw.api_version,
        "apiVersion",
        if raw.api_version.value == API_VERSION {
            Ok(())
        } else {
            Err(format!(
                "apiVersion {:?} is not one this fabdev reads",
                raw.api_version.value
            ))
        },
        &format!("set `apiVersion: {API_VERSION}`"),
    );
    c.at(
        &raw.kind,
        "kind",
        if raw.kind.value == KIND {
            Ok(())
        } else {
            Err(format!("kind {:?} is not {KIND:?}", raw.kind.value))
        },
        &format!("set `kind: {KIND}`"),
    );
}

/// `name` is a DNS label (it names the kind cluster and the namespace).
fn workspace_name(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> String {
    match &raw.name {
        Some(n) => {
            c.at(
                n,
                "name",
                check_dns_label(&n.value, 40),
                "the name becomes the kind cluster and namespace name; e.g. `name: my-project`",
            );
            n.value.clone()
        }
        None => def.name.clone(),
    }
}

/// `fabric.version` is a supported release; `fabric.batchTimeoutMs` is in range.
fn fabric_release(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> (FabricVersion, u32) {
    let mut fabric = def.fabric.clone();
    let mut batch_timeout_ms = def.batch_timeout_ms;
    if let Some(f) = &raw.fabric {
        if let Some(v) = &f.version {
            match parse_fabric_version(&v.value) {
                Ok(fv) => fabric = fv,
                Err(m) => c.push(
                    pos_of(v),
                    "fabric.version",
                    m,
                    "use \"2.5\" (default) or a 3.x version such as \"3.1\"",
                ),
            }
        }
        if let Some(b) = &f.batch_timeout_ms {
            let r = if (10..=10_000).contains(&b.value) {
                Ok(())
            } else {
                Err(format!(
                    "batchTimeoutMs {} is out of range 10..=10000",
                    b.value
                ))
            };
            c.at(
                b,
                "fabric.batchTimeoutMs",
                r,
                "a few hundred milliseconds keeps each lifecycle step fast",
            );
            batch_timeout_ms = b.value;
        }
    }
    (fabric, batch_timeout_ms)
}

/// The orderer org's name and MSP ID are well formed; 1 to 9 orderers.
fn orderer_org(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> OrdererOrg {
    let mut orderer = def.orderer.clone();
    if let Some(o) = &raw.orderer {
        if let Some(n) = &o.org {
            c.at(
                n,
                "orderer.org",
                check_org_name(&n.value),
                "e.g. `org: OrdererOrg`",
            );
            orderer.name = n.value.clone();
            orderer.msp_id = format!("{}MSP", n.value);
        }
        if let Some(m) = &o.msp_id {
            c.at(
                m,
                "orderer.mspId",
                check_msp_id(&m.value),
                "e.g. `mspId: OrdererMSP`",
            );
            orderer.msp_id = m.value.clone();
        }
        if let Some(n) = &o.count {
            let r = if (1..=9).contains(&n.value) {
                Ok(())
            } else {
                Err(format!("orderer count {} is out of range 1..=9", n.value))
            };
            c.at(
                n,
                "orderer.count",
                r,
                "use 1 for development or 3 / 5 for a Raft quorum",
            );
            orderer.count = n.value;
        }
    }
    orderer
}

/// `orderer.consensus` is `raft` (`etcdraft`) or `bft`; BFT needs Fabric 3
/// and at least [`MIN_BFT_ORDERERS`] orderers.
fn orderer_consensus(
    c: &mut Checker,
    raw: &RawWorkspace,
    fabric: &FabricVersion,
    orderer: &mut OrdererOrg,
) {
    let Some(o) = &raw.orderer else { return };
    let Some(v) = &o.consensus else { return };
    orderer.consensus = match v.value.to_ascii_lowercase().as_str() {
        "raft" | "etcdraft" => Consensus::Raft,
        "bft" | "smartbft" => Consensus::Bft,
        other => {
            c.push(
                pos_of(v),
                "orderer.consensus",
                format!("consensus {other:?} is not one fabdev runs"),
                "use `raft` (default) or `bft` (Fabric 3, at least 4 orderers)",
            );
            return;
        }
    };
    if orderer.consensus != Consensus::Bft {
        return;
    }
    if !fabric.is_v3() {
        c.push(
            pos_of(v),
            "orderer.consensus",
            format!(
                "BFT ordering needs Fabric 3 (the V3_0 channel capability), but fabric.version is {}",
                fabric.tag
            ),
            "set `fabric: { version: \"3.1\" }`, or use `consensus: raft` on Fabric 2.5",
        );
    }
    if orderer.count < MIN_BFT_ORDERERS {
        let (pos, field) = match &o.count {
            Some(n) => (pos_of(n), "orderer.count"),
            None => (pos_of(v), "orderer.consensus"),
        };
        c.push(
            pos,
            field,
            format!(
                "BFT ordering needs at least {MIN_BFT_ORDERERS} orderers (3f+1 orderers tolerate f faulty ones; with fewer, one stopped orderer stops the channel), but orderer.count is {}",
                orderer.count
            ),
            "set `orderer.count: 4` (or 7 to tolerate two), or use `consensus: raft`",
        );
    }
}

/// At least one peer org; each with a well-formed name and MSP ID and 1 to
/// 9 peers.
fn peer_orgs(c: &mut Checker, raw: &RawWorkspace, def: &Workspace) -> Vec<PeerOrg> {
    let Some(list) = &raw.orgs else {
        return def.orgs.clone();
    };
    if list.value.is_empty() {
        c.push(
            pos_of(list),
            "orgs",
            "no peer organisations are listed".into(),
            "list at least one, e.g. `orgs: [{ name: Org1, peers: 1 }]`",
        );
    }
    list.value
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let f = format!("orgs[{i}]");
            c.at(
                &o.name,
                format!("{f}.name"),
                check_org_name(&o.name.value),
                "e.g. `name: Org1`",
            );
            let msp_id = match &o.msp_id {
                Some(m) => {
                    c.at(
                        m,
                        format!("{f}.mspId"),
                        check_msp_id(&m.value),
                        "e.g. `mspId: Org1MSP`",
                    );
                    m.value.clone()
                }
                None => format!("{}MSP", o.name.value),
            };
            let peers = match &o.peers {
                Some(p) => {
                    let r = if (1..=9).contains(&p.value) {
                        Ok(())
                    } else {
                        Err(format!("peer count {} is out of range 1..=9", p.value))
                    };
                    c.at(p, format!("{f}.peers"), r, "each org needs 1 to 9 peers");
                    p.value
                }
                None => 1,
            };
            PeerOrg {
                name: o.name.value.clone(),
                msp_id,
                peers,
                state_database: o.state_database.unwrap_or_default(),
            }
        })
        .collect()
}

/// Org names and MSP IDs are unique, also case-insensitively (they become
/// lower-case Kubernetes names), and distinct from the orderer org's.
fn orgs_are_unique(c: &mut Checker, raw: &RawWorkspace, orderer: &OrdererOrg, orgs: &[PeerOrg]) {
    let Some(list) = &raw.orgs else {
        return;
    };
    let mut seen_names = BTreeSet::from([orderer.name.to_ascii_lowercase()]);
    let mut seen_msp = BTreeSet::from([orderer.msp_id.clone()]);
    for (i, (o, org)) in list.value.iter().zip(orgs).enumerate() {
        if !seen_names.insert(org.name.to_ascii_lowercase()) {
            c.push(
                pos_of(&o.name),
                format!("orgs[{i}].name"),
                format!(
                    "organisation name {:?} is used twice (names are compared ignoring case, and the orderer org counts)",
                    org.name
                ),
                "give every organisation its own name",
            );
        }
        if !seen_msp.insert(org.msp_id.clone()) {
            c.push(
                o.msp_id.as_ref().map_or(pos_of(&o.name), pos_of),
                format!("orgs[{i}].mspId"),
                format!("MSP ID {:?} is used twice", org.msp_id),
                "give every organisation its own mspId",
            );
        }
    }
}

/// At least one channel; each named validly, listed once, with at least
/// one org, each org defined and listed once. Without `channels`:
/// `mychannel` with every org.
fn channels(c: &mut Checker, raw: &RawWorkspace, orgs: &[PeerOrg]) -> Vec<Channel> {
    let Some(list) = &raw.channels else {
        return vec![Channel {
            name: "mychannel".into(),
            orgs: orgs.iter().map(|o| o.name.clone()).collect(),
        }];
    };
    let mut seen = BTreeSet::new();
    let channels: Vec<Channel> = list
        .value
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let f = format!("channels[{i}]");
            c.at(
                &ch.name,
                format!("{f}.name"),
                check_channel_name(&ch.name.value),
                "e.g. `name: mychannel`",
            );
            if !seen.insert(ch.name.value.clone()) {
                c.push(
                    pos_of(&ch.name),
                    format!("{f}.name"),
                    format!("channel {:?} is listed twice", ch.name.value),
                    "list each channel once",
                );
            }
            Channel {
                name: ch.name.value.clone(),
                orgs: channel_orgs(c, &f, ch, orgs),
            }
        })
        .collect();
    if channels.is_empty() {
        c.push(
            pos_of(list),
            "channels",
            "no channels are listed".into(),
            "list at least one, e.g. `channels: [{ name: mychannel }]`",
        );
    }
    channels
}

/// A channel's `orgs`: not empty, each defined in `orgs` and listed once;
/// left out, every org.
fn channel_orgs(c: &mut Checker, f: &str, ch: &RawChannel, orgs: &[PeerOrg]) -> Vec<String> {
    let Some(l) = &ch.orgs else {
        return orgs.iter().map(|o| o.name.clone()).collect();
    };
    if l.value.is_empty() {
        c.push(
            pos_of(l),
            format!("{f}.orgs"),
            "a channel needs at least one organisation".into(),
            "list org names from `orgs`, or leave `orgs` out to use all of them",
        );
    }
    let mut in_channel = BTreeSet::new();
    for (j, n) in l.value.iter().enumerate() {
        if !orgs.iter().any(|o| o.name == n.value) {
            let known: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
            c.push(
                pos_of(n),
                format!("{f}.orgs[{j}]"),
                format!("organisation {:?} is not defined in `orgs`", n.value),
                &format!("use one of: {}", known.join(", ")),
            );
        }
        if !in_channel.insert(n.value.clone()) {
            c.push(
                pos_of(n),
                format!("{f}.orgs[{j}]"),
                format!("organisation {:?} is listed twice", n.value),
                "list each organisation once",
            );
        }
    }
    l.value.iter().map(|n| n.value.clone()).collect()
}

/// A chaincode: a valid name, unique on its channel; a channel that exists
/// (or the only one); a valid version and label. Its folder is resolved
/// against `base` but not looked at (see [`chaincode_folders`]).
fn chaincode(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    channels: &[Channel],
    seen: &mut BTreeSet<(String, String)>,
    base: &Path,
) -> Chaincode {
    let f = format!("chaincodes[{i}]");
    c.at(
        &cc.name,
        format!("{f}.name"),
        check_chaincode_name(&cc.name.value),
        "e.g. `name: basic`",
    );
    let channel = match &cc.channel {
        Some(ch) => {
            if !channels.iter().any(|x| x.name == ch.value) {
                let known: Vec<&str> = channels.iter().map(|x| x.name.as_str()).collect();
                c.push(
                    pos_of(ch),
                    format!("{f}.channel"),
                    format!("channel {:?} is not defined in `channels`", ch.value),
                    &format!("use one of: {}", known.join(", ")),
                );
            }
            ch.value.clone()
        }
        None => match channels {
            [only] => only.name.clone(),
            _ => {
                c.push(
                    pos_of(&cc.name),
                    format!("{f}.channel"),
                    "the workspace has several channels and this chaincode names none".into(),
                    "add `channel: NAME`",
                );
                String::new()
            }
        },
    };
    if !seen.insert((channel.clone(), cc.name.value.clone())) {
        c.push(
            pos_of(&cc.name),
            format!("{f}.name"),
            format!(
                "chaincode {:?} is listed twice on channel {channel:?}",
                cc.name.value
            ),
            "give each chaincode on a channel its own name",
        );
    }
    let version = match &cc.version {
        Some(v) => {
            c.at(
                v,
                format!("{f}.version"),
                check_chaincode_version(&v.value),
                "e.g. `version: \"1.0\"`",
            );
            v.value.clone()
        }
        None => "1.0".to_string(),
    };
    if let Some(l) = &cc.label {
        c.at(
            l,
            format!("{f}.label"),
            check_label(&l.value),
            "e.g. `label: basic_1.0`",
        );
    } else {
        let implied = format!("{}_{}", cc.name.value, version);
        if check_chaincode_name(&cc.name.value).is_ok() && check_chaincode_version(&version).is_ok()
        {
            c.at(
                &cc.name,
                format!("{f}.label"),
                check_label(&implied),
                "set `label:` explicitly",
            );
        }
    }
    let rel = PathBuf::from(&cc.path.value);
    Chaincode {
        name: cc.name.value.clone(),
        path: if rel.is_absolute() {
            rel
        } else {
            base.join(rel)
        },
        channel,
        lang: cc.lang.as_ref().map_or(Lang::Go, |l| l.value),
        version,
        label: cc.label.as_ref().map(|l| l.value.clone()),
        init_required: cc.init_required.as_ref().is_some_and(|v| v.value),
        init_args: cc
            .init_args
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default(),
        endorsement: None,
        collections: None,
    }
}

fn msp_ids(orgs: &[PeerOrg]) -> Vec<&str> {
    orgs.iter().map(|o| o.msp_id.as_str()).collect()
}

/// A chaincode's endorsement policy: a signature policy expression that
/// parses and names only the workspace's MSP IDs, or a channel config
/// policy reference, not both; `initArgs` only with `initRequired`.
fn chaincode_policies(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    orgs: &[PeerOrg],
    chaincode: &mut Chaincode,
) {
    let f = format!("chaincodes[{i}]");
    let known = msp_ids(orgs);
    match (&cc.signature_policy, &cc.channel_config_policy) {
        (Some(s), Some(_)) => c.push(
            pos_of(s),
            format!("{f}.signaturePolicy"),
            "both `signaturePolicy` and `channelConfigPolicy` are given".into(),
            "keep one: a chaincode has one endorsement policy",
        ),
        (Some(s), None) => match policy::signature_policy(&s.value, &known) {
            Ok(p) => {
                chaincode.endorsement = Some(EndorsementPolicy::Signature {
                    expr: s.value.clone(),
                    policy: p,
                })
            }
            Err(m) => c.push(
                pos_of(s),
                format!("{f}.signaturePolicy"),
                m,
                &format!(
                    "write Fabric's policy language over the orgs' MSP IDs and roles, {}",
                    policy::example()
                ),
            ),
        },
        (None, Some(r)) => {
            c.at(
                r,
                format!("{f}.channelConfigPolicy"),
                policy::check_policy_reference(&r.value),
                &format!(
                    "name a policy of the channel config, e.g. `channelConfigPolicy: {}`",
                    policy::DEFAULT_ENDORSEMENT_POLICY_REF
                ),
            );
            chaincode.endorsement = Some(EndorsementPolicy::ChannelConfig(r.value.clone()));
        }
        (None, None) => {}
    }
    if let Some(a) = &cc.init_args
        && !chaincode.init_required
    {
        c.push(
            pos_of(a),
            format!("{f}.initArgs"),
            "`initArgs` is given but `initRequired` is not true".into(),
            "set `initRequired: true` (deploy then calls Init once with these arguments), or remove `initArgs`",
        );
    }
}

/// A rule that reads the file system: a chaincode's `collections` file
/// (relative to fabdev.yaml) is Fabric's collections_config.json shape,
/// every collection checked (see [`policy::parse_collections`]).
fn chaincode_collections(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    orgs: &[PeerOrg],
    base: &Path,
    chaincode: &mut Chaincode,
) {
    let Some(file) = &cc.collections else {
        return;
    };
    let f = format!("chaincodes[{i}].collections");
    let rel = PathBuf::from(&file.value);
    let path = if rel.is_absolute() {
        rel
    } else {
        base.join(rel)
    };
    let text = match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_SPEC_BYTES => Err(format!(
            "{} is larger than 1 MiB, which no collections file is",
            path.display()
        )),
        Ok(_) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    };
    let text = match text {
        Ok(t) => t,
        Err(m) => {
            c.push(
                pos_of(file),
                f,
                m,
                "give the path of a collections JSON file (as Fabric's collections_config.json), relative to fabdev.yaml",
            );
            return;
        }
    };
    match policy::parse_collections(&text, &msp_ids(orgs)) {
        Ok(collections) => {
            chaincode.collections = Some(Collections {
                file: path,
                collections,
            })
        }
        Err(problems) => {
            for p in problems {
                let place = match p.line {
                    Some(l) => format!("{}:{l}", file.value),
                    None => file.value.clone(),
                };
                let sep = if p.field.is_empty() { "" } else { " " };
                c.push(
                    pos_of(file),
                    f.clone(),
                    format!("{place}{sep}{}: {}", p.field, p.message),
                    "each collection is {\"name\", \"policy\": \"OR('Org1MSP.member', …)\", \"requiredPeerCount\", \"maxPeerCount\", \"blockToLive\", \"memberOnlyRead\", \"memberOnlyWrite\", \"endorsementPolicy\"} as in Fabric's collections_config.json, over the workspace's MSP IDs",
                );
            }
        }
    }
}

/// A rule that reads the file system: a chaincode's folder, links resolved,
/// is inside the workspace (see [`check_inside_workspace`]).
fn chaincode_inside_workspace(
    c: &mut Checker,
    i: usize,
    cc: &RawChaincode,
    chaincode: &Chaincode,
    base: &Path,
) {
    if let Err((message, hint)) = check_inside_workspace(&chaincode.path, base) {
        c.push(
            pos_of(&cc.path),
            format!("chaincodes[{i}].path"),
            message,
            &hint,
        );
    }
}

/// A rule that reads the file system: a chaincode's folder exists, and
/// without `lang` its language shows (go.mod or package.json, not both).
fn chaincode_folders(c: &mut Checker, i: usize, cc: &RawChaincode, chaincode: &mut Chaincode) {
    let f = format!("chaincodes[{i}]");
    let dir = &chaincode.path;
    if !dir.is_dir() {
        c.push(
            pos_of(&cc.path),
            format!("{f}.path"),
            format!(
                "chaincode folder {} does not exist or is not a folder",
                dir.display()
            ),
            "give the path of the chaincode folder, relative to fabdev.yaml",
        );
        return;
    }
    if cc.lang.is_some() {
        return;
    }
    match detect_lang(dir) {
        Detected::Found(l) => chaincode.lang = l,
        Detected::Ambiguous => c.push(
            pos_of(&cc.path),
            format!("{f}.lang"),
            format!("{} has both go.mod and package.json", dir.display()),
            "add `lang: go` or `lang: node`",
        ),
        Detected::Neither => c.push(
            pos_of(&cc.path),
            format!("{f}.path"),
            format!(
                "{} has neither go.mod nor package.json, so its language is unknown",
                dir.display()
            ),
            "point `path` at a Go module or a Node package, or add `lang: go|node`",
        ),
    }
}

/// Every image given is a reference (not empty, no whitespace); the rest
/// follow the Fabric version.
fn images(c: &mut Checker, raw: &RawWorkspace, fabric: &FabricVersion) -> Images {
    let mut images = Images::for_version(fabric);
    if let Some(im) = &raw.images {
        let fields: [(&Option<S<String>>, &str, &mut String); 7] = [
            (&im.peer, "peer", &mut images.peer),
            (&im.orderer, "orderer", &mut images.orderer),
            (&im.ccenv, "ccenv", &mut images.ccenv),
            (&im.baseos, "baseos", &mut images.baseos),
            (&im.nodeenv, "nodeenv", &mut images.nodeenv),
            (&im.dind, "dind", &mut images.dind),
            (&im.couchdb, "couchdb", &mut images.couchdb),
        ];
        for (v, key, slot) in fields {
            if let Some(v) = v {
                let r = if !v.value.is_empty() && !v.value.chars().any(char::is_whitespace) {
                    Ok(())
                } else {
                    Err(format!("{:?} is not an image reference", v.value))
                };
                c.at(v, format!("images.{key}"), r, "e.g. `docker:28.5.1-dind`");
                *slot = v.value.clone();
            }
        }
    }
    images
}

/// Every node's block of host ports, from `hostPortBase` (or the default),
/// fits the NodePort range (see [`check_host_ports`]); too many nodes are
/// reported at `orgs` when no `hostPortBase` is given.
fn host_port_base(
    c: &mut Checker,
    raw: &RawWorkspace,
    orderer: &OrdererOrg,
    orgs: &[PeerOrg],
) -> u16 {
    let host_port_base = raw
        .host_port_base
        .as_ref()
        .map_or(DEFAULT_HOST_PORT_BASE, |h| h.value);
    let nodes = orderer.count + orgs.iter().map(|o| o.peers).sum::<u32>();
    if let Err((message, hint)) = check_host_ports(host_port_base, nodes) {
        match &raw.host_port_base {
            Some(h) => c.push(pos_of(h), "hostPortBase", message, &hint),
            None => c.push(raw.orgs.as_ref().and_then(pos_of), "orgs", message, &hint),
        }
    }
    host_port_base
}

/// `cluster.provider` is `kind` (the default) or `existing`;
/// `cluster.kubeconfig` (resolved against `base`) and `cluster.context` are
/// not empty, and only given with `existing` (kind's kubeconfig is fabdev's
/// own `.fabdev/kubeconfig`).
fn cluster(c: &mut Checker, raw: &RawWorkspace, base: &Path) -> ClusterSpec {
    let Some(rc) = &raw.cluster else {
        return ClusterSpec::default();
    };
    let rc = &rc.value;
    let provider = match &rc.provider {
        Some(p) => Provider::parse(&p.value).unwrap_or_else(|| {
            c.push(
                pos_of(p),
                "cluster.provider",
                format!("provider {:?} is not one fabdev knows", p.value),
                "use `provider: kind` (a local kind cluster fabdev makes, the default) or `provider: existing` (a cluster you already have, named by `kubeconfig` and `context`)",
            );
            Provider::Kind
        }),
        None => Provider::Kind,
    };
    let only_existing = |c: &mut Checker, v: &S<String>, key: &str| {
        if provider == Provider::Kind {
            c.push(
                pos_of(v),
                format!("cluster.{key}"),
                format!("`{key}` is only read with `provider: existing`"),
                "add `provider: existing` to run on that cluster, or remove the field (kind's kubeconfig is fabdev's own .fabdev/kubeconfig)",
            );
        }
    };
    let not_empty = |c: &mut Checker, v: &S<String>, key: &str, hint: &str| {
        c.at(
            v,
            format!("cluster.{key}"),
            if v.value.trim().is_empty() {
                Err(format!("`{key}` is empty"))
            } else {
                Ok(())
            },
            hint,
        );
    };
    let kubeconfig = rc.kubeconfig.as_ref().map(|k| {
        only_existing(c, k, "kubeconfig");
        not_empty(
            c,
            k,
            "kubeconfig",
            "give the kubeconfig file, relative to fabdev.yaml, or leave it out to use $KUBECONFIG or ~/.kube/config",
        );
        let rel = PathBuf::from(&k.value);
        if rel.is_absolute() { rel } else { base.join(rel) }
    });
    let context = rc.context.as_ref().map(|x| {
        only_existing(c, x, "context");
        not_empty(
            c,
            x,
            "context",
            "name a context of the kubeconfig (`kubectl config get-contexts`), or leave it out to use its current context",
        );
        x.value.clone()
    });
    ClusterSpec {
        provider,
        kubeconfig,
        context,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Workspace, SpecError> {
        Workspace::parse(text, Path::new("fabdev.yaml"), Path::new("."))
    }

    #[test]
    fn init_template_is_the_default_network() {
        let ws = parse(INIT_TEMPLATE).expect("template parses");
        assert_eq!(ws, Workspace::default_network());
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let ws = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\n").expect("parses");
        assert_eq!(ws, Workspace::default_network());
    }

    #[test]
    fn unknown_field_is_rejected_with_its_line() {
        let err = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\norgz: []\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("fabdev.yaml:3"), "{text}");
        assert!(text.contains("orgz"), "{text}");
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - name: Org1\n    peers: two\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("fabdev.yaml:5:12: field `peers`: "),
            "{err}"
        );
    }

    #[test]
    fn rules() {
        assert!(check_channel_name("mychannel").is_ok());
        assert!(check_channel_name("my.chan-1").is_ok());
        assert!(check_channel_name("MyChannel").is_err());
        assert!(check_channel_name("1chan").is_err());
        assert!(check_channel_name(&"a".repeat(250)).is_err());
        assert!(check_chaincode_name("asset-transfer_2").is_ok());
        assert!(check_chaincode_name("bad--name").is_err());
        assert!(check_chaincode_name("-x").is_err());
        assert!(check_chaincode_version("1.0+build_1-x").is_ok());
        assert!(check_chaincode_version("1 0").is_err());
        assert!(check_label("basic_1.0").is_ok());
        assert!(check_label("_basic").is_err());
        assert!(check_label("basic:1").is_err());
        assert!(check_dns_label("fabdev", 40).is_ok());
        assert!(check_dns_label("Fabdev", 40).is_err());
        assert!(check_dns_label("fab-", 40).is_err());
        assert!(check_dns_label(&"a".repeat(41), 40).is_err());
        assert!(check_org_name("Org1").is_ok());
        assert!(check_org_name("Org_1").is_err());
        assert!(check_org_name("1Org").is_err());
    }

    #[test]
    fn fabric_versions() {
        assert_eq!(
            parse_fabric_version("2.5").map(|v| v.two_digit()),
            Ok("2.5".into())
        );
        assert_eq!(
            parse_fabric_version("3.1.1").map(|v| v.two_digit()),
            Ok("3.1".into())
        );
        assert!(parse_fabric_version("2.4").is_err());
        assert!(parse_fabric_version("latest").is_err());
        let v3 = parse_fabric_version("3.1").expect("3.1");
        let images = Images::for_version(&v3);
        assert_eq!(images.ccenv, "hyperledger/fabric-ccenv:3.1");
        assert_eq!(images.nodeenv, "hyperledger/fabric-nodeenv:2.5");
    }

    #[test]
    fn cluster_defaults_to_kind_and_reads_existing() {
        let ws = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\n").expect("parses");
        assert_eq!(ws.cluster, ClusterSpec::default());
        assert_eq!(ws.cluster.provider, Provider::Kind);
        let ws = Workspace::parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: existing\n  kubeconfig: conf/shared.yaml\n  context: team-dev\n",
            Path::new("/ws/fabdev.yaml"),
            Path::new("/ws"),
        )
        .expect("parses");
        assert_eq!(
            ws.cluster,
            ClusterSpec {
                provider: Provider::Existing,
                kubeconfig: Some(PathBuf::from("/ws/conf/shared.yaml")),
                context: Some("team-dev".into()),
            }
        );
        // An absolute kubeconfig stays as written; both may be left out.
        let ws = parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: existing, kubeconfig: /etc/k.yaml }\n",
        )
        .expect("parses");
        assert_eq!(ws.cluster.kubeconfig, Some(PathBuf::from("/etc/k.yaml")));
        assert_eq!(ws.cluster.context, None);
        let ws =
            parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: kind }\n")
                .expect("parses");
        assert_eq!(ws, Workspace::default_network());
    }

    #[test]
    fn cluster_problems_name_field_and_line() {
        let err =
            parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: minikube\n")
                .unwrap_err();
        let p = &err.problems()[0];
        assert_eq!(p.field, "cluster.provider");
        assert_eq!(p.pos.map(|p| p.line), Some(4));
        assert!(
            p.message.contains("minikube") && p.hint.contains("existing"),
            "{p:?}"
        );
        // kubeconfig and context belong to `existing`; an empty one is wrong too.
        let err = parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  kubeconfig: k.yaml\n  context: \"\"\n",
        )
        .unwrap_err();
        let found: Vec<(&str, Option<u64>)> = err
            .problems()
            .iter()
            .map(|p| (p.field.as_str(), p.pos.map(|p| p.line)))
            .collect();
        assert_eq!(
            found,
            [
                ("cluster.kubeconfig", Some(4)),
                ("cluster.context", Some(5)),
                ("cluster.context", Some(5))
            ]
        );
        // Unknown fields under `cluster` are refused with their line.
        let err = parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: existing\n  namespace: x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fabdev.yaml:5") && err.contains("namespace"),
            "{err}"
        );
    }

    #[test]
    fn collects_every_problem() {
        let err = parse(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - name: Org1\n  - name: org1\nchannels:\n  - name: Bad\n    orgs: [Org3]\n",
        )
        .unwrap_err();
        let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["orgs[1].name", "channels[0].name", "channels[0].orgs[0]"]
        );
        assert_eq!(
            err.problems()[0].pos,
            Some(Pos {
                line: 5,
                column: 11
            })
        );
    }
}
