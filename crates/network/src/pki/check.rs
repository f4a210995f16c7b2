//! Checks of existing material: is it what `ensure` would have written,
//! issued by the org's CAs, and does it fit the current topology?

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{Issuer, KeyPair};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::generate::Ca;
use super::{CaKind, IdentitySpec, PkiError, Validity, fsio};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

fn parse_err(path: &Path, what: &str, hint: &str) -> impl FnOnce(BoxError) -> PkiError {
    let (path, what, hint) = (path.to_path_buf(), what.to_string(), hint.to_string());
    move |source| PkiError::Parse {
        path,
        what,
        source,
        hint,
    }
}

/// The DER of the PEM certificate in `path`.
fn read_cert_der(path: &Path, what: &str, hint: &str) -> Result<Vec<u8>, PkiError> {
    let bytes = read(path)?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes)
        .map_err(|e| parse_err(path, what, hint)(e.into()))?;
    if pem.label != "CERTIFICATE" {
        return Err(parse_err(path, what, hint)(
            format!("expected a PEM CERTIFICATE, found {}", pem.label).into(),
        ));
    }
    Ok(pem.contents)
}

fn parse_cert<'a>(
    der: &'a [u8],
    path: &Path,
    what: &str,
    hint: &str,
) -> Result<X509Certificate<'a>, PkiError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| parse_err(path, what, hint)(e.into()))?;
    Ok(cert)
}

fn read_key(path: &Path, what: &str, hint: &str) -> Result<KeyPair, PkiError> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes).map_err(|e| parse_err(path, what, hint)(e.into()))?;
    KeyPair::from_pem(&text).map_err(|e| parse_err(path, what, hint)(e.into()))
}

fn public_point<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    cert.public_key().subject_public_key.data.as_ref()
}

fn ski_of(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
}

