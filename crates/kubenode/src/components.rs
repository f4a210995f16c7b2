//! The node's start as a table of named actions, run in order (kind's
//! create actions are the model): containerd (and the pause image), etcd
//! and the API server, the controllers and scheduler, the kubelet,
//! kube-proxy and CoreDNS, each waited for until it serves; then the default
//! StorageClass and its volumes. Each action is one function; a failure
//! names the component and carries the end of its log.

use std::fs;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolume, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::PostParams;

use crate::config::{apiserver_etcd_args, etcd_args};
use crate::host::{find_kube_router, find_tool};
use crate::process::{http_get, http_ok, run};
use crate::{
    API_PORT, COREDNS_READY_PORT, KUBE_ROUTER_HEALTH_PORT, KubeNode, NODE_IP, NODE_NAME, NodeError,
    PAUSE_IMAGE, PROXY_HEALTHZ_PORT, SERVICE_CIDR, STORAGE_CLASS, VOLUME_SIZE, VOLUMES, client, io,
};

/// What every start action gets besides the node: where the Kubernetes
/// binaries are, and when the whole start must be done.
#[derive(Debug)]
pub(crate) struct Start {
    pub(crate) bins: PathBuf,
    pub(crate) deadline: Instant,
}

/// A start action's future.
type ActionFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NodeError>> + 'a>>;

/// A named start action.
pub(crate) struct Action {
    /// What it starts or waits for.
    pub(crate) name: &'static str,
    pub(crate) run: for<'a> fn(&'a mut KubeNode, &'a Start) -> ActionFuture<'a>,
}

/// An [`Action`] named `name` that runs `f(node, start)`.
macro_rules! action {
    ($name:expr => $f:ident) => {
        Action {
            name: $name,
            run: |n, s| Box::pin($f(n, s)),
        }
    };
}

/// The node's start, in order.
pub(crate) const START: &[Action] = &[
    action!("containerd and the pause image" => containerd),
    action!("etcd and kube-apiserver" => api_server),
    action!("kube-controller-manager and kube-scheduler" => controllers),
    action!("kubelet, kube-proxy and CoreDNS" => node_services),
    action!("node Ready" => node_ready),
    action!("CoreDNS ready" => dns_ready),
    action!("kube-proxy ready" => proxy_ready),
    // After kube-proxy's first sync: kube-router rewrites the whole filter
    // table (iptables-save, then iptables-restore without --noflush), so
    // the two at once lose kube-proxy's new chains.
    action!("kube-router (NetworkPolicy)" => network_policy),
    action!("default service account" => default_service_account),
    action!("storage" => volumes),
];

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A path under the node's folder, as an argument.
fn path(node: &KubeNode, name: &str) -> String {
    node.base.join(name).display().to_string()
}

