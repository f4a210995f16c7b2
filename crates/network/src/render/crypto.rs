//! A node's crypto folder as a Secret and the volume that mounts it back as
//! the same folder tree.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{KeyToPath, SecretVolumeSource};
use sha2::{Digest, Sha256};

use super::{NodeFiles, RenderError};

/// Where a node's crypto folder is mounted in its pod: `msp/` and `tls/`
/// appear under it. (Not under /etc/hyperledger/fabric: the image's own
/// core.yaml / orderer.yaml live there.)
pub const CRYPTO_DIR: &str = "/var/hyperledger/fabric/crypto";

/// Files a peer or orderer pod needs, relative to its crypto folder.
pub const REQUIRED_FILES: [&str; 8] = [
    MSP_SIGNCERT,
    MSP_KEY,
    MSP_CACERT,
    MSP_TLSCACERT,
    MSP_CONFIG,
    TLS_CA,
    TLS_CERT,
    TLS_KEY,
];

pub(super) const MSP_SIGNCERT: &str = "msp/signcerts/cert.pem";
pub(super) const MSP_KEY: &str = "msp/keystore/key.pem";
pub(super) const MSP_CACERT: &str = "msp/cacerts/ca.crt";
pub(super) const MSP_TLSCACERT: &str = "msp/tlscacerts/tlsca.crt";
pub(super) const MSP_CONFIG: &str = "msp/config.yaml";
pub(super) const TLS_CA: &str = "tls/ca.crt";
pub(super) const TLS_CERT: &str = "tls/server.crt";
pub(super) const TLS_KEY: &str = "tls/server.key";

/// File mode of the mounted crypto files: owner and group read.
pub(super) const CRYPTO_FILE_MODE: i32 = 0o440;

/// Absolute path of a crypto file inside the pod.
pub(super) fn in_pod(rel: &str) -> String {
    format!("{CRYPTO_DIR}/{rel}")
}

/// The Secret key for a file path: `/` becomes `-`
/// (`msp/signcerts/cert.pem` -> `msp-signcerts-cert.pem`).
pub fn secret_key(rel: &str) -> String {
    rel.replace('/', "-")
}

/// A node's files checked and keyed for its Secret.
#[derive(Debug)]
pub(super) struct NodeCrypto {
    /// Secret key -> (relative path, bytes), sorted by key.
    entries: BTreeMap<String, (String, Vec<u8>)>,
}

impl NodeCrypto {
    /// Check a node's files: every required file present, every path a
    /// plain relative path whose Secret key is valid and unique.
    pub(super) fn of(node: &str, crypto: &NodeFiles) -> Result<NodeCrypto, RenderError> {
        let files = crypto.get(node).ok_or_else(|| RenderError::NoCrypto {
            node: node.to_string(),
        })?;
        for required in REQUIRED_FILES {
            if !files.contains_key(required) {
                return Err(RenderError::MissingFile {
                    node: node.to_string(),
                    file: required.to_string(),
                });
            }
        }
        let mut entries = BTreeMap::new();
        for (rel, bytes) in files {
            let bad = |reason: String| RenderError::BadCryptoPath {
                node: node.to_string(),
                path: rel.clone(),
                reason,
            };
            check_rel_path(rel).map_err(bad)?;
            let key = secret_key(rel);
            if key.len() > 253 {
                return Err(bad(format!(
                    "its Secret key would be {} characters long; Kubernetes allows 253",
                    key.len()
                )));
            }
            if let Some((other, _)) = entries.insert(key.clone(), (rel.clone(), bytes.clone())) {
                return Err(bad(format!(
                    "its Secret key {key:?} is also the key of {other:?}"
                )));
            }
        }
        Ok(NodeCrypto { entries })
    }

    /// The bytes of one file (`tls/server.key`), if the node has it.
    pub(super) fn file(&self, rel: &str) -> Option<&[u8]> {
        self.entries
            .get(&secret_key(rel))
            .map(|(_, b)| b.as_slice())
    }

