//! The container engine kind runs its nodes on: Docker or podman, as kind
//! itself supports (`KIND_EXPERIMENTAL_PROVIDER`). Which one is chosen from
//! fabdev.yaml (`cluster.kind.provider`), the environment, or what the
//! machine has, and the choice says why. fabdev talks to the chosen engine
//! through its Docker-compatible API (podman's API socket for podman): host
//! images go in and out there, and the kind nodes are its containers.
//!
//! The readings of the machine ([`Machine`]) are separate from the choice
//! and from the doctor's verdicts on podman's prerequisites, so both are
//! tested with made-up readings.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::images::{Daemon, ImageError};

/// The variable kind reads to pick its node provider.
pub const PROVIDER_ENV: &str = "KIND_EXPERIMENTAL_PROVIDER";
/// podman's API socket for root (`podman system service`, `podman.socket`).
pub const PODMAN_ROOT_SOCKET: &str = "/run/podman/podman.sock";
/// Names the kind node image (`kind create cluster --image`) when
/// fabdev.yaml's `cluster.kind.nodeImage` does not; kind's default
/// (kindest/node) when neither does.
pub const NODE_IMAGE_ENV: &str = "FABDEV_KIND_NODE_IMAGE";
/// The label of the offline kind node image (scripts/setup/kind-node-image.sh);
/// its value is the image's build key.
pub const OFFLINE_NODE_LABEL: &str = "dev.fabdev.kind-node";

/// A container engine kind can run its nodes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeProvider {
    Docker,
    Podman,
}

impl NodeProvider {
    pub fn parse(s: &str) -> Option<NodeProvider> {
        match s {
            "docker" => Some(NodeProvider::Docker),
            "podman" => Some(NodeProvider::Podman),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeProvider::Docker => "docker",
            NodeProvider::Podman => "podman",
        }
    }
}

impl fmt::Display for NodeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of choosing or reaching a provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(
        "{PROVIDER_ENV}={value:?} is not a provider fabdev drives\n  hint: set it to docker or podman, or unset it"
    )]
    UnknownEnv { value: String },
    #[error(
        "podman's API socket {} is not there: fabdev moves images through it\n  hint: start it: `systemctl enable --now podman.socket` (root) or `systemctl --user enable --now podman.socket`, or run `podman system service --time=0 unix://{} &`; or name another socket with CONTAINER_HOST=unix://PATH",
        path.display(), path.display()
    )]
    NoPodmanSocket { path: PathBuf },
    #[error(transparent)]
    Daemon(#[from] ImageError),
    #[error("cannot {action} on {daemon}")]
    Api {
        action: String,
        daemon: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error(
        "cannot remove podman's CNI chains with `{command}`: {output}\n  hint: remove them by hand (`iptables -t nat -S | grep CNI-`), or leave them: they are empty"
    )]
    Chains { command: String, output: String },
}

/// The network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// What [`remove_podman_leftovers`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Leftovers {
    /// The `kind` network (no container was on it any more).
    pub network: bool,
    /// The chains podman's CNI plugins leave in the host's netfilter
    /// tables (`iptables-save` table and chain).
    pub chains: Vec<String>,
}

