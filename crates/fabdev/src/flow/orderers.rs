//! `up`'s orderer changes on running channels: one `consenters <channel>`
//! step per channel the last `up` made, when the plan adds or removes
//! orderers, before the `channel <name>` steps (so a new orderer joins a
//! running channel with the config block that names it, never from the
//! genesis block); and, on a cluster, one `remove orderer <name>` step per
//! orderer removed, once it has left every channel.
//!
//! Raft takes one consenter change at a time, so the step goes from the
//! recorded orderer count to fabdev.yaml's one orderer at a time: for each,
//! fabdev's config of the channel for that many orderers (the genesis
//! block's builders, as the recorded config-update vectors do) gives the
//! consenter set and the orderer org's endpoints
//! (`network::configtx::with_consenters`), and
//! `network::channel::ensure_consenters` updates the channel (signed as
//! `/Channel/Orderer/Admins` and the orderer org's `Admins` need), takes a
//! removed orderer off it (channel participation `DELETE`), joins a new one
//! with the latest config block and waits until every orderer reports the
//! channel active with a leader. A part already done is skipped, so a run
//! that stopped half way is finished by the next `up`; a failed update
//! stops the step before anything is removed.

use std::collections::BTreeMap;

use network::channel::{self, Leaving, Network};
use network::configtx;
use network::reconcile::{Action, AppliedState, Plan};
use network::render::labels;
use network::{Topology, Workspace};

use super::config_update::UPDATE_TIMEOUT;
use super::connections::Connected;
use super::steps::StepResult;
use super::{Context, FlowError};
use crate::events::{EventKind, Sink};

/// The step's name for `channel`.
pub(crate) fn consenters_step(channel: &str) -> String {
    format!("consenters {channel}")
}

/// The step's name for a removed orderer's objects.
pub(crate) fn remove_step(orderer: &str) -> String {
    format!("remove orderer {orderer}")
}

/// Whether `plan` adds or removes orderers.
pub(crate) fn changes_orderers(plan: &Plan) -> bool {
    plan.actions
        .iter()
        .any(|a| matches!(a, Action::AddOrderer { .. } | Action::RemoveOrderer { .. }))
}

/// The orderers `plan` removes, in plan order.
pub(crate) fn removed_orderers(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::RemoveOrderer { orderer } => Some(orderer.clone()),
            _ => None,
        })
        .collect()
}

/// The channels whose consenters change: those the last `up` made that
/// fabdev.yaml keeps (a new channel's genesis block names every orderer).
pub(crate) fn consenter_channels(
    plan: &Plan,
    applied: Option<&AppliedState>,
    ws: &Workspace,
) -> Vec<String> {
    let Some(old) = applied else {
        return Vec::new();
    };
    if !changes_orderers(plan) {
        return Vec::new();
    }
    ws.channels
        .iter()
        .filter(|c| old.channels.iter().any(|o| o.name == c.name))
        .map(|c| c.name.clone())
        .collect()
}

/// One consenter change of the way from `from` orderers to `to`.
#[derive(Debug, Clone)]
pub(crate) struct Stage {
    /// The orderer count after this change.
    pub count: u32,
    /// The workspace with that many orderers.
    pub ws: Workspace,
    /// Its nodes, each at its slot.
    pub topo: Topology,
    /// The orderer that joins (`true`) or leaves (`false`).
    pub orderer: String,
    pub added: bool,
}

/// The consenter changes from `from` orderers to `ws`'s, one orderer at a
/// time (the last first when removing), each with the workspace and
/// topology of its orderer count; the nodes keep `slots` (the recorded
/// ones and the run's).
pub(crate) fn stages(ws: &Workspace, from: u32, slots: &BTreeMap<String, u32>) -> Vec<Stage> {
    let to = ws.orderer.count;
    let counts: Vec<(u32, u32, bool)> = if to >= from {
        // (count after, index of the orderer, added)
        (from + 1..=to).map(|k| (k, k - 1, true)).collect()
    } else {
        (to..from).rev().map(|k| (k, k, false)).collect()
    };
    let org = network::topology::k8s_org(&ws.orderer.name);
    counts
        .into_iter()
        .map(|(count, index, added)| {
            let mut w = ws.clone();
            w.orderer.count = count;
            let topo = Topology::with_slots(&w, slots);
            Stage {
                count,
                ws: w,
                topo,
                orderer: format!("orderer{index}-{org}"),
                added,
            }
        })
        .collect()
}

