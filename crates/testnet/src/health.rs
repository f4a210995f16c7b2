//! Readiness and host ports: a node's `/healthz` over plain HTTP, and
//! the forwards from `127.0.0.1:<host port>` to a pod's port.

use std::time::Duration;

pub(crate) fn only_docker_failed(body: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    let Some(checks) = v.get("failed_checks").and_then(|c| c.as_array()) else {
        return false;
    };
    !checks.is_empty()
        && checks
            .iter()
            .all(|c| c.get("component").and_then(|c| c.as_str()) == Some("docker"))
}

/// `GET /healthz` over plain HTTP/1.1: (status, body).
pub(crate) async fn healthz(address: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let io = async {
        let mut s = tokio::net::TcpStream::connect(address).await?;
        s.write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(3), io)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 3s"))??;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:.80}")))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

pub(crate) async fn forward(listener: tokio::net::TcpListener, target: std::net::SocketAddr) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        tokio::spawn(async move {
            match tokio::net::TcpStream::connect(target).await {
                Ok(mut outbound) => {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                // As a NodePort does when the pod does not listen: reset.
                Err(_) => {
                    let _ = inbound.set_zero_linger();
                }
            }
        });
    }
}
