//! The plan from an applied state to a workspace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::{Action, AppliedOrg, AppliedState};
use crate::spec::{MIN_BFT_ORDERERS, Workspace, check_host_ports};
use crate::topology::{Topology, k8s_org};

/// A change that cannot be made safely, why, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The fabdev.yaml field concerned, such as `orgs[2].name`.
    pub field: String,
    pub what: String,
    pub reason: String,
    pub instead: String,
}

/// What `up` does to the running network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// No applied state: `up` makes the whole network, as it always has.
    pub first_up: bool,
    pub actions: Vec<Action>,
    pub refused: Vec<Refusal>,
}

impl Plan {
    /// Nothing to do.
    pub fn is_noop(&self) -> bool {
        !self.first_up && self.actions.is_empty() && self.refused.is_empty()
    }

    /// Whether it may be applied: nothing refused (a plan is applied whole
    /// or not at all).
    pub fn applicable(&self) -> bool {
        self.refused.is_empty()
    }

    /// The plan as lines of text: a summary, then `+`, `~`, `-` per action
    /// with the policies it is signed for, then each refusal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.first_up {
            out.push_str(
                "plan: a new network (nothing applied yet): everything in fabdev.yaml is created\n",
            );
            return out;
        }
        let count = |k: &str| self.actions.iter().filter(|a| a.kind() == k).count();
        let _ = writeln!(
            out,
            "plan: {} to add, {} to change, {} to remove, {} refused",
            count("add"),
            count("change"),
            count("remove"),
            self.refused.len()
        );
        if self.is_noop() {
            out.push_str("  nothing to do: the network is what fabdev.yaml says\n");
        }
        for a in &self.actions {
            let sign = match a.kind() {
                "add" => '+',
                "change" => '~',
                _ => '-',
            };
            let _ = write!(out, "  {sign} {}", a.describe());
            if !a.signed_for().is_empty() {
                let _ = write!(
                    out,
                    " (config update signed for {})",
                    a.signed_for().join(" and ")
                );
            }
            out.push('\n');
        }
        for r in &self.refused {
            let _ = writeln!(
                out,
                "  ! refused: {}: {}\n      why: {}\n      instead: {}",
                r.field, r.what, r.reason, r.instead
            );
        }
        if !self.applicable() {
            out.push_str("  nothing is applied while a change is refused\n");
        }
        out
    }

    /// The plan with each action `applies` says no to (what this fabdev
    /// cannot apply to a running network yet) refused instead, saying so:
    /// a plan is applied whole or not at all.
    pub fn refusing_unapplied(mut self, applies: impl Fn(&Action) -> bool) -> Plan {
        let (kept, unapplied): (Vec<Action>, Vec<Action>) =
            self.actions.into_iter().partition(|a| applies(a));
        self.actions = kept;
        for a in unapplied {
            self.refused.push(Refusal {
                field: "fabdev.yaml".to_string(),
                what: a.describe(),
                reason:
                    "this fabdev plans the change but does not apply it to a running network yet"
                        .to_string(),
                instead: format!("leave it out of fabdev.yaml for now, or {START_OVER}"),
            });
        }
        self
    }

    /// The plan as one JSON object (`first_up`, `actions` tagged by
    /// `action`, `refused`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The plan that takes the network from `applied` (none: nothing applied
/// yet) to `ws`.
pub fn plan(applied: Option<&AppliedState>, ws: &Workspace) -> Plan {
    let Some(old) = applied else {
        return Plan {
            first_up: true,
            actions: Vec::new(),
            refused: Vec::new(),
        };
    };
    let mut p = Planner {
        old,
        ws,
        actions: Vec::new(),
        refused: Vec::new(),
    };
    p.fabric_and_orderer();
    let removed = p.orgs();
    p.channels(&removed);
    p.orderers();
    p.host_ports();
    Plan {
        first_up: false,
        actions: p.actions,
        refused: p.refused,
    }
}

struct Planner<'a> {
    old: &'a AppliedState,
    ws: &'a Workspace,
    actions: Vec<Action>,
    refused: Vec<Refusal>,
}

