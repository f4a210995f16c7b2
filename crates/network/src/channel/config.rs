//! A running channel's config, read and changed through its orderers.
//!
//! - [`fetch_config`]: the orderer's Deliver service (`AtomicBroadcast.Deliver`)
//!   asked for the newest block, then for the block its metadata names as
//!   the last config block ([`last_config_index`]); the `Config` in it. The
//!   seek is signed by an org admin (a reader of the channel), over the
//!   orderer's TLS verified against its org's TLS CA, as the peers' calls
//!   are.
//! - [`submit_update`]: a signed `CONFIG_UPDATE` envelope
//!   ([`signed_update`]) through `AtomicBroadcast.Broadcast`; a status
//!   other than SUCCESS is [`ChannelError::UpdateRefused`] with Fabric's
//!   status and info, the channel and the orderer.
//! - [`wait_for_config`]: every given peer asked (CSCC `GetChannelConfig`)
//!   until its config has the wanted sequence, under one deadline.
//! - [`update_channel`]: the three composed with the pure parts: the
//!   update computed from the current and the wanted config
//!   ([`crate::configtx::compute_update`]), the policies it must satisfy
//!   ([`crate::configtx::modified_items`]), the orgs whose admins satisfy
//!   them ([`required_signers`]), signed, submitted, and waited for.

use std::time::{Duration, Instant};

use fabric_sdk::error::SubmitError;
use fabric_sdk::gateway::orderer::{BlockPosition, OrdererClient, OrdererClientBuilder};

use super::signers::{Signer, last_config_index, required_signers, signed_update};
use super::{
    ChannelError, Endpoints, NodeEndpoint, Phase, check_endpoint, connect_failed, creds,
    with_deadline,
};
use crate::configtx::{self, compute_update, modified_items};
use crate::fabric::{Message, common};
use crate::pki::{ADMIN, CryptoDir};
use crate::spec::Workspace;
use crate::topology::{Node, NodeKind, Topology};

/// What a config update needs to reach the network: the workspace (its
/// orgs and their MSP IDs), its topology, the crypto folder (every org's
/// Admin signs from there) and where each node is reached.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a> {
    pub ws: &'a Workspace,
    pub topo: &'a Topology,
    pub crypto: &'a CryptoDir,
    pub endpoints: &'a Endpoints,
}

/// A channel's latest config block, as an orderer delivered it.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// The orderer that delivered it.
    pub orderer: String,
    /// The block's number.
    pub number: u64,
    /// The block's bytes: what a new orderer joins the channel with.
    pub block: Vec<u8>,
    /// The config in it.
    pub config: common::Config,
}

/// What [`update_channel`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The channel's config sequence after the update.
    pub sequence: u64,
    /// The policies the update had to satisfy (`/Channel/Orderer/Admins`).
    pub policies: Vec<String>,
    /// The orgs whose admins signed it.
    pub signers: Vec<String>,
    /// The orderer it was submitted to.
    pub orderer: String,
    /// The peers that reported the new config.
    pub peers: Vec<String>,
    /// From the start of the update to the last peer reporting the new
    /// config.
    pub took: Duration,
}

/// Who signs a config update.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Signers {
    /// The admins of the orgs the update's policies need
    /// ([`required_signers`]).
    #[default]
    AsRequired,
    /// Exactly these orgs' admins (fabdev.yaml names), e.g. to show that
    /// fewer are refused.
    Orgs(Vec<String>),
}

/// The Admin of `org` (an org of fabdev.yaml, the orderer org included) as
/// a signer, its certificate and key read and checked.
pub fn admin_signer(ws: &Workspace, crypto: &CryptoDir, org: &str) -> Result<Signer, ChannelError> {
    let msp_id = if ws.orderer.name == org {
        ws.orderer.msp_id.clone()
    } else {
        ws.orgs
            .iter()
            .find(|o| o.name == org)
            .map(|o| o.msp_id.clone())
            .ok_or_else(|| ChannelError::WrongNode {
                node: org.to_string(),
                problem: "is no org of fabdev.yaml".to_string(),
            })?
    };
    let msp = crypto.user_dir(org, ADMIN).join("msp");
    let pair = creds::key_pair(
        org,
        &format!("{org} Admin signing"),
        msp.join("signcerts").join("cert.pem"),
        msp.join("keystore").join("key.pem"),
    )?;
    Ok(Signer {
        org: org.to_string(),
        msp_id,
        pair,
    })
}

