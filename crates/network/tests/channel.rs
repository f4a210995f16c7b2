//! Channel operations against fakes of the two Fabric endpoints they use:
//!
//! - the orderer's channel participation API: an HTTPS server (hyper over
//!   rustls) that requires a client certificate issued by the orderer org's
//!   TLS CA and serves with the orderer node's own TLS certificate;
//! - the peer's Endorser gRPC service: a tonic server built from
//!   fabric-sdk's generated protos, TLS with the peer node's certificate,
//!   that decodes and verifies every SignedProposal it gets.
//!
//! The crypto is fabdev's own (`pki::ensure` into a temporary folder). Real
//! Fabric binaries are not available here, so these tests prove the requests
//! fabdev sends and how it reads the answers, not that a real orderer or peer
//! accepts them.

// The fakes and helpers below are test code too (clippy.toml allows unwrap
// only inside #[test] functions).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fabric_sdk::fabric::common::{ChannelHeader, Header, SignatureHeader};
use fabric_sdk::fabric::msp::SerializedIdentity;
use fabric_sdk::fabric::protos::endorser_server::{Endorser, EndorserServer};
use fabric_sdk::fabric::protos::{
    ChaincodeInvocationSpec, ChaincodeProposalPayload, ChannelInfo, ChannelQueryResponse, Proposal,
    ProposalResponse, Response as PbResponse, SignedProposal,
};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use network::channel::{
    self, ChannelError, ChannelEvent, Endpoints, JoinOutcome, NodeEndpoint, create_channel,
    join_orderer, join_peer, orderer_channels, peer_channels,
};
use network::pki::{self, ADMIN, CryptoDir};
use network::{Node, Topology, Workspace};
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CHANNEL: &str = "mychannel";
const T: Duration = Duration::from_secs(10);
/// Stands in for the genesis block: the calls treat it as opaque bytes.
const BLOCK: &[u8] = b"\x0a\x02\x08\x00not-really-a-block\x00\xff\r\n--boundary-lookalike";

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

struct Net {
    _dir: tempfile::TempDir,
    ws: Workspace,
    topo: Topology,
    crypto: CryptoDir,
}

impl Net {
    fn new() -> Net {
        channel::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::default_network();
        let topo = Topology::of(&ws);
        let crypto = CryptoDir::new(dir.path().join("crypto"));
        pki::ensure(&ws, &topo, &crypto).unwrap();
        Net {
            _dir: dir,
            ws,
            topo,
            crypto,
        }
    }

    fn node(&self, name: &str) -> &Node {
        self.topo.node(name).unwrap()
    }

    fn orderer(&self) -> &Node {
        self.node("orderer0-ordererorg")
    }

    fn peer1(&self) -> &Node {
        self.node("peer0-org1")
    }

    fn node_tls(&self, node: &Node, file: &str) -> std::path::PathBuf {
        self.crypto.node_dir(node).join("tls").join(file)
    }

    fn admin_dir(&self, org: &str) -> std::path::PathBuf {
        self.crypto.user_dir(org, ADMIN)
    }
}