impl fmt::Display for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.network {
            parts.push(format!("network {KIND_NETWORK} removed"));
        }
        if !self.chains.is_empty() {
            // "iptables-save: nat CNI-HOSTPORT-DNAT" → CNI-HOSTPORT-DNAT,
            // once for IPv4 and IPv6.
            let names: std::collections::BTreeSet<&str> = self
                .chains
                .iter()
                .filter_map(|c| c.rsplit(' ').next())
                .collect();
            parts.push(format!(
                "podman's CNI chains removed ({})",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if parts.is_empty() {
            f.write_str("nothing left behind")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// After the last kind cluster on podman is deleted: removes the `kind`
/// network when no container is on it, and, when podman has no container
/// at all, the chains its CNI plugins (firewall, portmap) leave in the
/// host's iptables tables for good (`CNI-FORWARD` jumped to from FORWARD,
/// `CNI-HOSTPORT-*` from the nat table's hooks). podman (4.x with CNI)
/// removes neither itself; the chains sit beside the host's Docker rules.
pub async fn remove_podman_leftovers(api: &Daemon) -> Result<Leftovers, ProviderError> {
    use bollard::query_parameters::ListContainersOptions;
    let docker = api.docker("remove kind's network").await?;
    let api_err = |action: &str| {
        let daemon = api.label().to_string();
        let action = action.to_string();
        move |source| ProviderError::Api {
            action,
            daemon,
            source: Box::new(source),
        }
    };
    let mut out = Leftovers::default();
    match docker
        .inspect_network(
            KIND_NETWORK,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(n) if n.containers.as_ref().is_none_or(|c| c.is_empty()) => {
            docker
                .remove_network(KIND_NETWORK)
                .await
                .map_err(api_err("remove network kind"))?;
            out.network = true;
        }
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => return Err(api_err("inspect network kind")(e)),
    }
    let all = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(api_err("list containers"))?;
    if all.is_empty() {
        out.chains = remove_cni_chains().await?;
    }
    Ok(out)
}

/// The iptables-restore input that removes CNI's chains from one table
/// (as `iptables-save` printed it): the rules of built-in chains that jump
/// to them, then the chains. Empty when there are none.
pub fn cni_chain_removal(save: &str) -> (String, Vec<String>) {
    let mut table = String::new();
    // Per table: the jumps from built-in chains, the flushes, the deletes
    // (in that order: a chain can only go once nothing jumps to it).
    let mut script: BTreeMap<String, [Vec<String>; 3]> = BTreeMap::new();
    let mut removed = Vec::new();
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(c) = line.strip_prefix(':') {
            let name = c.split_whitespace().next().unwrap_or_default();
            if name.starts_with("CNI-") {
                let e = script.entry(table.clone()).or_default();
                e[1].push(format!("-F {name}"));
                e[2].push(format!("-X {name}"));
                removed.push(format!("{table} {name}"));
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let chain = rule.split_whitespace().next().unwrap_or_default();
            if !chain.starts_with("CNI-") && rule.contains(" -j CNI-") {
                script.entry(table.clone()).or_default()[0].push(format!("-D {rule}"));
            }
        }
    }
    let mut text = String::new();
    for (table, [jumps, flushes, deletes]) in &script {
        text.push_str(&format!("*{table}\n"));
        for l in jumps.iter().chain(flushes).chain(deletes) {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
    }
    (text, removed)
}

async fn remove_cni_chains() -> Result<Vec<String>, ProviderError> {
    use tokio::io::AsyncWriteExt;
    let mut removed = Vec::new();
    for (save, restore) in [
        ("iptables-save", "iptables-restore"),
        ("ip6tables-save", "ip6tables-restore"),
    ] {
        let Ok(out) = tokio::process::Command::new(save).output().await else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let (script, chains) = cni_chain_removal(&String::from_utf8_lossy(&out.stdout));
        if script.is_empty() {
            continue;
        }
        let command = format!("{restore} --noflush");
        let fail = |output: String| ProviderError::Chains {
            command: command.clone(),
            output,
        };
        let mut child = tokio::process::Command::new(restore)
            .arg("--noflush")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let done = child
            .wait_with_output()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !done.status.success() {
            return Err(fail(format!(
                "{}\n{script}",
                String::from_utf8_lossy(&done.stderr).trim()
            )));
        }
        removed.extend(chains.into_iter().map(|c| format!("{save}: {c}")));
    }
    Ok(removed)
}

/// What choosing a provider reads from the machine: which CLIs are there
/// (kind's own rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// `docker` is on PATH.
    pub docker_cli: bool,
    /// `podman` is on PATH.
    pub podman_cli: bool,
}

impl Machine {
    /// Reads this machine.
    pub fn read() -> Machine {
        Machine {
            docker_cli: which::which("docker").is_ok(),
            podman_cli: which::which("podman").is_ok(),
        }
    }
}

/// The names of the capabilities missing from the bounding set, for
/// messages (`CAP_SYS_RESOURCE`).
pub fn missing_capabilities(status: &str, cap_last_cap: u32) -> Vec<String> {
    const NAMES: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let Some(bnd) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return Vec::new();
    };
    (0..=cap_last_cap.min(63))
        .filter(|bit| bnd & (1u64 << bit) == 0)
        .map(|bit| {
            NAMES
                .get(bit as usize)
                .map_or_else(|| format!("capability {bit}"), |n| n.to_string())
        })
        .collect()
}

/// The chosen provider and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderChoice {
    pub provider: NodeProvider,
    /// `cluster.kind.provider in fabdev.yaml`, `KIND_EXPERIMENTAL_PROVIDER`,
    /// `detected: …`.
    pub why: String,
}

impl fmt::Display for ProviderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.provider, self.why)
    }
}

