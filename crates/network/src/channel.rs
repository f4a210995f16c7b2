//! Channel operations: join orderers and peers to a channel from its genesis
//! block, and list the channels a node has.
//!
//! - Orderers: the channel participation API (what `osnadmin channel join`
//!   and `osnadmin channel list` use), HTTPS with mutual TLS on the orderer's
//!   admin endpoint. fabdev authenticates as the orderer org's Admin with its
//!   TLS client certificate (`<ordererorg>/users/Admin/tls/client.{crt,key}`)
//!   and verifies the server against the node's `tls/ca.crt`.
//!   `POST /participation/v1/channels` with the block in the multipart field
//!   `config-block`: 201 joined, 405 already a member.
//! - Peers: a channel-less proposal to the `cscc` system chaincode (what
//!   `peer channel join` / `peer channel list` send) on the peer's Endorser
//!   service, TLS verified against the node's `tls/ca.crt`, signed by the
//!   peer org's Admin (`<org>/users/Admin/msp`). `JoinChain` with the block
//!   as its argument; a peer that has the ledger answers 500 `cannot create
//!   ledger from genesis block: ledger [<channel>] already exists with state
//!   [ACTIVE]` (Fabric 2.2+; `LedgerID already exists` before), which counts
//!   as already joined.
//!
//! - Config updates (`channel/config.rs`, over the pure `channel/signers.rs`):
//!   a channel's latest config block read from an orderer's Deliver service,
//!   a `CONFIG_UPDATE` signed by the org admins its policies need and
//!   submitted through Broadcast, and the peers asked (CSCC
//!   `GetChannelConfig`) until they have the new config: [`update_channel`];
//!   an orderer added to or removed from the consenters, new orderers joined
//!   with the latest config block: [`change_consenters`].
//!
//! fabric-sdk's client types stay inside this module. Its constructors panic
//! on a bad key or TLS configuration, so every certificate, key and endpoint
//! is checked here first, and every call runs under a deadline.
//!
//! Both ring and aws-lc-rs are linked into fabdev, so rustls cannot choose a
//! crypto provider by itself: call [`install_crypto_provider`] once at
//! start-up.

mod client;
mod config;
mod consenters;
pub(crate) mod creds;
mod error;
mod members;
mod orderer;
pub mod ordering;
mod peer;
mod signers;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::pki::CryptoDir;
use crate::spec::Workspace;
use crate::topology::{Node, Topology};

pub use client::{
    Approval, Committed, Definition, Installed, PeerClient, Submitted, already_initialized,
    approval_from, approve_args, commit_args, committed_from, init_proposal_parts, installed_from,
    readiness_args,
};
pub use config::{
    Applied, ChannelConfig, Network, Signers, admin_signer, channel_block, current_config,
    fetch_config, member_peers, refusal, submit_update, update_channel, wait_for_config,
};
pub use consenters::{
    ConsentersChanged, ConsentersEnsured, Leaving, change_consenters, ensure_consenters,
};
pub use error::{ChannelError, status_name};
pub use members::{OrgsAdded, add_orgs};
pub use orderer::{OrdererChannel, join_orderer, leave_orderer, orderer_channel, orderer_channels};
pub use ordering::{OrderingReady, wait_for_leader};
pub use peer::{join_peer, peer_channel_config, peer_channels};
pub use signers::{Signer, last_config_index, required_signers, signed_update};

/// How long [`create_channel`] gives each node to join: a peer creates its
/// ledger (and CouchDB databases) before it answers.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Install ring as the process-wide rustls crypto provider, once, before any
/// TLS client is built. Calling it again (or after another provider was
/// installed) does nothing.
pub fn install_crypto_provider() {
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// ---------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------

/// Where fabdev reaches one node from where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoint {
    /// `host:port` of the gRPC endpoint (orderer 7050 / peer 7051 in the pod).
    pub grpc: String,
    /// `host:port` of an orderer's channel participation (admin) endpoint.
    pub admin: Option<String>,
}

