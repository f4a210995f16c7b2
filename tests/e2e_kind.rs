//! The real end-to-end run on kind: `scripts/e2e/kind.sh` (fabdev up, every
//! node on the channel, a second up that changes nothing, down). It needs
//! Docker, kind and a network, which CI machines here do not have, so it is
//! opt-in: `cargo test -p fabdev --test e2e_kind -- --ignored`. It is never
//! mocked.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs Docker, kind and a network: run with -- --ignored, or scripts/e2e/kind.sh"]
fn fabdev_up_on_a_real_kind_cluster() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/e2e/kind.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .expect("run scripts/e2e/kind.sh");
    assert!(status.success(), "{} failed", script.display());
}
