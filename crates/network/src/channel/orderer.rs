//! Orderers: the channel participation API (`osnadmin`), HTTPS with mutual TLS.

use std::time::Duration;

use fabric_sdk::error::OsnadminError;
use fabric_sdk::osnadmin::{OsnadminClient, OsnadminClientBuilder};

use super::{
    ChannelError, JoinOutcome, NodeEndpoint, Phase, check_endpoint, creds, looks_like_tls,
    unreachable, with_deadline,
};
use crate::pki::{ADMIN, CryptoDir};
use crate::spec::Workspace;
use crate::topology::{Node, NodeKind};

/// Join an orderer to a channel: `POST /participation/v1/channels` with the
/// genesis `block` as the multipart field `config-block`, authenticated by
/// the orderer org Admin's TLS client certificate.
///
/// 2xx (Fabric: 201 Created) is [`JoinOutcome::Joined`]; 405 (Fabric: "channel
/// already exists") is [`JoinOutcome::AlreadyJoined`]; any other status is
/// [`ChannelError::OrdererRejected`] with the status and the body.
pub async fn join_orderer(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    ws: &Workspace,
    channel: &str,
    block: &[u8],
    timeout: Duration,
) -> Result<JoinOutcome, ChannelError> {
    let action = format!("joining channel {channel}");
    let admin = Admin::prepare(node, ep, crypto, ws, action)?;
    let result = admin
        .call(timeout, |c| {
            let block = block.to_vec();
            async move { c.join_channel(block).await }
        })
        .await?;
    match result {
        Ok(info) if info.name == channel => Ok(JoinOutcome::Joined),
        Ok(info) => Err(admin.bad_response(format!(
            "the orderer joined channel `{}`, not `{channel}`: the block is for `{}`",
            info.name, info.name
        ))),
        // Fabric answers 405 for an existing channel, and (before 3.0) for
        // any join while a system channel exists: only the former is fine.
        Err(OsnadminError::ServerError {
            status: 405,
            message,
        }) if !message.to_ascii_lowercase().contains("system channel") => {
            Ok(JoinOutcome::AlreadyJoined)
        }
        Err(e) => Err(admin.error(e)),
    }
}

/// Take an orderer off a channel: `DELETE /participation/v1/channels/NAME`
/// as the orderer org's Admin (what `osnadmin channel remove` sends); the
/// orderer stops the channel and removes its ledger. `true` when it was a
/// member, `false` when it was not (HTTP 404: nothing to do, as on a second
/// run).
pub async fn leave_orderer(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    ws: &Workspace,
    channel: &str,
    timeout: Duration,
) -> Result<bool, ChannelError> {
    let action = format!("removing channel {channel}");
    let admin = Admin::prepare(node, ep, crypto, ws, action)?;
    let result = admin
        .call(timeout, |c| async move { c.remove_channel(channel).await })
        .await?;
    match result {
        Ok(()) => Ok(true),
        Err(OsnadminError::ServerError { status: 404, .. }) => Ok(false),
        Err(e) => Err(admin.error(e)),
    }
}

/// The channels an orderer is a member of
/// (`GET /participation/v1/channels`, as the orderer org's Admin).
pub async fn orderer_channels(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    ws: &Workspace,
    timeout: Duration,
) -> Result<Vec<String>, ChannelError> {
    let admin = Admin::prepare(node, ep, crypto, ws, "listing channels".to_string())?;
    let result = admin
        .call(timeout, |c| async move { c.list_channels().await })
        .await?;
    match result {
        Ok(list) => Ok(list.channels.into_iter().map(|c| c.name).collect()),
        // An orderer that is a member of no channel answers
        // `{"systemChannel":null,"channels":null}` (Fabric 2.5 and 3.1),
        // which fabric-sdk's client does not read as an empty list.
        Err(OsnadminError::ParseError(message)) if no_channels(&message) => Ok(vec![]),
        Err(e) => Err(admin.error(e)),
    }
}

/// An orderer's view of one channel (`GET /participation/v1/channels/NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdererChannel {
    /// `consenter`, `follower`, `config-tracker` or `other`.
    pub consensus_relation: String,
    /// `active`, `onboarding`, `inactive` or `failed`.
    pub status: String,
    pub height: u64,
}

/// What an orderer says of `channel`; `None` when it is not a member
/// (HTTP 404).
pub async fn orderer_channel(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    ws: &Workspace,
    channel: &str,
    timeout: Duration,
) -> Result<Option<OrdererChannel>, ChannelError> {
    let action = format!("reading channel {channel}");
    let admin = Admin::prepare(node, ep, crypto, ws, action)?;
    let result = admin
        .call(timeout, |c| async move { c.get_channel(channel).await })
        .await?;
    match result {
        Ok(info) => Ok(Some(OrdererChannel {
            consensus_relation: info.consensus_relation,
            status: info.status,
            height: info.height,
        })),
        Err(OsnadminError::ServerError { status: 404, .. }) => Ok(None),
        Err(e) => Err(admin.error(e)),
    }
}