/// Where fabdev reaches each node, by node name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    nodes: BTreeMap<String, NodeEndpoint>,
    /// `host:port` of a node's operations endpoint (`/healthz`, `/metrics`),
    /// where known: [`ordering`] reads the orderers' Raft metrics there.
    operations: BTreeMap<String, String>,
}

/// The host the kind port mappings are bound to. Every node's TLS
/// certificate carries it as an IP SAN, so clients verify it as dialled.
pub const HOST: &str = "127.0.0.1";

impl Endpoints {
    /// The kind port mappings on the host: `127.0.0.1:<host port>`.
    pub fn host_ports(topo: &Topology) -> Endpoints {
        let nodes = topo
            .nodes
            .iter()
            .map(|n| {
                let ep = NodeEndpoint {
                    grpc: format!("{HOST}:{}", n.host_ports.grpc),
                    admin: n.host_ports.admin.map(|p| format!("{HOST}:{p}")),
                };
                (n.name.clone(), ep)
            })
            .collect();
        let operations = topo
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    format!("{HOST}:{}", n.host_ports.operations),
                )
            })
            .collect();
        Endpoints { nodes, operations }
    }

    /// Set (or replace) where a node's operations endpoint is reached.
    pub fn insert_operations(&mut self, node: &str, address: &str) {
        self.operations
            .insert(node.to_string(), address.to_string());
    }

    /// Where a node's operations endpoint is reached, if known.
    pub fn operations(&self, node: &str) -> Option<&str> {
        self.operations.get(node).map(String::as_str)
    }

    /// Set (or replace) a node's endpoint, e.g. to a port-forward.
    pub fn insert(&mut self, node: &str, ep: NodeEndpoint) {
        self.nodes.insert(node.to_string(), ep);
    }

    pub fn get(&self, node: &str) -> Option<&NodeEndpoint> {
        self.nodes.get(node)
    }

    /// Every node and its endpoint, by node name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &NodeEndpoint)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }
}

// ---------------------------------------------------------------------------
// Outcomes, events, errors
// ---------------------------------------------------------------------------

/// What a join did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The node joined the channel now.
    Joined,
    /// The node was a member already; nothing changed.
    AlreadyJoined,
}

/// Progress of [`create_channel`], one node at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    Joining {
        node: String,
        channel: String,
    },
    Joined {
        node: String,
        channel: String,
    },
    AlreadyJoined {
        node: String,
        channel: String,
    },
    Failed {
        node: String,
        channel: String,
        error: String,
    },
}

// ---------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------

/// Check that an endpoint is `host:port` whose host the TLS clients can
/// verify (fabric-sdk's gRPC client panics on a host rustls cannot name).
fn check_endpoint(node: &str, address: &str) -> Result<(), ChannelError> {
    let bad = |problem: &str| ChannelError::BadEndpoint {
        node: node.to_string(),
        address: address.to_string(),
        problem: problem.to_string(),
    };
    if address.contains("://") || address.contains('/') {
        return Err(bad("give `host:port`, without a scheme or path"));
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(bad("expected `host:port`"));
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(bad("the port is not a number from 1 to 65535")),
    }
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    if host.starts_with('[') || host.contains(':') {
        return Err(bad(
            "IPv6 addresses are not supported by the gRPC client; use 127.0.0.1 or a host name",
        ));
    }
    if rustls::pki_types::ServerName::try_from(host).is_err() {
        return Err(bad("the host is not a valid DNS name or IP address"));
    }
    Ok(())
}

/// After a failed call: open (and drop) a TCP connection, so that "nothing
/// listens there" is told apart from TLS and protocol failures, with the OS
/// error as the source. Only ever called once a call has failed: a probe
/// before every call is a connection without a TLS handshake, which the node
/// logs as an error (`Server TLS handshake failed ... EOF`) on every join.
async fn unreachable(node: &str, address: &str) -> Option<ChannelError> {
    match tokio::net::TcpStream::connect(address).await {
        Ok(_) => None,
        Err(source) => Some(ChannelError::Unreachable {
            node: node.to_string(),
            address: address.to_string(),
            source,
        }),
    }
}

