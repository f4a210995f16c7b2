//! The Fabric 2.x chaincode lifecycle, driven to "committed and answering":
//! install on every peer of the channel's orgs (skipping peers that have the
//! package), approve for each org (skipping orgs whose approval matches),
//! commit (skipping a definition that is committed already), then the
//! chaincode answers through the Gateway.
//!
//! What to do is decided by pure functions over what the peers report
//! ([`target`], [`approval_needed`]), so a re-run does only what is missing
//! (an unchanged chaincode is a no-op; a half-done deploy is completed) and a
//! changed one is an upgrade at the next sequence. No user types a sequence
//! number. The Fabric calls go through `network::channel::PeerClient`.

use std::collections::BTreeMap;
use std::time::Duration;

use network::channel::{Approval, ChannelError, Committed, Definition, Endpoints, PeerClient};
use network::pki::{ADMIN, CryptoDir};
use network::policy::{self, EndorsementPolicy};
use network::spec::Chaincode;
use network::{Node, Topology, Workspace};

/// Deadline of one query or of one ordered transaction.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Deadline of one install: the peer builds the chaincode before it answers.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// A boxed future, for [`PeerImages`].
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Access to the peers' own Docker daemons, so that a chaincode is built
/// once: the first peer's install builds the image, and every other peer
/// gets that image under the name it looks for, so its install finds it
/// and skips the build (the Docker builder inspects the image first).
pub trait PeerImages: Sync {
    /// Copy `image` from `from_peer`'s daemon into `to_peer`'s, named
    /// `as_name` there. An error is reported and that peer builds itself.
    fn copy_image<'a>(
        &'a self,
        from_peer: &'a str,
        to_peer: &'a str,
        image: &'a str,
        as_name: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The network ID peers use in image names (`peer.networkId`, default).
pub const NETWORK_ID: &str = "dev";

/// The name a peer's Docker daemon gives a chaincode's container:
/// `<network>-<peer>-<package ID>` with every character outside
/// `[a-zA-Z0-9-_.]` (the package ID's `:` among them) as `-` (Fabric's
/// `GetVMName`). Also a prefix: `chaincode_container_name(n, p, "basic_")`
/// starts the name of every package labelled `basic_…`.
pub fn chaincode_container_name(network_id: &str, peer_id: &str, package_id: &str) -> String {
    format!("{network_id}-{peer_id}-{package_id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The image name a peer's Docker builder gives (and looks for) a package:
/// `<network>-<peer>-<package ID>` with `:` as `-`, other characters outside
/// `[a-zA-Z0-9-_.]` as `-`, lower-cased, then `-<sha256 hex of that name>`
/// (Fabric's `GetVMNameForDocker`).
pub fn chaincode_image_name(network_id: &str, peer_id: &str, package_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let name = format!("{network_id}-{peer_id}-{package_id}").replace(':', "-");
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let sanitized = chaincode_container_name(network_id, peer_id, package_id);
    format!("{sanitized}-{hash}").to_ascii_lowercase()
}

/// What to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySpec {
    pub name: String,
    pub channel: String,
    /// The package file's bytes and its ID (`label:sha256`).
    pub package: Vec<u8>,
    pub package_id: String,
    pub init_required: bool,
    /// The function and arguments of the `Init` transaction (with
    /// `init_required`); empty: none.
    pub init_args: Vec<String>,
    /// The definition's validation parameter: the encoded endorsement
    /// policy (the channel's `/Channel/Application/Endorsement` when
    /// fabdev.yaml names none).
    pub validation_parameter: Vec<u8>,
    /// The encoded collections; empty when there are none.
    pub collections: Vec<u8>,
}

impl DeploySpec {
    /// A package to deploy on `channel` with the channel's endorsement
    /// policy, no collections and no Init.
    pub fn plain(name: &str, channel: &str, package: Vec<u8>, package_id: String) -> DeploySpec {
        DeploySpec {
            name: name.to_string(),
            channel: channel.to_string(),
            package,
            package_id,
            init_required: false,
            init_args: Vec::new(),
            validation_parameter: EndorsementPolicy::default_validation_parameter(),
            collections: Vec::new(),
        }
    }

    /// A package of a chaincode as fabdev.yaml declares it: its channel,
    /// endorsement policy, collections and Init.
    pub fn of(cc: &Chaincode, package: Vec<u8>, package_id: String) -> DeploySpec {
        DeploySpec {
            init_required: cc.init_required,
            init_args: cc.init_args.clone(),
            validation_parameter: cc.endorsement.as_ref().map_or_else(
                EndorsementPolicy::default_validation_parameter,
                EndorsementPolicy::validation_parameter,
            ),
            collections: cc.collections.as_ref().map_or_else(Vec::new, |c| {
                network::fabric::encode(&policy::collection_package(&c.collections))
            }),
            ..DeploySpec::plain(&cc.name, &cc.channel, package, package_id)
        }
    }

    /// The definition of this package at `sequence`.
    pub fn definition(&self, sequence: i64) -> Definition {
        Definition {
            name: self.name.clone(),
            version: version_of(&self.package_id),
            sequence,
            init_required: self.init_required,
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
        }
    }
}

/// Progress of [`deploy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    Installing {
        peer: String,
    },
    Installed {
        peer: String,
    },
    AlreadyInstalled {
        peer: String,
    },
    Approving {
        org: String,
        sequence: i64,
    },
    Approved {
        org: String,
        sequence: i64,
    },
    AlreadyApproved {
        org: String,
        sequence: i64,
    },
    Committing {
        sequence: i64,
    },
    Committed {
        sequence: i64,
    },
    AlreadyCommitted {
        sequence: i64,
    },
    Initializing {
        sequence: i64,
    },
    Initialized {
        sequence: i64,
        transaction_id: String,
    },
    AlreadyInitialized {
        sequence: i64,
    },
}

