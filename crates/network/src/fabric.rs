//! The one seam between fabdev and the `fabric-sdk` crate's protocol buffers.
//!
//! Every other module names Fabric messages through these re-exports, never
//! through `fabric_sdk` directly, so a change of SDK (or of its generated
//! code) touches this file only. Each module is named after the proto
//! package it holds. (The SDK's clients — gRPC, osnadmin, identities — are
//! used by `channel/` only.)
//!
//! Determinism: in the SDK's generated code only the `ConfigGroup` /
//! `ConfigUpdate` maps are `BTreeMap`s (sorted, so encoding is stable); other
//! map fields, such as `Capabilities.capabilities`, are `HashMap`s whose
//! encoding order varies between runs. Callers that need stable bytes keep
//! those maps to one entry (see [`capabilities`]).

/// `common`: blocks, envelopes, headers, the config tree, policies, MSP
/// principals (the proto package `common` holds `msp_principal.proto` too).
pub use fabric_sdk::fabric::common;
/// `etcdraft`: Raft consenters and options (`ConsensusType.metadata`).
pub use fabric_sdk::fabric::etcdraft;
/// `lifecycle`: the `_lifecycle` system chaincode's arguments and results.
pub use fabric_sdk::fabric::lifecycle;
/// `msp`: MSP configuration and serialized identities.
pub use fabric_sdk::fabric::msp;
/// `orderer`: BatchSize, BatchTimeout, ConsensusType, ChannelRestrictions.
pub use fabric_sdk::fabric::orderer;
/// `peer` (Fabric's `protos` package): AnchorPeers, ACLs, proposals, CSCC
/// answers.
pub use fabric_sdk::fabric::protos as peer;
/// `orderer.smartbft`: SmartBFT options (`ConsensusType.metadata` of a BFT
/// channel).
pub use fabric_sdk::fabric::smartbft;
/// Encoding and decoding of every message above.
pub use prost::{DecodeError, Message};

// The Go import names these modules had before (Fabric's own `cb`, `mb`,
// `ab`, `pb`), kept while branches that use them are merged.
#[doc(hidden)]
pub use self::{common as cb, msp as mb, orderer as ab, peer as pb};

/// Encode a message to its wire bytes.
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    msg.encode_to_vec()
}

/// A `Capabilities` value with exactly one capability, so that its
/// `HashMap` encodes the same bytes every time.
pub fn capabilities(name: &str) -> common::Capabilities {
    let mut caps = common::Capabilities::default();
    caps.capabilities
        .insert(name.to_string(), common::Capability::default());
    caps
}
