//! A peer connection for the chaincode lifecycle and for transactions: the
//! `_lifecycle` system chaincode (install, approve, commit and their
//! queries) and the Gateway service (endorse, submit, evaluate), as one of
//! an org's users. fabric-sdk's types stay in here; callers get plain
//! values.

use std::collections::BTreeMap;
use std::time::Duration;

use fabric_sdk::error::{LifecycleError, SubmitError};
use fabric_sdk::fabric::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource, CheckCommitReadinessArgs,
    CommitChaincodeDefinitionArgs, QueryApprovedChaincodeDefinitionResult,
    QueryChaincodeDefinitionResult, QueryInstalledChaincodesResult, chaincode_source,
};
use fabric_sdk::fabric::protos::CollectionConfigPackage;
use fabric_sdk::gateway::client::{Client, ClientBuilder};
use fabric_sdk::identity::IdentityBuilder;
use prost::Message as _;

use super::{
    ChannelError, NodeEndpoint, Phase, check_endpoint, creds, error_chain, looks_like_tls,
    ordering, unreachable, with_deadline,
};
use crate::pki::CryptoDir;
use crate::topology::{Node, NodeKind};

/// A chaincode definition as the lifecycle knows it (what an org approves
/// and what a channel commits). Plugins are left empty, as the peer CLI
/// leaves them (the peer fills in escc and vscc); the validation parameter
/// is always sent, so that what an org approved compares byte for byte
/// with what fabdev would approve (the peer fills an empty one in with a
/// reference to `/Channel/Application/Endorsement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    pub init_required: bool,
    /// The encoded `ApplicationPolicy` endorsements are validated against
    /// (see `crate::policy::EndorsementPolicy::validation_parameter`).
    pub validation_parameter: Vec<u8>,
    /// The encoded `CollectionConfigPackage`; empty when there are none.
    pub collections: Vec<u8>,
}

/// The collections argument of a definition: none for empty bytes.
fn collections_arg(bytes: &[u8]) -> Result<Option<CollectionConfigPackage>, prost::DecodeError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    CollectionConfigPackage::decode(bytes).map(Some)
}

/// The collections a peer reports, as bytes comparable with
/// [`Definition::collections`] (an empty package is no package).
fn collections_bytes(c: Option<CollectionConfigPackage>) -> Vec<u8> {
    c.filter(|c| !c.config.is_empty())
        .map(|c| c.encode_to_vec())
        .unwrap_or_default()
}

/// `ApproveChaincodeDefinitionForMyOrg`'s arguments for `def` with the
/// package `package_id`.
pub fn approve_args(
    def: &Definition,
    package_id: &str,
) -> Result<ApproveChaincodeDefinitionForMyOrgArgs, prost::DecodeError> {
    Ok(ApproveChaincodeDefinitionForMyOrgArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        source: Some(ChaincodeSource {
            r#type: Some(chaincode_source::Type::LocalPackage(
                chaincode_source::Local {
                    package_id: package_id.to_string(),
                },
            )),
        }),
        ..ApproveChaincodeDefinitionForMyOrgArgs::default()
    })
}

/// `CommitChaincodeDefinition`'s arguments for `def`.
pub fn commit_args(def: &Definition) -> Result<CommitChaincodeDefinitionArgs, prost::DecodeError> {
    Ok(CommitChaincodeDefinitionArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        ..CommitChaincodeDefinitionArgs::default()
    })
}

/// `CheckCommitReadiness`'s arguments for `def`.
pub fn readiness_args(def: &Definition) -> Result<CheckCommitReadinessArgs, prost::DecodeError> {
    Ok(CheckCommitReadinessArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        ..CheckCommitReadinessArgs::default()
    })
}

/// An org's approval from a `QueryApprovedChaincodeDefinition` answer.
pub fn approval_from(name: &str, r: QueryApprovedChaincodeDefinitionResult) -> Approval {
    let package_id = match r.source.and_then(|s| s.r#type) {
        Some(chaincode_source::Type::LocalPackage(l)) => Some(l.package_id),
        _ => None,
    };
    Approval {
        definition: Definition {
            name: name.to_string(),
            version: r.version,
            sequence: r.sequence,
            init_required: r.init_required,
            validation_parameter: r.validation_parameter,
            collections: collections_bytes(r.collections),
        },
        package_id,
    }
}

