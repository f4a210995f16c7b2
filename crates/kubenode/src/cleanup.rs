//! Cleanup: what a node (also a killed one) leaves on the host, found
//! ([`leftovers`]) and removed ([`cleanup`]): processes, pods, mounts,
//! network namespaces, iptables rules, the bridge, cgroups, kernel settings.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::host::find_crictl;
use crate::iptables;
use crate::process::run;
use crate::{
    BASE_DIR, BRIDGE, CGROUP_ROOT, DEVICE_PLUGIN_SOCKET, NodeError, SHIM_SOCKET_DIR, SYSCTLS, io,
};

/// What is left of a node on this host (processes, mounts, bridge,
/// iptables, cgroups, folders), each as a short description; empty when
/// nothing. Tests assert on it after teardown.
pub fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    let base = Path::new(BASE_DIR);
    if base.exists() {
        found.push(format!("{BASE_DIR} exists"));
    }
    for pid in our_pids(base) {
        found.push(format!("process {pid} ({})", cmdline(pid)));
    }
    for m in mounts_under(&[BASE_DIR]) {
        found.push(format!("mount {m}"));
    }
    for ns in our_netns() {
        found.push(format!("network namespace {ns}"));
    }
    if Path::new("/sys/class/net").join(BRIDGE).exists() {
        found.push(format!("bridge {BRIDGE}"));
    }
    let record = iptables::read_record(base);
    for family in iptables::FAMILIES {
        let before = record.as_deref().map(|r| iptables::record_for(r, family));
        found.extend(iptables::described(
            family,
            &iptables::save(family),
            before.as_ref(),
        ));
    }
    for dir in cgroup_dirs() {
        found.push(format!("cgroup {}", dir.display()));
    }
    for path in host_files(base) {
        found.push(format!("file {}", path.display()));
    }
    for set in router_ipsets(&ipset_names()) {
        found.push(format!("ipset {set}"));
    }
    found
}

/// The ipsets kube-router's NetworkPolicy controller makes (`KUBE-SRC-*`,
/// `KUBE-DST-*`, their `inet6:` twins) among `ipset list -n`'s names. The
/// node starts only where no other kube-proxy or CNI has `KUBE-*` chains
/// (`conflicts`), so sets of these names are its own kube-router's.
pub(crate) fn router_ipsets(names: &str) -> Vec<String> {
    names
        .lines()
        .map(str::trim)
        .filter(|n| {
            let bare = n.strip_prefix("inet6:").unwrap_or(n);
            bare.starts_with("KUBE-SRC-") || bare.starts_with("KUBE-DST-")
        })
        .map(str::to_string)
        .collect()
}