/// The org of fabdev.yaml whose MSP ID is `msp_id`.
fn org_of_msp<'w>(ws: &'w Workspace, msp_id: &str) -> Option<&'w str> {
    if ws.orderer.msp_id == msp_id {
        return Some(&ws.orderer.name);
    }
    ws.orgs
        .iter()
        .find(|o| o.msp_id == msp_id)
        .map(|o| o.name.as_str())
}

/// A connected Broadcast/Deliver client for one orderer, as `signer`.
struct Orderer<'a> {
    node: &'a Node,
    address: &'a str,
    client: OrdererClient,
}

impl<'a> Orderer<'a> {
    async fn connect(
        node: &'a Node,
        ep: &'a NodeEndpoint,
        crypto: &CryptoDir,
        signer: &Signer,
        phase: &Phase,
    ) -> Result<Orderer<'a>, ChannelError> {
        if node.kind != NodeKind::Orderer {
            return Err(ChannelError::WrongNode {
                node: node.name.clone(),
                problem: "is not an orderer; Deliver and Broadcast are the orderers'".to_string(),
            });
        }
        let address = ep.grpc.as_str();
        check_endpoint(&node.name, address)?;
        let tls_ca = creds::ca_cert(
            &node.name,
            "TLS CA certificate",
            &crypto.node_dir(node).join("tls").join("ca.crt"),
        )?;
        let identity = signer.identity()?;
        let mut client = OrdererClientBuilder::new()
            .with_identity(identity)
            .and_then(|b| b.with_tls(tls_ca))
            .and_then(|b| b.with_authority(address))
            .and_then(|b| b.build())
            .map_err(|e| ChannelError::Transport {
                node: node.name.clone(),
                address: address.to_string(),
                message: format!("cannot set up the gRPC client: {e}"),
                source: None,
            })?;
        phase.set("the TLS handshake and HTTP/2 connection");
        if let Err(e) = client.connect().await {
            return Err(connect_failed(&node.name, address, "the orderer's", e).await);
        }
        Ok(Orderer {
            node,
            address,
            client,
        })
    }

    async fn block(
        &self,
        channel: &str,
        position: BlockPosition,
    ) -> Result<common::Block, ChannelError> {
        self.client
            .fetch_block(channel, position)
            .await
            .map_err(|e| ChannelError::DeliverRefused {
                node: self.node.name.clone(),
                address: self.address.to_string(),
                channel: channel.to_string(),
                block: match position {
                    BlockPosition::Specified(n) => Some(n),
                    _ => None,
                },
                message: submit_message(e),
            })
    }
}

/// The text of an SDK submit error: the node's own message when it sent one.
fn submit_message(e: SubmitError) -> String {
    match e {
        SubmitError::NodeError(m) => m,
        other => other.to_string(),
    }
}

/// Fabric's status and info from the SDK's Broadcast refusal
/// (`Broadcast rejected with status 400: <info>`); a gRPC failure has no
/// status (0) and is all info.
pub fn refusal(message: &str) -> (i32, String) {
    if let Some(rest) = message.strip_prefix("Broadcast rejected with status ")
        && let Some((code, info)) = rest.split_once(": ")
        && let Ok(code) = code.parse::<i32>()
    {
        return (code, info.to_string());
    }
    (0, message.to_string())
}

