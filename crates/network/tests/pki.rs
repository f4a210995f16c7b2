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

// ---------------------------------------------------------------------------
// The default network
// ---------------------------------------------------------------------------

#[test]
fn default_network_has_every_property() {
    let ws = Workspace::default_network();
    let topo = Topology::of(&ws);
    let (_tmp, dir, report) = setup(&ws);
    assert_eq!(report.created, default_labels());
    assert!(report.reused.is_empty());

    let orgs = ["OrdererOrg", "Org1", "Org2"];
    for org in orgs {
        let org_dir = dir.org_dir(org);
        assert_eq!(org_dir, dir.root().join(org.to_lowercase()));

        // CA and TLS CA.
        let ca = Cert::read(&org_dir.join("ca/ca.crt"));
        let tlsca = Cert::read(&org_dir.join("tlsca/tlsca.crt"));
        for (cert, key_file) in [(&ca, "ca/ca.key"), (&tlsca, "tlsca/tlsca.key")] {
            cert.assert_common();
            let x = cert.x509();
            assert_eq!(x.issuer().as_raw(), x.subject().as_raw(), "self-signed");
            x.verify_signature(None).expect("self-signature");
            assert_eq!(cert.is_ca(), Some(true));
            let ku = cert.key_usage_flags();
            assert_ne!(ku & (1 << 5), 0, "keyCertSign");
            assert_ne!(ku & (1 << 6), 0, "cRLSign");
            assert_eq!(ku & !(1 | (1 << 5) | (1 << 6)), 0, "nothing else");
            let point = cert.public_point();
            assert_eq!(point.len(), 65);
            assert_eq!(point[0], 0x04, "uncompressed");
            assert_eq!(
                cert.ski(),
                Some(Sha256::digest(&point).to_vec()),
                "SKI = SHA-256 of the point"
            );
            assert_eq!(cert.orgs(), [org]);
            let key = read_key(&org_dir.join(key_file));
            assert_eq!(key.public_key_raw(), point.as_slice());
        }
        assert_ne!(ca.public_point(), tlsca.public_point(), "two different CAs");

        // Org msp.
        assert_eq!(
            std::fs::read(org_dir.join("msp/cacerts/ca.crt")).expect("cacerts"),
            std::fs::read(&ca.path).expect("ca")
        );
        assert_eq!(
            std::fs::read(org_dir.join("msp/tlscacerts/tlsca.crt")).expect("tlscacerts"),
            std::fs::read(&tlsca.path).expect("tlsca")
        );
        assert_node_ous_config(&org_dir.join("msp/config.yaml"));

        // Nodes and users.
        let mut identities: Vec<(PathBuf, String, &str, Option<Vec<String>>)> = topo
            .nodes
            .iter()
            .filter(|n| n.org == org)
            .map(|n| {
                let ou = match n.kind {
                    NodeKind::Orderer => "orderer",
                    NodeKind::Peer => "peer",
                };
                let mut sans = n.tls_dns_names(&topo.namespace);
                sans.extend(n.tls_ips().iter().map(IpAddr::to_string));
                (dir.node_dir(n), n.name.clone(), ou, Some(sans))
            })
            .collect();
        assert_eq!(identities.len(), 1);
        let lower = org.to_lowercase();
        identities.push((
            dir.user_dir(org, "Admin"),
            format!("Admin@{lower}"),
            "admin",
            None,
        ));
        if org != "OrdererOrg" {
            identities.push((
                dir.user_dir(org, "User1"),
                format!("User1@{lower}"),
                "client",
                None,
            ));
        } else {
            assert!(
                !dir.user_dir(org, "User1").exists(),
                "orderer org has no User1"
            );
        }
        for (id_dir, cn, ou, node_sans) in identities {
            let msp = id_dir.join("msp");
            assert_eq!(
                std::fs::read(msp.join("cacerts/ca.crt")).expect("cacerts"),
                std::fs::read(&ca.path).expect("ca")
            );
            assert_eq!(
                std::fs::read(msp.join("tlscacerts/tlsca.crt")).expect("tlscacerts"),
                std::fs::read(&tlsca.path).expect("tlsca")
            );
            assert_eq!(
                std::fs::read(id_dir.join("tls/ca.crt")).expect("tls ca"),
                std::fs::read(&tlsca.path).expect("tlsca")
            );
            assert_node_ous_config(&msp.join("config.yaml"));

            // Enrollment certificate.
            let sign = Cert::read(&msp.join("signcerts/cert.pem"));
            sign.assert_common();
            sign.assert_issued_by(&ca);
            assert_eq!(sign.is_ca(), Some(false), "not a CA: {cn}");
            assert_eq!(sign.key_usage_flags(), 1, "digitalSignature only: {cn}");
            assert_eq!(sign.ous(), [ou], "exactly one OU: {cn}");
            assert_eq!(sign.cns(), std::slice::from_ref(&cn));
            assert_eq!(sign.orgs(), [org]);
            assert!(sign.x509().extended_key_usage().expect("eku").is_none());
            let key = read_key(&msp.join("keystore/key.pem"));
            assert_eq!(key.public_key_raw(), sign.public_point().as_slice());

            // TLS certificate.
            let (crt, keyf) = if node_sans.is_some() {
                ("tls/server.crt", "tls/server.key")
            } else {
                ("tls/client.crt", "tls/client.key")
            };
            let tls = Cert::read(&id_dir.join(crt));
            tls.assert_common();
            tls.assert_issued_by(&tlsca);
            assert_eq!(tls.is_ca(), Some(false));
            assert_eq!(
                tls.key_usage_flags(),
                1 | 4,
                "digitalSignature|keyEncipherment: {cn}"
            );
            let tls_x = tls.x509();
            let eku = tls_x
                .extended_key_usage()
                .expect("eku")
                .expect("has eku")
                .value;
            assert!(eku.server_auth && eku.client_auth && !eku.any, "{cn}");
            assert!(eku.other.is_empty() && !eku.code_signing, "{cn}");
            assert_eq!(tls.cns(), std::slice::from_ref(&cn));
            assert!(tls.ous().is_empty());
            let tls_key = read_key(&id_dir.join(keyf));
            assert_eq!(
                tls_key.public_key_raw(),
                tls.public_point().as_slice(),
                "TLS key matches"
            );
            assert_ne!(
                tls_key.public_key_raw(),
                key.public_key_raw(),
                "separate keys"
            );
            match node_sans {
                Some(want) => assert_eq!(tls.sans(), want, "{cn}"),
                None => assert_eq!(tls.sans(), std::slice::from_ref(&cn)),
            }
        }
    }

    // The SANs the brief names, spelled out.
    let peer = Cert::read(&dir.root().join("org1/nodes/peer0-org1/tls/server.crt"));
    let sans = peer.sans();
    for want in [
        "localhost",
        "127.0.0.1",
        "peer0-org1.fabdev.svc.cluster.local",
        "peer0-org1",
    ] {
        assert!(sans.iter().any(|s| s == want), "{want} in {sans:?}");
    }
}

