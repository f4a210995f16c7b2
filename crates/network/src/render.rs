//! The Kubernetes objects that run a workspace's Fabric network, and the kind
//! config that gives the host access to them.
//!
//! Every object is a typed k8s-openapi value serialised to YAML with
//! serde-saphyr. Rendering is pure and deterministic: the same workspace,
//! topology and crypto give the same bytes, in the same order, under the same
//! file names.
//!
//! What is rendered (all in namespace = workspace name, all labelled so that
//! `fabdev down` finds them by [`labels::WORKSPACE`]):
//! - `00-namespace-<ns>.yaml`: the Namespace (Pod Security level `privileged`,
//!   since the DinD sidecars are privileged);
//! - `01-secret-<node>-crypto.yaml`: each node's crypto folder, mounted at
//!   [`CRYPTO_DIR`]; `01-secret-<peer>-couchdb.yaml` for CouchDB peers;
//! - `02-service-<node>.yaml` (ClusterIP, in-cluster names) and
//!   `02-service-<node>-host.yaml` (NodePort, the host's ports);
//! - `03-statefulset-<node>.yaml`: one pod per orderer and per peer (peer:
//!   DinD native sidecar, optional CouchDB native sidecar, peer container).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::spec::Workspace;
use crate::topology::Topology;

mod crypto;
mod objects;

pub use crypto::{CRYPTO_DIR, REQUIRED_FILES, secret_key};
pub use objects::{DIND_SOCKET, DIND_SOCKET_DIR};

/// Crypto files per node: node name -> (path relative to the node's crypto
/// folder, e.g. "msp/signcerts/cert.pem", "tls/server.crt") -> bytes.
pub type NodeFiles = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// Label keys fabdev puts on what it creates.
pub mod labels {
    /// `fabdev` on everything.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// The value of [`MANAGED_BY`].
    pub const MANAGER: &str = "fabdev";
    /// The workspace name, on everything.
    pub const WORKSPACE: &str = "fabdev.dev/workspace";
    /// `fabric-orderer` or `fabric-peer`, on a node's objects.
    pub const NAME: &str = "app.kubernetes.io/name";
    /// The org name as in the spec (`Org1`), on a node's objects.
    pub const ORG: &str = "fabdev.dev/org";
    /// The node name (`peer0-org1`), on a node's objects.
    pub const NODE: &str = "fabdev.dev/node";
    /// `orderer` or `peer`, on a node's objects.
    pub const ROLE: &str = "fabdev.dev/role";
    /// Pod template annotation: SHA-256 of the node's crypto files, so pods
    /// restart when their crypto changes.
    pub const CRYPTO_HASH: &str = "fabdev.dev/crypto-sha256";
    /// Namespace label and annotation: the workspace's random ID
    /// (`Workspace::workspace_id`), whose namespace it is.
    pub const WORKSPACE_ID: &str = cluster::k8s::WORKSPACE_ID;
    /// Namespace annotation: why its Pod Security level is `privileged`.
    pub const POD_SECURITY_REASON: &str = "fabdev.dev/pod-security-reason";
}

/// Container names inside the pods (for logs and exec).
pub mod containers {
    pub const ORDERER: &str = "orderer";
    pub const PEER: &str = "peer";
    /// The peer's Docker-in-Docker native sidecar.
    pub const DIND: &str = "dind";
    /// The peer's CouchDB native sidecar (CouchDB orgs only).
    pub const COUCHDB: &str = "couchdb";
}

/// The CouchDB admin user, in the `<peer>-couchdb` Secret with its password:
/// one per workspace and peer, derived from the peer's TLS key (so stable
/// across renders, and never `adminpw`). CouchDB listens on the pod's
/// loopback only, where its peer reaches it.
pub const COUCHDB_USER: &str = "admin";

