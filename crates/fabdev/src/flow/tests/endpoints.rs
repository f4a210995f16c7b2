//! Where the host reaches the nodes: kind's port mappings, or port-forwards.

use super::*;

#[test]
fn endpoints_fall_back_to_port_forwards_when_the_port_mappings_do_not_answer() {
    rt().block_on(async {
        let dir = workspace();
        let ctx = Context::load(&Options::new(dir.path())).unwrap();
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(svc, "default");
        let (endpoints, forwards) = endpoints_for(&client, &ctx).await.unwrap();
        // One forward per gRPC port plus the orderer's admin port.
        assert_eq!(forwards.len(), 4);
        let orderer = endpoints.get("orderer0-ordererorg").unwrap();
        assert!(orderer.grpc.starts_with("127.0.0.1:"));
        assert_ne!(orderer.grpc, "127.0.0.1:32700");
        assert!(orderer.admin.is_some());
        assert!(endpoints.get("peer0-org2").unwrap().admin.is_none());
        // A connection to a forward opens a port-forward to the pod's port.
        let addr = orderer.admin.clone().unwrap();
        let conn = tokio::spawn(async move { tokio::net::TcpStream::connect(addr).await });
        let (req, _send) = handle.next_request().await.expect("portforward request");
        assert_eq!(
            req.uri().path(),
            "/api/v1/namespaces/fabdev/pods/orderer0-ordererorg-0/portforward"
        );
        assert!(req.uri().query().is_some_and(|q| q.ends_with("ports=7053")));
        drop(conn);
    });
}

#[test]
fn an_existing_cluster_is_reached_by_port_forwards_only_while_they_are_held() {
    rt().block_on(async {
        let dir = existing_workspace("");
        // Host ports of its own: the other tests here count on nothing
        // answering on theirs.
        let spec = dir.path().join("fabdev.yaml");
        let text = std::fs::read_to_string(&spec).unwrap();
        std::fs::write(
            &spec,
            text.replace("hostPortBase: 32700", "hostPortBase: 32500"),
        )
        .unwrap();
        let ctx = Context::load(&Options::new(dir.path())).unwrap();
        assert_eq!(ctx.ws.host_port_base, 32500);
        // Something answers on every host port kind would map (a listener
        // of this test, or whatever holds the port already): on an
        // existing cluster fabdev never dials them.
        let mut listeners = Vec::new();
        for n in &ctx.topo.nodes {
            for p in std::iter::once(n.host_ports.grpc).chain(n.host_ports.admin) {
                if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", p)) {
                    listeners.push(l);
                }
            }
        }
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(svc, "default");
        let (endpoints, forwards) = endpoints_for(&client, &ctx).await.unwrap();
        assert_eq!(forwards.len(), 4);
        assert_eq!(
            crate::flow::endpoints::endpoints_detail(&ctx, &forwards),
            "4 port-forwards through the API server, on 127.0.0.1"
        );
        let peer = endpoints.get("peer0-org1").unwrap().grpc.clone();
        // 127.0.0.1, which every node's TLS certificate carries as an IP SAN.
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        assert!(addr.ip().is_loopback());
        assert!(
            ctx.topo
                .nodes
                .iter()
                .all(|n| n.tls_ips().contains(&addr.ip()))
        );
        assert!(!listeners.iter().any(|l| l.local_addr().unwrap() == addr));
        // A connection goes to the pod's port through the API server.
        let conn = tokio::spawn(async move { tokio::net::TcpStream::connect(addr).await });
        let (req, _send) = handle.next_request().await.expect("portforward request");
        assert_eq!(
            req.uri().path(),
            "/api/v1/namespaces/fabdev/pods/peer0-org1-0/portforward"
        );
        drop(conn);
        // Dropped, the forwards stop listening.
        drop(forwards);
        let mut closed = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                closed = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(closed, "{addr} still accepts after its forward was dropped");
    });
}
