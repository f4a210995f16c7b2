//! A chaincode image built once and handed to the other peers: the peers'
//! DinD daemons as chaincode's `PeerImages`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chaincode::image::BuildImages;
use chaincode::lifecycle::{self, ImageSource, LifecycleEvent, PeerImageError, Seeded};
use cluster::dind::Dind;
use cluster::images::Daemon;

use crate::flow::context::{Target, kind_provider};
use crate::flow::{Connections, Context, FlowError};

/// The peers' DinD daemons of the workspace's cluster (through the run's
/// Kubernetes client), so that an install builds the chaincode once and
/// hands the image to the other peers; none without a cluster (an existing
/// cluster always is one).
pub(crate) async fn cluster_images(
    ctx: &Context,
    conn: &mut Connections,
) -> Result<Option<DindImages>, FlowError> {
    if !ctx.has_cluster() {
        return Ok(None);
    }
    let client = conn.client(ctx).await?;
    let dinds = ctx
        .topo
        .peers()
        .map(|p| {
            let label = format!("dind of {}", p.name);
            let dind = Dind::new(&client, &ctx.ws.name, &p.pod_name(), &label);
            (p.name.clone(), dind)
        })
        .collect();
    // The host's Docker builds once, warm, when it has the builder images;
    // else the first peer builds and the image is copied.
    let i = &ctx.ws.images;
    Ok(Some(DindImages {
        dinds,
        builder: warm_builder(ctx),
        images: BuildImages {
            ccenv: i.ccenv.clone(),
            baseos: i.baseos.clone(),
            nodeenv: i.nodeenv.clone(),
            peer_version: ctx.ws.fabric.release(),
        },
        seed_from: seed_source(ctx),
    }))
}

/// fabdev's warm builder: the host's Docker (none when it does not answer)
/// with the workspace's builder and runtime images.
pub(crate) fn warm_builder(ctx: &Context) -> Option<chaincode::image::WarmBuilder> {
    cluster::images::Daemon::connect_local().ok().map(|daemon| {
        let i = &ctx.ws.images;
        chaincode::image::WarmBuilder::new(
            daemon,
            chaincode::image::BuildImages {
                ccenv: i.ccenv.clone(),
                baseos: i.baseos.clone(),
                nodeenv: i.nodeenv.clone(),
                peer_version: ctx.ws.fabric.release(),
            },
        )
    })
}

/// The engine `up` pulled the images into, where a builder the peers lack
/// is copied from (the fallback when fabdev cannot build, see
/// `PeerImages::seed_builder`): kind's node provider on kind, the host's
/// Docker with an existing cluster. Why not, when there is no client for it.
fn seed_source(ctx: &Context) -> Result<Daemon, Arc<NoSeedSource>> {
    let daemon: Result<Daemon, ImageSource> = match ctx.target {
        Target::Kind => kind_provider(ctx)
            .map_err(ImageSource::from)
            .and_then(|c| cluster::provider::api(c.provider).map_err(ImageSource::from)),
        Target::Existing(_) => Daemon::connect_local().map_err(ImageSource::from),
    };
    daemon.map_err(|e| Arc::new(NoSeedSource(e)))
}

/// Why a builder the peers lack cannot be copied into their daemons.
#[derive(Debug, thiserror::Error)]
#[error("no client of the engine the images were pulled into")]
pub struct NoSeedSource(#[source] ImageSource);

/// [`lifecycle::PeerImages`] over the peers' DinD daemons: `docker save` in
/// one sidecar streamed into `docker load` in another.
#[derive(Debug)]
pub struct DindImages {
    pub dinds: BTreeMap<String, Dind>,
    /// fabdev's warm builder on the host's Docker (see `chaincode::image`);
    /// it builds when that Docker has the builder images.
    pub builder: Option<chaincode::image::WarmBuilder>,
    /// The peers' builder and runtime images.
    pub images: BuildImages,
    /// Where a builder the peers lack is copied from (see [`seed_source`]).
    pub seed_from: Result<Daemon, Arc<NoSeedSource>>,
}

impl DindImages {
    /// The DinD daemon of `peer`.
    fn daemon(&self, peer: &str) -> Result<&Dind, PeerImageError> {
        self.dinds
            .get(peer)
            .ok_or_else(|| PeerImageError::NoDaemon {
                peer: peer.to_string(),
                source: None,
            })
    }
}

impl lifecycle::PeerImages for DindImages {
    fn copy_image<'a>(
        &'a self,
        from_peer: &'a str,
        to_peer: &'a str,
        image: &'a str,
        as_name: &'a str,
    ) -> lifecycle::BoxFuture<'a, Result<(), PeerImageError>> {
        Box::pin(async move {
            let daemon = |p: &str| self.daemon(p);
            daemon(from_peer)?
                .copy_image_to(daemon(to_peer)?, image, as_name)
                .await
                .map_err(|e| PeerImageError::copy(from_peer, to_peer, image, as_name, e))
        })
    }

    fn warm_builder(&self) -> Option<&chaincode::image::WarmBuilder> {
        self.builder.as_ref()
    }

    fn builder_images(&self) -> Option<&BuildImages> {
        Some(&self.images)
    }

    fn seed_builder<'a>(
        &'a self,
        peers: &'a [String],
        image: &'a str,
        on_event: &'a mut (dyn FnMut(LifecycleEvent) + Send),
    ) -> lifecycle::BoxFuture<'a, Result<Seeded, PeerImageError>> {
        Box::pin(async move {
            let from = self
                .seed_from
                .as_ref()
                .map_err(|why| PeerImageError::seed(image, peers, why.clone()))?;
            let targets = peers
                .iter()
                .map(|p| self.daemon(p))
                .collect::<Result<Vec<&Dind>, _>>()
                .map_err(|e| PeerImageError::seed(image, peers, e))?;
            chaincode::image::seed_daemons(from, peers, &targets, image, on_event).await
        })
    }

    fn has_image<'a>(&'a self, peer: &'a str, name: &'a str) -> lifecycle::BoxFuture<'a, bool> {
        Box::pin(async move {
            use cluster::images::ImageTarget as _;
            match self.daemon(peer) {
                Ok(d) => d.image_id(name).await.is_ok_and(|id| id.is_some()),
                Err(_) => false,
            }
        })
    }

    fn build_image<'a>(
        &'a self,
        peer: &'a str,
        as_name: &'a str,
        context: &'a [u8],
    ) -> lifecycle::BoxFuture<'a, Result<(), PeerImageError>> {
        Box::pin(async move {
            self.daemon(peer)?
                .build_image(as_name, context.to_vec())
                .await
                .map_err(|e| PeerImageError::build(peer, as_name, e))
        })
    }
}
