//! `fabdev chaincode list`: the packages on each peer and the definitions
//! committed on each channel.

use chaincode::lifecycle;
use cluster::kind::Runner;
use network::pki::ADMIN;

use super::run::{ChaincodeRun, endpoints_step};
use crate::events::{CommittedChaincode, EventKind, InstalledPackage, Sink};
use crate::flow::steps::{Step, StepResult, run_flow, step};
use crate::flow::{Context, FlowError, Options};

/// The steps of `list` after `workspace`.
pub fn list_steps(ctx: &Context) -> Vec<Step<ChaincodeRun>> {
    let mut steps = vec![
        endpoints_step(),
        step!("installed packages" => installed_step),
    ];
    for ch in &ctx.ws.channels {
        steps.push(step!(format!("committed on {}", ch.name), &ch.name => committed_step));
    }
    steps
}

/// `fabdev chaincode list`: the packages on each peer, the definitions on
/// each channel (as [`EventKind::InstalledPackages`] and
/// [`EventKind::CommittedChaincodes`]).
pub async fn list(opts: &Options<impl Runner>, sink: &mut dyn Sink) -> Result<(), FlowError> {
    run_flow(opts, sink, list_steps, |ctx| ChaincodeRun::new(ctx, opts)).await?;
    Ok(())
}

async fn installed_step(run: &mut ChaincodeRun, sink: &mut dyn Sink) -> StepResult {
    let endpoints = run.conn.endpoints()?;
    let ctx = &run.ctx;
    let mut total = 0;
    let mut peers = 0;
    for peer in ctx.topo.peers() {
        let c = lifecycle::connect(peer, endpoints, &ctx.crypto, ADMIN).await?;
        let packages: Vec<InstalledPackage> = c
            .installed(lifecycle::CALL_TIMEOUT)
            .await?
            .into_iter()
            .map(|i| InstalledPackage {
                package_id: i.package_id,
                label: i.label,
            })
            .collect();
        total += packages.len();
        peers += 1;
        sink.send(EventKind::InstalledPackages {
            peer: peer.name.clone(),
            packages,
        });
    }
    Ok(Some(format!("{total} packages on {peers} peers")))
}

async fn committed_step(run: &mut ChaincodeRun, channel: &str, sink: &mut dyn Sink) -> StepResult {
    let endpoints = run.conn.endpoints()?;
    let ctx = &run.ctx;
    let spec = ctx.ws.channel(channel).ok_or_else(|| {
        FlowError::Lifecycle(lifecycle::LifecycleError::UnknownChannel {
            channel: channel.to_string(),
        })
    })?;
    let peer = spec
        .orgs
        .iter()
        .find_map(|o| ctx.topo.peers_of(o).next())
        .ok_or_else(|| {
            FlowError::Lifecycle(lifecycle::LifecycleError::NoPeer {
                org: spec.orgs.join(", "),
                channel: channel.to_string(),
            })
        })?;
    let c = lifecycle::connect(peer, endpoints, &ctx.crypto, ADMIN).await?;
    let mut chaincodes = Vec::new();
    for d in c.committed_all(channel, lifecycle::CALL_TIMEOUT).await? {
        let approvals = c
            .committed(channel, &d.name, lifecycle::CALL_TIMEOUT)
            .await?
            .map(|c| c.approvals)
            .unwrap_or_default();
        chaincodes.push(CommittedChaincode {
            name: d.name,
            version: d.version,
            sequence: d.sequence,
            init_required: d.init_required,
            approvals,
        });
    }
    let detail = format!("{} chaincodes, asked {}", chaincodes.len(), peer.name);
    sink.send(EventKind::CommittedChaincodes {
        channel: channel.to_string(),
        chaincodes,
    });
    Ok(Some(detail))
}
