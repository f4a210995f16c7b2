//! Peers: CSCC proposals (`JoinChain`, `GetChannels`) to the Endorser service.

use std::time::Duration;

use super::{ChannelError, JoinOutcome, NodeEndpoint, Phase, creds, with_deadline};
use crate::fabric::{Message, common::Config, peer::ChannelQueryResponse};
use crate::pki::{ADMIN, CryptoDir};
use crate::topology::Node;

/// The configuration system chaincode.
const CSCC: &str = "cscc";

/// Join a peer to a channel: a CSCC `JoinChain` proposal with the genesis
/// `block`, signed by the peer org's Admin.
///
/// A peer that has the channel's ledger already answers `ledger [..] already
/// exists with state [ACTIVE]`: that is [`JoinOutcome::AlreadyJoined`].
pub async fn join_peer(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    channel: &str,
    block: &[u8],
    timeout: Duration,
) -> Result<JoinOutcome, ChannelError> {
    let action = format!("JoinChain for channel {channel}");
    let call = Cscc::prepare(node, ep, crypto, "JoinChain", action)?;
    let answer = call.invoke(vec![block.to_vec()], timeout).await?;
    if answer.status == 200 {
        return Ok(JoinOutcome::Joined);
    }
    if ledger_exists(&answer.message, channel) {
        return Ok(JoinOutcome::AlreadyJoined);
    }
    Err(call.rejected(answer))
}

/// The channels a peer has joined (CSCC `GetChannels`, as its org's Admin).
pub async fn peer_channels(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    timeout: Duration,
) -> Result<Vec<String>, ChannelError> {
    let call = Cscc::prepare(node, ep, crypto, "GetChannels", "GetChannels".to_string())?;
    let answer = call.invoke(vec![], timeout).await?;
    if answer.status != 200 {
        return Err(call.rejected(answer));
    }
    let list = ChannelQueryResponse::decode(answer.payload.as_slice()).map_err(|e| {
        ChannelError::BadResponse {
            node: node.name.clone(),
            address: ep.grpc.clone(),
            action: call.action.clone(),
            message: format!("the payload is not a ChannelQueryResponse: {e}"),
        }
    })?;
    Ok(list.channels.into_iter().map(|c| c.channel_id).collect())
}

/// The channel's current config as a peer has it (CSCC
/// `GetChannelConfig`, as its org's Admin): what it validates the next
/// block with, so its `sequence` says which config updates it has seen.
pub async fn peer_channel_config(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    channel: &str,
    timeout: Duration,
) -> Result<Config, ChannelError> {
    let action = format!("GetChannelConfig for channel {channel}");
    let call = Cscc::prepare(node, ep, crypto, "GetChannelConfig", action)?;
    let answer = call
        .invoke(vec![channel.as_bytes().to_vec()], timeout)
        .await?;
    if answer.status != 200 {
        return Err(call.rejected(answer));
    }
    Config::decode(answer.payload.as_slice()).map_err(|e| ChannelError::BadResponse {
        node: node.name.clone(),
        address: ep.grpc.clone(),
        action: call.action.clone(),
        message: format!("the payload is not a Config: {e}"),
    })
}

/// Whether a JoinChain error says the peer has this channel's ledger, ready.
///
/// Fabric 2.2+ (core/ledger/kvledger idStore.createLedgerID, wrapped by
/// core/peer CreateChannel): `cannot create ledger from genesis block: ledger
/// [mychannel] already exists with state [ACTIVE]`. Earlier releases:
/// `... LedgerID already exists`. A ledger under construction or deletion
/// is not a member: that stays an error.
pub(crate) fn ledger_exists(message: &str, channel: &str) -> bool {
    message.contains(&format!(
        "ledger [{channel}] already exists with state [ACTIVE]"
    )) || message.contains("LedgerID already exists")
}

/// The peer's answer to a proposal.
#[derive(Debug)]
struct Answer {
    status: i32,
    message: String,
    payload: Vec<u8>,
}

