//! `up`'s channel-parameter changes on running channels: one
//! `config update <channel>` step per channel whose parameters the plan
//! changes (the batch timeout and size and the orgs' anchor peers, in one
//! update when several change, signed for each policy the update needs).
//!
//! The step reads the channel's live config from an orderer, builds the
//! channel's config from fabdev.yaml with the genesis block's builders (as
//! the recorded config-update vectors do), takes the parameters from it
//! into the live config (`network::configtx::with_parameters`), and has
//! `network::channel::update_channel` compute the update, sign it as the
//! policies require, submit it and wait until every member peer has it.

use std::time::Duration;

use network::channel::{self, ChannelError, Network, Signers};
use network::configtx::{self, ConfigTxError};
use network::reconcile::{Action, Plan};

use super::connections::Connected;
use super::steps::StepResult;
use crate::events::Sink;

/// How long each part of an update (reading the config, submitting, every
/// peer seeing it) may take.
pub(crate) const UPDATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The channels whose parameters `plan` changes, in plan order, each once.
pub(crate) fn parameter_channels(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for action in &plan.actions {
        if let Action::ChangeBatchTimeout { channels, .. }
        | Action::ChangeBatchSize { channels, .. }
        | Action::ChangeAnchorPeers { channels, .. } = action
        {
            for c in channels {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
    }
    out
}

/// The step's name for `channel`.
pub(crate) fn step_name(channel: &str) -> String {
    format!("config update {channel}")
}

/// The `config update <channel>` step: the channel's parameters as
/// fabdev.yaml says, through a config update when they differ.
pub(crate) async fn update_parameters<S: Connected>(
    run: &mut S,
    channel: &str,
    _: &mut dyn Sink,
) -> StepResult {
    let (ctx, conn) = run.connections();
    let net = Network {
        ws: &ctx.ws,
        topo: &ctx.topo,
        crypto: &ctx.crypto,
        endpoints: conn.endpoints()?,
    };
    let cfgtx = |source| ChannelError::ConfigTx {
        channel: channel.to_string(),
        source,
    };
    let live = channel::current_config(net, channel, UPDATE_TIMEOUT).await?;
    let block = network::genesis::genesis_block(&ctx.ws, &ctx.topo, &ctx.crypto, channel)?;
    let built = configtx::config_from_block(&block).map_err(cfgtx)?;
    let wanted = configtx::with_parameters(&live.config, &built).map_err(cfgtx)?;
    match configtx::compute_update(&live.config, &wanted, channel) {
        Err(ConfigTxError::NoDifferences) => {
            return Ok(Some(format!(
                "already as fabdev.yaml says (config sequence {})",
                live.config.sequence
            )));
        }
        Err(source) => return Err(cfgtx(source).into()),
        Ok(_) => {}
    }
    let applied = channel::update_channel(
        net,
        channel,
        &live.config,
        &wanted,
        &Signers::AsRequired,
        UPDATE_TIMEOUT,
    )
    .await?;
    Ok(Some(format!(
        "config sequence {}, signed by {} for {}, seen by {} in {:.1}s",
        applied.sequence,
        applied
            .signers
            .iter()
            .map(|o| format!("{o} Admin"))
            .collect::<Vec<_>>()
            .join(", "),
        applied.policies.join(", "),
        applied.peers.join(", "),
        applied.took.as_secs_f64()
    )))
}
