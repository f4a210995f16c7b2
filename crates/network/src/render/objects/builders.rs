//! Small builders of Kubernetes object parts: env vars, ports, mounts,
//! resources, probes, security contexts, volumes and claims.

use super::*;

pub(super) fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

pub(super) fn env_secret(name: &str, secret: &str, key: &str) -> EnvVar {
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
pub(super) fn env_list(items: &[&str]) -> String {
    format!("[{}]", items.join(","))
}

pub(super) fn port(name: &str, p: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: i32::from(p),
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// The ephemeral storage every container asks for (what scheduling
/// reserves: small, so a laptop's kind node still takes the network).
pub(super) const EPHEMERAL_REQUEST: &str = "64Mi";

/// Requests (what scheduling reserves) and limits (what the container may
/// use at most) of CPU and memory, and a limit of ephemeral storage (its
/// writable layer, logs and, for the pod, its emptyDir volumes: a container
/// that fills the node's disk is evicted instead).
pub(super) fn resources(
    request: (&str, &str),
    limit: (&str, &str),
    ephemeral_limit: &str,
) -> ResourceRequirements {
    let pair = |(cpu, memory): (&str, &str), ephemeral: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
            (
                "ephemeral-storage".to_string(),
                Quantity(ephemeral.to_string()),
            ),
        ])
    };
    ResourceRequirements {
        requests: Some(pair(request, EPHEMERAL_REQUEST)),
        limits: Some(pair(limit, ephemeral_limit)),
        ..ResourceRequirements::default()
    }
}

/// A `GET` probe over HTTPS (the kubelet does not check the server's
/// certificate, and sends none of its own).
pub(super) fn https_probe(path: &str, port: u16, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(i32::from(port)),
            scheme: Some("HTTPS".to_string()),
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
pub(super) fn unprivileged(uid: i64, read_only_root: bool) -> SecurityContext {
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
pub(super) fn tcp_liveness(port: u16) -> Probe {
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
pub(super) fn exec_probe(command: &[&str], period: i32, failures: i32) -> Probe {
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

/// An emptyDir volume of at most `size_limit`.
pub(super) fn empty_dir(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(size_limit.to_string())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

pub(super) fn claim(ws: &Workspace, node: &Node, name: &str, size: &str) -> PersistentVolumeClaim {
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
