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
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::crypto::{NodeCrypto, TLS_CA, TLS_CERT, TLS_KEY, in_pod};
use super::{
    COUCHDB_USER, NodeFiles, RenderError, Rendered, RenderedObject, TypedObjects, containers,
    labels,
};
use crate::spec::{NODE_PORTS, Provider, StateDatabase, Workspace, check_dns_label};
use crate::topology::{Node, NodeKind, Topology, ports};

mod builders;
mod services;
mod statefulsets;

use builders::{
    claim, empty_dir, env, env_list, env_secret, exec_probe, https_probe, mount, port, resources,
    tcp_liveness, unprivileged,
};
use services::{cluster_service, host_service, network_policy};
use statefulsets::{orderer_statefulset, peer_statefulset};

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
            let secret = couchdb_secret(ws, node, nc)?;
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
            Err(format!("{name:?} must start with a lower-case letter").into())
        }
    });
    r.map_err(|reason| RenderError::BadName {
        kind: kind.to_string(),
        name: name.to_string(),
        reason: reason.message,
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
    let mut annotations = BTreeMap::from([(
        labels::POD_SECURITY_REASON.to_string(),
        "privileged only for the peers' Docker-in-Docker sidecars (container `dind`): Fabric's peer builds and runs chaincode through a Docker daemon, which needs a privileged container; every other container runs as non-root with no capabilities".to_string(),
    )]);
    // Whose namespace it is: this workspace's ID, as a label (to select by)
    // and an annotation (both must match).
    if let Some(id) = &ws.workspace_id {
        l.insert(labels::WORKSPACE_ID.to_string(), id.clone());
        annotations.insert(labels::WORKSPACE_ID.to_string(), id.clone());
    }
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

/// A peer's CouchDB secrets: its admin password and its Erlang cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CouchdbSecrets {
    pub password: String,
    pub cookie: String,
}

/// The CouchDB secrets of a peer: one per workspace, peer and purpose, yet
/// stable across renders with no file of their own. They are derived
/// with HKDF-SHA256 (RFC 5869) from the peer's TLS private key, which
/// fabdev generates once per workspace into `.fabdev/crypto` and never
/// rotates, with the namespace, the node and the purpose as context.
/// Knowing one tells nothing about the key or about another. Without the
/// key there is no secret: it fails, never falls back to a constant.
pub(super) fn couchdb_secrets(
    ws: &Workspace,
    node: &Node,
    nc: &NodeCrypto,
) -> Result<CouchdbSecrets, RenderError> {
    let missing = || RenderError::MissingFile {
        node: node.name.clone(),
        file: TLS_KEY.to_string(),
    };
    let key = nc
        .file(TLS_KEY)
        .filter(|k| !k.is_empty())
        .ok_or_else(missing)?;
    let derive = |purpose: &str| {
        let info = [purpose, ws.name.as_str(), node.name.as_str()].join("\0");
        hex::encode(hkdf_sha256(b"fabdev couchdb v2", key, info.as_bytes(), 16))
    };
    Ok(CouchdbSecrets {
        password: derive("couchdb admin password"),
        cookie: derive("couchdb erlang cookie"),
    })
}

/// HKDF-SHA256 (RFC 5869): extract, then expand to `len` bytes (at most
/// 255 × 32; more is cut there).
pub(super) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    use ring::hmac;
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), ikm);
    let prk = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
    let mut out = Vec::with_capacity(len);
    let mut block: Vec<u8> = Vec::new();
    for i in 1..=255u8 {
        if out.len() >= len {
            break;
        }
        let mut ctx = hmac::Context::with_key(&prk);
        ctx.update(&block);
        ctx.update(info);
        ctx.update(&[i]);
        block = ctx.sign().as_ref().to_vec();
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

fn couchdb_secret(ws: &Workspace, node: &Node, nc: &NodeCrypto) -> Result<Secret, RenderError> {
    let secrets = couchdb_secrets(ws, node, nc)?;
    Ok(Secret {
        metadata: meta(ws, &couchdb_secret_name(node), node_labels(ws, node)),
        type_: Some("Opaque".to_string()),
        data: Some(BTreeMap::from([
            (
                "username".to_string(),
                ByteString(COUCHDB_USER.as_bytes().to_vec()),
            ),
            (
                "password".to_string(),
                ByteString(secrets.password.into_bytes()),
            ),
            (
                "erlang-cookie".to_string(),
                ByteString(secrets.cookie.into_bytes()),
            ),
            (
                "fabdev.ini".to_string(),
                ByteString(COUCHDB_INI_TEXT.as_bytes().to_vec()),
            ),
        ])),
        ..Secret::default()
    })
}

#[cfg(test)]
mod tests {
    use super::hkdf_sha256;

    /// RFC 5869, appendix A.1 (test case 1).
    #[test]
    fn hkdf_sha256_is_rfc_5869() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        assert_eq!(
            hex::encode(hkdf_sha256(&salt, &ikm, &info, 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert_eq!(hkdf_sha256(&salt, &ikm, &info, 16).len(), 16);
    }
}
