//! A chaincode image built once and handed to the other peers: the peers'
//! DinD daemons as chaincode's `PeerImages`.

use std::collections::BTreeMap;

use chaincode::lifecycle::{self, PeerImageError};
use cluster::dind::Dind;

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
    let builder = warm_builder(ctx);
    Ok(Some(DindImages { dinds, builder }))
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

/// The fallback when fabdev cannot build Go chaincode on this host (its
/// Docker does not answer, or lacks Go's builder image): the peers build it
/// themselves, so Go's builder goes first into each peer's DinD that lacks
/// it (`up` leaves it out while fabdev can build), from where `up` took the
/// images (kind's node provider, or the host's Docker). Returns how many
/// daemons got it now; `None` when fabdev builds.
pub(crate) async fn builder_for_the_peers(
    ctx: &Context,
    images: &DindImages,
) -> Result<Option<usize>, FlowError> {
    if let Some(builder) = &images.builder
        && builder.can_build("GOLANG").await
    {
        return Ok(None);
    }
    let from = match ctx.target {
        Target::Kind => cluster::provider::api(kind_provider(ctx)?.provider)?,
        Target::Existing(_) => cluster::images::Daemon::connect_local()?,
    };
    let targets: Vec<&Dind> = images.dinds.values().collect();
    let reports = cluster::images::transfer_to_many(
        &from,
        &targets,
        std::slice::from_ref(&ctx.ws.images.ccenv),
        &mut |_| {},
    )
    .await?;
    Ok(Some(reports.iter().map(|r| r.transferred.len()).sum()))
}

/// [`lifecycle::PeerImages`] over the peers' DinD daemons: `docker save` in
/// one sidecar streamed into `docker load` in another.
#[derive(Debug)]
pub struct DindImages {
    pub dinds: BTreeMap<String, Dind>,
    /// fabdev's warm builder on the host's Docker (see `chaincode::image`);
    /// it builds when that Docker has the builder images.
    pub builder: Option<chaincode::image::WarmBuilder>,
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
