//! Sets the cfgs that decide which of this package's tests can run here,
//! so that the others are reported `ignored`, with why, never `ok`:
//!
//! - `fabric_binaries`: Fabric's binaries (`tests/real_fabric_cli/`,
//!   `tests/real_fabric_app.rs`);
//! - `real_node`: the real single-node cluster (`tests/real_node_up.rs`);
//! - `real_node_fabric`: that node with real Fabric images;
//!   (these three through `crates/testkit-probe`)
//! - `real_kind`: kind on podman (`real_kind_*`).
//!
//! Under FABDEV_REQUIRE_FABRIC=1 / FABDEV_REQUIRE_REAL_NODE=1 /
//! FABDEV_REQUIRE_REAL_KIND=1 the cfgs are set whatever is missing, and the
//! tests fail naming it. Nothing of this reaches the binary.

use std::path::PathBuf;

/// Set to `1` (as scripts/test.sh does): the `real_kind_*` tests run, and
/// fail naming what is missing, instead of being ignored.
const REQUIRE_REAL_KIND: &str = "FABDEV_REQUIRE_REAL_KIND";

/// The `real_kind` cfg: root, kind, podman and the cached offline node
/// image of scripts/setup/kind-node-image.sh are there (the tests check the
/// rest, such as podman's API and the images, and fail naming it), or
/// FABDEV_REQUIRE_REAL_KIND=1.
fn real_kind() {
    println!("cargo::rustc-check-cfg=cfg(real_kind)");
    println!("cargo::rerun-if-env-changed={REQUIRE_REAL_KIND}");
    println!("cargo::rerun-if-env-changed=FABDEV_TOOLS");
    println!("cargo::rerun-if-env-changed=HOME");
    if std::env::var(REQUIRE_REAL_KIND).as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=real_kind");
        return;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let tools = std::env::var_os("FABDEV_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/fabdev/tools"));
    let cache = tools.join("kind-node");
    // Rebuild when the node image (or its folder) appears or changes.
    let watched = if cache.is_dir() { &cache } else { &tools };
    println!("cargo::rerun-if-changed={}", watched.display());
    let image = std::fs::read_dir(&cache).ok().is_some_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".tar"))
    });
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let kind = on_path("kind") || home.join("go/bin/kind").is_file();
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().nth(1).map(|u| u == "0"))
            .unwrap_or(false)
    });
    if image && kind && root && on_path("podman") {
        println!("cargo::rustc-cfg=real_kind");
    }
}

fn main() {
    real_kind();
    testkit_probe::Check::fabric().set_cfg("fabric_binaries");
    testkit_probe::Check::real_node().set_cfg("real_node");
    testkit_probe::Check::real_node_fabric().set_cfg("real_node_fabric");
}
