//! Where the host reaches each node: the kind port mappings, or kube
//! port-forwards when they do not answer and always on an existing cluster.

use std::time::Duration;

use cluster::k8s;
use network::channel::{self, Endpoints};
use network::topology::ports;

use super::{Context, FlowError, Target};

/// Whether every port can be connected to on 127.0.0.1 (within 2 s each).
async fn all_reachable(ports: &[u16]) -> bool {
    for p in ports {
        let dial = tokio::net::TcpStream::connect((channel::HOST, *p));
        if !matches!(
            tokio::time::timeout(Duration::from_secs(2), dial).await,
            Ok(Ok(_))
        ) {
            return false;
        }
    }
    true
}

/// On kind, the nodes' host ports when the kind port mappings answer;
/// otherwise (a kind cluster made without them, or an existing cluster,
/// whose host ports are never tried) one kube port-forward per node port,
/// kept open as long as the returned guards live.
///
/// A port-forward listens on 127.0.0.1 (a port of its own), the address
/// every node's TLS certificate carries as an IP SAN (see
/// `Node::tls_ips`), so Fabric's TLS verifies as it does through kind's
/// port mappings.
pub async fn endpoints_for(
    client: &kube::Client,
    ctx: &Context,
) -> Result<(Endpoints, Vec<k8s::Forward>), FlowError> {
    let host_ports: Vec<u16> = ctx
        .topo
        .nodes
        .iter()
        .flat_map(|n| std::iter::once(n.host_ports.grpc).chain(n.host_ports.admin))
        .collect();
    if ctx.target == Target::Kind && all_reachable(&host_ports).await {
        return Ok((Endpoints::host_ports(&ctx.topo), Vec::new()));
    }
    let mut endpoints = Endpoints::default();
    let mut forwards = Vec::new();
    for n in &ctx.topo.nodes {
        let pod = n.pod_name();
        let grpc = k8s::port_forward(client, &ctx.ws.name, &pod, n.grpc_port()).await?;
        let admin = match n.host_ports.admin {
            Some(_) => {
                Some(k8s::port_forward(client, &ctx.ws.name, &pod, ports::ORDERER_ADMIN).await?)
            }
            None => None,
        };
        endpoints.insert(
            &n.name,
            channel::NodeEndpoint {
                grpc: grpc.addr.to_string(),
                admin: admin.as_ref().map(|a| a.addr.to_string()),
            },
        );
        forwards.push(grpc);
        forwards.extend(admin);
    }
    Ok((endpoints, forwards))
}

/// What the endpoints step reports.
pub(crate) fn endpoints_detail(ctx: &Context, forwards: &[k8s::Forward]) -> String {
    match (&ctx.target, forwards.is_empty()) {
        (Target::Kind, true) => "kind port mappings on 127.0.0.1".to_string(),
        (Target::Kind, false) => format!(
            "{} port-forwards (port mappings not reachable)",
            forwards.len()
        ),
        (Target::Existing(_), _) => format!(
            "{} port-forwards through the API server, on 127.0.0.1",
            forwards.len()
        ),
    }
}
