//! Images into the containerd of every kind node, through the host's Docker
//! daemon (bollard), without `kind load` and without a temp file.
//!
//! A kind node is a container on the host daemon labelled
//! `io.x-k8s.kind.cluster=<cluster>`; Kubernetes in it runs on containerd.
//! For each image this module does what `kind load docker-image` does, in
//! one stream:
//!
//! 1. asks each node's CRI for the image's ID (`crictl inspecti`) and skips
//!    the nodes that already have the host's ID;
//! 2. streams the host's export (`GET /images/{name}/get`) into
//!    `ctr --namespace=k8s.io images import … -` on every node that needs
//!    it at once (one export, its chunks sent to each node's stdin: no
//!    `docker save` to disk first), reporting bytes as it goes;
//! 3. checks with `crictl` again that each node now has the host's ID.
//!
//! The execs are not privileged (`kind load` runs `docker exec --privileged`),
//! so this also works where the host cannot grant every capability.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::ListContainersOptions;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::images::{Daemon, ImageError, ImageEvent, SkipReason, TransferReport, export_into};

/// The label kind puts on every node container of a cluster.
pub const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
/// The containerd namespace Kubernetes' CRI uses.
const K8S_NAMESPACE: &str = "--namespace=k8s.io";
/// Chunks in flight between the export and one node's stdin.
const PIPE_CHUNKS: usize = 16;
/// Output kept from a failed command, for the error message.
const OUTPUT_TAIL: usize = 4096;

/// Everything that can go wrong loading images into kind nodes. Each variant
/// names the node and, for commands, a line that can be pasted to run it again.
#[derive(Debug, thiserror::Error)]
pub enum NodeImageError {
    /// Something on the host daemon (inspect, export) failed.
    #[error(transparent)]
    Host(#[from] ImageError),
    #[error("listing the nodes of kind cluster {cluster} on {daemon}")]
    List {
        cluster: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error(
        "kind cluster {cluster} has no node containers on {daemon} (label {CLUSTER_LABEL}={cluster})"
    )]
    NoNodes { cluster: String, daemon: String },
    #[error("kind node {node} is {state}, not running")]
    NotRunning { node: String, state: String },
    #[error("running `{command}` on kind node {node}")]
    Exec {
        node: String,
        command: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("`{command}` did not finish within {} s on kind node {node}", after.as_secs())]
    ExecTimeout {
        node: String,
        command: String,
        after: Duration,
    },
    #[error("`{command}` failed on kind node {node} (exit code {exit_code}):\n{output}")]
    Command {
        node: String,
        command: String,
        exit_code: i64,
        output: String,
    },
    #[error("cannot tell which snapshotter containerd uses on kind node {node}: {reason}")]
    Snapshotter { node: String, reason: String },
    #[error(
        "loading image {image} into kind node {node}: its CRI reports ID {}, but the host has {expected}",
        found.as_deref().unwrap_or("(none)")
    )]
    IdMismatch {
        image: String,
        node: String,
        expected: String,
        found: Option<String>,
    },
}

impl NodeImageError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            NodeImageError::NoNodes { .. } => {
                Some("create it first (`fabdev up`), or check DOCKER_HOST".to_string())
            }
            NodeImageError::NotRunning { node, .. } => {
                Some(format!("start it: docker start {node}"))
            }
            _ => None,
        }
    }
}

/// The running node containers of kind cluster `cluster`, by name, sorted.
pub async fn kind_nodes(host: &Daemon, cluster: &str) -> Result<Vec<String>, NodeImageError> {
    let docker = host
        .client(|| format!("list the nodes of kind cluster {cluster}"))
        .await?;
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{CLUSTER_LABEL}={cluster}")],
        )])),
        ..Default::default()
    };
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|source| NodeImageError::List {
            cluster: cluster.to_string(),
            daemon: host.label.clone(),
            source: Box::new(source),
        })?;
    let mut nodes = Vec::with_capacity(list.len());
    for c in list {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .or(c.id.clone())
            .unwrap_or_default();
        let state = c.state.map(|s| s.to_string()).unwrap_or_default();
        if state != "running" {
            return Err(NodeImageError::NotRunning { node: name, state });
        }
        nodes.push(name);
    }
    if nodes.is_empty() {
        return Err(NodeImageError::NoNodes {
            cluster: cluster.to_string(),
            daemon: host.label.clone(),
        });
    }
    nodes.sort();
    Ok(nodes)
}