/// What [`deploy`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployReport {
    pub package_id: String,
    pub version: String,
    pub sequence: i64,
    /// Peers that got the package now.
    pub installed: Vec<String>,
    /// Orgs that approved now.
    pub approved: Vec<String>,
    /// Whether the definition was committed now.
    pub committed: bool,
    /// Whether the chaincode's `Init` ran now.
    pub initialized: bool,
}

impl DeployReport {
    /// Nothing was installed, approved, committed or initialised: the
    /// chaincode was deployed as it is already.
    pub fn unchanged(&self) -> bool {
        self.installed.is_empty()
            && self.approved.is_empty()
            && !self.committed
            && !self.initialized
    }
}

/// Errors of the lifecycle; each names the peer or org and the cause.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("channel `{channel}` is not in the workspace")]
    UnknownChannel { channel: String },
    #[error("org `{org}` has no peer on channel `{channel}`")]
    NoPeer { org: String, channel: String },
    #[error(
        "org `{org}` is not in the workspace (its orgs: {known})\n  hint: pass one of those to --org"
    )]
    UnknownOrg { org: String, known: String },
    /// A `--user` the caller's org does not have.
    #[error(transparent)]
    Identity(#[from] network::pki::identity::IdentityError),
    #[error(transparent)]
    Peer(#[from] ChannelError),
    #[error(
        "{name} is not installed on every peer:{}\n  hint: {}",
        failures.iter().map(|e| format!("\n  - {e}")).collect::<String>(),
        if installed.is_empty() {
            "fix the cause and run `fabdev chaincode deploy` again".to_string()
        } else {
            format!("installed now on {}; once the cause is fixed, `fabdev chaincode deploy` installs it where it is missing and goes on", installed.join(", "))
        }
    )]
    NotInstalled {
        name: String,
        /// The peers that got the package.
        installed: Vec<String>,
        /// Each peer's failure (each names its peer).
        failures: Vec<String>,
    },
    #[error(
        "not every peer of channel `{channel}` can be reached:{}\n  hint: start the peer (or fix its endpoint) and run `fabdev chaincode deploy` again; it goes on where this one stopped",
        failures.iter().map(|e| format!("\n  - {e}")).collect::<String>()
    )]
    Unreachable {
        channel: String,
        /// Each peer's failure (each names its peer).
        failures: Vec<String>,
    },
    #[error(
        "Init of {name} on {channel} failed: {source}\n  hint: the chaincode's Init (the function given in `initArgs`) failed; fix it and run `fabdev chaincode deploy` again, which calls Init until it succeeds"
    )]
    Init {
        name: String,
        channel: String,
        #[source]
        source: Box<ChannelError>,
    },
    #[error(
        "{name} sequence {sequence} on {channel} cannot be committed: not approved by {missing}\n  hint: run `fabdev chaincode deploy` again to approve for every org"
    )]
    NotApproved {
        name: String,
        channel: String,
        sequence: i64,
        missing: String,
    },
}