/// Picks the provider: fabdev.yaml's first, then `KIND_EXPERIMENTAL_PROVIDER`,
/// then what the machine has, as kind itself detects it: Docker when its
/// CLI is there, else podman when it is installed, else Docker (whose
/// absence the next steps report). So fabdev and a `kind` run by hand
/// agree on where the nodes are. (Where Docker cannot grant `--privileged`,
/// `fabdev doctor` says so and points at podman.)
pub fn choose(
    configured: Option<NodeProvider>,
    env: Option<&str>,
    machine: &Machine,
) -> Result<ProviderChoice, ProviderError> {
    if let Some(provider) = configured {
        return Ok(ProviderChoice {
            provider,
            why: "cluster.kind.provider in fabdev.yaml".into(),
        });
    }
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        let provider = NodeProvider::parse(value).ok_or_else(|| ProviderError::UnknownEnv {
            value: value.to_string(),
        })?;
        return Ok(ProviderChoice {
            provider,
            why: format!("{PROVIDER_ENV}={value}"),
        });
    }
    let (provider, why) = match (machine.docker_cli, machine.podman_cli) {
        (true, _) => (NodeProvider::Docker, "detected: docker is installed"),
        (false, true) => (
            NodeProvider::Podman,
            "detected: podman is installed, docker is not",
        ),
        (false, false) => (
            NodeProvider::Docker,
            "default: neither docker nor podman is installed",
        ),
    };
    Ok(ProviderChoice {
        provider,
        why: why.into(),
    })
}

/// Reads the environment and the machine, and picks (see [`choose`]).
pub fn choose_here(configured: Option<NodeProvider>) -> Result<ProviderChoice, ProviderError> {
    let env = std::env::var(PROVIDER_ENV).ok();
    choose(configured, env.as_deref(), &Machine::read())
}

/// podman's API socket: `CONTAINER_HOST` (podman's own variable) when it is
/// a `unix://` address, else root's [`PODMAN_ROOT_SOCKET`], else the user's
/// `$XDG_RUNTIME_DIR/podman/podman.sock`.
pub fn podman_socket() -> PathBuf {
    if let Ok(h) = std::env::var("CONTAINER_HOST")
        && let Some(p) = h.strip_prefix("unix://")
    {
        return PathBuf::from(p);
    }
    podman_socket_for(
        rustix_is_root(),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    )
}

fn podman_socket_for(root: bool, runtime_dir: Option<PathBuf>) -> PathBuf {
    match (root, runtime_dir) {
        (false, Some(dir)) => dir.join("podman").join("podman.sock"),
        _ => PathBuf::from(PODMAN_ROOT_SOCKET),
    }
}