/// Everything `fabdev up` would apply: the kind config and the objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// kind cluster config (YAML).
    pub kind_config: String,
    /// The objects in apply order (namespace, secrets, services, statefulsets).
    pub objects: Vec<RenderedObject>,
}

impl Rendered {
    /// The objects as manifests for `cluster::k8s::apply`, in apply order.
    pub fn manifests(&self) -> Vec<cluster::k8s::Manifest> {
        self.objects
            .iter()
            .map(|o| cluster::k8s::Manifest {
                file: o.file_name.clone(),
                yaml: o.yaml.clone(),
            })
            .collect()
    }
}

/// One Kubernetes object as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedObject {
    /// `Namespace`, `Secret`, `Service`, `StatefulSet`.
    pub kind: String,
    /// metadata.name.
    pub name: String,
    /// Stable file name, e.g. `03-statefulset-peer0-org1.yaml`; sorting file
    /// names gives an order that applies cleanly.
    pub file_name: String,
    pub yaml: String,
}

/// Errors of rendering and writing the objects.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no crypto material for node {node}")]
    NoCrypto { node: String },
    #[error("crypto material of node {node} has no {file}")]
    MissingFile { node: String, file: String },
    #[error("crypto file {path:?} of node {node} cannot go into a Kubernetes Secret: {reason}")]
    BadCryptoPath {
        node: String,
        path: String,
        reason: String,
    },
    #[error("{kind} name {name:?} is not a valid Kubernetes name: {reason}")]
    BadName {
        kind: String,
        name: String,
        reason: String,
    },
    #[error(
        "node {node} would use host port {port}, outside Kubernetes' NodePort range 30000-32767"
    )]
    NodePortRange { node: String, port: u16 },
    #[error("cannot serialise {kind} {name} to YAML")]
    Yaml {
        kind: String,
        name: String,
        #[source]
        source: serde_saphyr::SerializeError,
    },
    #[error("cannot render the kind config")]
    KindConfig(#[from] cluster::kind_config::KindConfigError),
    #[error(
        "{} already exists; render writes a new folder and never overwrites one",
        path.display()
    )]
    OutExists { path: PathBuf },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RenderError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            RenderError::NoCrypto { .. } => Some("generate the workspace's crypto before rendering (fabdev does this in `render` and `up`)".to_string()),
            RenderError::MissingFile { .. } => Some("the node's crypto folder is incomplete; delete it so fabdev generates it again".to_string()),
            RenderError::NodePortRange { .. } => Some("lower `hostPortBase` in fabdev.yaml".to_string()),
            RenderError::OutExists { .. } => Some("remove it or pass another --out".to_string()),
            _ => None,
        }
    }
}

/// Render the kind config and every Kubernetes object of a workspace.
///
/// `crypto` must hold, for every node of `topo`, at least the files of
/// [`REQUIRED_FILES`]; every file given goes into the node's Secret.
pub fn render(
    ws: &Workspace,
    topo: &Topology,
    crypto: &NodeFiles,
) -> Result<Rendered, RenderError> {
    objects::render(ws, topo, crypto)
}

/// The same objects as [`render`] gives, as typed k8s-openapi values, for
/// code that runs them without a cluster (the `testnet` crate runs each
/// StatefulSet's pod as local processes with exactly these env vars, Secret
/// items and mounts).
#[derive(Debug, Clone, Default)]
pub struct TypedObjects {
    pub namespace: k8s_openapi::api::core::v1::Namespace,
    /// Crypto Secrets (and CouchDB Secrets), in apply order.
    pub secrets: Vec<k8s_openapi::api::core::v1::Secret>,
    /// Each node's ClusterIP Service, then (kind only) its NodePort `-host` Service.
    pub services: Vec<k8s_openapi::api::core::v1::Service>,
    /// One StatefulSet per node, in topology order.
    pub statefulsets: Vec<k8s_openapi::api::apps::v1::StatefulSet>,
    /// One NetworkPolicy per node (only its Services' ports let in), in
    /// topology order.
    pub network_policies: Vec<k8s_openapi::api::networking::v1::NetworkPolicy>,
}