/// The latest config block of `channel` from the orderer `node`, the
/// Deliver requests signed by `signer` (an admin of an org of the channel).
pub async fn fetch_config(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    signer: &Signer,
    channel: &str,
    timeout: Duration,
) -> Result<ChannelConfig, ChannelError> {
    let phase = Phase::new();
    with_deadline(&node.name, &ep.grpc, timeout, &phase, async {
        let orderer = Orderer::connect(node, ep, crypto, signer, &phase).await?;
        phase.set(format!("the newest block of channel {channel}"));
        let newest = orderer.block(channel, BlockPosition::Newest).await?;
        let number = last_config_index(&newest, channel)?;
        let block = match newest.header.as_ref() {
            Some(h) if h.number == number => newest,
            _ => {
                phase.set(format!("config block {number} of channel {channel}"));
                orderer
                    .block(channel, BlockPosition::Specified(number))
                    .await?
            }
        };
        let bytes = block.encode_to_vec();
        let config =
            configtx::config_from_block(&bytes).map_err(|source| ChannelError::ConfigTx {
                channel: channel.to_string(),
                source,
            })?;
        Ok(ChannelConfig {
            orderer: node.name.clone(),
            number,
            block: bytes,
            config,
        })
    })
    .await
}

/// Submits a signed `CONFIG_UPDATE` envelope for `channel` to the orderer
/// `node` (Broadcast, as `submitter`'s connection). SUCCESS means the
/// orderer accepted it for ordering: the config block follows.
pub async fn submit_update(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    submitter: &Signer,
    channel: &str,
    envelope: common::Envelope,
    timeout: Duration,
) -> Result<(), ChannelError> {
    let phase = Phase::new();
    with_deadline(&node.name, &ep.grpc, timeout, &phase, async {
        let orderer = Orderer::connect(node, ep, crypto, submitter, &phase).await?;
        phase.set(format!(
            "the orderer's answer to the config update of channel {channel}"
        ));
        match orderer.client.broadcast(envelope).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let (status, info) = refusal(&submit_message(e));
                Err(ChannelError::UpdateRefused {
                    node: node.name.clone(),
                    address: ep.grpc.clone(),
                    channel: channel.to_string(),
                    status,
                    info,
                })
            }
        }
    })
    .await
}

/// The pause between two rounds of asking the peers for their config.
const POLL: Duration = Duration::from_millis(250);

/// Waits until every peer of `peers` has config `sequence` (or later) of
/// `channel`, asking each (CSCC `GetChannelConfig`) until `timeout` has
/// passed; then [`ChannelError::ConfigNotSeen`] says what each reported
/// last.
pub async fn wait_for_config(
    net: Network<'_>,
    peers: &[&Node],
    channel: &str,
    sequence: u64,
    timeout: Duration,
) -> Result<(), ChannelError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut waiting: Vec<&Node> = peers.to_vec();
    let mut last = std::collections::BTreeMap::new();
    loop {
        let mut still = Vec::new();
        for node in waiting {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .max(POLL);
            let seen = match net.endpoints.get(&node.name) {
                None => Err(ChannelError::NoEndpoint {
                    node: node.name.clone(),
                    what: "network",
                }),
                Some(ep) => {
                    super::peer::peer_channel_config(node, ep, net.crypto, channel, left).await
                }
            };
            match seen {
                Ok(c) if c.sequence >= sequence => {
                    last.remove(&node.name);
                }
                Ok(c) => {
                    last.insert(node.name.clone(), format!("sequence {}", c.sequence));
                    still.push(node);
                }
                Err(e) => {
                    last.insert(node.name.clone(), e.to_string());
                    still.push(node);
                }
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() + POLL >= deadline {
            let state = last
                .iter()
                .map(|(n, s)| format!("{n}: {s}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ChannelError::ConfigNotSeen {
                channel: channel.to_string(),
                sequence,
                after: timeout,
                state,
            });
        }
        tokio::time::sleep(POLL).await;
        waiting = still;
    }
}

/// The peers of the orgs that are members of the channel in `config`
/// (its `Application` group's org groups, named as in fabdev.yaml).
pub fn member_peers<'t>(topo: &'t Topology, config: &common::Config) -> Vec<&'t Node> {
    let Some(app) = config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Application"))
    else {
        return Vec::new();
    };
    topo.peers()
        .filter(|n| app.groups.contains_key(&n.org))
        .collect()
}