fn rustix_is_root() -> bool {
    // The effective user of this process, from /proc (no libc call).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The engine's Docker-compatible API: the host's Docker daemon
/// ([`Daemon::connect_local`]) or podman's socket, which must exist.
pub fn api(provider: NodeProvider) -> Result<Daemon, ProviderError> {
    match provider {
        NodeProvider::Docker => Ok(Daemon::connect_local()?),
        NodeProvider::Podman => {
            let path = podman_socket();
            if !path.exists() {
                return Err(ProviderError::NoPodmanSocket { path });
            }
            Ok(Daemon::connect_unix(&path, "host podman")?)
        }
    }
}

/// The value of the offline node image's label ([`OFFLINE_NODE_LABEL`]) on
/// the engine, `None` when the image has no such label or is not there.
pub async fn offline_node_key(api: &Daemon, image: &str) -> Result<Option<String>, ImageError> {
    let docker = api.docker(&format!("inspect image {image}")).await?;
    match docker.inspect_image(image).await {
        Ok(i) => Ok(i
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(OFFLINE_NODE_LABEL).cloned())),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(source) => Err(ImageError::Inspect {
            image: image.to_string(),
            daemon: api.label().to_string(),
            source: Box::new(source),
        }),
    }
}

/// What podman needs to run kind's nodes on this machine, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodmanReadings {
    /// `podman --version`, or why it could not run.
    pub version: Result<String, String>,
    /// The OCI runtime podman uses (`podman info`: runc, crun).
    pub runtime: Option<String>,
    /// The cgroup layout is hybrid (v1 hierarchies plus a cgroup2 mount),
    /// which crun refuses.
    pub hybrid_cgroups: bool,
    /// The bounding set lacks CAP_SYS_RESOURCE: no hard limit can be raised.
    pub no_sys_resource: bool,
    /// podman's `default_ulimits` (containers.conf), as given.
    pub default_ulimits: Vec<String>,
    /// The hard limits of this process: open files, processes.
    pub hard_nofile: Option<u64>,
    pub hard_nproc: Option<u64>,
    /// /lib/modules exists (kind bind-mounts it into every node).
    pub lib_modules: bool,
    /// The API socket and whether it answered.
    pub socket: PathBuf,
    pub socket_answers: Result<String, String>,
}

