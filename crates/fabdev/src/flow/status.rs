//! `fabdev status`: the cluster, each node's pod readiness and channels.
//!
//! Steps: `workspace`, `kind cluster <name>` ([`find_cluster`]), `pods`
//! ([`read_pods`]), `channels` ([`read_channels`]); then the [`Status`] goes
//! out as one [`Event::Status`].

use std::time::Duration;

use cluster::k8s;
use cluster::kind::{ProcessRunner, Runner};
use network::NodeKind;
use network::channel::{self, Endpoints};
use serde::Serialize;

use super::context::kind_driver;
use super::steps::{Step, StepResult, run_flow};
use super::{Context, FlowError, Options};
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
    pub cluster_exists: bool,
    pub nodes: Vec<NodeStatus>,
}

/// The state the steps of `status` share.
#[derive(Debug)]
pub struct StatusRun<R: Runner = ProcessRunner> {
    pub ctx: Context,
    opts: Options<R>,
    cluster_exists: bool,
    /// Pod name → Ready.
    pods: Vec<(String, bool)>,
    nodes: Vec<NodeStatus>,
}

/// The steps of `status` after `workspace`.
pub fn steps<R: Runner + Clone>(ctx: &Context) -> Vec<Step<StatusRun<R>>> {
    vec![
        Step::new(format!("kind cluster {}", ctx.ws.name), |r, _, s| {
            Box::pin(find_cluster(r, s))
        }),
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
        nodes: Vec::new(),
    })
    .await?;
    let status = Status {
        workspace: run.ctx.ws.name.clone(),
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
    let kind = kind_driver(&run.opts)?;
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

/// The workspace's pods and their readiness, when there is a cluster.
pub async fn read_pods<R: Runner>(run: &mut StatusRun<R>, _: &mut dyn Sink) -> StepResult {
    let kubeconfig = run.ctx.kubeconfig();
    if !run.cluster_exists || !kubeconfig.is_file() {
        return Ok(Some("no cluster".to_string()));
    }
    let client = k8s::client(&kubeconfig).await?;
    run.pods = k8s::pods(&client, &run.ctx.ws.name).await?;
    let ready = run.pods.iter().filter(|(_, r)| *r).count();
    Ok(Some(format!("{ready} of {} ready", run.pods.len())))
}

/// Each node's channels, asked through its host port. A node that does not
/// answer is part of the status, not a failure of the step.
pub async fn read_channels<R: Runner>(run: &mut StatusRun<R>, sink: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    let endpoints = Endpoints::host_ports(&ctx.topo);
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
