//! Sets the `fabric_binaries` cfg when Fabric's binaries are found
//! (`testkit_probe::Check::fabric`: `$FABRIC_HOME`, else a `peer` on PATH
//! with `../config` beside it), or under FABDEV_REQUIRE_FABRIC=1; without it
//! the `real_fabric_*` tests are reported `ignored`, with why.
//!
//! Sets the `couchdb` cfg when a CouchDB release is found as well
//! (`testkit_probe::Check::couchdb`: `$COUCHDB_HOME`, else `/opt/couchdb` or
//! `/opt/couchdb-build/release`), or under FABDEV_REQUIRE_COUCHDB=1 (with
//! FABDEV_REQUIRE_FABRIC=1 when Fabric is missing too).

fn main() {
    testkit_probe::Check::fabric().set_cfg("fabric_binaries");
    testkit_probe::Check::couchdb().set_cfg("couchdb");
}