/// Render every Kubernetes object of a workspace as typed values (see
/// [`TypedObjects`]); the same checks as [`render`].
pub fn typed_objects(
    ws: &Workspace,
    topo: &Topology,
    crypto: &NodeFiles,
) -> Result<TypedObjects, RenderError> {
    objects::typed(ws, topo, crypto)
}

/// All objects as one `---`-separated YAML stream (for stdout and
/// `kubectl apply -f -`). The kind config is not part of it.
pub fn to_multi_doc(rendered: &Rendered) -> String {
    let mut out = String::new();
    for o in &rendered.objects {
        out.push_str("---\n");
        out.push_str(&o.yaml);
        if !o.yaml.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Write `out/kind-config.yaml` and `out/manifests/<file_name>` for every
/// object. `out` must not exist: everything is written into a temporary
/// folder beside it, which is then renamed to `out`, so a failure leaves
/// nothing half-written. The folder is private to the user (mode 0700 on
/// Unix): the Secrets hold private keys.
pub fn write_out(rendered: &Rendered, out: &Path) -> Result<(), RenderError> {
    if out.symlink_metadata().is_ok() {
        return Err(RenderError::OutExists {
            path: out.to_path_buf(),
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| RenderError::Io {
        action: "create folder",
        path: parent.clone(),
        source,
    })?;
    remove_stale_renders(&parent);
    let prefix = format!("{RENDER_TMP_PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let tmp = builder
        .tempdir_in(&parent)
        .map_err(|source| RenderError::Io {
            action: "create a temporary folder in",
            path: parent.clone(),
            source,
        })?;
    write_file(&tmp.path().join("kind-config.yaml"), &rendered.kind_config)?;
    let manifests = tmp.path().join("manifests");
    std::fs::create_dir(&manifests).map_err(|source| RenderError::Io {
        action: "create folder",
        path: manifests.clone(),
        source,
    })?;
    for o in &rendered.objects {
        write_file(&manifests.join(&o.file_name), &o.yaml)?;
    }
    // Checked again: someone may have created it meanwhile, and renaming onto
    // an empty folder would silently replace it.
    if out.symlink_metadata().is_ok() {
        return Err(RenderError::OutExists {
            path: out.to_path_buf(),
        });
    }
    std::fs::rename(tmp.path(), out).map_err(|source| RenderError::Io {
        action: "move the rendered files to",
        path: out.to_path_buf(),
        source,
    })?;
    // Renamed: nothing left to clean up.
    let _ = tmp.keep();
    Ok(())
}

/// Name prefix of the temporary folder [`write_out`] fills beside `out`:
/// `.fabdev-render-<pid>-<random>`.
pub const RENDER_TMP_PREFIX: &str = ".fabdev-render-";

/// Removes the temporary folders of renders that were killed or interrupted
/// (they hold private keys): those beside `out` named with the ID of a
/// process that no longer runs. Where running processes cannot be told
/// (no `/proc`), nothing is removed. Best effort: a folder that cannot be
/// removed is left for the next run.
fn remove_stale_renders(parent: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(RENDER_TMP_PREFIX))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || proc.join(pid.to_string()).exists() {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes the temporary folders this process's [`write_out`] made beside
/// `out` (for a signal handler: the process is about to exit, so nothing of
/// it will be renamed into place). Tries a few times: files may still be
/// being written into them.
pub fn remove_own_render_tmp(out: &Path) {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mine = format!("{RENDER_TMP_PREFIX}{}-", std::process::id());
    for _ in 0..5 {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            return;
        };
        let mut left = false;
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&mine))
            {
                left |= std::fs::remove_dir_all(entry.path()).is_err();
            }
        }
        if !left {
            return;
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), RenderError> {
    let io = |source| RenderError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::create_new(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}