/// `ipset list -n` (empty without ipset).
fn ipset_names() -> String {
    Command::new("ipset")
        .args(["list", "-n"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Stop and remove every pod sandbox of the node's containerd.
pub(crate) fn remove_pods(sock: &Path) -> Result<(), NodeError> {
    let Some(crictl) = find_crictl() else {
        return Err(NodeError::Unavailable("crictl is missing".into()));
    };
    let mut cmd = Command::new(crictl);
    cmd.arg("--runtime-endpoint")
        .arg(format!("unix://{}", sock.display()))
        .args(["--timeout", "60s", "rmp", "--all", "--force"]);
    run(&mut cmd, Duration::from_secs(120)).map(drop)
}

/// Remove what a node leaves behind (also one that was killed): its
/// processes, the pods' processes, mounts, network namespaces, iptables
/// rules, the bridge, cgroups, kernel settings, [`BASE_DIR`]. The problems
/// met, if any.
pub(crate) fn cleanup(base: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    // Processes: the components of a killed run (by pid file, if the pid
    // still runs that program), containerd's shims for our socket, and every
    // process in the node's cgroups (containers, nested dockerd).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pids = our_pids(base);
        if pids.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            problems.push(format!(
                "processes still running after SIGKILL: {}",
                pids.iter()
                    .map(|p| format!("{p} ({})", cmdline(*p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            break;
        }
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .output();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Pods' network namespaces (an address in our pod range).
    for ns in our_netns() {
        let path = format!("/var/run/netns/{ns}");
        let _ = Command::new("umount").args(["-l", &path]).output();
        if let Err(e) = fs::remove_file(&path) {
            problems.push(format!("remove {path}: {e}"));
        }
    }
    // kube-proxy's and the kubelet's chains, CNI's, and our firewall: only
    // what this node made (the record of what existed before it).
    problems.extend(iptables::remove(iptables::read_record(base).as_deref()));
    // kube-router's ipsets, once no rule refers to them.
    for set in router_ipsets(&ipset_names()) {
        let mut cmd = Command::new("ipset");
        cmd.args(["destroy", &set]);
        if let Err(e) = run(&mut cmd, Duration::from_secs(10)) {
            problems.push(e.to_string());
        }
    }
    if Path::new("/sys/class/net").join(BRIDGE).exists() {
        let mut cmd = Command::new("ip");
        cmd.args(["link", "del", BRIDGE]);
        if let Err(e) = run(&mut cmd, Duration::from_secs(10)) {
            problems.push(e.to_string());
        }
    }
    // The shims' sockets: containerd 1.x puts them in /run/containerd/s
    // whatever its state folder, named by sha256(<address>/<namespace>/<id>);
    // a killed shim leaves its socket behind.
    problems.extend(remove_shim_sockets(base));
    // What the kubelet and containerd's CNI library write outside it.
    for path in host_files(base) {
        if let Err(e) = fs::remove_file(&path) {
            problems.push(format!("remove {}: {e}", path.display()));
        }
    }
    for dir in HOST_DIRS {
        // Only when empty: someone else may keep files there.
        let _ = fs::remove_dir(dir);
    }
    // Mounts under the base folder, deepest first.
    for m in mounts_under(&[BASE_DIR]) {
        let _ = Command::new("umount").args(["-l", &m]).output();
    }
    // cgroups, deepest first.
    for dir in cgroup_dirs() {
        if let Err(e) = fs::remove_dir(&dir) {
            problems.push(format!("rmdir {}: {e}", dir.display()));
        }
    }
    if let Err(e) = restore_sysctls(base) {
        problems.push(e.to_string());
    }
    if base.exists()
        && let Err(e) = fs::remove_dir_all(base)
    {
        problems.push(format!("remove {}: {e}", base.display()));
    }
    problems
}

/// Folders outside [`BASE_DIR`] that the kubelet and containerd's CNI
/// library write to whatever they are told (deepest first); removed at
/// teardown when they are empty.
pub(crate) const HOST_DIRS: &[&str] = &[
    "/var/log/containers",
    "/var/lib/kubelet/device-plugins",
    "/var/lib/kubelet",
    "/var/lib/cni/results",
    "/var/lib/cni",
];

/// The node's files outside [`BASE_DIR`]: the kubelet's log links in
/// /var/log/containers (to logs under [`BASE_DIR`]), its device-plugin
/// socket (when the node made it: its record exists, and a node starts only
/// where there was none), and containerd's CNI result cache of the node's pods (network
/// `fabdev-kubenode`, and `cni-loopback` of the same sandboxes).
pub(crate) fn host_files(base: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir("/var/log/containers") {
        for e in entries.flatten() {
            if fs::read_link(e.path()).is_ok_and(|t| t.starts_with(BASE_DIR)) {
                found.push(e.path());
            }
        }
    }
    let socket = Path::new(DEVICE_PLUGIN_SOCKET);
    if socket.exists() && iptables::read_record(base).is_some() {
        found.push(socket.to_path_buf());
    }
    let results = Path::new("/var/lib/cni/results");
    if let Ok(entries) = fs::read_dir(results) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix("fabdev-kubenode-")
                .and_then(|rest| rest.strip_suffix("-eth0"))
            else {
                continue;
            };
            found.push(e.path());
            let loopback = results.join(format!("cni-loopback-{id}-lo"));
            if loopback.exists() {
                found.push(loopback);
            }
        }
    }
    found
}

/// Remove the shim sockets of the node's tasks (a killed run's; a clean
/// shutdown removes its own).
pub(crate) fn remove_shim_sockets(base: &Path) -> Vec<String> {
    use sha2::Digest;
    let address = base.join("containerd/containerd.sock");
    let tasks = base.join("containerd/state/io.containerd.runtime.v2.task/k8s.io");
    let Ok(entries) = fs::read_dir(&tasks) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for e in entries.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        let key = format!("{}/k8s.io/{id}", address.display());
        let socket =
            Path::new(SHIM_SOCKET_DIR).join(hex::encode(sha2::Sha256::digest(key.as_bytes())));
        if socket.exists()
            && let Err(e) = fs::remove_file(&socket)
        {
            problems.push(format!("remove {}: {e}", socket.display()));
        }
    }
    problems
}

/// Processes of the node: components recorded in pid files (still running
/// the recorded program), containerd shims serving our socket, and every
/// process in the node's cgroups.
pub(crate) fn our_pids(base: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    if let Ok(entries) = fs::read_dir(base.join("pids")) {
        for e in entries.flatten() {
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            let mut lines = text.lines();
            let (Some(pid), Some(program)) = (lines.next(), lines.next()) else {
                continue;
            };
            let Ok(pid) = pid.trim().parse::<u32>() else {
                continue;
            };
            let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let name = Path::new(program).file_name();
            if exe.file_name().is_some() && exe.file_name() == name && !is_zombie(pid) {
                pids.push(pid);
            }
        }
    }
    let sock = base
        .join("containerd/containerd.sock")
        .display()
        .to_string();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let cmd = cmdline(pid);
            if cmd.contains("containerd-shim") && cmd.contains(&sock) && !is_zombie(pid) {
                pids.push(pid);
            }
        }
    }
    for dir in cgroup_dirs() {
        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(
                procs
                    .lines()
                    .filter_map(|l| l.trim().parse::<u32>().ok())
                    .filter(|p| !is_zombie(*p)),
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids.retain(|p| *p != std::process::id());
    pids
}

pub(crate) fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

pub(crate) fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Every cgroup folder of the node (`<hierarchy>/fabdev-kubenode/...`),
/// deepest first.
pub(crate) fn cgroup_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for hierarchy in cgroup_hierarchies() {
        let root = hierarchy.join(CGROUP_ROOT);
        if root.is_dir() {
            collect_dirs(&root, &mut dirs);
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs
}

/// The cgroup hierarchies: `/sys/fs/cgroup` itself on a cgroup v2 host; on
/// a v1 (or hybrid) host each mounted hierarchy under it (`cpu,cpuacct`,
/// `memory`, `unified`, ...; not the `cpu` -> `cpu,cpuacct` links).
pub(crate) fn cgroup_hierarchies() -> Vec<PathBuf> {
    let top = Path::new("/sys/fs/cgroup");
    if top.join("cgroup.controllers").is_file() {
        return vec![top.to_path_buf()];
    }
    let Ok(entries) = fs::read_dir(top) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect()
}

pub(crate) fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// Mount points at or under any of `prefixes`, deepest first.
pub(crate) fn mounts_under(prefixes: &[&str]) -> Vec<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<String> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| m.replace("\\040", " "))
        .filter(|m| {
            prefixes
                .iter()
                .any(|p| m == p || m.starts_with(&format!("{p}/")))
        })
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.matches('/').count()));
    found.dedup();
    found
}

/// Network namespaces in /var/run/netns that hold an address of the pod
/// range (the node's pods' namespaces, also of a killed run).
pub(crate) fn our_netns() -> Vec<String> {
    let Ok(entries) = fs::read_dir("/var/run/netns") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name.starts_with("cni-"))
        .filter(|name| {
            Command::new("ip")
                .args(["-n", name, "-4", "-o", "addr", "show"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains(" 198.19.0."))
                .unwrap_or(false)
        })
        .collect()
}

pub(crate) fn save_sysctls(base: &Path) -> Result<(), NodeError> {
    let mut saved = String::new();
    for key in SYSCTLS {
        let path = format!("/proc/sys/{key}");
        let value = fs::read_to_string(&path).map_err(io(format!("read {path}")))?;
        saved.push_str(&format!("{key}={}\n", value.trim()));
    }
    let file = base.join("sysctl.saved");
    fs::write(&file, saved).map_err(io(format!("write {}", file.display())))
}

pub(crate) fn restore_sysctls(base: &Path) -> Result<(), NodeError> {
    let file = base.join("sysctl.saved");
    let Ok(saved) = fs::read_to_string(&file) else {
        return Ok(());
    };
    for line in saved.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !SYSCTLS.contains(&key) {
            continue;
        }
        let path = format!("/proc/sys/{key}");
        let now = fs::read_to_string(&path).unwrap_or_default();
        if now.trim() != value {
            fs::write(&path, value).map_err(io(format!("restore {path} to {value}")))?;
        }
    }
    Ok(())
}

