//! Port-forwards to a pod, kept open on a local port until dropped.

use super::*;

/// A local TCP port that forwards each connection to a port of a pod (as
/// `kubectl port-forward` does). Stops when dropped.
#[derive(Debug)]
pub struct Forward {
    pub addr: std::net::SocketAddr,
    pod: String,
    port: u16,
    task: tokio::task::JoinHandle<()>,
    /// Why the last port-forward to the pod could not be opened, if it could not.
    last_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Forward {
    /// Why the API server refused the last port-forward (the pod is not
    /// running, has no node, …), as an error naming the pod and port. A
    /// client of the local port only sees its connection reset; this says why.
    pub fn failure(&self) -> Option<K8sError> {
        let message = self.last_error.lock().ok()?.clone()?;
        Some(K8sError::Forward {
            pod: self.pod.clone(),
            port: self.port,
            message,
        })
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forward a local port on 127.0.0.1 to `port` of pod `pod`.
pub async fn port_forward(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<Forward, K8sError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| K8sError::Forward {
            pod: pod.to_string(),
            port,
            message: format!("cannot bind a local port: {e}"),
        })?;
    let addr = listener.local_addr().map_err(|e| K8sError::Forward {
        pod: pod.to_string(),
        port,
        message: e.to_string(),
    })?;
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod_name = pod.to_string();
    let last_error = std::sync::Arc::new(std::sync::Mutex::new(None));
    let errors = last_error.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut local, _)) = listener.accept().await {
            let api = api.clone();
            let pod_name = pod_name.clone();
            let errors = errors.clone();
            tokio::spawn(async move {
                let mut pf = match api.portforward(&pod_name, &[port]).await {
                    Ok(pf) => pf,
                    Err(e) => {
                        if let Ok(mut last) = errors.lock() {
                            *last = Some(kube_message(&e));
                        }
                        return;
                    }
                };
                if let Some(mut remote) = pf.take_stream(port) {
                    let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
                }
                drop(pf);
            });
        }
    });
    Ok(Forward {
        addr,
        pod: pod.to_string(),
        port,
        task,
        last_error,
    })
}
