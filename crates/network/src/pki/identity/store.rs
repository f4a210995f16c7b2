//! Identities in the crypto folder: added, listed from their certificates,
//! found and removed. The request and the files are checked and made
//! purely in the parent module; this is the edge that reads and writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::super::fsio;
use super::super::generate::Ca;
use super::super::{ADMIN, CaKind, CryptoDir, PkiError, USER1, Validity, check};
use super::{ATTRIBUTE_OID_STR, IdentityError, NewIdentity, RESERVED_PREFIX, issue, peer_org};
use crate::spec::Workspace;

/// An identity as its certificate says, and where its files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub org: String,
    /// The folder name, what `--user` takes.
    pub name: String,
    /// The certificate's CN: `alice@org1`.
    pub enrollment_id: String,
    /// Its NodeOU: `client`, `admin` (or another, for a folder fabdev did
    /// not make).
    pub role: String,
    /// Attributes of the certificate, without Fabric CA's `hf.*` ones.
    pub attrs: BTreeMap<String, String>,
    /// Made with the network (`Admin`, `User1`), not by `identity add`.
    pub built_in: bool,
    pub msp_dir: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// RFC 3339.
    pub not_after: String,
}

/// What an enrollment certificate says: its CN, OUs and attributes (all of
/// them, `hf.*` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSays {
    pub cn: String,
    pub ous: Vec<String>,
    pub attrs: BTreeMap<String, String>,
    pub not_after: OffsetDateTime,
}

