//! MSP and TLS material, in the shape Fabric's `cryptogen` makes it.
//!
//! [`ensure`] generates, under a root folder (the CLI uses
//! `<workspace>/.fabdev/crypto`), the material of every org, node, org admin
//! and client user of a workspace:
//!
//! ```text
//! <root>/<org>/ca/{ca.crt,ca.key}                 signing CA (self-signed)
//! <root>/<org>/tlsca/{tlsca.crt,tlsca.key}        TLS CA (self-signed)
//! <root>/<org>/msp/{cacerts/ca.crt,tlscacerts/tlsca.crt,config.yaml}
//! <root>/<org>/nodes/<node>/msp/{signcerts/cert.pem,keystore/key.pem,
//!                                cacerts/ca.crt,tlscacerts/tlsca.crt,config.yaml}
//! <root>/<org>/nodes/<node>/tls/{ca.crt,server.crt,server.key}
//! <root>/<org>/users/<Admin|User1>/msp/...        same as a node's msp
//! <root>/<org>/users/<Admin|User1>/tls/{ca.crt,client.crt,client.key}
//! ```
//!
//! `<org>` is the lower-cased org name ([`k8s_org`]). Peer orgs get `Admin`
//! and `User1`; the orderer org gets `Admin` only (as cryptogen's default).
//!
//! All keys are ECDSA P-256, written as PKCS#8 PEM with mode 0600. CA
//! certificates carry SKI = SHA-256 of the uncompressed public point (as
//! cryptogen); every issued certificate carries an AKI equal to its CA's SKI.
//! Enrollment certificates carry exactly one NodeOU (`orderer`, `peer`,
//! `admin` or `client`); the msp `config.yaml` enables NodeOUs.
//!
//! Existing material is never rotated: [`ensure`] checks what exists against
//! its CA and the topology, reuses it when it is sound, adds what is missing
//! and otherwise fails with a [`PkiError`] naming the file and what to do.
//! Each CA, org msp, node and user folder is written in a temporary sibling
//! folder and renamed into place, so an interrupted run never leaves a
//! partial identity behind.

mod check;
mod fsio;
mod generate;
pub mod identity;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::spec::Workspace;
use crate::topology::{Node, NodeKind, Topology, k8s_org};

pub use fsio::read_tree;

/// The org admin user every org gets.
pub const ADMIN: &str = "Admin";
/// The client user every peer org gets.
pub const USER1: &str = "User1";

/// The msp `config.yaml` of every org, node and user: NodeOUs on, each OU
/// identifier pointing at the org's CA certificate.
pub const NODE_OUS_CONFIG: &str = "\
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.crt
    OrganizationalUnitIdentifier: orderer
";

/// How long certificates are valid.
pub const VALIDITY_DAYS: i64 = 3650;
/// How far in the past `notBefore` is set, to tolerate clock skew.
pub const BACKDATE_MINUTES: i64 = 5;

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// The crypto folder of a workspace and where each piece lives in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoDir {
    root: PathBuf,
}

impl CryptoDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CryptoDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<org lower-cased>`; `org` as in the spec, e.g. `Org1`.
    pub fn org_dir(&self, org: &str) -> PathBuf {
        self.root.join(k8s_org(org))
    }

    /// `<root>/<org>/nodes/<node name>`.
    pub fn node_dir(&self, node: &Node) -> PathBuf {
        self.org_dir(&node.org).join("nodes").join(&node.name)
    }

    /// `<root>/<org>/users/<user>`; `user` is [`ADMIN`] or [`USER1`].
    pub fn user_dir(&self, org: &str, user: &str) -> PathBuf {
        self.org_dir(org).join("users").join(user)
    }

    /// `<root>/<org>/ca`: `ca.crt` and `ca.key`.
    pub fn ca_dir(&self, org: &str) -> PathBuf {
        self.org_dir(org).join("ca")
    }

    /// `<root>/<org>/tlsca`: `tlsca.crt` and `tlsca.key`.
    pub fn tlsca_dir(&self, org: &str) -> PathBuf {
        self.org_dir(org).join("tlsca")
    }

    /// `<root>/<org>/msp`: the org's MSP, as channel configs reference it.
    pub fn org_msp_dir(&self, org: &str) -> PathBuf {
        self.org_dir(org).join("msp")
    }
}

/// The Fabric enrollment ID / certificate CN of a user: `Admin@org1`.
pub fn user_id(user: &str, org: &str) -> String {
    format!("{user}@{}", k8s_org(org))
}

/// The users an org gets: `Admin` for every org, `User1` for peer orgs.
pub fn users_of(ws: &Workspace, org: &str) -> &'static [&'static str] {
    if org == ws.orderer.name {
        &[ADMIN]
    } else {
        &[ADMIN, USER1]
    }
}

// ---------------------------------------------------------------------------
// Report and errors
// ---------------------------------------------------------------------------

/// What [`ensure`] did, with human labels such as `CA of Org1`,
/// `TLS CA of Org1`, `MSP of Org1`, `peer0-org1` and `Admin@org1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CryptoReport {
    pub created: Vec<String>,
    pub reused: Vec<String>,
}

