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

mod existing;
pub use existing::*;

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
            return vec![failed("provider", e.to_string(), e.hint())];
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

/// A failed check of an error: its message, and its hint (the hint is
/// data, [`K8sError::hint`], [`ProviderError::hint`]).
///
/// [`K8sError::hint`]: crate::k8s::K8sError::hint
/// [`ProviderError::hint`]: crate::provider::ProviderError::hint
fn failed(name: &str, message: String, hint: Option<String>) -> Check {
    Check::fail(
        name,
        message,
        hint.unwrap_or_else(|| "see the message".to_string()),
    )
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
