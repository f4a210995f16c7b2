//! Images in the peers' daemons: fabdev's warm builder on the host's
//! Docker, and chaincode images handed from one peer's daemon to another.

use chaincode::lifecycle::PeerImageError;

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
}

impl TestNetwork {
    /// The peers' daemons with a warm builder on the host's Docker, with
    /// the images and version the peers build with.
    pub fn warm_images(&self) -> Result<WarmImages<'_>, TestnetError> {
        let daemon = cluster::images::Daemon::connect_local().map_err(TestnetError::Images)?;
        let i = &self.ws.images;
        let images = chaincode::image::BuildImages {
            ccenv: i.ccenv.clone(),
            baseos: i.baseos.clone(),
            nodeenv: i.nodeenv.clone(),
            peer_version: self.fabric.version().to_string(),
        };
        Ok(WarmImages {
            net: self,
            builder: chaincode::image::WarmBuilder::new(daemon, images),
        })
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