/// The topology with the orderers of the larger of `from` and `ws`'s
/// count, at `slots`: every orderer a change from `from` to `ws` adds or
/// removes is in it.
fn widest(ws: &Workspace, from: u32, slots: &BTreeMap<String, u32>) -> Topology {
    let mut w = ws.clone();
    w.orderer.count = from.max(ws.orderer.count);
    Topology::with_slots(&w, slots)
}

/// The slots of the nodes: those the last `up` recorded (a removed
/// orderer's too), and the run's.
fn all_slots(ctx: &Context) -> BTreeMap<String, u32> {
    let mut slots = ctx
        .applied
        .as_ref()
        .map(|a| a.slots.clone())
        .unwrap_or_default();
    slots.extend(ctx.topo.slots());
    slots
}

/// The `consenters <channel>` step: the channel's consenters from the
/// recorded orderer count to fabdev.yaml's, one orderer at a time.
pub(crate) async fn update_consenters<S: Connected>(
    run: &mut S,
    channel: &str,
    sink: &mut dyn Sink,
) -> StepResult {
    let (ctx, conn) = run.connections();
    let Some(applied) = ctx.applied.as_ref() else {
        return Ok(Some(
            "a new network: its channels name every orderer".into(),
        ));
    };
    let slots = all_slots(ctx);
    let stages = stages(&ctx.ws, applied.orderer.count, &slots);
    // Every orderer of the way, the removed ones too (they leave the
    // channel through their own channel participation API). A stage's
    // topology has the orderers after its change, so a removed orderer is
    // in none of them: the widest is that of the larger count.
    let widest = widest(&ctx.ws, applied.orderer.count, &slots);
    let orderers: Vec<&network::topology::Node> = widest.orderers().collect();
    let endpoints = conn.with_nodes(ctx, &orderers).await?;
    let mut said = Vec::new();
    for stage in &stages {
        let net = Network {
            ws: &stage.ws,
            topo: &stage.topo,
            crypto: &ctx.crypto,
            endpoints: &endpoints,
        };
        let block = network::genesis::genesis_block(&stage.ws, &stage.topo, &ctx.crypto, channel)?;
        let built = configtx::config_from_block(&block).map_err(|source| {
            channel::ChannelError::ConfigTx {
                channel: channel.to_string(),
                source,
            }
        })?;
        let leaving: Vec<Leaving> = match (!stage.added).then(|| widest.node(&stage.orderer)) {
            Some(None) => {
                return Err(channel::ChannelError::NoEndpoint {
                    node: stage.orderer.clone(),
                    what: "channel participation (admin)",
                }
                .into());
            }
            Some(Some(node)) => {
                let endpoint =
                    endpoints
                        .get(&node.name)
                        .ok_or_else(|| channel::ChannelError::NoEndpoint {
                            node: node.name.clone(),
                            what: "channel participation (admin)",
                        })?;
                vec![Leaving { node, endpoint }]
            }
            None => Vec::new(),
        };
        let done =
            channel::ensure_consenters(net, channel, &built, &leaving, UPDATE_TIMEOUT).await?;
        let message = stage_note(channel, stage, &done);
        sink.send(EventKind::Note {
            message: message.clone(),
        });
        said.push(message);
    }
    Ok(Some(if said.is_empty() {
        format!("{} orderers as recorded", applied.orderer.count)
    } else {
        said.join("; ")
    }))
}

/// What one consenter change did.
pub(crate) fn stage_note(
    channel: &str,
    stage: &Stage,
    done: &channel::ConsentersEnsured,
) -> String {
    let update = match &done.update {
        Some(u) => format!(
            "config update signed by {} for {} at config sequence {}",
            u.signers
                .iter()
                .map(|o| format!("{o} Admin"))
                .collect::<Vec<_>>()
                .join(", "),
            u.policies.join(", "),
            u.sequence
        ),
        None => "the channel had the consenters already".to_string(),
    };
    let membership = if stage.added {
        if done.joined.contains(&stage.orderer) {
            format!("joined with config block {}", done.config_block)
        } else {
            "a member already".to_string()
        }
    } else if done.left.contains(&stage.orderer) {
        "left the channel".to_string()
    } else {
        "not a member".to_string()
    };
    format!(
        "{} {} {channel} ({} consenters): {update}; {membership}; every orderer active, leader {} ({:.1}s)",
        stage.orderer,
        if stage.added {
            "added to"
        } else {
            "removed from"
        },
        stage.count,
        done.ready.leader.as_deref().unwrap_or("unknown"),
        done.took.as_secs_f64()
    )
}

