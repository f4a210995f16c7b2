//! `fabdev doctor`: are the prerequisites of a local kind network in place,
//! or, with `provider: existing`, may fabdev run its network on that cluster?
//!
//! Each check gives a verdict, what it found, and what to do about it. The
//! probes that read the machine are separate from the verdicts, so the
//! verdicts are tested with made-up readings.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do, when not Ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    pub(crate) fn ok(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            hint: None,
        }
    }
    pub(crate) fn warn(name: &str, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            verdict: Verdict::Warn,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
    pub(crate) fn fail(name: &str, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            verdict: Verdict::Fail,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }
}

/// What doctor needs to know about the workspace.
#[derive(Debug, Clone)]
pub struct DoctorInput {
    /// kind binary given by flag or env, if any.
    pub kind: Option<PathBuf>,
    /// kind's node provider from fabdev.yaml (`cluster.kind.provider`), if
    /// any; else `KIND_EXPERIMENTAL_PROVIDER`, else what the machine has.
    pub kind_provider: Option<crate::provider::NodeProvider>,
    /// Host ports the kind port mappings will bind on 127.0.0.1.
    pub host_ports: Vec<u16>,
    /// The configured DinD image (`docker:28.5.1-dind`).
    pub dind_image: String,
    /// The Fabric image tag (`2.5`, `2.5.14`, `3.1.2`).
    pub fabric_tag: String,
    /// Name of the kind cluster: its ports are fabdev's own when it exists.
    pub cluster_exists: bool,
    /// With `provider: existing`: the cluster and fabdev's namespace on it.
    /// Then kind, the host's resources and ports are not checked, and the
    /// cluster is (see [`existing_cluster_checks`]).
    pub existing: Option<ExistingCluster>,
}

/// An existing cluster doctor checks.
#[derive(Debug, Clone)]
pub struct ExistingCluster {
    pub access: crate::k8s::Access,
    /// fabdev's namespace (the workspace's name).
    pub namespace: String,
}

/// Minimum memory Docker should be able to give kind and the network.
pub const MIN_MEMORY_BYTES: u64 = 4 << 30;
/// kind's recommended inotify limits (kind's known-issues page).
pub const MIN_INOTIFY_WATCHES: u64 = 524_288;
pub const MIN_INOTIFY_INSTANCES: u64 = 512;

/// Run every check.
pub async fn run(input: &DoctorInput) -> Vec<Check> {
    let mut checks = if input.existing.is_some() {
        vec![docker_check(docker_version().await)]
    } else {
        provider_checks(input.kind_provider).await
    };
    checks.push(dind_check(&input.dind_image, &input.fabric_tag));
    if let Some(existing) = &input.existing {
        checks.push(kubectl_check(
            "fabdev does not need it, but it helps to look inside the cluster (kubectl --context CONTEXT -n NAMESPACE ...)",
        ));
        checks.extend(existing_cluster_checks(&existing.access, &existing.namespace).await);
        return checks;
    }
    let kind = crate::kind::find_kind(input.kind.as_deref());
    checks.push(match kind {
        Ok(path) => {
            let k = crate::kind::Kind::new(path.clone(), crate::kind::ProcessRunner);
            match k.version().await {
                Ok(v) => Check::ok("kind", format!("{v} at {}", path.display())),
                Err(e) => Check::fail("kind", e.to_string(), "install or upgrade kind"),
            }
        }
        Err(e) => Check::fail(
            "kind",
            e.to_string().lines().next().unwrap_or("not found").to_string(),
            format!(
                "install kind (`go install sigs.k8s.io/kind@v0.33.0`, or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation), or name the binary with --kind PATH or {}",
                crate::kind::KIND_ENV
            ),
        ),
    });
    checks.push(kubectl_check(
        "fabdev does not need it, but it helps to look inside the cluster (kubectl --kubeconfig .fabdev/kubeconfig ...)",
    ));
    checks.push(cpu_check(
        std::thread::available_parallelism().map_or(1, usize::from),
    ));
    checks.push(memory_check(read_meminfo_available(Path::new(
        "/proc/meminfo",
    ))));
    checks.push(inotify_check(
        read_number(Path::new("/proc/sys/fs/inotify/max_user_watches")),
        read_number(Path::new("/proc/sys/fs/inotify/max_user_instances")),
    ));
    checks.push(ports_check(
        &input.host_ports,
        input.cluster_exists,
        port_is_free,
    ));
    checks
}

