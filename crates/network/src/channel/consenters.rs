//! An orderer added to (or removed from) a running channel's consenters.
//!
//! [`change_consenters`]: the channel's live config read from an orderer,
//! the consenter set (and the orderer org's endpoints) taken from fabdev's
//! config for the channel (`configtx::with_consenters`), the update signed
//! as `/Channel/Orderer/Admins` and the orderer org's `Admins` need (the
//! orderer org's Admin), submitted and waited for on the peers; then every
//! orderer of the topology that is not a member of the channel yet joins it
//! through the channel participation API with the latest config block (the
//! one that names it), and the ordering service is waited for until every
//! orderer of the topology reports the channel active with a leader all
//! consenters have seen. A consenter removed is the same update with the
//! orderer left out of the topology: nothing joins, and the removed
//! orderer stops being a consenter (its pod is the caller's to stop).
//!
//! [`ensure_consenters`] is what `fabdev up` runs: the same, with each part
//! skipped when it is done already (a run again after one that stopped),
//! and the orderers that leave the consenters taken off the channel through
//! their channel participation API ([`leave_orderer`]) after the update.

use std::time::{Duration, Instant};

use super::config::{Applied, Network, Signers, current_config, update_channel};
use super::{
    ChannelError, JoinOutcome, NodeEndpoint, OrderingReady, join_orderer, leave_orderer,
    wait_for_leader,
};
use crate::configtx;
use crate::fabric::common;
use crate::topology::Node;

/// The pause before a consenter change refused for quorum is sent again.
const QUORUM_RETRY: Duration = Duration::from_secs(1);

/// Whether an orderer refused a consenter change because it does not know
/// (yet) that enough consenters are alive (Fabric's etcdraft
/// `UnacceptableQuorumLoss`).
fn quorum_not_known(info: &str) -> bool {
    info.contains("configuration will result in quorum loss")
}

/// What [`change_consenters`] did.
#[derive(Debug, Clone)]
pub struct ConsentersChanged {
    /// The config update.
    pub update: Applied,
    /// The number of the config block the new orderers joined with.
    pub config_block: u64,
    /// The orderers that joined the channel now.
    pub joined: Vec<String>,
    /// The ordering service once every orderer reported the channel.
    pub ready: OrderingReady,
    /// From the start to every orderer reporting the channel active with
    /// a leader.
    pub took: Duration,
}

/// Changes `channel`'s consenters to those of `built` (fabdev's config of
/// the channel for the wanted orderers, `net.topo`'s), joins the orderers
/// that are not members yet, and waits for them (each step under
/// `timeout`).
pub async fn change_consenters(
    net: Network<'_>,
    channel: &str,
    built: &common::Config,
    timeout: Duration,
) -> Result<ConsentersChanged, ChannelError> {
    let start = Instant::now();
    let live = current_config(net, channel, timeout).await?;
    let wanted = wanted_consenters(channel, &live.config, built)?;
    let update = submit(net, channel, &live.config, &wanted, timeout).await?;
    let (config_block, joined, ready) = join_and_wait(net, channel, timeout).await?;
    Ok(ConsentersChanged {
        update,
        config_block,
        joined,
        ready,
        took: start.elapsed(),
    })
}

/// An orderer that leaves a channel's consenters, and where fabdev reaches
/// its channel participation API.
#[derive(Debug, Clone, Copy)]
pub struct Leaving<'a> {
    pub node: &'a Node,
    pub endpoint: &'a NodeEndpoint,
}

/// What [`ensure_consenters`] found and did.
#[derive(Debug, Clone)]
pub struct ConsentersEnsured {
    /// The config update; none when the channel had the consenters
    /// already (a run again after one that stopped later).
    pub update: Option<Applied>,
    /// The number of the config block the orderers joined with.
    pub config_block: u64,
    /// The orderers that joined the channel now.
    pub joined: Vec<String>,
    /// The leaving orderers that were members and left the channel now.
    pub left: Vec<String>,
    /// The ordering service once every orderer reported the channel.
    pub ready: OrderingReady,
    pub took: Duration,
}