/// Errors of generating, checking and reading crypto material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file system operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// rcgen could not build a key or certificate.
    #[error("cannot generate {what} ({})", path.display())]
    Generate {
        what: String,
        path: PathBuf,
        #[source]
        source: rcgen::Error,
    },
    /// A file is not the PEM certificate or key it should be.
    #[error("{}: cannot parse {what}", path.display())]
    Parse {
        path: PathBuf,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
        hint: String,
    },
    /// Existing material is unusable: not issued by the org's CA, a key that
    /// does not match, a missing SAN, an incomplete folder, expired...
    #[error("{}: {identity}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        identity: String,
        problem: String,
        hint: String,
    },
    /// An org's CA or TLS CA is gone but material it signed is still there;
    /// a new CA would not match it.
    #[error(
        "{}: the {what} of {org} is missing, but {} was made with it",
        missing.display(),
        signed.display()
    )]
    CaMissing {
        org: String,
        /// `CA` or `TLS CA`.
        what: &'static str,
        missing: PathBuf,
        signed: PathBuf,
        hint: String,
    },
}

impl PkiError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            PkiError::Parse { hint, .. } => Some(hint.clone()),
            PkiError::Invalid { hint, .. } => Some(hint.clone()),
            PkiError::CaMissing { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }
}

impl PkiError {
    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PkiError::Io { path, .. }
            | PkiError::Generate { path, .. }
            | PkiError::Parse { path, .. }
            | PkiError::Invalid { path, .. } => path,
            PkiError::CaMissing { missing, .. } => missing,
        }
    }
}

// ---------------------------------------------------------------------------
// What to generate
// ---------------------------------------------------------------------------

/// The two CAs of an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaKind {
    Signing,
    Tls,
}

impl CaKind {
    fn what(self) -> &'static str {
        match self {
            CaKind::Signing => "CA",
            CaKind::Tls => "TLS CA",
        }
    }
    /// File stem in its folder: `ca` / `tlsca`.
    fn stem(self) -> &'static str {
        match self {
            CaKind::Signing => "ca",
            CaKind::Tls => "tlsca",
        }
    }
}

/// Certificate validity window, fixed once per [`ensure`] run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validity {
    pub now: OffsetDateTime,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    fn from_now(now: OffsetDateTime) -> Validity {
        Validity {
            now,
            not_before: now - time::Duration::minutes(BACKDATE_MINUTES),
            not_after: now + time::Duration::days(VALIDITY_DAYS),
        }
    }
}

/// TLS role: nodes get `server.{crt,key}`, users `client.{crt,key}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsRole {
    Server,
    Client,
}

impl TlsRole {
    fn stem(self) -> &'static str {
        match self {
            TlsRole::Server => "server",
            TlsRole::Client => "client",
        }
    }
}

/// A node or user to have material for.
#[derive(Debug, Clone)]
pub(crate) struct IdentitySpec {
    /// Report label and certificate CN: `peer0-org1`, `Admin@org1`.
    pub cn: String,
    /// Org name as in the spec (certificate O).
    pub org: String,
    /// The one NodeOU of the enrollment certificate.
    pub ou: &'static str,
    pub dir: PathBuf,
    pub tls_role: TlsRole,
    pub tls_dns: Vec<String>,
    pub tls_ips: Vec<IpAddr>,
}

