//! The genesis block of an application channel: what `configtxgen
//! -outputBlock` makes from a channel profile, built here from the workspace,
//! its topology and its crypto material, with no Fabric binary.
//!
//! Building is pure: [`genesis_block_from`] takes the certificates and MSP
//! files as bytes, in a [`CryptoView`] read from the crypto folder once
//! ([`CryptoView::read`]); [`genesis_block`] and [`genesis_block_with`] do
//! both. Decoding a block back, for tests and comparison with
//! configtxlator, is [`describe_block`] (`genesis/describe.rs`).
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
//!     Raft options; on a BFT channel (Fabric 3) an `Orderers` consenter
//!     mapping, ConsensusType `BFT` and a quorum BlockValidation policy
//!     instead (`genesis/bft.rs`). One subgroup per orderer org with MSP, Endpoints
//!     (every orderer's `<node>:7050`) and Signature policies Readers and
//!     Writers `OR('<msp>.member')`, Admins `OR('<msp>.admin')`.
//!   - `Application`: policies Readers, Writers (ANY), Admins (MAJORITY),
//!     LifecycleEndorsement and Endorsement (MAJORITY Endorsement);
//!     Capabilities V2_5; no ACLs value (the peer then applies its built-in
//!     defaults, `core/aclmgmt/defaultaclprovider.go`, which are the same as
//!     sampleconfig's ACLs). One subgroup per channel org with MSP,
//!     AnchorPeers (its `anchorPeers`, peer0 by default, on 7051) and policies Readers
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

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::fabric::{self, common, etcdraft};
use crate::pki::{CryptoDir, PkiError};
pub use crate::spec::BatchSize;
use crate::spec::{Consensus, Workspace, check_channel_name};
use crate::topology::{Node, Topology, ports};

mod bft;
mod crypto;
mod describe;
mod group;

pub use bft::{BftOptions, CONSENSUS_BFT, bft_quorum};
pub use crypto::{CryptoView, Folder};
pub use describe::describe_block;

use crypto::Files;
use group::{Group, Role, Rule};

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
/// The consensus type of a Raft channel (`orderer.consensus: raft`).
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
    pub raft: RaftOptions,
    /// SmartBFT options, for `orderer.consensus: bft`.
    pub bft: BftOptions,
}

impl GenesisOptions {
    /// The channel with default Raft and SmartBFT options (the batch size
    /// and timeout are the workspace's, `fabric:` in fabdev.yaml).
    pub fn new(channel: impl Into<String>) -> Self {
        GenesisOptions {
            channel: channel.into(),
            raft: RaftOptions::default(),
            bft: BftOptions::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a genesis block could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("channel {channel:?}: {problem}")]
    InvalidChannelName { channel: String, problem: String },

    #[error("channel {channel:?} is not defined in the workspace (its channels: {known})")]
    UnknownChannel { channel: String, known: String },

    #[error("channel {channel}: org {org:?} is not a peer org of the workspace")]
    UnknownOrg { channel: String, org: String },

    #[error(
        "channel {channel}: the workspace has no orderers, so the channel would have no Raft consenters"
    )]
    NoOrderers { channel: String },

    #[error(
        "channel {channel}: cannot read the {what} of {org} at {}",
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
        "channel {channel}: the {what} of {org} at {} is unusable: {problem}",
        path.display()
    )]
    BadCrypto {
        channel: String,
        org: String,
        what: String,
        path: PathBuf,
        problem: String,
    },

    #[error(transparent)]
    ReadCrypto(#[from] PkiError),

    #[error("cannot decode {what}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },
}

impl GenesisError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            GenesisError::InvalidChannelName { .. } => Some("rename the channel in fabdev.yaml".to_string()),
            GenesisError::UnknownChannel { .. } => Some("add it under `channels:` in fabdev.yaml, or use one of those".to_string()),
            GenesisError::UnknownOrg { .. } => Some("list only orgs from `orgs:` in the channel's `orgs`".to_string()),
            GenesisError::NoOrderers { .. } => Some("set `orderer.count` to 1 or more in fabdev.yaml".to_string()),
            GenesisError::Crypto { .. } => Some("generate the crypto material first (`fabdev render` or `fabdev up` writes it under .fabdev/crypto)".to_string()),
            GenesisError::BadCrypto { .. } => Some("delete the org's crypto folder to have it regenerated, or run `fabdev down --purge` to start over".to_string()),
            GenesisError::ReadCrypto(e) => e.hint(),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

/// The encoded genesis block (`common.Block`) of `channel`, with default
/// options, from the crypto folder.
pub fn genesis_block(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    channel: &str,
) -> Result<Vec<u8>, GenesisError> {
    genesis_block_with(ws, topo, crypto, &GenesisOptions::new(channel))
}

/// The encoded genesis block (`common.Block`) of `opts.channel`, from the
/// crypto folder: [`CryptoView::read`], then [`genesis_block_from`].
pub fn genesis_block_with(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    opts: &GenesisOptions,
) -> Result<Vec<u8>, GenesisError> {
    let view = CryptoView::read(ws, topo, crypto)?;
    genesis_block_from(ws, topo, &view, opts)
}

