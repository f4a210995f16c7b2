//! A peer's CouchDB sidecar as a process: a copy of a CouchDB release per
//! pod, laid out as the `couchdb` image lays out `/opt/couchdb`, started
//! with exactly the container's rendered env and mounts, and the image's
//! entrypoint's work done first (the admin from `COUCHDB_USER` and
//! `COUCHDB_PASSWORD` into `etc/local.d/docker.ini`, `COUCHDB_ERLANG_COOKIE`
//! into `~/.erlang.cookie`, 0600).
//!
//! The copy's `etc/vm.args` is the image's (distribution on port 9100, no
//! interface given) with the node named (`-name couchdb@127.0.0.1`, as the
//! image's `NODENAME` or CouchDB's own release does), the case in which
//! Erlang's distribution listens: where it listens is then decided by the
//! rendered env alone. Its `etc/default.d/10-docker-default.ini` is the
//! image's (`bind_address = any`), so that the rendered `90-fabdev.ini` is
//! what keeps the HTTP port on loopback. The release's own `local.d` files
//! are left out. The release comes from [`testkit_probe::couchdb_home`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pod::Pod;
use crate::{TestnetError, proc};

/// Where the image has CouchDB (the couchdb user's home, too).
pub(crate) const IMAGE_HOME: &str = "/opt/couchdb";
/// CouchDB's HTTP port in the pod.
pub(crate) const PORT: u16 = network::topology::ports::COUCHDB;

/// The image's `vm.args`, with the node named.
const VM_ARGS: &str = "\
-kernel inet_dist_listen_min 9100
-kernel inet_dist_listen_max 9100
-kernel error_logger silent
-sasl sasl_error_logger false
-kernel prevent_overlapping_partitions false
+SDio 16
+Bd -noinput
-name couchdb@127.0.0.1
";
/// The image's `etc/default.d/10-docker-default.ini`.
const DOCKER_DEFAULT_INI: &str = "[chttpd]\nbind_address = any\n";

/// The pod's copy of the release (made once per pod, kept across restarts
/// of the container as the image's files are).
pub(crate) fn release_dir(pod: &Pod) -> PathBuf {
    pod.dir.join("couchdb-release")
}

/// The release folder to copy: `$COUCHDB_HOME` or a well-known folder.
pub(crate) fn find_release() -> Result<PathBuf, TestnetError> {
    testkit_probe::couchdb_home().map_err(|why| TestnetError::NoCouchdb { why })
}

/// Copy the release into the pod's folder, laid out as the image has it.
pub(crate) fn prepare(release: &Path, to: &Path) -> Result<(), TestnetError> {
    if to.join("bin/couchdb").is_file() {
        return Ok(());
    }
    run(Command::new("cp").arg("-a").arg(release).arg(to))?;
    let local_d = to.join("etc/local.d");
    for entry in std::fs::read_dir(&local_d).map_err(|source| io("read", &local_d, source))? {
        let path = entry.map_err(|source| io("read", &local_d, source))?.path();
        if path.extension().is_some_and(|e| e == "ini") {
            std::fs::remove_file(&path).map_err(|source| io("remove", &path, source))?;
        }
    }
    write(&to.join("etc/vm.args"), VM_ARGS)?;
    write(
        &to.join("etc/default.d/10-docker-default.ini"),
        DOCKER_DEFAULT_INI,
    )?;
    crate::pod::mkdir(&to.join("data"))
}

/// What the image's entrypoint does before it starts CouchDB: the admin
/// into `etc/local.d/docker.ini` unless one is there, and the cookie into
/// `~/.erlang.cookie`, 0600.
pub(crate) fn entrypoint(home: &Path, env: &[(String, String)]) -> Result<(), TestnetError> {
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let ini = home.join("etc/local.d/docker.ini");
    let text = std::fs::read_to_string(&ini).unwrap_or_default();
    if let (Some(user), Some(password)) = (get("COUCHDB_USER"), get("COUCHDB_PASSWORD"))
        && !text.contains(&format!("[admins]\n{user} ="))
    {
        write(&ini, &format!("{text}\n[admins]\n{user} = {password}\n"))?;
    }
    if let Some(cookie) = get("COUCHDB_ERLANG_COOKIE") {
        let file = home.join(".erlang.cookie");
        write(&file, &format!("{cookie}\n"))?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| io("set the mode of", &file, source))?;
    }
    Ok(())
}

