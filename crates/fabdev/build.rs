//! Marks the `real_fabric_*` tests `ignored` (with the reason) when there
//! are no Fabric binaries, as `crates/testnet/build.rs` does: the
//! `fabric_binaries` cfg is set when `$FABRIC_HOME/bin/peer` exists, or
//! `peer` is on PATH.

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
    println!("cargo::rustc-check-cfg=cfg(fabric_binaries)");
    println!("cargo::rerun-if-env-changed=FABRIC_HOME");
    println!("cargo::rerun-if-env-changed=PATH");
    let peer = match std::env::var_os("FABRIC_HOME") {
        Some(h) => Some(PathBuf::from(h).join("bin").join("peer")),
        None => std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("peer"))
                .find(|p| p.is_file())
        }),
    };
    if let Some(peer) = peer {
        // Rebuild when the binary appears or goes.
        println!("cargo::rerun-if-changed={}", peer.display());
        if peer.is_file() {
            println!("cargo::rustc-cfg=fabric_binaries");
        }
    }
}