/// Why an identity's certificate cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read the file")]
    Io(#[source] std::io::Error),
    #[error("not a PEM certificate")]
    Pem(#[source] x509_parser::nom::Err<x509_parser::error::PEMError>),
    #[error("not an X.509 certificate")]
    Der(#[source] x509_parser::nom::Err<x509_parser::error::X509Error>),
    #[error("its attribute extension is not {{\"attrs\":{{…}}}}")]
    Attributes(#[source] serde_json::Error),
}

/// Read an enrollment certificate (PEM). An attribute extension that is not
/// `{"attrs":{string: string}}` is an error.
pub fn read_cert(pem: &[u8]) -> Result<CertSays, CertError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(CertError::Pem)?;
    let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(CertError::Der)?;
    let cn = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let ous = cert
        .subject()
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    let mut attrs = BTreeMap::new();
    for ext in cert.extensions() {
        if ext.oid.to_id_string() != ATTRIBUTE_OID_STR {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct Attrs {
            attrs: BTreeMap<String, String>,
        }
        let parsed: Attrs = serde_json::from_slice(ext.value).map_err(CertError::Attributes)?;
        attrs = parsed.attrs;
    }
    Ok(CertSays {
        cn,
        ous,
        attrs,
        not_after: cert.validity().not_after.to_datetime(),
    })
}

fn is_built_in(name: &str) -> bool {
    name == ADMIN || name == USER1
}

/// The identity in folder `dir` (`<org>/users/<name>`).
fn read_identity(org: &str, name: &str, dir: &Path) -> Result<Identity, IdentityError> {
    let cert = dir.join("msp/signcerts/cert.pem");
    let unreadable = |source: CertError| IdentityError::Unreadable {
        org: org.to_string(),
        name: name.to_string(),
        path: cert.clone(),
        source: Box::new(source),
    };
    let bytes = std::fs::read(&cert).map_err(|e| unreadable(CertError::Io(e)))?;
    let says = read_cert(&bytes).map_err(unreadable)?;
    let not_after = says
        .not_after
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(Identity {
        org: org.to_string(),
        name: name.to_string(),
        enrollment_id: says.cn,
        role: says.ous.join(","),
        attrs: says
            .attrs
            .into_iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
            .collect(),
        built_in: is_built_in(name),
        msp_dir: dir.join("msp"),
        key: dir.join("msp/keystore/key.pem"),
        cert,
        not_after,
    })
}

/// The names of an org's identities (its `users/` folders), sorted.
fn names_in(crypto: &CryptoDir, org: &str) -> Result<Vec<String>, IdentityError> {
    let dir = crypto.org_dir(org).join("users");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PkiError::Io {
                action: "list",
                path: dir,
                source,
            }
            .into());
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PkiError::Io {
            action: "list",
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(fsio::TMP_PREFIX) && entry.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Issue and write a new identity; returns it as [`find`] reads it back.
///
/// The org's CA and TLS CA must exist (`fabdev up`, `render` or
/// `pki::ensure` made them). A name that exists in the org, in any case,
/// is [`IdentityError::Taken`], and nothing is written.
pub fn add(crypto: &CryptoDir, id: &NewIdentity) -> Result<Identity, IdentityError> {
    let users = crypto.org_dir(&id.org).join("users");
    if let Some(existing) = names_in(crypto, &id.org)?
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(&id.name))
    {
        return Err(IdentityError::Taken {
            org: id.org.clone(),
            name: id.name.clone(),
            path: users.join(&existing),
            existing,
        });
    }
    let ca = load(crypto, &id.org, CaKind::Signing)?;
    let tlsca = load(crypto, &id.org, CaKind::Tls)?;
    let dir = crypto.user_dir(&id.org, &id.name);
    let files = issue(
        id,
        &dir,
        &ca,
        &tlsca,
        Validity::from_now(OffsetDateTime::now_utc()),
    )?;
    fsio::create_dir_all(&users)?;
    fsio::remove_stale_tmp(&users)?;
    // Fails, writing nothing, if the folder appeared meanwhile.
    fsio::write_dir_atomic(&dir, &files).map_err(|e| {
        if dir.exists() {
            IdentityError::Taken {
                org: id.org.clone(),
                name: id.name.clone(),
                existing: id.name.clone(),
                path: dir.clone(),
            }
        } else {
            e.into()
        }
    })?;
    read_identity(&id.org, &id.name, &dir)
}

pub(super) fn load(crypto: &CryptoDir, org: &str, kind: CaKind) -> Result<Ca, PkiError> {
    let dir = match kind {
        CaKind::Signing => crypto.ca_dir(org),
        CaKind::Tls => crypto.tlsca_dir(org),
    };
    check::load_ca(
        org,
        kind,
        &dir.join(format!("{}.crt", kind.stem())),
        &dir.join(format!("{}.key", kind.stem())),
    )
}

/// Every identity of every peer org, built-in ones included, by org (in
/// the workspace's order) then name.
pub fn list(ws: &Workspace, crypto: &CryptoDir) -> Result<Vec<Identity>, IdentityError> {
    let mut out = Vec::new();
    for org in &ws.orgs {
        for name in names_in(crypto, &org.name)? {
            out.push(read_identity(
                &org.name,
                &name,
                &crypto.user_dir(&org.name, &name),
            )?);
        }
    }
    Ok(out)
}

/// One identity of a peer org (the org in any case, the name exactly).
pub fn find(
    ws: &Workspace,
    crypto: &CryptoDir,
    org: &str,
    name: &str,
) -> Result<Identity, IdentityError> {
    let org = peer_org(ws, org)?;
    let names = names_in(crypto, &org)?;
    if !names.iter().any(|n| n == name) {
        return Err(IdentityError::NotFound {
            known: if names.is_empty() {
                "none yet".to_string()
            } else {
                names.join(", ")
            },
            org,
            name: name.to_string(),
        });
    }
    read_identity(&org, name, &crypto.user_dir(&org, name))
}

/// Whether `name` is an identity of `org` when the org has any: what a
/// command acting as a user checks first, so that a wrong `--user` is bad
/// input naming the org's identities. Without any crypto yet it passes, and
/// reading the credentials says what is missing.
pub fn check_user(
    ws: &Workspace,
    crypto: &CryptoDir,
    org: &str,
    name: &str,
) -> Result<(), IdentityError> {
    let org = peer_org(ws, org)?;
    if names_in(crypto, &org)?.is_empty() {
        return Ok(());
    }
    find(ws, crypto, &org, name).map(drop)
}

/// Remove an identity made with `identity add`; returns its folder. The
/// folder is renamed aside first and then deleted, so an interrupted
/// removal leaves a temporary folder the next write clears, never a
/// partial identity.
pub fn remove(
    ws: &Workspace,
    crypto: &CryptoDir,
    org: &str,
    name: &str,
) -> Result<PathBuf, IdentityError> {
    let id = find(ws, crypto, org, name)?;
    if id.built_in {
        return Err(IdentityError::BuiltIn {
            org: id.org,
            name: id.name,
        });
    }
    let dir = crypto.user_dir(&id.org, &id.name);
    let users = crypto.org_dir(&id.org).join("users");
    fsio::remove_stale_tmp(&users)?;
    let aside = users.join(format!("{}removed-{}", fsio::TMP_PREFIX, id.name));
    std::fs::rename(&dir, &aside).map_err(|source| PkiError::Io {
        action: "move aside",
        path: dir.clone(),
        source,
    })?;
    std::fs::remove_dir_all(&aside).map_err(|source| PkiError::Io {
        action: "remove",
        path: aside.clone(),
        source,
    })?;
    Ok(dir)
}
