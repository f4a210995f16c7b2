//! The nodes a workspace runs, with their names, ports and host names.
//!
//! Everything that needs "which orderers and peers exist" (crypto, rendering,
//! genesis, channel joins) derives it from here, so names and ports agree.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{StateDatabase, Workspace};

/// Orderer or peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Orderer,
    Peer,
}

/// Ports a node listens on inside its pod.
pub mod ports {
    pub const ORDERER: u16 = 7050;
    pub const ORDERER_ADMIN: u16 = 7053;
    pub const PEER: u16 = 7051;
    pub const CHAINCODE: u16 = 7052;
    pub const OPERATIONS: u16 = 9443;
    pub const COUCHDB: u16 = 5984;
}

/// Host (NodePort) ports of a node: a block of ten from the workspace's
/// `hostPortBase`, the node's slot's block (see [`Topology::with_slots`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostPorts {
    /// gRPC endpoint (orderer 7050 / peer 7051).
    pub grpc: u16,
    /// Orderer channel-participation admin endpoint (orderers only).
    pub admin: Option<u16>,
    /// Operations endpoint (/healthz, /metrics).
    pub operations: u16,
}

/// One orderer or peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Name of the org, as in the spec (`Org1`).
    pub org: String,
    pub msp_id: String,
    /// Index within its org (peer0, peer1, ...).
    pub index: u32,
    /// Kubernetes name of its StatefulSet and Service, and its Fabric ID:
    /// `orderer0-ordererorg`, `peer0-org1`.
    pub name: String,
    /// Which block of host ports is the node's: kept for the network's
    /// life, so a node added later does not move the others' ports.
    pub slot: u32,
    pub host_ports: HostPorts,
    /// Peers: the state database.
    pub state_database: StateDatabase,
}

impl Node {
    /// The in-pod gRPC port.
    pub fn grpc_port(&self) -> u16 {
        match self.kind {
            NodeKind::Orderer => ports::ORDERER,
            NodeKind::Peer => ports::PEER,
        }
    }

    /// The name of the node's pod: its StatefulSet has one replica, whose
    /// pod is `<name>-0`.
    pub fn pod_name(&self) -> String {
        format!("{}-0", self.name)
    }

    /// In-cluster address others dial: `peer0-org1:7051`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.name, self.grpc_port())
    }

    /// Host names in the node's TLS certificate: its Service name in every
    /// form cluster DNS answers, plus `localhost` for host access through
    /// port mappings. (IP SANs: see [`Node::tls_ips`].)
    pub fn tls_dns_names(&self, namespace: &str) -> Vec<String> {
        vec![
            self.name.clone(),
            format!("{}.{namespace}", self.name),
            format!("{}.{namespace}.svc", self.name),
            format!("{}.{namespace}.svc.cluster.local", self.name),
            "localhost".to_string(),
        ]
    }

    /// IP SANs of the node's TLS certificate.
    pub fn tls_ips(&self) -> Vec<std::net::IpAddr> {
        vec![std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)]
    }
}

/// Kubernetes-name form of an org name.
pub fn k8s_org(org: &str) -> String {
    org.to_ascii_lowercase()
}

/// All nodes of a workspace: orderers first, then each org's peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub namespace: String,
    pub nodes: Vec<Node>,
}

impl Topology {
    /// The nodes of a new network: one slot per node in topology order.
    pub fn of(ws: &Workspace) -> Topology {
        Topology::with_slots(ws, &BTreeMap::new())
    }

    /// The nodes of a network whose nodes `kept` already have slots (by
    /// name; what the last `up` recorded): those keep theirs, and each new
    /// node takes the lowest free slot, in topology order. So adding a peer
    /// or an orderer never moves another node's host ports.
    pub fn with_slots(ws: &Workspace, kept: &BTreeMap<String, u32>) -> Topology {
        let mut shapes = Vec::new();
        for i in 0..ws.orderer.count {
            shapes.push(Node {
                kind: NodeKind::Orderer,
                org: ws.orderer.name.clone(),
                msp_id: ws.orderer.msp_id.clone(),
                index: i,
                name: format!("orderer{i}-{}", k8s_org(&ws.orderer.name)),
                slot: 0,
                host_ports: HostPorts::default(),
                state_database: StateDatabase::Leveldb,
            });
        }
        for org in &ws.orgs {
            for i in 0..org.peers {
                shapes.push(Node {
                    kind: NodeKind::Peer,
                    org: org.name.clone(),
                    msp_id: org.msp_id.clone(),
                    index: i,
                    name: format!("peer{i}-{}", k8s_org(&org.name)),
                    slot: 0,
                    host_ports: HostPorts::default(),
                    state_database: org.state_database,
                });
            }
        }
        let slots = assign_slots(&shapes, kept);
        // A validated workspace's ports fit the NodePort range
        // (`spec::check_host_ports`); one built by hand may not, so the sums
        // are checked: a port past 65535 becomes 65535 (which rendering
        // refuses) rather than wrapping around to a low port.
        let nodes = shapes
            .into_iter()
            .zip(slots)
            .map(|(mut n, slot)| {
                let base = u32::from(ws.host_port_base)
                    .saturating_add(slot.saturating_mul(crate::spec::HOST_PORTS_PER_NODE));
                let port =
                    |offset: u32| u16::try_from(base.saturating_add(offset)).unwrap_or(u16::MAX);
                n.slot = slot;
                n.host_ports = HostPorts {
                    grpc: port(0),
                    admin: (n.kind == NodeKind::Orderer).then(|| port(1)),
                    operations: port(2),
                };
                n
            })
            .collect();
        Topology {
            namespace: ws.name.clone(),
            nodes,
        }
    }

