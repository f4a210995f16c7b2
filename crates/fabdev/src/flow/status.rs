//! `fabdev status`: the cluster, each node's pod readiness and channels.
//!
//! Steps: `workspace`, `kind cluster <name>` ([`find_cluster`]) or, on an
//! existing cluster, `existing cluster` ([`existing_cluster`]), `pods`
//! ([`read_pods`]), `channels` ([`read_channels`]); then the [`Status`] goes
//! out as one [`Event::Status`].

use std::time::Duration;

use cluster::k8s;
use cluster::kind::{ProcessRunner, Runner};
use network::NodeKind;
use network::channel::{self, Endpoints};
use serde::Serialize;

use super::context::kind_driver;
use super::endpoints::endpoints_for;
use super::steps::{Step, StepResult, run_flow};
use super::up::EXISTING_CLUSTER_STEP;
use super::{Context, FlowError, Options, Target};
use crate::events::{Event, Sink};

/// How long `status` waits for each node's answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// One node in `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: String,
    pub pod_ready: Option<bool>,
    /// Channels the node reports, or why they could not be read.
    pub channels: Result<Vec<String>, String>,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub workspace: String,
    /// `kind` or `existing`.
    pub provider: String,
    /// On kind: kind has the cluster; on an existing cluster: its API server answers.
    pub cluster_exists: bool,
    pub nodes: Vec<NodeStatus>,
}

/// The state the steps of `status` share.
pub struct StatusRun<R: Runner = ProcessRunner> {
    pub ctx: Context,
    opts: Options<R>,
    cluster_exists: bool,
    /// Pod name → Ready.
    pods: Vec<(String, bool)>,
    /// The cluster's client, once a step made one.
    client: Option<kube::Client>,
    nodes: Vec<NodeStatus>,
}

impl<R: Runner> std::fmt::Debug for StatusRun<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusRun")
            .field("workspace", &self.ctx.ws.name)
            .field("cluster_exists", &self.cluster_exists)
            .field("pods", &self.pods)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// The steps of `status` after `workspace`.
pub fn steps<R: Runner + Clone>(ctx: &Context) -> Vec<Step<StatusRun<R>>> {
    vec![
        match ctx.target {
            Target::Kind => Step::new(format!("kind cluster {}", ctx.ws.name), |r, _, s| {
                Box::pin(find_cluster(r, s))
            }),
            Target::Existing(_) => Step::new(EXISTING_CLUSTER_STEP, |r, _, s| {
                Box::pin(existing_cluster(r, s))
            }),
        },
        Step::new("pods", |r, _, s| Box::pin(read_pods(r, s))),
        Step::new("channels", |r, _, s| Box::pin(read_channels(r, s))),
    ]
}

/// The cluster, each node's pod readiness and channel membership.
pub async fn status<R: Runner + Clone>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
) -> Result<Status, FlowError> {
    let run = run_flow(opts, sink, steps, |ctx| StatusRun {
        ctx,
        opts: opts.clone(),
        cluster_exists: false,
        pods: Vec::new(),
        client: None,
        nodes: Vec::new(),
    })
    .await?;
    let status = Status {
        workspace: run.ctx.ws.name.clone(),
        provider: run.ctx.target.provider().to_string(),
        cluster_exists: run.cluster_exists,
        nodes: run.nodes,
    };
    sink.emit(Event::Status(status.clone()));
    Ok(status)
}

/// Whether kind has the workspace's cluster.
pub async fn find_cluster<R: Runner + Clone>(
    run: &mut StatusRun<R>,
    _: &mut dyn Sink,
) -> StepResult {
    let kind = kind_driver(&run.opts, &run.ctx)?;
    run.cluster_exists = kind.exists(&run.ctx.ws.name).await?;
    Ok(Some(
        if run.cluster_exists {
            "exists"
        } else {
            "does not exist"
        }
        .to_string(),
    ))
}

/// An existing cluster: whether its API server answers (through the
/// kubeconfig's context), and its version.
pub async fn existing_cluster<R: Runner>(run: &mut StatusRun<R>, _: &mut dyn Sink) -> StepResult {
    let Target::Existing(access) = &run.ctx.target else {
        return Err(FlowError::StepOrder {
            what: "an existing cluster",
        });
    };
    let resolved = access.resolve()?;
    let client = resolved.client().await?;
    let version = resolved.server_version(&client).await?;
    run.cluster_exists = true;
    run.client = Some(client);
    Ok(Some(format!(
        "context {} at {} (Kubernetes {version})",
        resolved.context, resolved.server
    )))
}

/// The workspace's pods and their readiness, when there is a cluster.
pub async fn read_pods<R: Runner>(run: &mut StatusRun<R>, _: &mut dyn Sink) -> StepResult {
    if !run.cluster_exists || !run.ctx.has_cluster() {
        return Ok(Some("no cluster".to_string()));
    }
    let client = match &run.client {
        Some(c) => c.clone(),
        None => run.ctx.client().await?,
    };
    run.pods = k8s::pods(&client, &run.ctx.ws.name).await?;
    run.client = Some(client);
    let ready = run.pods.iter().filter(|(_, r)| *r).count();
    Ok(Some(format!("{ready} of {} ready", run.pods.len())))
}

/// Each node's channels, asked through its host port on kind, through a
/// port-forward on an existing cluster (open while the step runs). A node
/// that does not answer is part of the status, not a failure of the step.
pub async fn read_channels<R: Runner>(run: &mut StatusRun<R>, sink: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    let (endpoints, _forwards) = match (&ctx.target, &run.client) {
        (Target::Existing(_), Some(client)) => endpoints_for(client, ctx).await?,
        _ => (Endpoints::host_ports(&ctx.topo), Vec::new()),
    };
    let mut nodes = Vec::new();
    for n in &ctx.topo.nodes {
        let pod = n.pod_name();
        let pod_ready = run.pods.iter().find(|(p, _)| *p == pod).map(|(_, r)| *r);
        let channels = match (run.cluster_exists, endpoints.get(&n.name)) {
            (false, _) => Err("no cluster".to_string()),
            (true, None) => Err("no endpoint".to_string()),
            (true, Some(ep)) => {
                sink.emit(Event::Progress {
                    step: "channels".into(),
                    message: format!("asking {} at {}", n.name, ep.grpc),
                });
                match n.kind {
                    NodeKind::Orderer => {
                        channel::orderer_channels(n, ep, &ctx.crypto, &ctx.ws, NODE_TIMEOUT).await
                    }
                    NodeKind::Peer => {
                        channel::peer_channels(n, ep, &ctx.crypto, NODE_TIMEOUT).await
                    }
                }
                .map_err(|e| e.to_string())
            }
        };
        nodes.push(NodeStatus {
            name: n.name.clone(),
            role: match n.kind {
                NodeKind::Orderer => "orderer".into(),
                NodeKind::Peer => "peer".into(),
            },
            pod_ready,
            channels,
        });
    }
    let answered = nodes.iter().filter(|n| n.channels.is_ok()).count();
    let detail = format!("{answered} of {} nodes answered", nodes.len());
    run.nodes = nodes;
    Ok(Some(detail))
}
