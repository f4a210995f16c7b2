//! Reconciling a running network with fabdev.yaml, the pure part: what the
//! last `up` applied ([`AppliedState`], kept as `.fabdev/applied.json`) and
//! the plan that takes it to the workspace ([`plan`]): what is added,
//! changed and removed, and what is refused with the reason and what to do
//! instead. A plan with a refusal is applied not at all, so nothing is
//! half-applied. Rendering is [`Plan::text`] and the plan's serde JSON.
//!
//! The channel changes of a plan are config updates (`configtx`); the
//! policy each one must be signed for is the one Fabric's orderer checks
//! for the elements it modifies (checked for every kind of change by the
//! recorded config-update vectors, `tests/config_update_vectors.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::{BatchSize, Consensus, StateDatabase, Workspace};
use crate::topology::Topology;

mod action;
mod plan;

pub use action::Action;
pub use plan::{Plan, Refusal, plan};

/// The file in `.fabdev/` that records what the last `up` applied.
pub const APPLIED_FILE: &str = "applied.json";
/// The format of [`AppliedState`] this fabdev writes and reads.
pub const APPLIED_FORMAT: u32 = 1;

/// Why an applied state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot read what the last `up` applied ({APPLIED_FILE})")]
    Parse {
        #[source]
        source: serde_json::Error,
    },
    #[error("{APPLIED_FILE} has format {found}, this fabdev reads format {APPLIED_FORMAT}")]
    Format { found: u32 },
}

impl ReconcileError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            ReconcileError::Parse { .. } => Some(format!(
                "if the network is gone, remove .fabdev/{APPLIED_FILE}; else `fabdev down` and `fabdev up` start over"
            )),
            ReconcileError::Format { .. } => Some(
                "use the fabdev that wrote it, or `fabdev down` and `fabdev up` to start over"
                    .to_string(),
            ),
        }
    }
}

