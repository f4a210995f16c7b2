//! The lifecycle's steps, one function each over a [`ChannelAdmins`]:
//! install, plan, approve, commit, init. fabdev runs them as named steps;
//! [`super::deploy`] composes them.

use network::channel::{ChannelError, Definition, PeerClient};

use super::call::while_endorsers_unknown;
use super::{
    BoxFuture, CALL_TIMEOUT, ChannelAdmins, DeploySpec, INSTALL_TIMEOUT, LifecycleError,
    LifecycleEvent, NETWORK_ID, Planned, approval_needed, chaincode_image_name, target,
};

/// A source error of a [`PeerImages`] implementation (a daemon's or a
/// network's own).
pub type ImageSource = Box<dyn std::error::Error + Send + Sync>;

/// Why a peer's daemon did not get or build an image. Reported, never
/// fatal: that peer builds the chaincode itself.
#[derive(Debug, thiserror::Error)]
pub enum PeerImageError {
    /// The network knows no Docker daemon of the peer.
    #[error("no Docker daemon of {peer}")]
    NoDaemon {
        peer: String,
        #[source]
        source: Option<ImageSource>,
    },
    #[error("cannot copy {image} from {from_peer}'s daemon to {to_peer}'s as {as_name}")]
    Copy {
        from_peer: String,
        to_peer: String,
        image: String,
        as_name: String,
        #[source]
        source: ImageSource,
    },
    #[error("cannot copy the builder image {image} into the daemons of {}", peers.join(", "))]
    Seed {
        image: String,
        peers: Vec<String>,
        #[source]
        source: ImageSource,
    },
    #[error("cannot build {as_name} in {peer}'s daemon")]
    Build {
        peer: String,
        as_name: String,
        #[source]
        source: Option<ImageSource>,
    },
}

impl PeerImageError {
    /// [`PeerImageError::NoDaemon`] of `peer`, caused by `source`.
    pub fn no_daemon(peer: &str, source: impl Into<ImageSource>) -> PeerImageError {
        PeerImageError::NoDaemon {
            peer: peer.to_string(),
            source: Some(source.into()),
        }
    }

    /// [`PeerImageError::Seed`] of the builder `image` into `peers`.
    pub fn seed(image: &str, peers: &[String], source: impl Into<ImageSource>) -> PeerImageError {
        PeerImageError::Seed {
            image: image.to_string(),
            peers: peers.to_vec(),
            source: source.into(),
        }
    }

    /// [`PeerImageError::Copy`] of `image` from `from_peer` to `to_peer`.
    pub fn copy(
        from_peer: &str,
        to_peer: &str,
        image: &str,
        as_name: &str,
        source: impl Into<ImageSource>,
    ) -> PeerImageError {
        PeerImageError::Copy {
            from_peer: from_peer.to_string(),
            to_peer: to_peer.to_string(),
            image: image.to_string(),
            as_name: as_name.to_string(),
            source: source.into(),
        }
    }

    /// [`PeerImageError::Build`] of `as_name` in `peer`'s daemon.
    pub fn build(peer: &str, as_name: &str, source: impl Into<ImageSource>) -> PeerImageError {
        PeerImageError::Build {
            peer: peer.to_string(),
            as_name: as_name.to_string(),
            source: Some(source.into()),
        }
    }
}

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
    ) -> BoxFuture<'a, Result<(), PeerImageError>>;

    /// fabdev's own warm builder ([`crate::image`]), when the chaincode is
    /// to be built once by fabdev and no peer builds it; `None` (the
    /// default): the first peer builds and the image is copied.
    fn warm_builder(&self) -> Option<&crate::image::WarmBuilder> {
        None
    }

    /// The builder and runtime images the peers build with, when the
    /// network seeds its peers' daemons (see [`PeerImages::seed_builder`]);
    /// `None` (the default): nothing to seed.
    fn builder_images(&self) -> Option<&crate::image::BuildImages> {
        None
    }

    /// Whether `peer`'s daemon has image `name` (the layer of a Node
    /// chaincode's installed dependencies, [`crate::image`]). `false` by
    /// default (and when the daemon cannot tell): the layer is made again.
    fn has_image<'a>(&'a self, peer: &'a str, name: &'a str) -> BoxFuture<'a, bool> {
        let _ = (peer, name);
        Box::pin(async { false })
    }

    /// Make sure the daemons of `peers` have the builder image `image`
    /// before they build the chaincode themselves (fabdev's warm build did
    /// not run), copying it where it is missing, with byte progress as
    /// [`LifecycleEvent::SeedProgress`]. Returns the peers that got it
    /// now. By default nothing is copied: the peers' daemons are the
    /// network's own and have their builders.
    fn seed_builder<'a>(
        &'a self,
        peers: &'a [String],
        image: &'a str,
        on_event: &'a mut (dyn FnMut(LifecycleEvent) + Send),
    ) -> BoxFuture<'a, Result<Seeded, PeerImageError>> {
        let _ = (peers, image, on_event);
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Build image `as_name` in `peer`'s daemon from a `docker build`
    /// context (see [`crate::image`]). An error is reported and that peer
    /// builds itself; by default a network cannot build in a peer's daemon
    /// ([`PeerImageError::Build`] with no source).
    fn build_image<'a>(
        &'a self,
        peer: &'a str,
        as_name: &'a str,
        context: &'a [u8],
    ) -> BoxFuture<'a, Result<(), PeerImageError>> {
        let _ = context;
        Box::pin(async move {
            Err(PeerImageError::Build {
                peer: peer.to_string(),
                as_name: as_name.to_string(),
                source: None,
            })
        })
    }
}

