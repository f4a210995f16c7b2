//! The doctor's checks of podman as kind's provider: what it reads from the
//! machine ([`PodmanReadings`], [`read_podman`]) and the verdicts on them
//! ([`podman_checks`]), tested with made-up readings.

use std::path::{Path, PathBuf};

use super::podman_socket;
use crate::images::Daemon;

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
                .map_err(|e| crate::errors::one_line(&e)),
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
    use crate::provider::PODMAN_ROOT_SOCKET;

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