/// Whether a channel list the SDK could not parse is Fabric's empty list.
fn no_channels(message: &str) -> bool {
    message
        .split_once("body=")
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body.trim()).ok())
        .is_some_and(|v| v.get("channels").is_some_and(serde_json::Value::is_null))
}

/// A checked channel participation client for one orderer.
struct Admin<'a> {
    node: &'a Node,
    address: &'a str,
    action: String,
    client: OsnadminClient,
}

impl<'a> Admin<'a> {
    fn prepare(
        node: &'a Node,
        ep: &'a NodeEndpoint,
        crypto: &CryptoDir,
        ws: &Workspace,
        action: String,
    ) -> Result<Admin<'a>, ChannelError> {
        if node.kind != NodeKind::Orderer {
            return Err(ChannelError::WrongNode {
                node: node.name.clone(),
                problem: "is not an orderer; the channel participation API is the orderers'"
                    .to_string(),
            });
        }
        let Some(address) = ep.admin.as_deref() else {
            return Err(ChannelError::NoEndpoint {
                node: node.name.clone(),
                what: "channel participation (admin)",
            });
        };
        check_endpoint(&node.name, address)?;
        let tls_ca = creds::ca_cert(
            &node.name,
            "TLS CA certificate",
            &crypto.node_dir(node).join("tls").join("ca.crt"),
        )?;
        let tls = crypto.user_dir(&ws.orderer.name, ADMIN).join("tls");
        let admin = creds::key_pair(
            &node.name,
            &format!("{} Admin TLS client", ws.orderer.name),
            tls.join("client.crt"),
            tls.join("client.key"),
        )?;
        let client = OsnadminClientBuilder::new()
            .with_url(format!("https://{address}"))
            .and_then(|b| b.with_client_identity(admin.cert_pem, admin.key_pem))
            .map(|b| b.with_tls(tls_ca))
            .and_then(|b| b.build())
            .map_err(|e| ChannelError::Tls {
                node: node.name.clone(),
                address: address.to_string(),
                message: "cannot set up the HTTPS client".to_string(),
                hint: "check the Admin TLS client certificate and key".to_string(),
                source: Some(Box::new(e)),
            })?;
        Ok(Admin {
            node,
            address,
            action,
            client,
        })
    }

    /// Run one request under the deadline; the SDK's own error is returned
    /// as is for the caller to interpret.
    async fn call<'c, T, F>(
        &'c self,
        timeout: Duration,
        request: impl FnOnce(&'c OsnadminClient) -> F,
    ) -> Result<Result<T, OsnadminError>, ChannelError>
    where
        F: std::future::Future<Output = Result<T, OsnadminError>>,
    {
        let node = &self.node.name;
        let phase = Phase::new();
        with_deadline(node, self.address, timeout, &phase, async {
            phase.set(format!("the orderer's answer to {}", self.action));
            let result = request(&self.client).await;
            if let Err(OsnadminError::HttpError(_)) = &result
                && let Some(down) = unreachable(node, self.address).await
            {
                return Err(down);
            }
            Ok(result)
        })
        .await
    }

    fn bad_response(&self, message: String) -> ChannelError {
        ChannelError::BadResponse {
            node: self.node.name.clone(),
            address: self.address.to_string(),
            action: self.action.clone(),
            message,
        }
    }

    fn error(&self, e: OsnadminError) -> ChannelError {
        let node = self.node.name.clone();
        let address = self.address.to_string();
        match e {
            OsnadminError::ServerError { status, message } => ChannelError::OrdererRejected {
                node,
                address,
                action: self.action.clone(),
                status,
                body: message,
            },
            OsnadminError::HttpError(message) if looks_like_tls(&message) => ChannelError::Tls {
                node,
                address,
                message,
                hint: "the orderer must trust the Admin's TLS client certificate (its admin TLS client root CAs) \
                       and present a server certificate issued by its org's TLS CA for the host dialled"
                    .to_string(),
                source: None,
            },
            OsnadminError::HttpError(message) => ChannelError::Transport {
                node,
                address,
                message,
                source: None,
            },
            OsnadminError::ParseError(message) => self.bad_response(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::no_channels;

    #[test]
    fn fabrics_empty_channel_list() {
        // What fabric-sdk reports for a real orderer (2.5.14) with no channel.
        assert!(no_channels(
            "invalid type: null, expected a sequence at line 1 column 37: body={\"systemChannel\":null,\"channels\":null}\n"
        ));
        assert!(!no_channels(
            "invalid type: null, expected a sequence: body={\"channels\":[{\"name\":1}]}"
        ));
        assert!(!no_channels(
            "expected value at line 1 column 1: body=<html>"
        ));
    }
}
