//! What fabdev asks of the peers' own Docker daemons: copy, seed and build
//! images there ([`PeerImages`]), and why a daemon did not
//! ([`PeerImageError`]).

use crate::event::LifecycleEvent;

/// A boxed future, for [`PeerImages`].
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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
