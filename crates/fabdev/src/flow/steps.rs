//! The step runner: a flow as a list of named steps over one shared state,
//! run in order; each step reported as `step_started`, then `step_done` or
//! `step_failed`, and every event it emits stamped with its name.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use cluster::kind::Runner;

use super::{Context, FlowError, Options};
use crate::errors::{Hint, chain};
use crate::events::{Event, EventKind, Sink};

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

    /// A step about one item (an image, a channel, a chaincode).
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

/// A step of a flow's list from its `async fn`:
/// `step!("apply objects" => apply_objects)` for `async fn(&mut State,
/// &mut dyn Sink) -> StepResult`, `step!(name, item => f)` for a step about
/// one item, `async fn(&mut State, &str, &mut dyn Sink) -> StepResult`.
macro_rules! step {
    ($name:expr => $f:expr) => {
        $crate::flow::Step::new($name, |r, _, s| Box::pin($f(r, s)))
    };
    ($name:expr, $item:expr => $f:expr) => {
        $crate::flow::Step::on($name, $item, |r, i, s| Box::pin($f(r, i, s)))
    };
}
pub(crate) use step;

/// The sink a running step's work gets: every event it emits carries the
/// step's name.
struct Stamped<'a> {
    step: &'a str,
    sink: &'a mut dyn Sink,
}

impl Sink for Stamped<'_> {
    fn emit(&mut self, mut event: Event) {
        if event.step.is_none() {
            event.step = Some(self.step.to_string());
        }
        self.sink.emit(event);
    }
}

/// Run one named step: started, then done (with `detail` from the result) or
/// failed (with the error's chain and hint), each with the elapsed time. The
/// work gets a sink that stamps its events with the step's name.
pub async fn run_step<T, E>(
    sink: &mut dyn Sink,
    name: &str,
    detail: impl FnOnce(&T) -> Option<String>,
    work: impl AsyncFnOnce(&mut dyn Sink) -> Result<T, E>,
) -> Result<T, E>
where
    E: std::error::Error + Hint,
{
    sink.emit(Event::of(name, EventKind::StepStarted {}));
    let start = Instant::now();
    let result = {
        let mut stamped = Stamped {
            step: name,
            sink: &mut *sink,
        };
        work(&mut stamped).await
    };
    let elapsed = start.elapsed();
    let kind = match &result {
        Ok(v) => EventKind::StepDone {
            elapsed,
            detail: detail(v),
        },
        Err(e) => EventKind::StepFailed {
            elapsed,
            error: chain(e),
            hint: e.hint(),
        },
    };
    sink.emit(Event::of(name, kind));
    result
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

/// The first step of every flow: the workspace's spec and state folder
/// (see [`Context::load`]).
async fn workspace_step<R: Runner>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
) -> Result<Context, FlowError> {
    run_step(
        sink,
        "workspace",
        |ctx: &Context| Some(ctx.summary()),
        async |_: &mut dyn Sink| Context::load(opts),
    )
    .await
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

/// What a step needs from an earlier step, or [`FlowError::StepOrder`]
/// (a step list in the wrong order).
pub(crate) fn earlier<'a, T>(slot: &'a Option<T>, what: &'static str) -> Result<&'a T, FlowError> {
    slot.as_ref().ok_or(FlowError::StepOrder { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_step_emits_started_then_done_or_failed() {
        let mut events: Vec<Event> = Vec::new();
        let ok: Result<u32, FlowError> = run(run_step(
            &mut events,
            "create cluster",
            |n| Some(format!("{n} nodes")),
            async |_: &mut dyn Sink| Ok(1),
        ));
        assert_eq!(ok.unwrap(), 1);
        let err: Result<u32, FlowError> = run(run_step(
            &mut events,
            "apply",
            |_| None,
            async |_: &mut dyn Sink| Err(FlowError::StepOrder { what: "boom" }),
        ));
        assert!(err.is_err());
        let steps: Vec<&str> = events.iter().filter_map(|e| e.step.as_deref()).collect();
        assert_eq!(
            steps,
            ["create cluster", "create cluster", "apply", "apply"]
        );
        assert!(matches!(&events[0].kind, EventKind::StepStarted {}));
        assert!(
            matches!(&events[1].kind, EventKind::StepDone { detail: Some(d), .. } if d == "1 nodes")
        );
        assert!(
            matches!(&events[3].kind, EventKind::StepFailed { error, .. } if error.contains("boom"))
        );
    }

    #[test]
    fn what_a_step_emits_carries_its_name() {
        let mut events: Vec<Event> = Vec::new();
        let r: Result<(), FlowError> = run(run_step(
            &mut events,
            "pull",
            |_| None,
            async |sink: &mut dyn Sink| {
                sink.send(EventKind::Transfer {
                    item: "img".into(),
                    done: 1,
                    total: 2,
                });
                Ok(())
            },
        ));
        assert!(r.is_ok());
        assert_eq!(events[1].step.as_deref(), Some("pull"));
        assert!(matches!(
            events[1].kind,
            EventKind::Transfer {
                done: 1,
                total: 2,
                ..
            }
        ));
        assert!(matches!(events[2].kind, EventKind::StepDone { .. }));
    }
}