/// Why connecting to `node` failed, once `connect` has: nothing listens
/// there ([`unreachable`]), its TLS was refused (the hint says what `whose`
/// TLS certificate must be), or another transport failure, with `e` as
/// the source.
async fn connect_failed<E>(node: &str, address: &str, whose: &str, e: E) -> ChannelError
where
    E: std::error::Error + Send + Sync + 'static,
{
    if let Some(down) = unreachable(node, address).await {
        return down;
    }
    let tls = looks_like_tls(&cluster::errors::one_line(&e));
    let (node, address, source) = (
        node.to_string(),
        address.to_string(),
        Some(Box::new(e) as _),
    );
    let message = "the connection failed".to_string();
    if tls {
        let hint = format!(
            "{whose} TLS certificate must be issued by its org's TLS CA and name the host dialled ({address})"
        );
        ChannelError::Tls {
            node,
            address,
            message,
            hint,
            source,
        }
    } else {
        ChannelError::Transport {
            node,
            address,
            message,
            source,
        }
    }
}

/// What a call is waiting for, for the timeout message.
#[derive(Debug)]
struct Phase(std::sync::Mutex<String>);

impl Phase {
    fn new() -> Phase {
        Phase(std::sync::Mutex::new("a TCP connection".to_string()))
    }

    fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = what.into();
    }

    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Run `op` under a deadline; `op` keeps `phase` up to date with what it
/// waits for, so that a timeout can say so.
async fn with_deadline<T>(
    node: &str,
    address: &str,
    timeout: Duration,
    phase: &Phase,
    op: impl std::future::Future<Output = Result<T, ChannelError>>,
) -> Result<T, ChannelError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(r) => r,
        Err(_) => Err(ChannelError::Timeout {
            node: node.to_string(),
            address: address.to_string(),
            what: phase.get(),
            after: timeout,
        }),
    }
}

/// An event's error text: the message, each cause on its own `caused by:`
/// line and the hint on a `hint:` line, as fabdev's printer shows an error
/// (an event carries text, not the error).
fn with_causes(e: &ChannelError) -> String {
    let mut text = cluster::errors::chain(e);
    if let Some(h) = e.hint() {
        text.push_str(&format!("\n  hint: {h}"));
    }
    text
}

/// Whether a transport error message is about TLS.
fn looks_like_tls(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "alert",
        "close_notify",
        "unknownissuer",
        "corrupt message",
        "invalidcontenttype",
    ]
    .iter()
    .any(|k| m.contains(k))
}

// ---------------------------------------------------------------------------
// create_channel
// ---------------------------------------------------------------------------

