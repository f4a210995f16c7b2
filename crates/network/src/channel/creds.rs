//! Reading and checking the certificates and keys a channel call uses,
//! before any of them reaches a fabric-sdk constructor (which would panic on
//! a bad key) or a TLS library.

use std::path::{Path, PathBuf};

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey;

use super::ChannelError;

/// A certificate and the private key that belongs to it, both PEM.
#[derive(Clone)]
pub(crate) struct KeyPair {
    pub cert_pem: Vec<u8>,
    pub key_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").finish_non_exhaustive()
    }
}

struct Ctx<'a> {
    node: &'a str,
    what: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(
        &self,
        problem: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ChannelError {
        ChannelError::Crypto {
            node: self.node.to_string(),
            what: self.what.to_string(),
            path: self.path.to_path_buf(),
            problem: problem.into(),
            source,
        }
    }

    fn read(&self) -> Result<Vec<u8>, ChannelError> {
        std::fs::read(self.path).map_err(|e| {
            let problem = if e.kind() == std::io::ErrorKind::NotFound {
                "is missing".to_string()
            } else {
                "cannot be read".to_string()
            };
            self.err(problem, Some(Box::new(e)))
        })
    }
}

/// Parse the first PEM block of `pem` as an X.509 certificate and return its
/// subject public key (SEC1 point for EC keys).
fn cert_public_key(ctx: &Ctx<'_>, pem: &[u8]) -> Result<Vec<u8>, ChannelError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem)
        .map_err(|e| ctx.err("is not PEM", Some(Box::new(e))))?;
    if block.label != "CERTIFICATE" {
        return Err(ctx.err(
            format!("holds a PEM `{}` block, not a `CERTIFICATE`", block.label),
            None,
        ));
    }
    let cert = block
        .parse_x509()
        .map_err(|e| ctx.err("is not a valid X.509 certificate", Some(Box::new(e))))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// A CA certificate (PEM) to verify a node's TLS server certificate with.
pub(crate) fn ca_cert(node: &str, what: &str, path: &Path) -> Result<Vec<u8>, ChannelError> {
    let ctx = Ctx { node, what, path };
    let pem = ctx.read()?;
    cert_public_key(&ctx, &pem)?;
    Ok(pem)
}

/// A certificate and its key: the certificate must parse, the key must be a
/// PKCS#8 ECDSA P-256 key (parsed exactly as fabric-sdk's `IdentityBuilder`
/// does) and belong to the certificate.
pub(crate) fn key_pair(
    node: &str,
    who: &str,
    cert_path: PathBuf,
    key_path: PathBuf,
) -> Result<KeyPair, ChannelError> {
    let cert_what = format!("{who} certificate");
    let cert_ctx = Ctx {
        node,
        what: &cert_what,
        path: &cert_path,
    };
    let cert_pem = cert_ctx.read()?;
    let public = cert_public_key(&cert_ctx, &cert_pem)?;

    let key_what = format!("{who} private key");
    let key_ctx = Ctx {
        node,
        what: &key_what,
        path: &key_path,
    };
    let key_bytes = key_ctx.read()?;
    let key_pem = String::from_utf8(key_bytes)
        .map_err(|e| key_ctx.err("is not PEM text", Some(Box::new(e))))?;
    // fabric-sdk strips "EC " from the labels before parsing; do the same so
    // that what passes here is what it accepts.
    let key = SigningKey::from_pkcs8_pem(&key_pem.replace("EC ", "")).map_err(|e| {
        key_ctx.err(
            format!("is not a PKCS#8 PEM ECDSA P-256 private key ({e})"),
            None,
        )
    })?;
    let cert_key = VerifyingKey::from_sec1_bytes(&public)
        .map_err(|_| cert_ctx.err("does not hold an ECDSA P-256 public key", None))?;
    if key.verifying_key() != &cert_key {
        return Err(key_ctx.err(
            format!("does not belong to the certificate {}", cert_path.display()),
            None,
        ));
    }
    Ok(KeyPair { cert_pem, key_pem })
}