/// A checked CSCC call to one peer.
struct Cscc<'a> {
    node: &'a Node,
    address: &'a str,
    function: &'static str,
    action: String,
    tls_ca: Vec<u8>,
    admin: creds::KeyPair,
}

impl<'a> Cscc<'a> {
    /// Check the node, endpoint and crypto files before anything is sent.
    fn prepare(
        node: &'a Node,
        ep: &'a NodeEndpoint,
        crypto: &CryptoDir,
        function: &'static str,
        action: String,
    ) -> Result<Cscc<'a>, ChannelError> {
        let (tls_ca, admin) = super::client::peer_credentials(node, ep, crypto, ADMIN, function)?;
        Ok(Cscc {
            node,
            address: &ep.grpc,
            function,
            action,
            tls_ca,
            admin,
        })
    }

    fn name(&self) -> String {
        self.node.name.clone()
    }

    /// Connect, send the signed proposal, return the peer's response.
    async fn invoke(&self, args: Vec<Vec<u8>>, timeout: Duration) -> Result<Answer, ChannelError> {
        let node = &self.node.name;
        let phase = Phase::new();
        with_deadline(node, self.address, timeout, &phase, async {
            let internal =
                |what: &str, e: fabric_sdk::error::BuilderError| ChannelError::Transport {
                    node: self.name(),
                    address: self.address.to_string(),
                    message: format!("cannot set up the {what}: {e}"),
                    source: None,
                };
            let client = super::client::connect_peer(
                self.node,
                self.address,
                &self.tls_ca,
                &self.admin,
                &phase,
            )
            .await?;

            let mut builder = client.get_chaincode_call_builder();
            builder
                .with_chaincode_id(CSCC)
                .and_then(|b| b.with_function_name(self.function))
                .and_then(|b| b.with_function_args(args))
                .map_err(|e| internal("proposal", e))?;
            builder.with_system_chaincode();
            let proposal = builder.build().map_err(|e| internal("proposal", e))?;

            phase.set(format!("the peer's answer to {}", self.action));
            let response =
                client
                    .process_proposal(proposal)
                    .await
                    .map_err(|e| ChannelError::Transport {
                        node: self.name(),
                        address: self.address.to_string(),
                        message: format!("the proposal for {}", self.action),
                        source: Some(Box::new(e)),
                    })?;
            let Some(r) = response.response else {
                return Err(ChannelError::BadResponse {
                    node: self.name(),
                    address: self.address.to_string(),
                    action: self.action.clone(),
                    message: "the proposal response has no response".to_string(),
                });
            };
            Ok(Answer {
                status: r.status,
                message: r.message,
                payload: r.payload,
            })
        })
        .await
    }

    /// The error for a non-200 answer.
    fn rejected(&self, answer: Answer) -> ChannelError {
        if answer.message.contains("access denied") {
            ChannelError::NotAdmin {
                node: self.name(),
                address: self.address.to_string(),
                identity: format!(
                    "{} ({})",
                    crate::pki::user_id(ADMIN, &self.node.org),
                    self.node.msp_id
                ),
                action: self.action.clone(),
                message: answer.message,
            }
        } else {
            ChannelError::PeerRejected {
                node: self.name(),
                address: self.address.to_string(),
                action: self.action.clone(),
                status: answer.status,
                message: answer.message,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ledger_exists;

    #[test]
    fn already_joined_messages() {
        assert!(ledger_exists(
            "cannot create ledger from genesis block: ledger [mychannel] already exists with state [ACTIVE]",
            "mychannel"
        ));
        assert!(ledger_exists(
            "cannot create ledger from genesis block: LedgerID already exists",
            "mychannel"
        ));
        assert!(!ledger_exists(
            "cannot create ledger from genesis block: ledger [mychannel] already exists with state [UNDER_CONSTRUCTION]",
            "mychannel"
        ));
        assert!(!ledger_exists(
            "cannot create ledger from genesis block: ledger [other] already exists with state [ACTIVE]",
            "mychannel"
        ));
        assert!(!ledger_exists(
            "access denied for [JoinChain][mychannel]",
            "mychannel"
        ));
    }
}
