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

/// Errors of talking to the Kubernetes API.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("cannot read kubeconfig {}: {source}\n  hint: `fabdev up` writes it when it creates the cluster", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot build a Kubernetes client from {}: {source}", path.display())]
    Client {
        path: PathBuf,
        #[source]
        source: kube::Error,
    },
    #[error("{file}: not a Kubernetes object: {message}")]
    BadManifest { file: String, message: String },
    #[error("cannot apply {kind} {name}: {source}")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("watching {what} failed: {source}")]
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
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "cannot read the kubeconfig {what}: {source}\n  hint: name the cluster's kubeconfig with --kubeconfig FILE, `cluster.kubeconfig` in fabdev.yaml or $KUBECONFIG"
    )]
    ClusterKubeconfig {
        what: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("{}", match context {
        Some(c) => format!("context {c:?} is not in the kubeconfig {what}; it has: {}\n  hint: pass --context NAME or set `cluster.context` in fabdev.yaml to one of them (`kubectl config get-contexts`)", list_or_none(known)),
        None => format!("the kubeconfig {what} has no current context; its contexts: {}\n  hint: pass --context NAME or set `cluster.context` in fabdev.yaml", list_or_none(known)),
    })]
    NoContext {
        what: String,
        context: Option<String>,
        known: Vec<String>,
    },
    #[error(
        "the API server of context {context} ({server}) does not answer: {source}\n  hint: check the cluster is up and reachable from here (`kubectl --context {context} version`)"
    )]
    Unreachable {
        context: String,
        server: String,
        #[source]
        source: kube::Error,
    },
}

fn list_or_none(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

/// How to reach a cluster fabdev does not own: which kubeconfig, which
/// context. Both left out read as kubectl does: `$KUBECONFIG` (a list of
/// files, merged), else `~/.kube/config`, and its current context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// An [`Access`] resolved against its kubeconfig: the context chosen, its
/// cluster's server, and where the kubeconfig came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where the kubeconfig was read (a path, or `$KUBECONFIG (a:b)`).
    pub source: String,
    pub context: String,
    pub cluster: String,
    pub user: String,
    pub server: String,
    kubeconfig: Kubeconfig,
}

impl Access {
    /// Where the kubeconfig is read from, for messages.
    pub fn source(&self) -> String {
        match (&self.kubeconfig, std::env::var_os("KUBECONFIG")) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(env)) if !env.is_empty() => {
                format!("$KUBECONFIG ({})", env.to_string_lossy())
            }
            (None, _) => default_kubeconfig()
                .map_or_else(|| "~/.kube/config".to_string(), |p| p.display().to_string()),
        }
    }

    /// Read the kubeconfig and find the context: the one named, else the
    /// current one. A context that is not there names the ones that are.
    pub fn resolve(&self) -> Result<Resolved, K8sError> {
        let source = self.source();
        let bad = |source_err| K8sError::ClusterKubeconfig {
            what: source.clone(),
            source: source_err,
        };
        let kc = match &self.kubeconfig {
            Some(p) => Kubeconfig::read_from(p).map_err(bad)?,
            None => match Kubeconfig::from_env().map_err(bad)? {
                Some(kc) => kc,
                None => Kubeconfig::read_from(
                    default_kubeconfig()
                        .ok_or_else(|| bad(kube::config::KubeconfigError::FindPath))?,
                )
                .map_err(bad)?,
            },
        };
        resolve_context(kc, source, self.context.as_deref())
    }
}

/// `$HOME/.kube/config`.
fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// The context `wanted` (else the current one) of a kubeconfig read from
/// `source`, with its cluster's server.
pub fn resolve_context(
    kc: Kubeconfig,
    source: String,
    wanted: Option<&str>,
) -> Result<Resolved, K8sError> {
    let known: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    let name = match wanted.or(kc.current_context.as_deref()) {
        Some(n) if known.iter().any(|k| k == n) => n.to_string(),
        _ => {
            return Err(K8sError::NoContext {
                what: source,
                context: wanted.or(kc.current_context.as_deref()).map(str::to_string),
                known,
            });
        }
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.clone())
        .unwrap_or_default();
    let server = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    Ok(Resolved {
        source,
        context: name,
        cluster: ctx.cluster,
        user: ctx.user.unwrap_or_default(),
        server,
        kubeconfig: kc,
    })
}

