//! Images in the peers' daemons: fabdev's warm builder on the host's
//! Docker, and chaincode images handed from one peer's daemon to another.

use chaincode::lifecycle::{LifecycleEvent, PeerImageError, Seeded};
use cluster::dind::Dind;

use crate::{TestNetwork, TestnetError};

/// Chaincode images go from one peer's daemon to another's over the
/// daemons' sockets (on Kubernetes, fabdev goes through the API server).
/// The peers' daemons with fabdev's warm builder ([`chaincode::image`]):
/// a chaincode is built once in the host's Docker, and each peer's image is
/// made in its own daemon from that build, so no peer builds. See
/// [`TestNetwork::warm_images`].
#[derive(Debug)]
pub struct WarmImages<'a> {
    net: &'a TestNetwork,
    builder: chaincode::image::WarmBuilder,
    /// Where an image the peers' daemons lack (a runtime, or a builder
    /// before the peers build: see [`TestNetwork::images_without_go_builder`])
    /// is copied from.
    seed_from: Option<cluster::images::Daemon>,
}

impl TestNetwork {
    /// The peers' daemons with a warm builder on the host's Docker, with
    /// the images and version the peers build with; what a chaincode runs
    /// on is copied from the host's Docker into a daemon that lacks it, as
    /// on a cluster.
    pub fn warm_images(&self) -> Result<WarmImages<'_>, TestnetError> {
        let connect = || cluster::images::Daemon::connect_local().map_err(TestnetError::Images);
        Ok(WarmImages {
            net: self,
            builder: chaincode::image::WarmBuilder::new(connect()?, self.build_images()),
            seed_from: Some(connect()?),
        })
    }

    /// The peers' daemons with a warm builder that cannot build Go: its
    /// daemon is `peer`'s own, which holds the runtime images only (no
    /// ccenv), as when fabdev's builder is a Docker other than the engine
    /// `up` pulled into. A Go deploy then copies ccenv from the host's
    /// Docker into the daemons of the peers that build (fabdev's fallback).
    pub fn images_without_go_builder(&self, peer: &str) -> Result<WarmImages<'_>, TestnetError> {
        let socket = self.dind_socket(peer)?;
        let daemon = cluster::images::Daemon::connect_unix(&socket, &format!("{peer}/dind"))
            .map_err(TestnetError::Images)?;
        let host = cluster::images::Daemon::connect_local().map_err(TestnetError::Images)?;
        Ok(WarmImages {
            net: self,
            builder: chaincode::image::WarmBuilder::new(daemon, self.build_images()),
            seed_from: Some(host),
        })
    }

    fn build_images(&self) -> chaincode::image::BuildImages {
        let i = &self.ws.images;
        chaincode::image::BuildImages {
            ccenv: i.ccenv.clone(),
            baseos: i.baseos.clone(),
            nodeenv: i.nodeenv.clone(),
            peer_version: self.fabric.version().to_string(),
        }
    }

    /// The images the peers' chaincode runs on (Go's and Node's runtime),
    /// without the builders: what a daemon needs once fabdev builds.
    pub fn runtime_images(&self) -> Vec<String> {
        let i = &self.ws.images;
        vec![i.baseos.clone(), i.nodeenv.clone()]
    }
}

impl chaincode::lifecycle::PeerImages for WarmImages<'_> {
    fn copy_image<'a>(
        &'a self,
        from_peer: &'a str,
        to_peer: &'a str,
        image: &'a str,
        as_name: &'a str,
    ) -> chaincode::lifecycle::BoxFuture<'a, Result<(), PeerImageError>> {
        chaincode::lifecycle::PeerImages::copy_image(self.net, from_peer, to_peer, image, as_name)
    }

    fn warm_builder(&self) -> Option<&chaincode::image::WarmBuilder> {
        Some(&self.builder)
    }

    fn builder_images(&self) -> Option<&chaincode::image::BuildImages> {
        self.seed_from.as_ref().map(|_| self.builder.images())
    }

    fn seed_builder<'a>(
        &'a self,
        peers: &'a [String],
        image: &'a str,
        on_event: &'a mut (dyn FnMut(LifecycleEvent) + Send),
    ) -> chaincode::lifecycle::BoxFuture<'a, Result<Seeded, PeerImageError>> {
        // The same one export into every daemon as fabdev's `DindImages`,
        // against the daemons' sockets.
        Box::pin(async move {
            let Some(host) = &self.seed_from else {
                return Ok(Vec::new());
            };
            let mut daemons = Vec::new();
            for p in peers {
                let socket = self
                    .net
                    .dind_socket(p)
                    .map_err(|e| PeerImageError::seed(image, peers, e))?;
                daemons.push(Dind::local(socket, &format!("{p}/dind")));
            }
            let targets: Vec<&Dind> = daemons.iter().collect();
            chaincode::image::seed_daemons(host, peers, &targets, image, on_event).await
        })
    }

    fn has_image<'a>(
        &'a self,
        peer: &'a str,
        name: &'a str,
    ) -> chaincode::lifecycle::BoxFuture<'a, bool> {
        Box::pin(async move {
            use cluster::images::ImageTarget as _;
            let Ok(socket) = self.net.dind_socket(peer) else {
                return false;
            };
            cluster::dind::Dind::local(socket, &format!("{peer}/dind"))
                .image_id(name)
                .await
                .is_ok_and(|id| id.is_some())
        })
    }

    fn build_image<'a>(
        &'a self,
        peer: &'a str,
        as_name: &'a str,
        context: &'a [u8],
    ) -> chaincode::lifecycle::BoxFuture<'a, Result<(), PeerImageError>> {
        Box::pin(async move {
            let socket = self
                .net
                .dind_socket(peer)
                .map_err(|e| PeerImageError::no_daemon(peer, e))?;
            cluster::dind::Dind::local(socket, &format!("{peer}/dind"))
                .build_image(as_name, context.to_vec())
                .await
                .map_err(|e| PeerImageError::build(peer, as_name, e))
        })
    }
}

impl chaincode::lifecycle::PeerImages for TestNetwork {
    fn copy_image<'a>(
        &'a self,
        from_peer: &'a str,
        to_peer: &'a str,
        image: &'a str,
        as_name: &'a str,
    ) -> chaincode::lifecycle::BoxFuture<'a, Result<(), PeerImageError>> {
        // The same `docker save` | `docker load` and `docker tag` as on a
        // cluster (`fabdev::flow::chaincodes::DindImages`), against the
        // daemons' sockets.
        Box::pin(async move {
            let daemon = |peer: &str| {
                self.dind_socket(peer)
                    .map(|s| cluster::dind::Dind::local(s, &format!("{peer}/dind")))
                    .map_err(|e| PeerImageError::no_daemon(peer, e))
            };
            daemon(from_peer)?
                .copy_image_to(&daemon(to_peer)?, image, as_name)
                .await
                .map_err(|e| PeerImageError::copy(from_peer, to_peer, image, as_name, e))
        })
    }
}