impl LifecycleError {
    /// Whether the user can fix it in the command line or fabdev.yaml (an
    /// org or channel that is not in the workspace).
    pub fn is_bad_input(&self) -> bool {
        match self {
            LifecycleError::UnknownOrg { .. } | LifecycleError::UnknownChannel { .. } => true,
            LifecycleError::Identity(e) => e.is_bad_input(),
            _ => false,
        }
    }
}

/// The version fabdev gives a package: the first 12 hex digits of its
/// hash, so that a changed package is a new version without anyone naming
/// one.
pub fn version_of(package_id: &str) -> String {
    let hash = package_id.rsplit_once(':').map_or(package_id, |(_, h)| h);
    hash.chars().take(12).collect()
}

/// The definition to reach, from what the channel has committed and what
/// this org approved at that sequence: the committed sequence again when it
/// already is this definition (same package, version, Init, endorsement
/// policy and collections), else the next one. A changed policy alone is
/// an upgrade that needs no new install.
pub fn target(
    spec: &DeploySpec,
    committed: Option<&Committed>,
    approved_at_committed: Option<&Approval>,
) -> Definition {
    let sequence = match committed {
        None => 1,
        Some(c) => {
            let want = spec.definition(c.definition.sequence);
            let same = c.definition == want
                && approved_at_committed.is_some_and(|a| {
                    a.definition == want
                        && a.package_id.as_deref() == Some(spec.package_id.as_str())
                });
            if same {
                c.definition.sequence
            } else {
                c.definition.sequence + 1
            }
        }
    };
    spec.definition(sequence)
}

/// Whether an org must approve `def` with `package_id`, given its current
/// approval at that sequence.
pub fn approval_needed(current: Option<&Approval>, def: &Definition, package_id: &str) -> bool {
    !current.is_some_and(|a| &a.definition == def && a.package_id.as_deref() == Some(package_id))
}

/// The orgs of a channel and their peers.
fn channel_peers<'a>(
    ws: &'a Workspace,
    topo: &'a Topology,
    channel: &str,
) -> Result<Vec<(&'a str, Vec<&'a Node>)>, LifecycleError> {
    let spec = ws
        .channel(channel)
        .ok_or_else(|| LifecycleError::UnknownChannel {
            channel: channel.to_string(),
        })?;
    spec.orgs
        .iter()
        .map(|org| {
            let peers: Vec<&Node> = topo.peers_of(org).collect();
            if peers.is_empty() {
                Err(LifecycleError::NoPeer {
                    org: org.clone(),
                    channel: channel.to_string(),
                })
            } else {
                Ok((org.as_str(), peers))
            }
        })
        .collect()
}

fn endpoint<'a>(
    endpoints: &'a Endpoints,
    node: &Node,
) -> Result<&'a network::channel::NodeEndpoint, ChannelError> {
    endpoints
        .get(&node.name)
        .ok_or_else(|| ChannelError::NoEndpoint {
            node: node.name.clone(),
            what: "network",
        })
}

/// Connect to a peer as its org's user.
pub async fn connect(
    node: &Node,
    endpoints: &Endpoints,
    crypto: &CryptoDir,
    user: &str,
) -> Result<PeerClient, ChannelError> {
    PeerClient::connect(node, endpoint(endpoints, node)?, crypto, user, CALL_TIMEOUT).await
}

/// One admin connection to every peer of a channel's orgs, by org (in the
/// channel's order): what the lifecycle steps act through. A peer that
/// cannot be reached is kept as its error: [`install_all`] installs on the
/// others and names it; the steps after it need every peer.
#[derive(Debug)]
pub struct ChannelAdmins {
    channel: String,
    orgs: Vec<(String, Vec<PeerClient>)>,
    unreachable: Vec<ChannelError>,
}

impl ChannelAdmins {
    /// Connect as each org's admin to every peer of `channel`'s orgs.
    pub async fn connect(
        ws: &Workspace,
        topo: &Topology,
        crypto: &CryptoDir,
        endpoints: &Endpoints,
        channel: &str,
    ) -> Result<ChannelAdmins, LifecycleError> {
        let orgs = channel_peers(ws, topo, channel)?;
        let mut out = Vec::new();
        let mut unreachable = Vec::new();
        for (org, peers) in &orgs {
            let mut conns = Vec::new();
            for p in peers {
                match connect(p, endpoints, crypto, ADMIN).await {
                    Ok(c) => conns.push(c),
                    Err(e) => unreachable.push(e),
                }
            }
            out.push((org.to_string(), conns));
        }
        // Nothing to act through at all: that is the error.
        if out.iter().all(|(_, c)| c.is_empty()) && !unreachable.is_empty() {
            return Err(unreachable.swap_remove(0).into());
        }
        Ok(ChannelAdmins {
            channel: channel.to_string(),
            orgs: out,
            unreachable,
        })
    }