/// A committed definition from a `QueryChaincodeDefinition` answer.
pub fn committed_from(name: &str, r: QueryChaincodeDefinitionResult) -> Committed {
    Committed {
        definition: Definition {
            name: name.to_string(),
            version: r.version,
            sequence: r.sequence,
            init_required: r.init_required,
            validation_parameter: r.validation_parameter,
            collections: collections_bytes(r.collections),
        },
        approvals: r.approvals.into_iter().collect(),
    }
}

/// The packages of a `QueryInstalledChaincodes` answer.
pub fn installed_from(r: QueryInstalledChaincodesResult) -> Vec<Installed> {
    r.installed_chaincodes
        .into_iter()
        .map(|c| Installed {
            package_id: c.package_id,
            label: c.label,
        })
        .collect()
}

/// An org's approval: the definition and the package it names (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub definition: Definition,
    pub package_id: Option<String>,
}

/// A committed definition and which orgs approved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub definition: Definition,
    /// MSP ID -> approved.
    pub approvals: BTreeMap<String, bool>,
}

/// A package installed on a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub package_id: String,
    pub label: String,
}

/// The result of a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub transaction_id: String,
    /// What the chaincode returned.
    pub result: Vec<u8>,
}

/// A connection to one peer as one identity.
pub struct PeerClient {
    node: String,
    address: String,
    msp_id: String,
    client: Client,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("node", &self.node)
            .field("address", &self.address)
            .field("msp_id", &self.msp_id)
            .finish_non_exhaustive()
    }
}

/// Check a peer call's inputs and read its credentials: the node is a peer,
/// the endpoint is one TLS can verify, the peer's TLS CA, and `user`'s
/// signing certificate and key (checked, as fabric-sdk's builders panic on
/// a bad key or TLS configuration).
pub(crate) fn peer_credentials(
    node: &Node,
    ep: &NodeEndpoint,
    crypto: &CryptoDir,
    user: &str,
    what_for: &str,
) -> Result<(Vec<u8>, creds::KeyPair), ChannelError> {
    if node.kind != NodeKind::Peer {
        return Err(ChannelError::WrongNode {
            node: node.name.clone(),
            problem: format!("is not a peer; {what_for} goes to peers"),
        });
    }
    check_endpoint(&node.name, &ep.grpc)?;
    let tls_ca = creds::ca_cert(
        &node.name,
        "TLS CA certificate",
        &crypto.node_dir(node).join("tls").join("ca.crt"),
    )?;
    let msp = crypto.user_dir(&node.org, user).join("msp");
    let pair = creds::key_pair(
        &node.name,
        &format!("{} {user} signing", node.org),
        msp.join("signcerts").join("cert.pem"),
        msp.join("keystore").join("key.pem"),
    )?;
    Ok((tls_ca, pair))
}

/// A connected fabric-sdk client for a peer, as the identity of `pair`;
/// `phase` says what is awaited (for a timeout's message). A failed
/// connection is told apart: nothing listening, TLS, or other transport.
pub(crate) async fn connect_peer(
    node: &Node,
    address: &str,
    tls_ca: &[u8],
    pair: &creds::KeyPair,
    phase: &Phase,
) -> Result<Client, ChannelError> {
    let internal = |what: &str, e: fabric_sdk::error::BuilderError| ChannelError::Transport {
        node: node.name.clone(),
        address: address.to_string(),
        message: format!("cannot set up the {what}: {e}"),
        source: None,
    };
    // Checked in `peer_credentials`, so these builders get only what they
    // accept.
    let identity = IdentityBuilder::from_pem(&pair.cert_pem)
        .and_then(|b| b.with_msp(node.msp_id.clone()))
        .and_then(|b| b.with_private_key(pair.key_pem.clone()))
        .and_then(|b| b.build())
        .map_err(|e| internal("signing identity", e))?;
    let mut client = ClientBuilder::new()
        .with_identity(identity)
        .and_then(|b| b.with_tls(tls_ca.to_vec()))
        .and_then(|b| b.with_authority(address))
        .and_then(|b| b.build())
        .map_err(|e| internal("gRPC client", e))?;
    phase.set("the TLS handshake and HTTP/2 connection");
    if let Err(e) = client.connect().await {
        if let Some(down) = unreachable(&node.name, address).await {
            return Err(down);
        }
        let message = error_chain(&e);
        return Err(if looks_like_tls(&message) {
            ChannelError::Tls {
                node: node.name.clone(),
                address: address.to_string(),
                message,
                hint: format!(
                    "the peer's TLS certificate must be issued by the org's TLS CA and name the host dialled ({address})"
                ),
                source: Some(Box::new(e)),
            }
        } else {
            ChannelError::Transport {
                node: node.name.clone(),
                address: address.to_string(),
                message,
                source: Some(Box::new(e)),
            }
        });
    }
    Ok(client)
}

