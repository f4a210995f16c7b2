//! The errors of channel operations: [`ChannelError`], each naming the
//! node (and the address dialled), and the names of Fabric's statuses.

use std::path::PathBuf;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of channel operations. Each names the node (and the address
/// dialled) and says what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The channel is not in the workspace spec.
    #[error("channel `{channel}` is not in the workspace (its channels: {known})")]
    UnknownChannel { channel: String, known: String },

    /// The operation does not apply to this node (a peer given to an
    /// orderer call, or the reverse).
    #[error("{node}: {problem}")]
    WrongNode { node: String, problem: String },

    /// No endpoint is known for the node.
    #[error("{node}: no {what} endpoint is known for this node")]
    NoEndpoint { node: String, what: &'static str },

    /// The endpoint is not a `host:port` that TLS can verify.
    #[error("{node}: bad endpoint `{address}`: {problem}")]
    BadEndpoint {
        node: String,
        address: String,
        problem: String,
    },

    /// A certificate or key is missing or unusable.
    #[error(
"{node}: {what} {}: {problem}", path.display())]
    Crypto {
        node: String,
        /// What the file is: `TLS CA certificate`, `Org1 Admin signing private key`...
        what: String,
        path: PathBuf,
        problem: String,
        #[source]
        source: Option<BoxError>,
    },

    /// Nothing accepts connections at the address.
    #[error("{node}: cannot connect to {address}")]
    Unreachable {
        node: String,
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// The TLS handshake (or the client's TLS set-up) failed.
    #[error("{node}: TLS with {address} failed: {message}")]
    Tls {
        node: String,
        address: String,
        message: String,
        hint: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The connection broke or the request failed below the application.
    #[error("{node}: request to {address} failed: {message}")]
    Transport {
        node: String,
        address: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The orderer's channel participation API answered with an error.
    #[error("{node}: the orderer at {address} refused {action}: HTTP {status}: {body}")]
    OrdererRejected {
        node: String,
        address: String,
        action: String,
        status: u16,
        body: String,
    },

    /// The peer answered the proposal with an error status.
    #[error("{node}: the peer at {address} refused {action}: status {status}: {message}")]
    PeerRejected {
        node: String,
        address: String,
        action: String,
        status: i32,
        message: String,
    },

    /// The node does not accept the identity used as an admin.
    #[error("{node}: the peer at {address} does not accept {identity} for {action}: {message}")]
    NotAdmin {
        node: String,
        address: String,
        /// `Admin@org1 (Org1MSP)`.
        identity: String,
        action: String,
        message: String,
    },

    /// The node did not answer in time.
    #[error("{node}: timed out after {} waiting for {what} ({address})", fmt_duration(*after))]
    Timeout {
        node: String,
        address: String,
        what: String,
        after: Duration,
    },

    /// The node answered with something that is not the expected answer.
    #[error("{node}: unexpected answer from {address} to {action}: {message}")]
    BadResponse {
        node: String,
        address: String,
        action: String,
        message: String,
    },

    /// A channel's orderers elected no Raft leader in time
    /// ([`ordering::wait_for_leader`]).
    #[error(
        "channel {channel}: the ordering service has no Raft leader after {}: {state}",
        fmt_duration(*after)
    )]
    NoLeader {
        channel: String,
        after: Duration,
        /// What each orderer reported last.
        state: String,
    },

    /// The ordering service refused a transaction for want of a Raft
    /// leader (or no orderer could be reached), again and again until the
    /// deadline; nothing was ordered.
    #[error(
        "{node}: the ordering service of channel {channel} did not accept {action} within {}: {message}",
        fmt_duration(*after)
    )]
    OrderingUnavailable {
        node: String,
        channel: String,
        action: String,
        after: Duration,
        message: String,
    },

    /// An org admin's signing identity could not be set up.
    #[error("{org} Admin: cannot set up the signing identity")]
    Signer {
        org: String,
        #[source]
        source: BoxError,
    },

    /// A config update or the config it starts from is not what it must be.
    #[error("channel {channel}: {problem}")]
    BadUpdate { channel: String, problem: String },

    /// The config update could not be computed from the two configs.
    #[error("channel {channel}: cannot compute the config update")]
    ConfigTx {
        channel: String,
        #[source]
        source: crate::configtx::ConfigTxError,
    },

    /// No set of org admins satisfies a policy the update must satisfy.
    #[error("channel {channel}: no org admins can sign for policy {policy}: {problem}")]
    PolicyUnsatisfiable {
        channel: String,
        policy: String,
        problem: String,
    },

    /// A policy needs an admin of an MSP that no org of the workspace has.
    #[error(
        "channel {channel}: the update must be signed by an admin of {msp_id}, which is no org of fabdev.yaml"
    )]
    NoSigner { channel: String, msp_id: String },

    /// The orderer refused a config update (Broadcast answered a status
    /// other than SUCCESS); nothing changed.
    #[error(
        "{node}: the orderer at {address} refused the config update of channel {channel}: {}: {info}",
        status_name(*status)
    )]
    UpdateRefused {
        node: String,
        address: String,
        channel: String,
        /// Fabric's status (`common.Status`: 400 `BAD_REQUEST`, 403
        /// `FORBIDDEN`...); 0 when the call failed without one.
        status: i32,
        info: String,
    },

    /// The config with the orgs fabdev.yaml adds could not be built.
    #[error("channel {channel}: cannot build the config with the orgs fabdev.yaml adds")]
    Wanted {
        channel: String,
        #[source]
        source: Box<crate::genesis::GenesisError>,
    },

    /// The orderer did not deliver a block of the channel.
    #[error(
        "{node}: the orderer at {address} did not deliver {} of channel {channel}: {message}",
        match block { Some(n) => format!("block {n}"), None => "the newest block".to_string() }
    )]
    DeliverRefused {
        node: String,
        address: String,
        channel: String,
        /// The block asked for; `None` for the newest.
        block: Option<u64>,
        message: String,
    },

    /// Not every peer reported the channel's new config in time.
    #[error(
        "channel {channel}: not every peer has config sequence {sequence} after {}: {state}",
        fmt_duration(*after)
    )]
    ConfigNotSeen {
        channel: String,
        sequence: u64,
        after: Duration,
        /// What each peer reported last.
        state: String,
    },
}

