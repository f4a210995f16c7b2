//! The orderer's channel participation API: joins, lists, TLS and errors.

use super::*;

#[tokio::test]
async fn orderer_join_posts_the_block_as_the_admin() {
    let net = Net::new();
    let fake = FakeOrderer::start(
        &net,
        OrdererReply::Fixed(201, format!(r#"{{"name":"{CHANNEL}","status":"active"}}"#)),
    )
    .await;
    let out = join_orderer_at(&net, fake.addr).await.unwrap();
    assert_eq!(out, JoinOutcome::Joined);

    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/participation/v1/channels");
    assert!(
        req.content_type
            .starts_with("multipart/form-data; boundary="),
        "{}",
        req.content_type
    );
    assert_eq!(req.parts.len(), 1);
    assert_eq!(req.parts[0].0, "config-block");
    assert_eq!(req.parts[0].1, BLOCK);
    let admin_cert = der_of(
        &net.admin_dir(&net.ws.orderer.name)
            .join("tls")
            .join("client.crt"),
    );
    assert_eq!(req.client_cert.as_deref(), Some(admin_cert.as_slice()));
}

#[tokio::test]
async fn orderer_405_is_already_joined() {
    let net = Net::new();
    let fake = FakeOrderer::start(
        &net,
        OrdererReply::Fixed(
            405,
            r#"{"error":"cannot join: channel already exists"}"#.into(),
        ),
    )
    .await;
    let out = join_orderer_at(&net, fake.addr).await.unwrap();
    assert_eq!(out, JoinOutcome::AlreadyJoined);
}

#[tokio::test]
async fn orderer_other_status_is_an_error_with_status_body_and_node() {
    let net = Net::new();
    let body = "cannot join: failed to determine cluster membership from join block: \
                consenter not found";
    let fake = FakeOrderer::start(
        &net,
        OrdererReply::Fixed(400, format!(r#"{{"error":"{body}"}}"#)),
    )
    .await;
    let err = join_orderer_at(&net, fake.addr).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::OrdererRejected { status: 400, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("orderer0-ordererorg"), "{msg}");
    assert!(msg.contains("400") && msg.contains(body), "{msg}");
    assert!(msg.contains(&fake.addr.to_string()), "{msg}");
}

#[tokio::test]
async fn orderer_channels_lists_what_joined() {
    let net = Net::new();
    let fake = FakeOrderer::start(&net, OrdererReply::Stateful).await;
    let ep = orderer_ep(fake.addr);
    let list = orderer_channels(net.orderer(), &ep, &net.crypto, &net.ws, T)
        .await
        .unwrap();
    assert!(list.is_empty(), "{list:?}");
    join_orderer(net.orderer(), &ep, &net.crypto, &net.ws, CHANNEL, BLOCK, T)
        .await
        .unwrap();
    let list = orderer_channels(net.orderer(), &ep, &net.crypto, &net.ws, T)
        .await
        .unwrap();
    assert_eq!(list, [CHANNEL]);
    let seen = fake.seen();
    assert_eq!(seen.last().unwrap().method, "GET");
    assert_eq!(seen.last().unwrap().path, "/participation/v1/channels");
}

#[tokio::test]
async fn orderer_fake_refuses_a_client_without_the_admin_cert() {
    let net = Net::new();
    let fake = FakeOrderer::start(&net, OrdererReply::Stateful).await;

    // A TLS client that trusts the server but presents no certificate gets
    // no HTTP answer: the fake really requires mutual TLS.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der_of(
            &net.node_tls(net.orderer(), "ca.crt"),
        )))
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(fake.addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    if let Ok(mut tls) = connector.connect(name, tcp).await {
        // TLS 1.3: the server checks the client's certificate after the
        // client considers the handshake done; the refusal comes on read.
        let _ = tls
            .write_all(b"GET /participation/v1/channels HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let mut buf = vec![0; 1024];
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!(
                "got an answer without a client certificate: {}",
                String::from_utf8_lossy(&buf[..n])
            ),
        }
    }

    // fabdev with an Admin TLS certificate from another CA: refused at TLS.
    let other = Net::new();
    let tls = net.admin_dir(&net.ws.orderer.name).join("tls");
    let foreign = other.admin_dir(&other.ws.orderer.name).join("tls");
    for f in ["client.crt", "client.key"] {
        std::fs::copy(foreign.join(f), tls.join(f)).unwrap();
    }
    let err = join_orderer_at(&net, fake.addr).await.unwrap_err();
    assert!(matches!(err, ChannelError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("orderer0-ordererorg"), "{err}");
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[tokio::test]
async fn orderer_closed_port_names_node_and_address() {
    let net = Net::new();
    let addr = closed_port().await;
    let err = join_orderer_at(&net, addr).await.unwrap_err();
    assert!(matches!(err, ChannelError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("orderer0-ordererorg"), "{msg}");
    assert!(msg.contains(&addr.to_string()), "{msg}");
    assert!(
        err.hint().is_some_and(|h| h.contains("may be down")),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn orderer_without_admin_endpoint_or_with_a_peer_is_refused() {
    let net = Net::new();
    let ep = NodeEndpoint {
        grpc: "127.0.0.1:7050".into(),
        admin: None,
    };
    let err = join_orderer(net.orderer(), &ep, &net.crypto, &net.ws, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::NoEndpoint { .. }), "{err:?}");
    let ep = orderer_ep(closed_port().await);
    let err = join_orderer(net.peer1(), &ep, &net.crypto, &net.ws, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::WrongNode { .. }), "{err:?}");
}

#[tokio::test]
async fn orderer_bad_admin_tls_files_are_named_before_dialling() {
    let net = Net::new();
    let ep = orderer_ep(closed_port().await);
    let tls = net.admin_dir(&net.ws.orderer.name).join("tls");
    std::fs::remove_file(tls.join("client.key")).unwrap();
    let err = join_orderer(net.orderer(), &ep, &net.crypto, &net.ws, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ChannelError::Crypto { .. }), "{err:?}");
    assert!(
        msg.contains(&tls.join("client.key").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("is missing"), "{msg}");
}
