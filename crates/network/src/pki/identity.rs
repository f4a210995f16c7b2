//! Identities added on request: `fabdev identity add ORG NAME`.
//!
//! fabdev holds every org's CA, so it issues a new user's enrollment
//! certificate itself, as Fabric CA would enroll one: a certificate with the
//! NodeOU its role needs (`client` or `admin`) and Fabric CA's attribute
//! extension (OID `1.2.3.4.5.6.7.8.1`, not critical, its value the JSON
//! `{"attrs":{…}}`), which chaincode reads through the client identity
//! library (`GetAttributeValue`, `AssertAttributeValue`). As Fabric CA
//! does, the extension also carries `hf.EnrollmentID`, `hf.Type` and
//! `hf.Affiliation` (empty: fabdev has no affiliations).
//!
//! An identity lives where the built-in users do, in the same shape
//! (`<crypto>/<org>/users/<NAME>/{msp,tls}`), so every command that takes
//! `--user NAME` finds it. Its certificate is the only record of it:
//! [`list`] reads the attributes back from the certificates.
//!
//! Checking the request and making the files is pure ([`NewIdentity::new`],
//! [`issue`]); [`add`], [`list`], [`find`] and [`remove`] read and write the
//! crypto folder, and a new identity's folder is written in a temporary
//! sibling and renamed into place, so nothing is ever half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rcgen::{CustomExtension, KeyUsagePurpose};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::fsio::{self, File};
use super::generate::{self, Ca};
use super::{
    ADMIN, CaKind, CryptoDir, IdentitySpec, NODE_OUS_CONFIG, PkiError, TlsRole, USER1, Validity,
    check, user_id,
};
use crate::spec::Workspace;

/// The OID of Fabric CA's attribute extension.
pub const ATTRIBUTE_OID: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 1];
/// [`ATTRIBUTE_OID`] in dotted form.
pub const ATTRIBUTE_OID_STR: &str = "1.2.3.4.5.6.7.8.1";
/// Attribute names Fabric CA sets itself, and so does fabdev.
pub const RESERVED_PREFIX: &str = "hf.";
/// The longest identity name.
pub const MAX_NAME: usize = 64;

/// What an identity may do: a `client` transacts; an `admin` is also an org
/// admin (installs and approves chaincode, signs channel updates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Admin,
}

impl Role {
    /// The NodeOU of its enrollment certificate, and Fabric CA's `hf.Type`.
    pub fn ou(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.ou())
    }
}

/// Errors of adding, listing and removing identities; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("organisation {org:?} is not a peer org of this workspace\n  hint: use one of {known}")]
    UnknownOrg { org: String, known: String },
    #[error(
        "identity name {name:?} {problem}\n  hint: a name is 1 to {MAX_NAME} letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    BadName { name: String, problem: String },
    #[error("attribute {given:?} {problem}\n  hint: {hint}")]
    BadAttribute {
        given: String,
        problem: String,
        hint: String,
    },
    #[error("{org} already has an identity {name:?} ({})\n  hint: choose another name, or `fabdev identity remove {org} {existing}` first", path.display())]
    Taken {
        org: String,
        name: String,
        /// The existing identity's name (it may differ in case).
        existing: String,
        path: PathBuf,
    },
    #[error(
        "{org} has no identity {name:?}\n  hint: its identities are {known}; add one with `fabdev identity add {org} {name}`"
    )]
    NotFound {
        org: String,
        name: String,
        known: String,
    },
    #[error(
        "{name} is a built-in identity of {org}, which fabdev itself uses\n  hint: only identities made with `fabdev identity add` can be removed"
    )]
    BuiltIn { org: String, name: String },
    #[error("{}: cannot read the identity {name} of {org}: {problem}\n  hint: remove the folder, or restore it from a backup", path.display())]
    Unreadable {
        org: String,
        name: String,
        path: PathBuf,
        problem: String,
    },
    #[error(transparent)]
    Pki(#[from] PkiError),
}

