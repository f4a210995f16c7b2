//! The kind cluster configuration (`kind.x-k8s.io/v1alpha4`).
//!
//! Typed after kind's `pkg/apis/config/v1alpha4/types.go`: only the fields
//! fabdev uses (cluster name, nodes with their role, image and
//! `extraPortMappings`, and `kubeadmConfigPatches` for the offline node
//! image: [`KindConfig::for_offline_node_image`]). Field names and casing
//! are kind's own; `render` produces the YAML given to
//! `kind create cluster --config`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `apiVersion` of kind's cluster config.
pub const API_VERSION: &str = "kind.x-k8s.io/v1alpha4";
/// `kind` of kind's cluster config.
pub const KIND: &str = "Cluster";
/// Host address port mappings bind to: loopback only, so nothing on the
/// network can reach the Fabric nodes.
pub const LOCALHOST: &str = "127.0.0.1";

/// Errors of building or rendering a kind config.
#[derive(Debug, thiserror::Error)]
pub enum KindConfigError {
    #[error("kind config has no cluster name")]
    NoName,
    #[error("kind config has no nodes")]
    NoNodes,
    #[error(
        "host port {port} is mapped twice in the kind config (listen address {listen_address})"
    )]
    DuplicateHostPort { port: u16, listen_address: String },
    #[error("port mapping with port 0 (container port {container_port}, host port {host_port})")]
    ZeroPort { container_port: u16, host_port: u16 },
    #[error("cannot serialise the kind config to YAML")]
    Yaml(#[from] serde_saphyr::SerializeError),
    #[error("cannot read the kind config fabdev rendered")]
    Parse(#[from] serde_saphyr::DeserializeError),
}

/// A kind cluster (`kind: Cluster`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindConfig {
    pub api_version: String,
    pub kind: String,
    /// Cluster name (kind's `--name` overrides it; fabdev passes both alike).
    pub name: String,
    pub nodes: Vec<KindNode>,
    /// kubeadm config patches kind merges into what it generates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubeadm_config_patches: Vec<String>,
}

/// What fabdev's kind config adds for the offline node image of
/// `scripts/setup/kind-node-image.sh`: kubeadm waits long enough for a
/// control plane whose images are unpacked on first use on a busy machine
/// (kubeadm's 1-minute API call wait ran out on 2 busy cores), and a kubelet
/// that runs on a cgroup v1 host (kubelet 1.35 and newer refuse it unless
/// told otherwise).
/// Its default StorageClass is the controller-manager's hostPath
/// provisioner, which makes each volume's folder in its own container: the
/// node's folder is mounted there, so the folder exists on the node (where
/// the image makes it writable for the pods) before a pod uses it.
pub const OFFLINE_NODE_PATCHES: [&str; 3] = [
    "kind: InitConfiguration\ntimeouts:\n  kubernetesAPICall: 5m0s\n  controlPlaneComponentHealthCheck: 8m0s\n  kubeletHealthCheck: 8m0s\n",
    "kind: KubeletConfiguration\nfailCgroupV1: false\n",
    "kind: ClusterConfiguration\ncontrollerManager:\n  extraVolumes:\n  - name: hostpath-pv\n    hostPath: /tmp/hostpath_pv\n    mountPath: /tmp/hostpath_pv\n    pathType: DirectoryOrCreate\n",
];

/// Node role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    ControlPlane,
    Worker,
}

/// One kind node (a container running kubelet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindNode {
    pub role: NodeRole,
    /// Node image (`kindest/node:vX.Y.Z@sha256:...`); kind's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Kubernetes node labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_port_mappings: Vec<PortMapping>,
}

/// Port mapping protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// A host port published to a port of the node container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    pub container_port: u16,
    pub host_port: u16,
    pub listen_address: String,
    pub protocol: Protocol,
}

impl PortMapping {
    /// TCP `127.0.0.1:port` on the host to the same port of the node
    /// container (where a NodePort Service listens).
    pub fn localhost_tcp(port: u16) -> PortMapping {
        PortMapping {
            container_port: port,
            host_port: port,
            listen_address: LOCALHOST.to_string(),
            protocol: Protocol::Tcp,
        }
    }
}

impl KindConfig {
    /// A cluster of one control-plane node (which also runs workloads) with
    /// these port mappings.
    pub fn single_node(name: impl Into<String>, mappings: Vec<PortMapping>) -> KindConfig {
        KindConfig {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            name: name.into(),
            nodes: vec![KindNode {
                role: NodeRole::ControlPlane,
                image: None,
                labels: BTreeMap::new(),
                extra_port_mappings: mappings,
            }],
            kubeadm_config_patches: Vec::new(),
        }
    }

    /// This config with what the offline node image needs
    /// ([`OFFLINE_NODE_PATCHES`]), each patch once.
    pub fn for_offline_node_image(mut self) -> KindConfig {
        for p in OFFLINE_NODE_PATCHES {
            if !self.kubeadm_config_patches.iter().any(|q| q == p) {
                self.kubeadm_config_patches.push(p.to_string());
            }
        }
        self
    }

