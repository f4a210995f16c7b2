//! Test support for code that talks to real Docker daemons: the host daemon
//! (must be running: scripts/test.sh starts it), a second dockerd started
//! here as a copy target, and tiny images made locally (no registry).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::CreateImageOptions;
use cluster::images::Daemon;
use futures_util::StreamExt;
use tempfile::TempDir;

use crate::{wait_until, wait_until_async};

const HOST_DEADLINE: Duration = Duration::from_secs(10);
const START_DEADLINE: Duration = Duration::from_secs(30);
const STOP_DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// The host daemon, checked to answer. Panics (the test fails, it is not
/// skipped) with a hint when Docker is not running.
pub async fn host() -> Daemon {
    let daemon = Daemon::connect_local()
        .expect("a client for the host Docker daemon")
        .with_request_timeout(HOST_DEADLINE);
    match tokio::time::timeout(HOST_DEADLINE, daemon.ping()).await {
        Ok(Ok(_)) => daemon,
        Ok(Err(e)) => panic!(
            "these tests need a running Docker daemon: {}; run scripts/test.sh \
             (or scripts/setup/docker.sh) to install and start it",
            chain(&e)
        ),
        Err(_) => panic!(
            "these tests need a running Docker daemon: {} did not answer within {:?}; \
             run scripts/test.sh (or scripts/setup/docker.sh) to install and start it",
            daemon.label(),
            HOST_DEADLINE
        ),
    }
}

/// A second dockerd, in its own temp folder, network namespace and unix
/// socket. Stopped and removed when the last handle is dropped, also when a
/// test panics.
#[derive(Debug)]
pub struct SecondDockerd {
    child: Option<Child>,
    dir: TempDir,
    socket: PathBuf,
}

static SHARED: tokio::sync::Mutex<Weak<SecondDockerd>> = tokio::sync::Mutex::const_new(Weak::new());

/// The second dockerd, started if no test holds one yet.
pub async fn second_dockerd() -> Arc<SecondDockerd> {
    let mut shared = SHARED.lock().await;
    if let Some(running) = shared.upgrade() {
        return running;
    }
    let started = Arc::new(SecondDockerd::start().await);
    *shared = Arc::downgrade(&started);
    started
}

