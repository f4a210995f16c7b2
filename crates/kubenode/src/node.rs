//! The node: [`KubeNode`] starts (lock, leftovers cleared, files
//! prepared, then the component table of `components.rs`), offers its
//! kubeconfig, images and logs, and tears everything down on drop.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cleanup::{cgroup_hierarchies, cleanup, conflicts, remove_pods, save_sysctls};
use crate::components::{START, Start};
use crate::config::{
    cni_config, containerd_config, corefile, kube_proxy_config, kubeconfig_yaml, kubelet_config,
    tokens_csv,
};
use crate::host::check_host;
use crate::iptables;
use crate::pki::{private_dir, write_file, write_pki};
use crate::process::{run, tail};
use crate::{
    BASE_DIR, BRIDGE, CGROUP_ROOT, CONTEXT, LOCK_FILE, NODE_IP, NODE_NAME, NodeError, NodeOptions,
    POLL, client, io,
};

/// A running component.
#[derive(Debug)]
pub(crate) struct Component {
    name: &'static str,
    child: Child,
}

/// A running single-node cluster. Dropping it stops every component and
/// removes every trace (processes, pods' containers, mounts, the bridge,
/// iptables rules, cgroups, [`BASE_DIR`]), then releases the lock.
#[derive(Debug)]
pub struct KubeNode {
    pub(crate) components: Vec<Component>,
    pub(crate) base: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    /// Held until the node is gone.
    _lock: File,
}