    /// Every port mapping of every node.
    pub fn port_mappings(&self) -> impl Iterator<Item = &PortMapping> {
        self.nodes.iter().flat_map(|n| n.extra_port_mappings.iter())
    }

    /// Checks kind would otherwise only report when creating the cluster.
    pub fn validate(&self) -> Result<(), KindConfigError> {
        if self.name.is_empty() {
            return Err(KindConfigError::NoName);
        }
        if self.nodes.is_empty() {
            return Err(KindConfigError::NoNodes);
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in self.port_mappings() {
            if m.container_port == 0 || m.host_port == 0 {
                return Err(KindConfigError::ZeroPort {
                    container_port: m.container_port,
                    host_port: m.host_port,
                });
            }
            if !seen.insert((m.host_port, m.listen_address.as_str(), m.protocol as u8)) {
                return Err(KindConfigError::DuplicateHostPort {
                    port: m.host_port,
                    listen_address: m.listen_address.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The rendered kind config (`Rendered::kind_config`) with what the offline
/// node image needs ([`KindConfig::for_offline_node_image`]).
pub fn for_offline_node_image(yaml: &str) -> Result<String, KindConfigError> {
    let cfg: KindConfig = serde_saphyr::from_str(yaml)?;
    render_kind_config(&cfg.for_offline_node_image())
}

/// The YAML for `kind create cluster --config`. Validates first.
pub fn render_kind_config(cfg: &KindConfig) -> Result<String, KindConfigError> {
    cfg.validate()?;
    Ok(serde_saphyr::to_string(cfg)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_ports() -> KindConfig {
        KindConfig::single_node(
            "fabdev",
            vec![
                PortMapping::localhost_tcp(30000),
                PortMapping::localhost_tcp(30002),
            ],
        )
    }

    #[test]
    fn renders_kinds_field_names() {
        let yaml = render_kind_config(&two_ports()).unwrap();
        insta::assert_snapshot!(yaml, @r#"
        apiVersion: kind.x-k8s.io/v1alpha4
        kind: Cluster
        name: fabdev
        nodes:
        - role: control-plane
          extraPortMappings:
          - containerPort: 30000
            hostPort: 30000
            listenAddress: "127.0.0.1"
            protocol: TCP
          - containerPort: 30002
            hostPort: 30002
            listenAddress: "127.0.0.1"
            protocol: TCP
        "#);
    }

    #[test]
    fn round_trips() {
        let cfg = two_ports();
        let yaml = render_kind_config(&cfg).unwrap();
        let back: KindConfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn optional_fields_render_when_set() {
        let mut cfg = two_ports();
        cfg.nodes[0].image = Some("kindest/node:v1.33.1".into());
        cfg.nodes[0]
            .labels
            .insert("fabdev.dev/workspace".into(), "fabdev".into());
        cfg.nodes.push(KindNode {
            role: NodeRole::Worker,
            image: None,
            labels: BTreeMap::new(),
            extra_port_mappings: vec![],
        });
        let yaml = render_kind_config(&cfg).unwrap();
        assert!(yaml.contains("image: kindest/node:v1.33.1"), "{yaml}");
        assert!(yaml.contains("fabdev.dev/workspace: fabdev"), "{yaml}");
        assert!(yaml.contains("- role: worker"), "{yaml}");
        let back: KindConfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn the_offline_node_image_gets_longer_waits_and_a_cgroup_v1_kubelet() {
        let cfg = two_ports()
            .for_offline_node_image()
            .for_offline_node_image();
        let from_yaml = for_offline_node_image(&render_kind_config(&two_ports()).unwrap()).unwrap();
        assert_eq!(from_yaml, render_kind_config(&cfg).unwrap());
        assert_eq!(cfg.kubeadm_config_patches.len(), 3);
        let yaml = render_kind_config(&cfg).unwrap();
        assert!(yaml.contains("kubeadmConfigPatches:"), "{yaml}");
        let back: KindConfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, cfg);
        // Each patch is a kubeadm document kind merges by its `kind`.
        for p in &back.kubeadm_config_patches {
            let doc: serde_json::Value = serde_saphyr::from_str(p).unwrap();
            assert!(doc.get("kind").is_some(), "{p}");
        }
        assert!(back.kubeadm_config_patches[0].contains("kubernetesAPICall: 5m0s"));
        assert!(back.kubeadm_config_patches[1].contains("failCgroupV1: false"));
    }

    #[test]
    fn duplicate_host_port_is_refused() {
        let cfg = KindConfig::single_node(
            "x",
            vec![
                PortMapping::localhost_tcp(30000),
                PortMapping::localhost_tcp(30000),
            ],
        );
        let err = render_kind_config(&cfg).unwrap_err();
        assert!(
            matches!(err, KindConfigError::DuplicateHostPort { port: 30000, .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_name_and_zero_port_are_refused() {
        let cfg = KindConfig::single_node("", vec![]);
        assert!(matches!(
            render_kind_config(&cfg),
            Err(KindConfigError::NoName)
        ));
        let cfg = KindConfig::single_node("x", vec![PortMapping::localhost_tcp(0)]);
        assert!(matches!(
            render_kind_config(&cfg),
            Err(KindConfigError::ZeroPort { .. })
        ));
    }
}