#[test]
fn layout_is_exactly_the_documented_one() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let files: Vec<String> = tree(&dir).into_keys().collect();
    let identity = |base: &str, role: &str| {
        vec![
            format!("{base}/msp/cacerts/ca.crt"),
            format!("{base}/msp/config.yaml"),
            format!("{base}/msp/keystore/key.pem"),
            format!("{base}/msp/signcerts/cert.pem"),
            format!("{base}/msp/tlscacerts/tlsca.crt"),
            format!("{base}/tls/ca.crt"),
            format!("{base}/tls/{role}.crt"),
            format!("{base}/tls/{role}.key"),
        ]
    };
    let mut want = Vec::new();
    for (org, node, users) in [
        ("ordererorg", "orderer0-ordererorg", &["Admin"][..]),
        ("org1", "peer0-org1", &["Admin", "User1"][..]),
        ("org2", "peer0-org2", &["Admin", "User1"][..]),
    ] {
        want.extend([
            format!("{org}/ca/ca.crt"),
            format!("{org}/ca/ca.key"),
            format!("{org}/msp/cacerts/ca.crt"),
            format!("{org}/msp/config.yaml"),
            format!("{org}/msp/tlscacerts/tlsca.crt"),
            format!("{org}/tlsca/tlsca.crt"),
            format!("{org}/tlsca/tlsca.key"),
        ]);
        want.extend(identity(&format!("{org}/nodes/{node}"), "server"));
        for u in users {
            want.extend(identity(&format!("{org}/users/{u}"), "client"));
        }
    }
    want.sort();
    assert_eq!(files, want);
}