impl KubeNode {
    /// Start the node and wait until it is Ready, CoreDNS answers, kube-proxy
    /// has programmed the `kubernetes` Service and the `default` service
    /// account exists. Waits for another node first (one at a time), and
    /// clears what a killed run left behind.
    pub async fn start(opts: NodeOptions) -> Result<KubeNode, NodeError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        check_host(&opts.bin_dir)?;
        let lock = take_lock(opts.lock_deadline).await?;
        let base = PathBuf::from(BASE_DIR);
        let cleared = Instant::now();
        let had_leftovers = base.exists();
        let problems = cleanup(&base);
        if had_leftovers {
            eprintln!(
                "kubenode: cleared the leftovers of an earlier node in {:.1?}",
                cleared.elapsed()
            );
        }
        if !problems.is_empty() {
            return Err(NodeError::Leftovers(problems.join("; ")));
        }
        let conflicts = conflicts(&base);
        if !conflicts.is_empty() {
            return Err(NodeError::Conflict(conflicts.join("; ")));
        }
        let kubeconfig = base.join("kubeconfig");
        let mut node = KubeNode {
            components: Vec::new(),
            base,
            kubeconfig,
            _lock: lock,
        };
        let deadline = Instant::now() + opts.ready_deadline;
        node.prepare()?;
        let start = Start {
            bins: opts.bin_dir.clone(),
            deadline,
        };
        for action in START {
            let began = Instant::now();
            (action.run)(&mut node, &start).await?;
            eprintln!("kubenode: {} in {:.1?}", action.name, began.elapsed());
        }
        Ok(node)
    }

    /// The admin kubeconfig (context [`CONTEXT`], server `https://198.19.0.1:6443`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The kubeconfig context to use.
    pub fn context(&self) -> &str {
        CONTEXT
    }

    /// The node's name in the API.
    pub fn node_name(&self) -> &str {
        NODE_NAME
    }

    /// containerd's socket (for `ctr --address` / `crictl --runtime-endpoint`).
    pub fn containerd_socket(&self) -> PathBuf {
        self.base.join("containerd/containerd.sock")
    }

    /// A client for the node's API server (admin), from [`Self::kubeconfig`].
    pub async fn client(&self) -> Result<kube::Client, NodeError> {
        client(&self.kubeconfig).await
    }

    /// Import an image from the host's Docker (`docker save NAME | ctr -n
    /// k8s.io images import -`), under the same name, so that pods with
    /// `imagePullPolicy: IfNotPresent` run it.
    pub fn import_image(&self, name: &str) -> Result<(), NodeError> {
        let started = Instant::now();
        let what = format!("import {name} from the host's Docker into the node");
        let mut save = Command::new("docker")
            .args(["save", name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("{what}: start docker save")))?;
        let stdout = save.stdout.take().ok_or_else(|| NodeError::Command {
            command: format!("docker save {name}"),
            status: "no stdout".into(),
            output: String::new(),
        })?;
        let import = self
            .ctr_command(["images", "import", "-"])
            .stdin(stdout)
            .output();
        let saved = save
            .wait_with_output()
            .map_err(io(format!("{what}: docker save")))?;
        if !saved.status.success() {
            return Err(NodeError::Command {
                command: format!("docker save {name}"),
                status: saved.status.to_string(),
                output: String::from_utf8_lossy(&saved.stderr).into_owned(),
            });
        }
        let import = import.map_err(io(format!("{what}: ctr images import")))?;
        if !import.status.success() {
            return Err(NodeError::Command {
                command: format!("ctr -n k8s.io images import ({name})"),
                status: import.status.to_string(),
                output: String::from_utf8_lossy(&import.stderr).into_owned(),
            });
        }
        eprintln!("kubenode: imported {name} in {:.1?}", started.elapsed());
        Ok(())
    }

    /// Import an image tar (`docker save` or OCI layout) into the node.
    pub fn import_tar(&self, tar: &Path) -> Result<(), NodeError> {
        let path = tar.display().to_string();
        run(
            &mut self.ctr_command(["images", "import", path.as_str()]),
            Duration::from_secs(300),
        )
        .map(drop)
    }

    /// The images the node's containerd has (k8s.io namespace), by name.
    pub fn images(&self) -> Result<Vec<String>, NodeError> {
        let out = run(
            &mut self.ctr_command(["images", "list", "-q"]),
            Duration::from_secs(30),
        )?;
        Ok(out.lines().map(str::to_string).collect())
    }

    fn ctr_command<const N: usize>(&self, args: [&str; N]) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.containerd_socket())
            .args(["--namespace", "k8s.io"])
            .args(args);
        cmd
    }

    /// Where a component's log is (`etcd`, `kube-apiserver`, ...,
    /// `containerd`, `kubelet`, `kube-proxy`, `coredns`).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.base.join("logs").join(format!("{component}.log"))
    }

    /// The last `lines` lines of every component's log.
    pub fn logs(&self, lines: usize) -> String {
        self.components
            .iter()
            .map(|c| {
                format!(
                    "--- {} log (last lines):\n{}",
                    c.name,
                    tail(&self.log_path(c.name), lines)
                )
            })
            .collect()
    }

    /// Folders, certificates, configs, the bridge and its firewall. The
    /// node's folder is 0711 (the invoking user reaches the kubeconfig),
    /// every folder in it 0700, private keys, the token file and the
    /// kubeconfig 0600, the kubeconfig owned by the invoking user
    /// (`SUDO_UID`/`SUDO_GID` under sudo). Before anything is made, the
    /// chains that exist are recorded: teardown removes only the others.
    fn prepare(&mut self) -> Result<(), NodeError> {
        let b = &self.base;
        private_dir(b, 0o711)?;
        iptables::write_record(b)?;
        for dir in [
            "pki",
            "logs",
            "pids",
            "etcd",
            "containerd",
            "cni",
            "cni/net.d",
            "cni/ipam",
            "kubelet",
            "pod-logs",
            "volumes",
        ] {
            private_dir(&b.join(dir), 0o700)?;
        }
        save_sysctls(b)?;
        // The kubelet's cgroup root must exist in every hierarchy.
        for hierarchy in cgroup_hierarchies() {
            let root = hierarchy.join(CGROUP_ROOT);
            fs::create_dir_all(&root).map_err(io(format!("create cgroup {}", root.display())))?;
        }
        write_pki(&b.join("pki"))?;
        let token = random_token()?;
        let ca_path = b.join("pki/ca.crt");
        let ca = fs::read_to_string(&ca_path).map_err(io(format!("read {}", ca_path.display())))?;
        write_file(&b.join("tokens.csv"), tokens_csv(&token).as_bytes(), 0o600)?;
        write_file(
            &self.kubeconfig,
            kubeconfig_yaml(&ca, &token).as_bytes(),
            0o600,
        )?;
        let owner = invoking_user(
            std::env::var("SUDO_UID").ok().as_deref(),
            std::env::var("SUDO_GID").ok().as_deref(),
        )
        .map_err(|message| NodeError::Client {
            path: self.kubeconfig.clone(),
            what: "giving the kubeconfig to the user sudo ran as".into(),
            source: message.into(),
        })?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&self.kubeconfig, Some(uid), Some(gid)).map_err(io(
                format!(
                    "give {} to the invoking user ({uid}:{gid})",
                    self.kubeconfig.display()
                ),
            ))?;
        }
        let write = |name: &str, text: String| write_file(&b.join(name), text.as_bytes(), 0o644);
        write("containerd/config.toml", containerd_config(b))?;
        write("cni/net.d/10-fabdev-kubenode.conflist", cni_config(b))?;
        write("kubelet-config.yaml", kubelet_config(b))?;
        write("kube-proxy-config.yaml", kube_proxy_config(b))?;
        write("Corefile", corefile(b))?;
        write("resolv.conf", format!("nameserver {NODE_IP}\n"))?;

        let ip = |args: &[&str]| {
            let mut cmd = Command::new("ip");
            cmd.args(args);
            run(&mut cmd, Duration::from_secs(10))
        };
        ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{NODE_IP}/24"), "dev", BRIDGE])?;
        ip(&["link", "set", BRIDGE, "up"])?;
        iptables::add_firewall()
    }

    /// Start a component: a child that dies with this process (`setpriv
    /// --pdeathsig KILL`: the kernel kills it when the thread that started
    /// it ends, so a node lives on the thread, or runtime, that started it),
    /// its output in its log, its pid recorded for the next start.
    pub(crate) fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<(), NodeError> {
        let log_path = self.log_path(name);
        let log = File::create(&log_path).map_err(io(format!("create {}", log_path.display())))?;
        let err = log
            .try_clone()
            .map_err(io(format!("dup {}", log_path.display())))?;
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--pdeathsig", "KILL", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        let child = wrapped
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(io(format!(
                "start {name} ({})",
                cmd.get_program().display()
            )))?;
        // For the next start, should this run be killed: pid and program.
        let pid_file = self.base.join("pids").join(format!("{name}.pid"));
        fs::write(
            &pid_file,
            format!("{}\n{}\n", child.id(), cmd.get_program().display()),
        )
        .map_err(io(format!("write {}", pid_file.display())))?;
        self.components.push(Component { name, child });
        Ok(())
    }

    /// The error for a component that did not make it.
    fn failed(&self, component: &str, message: String) -> NodeError {
        NodeError::Component {
            component: component.to_string(),
            message,
            log_tail: tail(&self.log_path(component), 30),
        }
    }

    /// A component that exited, if any, as an error.
    fn exited(&mut self) -> Option<NodeError> {
        let (name, status) = self
            .components
            .iter_mut()
            .find_map(|c| Some((c.name, c.child.try_wait().ok()??)))?;
        Some(self.failed(
            name,
            format!("exited ({status}) while the node was starting"),
        ))
    }

    /// Wait until `check` says `Ok(true)`, a component exits, or the
    /// deadline passes; `waiting_for` names the condition in the error.
    pub(crate) async fn wait_for<F, Fut>(
        &mut self,
        component: &str,
        waiting_for: &str,
        deadline: Instant,
        mut check: F,
    ) -> Result<(), NodeError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, String>>,
    {
        let mut last = String::from("not checked yet");
        loop {
            if let Some(err) = self.exited() {
                return Err(err);
            }
            match check().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(self.failed(
                    component,
                    format!("not ready in time: waited for {waiting_for}; last: {last}"),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stop everything and remove every trace; the problems met on the way.
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        // The pods first, through containerd (CNI DEL frees their addresses
        // and veths), with the kubelet gone so that it restarts nothing.
        for name in [
            "kubelet",
            "kube-proxy",
            "kube-router",
            "coredns",
            "kube-scheduler",
            "kube-controller-manager",
        ] {
            self.kill(name);
        }
        if self.components.iter().any(|c| c.name == "containerd")
            && let Err(e) = remove_pods(&self.containerd_socket())
        {
            problems.push(e.to_string());
        }
        for name in ["containerd", "kube-apiserver", "etcd"] {
            self.kill(name);
        }
        problems.extend(cleanup(&self.base));
        problems
    }

    fn kill(&mut self, name: &str) {
        for c in self.components.iter_mut().filter(|c| c.name == name) {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
        self.components.retain(|c| c.name != name);
    }
}

impl Drop for KubeNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kubenode: a test failed; the node's logs:\n{}",
                self.logs(40)
            );
        }
        let problems = self.teardown();
        if !problems.is_empty() {
            eprintln!(
                "kubenode: teardown left something behind: {}",
                problems.join("; ")
            );
        }
    }
}