    /// The peers that could not be reached, each with its cause.
    pub fn unreachable(&self) -> &[ChannelError] {
        &self.unreachable
    }

    /// Every peer of the channel is connected, or the unreachable ones as
    /// an error.
    fn require_all(&self) -> Result<(), LifecycleError> {
        if self.unreachable.is_empty() {
            return Ok(());
        }
        Err(LifecycleError::Unreachable {
            channel: self.channel.clone(),
            failures: self.unreachable.iter().map(|e| e.to_string()).collect(),
        })
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Every peer's connection, org by org.
    pub fn peers(&self) -> impl Iterator<Item = &PeerClient> {
        self.orgs.iter().flat_map(|(_, c)| c)
    }

    /// The first peer of the channel's first org: where queries go.
    fn first(&self) -> Result<&PeerClient, LifecycleError> {
        self.require_all()?;
        self.peers().next().ok_or_else(|| LifecycleError::NoPeer {
            org: String::new(),
            channel: self.channel.clone(),
        })
    }

    /// Each org and its first peer.
    fn org_peers(&self) -> impl Iterator<Item = (&str, &PeerClient)> {
        self.orgs
            .iter()
            .filter_map(|(o, c)| c.first().map(|c| (o.as_str(), c)))
    }
}

/// The definition a deploy reaches, and what the channel has committed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub definition: Definition,
    /// The sequence committed on the channel now, if any.
    pub committed_sequence: Option<i64>,
}

impl Planned {
    /// Whether the definition is committed already.
    pub fn is_committed(&self) -> bool {
        self.committed_sequence == Some(self.definition.sequence)
    }
}

