//! The node's certificates: a CA, the API server's serving and kubelet
//! client certificates, etcd's (loopback only, client certificates
//! required) and the API server's client certificate for it, the service
//! account key. The folder is 0700, private keys 0600.

use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::{NODE_IP, NodeError, io};

/// A CA; the API server's serving certificate (the node's address,
/// 127.0.0.1 and the in-cluster names) and its client certificate for the
/// kubelet, both signed by it; etcd's serving (and peer) certificate for
/// 127.0.0.1 and the API server's client certificate for etcd; the service
/// account signing key with its public half (the API server reads public
/// keys, or private keys only as PKCS#1 or SEC1, not rcgen's PKCS#8).
/// `dir` is made 0700 and every private key written 0600.
/// `testkit::apiserver` writes its API server's with it too.
pub fn write_pki(dir: &Path) -> Result<(), NodeError> {
    private_dir(dir, 0o700)?;
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

    let leaf = |name: &str, usages: Vec<ExtendedKeyUsagePurpose>| {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = usages;
        params
    };
    // etcd serves clients and its (single) peer on loopback only, and
    // requires a client certificate of this CA on both.
    let etcd_key = KeyPair::generate().map_err(pki("etcd key"))?;
    let mut etcd = leaf(
        "etcd",
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    );
    etcd.subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    let name = "localhost".try_into().map_err(pki("a DNS name"))?;
    etcd.subject_alt_names.push(SanType::DnsName(name));
    let etcd_cert = etcd
        .signed_by(&etcd_key, &issuer)
        .map_err(pki("etcd certificate"))?;
    let etcd_client_key = KeyPair::generate().map_err(pki("etcd client key"))?;
    let etcd_client_cert = leaf(
        "kube-apiserver-etcd-client",
        vec![ExtendedKeyUsagePurpose::ClientAuth],
    )
    .signed_by(&etcd_client_key, &issuer)
    .map_err(pki("etcd client certificate"))?;

    let sa_key = KeyPair::generate().map_err(pki("service account key"))?;
    for (name, pem) in [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", cert.pem()),
        ("apiserver.key", key.serialize_pem()),
        ("apiserver-kubelet-client.crt", client_cert.pem()),
        ("apiserver-kubelet-client.key", client_key.serialize_pem()),
        ("etcd.crt", etcd_cert.pem()),
        ("etcd.key", etcd_key.serialize_pem()),
        ("apiserver-etcd-client.crt", etcd_client_cert.pem()),
        ("apiserver-etcd-client.key", etcd_client_key.serialize_pem()),
        ("sa.key", sa_key.serialize_pem()),
        ("sa.pub", sa_key.public_key_pem()),
    ] {
        let mode = if name.ends_with(".key") { 0o600 } else { 0o644 };
        write_file(&dir.join(name), pem.as_bytes(), mode)?;
    }
    Ok(())
}

/// Make `dir` (and its parents) and set its mode to `mode`.
pub(crate) fn private_dir(dir: &Path, mode: u32) -> Result<(), NodeError> {
    fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(io(format!("chmod {}", dir.display())))
}

/// Write `bytes` to `path` with `mode` (also when the file existed: its
/// mode is set before anything is written).
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), NodeError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)
        .map_err(io(format!("open {}", path.display())))?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(format!("chmod {}", path.display())))?;
    file.set_len(0)
        .map_err(io(format!("truncate {}", path.display())))?;
    file.write_all(bytes)
        .map_err(io(format!("write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_are_0600_in_a_0700_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("pki");
        write_pki(&dir).expect("pki");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let mut keys = 0;
        for e in fs::read_dir(&dir).expect("read pki").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let want = if name.ends_with(".key") { 0o600 } else { 0o644 };
            assert_eq!(mode(&e.path()), want, "{name}");
            keys += usize::from(name.ends_with(".key"));
        }
        assert_eq!(keys, 5, "apiserver, kubelet client, etcd, etcd client, sa");
    }

    #[test]
    fn a_file_that_existed_world_readable_becomes_private_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("k.key");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_file(&path, b"new", 0o600).expect("write_file");
        let meta = fs::metadata(&path).expect("metadata");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
    }
}
