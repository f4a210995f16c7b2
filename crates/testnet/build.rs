//! Sets the `fabric_binaries` cfg when Fabric's binaries are found
//! (`testkit_probe::Check::fabric`: `$FABRIC_HOME`, else a `peer` on PATH
//! with `../config` beside it), or under FABDEV_REQUIRE_FABRIC=1; without it
//! the `real_fabric_*` tests are reported `ignored`, with why.

fn main() {
    testkit_probe::Check::fabric().set_cfg("fabric_binaries");
}
