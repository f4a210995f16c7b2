//! Keys and certificates, with rcgen.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use sha2::{Digest, Sha256};

use super::fsio::File;
use super::{CaKind, IdentitySpec, NODE_OUS_CONFIG, PkiError, Validity};
use crate::topology::k8s_org;

/// A usable CA: its certificate and an issuer holding its key.
pub(crate) struct Ca {
    /// Org name as in the spec.
    pub org: String,
    pub kind: CaKind,
    /// Where its certificate is (for messages).
    pub cert_path: PathBuf,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// Its Subject Key Identifier, which issued certificates carry as AKI.
    pub ski: Vec<u8>,
    /// DER SubjectPublicKeyInfo, to verify signatures of issued certificates.
    pub spki_der: Vec<u8>,
    pub issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("org", &self.org)
            .field("kind", &self.kind)
            .field("cert_path", &self.cert_path)
            .field("ski", &hex::encode(&self.ski))
            .finish_non_exhaustive()
    }
}

/// A fresh ECDSA P-256 key.
pub(crate) fn new_key() -> Result<KeyPair, rcgen::Error> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
}

/// cryptogen's SKI: SHA-256 of the uncompressed public point (all 32 bytes).
pub(crate) fn ski_of(key: &KeyPair) -> Vec<u8> {
    Sha256::digest(key.public_key_raw()).to_vec()
}

fn base_params(validity: Validity, key: &KeyPair, dn: DistinguishedName) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.not_before = validity.not_before;
    p.not_after = validity.not_after;
    p.distinguished_name = dn;
    p.key_identifier_method = KeyIdMethod::PreSpecified(ski_of(key));
    p
}

pub(crate) fn dn(org: &str, ou: Option<&str>, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    if let Some(ou) = ou {
        dn.push(DnType::OrganizationalUnitName, ou);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

impl Ca {
    /// A new self-signed CA for `org`; returns it and its key as PKCS#8 PEM.
    pub(crate) fn create(
        org: &str,
        kind: CaKind,
        cert_path: PathBuf,
        validity: Validity,
    ) -> Result<(Ca, String), rcgen::Error> {
        let key = new_key()?;
        let cn = format!("{}.{}", kind.stem(), k8s_org(org));
        let mut p = base_params(validity, &key, dn(org, None, &cn));
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let cert = p.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        let ca = Ca {
            org: org.to_string(),
            kind,
            cert_path,
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            ski: ski_of(&key),
            spki_der: rcgen::PublicKeyData::subject_public_key_info(&key),
            issuer: Issuer::new(p, key),
        };
        Ok((ca, key_pem))
    }
}

/// A certificate and its key, both PEM.
pub(crate) struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

pub(crate) fn leaf_params(
    validity: Validity,
    key: &KeyPair,
    dn: DistinguishedName,
) -> CertificateParams {
    let mut p = base_params(validity, key, dn);
    // Explicit CA:false; rcgen writes the SKI with it.
    p.is_ca = IsCa::ExplicitNoCa;
    p.use_authority_key_identifier_extension = true;
    p
}

/// The enrollment (MSP signing) certificate of a node or user: one NodeOU,
/// digitalSignature only.
pub(crate) fn enrollment(
    ca: &Ca,
    org: &str,
    ou: &str,
    cn: &str,
    validity: Validity,
) -> Result<Issued, rcgen::Error> {
    let key = new_key()?;
    let mut p = leaf_params(validity, &key, dn(org, Some(ou), cn));
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = p.signed_by(&key, &ca.issuer)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A TLS certificate: server and client auth, the given DNS and IP SANs.
pub(crate) fn tls(
    tlsca: &Ca,
    org: &str,
    cn: &str,
    dns: &[String],
    ips: &[std::net::IpAddr],
    validity: Validity,
) -> Result<Issued, rcgen::Error> {
    let key = new_key()?;
    let mut p = leaf_params(validity, &key, dn(org, None, cn));
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    for name in dns {
        p.subject_alt_names
            .push(SanType::DnsName(rcgen::string::Ia5String::try_from(
                name.as_str(),
            )?));
    }
    p.subject_alt_names
        .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let cert = p.signed_by(&key, &tlsca.issuer)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Every file of a node's or user's folder, in the order of
/// [`IdentitySpec::files`].
pub(crate) fn identity_files(
    id: &IdentitySpec,
    ca: &Ca,
    tlsca: &Ca,
    validity: Validity,
) -> Result<Vec<File>, PkiError> {
    let gen_err = |what: &str| {
        let what = format!("the {what} of {}", id.cn);
        let path = id.dir.clone();
        move |source| PkiError::Generate { what, path, source }
    };
    let sign = enrollment(ca, &id.org, id.ou, &id.cn, validity)
        .map_err(gen_err("enrollment certificate"))?;
    let tls = tls(tlsca, &id.org, &id.cn, &id.tls_dns, &id.tls_ips, validity)
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
    ] = id.files();
    Ok(vec![
        File::public(signcert, sign.cert_pem.as_bytes()),
        File::secret(keystore, sign.key_pem.as_bytes()),
        File::public(cacert, ca.cert_pem.as_bytes()),
        File::public(tlscacert, tlsca.cert_pem.as_bytes()),
        File::public(config, NODE_OUS_CONFIG.as_bytes()),
        File::public(tls_ca, tlsca.cert_pem.as_bytes()),
        File::public(tls_crt, tls.cert_pem.as_bytes()),
        File::secret(tls_key, tls.key_pem.as_bytes()),
    ])
}