/// kind's node provider (which one, and why), then what that engine needs:
/// Docker answering and able to grant `--privileged`, or podman's settings,
/// /lib/modules and API socket.
pub async fn provider_checks(configured: Option<crate::provider::NodeProvider>) -> Vec<Check> {
    use crate::provider::{self, NodeProvider};
    let choice = match provider::choose_here(configured) {
        Ok(c) => c,
        Err(e) => {
            let (detail, hint) = split_hint(&e.to_string());
            return vec![Check::fail("provider", detail, hint)];
        }
    };
    let mut checks = vec![Check::ok("provider", choice.to_string())];
    match choice.provider {
        NodeProvider::Docker => {
            checks.push(docker_check(docker_version().await));
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let last = read_number(Path::new("/proc/sys/kernel/cap_last_cap")).unwrap_or(40);
            checks.push(docker_privileged_check(&provider::missing_capabilities(
                &status,
                u32::try_from(last).unwrap_or(40),
            )));
        }
        NodeProvider::Podman => {
            checks.extend(provider::podman_checks(&provider::read_podman().await));
        }
    }
    checks
}

/// Docker's `--privileged` (every kind node) asks for every capability the
/// kernel knows, and fails where the bounding set lacks one.
pub fn docker_privileged_check(missing: &[String]) -> Check {
    if missing.is_empty() {
        Check::ok(
            "docker privileged",
            "the capability bounding set is full: kind's privileged nodes can start",
        )
    } else {
        Check::fail(
            "docker privileged",
            format!(
                "the capability bounding set lacks {}: Docker's --privileged asks for every capability, so kind's nodes cannot start here (\"unable to apply caps: operation not permitted\")",
                missing.join(", ")
            ),
            "use podman, which gives a privileged container the bounding set: KIND_EXPERIMENTAL_PROVIDER=podman or `cluster: { kind: { provider: podman } }` in fabdev.yaml (then `fabdev doctor` checks what podman needs)",
        )
    }
}

fn kubectl_check(hint: &str) -> Check {
    match which::which("kubectl") {
        Ok(p) => Check::ok("kubectl", p.display().to_string()),
        Err(_) => Check::warn("kubectl", "not found on PATH", hint),
    }
}

/// The kinds of object fabdev applies (everything `network::render`
/// makes), as `(kind, API group, resource, namespaced)`.
pub const APPLIED_KINDS: &[(&str, &str, &str, bool)] = &[
    ("Namespace", "", "namespaces", false),
    ("Secret", "", "secrets", true),
    ("Service", "", "services", true),
    (
        "NetworkPolicy",
        "networking.k8s.io",
        "networkpolicies",
        true,
    ),
    ("StatefulSet", "apps", "statefulsets", true),
];

/// What fabdev does with each object it applies: server-side apply (get,
/// create, patch), listing, and `down`'s delete.
pub const APPLY_VERBS: &[&str] = &["create", "patch", "get", "list", "delete"];

/// One permission fabdev needs on an existing cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// In fabdev's namespace; else cluster-wide (the namespace object itself).
    pub namespaced: bool,
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        Ok(())
    }
}

/// Every permission fabdev needs: [`APPLY_VERBS`] on each of
/// [`APPLIED_KINDS`]; reading and watching pods (readiness, `status`);
/// `pods/portforward` (the nodes' endpoints, the DinD daemons) and
/// `pods/exec`.
pub fn permissions_needed() -> Vec<Permission> {
    let mut out = Vec::new();
    for (_, group, resource, namespaced) in APPLIED_KINDS {
        for verb in APPLY_VERBS {
            out.push(Permission {
                verb,
                group,
                resource,
                subresource: None,
                namespaced: *namespaced,
            });
        }
    }
    for verb in ["get", "list", "watch"] {
        out.push(Permission {
            verb,
            group: "",
            resource: "pods",
            subresource: None,
            namespaced: true,
        });
    }
    for sub in ["portforward", "exec"] {
        out.push(Permission {
            verb: "create",
            group: "",
            resource: "pods",
            subresource: Some(sub),
            namespaced: true,
        });
    }
    out
}

