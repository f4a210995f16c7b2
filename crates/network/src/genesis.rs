//! The genesis block of an application channel: what `configtxgen
//! -outputBlock` makes from a channel profile, built here from the workspace,
//! its topology and its crypto folder, with no Fabric binary.
//!
//! The block follows Fabric's own construction (v2.5.16 and v3.1.5 agree on
//! every point below):
//!
//! - `internal/configtxgen/encoder`: the config tree. Every group, value and
//!   policy has version 0 and mod_policy `Admins`.
//!   - `Channel`: policies Readers (ANY Readers), Writers (ANY Writers),
//!     Admins (MAJORITY Admins); values HashingAlgorithm (SHA256),
//!     BlockDataHashingStructure (width 2^32-1), Capabilities (V2_0 on Fabric
//!     2.5, V3_0 on 3.x). No global OrdererAddresses: V2_0 has per-org
//!     orderer endpoints, and V3_0 rejects global ones.
//!   - `Orderer`: policies Readers, Writers, Admins as above plus
//!     BlockValidation (ANY Writers); values BatchSize, BatchTimeout,
//!     ChannelRestrictions (0), Capabilities V2_0, ConsensusType `etcdraft`
//!     whose metadata lists every orderer as a consenter (host = node name,
//!     port 7050, client and server TLS certificate = its `tls/server.crt`
//!     PEM, as `MarshalEtcdRaftMetadata` reads them) with the sampleconfig
//!     Raft options. One subgroup per orderer org with MSP, Endpoints
//!     (every orderer's `<node>:7050`) and Signature policies Readers and
//!     Writers `OR('<msp>.member')`, Admins `OR('<msp>.admin')`.
//!   - `Application`: policies Readers, Writers (ANY), Admins (MAJORITY),
//!     LifecycleEndorsement and Endorsement (MAJORITY Endorsement);
//!     Capabilities V2_5; no ACLs value (the peer then applies its built-in
//!     defaults, `core/aclmgmt/defaultaclprovider.go`, which are the same as
//!     sampleconfig's ACLs). One subgroup per channel org with MSP,
//!     AnchorPeers (its peer0 on 7051) and policies Readers
//!     `OR(admin, peer, client)`, Writers `OR(admin, client)`,
//!     Admins `OR(admin)`, Endorsement `OR(peer)`.
//! - `msp/configbuilder.go`: an org's MSP value is a FabricMSPConfig read
//!   from its `msp` folder: root and TLS root certificates as the files'
//!   bytes, SHA2/SHA256 crypto config, NodeOUs from `config.yaml` with each
//!   OU certificate read from the path it names; no admins.
//! - `common/policydsl`: `OR(a, b, ...)` is a 1-out-of-n over `SignedBy(i)`,
//!   one ROLE principal per term, in order, not deduplicated.
//! - `common/genesis/genesis.go`: one CONFIG envelope (channel header
//!   version 1, epoch 0; empty creator; no signature), `Config` sequence 0,
//!   block number 0 with no previous hash, data hash = SHA-256 of the
//!   concatenated data entries (`ComputeBlockDataHash`, unchanged in 3.x),
//!   five metadata entries (one per `BlockMetadataIndex`) with SIGNATURES =
//!   `Metadata{OrdererBlockMetadata{last_config: 0}}` and LAST_CONFIG =
//!   `Metadata{LastConfig{0}}`, the others empty.
//!
//! Two deliberate differences make the block deterministic (same inputs,
//! same bytes): the channel header has no timestamp (configtxgen puts the
//! current second there; nothing that reads a config block looks at it),
//! and the signature header's nonce is not random but the first 24 bytes
//! (Fabric's nonce size) of a SHA-256 over the channel ID and the encoded
//! config. The transaction ID is, as in Fabric, hex SHA-256(nonce ||
//! creator). Map fields are encoded in sorted key order (configtxgen's Go
//! encoding orders them randomly, so its blocks are not reproducible).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::fabric::{self, Message, ab, cb, etcdraft, mb, pb};
use crate::pki::CryptoDir;
use crate::spec::{Workspace, check_channel_name};
use crate::topology::{Node, Topology, ports};

// ---------------------------------------------------------------------------
// Names Fabric looks up (common/channelconfig)
// ---------------------------------------------------------------------------

const ADMINS: &str = "Admins";
const READERS: &str = "Readers";
const WRITERS: &str = "Writers";
const ENDORSEMENT: &str = "Endorsement";
const LIFECYCLE_ENDORSEMENT: &str = "LifecycleEndorsement";
const BLOCK_VALIDATION: &str = "BlockValidation";

const ORDERER_GROUP: &str = "Orderer";
const APPLICATION_GROUP: &str = "Application";

const HASHING_ALGORITHM: &str = "HashingAlgorithm";
const BLOCK_DATA_HASHING_STRUCTURE: &str = "BlockDataHashingStructure";
const CAPABILITIES: &str = "Capabilities";
const BATCH_SIZE: &str = "BatchSize";
const BATCH_TIMEOUT: &str = "BatchTimeout";
const CHANNEL_RESTRICTIONS: &str = "ChannelRestrictions";
const CONSENSUS_TYPE: &str = "ConsensusType";
const MSP: &str = "MSP";
const ENDPOINTS: &str = "Endpoints";
const ANCHOR_PEERS: &str = "AnchorPeers";

