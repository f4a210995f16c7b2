//! `create_channel`: the orderer, then every peer, idempotent.

use super::*;

struct Fakes {
    endpoints: Endpoints,
    _orderer: FakeOrderer,
    _peers: Vec<FakePeer>,
}

async fn fakes(net: &Net, peer_reply: impl Fn(&str) -> PeerReply) -> Fakes {
    let orderer = FakeOrderer::start(net, OrdererReply::Stateful).await;
    let mut endpoints = Endpoints::default();
    endpoints.insert(&net.orderer().name, orderer_ep(orderer.addr));
    let mut peers = vec![];
    for p in net.topo.peers() {
        let fake = FakePeer::start(net, p, peer_reply(&p.name)).await;
        endpoints.insert(&p.name, peer_ep(fake.addr));
        peers.push(fake);
    }
    Fakes {
        endpoints,
        _orderer: orderer,
        _peers: peers,
    }
}

async fn run_create(
    net: &Net,
    endpoints: &Endpoints,
) -> (Result<(), ChannelError>, Vec<ChannelEvent>) {
    let mut events = vec![];
    let mut on_event = |e: ChannelEvent| events.push(e);
    let r = create_channel(
        &net.ws,
        &net.topo,
        &net.crypto,
        endpoints,
        CHANNEL,
        BLOCK,
        &mut on_event,
    )
    .await;
    (r, events)
}

fn ev(kind: &str, node: &str) -> ChannelEvent {
    let (node, channel) = (node.to_string(), CHANNEL.to_string());
    match kind {
        "joining" => ChannelEvent::Joining { node, channel },
        "joined" => ChannelEvent::Joined { node, channel },
        "already" => ChannelEvent::AlreadyJoined { node, channel },
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn create_channel_joins_orderer_then_peers_and_is_idempotent() {
    let net = Net::new();
    let f = fakes(&net, |_| PeerReply::Stateful).await;
    let nodes = ["orderer0-ordererorg", "peer0-org1", "peer0-org2"];

    let (r, events) = run_create(&net, &f.endpoints).await;
    r.unwrap();
    let want: Vec<ChannelEvent> = nodes
        .iter()
        .flat_map(|n| [ev("joining", n), ev("joined", n)])
        .collect();
    assert_eq!(events, want);

    let (r, events) = run_create(&net, &f.endpoints).await;
    r.unwrap();
    let want: Vec<ChannelEvent> = nodes
        .iter()
        .flat_map(|n| [ev("joining", n), ev("already", n)])
        .collect();
    assert_eq!(events, want);

    for p in &f._peers {
        let seen = p.seen();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|s| s.signature_ok));
    }
    assert_eq!(
        seen_msps(&f._peers),
        ["Org1MSP", "Org1MSP", "Org2MSP", "Org2MSP"]
    );
}

fn seen_msps(peers: &[FakePeer]) -> Vec<String> {
    peers
        .iter()
        .flat_map(|p| p.seen().into_iter().map(|s| s.mspid))
        .collect()
}

#[tokio::test]
async fn create_channel_stops_at_the_first_failure() {
    let net = Net::new();
    let f = fakes(&net, |name| {
        if name == "peer0-org1" {
            PeerReply::Fixed(
                500,
                "cannot create ledger from genesis block: disk full".into(),
            )
        } else {
            PeerReply::Stateful
        }
    })
    .await;
    let (r, events) = run_create(&net, &f.endpoints).await;
    let err = r.unwrap_err();
    assert!(err.to_string().contains("peer0-org1"), "{err}");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events[..3],
        [
            ev("joining", "orderer0-ordererorg"),
            ev("joined", "orderer0-ordererorg"),
            ev("joining", "peer0-org1"),
        ]
    );
    match &events[3] {
        ChannelEvent::Failed { node, error, .. } => {
            assert_eq!(node, "peer0-org1");
            assert!(error.contains("disk full"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        f._peers[1].seen().is_empty(),
        "peer0-org2 must not be asked"
    );
}

#[tokio::test]
async fn create_channel_checks_the_channel_and_endpoints() {
    let net = Net::new();
    let (r, events) = run_create(&net, &Endpoints::default()).await;
    let err = r.unwrap_err();
    assert!(matches!(err, ChannelError::NoEndpoint { .. }), "{err:?}");
    assert_eq!(err.node(), Some("orderer0-ordererorg"));
    assert_eq!(events.len(), 2);

    let mut events = vec![];
    let mut on_event = |e: ChannelEvent| events.push(e);
    let err = create_channel(
        &net.ws,
        &net.topo,
        &net.crypto,
        &Endpoints::host_ports(&net.topo),
        "nochannel",
        BLOCK,
        &mut on_event,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("mychannel"), "{err}");
    assert!(events.is_empty());
}

/// The CLI may spawn the calls: their futures must be Send.
#[test]
fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let net = Net::new();
    let eps = Endpoints::host_ports(&net.topo);
    let ep = eps.get("peer0-org1").unwrap();
    let mut on_event = |_: ChannelEvent| {};
    send(&create_channel(
        &net.ws,
        &net.topo,
        &net.crypto,
        &eps,
        CHANNEL,
        BLOCK,
        &mut on_event,
    ));
    send(&join_peer(net.peer1(), ep, &net.crypto, CHANNEL, BLOCK, T));
    send(&join_orderer(
        net.orderer(),
        ep,
        &net.crypto,
        &net.ws,
        CHANNEL,
        BLOCK,
        T,
    ));
}