impl Resolved {
    /// A client for this context.
    pub async fn client(&self) -> Result<Client, K8sError> {
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(self.kubeconfig.clone(), &options)
            .await
            .map_err(|source| K8sError::ClusterKubeconfig {
                what: self.source.clone(),
                source,
            })?;
        Client::try_from(config).map_err(|source| K8sError::Client {
            path: PathBuf::from(&self.source),
            source,
        })
    }

    /// The API server's version (`v1.33.1`): whether it answers at all.
    pub async fn server_version(&self, client: &Client) -> Result<String, K8sError> {
        let info = tokio::time::timeout(Duration::from_secs(15), client.apiserver_version())
            .await
            .map_err(|_| K8sError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                source: kube::Error::Service(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no answer within 15s",
                ))),
            })?
            .map_err(|source| K8sError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                source,
            })?;
        Ok(info.git_version)
    }
}

/// A client that talks to the cluster named in fabdev's kubeconfig (never
/// the user's `~/.kube/config`).
pub async fn client(kubeconfig: &Path) -> Result<Client, K8sError> {
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|source| K8sError::Kubeconfig {
        path: kubeconfig.to_path_buf(),
        source,
    })?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|source| K8sError::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            source,
        })?;
    Client::try_from(config).map_err(|source| K8sError::Client {
        path: kubeconfig.to_path_buf(),
        source,
    })
}

/// One rendered object to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where it came from (a file name), for messages.
    pub file: String,
    pub yaml: String,
}

/// The result of applying one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub kind: String,
    pub name: String,
    /// Whether the apply created or changed the object: its content before
    /// and after, status aside (see [`apply`]).
    pub changed: bool,
}

fn parse_manifest(m: &Manifest) -> Result<(DynamicObject, ApiResource), K8sError> {
    let bad = |message: String| K8sError::BadManifest {
        file: m.file.clone(),
        message,
    };
    let obj: DynamicObject = serde_saphyr::from_str(&m.yaml).map_err(|e| bad(e.to_string()))?;
    let types = obj
        .types
        .as_ref()
        .ok_or_else(|| bad("no apiVersion/kind".into()))?;
    let (group, version) = match types.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), types.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
    Ok((obj, ApiResource::from_gvk(&gvk)))
}

/// What an apply by fabdev can change in an object: everything but its
/// status, its resourceVersion and the managedFields entries of status
/// writers.
///
/// Controllers write status all the time (the StatefulSet controller right
/// after an object is created, again whenever its pods change), and every
/// write bumps the resourceVersion. Comparing resourceVersions before and
/// after the apply therefore said "changed" whenever such a write landed
/// between the GET and the PATCH, as it did against a real API server with
/// the StatefulSet controller running (crates/cluster/tests/apiserver.rs).
fn applied_content(obj: DynamicObject) -> (ObjectMeta, serde_json::Value) {
    let DynamicObject {
        mut metadata,
        mut data,
        ..
    } = obj;
    metadata.resource_version = None;
    if let Some(fields) = metadata.managed_fields.as_mut() {
        fields.retain(|f| f.subresource.as_deref().unwrap_or_default().is_empty());
    }
    if let Some(map) = data.as_object_mut() {
        map.remove("status");
    }
    (metadata, data)
}

/// Server-side apply every object in order (field manager `fabdev`, forced,
/// so fabdev's fields win over earlier hand edits). Applying the same objects
/// again changes nothing and reports `changed: false`; a status written
/// meanwhile by a controller does not count as a change.
pub async fn apply(client: &Client, manifests: &[Manifest]) -> Result<Vec<Applied>, K8sError> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        let (obj, ar) = parse_manifest(m)?;
        let name = obj
            .metadata
            .name
            .clone()
            .ok_or_else(|| K8sError::BadManifest {
                file: m.file.clone(),
                message: "no metadata.name".into(),
            })?;
        let api: Api<DynamicObject> = match &obj.metadata.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let before = api.get_opt(&name).await.map_err(|source| K8sError::Apply {
            kind: ar.kind.clone(),
            name: name.clone(),
            source,
        })?;
        let after = api
            .patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|source| K8sError::Apply {
                kind: ar.kind.clone(),
                name: name.clone(),
                source,
            })?;
        // Same resourceVersion: nothing was written at all. Otherwise compare
        // what fabdev's apply can change (a controller may have written the
        // status in between).
        let changed = match before {
            None => true,
            Some(b) if b.metadata.resource_version == after.metadata.resource_version => false,
            Some(b) => applied_content(b) != applied_content(after),
        };
        out.push(Applied {
            kind: ar.kind.clone(),
            name,
            changed,
        });
    }
    Ok(out)
}