/// `channel`'s consenters made those of `built`, as `fabdev up` applies an
/// orderer added or removed: the config update when the live config
/// differs ([`change_consenters`]' update), then each orderer of
/// `leaving` (consenters no more) taken off the channel through the
/// channel participation API (`DELETE`), every orderer of `net.topo`
/// joined with the latest config block, and the ordering service waited
/// for. Each part is skipped when already done, so a run that stopped
/// half way is finished by the next.
pub async fn ensure_consenters(
    net: Network<'_>,
    channel: &str,
    built: &common::Config,
    leaving: &[Leaving<'_>],
    timeout: Duration,
) -> Result<ConsentersEnsured, ChannelError> {
    let start = Instant::now();
    let live = current_config(net, channel, timeout).await?;
    let wanted = wanted_consenters(channel, &live.config, built)?;
    let update = match configtx::compute_update(&live.config, &wanted, channel) {
        Err(configtx::ConfigTxError::NoDifferences) => None,
        Err(source) => {
            return Err(ChannelError::ConfigTx {
                channel: channel.to_string(),
                source,
            });
        }
        Ok(_) => Some(submit(net, channel, &live.config, &wanted, timeout).await?),
    };
    let mut left = Vec::new();
    for l in leaving {
        if leave_orderer(l.node, l.endpoint, net.crypto, net.ws, channel, timeout).await? {
            left.push(l.node.name.clone());
        }
    }
    let (config_block, joined, ready) = join_and_wait(net, channel, timeout).await?;
    Ok(ConsentersEnsured {
        update,
        config_block,
        joined,
        left,
        ready,
        took: start.elapsed(),
    })
}

fn wanted_consenters(
    channel: &str,
    live: &common::Config,
    built: &common::Config,
) -> Result<common::Config, ChannelError> {
    configtx::with_consenters(live, built).map_err(|source| ChannelError::ConfigTx {
        channel: channel.to_string(),
        source,
    })
}

/// The consenter update signed as required and submitted.
///
/// A Raft orderer refuses a consenter change it cannot yet tell is safe
/// (`0 out of 3 nodes are alive, configuration will result in quorum
/// loss`: a leader counts the nodes it has heard from lately, none just
/// after it was elected): the same update is sent again until it is taken
/// or `timeout` has passed.
async fn submit(
    net: Network<'_>,
    channel: &str,
    live: &common::Config,
    wanted: &common::Config,
    timeout: Duration,
) -> Result<Applied, ChannelError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let result =
            update_channel(net, channel, live, wanted, &Signers::AsRequired, timeout).await;
        match result {
            Err(ChannelError::UpdateRefused { info, .. })
                if quorum_not_known(&info)
                    && tokio::time::Instant::now() + QUORUM_RETRY < deadline =>
            {
                tokio::time::sleep(QUORUM_RETRY).await;
            }
            other => return other,
        }
    }
}

/// Every orderer of `net.topo` joined with the latest config block (the
/// one that names the new consenters: a new orderer joins with it and
/// pulls the blocks before it from the others), then the wait until every
/// one reports the channel active with a leader all consenters have seen.
async fn join_and_wait(
    net: Network<'_>,
    channel: &str,
    timeout: Duration,
) -> Result<(u64, Vec<String>, OrderingReady), ChannelError> {
    let latest = current_config(net, channel, timeout).await?;
    let mut joined = Vec::new();
    for node in net.topo.orderers() {
        let ep = net
            .endpoints
            .get(&node.name)
            .ok_or_else(|| ChannelError::NoEndpoint {
                node: node.name.clone(),
                what: "channel participation (admin)",
            })?;
        let outcome = join_orderer(
            node,
            ep,
            net.crypto,
            net.ws,
            channel,
            &latest.block,
            timeout,
        )
        .await?;
        if outcome == JoinOutcome::Joined {
            joined.push(node.name.clone());
        }
    }
    let ready = wait_for_leader(
        net.ws,
        net.topo,
        net.crypto,
        net.endpoints,
        channel,
        timeout,
    )
    .await?;
    Ok((latest.number, joined, ready))
}

#[cfg(test)]
mod tests {
    use super::quorum_not_known;

    #[test]
    fn a_refusal_for_quorum_is_told_apart() {
        assert!(quorum_not_known(
            "error applying config update to existing channel 'mychannel': consensus metadata update for channel config update is invalid: 0 out of 3 nodes are alive, configuration will result in quorum loss"
        ));
        assert!(!quorum_not_known(
            "error authorizing update: error validating DeltaSet: policy for [Value]  /Channel/Orderer/ConsensusType not satisfied"
        ));
    }
}
