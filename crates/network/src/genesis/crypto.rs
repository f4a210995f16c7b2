//! The crypto material a block carries: [`CryptoView`], read from the
//! crypto folder once, and the MSP values built from it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{GenesisError, MSP_TYPE_FABRIC};
use crate::fabric::{self, msp};
use crate::pki::{self, CryptoDir, PkiError};
use crate::spec::Workspace;
use crate::topology::Topology;

/// The crypto material genesis blocks carry, read from the crypto folder
/// once (the way rendering takes `NodeFiles`): each org's `msp` folder and
/// each orderer's `tls` folder, as bytes. Building a block from it reads no
/// file.
#[derive(Debug, Clone, Default)]
pub struct CryptoView {
    /// Org name → the files of its `msp` folder.
    pub org_msps: BTreeMap<String, Folder>,
    /// Orderer node name → the files of its `tls` folder.
    pub orderer_tls: BTreeMap<String, Folder>,
    /// Orderer node name → the files of its `msp/signcerts` folder (a BFT
    /// channel's consenters carry their enrollment certificate).
    pub orderer_signcerts: BTreeMap<String, Folder>,
}

/// A folder's files (path relative to it → bytes) and where it is, so that
/// errors name the file.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub dir: PathBuf,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl CryptoView {
    /// Reads the orderer org's and every peer org's `msp` folder and every
    /// orderer's `tls` folder. A folder that does not exist reads as empty:
    /// the block then names the first file it misses.
    pub fn read(ws: &Workspace, topo: &Topology, crypto: &CryptoDir) -> Result<Self, PkiError> {
        let folder = |dir: PathBuf| -> Result<Folder, PkiError> {
            let files = if dir.is_dir() {
                pki::read_tree(&dir)?
            } else {
                BTreeMap::new()
            };
            Ok(Folder { dir, files })
        };
        let mut view = CryptoView::default();
        let orgs = std::iter::once(ws.orderer.name.as_str())
            .chain(ws.orgs.iter().map(|o| o.name.as_str()));
        for org in orgs {
            view.org_msps
                .insert(org.to_string(), folder(crypto.org_msp_dir(org))?);
        }
        for node in topo.orderers() {
            view.orderer_tls.insert(
                node.name.clone(),
                folder(crypto.node_dir(node).join("tls"))?,
            );
            view.orderer_signcerts.insert(
                node.name.clone(),
                folder(crypto.node_dir(node).join("msp").join("signcerts"))?,
            );
        }
        Ok(view)
    }

    fn org_msp(&self, org: &str) -> Cow<'_, Folder> {
        folder_or_empty(&self.org_msps, org, "msp")
    }

    pub(super) fn node_tls(&self, node: &str) -> Cow<'_, Folder> {
        folder_or_empty(&self.orderer_tls, node, "tls")
    }

    pub(super) fn node_signcerts(&self, node: &str) -> Cow<'_, Folder> {
        folder_or_empty(&self.orderer_signcerts, node, "msp/signcerts")
    }
}

/// `map[key]`, or an empty folder named `key/sub` (so that errors name a
/// path) when the view does not hold it.
fn folder_or_empty<'a>(map: &'a BTreeMap<String, Folder>, key: &str, sub: &str) -> Cow<'a, Folder> {
    match map.get(key) {
        Some(f) => Cow::Borrowed(f),
        None => Cow::Owned(Folder {
            dir: PathBuf::from(key).join(sub),
            files: BTreeMap::new(),
        }),
    }
}

/// Looks crypto files up, turning a missing or unusable one into an error
/// that names the channel, the org and the file.
pub(super) struct Files<'a> {
    pub(super) channel: &'a str,
    pub(super) crypto: &'a CryptoView,
}

/// The part of an msp `config.yaml` configbuilder uses for NodeOUs.
#[derive(Debug, Deserialize)]
struct MspYaml {
    #[serde(rename = "NodeOUs")]
    node_ous: Option<NodeOus>,
}

#[derive(Debug, Deserialize)]
struct NodeOus {
    #[serde(rename = "Enable", default)]
    enable: bool,
    #[serde(rename = "ClientOUIdentifier")]
    client: Option<OuYaml>,
    #[serde(rename = "PeerOUIdentifier")]
    peer: Option<OuYaml>,
    #[serde(rename = "AdminOUIdentifier")]
    admin: Option<OuYaml>,
    #[serde(rename = "OrdererOUIdentifier")]
    orderer: Option<OuYaml>,
}