/// Channel capability on Fabric 2.5.
pub const CHANNEL_CAPABILITY_V2: &str = "V2_0";
/// Channel capability on Fabric 3.x.
pub const CHANNEL_CAPABILITY_V3: &str = "V3_0";
/// Orderer capability (2.5 and 3.x).
pub const ORDERER_CAPABILITY: &str = "V2_0";
/// Application capability (2.5 and 3.x).
pub const APPLICATION_CAPABILITY: &str = "V2_5";
/// The consensus type of every channel fabdev makes.
pub const CONSENSUS_ETCDRAFT: &str = "etcdraft";

/// Fabric's nonce length (`common/crypto.NonceSize`).
const NONCE_SIZE: usize = 24;
/// `genesis.go`'s channel header version.
const GENESIS_MSG_VERSION: i32 = 1;
/// FabricMSPConfig's MSP type (`msp.FABRIC`).
const MSP_TYPE_FABRIC: i32 = 0;

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// The orderer's block-cutting limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Raft options of the channel (`etcdraft.Options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftOptions {
    pub tick_interval: String,
    pub election_tick: u32,
    pub heartbeat_tick: u32,
    pub max_inflight_blocks: u32,
    pub snapshot_interval_size: u32,
}

impl Default for RaftOptions {
    /// Fabric's defaults (genesisconfig and sampleconfig agree).
    fn default() -> Self {
        RaftOptions {
            tick_interval: "500ms".to_string(),
            election_tick: 10,
            heartbeat_tick: 1,
            max_inflight_blocks: 5,
            snapshot_interval_size: 16 * 1024 * 1024,
        }
    }
}

/// What to build: the channel and the knobs the workspace does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisOptions {
    pub channel: String,
    pub batch_size: BatchSize,
    pub raft: RaftOptions,
}

impl GenesisOptions {
    /// The channel with default batch size and Raft options.
    pub fn new(channel: impl Into<String>) -> Self {
        GenesisOptions {
            channel: channel.into(),
            batch_size: BatchSize::default(),
            raft: RaftOptions::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a genesis block could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("channel {channel:?}: {problem}\n  hint: rename the channel in fabdev.yaml")]
    InvalidChannelName { channel: String, problem: String },

    #[error(
        "channel {channel:?} is not defined in the workspace (its channels: {known})\n  hint: add it under `channels:` in fabdev.yaml, or use one of those"
    )]
    UnknownChannel { channel: String, known: String },

    #[error(
        "channel {channel}: org {org:?} is not a peer org of the workspace\n  hint: list only orgs from `orgs:` in the channel's `orgs`"
    )]
    UnknownOrg { channel: String, org: String },

    #[error(
        "channel {channel}: the workspace has no orderers, so the channel would have no Raft consenters\n  hint: set `orderer.count` to 1 or more in fabdev.yaml"
    )]
    NoOrderers { channel: String },

    #[error(
        "channel {channel}: cannot read the {what} of {org} at {}: {source}\n  hint: generate the crypto material first (`fabdev render` or `fabdev up` writes it under .fabdev/crypto)",
        path.display()
    )]
    Crypto {
        channel: String,
        org: String,
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "channel {channel}: the {what} of {org} at {} is unusable: {problem}\n  hint: delete the org's crypto folder to have it regenerated, or run `fabdev down --purge` to start over",
        path.display()
    )]
    BadCrypto {
        channel: String,
        org: String,
        what: String,
        path: PathBuf,
        problem: String,
    },

    #[error("cannot decode {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },
}

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

/// The encoded genesis block (`common.Block`) of `channel`, with default
/// options.
pub fn genesis_block(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    channel: &str,
) -> Result<Vec<u8>, GenesisError> {
    genesis_block_with(ws, topo, crypto, &GenesisOptions::new(channel))
}

/// The encoded genesis block (`common.Block`) of `opts.channel`.
pub fn genesis_block_with(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    opts: &GenesisOptions,
) -> Result<Vec<u8>, GenesisError> {
    let group = channel_group(ws, topo, crypto, opts)?;
    Ok(fabric::encode(&block(&opts.channel, group)))
}

