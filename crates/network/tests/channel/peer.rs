//! The peer's CSCC: joins, lists, TLS, timeouts and errors.

use super::*;

#[tokio::test]
async fn peer_join_sends_cscc_join_chain_signed_by_the_org_admin() {
    let net = Net::new();
    let fake = FakePeer::start(&net, net.peer1(), PeerReply::Stateful).await;
    let out = join_peer(
        net.peer1(),
        &peer_ep(fake.addr),
        &net.crypto,
        CHANNEL,
        BLOCK,
        T,
    )
    .await
    .unwrap();
    assert_eq!(out, JoinOutcome::Joined);

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let p = &seen[0];
    assert_eq!(p.chaincode, "cscc");
    assert_eq!(p.args, [b"JoinChain".to_vec(), BLOCK.to_vec()]);
    assert_eq!(p.channel_id, "", "JoinChain is a channel-less proposal");
    assert_eq!(p.header_type, 3, "ENDORSER_TRANSACTION");
    assert_eq!(p.mspid, "Org1MSP");
    let admin_cert = std::fs::read(
        net.admin_dir("Org1")
            .join("msp")
            .join("signcerts")
            .join("cert.pem"),
    )
    .unwrap();
    assert_eq!(p.creator_cert, admin_cert);
    assert!(
        p.signature_ok,
        "the signature must verify with the Admin's certificate"
    );
}

#[tokio::test]
async fn peer_ledger_exists_is_already_joined_and_other_errors_are_not() {
    let net = Net::new();
    let ep_of = |f: &FakePeer| peer_ep(f.addr);

    let exists = FakePeer::start(
        &net,
        net.peer1(),
        PeerReply::Fixed(
            500,
            format!(
                "cannot create ledger from genesis block: ledger [{CHANNEL}] already exists with state [ACTIVE]"
            ),
        ),
    )
    .await;
    let out = join_peer(net.peer1(), &ep_of(&exists), &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap();
    assert_eq!(out, JoinOutcome::AlreadyJoined);

    let invalid = "\"JoinChain\" for chainID = mychannel failed because of validation of \
                   configuration block, because of Invalid configuration block, missing \
                   Application configuration group";
    let bad = FakePeer::start(&net, net.peer1(), PeerReply::Fixed(500, invalid.into())).await;
    let err = join_peer(net.peer1(), &ep_of(&bad), &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::PeerRejected { status: 500, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("peer0-org1") && msg.contains(invalid), "{msg}");

    let denied = "access denied for [JoinChain][mychannel]: [Failed verifying that proposal's \
                  creator satisfies local MSP principal during channelless check policy with \
                  policy [Admins]: [The identity is not an admin under this MSP [Org1MSP]]]";
    let not_admin = FakePeer::start(&net, net.peer1(), PeerReply::Fixed(500, denied.into())).await;
    let err = join_peer(
        net.peer1(),
        &ep_of(&not_admin),
        &net.crypto,
        CHANNEL,
        BLOCK,
        T,
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, ChannelError::NotAdmin { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("peer0-org1") && msg.contains("Admin@org1"),
        "{msg}"
    );
}

#[tokio::test]
async fn peer_channels_lists_what_joined() {
    let net = Net::new();
    let fake = FakePeer::start(&net, net.peer1(), PeerReply::Stateful).await;
    let ep = peer_ep(fake.addr);
    assert!(
        peer_channels(net.peer1(), &ep, &net.crypto, T)
            .await
            .unwrap()
            .is_empty()
    );
    join_peer(net.peer1(), &ep, &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap();
    let list = peer_channels(net.peer1(), &ep, &net.crypto, T)
        .await
        .unwrap();
    assert_eq!(list, [CHANNEL]);
    let seen = fake.seen();
    assert_eq!(seen.last().unwrap().args, [b"GetChannels".to_vec()]);
}

#[tokio::test]
async fn peer_with_a_foreign_tls_certificate_is_a_tls_error() {
    let net = Net::new();
    // The fake serves peer0-org2's certificate (Org2's TLS CA) where fabdev
    // expects peer0-org1 (Org1's TLS CA).
    let fake = FakePeer::start(&net, net.node("peer0-org2"), PeerReply::Stateful).await;
    let err = join_peer(
        net.peer1(),
        &peer_ep(fake.addr),
        &net.crypto,
        CHANNEL,
        BLOCK,
        T,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChannelError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("peer0-org1"), "{err}");
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn peer_that_never_answers_times_out_saying_what_was_awaited() {
    let net = Net::new();
    // Accepts TCP connections and never speaks.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    let err = join_peer(
        net.peer1(),
        &peer_ep(addr),
        &net.crypto,
        CHANNEL,
        BLOCK,
        Duration::from_millis(500),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, ChannelError::Timeout { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("peer0-org1") && msg.contains("500ms"), "{msg}");
    assert!(msg.contains("TLS handshake"), "{msg}");
}

#[tokio::test]
async fn peer_bad_admin_key_is_named_and_does_not_panic() {
    let net = Net::new();
    let ep = peer_ep(closed_port().await);
    let msp = net.admin_dir("Org1").join("msp");
    let key = msp.join("keystore").join("key.pem");

    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = join_peer(net.peer1(), &ep, &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ChannelError::Crypto { .. }), "{err:?}");
    assert!(msg.contains(&key.display().to_string()), "{msg}");
    assert!(msg.contains("PKCS#8"), "{msg}");

    // A sound key of another identity.
    std::fs::copy(net.admin_dir("Org1").join("tls").join("client.key"), &key).unwrap();
    let err = join_peer(net.peer1(), &ep, &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");

    // A missing TLS CA certificate.
    std::fs::remove_file(net.node_tls(net.peer1(), "ca.crt")).unwrap();
    let err = join_peer(net.peer1(), &ep, &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ca.crt: is missing"), "{err}");
}

#[tokio::test]
async fn peer_closed_port_names_node_and_address() {
    let net = Net::new();
    let addr = closed_port().await;
    let err = join_peer(net.peer1(), &peer_ep(addr), &net.crypto, CHANNEL, BLOCK, T)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("peer0-org1") && msg.contains(&addr.to_string()),
        "{msg}"
    );
}
