//! Host checks: what the node needs from this machine (root, binaries,
//! packages, the pause image), and where to find its tools.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{CNI_BIN_DIR, NodeError, PAUSE_IMAGE};

/// The Kubernetes binaries the node runs (from `scripts/setup/kube.sh`).
pub const KUBE_BINARIES: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "coredns",
];

/// What the host lacks for a node, as one sentence naming each missing
/// piece and how to get it; `Ok` when everything is there.
pub fn check_host(bin_dir: &Path) -> Result<(), NodeError> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (the node mounts, makes a bridge, sets iptables rules)".to_string());
    }
    let kube: Vec<&str> = KUBE_BINARIES
        .iter()
        .copied()
        .filter(|b| !bin_dir.join(b).is_file())
        .collect();
    if !kube.is_empty() {
        missing.push(format!(
            "{} in {} (run scripts/setup/kube.sh)",
            kube.join(", "),
            bin_dir.display()
        ));
    }
    for (tool, package) in [
        ("containerd", "containerd"),
        ("ctr", "containerd"),
        ("runc", "runc"),
        ("iptables", "iptables"),
        ("ip", "iproute2"),
        ("docker", "docker.io"),
        ("kill", "procps"),
        ("umount", "mount"),
    ] {
        if find_tool(tool).is_none() {
            missing.push(format!("{tool} (apt-get install {package})"));
        }
    }
    if find_crictl().is_none() {
        missing.push(
            "crictl (go install sigs.k8s.io/cri-tools/cmd/crictl; scripts/test.sh does)"
                .to_string(),
        );
    }
    for plugin in ["bridge", "host-local", "loopback", "portmap"] {
        if !Path::new(CNI_BIN_DIR).join(plugin).is_file() {
            missing.push(format!(
                "the CNI plugin {CNI_BIN_DIR}/{plugin} (apt-get install containernetworking-plugins)"
            ));
        }
    }
    if missing.is_empty() {
        let inspect = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", PAUSE_IMAGE])
            .output();
        if !matches!(inspect, Ok(ref o) if o.status.success()) {
            missing.push(format!(
                "the image {PAUSE_IMAGE} in the host's Docker (run scripts/setup/node-images.sh)"
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NodeError::Unavailable(format!(
            "missing {}",
            missing.join("; ")
        )))
    }
}

pub(crate) fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// crictl: on PATH, else where `go install` puts it.
pub(crate) fn find_crictl() -> Option<PathBuf> {
    find_tool("crictl").or_else(|| {
        let home = PathBuf::from(std::env::var_os("HOME")?);
        let gopath = std::env::var_os("GOPATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("go"));
        Some(gopath.join("bin/crictl")).filter(|p| p.is_file())
    })
}