/// The transaction ID in a proposal's channel header.
fn tx_id_of(proposal: &fabric_sdk::fabric::protos::SignedProposal) -> String {
    proposal
        .get_proposal()
        .ok()
        .and_then(|p| p.get_header().ok())
        .and_then(|h| h.get_channel_header().ok())
        .map(|c| c.tx_id)
        .unwrap_or_default()
}

/// The peer's own message inside a lifecycle error, if it carries one.
fn node_message(e: &LifecycleError) -> Option<&str> {
    match e {
        LifecycleError::NodeError(m) | LifecycleError::SubmitError(SubmitError::NodeError(m)) => {
            Some(m)
        }
        _ => None,
    }
}

/// Fabric's answer when a chaincode has no committed definition.
fn not_defined(message: &str) -> bool {
    message.contains("namespace") && message.contains("is not defined")
        || message.contains("could not fetch")
}

impl PeerClient {
    /// Connect to `node` as `user` (`Admin` or `User1`) of the peer's org,
    /// verifying the peer's TLS certificate against its org's TLS CA.
    pub async fn connect(
        node: &Node,
        ep: &NodeEndpoint,
        crypto: &CryptoDir,
        user: &str,
        timeout: Duration,
    ) -> Result<PeerClient, ChannelError> {
        let (tls_ca, pair) =
            peer_credentials(node, ep, crypto, user, "the lifecycle and the Gateway")?;
        let address = ep.grpc.clone();
        let phase = Phase::new();
        let client = with_deadline(&node.name, &address, timeout, &phase, async {
            connect_peer(node, &address, &tls_ca, &pair, &phase).await
        })
        .await?;
        Ok(PeerClient {
            node: node.name.clone(),
            address,
            msp_id: node.msp_id.clone(),
            client,
        })
    }

    /// The peer's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The MSP ID of the identity (and of the peer's org).
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    fn rejected(&self, action: &str, message: String) -> ChannelError {
        if message.contains("access denied") || message.contains("creator is not an admin") {
            return ChannelError::NotAdmin {
                node: self.node.clone(),
                address: self.address.clone(),
                identity: self.msp_id.clone(),
                action: action.to_string(),
                message,
            };
        }
        ChannelError::PeerRejected {
            node: self.node.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            status: 500,
            message,
        }
    }

