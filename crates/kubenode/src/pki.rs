//! The node's certificates: a CA, the API server's serving and kubelet
//! client certificates, the service account key.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::{NODE_IP, NodeError, io};

/// A CA; the API server's serving certificate (the node's address,
/// 127.0.0.1 and the in-cluster names) and its client certificate for the
/// kubelet, both signed by it; the service account signing key with its
/// public half (the API server reads public keys, or private keys only as
/// PKCS#1 or SEC1, not rcgen's PKCS#8). `testkit::apiserver` writes its
/// API server's with it too.
pub fn write_pki(dir: &Path) -> Result<(), NodeError> {
    let pki = |what: &'static str| move |source| NodeError::Pki { what, source };
    let ca_key = KeyPair::generate().map_err(pki("CA key"))?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "fabdev test node CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(pki("CA certificate"))?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(pki("serving key"))?;
    let mut serving = CertificateParams::default();
    serving
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving.is_ca = IsCa::ExplicitNoCa;
    serving.use_authority_key_identifier_extension = true;
    serving.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    for name in [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ] {
        let name = name.try_into().map_err(pki("a DNS name"))?;
        serving.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in [NODE_IP, Ipv4Addr::new(198, 19, 128, 1), Ipv4Addr::LOCALHOST] {
        serving
            .subject_alt_names
            .push(SanType::IpAddress(ip.into()));
    }
    let cert = serving
        .signed_by(&key, &issuer)
        .map_err(pki("serving certificate"))?;

    let client_key = KeyPair::generate().map_err(pki("kubelet client key"))?;
    let mut client = CertificateParams::default();
    client
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver-kubelet-client");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    client.is_ca = IsCa::ExplicitNoCa;
    client.use_authority_key_identifier_extension = true;
    client.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client
        .signed_by(&client_key, &issuer)
        .map_err(pki("kubelet client certificate"))?;

    let sa_key = KeyPair::generate().map_err(pki("service account key"))?;
    for (name, pem) in [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", cert.pem()),
        ("apiserver.key", key.serialize_pem()),
        ("apiserver-kubelet-client.crt", client_cert.pem()),
        ("apiserver-kubelet-client.key", client_key.serialize_pem()),
        ("sa.key", sa_key.serialize_pem()),
        ("sa.pub", sa_key.public_key_pem()),
    ] {
        let path = dir.join(name);
        fs::write(&path, pem).map_err(io(format!("write {}", path.display())))?;
    }
    Ok(())
}
