//! Finds Fabric's binaries at build time, so that tests needing them are
//! marked `ignored` (with the reason) when there are none: they count as
//! skipped in the test summary instead of passing silently.
//!
//! Looks where `testnet::FabricHome::find` looks: `$FABRIC_HOME/bin`, then
//! `peer` and `orderer` on PATH with `../config` beside them.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fabric_binaries)");
    println!("cargo::rerun-if-env-changed=FABRIC_HOME");
    println!("cargo::rerun-if-env-changed=PATH");
    if let Some(home) = find() {
        // Rebuild when the binaries change or go away.
        println!("cargo::rerun-if-changed={}", home.join("bin").display());
        println!("cargo::rustc-cfg=fabric_binaries");
    } else if let Some(h) = std::env::var_os("FABRIC_HOME") {
        // Rebuild when they appear.
        println!(
            "cargo::rerun-if-changed={}",
            PathBuf::from(h).join("bin").display()
        );
    }
}

fn complete(home: &Path) -> bool {
    ["peer", "orderer"]
        .iter()
        .all(|b| home.join("bin").join(b).is_file())
        && home.join("config").join("core.yaml").is_file()
        && home.join("config").join("orderer.yaml").is_file()
}

fn find() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("FABRIC_HOME") {
        let h = PathBuf::from(h);
        return complete(&h).then_some(h);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.join("peer").is_file())
        .filter_map(|d| d.parent().map(Path::to_path_buf))
        .find(|h| complete(h))
}