    /// A definition whose collections do not decode (they are fabdev's own
    /// encoding, so this is a bug, reported rather than sent).
    fn bad_definition(&self, action: &str, e: prost::DecodeError) -> ChannelError {
        ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("{action}: the definition's collections do not decode: {e}"),
            source: Some(Box::new(e)),
        }
    }

    fn lifecycle_error(&self, action: &str, e: LifecycleError) -> ChannelError {
        match e {
            LifecycleError::NodeError(m) => self.rejected(action, m),
            LifecycleError::SubmitError(SubmitError::NodeError(m)) => self.rejected(action, m),
            other => ChannelError::Transport {
                node: self.node.clone(),
                address: self.address.clone(),
                message: format!("{action}: {other}"),
                source: Some(Box::new(other)),
            },
        }
    }

    fn submit_error(&self, action: &str, e: SubmitError) -> ChannelError {
        match e {
            SubmitError::NodeError(m) => self.rejected(action, m),
            other => ChannelError::Transport {
                node: self.node.clone(),
                address: self.address.clone(),
                message: format!("{action}: {other}"),
                source: Some(Box::new(other)),
            },
        }
    }

    async fn deadline<T>(
        &self,
        what: &str,
        timeout: Duration,
        op: impl std::future::Future<Output = Result<T, ChannelError>>,
    ) -> Result<T, ChannelError> {
        let phase = Phase::new();
        phase.set(what);
        with_deadline(&self.node, &self.address, timeout, &phase, op).await
    }

    /// Install a package. The peer builds the chaincode before it answers
    /// (with the Docker builder: an image build in its daemon), so give it
    /// the build's time. Returns the package ID; a package installed
    /// already is not an error (`Ok(None)`).
    pub async fn install(
        &self,
        package: Vec<u8>,
        timeout: Duration,
    ) -> Result<Option<String>, ChannelError> {
        let action = "InstallChaincode";
        self.deadline(
            "the peer to install (and build) the package",
            timeout,
            async {
                match self
                    .client
                    .get_lifecycle_client()
                    .install_chaincode(package)
                    .await
                {
                    Ok(r) => Ok(Some(r.package_id)),
                    Err(e)
                        if node_message(&e).is_some_and(|m| {
                            m.contains("chaincode already successfully installed")
                        }) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(self.lifecycle_error(action, e)),
                }
            },
        )
        .await
    }

    /// The packages installed on the peer.
    pub async fn installed(&self, timeout: Duration) -> Result<Vec<Installed>, ChannelError> {
        self.deadline("the installed packages", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .query_installed_chaincodes()
                .await
                .map_err(|e| self.lifecycle_error("QueryInstalledChaincodes", e))?;
            Ok(installed_from(r))
        })
        .await
    }

    /// This org's approval of `name` at `sequence` on `channel`, if any.
    pub async fn approval(
        &self,
        channel: &str,
        name: &str,
        sequence: i64,
        timeout: Duration,
    ) -> Result<Option<Approval>, ChannelError> {
        self.deadline("the org's approved definition", timeout, async {
            match self
                .client
                .get_lifecycle_client()
                .query_approved_chaincode_definition(channel, name, sequence)
                .await
            {
                Ok(r) => Ok(Some(approval_from(name, r))),
                Err(e)
                    if node_message(&e).is_some_and(|m| {
                        m.contains("could not fetch approved chaincode definition")
                            || not_defined(m)
                    }) =>
                {
                    Ok(None)
                }
                Err(e) => Err(self.lifecycle_error("QueryApprovedChaincodeDefinition", e)),
            }
        })
        .await
    }

    /// The committed definition of `name` on `channel`, if any.
    pub async fn committed(
        &self,
        channel: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<Committed>, ChannelError> {
        self.deadline("the committed definition", timeout, async {
            match self
                .client
                .get_lifecycle_client()
                .query_chaincode_definition(channel, name)
                .await
            {
                Ok(r) => Ok(Some(committed_from(name, r))),
                Err(e) if node_message(&e).is_some_and(not_defined) => Ok(None),
                Err(e) => Err(self.lifecycle_error("QueryChaincodeDefinition", e)),
            }
        })
        .await
    }

    /// Every committed definition on `channel`.
    pub async fn committed_all(
        &self,
        channel: &str,
        timeout: Duration,
    ) -> Result<Vec<Definition>, ChannelError> {
        self.deadline("the committed definitions", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .query_chaincode_definitions(channel)
                .await
                .map_err(|e| self.lifecycle_error("QueryChaincodeDefinitions", e))?;
            Ok(r.chaincode_definitions
                .into_iter()
                .map(|d| Definition {
                    name: d.name,
                    version: d.version,
                    sequence: d.sequence,
                    init_required: d.init_required,
                    validation_parameter: d.validation_parameter,
                    collections: collections_bytes(d.collections),
                })
                .collect())
        })
        .await
    }

    /// Approve `def` with `package_id` for this org; waits until the
    /// transaction is committed.
    pub async fn approve(
        &self,
        channel: &str,
        def: &Definition,
        package_id: &str,
        timeout: Duration,
    ) -> Result<(), ChannelError> {
        let action = format!(
            "approving {} sequence {} on {channel}",
            def.name, def.sequence
        );
        let args = approve_args(def, package_id).map_err(|e| self.bad_definition(&action, e))?;
        let action = &action;
        let submit = || {
            let args = args.clone();
            async move {
                let status = self
                    .client
                    .get_lifecycle_client()
                    .approve_chaincode_definition(channel, args)
                    .await
                    .map_err(|e| self.lifecycle_error(action, e))?;
                self.check_valid(action, status.result)
            }
        };
        let window = ordering::window(timeout);
        self.deadline(
            "the approval to be ordered and committed",
            timeout,
            ordering::while_no_leader(channel, window, submit),
        )
        .await
    }

    /// Which orgs have approved `def` (MSP ID -> approved).
    pub async fn readiness(
        &self,
        channel: &str,
        def: &Definition,
        timeout: Duration,
    ) -> Result<BTreeMap<String, bool>, ChannelError> {
        let args =
            readiness_args(def).map_err(|e| self.bad_definition("CheckCommitReadiness", e))?;
        self.deadline("the commit readiness", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .check_commit_readiness(channel, args)
                .await
                .map_err(|e| self.lifecycle_error("CheckCommitReadiness", e))?;
            Ok(r.approvals.into_iter().collect())
        })
        .await
    }

    /// Commit `def`, endorsed by this peer and by `others` (one peer of each
    /// other org the LifecycleEndorsement policy needs); waits until the
    /// transaction is committed.
    pub async fn commit(
        &self,
        channel: &str,
        def: &Definition,
        others: &[&PeerClient],
        timeout: Duration,
    ) -> Result<(), ChannelError> {
        let action = format!(
            "committing {} sequence {} on {channel}",
            def.name, def.sequence
        );
        let args = commit_args(def).map_err(|e| self.bad_definition(&action, e))?;
        let endorsers: Vec<&Client> = others.iter().map(|p| &p.client).collect();
        let (action, endorsers) = (&action, &endorsers);
        let submit = || {
            let args = args.clone();
            async move {
                let status = self
                    .client
                    .get_lifecycle_client()
                    .commit_chaincode_definition(channel, args, endorsers)
                    .await
                    .map_err(|e| self.lifecycle_error(action, e))?;
                self.check_valid(action, status.result)
            }
        };
        let window = ordering::window(timeout);
        self.deadline(
            "the commit to be ordered and committed",
            timeout,
            ordering::while_no_leader(channel, window, submit),
        )
        .await
    }

    /// The raw answer of a `_lifecycle` query (`function` with its encoded
    /// arguments; `channel` empty for the peer's own, such as
    /// `QueryInstalledChaincodes`): the bytes the peer returns, for
    /// recording vectors (scripts/record/lifecycle-vectors.sh).
    pub async fn lifecycle_query_raw(
        &self,
        channel: &str,
        function: &str,
        args: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the {function} proposal: {e}"),
            source: None,
        };
        let mut b = self.client.get_chaincode_call_builder();
        b.with_chaincode_id("_lifecycle")
            .and_then(|b| b.with_function_name(function))
            .and_then(|b| b.with_function_args([args]))
            .map_err(internal)?;
        if !channel.is_empty() {
            b.with_channel_name(channel).map_err(internal)?;
        }
        let proposal = b.build().map_err(internal)?;
        self.deadline("the lifecycle query's answer", timeout, async {
            if channel.is_empty() {
                let r = self
                    .client
                    .process_proposal(proposal)
                    .await
                    .map_err(|e| self.submit_error(function, e))?;
                let r = r.response.unwrap_or_default();
                if r.status != 200 {
                    return Err(self.rejected(function, r.message));
                }
                return Ok(r.payload);
            }
            let tx_id = tx_id_of(&proposal);
            self.client
                .evaluate(proposal, tx_id, channel.to_string())
                .await
                .map_err(|e| self.submit_error(function, e))
        })
        .await
    }

    /// A commit status other than VALID (0) is the transaction's failure.
    fn check_valid(&self, action: &str, code: i32) -> Result<(), ChannelError> {
        if code == 0 {
            return Ok(());
        }
        let name = fabric_sdk::fabric::protos::TxValidationCode::try_from(code)
            .map(|c| c.as_str_name().to_string())
            .unwrap_or_else(|_| code.to_string());
        Err(ChannelError::PeerRejected {
            node: self.node.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            status: code,
            message: format!("the transaction was invalidated: {name}"),
        })
    }

    fn proposal(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> Result<fabric_sdk::fabric::protos::SignedProposal, ChannelError> {
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the proposal: {e}"),
            source: None,
        };
        let mut b = self.client.get_chaincode_call_builder();
        b.with_channel_name(channel)
            .and_then(|b| b.with_chaincode_id(chaincode))
            .and_then(|b| b.with_function_name(function))
            .and_then(|b| b.with_function_args(args.to_vec()))
            .map_err(internal)?;
        // The function goes to the chaincode as given, as the peer CLI sends
        // it (`Fn`, or `Contract:Fn` for a named contract). fabric-sdk would
        // otherwise prefix the chaincode's name as a contract name; its
        // "system chaincode" switch only turns that prefix off.
        b.with_system_chaincode();
        if !transient.is_empty() {
            b.with_transient_map(
                transient
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
        b.build().map_err(internal)
    }

    /// Submit a transaction through the peer's Gateway (endorse, order,
    /// wait for commit).
    pub async fn submit(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        let action = format!("{chaincode} {function} on {channel}");
        let proposal = self.proposal(channel, chaincode, function, args, transient)?;
        self.submit_proposal(channel, &action, proposal, timeout)
            .await
    }

    /// Submit the chaincode's `Init` transaction (`is_init` set in its
    /// input, which fabric-sdk's call builder cannot set): `args` are the
    /// function and its arguments, as the peer CLI's `--isInit -c
    /// '{"Args":[…]}'` sends them (none: no function).
    pub async fn submit_init(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        let action = format!("Init of {chaincode} on {channel}");
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the Init proposal: {e}"),
            source: None,
        };
        let (extension, payload) = init_proposal_parts(chaincode, args);
        let mut b = self.client.get_chaincode_call_builder();
        b.with_channel_name(channel).map_err(internal)?;
        let proposal = b
            .generate_transaction(extension, payload)
            .map_err(internal)?;
        self.submit_proposal(channel, &action, proposal, timeout)
            .await
    }

    async fn submit_proposal(
        &self,
        channel: &str,
        action: &str,
        proposal: fabric_sdk::fabric::protos::SignedProposal,
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        self.deadline(
            "the transaction to be endorsed, ordered and committed",
            timeout,
            async {
                let tx_id = tx_id_of(&proposal);
                let envelope = proposal
                    .endorse(&self.client)
                    .await
                    .map_err(|e| self.submit_error(action, e))?;
                let result = endorsed_result(&envelope);
                // Sent again while the ordering service refuses it.
                let submit = || {
                    let mut envelope = envelope.clone();
                    async move {
                        envelope
                            .submit(&self.client)
                            .await
                            .map(|_| ())
                            .map_err(|e| self.submit_error(action, e))
                    }
                };
                ordering::while_no_leader(channel, ordering::window(timeout), submit).await?;
                let status = envelope
                    .wait_for_commit(&self.client)
                    .await
                    .map_err(|e| self.submit_error(action, e))?;
                self.check_valid(action, status.result)?;
                Ok(Submitted {
                    transaction_id: tx_id,
                    result,
                })
            },
        )
        .await
    }

    /// Evaluate a transaction function (a query) through the peer's Gateway.
    pub async fn evaluate(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        let action = format!("{chaincode} {function} on {channel}");
        let proposal = self.proposal(channel, chaincode, function, args, &BTreeMap::new())?;
        self.deadline("the query's answer", timeout, async {
            let tx_id = tx_id_of(&proposal);
            self.client
                .evaluate(proposal, tx_id, channel.to_string())
                .await
                .map_err(|e| self.submit_error(&action, e))
        })
        .await
    }
}

