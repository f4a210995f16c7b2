//! `fabdev status`: the cluster, each node's pod readiness and channels.
//!
//! Steps: `workspace`, `kind cluster <name>` ([`find_cluster`]) or, on an
//! existing cluster, `existing cluster` (`connections::existing_cluster`),
//! `pods` ([`read_pods`]), `channels` ([`read_channels`]); then the
//! [`Status`] goes out as one [`EventKind::Status`].

use std::time::Duration;

use cluster::k8s;
use cluster::kind::{ProcessRunner, Runner};
use network::NodeKind;
use network::channel;

use super::connections::{Connected, Connections, EXISTING_CLUSTER_STEP, existing_cluster};
use super::context::kind_driver;
use super::steps::{Step, StepResult, run_flow, step};
use super::{Context, FlowError, Options, Target};
use crate::events::{EventKind, Sink};
pub use crate::events::{NodeStatus, Status};

/// How long `status` waits for each node's answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// The state the steps of `status` share.
pub struct StatusRun<R: Runner = ProcessRunner> {
    pub ctx: Context,
    opts: Options<R>,
    cluster_exists: bool,
    /// Pod name → Ready.
    pods: Vec<(String, bool)>,
    conn: Connections,
    nodes: Vec<NodeStatus>,
}

impl<R: Runner> Connected for StatusRun<R> {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        (&self.ctx, &mut self.conn)
    }
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
            Target::Kind => step!(format!("kind cluster {}", ctx.ws.name) => find_cluster),
            Target::Existing(_) => step!(EXISTING_CLUSTER_STEP => existing_cluster),
        },
        step!("pods" => read_pods),
        step!("channels" => read_channels),
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
        conn: Connections::new(None),
        nodes: Vec::new(),
    })
    .await?;
    let status = Status {
        workspace: run.ctx.ws.name.clone(),
        provider: run.ctx.target.provider().to_string(),
        cluster_exists: run.cluster_exists,
        nodes: run.nodes,
    };
    sink.send(EventKind::Status(status.clone()));
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

/// The workspace's pods and their readiness, when there is a cluster.
pub async fn read_pods<R: Runner>(run: &mut StatusRun<R>, _: &mut dyn Sink) -> StepResult {
    // On an existing cluster, the `existing cluster` step made the client:
    // its API server answers.
    run.cluster_exists |= run.conn.has_client();
    if !run.cluster_exists || !run.ctx.has_cluster() {
        return Ok(Some("no cluster".to_string()));
    }
    let client = run.conn.client(&run.ctx).await?;
    run.pods = k8s::pods(&client, &run.ctx.ws.name).await?;
    let ready = run.pods.iter().filter(|(_, r)| *r).count();
    Ok(Some(format!("{ready} of {} ready", run.pods.len())))
}

/// Each node's channels, asked where the run's connections reach it (see
/// `Connections::open_endpoints`; none without a cluster). A node that
/// does not answer is part of the status, not a failure of the step.
pub async fn read_channels<R: Runner>(run: &mut StatusRun<R>, sink: &mut dyn Sink) -> StepResult {
    if run.cluster_exists {
        run.conn.open_endpoints(&run.ctx).await?;
    }
    let ctx = &run.ctx;
    let endpoints = run.conn.endpoints().ok();
    let mut nodes = Vec::new();
    for n in &ctx.topo.nodes {
        let pod = n.pod_name();
        let pod_ready = run.pods.iter().find(|(p, _)| *p == pod).map(|(_, r)| *r);
        let channels = match (run.cluster_exists, endpoints.and_then(|e| e.get(&n.name))) {
            (false, _) => Err("no cluster".to_string()),
            (true, None) => Err("no endpoint".to_string()),
            (true, Some(ep)) => {
                sink.send(EventKind::Progress {
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
                .map_err(|e| match e.hint() {
                    Some(h) => format!("{e}\n  hint: {h}"),
                    None => e.to_string(),
                })
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