impl ChannelError {
    /// The fix to paste, when there is one (a hint is data: fabdev's
    /// reporters print it, JSON `step_failed` carries it).
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            ChannelError::Crypto { .. } => {
                "fabdev generates the crypto under .fabdev/crypto during `fabdev up`; restore the file, or delete the identity's folder and run `fabdev up` to regenerate it"
            }
            ChannelError::Unreachable { .. } => {
                "the node may be down or its port not mapped; check `fabdev status`"
            }
            ChannelError::Tls { hint, .. } => return Some(hint.clone()),
            ChannelError::NotAdmin { .. } => {
                "the request must be signed by an admin of the peer's org (msp/signcerts with the `admin` OU, issued by the org's CA)"
            }
            ChannelError::NoLeader { .. } => {
                "the orderers elect one within seconds once a majority of them run and reach each other; check their logs (`fabdev logs <orderer>`)"
            }
            ChannelError::OrderingUnavailable { .. } => {
                "its orderers have no Raft leader, or none can be reached from the peer; check the orderers (`fabdev status`, `fabdev logs <orderer>`) and try again"
            }
            ChannelError::PolicyUnsatisfiable { .. } => {
                "a channel config update must be signed as its policies require; fabdev signs with the admins of the orgs in fabdev.yaml"
            }
            ChannelError::NoSigner { .. } => {
                "fabdev signs only as the orgs whose crypto it holds (.fabdev/crypto)"
            }
            ChannelError::ConfigNotSeen { .. } => {
                "the orderers accepted the update; a peer receives it with the next block it pulls from them; check the peers (`fabdev status`, `fabdev logs <peer>`)"
            }
            ChannelError::ConfigTx { source, .. } => return source.hint(),
            ChannelError::Wanted { source, .. } => return source.hint(),
            _ => return None,
        };
        Some(hint.to_string())
    }
    /// The node the error is about (all but [`ChannelError::UnknownChannel`]).
    pub fn node(&self) -> Option<&str> {
        match self {
            ChannelError::UnknownChannel { .. }
            | ChannelError::NoLeader { .. }
            | ChannelError::Signer { .. }
            | ChannelError::BadUpdate { .. }
            | ChannelError::ConfigTx { .. }
            | ChannelError::Wanted { .. }
            | ChannelError::PolicyUnsatisfiable { .. }
            | ChannelError::NoSigner { .. }
            | ChannelError::ConfigNotSeen { .. } => None,
            ChannelError::WrongNode { node, .. }
            | ChannelError::NoEndpoint { node, .. }
            | ChannelError::BadEndpoint { node, .. }
            | ChannelError::Crypto { node, .. }
            | ChannelError::Unreachable { node, .. }
            | ChannelError::Tls { node, .. }
            | ChannelError::Transport { node, .. }
            | ChannelError::OrdererRejected { node, .. }
            | ChannelError::PeerRejected { node, .. }
            | ChannelError::NotAdmin { node, .. }
            | ChannelError::Timeout { node, .. }
            | ChannelError::BadResponse { node, .. }
            | ChannelError::OrderingUnavailable { node, .. }
            | ChannelError::UpdateRefused { node, .. }
            | ChannelError::DeliverRefused { node, .. } => Some(node),
        }
    }
}

/// The name of a Fabric status (`common.Status`), or its number.
pub fn status_name(status: i32) -> String {
    match status {
        0 => "no status".to_string(),
        s => crate::fabric::common::Status::try_from(s)
            .map(|s| s.as_str_name().to_string())
            .unwrap_or_else(|_| s.to_string()),
    }
}

pub(super) fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
