//! The container engine kind runs its nodes on: Docker or podman, as kind
//! itself supports (`KIND_EXPERIMENTAL_PROVIDER`). Which one is chosen from
//! fabdev.yaml (`cluster.kind.provider`), the environment, or what the
//! machine has, and the choice says why. fabdev talks to the chosen engine
//! through its Docker-compatible API (podman's API socket for podman): host
//! images go in and out there, and the kind nodes are its containers.
//!
//! The readings of the machine ([`Machine`]) are separate from the choice
//! and from the doctor's verdicts on podman's prerequisites, so both are
//! tested with made-up readings.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::images::{Daemon, ImageError};

mod leftovers;
mod podman;

pub use leftovers::{
    KIND_NETWORK, Leftovers, cni_chain_removal, is_kind_node_of, remove_podman_leftovers,
    remove_storage_only_nodes, storage_only_nodes,
};
pub use podman::{
    PodmanReadings, missing_capabilities, podman_checks, podman_default_ulimits, read_podman,
};

/// The variable kind reads to pick its node provider.
pub const PROVIDER_ENV: &str = "KIND_EXPERIMENTAL_PROVIDER";
/// podman's API socket for root (`podman system service`, `podman.socket`).
pub const PODMAN_ROOT_SOCKET: &str = "/run/podman/podman.sock";
/// Names the kind node image (`kind create cluster --image`) when
/// fabdev.yaml's `cluster.kind.nodeImage` does not; kind's default
/// (kindest/node) when neither does.
pub const NODE_IMAGE_ENV: &str = "FABDEV_KIND_NODE_IMAGE";
/// The label of the offline kind node image (scripts/setup/kind-node-image.sh);
/// its value is the image's build key.
pub const OFFLINE_NODE_LABEL: &str = "dev.fabdev.kind-node";

/// A container engine kind can run its nodes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeProvider {
    Docker,
    Podman,
}

impl NodeProvider {
    pub fn parse(s: &str) -> Option<NodeProvider> {
        match s {
            "docker" => Some(NodeProvider::Docker),
            "podman" => Some(NodeProvider::Podman),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeProvider::Docker => "docker",
            NodeProvider::Podman => "podman",
        }
    }
}

impl fmt::Display for NodeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of choosing or reaching a provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{PROVIDER_ENV}={value:?} is not a provider fabdev drives")]
    UnknownEnv { value: String },
    #[error(
        "podman's API socket {} is not there: fabdev moves images through it",
        path.display()
    )]
    NoPodmanSocket { path: PathBuf },
    #[error(transparent)]
    Daemon(#[from] ImageError),
    #[error("cannot {action} on {daemon}")]
    Api {
        action: String,
        daemon: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error(
        "cannot remove podman's storage-only containers of a killed `kind create` with `{command}`: {output}"
    )]
    StorageContainers { command: String, output: String },
    #[error("cannot remove podman's CNI chains with `{command}`: {output}")]
    Chains { command: String, output: String },
}

impl ProviderError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProviderError::UnknownEnv { .. } => Some("set it to docker or podman, or unset it".to_string()),
            ProviderError::NoPodmanSocket { path } => Some(format!("start it: `systemctl enable --now podman.socket` (root) or `systemctl --user enable --now podman.socket`, or run `podman system service --time=0 unix://{} &`; or name another socket with CONTAINER_HOST=unix://PATH", path.display())),
            ProviderError::StorageContainers { .. } => Some("list them with `podman ps -a --external` and remove them with `podman rm --storage ID`".to_string()),
            ProviderError::Chains { .. } => Some("remove them by hand (`iptables -t nat -S | grep CNI-`), or leave them: they are empty".to_string()),
            _ => None,
        }
    }
}

/// What choosing a provider reads from the machine: which CLIs are there
/// (kind's own rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// `docker` is on PATH.
    pub docker_cli: bool,
    /// `podman` is on PATH.
    pub podman_cli: bool,
}

impl Machine {
    /// Reads this machine.
    pub fn read() -> Machine {
        Machine {
            docker_cli: which::which("docker").is_ok(),
            podman_cli: which::which("podman").is_ok(),
        }
    }
}

/// The chosen provider and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderChoice {
    pub provider: NodeProvider,
    /// `cluster.kind.provider in fabdev.yaml`, `KIND_EXPERIMENTAL_PROVIDER`,
    /// `detected: …`.
    pub why: String,
}

impl fmt::Display for ProviderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.provider, self.why)
    }
}