/// Install the package on every peer that lacks it (in parallel; with
/// `images`, built once on the first such peer and handed to the others).
/// A peer that cannot be asked or fails its install does not stop the
/// others: they get the package, and the failures are reported together
/// ([`LifecycleError::NotInstalled`], naming each peer and its cause), so
/// the next deploy installs only where it is still missing. Returns the
/// peers that got it now.
pub async fn install_all(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    images: Option<&dyn PeerImages>,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<Vec<String>, LifecycleError> {
    let mut failures: Vec<String> = admins.unreachable().iter().map(|e| e.to_string()).collect();
    let mut missing = Vec::new();
    for c in admins.peers() {
        match c.installed(CALL_TIMEOUT).await {
            Ok(have) if have.iter().any(|i| i.package_id == spec.package_id) => {
                on_event(LifecycleEvent::AlreadyInstalled {
                    peer: c.node().to_string(),
                });
            }
            Ok(_) => missing.push(c),
            Err(e) => failures.push(e.to_string()),
        }
    }
    for c in &missing {
        on_event(LifecycleEvent::Installing {
            peer: c.node().to_string(),
        });
    }
    async fn install_one(c: &PeerClient, package: &[u8]) -> Result<String, ChannelError> {
        c.install(package.to_vec(), INSTALL_TIMEOUT).await?;
        Ok(c.node().to_string())
    }
    let install = |c| install_one(c, &spec.package);
    let done: Vec<Result<String, ChannelError>> = match (images, missing.split_first()) {
        // Build once on the first peer, then hand the image to the others.
        (Some(images), Some((builder, rest))) if !rest.is_empty() => {
            let first = install(builder).await;
            let built = first.is_ok();
            let mut done = vec![first];
            let copies = rest.iter().map(|c| async {
                if built {
                    let from = chaincode_image_name(NETWORK_ID, builder.node(), &spec.package_id);
                    let to = chaincode_image_name(NETWORK_ID, c.node(), &spec.package_id);
                    // A failed copy only costs that peer its own build.
                    let _ = images
                        .copy_image(builder.node(), c.node(), &from, &to)
                        .await;
                }
                install(c).await
            });
            done.extend(futures_join_all(copies.collect()).await);
            done
        }
        _ => futures_join_all(missing.iter().map(|c| install(c)).collect()).await,
    };
    let mut installed = Vec::new();
    for r in done {
        match r {
            Ok(peer) => {
                installed.push(peer.clone());
                on_event(LifecycleEvent::Installed { peer });
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(installed)
    } else {
        Err(LifecycleError::NotInstalled {
            name: spec.name.clone(),
            installed,
            failures,
        })
    }
}

/// The definition to reach (see [`target`]), from what the channel's first
/// peer reports.
pub async fn plan(admins: &ChannelAdmins, spec: &DeploySpec) -> Result<Planned, LifecycleError> {
    let first = admins.first()?;
    let committed = first
        .committed(&spec.channel, &spec.name, CALL_TIMEOUT)
        .await?;
    let approved_at_committed = match &committed {
        Some(c) => {
            first
                .approval(
                    &spec.channel,
                    &spec.name,
                    c.definition.sequence,
                    CALL_TIMEOUT,
                )
                .await?
        }
        None => None,
    };
    Ok(Planned {
        definition: target(spec, committed.as_ref(), approved_at_committed.as_ref()),
        committed_sequence: committed.map(|c| c.definition.sequence),
    })
}

/// Approve `def` for each org of the channel whose approval differs.
/// Returns the orgs that approved now.
pub async fn approve_all(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    def: &Definition,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<Vec<String>, LifecycleError> {
    admins.require_all()?;
    // What each org approved, asked of all at once.
    let orgs: Vec<(&str, &PeerClient)> = admins.org_peers().collect();
    let current = futures_join_all(
        orgs.iter()
            .map(|(_, c)| c.approval(&spec.channel, &spec.name, def.sequence, CALL_TIMEOUT))
            .collect(),
    )
    .await;
    let mut needed = Vec::new();
    for ((org, c), current) in orgs.iter().zip(current) {
        if approval_needed(current?.as_ref(), def, &spec.package_id) {
            on_event(LifecycleEvent::Approving {
                org: org.to_string(),
                sequence: def.sequence,
            });
            needed.push((org.to_string(), *c));
        } else {
            on_event(LifecycleEvent::AlreadyApproved {
                org: org.to_string(),
                sequence: def.sequence,
            });
        }
    }
    // The approvals that are missing, submitted together: they write
    // different orgs' keys, so they go into one block and cost one
    // BatchTimeout, not one each.
    let results = futures_join_all(
        needed
            .iter()
            .map(|(_, c)| c.approve(&spec.channel, def, &spec.package_id, CALL_TIMEOUT))
            .collect(),
    )
    .await;
    let mut approved = Vec::new();
    for ((org, _), r) in needed.into_iter().zip(results) {
        r?;
        on_event(LifecycleEvent::Approved {
            org: org.clone(),
            sequence: def.sequence,
        });
        approved.push(org);
    }
    Ok(approved)
}

/// Commit the planned definition unless it is committed already; an
/// org that has not approved it is [`LifecycleError::NotApproved`].
/// Returns whether it was committed now.
pub async fn commit_definition(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    planned: &Planned,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<bool, LifecycleError> {
    let def = &planned.definition;
    if planned.is_committed() {
        on_event(LifecycleEvent::AlreadyCommitted {
            sequence: def.sequence,
        });
        return Ok(false);
    }
    let first = admins.first()?;
    let readiness = first.readiness(&spec.channel, def, CALL_TIMEOUT).await?;
    let missing: Vec<&String> = readiness
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(m, _)| m)
        .collect();
    if !missing.is_empty() {
        return Err(LifecycleError::NotApproved {
            name: spec.name.clone(),
            channel: spec.channel.clone(),
            sequence: def.sequence,
            missing: missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    on_event(LifecycleEvent::Committing {
        sequence: def.sequence,
    });
    let others: Vec<&PeerClient> = admins.org_peers().skip(1).map(|(_, c)| c).collect();
    first
        .commit(&spec.channel, def, &others, CALL_TIMEOUT)
        .await?;
    on_event(LifecycleEvent::Committed {
        sequence: def.sequence,
    });
    Ok(true)
}

/// Deploy a chaincode on its channel: install, approve, commit, each only
/// where missing ([`install_all`], [`plan`], [`approve_all`],
/// [`commit_definition`]).
pub async fn deploy(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    spec: &DeploySpec,
    images: Option<&dyn PeerImages>,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<DeployReport, LifecycleError> {
    let admins = ChannelAdmins::connect(ws, topo, crypto, endpoints, &spec.channel).await?;
    let installed = install_all(&admins, spec, images, on_event).await?;
    let planned = plan(&admins, spec).await?;
    let approved = approve_all(&admins, spec, &planned.definition, on_event).await?;
    let committed = commit_definition(&admins, spec, &planned, on_event).await?;
    let initialized = matches!(
        init(&admins, spec, &planned, on_event).await?,
        InitOutcome::Initialized { .. }
    );
    Ok(DeployReport {
        package_id: spec.package_id.clone(),
        version: planned.definition.version.clone(),
        sequence: planned.definition.sequence,
        installed,
        approved,
        committed,
        initialized,
    })
}

/// What [`init`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitOutcome {
    /// The chaincode does not require `Init`.
    NotRequired,
    /// `Init` ran now, in this transaction.
    Initialized { transaction_id: String },
    /// The chaincode was initialised at this version already; the peer
    /// refused the `Init` before running the chaincode.
    AlreadyInitialized,
}

/// Call the chaincode's `Init` once, when its definition requires it
/// (`init_required`), as the channel's first org's admin through the
/// Gateway. Whether it ran already is the ledger's to say: the peer keeps
/// the version `Init` ran at and refuses a second `Init` of that version
/// before the chaincode runs ([`network::channel::already_initialized`]),
/// so a re-deploy never runs it again and a deploy whose `Init` failed runs
/// it on the next try. An upgrade to a new version runs it again (Fabric
/// requires that); a changed policy alone keeps the version and does not.
pub async fn init(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    planned: &Planned,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<InitOutcome, LifecycleError> {
    if !spec.init_required {
        return Ok(InitOutcome::NotRequired);
    }
    let sequence = planned.definition.sequence;
    let first = admins.first()?;
    let args: Vec<Vec<u8>> = spec
        .init_args
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    on_event(LifecycleEvent::Initializing { sequence });
    // As for invoke: right after a commit the Gateway's discovery may not
    // know yet that the other orgs' peers run the chaincode.
    let deadline = std::time::Instant::now() + DISCOVERY_TIMEOUT;
    loop {
        match first
            .submit_init(&spec.channel, &spec.name, &args, CALL_TIMEOUT)
            .await
        {
            Err(e) if endorsers_not_known_yet(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) if network::channel::already_initialized(&e) => {
                on_event(LifecycleEvent::AlreadyInitialized { sequence });
                return Ok(InitOutcome::AlreadyInitialized);
            }
            Err(e) => {
                return Err(LifecycleError::Init {
                    name: spec.name.clone(),
                    channel: spec.channel.clone(),
                    source: Box::new(e),
                });
            }
            Ok(s) => {
                on_event(LifecycleEvent::Initialized {
                    sequence,
                    transaction_id: s.transaction_id.clone(),
                });
                return Ok(InitOutcome::Initialized {
                    transaction_id: s.transaction_id,
                });
            }
        }
    }
}

/// Await every future (concurrently, on this task), results in order.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Who sends a transaction: an org's user (default Org1's User1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org: String,
    pub user: String,
}

/// The peer a caller talks to: its org's first peer. An org that is not in
/// the workspace is [`LifecycleError::UnknownOrg`], naming the known ones.
pub fn caller_peer<'a>(
    ws: &'a Workspace,
    topo: &'a Topology,
    caller: &Caller,
) -> Result<&'a Node, LifecycleError> {
    let org = ws
        .orgs
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(&caller.org))
        .ok_or_else(|| LifecycleError::UnknownOrg {
            org: caller.org.clone(),
            known: ws
                .orgs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    topo.peers_of(&org.name)
        .next()
        .ok_or_else(|| LifecycleError::NoPeer {
            org: org.name.clone(),
            channel: String::new(),
        })
}

/// Submit a transaction (endorse, order, wait for commit) as `caller`.
#[allow(clippy::too_many_arguments)]
pub async fn invoke(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    caller: &Caller,
    channel: &str,
    name: &str,
    function: &str,
    args: &[String],
    transient: &BTreeMap<String, Vec<u8>>,
) -> Result<network::channel::Submitted, LifecycleError> {
    let peer = caller_peer(ws, topo, caller)?;
    // A user the org does not have: bad input naming the ones it has.
    network::pki::identity::check_user(ws, crypto, &peer.org, &caller.user)?;
    let c = connect(peer, endpoints, crypto, &caller.user).await?;
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    // Right after a deploy the Gateway's discovery may not know yet that
    // the other orgs' peers run the chaincode (gossip spreads it within
    // seconds): nothing was submitted then, so ask again until it does.
    let deadline = std::time::Instant::now() + DISCOVERY_TIMEOUT;
    loop {
        match c
            .submit(channel, name, function, &args, transient, CALL_TIMEOUT)
            .await
        {
            Err(e) if endorsers_not_known_yet(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            r => return Ok(r?),
        }
    }
}

/// How long `invoke` waits for the Gateway's discovery to know peers that
/// satisfy the endorsement policy.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Gateway's answer when its discovery knows no set of peers that
/// satisfies the chaincode's endorsement policy (yet): the proposal was not
/// endorsed, so nothing reached the orderer.
pub fn endorsers_not_known_yet(e: &ChannelError) -> bool {
    matches!(e, ChannelError::PeerRejected { message, .. }
        if message.contains("no combination of peers can be derived")
            || message.contains("no peer combination can satisfy"))
}

/// Evaluate a transaction function (a query) as `caller`.
#[allow(clippy::too_many_arguments)]
pub async fn query(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    caller: &Caller,
    channel: &str,
    name: &str,
    function: &str,
    args: &[String],
) -> Result<Vec<u8>, LifecycleError> {
    let peer = caller_peer(ws, topo, caller)?;
    // A user the org does not have: bad input naming the ones it has.
    network::pki::identity::check_user(ws, crypto, &peer.org, &caller.user)?;
    let c = connect(peer, endpoints, crypto, &caller.user).await?;
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    Ok(c.evaluate(channel, name, function, &args, CALL_TIMEOUT)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> DeploySpec {
        DeploySpec::plain("basic", "mychannel", vec![], id.into())
    }

    fn def(seq: i64, version: &str) -> Definition {
        Definition {
            name: "basic".into(),
            version: version.into(),
            sequence: seq,
            init_required: false,
            validation_parameter: EndorsementPolicy::default_validation_parameter(),
            collections: vec![],
        }
    }

    fn committed(seq: i64, version: &str) -> Committed {
        Committed {
            definition: def(seq, version),
            approvals: BTreeMap::new(),
        }
    }

    fn approval(seq: i64, version: &str, pkg: &str) -> Approval {
        Approval {
            definition: def(seq, version),
            package_id: Some(pkg.into()),
        }
    }

    /// A chaincode of fabdev.yaml with these extra fields.
    fn declared(extra: &str) -> Chaincode {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("package.json"), "{}").expect("package.json");
        std::fs::write(
            dir.path().join("pdc.json"),
            r#"[{"name":"secret","policy":"OR('Org1MSP.member')"}]"#,
        )
        .expect("pdc.json");
        let text = format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nchaincodes:\n  - {{ name: basic, path: ., {extra} }}\n"
        );
        let ws = Workspace::parse(&text, &dir.path().join("fabdev.yaml"), dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        ws.chaincodes[0].clone()
    }

    #[test]
    fn a_changed_policy_or_collection_is_the_next_sequence_with_the_same_package() {
        let id = "b:aaaaaaaaaaaaaaaa";
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", id);
        // Declared with no policy: the channel's Endorsement policy, as committed.
        let plain = DeploySpec::of(&declared("lang: node"), vec![], id.into());
        assert_eq!(plain, spec(id));
        assert_eq!(target(&plain, Some(&c), Some(&a)).sequence, 3);
        for extra in [
            "signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"",
            "channelConfigPolicy: /Channel/Application/Readers",
            "collections: pdc.json",
            "initRequired: true",
        ] {
            let s = DeploySpec::of(&declared(extra), vec![], id.into());
            let d = target(&s, Some(&c), Some(&a));
            assert_eq!(
                (d.sequence, d.version.as_str()),
                (4, "aaaaaaaaaaaa"),
                "{extra}"
            );
            // Every org approves the new definition, though the package is the same.
            assert!(approval_needed(Some(&a), &d, id), "{extra}");
            // Once committed as declared, it is unchanged.
            let now = Committed {
                definition: d.clone(),
                approvals: BTreeMap::new(),
            };
            let approved = Approval {
                definition: d.clone(),
                package_id: Some(id.into()),
            };
            assert_eq!(
                target(&s, Some(&now), Some(&approved)).sequence,
                4,
                "{extra}"
            );
            assert!(!approval_needed(Some(&approved), &d, id));
        }
    }

    #[test]
    fn declared_policies_are_encoded_into_the_definition() {
        use network::fabric::{Message as _, peer};
        let s = DeploySpec::of(
            &declared(
                "signaturePolicy: \"OR('Org1MSP.peer')\", collections: pdc.json, initRequired: true, initArgs: [InitLedger, x]",
            ),
            vec![],
            "b:aa".into(),
        );
        let p = peer::ApplicationPolicy::decode(s.validation_parameter.as_slice()).expect("policy");
        assert!(matches!(
            p.r#type,
            Some(peer::application_policy::Type::SignaturePolicy(_))
        ));
        let c =
            peer::CollectionConfigPackage::decode(s.collections.as_slice()).expect("collections");
        assert_eq!(c.config.len(), 1);
        assert!(s.init_required);
        assert_eq!(s.init_args, ["InitLedger", "x"]);
        let d = s.definition(1);
        assert_eq!(
            (d.validation_parameter, d.collections),
            (s.validation_parameter, s.collections)
        );
    }

    #[test]
    fn image_names_as_the_peer_makes_them() {
        // Seen in a real 2.5.14 peer's build error.
        assert_eq!(
            chaincode_image_name(
                "dev",
                "peer0-org1",
                "basic_1:f5f924900a6507c136ac1bb2679257b341f6e5937df03b560e533c70464c6a15"
            ),
            "dev-peer0-org1-basic_1-f5f924900a6507c136ac1bb2679257b341f6e5937df03b560e533c70464c6a15-\
             bf26c897bf656d6a68b944ecda7297c5843321f71db3ad1a9f5af4bd425062b2"
        );
        assert_eq!(chaincode_image_name("dev", "Peer0", "A b:1"), {
            use sha2::{Digest, Sha256};
            format!(
                "dev-peer0-a-b-1-{}",
                hex::encode(Sha256::digest(b"dev-Peer0-A b-1"))
            )
        });
    }

    #[test]
    fn only_an_unsatisfied_endorsement_plan_is_asked_again() {
        let rejected = |message: &str| ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "basic F on mychannel".into(),
            status: 500,
            message: message.into(),
        };
        // Seen from a Fabric 3.1.5 Gateway right after a commit.
        assert!(endorsers_not_known_yet(&rejected(
            "no combination of peers can be derived which satisfy the endorsement policy: no peer combination can satisfy the endorsement policy"
        )));
        assert!(!endorsers_not_known_yet(&rejected(
            "chaincode response 500, asset nope does not exist"
        )));
    }

    #[test]
    fn versions_come_from_the_package_hash() {
        assert_eq!(version_of("basic_1:0123456789abcdef0123"), "0123456789ab");
    }

    #[test]
    fn first_deploy_is_sequence_one() {
        let d = target(&spec("b:aaaaaaaaaaaaaaaa"), None, None);
        assert_eq!((d.sequence, d.version.as_str()), (1, "aaaaaaaaaaaa"));
    }

    #[test]
    fn unchanged_package_keeps_the_sequence() {
        let s = spec("b:aaaaaaaaaaaaaaaa");
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", "b:aaaaaaaaaaaaaaaa");
        assert_eq!(target(&s, Some(&c), Some(&a)).sequence, 3);
    }

    #[test]
    fn a_changed_package_is_the_next_sequence() {
        let s = spec("b:bbbbbbbbbbbbbbbb");
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", "b:aaaaaaaaaaaaaaaa");
        let d = target(&s, Some(&c), Some(&a));
        assert_eq!((d.sequence, d.version.as_str()), (4, "bbbbbbbbbbbb"));
        // This org never approved the committed definition: still an upgrade.
        assert_eq!(target(&s, Some(&c), None).sequence, 4);
    }

    #[test]
    fn approvals_are_skipped_only_when_they_match() {
        let d = def(2, "bbbbbbbbbbbb");
        let same = approval(2, "bbbbbbbbbbbb", "b:bbbb");
        assert!(!approval_needed(Some(&same), &d, "b:bbbb"));
        assert!(approval_needed(Some(&same), &d, "b:cccc"));
        assert!(approval_needed(None, &d, "b:bbbb"));
        let old = approval(2, "aaaaaaaaaaaa", "b:bbbb");
        assert!(approval_needed(Some(&old), &d, "b:bbbb"));
    }
}
