//! The components' configuration, as text: containerd, CNI, the kubelet,
//! kube-proxy, CoreDNS, etcd's flags, the admin's token and kubeconfig.

use std::path::Path;

use base64::Engine;

use crate::{
    BRIDGE, CGROUP_ROOT, CLUSTER_DOMAIN, CNI_BIN_DIR, CONTEXT, COREDNS_READY_PORT,
    ETCD_CLIENT_PORT, ETCD_PEER_PORT, KUBELET_HEALTHZ_PORT, KUBELET_PORT, NODE_IP, PAUSE_IMAGE,
    POD_CIDR, PROXY_HEALTHZ_PORT, PROXY_METRICS_PORT, api_url,
};

pub(crate) fn containerd_config(base: &Path) -> String {
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

pub(crate) fn cni_config(base: &Path) -> String {
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

pub(crate) fn kubelet_config(base: &Path) -> String {
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

pub(crate) fn kube_proxy_config(base: &Path) -> String {
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

pub(crate) fn corefile(base: &Path) -> String {
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

/// The admin kubeconfig: the CA inline (the node's pki folder is root's
/// alone) and this run's token.
pub(crate) fn kubeconfig_yaml(ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: admin
  user:
    token: {token}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: admin
current-context: {CONTEXT}
",
        url = api_url(),
    )
}

/// The API server's token file: this run's admin token, nothing else.
pub(crate) fn tokens_csv(token: &str) -> String {
    format!("{token},admin,admin,\"system:masters\"\n")
}

/// etcd's flags: clients and the peer on loopback only, over TLS, with
/// client certificates of the node's CA required on both.
pub(crate) fn etcd_args(base: &Path) -> Vec<String> {
    let b = base.display();
    let client = format!("https://127.0.0.1:{ETCD_CLIENT_PORT}");
    let peer = format!("https://127.0.0.1:{ETCD_PEER_PORT}");
    vec![
        "--name=fabdev-node".to_string(),
        format!("--data-dir={b}/etcd"),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=fabdev-node={peer}"),
        format!("--cert-file={b}/pki/etcd.crt"),
        format!("--key-file={b}/pki/etcd.key"),
        format!("--trusted-ca-file={b}/pki/ca.crt"),
        "--client-cert-auth=true".to_string(),
        format!("--peer-cert-file={b}/pki/etcd.crt"),
        format!("--peer-key-file={b}/pki/etcd.key"),
        format!("--peer-trusted-ca-file={b}/pki/ca.crt"),
        "--peer-client-cert-auth=true".to_string(),
        "--listen-metrics-urls=".to_string(),
        "--unsafe-no-fsync".to_string(),
        "--log-level=warn".to_string(),
    ]
}

/// The API server's flags for etcd: loopback, TLS, its client certificate.
pub(crate) fn apiserver_etcd_args(base: &Path) -> Vec<String> {
    let b = base.display();
    vec![
        format!("--etcd-servers=https://127.0.0.1:{ETCD_CLIENT_PORT}"),
        format!("--etcd-cafile={b}/pki/ca.crt"),
        format!("--etcd-certfile={b}/pki/apiserver-etcd-client.crt"),
        format!("--etcd-keyfile={b}/pki/apiserver-etcd-client.key"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token the node used before each run had its own.
    const OLD_CONSTANT_TOKEN: &str = "fabdev-kubenode-admin-token";

    #[test]
    fn etcd_listens_on_loopback_only_and_requires_client_certificates() {
        let args = etcd_args(Path::new("/n"));
        for url in args
            .iter()
            .filter(|a| a.contains("-urls=") && !a.contains("metrics"))
        {
            assert!(
                url.ends_with("=https://127.0.0.1:2379")
                    || url.ends_with("=https://127.0.0.1:2380"),
                "{url}"
            );
        }
        for flag in [
            "--client-cert-auth=true",
            "--peer-client-cert-auth=true",
            "--trusted-ca-file=/n/pki/ca.crt",
        ] {
            assert!(args.iter().any(|a| a == flag), "{flag} missing: {args:#?}");
        }
        assert!(
            !args
                .iter()
                .any(|a| a.contains("http://") || a.contains(&NODE_IP.to_string())),
            "{args:#?}"
        );
        let api = apiserver_etcd_args(Path::new("/n"));
        assert_eq!(api[0], "--etcd-servers=https://127.0.0.1:2379");
        assert!(
            api.iter()
                .any(|a| a == "--etcd-keyfile=/n/pki/apiserver-etcd-client.key")
        );
    }

    #[test]
    fn the_admin_token_is_this_runs_and_the_ca_is_inline() {
        let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let yaml = kubeconfig_yaml(ca, "0123abcd");
        assert!(yaml.contains("    token: 0123abcd\n"), "{yaml}");
        assert!(!yaml.contains(OLD_CONSTANT_TOKEN));
        assert!(
            yaml.contains("certificate-authority-data: LS0tLS1CRUdJTi"),
            "{yaml}"
        );
        assert!(
            !yaml.contains("certificate-authority:"),
            "no path into the root-only pki folder"
        );
        assert_eq!(
            tokens_csv("0123abcd"),
            "0123abcd,admin,admin,\"system:masters\"\n"
        );
    }
}