/// The doctor's checks of podman as kind's provider: each says what it
/// found and how to fix what is missing.
pub fn podman_checks(r: &PodmanReadings) -> Vec<crate::doctor::Check> {
    use crate::doctor::Check;
    let mut checks = Vec::new();
    match &r.version {
        Ok(v) => checks.push(Check::ok("podman", v.clone())),
        Err(e) => {
            checks.push(Check::fail(
                "podman",
                format!("cannot run podman: {e}"),
                "install podman (Debian/Ubuntu: apt-get install podman), or use Docker (KIND_EXPERIMENTAL_PROVIDER=docker)",
            ));
            return checks;
        }
    }
    let conf = "/etc/containers/containers.conf.d/50-fabdev-kind.conf";
    if r.hybrid_cgroups {
        match r.runtime.as_deref() {
            Some("runc") => checks.push(Check::ok(
                "podman runtime",
                "runc (the cgroup layout is hybrid, which crun refuses)",
            )),
            other => checks.push(Check::fail(
                "podman runtime",
                format!(
                    "{} on a hybrid cgroup layout (v1 hierarchies plus a cgroup2 mount): crun refuses it (\"cgroups in hybrid mode not supported\")",
                    other.unwrap_or("unknown")
                ),
                format!("use runc: in {conf} (or ~/.config/containers/containers.conf) set `[engine]` `runtime = \"runc\"`, and install runc"),
            )),
        }
    } else if let Some(rt) = &r.runtime {
        checks.push(Check::ok("podman runtime", rt.clone()));
    }
    if r.no_sys_resource {
        let limit = |name: &str| {
            r.default_ulimits.iter().find_map(|u| {
                let (n, v) = u.split_once('=')?;
                if n.trim() != name {
                    return None;
                }
                let hard = v.rsplit(':').next()?.trim().parse::<u64>().ok()?;
                Some(hard)
            })
        };
        let fits = |name: &str, hard: Option<u64>| match (limit(name), hard) {
            (Some(l), Some(h)) => l <= h,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if fits("nofile", r.hard_nofile) && fits("nproc", r.hard_nproc) {
            checks.push(Check::ok(
                "podman ulimits",
                format!("default_ulimits = {:?}", r.default_ulimits),
            ));
        } else {
            let nofile = r.hard_nofile.unwrap_or(20000).min(1_048_576);
            checks.push(Check::fail(
                "podman ulimits",
                format!(
                    "default_ulimits = {:?}: this machine cannot raise a hard limit (its bounding set lacks CAP_SYS_RESOURCE), and podman's default asks for 1048576 open files (\"setrlimit RLIMIT_NOFILE: Operation not permitted\")",
                    r.default_ulimits
                ),
                format!(
                    "in {conf} set `[containers]` `default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc=32768:32768\"]` (at most this shell's hard limits; conmon runs with nproc 32768)"
                ),
            ));
        }
    }
    if r.lib_modules {
        checks.push(Check::ok(
            "/lib/modules",
            "present (kind mounts it into every node)",
        ));
    } else {
        checks.push(Check::fail(
            "/lib/modules",
            "missing: kind bind-mounts /lib/modules into every node, and podman refuses a missing source (\"statfs /lib/modules: no such file or directory\")",
            "create it: `sudo mkdir -p /lib/modules` (an empty folder is enough where the kernel has no modules)",
        ));
    }
    match &r.socket_answers {
        Ok(v) => checks.push(Check::ok(
            "podman api",
            format!("unix://{} (API {v})", r.socket.display()),
        )),
        Err(e) => checks.push(Check::fail(
            "podman api",
            format!("unix://{}: {e}", r.socket.display()),
            format!(
                "fabdev moves images through podman's Docker-compatible API: `systemctl enable --now podman.socket` (root), `systemctl --user enable --now podman.socket`, or `podman system service --time=0 unix://{} &`",
                r.socket.display()
            ),
        )),
    }
    checks
}

/// The `default_ulimits` podman uses: the last containers.conf that sets
/// them, in podman's order (/usr/share, /etc, drop-ins, the user's,
/// `$CONTAINERS_CONF`).
pub fn podman_default_ulimits() -> Vec<String> {
    let mut files: Vec<PathBuf> = vec![
        "/usr/share/containers/containers.conf".into(),
        "/etc/containers/containers.conf".into(),
    ];
    let mut dropins = |dir: PathBuf| {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect();
            v.sort();
            files.extend(v);
        }
    };
    dropins("/usr/share/containers/containers.conf.d".into());
    dropins("/etc/containers/containers.conf.d".into());
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        files.push(home.join(".config/containers/containers.conf"));
    }
    if let Some(c) = std::env::var_os("CONTAINERS_CONF") {
        files.push(PathBuf::from(c));
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(v) = ulimits_of(&text) {
            out = v;
        }
    }
    out
}

fn ulimits_of(text: &str) -> Option<Vec<String>> {
    let doc: toml::Table = text.parse().ok()?;
    let list = doc.get("containers")?.get("default_ulimits")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    )
}

/// Reads what [`podman_checks`] judges.
pub async fn read_podman() -> PodmanReadings {
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            let out = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                tokio::process::Command::new("podman").args(&args).output(),
            )
            .await
            .map_err(|_| "no answer within 20s".to_string())?
            .map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        }
    };
    let version = run(&["--version"]).await;
    let runtime = if version.is_ok() {
        run(&["info", "--format", "{{.Host.OCIRuntime.Name}}"])
            .await
            .ok()
    } else {
        None
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let socket = podman_socket();
    let socket_answers = if socket.exists() {
        match Daemon::connect_unix(&socket, "host podman") {
            Ok(d) => d
                .ping()
                .await
                .map(|i| i.api_version)
                .map_err(|e| error_chain(&e)),
            Err(e) => Err(e.to_string()),
        }
    } else {
        Err("no such socket".into())
    };
    PodmanReadings {
        version,
        runtime,
        hybrid_cgroups: hybrid_cgroups(),
        no_sys_resource: missing_capabilities(&status, 40)
            .iter()
            .any(|c| c == "CAP_SYS_RESOURCE"),
        default_ulimits: podman_default_ulimits(),
        hard_nofile: hard_limit("Max open files"),
        hard_nproc: hard_limit("Max processes"),
        lib_modules: Path::new("/lib/modules").is_dir(),
        socket,
        socket_answers,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// v1 hierarchies under /sys/fs/cgroup with a cgroup2 mount beside them.
fn hybrid_cgroups() -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let v1 = mounts
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some("cgroup"));
    let v2 = mounts
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some("cgroup2"));
    v1 && v2
}

