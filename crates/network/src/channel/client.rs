//! A peer connection for the chaincode lifecycle and for transactions: the
//! `_lifecycle` system chaincode (install, approve, commit and their
//! queries) and the Gateway service (endorse, submit, evaluate), as one of
//! an org's users. fabric-sdk's types stay in here; callers get plain
//! values.

use std::collections::BTreeMap;
use std::time::Duration;

use fabric_sdk::error::{LifecycleError, SubmitError};
use fabric_sdk::gateway::client::{Client, ClientBuilder};
use fabric_sdk::identity::IdentityBuilder;
use prost::Message as _;

use super::{
    ChannelError, NodeEndpoint, Phase, check_endpoint, connect_failed, creds, ordering,
    with_deadline,
};
use crate::pki::CryptoDir;
use crate::topology::{Node, NodeKind};

mod definition;
mod gateway;
mod lifecycle;

pub use definition::{
    Approval, Committed, Definition, Installed, approval_from, approve_args, commit_args,
    committed_from, installed_from, readiness_args,
};
pub use gateway::{Submitted, already_initialized, init_proposal_parts};

/// A connection to one peer as one identity.
pub struct PeerClient {
    node: String,
    address: String,
    msp_id: String,
    client: Client,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("node", &self.node)
            .field("address", &self.address)
            .field("msp_id", &self.msp_id)
            .finish_non_exhaustive()
    }
}

/// Check a peer call's inputs and read its credentials: the node is a peer,
/// the endpoint is one TLS can verify, the peer's TLS CA, and `user`'s
/// signing certificate and key (checked, as fabric-sdk's builders panic on
/// a bad key or TLS configuration).
pub(crate) fn peer_credentials(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    user: &str,
    what_for: &str,
) -> Result<(Vec<u8>, creds::KeyPair), ChannelError> {
    if node.kind != NodeKind::Peer {
        return Err(ChannelError::WrongNode {
            node: node.name.clone(),
            problem: format!("is not a peer; {what_for} goes to peers"),
        });
    }
    check_endpoint(&node.name, &ep.grpc)?;
    let tls_ca = creds::ca_cert(
        &node.name,
        "TLS CA certificate",
        &crypto.node_dir(node).join("tls").join("ca.crt"),
    )?;
    let msp = crypto.user_dir(&node.org, user).join("msp");
    let pair = creds::key_pair(
        &node.name,
        &format!("{} {user} signing", node.org),
        msp.join("signcerts").join("cert.pem"),
        msp.join("keystore").join("key.pem"),
    )?;
    Ok((tls_ca, pair))
}

/// A connected fabric-sdk client for a peer, as the identity of `pair`;
/// `phase` says what is awaited (for a timeout's message). A failed
/// connection is told apart: nothing listening, TLS, or other transport.
pub(crate) async fn connect_peer(
    node: &Node,
    address: &str,
    tls_ca: &[u8],
    pair: &creds::KeyPair,
    phase: &Phase,
) -> Result<Client, ChannelError> {
    let internal = |what: &str, e: fabric_sdk::error::BuilderError| ChannelError::Transport {
        node: node.name.clone(),
        address: address.to_string(),
        message: format!("cannot set up the {what}: {e}"),
        source: None,
    };
    // Checked in `peer_credentials`, so these builders get only what they
    // accept.
    let identity = IdentityBuilder::from_pem(&pair.cert_pem)
        .and_then(|b| b.with_msp(node.msp_id.clone()))
        .and_then(|b| b.with_private_key(pair.key_pem.clone()))
        .and_then(|b| b.build())
        .map_err(|e| internal("signing identity", e))?;
    let mut client = ClientBuilder::new()
        .with_identity(identity)
        .and_then(|b| b.with_tls(tls_ca.to_vec()))
        .and_then(|b| b.with_authority(address))
        .and_then(|b| b.build())
        .map_err(|e| internal("gRPC client", e))?;
    phase.set("the TLS handshake and HTTP/2 connection");
    if let Err(e) = client.connect().await {
        return Err(connect_failed(&node.name, address, "the peer's", e).await);
    }
    Ok(client)
}

