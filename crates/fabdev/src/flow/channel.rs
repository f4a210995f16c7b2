//! `fabdev channel create`: the genesis block of each channel and every
//! node's join, against the nodes' host endpoints.
//!
//! Steps: `workspace`, `node endpoints`, then `channel <name>` per channel.

use cluster::k8s;
use cluster::kind::Runner;
use network::channel::{self, ChannelEvent, Endpoints};

use super::endpoints::resolve;
use super::steps::{Step, StepResult, made, run_flow};
use super::{Context, FlowError, Options};
use crate::events::{Event, JoinState, Sink};

/// The state the steps of `channel create` share.
#[derive(Debug)]
pub struct ChannelRun {
    pub ctx: Context,
    /// Endpoints the caller gave, used instead of the cluster's.
    given: Option<Endpoints>,
    endpoints: Option<Endpoints>,
    /// Port-forwards behind `endpoints`, open while the run lasts.
    forwards: Vec<k8s::Forward>,
    created: Vec<String>,
}

/// The steps after `workspace`: the endpoints, then one step per channel
/// (`only`, or every channel of the workspace).
pub fn steps(ctx: &Context, only: Option<&str>) -> Vec<Step<ChannelRun>> {
    let names: Vec<String> = match only {
        Some(n) => vec![n.to_string()],
        None => ctx.ws.channels.iter().map(|c| c.name.clone()).collect(),
    };
    let mut steps = vec![Step::new("node endpoints", |r, _, s| {
        Box::pin(node_endpoints(r, s))
    })];
    for name in names {
        steps.push(Step::on(format!("channel {name}"), name, |r, i, s| {
            Box::pin(create_channel(r, i, s))
        }));
    }
    steps
}

/// `fabdev channel create`: genesis block and joins for `only` (or every
/// channel), through `endpoints` when given, else the cluster's (port
/// mappings, or port-forwards when they do not answer), else the host ports.
pub async fn create_channels(
    opts: &Options<impl Runner>,
    only: Option<&str>,
    endpoints: Option<Endpoints>,
    sink: &mut dyn Sink,
) -> Result<Vec<String>, FlowError> {
    let steps = |ctx: &Context| steps(ctx, only);
    let run = run_flow(opts, sink, steps, |ctx| ChannelRun {
        ctx,
        given: endpoints,
        endpoints: None,
        forwards: Vec::new(),
        created: Vec::new(),
    })
    .await?;
    Ok(run.created)
}

/// The cluster's endpoints (port mappings, or port-forwards when they do
/// not answer), or the ones given, or the host ports without a cluster.
async fn node_endpoints(run: &mut ChannelRun, _: &mut dyn Sink) -> StepResult {
    let (endpoints, forwards, detail) = resolve(&run.ctx, run.given.take()).await?;
    run.endpoints = Some(endpoints);
    run.forwards = forwards;
    Ok(Some(detail))
}

async fn create_channel(run: &mut ChannelRun, name: &str, sink: &mut dyn Sink) -> StepResult {
    let endpoints = made(&run.endpoints, "the node endpoints")?;
    let ready =
        join_every_node(&run.ctx, endpoints, name, &format!("channel {name}"), sink).await?;
    run.created.push(name.to_string());
    Ok(Some(ready))
}

/// The genesis block of `name`, then every orderer's and member peer's
/// join, each reported as a [`Event::Channel`] of `step`, then the wait
/// for the channel's ordering service to have a Raft leader
/// ([`channel::wait_for_leader`]); returns what to say of that.
pub(crate) async fn join_every_node(
    ctx: &Context,
    endpoints: &Endpoints,
    name: &str,
    step: &str,
    sink: &mut dyn Sink,
) -> Result<String, FlowError> {
    let block = network::genesis::genesis_block(&ctx.ws, &ctx.topo, &ctx.crypto, name)?;
    channel::create_channel(
        &ctx.ws,
        &ctx.topo,
        &ctx.crypto,
        endpoints,
        name,
        &block,
        &mut |ev: ChannelEvent| sink.emit(channel_event(step, ev)),
    )
    .await?;
    let ready = channel::wait_for_leader(
        &ctx.ws,
        &ctx.topo,
        &ctx.crypto,
        endpoints,
        name,
        channel::ordering::LEADER_TIMEOUT,
    )
    .await?;
    Ok(channel::ordering::ready_detail(&ready))
}

fn channel_event(step: &str, ev: ChannelEvent) -> Event {
    let (channel, node, state, error) = match ev {
        ChannelEvent::Joining { node, channel } => (channel, node, JoinState::Joining, None),
        ChannelEvent::Joined { node, channel } => (channel, node, JoinState::Joined, None),
        ChannelEvent::AlreadyJoined { node, channel } => {
            (channel, node, JoinState::AlreadyJoined, None)
        }
        ChannelEvent::Failed {
            node,
            channel,
            error,
        } => (channel, node, JoinState::Failed, Some(error)),
    };
    Event::Channel {
        step: step.to_string(),
        channel,
        node,
        state,
        error,
    }
}
