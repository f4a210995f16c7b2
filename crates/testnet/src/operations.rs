//! A node's operations endpoint (port 9443) as fabdev renders it: HTTPS
//! with the node's TLS certificate, `/healthz` and `/version` for anyone,
//! `/logspec` and `/metrics` only for a client certificate of the org's
//! TLS CA (Fabric's `fabhttp`).
//!
//! The server's certificate is not checked, as the kubelet's probe does not
//! check it: these requests ask a node how it is, they send no secret.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A client certificate and its key (PEM files) to present.
#[derive(Debug, Clone, Copy)]
pub struct ClientCert<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// One request to the operations endpoint at `address` (`host:port`), with
/// a deadline of 5 s: its status and body.
pub async fn request(
    address: &str,
    method: &str,
    path: &str,
    body: &str,
    client: Option<ClientCert<'_>>,
) -> std::io::Result<(u16, String)> {
    let config = client_config(client)?;
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(address).await?;
        let name = ServerName::try_from("fabdev-operations").map_err(std::io::Error::other)?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(head.as_bytes()).await?;
        let mut buf = Vec::new();
        // A server that closes without close_notify still sent its answer.
        match tls.read_to_end(&mut buf).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
            Err(e) => return Err(e),
        }
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{method} https://{address}{path}: no answer in 5s"),
            )
        })??;
    parse_answer(&buf)
}

/// `GET /healthz`: (status, body).
pub async fn healthz(address: &str) -> std::io::Result<(u16, String)> {
    request(address, "GET", "/healthz", "", None).await
}

fn parse_answer(buf: &[u8]) -> std::io::Result<(u16, String)> {
    let text = String::from_utf8_lossy(buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:.80}")))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

fn client_config(client: Option<ClientCert<'_>>) -> std::io::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)));
    match client {
        None => Ok(builder.with_no_client_auth()),
        Some(c) => {
            let read = |what: &str, path: &Path, e: rustls::pki_types::pem::Error| {
                std::io::Error::other(format!("{what} {}: {e}", path.display()))
            };
            let certs = CertificateDer::pem_file_iter(c.cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| read("client certificate", c.cert, e))?;
            let key =
                PrivateKeyDer::from_pem_file(c.key).map_err(|e| read("client key", c.key, e))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(std::io::Error::other)
        }
    }
}

/// Accepts the server's certificate unchecked (as the kubelet's HTTPS
/// probe does), but still checks that the server holds its key.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_its_status_and_body() {
        let (status, body) =
            parse_answer(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!((status, body.as_str()), (401, "no"));
        assert!(parse_answer(b"\x15\x03\x03").is_err());
    }
}
