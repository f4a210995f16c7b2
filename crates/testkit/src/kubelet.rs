//! The fake kubelet of the tests against a real API server
//! ([`crate::apiserver`]), where no kubelet and no scheduler run: it
//! registers a node as Ready and marks pods Ready as they appear, nothing
//! more (no container runs, so exec and port-forward are refused).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// How often the fake kubelet looks for new pods: a kubelet's own sync
/// period stands in for a watch here.
const SYNC_PERIOD: Duration = Duration::from_millis(200);

/// Registers the node `name` with the API server as Ready, as its kubelet
/// would.
pub async fn register_node(client: &kube::Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name}
    }))
    .expect("a Node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .unwrap_or_else(|e| panic!("register node {name}: {e}"));
    let status = json!({"status": {"conditions": [{
        "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "the test plays the kubelet",
        "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"
    }]}});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("mark node {name} Ready: {e}"));
}

/// Marks every pod of a namespace Ready as it appears, until
/// [`FakeKubelet::stop`].
#[derive(Debug)]
pub struct FakeKubelet {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl FakeKubelet {
    pub fn start(client: kube::Client, namespace: &str) -> FakeKubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let task = tokio::spawn(async move {
            let mut marked = BTreeSet::new();
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(list) = pods.list(&ListParams::default()).await {
                    for p in list.items {
                        let name = p.metadata.name.clone().unwrap_or_default();
                        if marked.contains(&name) {
                            continue;
                        }
                        let status = json!({"status": {"phase": "Running", "conditions": [
                            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                            {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
                        ]}});
                        if pods
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                            .await
                            .is_ok()
                        {
                            marked.insert(name);
                        }
                    }
                }
                tokio::time::sleep(SYNC_PERIOD).await;
            }
            marked.len()
        });
        FakeKubelet { stop, task }
    }

    /// Stops it; how many pods it marked Ready.
    pub async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the fake kubelet")
    }
}