fn hard_limit(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    let rest = line[name.len()..].split_whitespace().collect::<Vec<_>>();
    match rest.get(1) {
        Some(&"unlimited") => Some(u64::MAX),
        Some(v) => v.parse().ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(docker: bool, podman: bool) -> Machine {
        Machine {
            docker_cli: docker,
            podman_cli: podman,
        }
    }

    #[test]
    fn configured_then_env_then_detected() {
        let m = machine(true, true);
        let c = choose(Some(NodeProvider::Podman), Some("docker"), &m).unwrap();
        assert_eq!(c.provider, NodeProvider::Podman);
        assert_eq!(c.why, "cluster.kind.provider in fabdev.yaml");
        let c = choose(None, Some("podman"), &m).unwrap();
        assert_eq!(c.to_string(), "podman (KIND_EXPERIMENTAL_PROVIDER=podman)");
        let c = choose(None, Some(""), &m).unwrap();
        assert_eq!(c.provider, NodeProvider::Docker);
        let err = choose(None, Some("nerdctl"), &m).unwrap_err();
        assert!(
            err.to_string().contains("set it to docker or podman"),
            "{err}"
        );
    }

    #[test]
    fn detection_is_kinds_docker_then_podman() {
        let pick = |m: Machine| choose(None, None, &m).unwrap();
        assert_eq!(pick(machine(true, true)).provider, NodeProvider::Docker);
        assert_eq!(pick(machine(false, true)).provider, NodeProvider::Podman);
        assert!(pick(machine(false, false)).why.starts_with("default"));
    }

    #[test]
    fn capabilities() {
        let here = "Name:\tx\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(missing_capabilities(here, 40), ["CAP_SYS_RESOURCE"]);
        let full = "CapBnd:\t000001ffffffffff\n";
        assert!(missing_capabilities(full, 40).is_empty());
        // An older kernel knows fewer capabilities.
        assert!(missing_capabilities("CapBnd:\t0000003fffffffff\n", 37).is_empty());
        assert!(missing_capabilities("no caps here", 40).is_empty());
    }

    #[test]
    fn podman_sockets() {
        assert_eq!(
            podman_socket_for(true, Some("/run/user/0".into())),
            PathBuf::from(PODMAN_ROOT_SOCKET)
        );
        assert_eq!(
            podman_socket_for(false, Some("/run/user/1000".into())),
            PathBuf::from("/run/user/1000/podman/podman.sock")
        );
        assert_eq!(
            podman_socket_for(false, None),
            PathBuf::from(PODMAN_ROOT_SOCKET)
        );
    }

    fn good() -> PodmanReadings {
        PodmanReadings {
            version: Ok("podman version 4.3.1".into()),
            runtime: Some("runc".into()),
            hybrid_cgroups: true,
            no_sys_resource: true,
            default_ulimits: vec!["nofile=20000:20000".into(), "nproc=32768:32768".into()],
            hard_nofile: Some(20000),
            hard_nproc: Some(96362),
            lib_modules: true,
            socket: PODMAN_ROOT_SOCKET.into(),
            socket_answers: Ok("1.41".into()),
        }
    }

    fn verdicts(r: &PodmanReadings) -> Vec<(String, crate::doctor::Verdict)> {
        podman_checks(r)
            .into_iter()
            .map(|c| (c.name, c.verdict))
            .collect()
    }

    #[test]
    fn podman_set_up_as_needed_passes() {
        use crate::doctor::Verdict::Ok;
        assert_eq!(
            verdicts(&good()),
            [
                ("podman".to_string(), Ok),
                ("podman runtime".to_string(), Ok),
                ("podman ulimits".to_string(), Ok),
                ("/lib/modules".to_string(), Ok),
                ("podman api".to_string(), Ok),
            ]
        );
    }

    #[test]
    fn each_missing_podman_setting_fails_with_its_fix() {
        let failing = |r: PodmanReadings, name: &str| {
            podman_checks(&r)
                .into_iter()
                .find(|c| c.name == name && c.verdict == crate::doctor::Verdict::Fail)
                .unwrap_or_else(|| panic!("{name} should fail"))
                .hint
                .unwrap_or_default()
        };
        let mut r = good();
        r.runtime = Some("crun".into());
        assert!(failing(r, "podman runtime").contains("runtime = \"runc\""));
        let mut r = good();
        r.default_ulimits.clear();
        assert!(failing(r, "podman ulimits").contains("default_ulimits = [\"nofile=20000:20000\""));
        let mut r = good();
        r.default_ulimits = vec!["nofile=1048576:1048576".into(), "nproc=32768:32768".into()];
        failing(r, "podman ulimits");
        let mut r = good();
        r.lib_modules = false;
        assert!(failing(r, "/lib/modules").contains("mkdir -p /lib/modules"));
        let mut r = good();
        r.socket_answers = Err("no such socket".into());
        assert!(failing(r, "podman api").contains("podman system service"));
        let mut r = good();
        r.version = Err("not found".into());
        assert_eq!(podman_checks(&r).len(), 1);
        // Where limits can be raised and cgroups are not hybrid, neither
        // setting is needed.
        let mut r = good();
        r.no_sys_resource = false;
        r.hybrid_cgroups = false;
        r.runtime = Some("crun".into());
        r.default_ulimits.clear();
        assert!(
            podman_checks(&r)
                .iter()
                .all(|c| c.verdict == crate::doctor::Verdict::Ok)
        );
    }

    #[test]
    fn cni_chains_and_the_jumps_to_them_are_removed_and_nothing_else() {
        let save = "# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:CNI-ADMIN - [0:0]\n:CNI-FORWARD - [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n-A FORWARD -j DOCKER-USER\n-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n";
        let (script, removed) = cni_chain_removal(save);
        assert_eq!(
            script,
            "*filter\n-D FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n-F CNI-ADMIN\n-F CNI-FORWARD\n-X CNI-ADMIN\n-X CNI-FORWARD\nCOMMIT\n*nat\n-D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n-F CNI-HOSTPORT-DNAT\n-X CNI-HOSTPORT-DNAT\nCOMMIT\n"
        );
        assert_eq!(
            removed,
            [
                "filter CNI-ADMIN",
                "filter CNI-FORWARD",
                "nat CNI-HOSTPORT-DNAT"
            ]
        );
        assert_eq!(
            cni_chain_removal("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n").0,
            ""
        );
        assert_eq!(
            Leftovers {
                network: true,
                chains: vec!["filter CNI-ADMIN".into()]
            }
            .to_string(),
            "network kind removed; podman's CNI chains removed (CNI-ADMIN)"
        );
    }

    #[test]
    fn ulimits_from_containers_conf() {
        assert_eq!(
            ulimits_of(
                "[containers]\ndefault_ulimits = [\"nofile=20000:20000\"]\n[engine]\nruntime = \"runc\"\n"
            ),
            Some(vec!["nofile=20000:20000".to_string()])
        );
        assert_eq!(ulimits_of("[engine]\nruntime = \"runc\"\n"), None);
    }
}
