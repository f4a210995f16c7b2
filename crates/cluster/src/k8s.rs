//! Talking to the Kubernetes API with kube: a client from fabdev's own
//! kubeconfig, server-side apply of rendered objects, and watch-driven waits
//! with deadlines that say what they wait for and, on timeout, what the pods
//! last said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use k8s_openapi::api::core::v1::{Event as K8sEvent, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};

/// The field manager of every server-side apply fabdev makes.
pub const FIELD_MANAGER: &str = "fabdev";

mod access;
mod apply;
mod forward;
mod namespace;
mod wait;

pub use access::{Access, Resolved, client, refuse_commands, resolve_context, users_with_commands};
pub use apply::{Applied, Manifest, apply};
pub use forward::{Forward, port_forward};
pub use namespace::{
    NamespaceMeta, Ownership, WORKSPACE_ID, delete_namespace, namespace_labels, namespace_meta,
    namespace_uid, ownership,
};
pub use wait::{MANAGED_BY, pod_diagnostics, pods, wait_nodes_ready, wait_pods_ready};

/// Errors of talking to the Kubernetes API.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("cannot read kubeconfig {}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot build a Kubernetes client from {}", path.display())]
    Client {
        path: PathBuf,
        #[source]
        source: kube::Error,
    },
    #[error("{file}: not a Kubernetes object: {message}")]
    BadManifest { file: String, message: String },
    #[error("cannot apply {kind} {name}")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("watching {what} failed")]
    Watch {
        what: String,
        #[source]
        source: watcher::Error,
    },
    #[error("timed out after {}s waiting for {what}; last seen: {last}{}", timeout.as_secs(), diagnostics.as_deref().map(|d| format!("\n{d}")).unwrap_or_default())]
    Timeout {
        what: String,
        timeout: Duration,
        last: String,
        diagnostics: Option<String>,
    },
    #[error("cannot forward a local port to port {port} of pod {pod}: {message}")]
    Forward {
        pod: String,
        port: u16,
        message: String,
    },
    #[error("cannot read {what}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot read the kubeconfig {what}")]
    ClusterKubeconfig {
        what: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("{}", match context {
        Some(c) => format!("context {c:?} is not in the kubeconfig {what}; it has: {}", list_or_none(known)),
        None => format!("the kubeconfig {what} has no current context; its contexts: {}", list_or_none(known)),
    })]
    NoContext {
        what: String,
        context: Option<String>,
        known: Vec<String>,
    },
    #[error(
        "the kubeconfig {what} is inside the workspace and its user {user} runs a command ({command}): fabdev does not run commands named by a workspace's files, which may come from a cloned repository"
    )]
    UntrustedCommand {
        what: String,
        user: String,
        command: String,
    },
    #[error(
        "{what} is not the one fabdev checked (UID {uid}): it was deleted and made again meanwhile, so fabdev leaves it alone"
    )]
    Changed {
        what: String,
        uid: String,
        #[source]
        source: kube::Error,
    },
    #[error("the API server of context {context} ({server}) does not answer")]
    Unreachable {
        context: String,
        server: String,
        #[source]
        source: kube::Error,
    },
}

impl K8sError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            K8sError::Kubeconfig { .. } => Some("`fabdev up` writes it when it creates the cluster".to_string()),
            K8sError::ClusterKubeconfig { .. } => Some("name the cluster's kubeconfig with --kubeconfig FILE, `cluster.kubeconfig` in fabdev.yaml or $KUBECONFIG".to_string()),
            K8sError::NoContext { context: Some(_), .. } => Some("pass --context NAME or set `cluster.context` in fabdev.yaml to one of them (`kubectl config get-contexts`)".to_string()),
            K8sError::NoContext { context: None, .. } => Some("pass --context NAME or set `cluster.context` in fabdev.yaml".to_string()),
            K8sError::UntrustedCommand { .. } => Some("keep kubeconfigs that run credential plugins outside the workspace (in ~/.kube, or name one with --kubeconfig FILE outside it or $KUBECONFIG)".to_string()),
            K8sError::Unreachable { context, .. } => Some(format!("check the cluster is up and reachable from here (`kubectl --context {context} version`)")),
            _ => None,
        }
    }
}

fn list_or_none(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

/// The API server's own words for a refused request, else the error.
pub(crate) fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}
