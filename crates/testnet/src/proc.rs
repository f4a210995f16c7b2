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

/// The script that binds `src` at `dst` (made first, as an empty folder or
/// file), read-only when `ro`.
fn bind_script(src: &Path, dst: &str, ro: bool) -> String {
    let dst_q = quote(dst);
    let mut s = if src.is_dir() {
        format!("mkdir -p {dst_q}\n")
    } else {
        format!("[ -e {dst_q} ] || {{ mkdir -p \"$(dirname {dst_q})\"; : > {dst_q}; }}\n")
    };
    s.push_str(&format!(
        "mount --bind {} {dst_q}\n",
        quote(&src.to_string_lossy())
    ));
    if ro {
        s.push_str(&format!("mount -o remount,bind,ro {dst_q}\n"));
    }
    s
}

/// The pods' own folders, which the images have and the host should not:
/// Fabric's (`/var/hyperledger/...`, `/etc/hyperledger/fabric`) and
/// CouchDB's (`/opt/couchdb`). Each process gets them fresh in a private
/// copy of their parent folder ([`shadow_script`]), so a network leaves
/// none on the host and never uses one the host has.
pub(crate) const POD_ONLY: [&str; 3] = ["/var/hyperledger", "/etc/hyperledger", "/opt/couchdb"];

/// The folders of the host to shadow for `dsts`, each with the entries
/// that are the pod's own (left out of the shadow): the parent of each
/// [`POD_ONLY`] folder a destination is in, and of the top folder of a
/// destination the host lacks (created in the shadow, not on the host).
/// Pure but for looking at which folders exist.
pub(crate) fn shadows<'a>(dsts: impl Iterator<Item = &'a str>) -> Vec<(PathBuf, Vec<String>)> {
    let mut out: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for dst in dsts {
        let dst = Path::new(dst);
        let own = POD_ONLY.iter().map(Path::new).find(|p| dst.starts_with(p));
        let top = own.map(Path::to_path_buf).or_else(|| {
            let mut top = None;
            for a in dst.ancestors() {
                if a.exists() {
                    break;
                }
                top = Some(a.to_path_buf());
            }
            top
        });
        let Some(top) = top else { continue };
        let (Some(parent), Some(name)) = (top.parent(), top.file_name()) else {
            continue;
        };
        if parent == Path::new("/") {
            continue;
        }
        let name = name.to_string_lossy().into_owned();
        match out.iter_mut().find(|(p, _)| p == parent) {
            Some((_, names)) if !names.contains(&name) => names.push(name),
            Some(_) => {}
            None => out.push((parent.to_path_buf(), vec![name])),
        }
    }
    out
}

/// The script that shadows `parent` with a tmpfs holding every entry it
/// has on the host (bound back, links copied) but `own`; `scratch` (in the
/// private /run) keeps the host's folder reachable meanwhile.
fn shadow_script(parent: &Path, own: &[String], scratch: &str) -> String {
    let p = quote(&parent.to_string_lossy());
    let keep = own
        .iter()
        .map(|n| format!("{}) continue;;", quote(n)))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "mkdir -p {scratch}\n\
         mount --rbind {p} {scratch}\n\
         mount -t tmpfs -o mode=0755 fabdev-pod {p}\n\
         for e in {scratch}/* {scratch}/.[!.]* {scratch}/..?*; do\n\
         [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n\
         n=${{e##*/}}\n\
         case \"$n\" in {keep} esac\n\
         if [ -L \"$e\" ]; then cp -P \"$e\" {p}/\"$n\"\n\
         elif [ -d \"$e\" ]; then mkdir {p}/\"$n\"; mount --rbind \"$e\" {p}/\"$n\"\n\
         else : > {p}/\"$n\"; mount --bind \"$e\" {p}/\"$n\"; fi\n\
         done\n"
    )
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
        for (src, dst, ro) in &all {
            s.push_str(&bind_script(src, dst, *ro));
        }
        let dsts = self.binds.iter().map(|(_, dst, _)| dst.as_str());
        for (i, (parent, own)) in shadows(dsts).iter().enumerate() {
            s.push_str(&shadow_script(
                parent,
                own,
                &format!("/run/fabdev-host-{i}"),
            ));
        }
        for (src, dst, ro) in &self.binds {
            s.push_str(&bind_script(src, dst, *ro));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pods_own_folders_are_shadowed_never_made_on_the_host() {
        let got = shadows(
            [
                "/var/hyperledger/production",
                "/var/hyperledger/fabric/crypto",
                "/etc/hyperledger/fabric",
                "/opt/couchdb/data",
                "/etc/hosts",
                "/var/lib/docker",
            ]
            .into_iter(),
        );
        let want = |p: &str, n: &str| (PathBuf::from(p), vec![n.to_string()]);
        assert_eq!(
            got,
            [
                want("/var", "hyperledger"),
                want("/etc", "hyperledger"),
                want("/opt", "couchdb")
            ]
        );
        // A folder the host lacks is made in a shadow of its parent.
        let tmp = tempfile::tempdir().expect("tempdir");
        let dst = tmp.path().join("missing/inner");
        let got = shadows(std::iter::once(dst.to_str().expect("utf8")));
        assert_eq!(
            got,
            [(tmp.path().to_path_buf(), vec!["missing".to_string()])]
        );
        // The script shadows before it binds into the shadow.
        let launch = Launch {
            netns: "n".into(),
            program: "/bin/true".into(),
            args: vec![],
            env: vec![],
            binds: vec![(
                tmp.path().to_path_buf(),
                "/etc/hyperledger/fabric".into(),
                true,
            )],
            dir: tmp.path().to_path_buf(),
            log: tmp.path().join("log"),
        };
        let script = launch.script();
        let tmpfs = script.find("mount -t tmpfs -o mode=0755 fabdev-pod '/etc'");
        let mkdir = script.find("mkdir -p '/etc/hyperledger/fabric'");
        assert!(
            tmpfs.is_some() && mkdir.is_some() && tmpfs < mkdir,
            "{script}"
        );
    }
}