    /// Each node's slot, by name (what `up` records).
    pub fn slots(&self) -> BTreeMap<String, u32> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), n.slot))
            .collect()
    }

    pub fn orderers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind == NodeKind::Orderer)
    }

    pub fn peers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind == NodeKind::Peer)
    }

    pub fn peers_of<'a>(&'a self, org: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.peers().filter(move |n| n.org == org)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// The slot of each node of `nodes`: its kept one, else the lowest slot
/// neither kept by a node of `nodes` nor given already.
fn assign_slots(nodes: &[Node], kept: &BTreeMap<String, u32>) -> Vec<u32> {
    let mut taken: BTreeSet<u32> = nodes
        .iter()
        .filter_map(|n| kept.get(&n.name).copied())
        .collect();
    let mut next = 0u32;
    nodes
        .iter()
        .map(|n| {
            if let Some(slot) = kept.get(&n.name) {
                return *slot;
            }
            while taken.contains(&next) {
                next = next.saturating_add(1);
            }
            taken.insert(next);
            next
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_past_65535_do_not_wrap() {
        let mut ws = Workspace::default_network();
        ws.host_port_base = 65530;
        let topo = Topology::of(&ws);
        let last = topo.nodes.last().expect("nodes").host_ports;
        assert_eq!(last.grpc, u16::MAX);
        assert_eq!(last.operations, u16::MAX);
        assert_eq!(topo.nodes[0].host_ports.grpc, 65530);
    }

    #[test]
    fn default_topology_names_and_ports() {
        let topo = Topology::of(&Workspace::default_network());
        let names: Vec<&str> = topo.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["orderer0-ordererorg", "peer0-org1", "peer0-org2"]);
        let o = &topo.nodes[0];
        assert_eq!(o.host_ports.grpc, 30000);
        assert_eq!(o.host_ports.admin, Some(30001));
        assert_eq!(topo.nodes[2].host_ports.grpc, 30020);
        assert_eq!(topo.nodes[2].host_ports.admin, None);
        assert_eq!(topo.nodes[1].address(), "peer0-org1:7051");
        assert!(
            o.tls_dns_names("fabdev")
                .contains(&"orderer0-ordererorg.fabdev.svc.cluster.local".to_string())
        );
    }

    #[test]
    fn a_node_added_later_keeps_the_others_ports() {
        let before = Topology::of(&Workspace::default_network());
        let mut ws = Workspace::default_network();
        ws.orgs[0].peers = 2;
        ws.orderer.count = 2;
        let fresh = Topology::of(&ws);
        let port = |t: &Topology, n: &str| t.node(n).map(|n| n.host_ports.grpc);
        // Numbered afresh, peer0-org2 would move behind the new nodes.
        assert_ne!(port(&fresh, "peer0-org2"), port(&before, "peer0-org2"));
        let kept = Topology::with_slots(&ws, &before.slots());
        for n in &before.nodes {
            assert_eq!(port(&kept, &n.name), Some(n.host_ports.grpc), "{}", n.name);
        }
        // The new ones take the next free blocks, in topology order.
        assert_eq!(port(&kept, "orderer1-ordererorg"), Some(30030));
        assert_eq!(port(&kept, "peer1-org1"), Some(30040));
        // A slot freed by a removed node is taken again, never shared.
        let mut gone = before.slots();
        gone.remove("peer0-org1");
        let reused = Topology::with_slots(&ws, &gone);
        let mut slots: Vec<u32> = reused.nodes.iter().map(|n| n.slot).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), reused.nodes.len());
        assert_eq!(reused.node("orderer1-ordererorg").map(|n| n.slot), Some(1));
    }
}
