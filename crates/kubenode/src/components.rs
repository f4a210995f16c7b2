//! The node's components, started in order: containerd (and the pause
//! image), etcd, the API server, the controllers and scheduler, the kubelet,
//! kube-proxy and CoreDNS, each waited for; then the default StorageClass
//! and its volumes.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolume, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::PostParams;

use crate::host::find_tool;
use crate::process::{http_get, http_ok, run};
use crate::{
    API_PORT, COREDNS_READY_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, KubeNode, NODE_IP, NODE_NAME,
    NodeError, PAUSE_IMAGE, PROXY_HEALTHZ_PORT, SERVICE_CIDR, STORAGE_CLASS, VOLUME_SIZE, VOLUMES,
    client, io,
};

impl KubeNode {
    pub(crate) async fn start_components(
        &mut self,
        bins: &Path,
        deadline: Instant,
    ) -> Result<(), NodeError> {
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
}