/// The checks of an existing cluster: the kubeconfig's context, the API
/// server's answer and version, RBAC for what fabdev does in `namespace`
/// (SelfSubjectAccessReviews), and whether privileged pods may run there
/// (Pod Security admission). A check that cannot run because an earlier
/// one failed is left out.
pub async fn existing_cluster_checks(access: &crate::k8s::Access, namespace: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let resolved = match access.resolve() {
        Ok(r) => {
            checks.push(Check::ok(
                "context",
                format!(
                    "{} (cluster {}, user {}) in {}",
                    r.context, r.cluster, r.user, r.source
                ),
            ));
            r
        }
        Err(e) => {
            let (detail, hint) = split_hint(&e.to_string());
            checks.push(Check::fail("context", detail, hint));
            return checks;
        }
    };
    let client = match resolved.client().await {
        Ok(c) => c,
        Err(e) => {
            let (detail, hint) = split_hint(&e.to_string());
            checks.push(Check::fail("api server", detail, hint));
            return checks;
        }
    };
    match resolved.server_version(&client).await {
        Ok(v) => checks.push(Check::ok(
            "api server",
            format!("Kubernetes {v} at {}", resolved.server),
        )),
        Err(e) => {
            let (detail, hint) = split_hint(&e.to_string());
            checks.push(Check::fail("api server", detail, hint));
            return checks;
        }
    }
    let mut answers = Vec::new();
    for p in permissions_needed() {
        let allowed = can_i(&client, &p, namespace).await;
        answers.push((p, allowed));
    }
    checks.push(rbac_check(namespace, &answers));
    checks.push(pod_security_check(
        namespace,
        crate::k8s::namespace_labels(&client, namespace)
            .await
            .map_err(|e| match e {
                crate::k8s::K8sError::Read { source, .. } => crate::k8s::kube_message(&source),
                other => other.to_string(),
            }),
    ));
    checks
}

/// An error's text `MESSAGE\n  hint: HINT` as (message, hint).
fn split_hint(text: &str) -> (String, String) {
    match text.split_once("\n  hint: ") {
        Some((m, h)) => (m.to_string(), h.to_string()),
        None => (text.to_string(), "see the message".to_string()),
    }
}

/// Whether the user of `client` may do `p` in `namespace` (the namespace
/// object itself for cluster-wide ones), by a SelfSubjectAccessReview.
pub async fn can_i(client: &kube::Client, p: &Permission, namespace: &str) -> Result<bool, String> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(p.verb.to_string()),
                group: Some(p.group.to_string()),
                resource: Some(p.resource.to_string()),
                subresource: p.subresource.map(str::to_string),
                namespace: p.namespaced.then(|| namespace.to_string()),
                // The namespace object: fabdev's own, by name (a list has none).
                name: (!p.namespaced && p.verb != "list").then(|| namespace.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    api.create(&kube::api::PostParams::default(), &review)
        .await
        .map(|r| r.status.is_some_and(|s| s.allowed))
        .map_err(|e| crate::k8s::kube_message(&e))
}

/// The verdict on RBAC: every permission fabdev needs, or the denied ones
/// by name.
pub fn rbac_check(namespace: &str, answers: &[(Permission, Result<bool, String>)]) -> Check {
    let denied: Vec<String> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Ok(false)))
        .map(|(p, _)| {
            if p.namespaced {
                p.to_string()
            } else {
                format!("{p} (cluster-wide)")
            }
        })
        .collect();
    let unknown: Vec<String> = answers
        .iter()
        .filter_map(|(p, a)| a.as_ref().err().map(|e| format!("{p}: {e}")))
        .collect();
    if !denied.is_empty() {
        return Check::fail(
            "rbac",
            format!("denied in namespace {namespace}: {}", denied.join(", ")),
            format!(
                "ask the cluster's admins for a Role in namespace {namespace} with these verbs, bound to your user, and for the namespace itself a ClusterRole on namespaces (get, patch and delete can be limited to resourceNames: [{namespace}], create and list cannot); `kubectl auth can-i --list -n {namespace}` shows what you may do"
            ),
        );
    }
    if !unknown.is_empty() {
        return Check::warn(
            "rbac",
            format!("cannot ask the API server: {}", unknown.join("; ")),
            "SelfSubjectAccessReview is allowed to every authenticated user by default; ask the cluster's admins",
        );
    }
    Check::ok(
        "rbac",
        format!(
            "all {} permissions fabdev needs in namespace {namespace} (apply, list and delete its objects, pods/portforward, pods/exec)",
            answers.len()
        ),
    )
}

