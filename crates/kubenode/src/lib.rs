//! A real single-node Kubernetes cluster on this host, for the `real_node_*`
//! tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
//! kubelet on its own containerd (CRI, runc, cgroupfs), kube-proxy (iptables
//! mode), CNI bridge networking and CoreDNS, each a child process with its
//! own log, started by [`KubeNode::start`] and torn down by `Drop`.
//! kube-router (firewall only) enforces NetworkPolicy on the node, so the
//! policies fabdev renders are tested as a cluster that enforces them
//! applies them.
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
//! runc, ctr, iptables, ipset and the CNI plugins from Debian; crictl and
//! kube-router from the Go module proxy (scripts/test.sh). [`check_host`] says
//! what is missing.

mod cleanup;
mod components;
mod config;
mod host;
mod iptables;
mod node;
mod pki;
mod process;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

pub use cleanup::leftovers;
pub use host::{KUBE_BINARIES, check_host};
pub use node::KubeNode;
pub use pki::write_pki;

/// The Kubernetes version `scripts/setup/kube.sh` builds, the images of
/// `scripts/setup/node-images.sh`, and where the Kubernetes binaries are:
/// where the tests' build scripts look too (`crates/testkit-probe`).
pub use testkit_probe::{
    DIND_STANDIN_IMAGE, KUBE_VERSION, ORDERER_STANDIN_IMAGE, PAUSE_IMAGE, PEER_STANDIN_IMAGE,
    kube_bin_dir as bin_dir,
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
/// kube-router's health port (its default, 20244).
const KUBE_ROUTER_HEALTH_PORT: u16 = 20244;
/// The kubelet's cgroup root (cgroupfs driver), in every hierarchy.
const CGROUP_ROOT: &str = "fabdev-kubenode";
/// The kubelet's device-plugin socket: a fixed path, whatever its root
/// folder (the node refuses to start where another kubelet has it).
const DEVICE_PLUGIN_SOCKET: &str = "/var/lib/kubelet/device-plugins/kubelet.sock";
use testkit_probe::CNI_BIN_DIR;
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
    /// Another kubelet, kube-proxy or CNI owns what the node would take
    /// over or remove: the node does not start beside it.
    #[error(
        "another Kubernetes node or CNI runs on this host; the test node does not start beside it: {0}"
    )]
    Conflict(String),
    #[error("{what}")]
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
    #[error("certificates for the node ({what})")]
    Pki {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    /// What the node's API client (from the kubeconfig at `path`) could
    /// not do.
    #[error("{what} (the client from {path})")]
    Client {
        path: PathBuf,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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

/// A client from a kubeconfig.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client, NodeError> {
    let fail = |what: &str, source: Box<dyn std::error::Error + Send + Sync>| NodeError::Client {
        path: kubeconfig.to_path_buf(),
        what: what.to_string(),
        source,
    };
    let kc =
        Kubeconfig::read_from(kubeconfig).map_err(|e| fail("reading the kubeconfig", e.into()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| fail("loading the kubeconfig", e.into()))?;
    kube::Client::try_from(config).map_err(|e| fail("making the client", e.into()))
}

/// Wait for the first of SIGINT, SIGTERM and SIGHUP; its name. Whoever
/// runs a node until it is told to stop (the `kubenode` example) tears it
/// down on each alike.
pub async fn stop_signal() -> Result<&'static str, std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    })
}