/// A random admin token for this run (32 bytes of the kernel's randomness,
/// hex).
pub(crate) fn random_token() -> Result<String, NodeError> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io("read /dev/urandom for the admin token"))?;
    Ok(hex::encode(bytes))
}

/// Who invoked the node through sudo (`SUDO_UID`, `SUDO_GID`): the owner of
/// its kubeconfig; `None` without sudo.
pub(crate) fn invoking_user(
    uid: Option<&str>,
    gid: Option<&str>,
) -> Result<Option<(u32, u32)>, String> {
    let parse = |name: &str, v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|e| format!("{name}={v:?} is not a numeric id: {e}"))
    };
    match (uid, gid) {
        (None, None) => Ok(None),
        (Some(u), Some(g)) => Ok(Some((parse("SUDO_UID", u)?, parse("SUDO_GID", g)?))),
        (Some(_), None) => Err("SUDO_UID is set without SUDO_GID".to_string()),
        (None, Some(_)) => Err("SUDO_GID is set without SUDO_UID".to_string()),
    }
}

/// Wait for and take [`LOCK_FILE`].
pub(crate) async fn take_lock(deadline: Duration) -> Result<File, NodeError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .map_err(io(format!("open {LOCK_FILE}")))?;
    let until = Instant::now() + deadline;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {
                if !said {
                    eprintln!(
                        "kubenode: another node runs (lock {LOCK_FILE}); waiting for it to stop"
                    );
                    said = true;
                }
                if Instant::now() >= until {
                    return Err(NodeError::LockTimeout(deadline));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(format!("lock {LOCK_FILE}"))(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_goes_to_the_user_who_ran_sudo() {
        assert_eq!(invoking_user(None, None), Ok(None));
        assert_eq!(
            invoking_user(Some("1000"), Some("100")),
            Ok(Some((1000, 100)))
        );
        assert!(invoking_user(Some("me"), Some("100")).is_err());
        assert!(invoking_user(Some("1000"), None).is_err());
    }

    #[test]
    fn each_run_has_its_own_token() {
        let (a, b) = (
            random_token().expect("token"),
            random_token().expect("token"),
        );
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