/// Watch `api` until `done` holds for the current set of objects (after the
/// first full listing), or `timeout` passes. `describe` tells, on timeout,
/// where things stood.
async fn wait_for<K, D, S>(
    api: Api<K>,
    config: watcher::Config,
    what: &str,
    timeout: Duration,
    done: D,
    describe: S,
) -> Result<BTreeMap<String, K>, (K8sError, BTreeMap<String, K>)>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    D: Fn(&BTreeMap<String, K>) -> bool,
    S: Fn(&BTreeMap<String, K>) -> String,
{
    let mut seen: BTreeMap<String, K> = BTreeMap::new();
    let mut listed = false;
    let stream = watcher(api, config);
    futures_util::pin_mut!(stream);
    let run = async {
        while let Some(ev) = stream.try_next().await.map_err(|source| K8sError::Watch {
            what: what.to_string(),
            source,
        })? {
            match ev {
                watcher::Event::Init => {
                    seen.clear();
                    listed = false;
                }
                watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                    seen.insert(o.meta().name.clone().unwrap_or_default(), o);
                }
                watcher::Event::Delete(o) => {
                    seen.remove(&o.meta().name.clone().unwrap_or_default());
                }
                watcher::Event::InitDone => listed = true,
            }
            if listed && done(&seen) {
                return Ok(());
            }
        }
        Err(K8sError::Timeout {
            what: what.to_string(),
            timeout,
            last: "the watch ended".into(),
            diagnostics: None,
        })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(())) => Ok(seen),
        Ok(Err(e)) => Err((e, seen)),
        Err(_) => {
            let last = describe(&seen);
            Err((
                K8sError::Timeout {
                    what: what.to_string(),
                    timeout,
                    last,
                    diagnostics: None,
                },
                seen,
            ))
        }
    }
}

