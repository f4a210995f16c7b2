//! A rendered StatefulSet's pod, planned as local processes: for each
//! container, the program, its arguments, exactly its env vars (Secret
//! references resolved from the rendered Secrets) and its mounts (each
//! volume a folder of the pod's own), and the running [`Pod`] made from it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Child;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, Secret};
use network::NodeKind;
use network::render::containers;

use crate::TestnetError;

/// One container of a pod, as a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPlan {
    /// `orderer`, `peer`, `dind`, `couchdb`.
    pub name: String,
    /// Env vars in the order the container lists them.
    pub env: Vec<(String, String)>,
    /// The container's `args` (the DinD sidecar's daemon flags).
    pub args: Vec<String>,
    /// (volume, or `volume/subPath`, mount path, read-only).
    pub mounts: Vec<(String, String, bool)>,
    /// Native sidecars (init containers that keep running) start first.
    pub sidecar: bool,
}

/// A pod: its volumes' contents and its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPlan {
    /// The pod name: `<statefulset>-0`.
    pub name: String,
    /// The StatefulSet (and node) name.
    pub node: String,
    /// Secret volumes: volume name -> (path in the volume, bytes, mode).
    pub secret_files: BTreeMap<String, Vec<(String, Vec<u8>, u32)>>,
    /// Every volume the pod has (secret, emptyDir, claim).
    pub volumes: Vec<String>,
    pub containers: Vec<ContainerPlan>,
}

impl PodPlan {
    /// Plan the pod of `sts`, resolving Secret volumes and env references
    /// against `secrets`.
    pub fn of(sts: &StatefulSet, secrets: &[Secret]) -> Result<PodPlan, TestnetError> {
        let node = sts.metadata.name.clone().unwrap_or_default();
        let bad = |problem: String| TestnetError::Unsupported {
            pod: node.clone(),
            problem,
        };
        let spec = sts
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .ok_or_else(|| bad("the StatefulSet has no pod template".to_string()))?;
        let secret = |name: &str| find_secret(secrets, name, &node);

        let mut volumes = Vec::new();
        let mut secret_files = BTreeMap::new();
        for v in spec.volumes.iter().flatten() {
            volumes.push(v.name.clone());
            if let Some(sv) = &v.secret {
                let name = sv.secret_name.clone().unwrap_or_default();
                let data = secret(&name)?.data.clone().unwrap_or_default();
                let default_mode = sv.default_mode.unwrap_or(0o644);
                let mut files = Vec::new();
                match &sv.items {
                    Some(items) => {
                        for item in items {
                            let bytes = data.get(&item.key).ok_or_else(|| {
                                bad(format!("Secret {name} has no key {}", item.key))
                            })?;
                            let mode = item.mode.unwrap_or(default_mode);
                            files.push((item.path.clone(), bytes.0.clone(), mode_bits(mode)));
                        }
                    }
                    None => {
                        for (key, bytes) in &data {
                            files.push((key.clone(), bytes.0.clone(), mode_bits(default_mode)));
                        }
                    }
                }
                secret_files.insert(v.name.clone(), files);
            } else if v.empty_dir.is_none() {
                return Err(bad(format!(
                    "volume {} is neither a Secret nor an emptyDir",
                    v.name
                )));
            }
        }
        for claim in sts
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.as_ref())
            .into_iter()
            .flatten()
        {
            if let Some(n) = &claim.metadata.name {
                volumes.push(n.clone());
            }
        }

        let mut containers = Vec::new();
        for (c, sidecar) in spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| (c, true))
            .chain(spec.containers.iter().map(|c| (c, false)))
        {
            if sidecar && c.restart_policy.as_deref() != Some("Always") {
                return Err(bad(format!(
                    "init container {} is not a native sidecar; only sidecars are supported",
                    c.name
                )));
            }
            containers.push(container(&node, c, sidecar, &volumes, secrets, &bad)?);
        }
        Ok(PodPlan {
            name: format!("{node}-0"),
            node,
            secret_files,
            volumes,
            containers,
        })
    }

    pub fn container(&self, name: &str) -> Option<&ContainerPlan> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Write the Secret volumes' files under `root/<volume>/` with their
    /// modes, and create the other volumes' folders.
    pub fn materialize(&self, root: &Path) -> Result<(), TestnetError> {
        for v in &self.volumes {
            let dir = root.join(v);
            mkdir(&dir)?;
        }
        for (volume, files) in &self.secret_files {
            for (rel, bytes, mode) in files {
                let path = root.join(volume).join(rel);
                if let Some(parent) = path.parent() {
                    mkdir(parent)?;
                }
                std::fs::write(&path, bytes).map_err(|source| TestnetError::Io {
                    action: "write",
                    path: path.clone(),
                    source,
                })?;
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).map_err(
                    |source| TestnetError::Io {
                        action: "set the mode of",
                        path: path.clone(),
                        source,
                    },
                )?;
            }
        }
        Ok(())
    }
}

