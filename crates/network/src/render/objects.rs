//! The typed Kubernetes objects.

use std::collections::BTreeMap;

use cluster::kind_config::{KindConfig, PortMapping, render_kind_config};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction,
    HTTPGetAction, KeyToPath, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    Secret, SecretKeySelector, SecretVolumeSource, SecurityContext, Service, ServicePort,
    ServiceSpec, TCPSocketAction, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::crypto::{NodeCrypto, TLS_CA, TLS_CERT, TLS_KEY, in_pod};
use super::{
    COUCHDB_USER, NodeFiles, RenderError, Rendered, RenderedObject, TypedObjects, containers,
    labels,
};
use crate::spec::{NODE_PORTS, Provider, StateDatabase, Workspace, check_dns_label};
use crate::topology::{Node, NodeKind, Topology, ports};

/// Where ledgers live in the pods (the `data` volume).
const PRODUCTION_DIR: &str = "/var/hyperledger/production";
/// DinD's image store (an emptyDir).
const DOCKER_DIR: &str = "/var/lib/docker";
/// CouchDB's data (the `couchdb` volume).
const COUCHDB_DIR: &str = "/opt/couchdb/data";
/// Where the DinD daemon's socket lives: an emptyDir mounted into the DinD
/// sidecar and the peer only. Chaincode containers (which share the pod's
/// network namespace, not its volumes) cannot reach it.
pub const DIND_SOCKET_DIR: &str = "/var/run/dind";
/// The DinD daemon's only listener: the peer's `CORE_VM_ENDPOINT`, and
/// `DOCKER_HOST` in the sidecar (for `docker` run by exec).
pub const DIND_SOCKET: &str = "unix:///var/run/dind/docker.sock";

/// CouchDB's config overrides (from its Secret), read after the image's own
/// `10-docker-default.ini`.
const COUCHDB_INI: &str = "/opt/couchdb/etc/default.d/90-fabdev.ini";
/// What [`COUCHDB_INI`] says: listen on loopback only, where the peer (in
/// the same pod) reaches it; nothing outside the pod can.
const COUCHDB_INI_TEXT: &str = "[chttpd]\nbind_address = 127.0.0.1\n";

/// The user Fabric's peer and orderer run as. Their images have no `USER`
/// (they would run as root) but need none of root's powers: they write only
/// their ledger volume (and /tmp), read the crypto Secret through `fsGroup`,
/// and listen on ports above 1024. A high UID, as cluster policies ask.
const FABRIC_UID: i64 = 10001;
/// The couchdb user of the CouchDB image (its entrypoint steps down to it
/// when started as root; started as it, the entrypoint does the same work).
const COUCHDB_UID: i64 = 5984;

const VOL_CRYPTO: &str = "crypto";
const VOL_DATA: &str = "data";
const VOL_COUCHDB: &str = "couchdb";
const VOL_COUCHDB_INI: &str = "couchdb-ini";
const VOL_DOCKER: &str = "docker";
const VOL_DIND_SOCKET: &str = "dind-socket";
const VOL_TMP: &str = "tmp";

/// Apply-order groups; the file name prefix.
const G_NAMESPACE: u8 = 0;
const G_SECRET: u8 = 1;
const G_SERVICE: u8 = 2;
const G_STATEFULSET: u8 = 3;

pub(super) fn render(
    ws: &Workspace,
    topo: &Topology,
    crypto: &NodeFiles,
) -> Result<Rendered, RenderError> {
    build(ws, topo, crypto).map(|(rendered, _)| rendered)
}

pub(super) fn typed(
    ws: &Workspace,
    topo: &Topology,
    crypto: &NodeFiles,
) -> Result<TypedObjects, RenderError> {
    build(ws, topo, crypto).map(|(_, typed)| typed)
}