/// The transaction ID in a proposal's channel header.
fn tx_id_of(proposal: &fabric_sdk::fabric::protos::SignedProposal) -> String {
    proposal
        .get_proposal()
        .ok()
        .and_then(|p| p.get_header().ok())
        .and_then(|h| h.get_channel_header().ok())
        .map(|c| c.tx_id)
        .unwrap_or_default()
}

/// The peer's own message inside a lifecycle error, if it carries one.
fn node_message(e: &LifecycleError) -> Option<&str> {
    match e {
        LifecycleError::NodeError(m) | LifecycleError::SubmitError(SubmitError::NodeError(m)) => {
            Some(m)
        }
        _ => None,
    }
}

/// Fabric's answer when a chaincode has no committed definition.
fn not_defined(message: &str) -> bool {
    message.contains("namespace") && message.contains("is not defined")
        || message.contains("could not fetch")
}

impl PeerClient {
    /// Connect to `node` as `user` (`Admin` or `User1`) of the peer's org,
    /// verifying the peer's TLS certificate against its org's TLS CA.
    pub async fn connect(
        node: &Node,
        ep: &NodeEndpoint,
        crypto: &CryptoDir,
        user: &str,
        timeout: Duration,
    ) -> Result<PeerClient, ChannelError> {
        let (tls_ca, pair) =
            peer_credentials(node, ep, crypto, user, "the lifecycle and the Gateway")?;
        let address = ep.grpc.clone();
        let phase = Phase::new();
        let client = with_deadline(&node.name, &address, timeout, &phase, async {
            connect_peer(node, &address, &tls_ca, &pair, &phase).await
        })
        .await?;
        Ok(PeerClient {
            node: node.name.clone(),
            address,
            msp_id: node.msp_id.clone(),
            client,
        })
    }

    /// The peer's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The MSP ID of the identity (and of the peer's org).
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    fn rejected(&self, action: &str, message: String) -> ChannelError {
        if message.contains("access denied") || message.contains("creator is not an admin") {
            return ChannelError::NotAdmin {
                node: self.node.clone(),
                address: self.address.clone(),
                identity: self.msp_id.clone(),
                action: action.to_string(),
                message,
            };
        }
        ChannelError::PeerRejected {
            node: self.node.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            status: 500,
            message,
        }
    }

    /// A definition whose collections do not decode (they are fabdev's own
    /// encoding, so this is a bug, reported rather than sent).
    fn bad_definition(&self, action: &str, e: prost::DecodeError) -> ChannelError {
        ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("{action}: the definition's collections do not decode"),
            source: Some(Box::new(e)),
        }
    }

    fn lifecycle_error(&self, action: &str, e: LifecycleError) -> ChannelError {
        match e {
            LifecycleError::NodeError(m) => self.rejected(action, m),
            LifecycleError::SubmitError(SubmitError::NodeError(m)) => self.rejected(action, m),
            other => ChannelError::Transport {
                node: self.node.clone(),
                address: self.address.clone(),
                message: action.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }

    fn submit_error(&self, action: &str, e: SubmitError) -> ChannelError {
        match e {
            SubmitError::NodeError(m) => self.rejected(action, m),
            other => ChannelError::Transport {
                node: self.node.clone(),
                address: self.address.clone(),
                message: action.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }

    async fn deadline<T>(
        &self,
        what: &str,
        timeout: Duration,
        op: impl std::future::Future<Output = Result<T, ChannelError>>,
    ) -> Result<T, ChannelError> {
        let phase = Phase::new();
        phase.set(what);
        with_deadline(&self.node, &self.address, timeout, &phase, op).await
    }

    /// A commit status other than VALID (0) is the transaction's failure.
    fn check_valid(&self, action: &str, code: i32) -> Result<(), ChannelError> {
        if code == 0 {
            return Ok(());
        }
        let name = fabric_sdk::fabric::protos::TxValidationCode::try_from(code)
            .map(|c| c.as_str_name().to_string())
            .unwrap_or_else(|_| code.to_string());
        Err(ChannelError::PeerRejected {
            node: self.node.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            status: code,
            message: format!("the transaction was invalidated: {name}"),
        })
    }
}
