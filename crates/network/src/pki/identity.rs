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

use super::fsio::File;
use super::generate::{self, Ca};
use super::{IdentitySpec, NODE_OUS_CONFIG, PkiError, TlsRole, Validity, user_id};
use crate::spec::Workspace;

mod store;
#[cfg(test)]
mod tests;

pub use store::{CertError, CertSays, Identity, add, check_user, find, list, read_cert, remove};

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
    #[error("organisation {org:?} is not a peer org of this workspace (its peer orgs: {known})")]
    UnknownOrg { org: String, known: String },
    #[error("identity name {name:?} {problem}")]
    BadName { name: String, problem: String },
    #[error("attribute {given:?} {problem}")]
    BadAttribute {
        given: String,
        problem: String,
        hint: String,
    },
    #[error("{org} already has an identity {name:?} ({})", path.display())]
    Taken {
        org: String,
        name: String,
        /// The existing identity's name (it may differ in case).
        existing: String,
        path: PathBuf,
    },
    #[error("{org} has no identity {name:?} (its identities: {known})")]
    NotFound {
        org: String,
        name: String,
        known: String,
    },
    #[error("{name} is a built-in identity of {org}, which fabdev itself uses")]
    BuiltIn { org: String, name: String },
    #[error("{}: cannot read the identity {name} of {org}", path.display())]
    Unreadable {
        org: String,
        name: String,
        path: PathBuf,
        #[source]
        source: Box<CertError>,
    },
    #[error(transparent)]
    Pki(#[from] PkiError),
}

impl IdentityError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            IdentityError::UnknownOrg { .. } => Some("use one of those".to_string()),
            IdentityError::BadName { .. } => Some(format!(
                "a name is 1 to {MAX_NAME} letters, digits, '.', '_' or '-', starting with a letter or digit"
            )),
            IdentityError::BadAttribute { hint, .. } => Some(hint.clone()),
            IdentityError::Taken { org, existing, .. } => Some(format!(
                "choose another name, or `fabdev identity remove {org} {existing}` first"
            )),
            IdentityError::NotFound { org, name, .. } => Some(format!(
                "use one of those, or add it with `fabdev identity add {org} {name}`"
            )),
            IdentityError::BuiltIn { .. } => {
                Some("only identities made with `fabdev identity add` can be removed".to_string())
            }
            IdentityError::Unreadable { .. } => {
                Some("remove the folder, or restore it from a backup".to_string())
            }
            IdentityError::Pki(e) => e.hint(),
        }
    }
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
