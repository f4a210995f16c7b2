//! Where Fabric's binaries are: a release-shaped folder (`bin/`, `config/`),
//! the layout of Fabric's release tarballs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestnetError;

/// Where users get Fabric's binaries; said whenever they are missing.
pub use testkit_probe::WHERE_TO_GET_FABRIC as WHERE_TO_GET;

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
    /// `config/` beside `bin/` (where the build script looked:
    /// `testkit_probe::fabric_home`).
    pub fn find() -> Result<FabricHome, TestnetError> {
        match testkit_probe::fabric_home() {
            Ok(h) => FabricHome::at(h),
            Err(looked) => Err(TestnetError::NoFabric { looked }),
        }
    }

    /// A given release folder, checked.
    pub fn at(root: impl Into<PathBuf>) -> Result<FabricHome, TestnetError> {
        let root = root.into();
        let gone = testkit_probe::fabric_home_missing(&root);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_folder_says_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
        std::fs::write(dir.path().join("bin/peer"), "").expect("write");
        let err = FabricHome::at(dir.path()).expect_err("incomplete");
        let e = err.to_string();
        assert!(e.contains("bin/orderer"), "{e}");
        assert!(e.contains("config/core.yaml"), "{e}");
        assert!(!e.contains("bin/peer,"), "{e}");
        assert!(
            err.hint().is_some_and(|h| h.contains("FABRIC_HOME")),
            "{err:?}"
        );
    }
}