async fn containerd(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let config = path(node, "containerd/config.toml");
    node.spawn(
        "containerd",
        Command::new(find_tool("containerd").unwrap_or_else(|| "containerd".into()))
            .args(["--config", &config]),
    )?;
    let sock = node.containerd_socket();
    node.wait_for(
        "containerd",
        "its socket to answer `ctr version`",
        start.deadline,
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
    node.import_image(PAUSE_IMAGE)
}

async fn api_server(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let p = |name: &str| path(node, name);
    let bin = |name: &str| start.bins.join(name);
    let mut etcd = Command::new(bin("etcd"));
    etcd.args(etcd_args(&node.base));
    let mut apiserver = Command::new(bin("kube-apiserver"));
    apiserver.args(apiserver_etcd_args(&node.base));
    apiserver.args([
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
    ]);
    node.spawn("etcd", &mut etcd)?;
    node.spawn("kube-apiserver", &mut apiserver)?;
    let kubeconfig = node.kubeconfig.clone();
    node.wait_for(
        "kube-apiserver",
        "/readyz to say ok",
        start.deadline,
        || {
            let kubeconfig = kubeconfig.clone();
            async move {
                let client = client(&kubeconfig).await.map_err(|e| e.to_string())?;
                let request = http_get("/readyz")?;
                match client.request_text(request).await {
                    Ok(text) => Ok(text.trim() == "ok"),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await
}

async fn controllers(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let p = |name: &str| path(node, name);
    let bin = |name: &str| start.bins.join(name);
    let kc = p("kubeconfig");
    let mut controller_manager = Command::new(bin("kube-controller-manager"));
    controller_manager.args([
        format!("--kubeconfig={kc}"),
        format!("--service-account-private-key-file={}", p("pki/sa.key")),
        format!("--root-ca-file={}", p("pki/ca.crt")),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--leader-elect=false".to_string(),
        "--use-service-account-credentials=false".to_string(),
        "--secure-port=0".to_string(),
        "--profiling=false".to_string(),
        "-v=0".to_string(),
    ]);
    let mut scheduler = Command::new(bin("kube-scheduler"));
    scheduler.args([
        format!("--kubeconfig={kc}"),
        format!("--authentication-kubeconfig={kc}"),
        format!("--authorization-kubeconfig={kc}"),
        "--leader-elect=false".to_string(),
        "--secure-port=0".to_string(),
        "--profiling=false".to_string(),
        "-v=0".to_string(),
    ]);
    node.spawn("kube-controller-manager", &mut controller_manager)?;
    node.spawn("kube-scheduler", &mut scheduler)
}

async fn node_services(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let p = |name: &str| path(node, name);
    let bin = |name: &str| start.bins.join(name);
    let mut kubelet = Command::new(bin("kubelet"));
    kubelet.args([
        format!("--config={}", p("kubelet-config.yaml")),
        format!("--kubeconfig={}", p("kubeconfig")),
        format!("--root-dir={}", p("kubelet")),
        format!("--cert-dir={}", p("kubelet/pki")),
        format!("--hostname-override={NODE_NAME}"),
        format!("--node-ip={NODE_IP}"),
        "-v=1".to_string(),
    ]);
    let mut proxy = Command::new(bin("kube-proxy"));
    proxy.args([
        format!("--config={}", p("kube-proxy-config.yaml")),
        format!("--hostname-override={NODE_NAME}"),
        "-v=1".to_string(),
    ]);
    let mut coredns = Command::new(bin("coredns"));
    coredns.args(["-conf", &p("Corefile"), "-dns.port", "53"]);
    node.spawn("kubelet", &mut kubelet)?;
    node.spawn("kube-proxy", &mut proxy)?;
    node.spawn("coredns", &mut coredns)
}

async fn node_ready(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let nodes: Api<Node> = Api::all(client(&node.kubeconfig).await?);
    node.wait_for(
        "kubelet",
        "node fabdev-node to be Ready",
        start.deadline,
        || {
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
        },
    )
    .await
}

/// kube-router as the node's NetworkPolicy controller only (its firewall;
/// no routing, no service proxy: the bridge CNI and kube-proxy keep those),
/// ready when its health port answers and its filter chain is in iptables.
/// Needs the node registered (it reads the node's InternalIP).
async fn network_policy(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let bin = find_kube_router().ok_or_else(|| {
        NodeError::Unavailable(
            "kube-router (go install github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0; scripts/test.sh does)"
                .to_string(),
        )
    })?;
    let mut router = Command::new(bin);
    router.args([
        format!("--kubeconfig={}", path(node, "kubeconfig")),
        format!("--hostname-override={NODE_NAME}"),
        "--run-firewall=true".to_string(),
        "--run-router=false".to_string(),
        "--run-service-proxy=false".to_string(),
        "--enable-cni=false".to_string(),
        "--enable-ipv6=false".to_string(),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        format!("--health-port={KUBE_ROUTER_HEALTH_PORT}"),
        "--metrics-port=0".to_string(),
        "-v=1".to_string(),
    ]);
    node.spawn("kube-router", &mut router)?;
    node.wait_for(
        "kube-router",
        "its /healthz and its KUBE-ROUTER-FORWARD chain in iptables",
        start.deadline,
        || async {
            Ok(chain_mentions("filter", "FORWARD", "KUBE-ROUTER-FORWARD")?
                && http_ok(NODE_IP, KUBE_ROUTER_HEALTH_PORT, "/healthz")?)
        },
    )
    .await
}

/// Whether a rule of `table`'s `chain` mentions `text` (`iptables -S`).
fn chain_mentions(table: &str, chain: &str, text: &str) -> Result<bool, String> {
    let mut cmd = Command::new("iptables");
    cmd.args(["-t", table, "-S", chain]);
    let rules = run(&mut cmd, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    Ok(rules.contains(text))
}

async fn dns_ready(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    node.wait_for(
        "coredns",
        "GET /ready on 198.19.0.1:8181 to answer 200",
        start.deadline,
        || async { http_ok(NODE_IP, COREDNS_READY_PORT, "/ready") },
    )
    .await
}

async fn proxy_ready(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    node.wait_for(
        "kube-proxy",
        "its /healthz and the `kubernetes` Service in iptables",
        start.deadline,
        || async {
            Ok(
                chain_mentions("nat", "KUBE-SERVICES", "default/kubernetes")?
                    && http_ok(NODE_IP, PROXY_HEALTHZ_PORT, "/healthz")?,
            )
        },
    )
    .await
}

async fn default_service_account(node: &mut KubeNode, start: &Start) -> Result<(), NodeError> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client(&node.kubeconfig).await?, "default");
    node.wait_for(
        "kube-controller-manager",
        "the `default` service account in namespace default",
        start.deadline,
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
    .await
}

/// The default StorageClass and its hostPath PersistentVolumes.
async fn volumes(node: &mut KubeNode, _start: &Start) -> Result<(), NodeError> {
    let api = &client(&node.kubeconfig).await?;
    let fail = |what: String, e: kube::Error| NodeError::Client {
        path: node.kubeconfig.clone(),
        what,
        source: e.into(),
    };
    let object = |what: &str, e: serde_json::Error| NodeError::Client {
        path: node.kubeconfig.clone(),
        what: format!("{what} object"),
        source: e.into(),
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
        let dir = node.base.join("volumes").join(format!("pv-{i}"));
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