/// Go's `time.Duration.String()` of a whole number of milliseconds:
/// `250ms`, `2s`, `1.5s`, `1m30s`, `1h0m0s`.
pub fn go_duration_ms(ms: u32) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (secs, frac) = (ms / 1000, ms % 1000);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac > 0 {
        let digits = format!("{frac:03}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('s');
    out
}

fn channel_group(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    opts: &GenesisOptions,
) -> Result<cb::ConfigGroup, GenesisError> {
    let channel = opts.channel.as_str();
    check_channel_name(channel).map_err(|problem| GenesisError::InvalidChannelName {
        channel: channel.to_string(),
        problem,
    })?;
    let spec = ws
        .channel(channel)
        .ok_or_else(|| GenesisError::UnknownChannel {
            channel: channel.to_string(),
            known: if ws.channels.is_empty() {
                "none".to_string()
            } else {
                ws.channels
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })?;
    let orgs = spec
        .orgs
        .iter()
        .map(|name| {
            ws.org(name).ok_or_else(|| GenesisError::UnknownOrg {
                channel: channel.to_string(),
                org: name.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let orderers: Vec<&Node> = topo.orderers().collect();
    if orderers.is_empty() {
        return Err(GenesisError::NoOrderers {
            channel: channel.to_string(),
        });
    }
    let files = Files { channel, crypto };

    // Orderer group.
    let mut orderer = Group::new();
    orderer.implicit_meta(READERS, Rule::Any, READERS);
    orderer.implicit_meta(WRITERS, Rule::Any, WRITERS);
    orderer.implicit_meta(ADMINS, Rule::Majority, ADMINS);
    orderer.implicit_meta(BLOCK_VALIDATION, Rule::Any, WRITERS);
    orderer.value(
        BATCH_SIZE,
        &ab::BatchSize {
            max_message_count: opts.batch_size.max_message_count,
            absolute_max_bytes: opts.batch_size.absolute_max_bytes,
            preferred_max_bytes: opts.batch_size.preferred_max_bytes,
        },
    );
    orderer.value(
        BATCH_TIMEOUT,
        &ab::BatchTimeout {
            timeout: go_duration_ms(ws.batch_timeout_ms),
        },
    );
    orderer.value(
        CHANNEL_RESTRICTIONS,
        &ab::ChannelRestrictions { max_count: 0 },
    );
    orderer.value(CAPABILITIES, &fabric::capabilities(ORDERER_CAPABILITY));
    let mut consenters = Vec::with_capacity(orderers.len());
    for node in &orderers {
        let path = crypto.node_dir(node).join("tls").join("server.crt");
        let what = format!("TLS certificate of {}", node.name);
        let cert = files.cert(&node.org, &what, &path)?;
        consenters.push(etcdraft::Consenter {
            host: node.name.clone(),
            port: u32::from(ports::ORDERER),
            client_tls_cert: cert.clone(),
            server_tls_cert: cert,
        });
    }
    let raft = etcdraft::ConfigMetadata {
        consenters,
        options: Some(etcdraft::Options {
            tick_interval: opts.raft.tick_interval.clone(),
            election_tick: opts.raft.election_tick,
            heartbeat_tick: opts.raft.heartbeat_tick,
            max_inflight_blocks: opts.raft.max_inflight_blocks,
            snapshot_interval_size: opts.raft.snapshot_interval_size,
        }),
    };
    orderer.value(
        CONSENSUS_TYPE,
        &ab::ConsensusType {
            r#type: CONSENSUS_ETCDRAFT.to_string(),
            metadata: fabric::encode(&raft),
            state: ab::consensus_type::State::Normal as i32,
        },
    );
    let mut orderer_org = Group::new();
    let msp_id = ws.orderer.msp_id.as_str();
    orderer_org.signature(READERS, msp_id, &[Role::Member]);
    orderer_org.signature(WRITERS, msp_id, &[Role::Member]);
    orderer_org.signature(ADMINS, msp_id, &[Role::Admin]);
    orderer_org.value(MSP, &files.msp_config(&ws.orderer.name, msp_id)?);
    orderer_org.value(
        ENDPOINTS,
        &cb::OrdererAddresses {
            addresses: orderers.iter().map(|n| n.address()).collect(),
        },
    );
    orderer.group(&ws.orderer.name, orderer_org);

    // Application group.
    let mut app = Group::new();
    app.implicit_meta(READERS, Rule::Any, READERS);
    app.implicit_meta(WRITERS, Rule::Any, WRITERS);
    app.implicit_meta(ADMINS, Rule::Majority, ADMINS);
    app.implicit_meta(LIFECYCLE_ENDORSEMENT, Rule::Majority, ENDORSEMENT);
    app.implicit_meta(ENDORSEMENT, Rule::Majority, ENDORSEMENT);
    app.value(CAPABILITIES, &fabric::capabilities(APPLICATION_CAPABILITY));
    for org in orgs {
        let msp_id = org.msp_id.as_str();
        let mut g = Group::new();
        g.signature(READERS, msp_id, &[Role::Admin, Role::Peer, Role::Client]);
        g.signature(WRITERS, msp_id, &[Role::Admin, Role::Client]);
        g.signature(ADMINS, msp_id, &[Role::Admin]);
        g.signature(ENDORSEMENT, msp_id, &[Role::Peer]);
        g.value(MSP, &files.msp_config(&org.name, msp_id)?);
        // Like configtxgen, no AnchorPeers value when there is no anchor.
        if let Some(peer0) = topo.peers_of(&org.name).find(|n| n.index == 0) {
            g.value(
                ANCHOR_PEERS,
                &pb::AnchorPeers {
                    anchor_peers: vec![pb::AnchorPeer {
                        host: peer0.name.clone(),
                        port: i32::from(ports::PEER),
                    }],
                },
            );
        }
        app.group(&org.name, g);
    }

    // Channel group.
    let mut root = Group::new();
    root.implicit_meta(READERS, Rule::Any, READERS);
    root.implicit_meta(WRITERS, Rule::Any, WRITERS);
    root.implicit_meta(ADMINS, Rule::Majority, ADMINS);
    root.value(
        HASHING_ALGORITHM,
        &cb::HashingAlgorithm {
            name: "SHA256".to_string(),
        },
    );
    root.value(
        BLOCK_DATA_HASHING_STRUCTURE,
        &cb::BlockDataHashingStructure { width: u32::MAX },
    );
    let channel_capability = if ws.fabric.is_v3() {
        CHANNEL_CAPABILITY_V3
    } else {
        CHANNEL_CAPABILITY_V2
    };
    root.value(CAPABILITIES, &fabric::capabilities(channel_capability));
    root.group(ORDERER_GROUP, orderer);
    root.group(APPLICATION_GROUP, app);
    Ok(root.0)
}

/// The block around a channel config, as `genesis.go` makes it, but with a
/// derived nonce and no timestamp.
fn block(channel: &str, channel_group: cb::ConfigGroup) -> cb::Block {
    let config = fabric::encode(&cb::ConfigEnvelope {
        config: Some(cb::Config {
            sequence: 0,
            channel_group: Some(channel_group),
        }),
        last_update: None,
    });
    let signature_header = cb::SignatureHeader {
        creator: Vec::new(),
        nonce: derived_nonce(channel, &config),
    };
    let tx_id = hex::encode(
        Sha256::new()
            .chain_update(&signature_header.nonce)
            .chain_update(&signature_header.creator)
            .finalize(),
    );
    let channel_header = cb::ChannelHeader {
        r#type: cb::HeaderType::Config as i32,
        version: GENESIS_MSG_VERSION,
        timestamp: None,
        channel_id: channel.to_string(),
        tx_id,
        epoch: 0,
        extension: Vec::new(),
        tls_cert_hash: Vec::new(),
    };
    let payload = cb::Payload {
        header: Some(cb::Header {
            channel_header: fabric::encode(&channel_header),
            signature_header: fabric::encode(&signature_header),
        }),
        data: config,
    };
    let envelope = cb::Envelope {
        payload: fabric::encode(&payload),
        signature: Vec::new(),
    };
    let data = vec![fabric::encode(&envelope)];
    let data_hash = Sha256::digest(data.concat()).to_vec();

    let mut metadata = vec![Vec::new(); METADATA_ENTRIES];
    metadata[SIGNATURES_INDEX] = fabric::encode(&cb::Metadata {
        value: fabric::encode(&cb::OrdererBlockMetadata {
            last_config: Some(cb::LastConfig { index: 0 }),
            consenter_metadata: Vec::new(),
        }),
        signatures: Vec::new(),
    });
    metadata[LAST_CONFIG_INDEX] = fabric::encode(&cb::Metadata {
        value: fabric::encode(&cb::LastConfig { index: 0 }),
        signatures: Vec::new(),
    });

    cb::Block {
        header: Some(cb::BlockHeader {
            number: 0,
            previous_hash: Vec::new(),
            data_hash,
        }),
        data: Some(cb::BlockData { data }),
        metadata: Some(cb::BlockMetadata { metadata }),
    }
}

/// One metadata entry per `BlockMetadataIndex` value (`protoutil.NewBlock`).
const METADATA_ENTRIES: usize = cb::BlockMetadataIndex::CommitHash as usize + 1;
const SIGNATURES_INDEX: usize = cb::BlockMetadataIndex::Signatures as usize;
#[allow(deprecated)] // Fabric still writes it in genesis blocks.
const LAST_CONFIG_INDEX: usize = cb::BlockMetadataIndex::LastConfig as usize;

/// A nonce that depends only on the channel and its config.
fn derived_nonce(channel: &str, config: &[u8]) -> Vec<u8> {
    let digest = Sha256::new()
        .chain_update(b"fabdev genesis nonce\0")
        .chain_update(channel.as_bytes())
        .chain_update(b"\0")
        .chain_update(config)
        .finalize();
    digest[..NONCE_SIZE].to_vec()
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Any,
    Majority,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Member,
    Admin,
    Client,
    Peer,
}

impl Role {
    fn proto(self) -> cb::msp_role::MspRoleType {
        match self {
            Role::Member => cb::msp_role::MspRoleType::Member,
            Role::Admin => cb::msp_role::MspRoleType::Admin,
            Role::Client => cb::msp_role::MspRoleType::Client,
            Role::Peer => cb::msp_role::MspRoleType::Peer,
        }
    }
}

/// A config group under construction; everything in it gets version 0 and
/// mod_policy `Admins`, as configtxgen does for application channels.
struct Group(cb::ConfigGroup);

impl Group {
    fn new() -> Group {
        Group(cb::ConfigGroup {
            mod_policy: ADMINS.to_string(),
            ..Default::default()
        })
    }

    fn group(&mut self, key: &str, group: Group) {
        self.0.groups.insert(key.to_string(), group.0);
    }

    fn value<M: Message>(&mut self, key: &str, msg: &M) {
        self.0.values.insert(
            key.to_string(),
            cb::ConfigValue {
                version: 0,
                value: fabric::encode(msg),
                mod_policy: ADMINS.to_string(),
            },
        );
    }

    fn policy(&mut self, key: &str, r#type: cb::policy::PolicyType, value: Vec<u8>) {
        self.0.policies.insert(
            key.to_string(),
            cb::ConfigPolicy {
                version: 0,
                policy: Some(cb::Policy {
                    r#type: r#type as i32,
                    value,
                }),
                mod_policy: ADMINS.to_string(),
            },
        );
    }

    /// `"<RULE> <sub_policy>"`, as `policies.ImplicitMetaFromString`.
    fn implicit_meta(&mut self, key: &str, rule: Rule, sub_policy: &str) {
        let rule = match rule {
            Rule::Any => cb::implicit_meta_policy::Rule::Any,
            Rule::Majority => cb::implicit_meta_policy::Rule::Majority,
        };
        let value = fabric::encode(&cb::ImplicitMetaPolicy {
            sub_policy: sub_policy.to_string(),
            rule: rule as i32,
        });
        self.policy(key, cb::policy::PolicyType::ImplicitMeta, value);
    }

    /// `OR('<msp>.<role>', ...)`, as `policydsl.FromString` encodes it.
    fn signature(&mut self, key: &str, msp_id: &str, roles: &[Role]) {
        use cb::signature_policy::{NOutOf, Type};
        let identities = roles
            .iter()
            .map(|role| cb::MspPrincipal {
                principal_classification: cb::msp_principal::Classification::Role as i32,
                principal: fabric::encode(&cb::MspRole {
                    msp_identifier: msp_id.to_string(),
                    role: role.proto() as i32,
                }),
            })
            .collect::<Vec<_>>();
        let rules = (0..identities.len())
            .map(|i| cb::SignaturePolicy {
                r#type: Some(Type::SignedBy(i32::try_from(i).unwrap_or(i32::MAX))),
            })
            .collect();
        let envelope = cb::SignaturePolicyEnvelope {
            version: 0,
            rule: Some(cb::SignaturePolicy {
                r#type: Some(Type::NOutOf(NOutOf { n: 1, rules })),
            }),
            identities,
        };
        self.policy(
            key,
            cb::policy::PolicyType::Signature,
            fabric::encode(&envelope),
        );
    }
}

// ---------------------------------------------------------------------------
// Reading the crypto folder
// ---------------------------------------------------------------------------

/// Reads crypto files, turning failures into errors that name the channel,
/// the org and the file.
struct Files<'a> {
    channel: &'a str,
    crypto: &'a CryptoDir,
}

/// The part of an msp `config.yaml` configbuilder uses for NodeOUs.
#[derive(Debug, Deserialize)]
struct MspYaml {
    #[serde(rename = "NodeOUs")]
    node_ous: Option<NodeOus>,
}

#[derive(Debug, Deserialize)]
struct NodeOus {
    #[serde(rename = "Enable", default)]
    enable: bool,
    #[serde(rename = "ClientOUIdentifier")]
    client: Option<OuYaml>,
    #[serde(rename = "PeerOUIdentifier")]
    peer: Option<OuYaml>,
    #[serde(rename = "AdminOUIdentifier")]
    admin: Option<OuYaml>,
    #[serde(rename = "OrdererOUIdentifier")]
    orderer: Option<OuYaml>,
}

#[derive(Debug, Deserialize)]
struct OuYaml {
    #[serde(rename = "Certificate", default)]
    certificate: String,
    #[serde(rename = "OrganizationalUnitIdentifier", default)]
    ou: String,
}

impl Files<'_> {
    fn read(&self, org: &str, what: &str, path: &Path) -> Result<Vec<u8>, GenesisError> {
        std::fs::read(path).map_err(|source| GenesisError::Crypto {
            channel: self.channel.to_string(),
            org: org.to_string(),
            what: what.to_string(),
            path: path.to_path_buf(),
            source,
        })
    }

    fn bad(&self, org: &str, what: &str, path: &Path, problem: String) -> GenesisError {
        GenesisError::BadCrypto {
            channel: self.channel.to_string(),
            org: org.to_string(),
            what: what.to_string(),
            path: path.to_path_buf(),
            problem,
        }
    }

    /// A PEM certificate file's bytes, as they are on disk.
    fn cert(&self, org: &str, what: &str, path: &Path) -> Result<Vec<u8>, GenesisError> {
        let bytes = self.read(org, what, path)?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes)
            .map_err(|e| self.bad(org, what, path, format!("not PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(self.bad(
                org,
                what,
                path,
                format!("PEM block is {:?}, not CERTIFICATE", pem.label),
            ));
        }
        pem.parse_x509()
            .map_err(|e| self.bad(org, what, path, format!("not an X.509 certificate: {e}")))?;
        Ok(bytes)
    }

    /// The org's MSP value, as configbuilder's `GetVerifyingMspConfig`
    /// builds it from `<org>/msp`.
    fn msp_config(&self, org: &str, msp_id: &str) -> Result<mb::MspConfig, GenesisError> {
        let dir = self.crypto.org_msp_dir(org);
        let ca = self.cert(org, "CA certificate", &dir.join("cacerts").join("ca.crt"))?;
        let tlsca = self.cert(
            org,
            "TLS CA certificate",
            &dir.join("tlscacerts").join("tlsca.crt"),
        )?;
        let config_path = dir.join("config.yaml");
        let what = "MSP config.yaml";
        let text = self.read(org, what, &config_path)?;
        let text = String::from_utf8(text)
            .map_err(|e| self.bad(org, what, &config_path, format!("not UTF-8: {e}")))?;
        let yaml: MspYaml = serde_saphyr::from_str(&text)
            .map_err(|e| self.bad(org, what, &config_path, e.to_string()))?;
        let node_ous = match yaml.node_ous {
            Some(n) if n.enable => n,
            _ => {
                return Err(self.bad(
                    org,
                    what,
                    &config_path,
                    "NodeOUs are not enabled; the channel's policies need the peer, client and admin roles".to_string(),
                ));
            }
        };
        let ou = |which: &str,
                  o: Option<OuYaml>|
         -> Result<Option<mb::FabricOuIdentifier>, GenesisError> {
            let Some(o) = o.filter(|o| !o.ou.is_empty()) else {
                return Ok(None);
            };
            let certificate = if o.certificate.is_empty() {
                Vec::new()
            } else {
                let what = format!("{which} OU certificate");
                self.read(org, &what, &dir.join(&o.certificate))?
            };
            Ok(Some(mb::FabricOuIdentifier {
                certificate,
                organizational_unit_identifier: o.ou,
            }))
        };
        let config = mb::FabricMspConfig {
            name: msp_id.to_string(),
            root_certs: vec![ca],
            tls_root_certs: vec![tlsca],
            crypto_config: Some(mb::FabricCryptoConfig {
                signature_hash_family: "SHA2".to_string(),
                identity_identifier_hash_function: "SHA256".to_string(),
            }),
            fabric_node_ous: Some(mb::FabricNodeOUs {
                enable: true,
                client_ou_identifier: ou("client", node_ous.client)?,
                peer_ou_identifier: ou("peer", node_ous.peer)?,
                admin_ou_identifier: ou("admin", node_ous.admin)?,
                orderer_ou_identifier: ou("orderer", node_ous.orderer)?,
            }),
            ..Default::default()
        };
        Ok(mb::MspConfig {
            r#type: MSP_TYPE_FABRIC,
            config: fabric::encode(&config),
        })
    }
}

// ---------------------------------------------------------------------------
// Describing
// ---------------------------------------------------------------------------

/// A block decoded all the way down, for tests, debugging and comparison
/// with configtxlator's JSON: the payload, its headers, the config envelope,
/// every config group with its values and policies decoded to their
/// messages, consenter and MSP certificates as PEM text, hashes and other
/// opaque bytes as hex, enums by their proto names. Field names are the
/// proto field names, as configtxlator prints them.
pub fn describe_block(block: &[u8]) -> Result<Value, GenesisError> {
    let block: cb::Block = decode(block, "block")?;
    let header = block.header.unwrap_or_default();
    let envelopes = block
        .data
        .unwrap_or_default()
        .data
        .iter()
        .enumerate()
        .map(|(i, env)| describe_envelope(i, env))
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = block
        .metadata
        .unwrap_or_default()
        .metadata
        .iter()
        .enumerate()
        .map(|(i, m)| describe_metadata(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "header": {
            "number": header.number,
            "previous_hash": hex::encode(&header.previous_hash),
            "data_hash": hex::encode(&header.data_hash),
        },
        "data": { "data": envelopes },
        "metadata": { "metadata": metadata },
    }))
}

fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, GenesisError> {
    M::decode(bytes).map_err(|source| GenesisError::Decode {
        what: what.to_string(),
        source,
    })
}

/// Certificate bytes as their PEM text (hex when they are not text).
fn pem_text(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => Value::String(hex::encode(bytes)),
    }
}

fn pems(list: &[Vec<u8>]) -> Value {
    Value::Array(list.iter().map(|c| pem_text(c)).collect())
}

fn enum_name<E: TryFrom<i32>>(value: i32, name: impl Fn(E) -> &'static str) -> Value {
    match E::try_from(value) {
        Ok(e) => Value::String(name(e).to_string()),
        Err(_) => Value::from(value),
    }
}

fn describe_envelope(i: usize, bytes: &[u8]) -> Result<Value, GenesisError> {
    let env: cb::Envelope = decode(bytes, &format!("envelope {i}"))?;
    let payload: cb::Payload = decode(&env.payload, &format!("payload of envelope {i}"))?;
    let header = payload.header.unwrap_or_default();
    let chdr: cb::ChannelHeader = decode(&header.channel_header, "channel header")?;
    let shdr: cb::SignatureHeader = decode(&header.signature_header, "signature header")?;
    let data = if chdr.r#type == cb::HeaderType::Config as i32 {
        let ce: cb::ConfigEnvelope = decode(&payload.data, "config envelope")?;
        let config = match ce.config {
            Some(c) => json!({
                "sequence": c.sequence,
                "channel_group": match &c.channel_group {
                    Some(g) => describe_group(g)?,
                    None => Value::Null,
                },
            }),
            None => Value::Null,
        };
        let last_update = ce
            .last_update
            .map(|e| json!({ "payload": hex::encode(e.payload), "signature": hex::encode(e.signature) }))
            .unwrap_or(Value::Null);
        json!({ "config": config, "last_update": last_update })
    } else {
        Value::String(hex::encode(&payload.data))
    };
    Ok(json!({
        "payload": {
            "header": {
                "channel_header": {
                    "type": enum_name(chdr.r#type, |t: cb::HeaderType| t.as_str_name()),
                    "version": chdr.version,
                    "timestamp": chdr.timestamp.map(|t| json!({ "seconds": t.seconds, "nanos": t.nanos })),
                    "channel_id": chdr.channel_id,
                    "tx_id": chdr.tx_id,
                    "epoch": chdr.epoch,
                    "extension": hex::encode(&chdr.extension),
                    "tls_cert_hash": hex::encode(&chdr.tls_cert_hash),
                },
                "signature_header": {
                    "creator": pem_or_hex_identity(&shdr.creator),
                    "nonce": hex::encode(&shdr.nonce),
                },
            },
            "data": data,
        },
        "signature": hex::encode(&env.signature),
    }))
}

/// A SerializedIdentity (MSP ID and certificate), or hex if it is not one.
fn pem_or_hex_identity(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::String(String::new());
    }
    match mb::SerializedIdentity::decode(bytes) {
        Ok(id) => json!({ "mspid": id.mspid, "id_bytes": pem_text(&id.id_bytes) }),
        Err(_) => Value::String(hex::encode(bytes)),
    }
}

