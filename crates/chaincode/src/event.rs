//! What a deploy reports as it goes: the lifecycle's steps and fabdev's
//! warm build ([`crate::image`]) emit these events; the lifecycle
//! re-exports them.

use std::time::Duration;

/// Progress of a deploy ([`crate::lifecycle::deploy`] and its steps).
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
    /// fabdev built the chaincode once, warm ([`crate::image`]).
    Built {
        /// The build's output (`binpackage.tar`) bytes.
        bytes: usize,
        took: Duration,
    },
    /// The warm build could not run (not the chaincode's fault): every
    /// peer builds as before.
    NotBuilt {
        reason: String,
    },
    /// The peers are to build themselves and their daemons lack the
    /// builder image: it is copied into them first (`up` seeds only the
    /// runtime images while fabdev's warm builder can build).
    SeedingBuilder {
        image: String,
        peers: Vec<String>,
    },
    /// The daemons of `peers` lack the image the chaincode runs on (`up`
    /// copies the runtimes of the languages fabdev.yaml declares only): it
    /// is copied into them before the chaincode's image is made there.
    SeedingRuntime {
        image: String,
        peers: Vec<String>,
    },
    /// The runtime image is in the daemons of `peers` (copied now into
    /// `copied`).
    RuntimeSeeded {
        image: String,
        copied: Vec<String>,
        took: Duration,
    },
    /// Bytes of the builder image copied so far (into every daemon at once).
    SeedProgress {
        image: String,
        bytes_done: u64,
        bytes_expected: u64,
    },
    /// The builder image is in the daemons of `peers` (copied now into
    /// `copied`).
    BuilderSeeded {
        image: String,
        copied: Vec<String>,
        took: Duration,
    },
    /// The image a peer runs was made in its daemon from the warm build.
    ImagePlaced {
        peer: String,
        took: Duration,
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