impl SecondDockerd {
    /// `unshare --net dockerd …`: a network namespace of its own, because
    /// `--bridge=none` in the host's namespace would delete the host's docker0.
    pub async fn start() -> SecondDockerd {
        let dir = tempfile::Builder::new()
            .prefix("fabdev-dockerd-")
            .tempdir_in("/tmp") // short: the socket path must fit in 108 bytes
            .expect("a temp folder for the second dockerd");
        let path = dir.path();
        let socket = path.join("docker.sock");
        std::fs::write(path.join("daemon.json"), "{}\n").expect("write daemon.json");
        let log = File::create(path.join("dockerd.log")).expect("create dockerd.log");
        let child = Command::new("unshare")
            .arg("--net")
            .arg("dockerd")
            .arg("--config-file")
            .arg(path.join("daemon.json"))
            .arg("--data-root")
            .arg(path.join("data"))
            .arg("--exec-root")
            .arg(path.join("exec"))
            .arg("--pidfile")
            .arg(path.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start `unshare --net dockerd` (needs root, util-linux and docker.io)");
        // From here on, Drop cleans up whatever happens.
        let mut this = SecondDockerd {
            child: Some(child),
            dir,
            socket,
        };
        this.wait_ready().await;
        this
    }

    async fn wait_ready(&mut self) {
        let daemon = self.daemon().with_request_timeout(Duration::from_secs(2));
        let last = std::cell::RefCell::new(String::new());
        let child = self.child.as_mut().expect("the second dockerd");
        let ready = wait_until_async(START_DEADLINE, POLL, || {
            let exited = child.try_wait().ok().flatten();
            let (daemon, last) = (&daemon, &last);
            async move {
                if let Some(status) = exited {
                    return Some(Err(status));
                }
                match daemon.ping().await {
                    Ok(_) => Some(Ok(())),
                    Err(e) => {
                        *last.borrow_mut() = chain(&e);
                        None
                    }
                }
            }
        })
        .await;
        match ready {
            Some(Ok(())) => {}
            Some(Err(status)) => panic!(
                "the second dockerd exited ({status}) before answering; its log:\n{}",
                self.log_tail()
            ),
            None => panic!(
                "the second dockerd did not answer within {START_DEADLINE:?} ({}); its log:\n{}",
                last.borrow(),
                self.log_tail()
            ),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A client for this daemon, labelled "second dockerd (unix://…)".
    pub fn daemon(&self) -> Daemon {
        Daemon::connect_unix(&self.socket, "second dockerd").expect("client for second dockerd")
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for SecondDockerd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets dockerd stop its own containerd; SIGKILL only if it hangs.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let stopped = wait_until(STOP_DEADLINE, POLL, || match child.try_wait() {
                Ok(None) => None,
                other => Some(other),
            });
            if !matches!(stopped, Some(Ok(Some(_)))) {
                let _ = child.kill();
                let _ = child.wait();
                let containerd_pid = self.dir.path().join("exec/containerd/containerd.pid");
                if let Ok(pid) = std::fs::read_to_string(containerd_pid) {
                    let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
                }
            }
        }
        // exec/netns/default and any leftover overlay mounts, deepest first.
        for mount in mounts_under(self.dir.path()) {
            let _ = Command::new("umount").arg("-l").arg(&mount).status();
        }
        // TempDir removes the folder.
    }
}

fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
    mounts
}

/// The whole error chain on one line (`cluster::errors::one_line`).
pub use cluster::errors::one_line as chain;

/// A unique image name, `fabdev-test/tiny:<what>-<pid>-<nanos>`.
pub fn unique_name(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("fabdev-test/tiny:{what}-{}-{nanos}", std::process::id())
}

/// A rootfs tarball: a few small files (one naming `marker`, so each image
/// has its own ID) plus `payload` bytes of incompressible data.
pub fn rootfs(marker: &str, payload: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, path, data).unwrap();
    };
    add("etc/fabdev-test", marker.as_bytes());
    add("hello.txt", b"hello from a fabdev test image\n");
    if payload > 0 {
        // xorshift: fast, incompressible enough, no dependency.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ marker.len() as u64;
        let mut data = Vec::with_capacity(payload + 8);
        while data.len() < payload {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        data.truncate(payload);
        add("payload.bin", &data);
    }
    builder.into_inner().unwrap()
}

/// Imports `tarball` as image `name` (POST /images/create?fromSrc=-) and
/// returns its ID.
pub async fn import(daemon: &Daemon, name: &str, tarball: Vec<u8>) -> String {
    let docker = daemon.docker("import a test image").await.unwrap();
    let (repo, tag) = name.rsplit_once(':').unwrap();
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = docker.create_image(
        Some(options),
        Some(bollard::body_full(tarball.into())),
        None,
    );
    while let Some(item) = stream.next().await {
        item.unwrap_or_else(|e| panic!("importing {name} into {}: {}", daemon.label(), chain(&e)));
    }
    daemon
        .image_id(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name} missing after import"))
}

/// An image on the host, removed (`docker rmi -f`) when dropped.
#[derive(Debug)]
pub struct HostImage {
    pub name: String,
    pub id: String,
}

impl HostImage {
    pub async fn new(host: &Daemon, what: &str, payload: usize) -> HostImage {
        let name = unique_name(what);
        let id = import(host, &name, rootfs(&name, payload)).await;
        HostImage { name, id }
    }

    /// Tags the image as `name` too (`docker tag`): one tiny image under
    /// every name a spec asks for.
    pub fn tag_as(&self, name: &str) {
        let tagged = Command::new("docker")
            .args(["tag", &self.name, name])
            .status()
            .unwrap_or_else(|e| panic!("docker tag {} {name}: {e}", self.name));
        assert!(tagged.success(), "docker tag {} {name}", self.name);
    }

    /// Tags the image as [`test_image`]`(prefix, what)` for each of
    /// `whats`.
    pub fn tag_each(&self, prefix: &str, whats: &[&str]) {
        for what in whats {
            self.tag_as(&test_image(prefix, what));
        }
    }
}

/// A test's name for an image a spec asks for: `fabdev-test/<prefix>-<what>:<pid>`.
pub fn test_image(prefix: &str, what: &str) -> String {
    format!("fabdev-test/{prefix}-{what}:{}", std::process::id())
}

impl Drop for HostImage {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