/// The fewest Raft consenters a removal may leave: with fewer, the
/// cluster tolerates no stopped orderer.
pub const MIN_RAFT_AFTER_REMOVAL: u32 = 3;

const START_OVER: &str =
    "`fabdev down` then `fabdev up` makes a new network with it (the ledgers are lost)";

impl Planner<'_> {
    fn refuse(&mut self, field: &str, what: String, reason: &str, instead: String) {
        self.refused.push(Refusal {
            field: field.to_string(),
            what,
            reason: reason.to_string(),
            instead,
        });
    }

    fn fabric_and_orderer(&mut self) {
        let (old, ws) = (self.old, self.ws);
        if old.fabric_major != ws.fabric.major {
            self.refuse(
                "fabric.version",
                format!("Fabric {} -> {}", old.fabric, ws.fabric.tag),
                "a running network cannot change its Fabric major version: the channels' capabilities and the nodes' ledgers are those of the running version",
                format!("keep `fabric.version: \"{}\"`, or {START_OVER}", old.fabric),
            );
        }
        if old.orderer.consensus != ws.orderer.consensus.as_str() {
            self.refuse(
                "orderer.consensus",
                format!(
                    "consensus {} -> {}",
                    old.orderer.consensus,
                    ws.orderer.consensus.as_str()
                ),
                "changing a running channel's consensus type needs Fabric's maintenance-mode migration, which fabdev does not do",
                format!("keep `consensus: {}`, or {START_OVER}", old.orderer.consensus),
            );
        }
        if old.orderer.org != ws.orderer.name || old.orderer.msp_id != ws.orderer.msp_id {
            self.refuse(
                "orderer.org",
                format!(
                    "orderer org {} ({}) -> {} ({})",
                    old.orderer.org, old.orderer.msp_id, ws.orderer.name, ws.orderer.msp_id
                ),
                "the orderer org names every channel's orderer group and signs its blocks",
                format!(
                    "keep `orderer: {{ org: {} }}`, or {START_OVER}",
                    old.orderer.org
                ),
            );
        }
    }

    /// New orgs, new peers, refused org changes; returns the orgs removed
    /// from the network (not renamed).
    fn orgs(&mut self) -> BTreeSet<String> {
        let (old, ws) = (self.old, self.ws);
        let old_by_name: BTreeMap<&str, &AppliedOrg> =
            old.orgs.iter().map(|o| (o.name.as_str(), o)).collect();
        let mut removed = BTreeSet::new();
        for o in &old.orgs {
            if ws.org(&o.name).is_some() {
                continue;
            }
            if let Some((i, renamed)) =
                ws.orgs.iter().enumerate().find(|(_, n)| {
                    n.msp_id == o.msp_id && !old_by_name.contains_key(n.name.as_str())
                })
            {
                self.refuse(
                    &format!("orgs[{i}].name"),
                    format!("org {} renamed {} ({})", o.name, renamed.name, o.msp_id),
                    "an org's name is its channel config group and part of its nodes' names, and its MSP ID is in every definition it approved",
                    format!("keep `name: {}`, or {START_OVER}", o.name),
                );
                continue;
            }
            let naming: Vec<String> = old
                .chaincodes
                .iter()
                .filter(|cc| cc.msp_ids.contains(&o.msp_id))
                .map(|cc| format!("{} on {}", cc.name, cc.channel))
                .collect();
            if naming.is_empty() {
                removed.insert(o.name.clone());
            } else {
                self.refuse(
                    "orgs",
                    format!("org {} removed", o.name),
                    &format!(
                        "the chaincode definitions of {} name {}, whose endorsements they would then never get",
                        naming.join(", "),
                        o.msp_id
                    ),
                    format!(
                        "first change those chaincodes' policies and collections not to name {} and deploy them, then remove the org",
                        o.msp_id
                    ),
                );
            }
        }
        for (i, o) in ws.orgs.iter().enumerate() {
            let Some(before) = old_by_name.get(o.name.as_str()) else {
                if !old.orgs.iter().any(|b| b.msp_id == o.msp_id) {
                    self.actions.push(Action::AddOrg {
                        org: o.name.clone(),
                        msp_id: o.msp_id.clone(),
                        peers: o.peers,
                    });
                }
                continue;
            };
            if before.msp_id != o.msp_id {
                self.refuse(
                    &format!("orgs[{i}].mspId"),
                    format!("org {} MSP ID {} -> {}", o.name, before.msp_id, o.msp_id),
                    "the MSP ID is in the org's certificates' trust, its channel policies and every definition it approved",
                    format!("keep `mspId: {}`, or {START_OVER}", before.msp_id),
                );
            }
            let db = super::state_database_name(o.state_database);
            if before.state_database != db {
                self.refuse(
                    &format!("orgs[{i}].stateDatabase"),
                    format!(
                        "org {} state database {} -> {db}",
                        o.name, before.state_database
                    ),
                    "the peers' world state lives in the database; a new one would start empty",
                    format!(
                        "keep `stateDatabase: {}`, or {START_OVER}",
                        before.state_database
                    ),
                );
            }
            if o.peers < before.peers {
                self.refuse(
                    &format!("orgs[{i}].peers"),
                    format!("org {} peers {} -> {}", o.name, before.peers, o.peers),
                    "fabdev does not remove peers from a running network (their ledgers and chaincode containers would go with them)",
                    format!("keep `peers: {}`, or {START_OVER}", before.peers),
                );
            }
            for index in before.peers..o.peers {
                self.actions.push(Action::AddPeer {
                    org: o.name.clone(),
                    peer: format!("peer{index}-{}", k8s_org(&o.name)),
                });
            }
        }
        removed
    }

    fn channels(&mut self, removed_orgs: &BTreeSet<String>) {
        let (old, ws) = (self.old, self.ws);
        for c in &old.channels {
            if ws.channel(&c.name).is_none() {
                self.refuse(
                    "channels",
                    format!("channel {} removed", c.name),
                    "Fabric cannot delete a channel: its ledger stays on every orderer and peer that joined it",
                    format!("keep channel {} in fabdev.yaml (it costs nothing unused)", c.name),
                );
            }
        }
        for c in &ws.channels {
            let Some(before) = old.channels.iter().find(|b| b.name == c.name) else {
                self.actions.push(Action::AddChannel {
                    channel: c.name.clone(),
                    orgs: c.orgs.clone(),
                });
                continue;
            };
            for org in &c.orgs {
                if !before.orgs.contains(org) {
                    self.actions.push(Action::AddOrgToChannel {
                        channel: c.name.clone(),
                        org: org.clone(),
                    });
                }
            }
            for org in &before.orgs {
                if c.orgs.contains(org) {
                    continue;
                }
                let msp = old
                    .orgs
                    .iter()
                    .find(|o| &o.name == org)
                    .map(|o| o.msp_id.as_str())
                    .unwrap_or_default();
                let naming: Vec<&str> = old
                    .chaincodes
                    .iter()
                    .filter(|cc| cc.channel == c.name && cc.msp_ids.iter().any(|m| m == msp))
                    .map(|cc| cc.name.as_str())
                    .collect();
                if naming.is_empty() {
                    self.actions.push(Action::RemoveOrgFromChannel {
                        channel: c.name.clone(),
                        org: org.clone(),
                    });
                } else if ws.org(org).is_some() {
                    // (Removed from the network: refused with the org.)
                    self.refuse(
                        "channels",
                        format!("{org} off channel {}", c.name),
                        &format!(
                            "the chaincode definitions of {} on {} name {msp}",
                            naming.join(", "),
                            c.name
                        ),
                        format!(
                            "first change those chaincodes not to name {msp} and deploy them, then take {org} off the channel"
                        ),
                    );
                }
            }
        }
        // A removed org leaves its channels before its pods go.
        for org in removed_orgs {
            self.actions.push(Action::RemoveOrg { org: org.clone() });
        }
        // The orderer parameters of the channels already running (a new
        // channel is made with them).
        let channels: Vec<String> = ws
            .channels
            .iter()
            .filter(|c| old.channels.iter().any(|b| b.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        if !channels.is_empty() && old.batch_timeout_ms != ws.batch_timeout_ms {
            self.actions.push(Action::ChangeBatchTimeout {
                channels: channels.clone(),
                from_ms: old.batch_timeout_ms,
                to_ms: ws.batch_timeout_ms,
            });
        }
        if !channels.is_empty() && old.batch_size != ws.batch_size {
            self.actions.push(Action::ChangeBatchSize {
                channels,
                from: old.batch_size,
                to: ws.batch_size,
            });
        }
        self.anchor_peers();
    }

    /// Each org whose anchor peers changed, on the running channels it was
    /// and stays on (a channel it joins now is updated with its anchors
    /// already; one it has left no longer has its group).
    fn anchor_peers(&mut self) {
        let (old, ws) = (self.old, self.ws);
        for o in &ws.orgs {
            let Some(before) = old.orgs.iter().find(|b| b.name == o.name) else {
                continue;
            };
            if before.anchor_peers == o.anchor_peers {
                continue;
            }
            let channels: Vec<String> = ws
                .channels
                .iter()
                .filter(|c| c.orgs.contains(&o.name))
                .filter(|c| {
                    old.channels
                        .iter()
                        .any(|b| b.name == c.name && b.orgs.contains(&o.name))
                })
                .map(|c| c.name.clone())
                .collect();
            if channels.is_empty() {
                continue;
            }
            let names = |indexes: &[u32]| -> Vec<String> {
                indexes
                    .iter()
                    .map(|i| format!("peer{i}-{}", k8s_org(&o.name)))
                    .collect()
            };
            self.actions.push(Action::ChangeAnchorPeers {
                org: o.name.clone(),
                channels,
                from: names(&before.anchor_peers),
                to: names(&o.anchor_peers),
            });
        }
    }

    /// The host ports the nodes keep (their recorded slots, new nodes in
    /// the lowest free ones) fit the NodePort range: the highest slot
    /// counts, not the number of nodes, since a slot freed by a removed
    /// node leaves a gap below the kept ones.
    fn host_ports(&mut self) {
        let topo = Topology::with_slots(self.ws, &self.old.slots);
        let Some(last) = topo.nodes.iter().max_by_key(|n| n.slot) else {
            return;
        };
        let blocks = last.slot.saturating_add(1);
        if let Err(e) = check_host_ports(self.ws.host_port_base, blocks) {
            self.refuse(
                "hostPortBase",
                format!(
                    "{} keeps host port block {} of {} nodes",
                    last.name,
                    last.slot,
                    topo.nodes.len()
                ),
                &format!(
                    "the nodes keep the host ports the last `up` gave them, and {}'s ends past the NodePort range: {}",
                    last.name, e.message
                ),
                format!(
                    "{}, or {START_OVER}",
                    e.hint
                        .unwrap_or_else(|| "set a lower `hostPortBase`".to_string())
                ),
            );
        }
    }

    fn orderers(&mut self) {
        let (old, ws) = (self.old, self.ws);
        if old.orderer.org != ws.orderer.name {
            return; // refused above
        }
        let org = k8s_org(&ws.orderer.name);
        let (from, to) = (old.orderer.count, ws.orderer.count);
        for i in from..to {
            self.actions.push(Action::AddOrderer {
                orderer: format!("orderer{i}-{org}"),
            });
        }
        if to < from {
            if old.orderer.consensus == "bft" && to < MIN_BFT_ORDERERS {
                return; // the spec refuses it
            }
            if old.orderer.consensus != "bft" && to < MIN_RAFT_AFTER_REMOVAL {
                self.refuse(
                    "orderer.count",
                    format!("orderers {from} -> {to}"),
                    &format!(
                        "fabdev removes a Raft consenter only when at least {MIN_RAFT_AFTER_REMOVAL} stay: with fewer, one orderer stopped stops ordering on every channel"
                    ),
                    format!(
                        "keep `count: {from}` (an orderer costs little), or add orderers first so that {MIN_RAFT_AFTER_REMOVAL} or more stay, or {START_OVER}"
                    ),
                );
                return;
            }
            // One consenter at a time, the last first.
            for i in (to..from).rev() {
                self.actions.push(Action::RemoveOrderer {
                    orderer: format!("orderer{i}-{org}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