impl IdentityError {
    /// Whether the user can fix it on the command line (exit 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            IdentityError::UnknownOrg { .. }
                | IdentityError::BadName { .. }
                | IdentityError::BadAttribute { .. }
                | IdentityError::Taken { .. }
                | IdentityError::NotFound { .. }
                | IdentityError::BuiltIn { .. }
        )
    }
}

/// An identity to issue, checked: its org (as the workspace spells it), a
/// name that is a safe folder name, its role and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    pub org: String,
    pub name: String,
    pub role: Role,
    pub attrs: BTreeMap<String, String>,
}

impl NewIdentity {
    /// Check a request: the org is one of the workspace's peer orgs (in any
    /// case), the name is valid, and every attribute is `key=value` with a
    /// key given once.
    pub fn new(
        ws: &Workspace,
        org: &str,
        name: &str,
        role: Role,
        attrs: &[String],
    ) -> Result<NewIdentity, IdentityError> {
        let org = peer_org(ws, org)?;
        check_name(name)?;
        Ok(NewIdentity {
            org,
            name: name.to_string(),
            role,
            attrs: parse_attributes(attrs)?,
        })
    }

    /// Its enrollment ID, the certificate's CN: `alice@org1`.
    pub fn enrollment_id(&self) -> String {
        user_id(&self.name, &self.org)
    }
}

