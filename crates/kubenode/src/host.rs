//! Host checks: what the node needs from this machine (root, binaries,
//! packages, the pause image), and where to find its tools.

use std::path::Path;

use crate::{NodeError, PAUSE_IMAGE};

pub use testkit_probe::KUBE_BINARIES;
pub(crate) use testkit_probe::{find_crictl, find_kube_router, find_tool};

/// What the host lacks for a node, as one sentence naming each missing
/// piece and how to get it; `Ok` when everything is there (the checks of
/// `testkit_probe::node_host_missing`, which the tests' build scripts run
/// too, and the pause image).
pub fn check_host(bin_dir: &Path) -> Result<(), NodeError> {
    let mut missing = testkit_probe::node_host_missing(bin_dir);
    if missing.is_empty() && !testkit_probe::absent_images(&[PAUSE_IMAGE]).is_empty() {
        missing.push(format!(
            "the image {PAUSE_IMAGE} in the host's Docker (run scripts/setup/node-images.sh)"
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NodeError::Unavailable(format!(
            "missing {}",
            missing.join("; ")
        )))
    }
}