#[derive(Debug, Deserialize)]
struct OuYaml {
    #[serde(rename = "Certificate", default)]
    certificate: String,
    #[serde(rename = "OrganizationalUnitIdentifier", default)]
    ou: String,
}

impl Files<'_> {
    fn read<'f>(
        &self,
        org: &str,
        what: &str,
        folder: &'f Folder,
        rel: &str,
    ) -> Result<&'f [u8], GenesisError> {
        let rel = rel.trim_start_matches("./");
        folder
            .files
            .get(rel)
            .map(Vec::as_slice)
            .ok_or_else(|| GenesisError::Crypto {
                channel: self.channel.to_string(),
                org: org.to_string(),
                what: what.to_string(),
                path: folder.dir.join(rel),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            })
    }

    fn bad(&self, org: &str, what: &str, path: &Path, problem: String) -> GenesisError {
        GenesisError::BadCrypto {
            channel: self.channel.to_string(),
            org: org.to_string(),
            what: what.to_string(),
            path: path.to_path_buf(),
            problem,
        }
    }

    /// A PEM certificate file's bytes, as they are on disk.
    pub(super) fn cert(
        &self,
        org: &str,
        what: &str,
        folder: &Folder,
        rel: &str,
    ) -> Result<Vec<u8>, GenesisError> {
        let bytes = self.read(org, what, folder, rel)?;
        let path = folder.dir.join(rel);
        let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
            .map_err(|e| self.bad(org, what, &path, format!("not PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(self.bad(
                org,
                what,
                &path,
                format!("PEM block is {:?}, not CERTIFICATE", pem.label),
            ));
        }
        pem.parse_x509()
            .map_err(|e| self.bad(org, what, &path, format!("not an X.509 certificate: {e}")))?;
        Ok(bytes.to_vec())
    }

    /// The org's MSP value, as configbuilder's `GetVerifyingMspConfig`
    /// builds it from `<org>/msp`.
    pub(super) fn msp_config(
        &self,
        org: &str,
        msp_id: &str,
    ) -> Result<msp::MspConfig, GenesisError> {
        let msp_dir = self.crypto.org_msp(org);
        let ca = self.cert(org, "CA certificate", &msp_dir, "cacerts/ca.crt")?;
        let tlsca = self.cert(org, "TLS CA certificate", &msp_dir, "tlscacerts/tlsca.crt")?;
        let config_path = msp_dir.dir.join("config.yaml");
        let what = "MSP config.yaml";
        let text = self.read(org, what, &msp_dir, "config.yaml")?;
        let text = std::str::from_utf8(text)
            .map_err(|e| self.bad(org, what, &config_path, format!("not UTF-8: {e}")))?;
        let yaml: MspYaml = serde_saphyr::from_str(text)
            .map_err(|e| self.bad(org, what, &config_path, e.to_string()))?;
        let node_ous = match yaml.node_ous {
            Some(n) if n.enable => n,
            _ => {
                return Err(self.bad(
                    org,
                    what,
                    &config_path,
                    "NodeOUs are not enabled; the channel's policies need the peer, client and admin roles".to_string(),
                ));
            }
        };
        let ou = |which: &str,
                  o: Option<OuYaml>|
         -> Result<Option<msp::FabricOuIdentifier>, GenesisError> {
            let Some(o) = o.filter(|o| !o.ou.is_empty()) else {
                return Ok(None);
            };
            let certificate = if o.certificate.is_empty() {
                Vec::new()
            } else {
                let what = format!("{which} OU certificate");
                self.read(org, &what, &msp_dir, &o.certificate)?.to_vec()
            };
            Ok(Some(msp::FabricOuIdentifier {
                certificate,
                organizational_unit_identifier: o.ou,
            }))
        };
        let config = msp::FabricMspConfig {
            name: msp_id.to_string(),
            root_certs: vec![ca],
            tls_root_certs: vec![tlsca],
            crypto_config: Some(msp::FabricCryptoConfig {
                signature_hash_family: "SHA2".to_string(),
                identity_identifier_hash_function: "SHA256".to_string(),
            }),
            fabric_node_ous: Some(msp::FabricNodeOUs {
                enable: true,
                client_ou_identifier: ou("client", node_ous.client)?,
                peer_ou_identifier: ou("peer", node_ous.peer)?,
                admin_ou_identifier: ou("admin", node_ous.admin)?,
                orderer_ou_identifier: ou("orderer", node_ous.orderer)?,
            }),
            ..Default::default()
        };
        Ok(msp::MspConfig {
            r#type: MSP_TYPE_FABRIC,
            config: fabric::encode(&config),
        })
    }
}