/// The encoded genesis block (`common.Block`) of `opts.channel`, from
/// crypto material already read: no file system access.
pub fn genesis_block_from(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoView,
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
    crypto: &CryptoView,
    opts: &GenesisOptions,
) -> Result<common::ConfigGroup, GenesisError> {
    let channel = opts.channel.as_str();
    check_channel_name(channel).map_err(|problem| GenesisError::InvalidChannelName {
        channel: channel.to_string(),
        problem: problem.message,
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
        &fabric::orderer::BatchSize {
            max_message_count: ws.batch_size.max_message_count,
            absolute_max_bytes: ws.batch_size.absolute_max_bytes,
            preferred_max_bytes: ws.batch_size.preferred_max_bytes,
        },
    );
    orderer.value(
        BATCH_TIMEOUT,
        &fabric::orderer::BatchTimeout {
            timeout: go_duration_ms(ws.batch_timeout_ms),
        },
    );
    orderer.value(
        CHANNEL_RESTRICTIONS,
        &fabric::orderer::ChannelRestrictions { max_count: 0 },
    );
    orderer.value(CAPABILITIES, &fabric::capabilities(ORDERER_CAPABILITY));
    let mut consenters = Vec::with_capacity(orderers.len());
    for node in &orderers {
        let what = format!("TLS certificate of {}", node.name);
        let tls = crypto.node_tls(&node.name);
        let cert = files.cert(&node.org, &what, &tls, "server.crt")?;
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
        &fabric::orderer::ConsensusType {
            r#type: CONSENSUS_ETCDRAFT.to_string(),
            metadata: fabric::encode(&raft),
            state: fabric::orderer::consensus_type::State::Normal as i32,
        },
    );
    if ws.orderer.consensus == Consensus::Bft {
        // Replaces the Raft ConsensusType and the BlockValidation policy.
        bft::orderer_values(&mut orderer, ws, &orderers, &files, opts)?;
    }
    let mut orderer_org = Group::new();
    let msp_id = ws.orderer.msp_id.as_str();
    orderer_org.signature(READERS, msp_id, &[Role::Member]);
    orderer_org.signature(WRITERS, msp_id, &[Role::Member]);
    orderer_org.signature(ADMINS, msp_id, &[Role::Admin]);
    orderer_org.value(MSP, &files.msp_config(&ws.orderer.name, msp_id)?);
    orderer_org.value(
        ENDPOINTS,
        &common::OrdererAddresses {
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
        // The org's anchor peers in fabdev.yaml's order; like configtxgen,
        // no AnchorPeers value when there is no anchor.
        let anchors: Vec<fabric::peer::AnchorPeer> = org
            .anchor_peers
            .iter()
            .filter_map(|i| topo.peers_of(&org.name).find(|n| n.index == *i))
            .map(|n| fabric::peer::AnchorPeer {
                host: n.name.clone(),
                port: i32::from(ports::PEER),
            })
            .collect();
        if !anchors.is_empty() {
            g.value(
                ANCHOR_PEERS,
                &fabric::peer::AnchorPeers {
                    anchor_peers: anchors,
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
        &common::HashingAlgorithm {
            name: "SHA256".to_string(),
        },
    );
    root.value(
        BLOCK_DATA_HASHING_STRUCTURE,
        &common::BlockDataHashingStructure { width: u32::MAX },
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
fn block(channel: &str, channel_group: common::ConfigGroup) -> common::Block {
    let config = fabric::encode(&common::ConfigEnvelope {
        config: Some(common::Config {
            sequence: 0,
            channel_group: Some(channel_group),
        }),
        last_update: None,
    });
    let signature_header = common::SignatureHeader {
        creator: Vec::new(),
        nonce: derived_nonce(channel, &config),
    };
    let tx_id = hex::encode(
        Sha256::new()
            .chain_update(&signature_header.nonce)
            .chain_update(&signature_header.creator)
            .finalize(),
    );
    let channel_header = common::ChannelHeader {
        r#type: common::HeaderType::Config as i32,
        version: GENESIS_MSG_VERSION,
        timestamp: None,
        channel_id: channel.to_string(),
        tx_id,
        epoch: 0,
        extension: Vec::new(),
        tls_cert_hash: Vec::new(),
    };
    let payload = common::Payload {
        header: Some(common::Header {
            channel_header: fabric::encode(&channel_header),
            signature_header: fabric::encode(&signature_header),
        }),
        data: config,
    };
    let envelope = common::Envelope {
        payload: fabric::encode(&payload),
        signature: Vec::new(),
    };
    let data = vec![fabric::encode(&envelope)];
    let data_hash = Sha256::digest(data.concat()).to_vec();

    let mut metadata = vec![Vec::new(); METADATA_ENTRIES];
    metadata[SIGNATURES_INDEX] = fabric::encode(&common::Metadata {
        value: fabric::encode(&common::OrdererBlockMetadata {
            last_config: Some(common::LastConfig { index: 0 }),
            consenter_metadata: Vec::new(),
        }),
        signatures: Vec::new(),
    });
    metadata[LAST_CONFIG_INDEX] = fabric::encode(&common::Metadata {
        value: fabric::encode(&common::LastConfig { index: 0 }),
        signatures: Vec::new(),
    });

    common::Block {
        header: Some(common::BlockHeader {
            number: 0,
            previous_hash: Vec::new(),
            data_hash,
        }),
        data: Some(common::BlockData { data }),
        metadata: Some(common::BlockMetadata { metadata }),
    }
}

/// One metadata entry per `BlockMetadataIndex` value (`protoutil.NewBlock`).
const METADATA_ENTRIES: usize = common::BlockMetadataIndex::CommitHash as usize + 1;
const SIGNATURES_INDEX: usize = common::BlockMetadataIndex::Signatures as usize;
#[allow(deprecated)] // Fabric still writes it in genesis blocks.
const LAST_CONFIG_INDEX: usize = common::BlockMetadataIndex::LastConfig as usize;

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
