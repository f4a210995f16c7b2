//! Orgs fabdev.yaml puts on a running channel: the channel's config read
//! from an orderer, each org it lacks added with its `Application` group as
//! fabdev's genesis builder makes it ([`crate::configtx::with_orgs`]), in
//! one config update signed by the admins the channel's
//! `/Channel/Application/Admins` policy needs, waited for on the member
//! peers ([`super::update_channel`]).

use std::time::Duration;

use super::{Applied, ChannelError, Network, Signers, current_config, update_channel};
use crate::configtx;
use crate::genesis::{CryptoView, GenesisOptions, genesis_block_from};

/// What [`add_orgs`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgsAdded {
    /// The channel's orgs before (its config's `Application` groups).
    pub members: Vec<String>,
    /// The orgs added now, in fabdev.yaml's order (none: the channel had
    /// every org already).
    pub added: Vec<String>,
    /// The update, when there was one.
    pub applied: Option<Applied>,
}

/// The orgs fabdev.yaml lists on `channel` that the channel's config lacks,
/// added by one config update; none is nothing to do.
pub async fn add_orgs(
    net: Network<'_>,
    channel: &str,
    timeout: Duration,
) -> Result<OrgsAdded, ChannelError> {
    let Some(spec) = net.ws.channel(channel) else {
        return Err(ChannelError::UnknownChannel {
            channel: channel.to_string(),
            known: net
                .ws
                .channels
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let current = current_config(net, channel, timeout).await?;
    let members = configtx::application_orgs(&current.config);
    let added: Vec<String> = spec
        .orgs
        .iter()
        .filter(|o| !members.contains(o))
        .cloned()
        .collect();
    if added.is_empty() {
        return Ok(OrgsAdded {
            members,
            added,
            applied: None,
        });
    }
    let wanted_error = |source| ChannelError::Wanted {
        channel: channel.to_string(),
        source: Box::new(source),
    };
    let view = CryptoView::read(net.ws, net.topo, net.crypto)
        .map_err(|e| wanted_error(crate::genesis::GenesisError::from(e)))?;
    let block = genesis_block_from(net.ws, net.topo, &view, &GenesisOptions::new(channel))
        .map_err(wanted_error)?;
    let cfgtx = |source| ChannelError::ConfigTx {
        channel: channel.to_string(),
        source,
    };
    let built = configtx::config_from_block(&block).map_err(cfgtx)?;
    let wanted = configtx::with_orgs(&current.config, &built, &added).map_err(cfgtx)?;
    let applied = update_channel(
        net,
        channel,
        &current.config,
        &wanted,
        &Signers::AsRequired,
        timeout,
    )
    .await?;
    Ok(OrgsAdded {
        members,
        added,
        applied: Some(applied),
    })
}
