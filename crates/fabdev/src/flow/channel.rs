//! `fabdev channel create`: the genesis block of each channel and every
//! node's join, against the nodes' endpoints; on a running channel, the
//! orgs fabdev.yaml adds to it first (a config update), their peers joined
//! and caught up with its chaincodes.
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

/// Every orderer's and member peer's join of `name`, each reported as an
/// [`EventKind::Channel`], then the wait for the channel's ordering service
/// to have a Raft leader ([`channel::wait_for_leader`]); returns what to
/// say of that. A new channel is joined from the genesis block fabdev.yaml
/// gives. A running one (its first orderer is a member) first gets the orgs
/// fabdev.yaml adds to it ([`channel::add_orgs`]: one config update), and
/// is joined from its own genesis block as the orderers deliver it; then
/// each added org's peers catch up with the chaincodes committed there
/// ([`chaincode::lifecycle::catch_up_org`]).
pub(crate) async fn join_every_node(
    ctx: &Context,
    endpoints: &Endpoints,
    name: &str,
    sink: &mut dyn Sink,
) -> Result<String, FlowError> {
    let net = channel::Network {
        ws: &ctx.ws,
        topo: &ctx.topo,
        crypto: &ctx.crypto,
        endpoints,
    };
    let mut added = None;
    let block = if running(ctx, endpoints, name).await? {
        let orgs = channel::add_orgs(net, name, channel::ordering::LEADER_TIMEOUT).await?;
        if let Some(applied) = &orgs.applied {
            sink.send(EventKind::Note {
                message: added_note(name, &orgs.added, applied),
            });
            added = Some(orgs);
        }
        channel::channel_block(net, name, 0, channel::ordering::LEADER_TIMEOUT).await?
    } else {
        network::genesis::genesis_block(&ctx.ws, &ctx.topo, &ctx.crypto, name)?
    };
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
    let mut detail = channel::ordering::ready_detail(&ready);
    if let Some(orgs) = added {
        let member = orgs.members.first().cloned().unwrap_or_default();
        for org in &orgs.added {
            let done = chaincode::lifecycle::catch_up_org(
                &ctx.topo,
                &ctx.crypto,
                endpoints,
                name,
                &member,
                org,
            )
            .await?;
            for cc in &done {
                sink.send(EventKind::Note {
                    message: caught_up_note(org, cc),
                });
            }
        }
        detail = format!("{} added; {detail}", orgs.added.join(", "));
    }
    Ok(detail)
}

/// Whether `name` runs already: the first orderer says it is a member.
async fn running(ctx: &Context, endpoints: &Endpoints, name: &str) -> Result<bool, FlowError> {
    let Some(node) = ctx.topo.orderers().next() else {
        return Ok(false);
    };
    let Some(ep) = endpoints.get(&node.name) else {
        return Err(channel::ChannelError::NoEndpoint {
            node: node.name.clone(),
            what: "network",
        }
        .into());
    };
    // An orderer that does not answer is not asked twice: the joins that
    // follow report it as they report every node.
    let seen = channel::orderer_channel(
        node,
        ep,
        &ctx.crypto,
        &ctx.ws,
        name,
        channel::ordering::LEADER_TIMEOUT,
    )
    .await;
    Ok(matches!(seen, Ok(Some(_))))
}

/// What the config update that added `orgs` to `name` did.
pub(crate) fn added_note(name: &str, orgs: &[String], applied: &channel::Applied) -> String {
    format!(
        "{} added to channel {name}: config update signed by {} for {}, at config sequence {}, seen by {} in {:.1}s",
        orgs.join(", "),
        applied.signers.join(", "),
        applied.policies.join(", "),
        applied.sequence,
        if applied.peers.is_empty() {
            "no peer".to_string()
        } else {
            applied.peers.join(", ")
        },
        applied.took.as_secs_f64()
    )
}

/// What `org` did to catch up with one committed chaincode.
pub(crate) fn caught_up_note(org: &str, cc: &chaincode::lifecycle::CaughtUp) -> String {
    let installed = if cc.installed.is_empty() {
        "installed already".to_string()
    } else {
        format!("installed on {}", cc.installed.join(", "))
    };
    let approved = if cc.approved {
        "approved"
    } else {
        "approved already"
    };
    format!(
        "{org}: {} sequence {} ({}) {installed}, {approved} at the committed sequence",
        cc.name, cc.sequence, cc.package_id
    )
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