/// The header extension and payload of a chaincode's `Init` proposal: the
/// chaincode's ID and a `ChaincodeInvocationSpec` whose input has `is_init`
/// set and `args` as given.
pub fn init_proposal_parts(chaincode: &str, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
    use fabric_sdk::fabric::protos::{
        ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
        ChaincodeProposalPayload, ChaincodeSpec, chaincode_spec,
    };
    let id = ChaincodeId {
        name: chaincode.to_string(),
        ..ChaincodeId::default()
    };
    let extension = ChaincodeHeaderExtension {
        chaincode_id: Some(id.clone()),
    };
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            r#type: chaincode_spec::Type::Golang as i32,
            chaincode_id: Some(id),
            input: Some(ChaincodeInput {
                args: args.to_vec(),
                decorations: Default::default(),
                is_init: true,
            }),
            timeout: 0,
        }),
    };
    let payload = ChaincodeProposalPayload {
        input: spec.encode_to_vec(),
        transient_map: Default::default(),
    };
    (extension.encode_to_vec(), payload.encode_to_vec())
}

/// The peer's answer to an `Init` of a chaincode initialised already at
/// its version: refused before the chaincode runs.
pub fn already_initialized(e: &ChannelError) -> bool {
    matches!(e, ChannelError::PeerRejected { message, .. }
        if message.contains("already initialized but called as init"))
}

