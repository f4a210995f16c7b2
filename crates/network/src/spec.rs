//! The workspace spec: `fabdev.yaml`, parsed with serde-saphyr and validated
//! against Fabric's and Kubernetes' naming rules.
//!
//! Parsing happens in two stages: a raw, span-aware form that mirrors the file
//! (unknown fields rejected), then a validated [`Workspace`] with defaults
//! filled in. Every validation problem names the file, the line and column,
//! the field path and what to do about it.

mod error;
mod load;
mod names;
mod raw;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::{Collection, EndorsementPolicy};

pub use error::{Pos, Problem, RuleError, SpecError};
pub use names::{
    check_chaincode_name, check_chaincode_version, check_channel_name, check_dns_label,
    check_label, check_msp_id, check_org_name,
};
pub use rules::{check_host_ports, check_inside_workspace, workspace_root};

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
/// The largest `fabric.batchSize.absoluteMaxBytes`: a block must fit in one
/// gRPC message, and Fabric's peers and orderers receive at most 100 MiB.
pub const MAX_BATCH_BYTES: u32 = 100 * 1024 * 1024;

/// The orderer's block-cutting limits (`fabric.batchSize`, the channel
/// config's `/Channel/Orderer/BatchSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchSize {
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
}

impl Default for BatchSize {
    /// The fabric-samples test network's values (10 messages, 99 MiB, 512
    /// KiB): small blocks for a development network. Fabric's own defaults
    /// (genesisconfig, sampleconfig) are 500 messages, 10 MiB, 2 MiB.
    fn default() -> Self {
        BatchSize {
            max_message_count: 10,
            absolute_max_bytes: 99 * 1024 * 1024,
            preferred_max_bytes: 512 * 1024,
        }
    }
}

/// The exact Fabric release each supported `MAJOR.MINOR` runs: the one place
/// the peer and orderer image tags are pinned. A version written with its
/// patch number (`2.5.13`) runs that release; one not listed here floats.
pub const FABRIC_RELEASES: &[(&str, &str)] =
    &[("2.5", "2.5.14"), ("3.0", "3.0.0"), ("3.1", "3.1.5")];

/// The release of Fabric's Node chaincode image (`hyperledger/fabric-nodeenv`,
/// published by fabric-chaincode-node) that every Fabric version runs Node
/// chaincode on: Fabric 3.x keeps nodeenv on the 2.5 line (fabric-facts.md),
/// and 2.5.8 is that line's latest release, the one of the `fabric-shim` and
/// `fabric-contract-api` packages the fixtures pin.
pub const NODEENV_RELEASE: &str = "2.5.8";

/// The largest spec file fabdev reads (a fabdev.yaml is a few KiB).
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// The commented file `fabdev init` writes. It parses to [`Workspace::default_network`].
pub const INIT_TEMPLATE: &str = include_str!("init_template.yaml");

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
    /// Every image at an exact release, never a floating `MAJOR.MINOR` tag:
    /// the peer, orderer and Go builder and runtime at the Fabric release the
    /// version runs ([`FabricVersion::release`]), Node's at
    /// [`NODEENV_RELEASE`]. The peers are told these names
    /// (`CORE_CHAINCODE_BUILDER` and the runtimes), so what fabdev seeds and
    /// builds with is what the peers use.
    fn for_version(v: &FabricVersion) -> Images {
        let release = v.release();
        Images {
            peer: format!("hyperledger/fabric-peer:{release}"),
            orderer: format!("hyperledger/fabric-orderer:{release}"),
            ccenv: format!("hyperledger/fabric-ccenv:{release}"),
            baseos: format!("hyperledger/fabric-baseos:{release}"),
            nodeenv: format!("hyperledger/fabric-nodeenv:{NODEENV_RELEASE}"),
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
    /// The indexes of the org's anchor peers, in the order given
    /// (`anchorPeers: [peer0, peer1]`; default `[peer0]`). Other orgs'
    /// peers learn of the org's peers through them (gossip), so private
    /// data and service discovery across orgs need at least one. Empty: no
    /// `AnchorPeers` value, as configtxgen writes for an org without any.
    pub anchor_peers: Vec<u32>,
}

impl PeerOrg {
    /// The default anchor peers: the org's first peer.
    pub fn default_anchor_peers() -> Vec<u32> {
        vec![0]
    }
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
    /// `kind` only: where kind runs its nodes, and from which image.
    pub kind: KindSpec,
}

/// `cluster.kind:` of fabdev.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KindSpec {
    /// `docker` or `podman` (kind's node provider); `None` means
    /// `KIND_EXPERIMENTAL_PROVIDER`, else what the machine has.
    pub provider: Option<cluster::provider::NodeProvider>,
    /// The kind node image; `None` means `$FABDEV_KIND_NODE_IMAGE`, else
    /// kind's default (kindest/node).
    pub node_image: Option<String>,
}

/// A validated workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// kind cluster name and Kubernetes namespace.
    pub name: String,
    pub fabric: FabricVersion,
    /// Channel BatchTimeout in milliseconds.
    pub batch_timeout_ms: u32,
    /// Channel BatchSize (`fabric.batchSize`).
    pub batch_size: BatchSize,
    pub orderer: OrdererOrg,
    pub orgs: Vec<PeerOrg>,
    pub channels: Vec<Channel>,
    pub chaincodes: Vec<Chaincode>,
    pub images: Images,
    /// First host port for NodePort mappings (see topology).
    pub host_port_base: u16,
    /// Which cluster the network runs on (default: a kind cluster).
    pub cluster: ClusterSpec,
    /// The workspace's random ID (`.fabdev/workspace-id`, never from
    /// fabdev.yaml), once `up` made one: a label and annotation on the
    /// namespace (`render::labels::WORKSPACE_ID`), which is how fabdev knows
    /// a namespace on an existing cluster as this workspace's.
    pub workspace_id: Option<String>,
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
            batch_size: BatchSize::default(),
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
                    anchor_peers: PeerOrg::default_anchor_peers(),
                })
                .collect(),
            channels: vec![Channel {
                name: "mychannel".into(),
                orgs: vec!["Org1".into(), "Org2".into()],
            }],
            chaincodes: vec![],
            host_port_base: DEFAULT_HOST_PORT_BASE,
            cluster: ClusterSpec::default(),
            workspace_id: None,
        }
    }

    /// The old name of [`Workspace::default_network`], kept while branches
    /// that call it are merged.
    #[doc(hidden)]
    pub fn default_for() -> Workspace {
        Workspace::default_network()
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
