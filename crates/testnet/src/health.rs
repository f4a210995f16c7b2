//! Readiness and host ports: what a node's `/healthz` says
//! ([`crate::operations`] asks it), and the forwards from `127.0.0.1:<host port>` to a pod's port.

/// Whether a `/healthz` answer names only the `docker` check as failed:
/// a peer whose DinD daemon does not run (a network without DinD).
pub fn only_docker_failed(body: &str) -> bool {
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
