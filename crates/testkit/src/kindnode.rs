//! A stand-in for a kind node: a container on the host daemon with kind's
//! labels, running a real containerd (with its CRI plugin) and carrying
//! `ctr` and `crictl`, the two tools `kind load` and fabdev use on a node.
//! kind's node image cannot be pulled here, so the image is made from the
//! host's own binaries: containerd and ctr from Debian's containerd package
//! (a dependency of docker.io) and crictl built from the Go module proxy
//! (scripts/test.sh installs it).
//!
//! The node runs unprivileged but with CAP_SYS_ADMIN (containerd's
//! overlayfs snapshotter mounts), and, as in kind, its /var/lib/containerd
//! is a volume so overlayfs does not stack on the container's own overlay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use cluster::images::Daemon;
use tokio::sync::OnceCell;

use crate::dockerd::{chain, import};
use crate::wait_until;

const READY_DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// A binary on PATH or in the Go bin folder; panics with what to do.
pub fn tool(name: &str) -> PathBuf {
    testkit_probe::find_tool(name)
        .or_else(|| {
            testkit_probe::go_bin()
                .map(|b| b.join(name))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "these tests need `{name}` (on PATH or in the Go bin folder); run scripts/test.sh, \
                 which installs it"
            )
        })
}

/// The shared libraries `bin` needs, as `ldd` lists them.
fn libraries(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(bin).output().expect("run ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.trim().split(' ').next()?,
                None => l.split(' ').next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn node_rootfs() -> Vec<u8> {
    let bins = [tool("containerd"), tool("ctr"), tool("crictl")];
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for b in &bins {
        let name = b.file_name().unwrap().to_string_lossy().into_owned();
        files.push((format!("usr/bin/{name}"), b.clone()));
        for lib in libraries(b) {
            let inside = lib.to_string_lossy().trim_start_matches('/').to_string();
            // ldd names the loader by its canonical path; follow links.
            let real = std::fs::canonicalize(&lib).unwrap_or(lib);
            if !files.iter().any(|(p, _)| *p == inside) {
                files.push((inside, real));
            }
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, path, data).unwrap();
    };
    for (inside, real) in &files {
        add(inside, &std::fs::read(real).unwrap(), 0o755);
    }
    add(
        "etc/containerd/config.toml",
        b"version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"overlayfs\"\n",
        0o644,
    );
    add(
        "etc/crictl.yaml",
        b"runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\n",
        0o644,
    );
    for dir in ["tmp/.keep", "run/.keep", "var/lib/containerd/.keep"] {
        add(dir, b"", 0o644);
    }
    builder.into_inner().unwrap()
}

static IMAGE: OnceCell<String> = OnceCell::const_new();

/// The node image on the host (made once per test process).
pub async fn node_image(host: &Daemon) -> String {
    IMAGE
        .get_or_init(|| async {
            // One tag for every run (the image is made from the same files
            // each time), so runs do not leave an image each behind.
            let name = "fabdev-test/kind-node:latest".to_string();
            import(host, &name, node_rootfs()).await;
            name
        })
        .await
        .clone()
}

/// A running node container of kind cluster `cluster`; removed (with its
/// volume) when dropped.
#[derive(Debug)]
pub struct KindNode {
    pub name: String,
}

impl KindNode {
    pub async fn start(host: &Daemon, cluster: &str, role: &str) -> KindNode {
        let image = node_image(host).await;
        let name = format!("{cluster}-{role}");
        let docker = host.docker("start a kind node").await.unwrap();
        let _ = docker
            .remove_container(
                &name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        let body = ContainerCreateBody {
            image: Some(image),
            entrypoint: Some(vec!["/usr/bin/containerd".into()]),
            labels: Some(HashMap::from([
                ("io.x-k8s.kind.cluster".to_string(), cluster.to_string()),
                ("io.x-k8s.kind.role".to_string(), role.to_string()),
            ])),
            volumes: Some(vec!["/var/lib/containerd".to_string()]),
            host_config: Some(HostConfig {
                cap_add: Some(vec!["SYS_ADMIN".into()]),
                security_opt: Some(vec![
                    "seccomp=unconfined".into(),
                    "apparmor=unconfined".into(),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        };
        docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .unwrap_or_else(|e| panic!("creating kind node {name}: {}", chain(&e)));
        let node = KindNode { name };
        docker
            .start_container(&node.name, None)
            .await
            .unwrap_or_else(|e| panic!("starting kind node {}: {}", node.name, chain(&e)));
        node.wait_ready();
        node
    }

    /// Waits until the node's CRI answers (`crictl images` succeeds).
    fn wait_ready(&self) {
        let mut last = None;
        let ready = wait_until(READY_DEADLINE, POLL, || {
            let out = self.exec(&["crictl", "images"]);
            if out.status.success() {
                return Some(());
            }
            last = Some(out);
            None
        });
        if ready.is_none() {
            let logs = Command::new("docker")
                .args(["logs", "--tail", "20", &self.name])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_default();
            panic!(
                "kind node {} did not answer `crictl images` within {READY_DEADLINE:?}: {}\n{logs}",
                self.name,
                last.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_default()
            );
        }
    }

    /// `docker exec NODE ARGS…` (plain Docker CLI: the check is independent
    /// of the code under test).
    pub fn exec(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("exec")
            .arg(&self.name)
            .args(args)
            .output()
            .expect("run docker exec")
    }

    /// The image ID the node's CRI reports for `image`, if any.
    pub fn image_id(&self, image: &str) -> Option<String> {
        let out = self.exec(&["crictl", "inspecti", "--output", "json", image]);
        if !out.status.success() {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.pointer("/status/id")?.as_str().map(str::to_string)
    }

    /// Removes `image` from the node's containerd (every name it has there).
    pub fn remove_image(&self, image: &str) {
        let _ = self.exec(&["crictl", "rmi", image]);
    }
}

impl Drop for KindNode {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
    }
}