/// A mount path of the container, in the pod's copy of the release.
pub(crate) fn in_release(pod: &Pod, path: &str) -> String {
    match path.strip_prefix(IMAGE_HOME) {
        Some(rest) => format!("{}{rest}", release_dir(pod).display()),
        None => path.to_string(),
    }
}

/// Wait for `GET /_up` to answer in the pod, as the sidecar's startup
/// probe does before the kubelet starts the peer.
pub(crate) fn wait_up(pod: &mut Pod, container: &str) -> Result<(), TestnetError> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(child) = pod.procs.get_mut(container)
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(TestnetError::Exited {
                node: pod.plan.node.clone(),
                container: container.to_string(),
                status: status.to_string(),
                logs: proc::tail(&pod.log(container), 40),
            });
        }
        let last = match request(&pod.netns, "GET", "/_up", None, None) {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => format!("GET /_up: {status} {body}"),
            Err(e) => format!("GET /_up: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(TestnetError::NotReady {
                node: pod.plan.node.clone(),
                waited: Duration::from_secs(90),
                last,
                logs: proc::tail(&pod.log(container), 40),
            });
        }
        // Polls a process this crate started, up to its deadline.
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

/// An HTTP request to CouchDB at 127.0.0.1 inside the network namespace
/// `netns` (curl through nsenter; the credentials, `user:password`, go on
/// curl's stdin, not its command line): (status, body).
pub(crate) fn request(
    netns: &str,
    method: &str,
    path: &str,
    credentials: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), TestnetError> {
    let url = format!("http://127.0.0.1:{PORT}{path}");
    let mut config = String::new();
    if let Some(c) = credentials {
        config.push_str(&format!("user = \"{}\"\n", c.replace('"', "\\\"")));
    }
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/run/netns/{netns}"))
        .args(["--", "curl", "-sS", "-K", "-", "-m", "10", "-X", method])
        .args(["-H", "Content-Type: application/json"])
        .args(["-w", "\n%{http_code}"]);
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    cmd.arg(&url);
    let out = run_with_stdin(&mut cmd, &config)?;
    let (text, code) = out.rsplit_once('\n').unwrap_or(("", out.as_str()));
    let status = code.trim().parse().unwrap_or(0);
    Ok((status, text.to_string()))
}

/// The TCP listeners in a network namespace, as `ss -ltnpH` lists them:
/// (local address, program).
pub(crate) fn listeners(netns: &str) -> Result<Vec<(String, String)>, TestnetError> {
    let out = run_with_stdin(
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .args(["--", "ss", "-ltnpH"]),
        "",
    )?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let local = cols.get(3)?.to_string();
            let program = l
                .split("((\"")
                .nth(1)
                .and_then(|p| p.split('"').next())
                .unwrap_or("")
                .to_string();
            Some((local, program))
        })
        .collect())
}

/// Kill what is left in a pod's network namespace once its containers are
/// stopped: Erlang's port mapper (`epmd -daemon`) leaves the process tree
/// of the CouchDB that started it, as it does in a container, where it dies
/// with the container.
pub(crate) fn kill_leftovers(netns: &str) {
    let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if pid.parse::<u32>().is_ok() {
            let _ = Command::new("kill")
                .args(["-KILL", pid])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn run(cmd: &mut Command) -> Result<String, TestnetError> {
    run_with_stdin(cmd, "")
}

fn run_with_stdin(cmd: &mut Command, stdin: &str) -> Result<String, TestnetError> {
    use std::io::Write as _;
    let line = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TestnetError::Spawn {
            what: line.clone(),
            source,
        })?;
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(stdin.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|source| TestnetError::Spawn {
            what: line.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(TestnetError::Command {
            line,
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, text: &str) -> Result<(), TestnetError> {
    std::fs::write(path, text).map_err(|source| io("write", path, source))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> TestnetError {
    TestnetError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
