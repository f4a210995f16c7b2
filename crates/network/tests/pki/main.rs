//! MSP and TLS material: every property checked by parsing the written PEM.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use network::pki::{self, CryptoDir, PkiError, ensure, read_tree};
use network::topology::NodeKind;
use network::{Topology, Workspace};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256,
};
use x509_parser::prelude::FromDer;

mod default_network;
mod rejections;
mod reuse;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A certificate read from a PEM file.
struct Cert {
    path: PathBuf,
    der: Vec<u8>,
}

impl Cert {
    fn read(path: &Path) -> Cert {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let (rest, pem) = x509_parser::pem::parse_x509_pem(&bytes).expect("PEM");
        assert_eq!(pem.label, "CERTIFICATE", "{}", path.display());
        assert!(
            rest.iter().all(u8::is_ascii_whitespace),
            "one certificate per file: {}",
            path.display()
        );
        Cert {
            path: path.to_path_buf(),
            der: pem.contents,
        }
    }

    fn x509(&self) -> X509Certificate<'_> {
        let (rest, cert) = X509Certificate::from_der(&self.der).expect("X.509");
        assert!(rest.is_empty());
        cert
    }

    fn ski(&self) -> Option<Vec<u8>> {
        self.x509()
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            })
    }

    fn aki(&self) -> Option<Vec<u8>> {
        self.x509()
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
    }

    fn public_point(&self) -> Vec<u8> {
        self.x509().public_key().subject_public_key.data.to_vec()
    }

    fn key_usage_flags(&self) -> u16 {
        self.x509()
            .key_usage()
            .expect("key usage")
            .expect("has key usage")
            .value
            .flags
    }

    fn is_ca(&self) -> Option<bool> {
        self.x509()
            .basic_constraints()
            .expect("basic constraints")
            .map(|b| b.value.ca)
    }

    fn subject_attr(&self, which: fn(&X509Certificate<'_>) -> Vec<String>) -> Vec<String> {
        which(&self.x509())
    }

    fn cns(&self) -> Vec<String> {
        self.subject_attr(|c| {
            c.subject()
                .iter_common_name()
                .map(|a| a.as_str().expect("utf8").to_string())
                .collect()
        })
    }

    fn ous(&self) -> Vec<String> {
        self.subject_attr(|c| {
            c.subject()
                .iter_organizational_unit()
                .map(|a| a.as_str().expect("utf8").to_string())
                .collect()
        })
    }

    fn orgs(&self) -> Vec<String> {
        self.subject_attr(|c| {
            c.subject()
                .iter_organization()
                .map(|a| a.as_str().expect("utf8").to_string())
                .collect()
        })
    }

    fn sans(&self) -> Vec<String> {
        let cert = self.x509();
        let Some(san) = cert.subject_alternative_name().expect("SAN ext") else {
            return vec![];
        };
        san.value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => d.to_string(),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    IpAddr::from(<[u8; 4]>::try_from(*b).expect("v4")).to_string()
                }
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect()
    }

    /// Assert this certificate was issued by `ca`: issuer name, AKI = CA SKI,
    /// signature verifying with the CA's public key.
    fn assert_issued_by(&self, ca: &Cert) {
        let (cert, ca_x) = (self.x509(), ca.x509());
        assert_eq!(
            cert.issuer().as_raw(),
            ca_x.subject().as_raw(),
            "issuer of {}",
            self.path.display()
        );
        assert_eq!(self.aki(), ca.ski(), "AKI of {}", self.path.display());
        assert!(self.aki().is_some());
        cert.verify_signature(Some(ca_x.public_key()))
            .unwrap_or_else(|e| {
                panic!(
                    "{} not signed by {}: {e}",
                    self.path.display(),
                    ca.path.display()
                )
            });
    }

    /// P-256 key, ECDSA-SHA256 signature, 10-year validity from about now.
    fn assert_common(&self) {
        let cert = self.x509();
        let spki = cert.public_key();
        assert_eq!(spki.algorithm.algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY);
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .expect("curve")
            .as_oid()
            .expect("curve oid");
        assert_eq!(curve, OID_EC_P256, "{}", self.path.display());
        assert_eq!(
            cert.signature_algorithm.algorithm,
            OID_SIG_ECDSA_WITH_SHA256
        );
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        assert!(
            nb <= now - 4 * 60,
            "not_before backdated: {}",
            self.path.display()
        );
        assert!(
            nb >= now - 60 * 60,
            "not_before about now: {}",
            self.path.display()
        );
        assert!(
            na >= now + 3649 * 86400,
            "10 years: {}",
            self.path.display()
        );
        assert!(
            na <= now + 3660 * 86400,
            "10 years: {}",
            self.path.display()
        );
    }
}

/// The key of a PKCS#8 PEM file, checking label and curve.
fn read_key(path: &Path) -> rcgen::KeyPair {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        text.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 PEM: {}",
        path.display()
    );
    let key = rcgen::KeyPair::from_pem(&text).expect("key parses");
    assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    key
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn setup(ws: &Workspace) -> (tempfile::TempDir, CryptoDir, pki::CryptoReport) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = CryptoDir::new(tmp.path().join("crypto"));
    let report = ensure(ws, &Topology::of(ws), &dir).expect("ensure");
    (tmp, dir, report)
}

fn default_labels() -> Vec<String> {
    [
        "CA of OrdererOrg",
        "TLS CA of OrdererOrg",
        "MSP of OrdererOrg",
        "orderer0-ordererorg",
        "Admin@ordererorg",
        "CA of Org1",
        "TLS CA of Org1",
        "MSP of Org1",
        "peer0-org1",
        "Admin@org1",
        "User1@org1",
        "CA of Org2",
        "TLS CA of Org2",
        "MSP of Org2",
        "peer0-org2",
        "Admin@org2",
        "User1@org2",
    ]
    .map(String::from)
    .to_vec()
}

fn ws_with_org1_peers(n: u32) -> Workspace {
    let mut ws = Workspace::default_network();
    ws.orgs[0].peers = n;
    ws
}

fn tree(dir: &CryptoDir) -> BTreeMap<String, Vec<u8>> {
    read_tree(dir.root()).expect("read tree")
}

fn assert_node_ous_config(path: &Path) {
    let text = std::fs::read_to_string(path).expect("config.yaml");
    let v: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
    assert_eq!(v["NodeOUs"]["Enable"], true, "{}", path.display());
    for (key, ou) in [
        ("ClientOUIdentifier", "client"),
        ("PeerOUIdentifier", "peer"),
        ("AdminOUIdentifier", "admin"),
        ("OrdererOUIdentifier", "orderer"),
    ] {
        assert_eq!(
            v["NodeOUs"][key]["Certificate"],
            "cacerts/ca.crt",
            "{}",
            path.display()
        );
        assert_eq!(v["NodeOUs"][key]["OrganizationalUnitIdentifier"], ou);
    }
}

/// Replace the signature of a PEM certificate with a different (wrong) one,
/// keeping it parseable.
fn corrupt_signature(path: &Path) {
    let cert = Cert::read(path);
    let mut der = cert.der.clone();
    // The signature is the last BIT STRING; ECDSA signatures end in the
    // INTEGER s, so flipping a bit of the last byte keeps the DER valid.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let pem = x509_pem(&der);
    std::fs::write(path, pem).expect("write");
    let parsed = Cert::read(path);
    assert!(parsed.x509().subject().as_raw() == cert.x509().subject().as_raw());
}

fn x509_pem(der: &[u8]) -> String {
    use std::fmt::Write;
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        writeln!(out, "{}", std::str::from_utf8(line).expect("ascii")).expect("fmt");
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
