//! Each node's Services (the in-cluster one, and the NodePort `-host` one
//! on kind) and its NetworkPolicy.

use super::*;

/// (name, in-pod port, host port) of a node's endpoints.
pub(super) fn endpoints(node: &Node) -> Vec<(&'static str, u16, Option<u16>)> {
    let h = node.host_ports;
    match node.kind {
        NodeKind::Orderer => vec![
            ("grpc", ports::ORDERER, Some(h.grpc)),
            ("admin", ports::ORDERER_ADMIN, h.admin),
            ("operations", ports::OPERATIONS, Some(h.operations)),
        ],
        NodeKind::Peer => vec![
            ("grpc", ports::PEER, Some(h.grpc)),
            ("chaincode", ports::CHAINCODE, None),
            ("operations", ports::OPERATIONS, Some(h.operations)),
        ],
    }
}

pub(super) fn service_port(name: &str, port: u16, node_port: Option<u16>) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port: i32::from(port),
        target_port: Some(IntOrString::Int(i32::from(port))),
        node_port: node_port.map(i32::from),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// `<node>`: the in-cluster name other nodes and clients dial.
pub(super) fn cluster_service(ws: &Workspace, node: &Node) -> Service {
    Service {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector(ws, node)),
            ports: Some(
                endpoints(node)
                    .into_iter()
                    .map(|(name, p, _)| service_port(name, p, None))
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<node>-host`: the node's endpoints on fixed NodePorts, which the kind
/// config maps to 127.0.0.1 on the host.
pub(super) fn host_service(ws: &Workspace, node: &Node) -> Service {
    Service {
        metadata: meta(ws, &host_service_name(node), node_labels(ws, node)),
        spec: Some(ServiceSpec {
            type_: Some("NodePort".to_string()),
            selector: Some(selector(ws, node)),
            ports: Some(
                endpoints(node)
                    .into_iter()
                    .filter_map(|(name, p, host)| host.map(|h| service_port(name, p, Some(h))))
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<node>`: traffic into the node's pod only on the ports its Services
/// name (from anywhere: other nodes, clients, the host through NodePorts).
/// Nothing else in the pod (CouchDB, the Docker daemon) takes connections
/// from outside it, and where the cluster enforces NetworkPolicy (kindnet
/// does) this says so to the network too.
pub(super) fn network_policy(ws: &Workspace, node: &Node) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector(ws, node)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: None,
                ports: Some(
                    endpoints(node)
                        .into_iter()
                        .map(|(_, p, _)| NetworkPolicyPort {
                            port: Some(IntOrString::Int(i32::from(p))),
                            protocol: Some("TCP".to_string()),
                            ..NetworkPolicyPort::default()
                        })
                        .collect(),
                ),
            }]),
            ..NetworkPolicySpec::default()
        }),
    }
}