fn describe_metadata(i: usize, bytes: &[u8]) -> Result<Value, GenesisError> {
    let name = i32::try_from(i)
        .ok()
        .and_then(|i| cb::BlockMetadataIndex::try_from(i).ok())
        .map(|m| m.as_str_name());
    let what = format!("block metadata {i}");
    let value = match i {
        SIGNATURES_INDEX | LAST_CONFIG_INDEX => {
            let md: cb::Metadata = decode(bytes, &what)?;
            let value = if i == SIGNATURES_INDEX {
                let obm: cb::OrdererBlockMetadata = decode(&md.value, "OrdererBlockMetadata")?;
                json!({
                    "last_config": obm.last_config.map(|l| json!({ "index": l.index })),
                    "consenter_metadata": hex::encode(&obm.consenter_metadata),
                })
            } else {
                let lc: cb::LastConfig = decode(&md.value, "LastConfig")?;
                json!({ "index": lc.index })
            };
            let signatures = md
                .signatures
                .iter()
                .map(|s| {
                    json!({
                        "signature_header": hex::encode(&s.signature_header),
                        "signature": hex::encode(&s.signature),
                        "identifier_header": hex::encode(&s.identifier_header),
                    })
                })
                .collect::<Vec<_>>();
            json!({ "value": value, "signatures": signatures })
        }
        _ => Value::String(hex::encode(bytes)),
    };
    Ok(json!({ "index": i, "name": name, "metadata": value }))
}