fn aki_of(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

/// Load an org's CA from its certificate and key, checking they belong
/// together and the certificate is a CA with a Subject Key Identifier.
pub(crate) fn load_ca(
    org: &str,
    kind: CaKind,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Ca, PkiError> {
    let identity = format!("{} of {org}", kind.what());
    let dir = cert_path.parent().unwrap_or(cert_path);
    let hint = format!(
        "restore {} from a backup, or run `fabdev down --purge` to regenerate the network's crypto",
        dir.display()
    );
    let invalid = |path: &Path, problem: String| PkiError::Invalid {
        path: path.to_path_buf(),
        identity: identity.clone(),
        problem,
        hint: hint.clone(),
    };
    let cert_pem = String::from_utf8(read(cert_path)?).map_err(|e| {
        parse_err(
            cert_path,
            &format!("the certificate of the {identity}"),
            &hint,
        )(e.into())
    })?;
    let der = read_cert_der(
        cert_path,
        &format!("the certificate of the {identity}"),
        &hint,
    )?;
    let cert = parse_cert(
        &der,
        cert_path,
        &format!("the certificate of the {identity}"),
        &hint,
    )?;
    if !cert.is_ca() {
        return Err(invalid(
            cert_path,
            "is not a CA certificate (basic constraints CA:true is missing)".into(),
        ));
    }
    let Some(ski) = ski_of(&cert) else {
        return Err(invalid(cert_path, "has no Subject Key Identifier".into()));
    };
    let key = read_key(key_path, &format!("the key of the {identity}"), &hint)?;
    if key.public_key_raw() != public_point(&cert) {
        return Err(invalid(
            key_path,
            format!("is not the key of {}", cert_path.display()),
        ));
    }
    let spki_der = cert.public_key().raw.to_vec();
    let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| {
        parse_err(
            cert_path,
            &format!("the certificate of the {identity}"),
            &hint,
        )(e.into())
    })?;
    Ok(Ca {
        org: org.to_string(),
        kind,
        cert_path: cert_path.to_path_buf(),
        cert_pem,
        cert_der: der.clone(),
        ski,
        spki_der,
        issuer,
    })
}

/// Why `cert` was not issued by `ca`, if it was not: its AKI must be the
/// CA's SKI and its signature must verify with the CA's key.
pub(crate) fn not_issued_by(cert: &X509Certificate<'_>, ca: &Ca) -> Option<String> {
    let whose = format!(
        "the {} of {} ({})",
        ca.kind.what(),
        ca.org,
        ca.cert_path.display()
    );
    match aki_of(cert) {
        None => {
            return Some(format!(
                "was not issued by {whose}: it has no Authority Key Identifier"
            ));
        }
        Some(aki) if aki != ca.ski => {
            return Some(format!(
                "was not issued by {whose}: its Authority Key Identifier {} is not the CA's Subject Key Identifier {}",
                hex::encode(aki),
                hex::encode(&ca.ski)
            ));
        }
        Some(_) => {}
    }
    let spki = match SubjectPublicKeyInfo::from_der(&ca.spki_der) {
        Ok((_, spki)) => spki,
        Err(e) => return Some(format!("cannot read the public key of {whose}: {e}")),
    };
    match cert.verify_signature(Some(&spki)) {
        Ok(()) => None,
        Err(e) => Some(format!(
            "was not issued by {whose}: its signature does not verify with the CA's key ({e})"
        )),
    }
}

fn check_same_cert(path: &Path, ca: &Ca, identity: &str, hint: &str) -> Result<(), PkiError> {
    let der = read_cert_der(
        path,
        &format!("a copy of the {} certificate", ca.kind.what()),
        hint,
    )?;
    if der != ca.cert_der {
        return Err(PkiError::Invalid {
            path: path.to_path_buf(),
            identity: identity.to_string(),
            problem: format!(
                "is not the {} certificate of {} ({})",
                ca.kind.what(),
                ca.org,
                ca.cert_path.display()
            ),
            hint: hint.to_string(),
        });
    }
    Ok(())
}

/// Check an org's msp folder holds its CA certificates and config.yaml.
pub(crate) fn org_msp(org: &str, dir: &Path, ca: &Ca, tlsca: &Ca) -> Result<(), PkiError> {
    let identity = format!("MSP of {org}");
    let hint = format!("delete {} to have it regenerated", dir.display());
    for f in ["cacerts/ca.crt", "tlscacerts/tlsca.crt", "config.yaml"] {
        let path = dir.join(f);
        if !fsio::exists(&path)? {
            return Err(PkiError::Invalid {
                path,
                identity,
                problem: "is missing: the folder is incomplete".into(),
                hint,
            });
        }
    }
    check_same_cert(&dir.join("cacerts/ca.crt"), ca, &identity, &hint)?;
    check_same_cert(&dir.join("tlscacerts/tlsca.crt"), tlsca, &identity, &hint)?;
    Ok(())
}

fn san_set(cert: &X509Certificate<'_>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => {
                    out.insert(d.to_string());
                }
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        out.insert(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Check a node's or user's folder: complete, every certificate issued by
/// the org's CAs, keys matching, enrollment OU and CN right, TLS SANs
/// covering what the topology needs, nothing expired.
pub(crate) fn identity(
    id: &IdentitySpec,
    ca: &Ca,
    tlsca: &Ca,
    validity: Validity,
) -> Result<(), PkiError> {
    let hint = id.hint();
    let invalid = |path: &Path, problem: String| PkiError::Invalid {
        path: path.to_path_buf(),
        identity: id.cn.clone(),
        problem,
        hint: hint.clone(),
    };
    let files = id.files();
    for f in &files {
        let path = id.dir.join(f);
        if !fsio::exists(&path)? {
            return Err(invalid(
                &path,
                "is missing: the folder is incomplete".into(),
            ));
        }
    }
    let [
        signcert,
        keystore,
        cacert,
        tlscacert,
        _config,
        tls_ca,
        tls_crt,
        tls_key,
    ] = files.map(|f| id.dir.join(f));
    check_same_cert(&cacert, ca, &id.cn, &hint)?;
    check_same_cert(&tlscacert, tlsca, &id.cn, &hint)?;
    check_same_cert(&tls_ca, tlsca, &id.cn, &hint)?;

    let now = validity.now.unix_timestamp();
    let check_leaf =
        |cert_path: &Path, key_path: &Path, issuer: &Ca, what: &str| -> Result<Vec<u8>, PkiError> {
            let der = read_cert_der(cert_path, &format!("the {what} of {}", id.cn), &hint)?;
            let cert = parse_cert(&der, cert_path, &format!("the {what} of {}", id.cn), &hint)?;
            if let Some(problem) = not_issued_by(&cert, issuer) {
                return Err(invalid(cert_path, problem));
            }
            let not_after = &cert.validity().not_after;
            if not_after.timestamp() <= now {
                return Err(invalid(cert_path, format!("expired on {not_after}")));
            }
            let key = read_key(key_path, &format!("the {what} key of {}", id.cn), &hint)?;
            if key.public_key_raw() != public_point(&cert) {
                return Err(invalid(
                    key_path,
                    format!("is not the key of {}", cert_path.display()),
                ));
            }
            Ok(der)
        };

    let der = check_leaf(&signcert, &keystore, ca, "enrollment certificate")?;
    let cert = parse_cert(&der, &signcert, "the enrollment certificate", &hint)?;
    let cns: Vec<&str> = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .collect();
    if cns != [id.cn.as_str()] {
        return Err(invalid(
            &signcert,
            format!("its subject CN is {cns:?}, expected {:?}", id.cn),
        ));
    }
    let ous: Vec<&str> = cert
        .subject()
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok())
        .collect();
    if ous != [id.ou] {
        return Err(invalid(
            &signcert,
            format!("its subject OUs are {ous:?}, expected exactly {:?}", id.ou),
        ));
    }

    let der = check_leaf(&tls_crt, &tls_key, tlsca, "TLS certificate")?;
    let cert = parse_cert(&der, &tls_crt, "the TLS certificate", &hint)?;
    let have = san_set(&cert);
    let missing: Vec<String> = id
        .tls_dns
        .iter()
        .cloned()
        .chain(id.tls_ips.iter().map(IpAddr::to_string))
        .filter(|n| !have.contains(n))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            &tls_crt,
            format!(
                "lacks the subject alternative names {missing:?} the topology now needs (was the workspace renamed?)"
            ),
        ));
    }
    Ok(())
}