/// The Pod Security admission label fabdev sets on its namespace: the
/// peers' DinD sidecars are privileged containers.
pub const POD_SECURITY_ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The verdict on privileged pods in fabdev's namespace, from its labels
/// (`Ok(None)`: no such namespace yet).
pub fn pod_security_check(
    namespace: &str,
    labels: Result<Option<std::collections::BTreeMap<String, String>>, String>,
) -> Check {
    const NAME: &str = "pod security";
    let fabdev_sets = format!("fabdev labels it {POD_SECURITY_ENFORCE}=privileged");
    match labels {
        Err(e) => Check::warn(
            NAME,
            format!("cannot read namespace {namespace}: {e}"),
            "the peers' DinD sidecars are privileged: make sure the namespace allows privileged pods",
        ),
        Ok(None) => Check::ok(
            NAME,
            format!("namespace {namespace} does not exist yet; {fabdev_sets} when it creates it"),
        ),
        Ok(Some(l)) => match l.get(POD_SECURITY_ENFORCE).map(String::as_str) {
            Some("privileged") => Check::ok(
                NAME,
                format!("namespace {namespace}: {POD_SECURITY_ENFORCE}=privileged"),
            ),
            None => Check::ok(
                NAME,
                format!(
                    "namespace {namespace} has no {POD_SECURITY_ENFORCE} label (the cluster's default applies until {fabdev_sets} on `up`)"
                ),
            ),
            Some(level) => Check::warn(
                NAME,
                format!(
                    "namespace {namespace}: {POD_SECURITY_ENFORCE}={level}, which refuses the peers' privileged DinD sidecars"
                ),
                format!(
                    "`fabdev up` sets it to privileged (a forced server-side apply); if the cluster's admins or a policy keep it at {level}, ask them to allow privileged pods in namespace {namespace}"
                ),
            ),
        },
    }
}

