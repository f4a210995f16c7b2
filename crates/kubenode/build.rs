//! Sets the `real_node` cfg when this host has what the real node needs
//! (`testkit_probe::Check::real_node`), or under FABDEV_REQUIRE_REAL_NODE=1;
//! without it the `real_node_*` tests are reported `ignored`, with why.

fn main() {
    testkit_probe::Check::real_node().set_cfg("real_node");
}
