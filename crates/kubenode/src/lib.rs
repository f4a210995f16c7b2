//! A real single-node Kubernetes cluster on this host, for the `real_node_*`
//! tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
//! kubelet on its own containerd (CRI, runc, cgroupfs), kube-proxy (iptables
//! mode), CNI bridge networking and CoreDNS, each a child process with its
//! own log, started by [`KubeNode::start`] and torn down by `Drop`.
//!
//! Only test-host addresses: the node, the API server, etcd, the kubelet and
//! CoreDNS listen on [`NODE_IP`] (the bridge [`BRIDGE`]), pods get addresses
//! in [`POD_CIDR`], Services in [`SERVICE_CIDR`]. Pods reach each other and
//! the node's address, nothing else (no masquerade, forwarding only
//! bridge to bridge).
//!
//! One node at a time on the machine: [`KubeNode::start`] takes an exclusive
//! lock ([`LOCK_FILE`]) and holds it until the node is dropped. Everything the
//! node writes lives under [`BASE_DIR`]; a run that was killed leaves its
//! processes, mounts, bridge, iptables rules and cgroups behind, and the next
//! start removes them first.
//!
//! The binaries come from `scripts/setup/kube.sh` (Go module proxy); the
//! pause image from `scripts/setup/node-images.sh` (host Docker); containerd,
//! runc, ctr, iptables and the CNI plugins from Debian. [`check_host`] says
//! what is missing.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolume, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use testkit_probe::{CNI_BIN_DIR, find_crictl, find_tool};
/// The Kubernetes version `scripts/setup/kube.sh` builds, its binaries, the
/// images of `scripts/setup/node-images.sh`, and where the Kubernetes
/// binaries are: where the tests' build scripts look too
/// (`crates/testkit-probe`).
pub use testkit_probe::{
    DIND_STANDIN_IMAGE, KUBE_BINARIES, KUBE_VERSION, ORDERER_STANDIN_IMAGE, PAUSE_IMAGE,
    PEER_STANDIN_IMAGE, kube_bin_dir as bin_dir,
};
/// Everything the node writes: certificates, etcd, containerd's root and
/// state, the kubelet's root, logs. Removed at teardown.
pub const BASE_DIR: &str = "/var/lib/fabdev-kubenode";
/// Held (flock) while a node runs: one node at a time on the machine.
pub const LOCK_FILE: &str = "/var/lib/fabdev-kubenode.lock";
/// The node's bridge; its address is [`NODE_IP`].
pub const BRIDGE: &str = "fdkbr0";
/// The node's address (a test-host address): API server, etcd, kubelet,
/// CoreDNS, kube-proxy's NodePorts.
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// Pod addresses (the bridge's subnet).
pub const POD_CIDR: &str = "198.19.0.0/24";
/// Service ClusterIPs.
pub const SERVICE_CIDR: &str = "198.19.128.0/24";
/// The Kubernetes node name.
pub const NODE_NAME: &str = "fabdev-node";
/// The kubeconfig context of the node's admin.
pub const CONTEXT: &str = "fabdev-node";
/// The default StorageClass: no provisioner, [`VOLUMES`] hostPath
/// PersistentVolumes made at start (folders under [`BASE_DIR`], mode 0777),
/// which PersistentVolumeClaims without a class bind to.
pub const STORAGE_CLASS: &str = "fabdev-node-local";
/// How many PersistentVolumes the node offers (each [`VOLUME_SIZE`], kept
/// once released: a namespace deleted and made again takes new ones).
pub const VOLUMES: usize = 48;
pub const VOLUME_SIZE: &str = "10Gi";
/// The cluster DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

