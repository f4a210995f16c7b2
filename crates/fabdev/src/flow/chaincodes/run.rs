//! The state the chaincode commands' steps share, and the lifecycle
//! commands (`deploy`, `install`, `approve`, `commit`, `instantiate`).

use cluster::kind::Runner;

use super::deploy::{
    ChaincodeReport, DeployParts, Deployments, Deploys, LifecycleCommand, deploy_steps,
};
use super::selection::{Selection, select};
use crate::events::Sink;
use crate::flow::connections::{Connected, NODE_ENDPOINTS_STEP, node_endpoints};
use crate::flow::steps::{Step, StepResult, run_flow, step};
use crate::flow::{Connections, Context, FlowError, Options};

/// The state the steps of the lifecycle commands and `list` share.
#[derive(Debug)]
pub struct ChaincodeRun {
    pub ctx: Context,
    pub(crate) conn: Connections,
    pub(crate) selection: Selection,
    pub deployments: Deployments,
}

impl Connected for ChaincodeRun {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        (&self.ctx, &mut self.conn)
    }
}

impl Deploys for ChaincodeRun {
    fn deploy_parts(&mut self) -> DeployParts<'_> {
        DeployParts {
            ctx: &self.ctx,
            conn: &mut self.conn,
            deployments: &mut self.deployments,
        }
    }
}

impl ChaincodeRun {
    pub(crate) fn new(ctx: Context, opts: &Options<impl Runner>) -> ChaincodeRun {
        ChaincodeRun {
            ctx,
            conn: Connections::new(opts.endpoints.clone()),
            selection: Selection::default(),
            deployments: Deployments::default(),
        }
    }
}

/// The `node endpoints` step, first of every chaincode command.
pub(crate) fn endpoints_step() -> Step<ChaincodeRun> {
    step!(NODE_ENDPOINTS_STEP => node_endpoints)
}

/// The steps of a lifecycle command after `workspace`: `node endpoints`,
/// `chaincodes`, then the command's deploy steps of each chaincode.
pub fn lifecycle_steps(
    ctx: &Context,
    command: LifecycleCommand,
    sel: &Selection,
) -> Vec<Step<ChaincodeRun>> {
    let mut steps = vec![endpoints_step(), step!("chaincodes" => chaincodes_step)];
    steps.extend(deploy_steps(ctx, &sel.names(ctx), command));
    steps
}

/// `fabdev chaincode deploy|install|approve|commit|instantiate`: what each
/// selected chaincode's last step left it as. Through `Options::endpoints`
/// when given, else the cluster's, else the host ports.
pub async fn lifecycle(
    opts: &Options<impl Runner>,
    command: LifecycleCommand,
    selection: Selection,
    sink: &mut dyn Sink,
) -> Result<Vec<ChaincodeReport>, FlowError> {
    let steps = |ctx: &Context| lifecycle_steps(ctx, command, &selection);
    let run = run_flow(opts, sink, steps, |ctx| {
        let mut run = ChaincodeRun {
            selection: selection.clone(),
            ..ChaincodeRun::new(ctx, opts)
        };
        run.deployments.init_after_commit = command.inits();
        run
    })
    .await?;
    Ok(run.deployments.reports)
}

/// The `chaincodes` step: the chaincodes the command acts on, checked.
async fn chaincodes_step(run: &mut ChaincodeRun, _: &mut dyn Sink) -> StepResult {
    let selected = select(&run.ctx, &run.selection)?;
    let detail = selected
        .iter()
        .map(|c| {
            format!(
                "{} ({}, {}) on {}",
                c.name,
                c.lang,
                c.path.display(),
                c.channel
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    run.deployments.no_vendor = run.selection.no_vendor;
    run.deployments.select(selected);
    Ok(Some(detail))
}