#[cfg(unix)]
#[test]
fn key_files_are_0600_and_certs_are_not_secret() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let files = tree(&dir);
    let mut keys = 0;
    for rel in files.keys() {
        let m = mode(&dir.root().join(rel));
        if rel.ends_with(".key") || rel.contains("/keystore/") {
            assert_eq!(m, 0o600, "{rel}");
            keys += 1;
        } else {
            assert_eq!(m, 0o644, "{rel}");
        }
    }
    // 3 orgs x 2 CAs + 8 identities x 2 keys.
    assert_eq!(keys, 6 + 16);
    assert_eq!(
        mode(&dir.root().join("org1/nodes/peer0-org1/msp/keystore")),
        0o755
    );
}

// ---------------------------------------------------------------------------
// Reuse, additions
// ---------------------------------------------------------------------------

#[test]
fn second_run_creates_nothing_and_changes_no_byte() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let before = tree(&dir);
    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("second run");
    assert!(report.created.is_empty(), "{report:?}");
    assert_eq!(report.reused, default_labels());
    assert_eq!(tree(&dir), before);
}

#[test]
fn adding_a_peer_creates_only_that_peer_signed_by_the_same_ca() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let before = tree(&dir);

    let ws = ws_with_org1_peers(2);
    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("add a peer");
    assert_eq!(report.created, ["peer1-org1"]);
    assert_eq!(report.reused.len(), default_labels().len());

    let after = tree(&dir);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} unchanged");
    }
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(added.len(), 8);
    assert!(
        added
            .iter()
            .all(|k| k.starts_with("org1/nodes/peer1-org1/")),
        "{added:?}"
    );

    let ca = Cert::read(&dir.root().join("org1/ca/ca.crt"));
    let tlsca = Cert::read(&dir.root().join("org1/tlsca/tlsca.crt"));
    let node = dir.root().join("org1/nodes/peer1-org1");
    let sign = Cert::read(&node.join("msp/signcerts/cert.pem"));
    sign.assert_issued_by(&ca);
    assert_eq!(sign.ous(), ["peer"]);
    let tls = Cert::read(&node.join("tls/server.crt"));
    tls.assert_issued_by(&tlsca);
    assert!(
        tls.sans()
            .contains(&"peer1-org1.fabdev.svc.cluster.local".to_string())
    );
    // Same AKI as the first peer's.
    let peer0 = Cert::read(
        &dir.root()
            .join("org1/nodes/peer0-org1/msp/signcerts/cert.pem"),
    );
    assert_eq!(sign.aki(), peer0.aki());
}