const API_PORT: u16 = 6443;
const ETCD_CLIENT_PORT: u16 = 2379;
const ETCD_PEER_PORT: u16 = 2380;
const KUBELET_PORT: u16 = 10250;
const KUBELET_HEALTHZ_PORT: u16 = 10248;
const PROXY_HEALTHZ_PORT: u16 = 10256;
const PROXY_METRICS_PORT: u16 = 10249;
const COREDNS_READY_PORT: u16 = 8181;
/// The kubelet's cgroup root (cgroupfs driver), in every hierarchy.
const CGROUP_ROOT: &str = "fabdev-kubenode";
const ADMIN_TOKEN: &str = "fabdev-kubenode-admin-token";
/// Where containerd 1.x's shims put their sockets, whatever its state folder.
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";
const POLL: Duration = Duration::from_millis(200);
/// Kernel settings the kubelet changes (KernelTunableModify): saved at start
/// and restored at teardown.
const SYSCTLS: &[&str] = &[
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];
/// Where the API server lives for clients: [`NODE_IP`]:[`API_PORT`].
fn api_url() -> String {
    format!("https://{NODE_IP}:{API_PORT}")
}

/// Everything that can go wrong, each with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The host lacks something the node needs (binaries, packages, images,
    /// root): tests skip, saying this.
    #[error("the real node cannot run on this host: {0}")]
    Unavailable(String),
    /// What an earlier node left behind could not be removed.
    #[error("leftovers of an earlier node could not be removed: {0}")]
    Leftovers(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    /// A component exited or did not get ready: its name and the end of its log.
    #[error("{component}: {message}\n--- {component} log (last lines):\n{log_tail}")]
    Component {
        component: String,
        message: String,
        log_tail: String,
    },
    #[error("certificates for the node ({what}): {source}")]
    Pki {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("a client from {path}: {message}")]
    Client { path: PathBuf, message: String },
    #[error("waiting for another test's node to stop (lock {LOCK_FILE}) took over {0:?}")]
    LockTimeout(Duration),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Io { what, source }
}

/// How to start the node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The folder with the Kubernetes binaries; default [`bin_dir`].
    pub bin_dir: PathBuf,
    /// How long the whole start may take (the node Ready, DNS answering).
    pub ready_deadline: Duration,
    /// How long to wait for another node (another test binary) to stop.
    pub lock_deadline: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            bin_dir: bin_dir(),
            ready_deadline: Duration::from_secs(180),
            lock_deadline: Duration::from_secs(30 * 60),
        }
    }
}

