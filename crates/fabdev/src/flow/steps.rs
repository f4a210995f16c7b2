//! A flow as a list of named steps over one shared state, run in order.

use std::future::Future;
use std::pin::Pin;

use cluster::kind::Runner;

use super::context::workspace_step;
use super::{Context, FlowError, Options};
use crate::events::{Sink, run_step};

/// What a step returns: the detail its `step_done` line shows.
pub type StepResult = Result<Option<String>, FlowError>;

/// A step's function as the list holds it: its `async fn`, boxed.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = StepResult> + Send + 'a>>;

/// A step's function: the flow's state, the step's item (the image of an
/// `image …` step, the channel of a `channel …` step; empty for the
/// others) and the sink for its progress and outcomes.
pub type StepFn<S> = for<'a> fn(&'a mut S, &'a str, &'a mut dyn Sink) -> StepFuture<'a>;

/// One named step of a flow.
pub struct Step<S> {
    name: String,
    item: String,
    run: StepFn<S>,
}

impl<S> std::fmt::Debug for Step<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step").field("name", &self.name).finish()
    }
}

impl<S> Step<S> {
    pub fn new(name: impl Into<String>, run: StepFn<S>) -> Step<S> {
        Step {
            name: name.into(),
            item: String::new(),
            run,
        }
    }

    /// A step about one item (an image, a channel).
    pub fn on(name: impl Into<String>, item: impl Into<String>, run: StepFn<S>) -> Step<S> {
        Step {
            name: name.into(),
            item: item.into(),
            run,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Run the steps in order, each reported as started, then done or failed;
/// the first failure stops the run.
pub async fn run_steps<S: Send>(
    state: &mut S,
    steps: Vec<Step<S>>,
    sink: &mut dyn Sink,
) -> Result<(), FlowError> {
    for step in steps {
        let Step { name, item, run } = step;
        run_step(sink, &name, Option::clone, async |sink: &mut dyn Sink| {
            run(state, &item, sink).await
        })
        .await?;
    }
    Ok(())
}

/// Every flow: the `workspace` step, then the flow's `steps` over the state
/// `state` makes from the loaded workspace. Returns that state, as the
/// last step left it.
pub(crate) async fn run_flow<S: Send, R: Runner>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
    steps: impl FnOnce(&Context) -> Vec<Step<S>>,
    state: impl FnOnce(Context) -> S,
) -> Result<S, FlowError> {
    network::channel::install_crypto_provider();
    let ctx = workspace_step(opts, sink).await?;
    let steps = steps(&ctx);
    let mut state = state(ctx);
    run_steps(&mut state, steps, sink).await?;
    Ok(state)
}

/// What a step needs from an earlier one, or [`FlowError::StepOrder`].
pub(crate) fn made<'a, T>(slot: &'a Option<T>, what: &'static str) -> Result<&'a T, FlowError> {
    slot.as_ref().ok_or(FlowError::StepOrder { what })
}
