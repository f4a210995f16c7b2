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
use network::pki::ADMIN;
use network::{Node, Workspace};
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use testkit::net::CryptoNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod create;
mod orderer;
mod peer;

const CHANNEL: &str = "mychannel";
const T: Duration = Duration::from_secs(10);
/// Stands in for the genesis block: the calls treat it as opaque bytes.
const BLOCK: &[u8] = b"\x0a\x02\x08\x00not-really-a-block\x00\xff\r\n--boundary-lookalike";

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

/// The default network's crypto material, with the nodes these tests call.
struct Net(CryptoNet);

impl std::ops::Deref for Net {
    type Target = CryptoNet;
    fn deref(&self) -> &CryptoNet {
        &self.0
    }
}

impl Net {
    fn new() -> Net {
        channel::install_crypto_provider();
        Net(CryptoNet::new(Workspace::default_network()))
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