/// What the last successful `up` applied: the parts of the workspace that
/// a running network cannot simply be re-rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedState {
    pub format: u32,
    /// `fabric.version` as written, and its major version.
    pub fabric: String,
    pub fabric_major: u32,
    pub batch_timeout_ms: u32,
    /// `fabric.batchSize`; a state written before fabdev read it has the
    /// default, which is what that `up` applied.
    #[serde(default)]
    pub batch_size: BatchSize,
    pub orderer: AppliedOrderer,
    pub orgs: Vec<AppliedOrg>,
    pub channels: Vec<AppliedChannel>,
    pub chaincodes: Vec<AppliedChaincode>,
    /// Each node's block of host ports (`Topology::with_slots`), by name,
    /// so that nodes added later leave the others' ports where they are.
    #[serde(default)]
    pub slots: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOrderer {
    pub org: String,
    pub msp_id: String,
    pub count: u32,
    /// `raft` or `bft`.
    pub consensus: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOrg {
    pub name: String,
    pub msp_id: String,
    pub peers: u32,
    /// `leveldb` or `couchdb`.
    pub state_database: String,
    /// The indexes of its anchor peers; a state written before fabdev read
    /// `anchorPeers` has peer0, which is what that `up` applied.
    #[serde(default = "crate::spec::PeerOrg::default_anchor_peers")]
    pub anchor_peers: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedChannel {
    pub name: String,
    pub orgs: Vec<String>,
}

/// A chaincode definition committed by `up`, and the MSP IDs it names (in
/// its signature policy and its collections' policies): those orgs cannot
/// leave its channel while it names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedChaincode {
    pub name: String,
    pub channel: String,
    pub msp_ids: Vec<String>,
}

fn consensus_name(c: Consensus) -> String {
    c.as_str().to_string()
}

fn state_database_name(s: StateDatabase) -> String {
    match s {
        StateDatabase::Leveldb => "leveldb",
        StateDatabase::Couchdb => "couchdb",
    }
    .to_string()
}

impl AppliedState {
    /// What `up` records once it has applied `ws` as `topo`'s nodes.
    pub fn of(ws: &Workspace, topo: &Topology) -> AppliedState {
        AppliedState {
            format: APPLIED_FORMAT,
            fabric: ws.fabric.tag.clone(),
            fabric_major: ws.fabric.major,
            batch_timeout_ms: ws.batch_timeout_ms,
            batch_size: ws.batch_size,
            orderer: AppliedOrderer {
                org: ws.orderer.name.clone(),
                msp_id: ws.orderer.msp_id.clone(),
                count: ws.orderer.count,
                consensus: consensus_name(ws.orderer.consensus),
            },
            orgs: ws
                .orgs
                .iter()
                .map(|o| AppliedOrg {
                    name: o.name.clone(),
                    msp_id: o.msp_id.clone(),
                    peers: o.peers,
                    state_database: state_database_name(o.state_database),
                    anchor_peers: o.anchor_peers.clone(),
                })
                .collect(),
            channels: ws
                .channels
                .iter()
                .map(|c| AppliedChannel {
                    name: c.name.clone(),
                    orgs: c.orgs.clone(),
                })
                .collect(),
            chaincodes: ws.chaincodes.iter().map(AppliedChaincode::of).collect(),
            slots: topo.slots(),
        }
    }

    /// What `up` records once it has applied `ws`, keeping from the record
    /// before it (`before`) the chaincodes fabdev.yaml does not list, such
    /// as those `fabdev chaincode deploy --path` deployed: their
    /// definitions stay committed on their channels.
    pub fn after(before: Option<&AppliedState>, ws: &Workspace, topo: &Topology) -> AppliedState {
        let mut now = AppliedState::of(ws, topo);
        for cc in before.map(|b| b.chaincodes.as_slice()).unwrap_or_default() {
            if !now
                .chaincodes
                .iter()
                .any(|c| c.name == cc.name && c.channel == cc.channel)
            {
                now.chaincodes.push(cc.clone());
            }
        }
        now
    }

    /// The record with `cc` committed: it replaces the chaincode of its
    /// name on its channel, or is added.
    pub fn record_chaincode(&mut self, cc: AppliedChaincode) {
        match self
            .chaincodes
            .iter_mut()
            .find(|c| c.name == cc.name && c.channel == cc.channel)
        {
            Some(c) => *c = cc,
            None => self.chaincodes.push(cc),
        }
    }

    /// The JSON `up` writes.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and lists always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads what `up` wrote.
    pub fn from_json(text: &str) -> Result<AppliedState, ReconcileError> {
        #[derive(Deserialize)]
        struct Head {
            format: u32,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|source| ReconcileError::Parse { source })?;
        if head.format != APPLIED_FORMAT {
            return Err(ReconcileError::Format { found: head.format });
        }
        serde_json::from_str(text).map_err(|source| ReconcileError::Parse { source })
    }
}

impl AppliedChaincode {
    /// A chaincode as fabdev.yaml (or `chaincode deploy --path`) declares
    /// it, once committed.
    pub fn of(cc: &crate::spec::Chaincode) -> AppliedChaincode {
        AppliedChaincode {
            name: cc.name.clone(),
            channel: cc.channel.clone(),
            msp_ids: chaincode_msp_ids(cc),
        }
    }
}

/// The MSP IDs a chaincode's definition names, sorted, without repeats.
fn chaincode_msp_ids(cc: &crate::spec::Chaincode) -> Vec<String> {
    use crate::policy::EndorsementPolicy;
    let mut ids = std::collections::BTreeSet::new();
    if let Some(EndorsementPolicy::Signature { policy, .. }) = &cc.endorsement {
        ids.extend(policy.msp_ids().into_iter().map(str::to_string));
    }
    if let Some(c) = &cc.collections {
        for col in &c.collections {
            ids.extend(col.policy.msp_ids().into_iter().map(str::to_string));
            if let Some(EndorsementPolicy::Signature { policy, .. }) = &col.endorsement_policy {
                ids.extend(policy.msp_ids().into_iter().map(str::to_string));
            }
        }
    }
    ids.into_iter().collect()
}