/// The workspace's peer org named `org` (in any case).
pub fn peer_org(ws: &Workspace, org: &str) -> Result<String, IdentityError> {
    ws.orgs
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(org))
        .map(|o| o.name.clone())
        .ok_or_else(|| IdentityError::UnknownOrg {
            org: org.to_string(),
            known: ws
                .orgs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// An identity name: a folder name, a certificate CN part and a
/// `--user` value, so letters, digits, `.`, `_` and `-` only.
pub fn check_name(name: &str) -> Result<(), IdentityError> {
    let bad = |problem: &str| IdentityError::BadName {
        name: name.to_string(),
        problem: problem.to_string(),
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.len() > MAX_NAME {
        return Err(bad(&format!("is longer than {MAX_NAME} characters")));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(bad("does not start with a letter or digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!("holds {c:?}")));
    }
    Ok(())
}

/// One `--attr key=value`.
pub fn parse_attribute(given: &str) -> Result<(String, String), IdentityError> {
    let bad = |problem: &str, hint: &str| IdentityError::BadAttribute {
        given: given.to_string(),
        problem: problem.to_string(),
        hint: hint.to_string(),
    };
    let Some((key, value)) = given.split_once('=') else {
        return Err(bad(
            "is not key=value",
            "write it as --attr key=value, e.g. --attr role=auditor",
        ));
    };
    if key.is_empty() {
        return Err(bad(
            "has no name before '='",
            "write it as --attr key=value",
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(
            &format!("has {c:?} in its name"),
            "an attribute name is letters, digits, '.', '_' or '-'",
        ));
    }
    if key.starts_with(RESERVED_PREFIX) {
        return Err(bad(
            "uses the hf. prefix, which Fabric CA reserves",
            "fabdev sets hf.EnrollmentID, hf.Type and hf.Affiliation itself; choose another name",
        ));
    }
    if value.is_empty() {
        return Err(bad(
            "has no value after '='",
            "give it a value, e.g. --attr role=auditor",
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Every `--attr`, each key once.
pub fn parse_attributes(given: &[String]) -> Result<BTreeMap<String, String>, IdentityError> {
    let mut out = BTreeMap::new();
    for g in given {
        let (k, v) = parse_attribute(g)?;
        if let Some(first) = out.get(&k) {
            return Err(IdentityError::BadAttribute {
                given: g.clone(),
                problem: format!("repeats {k}, given already as {k}={first}"),
                hint: "give each attribute once".into(),
            });
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The attribute extension's value, as Fabric CA writes it: Go's
/// `json.Marshal` of `{"attrs": map}` (keys sorted, no spaces), with the
/// `hf.*` attributes Fabric CA adds to every enrollment.
pub fn attribute_json(id: &NewIdentity) -> Vec<u8> {
    let mut attrs = id.attrs.clone();
    attrs.insert("hf.Affiliation".into(), String::new());
    attrs.insert("hf.EnrollmentID".into(), id.enrollment_id());
    attrs.insert("hf.Type".into(), id.role.ou().into());
    let value = serde_json::json!({ "attrs": attrs });
    // A map of strings always serialises.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The files of a new identity's folder (`dir`), from the org's CA and TLS
/// CA: what every built-in user's folder holds, with an enrollment
/// certificate that carries the role's NodeOU and the attributes. Pure but
/// for the new keys' randomness.
pub(crate) fn issue(
    id: &NewIdentity,
    dir: &Path,
    ca: &Ca,
    tlsca: &Ca,
    validity: Validity,
) -> Result<Vec<File>, PkiError> {
    let spec = spec_of(id, dir);
    let gen_err = |what: &str| {
        let what = format!("the {what} of {}", spec.cn);
        let path = dir.to_path_buf();
        move |source| PkiError::Generate { what, path, source }
    };
    let key = generate::new_key().map_err(gen_err("key"))?;
    let mut p = generate::leaf_params(
        validity,
        &key,
        generate::dn(&id.org, Some(id.role.ou()), &spec.cn),
    );
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        ATTRIBUTE_OID,
        attribute_json(id),
    )];
    let cert = p
        .signed_by(&key, &ca.issuer)
        .map_err(gen_err("enrollment certificate"))?;
    let tls = generate::tls(tlsca, &id.org, &spec.cn, &spec.tls_dns, &[], validity)
        .map_err(gen_err("TLS certificate"))?;
    let [
        signcert,
        keystore,
        cacert,
        tlscacert,
        config,
        tls_ca,
        tls_crt,
        tls_key,
    ] = spec.files();
    Ok(vec![
        File::public(signcert, cert.pem().as_bytes()),
        File::secret(keystore, key.serialize_pem().as_bytes()),
        File::public(cacert, ca.cert_pem.as_bytes()),
        File::public(tlscacert, tlsca.cert_pem.as_bytes()),
        File::public(config, NODE_OUS_CONFIG.as_bytes()),
        File::public(tls_ca, tlsca.cert_pem.as_bytes()),
        File::public(tls_crt, tls.cert_pem.as_bytes()),
        File::secret(tls_key, tls.key_pem.as_bytes()),
    ])
}

/// The shape of a user folder, as [`IdentitySpec::user`] makes it.
fn spec_of(id: &NewIdentity, dir: &Path) -> IdentitySpec {
    let cn = id.enrollment_id();
    IdentitySpec {
        tls_dns: vec![cn.clone()],
        cn,
        org: id.org.clone(),
        ou: id.role.ou(),
        dir: dir.to_path_buf(),
        tls_role: TlsRole::Client,
        tls_ips: Vec::new(),
    }
}

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

/// Read an enrollment certificate (PEM). An attribute extension that is not
/// `{"attrs":{string: string}}` is an error.
pub fn read_cert(pem: &[u8]) -> Result<CertSays, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(|e| e.to_string())?;
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
        let parsed: Attrs = serde_json::from_slice(ext.value)
            .map_err(|e| format!("its attribute extension is not {{\"attrs\":{{…}}}}: {e}"))?;
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
    let unreadable = |problem: String| IdentityError::Unreadable {
        org: org.to_string(),
        name: name.to_string(),
        path: cert.clone(),
        problem,
    };
    let bytes = std::fs::read(&cert).map_err(|e| unreadable(e.to_string()))?;
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

fn load(crypto: &CryptoDir, org: &str, kind: CaKind) -> Result<Ca, PkiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn ws() -> Workspace {
        Workspace::default_network()
    }

    fn req(attrs: &[&str]) -> NewIdentity {
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        NewIdentity::new(&ws(), "org1", "alice", Role::Client, &attrs).expect("valid")
    }

    #[test]
    fn a_request_names_the_org_as_the_workspace_does() {
        let r = req(&["role=auditor", "level=3"]);
        assert_eq!(r.org, "Org1");
        assert_eq!(r.enrollment_id(), "alice@org1");
        assert_eq!(r.attrs.get("level").map(String::as_str), Some("3"));
    }

    #[test]
    fn bad_input_says_what_to_fix() {
        let w = ws();
        let err = NewIdentity::new(&w, "Org9", "alice", Role::Client, &[]).unwrap_err();
        assert!(err.is_bad_input());
        let text = err.to_string();
        assert!(
            text.contains("Org9") && text.contains("Org1, Org2"),
            "{text}"
        );
        // The orderer org has no client identities.
        assert!(NewIdentity::new(&w, "OrdererOrg", "a", Role::Client, &[]).is_err());

        for (name, says) in [
            ("", "is empty"),
            ("-x", "does not start"),
            ("a/b", "'/'"),
            ("../x", "does not start"),
            ("a b", "' '"),
        ] {
            let err = NewIdentity::new(&w, "Org1", name, Role::Client, &[]).unwrap_err();
            assert!(err.to_string().contains(says), "{name:?}: {err}");
        }
        let long = "a".repeat(MAX_NAME + 1);
        assert!(NewIdentity::new(&w, "Org1", &long, Role::Client, &[]).is_err());

        for (attr, says) in [
            ("role", "is not key=value"),
            ("=x", "no name"),
            ("ro le=x", "' '"),
            ("hf.Type=admin", "hf. prefix"),
            ("role=", "no value"),
        ] {
            let err = parse_attribute(attr).unwrap_err();
            assert!(err.is_bad_input());
            assert!(err.to_string().contains(says), "{attr:?}: {err}");
            assert!(err.to_string().contains(attr), "{attr:?}: {err}");
        }
        let err = parse_attributes(&["a=1".into(), "a=2".into()]).unwrap_err();
        assert!(err.to_string().contains("repeats a"), "{err}");
        // A value may hold '=' and spaces.
        assert_eq!(
            parse_attribute("q=a=b c").expect("ok"),
            ("q".into(), "a=b c".into())
        );
    }

    #[test]
    fn the_extension_is_fabric_cas_json() {
        let r = req(&["role=auditor"]);
        assert_eq!(
            String::from_utf8(attribute_json(&r)).expect("utf8"),
            r#"{"attrs":{"hf.Affiliation":"","hf.EnrollmentID":"alice@org1","hf.Type":"client","role":"auditor"}}"#
        );
    }

    #[test]
    fn issued_certificates_carry_the_ou_and_attributes_and_chain_to_the_ca() {
        let w = ws();
        let topo = Topology::of(&w);
        let tmp = tempfile::tempdir().expect("tempdir");
        let crypto = CryptoDir::new(tmp.path().join("crypto"));
        super::super::ensure(&w, &topo, &crypto).expect("crypto");

        let mut r = req(&["role=auditor"]);
        r.role = Role::Admin;
        let id = add(&crypto, &r).expect("add");
        assert_eq!(id.enrollment_id, "alice@org1");
        assert_eq!(id.role, "admin");
        assert!(!id.built_in);
        assert_eq!(id.attrs.get("role").map(String::as_str), Some("auditor"));
        assert_eq!(
            id.cert,
            crypto
                .user_dir("Org1", "alice")
                .join("msp/signcerts/cert.pem")
        );

        // The certificate: issued by Org1's CA, the extension not critical.
        let pem = std::fs::read(&id.cert).expect("cert");
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
        let (_, cert) = X509Certificate::from_der(&pem.contents).expect("der");
        let ca = load(&crypto, "Org1", CaKind::Signing).expect("ca");
        assert_eq!(check::not_issued_by(&cert, &ca), None);
        let ext = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == ATTRIBUTE_OID_STR)
            .expect("attribute extension");
        assert!(!ext.critical);
        assert!(!cert.is_ca());

        // The folder has the shape of a built-in user's, and `ensure`'s
        // checks accept it as one.
        let tlsca = load(&crypto, "Org1", CaKind::Tls).expect("tlsca");
        let spec = spec_of(&r, &crypto.user_dir("Org1", "alice"));
        check::identity(
            &spec,
            &ca,
            &tlsca,
            Validity::from_now(OffsetDateTime::now_utc()),
        )
        .expect("a sound user folder");
        // A second `ensure` leaves it alone.
        super::super::ensure(&w, &topo, &crypto).expect("crypto again");

        // Taken, in any case; nothing written.
        let mut again = req(&[]);
        again.name = "Alice".into();
        let err = add(&crypto, &again).unwrap_err();
        assert!(matches!(err, IdentityError::Taken { .. }), "{err}");
        assert!(
            err.to_string().contains("identity remove Org1 alice"),
            "{err}"
        );
        assert!(!crypto.user_dir("Org1", "Alice").exists());
        let mut builtin = req(&[]);
        builtin.name = "user1".into();
        assert!(matches!(
            add(&crypto, &builtin),
            Err(IdentityError::Taken { .. })
        ));

        // Listed with the built-in users, attributes read back.
        let all = list(&w, &crypto).expect("list");
        let names: Vec<(&str, &str, bool)> = all
            .iter()
            .map(|i| (i.org.as_str(), i.name.as_str(), i.built_in))
            .collect();
        assert_eq!(
            names,
            [
                ("Org1", "Admin", true),
                ("Org1", "User1", true),
                ("Org1", "alice", false),
                ("Org2", "Admin", true),
                ("Org2", "User1", true),
            ]
        );
        assert_eq!(all[1].role, "client");
        assert!(all[1].attrs.is_empty());

        // Removed: gone, no leftovers; built-ins and unknown names refused.
        let err = remove(&w, &crypto, "Org1", "User1").unwrap_err();
        assert!(matches!(err, IdentityError::BuiltIn { .. }), "{err}");
        let err = remove(&w, &crypto, "Org1", "bob").unwrap_err();
        assert!(err.to_string().contains("Admin, User1, alice"), "{err}");
        remove(&w, &crypto, "org1", "alice").expect("remove");
        let left: Vec<_> = std::fs::read_dir(crypto.org_dir("Org1").join("users"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let mut left = left;
        left.sort();
        assert_eq!(left, ["Admin", "User1"]);
        // The name is free again.
        add(&crypto, &req(&[])).expect("add again");
    }

    #[test]
    fn a_foreign_attribute_extension_is_reported() {
        let w = ws();
        let topo = Topology::of(&w);
        let tmp = tempfile::tempdir().expect("tempdir");
        let crypto = CryptoDir::new(tmp.path().join("crypto"));
        super::super::ensure(&w, &topo, &crypto).expect("crypto");
        let ca = load(&crypto, "Org1", CaKind::Signing).expect("ca");
        let key = generate::new_key().expect("key");
        let mut p = generate::leaf_params(
            Validity::from_now(OffsetDateTime::now_utc()),
            &key,
            generate::dn("Org1", Some("client"), "x@org1"),
        );
        p.custom_extensions = vec![CustomExtension::from_oid_content(
            ATTRIBUTE_OID,
            b"not json".to_vec(),
        )];
        let cert = p.signed_by(&key, &ca.issuer).expect("cert");
        let err = read_cert(cert.pem().as_bytes()).unwrap_err();
        assert!(err.contains("attribute extension"), "{err}");
    }
}
