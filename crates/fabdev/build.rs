//! Sets the cfgs that decide which of this package's tests can run here
//! (`crates/testkit-probe`), so that the others are reported `ignored`,
//! with why, never `ok`:
//!
//! - `fabric_binaries`: Fabric's binaries (`tests/real_fabric_cli.rs`);
//! - `real_node`: the real single-node cluster (`tests/real_node_up.rs`);
//! - `real_node_fabric`: that node with real Fabric images.
//!
//! Under FABDEV_REQUIRE_FABRIC=1 / FABDEV_REQUIRE_REAL_NODE=1 the cfgs are
//! set whatever is missing, and the tests fail naming it. Nothing of this
//! reaches the binary.

use testkit_probe::Check;

fn main() {
    Check::fabric().set_cfg("fabric_binaries");
    Check::real_node().set_cfg("real_node");
    Check::real_node_fabric().set_cfg("real_node_fabric");
}
