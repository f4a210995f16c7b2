//! Marks the `real_fabric_*` tests `ignored` (with the reason) when there
//! are no Fabric binaries, as `crates/testnet/build.rs` does: the
//! `fabric_binaries` cfg is set when `$FABRIC_HOME/bin/peer` exists, or
//! `peer` is on PATH.

use std::path::PathBuf;

fn main() {
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