/// The chaincode's response payload inside an endorsed transaction.
fn endorsed_result(envelope: &fabric_sdk::fabric::common::Envelope) -> Vec<u8> {
    use fabric_sdk::fabric::protos::{
        ChaincodeAction, ChaincodeActionPayload, ProposalResponsePayload, Transaction,
    };
    use prost::Message as _;
    let payload = match envelope.get_payload() {
        Ok(p) => p,
        Err(_) => return Vec::new(),
    };
    let Ok(tx) = Transaction::decode(payload.data.as_slice()) else {
        return Vec::new();
    };
    tx.actions
        .first()
        .and_then(|a| ChaincodeActionPayload::decode(a.payload.as_slice()).ok())
        .and_then(|p| p.action)
        .and_then(|a| ProposalResponsePayload::decode(a.proposal_response_payload.as_slice()).ok())
        .and_then(|p| ChaincodeAction::decode(p.extension.as_slice()).ok())
        .and_then(|c| c.response)
        .map(|r| r.payload)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_sdk::fabric::protos::{
        ChaincodeHeaderExtension, ChaincodeInvocationSpec, ChaincodeProposalPayload,
    };

    #[test]
    fn the_init_proposal_sets_is_init_with_the_args_as_given() {
        let (ext, payload) =
            init_proposal_parts("counter", &[b"InitLedger".to_vec(), b"x".to_vec()]);
        let ext = ChaincodeHeaderExtension::decode(ext.as_slice()).expect("extension");
        assert_eq!(ext.chaincode_id.map(|c| c.name).as_deref(), Some("counter"));
        let payload = ChaincodeProposalPayload::decode(payload.as_slice()).expect("payload");
        assert!(payload.transient_map.is_empty());
        let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice()).expect("spec");
        let input = spec.chaincode_spec.and_then(|s| s.input).expect("input");
        assert!(input.is_init);
        // The function as given: no `contract:` prefix, and none at all
        // when there are no args.
        assert_eq!(input.args, [b"InitLedger".to_vec(), b"x".to_vec()]);
        let (_, none) = init_proposal_parts("counter", &[]);
        let none = ChaincodeProposalPayload::decode(none.as_slice()).expect("payload");
        let spec = ChaincodeInvocationSpec::decode(none.input.as_slice()).expect("spec");
        assert!(
            spec.chaincode_spec
                .and_then(|s| s.input)
                .is_some_and(|i| i.args.is_empty() && i.is_init)
        );
    }

    #[test]
    fn an_empty_collection_package_is_no_collections() {
        assert!(collections_bytes(None).is_empty());
        assert!(collections_bytes(Some(CollectionConfigPackage::default())).is_empty());
        assert_eq!(collections_arg(&[]).expect("empty"), None);
        let rejected = ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "Init".into(),
            status: 500,
            message: "chaincode 'counter' is already initialized but called as init".into(),
        };
        assert!(already_initialized(&rejected));
    }
}