/// Join every orderer, then every peer of the channel's orgs, to `channel`
/// from its genesis `block`.
///
/// Idempotent: nodes that are members already report
/// [`ChannelEvent::AlreadyJoined`]. Emits `Joining` before each node and
/// `Joined` / `AlreadyJoined` / `Failed` after it; stops at the first failure
/// and returns its error (which names the node and the cause). Each node gets
/// [`JOIN_TIMEOUT`].
pub async fn create_channel(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    channel: &str,
    block: &[u8],
    on_event: &mut (dyn FnMut(ChannelEvent) + Send),
) -> Result<(), ChannelError> {
    let Some(spec) = ws.channel(channel) else {
        return Err(ChannelError::UnknownChannel {
            channel: channel.to_string(),
            known: ws
                .channels
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let peers = spec.orgs.iter().flat_map(|org| topo.peers_of(org));
    for node in topo.orderers().chain(peers) {
        on_event(ChannelEvent::Joining {
            node: node.name.clone(),
            channel: channel.to_string(),
        });
        let result = match endpoints.get(&node.name) {
            None => Err(ChannelError::NoEndpoint {
                node: node.name.clone(),
                what: "network",
            }),
            Some(ep) => join_node(ws, node, ep, crypto, channel, block).await,
        };
        let event = match &result {
            Ok(JoinOutcome::Joined) => ChannelEvent::Joined {
                node: node.name.clone(),
                channel: channel.to_string(),
            },
            Ok(JoinOutcome::AlreadyJoined) => ChannelEvent::AlreadyJoined {
                node: node.name.clone(),
                channel: channel.to_string(),
            },
            Err(e) => ChannelEvent::Failed {
                node: node.name.clone(),
                channel: channel.to_string(),
                error: with_causes(e),
            },
        };
        on_event(event);
        result?;
    }
    Ok(())
}

async fn join_node(
    ws: &Workspace,
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    channel: &str,
    block: &[u8],
) -> Result<JoinOutcome, ChannelError> {
    // A node is Ready once its /healthz answers, which a peer does before
    // its gRPC port listens: until it listens, try again (the deadline is
    // the join's own), then report the last error.
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    loop {
        // The last try still gets a few seconds: a try cut to a few
        // milliseconds would report its own timeout in place of the
        // node's real answer (refused, a TLS error) on a loaded machine.
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .max(LAST_TRY);
        let result = match node.kind {
            crate::topology::NodeKind::Orderer => {
                join_orderer(node, ep, crypto, ws, channel, block, left).await
            }
            crate::topology::NodeKind::Peer => {
                join_peer(node, ep, crypto, channel, block, left).await
            }
        };
        match result {
            Err(e)
                if not_listening_yet(&e) && tokio::time::Instant::now() + JOIN_RETRY < deadline =>
            {
                tokio::time::sleep(JOIN_RETRY).await;
            }
            other => return other,
        }
    }
}

/// The pause between two tries of a join to a node not yet listening.
const JOIN_RETRY: Duration = Duration::from_millis(250);

/// The least time one try of a join gets, even past the join's deadline.
const LAST_TRY: Duration = Duration::from_secs(5);

/// Whether a join failed because nothing accepted the connection (yet):
/// refused, or (through a port mapping or a port-forward, which accept the
/// connection themselves) reset or closed before the TLS handshake.
fn not_listening_yet(e: &ChannelError) -> bool {
    match e {
        ChannelError::Unreachable { .. } => true,
        ChannelError::Transport { .. } | ChannelError::Tls { .. } => {
            let m = cluster::errors::one_line(e).to_ascii_lowercase();
            m.contains("connection reset")
                || m.contains("connection refused")
                || m.contains("handshake eof")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_host_ports() {
        let topo = Topology::of(&Workspace::default_network());
        let eps = Endpoints::host_ports(&topo);
        assert_eq!(
            eps.get("orderer0-ordererorg"),
            Some(&NodeEndpoint {
                grpc: "127.0.0.1:30000".into(),
                admin: Some("127.0.0.1:30001".into()),
            })
        );
        assert_eq!(
            eps.get("peer0-org2"),
            Some(&NodeEndpoint {
                grpc: "127.0.0.1:30020".into(),
                admin: None,
            })
        );
        assert_eq!(eps.iter().count(), 3);
    }

    #[test]
    fn endpoint_checks() {
        for ok in [
            "127.0.0.1:7051",
            "localhost:1",
            "peer0-org1.fabdev.svc:7051",
        ] {
            assert!(check_endpoint("n", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("127.0.0.1", "host:port"),
            ("https://localhost:7051", "scheme"),
            ("localhost:0", "port"),
            ("localhost:http", "port"),
            (":7051", "host is empty"),
            ("[::1]:7051", "IPv6"),
            ("bad host:7051", "not a valid"),
        ] {
            let e = check_endpoint("peer0-org1", bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("peer0-org1"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(error::fmt_duration(Duration::from_secs(60)), "60s");
        assert_eq!(error::fmt_duration(Duration::from_millis(300)), "300ms");
    }
}