#[test]
fn a_deleted_identity_is_regenerated_and_leftovers_are_cleaned() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let user = dir.user_dir("Org2", "User1");
    std::fs::remove_dir_all(&user).expect("rm");
    // What an interrupted run leaves behind: a partial temporary folder.
    let leftover = dir.root().join("org2/users/.fabdev-tmp-x1y2z3");
    std::fs::create_dir_all(leftover.join("msp/signcerts")).expect("mkdir");
    std::fs::write(leftover.join("msp/signcerts/cert.pem"), b"partial").expect("write");
    assert!(
        !tree(&dir).keys().any(|k| k.contains(".fabdev-tmp-")),
        "read_tree skips leftovers"
    );

    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("regenerate");
    assert_eq!(report.created, ["User1@org2"]);
    assert!(!leftover.exists());
    let ca = Cert::read(&dir.root().join("org2/ca/ca.crt"));
    let sign = Cert::read(&user.join("msp/signcerts/cert.pem"));
    sign.assert_issued_by(&ca);
    assert_eq!(sign.ous(), ["client"]);
    let tls = Cert::read(&user.join("tls/client.crt"));
    tls.assert_issued_by(&Cert::read(&dir.root().join("org2/tlsca/tlsca.crt")));
}

// ---------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------

/// Run ensure expecting an error; assert nothing was written.
fn ensure_fails(ws: &Workspace, dir: &CryptoDir) -> PkiError {
    let before = tree(dir);
    let err = ensure(ws, &Topology::of(ws), dir).expect_err("ensure must fail");
    assert_eq!(tree(dir), before, "a failed ensure writes nothing");
    err
}

#[test]
fn a_foreign_node_cert_is_rejected_naming_its_path() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let (_tmp2, other, _) = setup(&ws);
    let rel = "org1/nodes/peer0-org1/msp/signcerts/cert.pem";
    std::fs::copy(other.root().join(rel), dir.root().join(rel)).expect("copy");
    // Keep the key consistent with the cert, so only the issuer is wrong.
    let key_rel = "org1/nodes/peer0-org1/msp/keystore/key.pem";
    std::fs::copy(other.root().join(key_rel), dir.root().join(key_rel)).expect("copy");

    let err = ensure_fails(&ws, &dir);
    let text = err.to_string();
    assert!(matches!(err, PkiError::Invalid { .. }), "{err:?}");
    assert_eq!(err.path(), dir.root().join(rel));
    assert!(
        text.contains(&dir.root().join(rel).display().to_string()),
        "{text}"
    );
    assert!(text.contains("was not issued by the CA of Org1"), "{text}");
    assert!(text.contains("Authority Key Identifier"), "{text}");
    assert!(
        text.contains(&format!(
            "delete {}",
            dir.root().join("org1/nodes/peer0-org1").display()
        )),
        "{text}"
    );
    assert!(text.contains("fabdev down --purge"), "{text}");
}

#[test]
fn a_tampered_signature_is_rejected() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let path = dir.root().join("org2/nodes/peer0-org2/tls/server.crt");
    corrupt_signature(&path);
    let err = ensure_fails(&ws, &dir);
    let text = err.to_string();
    assert_eq!(err.path(), path);
    assert!(text.contains("signature does not verify"), "{text}");
    assert!(text.contains("TLS CA of Org2"), "{text}");
}

#[test]
fn a_key_not_matching_its_cert_is_rejected() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let base = dir.root().join("org1/users/Admin");
    std::fs::copy(
        base.join("tls/client.key"),
        base.join("msp/keystore/key.pem"),
    )
    .expect("copy");
    let err = ensure_fails(&ws, &dir);
    assert_eq!(err.path(), base.join("msp/keystore/key.pem"));
    assert!(err.to_string().contains("is not the key of"), "{err}");
}

#[test]
fn an_incomplete_identity_folder_is_rejected() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let path = dir
        .root()
        .join("ordererorg/nodes/orderer0-ordererorg/tls/server.key");
    std::fs::remove_file(&path).expect("rm");
    let err = ensure_fails(&ws, &dir);
    assert_eq!(err.path(), path);
    assert!(err.to_string().contains("incomplete"), "{err}");
}

