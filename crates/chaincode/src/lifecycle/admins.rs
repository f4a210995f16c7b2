//! The channel's admins: one admin connection per peer of a channel's
//! orgs ([`ChannelAdmins`]), what the lifecycle steps act through.

use network::channel::{ChannelError, Endpoints, NodeEndpoint, PeerClient};
use network::pki::{ADMIN, CryptoDir};
use network::{Node, Topology, Workspace};

use super::{CALL_TIMEOUT, LifecycleError};

/// The orgs of a channel and their peers.
fn channel_peers<'a>(
    ws: &'a Workspace,
    topo: &'a Topology,
    channel: &str,
) -> Result<Vec<(&'a str, Vec<&'a Node>)>, LifecycleError> {
    let spec = ws
        .channel(channel)
        .ok_or_else(|| LifecycleError::UnknownChannel {
            channel: channel.to_string(),
        })?;
    spec.orgs
        .iter()
        .map(|org| {
            let peers: Vec<&Node> = topo.peers_of(org).collect();
            if peers.is_empty() {
                Err(LifecycleError::NoPeer {
                    org: org.clone(),
                    channel: channel.to_string(),
                })
            } else {
                Ok((org.as_str(), peers))
            }
        })
        .collect()
}

fn endpoint<'a>(endpoints: &'a Endpoints, node: &Node) -> Result<&'a NodeEndpoint, ChannelError> {
    endpoints
        .get(&node.name)
        .ok_or_else(|| ChannelError::NoEndpoint {
            node: node.name.clone(),
            what: "network",
        })
}

/// Connect to a peer as its org's user.
pub async fn connect(
    node: &Node,
    endpoints: &Endpoints,
    crypto: &CryptoDir,
    user: &str,
) -> Result<PeerClient, ChannelError> {
    PeerClient::connect(node, endpoint(endpoints, node)?, crypto, user, CALL_TIMEOUT).await
}

/// One admin connection to every peer of a channel's orgs, by org (in the
/// channel's order): what the lifecycle steps act through. A peer that
/// cannot be reached is kept as its error: [`install_all`] installs on the
/// others and names it; the steps after it need every peer.
#[derive(Debug)]
pub struct ChannelAdmins {
    channel: String,
    orgs: Vec<(String, Vec<PeerClient>)>,
    unreachable: Vec<ChannelError>,
}

impl ChannelAdmins {
    /// Connect as each org's admin to every peer of `channel`'s orgs.
    pub async fn connect(
        ws: &Workspace,
        topo: &Topology,
        crypto: &CryptoDir,
        endpoints: &Endpoints,
        channel: &str,
    ) -> Result<ChannelAdmins, LifecycleError> {
        let orgs = channel_peers(ws, topo, channel)?;
        let mut out = Vec::new();
        let mut unreachable = Vec::new();
        for (org, peers) in &orgs {
            let mut conns = Vec::new();
            for p in peers {
                match connect(p, endpoints, crypto, ADMIN).await {
                    Ok(c) => conns.push(c),
                    Err(e) => unreachable.push(e),
                }
            }
            out.push((org.to_string(), conns));
        }
        // Nothing to act through at all: that is the error.
        if out.iter().all(|(_, c)| c.is_empty()) && !unreachable.is_empty() {
            return Err(unreachable.swap_remove(0).into());
        }
        Ok(ChannelAdmins {
            channel: channel.to_string(),
            orgs: out,
            unreachable,
        })
    }

    /// The peers that could not be reached, each with its cause.
    pub fn unreachable(&self) -> &[ChannelError] {
        &self.unreachable
    }

    /// Every peer of the channel is connected, or the unreachable ones as
    /// an error.
    pub(super) fn require_all(&self) -> Result<(), LifecycleError> {
        if self.unreachable.is_empty() {
            return Ok(());
        }
        Err(LifecycleError::Unreachable {
            channel: self.channel.clone(),
            failures: self.unreachable.iter().map(|e| e.to_string()).collect(),
        })
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Every peer's connection, org by org.
    pub fn peers(&self) -> impl Iterator<Item = &PeerClient> {
        self.orgs.iter().flat_map(|(_, c)| c)
    }

    /// The first peer of the channel's first org: where queries go.
    pub(super) fn first(&self) -> Result<&PeerClient, LifecycleError> {
        self.require_all()?;
        self.peers().next().ok_or_else(|| LifecycleError::NoPeer {
            org: String::new(),
            channel: self.channel.clone(),
        })
    }

    /// Each org and its first peer.
    pub(super) fn org_peers(&self) -> impl Iterator<Item = (&str, &PeerClient)> {
        self.orgs
            .iter()
            .filter_map(|(o, c)| c.first().map(|c| (o.as_str(), c)))
    }
}
