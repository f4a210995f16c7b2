//! `fabdev channel create`: the genesis block of each channel and every
//! node's join, against the nodes' endpoints.
//!
//! Steps: `workspace`, `node endpoints`, then `channel <name>` per channel.

use cluster::kind::Runner;
use network::channel::{self, ChannelEvent, Endpoints};

use super::connections::{Connected, Connections, NODE_ENDPOINTS_STEP, node_endpoints};
use super::steps::{Step, StepResult, run_flow, step};
use super::{Context, FlowError, Options};
use crate::events::{EventKind, JoinState, Sink};

/// The state the steps of `channel create` share.
#[derive(Debug)]
pub struct ChannelRun {
    pub ctx: Context,
    conn: Connections,
    created: Vec<String>,
}

impl Connected for ChannelRun {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        (&self.ctx, &mut self.conn)
    }
}

/// The steps after `workspace`: the endpoints, then one step per channel
/// (`only`, or every channel of the workspace).
pub fn steps(ctx: &Context, only: Option<&str>) -> Vec<Step<ChannelRun>> {
    let names: Vec<String> = match only {
        Some(n) => vec![n.to_string()],
        None => ctx.ws.channels.iter().map(|c| c.name.clone()).collect(),
    };
    let mut steps = vec![step!(NODE_ENDPOINTS_STEP => node_endpoints)];
    for name in names {
        steps.push(step!(format!("channel {name}"), name => create_channel));
    }
    steps
}

/// `fabdev channel create`: genesis block and joins for `only` (or every
/// channel), through `Options::endpoints` when given, else the cluster's
/// (port mappings, or port-forwards when they do not answer), else the
/// host ports.
pub async fn create_channels(
    opts: &Options<impl Runner>,
    only: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<Vec<String>, FlowError> {
    let steps = |ctx: &Context| steps(ctx, only);
    let run = run_flow(opts, sink, steps, |ctx| ChannelRun {
        ctx,
        conn: Connections::new(opts.endpoints.clone()),
        created: Vec::new(),
    })
    .await?;
    Ok(run.created)
}

async fn create_channel(run: &mut ChannelRun, name: &str, sink: &mut dyn Sink) -> StepResult {
    let ready = join_every_node(&run.ctx, run.conn.endpoints()?, name, sink).await?;
    run.created.push(name.to_string());
    Ok(Some(ready))
}

/// The genesis block of `name`, then every orderer's and member peer's
/// join, each reported as an [`EventKind::Channel`], then the wait for the
/// channel's ordering service to have a Raft leader
/// ([`channel::wait_for_leader`]); returns what to say of that.
pub(crate) async fn join_every_node(
    ctx: &Context,
    endpoints: &Endpoints,
    name: &str,
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
        &mut |ev: ChannelEvent| sink.send(channel_event(ev)),
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

fn channel_event(ev: ChannelEvent) -> EventKind {
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
    EventKind::Channel {
        channel,
        node,
        state,
        error,
    }
}
