//! The install step: the package onto every peer that lacks it, built once
//! by fabdev's warm builder ([`crate::image`]) and placed in each peer's
//! daemon, or built by the first peer and handed to the others, or built
//! by every peer.

use std::time::Instant;

use network::channel::{ChannelError, PeerClient};

use super::{
    CALL_TIMEOUT, ChannelAdmins, DeploySpec, INSTALL_TIMEOUT, LifecycleError, LifecycleEvent,
    NETWORK_ID, chaincode_image_name,
};
use crate::image::{
    ImageBuildError, PeerImageError, PeerImages, WarmBuilder, lacking, node, package_parts,
    seed_runtime,
};
use crate::join::futures_join_all;

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
        match build_once(images, builder, spec, &missing, &mut *on_event).await {
            Ok(done) => warm = Some(done),
            Err(e) if e.is_build_failure() => {
                return Err(LifecycleError::Build {
                    name: spec.name.clone(),
                    source: Box::new(e),
                });
            }
            Err(e) => on_event(LifecycleEvent::NotBuilt {
                reason: cluster::errors::one_line(&e),
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
        failures.push(cluster::errors::one_line(&e));
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

/// Build `spec`'s package once with `builder`, make each missing peer's
/// image in its daemon from it, then install on those peers in parallel
/// (each finds its image and builds nothing; a peer whose image could not
/// be made builds itself). Returns each install's result, as
/// `lifecycle::install_all` reports them; an error when the build did
/// not run or failed.
async fn build_once(
    images: &dyn PeerImages,
    builder: &WarmBuilder,
    spec: &DeploySpec,
    missing: &[&PeerClient],
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<Vec<Result<String, ChannelError>>, ImageBuildError> {
    let parts = package_parts(&spec.package)?;
    if parts.fabric_type == "NODE" {
        node::place_node(images, builder, &parts, &spec.package_id, missing, on_event).await?;
        return Ok(install_placed(spec, missing).await);
    }
    // Which daemons lack what Go chaincode runs on (`up` copies it only
    // for the languages fabdev.yaml declares), asked while it compiles.
    let runtime = &builder.images().baseos;
    let (built, lacking) = tokio::join!(
        builder.build(&spec.package),
        lacking(images, missing, runtime)
    );
    let built = built?;
    seed_runtime(images, runtime, lacking, on_event)
        .await
        .map_err(ImageBuildError::Runtime)?;
    on_event(LifecycleEvent::Built {
        bytes: built.output_bytes,
        took: built.took,
    });
    let context = &built.context;
    let placed = futures_join_all(
        missing
            .iter()
            .map(|c| async move {
                let start = Instant::now();
                let name = chaincode_image_name(NETWORK_ID, c.node(), &spec.package_id);
                let ok = images.build_image(c.node(), &name, context).await.is_ok();
                ok.then(|| start.elapsed())
            })
            .collect(),
    )
    .await;
    crate::image::report_placed(missing, &placed, on_event);
    Ok(install_placed(spec, missing).await)
}

/// Install on the missing peers in parallel (a peer whose image was not
/// placed builds it itself).
async fn install_placed(
    spec: &DeploySpec,
    missing: &[&PeerClient],
) -> Vec<Result<String, ChannelError>> {
    futures_join_all(
        missing
            .iter()
            .map(|c| async move {
                c.install(spec.package.clone(), INSTALL_TIMEOUT).await?;
                Ok(c.node().to_string())
            })
            .collect(),
    )
    .await
}
