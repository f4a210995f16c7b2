//! Where Fabric's binaries are: a release-shaped folder (`bin/`, `config/`),
//! the layout of Fabric's release tarballs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestnetError;

/// Where users get Fabric's binaries; said whenever they are missing.
pub const WHERE_TO_GET: &str = "download a Fabric release tarball (hyperledger-fabric-linux-amd64-<version>.tar.gz \
from the hyperledger/fabric GitHub releases), unpack it and set FABRIC_HOME to the folder \
holding its bin/ and config/";

/// A Fabric release folder: `bin/peer`, `bin/orderer` (and the tools beside
/// them), `config/core.yaml`, `config/orderer.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricHome {
    root: PathBuf,
    /// `peer version`'s `Version:` line, e.g. `2.5.14`.
    version: String,
}

impl FabricHome {
    /// `$FABRIC_HOME`, else the folder above a `peer` on PATH that has
    /// `config/` beside `bin/`.
    pub fn find() -> Result<FabricHome, TestnetError> {
        if let Some(h) = std::env::var_os("FABRIC_HOME") {
            return FabricHome::at(PathBuf::from(h));
        }
        let from_path = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.join("peer").is_file())
                .filter_map(|d| d.parent().map(Path::to_path_buf))
                .find(|h| missing(h).is_empty())
        });
        match from_path {
            Some(h) => FabricHome::at(h),
            None => Err(TestnetError::NoFabric {
                looked: "FABRIC_HOME is not set, and no `peer` on PATH has ../config beside it"
                    .to_string(),
            }),
        }
    }

    /// A given release folder, checked.
    pub fn at(root: impl Into<PathBuf>) -> Result<FabricHome, TestnetError> {
        let root = root.into();
        let gone = missing(&root);
        if !gone.is_empty() {
            return Err(TestnetError::NoFabric {
                looked: format!("{} has no {}", root.display(), gone.join(", ")),
            });
        }
        let peer = root.join("bin").join("peer");
        let out = Command::new(&peer)
            .arg("version")
            .output()
            .map_err(|source| TestnetError::Spawn {
                what: format!("{} version", peer.display()),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Version:"))
            .map(|v| v.trim().to_string())
            .filter(|v| out.status.success() && !v.is_empty())
            .ok_or_else(|| TestnetError::NoFabric {
                looked: format!(
                    "`{} version` printed no version ({}): {}",
                    peer.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })?;
        Ok(FabricHome { root, version })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A binary in `bin/`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// `config/`: what `FABRIC_CFG_PATH` points at (the images ship it at
    /// `/etc/hyperledger/fabric`).
    pub fn config(&self) -> PathBuf {
        self.root.join("config")
    }

    /// The release, e.g. `2.5.14`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `major.minor`, e.g. `2.5`: the tag of the builder images the peer
    /// asks its daemon for.
    pub fn two_digit_version(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The major version (2 or 3).
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
}

fn missing(root: &Path) -> Vec<String> {
    [
        "bin/peer",
        "bin/orderer",
        "config/core.yaml",
        "config/orderer.yaml",
    ]
    .iter()
    .filter(|rel| !root.join(rel).is_file())
    .map(|rel| (*rel).to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_folder_says_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
        std::fs::write(dir.path().join("bin/peer"), "").expect("write");
        let e = FabricHome::at(dir.path())
            .expect_err("incomplete")
            .to_string();
        assert!(e.contains("bin/orderer"), "{e}");
        assert!(e.contains("config/core.yaml"), "{e}");
        assert!(!e.contains("bin/peer,"), "{e}");
        assert!(e.contains("FABRIC_HOME"), "{e}");
    }
}
