//! One change of a plan: what it adds, changes or removes, the policies
//! its config update is signed for, and its line of text.

use serde::Serialize;

use crate::genesis::go_duration_ms;
use crate::spec::BatchSize;

/// One change a plan applies, in the order it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// An org new to the network: its crypto (CA, TLS CA, admin, users,
    /// peers) and its peers' pods.
    AddOrg {
        org: String,
        msp_id: String,
        peers: u32,
    },
    /// A peer added to an org already running: crypto for it only, its
    /// pod, a join of each of the org's channels, and every chaincode
    /// committed there installed on it.
    AddPeer { org: String, peer: String },
    /// An application channel new to the network: genesis block, orderer
    /// and peer joins, as `up` has always made them.
    AddChannel { channel: String, orgs: Vec<String> },
    /// An org added to a channel: a config update signed for
    /// `/Channel/Application/Admins`, then its peers join, install the
    /// channel's chaincodes and approve their committed definitions.
    AddOrgToChannel { channel: String, org: String },
    /// An org taken off a channel: a config update signed for
    /// `/Channel/Application/Admins`.
    RemoveOrgFromChannel { channel: String, org: String },
    /// The orderers' batch timeout of every channel: a config update signed
    /// for `/Channel/Orderer/Admins` per channel.
    ChangeBatchTimeout {
        channels: Vec<String>,
        from_ms: u32,
        to_ms: u32,
    },
    /// The orderers' batch size of every channel: a config update signed
    /// for `/Channel/Orderer/Admins` per channel. An action of its own
    /// (not one "orderer parameters" action) so that the plan names exactly
    /// what changes; a batch timeout and size changed together still make
    /// one config update per channel (`up`'s `config update` step).
    ChangeBatchSize {
        channels: Vec<String>,
        from: BatchSize,
        to: BatchSize,
    },
    /// An org's anchor peers on every running channel it is on: a config
    /// update signed for `/Channel/Application/<org>/Admins` (the org's own
    /// admin) per channel, in the same update as the channels' other
    /// parameter changes.
    ChangeAnchorPeers {
        org: String,
        channels: Vec<String>,
        /// Peer names (`peer0-org1`), in fabdev.yaml's order.
        from: Vec<String>,
        to: Vec<String>,
    },
    /// An orderer added: its crypto and pod, the consenter set of every
    /// channel updated (`/Channel/Orderer/Admins` and the orderer org's
    /// Admins, for its endpoint), then it joins each channel through the
    /// channel participation API with the latest config block.
    AddOrderer { orderer: String },
    /// An orderer removed: the consenter set update in reverse, then its
    /// pod goes.
    RemoveOrderer { orderer: String },
    /// An org that left every channel and the network: its pods go.
    RemoveOrg { org: String },
}

impl Action {
    /// `add`, `change` or `remove`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AddOrg { .. }
            | Action::AddPeer { .. }
            | Action::AddChannel { .. }
            | Action::AddOrgToChannel { .. }
            | Action::AddOrderer { .. } => "add",
            Action::ChangeBatchTimeout { .. }
            | Action::ChangeBatchSize { .. }
            | Action::ChangeAnchorPeers { .. } => "change",
            Action::RemoveOrgFromChannel { .. }
            | Action::RemoveOrderer { .. }
            | Action::RemoveOrg { .. } => "remove",
        }
    }

    /// The channel config policies the action's updates are signed for
    /// (none for actions without a config update).
    pub fn signed_for(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            Action::AddOrgToChannel { .. } | Action::RemoveOrgFromChannel { .. } => {
                &["/Channel/Application/Admins"]
            }
            Action::ChangeBatchTimeout { .. } | Action::ChangeBatchSize { .. } => {
                &["/Channel/Orderer/Admins"]
            }
            Action::AddOrderer { .. } | Action::RemoveOrderer { .. } => &[
                "/Channel/Orderer/Admins",
                "/Channel/Orderer/<orderer org>/Admins",
            ],
            Action::ChangeAnchorPeers { org, .. } => {
                return vec![format!("/Channel/Application/{org}/Admins")];
            }
            _ => &[],
        };
        fixed.iter().map(|p| p.to_string()).collect()
    }

    /// One line: what changes.
    pub fn describe(&self) -> String {
        match self {
            Action::AddOrg { org, msp_id, peers } => {
                format!("org {org} ({msp_id}, {peers} peer{})", plural(*peers))
            }
            Action::AddPeer { org, peer } => format!("peer {peer} of {org}"),
            Action::AddChannel { channel, orgs } => {
                format!("channel {channel} ({})", orgs.join(", "))
            }
            Action::AddOrgToChannel { channel, org } => format!("{org} on channel {channel}"),
            Action::RemoveOrgFromChannel { channel, org } => {
                format!("{org} off channel {channel}")
            }
            Action::ChangeBatchTimeout {
                channels,
                from_ms,
                to_ms,
            } => format!(
                "batch timeout {} -> {} on {}",
                go_duration_ms(*from_ms),
                go_duration_ms(*to_ms),
                channels.join(", ")
            ),
            Action::ChangeBatchSize { channels, from, to } => format!(
                "batch size {} -> {} on {}",
                batch_size(from),
                batch_size(to),
                channels.join(", ")
            ),
            Action::ChangeAnchorPeers {
                org,
                channels,
                from,
                to,
            } => format!(
                "anchor peers of {org} {} -> {} on {}",
                peer_list(from),
                peer_list(to),
                channels.join(", ")
            ),
            Action::AddOrderer { orderer } => format!("orderer {orderer} (consenter)"),
            Action::RemoveOrderer { orderer } => format!("orderer {orderer} (consenter)"),
            Action::RemoveOrg { org } => format!("org {org} and its peers"),
        }
    }
}

/// `[peer0-org1, peer1-org1]`, `[]` for none.
fn peer_list(peers: &[String]) -> String {
    format!("[{}]", peers.join(", "))
}

/// `10 msgs/99 MiB/512 KiB`: max message count, absolute and preferred
/// max bytes.
fn batch_size(b: &BatchSize) -> String {
    format!(
        "{} msgs/{}/{}",
        b.max_message_count,
        bytes(b.absolute_max_bytes),
        bytes(b.preferred_max_bytes)
    )
}

/// Bytes in MiB or KiB when whole, else in bytes.
fn bytes(n: u32) -> String {
    const KIB: u32 = 1024;
    const MIB: u32 = 1024 * 1024;
    if n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}
