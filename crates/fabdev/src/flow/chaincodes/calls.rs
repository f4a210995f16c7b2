//! `fabdev chaincode invoke` and `query`: a transaction function called
//! as an org's user.

use std::collections::BTreeMap;

use chaincode::lifecycle::{self, Caller};
use cluster::kind::Runner;

use super::selection::channel_for;
use crate::events::{EventKind, Sink};
use crate::flow::connections::{Connected, NODE_ENDPOINTS_STEP, node_endpoints};
use crate::flow::steps::{Step, StepResult, earlier, run_flow, step};
use crate::flow::{Connections, Context, FlowError, Options};

/// How a transaction function is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `invoke`: submitted (endorsed, ordered, waited for until committed).
    Invoke,
    /// `query`: evaluated on one peer, nothing committed.
    Query,
}

/// A transaction function to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub kind: CallKind,
    pub chaincode: String,
    pub function: String,
    pub args: Vec<String>,
    /// Who calls; an empty org is the workspace's first org (Org1 in the
    /// default network).
    pub caller: Caller,
    /// Transient data (invoke only).
    pub transient: BTreeMap<String, Vec<u8>>,
    /// The channel; default the chaincode's in fabdev.yaml, else the
    /// workspace's only channel.
    pub channel: Option<String>,
}

impl Call {
    fn verb(&self) -> &'static str {
        match self.kind {
            CallKind::Invoke => "invoke",
            CallKind::Query => "query",
        }
    }

    pub(crate) fn step_name(&self) -> String {
        format!("{} {} {}", self.verb(), self.chaincode, self.function)
    }
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResult {
    /// The committed transaction's ID (`invoke` only).
    pub transaction_id: Option<String>,
    pub result: Vec<u8>,
}

/// The state the steps of `invoke` and `query` share.
#[derive(Debug)]
pub struct CallRun {
    pub ctx: Context,
    conn: Connections,
    call: Option<Call>,
    pub result: Option<CallResult>,
}

impl Connected for CallRun {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        (&self.ctx, &mut self.conn)
    }
}

/// The steps of `invoke` / `query` after `workspace`.
pub fn call_steps(call: &Call) -> Vec<Step<CallRun>> {
    vec![
        step!(NODE_ENDPOINTS_STEP => node_endpoints),
        step!(call.step_name() => call_step),
    ]
}

/// `fabdev chaincode invoke|query`.
pub async fn call(
    opts: &Options<impl Runner>,
    call: Call,
    sink: &mut dyn Sink,
) -> Result<CallResult, FlowError> {
    let steps = call_steps(&call);
    let run = run_flow(
        opts,
        sink,
        |_| steps,
        |ctx| CallRun {
            ctx,
            conn: Connections::new(opts.endpoints.clone()),
            call: Some(call),
            result: None,
        },
    )
    .await?;
    Ok(run.result.unwrap_or_default())
}

async fn call_step(run: &mut CallRun, sink: &mut dyn Sink) -> StepResult {
    let endpoints = run.conn.endpoints()?;
    let call = earlier(&run.call, "the call")?;
    let ctx = &run.ctx;
    let mut caller = call.caller.clone();
    if caller.org.is_empty()
        && let Some(first) = ctx.ws.orgs.first()
    {
        caller.org = first.name.clone();
    }
    // Checked before anything is dialled: an org that is not there is bad input.
    lifecycle::caller_peer(&ctx.ws, &ctx.topo, &caller)?;
    let channel = match (
        &call.channel,
        ctx.ws.chaincodes.iter().find(|c| c.name == call.chaincode),
    ) {
        (Some(c), _) => channel_for(ctx, Some(c), &call.chaincode)?,
        (None, Some(cc)) => cc.channel.clone(),
        (None, None) => channel_for(ctx, None, &call.chaincode)?,
    };
    let result = if call.kind == CallKind::Invoke {
        let s = lifecycle::invoke(
            &ctx.ws,
            &ctx.topo,
            &ctx.crypto,
            endpoints,
            &caller,
            &channel,
            &call.chaincode,
            &call.function,
            &call.args,
            &call.transient,
        )
        .await?;
        CallResult {
            transaction_id: Some(s.transaction_id),
            result: s.result,
        }
    } else {
        let r = lifecycle::query(
            &ctx.ws,
            &ctx.topo,
            &ctx.crypto,
            endpoints,
            &caller,
            &channel,
            &call.chaincode,
            &call.function,
            &call.args,
        )
        .await?;
        CallResult {
            transaction_id: None,
            result: r,
        }
    };
    let detail = match &result.transaction_id {
        Some(tx) => format!("transaction {tx} committed on {channel}"),
        None => format!(
            "{} bytes from {channel} as {} {}",
            result.result.len(),
            caller.org,
            caller.user
        ),
    };
    sink.send(EventKind::TxResult {
        chaincode: call.chaincode.clone(),
        function: call.function.clone(),
        transaction_id: result.transaction_id.clone(),
        result: String::from_utf8_lossy(&result.result).into_owned(),
        json: serde_json::from_slice(&result.result).ok(),
    });
    run.result = Some(result);
    Ok(Some(detail))
}
