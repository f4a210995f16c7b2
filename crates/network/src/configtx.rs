//! Channel configuration updates, computed natively: what `configtxlator
//! compute_update` does, and what the orderer then does with the update.
//!
//! All of it is pure (values in, values out):
//!
//! - [`compute_update`] (`configtx/update.rs`): from the channel's current
//!   `Config` and the wanted one, the `ConfigUpdate` whose read set names
//!   the versions it depends on and whose write set carries the changes,
//!   exactly as Fabric's `internal/configtxlator/update` computes it
//!   (checked against the real `configtxlator` by the recorded
//!   config-update vectors, `scripts/record/config-update-vectors.sh`).
//! - [`apply_update`] (`configtx/apply.rs`): the config the orderer makes
//!   from a current config and an update (`common/configtx`: the read set's
//!   versions checked, the delta set's versions checked, the delta merged
//!   into the config), and [`modified_items`], the existing elements an
//!   update modifies, whose mod_policy must be satisfied by its signatures.
//! - [`with_parameters`] (`configtx/params.rs`): the wanted config of a
//!   channel-parameter change (batch timeout, batch size, anchor peers):
//!   the live config with those values as fabdev's config from fabdev.yaml
//!   has them, nothing else changed; [`with_consenters`] likewise for the
//!   consenter set (an orderer added or removed).
//! - [`ConfigMap`] (`configtx/map.rs`): a config tree as Fabric's flat map
//!   of `[Group]  /Channel/Application`-style keys, and the differences
//!   between two trees as a list of such keys.

use crate::fabric::{Message, common};

mod apply;
mod map;
mod org;
mod params;
mod update;

pub use apply::{ModifiedItem, apply_update, modified_items};
pub use map::{ConfigMap, Item, ItemKind, differences};
pub use org::{APPLICATION, application_orgs, with_orgs};
pub use params::{
    ANCHOR_PEERS, CONSENTER_VALUES, ENDPOINTS, ORDERER_PARAMETERS, with_consenters, with_parameters,
};
pub use update::compute_update;

/// The root group's key in Fabric's config map (`channelconfig.RootGroupKey`).
pub const ROOT_GROUP: &str = "Channel";

/// Why a config update could not be computed or applied.
#[derive(Debug, thiserror::Error)]
pub enum ConfigTxError {
    #[error("the {which} config has no channel group")]
    NoChannelGroup { which: &'static str },

    #[error(
        "no differences between the channel's current config and the wanted one: there is nothing to update"
    )]
    NoDifferences,

    #[error("config key {key:?} at {path}: {problem}")]
    BadKey {
        path: String,
        key: String,
        problem: String,
    },

    #[error(
        "the update's read set needs {key} at version {wanted}, but the config has {}",
        match found { Some(v) => format!("version {v}"), None => "no such element".to_string() }
    )]
    StaleReadSet {
        key: String,
        wanted: u64,
        found: Option<u64>,
    },

    #[error(
        "the update sets {key} to version {wanted}, but {}",
        match found { Some(v) => format!("it is at version {v} (an update must raise it by one)"), None => "it does not exist (a new element starts at version 0)".to_string() }
    )]
    BadVersion {
        key: String,
        wanted: u64,
        found: Option<u64>,
    },

    #[error("the {which} config has no group {path}")]
    NoGroup { which: &'static str, path: String },

    #[error("the update changes nothing (its delta set is empty)")]
    EmptyDelta,

    #[error("{key} has no mod_policy")]
    NoModPolicy { key: String },

    #[error("the config after the update lacks {key}, which its parent group lists")]
    Missing { key: String },

    #[error("the update is for channel {update:?}, not {channel:?}")]
    WrongChannel { update: String, channel: String },

    #[error("not a config block: {problem}")]
    NotAConfigBlock { problem: &'static str },

    #[error("cannot decode {what}")]
    Decode {
        what: String,
        #[source]
        source: prost::DecodeError,
    },
}

impl ConfigTxError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigTxError::StaleReadSet { .. } => Some("the channel changed since the update was computed; read its config again and recompute the update".to_string()),
            _ => None,
        }
    }
}

/// Decodes a message, naming it in the error.
pub fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, ConfigTxError> {
    M::decode(bytes).map_err(|source| ConfigTxError::Decode {
        what: what.to_string(),
        source,
    })
}

/// The `Config` inside a config block (`common.Block` bytes): the one
/// envelope's payload's `ConfigEnvelope.config`, as `configtxlator
/// proto_decode` then `jq .data.data[0].payload.data.config` gives it.
pub fn config_from_block(block: &[u8]) -> Result<common::Config, ConfigTxError> {
    let block: common::Block = decode(block, "block")?;
    let env = block.data.and_then(|d| d.data.into_iter().next()).ok_or(
        ConfigTxError::NotAConfigBlock {
            problem: "it holds no envelope",
        },
    )?;
    let env: common::Envelope = decode(&env, "envelope of the config block")?;
    let payload: common::Payload = decode(&env.payload, "payload of the config block")?;
    let ce: common::ConfigEnvelope = decode(&payload.data, "config envelope")?;
    ce.config.ok_or(ConfigTxError::NotAConfigBlock {
        problem: "its config envelope holds no config",
    })
}