/// What another kubelet, kube-proxy or CNI on this host owns that the node
/// would take over or remove, one description each (the node refuses to
/// start beside any): a kubelet process in this network namespace that is
/// not the node's, the kubelet's device-plugin socket, IPv4 `KUBE-*` chains.
/// Asked after a killed run's leftovers are gone.
pub(crate) fn conflicts(base: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let ours = our_pids(base);
    let netns = fs::read_link("/proc/self/ns/net").ok();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let same_netns = fs::read_link(format!("/proc/{pid}/ns/net")).ok() == netns;
            if comm.trim() == "kubelet" && same_netns && !ours.contains(&pid) && !is_zombie(pid) {
                found.push(format!(
                    "a kubelet that is not this node's runs (pid {pid}: {})",
                    cmdline(pid)
                ));
            }
        }
    }
    if Path::new(DEVICE_PLUGIN_SOCKET).exists() {
        found.push(format!(
            "{DEVICE_PLUGIN_SOCKET} exists (another kubelet's; the node's kubelet would take it over)"
        ));
    }
    let chains = iptables::foreign_kube_chains(&iptables::save("iptables"));
    if !chains.is_empty() {
        found.push(format!(
            "iptables has KUBE-* chains that no node of fabdev's recorded (another kube-proxy \
             or kubelet's; if an old test node left them, remove them and the rules that \
             jump to them): {}",
            chains.join(", ")
        ));
    }
    found
}

#[cfg(test)]
mod ipset_tests {
    use super::router_ipsets;

    #[test]
    fn only_kube_routers_policy_sets_are_the_nodes() {
        let names = "KUBE-SRC-ABC\ninet6:KUBE-DST-XYZ\nKUBE-CLUSTER-IP\nmy-set\nKUBE-DST-Q\n";
        assert_eq!(
            router_ipsets(names),
            ["KUBE-SRC-ABC", "inet6:KUBE-DST-XYZ", "KUBE-DST-Q"]
        );
        assert!(router_ipsets("").is_empty());
    }
}
