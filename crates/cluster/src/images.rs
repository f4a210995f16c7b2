//! Docker images for a fabdev cluster: pull what is missing on the host, and
//! copy images from one Docker daemon to others (host → any daemon reachable
//! by socket, or → a peer's DinD through `docker` run in its pod, see
//! `dind.rs`).
//!
//! Everything goes through bollard. A [`Daemon`] is a bollard client plus a
//! human label ("host docker (unix:///var/run/docker.sock)", "second dockerd
//! (unix:///run/x.sock)"), and every [`ImageError`] names the
//! operation, the image and that label.
//!
//! Copies stream `GET /images/{name}/get` from the source straight into
//! `POST /images/load` on the target through a small bounded channel, so
//! memory stays flat whatever the image size and nothing touches the disk.
//! Images whose ID the target already has are skipped, and every copy is
//! checked afterwards: the target must report the source's image ID.

mod daemon;
mod error;
mod pull;
mod transfer;

pub use daemon::{Daemon, DaemonInfo};
pub use error::ImageError;
pub use pull::ensure_pulled;
pub use transfer::{
    ImageTarget, LoadBody, SkipReason, SkippedImage, TransferReport, TransferredImage, tag,
    transfer, transfer_to_many,
};
pub(crate) use transfer::{export_into, id_after_load};

/// The socket the local Docker daemon listens on when `DOCKER_HOST` is unset.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Progress of [`ensure_pulled`] and [`transfer`], for progress bars or log
/// lines. Daemons are named by their label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageEvent {
    /// A pull is under way; byte counts add up the layers seen so far.
    Pulling {
        image: String,
        /// The daemon's last status line, e.g. `a1b2c3: Downloading`.
        status: String,
        layers: usize,
        layers_done: usize,
        bytes_done: u64,
        bytes_total: u64,
    },
    Pulled {
        image: String,
        id: String,
    },
    /// The host already has the image: nothing pulled.
    AlreadyPresent {
        image: String,
        daemon: String,
        id: String,
    },
    /// Bytes of the image's tarball streamed so far; `bytes_expected` is the
    /// image's size on the source, which the tarball slightly exceeds.
    Transferring {
        image: String,
        to: String,
        bytes_done: u64,
        bytes_expected: u64,
    },
    Transferred {
        image: String,
        to: String,
        id: String,
        bytes: u64,
    },
    Skipped {
        image: String,
        to: String,
        id: String,
        reason: SkipReason,
    },
}