impl IdentitySpec {
    fn node(node: &Node, namespace: &str, dir: &CryptoDir) -> IdentitySpec {
        IdentitySpec {
            cn: node.name.clone(),
            org: node.org.clone(),
            ou: match node.kind {
                NodeKind::Orderer => "orderer",
                NodeKind::Peer => "peer",
            },
            dir: dir.node_dir(node),
            tls_role: TlsRole::Server,
            tls_dns: node.tls_dns_names(namespace),
            tls_ips: node.tls_ips(),
        }
    }

    fn user(org: &str, user: &str, dir: &CryptoDir) -> IdentitySpec {
        let cn = user_id(user, org);
        IdentitySpec {
            tls_dns: vec![cn.clone()],
            cn,
            org: org.to_string(),
            ou: if user == ADMIN { "admin" } else { "client" },
            dir: dir.user_dir(org, user),
            tls_role: TlsRole::Client,
            tls_ips: Vec::new(),
        }
    }

    /// `msp/signcerts/cert.pem` and the other files, relative to `dir`.
    pub(crate) fn files(&self) -> [String; 8] {
        let stem = self.tls_role.stem();
        [
            "msp/signcerts/cert.pem".to_string(),
            "msp/keystore/key.pem".to_string(),
            "msp/cacerts/ca.crt".to_string(),
            "msp/tlscacerts/tlsca.crt".to_string(),
            "msp/config.yaml".to_string(),
            "tls/ca.crt".to_string(),
            format!("tls/{stem}.crt"),
            format!("tls/{stem}.key"),
        ]
    }

    fn hint(&self) -> String {
        format!(
            "delete {} to have it regenerated (and restart what uses it), or run `fabdev down --purge` to start over",
            self.dir.display()
        )
    }
}

/// An org and the identities it gets.
#[derive(Debug)]
struct OrgSpec {
    name: String,
    identities: Vec<IdentitySpec>,
}