/// What [`PeerImages::seed_builder`] did: the peers whose daemon got the
/// image now.
pub type Seeded = Vec<String>;

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
    // fabdev's own warm build, placed in every peer's daemon.
    let mut warm = None;
    if let Some(images) = images
        && let Some(builder) = images.warm_builder()
        && !missing.is_empty()
    {
        match crate::image::build_once(images, builder, spec, &missing, &mut *on_event).await {
            Ok(done) => warm = Some(done),
            Err(e) if e.is_build_failure() => {
                return Err(LifecycleError::Build {
                    name: spec.name.clone(),
                    source: Box::new(e),
                });
            }
            Err(e) => on_event(LifecycleEvent::NotBuilt {
                reason: with_causes(&e),
            }),
        }
    }
    // The peers build themselves: their daemons need the builder image,
    // which `up` seeds only when fabdev's warm builder cannot build.
    if warm.is_none()
        && let Some(images) = images
        && !missing.is_empty()
        && let Err(e) = seed_builder(images, spec, &missing, &mut *on_event).await
    {
        failures.push(with_causes(&e));
    }
    let done: Vec<Result<String, ChannelError>> = match (warm, images, missing.split_first()) {
        (Some(done), _, _) => done,
        // Build once on the first peer, then hand the image to the others.
        (None, Some(images), Some((builder, rest))) if !rest.is_empty() => {
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

/// The builder image of `spec`'s chaincode type (and its runtime, where
/// missing) into the daemons of the `missing` peers (see [`PeerImages::seed_builder`]), announced with the
/// peers and timed. A package whose type fabdev does not know, or a
/// network without a builder's images, seeds nothing.
async fn seed_builder(
    images: &dyn PeerImages,
    spec: &DeploySpec,
    missing: &[&PeerClient],
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<(), PeerImageError> {
    let Some((image, runtime)) = images.builder_images().and_then(|b| {
        let parts = crate::image::package_parts(&spec.package).ok()?;
        let t = &parts.fabric_type;
        Some((b.builder_of_type(t)?.clone(), b.runtime_of_type(t)?.clone()))
    }) else {
        return Ok(());
    };
    // What the peers' image is made over (Go's runtime; Node's is its
    // builder), where `up` did not copy it.
    if runtime != image {
        let lacking = crate::image::lacking(images, missing, &runtime).await;
        crate::image::seed_runtime(images, &runtime, lacking, &mut *on_event).await?;
    }
    let peers: Vec<String> = missing.iter().map(|c| c.node().to_string()).collect();
    let start = std::time::Instant::now();
    on_event(LifecycleEvent::SeedingBuilder {
        image: image.clone(),
        peers: peers.clone(),
    });
    let copied = images.seed_builder(&peers, &image, &mut *on_event).await?;
    on_event(LifecycleEvent::BuilderSeeded {
        image,
        copied,
        took: start.elapsed(),
    });
    Ok(())
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
    match while_endorsers_unknown(|| {
        first.submit_init(&spec.channel, &spec.name, &args, CALL_TIMEOUT)
    })
    .await
    {
        Err(e) if network::channel::already_initialized(&e) => {
            on_event(LifecycleEvent::AlreadyInitialized { sequence });
            Ok(InitOutcome::AlreadyInitialized)
        }
        Err(e) => Err(LifecycleError::Init {
            name: spec.name.clone(),
            channel: spec.channel.clone(),
            source: Box::new(e),
        }),
        Ok(s) => {
            on_event(LifecycleEvent::Initialized {
                sequence,
                transaction_id: s.transaction_id.clone(),
            });
            Ok(InitOutcome::Initialized {
                transaction_id: s.transaction_id,
            })
        }
    }
}

/// An error and its causes on one line, for an event that carries a
/// reason as text.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Await every future (concurrently, on this task), results in order.
pub(crate) async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
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