fn node_ready(n: &Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Wait until the cluster has at least one node and every node is Ready.
pub async fn wait_nodes_ready(client: &Client, timeout: Duration) -> Result<(), K8sError> {
    let api: Api<Node> = Api::all(client.clone());
    wait_for(
        api,
        watcher::Config::default(),
        "every node to be Ready",
        timeout,
        |nodes| !nodes.is_empty() && nodes.values().all(node_ready),
        |nodes| summary(nodes, |n| if node_ready(n) { "Ready" } else { "NotReady" }),
    )
    .await
    .map(drop)
    .map_err(|(e, _)| e)
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_phase(p: &Pod) -> String {
    if pod_ready(p) {
        return "Ready".into();
    }
    // The most telling waiting reason of any container (CrashLoopBackOff,
    // ErrImageNeverPull, ...), else the phase.
    let status = p.status.as_ref();
    let waiting = status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .find_map(|c| {
            let w = c.state.as_ref()?.waiting.as_ref()?;
            Some(format!(
                "{}: {}",
                c.name,
                w.reason.clone().unwrap_or_default()
            ))
        });
    waiting.unwrap_or_else(|| {
        status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into())
    })
}

fn summary<K>(objs: &BTreeMap<String, K>, state: impl Fn(&K) -> &str) -> String {
    if objs.is_empty() {
        return "none yet".into();
    }
    objs.iter()
        .map(|(n, o)| format!("{n} {}", state(o)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Wait until the pods matching `selector` in `namespace` number `expected`
/// and are all Ready. On timeout the error carries each unready pod's last
/// events and log lines.
pub async fn wait_pods_ready(
    client: &Client,
    namespace: &str,
    selector: &str,
    expected: usize,
    timeout: Duration,
) -> Result<(), K8sError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let what = format!("{expected} pod(s) with {selector} in namespace {namespace} to be Ready");
    let result = wait_for(
        api,
        watcher::Config::default().labels(selector),
        &what,
        timeout,
        |pods| pods.len() >= expected && pods.values().all(pod_ready),
        |pods| {
            let phases: BTreeMap<String, String> = pods
                .iter()
                .map(|(n, p)| (n.clone(), pod_phase(p)))
                .collect();
            summary(&phases, String::as_str)
        },
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err((
            K8sError::Timeout {
                what,
                timeout,
                last,
                ..
            },
            pods,
        )) => {
            let mut diag = String::new();
            for (name, pod) in pods.iter().filter(|(_, p)| !pod_ready(p)) {
                diag.push_str(&pod_diagnostics(client, namespace, name, pod).await);
            }
            Err(K8sError::Timeout {
                what,
                timeout,
                last,
                diagnostics: (!diag.is_empty()).then_some(diag),
            })
        }
        Err((e, _)) => Err(e),
    }
}

/// The last events of a pod and the last log lines of its containers that
/// are not ready, as indented text. Failures to read them are said inline:
/// diagnostics never hide the original timeout.
pub async fn pod_diagnostics(client: &Client, namespace: &str, name: &str, pod: &Pod) -> String {
    let mut out = format!("  pod {name}:\n");
    let events: Api<K8sEvent> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    match events.list(&lp).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
            for e in items.iter().rev().take(5).rev() {
                out.push_str(&format!(
                    "    event {}: {}\n",
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default().trim()
                ));
            }
        }
        Err(e) => out.push_str(&format!("    (cannot list events: {e})\n")),
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let unready: Vec<String> = pod
        .status
        .iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .filter(|c| !c.ready)
        .map(|c| c.name.clone())
        .collect();
    for container in unready {
        let lp = LogParams {
            container: Some(container.clone()),
            tail_lines: Some(20),
            // A line without end is not read without end.
            limit_bytes: Some(64 * 1024),
            ..LogParams::default()
        };
        match pods.logs(name, &lp).await {
            Ok(text) => {
                for line in text.lines() {
                    out.push_str(&format!("    {container}| {line}\n"));
                }
            }
            Err(e) => out.push_str(&format!("    ({container}: no logs: {e})\n")),
        }
    }
    out
}

/// Namespaces and cluster-scoped objects fabdev made carry this label.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by=fabdev";

/// Names of the pods in a namespace with their readiness, for `status`.
pub async fn pods(client: &Client, namespace: &str) -> Result<Vec<(String, bool)>, K8sError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(MANAGED_BY))
        .await
        .map_err(|source| K8sError::Read {
            what: format!("pods in namespace {namespace}"),
            source,
        })?;
    Ok(list
        .items
        .iter()
        .map(|p| (p.metadata.name.clone().unwrap_or_default(), pod_ready(p)))
        .collect())
}

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

/// The API server's own words for a refused request, else the error.
pub(crate) fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

/// A namespace's labels, or `None` when there is no such namespace.
pub async fn namespace_labels(
    client: &Client,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(ns) => Ok(ns.map(|ns| ns.metadata.labels.unwrap_or_default())),
        Err(source) => Err(K8sError::Read {
            what: format!("namespace {name}"),
            source,
        }),
    }
}

/// Delete a namespace and wait until it is gone (its objects with it).
/// Returns false when there was no such namespace.
pub async fn delete_namespace(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<bool, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::DeleteParams;
    use kube::runtime::wait::{await_condition, conditions};

    let api: Api<Namespace> = Api::all(client.clone());
    let uid = match api.get_opt(name).await {
        Ok(Some(ns)) => ns.metadata.uid.unwrap_or_default(),
        Ok(None) => return Ok(false),
        Err(source) => {
            return Err(K8sError::Read {
                what: format!("namespace {name}"),
                source,
            });
        }
    };
    match api.delete(name, &DeleteParams::foreground()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(true),
        Err(source) => {
            return Err(K8sError::Apply {
                kind: "Namespace".into(),
                name: name.into(),
                source,
            });
        }
    }
    let what = format!("namespace {name} to be deleted");
    match tokio::time::timeout(
        timeout,
        await_condition(api, name, conditions::is_deleted(&uid)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) => Err(K8sError::Timeout {
            what,
            timeout,
            last: e.to_string(),
            diagnostics: None,
        }),
        Err(_) => Err(K8sError::Timeout {
            what,
            timeout,
            last: "still terminating".into(),
            diagnostics: None,
        }),
    }
}