fn build(
    ws: &Workspace,
    topo: &Topology,
    crypto: &NodeFiles,
) -> Result<(Rendered, TypedObjects), RenderError> {
    let ns = ws.name.as_str();
    check_name("Namespace", ns)?;

    // Check every node's crypto first, so one error names the node.
    let mut node_crypto = Vec::with_capacity(topo.nodes.len());
    for node in &topo.nodes {
        check_name("node", &node.name)?;
        node_crypto.push(NodeCrypto::of(&node.name, crypto)?);
        for port in host_ports(node) {
            if !NODE_PORTS.contains(&port) {
                return Err(RenderError::NodePortRange {
                    node: node.name.clone(),
                    port,
                });
            }
        }
    }

    let mut out = Objects::default();
    let mut typed = TypedObjects::default();
    let ns_obj = namespace(ws);
    out.push(G_NAMESPACE, &ns_obj, ns)?;
    typed.namespace = ns_obj;
    for (node, nc) in topo.nodes.iter().zip(&node_crypto) {
        let name = crypto_secret_name(node);
        let secret = crypto_secret(ws, node, nc);
        out.push(G_SECRET, &secret, &name)?;
        typed.secrets.push(secret);
        if uses_couchdb(node) {
            let name = couchdb_secret_name(node);
            let secret = couchdb_secret(ws, node, nc);
            out.push(G_SECRET, &secret, &name)?;
            typed.secrets.push(secret);
        }
    }
    for node in &topo.nodes {
        let svc = cluster_service(ws, node);
        out.push(G_SERVICE, &svc, &node.name)?;
        typed.services.push(svc);
        // The fixed NodePorts only serve kind's host port mappings; on an
        // existing (maybe shared) cluster they would take node ports
        // cluster-wide, and fabdev reaches the nodes by port-forward there.
        if ws.cluster.provider == Provider::Kind {
            let name = host_service_name(node);
            let svc = host_service(ws, node);
            out.push(G_SERVICE, &svc, &name)?;
            typed.services.push(svc);
        }
        let policy = network_policy(ws, node);
        out.push(G_SERVICE, &policy, &node.name)?;
        typed.network_policies.push(policy);
    }
    for (node, nc) in topo.nodes.iter().zip(&node_crypto) {
        let sts = match node.kind {
            NodeKind::Orderer => orderer_statefulset(ws, node, nc),
            NodeKind::Peer => peer_statefulset(ws, topo, node, nc),
        };
        out.push(G_STATEFULSET, &sts, &node.name)?;
        typed.statefulsets.push(sts);
    }

    let mappings = topo
        .nodes
        .iter()
        .flat_map(host_ports)
        .map(PortMapping::localhost_tcp)
        .collect();
    let kind_config = render_kind_config(&KindConfig::single_node(ns, mappings))?;
    let rendered = Rendered {
        kind_config,
        objects: out.objects,
    };
    Ok((rendered, typed))
}

#[derive(Default)]
struct Objects {
    objects: Vec<RenderedObject>,
}

impl Objects {
    fn push<T>(&mut self, group: u8, obj: &T, name: &str) -> Result<(), RenderError>
    where
        T: Serialize + k8s_openapi::Resource,
    {
        let kind = T::KIND;
        check_name(kind, name)?;
        let yaml = serde_saphyr::to_string(obj).map_err(|source| RenderError::Yaml {
            kind: kind.to_string(),
            name: name.to_string(),
            source,
        })?;
        self.objects.push(RenderedObject {
            kind: kind.to_string(),
            name: name.to_string(),
            file_name: format!("{group:02}-{}-{name}.yaml", kind.to_ascii_lowercase()),
            yaml,
        });
        Ok(())
    }
}

fn check_name(kind: &str, name: &str) -> Result<(), RenderError> {
    // Services need a DNS-1035 label (a letter first); the rest DNS-1123.
    // A StatefulSet's name plus `-` and a 10-character hash must fit a label
    // value (its pods' controller-revision-hash), so at most 52.
    let max = if kind == "StatefulSet" { 52 } else { 63 };
    let r = check_dns_label(name, max).and_then(|()| {
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            Ok(())
        } else {
            Err(format!("{name:?} must start with a lower-case letter"))
        }
    });
    r.map_err(|reason| RenderError::BadName {
        kind: kind.to_string(),
        name: name.to_string(),
        reason,
    })
}

