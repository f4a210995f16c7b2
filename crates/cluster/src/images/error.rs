//! [`ImageError`]: what went wrong with an image, naming the operation,
//! the image and the daemon.

use std::time::Duration;

use bollard::errors::Error as BollardError;

/// Everything that can go wrong with images. Each variant names what was
/// being done, to which image, on which daemon (its label).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The daemon's address is malformed.
    #[error("cannot use {daemon}: {reason}")]
    InvalidAddress { daemon: String, reason: String },
    /// The daemon did not answer the version handshake that precedes the
    /// first request.
    #[error("cannot reach {daemon} to {operation}")]
    Connect {
        operation: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("asking {daemon} for its version")]
    Ping {
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("inspecting image {image} on {daemon}")]
    Inspect {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("pulling image {image} on {daemon}")]
    Pull {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("pulling image {image} on {daemon}: no progress for {} s", after.as_secs())]
    PullStalled {
        image: String,
        daemon: String,
        after: Duration,
        #[source]
        source: tokio::time::error::Elapsed,
    },
    #[error(
        "pulling image {image} on {daemon}: the pull ended but the daemon does not have the image"
    )]
    PullIncomplete { image: String, daemon: String },
    #[error("image {image} is not on {daemon}, the source of the copy")]
    MissingOnSource { image: String, daemon: String },
    #[error("exporting image {image} from {daemon}")]
    Export {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("exporting image {image} from {daemon}: no data for {} s", after.as_secs())]
    ExportStalled {
        image: String,
        daemon: String,
        after: Duration,
        #[source]
        source: tokio::time::error::Elapsed,
    },
    #[error("loading image {image} into {daemon}")]
    Load {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("tagging image {id} as {image} on {daemon}")]
    Tag {
        image: String,
        id: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("removing image {image} from {daemon}")]
    Remove {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    /// A `docker` command run in a pod (a DinD daemon reached through the
    /// API server) failed.
    #[error("{operation} image {image} on {daemon}")]
    Exec {
        operation: String,
        image: String,
        daemon: String,
        #[source]
        source: Box<crate::exec::ExecError>,
    },
    #[error(
        "loading image {image} into {daemon}: it has ID {}, but {source_daemon} has {expected}",
        found.as_deref().unwrap_or("(none)")
    )]
    IdMismatch {
        image: String,
        daemon: String,
        source_daemon: String,
        expected: String,
        found: Option<String>,
    },
}