fn der_of(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

fn server_identity(
    net: &Net,
    node: &Node,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let certs = CertificateDer::pem_file_iter(net.node_tls(node, "server.crt"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(net.node_tls(node, "server.key")).unwrap();
    (certs, key)
}

/// A port nothing listens on.
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// `join_orderer` of the orderer, as its Admin, through the admin address `addr`.
async fn join_orderer_at(net: &Net, addr: SocketAddr) -> Result<JoinOutcome, ChannelError> {
    join_orderer(
        net.orderer(),
        &orderer_ep(addr),
        &net.crypto,
        &net.ws,
        CHANNEL,
        BLOCK,
        T,
    )
    .await
}

fn orderer_ep(addr: SocketAddr) -> NodeEndpoint {
    NodeEndpoint {
        grpc: "127.0.0.1:1".to_string(),
        admin: Some(addr.to_string()),
    }
}

fn peer_ep(addr: SocketAddr) -> NodeEndpoint {
    NodeEndpoint {
        grpc: addr.to_string(),
        admin: None,
    }
}

// ---------------------------------------------------------------------------
// Fake orderer: channel participation API over HTTPS with mutual TLS
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct HttpSeen {
    method: String,
    path: String,
    content_type: String,
    /// The multipart parts: (name, data).
    parts: Vec<(String, Vec<u8>)>,
    client_cert: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum OrdererReply {
    /// 201 on the first join of a block, 405 after; GET lists what joined.
    Stateful,
    Fixed(u16, String),
}

#[derive(Debug, Default)]
struct OrdererState {
    seen: Vec<HttpSeen>,
    joined: BTreeSet<Vec<u8>>,
}

struct FakeOrderer {
    addr: SocketAddr,
    state: Arc<Mutex<OrdererState>>,
}

impl FakeOrderer {
    async fn start(net: &Net, reply: OrdererReply) -> FakeOrderer {
        let (certs, key) = server_identity(net, net.orderer());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(der_of(
                &net.crypto.tlsca_dir(&net.ws.orderer.name).join("tlsca.crt"),
            )))
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let config = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(OrdererState::default()));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let st = st.clone();
                let reply = reply.clone();
                tokio::spawn(async move {
                    // Handshake failures (no or foreign client certificate,
                    // the clients' TCP reachability probes) end here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let client_cert = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.to_vec());
                    let svc = hyper::service::service_fn(move |req| {
                        orderer_handle(req, st.clone(), reply.clone(), client_cert.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        FakeOrderer { addr, state }
    }

    fn seen(&self) -> Vec<HttpSeen> {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn orderer_handle(
    req: Request<Incoming>,
    state: Arc<Mutex<OrdererState>>,
    reply: OrdererReply,
    client_cert: Option<Vec<u8>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let parts = parse_multipart(&content_type, &body);
    let block = parts
        .iter()
        .find(|(name, _)| name == "config-block")
        .map(|(_, d)| d.clone());
    let mut st = state.lock().unwrap();
    st.seen.push(HttpSeen {
        method: method.clone(),
        path: path.clone(),
        content_type,
        parts,
        client_cert,
    });
    let (status, body) = match (method.as_str(), path.as_str(), &reply) {
        ("POST", "/participation/v1/channels", OrdererReply::Fixed(s, b)) => (*s, b.clone()),
        ("POST", "/participation/v1/channels", OrdererReply::Stateful) => match block {
            Some(b) if st.joined.contains(&b) => (
                405,
                r#"{"error":"cannot join: channel already exists"}"#.to_string(),
            ),
            Some(b) => {
                st.joined.insert(b);
                (
                    201,
                    format!(
                        r#"{{"name":"{CHANNEL}","url":"/participation/v1/channels/{CHANNEL}","consensusRelation":"consenter","status":"active","height":1}}"#
                    ),
                )
            }
            None => (
                400,
                r#"{"error":"cannot read form from request body"}"#.to_string(),
            ),
        },
        ("GET", "/participation/v1/channels", _) => {
            let channels: Vec<String> = st
                .joined
                .iter()
                .map(|_| {
                    format!(
                        r#"{{"name":"{CHANNEL}","url":"/participation/v1/channels/{CHANNEL}"}}"#
                    )
                })
                .collect();
            (
                200,
                format!(
                    r#"{{"systemChannel":null,"channels":[{}]}}"#,
                    channels.join(",")
                ),
            )
        }
        _ => (404, r#"{"error":"not found"}"#.to_string()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// The (name, data) parts of a multipart/form-data body.
fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Some(boundary) = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
    else {
        return vec![];
    };
    let delim = format!("--{}", boundary.trim_matches('"'));
    let mut parts = vec![];
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let Some(start) = find(rest, delim.as_bytes()) else {
        return vec![];
    };
    rest = &rest[start + delim.len()..];
    while rest.starts_with(b"\r\n") {
        rest = &rest[2..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let data_start = head_end + 4;
        let closing = format!("\r\n{delim}");
        let Some(data_len) = find(&rest[data_start..], closing.as_bytes()) else {
            break;
        };
        let data = rest[data_start..data_start + data_len].to_vec();
        let name = head
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))
            .map(|n| {
                n.split("\r\n")
                    .next()
                    .unwrap_or(n)
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_default();
        parts.push((name, data));
        rest = &rest[data_start + data_len + closing.len()..];
    }
    parts
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Fake peer: Endorser gRPC service over TLS
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ProposalSeen {
    channel_id: String,
    header_type: i32,
    mspid: String,
    creator_cert: Vec<u8>,
    signature_ok: bool,
    chaincode: String,
    args: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum PeerReply {
    /// JoinChain: 200 the first time, then Fabric's "ledger exists" 500;
    /// GetChannels lists the channel once joined.
    Stateful,
    Fixed(i32, String),
}

#[derive(Debug, Default)]
struct PeerState {
    seen: Vec<ProposalSeen>,
    joined: bool,
}

#[derive(Debug)]
struct FakeEndorser {
    reply: PeerReply,
    state: Arc<Mutex<PeerState>>,
}

fn decode_proposal(sp: &SignedProposal) -> ProposalSeen {
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice()).unwrap();
    let header = Header::decode(proposal.header.as_slice()).unwrap();
    let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
    let creator = SerializedIdentity::decode(sh.creator.as_slice()).unwrap();
    let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
    let cis = ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
    let spec = cis.chaincode_spec.unwrap();

    // Verify the signature with the creator's certificate: ECDSA P-256 over
    // SHA-256 of the proposal bytes, DER-encoded.
    let (_, pem) = x509_parser::pem::parse_x509_pem(&creator.id_bytes).unwrap();
    let cert = pem.parse_x509().unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data)
        .unwrap();
    let signature_ok = p256::ecdsa::Signature::from_der(&sp.signature).is_ok_and(|sig| {
        use p256::ecdsa::signature::Verifier;
        vk.verify(&sp.proposal_bytes, &sig).is_ok()
    });

    ProposalSeen {
        channel_id: ch.channel_id,
        header_type: ch.r#type,
        mspid: creator.mspid,
        creator_cert: creator.id_bytes,
        signature_ok,
        chaincode: spec.chaincode_id.map(|c| c.name).unwrap_or_default(),
        args: spec.input.map(|i| i.args).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl Endorser for FakeEndorser {
    async fn process_proposal(
        &self,
        request: tonic::Request<SignedProposal>,
    ) -> Result<tonic::Response<ProposalResponse>, tonic::Status> {
        let seen = decode_proposal(request.get_ref());
        let function = seen
            .args
            .first()
            .map(|a| String::from_utf8_lossy(a).to_string())
            .unwrap_or_default();
        let mut st = self.state.lock().unwrap();
        st.seen.push(seen);
        let (status, message, payload) = match (&self.reply, function.as_str()) {
            (PeerReply::Fixed(s, m), _) => (*s, m.clone(), vec![]),
            (PeerReply::Stateful, "JoinChain") if st.joined => (
                500,
                format!(
                    "cannot create ledger from genesis block: ledger [{CHANNEL}] already exists with state [ACTIVE]"
                ),
                vec![],
            ),
            (PeerReply::Stateful, "JoinChain") => {
                st.joined = true;
                (200, String::new(), vec![])
            }
            (PeerReply::Stateful, "GetChannels") => {
                let channels = if st.joined {
                    vec![ChannelInfo {
                        channel_id: CHANNEL.to_string(),
                    }]
                } else {
                    vec![]
                };
                (
                    200,
                    String::new(),
                    ChannelQueryResponse { channels }.encode_to_vec(),
                )
            }
            (PeerReply::Stateful, other) => (
                500,
                format!("Requested function {other} not found."),
                vec![],
            ),
        };
        Ok(tonic::Response::new(ProposalResponse {
            response: Some(PbResponse {
                status,
                message,
                payload,
            }),
            ..Default::default()
        }))
    }
}

struct FakePeer {
    addr: SocketAddr,
    state: Arc<Mutex<PeerState>>,
}

impl FakePeer {
    async fn start(net: &Net, node: &Node, reply: PeerReply) -> FakePeer {
        let cert = std::fs::read(net.node_tls(node, "server.crt")).unwrap();
        let key = std::fs::read(net.node_tls(node, "server.key")).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(PeerState::default()));
        let endorser = FakeEndorser {
            reply,
            state: state.clone(),
        };
        let server = tonic::transport::Server::builder()
            .tls_config(
                tonic::transport::ServerTlsConfig::new()
                    .identity(tonic::transport::Identity::from_pem(cert, key)),
            )
            .unwrap()
            .add_service(EndorserServer::new(endorser))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        FakePeer { addr, state }
    }

    fn seen(&self) -> Vec<ProposalSeen> {
        self.state.lock().unwrap().seen.clone()
    }
}

// ---------------------------------------------------------------------------
// Orderer tests
// ---------------------------------------------------------------------------

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
    assert!(msg.contains("may be down"), "{msg}");
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

// ---------------------------------------------------------------------------
// Peer tests
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// create_channel
// ---------------------------------------------------------------------------

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