// ---------------------------------------------------------------------------
// Names, labels, small builders
// ---------------------------------------------------------------------------

fn crypto_secret_name(node: &Node) -> String {
    format!("{}-crypto", node.name)
}

fn couchdb_secret_name(node: &Node) -> String {
    format!("{}-couchdb", node.name)
}

fn host_service_name(node: &Node) -> String {
    format!("{}-host", node.name)
}

fn uses_couchdb(node: &Node) -> bool {
    node.kind == NodeKind::Peer && node.state_database == StateDatabase::Couchdb
}

/// The node's NodePorts, in the order the host Service lists them.
fn host_ports(node: &Node) -> Vec<u16> {
    let h = node.host_ports;
    let mut v = vec![h.grpc];
    v.extend(h.admin);
    v.push(h.operations);
    v
}

fn ws_labels(ws: &Workspace) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.to_string(), labels::MANAGER.to_string()),
        (labels::WORKSPACE.to_string(), ws.name.clone()),
    ])
}

fn node_labels(ws: &Workspace, node: &Node) -> BTreeMap<String, String> {
    let (app, role) = match node.kind {
        NodeKind::Orderer => ("fabric-orderer", "orderer"),
        NodeKind::Peer => ("fabric-peer", "peer"),
    };
    let mut l = ws_labels(ws);
    l.insert(labels::NAME.to_string(), app.to_string());
    l.insert(labels::ORG.to_string(), node.org.clone());
    l.insert(labels::NODE.to_string(), node.name.clone());
    l.insert(labels::ROLE.to_string(), role.to_string());
    l
}

/// Pod selector of a node: stable, and a subset of its labels.
fn selector(ws: &Workspace, node: &Node) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::WORKSPACE.to_string(), ws.name.clone()),
        (labels::NODE.to_string(), node.name.clone()),
    ])
}

fn meta(ws: &Workspace, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(ws.name.clone()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn env_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// A list value as Fabric's config parser reads it from the environment.
fn env_list(items: &[&str]) -> String {
    format!("[{}]", items.join(","))
}

fn port(name: &str, p: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: i32::from(p),
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// Requests (what scheduling reserves) and limits (what the container may
/// use at most) of CPU and memory.
fn resources(request: (&str, &str), limit: (&str, &str)) -> ResourceRequirements {
    let pair = |(cpu, memory): (&str, &str)| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
        ])
    };
    ResourceRequirements {
        requests: Some(pair(request)),
        limits: Some(pair(limit)),
        ..ResourceRequirements::default()
    }
}

fn http_probe(path: &str, port: u16, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(i32::from(port)),
            scheme: Some("HTTP".to_string()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// A container with no privileges: a non-root user, no capabilities, no
/// way to gain any, and (when `read_only_root`) a read-only root filesystem.
fn unprivileged(uid: i64, read_only_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        read_only_root_filesystem: Some(read_only_root),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// A liveness probe that restarts a container whose port no longer accepts
/// connections (hung or dead), with room for slow starts under load.
fn tcp_liveness(port: u16) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(i32::from(port)),
            ..TCPSocketAction::default()
        }),
        initial_delay_seconds: Some(30),
        period_seconds: Some(20),
        timeout_seconds: Some(5),
        failure_threshold: Some(6),
        ..Probe::default()
    }
}