    /// The Secret's `data`.
    pub(super) fn data(&self) -> BTreeMap<String, ByteString> {
        self.entries
            .iter()
            .map(|(k, (_, bytes))| (k.clone(), ByteString(bytes.clone())))
            .collect()
    }

    /// The volume source that mounts the Secret back as the folder tree.
    pub(super) fn volume(&self, secret_name: &str) -> SecretVolumeSource {
        SecretVolumeSource {
            secret_name: Some(secret_name.to_string()),
            default_mode: Some(CRYPTO_FILE_MODE),
            items: Some(
                self.entries
                    .iter()
                    .map(|(k, (rel, _))| KeyToPath {
                        key: k.clone(),
                        path: rel.clone(),
                        mode: None,
                    })
                    .collect(),
            ),
            optional: Some(false),
        }
    }

    /// Hex SHA-256 over every path and its bytes, in key order.
    pub(super) fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (rel, bytes) in self.entries.values() {
            h.update((rel.len() as u64).to_be_bytes());
            h.update(rel.as_bytes());
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        hex::encode(h.finalize())
    }
}

/// A relative path of plain components whose characters are also valid in a
/// Secret key (`[-._a-zA-Z0-9]`, plus `/` between components).
fn check_rel_path(rel: &str) -> Result<(), String> {
    if rel.is_empty() {
        return Err("the path is empty".into());
    }
    if rel.starts_with('/') {
        return Err("the path is absolute; paths are relative to the node's crypto folder".into());
    }
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!("the path has a component {part:?}"));
        }
    }
    if let Some(c) = rel
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/')))
    {
        return Err(format!(
            "it contains {c:?}; Secret keys allow only letters, digits, '-', '.' and '_'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> NodeFiles {
        let mut m = BTreeMap::new();
        for p in paths {
            m.insert((*p).to_string(), p.as_bytes().to_vec());
        }
        let mut n = NodeFiles::new();
        n.insert("peer0-org1".into(), m);
        n
    }

    #[test]
    fn keys_and_paths() {
        let mut paths = REQUIRED_FILES.to_vec();
        paths.push("msp/admincerts/extra.pem");
        let c = NodeCrypto::of("peer0-org1", &files(&paths)).unwrap();
        let v = c.volume("peer0-org1-crypto");
        let items = v.items.unwrap();
        assert_eq!(items.len(), 9);
        assert!(
            items
                .iter()
                .any(|i| i.key == "msp-signcerts-cert.pem" && i.path == "msp/signcerts/cert.pem")
        );
        assert_eq!(c.data().len(), 9);
    }

    #[test]
    fn bad_paths() {
        for bad in ["/abs", "msp/../x", "msp//x", "msp/a b", "msp/ü"] {
            let mut paths = REQUIRED_FILES.to_vec();
            paths.push(bad);
            let err = NodeCrypto::of("peer0-org1", &files(&paths)).unwrap_err();
            assert!(
                matches!(err, RenderError::BadCryptoPath { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn colliding_keys() {
        let mut paths = REQUIRED_FILES.to_vec();
        paths.push("msp-signcerts/cert.pem");
        let err = NodeCrypto::of("peer0-org1", &files(&paths)).unwrap_err();
        assert!(err.to_string().contains("msp-signcerts-cert.pem"), "{err}");
    }

    #[test]
    fn missing_node_and_file() {
        let err = NodeCrypto::of("peer9-org1", &files(&REQUIRED_FILES)).unwrap_err();
        assert!(matches!(err, RenderError::NoCrypto { ref node } if node == "peer9-org1"));
        let err = NodeCrypto::of("peer0-org1", &files(&REQUIRED_FILES[1..])).unwrap_err();
        assert!(
            matches!(err, RenderError::MissingFile { ref file, .. } if file == MSP_SIGNCERT),
            "{err}"
        );
    }
}
