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
        // Not the chaincode port: the peer listens for its chaincode on
        // 127.0.0.1 (chaincode runs in the pod's network namespace).
        NodeKind::Peer => vec![
            ("grpc", ports::PEER, Some(h.grpc)),
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

/// `<node>`: traffic into the node's pod. Between nodes only the gRPC
/// port (7050 / 7051: gossip, deliver, broadcast, Raft), and only from the
/// workspace's own pods (fabdev's labels, this namespace). On kind also the
/// ports the kind config maps to the host (gRPC, the orderer's admin,
/// operations) from anywhere, because NodePort traffic reaches the pod from
/// the kind node's own address, not the host's (and only 127.0.0.1 on the
/// host is mapped). On an existing cluster fabdev reaches the admin and
/// operations ports through port-forwards (inside the pod, no policy), and
/// the kubelet's probes come from the pod's own node. Nothing else in the
/// pod (the chaincode port on 127.0.0.1, CouchDB, the Docker daemon) takes
/// connections from outside it; where the cluster enforces NetworkPolicy
/// (kindnet does) this says so to the network too.
pub(super) fn network_policy(ws: &Workspace, node: &Node) -> NetworkPolicy {
    let tcp = |p: u16| NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(p))),
        protocol: Some("TCP".to_string()),
        ..NetworkPolicyPort::default()
    };
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(ws_labels(ws)),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(vec![tcp(node.grpc_port())]),
    }];
    if ws.cluster.provider == Provider::Kind {
        ingress.push(NetworkPolicyIngressRule {
            from: None,
            ports: Some(
                endpoints(node)
                    .into_iter()
                    .filter(|(_, _, host)| host.is_some())
                    .map(|(_, p, _)| tcp(p))
                    .collect(),
            ),
        });
    }
    NetworkPolicy {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector(ws, node)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(ingress),
            ..NetworkPolicySpec::default()
        }),
    }
}