/// An exec probe running `command`.
fn exec_probe(command: &[&str], period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|c| (*c).to_string()).collect()),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn claim(ws: &Workspace, node: &Node, name: &str, size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(node_labels(ws, node)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

// ---------------------------------------------------------------------------
// Namespace and Secrets
// ---------------------------------------------------------------------------

fn namespace(ws: &Workspace) -> Namespace {
    let mut l = ws_labels(ws);
    // The peers' DinD sidecars are privileged, and nothing else is: let
    // clusters that enforce Pod Security admission run them, and say why.
    l.insert(
        "pod-security.kubernetes.io/enforce".to_string(),
        "privileged".to_string(),
    );
    let annotations = BTreeMap::from([(
        labels::POD_SECURITY_REASON.to_string(),
        "privileged only for the peers' Docker-in-Docker sidecars (container `dind`): Fabric's peer builds and runs chaincode through a Docker daemon, which needs a privileged container; every other container runs as non-root with no capabilities".to_string(),
    )]);
    Namespace {
        metadata: ObjectMeta {
            name: Some(ws.name.clone()),
            labels: Some(l),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

fn crypto_secret(ws: &Workspace, node: &Node, nc: &NodeCrypto) -> Secret {
    Secret {
        metadata: meta(ws, &crypto_secret_name(node), node_labels(ws, node)),
        type_: Some("Opaque".to_string()),
        data: Some(nc.data()),
        ..Secret::default()
    }
}

/// The CouchDB admin password of a peer: generated per workspace and peer,
/// yet stable across renders with no file of its own, because it is derived
/// (one-way, SHA-256 with a purpose string) from the peer's TLS private key,
/// which fabdev generates once per workspace into `.fabdev/crypto` and never
/// rotates. Knowing it tells nothing about the key.
pub(super) fn couchdb_password(nc: &NodeCrypto) -> String {
    let mut h = Sha256::new();
    h.update(b"fabdev couchdb admin password v1\0");
    h.update(nc.file(super::crypto::TLS_KEY).unwrap_or_default());
    hex::encode(&h.finalize()[..16])
}

fn couchdb_secret(ws: &Workspace, node: &Node, nc: &NodeCrypto) -> Secret {
    Secret {
        metadata: meta(ws, &couchdb_secret_name(node), node_labels(ws, node)),
        type_: Some("Opaque".to_string()),
        data: Some(BTreeMap::from([
            (
                "username".to_string(),
                ByteString(COUCHDB_USER.as_bytes().to_vec()),
            ),
            (
                "password".to_string(),
                ByteString(couchdb_password(nc).into_bytes()),
            ),
            (
                "fabdev.ini".to_string(),
                ByteString(COUCHDB_INI_TEXT.as_bytes().to_vec()),
            ),
        ])),
        ..Secret::default()
    }
}

// ---------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------

/// (name, in-pod port, host port) of a node's endpoints.
fn endpoints(node: &Node) -> Vec<(&'static str, u16, Option<u16>)> {
    let h = node.host_ports;
    match node.kind {
        NodeKind::Orderer => vec![
            ("grpc", ports::ORDERER, Some(h.grpc)),
            ("admin", ports::ORDERER_ADMIN, h.admin),
            ("operations", ports::OPERATIONS, Some(h.operations)),
        ],
        NodeKind::Peer => vec![
            ("grpc", ports::PEER, Some(h.grpc)),
            ("chaincode", ports::CHAINCODE, None),
            ("operations", ports::OPERATIONS, Some(h.operations)),
        ],
    }
}

fn service_port(name: &str, port: u16, node_port: Option<u16>) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port: i32::from(port),
        target_port: Some(IntOrString::Int(i32::from(port))),
        node_port: node_port.map(i32::from),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// `<node>`: the in-cluster name other nodes and clients dial.
fn cluster_service(ws: &Workspace, node: &Node) -> Service {
    Service {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector(ws, node)),
            ports: Some(
                endpoints(node)
                    .into_iter()
                    .map(|(name, p, _)| service_port(name, p, None))
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<node>-host`: the node's endpoints on fixed NodePorts, which the kind
/// config maps to 127.0.0.1 on the host.
fn host_service(ws: &Workspace, node: &Node) -> Service {
    Service {
        metadata: meta(ws, &host_service_name(node), node_labels(ws, node)),
        spec: Some(ServiceSpec {
            type_: Some("NodePort".to_string()),
            selector: Some(selector(ws, node)),
            ports: Some(
                endpoints(node)
                    .into_iter()
                    .filter_map(|(name, p, host)| host.map(|h| service_port(name, p, Some(h))))
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<node>`: traffic into the node's pod only on the ports its Services
/// name (from anywhere: other nodes, clients, the host through NodePorts).
/// Nothing else in the pod (CouchDB, the Docker daemon) takes connections
/// from outside it, and where the cluster enforces NetworkPolicy (kindnet
/// does) this says so to the network too.
fn network_policy(ws: &Workspace, node: &Node) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector(ws, node)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: None,
                ports: Some(
                    endpoints(node)
                        .into_iter()
                        .map(|(_, p, _)| NetworkPolicyPort {
                            port: Some(IntOrString::Int(i32::from(p))),
                            protocol: Some("TCP".to_string()),
                            ..NetworkPolicyPort::default()
                        })
                        .collect(),
                ),
            }]),
            ..NetworkPolicySpec::default()
        }),
    }
}