fn org_specs(ws: &Workspace, topo: &Topology, dir: &CryptoDir) -> Vec<OrgSpec> {
    let names =
        std::iter::once(ws.orderer.name.as_str()).chain(ws.orgs.iter().map(|o| o.name.as_str()));
    names
        .map(|org| {
            let mut identities: Vec<IdentitySpec> = topo
                .nodes
                .iter()
                .filter(|n| n.org == org)
                .map(|n| IdentitySpec::node(n, &topo.namespace, dir))
                .collect();
            identities.extend(
                users_of(ws, org)
                    .iter()
                    .map(|u| IdentitySpec::user(org, u, dir)),
            );
            OrgSpec {
                name: org.to_string(),
                identities,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// ensure
// ---------------------------------------------------------------------------

enum CaPlan {
    Reuse(Box<generate::Ca>),
    Create,
}

struct OrgPlan {
    ca: CaPlan,
    tlsca: CaPlan,
    msp_exists: bool,
    /// Per identity of the org's spec: does its folder exist (and check out)?
    exists: Vec<bool>,
}

/// Generate whatever is missing; reuse what exists, never rotate silently.
///
/// Everything that exists is checked first; if anything is wrong nothing is
/// written and the error says which file and what to do. Then the missing
/// CAs, org MSPs, nodes and users are generated, each folder atomically.
pub fn ensure(ws: &Workspace, topo: &Topology, dir: &CryptoDir) -> Result<CryptoReport, PkiError> {
    let validity = Validity::from_now(OffsetDateTime::now_utc());
    let orgs = org_specs(ws, topo, dir);
    // The crypto folder (and a missing state folder above it) is private.
    fsio::create_private_dir(dir.root())?;

    // Phase 1: inspect and check everything that exists.
    let mut plans = Vec::with_capacity(orgs.len());
    for org in &orgs {
        plans.push(inspect_org(org, dir, validity)?);
    }

    // Phase 2: generate what is missing.
    let mut report = CryptoReport::default();
    for (org, plan) in orgs.iter().zip(plans) {
        apply_org(org, plan, dir, validity, &mut report)?;
    }
    Ok(report)
}

fn inspect_org(org: &OrgSpec, dir: &CryptoDir, validity: Validity) -> Result<OrgPlan, PkiError> {
    let signed = fsio::signed_material(&dir.org_dir(&org.name))?;
    let ca = inspect_ca(&org.name, CaKind::Signing, dir, signed.as_deref())?;
    let tlsca = inspect_ca(&org.name, CaKind::Tls, dir, signed.as_deref())?;
    let (CaPlan::Reuse(ca_ref), CaPlan::Reuse(tlsca_ref)) = (&ca, &tlsca) else {
        // A CA is to be created, so (signed is None) nothing else exists.
        return Ok(OrgPlan {
            ca,
            tlsca,
            msp_exists: false,
            exists: vec![false; org.identities.len()],
        });
    };

    let msp_dir = dir.org_msp_dir(&org.name);
    let msp_exists = fsio::exists(&msp_dir)?;
    if msp_exists {
        check::org_msp(&org.name, &msp_dir, ca_ref, tlsca_ref)?;
    }
    let mut exists = Vec::with_capacity(org.identities.len());
    for id in &org.identities {
        let e = fsio::exists(&id.dir)?;
        if e {
            check::identity(id, ca_ref, tlsca_ref, validity)?;
        }
        exists.push(e);
    }
    Ok(OrgPlan {
        ca,
        tlsca,
        msp_exists,
        exists,
    })
}

fn inspect_ca(
    org: &str,
    kind: CaKind,
    dir: &CryptoDir,
    signed: Option<&Path>,
) -> Result<CaPlan, PkiError> {
    let ca_dir = match kind {
        CaKind::Signing => dir.ca_dir(org),
        CaKind::Tls => dir.tlsca_dir(org),
    };
    let cert = ca_dir.join(format!("{}.crt", kind.stem()));
    let key = ca_dir.join(format!("{}.key", kind.stem()));
    let purge_hint = || {
        format!(
            "restore {} from a backup, or run `fabdev down --purge` to regenerate the network's crypto",
            ca_dir.display()
        )
    };
    match (fsio::exists(&cert)?, fsio::exists(&key)?) {
        (true, true) => Ok(CaPlan::Reuse(Box::new(check::load_ca(
            org, kind, &cert, &key,
        )?))),
        (false, false) => match signed {
            Some(signed) => Err(PkiError::CaMissing {
                org: org.to_string(),
                what: kind.what(),
                missing: ca_dir.clone(),
                signed: signed.to_path_buf(),
                hint: purge_hint(),
            }),
            None => Ok(CaPlan::Create),
        },
        (has_cert, _) => {
            let (missing, present) = if has_cert {
                (&key, &cert)
            } else {
                (&cert, &key)
            };
            Err(PkiError::Invalid {
                path: missing.clone(),
                identity: format!("{} of {org}", kind.what()),
                problem: format!("is missing, but {} exists", present.display()),
                hint: if signed.is_some() {
                    purge_hint()
                } else {
                    format!("delete {} to have it regenerated", ca_dir.display())
                },
            })
        }
    }
}

fn apply_org(
    org: &OrgSpec,
    plan: OrgPlan,
    dir: &CryptoDir,
    validity: Validity,
    report: &mut CryptoReport,
) -> Result<(), PkiError> {
    let org_dir = dir.org_dir(&org.name);
    fsio::create_dir_all(&org_dir)?;
    fsio::remove_stale_tmp(&org_dir)?;

    let mut ca_of = |plan: CaPlan, kind: CaKind| -> Result<generate::Ca, PkiError> {
        let label = format!("{} of {}", kind.what(), org.name);
        match plan {
            CaPlan::Reuse(ca) => {
                report.reused.push(label);
                Ok(*ca)
            }
            CaPlan::Create => {
                let ca_dir = org_dir.join(kind.stem());
                let cert_path = ca_dir.join(format!("{}.crt", kind.stem()));
                let (ca, key_pem) = generate::Ca::create(&org.name, kind, cert_path, validity)
                    .map_err(|source| PkiError::Generate {
                        what: label.clone(),
                        path: ca_dir.clone(),
                        source,
                    })?;
                fsio::write_dir_atomic(
                    &ca_dir,
                    &[
                        fsio::File::public(format!("{}.crt", kind.stem()), ca.cert_pem.as_bytes()),
                        fsio::File::secret(format!("{}.key", kind.stem()), key_pem.as_bytes()),
                    ],
                )?;
                report.created.push(label);
                Ok(ca)
            }
        }
    };
    let ca = ca_of(plan.ca, CaKind::Signing)?;
    let tlsca = ca_of(plan.tlsca, CaKind::Tls)?;

    let msp_label = format!("MSP of {}", org.name);
    if plan.msp_exists {
        report.reused.push(msp_label);
    } else {
        fsio::write_dir_atomic(
            &dir.org_msp_dir(&org.name),
            &[
                fsio::File::public("cacerts/ca.crt", ca.cert_pem.as_bytes()),
                fsio::File::public("tlscacerts/tlsca.crt", tlsca.cert_pem.as_bytes()),
                fsio::File::public("config.yaml", NODE_OUS_CONFIG.as_bytes()),
            ],
        )?;
        report.created.push(msp_label);
    }

    for (id, exists) in org.identities.iter().zip(plan.exists) {
        if exists {
            report.reused.push(id.cn.clone());
            continue;
        }
        let parent = id.dir.parent().unwrap_or(&org_dir);
        fsio::create_dir_all(parent)?;
        fsio::remove_stale_tmp(parent)?;
        let files = generate::identity_files(id, &ca, &tlsca, validity)?;
        fsio::write_dir_atomic(&id.dir, &files)?;
        report.created.push(id.cn.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let ws = Workspace::default_network();
        let topo = Topology::of(&ws);
        let d = CryptoDir::new("/x");
        assert_eq!(d.org_dir("Org1"), Path::new("/x/org1"));
        assert_eq!(
            d.node_dir(&topo.nodes[1]),
            Path::new("/x/org1/nodes/peer0-org1")
        );
        assert_eq!(d.user_dir("Org2", ADMIN), Path::new("/x/org2/users/Admin"));
        assert_eq!(user_id(USER1, "Org1"), "User1@org1");
        assert_eq!(users_of(&ws, "OrdererOrg"), [ADMIN]);
        assert_eq!(users_of(&ws, "Org1"), [ADMIN, USER1]);
    }

    #[test]
    fn org_specs_cover_every_node_and_user() {
        let ws = Workspace::default_network();
        let topo = Topology::of(&ws);
        let specs = org_specs(&ws, &topo, &CryptoDir::new("/x"));
        let got: Vec<(String, Vec<(String, &str)>)> = specs
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    o.identities.iter().map(|i| (i.cn.clone(), i.ou)).collect(),
                )
            })
            .collect();
        let want = vec![
            (
                "OrdererOrg".to_string(),
                vec![
                    ("orderer0-ordererorg".to_string(), "orderer"),
                    ("Admin@ordererorg".to_string(), "admin"),
                ],
            ),
            (
                "Org1".to_string(),
                vec![
                    ("peer0-org1".to_string(), "peer"),
                    ("Admin@org1".to_string(), "admin"),
                    ("User1@org1".to_string(), "client"),
                ],
            ),
            (
                "Org2".to_string(),
                vec![
                    ("peer0-org2".to_string(), "peer"),
                    ("Admin@org2".to_string(), "admin"),
                    ("User1@org2".to_string(), "client"),
                ],
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn node_ous_config_parses() {
        let v: serde_json::Value = serde_saphyr::from_str(NODE_OUS_CONFIG).expect("yaml");
        assert_eq!(v["NodeOUs"]["Enable"], true);
        for (key, ou) in [
            ("ClientOUIdentifier", "client"),
            ("PeerOUIdentifier", "peer"),
            ("AdminOUIdentifier", "admin"),
            ("OrdererOUIdentifier", "orderer"),
        ] {
            assert_eq!(v["NodeOUs"][key]["Certificate"], "cacerts/ca.crt");
            assert_eq!(v["NodeOUs"][key]["OrganizationalUnitIdentifier"], ou);
        }
    }
}