/// The `remove orderer <name>` step (on a cluster): the orderer's objects
/// (StatefulSet, so its pod, Services, Secrets, volume claims) deleted,
/// once the consenter steps have taken it off every channel.
pub(crate) async fn remove_orderer<S: Connected>(
    run: &mut S,
    orderer: &str,
    _: &mut dyn Sink,
) -> StepResult {
    let (ctx, conn) = run.connections();
    if !ctx.has_cluster() {
        return Err(FlowError::StepOrder {
            what: "a cluster to remove the orderer's objects from",
        });
    }
    let client = conn.client(ctx).await?;
    let selector = format!(
        "{}={},{}={orderer}",
        labels::WORKSPACE,
        ctx.ws.name,
        labels::NODE
    );
    let deleted = cluster::k8s::delete_labelled(&client, &ctx.ws.name, &selector).await?;
    Ok(Some(if deleted.is_empty() {
        "nothing left to delete".to_string()
    } else {
        format!("deleted {}", deleted.join(", "))
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn ws(count: u32) -> Workspace {
        let text = format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\norderer: {{ count: {count} }}\n\
             orgs:\n  - {{ name: Org1, peers: 1 }}\nchannels:\n  - {{ name: mychannel, orgs: [Org1] }}\n"
        );
        Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new("."))
            .unwrap_or_else(|e| panic!("spec: {e}"))
    }

    /// Each stage's orderer count, orderer, and whether it is added.
    fn changes(s: &[Stage]) -> Vec<(u32, &str, bool)> {
        s.iter()
            .map(|s| (s.count, s.orderer.as_str(), s.added))
            .collect()
    }

    #[test]
    fn orderers_are_added_one_at_a_time_and_keep_their_ports() {
        let before = Topology::of(&ws(3));
        let after = ws(5);
        let s = stages(&after, 3, &before.slots());
        let names = changes(&s);
        assert_eq!(
            names,
            [
                (4, "orderer3-ordererorg", true),
                (5, "orderer4-ordererorg", true)
            ]
        );
        assert_eq!(s[0].topo.orderers().count(), 4);
        for n in &before.nodes {
            for stage in &s {
                assert_eq!(
                    stage.topo.node(&n.name).map(|m| m.host_ports),
                    Some(n.host_ports),
                    "{} moved",
                    n.name
                );
            }
        }
    }

    #[test]
    fn orderers_are_removed_last_first_with_the_ports_they_had() {
        let before = Topology::of(&ws(5));
        let after = ws(3);
        let s = stages(&after, 5, &before.slots());
        let names = changes(&s);
        assert_eq!(
            names,
            [
                (4, "orderer4-ordererorg", false),
                (3, "orderer3-ordererorg", false)
            ]
        );
        // The leaving orderer is in the stage before (the widest: 5).
        let leaving = before.node("orderer4-ordererorg").map(|n| n.host_ports);
        assert!(leaving.is_some());
        assert!(s[0].topo.node("orderer4-ordererorg").is_none());
        assert_eq!(
            s[0].topo.node("orderer3-ordererorg").map(|n| n.host_ports),
            before.node("orderer3-ordererorg").map(|n| n.host_ports)
        );
        assert!(stages(&after, 3, &before.slots()).is_empty());
        // Only the widest topology has the leaving orderers, at their ports.
        let all = widest(&after, 5, &before.slots());
        for gone in ["orderer4-ordererorg", "orderer3-ordererorg"] {
            assert_eq!(
                all.node(gone).map(|n| n.host_ports),
                before.node(gone).map(|n| n.host_ports),
                "{gone}"
            );
        }
    }

    #[test]
    fn only_running_channels_change_consenters() {
        let old = AppliedState::of(&ws(3), &Topology::of(&ws(3)));
        let mut new = ws(4);
        new.channels.push(network::spec::Channel {
            name: "other".into(),
            ..new.channels[0].clone()
        });
        let p = network::reconcile::plan(Some(&old), &new);
        assert!(changes_orderers(&p));
        assert_eq!(consenter_channels(&p, Some(&old), &new), ["mychannel"]);
        assert!(consenter_channels(&p, None, &new).is_empty());
        let same = network::reconcile::plan(Some(&old), &ws(3));
        assert!(consenter_channels(&same, Some(&old), &ws(3)).is_empty());
        assert!(removed_orderers(&p).is_empty());
        let fewer = network::reconcile::plan(
            Some(&AppliedState::of(&ws(5), &Topology::of(&ws(5)))),
            &ws(4),
        );
        assert_eq!(removed_orderers(&fewer), ["orderer4-ordererorg"]);
    }
}