/// Docker server version, or why it could not be read.
pub async fn docker_version() -> Result<String, String> {
    let docker = bollard::Docker::connect_with_local_defaults().map_err(|e| e.to_string())?;
    let v = tokio::time::timeout(Duration::from_secs(5), docker.version())
        .await
        .map_err(|_| "no answer within 5s".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(v.version.unwrap_or_else(|| "unknown".into()))
}

pub fn docker_check(version: Result<String, String>) -> Check {
    match version {
        Ok(v) => Check::ok("docker", format!("Docker Engine {v}")),
        Err(e) => Check::fail(
            "docker",
            format!("cannot reach the Docker daemon: {e}"),
            "start Docker (kind runs its nodes as Docker containers), or set DOCKER_HOST",
        ),
    }
}

fn major_minor_patch(s: &str) -> Option<(u32, u32, Option<u32>)> {
    let mut it = s.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().and_then(|p| p.parse().ok());
    Some((major, minor, patch))
}

/// Docker Engine 29 breaks chaincode builds of Fabric <= 2.5.14 and
/// 3.0.0-3.1.3 (hyperledger/fabric#5350). The peer talks to its DinD sidecar,
/// so the sidecar's Docker version is the one that matters.
pub fn dind_check(dind_image: &str, fabric_tag: &str) -> Check {
    let tag = dind_image.rsplit_once(':').map_or("", |(_, t)| t);
    let docker = major_minor_patch(tag);
    let fabric = major_minor_patch(fabric_tag);
    let old_fabric = match fabric {
        Some((2, 5, Some(p))) => p <= 14,
        Some((3, 0, _)) => true,
        Some((3, 1, Some(p))) => p <= 3,
        _ => false, // "2.5" / "3.1" float to the newest patch release
    };
    match docker {
        Some((d, ..)) if d >= 29 && old_fabric => Check::warn(
            "dind",
            format!("{dind_image} with Fabric {fabric_tag}"),
            "Docker 29 breaks chaincode builds of Fabric <= 2.5.14 and 3.0-3.1.3 (hyperledger/fabric#5350): use a docker:28 DinD image or a newer Fabric",
        ),
        Some((d, ..)) if d < 25 && !old_fabric => Check::warn(
            "dind",
            format!("{dind_image} with Fabric {fabric_tag}"),
            "Fabric 2.5.15+ and 3.1.4+ refuse Docker daemons older than 25 (API 1.44): use a docker:28 DinD image",
        ),
        _ => Check::ok("dind", dind_image.to_string()),
    }
}

pub fn cpu_check(cpus: usize) -> Check {
    if cpus >= 2 {
        Check::ok("cpu", format!("{cpus} CPUs"))
    } else {
        Check::warn(
            "cpu",
            format!("{cpus} CPU"),
            "kind and a Fabric network want at least 2 CPUs",
        )
    }
}

pub fn memory_check(available: Option<u64>) -> Check {
    match available {
        Some(b) if b >= MIN_MEMORY_BYTES => {
            Check::ok("memory", format!("{} MiB available", b >> 20))
        }
        Some(b) => Check::warn(
            "memory",
            format!("{} MiB available", b >> 20),
            "a kind cluster with a Fabric network wants about 4 GiB free",
        ),
        None => Check::warn("memory", "unknown", "cannot read /proc/meminfo"),
    }
}

pub fn inotify_check(watches: Option<u64>, instances: Option<u64>) -> Check {
    match (watches, instances) {
        (Some(w), Some(i)) if w >= MIN_INOTIFY_WATCHES && i >= MIN_INOTIFY_INSTANCES => Check::ok(
            "inotify",
            format!("max_user_watches {w}, max_user_instances {i}"),
        ),
        (Some(w), Some(i)) => Check::warn(
            "inotify",
            format!("max_user_watches {w}, max_user_instances {i}"),
            format!(
                "kind's pods can fail with \"too many open files\": sudo sysctl fs.inotify.max_user_watches={MIN_INOTIFY_WATCHES} fs.inotify.max_user_instances={MIN_INOTIFY_INSTANCES}"
            ),
        ),
        _ => Check::warn("inotify", "unknown", "cannot read /proc/sys/fs/inotify"),
    }
}

/// Whether a host port can be bound on 127.0.0.1 now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

pub fn ports_check(ports: &[u16], cluster_exists: bool, free: impl Fn(u16) -> bool) -> Check {
    if cluster_exists {
        return Check::ok(
            "ports",
            format!("{} port mappings held by the existing cluster", ports.len()),
        );
    }
    let busy: Vec<String> = ports
        .iter()
        .filter(|p| !free(**p))
        .map(u16::to_string)
        .collect();
    if busy.is_empty() {
        Check::ok(
            "ports",
            format!("{} host ports free on 127.0.0.1", ports.len()),
        )
    } else {
        Check::fail(
            "ports",
            format!("in use on 127.0.0.1: {}", busy.join(", ")),
            "stop what holds them, or move fabdev's ports with `hostPortBase:` in fabdev.yaml",
        )
    }
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn read_meminfo_available(path: &Path) -> Option<u64> {
    parse_meminfo_available(&std::fs::read_to_string(path).ok()?)
}

fn parse_meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dind_and_fabric_versions() {
        assert_eq!(dind_check("docker:28.5.1-dind", "2.5").verdict, Verdict::Ok);
        assert_eq!(
            dind_check("docker:29.0.0-dind", "2.5.14").verdict,
            Verdict::Warn
        );
        assert_eq!(
            dind_check("docker:29.1-dind", "3.1.3").verdict,
            Verdict::Warn
        );
        assert_eq!(dind_check("docker:29.1-dind", "3.1.4").verdict, Verdict::Ok);
        assert_eq!(
            dind_check("docker:29.1-dind", "2.5.15").verdict,
            Verdict::Ok
        );
        assert_eq!(dind_check("docker:24.0-dind", "2.5").verdict, Verdict::Warn);
        assert_eq!(
            dind_check("docker:24.0-dind", "2.5.14").verdict,
            Verdict::Ok
        );
        assert!(
            dind_check("docker:29.0.0-dind", "2.5.14")
                .hint
                .is_some_and(|h| h.contains("#5350"))
        );
    }

    #[test]
    fn resources() {
        assert_eq!(cpu_check(1).verdict, Verdict::Warn);
        assert_eq!(cpu_check(2).verdict, Verdict::Ok);
        assert_eq!(memory_check(Some(8 << 30)).verdict, Verdict::Ok);
        assert_eq!(memory_check(Some(1 << 30)).verdict, Verdict::Warn);
        assert_eq!(
            parse_meminfo_available("MemTotal: 100 kB\nMemAvailable:   2048 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(inotify_check(Some(8192), Some(128)).verdict, Verdict::Warn);
        assert!(
            inotify_check(Some(8192), Some(128))
                .hint
                .is_some_and(|h| h.contains("sysctl"))
        );
        assert_eq!(inotify_check(Some(524_288), Some(512)).verdict, Verdict::Ok);
    }

    #[test]
    fn ports() {
        let c = ports_check(&[30000, 30001], false, |p| p != 30001);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.detail.contains("30001") && !c.detail.contains("30000"));
        assert_eq!(ports_check(&[30000], true, |_| false).verdict, Verdict::Ok);
        // A real listener makes its port busy.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!port_is_free(port));
        drop(l);
    }

    #[test]
    fn rbac_names_each_denied_permission() {
        let needed = permissions_needed();
        // Every verb on every applied kind, pods read and watched, port-forward and exec.
        assert_eq!(needed.len(), APPLIED_KINDS.len() * APPLY_VERBS.len() + 5);
        let all_ok: Vec<_> = needed.iter().map(|p| (p.clone(), Ok(true))).collect();
        assert_eq!(rbac_check("fab", &all_ok).verdict, Verdict::Ok);
        let answers: Vec<_> = needed
            .iter()
            .map(|p| {
                let denied = p.subresource == Some("exec")
                    || (p.resource == "statefulsets" && p.verb == "delete")
                    || (p.resource == "namespaces" && p.verb == "create");
                (p.clone(), Ok(!denied))
            })
            .collect();
        let c = rbac_check("fab", &answers);
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(
            c.detail,
            "denied in namespace fab: create namespaces (cluster-wide), delete statefulsets.apps, create pods/exec"
        );
        let mut unknown = all_ok.clone();
        unknown[0].1 = Err("forbidden".into());
        assert_eq!(rbac_check("fab", &unknown).verdict, Verdict::Warn);
    }

    #[test]
    fn pod_security_reads_the_enforce_label() {
        use std::collections::BTreeMap;
        let with = |level: &str| {
            Ok(Some(BTreeMap::from([(
                POD_SECURITY_ENFORCE.to_string(),
                level.to_string(),
            )])))
        };
        assert_eq!(
            pod_security_check("fab", with("privileged")).verdict,
            Verdict::Ok
        );
        let c = pod_security_check("fab", with("restricted"));
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.detail.contains("=restricted"), "{c:?}");
        let c = pod_security_check("fab", Ok(None));
        assert_eq!(c.verdict, Verdict::Ok);
        assert!(c.detail.contains("does not exist yet"), "{c:?}");
        assert_eq!(
            pod_security_check("fab", Ok(Some(BTreeMap::new()))).verdict,
            Verdict::Ok
        );
        assert_eq!(
            pod_security_check("fab", Err("forbidden".into())).verdict,
            Verdict::Warn
        );
    }

    #[test]
    fn docker_privileged_names_the_missing_capabilities() {
        assert_eq!(docker_privileged_check(&[]).verdict, Verdict::Ok);
        let c = docker_privileged_check(&["CAP_SYS_RESOURCE".to_string()]);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.detail.contains("lacks CAP_SYS_RESOURCE"), "{}", c.detail);
        assert!(
            c.hint
                .unwrap()
                .contains("KIND_EXPERIMENTAL_PROVIDER=podman")
        );
    }

    #[test]
    fn docker_unreachable_fails_with_a_hint() {
        let c = docker_check(Err("connection refused".into()));
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.hint.is_some_and(|h| h.contains("start Docker")));
    }
}