/// Tries `op` on each orderer in turn until one answers; an orderer that
/// cannot be reached, has no endpoint, does not deliver the channel or is
/// not ready to order (404, 503) is passed over; any other answer (a
/// refusal of the update included) is the result.
///
/// When every orderer was passed over and the last said it cannot serve
/// yet (503: a restarted orderer with no Raft leader yet), the round is
/// tried again until [`UNAVAILABLE_FOR`] has passed.
async fn on_some_orderer<'t, T, F, Fut>(
    net: Network<'t>,
    mut op: F,
) -> Result<(T, &'t Node), ChannelError>
where
    F: FnMut(&'t Node, &'t NodeEndpoint) -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let deadline = tokio::time::Instant::now() + UNAVAILABLE_FOR;
    loop {
        match one_round(net, &mut op).await {
            Err(e) if unavailable_yet(&e) && tokio::time::Instant::now() + POLL < deadline => {
                tokio::time::sleep(POLL).await;
            }
            other => return other,
        }
    }
}

/// How long the orderers may answer that they cannot serve yet.
const UNAVAILABLE_FOR: Duration = Duration::from_secs(60);

/// Whether an orderer said it cannot serve the channel yet (503).
fn unavailable_yet(e: &ChannelError) -> bool {
    match e {
        ChannelError::DeliverRefused { message, .. } => message.contains("status 503"),
        ChannelError::UpdateRefused { status: 503, .. } => true,
        _ => false,
    }
}

/// One try of each orderer in turn (see [`on_some_orderer`]).
async fn one_round<'t, T, F, Fut>(
    net: Network<'t>,
    op: &mut F,
) -> Result<(T, &'t Node), ChannelError>
where
    F: FnMut(&'t Node, &'t NodeEndpoint) -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let mut last = None;
    for node in net.topo.orderers() {
        let Some(ep) = net.endpoints.get(&node.name) else {
            last = Some(ChannelError::NoEndpoint {
                node: node.name.clone(),
                what: "network",
            });
            continue;
        };
        match op(node, ep).await {
            // Down, not a member (yet, or any more), or not ready: another
            // orderer may answer.
            Err(
                e @ (ChannelError::Unreachable { .. }
                | ChannelError::Timeout { .. }
                | ChannelError::DeliverRefused { .. }
                | ChannelError::UpdateRefused {
                    status: 404 | 503, ..
                }),
            ) => {
                last = Some(e);
            }
            other => return other.map(|t| (t, node)),
        }
    }
    Err(last.unwrap_or_else(|| ChannelError::NoEndpoint {
        node: net.ws.orderer.name.clone(),
        what: "orderer",
    }))
}

/// The latest config of `channel` from the first orderer that answers, the
/// Deliver requests signed by the orderer org's Admin.
pub async fn current_config(
    net: Network<'_>,
    channel: &str,
    timeout: Duration,
) -> Result<ChannelConfig, ChannelError> {
    let signer = admin_signer(net.ws, net.crypto, &net.ws.orderer.name)?;
    let signer = &signer;
    on_some_orderer(net, |node, ep| async move {
        fetch_config(node, ep, net.crypto, signer, channel, timeout).await
    })
    .await
    .map(|(c, _)| c)
}