#[test]
fn a_missing_ca_with_existing_nodes_is_rejected() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let ca_dir = dir.root().join("org1/ca");
    std::fs::remove_dir_all(&ca_dir).expect("rm");
    let err = ensure_fails(&ws, &dir);
    let text = err.to_string();
    assert!(
        matches!(err, PkiError::CaMissing { what: "CA", .. }),
        "{err:?}"
    );
    assert_eq!(err.path(), ca_dir);
    assert!(text.contains("the CA of Org1 is missing"), "{text}");
    assert!(
        text.contains("org1/nodes/peer0-org1 was made with it"),
        "{text}"
    );
    assert!(text.contains("fabdev down --purge"), "{text}");
    assert!(!ca_dir.exists(), "no new CA was made");
}

#[test]
fn a_missing_tls_ca_key_is_rejected() {
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let key = dir.root().join("org2/tlsca/tlsca.key");
    std::fs::remove_file(&key).expect("rm");
    let err = ensure_fails(&ws, &dir);
    assert_eq!(err.path(), key);
    let text = err.to_string();
    assert!(
        text.contains("TLS CA of Org2") && text.contains("is missing"),
        "{text}"
    );
}

#[test]
fn a_replaced_ca_is_rejected() {
    // A CA that no longer signed the nodes (e.g. regenerated by hand).
    let ws = Workspace::default_network();
    let (_tmp, dir, _) = setup(&ws);
    let (_tmp2, other, _) = setup(&ws);
    for f in ["ca/ca.crt", "ca/ca.key"] {
        std::fs::copy(
            other.root().join("org2").join(f),
            dir.root().join("org2").join(f),
        )
        .expect("copy");
    }
    let err = ensure_fails(&ws, &dir);
    // The org msp's copy of the CA certificate is the first thing that disagrees.
    assert_eq!(err.path(), dir.root().join("org2/msp/cacerts/ca.crt"));
    assert!(
        err.to_string()
            .contains("is not the CA certificate of Org2"),
        "{err}"
    );
}

#[test]
fn a_renamed_workspace_needs_new_tls_names() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let mut ws = Workspace::default_network();
    ws.name = "other".into();
    let err = ensure_fails(&ws, &dir);
    let text = err.to_string();
    assert_eq!(
        err.path(),
        dir.root()
            .join("ordererorg/nodes/orderer0-ordererorg/tls/server.crt")
    );
    assert!(
        text.contains("orderer0-ordererorg.other.svc.cluster.local"),
        "{text}"
    );
    assert!(text.contains("delete"), "{text}");
}

#[test]
fn a_new_org_gets_its_own_ca_and_the_others_are_reused() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let mut ws = Workspace::default_network();
    let mut org3 = ws.orgs[1].clone();
    org3.name = "Org3".into();
    org3.msp_id = "Org3MSP".into();
    ws.orgs.push(org3);
    let report = ensure(&ws, &Topology::of(&ws), &dir).expect("add org");
    assert_eq!(
        report.created,
        [
            "CA of Org3",
            "TLS CA of Org3",
            "MSP of Org3",
            "peer0-org3",
            "Admin@org3",
            "User1@org3"
        ]
    );
    let ca3 = Cert::read(&dir.root().join("org3/ca/ca.crt"));
    let ca1 = Cert::read(&dir.root().join("org1/ca/ca.crt"));
    assert_ne!(ca3.ski(), ca1.ski());
    Cert::read(
        &dir.root()
            .join("org3/nodes/peer0-org3/msp/signcerts/cert.pem"),
    )
    .assert_issued_by(&ca3);
}

#[test]
fn read_tree_is_sorted_and_relative() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let t = tree(&dir);
    let keys: Vec<&String> = t.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(
        keys.iter()
            .all(|k| !k.starts_with('/') && !k.contains('\\'))
    );
    assert_eq!(
        t["org1/msp/config.yaml"],
        std::fs::read(dir.root().join("org1/msp/config.yaml")).expect("read")
    );
    assert!(read_tree(&dir.root().join("nope")).is_err());
}