/// Picks the provider: fabdev.yaml's first, then `KIND_EXPERIMENTAL_PROVIDER`,
/// then what the machine has, as kind itself detects it: Docker when its
/// CLI is there, else podman when it is installed, else Docker (whose
/// absence the next steps report). So fabdev and a `kind` run by hand
/// agree on where the nodes are. (Where Docker cannot grant `--privileged`,
/// `fabdev doctor` says so and points at podman.)
pub fn choose(
    configured: Option<NodeProvider>,
    env: Option<&str>,
    machine: &Machine,
) -> Result<ProviderChoice, ProviderError> {
    if let Some(provider) = configured {
        return Ok(ProviderChoice {
            provider,
            why: "cluster.kind.provider in fabdev.yaml".into(),
        });
    }
    if let Some(value) = env.filter(|v| !v.is_empty()) {
        let provider = NodeProvider::parse(value).ok_or_else(|| ProviderError::UnknownEnv {
            value: value.to_string(),
        })?;
        return Ok(ProviderChoice {
            provider,
            why: format!("{PROVIDER_ENV}={value}"),
        });
    }
    let (provider, why) = match (machine.docker_cli, machine.podman_cli) {
        (true, _) => (NodeProvider::Docker, "detected: docker is installed"),
        (false, true) => (
            NodeProvider::Podman,
            "detected: podman is installed, docker is not",
        ),
        (false, false) => (
            NodeProvider::Docker,
            "default: neither docker nor podman is installed",
        ),
    };
    Ok(ProviderChoice {
        provider,
        why: why.into(),
    })
}

/// Reads the environment and the machine, and picks (see [`choose`]).
pub fn choose_here(configured: Option<NodeProvider>) -> Result<ProviderChoice, ProviderError> {
    let env = std::env::var(PROVIDER_ENV).ok();
    choose(configured, env.as_deref(), &Machine::read())
}

/// podman's API socket: `CONTAINER_HOST` (podman's own variable) when it is
/// a `unix://` address, else root's [`PODMAN_ROOT_SOCKET`], else the user's
/// `$XDG_RUNTIME_DIR/podman/podman.sock`.
pub fn podman_socket() -> PathBuf {
    if let Ok(h) = std::env::var("CONTAINER_HOST")
        && let Some(p) = h.strip_prefix("unix://")
    {
        return PathBuf::from(p);
    }
    podman_socket_for(
        rustix_is_root(),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    )
}

fn podman_socket_for(root: bool, runtime_dir: Option<PathBuf>) -> PathBuf {
    match (root, runtime_dir) {
        (false, Some(dir)) => dir.join("podman").join("podman.sock"),
        _ => PathBuf::from(PODMAN_ROOT_SOCKET),
    }
}

fn rustix_is_root() -> bool {
    // The effective user of this process, from /proc (no libc call).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The engine's Docker-compatible API: the host's Docker daemon
/// ([`Daemon::connect_local`]) or podman's socket, which must exist.
pub fn api(provider: NodeProvider) -> Result<Daemon, ProviderError> {
    match provider {
        NodeProvider::Docker => Ok(Daemon::connect_local()?),
        NodeProvider::Podman => {
            let path = podman_socket();
            if !path.exists() {
                return Err(ProviderError::NoPodmanSocket { path });
            }
            Ok(Daemon::connect_unix(&path, "host podman")?)
        }
    }
}

/// The value of the offline node image's label ([`OFFLINE_NODE_LABEL`]) on
/// the engine, `None` when the image has no such label or is not there.
pub async fn offline_node_key(api: &Daemon, image: &str) -> Result<Option<String>, ImageError> {
    let docker = api.docker(&format!("inspect image {image}")).await?;
    match docker.inspect_image(image).await {
        Ok(i) => Ok(i
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(OFFLINE_NODE_LABEL).cloned())),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(source) => Err(ImageError::Inspect {
            image: image.to_string(),
            daemon: api.label().to_string(),
            source: Box::new(source),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(docker: bool, podman: bool) -> Machine {
        Machine {
            docker_cli: docker,
            podman_cli: podman,
        }
    }

    #[test]
    fn configured_then_env_then_detected() {
        let m = machine(true, true);
        let c = choose(Some(NodeProvider::Podman), Some("docker"), &m).unwrap();
        assert_eq!(c.provider, NodeProvider::Podman);
        assert_eq!(c.why, "cluster.kind.provider in fabdev.yaml");
        let c = choose(None, Some("podman"), &m).unwrap();
        assert_eq!(c.to_string(), "podman (KIND_EXPERIMENTAL_PROVIDER=podman)");
        let c = choose(None, Some(""), &m).unwrap();
        assert_eq!(c.provider, NodeProvider::Docker);
        let err = choose(None, Some("nerdctl"), &m).unwrap_err();
        assert!(err.to_string().contains("nerdctl"), "{err}");
        assert!(
            err.hint()
                .is_some_and(|h| h.contains("set it to docker or podman")),
            "{err:?}"
        );
    }

    #[test]
    fn detection_is_kinds_docker_then_podman() {
        let pick = |m: Machine| choose(None, None, &m).unwrap();
        assert_eq!(pick(machine(true, true)).provider, NodeProvider::Docker);
        assert_eq!(pick(machine(false, true)).provider, NodeProvider::Podman);
        assert!(pick(machine(false, false)).why.starts_with("default"));
    }

    #[test]
    fn podman_sockets() {
        assert_eq!(
            podman_socket_for(true, Some("/run/user/0".into())),
            PathBuf::from(PODMAN_ROOT_SOCKET)
        );
        assert_eq!(
            podman_socket_for(false, Some("/run/user/1000".into())),
            PathBuf::from("/run/user/1000/podman/podman.sock")
        );
        assert_eq!(
            podman_socket_for(false, None),
            PathBuf::from(PODMAN_ROOT_SOCKET)
        );
    }
}