/// Block `number` of `channel` (0: the genesis block a peer joins with)
/// from the first orderer that answers, the Deliver request signed by the
/// orderer org's Admin.
pub async fn channel_block(
    net: Network<'_>,
    channel: &str,
    number: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ChannelError> {
    let signer = admin_signer(net.ws, net.crypto, &net.ws.orderer.name)?;
    let signer = &signer;
    on_some_orderer(net, |node, ep| async move {
        let phase = Phase::new();
        with_deadline(&node.name, &ep.grpc, timeout, &phase, async {
            let orderer = Orderer::connect(node, ep, net.crypto, signer, &phase).await?;
            phase.set(format!("block {number} of channel {channel}"));
            let block = orderer
                .block(channel, BlockPosition::Specified(number))
                .await?;
            Ok(block.encode_to_vec())
        })
        .await
    })
    .await
    .map(|(b, _)| b)
}

/// Changes `channel` from its `current` config to `wanted`: the update
/// computed, signed by the admins `signers` says, submitted to the first
/// orderer that answers, and waited for until every peer of the channel's
/// member orgs reports the new config (each step under `timeout`).
pub async fn update_channel(
    net: Network<'_>,
    channel: &str,
    current: &common::Config,
    wanted: &common::Config,
    signers: &Signers,
    timeout: Duration,
) -> Result<Applied, ChannelError> {
    let start = Instant::now();
    let cfgtx = |source| ChannelError::ConfigTx {
        channel: channel.to_string(),
        source,
    };
    let update = compute_update(current, wanted, channel).map_err(cfgtx)?;
    let mut policies: Vec<String> = modified_items(current, &update)
        .map_err(cfgtx)?
        .into_iter()
        .map(|m| m.policy_path)
        .collect();
    policies.sort();
    policies.dedup();
    let orgs: Vec<String> = match signers {
        Signers::Orgs(orgs) => orgs.clone(),
        Signers::AsRequired => required_signers(current, &policies, channel)?
            .into_iter()
            .map(|msp| {
                org_of_msp(net.ws, &msp)
                    .map(str::to_string)
                    .ok_or_else(|| ChannelError::NoSigner {
                        channel: channel.to_string(),
                        msp_id: msp.clone(),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let signing: Vec<Signer> = orgs
        .iter()
        .map(|org| admin_signer(net.ws, net.crypto, org))
        .collect::<Result<_, _>>()?;
    // The envelope's creator must be a writer of the channel: any signer
    // is (an admin is a member of its org), else the orderer org's Admin.
    let submitter = match signing.first() {
        Some(s) => s.clone(),
        None => admin_signer(net.ws, net.crypto, &net.ws.orderer.name)?,
    };
    let envelope = signed_update(&update, &signing, &submitter)?;
    let submitter = &submitter;
    let envelope = &envelope;
    let ((), orderer) = on_some_orderer(net, |node, ep| async move {
        submit_update(
            node,
            ep,
            net.crypto,
            submitter,
            channel,
            envelope.clone(),
            timeout,
        )
        .await
    })
    .await?;
    let peers = member_peers(net.topo, current);
    let sequence = current.sequence + 1;
    wait_for_config(net, &peers, channel, sequence, timeout).await?;
    Ok(Applied {
        sequence,
        policies,
        signers: orgs,
        orderer: orderer.name.clone(),
        peers: peers.iter().map(|p| p.name.clone()).collect(),
        took: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn an_orderer_not_serving_yet_is_asked_again() {
        use super::{ChannelError, unavailable_yet};
        let deliver = |message: &str| ChannelError::DeliverRefused {
            node: "o".into(),
            address: "a".into(),
            channel: "c".into(),
            block: None,
            message: message.into(),
        };
        assert!(unavailable_yet(&deliver("Deliver failed with status 503")));
        assert!(!unavailable_yet(&deliver("Deliver failed with status 404")));
        let update = |status| ChannelError::UpdateRefused {
            node: "o".into(),
            address: "a".into(),
            channel: "c".into(),
            status,
            info: String::new(),
        };
        assert!(unavailable_yet(&update(503)));
        assert!(!unavailable_yet(&update(400)));
    }

    #[test]
    fn broadcast_refusals_read() {
        let (status, info) = refusal(
            "Broadcast rejected with status 400: error applying config update to existing channel 'mychannel': error authorizing update",
        );
        assert_eq!(status, 400);
        assert!(info.starts_with("error applying config update"), "{info}");
        assert_eq!(super::super::status_name(status), "BAD_REQUEST");
        let (status, info) = refusal("Broadcast rejected with status 503: no Raft leader");
        assert_eq!((status, info.as_str()), (503, "no Raft leader"));
        assert_eq!(super::super::status_name(status), "SERVICE_UNAVAILABLE");
        let (status, info) = refusal("transport error");
        assert_eq!((status, info.as_str()), (0, "transport error"));
        assert_eq!(super::super::status_name(0), "no status");
        assert_eq!(super::super::status_name(299), "299");
    }
}