fn describe_group(g: &cb::ConfigGroup) -> Result<Value, GenesisError> {
    let mut groups = Map::new();
    for (k, sub) in &g.groups {
        groups.insert(k.clone(), describe_group(sub)?);
    }
    let mut values = Map::new();
    for (k, v) in &g.values {
        values.insert(
            k.clone(),
            json!({
                "version": v.version,
                "mod_policy": v.mod_policy,
                "value": describe_value(k, &v.value)?,
            }),
        );
    }
    let mut policies = Map::new();
    for (k, p) in &g.policies {
        let policy = match &p.policy {
            Some(p) => describe_policy(k, p)?,
            None => Value::Null,
        };
        policies.insert(
            k.clone(),
            json!({ "version": p.version, "mod_policy": p.mod_policy, "policy": policy }),
        );
    }
    Ok(json!({
        "version": g.version,
        "mod_policy": g.mod_policy,
        "groups": groups,
        "values": values,
        "policies": policies,
    }))
}

fn describe_value(key: &str, bytes: &[u8]) -> Result<Value, GenesisError> {
    let what = format!("config value {key}");
    Ok(match key {
        HASHING_ALGORITHM => {
            let v: cb::HashingAlgorithm = decode(bytes, &what)?;
            json!({ "name": v.name })
        }
        BLOCK_DATA_HASHING_STRUCTURE => {
            let v: cb::BlockDataHashingStructure = decode(bytes, &what)?;
            json!({ "width": v.width })
        }
        CAPABILITIES => {
            let v: cb::Capabilities = decode(bytes, &what)?;
            let names: std::collections::BTreeMap<_, _> = v
                .capabilities
                .keys()
                .map(|k| (k.clone(), json!({})))
                .collect();
            json!({ "capabilities": names })
        }
        "OrdererAddresses" | ENDPOINTS => {
            let v: cb::OrdererAddresses = decode(bytes, &what)?;
            json!({ "addresses": v.addresses })
        }
        "Consortium" => {
            let v: cb::Consortium = decode(bytes, &what)?;
            json!({ "name": v.name })
        }
        BATCH_SIZE => {
            let v: ab::BatchSize = decode(bytes, &what)?;
            json!({
                "max_message_count": v.max_message_count,
                "absolute_max_bytes": v.absolute_max_bytes,
                "preferred_max_bytes": v.preferred_max_bytes,
            })
        }
        BATCH_TIMEOUT => {
            let v: ab::BatchTimeout = decode(bytes, &what)?;
            json!({ "timeout": v.timeout })
        }
        CHANNEL_RESTRICTIONS => {
            let v: ab::ChannelRestrictions = decode(bytes, &what)?;
            json!({ "max_count": v.max_count })
        }
        CONSENSUS_TYPE => {
            let v: ab::ConsensusType = decode(bytes, &what)?;
            let metadata = if v.r#type == CONSENSUS_ETCDRAFT {
                describe_raft(&v.metadata)?
            } else {
                Value::String(hex::encode(&v.metadata))
            };
            json!({
                "type": v.r#type,
                "metadata": metadata,
                "state": enum_name(v.state, |s: ab::consensus_type::State| s.as_str_name()),
            })
        }
        MSP => describe_msp(bytes)?,
        ANCHOR_PEERS => {
            let v: pb::AnchorPeers = decode(bytes, &what)?;
            let peers = v
                .anchor_peers
                .iter()
                .map(|p| json!({ "host": p.host, "port": p.port }))
                .collect::<Vec<_>>();
            json!({ "anchor_peers": peers })
        }
        _ => json!({ "unknown": hex::encode(bytes) }),
    })
}