/// Loads `images` from the host daemon into the containerd of every node of
/// kind cluster `cluster`, skipping nodes that already have the host's image
/// ID. `transferred` lists images sent to at least one node; `skipped` the
/// images every node already had. Events name the nodes in `to`.
pub async fn load_into_nodes(
    host: &Daemon,
    cluster: &str,
    images: &[String],
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<TransferReport, NodeImageError> {
    let nodes = kind_nodes(host, cluster).await?;
    let docker = host
        .client(|| format!("load images into kind cluster {cluster}"))
        .await?
        .clone();
    let mut snapshotters: HashMap<String, String> = HashMap::new();
    let mut report = TransferReport::default();
    for image in images {
        let source = host
            .inspect(image)
            .await?
            .ok_or_else(|| ImageError::MissingOnSource {
                image: image.clone(),
                daemon: host.label.clone(),
            })?;
        let mut needing = Vec::new();
        for node in &nodes {
            if node_image_id(&docker, host, node, image).await?.as_deref() != Some(&source.id) {
                needing.push(node.clone());
            }
        }
        if needing.is_empty() {
            let to = node_label(&nodes);
            report.skip(image, &source.id, &to, SkipReason::AlreadyPresent, on_event);
            continue;
        }
        for node in &needing {
            if !snapshotters.contains_key(node) {
                let s = snapshotter(&docker, host, node).await?;
                snapshotters.insert(node.clone(), s);
            }
        }
        let bytes = stream_to_nodes(
            &docker,
            host,
            &needing,
            &snapshotters,
            image,
            source.size,
            on_event,
        )
        .await?;
        for node in &needing {
            // The export may name the image otherwise than the pods do
            // (podman's `localhost/name:tag`): it gets the name the kubelet
            // asks for.
            let found = crate::images::id_after_load(
                &source.id,
                || node_image_id(&docker, host, node, image),
                || tag_by_id(&docker, host, node, &source.id, image),
            )
            .await?;
            if found.as_deref() != Some(&source.id) {
                return Err(NodeImageError::IdMismatch {
                    image: image.clone(),
                    node: node.clone(),
                    expected: source.id.clone(),
                    found,
                });
            }
        }
        report.sent(image, &source.id, bytes, &node_label(&needing), on_event);
    }
    Ok(report)
}

fn node_label(nodes: &[String]) -> String {
    match nodes {
        [one] => format!("kind node {one}"),
        many => format!("kind nodes {}", many.join(", ")),
    }
}

/// The import command kind itself runs on a node (`--digests` and
/// `--all-platforms` as kind does; the snapshotter the node's CRI uses).
fn import_command(snapshotter: &str) -> Vec<String> {
    [
        "ctr",
        K8S_NAMESPACE,
        "images",
        "import",
        "--all-platforms",
        "--digests",
        &format!("--snapshotter={snapshotter}"),
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One export from the host, its chunks fanned out to an import on each node.
async fn stream_to_nodes(
    docker: &Docker,
    host: &Daemon,
    nodes: &[String],
    snapshotters: &HashMap<String, String>,
    image: &str,
    bytes_expected: u64,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<u64, NodeImageError> {
    let mut senders = Vec::with_capacity(nodes.len());
    let mut imports = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
        senders.push(tx);
        let snapshotter = snapshotters.get(node).map(String::as_str).unwrap_or("");
        let cmd = import_command(snapshotter);
        imports.push(async move {
            let out = exec(docker, node, &cmd, Some(rx), host.transfer_timeout).await?;
            out.check(node, &cmd).map(drop)
        });
    }
    let export = docker.export_image(image);
    let label = node_label(nodes);
    export_into(
        export,
        senders,
        imports,
        host,
        &label,
        image,
        bytes_expected,
        on_event,
    )
    .await
}

/// The image ID the node's CRI has for `image`, or `None` when it has none.
/// As in kind, any failure of the lookup means "load it"; the check after the
/// load is strict.
async fn node_image_id(
    docker: &Docker,
    host: &Daemon,
    node: &str,
    image: &str,
) -> Result<Option<String>, NodeImageError> {
    let cmd: Vec<String> = ["crictl", "inspecti", "--output", "json", image]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = exec(docker, node, &cmd, None, host.request_timeout).await?;
    if out.exit_code != 0 {
        return Ok(None);
    }
    Ok(parse_inspecti(&out.stdout))
}

/// Names image `id` on the node `image` as the CRI resolves it
/// ([`normalized_reference`]), when the node has that ID under another name;
/// `false` when it has no image of that ID.
async fn tag_by_id(
    docker: &Docker,
    host: &Daemon,
    node: &str,
    id: &str,
    image: &str,
) -> Result<bool, NodeImageError> {
    let cmd: Vec<String> = ["crictl", "inspecti", "--output", "json", id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = exec(docker, node, &cmd, None, host.request_timeout).await?;
    if out.exit_code != 0 {
        return Ok(false);
    }
    let Some(existing) = parse_repo_tags(&out.stdout).into_iter().next() else {
        return Ok(false);
    };
    let cmd: Vec<String> = [
        "ctr",
        K8S_NAMESPACE,
        "images",
        "tag",
        "--force",
        &existing,
        &normalized_reference(image),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    exec(docker, node, &cmd, None, host.request_timeout)
        .await?
        .check(node, &cmd)?;
    Ok(true)
}

fn parse_repo_tags(stdout: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(stdout) else {
        return Vec::new();
    };
    v.pointer("/status/repoTags")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A Docker image reference as containerd's CRI names it: the registry
/// `docker.io` (and `library/` for an official image) when the first part
/// names none, and `:latest` without a tag or digest.
pub fn normalized_reference(image: &str) -> String {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let mut full = if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else if first.contains(['.', ':']) || first == "localhost" {
        image.to_string()
    } else {
        format!("docker.io/{image}")
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

fn parse_inspecti(stdout: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(stdout).ok()?;
    v.pointer("/status/id")?.as_str().map(str::to_string)
}

/// The snapshotter of the node's CRI, from `containerd config dump`.
async fn snapshotter(docker: &Docker, host: &Daemon, node: &str) -> Result<String, NodeImageError> {
    let cmd: Vec<String> = vec!["containerd".into(), "config".into(), "dump".into()];
    let out = exec(docker, node, &cmd, None, host.request_timeout)
        .await?
        .check(node, &cmd)?;
    parse_snapshotter(&String::from_utf8_lossy(&out.stdout)).map_err(|reason| {
        NodeImageError::Snapshotter {
            node: node.to_string(),
            reason,
        }
    })
}

/// Reads the CRI snapshotter out of a containerd config: version 2 keeps it
/// under `plugins."io.containerd.grpc.v1.cri".containerd`, versions 3 and 4
/// (containerd 2.x) under `plugins."io.containerd.cri.v1.images"`.
pub fn parse_snapshotter(config: &str) -> Result<String, String> {
    let doc: toml::Table = config
        .parse()
        .map_err(|e: toml::de::Error| format!("the config does not parse: {e}"))?;
    let version = doc
        .get("version")
        .and_then(toml::Value::as_integer)
        .ok_or("the config has no version")?;
    let path: &[&str] = match version {
        2 => &[
            "plugins",
            "io.containerd.grpc.v1.cri",
            "containerd",
            "snapshotter",
        ],
        3 | 4 => &["plugins", "io.containerd.cri.v1.images", "snapshotter"],
        v => return Err(format!("config version {v} is not one of 2, 3 or 4")),
    };
    let mut at: Option<&toml::Value> = None;
    let mut table = &doc;
    for (i, key) in path.iter().enumerate() {
        let value = table.get(*key);
        if i + 1 == path.len() {
            at = value;
        } else if let Some(t) = value.and_then(toml::Value::as_table) {
            table = t;
        } else {
            break;
        }
    }
    at.and_then(toml::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("config version {version} sets no {}", path.join(".")))
}

/// What a command run in a node printed, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` in node container `node` on the host daemon, feeding it the
/// chunks of `stdin` when given (its end closes the command's input; an
/// `Err` chunk cuts the input off), within the daemon's transfer timeout.
/// A non-zero exit is returned as output, not as an error.
pub async fn exec_in_node(
    host: &Daemon,
    node: &str,
    cmd: &[String],
    stdin: Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>,
) -> Result<ExecOutput, NodeImageError> {
    let docker = host
        .client(|| format!("run a command on kind node {node}"))
        .await?;
    exec(docker, node, cmd, stdin, host.transfer_timeout).await
}

impl ExecOutput {
    fn check(self, node: &str, cmd: &[String]) -> Result<ExecOutput, NodeImageError> {
        if self.exit_code == 0 {
            return Ok(self);
        }
        let mut text = String::from_utf8_lossy(&self.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&self.stderr));
        let text = text.trim();
        let tail = match text.char_indices().rev().nth(OUTPUT_TAIL) {
            Some((at, _)) => &text[at..],
            None => text,
        };
        Err(NodeImageError::Command {
            node: node.to_string(),
            command: pasteable(node, cmd),
            exit_code: self.exit_code,
            output: tail.to_string(),
        })
    }
}

/// `docker exec [-i] NODE ARGS…`, quoted for a shell.
fn pasteable(node: &str, cmd: &[String]) -> String {
    let stdin = cmd.last().is_some_and(|a| a == "-");
    let mut line = String::from("docker exec ");
    if stdin {
        line.push_str("-i ");
    }
    line.push_str(node);
    for a in cmd {
        line.push(' ');
        if a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:@".contains(c))
        {
            line.push_str(a);
        } else {
            line.push('\'');
            line.push_str(&a.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}

/// Runs `cmd` in container `node`, feeding it `stdin` (closed at the end)
/// when given, and collects its output and exit code, all within `timeout`.
async fn exec(
    docker: &Docker,
    node: &str,
    cmd: &[String],
    stdin: Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>,
    timeout: Duration,
) -> Result<ExecOutput, NodeImageError> {
    let exec_err = |source: BollardError| NodeImageError::Exec {
        node: node.to_string(),
        command: pasteable(node, cmd),
        source: Box::new(source),
    };
    let run = async {
        let created = docker
            .create_exec(
                node,
                CreateExecOptions {
                    cmd: Some(cmd.to_vec()),
                    attach_stdin: Some(stdin.is_some()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(exec_err)?;
        let started = docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(exec_err)?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(NodeImageError::Exec {
                node: node.to_string(),
                command: pasteable(node, cmd),
                source: Box::new(BollardError::DockerResponseServerError {
                    status_code: 500,
                    message: "the exec started detached".into(),
                }),
            });
        };
        let feed = async {
            let Some(mut rx) = stdin else {
                return Ok(());
            };
            while let Some(chunk) = rx.recv().await {
                match chunk {
                    Ok(bytes) => input.write_all(bytes.as_ref()).await?,
                    // The source failed: end the input here. The command
                    // reads a cut-off stream (an import fails on it) and
                    // exits, instead of waiting for input that never comes.
                    Err(e) => {
                        let _ = input.shutdown().await;
                        return Err(e);
                    }
                }
            }
            input.shutdown().await
        };
        let collect = async {
            let mut out = ExecOutput {
                exit_code: 0,
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
            while let Some(item) = output.next().await {
                match item.map_err(exec_err)? {
                    bollard::container::LogOutput::StdErr { message } => {
                        out.stderr.extend_from_slice(&message)
                    }
                    other => out.stdout.extend_from_slice(&other.into_bytes()),
                }
            }
            Ok::<_, NodeImageError>(out)
        };
        let (fed, collected) = tokio::join!(feed, collect);
        let mut out = collected?;
        if let Err(e) = fed {
            // The command ended before reading all of its input (its output
            // says why), or the source failed (the caller reports that).
            out.stderr
                .extend_from_slice(format!("\n(input not fully sent: {e})").as_bytes());
        }
        let inspected = docker.inspect_exec(&created.id).await.map_err(exec_err)?;
        out.exit_code = match inspected.exit_code {
            Some(code) => code,
            None if inspected.running == Some(true) => -1,
            None => 0,
        };
        Ok(out)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(NodeImageError::ExecTimeout {
            node: node.to_string(),
            command: pasteable(node, cmd),
            after: timeout,
        }),
    }
}

#[cfg(test)]
mod tests;
