//! Containers as processes: each in its pod's network namespace and a
//! private mount namespace of its own, in which its volumes, the network's
//! hosts file, Fabric's `config/` and a private `/run` and `/tmp` are bound
//! where the pod would have them. The program is exec'd at the end of the
//! chain (setpriv, nsenter, unshare and sh all exec), so the child's PID is
//! the program's; it is killed if the thread that started it goes away.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestnetError;

/// What a container process needs.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub netns: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// (host folder or file, path inside, read-only), bound in order after
    /// the private `/run` and `/tmp`.
    pub binds: Vec<(PathBuf, String, bool)>,
    /// The container's own folder: `run/`, `tmp/` and its log.
    pub dir: PathBuf,
    pub log: PathBuf,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Launch {
    /// The shell script that lays out the mounts and execs the program.
    pub(crate) fn script(&self) -> String {
        let mut s = String::from("set -e\n");
        let run = self.dir.join("run");
        let tmp = self.dir.join("tmp");
        let all = [
            (run, "/run".to_string(), false),
            (tmp, "/tmp".to_string(), false),
        ];
        for (src, dst, ro) in all.iter().chain(self.binds.iter()) {
            let dst_q = quote(dst);
            if src.is_dir() {
                s.push_str(&format!("mkdir -p {dst_q}\n"));
            } else {
                s.push_str(&format!(
                    "[ -e {dst_q} ] || {{ mkdir -p \"$(dirname {dst_q})\"; : > {dst_q}; }}\n"
                ));
            }
            s.push_str(&format!(
                "mount --bind {} {dst_q}\n",
                quote(&src.to_string_lossy())
            ));
            if *ro {
                s.push_str(&format!("mount -o remount,bind,ro {dst_q}\n"));
            }
        }
        s.push_str("exec \"$@\"\n");
        s
    }

    pub(crate) fn spawn(&self) -> Result<Child, TestnetError> {
        for d in ["run", "tmp"] {
            crate::pod::mkdir(&self.dir.join(d))?;
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|source| TestnetError::Io {
                action: "open",
                path: self.log.clone(),
                source,
            })?;
        let log2 = log.try_clone().map_err(|source| TestnetError::Io {
            action: "open",
            path: self.log.clone(),
            source,
        })?;
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "nsenter"])
            .arg(format!("--net=/run/netns/{}", self.netns))
            .args(["--", "unshare", "--mount", "--propagation", "private", "--"])
            .args(["/bin/sh", "-c", &self.script(), "sh"])
            .arg(&self.program)
            .args(&self.args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        {
            use std::os::unix::process::CommandExt as _;
            cmd.process_group(0);
        }
        cmd.spawn().map_err(|source| TestnetError::Spawn {
            what: format!(
                "{} in network namespace {}",
                self.program.display(),
                self.netns
            ),
            source,
        })
    }
}

/// Stop a process: SIGTERM, then SIGKILL after `grace`.
pub(crate) fn stop(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill")
        .args(["-TERM", &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Polls the exit of a process this crate owns, up to its deadline.
        std::thread::park_timeout(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `lines` lines of a log file.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