fn find_secret<'a>(
    secrets: &'a [Secret],
    name: &str,
    pod: &str,
) -> Result<&'a Secret, TestnetError> {
    secrets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| TestnetError::Unsupported {
            pod: pod.to_string(),
            problem: format!("Secret {name} is not among the rendered objects"),
        })
}

pub(crate) fn mkdir(dir: &Path) -> Result<(), TestnetError> {
    std::fs::create_dir_all(dir).map_err(|source| TestnetError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })
}

fn mode_bits(mode: i32) -> u32 {
    u32::try_from(mode & 0o7777).unwrap_or(0o644)
}

fn container(
    pod: &str,
    c: &Container,
    sidecar: bool,
    volumes: &[String],
    secrets: &[Secret],
    bad: &dyn Fn(String) -> TestnetError,
) -> Result<ContainerPlan, TestnetError> {
    let secret = |name: &str| find_secret(secrets, name, pod);
    if ![
        containers::ORDERER,
        containers::PEER,
        containers::DIND,
        containers::COUCHDB,
    ]
    .contains(&c.name.as_str())
    {
        return Err(bad(format!(
            "container {} cannot run as a local process",
            c.name
        )));
    }
    let mut env = Vec::new();
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => v.clone(),
            (None, Some(from)) => {
                let r = from.secret_key_ref.as_ref().ok_or_else(|| {
                    bad(format!(
                        "env {} of {}: only secretKeyRef is supported",
                        e.name, c.name
                    ))
                })?;
                let data = secret(&r.name)?.data.clone().unwrap_or_default();
                let bytes = data
                    .get(&r.key)
                    .ok_or_else(|| bad(format!("Secret {} has no key {}", r.name, r.key)))?;
                String::from_utf8_lossy(&bytes.0).into_owned()
            }
            (None, None) => String::new(),
        };
        env.push((e.name.clone(), value));
    }
    let mut mounts = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        if !volumes.contains(&m.name) {
            return Err(bad(format!(
                "container {} mounts volume {}, which the pod does not have",
                c.name, m.name
            )));
        }
        // A subPath mount binds that file or folder of the volume.
        let source = match m.sub_path.as_deref().filter(|p| !p.is_empty()) {
            Some(sub) if !sub.split('/').any(|c| c == ".." || c.is_empty()) => {
                format!("{}/{sub}", m.name)
            }
            Some(sub) => {
                return Err(bad(format!(
                    "container {} mounts subPath {sub:?} of volume {}",
                    c.name, m.name
                )));
            }
            None => m.name.clone(),
        };
        mounts.push((source, m.mount_path.clone(), m.read_only == Some(true)));
    }
    Ok(ContainerPlan {
        name: c.name.clone(),
        env,
        args: c.args.clone().unwrap_or_default(),
        mounts,
        sidecar,
    })
}

/// The folder of a pod's volume.
pub(crate) fn volume_dir(pod_root: &Path, volume: &str) -> PathBuf {
    pod_root.join("volumes").join(volume)
}

/// One pod and its running containers.
#[derive(Debug)]
pub(crate) struct Pod {
    pub(crate) plan: PodPlan,
    pub(crate) kind: NodeKind,
    pub(crate) ip: Ipv4Addr,
    pub(crate) netns: String,
    pub(crate) dir: PathBuf,
    pub(crate) procs: BTreeMap<String, Child>,
}

impl Pod {
    pub(crate) fn log(&self, container: &str) -> PathBuf {
        self.dir.join(format!("{container}.log"))
    }
}