fn describe_raft(bytes: &[u8]) -> Result<Value, GenesisError> {
    let md: etcdraft::ConfigMetadata = decode(bytes, "etcdraft ConfigMetadata")?;
    let consenters = md
        .consenters
        .iter()
        .map(|c| {
            json!({
                "host": c.host,
                "port": c.port,
                "client_tls_cert": pem_text(&c.client_tls_cert),
                "server_tls_cert": pem_text(&c.server_tls_cert),
            })
        })
        .collect::<Vec<_>>();
    let options = md.options.map(|o| {
        json!({
            "tick_interval": o.tick_interval,
            "election_tick": o.election_tick,
            "heartbeat_tick": o.heartbeat_tick,
            "max_inflight_blocks": o.max_inflight_blocks,
            "snapshot_interval_size": o.snapshot_interval_size,
        })
    });
    Ok(json!({ "consenters": consenters, "options": options }))
}

fn describe_ou(ou: &Option<mb::FabricOuIdentifier>) -> Value {
    match ou {
        Some(o) => json!({
            "certificate": pem_text(&o.certificate),
            "organizational_unit_identifier": o.organizational_unit_identifier,
        }),
        None => Value::Null,
    }
}

fn describe_msp(bytes: &[u8]) -> Result<Value, GenesisError> {
    let msp: mb::MspConfig = decode(bytes, "MSPConfig")?;
    if msp.r#type != MSP_TYPE_FABRIC {
        return Ok(json!({ "type": msp.r#type, "config": hex::encode(&msp.config) }));
    }
    let c: mb::FabricMspConfig = decode(&msp.config, "FabricMSPConfig")?;
    let ous = c
        .organizational_unit_identifiers
        .iter()
        .map(|o| describe_ou(&Some(o.clone())))
        .collect::<Vec<_>>();
    let node_ous = c.fabric_node_ous.as_ref().map(|n| {
        json!({
            "enable": n.enable,
            "client_ou_identifier": describe_ou(&n.client_ou_identifier),
            "peer_ou_identifier": describe_ou(&n.peer_ou_identifier),
            "admin_ou_identifier": describe_ou(&n.admin_ou_identifier),
            "orderer_ou_identifier": describe_ou(&n.orderer_ou_identifier),
        })
    });
    Ok(json!({
        "type": msp.r#type,
        "config": {
            "name": c.name,
            "root_certs": pems(&c.root_certs),
            "intermediate_certs": pems(&c.intermediate_certs),
            "admins": pems(&c.admins),
            "revocation_list": pems(&c.revocation_list),
            "signing_identity": c.signing_identity.map(|_| "present"),
            "organizational_unit_identifiers": ous,
            "crypto_config": c.crypto_config.map(|cc| json!({
                "signature_hash_family": cc.signature_hash_family,
                "identity_identifier_hash_function": cc.identity_identifier_hash_function,
            })),
            "tls_root_certs": pems(&c.tls_root_certs),
            "tls_intermediate_certs": pems(&c.tls_intermediate_certs),
            "fabric_node_ous": node_ous,
        },
    }))
}

fn describe_policy(key: &str, p: &cb::Policy) -> Result<Value, GenesisError> {
    use cb::policy::PolicyType;
    let what = format!("policy {key}");
    let value = match PolicyType::try_from(p.r#type) {
        Ok(PolicyType::ImplicitMeta) => {
            let v: cb::ImplicitMetaPolicy = decode(&p.value, &what)?;
            json!({
                "sub_policy": v.sub_policy,
                "rule": enum_name(v.rule, |r: cb::implicit_meta_policy::Rule| r.as_str_name()),
            })
        }
        Ok(PolicyType::Signature) => {
            let v: cb::SignaturePolicyEnvelope = decode(&p.value, &what)?;
            let identities = v
                .identities
                .iter()
                .map(describe_principal)
                .collect::<Result<Vec<_>, _>>()?;
            json!({
                "version": v.version,
                "rule": v.rule.as_ref().map(describe_rule),
                "identities": identities,
            })
        }
        _ => Value::String(hex::encode(&p.value)),
    };
    Ok(json!({
        "type": enum_name(p.r#type, |t: PolicyType| t.as_str_name()),
        "value": value,
    }))
}

fn describe_rule(rule: &cb::SignaturePolicy) -> Value {
    use cb::signature_policy::Type;
    match &rule.r#type {
        Some(Type::SignedBy(i)) => json!({ "signed_by": i }),
        Some(Type::NOutOf(n)) => json!({
            "n_out_of": {
                "n": n.n,
                "rules": n.rules.iter().map(describe_rule).collect::<Vec<_>>(),
            }
        }),
        None => Value::Null,
    }
}

fn describe_principal(p: &cb::MspPrincipal) -> Result<Value, GenesisError> {
    use cb::msp_principal::Classification;
    let principal = if p.principal_classification == Classification::Role as i32 {
        let role: cb::MspRole = decode(&p.principal, "MSPRole")?;
        json!({
            "msp_identifier": role.msp_identifier,
            "role": enum_name(role.role, |r: cb::msp_role::MspRoleType| r.as_str_name()),
        })
    } else {
        Value::String(hex::encode(&p.principal))
    };
    Ok(json!({
        "principal_classification": enum_name(p.principal_classification, |c: Classification| c.as_str_name()),
        "principal": principal,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for (ms, want) in [
            (0, "0s"),
            (1, "1ms"),
            (250, "250ms"),
            (999, "999ms"),
            (1000, "1s"),
            (1500, "1.5s"),
            (1001, "1.001s"),
            (1250, "1.25s"),
            (2000, "2s"),
            (60_000, "1m0s"),
            (90_500, "1m30.5s"),
            (3_600_000, "1h0m0s"),
            (3_661_000, "1h1m1s"),
        ] {
            assert_eq!(go_duration_ms(ms), want, "{ms} ms");
        }
    }

    #[test]
    fn or_policy_matches_policydsl_bytes() {
        // policydsl.FromString("OR('A.member')"), marshalled by Go:
        // SignaturePolicyEnvelope{rule: NOutOf{n:1, rules:[SignedBy(0)]},
        // identities: [{ROLE, MSPRole{"A", MEMBER}}]}.
        let mut g = Group::new();
        g.signature("P", "A", &[Role::Member]);
        let value = &g.0.policies["P"].policy.as_ref().expect("policy").value;
        let want: Vec<u8> = vec![
            0x12, 0x08, // rule: SignaturePolicy, 8 bytes
            0x12, 0x06, // n_out_of, 6 bytes
            0x08, 0x01, // n = 1
            0x12, 0x02, 0x08, 0x00, // rules[0] = signed_by 0
            0x1a, 0x05, // identities[0], 5 bytes
            0x12, 0x03, // principal, 3 bytes (classification ROLE = 0 omitted)
            0x0a, 0x01, b'A', // MSPRole.msp_identifier = "A" (role MEMBER = 0 omitted)
        ];
        assert_eq!(value, &want);
    }

    #[test]
    fn metadata_layout() {
        assert_eq!(METADATA_ENTRIES, 5);
        assert_eq!(SIGNATURES_INDEX, 0);
        assert_eq!(LAST_CONFIG_INDEX, 1);
    }
}