// ---------------------------------------------------------------------------
// StatefulSets
// ---------------------------------------------------------------------------

fn statefulset(
    ws: &Workspace,
    node: &Node,
    nc: &NodeCrypto,
    pod: PodSpec,
    claims: Vec<PersistentVolumeClaim>,
) -> StatefulSet {
    StatefulSet {
        metadata: meta(ws, &node.name, node_labels(ws, node)),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(node.name.clone()),
            selector: LabelSelector {
                match_labels: Some(selector(ws, node)),
                ..LabelSelector::default()
            },
            // `fabdev down --keep-cluster` deletes the StatefulSets; their
            // ledgers go with them.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Delete".to_string()),
                    when_scaled: Some("Retain".to_string()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(node_labels(ws, node)),
                    annotations: Some(BTreeMap::from([(
                        labels::CRYPTO_HASH.to_string(),
                        nc.digest(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(claims),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

/// Pod-wide settings: no service-link env vars (they could shadow Fabric's
/// env configuration), no API token (nothing in the pod talks to Kubernetes),
/// the runtime's default seccomp profile, non-root by default (the DinD
/// sidecar alone says otherwise), and the Fabric user's group on the volumes
/// (the crypto Secret's files are 0440).
fn pod_spec(
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> PodSpec {
    PodSpec {
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            fs_group: Some(FABRIC_UID),
            fs_group_change_policy: Some("OnRootMismatch".to_string()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        init_containers: (!init_containers.is_empty()).then_some(init_containers),
        containers,
        volumes: Some(volumes),
        ..PodSpec::default()
    }
}

fn crypto_volume(node: &Node, nc: &NodeCrypto) -> Volume {
    Volume {
        name: VOL_CRYPTO.to_string(),
        secret: Some(nc.volume(&crypto_secret_name(node))),
        ..Volume::default()
    }
}

fn orderer_env(node: &Node) -> Vec<EnvVar> {
    let tls_ca = in_pod(TLS_CA);
    let tls_cert = in_pod(TLS_CERT);
    let tls_key = in_pod(TLS_KEY);
    let ledger = format!("{PRODUCTION_DIR}/orderer");
    vec![
        env("ORDERER_GENERAL_LISTENADDRESS", "0.0.0.0"),
        env("ORDERER_GENERAL_LISTENPORT", ports::ORDERER.to_string()),
        env("ORDERER_GENERAL_LOCALMSPID", node.msp_id.clone()),
        env("ORDERER_GENERAL_LOCALMSPDIR", in_pod("msp")),
        env("ORDERER_GENERAL_TLS_ENABLED", "true"),
        env("ORDERER_GENERAL_TLS_PRIVATEKEY", tls_key.clone()),
        env("ORDERER_GENERAL_TLS_CERTIFICATE", tls_cert.clone()),
        env("ORDERER_GENERAL_TLS_ROOTCAS", env_list(&[&tls_ca])),
        env(
            "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE",
            tls_cert.clone(),
        ),
        env("ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY", tls_key.clone()),
        env("ORDERER_GENERAL_CLUSTER_ROOTCAS", env_list(&[&tls_ca])),
        env("ORDERER_GENERAL_BOOTSTRAPMETHOD", "none"),
        env("ORDERER_CHANNELPARTICIPATION_ENABLED", "true"),
        env(
            "ORDERER_ADMIN_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::ORDERER_ADMIN),
        ),
        env("ORDERER_ADMIN_TLS_ENABLED", "true"),
        env("ORDERER_ADMIN_TLS_CERTIFICATE", tls_cert),
        env("ORDERER_ADMIN_TLS_PRIVATEKEY", tls_key),
        env("ORDERER_ADMIN_TLS_ROOTCAS", env_list(&[&tls_ca])),
        env("ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", "true"),
        env("ORDERER_ADMIN_TLS_CLIENTROOTCAS", env_list(&[&tls_ca])),
        env(
            "ORDERER_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::OPERATIONS),
        ),
        env("ORDERER_METRICS_PROVIDER", "prometheus"),
        env("ORDERER_FILELEDGER_LOCATION", ledger.clone()),
        env("ORDERER_CONSENSUS_WALDIR", format!("{ledger}/etcdraft/wal")),
        env(
            "ORDERER_CONSENSUS_SNAPDIR",
            format!("{ledger}/etcdraft/snapshot"),
        ),
    ]
}

/// An orderer or peer container: the image's own config under env vars,
/// the node's ports, /healthz readiness, a liveness probe on the operations
/// port, crypto and ledger mounts, an emptyDir /tmp under a read-only root
/// filesystem, no privileges.
fn fabric_container(
    name: &str,
    image: &str,
    env: Vec<EnvVar>,
    node: &Node,
    res: ResourceRequirements,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        env: Some(env),
        ports: Some(
            endpoints(node)
                .into_iter()
                .map(|(name, p, _)| port(name, p))
                .collect(),
        ),
        readiness_probe: Some(http_probe("/healthz", ports::OPERATIONS, 5, 3)),
        // Not /healthz: the peer's includes its Docker daemon, and a dead
        // DinD sidecar is restarted by itself, not by restarting the peer.
        liveness_probe: Some(tcp_liveness(ports::OPERATIONS)),
        resources: Some(res),
        security_context: Some(unprivileged(FABRIC_UID, true)),
        volume_mounts: Some(vec![
            mount(VOL_CRYPTO, super::CRYPTO_DIR, true),
            mount(VOL_DATA, PRODUCTION_DIR, false),
            mount(VOL_TMP, "/tmp", false),
        ]),
        ..Container::default()
    }
}

fn orderer_statefulset(ws: &Workspace, node: &Node, nc: &NodeCrypto) -> StatefulSet {
    let orderer = fabric_container(
        containers::ORDERER,
        &ws.images.orderer,
        orderer_env(node),
        node,
        resources(("100m", "128Mi"), ("1", "512Mi")),
    );
    let volumes = vec![crypto_volume(node, nc), empty_dir(VOL_TMP)];
    let pod = pod_spec(vec![], vec![orderer], volumes);
    statefulset(ws, node, nc, pod, vec![claim(ws, node, VOL_DATA, "1Gi")])
}

fn peer_env(ws: &Workspace, topo: &Topology, node: &Node) -> Vec<EnvVar> {
    let bootstrap = topo
        .peers_of(&node.org)
        .next()
        .map_or_else(|| node.address(), Node::address);
    let mut v = vec![
        env("CORE_PEER_ID", node.name.clone()),
        env("CORE_PEER_ADDRESS", node.address()),
        env(
            "CORE_PEER_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::PEER),
        ),
        env(
            "CORE_PEER_CHAINCODEADDRESS",
            format!("localhost:{}", ports::CHAINCODE),
        ),
        env(
            "CORE_PEER_CHAINCODELISTENADDRESS",
            format!("0.0.0.0:{}", ports::CHAINCODE),
        ),
        env("CORE_PEER_GOSSIP_BOOTSTRAP", bootstrap),
        env("CORE_PEER_GOSSIP_EXTERNALENDPOINT", node.address()),
        env("CORE_PEER_LOCALMSPID", node.msp_id.clone()),
        env("CORE_PEER_MSPCONFIGPATH", in_pod("msp")),
        env("CORE_PEER_TLS_ENABLED", "true"),
        env("CORE_PEER_TLS_CERT_FILE", in_pod(TLS_CERT)),
        env("CORE_PEER_TLS_KEY_FILE", in_pod(TLS_KEY)),
        env("CORE_PEER_TLS_ROOTCERT_FILE", in_pod(TLS_CA)),
        env("CORE_PEER_FILESYSTEMPATH", PRODUCTION_DIR),
        env(
            "CORE_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::OPERATIONS),
        ),
        env("CORE_METRICS_PROVIDER", "prometheus"),
        env("CORE_VM_ENDPOINT", DIND_SOCKET),
        env("CORE_CHAINCODE_BUILDER", ws.images.ccenv.clone()),
        env("CORE_CHAINCODE_GOLANG_RUNTIME", ws.images.baseos.clone()),
        env("CORE_CHAINCODE_NODE_RUNTIME", ws.images.nodeenv.clone()),
        env("CORE_CHAINCODE_PULL", "false"),
    ];
    if uses_couchdb(node) {
        let secret = couchdb_secret_name(node);
        v.extend([
            env("CORE_LEDGER_STATE_STATEDATABASE", "CouchDB"),
            env(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS",
                format!("127.0.0.1:{}", ports::COUCHDB),
            ),
            env_secret(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME",
                &secret,
                "username",
            ),
            env_secret(
                "CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD",
                &secret,
                "password",
            ),
        ]);
    }
    v
}

/// The peer's Docker daemon, as a native sidecar (an init container with
/// `restartPolicy: Always`): up before the peer starts, gone with the pod.
/// The only privileged container. Its first argument is `dockerd`, so the
/// image's entrypoint adds no listener of its own (it would add
/// tcp://0.0.0.0:2375).
///
/// The daemon listens on a unix socket only, in the `dind-socket` emptyDir
/// that is mounted into this container and the peer, and nowhere else: no
/// TCP listener at all. Fabric runs chaincode containers in the pod's network
/// namespace (network mode `host`, to reach the peer at localhost:7052), so
/// a loopback TCP port would be open to every chaincode, and with it a
/// privileged daemon. The socket belongs to the pod's `fsGroup` (the peer's
/// group), mode 0660.
///
/// Privileged, as root, with a writable root filesystem and no seccomp
/// profile of the pod's: a Docker daemon mounts filesystems, sets up
/// namespaces and cgroups and applies its own seccomp profile to the
/// containers it runs (chaincode builds and chaincode), which takes all of
/// root's capabilities. It is the one container that has them; its limits
/// cover the builds and chaincode containers it runs.
fn dind_container(ws: &Workspace) -> Container {
    let dind_ping = ["docker", "version"];
    Container {
        name: containers::DIND.to_string(),
        image: Some(ws.images.dind.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        restart_policy: Some("Always".to_string()),
        args: Some(vec![
            "dockerd".to_string(),
            format!("--host={DIND_SOCKET}"),
            format!("--group={FABRIC_UID}"),
        ]),
        env: Some(vec![
            env("DOCKER_TLS_CERTDIR", ""),
            env("DOCKER_HOST", DIND_SOCKET),
        ]),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            run_as_non_root: Some(false),
            run_as_user: Some(0),
            seccomp_profile: Some(SeccompProfile {
                type_: "Unconfined".to_string(),
                ..SeccompProfile::default()
            }),
            ..SecurityContext::default()
        }),
        // Exec probes (`docker` reads DOCKER_HOST): the daemon has no port.
        startup_probe: Some(exec_probe(&dind_ping, 2, 90)),
        liveness_probe: Some(exec_probe(&dind_ping, 20, 6)),
        resources: Some(resources(("100m", "256Mi"), ("2", "2Gi"))),
        volume_mounts: Some(vec![
            mount(VOL_DOCKER, DOCKER_DIR, false),
            mount(VOL_DIND_SOCKET, DIND_SOCKET_DIR, false),
        ]),
        ..Container::default()
    }
}

/// CouchDB as a native sidecar: the peer starts once `/_up` answers. It
/// listens on 127.0.0.1 only (its HTTP port by [`COUCHDB_INI`], Erlang's
/// port mapper by `ERL_EPMD_ADDRESS`): the peer, in the same pod, dials
/// 127.0.0.1:5984; nothing else can reach it. So its probes run inside the
/// container (curl is part of the CouchDB image).
///
/// It runs as the image's couchdb user with no capabilities, but with a
/// writable root filesystem: the image's entrypoint writes the admin into
/// `/opt/couchdb/etc/local.d/docker.ini` and CouchDB writes back the hashed
/// password there, and Erlang keeps its cookie in the couchdb user's home,
/// `/opt/couchdb` (fixtures/checkov-exceptions.yaml).
fn couchdb_container(ws: &Workspace, node: &Node) -> Container {
    let secret = couchdb_secret_name(node);
    let up = format!("http://127.0.0.1:{}/_up", ports::COUCHDB);
    let curl = ["curl", "-fsS", "-o", "/dev/null", up.as_str()];
    let mut ini = mount(VOL_COUCHDB_INI, COUCHDB_INI, true);
    ini.sub_path = Some("fabdev.ini".to_string());
    Container {
        name: containers::COUCHDB.to_string(),
        image: Some(ws.images.couchdb.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        restart_policy: Some("Always".to_string()),
        env: Some(vec![
            env_secret("COUCHDB_USER", &secret, "username"),
            env_secret("COUCHDB_PASSWORD", &secret, "password"),
            env("ERL_EPMD_ADDRESS", "127.0.0.1"),
        ]),
        startup_probe: Some(exec_probe(&curl, 2, 90)),
        readiness_probe: Some(exec_probe(&curl, 10, 3)),
        liveness_probe: Some(exec_probe(&curl, 20, 6)),
        resources: Some(resources(("50m", "128Mi"), ("1", "512Mi"))),
        security_context: Some(unprivileged(COUCHDB_UID, false)),
        volume_mounts: Some(vec![mount(VOL_COUCHDB, COUCHDB_DIR, false), ini]),
        ..Container::default()
    }
}

fn peer_statefulset(ws: &Workspace, topo: &Topology, node: &Node, nc: &NodeCrypto) -> StatefulSet {
    // The peer's /healthz includes a ping of the Docker daemon: a dead DinD
    // shows as an unready peer.
    let mut peer = fabric_container(
        containers::PEER,
        &ws.images.peer,
        peer_env(ws, topo, node),
        node,
        resources(("100m", "256Mi"), ("2", "1Gi")),
    );
    // The daemon's socket: shared with the DinD sidecar and nothing else.
    peer.volume_mounts.get_or_insert_with(Vec::new).push(mount(
        VOL_DIND_SOCKET,
        DIND_SOCKET_DIR,
        false,
    ));
    let mut init = vec![dind_container(ws)];
    let mut claims = vec![claim(ws, node, VOL_DATA, "1Gi")];
    let mut volumes = vec![
        crypto_volume(node, nc),
        empty_dir(VOL_DOCKER),
        empty_dir(VOL_DIND_SOCKET),
        empty_dir(VOL_TMP),
    ];
    if uses_couchdb(node) {
        init.push(couchdb_container(ws, node));
        claims.push(claim(ws, node, VOL_COUCHDB, "1Gi"));
        volumes.push(Volume {
            name: VOL_COUCHDB_INI.to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(couchdb_secret_name(node)),
                items: Some(vec![KeyToPath {
                    key: "fabdev.ini".to_string(),
                    path: "fabdev.ini".to_string(),
                    mode: None,
                }]),
                default_mode: Some(0o444),
                optional: Some(false),
            }),
            ..Volume::default()
        });
    }
    statefulset(ws, node, nc, pod_spec(init, vec![peer], volumes), claims)
}