/// What the host lacks for a node, as one sentence naming each missing
/// piece and how to get it; `Ok` when everything is there (the checks of
/// `testkit_probe::node_host_missing`, and the pause image).
pub fn check_host(bin_dir: &Path) -> Result<(), NodeError> {
    let mut missing = testkit_probe::node_host_missing(bin_dir);
    if missing.is_empty() && !testkit_probe::absent_images(&[PAUSE_IMAGE]).is_empty() {
        missing.push(format!(
            "the image {PAUSE_IMAGE} in the host's Docker (run scripts/setup/node-images.sh)"
        ));
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

/// A running component.
#[derive(Debug)]
struct Component {
    name: &'static str,
    child: Child,
}

/// A running single-node cluster. Dropping it stops every component and
/// removes every trace (processes, pods' containers, mounts, the bridge,
/// iptables rules, cgroups, [`BASE_DIR`]), then releases the lock.
#[derive(Debug)]
pub struct KubeNode {
    components: Vec<Component>,
    base: PathBuf,
    kubeconfig: PathBuf,
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
        let kubeconfig = base.join("kubeconfig");
        let mut node = KubeNode {
            components: Vec::new(),
            base,
            kubeconfig,
            _lock: lock,
        };
        let deadline = Instant::now() + opts.ready_deadline;
        node.prepare()?;
        node.start_components(&opts.bin_dir, deadline).await?;
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

    /// Folders, certificates, configs, the bridge and its forwarding rule.
    fn prepare(&mut self) -> Result<(), NodeError> {
        let b = &self.base;
        for dir in [
            "pki",
            "logs",
            "pids",
            "etcd",
            "containerd",
            "cni/net.d",
            "cni/ipam",
            "kubelet",
            "pod-logs",
            "volumes",
        ] {
            fs::create_dir_all(b.join(dir))
                .map_err(io(format!("create {}", b.join(dir).display())))?;
        }
        save_sysctls(b)?;
        // The kubelet's cgroup root must exist in every hierarchy.
        for hierarchy in cgroup_hierarchies() {
            let root = hierarchy.join(CGROUP_ROOT);
            fs::create_dir_all(&root).map_err(io(format!("create cgroup {}", root.display())))?;
        }
        write_pki(&b.join("pki"))?;
        let write = |name: &str, text: String| {
            let path = b.join(name);
            fs::write(&path, text).map_err(io(format!("write {}", path.display())))
        };
        write(
            "tokens.csv",
            format!("{ADMIN_TOKEN},admin,admin,\"system:masters\"\n"),
        )?;
        write("kubeconfig", kubeconfig_yaml(&b.join("pki/ca.crt")))?;
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
        // The host's dockerd sets FORWARD's policy to DROP: pods (and
        // Services DNAT'ed to pods) forward bridge to bridge only.
        let mut rule = Command::new("iptables");
        rule.args(["-I", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]);
        run(&mut rule, Duration::from_secs(10))?;
        Ok(())
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<(), NodeError> {
        let log_path = self.log_path(name);
        let log = File::create(&log_path).map_err(io(format!("create {}", log_path.display())))?;
        let err = log
            .try_clone()
            .map_err(io(format!("dup {}", log_path.display())))?;
        let child = cmd
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
    async fn wait_for<F, Fut>(
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

    async fn start_components(&mut self, bins: &Path, deadline: Instant) -> Result<(), NodeError> {
        let b = self.base.clone();
        let p = |name: &str| b.join(name).display().to_string();
        let bin = |name: &str| bins.join(name);

        // --- containerd, and the pause image -----------------------------------
        self.spawn(
            "containerd",
            Command::new(find_tool("containerd").unwrap_or_else(|| "containerd".into()))
                .args(["--config", &p("containerd/config.toml")]),
        )?;
        let sock = self.containerd_socket();
        self.wait_for(
            "containerd",
            "its socket to answer `ctr version`",
            deadline,
            || {
                let sock = sock.clone();
                async move {
                    let mut cmd = Command::new("ctr");
                    cmd.arg("--address").arg(&sock).arg("version");
                    run(&mut cmd, Duration::from_secs(5))
                        .map(|_| true)
                        .map_err(|e| e.to_string())
                }
            },
        )
        .await?;
        self.import_image(PAUSE_IMAGE)?;

        // --- etcd and the API server ---------------------------------------------
        let etcd_url = format!("http://{NODE_IP}:{ETCD_CLIENT_PORT}");
        let peer_url = format!("http://{NODE_IP}:{ETCD_PEER_PORT}");
        self.spawn(
            "etcd",
            Command::new(bin("etcd")).args([
                "--name=fabdev-node".to_string(),
                format!("--data-dir={}", p("etcd")),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=fabdev-node={peer_url}"),
                "--listen-metrics-urls=".to_string(),
                "--unsafe-no-fsync".to_string(),
                "--log-level=warn".to_string(),
            ]),
        )?;
        self.spawn(
            "kube-apiserver",
            Command::new(bin("kube-apiserver")).args([
                format!("--etcd-servers={etcd_url}"),
                format!("--bind-address={NODE_IP}"),
                format!("--advertise-address={NODE_IP}"),
                format!("--secure-port={API_PORT}"),
                format!("--cert-dir={}", p("pki/generated")),
                format!("--tls-cert-file={}", p("pki/apiserver.crt")),
                format!("--tls-private-key-file={}", p("pki/apiserver.key")),
                format!("--client-ca-file={}", p("pki/ca.crt")),
                format!(
                    "--kubelet-client-certificate={}",
                    p("pki/apiserver-kubelet-client.crt")
                ),
                format!(
                    "--kubelet-client-key={}",
                    p("pki/apiserver-kubelet-client.key")
                ),
                "--kubelet-preferred-address-types=InternalIP".to_string(),
                format!("--token-auth-file={}", p("tokens.csv")),
                "--authorization-mode=RBAC".to_string(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_string(),
                format!("--service-account-key-file={}", p("pki/sa.pub")),
                format!("--service-account-signing-key-file={}", p("pki/sa.key")),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                "--allow-privileged=true".to_string(),
                "--profiling=false".to_string(),
                "-v=0".to_string(),
            ]),
        )?;
        let kubeconfig = self.kubeconfig.clone();
        self.wait_for("kube-apiserver", "/readyz to say ok", deadline, || {
            let kubeconfig = kubeconfig.clone();
            async move {
                let client = client(&kubeconfig).await.map_err(|e| e.to_string())?;
                let request = http_get("/readyz")?;
                match client.request_text(request).await {
                    Ok(text) => Ok(text.trim() == "ok"),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await?;
        let api = client(&self.kubeconfig).await?;

        // --- controllers and scheduler -----------------------------------------------
        let kc = p("kubeconfig");
        self.spawn(
            "kube-controller-manager",
            Command::new(bin("kube-controller-manager")).args([
                format!("--kubeconfig={kc}"),
                format!("--service-account-private-key-file={}", p("pki/sa.key")),
                format!("--root-ca-file={}", p("pki/ca.crt")),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                "--leader-elect=false".to_string(),
                "--use-service-account-credentials=false".to_string(),
                "--secure-port=0".to_string(),
                "--profiling=false".to_string(),
                "-v=0".to_string(),
            ]),
        )?;
        self.spawn(
            "kube-scheduler",
            Command::new(bin("kube-scheduler")).args([
                format!("--kubeconfig={kc}"),
                format!("--authentication-kubeconfig={kc}"),
                format!("--authorization-kubeconfig={kc}"),
                "--leader-elect=false".to_string(),
                "--secure-port=0".to_string(),
                "--profiling=false".to_string(),
                "-v=0".to_string(),
            ]),
        )?;

        // --- kubelet, kube-proxy, CoreDNS ----------------------------------------------
        self.spawn(
            "kubelet",
            Command::new(bin("kubelet")).args([
                format!("--config={}", p("kubelet-config.yaml")),
                format!("--kubeconfig={kc}"),
                format!("--root-dir={}", p("kubelet")),
                format!("--cert-dir={}", p("kubelet/pki")),
                format!("--hostname-override={NODE_NAME}"),
                format!("--node-ip={NODE_IP}"),
                "-v=1".to_string(),
            ]),
        )?;
        self.spawn(
            "kube-proxy",
            Command::new(bin("kube-proxy")).args([
                format!("--config={}", p("kube-proxy-config.yaml")),
                format!("--hostname-override={NODE_NAME}"),
                "-v=1".to_string(),
            ]),
        )?;
        self.spawn(
            "coredns",
            Command::new(bin("coredns")).args(["-conf", &p("Corefile"), "-dns.port", "53"]),
        )?;

        let nodes: Api<Node> = Api::all(api.clone());
        self.wait_for("kubelet", "node fabdev-node to be Ready", deadline, || {
            let nodes = nodes.clone();
            async move {
                let node = nodes.get_opt(NODE_NAME).await.map_err(|e| e.to_string())?;
                let Some(node) = node else {
                    return Err("node not registered yet".to_string());
                };
                let conditions = node.status.and_then(|s| s.conditions).unwrap_or_default();
                let ready = conditions.iter().find(|c| c.type_ == "Ready");
                match ready {
                    Some(c) if c.status == "True" => Ok(true),
                    Some(c) => Err(format!(
                        "Ready={} ({})",
                        c.status,
                        c.message.clone().unwrap_or_default()
                    )),
                    None => Err("no Ready condition yet".to_string()),
                }
            }
        })
        .await?;
        self.wait_for(
            "coredns",
            "GET /ready on 198.19.0.1:8181 to answer 200",
            deadline,
            || async { http_ok(NODE_IP, COREDNS_READY_PORT, "/ready") },
        )
        .await?;
        self.wait_for(
            "kube-proxy",
            "its /healthz and the `kubernetes` Service in iptables",
            deadline,
            || async {
                let mut cmd = Command::new("iptables");
                cmd.args(["-t", "nat", "-S", "KUBE-SERVICES"]);
                let rules = run(&mut cmd, Duration::from_secs(10)).map_err(|e| e.to_string())?;
                Ok(rules.contains("default/kubernetes")
                    && http_ok(NODE_IP, PROXY_HEALTHZ_PORT, "/healthz")?)
            },
        )
        .await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(api.clone(), "default");
        self.wait_for(
            "kube-controller-manager",
            "the `default` service account in namespace default",
            deadline,
            || {
                let accounts = accounts.clone();
                async move {
                    accounts
                        .get_opt("default")
                        .await
                        .map(|a| a.is_some())
                        .map_err(|e| e.to_string())
                }
            },
        )
        .await?;
        self.make_volumes(&api).await?;
        Ok(())
    }

    /// The default StorageClass and its hostPath PersistentVolumes.
    async fn make_volumes(&self, api: &kube::Client) -> Result<(), NodeError> {
        let fail = |what: String, e: kube::Error| NodeError::Client {
            path: self.kubeconfig.clone(),
            message: format!("{what}: {e}"),
        };
        let object = |what: &str, e: serde_json::Error| NodeError::Client {
            path: self.kubeconfig.clone(),
            message: format!("{what} object: {e}"),
        };
        let class: StorageClass = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
            "reclaimPolicy": "Retain",
        }))
        .map_err(|e| object("StorageClass", e))?;
        Api::<StorageClass>::all(api.clone())
            .create(&PostParams::default(), &class)
            .await
            .map_err(|e| fail(format!("create StorageClass {STORAGE_CLASS}"), e))?;
        let volumes: Api<PersistentVolume> = Api::all(api.clone());
        for i in 0..VOLUMES {
            let dir = self.base.join("volumes").join(format!("pv-{i}"));
            fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
            // Any pod user may write (hostPath ignores fsGroup).
            fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
                .map_err(io(format!("chmod {}", dir.display())))?;
            let pv: PersistentVolume = serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("fabdev-node-pv-{i}")},
                "spec": {
                    "capacity": {"storage": VOLUME_SIZE},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": STORAGE_CLASS,
                    "hostPath": {"path": dir.display().to_string(), "type": "Directory"},
                },
            }))
            .map_err(|e| object("PersistentVolume", e))?;
            volumes
                .create(&PostParams::default(), &pv)
                .await
                .map_err(|e| fail(format!("create PersistentVolume fabdev-node-pv-{i}"), e))?;
        }
        Ok(())
    }

    /// Stop everything and remove every trace; the problems met on the way.
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        // The pods first, through containerd (CNI DEL frees their addresses
        // and veths), with the kubelet gone so that it restarts nothing.
        for name in [
            "kubelet",
            "kube-proxy",
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
    for table in ["filter", "nat", "mangle"] {
        let mut cmd = Command::new("iptables");
        cmd.args(["-t", table, "-S"]);
        if let Ok(rules) = run(&mut cmd, Duration::from_secs(10)) {
            for rule in rules.lines().filter(|r| is_our_rule(r)) {
                found.push(format!("iptables -t {table}: {rule}"));
            }
        }
    }
    for dir in cgroup_dirs() {
        found.push(format!("cgroup {}", dir.display()));
    }
    for path in host_files() {
        found.push(format!("file {}", path.display()));
    }
    found
}

fn is_our_rule(rule: &str) -> bool {
    rule.contains(BRIDGE)
        || rule.contains("KUBE-")
        || rule.contains("CNI-")
        || rule.contains("198.19.")
}

/// Wait for and take [`LOCK_FILE`].
async fn take_lock(deadline: Duration) -> Result<File, NodeError> {
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

/// Stop and remove every pod sandbox of the node's containerd.
fn remove_pods(sock: &Path) -> Result<(), NodeError> {
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
fn cleanup(base: &Path) -> Vec<String> {
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
    // kube-proxy's and the kubelet's chains, CNI's, and our FORWARD rule.
    problems.extend(remove_iptables());
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
    for path in host_files() {
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
const HOST_DIRS: &[&str] = &[
    "/var/log/containers",
    "/var/lib/kubelet/device-plugins",
    "/var/lib/kubelet",
    "/var/lib/cni/results",
    "/var/lib/cni",
];

/// The node's files outside [`BASE_DIR`]: the kubelet's log links in
/// /var/log/containers (to logs under [`BASE_DIR`]), its device-plugin
/// socket, and containerd's CNI result cache of the node's pods (network
/// `fabdev-kubenode`, and `cni-loopback` of the same sandboxes).
fn host_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir("/var/log/containers") {
        for e in entries.flatten() {
            if fs::read_link(e.path()).is_ok_and(|t| t.starts_with(BASE_DIR)) {
                found.push(e.path());
            }
        }
    }
    let socket = Path::new("/var/lib/kubelet/device-plugins/kubelet.sock");
    if socket.exists() {
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
fn remove_shim_sockets(base: &Path) -> Vec<String> {
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
fn our_pids(base: &Path) -> Vec<u32> {
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

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

fn cmdline(pid: u32) -> String {
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
fn cgroup_dirs() -> Vec<PathBuf> {
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
fn cgroup_hierarchies() -> Vec<PathBuf> {
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

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
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
fn mounts_under(prefixes: &[&str]) -> Vec<String> {
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
fn our_netns() -> Vec<String> {
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

/// Remove our FORWARD rule, and every KUBE-* / CNI-* chain with the rules
/// that jump to them (kube-proxy's, the kubelet's canaries, CNI's portmap).
fn remove_iptables() -> Vec<String> {
    let mut problems = Vec::new();
    let iptables = |args: &[&str]| {
        let mut cmd = Command::new("iptables");
        cmd.args(args);
        run(&mut cmd, Duration::from_secs(10))
    };
    while iptables(&["-C", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]).is_ok() {
        if let Err(e) = iptables(&["-D", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]) {
            problems.push(e.to_string());
            break;
        }
    }
    let ours = |chain: &str| chain.starts_with("KUBE-") || chain.starts_with("CNI-");
    for table in ["filter", "nat", "mangle"] {
        let Ok(rules) = iptables(&["-t", table, "-S"]) else {
            continue;
        };
        // Rules in other chains that jump to ours.
        for rule in rules.lines() {
            let parts = rule_words(rule);
            if parts.first().map(String::as_str) != Some("-A")
                || parts.get(1).is_some_and(|c| ours(c))
            {
                continue;
            }
            if parts
                .windows(2)
                .any(|w| (w[0] == "-j" || w[0] == "-g") && ours(&w[1]))
            {
                let mut args = vec!["-t", table, "-D"];
                args.extend(parts[1..].iter().map(String::as_str));
                if let Err(e) = iptables(&args) {
                    problems.push(e.to_string());
                }
            }
        }
        let chains: Vec<&str> = rules
            .lines()
            .filter_map(|r| r.strip_prefix("-N "))
            .filter(|c| ours(c))
            .collect();
        for chain in &chains {
            let _ = iptables(&["-t", table, "-F", chain]);
        }
        for chain in &chains {
            if let Err(e) = iptables(&["-t", table, "-X", chain]) {
                problems.push(e.to_string());
            }
        }
    }
    problems
}

/// The words of an `iptables -S` line, double-quoted words (comments) as one.
fn rule_words(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn save_sysctls(base: &Path) -> Result<(), NodeError> {
    let mut saved = String::new();
    for key in SYSCTLS {
        let path = format!("/proc/sys/{key}");
        let value = fs::read_to_string(&path).map_err(io(format!("read {path}")))?;
        saved.push_str(&format!("{key}={}\n", value.trim()));
    }
    let file = base.join("sysctl.saved");
    fs::write(&file, saved).map_err(io(format!("write {}", file.display())))
}

fn restore_sysctls(base: &Path) -> Result<(), NodeError> {
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

/// Run a command to completion within `deadline`; its stdout, or an error
/// with its output.
fn run(cmd: &mut Command, deadline: Duration) -> Result<String, NodeError> {
    let line = format!(
        "{} {}",
        cmd.get_program().display(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io(format!("start `{line}`")))?;
    let until = Instant::now() + deadline;
    // Drain the pipes on threads so that a chatty child cannot block.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io(format!("wait for `{line}`")))? {
            break status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(NodeError::Command {
                command: line,
                status: format!("killed after {deadline:?}"),
                output: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        Err(NodeError::Command {
            command: line,
            status: status.to_string(),
            output: format!("{stderr}{stdout}").trim().to_string(),
        })
    }
}

fn http_get(path: &str) -> Result<http::Request<Vec<u8>>, String> {
    http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())
}

/// Whether `GET path` on ip:port answers 200 (plain HTTP/1.0).
fn http_ok(ip: Ipv4Addr, port: u16, path: &str) -> Result<bool, String> {
    let addr = (ip, port).into();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.lines().next().unwrap_or_default().to_string();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(true)
    } else {
        Err(format!("GET {path} on {addr}: {status:?}"))
    }
}

/// A client from a kubeconfig.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client, NodeError> {
    let fail = |message: String| NodeError::Client {
        path: kubeconfig.to_path_buf(),
        message,
    };
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| fail(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| fail(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| fail(e.to_string()))
}

/// The last `lines` lines of a file.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})\n", path.display()));
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    out.push('\n');
    out
}

fn containerd_config(base: &Path) -> String {
    let b = base.display();
    format!(
        r#"version = 2
root = "{b}/containerd/root"
state = "{b}/containerd/state"
plugin_dir = ""
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{b}/containerd/containerd.sock"

[ttrpc]
  address = "{b}/containerd/containerd.sock.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  max_concurrent_downloads = 3
  # This host withholds CAP_SYS_RESOURCE: an oom_score_adj below containerd's
  # own (the sandbox's -998) fails in runc ("can't get final child's PID").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state under the node's folder, not /run/containerd/runc.
        Root = "{b}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{b}/cni/net.d"
    max_conf_num = 1

[plugins."io.containerd.internal.v1.opt"]
  path = "{b}/containerd/opt"
"#
    )
}

fn cni_config(base: &Path) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "fabdev-kubenode",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "dataDir": base.join("cni/ipam").display().to_string(),
                    "ranges": [[{
                        "subnet": POD_CIDR,
                        "rangeStart": "198.19.0.10",
                        "rangeEnd": "198.19.0.250",
                        "gateway": NODE_IP.to_string(),
                    }]],
                    "routes": [{ "dst": "0.0.0.0/0" }],
                },
            },
            { "type": "portmap", "capabilities": { "portMappings": true } },
        ],
    })
    .to_string()
}

fn kubelet_config(base: &Path) -> String {
    let b = base.display();
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host has cgroup v1 (hybrid); kubelet >= 1.35 refuses it unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /{CGROUP_ROOT}
failSwapOn: false
address: {NODE_IP}
port: {KUBELET_PORT}
readOnlyPort: 0
healthzBindAddress: {NODE_IP}
healthzPort: {KUBELET_HEALTHZ_PORT}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: {b}/pki/ca.crt
authorization:
  mode: AlwaysAllow
clusterDomain: {CLUSTER_DOMAIN}
clusterDNS:
- {NODE_IP}
resolvConf: {b}/resolv.conf
containerRuntimeEndpoint: unix://{b}/containerd/containerd.sock
podLogsDir: {b}/pod-logs
rotateCertificates: false
serializeImagePulls: false
# Only what tests import: never collect it, never evict for a full disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
nodeStatusReportFrequency: 10s
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 10s
"#
    )
}

fn kube_proxy_config(base: &Path) -> String {
    let b = base.display();
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: {b}/kubeconfig
bindAddress: {NODE_IP}
healthzBindAddress: {NODE_IP}:{PROXY_HEALTHZ_PORT}
metricsBindAddress: {NODE_IP}:{PROXY_METRICS_PORT}
clusterCIDR: {POD_CIDR}
nodePortAddresses:
- {NODE_IP}/32
iptables:
  localhostNodePorts: false
  syncPeriod: 5s
  minSyncPeriod: 0s
# Leave the host's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
"#
    )
}

fn corefile(base: &Path) -> String {
    let b = base.display();
    format!(
        r#".:53 {{
    bind {NODE_IP}
    errors
    ready {NODE_IP}:{COREDNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{
        kubeconfig {b}/kubeconfig {CONTEXT}
        pods insecure
    }}
}}
"#
    )
}

fn kubeconfig_yaml(ca: &Path) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: admin
  user:
    token: {ADMIN_TOKEN}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: admin
current-context: {CONTEXT}
",
        url = api_url(),
        ca = ca.display()
    )
}

/// A CA; the API server's serving certificate (the node's address and the
/// in-cluster names) and its client certificate for the kubelet, both
/// signed by it; the service account signing key with its public half.
fn write_pki(dir: &Path) -> Result<(), NodeError> {
    let pki = |what: &'static str| move |source| NodeError::Pki { what, source };
    let ca_key = KeyPair::generate().map_err(pki("CA key"))?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "fabdev test node CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(pki("CA certificate"))?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(pki("serving key"))?;
    let mut serving = CertificateParams::default();
    serving
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving.is_ca = IsCa::ExplicitNoCa;
    serving.use_authority_key_identifier_extension = true;
    serving.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    for name in [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ] {
        let name = name.try_into().map_err(pki("a DNS name"))?;
        serving.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in [NODE_IP, Ipv4Addr::new(198, 19, 128, 1), Ipv4Addr::LOCALHOST] {
        serving
            .subject_alt_names
            .push(SanType::IpAddress(ip.into()));
    }
    let cert = serving
        .signed_by(&key, &issuer)
        .map_err(pki("serving certificate"))?;

    let client_key = KeyPair::generate().map_err(pki("kubelet client key"))?;
    let mut client = CertificateParams::default();
    client
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver-kubelet-client");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    client.is_ca = IsCa::ExplicitNoCa;
    client.use_authority_key_identifier_extension = true;
    client.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client
        .signed_by(&client_key, &issuer)
        .map_err(pki("kubelet client certificate"))?;

    let sa_key = KeyPair::generate().map_err(pki("service account key"))?;
    for (name, pem) in [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", cert.pem()),
        ("apiserver.key", key.serialize_pem()),
        ("apiserver-kubelet-client.crt", client_cert.pem()),
        ("apiserver-kubelet-client.key", client_key.serialize_pem()),
        ("sa.key", sa_key.serialize_pem()),
        ("sa.pub", sa_key.public_key_pem()),
    ] {
        let path = dir.join(name);
        fs::write(&path, pem).map_err(io(format!("write {}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_words_keep_quoted_comments_whole() {
        let rule = r#"-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS"#;
        assert_eq!(
            rule_words(rule),
            [
                "-A",
                "INPUT",
                "-m",
                "comment",
                "--comment",
                "kubernetes health check service ports",
                "-j",
                "KUBE-NODEPORTS"
            ]
        );
    }

    #[test]
    fn only_the_node_rules_are_ours() {
        assert!(is_our_rule("-A FORWARD -i fdkbr0 -o fdkbr0 -j ACCEPT"));
        assert!(is_our_rule("-N KUBE-SERVICES"));
        assert!(!is_our_rule("-A FORWARD -i docker0 -o docker0 -j ACCEPT"));
    }
}
