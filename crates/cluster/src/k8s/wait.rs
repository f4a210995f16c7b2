//! Watch-driven waits with deadlines: nodes Ready, pods Ready (and, on
//! timeout, what the pods last said); the pods fabdev manages.

use super::*;

/// Watch `api` until `done` holds for the current set of objects (after the
/// first full listing), or `timeout` passes. `describe` tells, on timeout,
/// where things stood.
pub(super) async fn wait_for<K, D, S>(
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

pub(super) fn node_ready(n: &Node) -> bool {
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

pub(super) fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub(super) fn pod_phase(p: &Pod) -> String {
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

pub(super) fn summary<K>(objs: &BTreeMap<String, K>, state: impl Fn(&K) -> &str) -> String {
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
