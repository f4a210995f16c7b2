//! The engine's typed events and the reporters that show them.
//!
//! Long work (`up`, `down`, `channel create`, ...) is a list of named steps.
//! The engine only emits [`Event`]s into a [`Sink`]; a reporter decides how
//! they look: `✓ step (1.2s)` lines, a spinner on a terminal, or one JSON
//! object a line for CI. Only this module touches indicatif.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A step began.
    StepStarted { step: String },
    /// Something the running step is doing or waiting for.
    Progress { step: String, message: String },
    /// Bytes moved so far for one item of the running step (an image pull
    /// or copy); `total` 0 when unknown.
    Transfer {
        step: String,
        item: String,
        done: u64,
        total: u64,
    },
    /// A step finished.
    StepDone {
        step: String,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A step failed; the run stops.
    StepFailed {
        step: String,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
        error: String,
    },
    /// A note outside any step.
    Note { message: String },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where events go.
pub trait Sink: Send {
    fn emit(&mut self, event: Event);
}

impl Sink for Vec<Event> {
    fn emit(&mut self, event: Event) {
        self.push(event);
    }
}

/// Run one named step: started, then done (with `detail` from the result) or
/// failed (with the error), each with the elapsed time.
pub async fn step<T, E, F>(
    sink: &mut dyn Sink,
    name: &str,
    detail: impl FnOnce(&T) -> Option<String>,
    work: F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: std::error::Error,
{
    step_with(sink, name, detail, async |_: &mut dyn Sink| work.await).await
}

/// Like [`step`], for work that reports progress into the sink itself.
pub async fn step_with<T, E>(
    sink: &mut dyn Sink,
    name: &str,
    detail: impl FnOnce(&T) -> Option<String>,
    work: impl AsyncFnOnce(&mut dyn Sink) -> Result<T, E>,
) -> Result<T, E>
where
    E: std::error::Error,
{
    sink.emit(Event::StepStarted { step: name.into() });
    let start = Instant::now();
    let result = work(&mut *sink).await;
    let elapsed = start.elapsed();
    match &result {
        Ok(v) => sink.emit(Event::StepDone {
            step: name.into(),
            elapsed,
            detail: detail(v),
        }),
        Err(e) => sink.emit(Event::StepFailed {
            step: name.into(),
            elapsed,
            error: error_chain(e),
        }),
    }
    result
}

/// Turns a stream of byte counts into [`Event::Transfer`]s, at most one per
/// 5% of progress (and the last), so JSON output stays small.
#[derive(Debug)]
pub struct Meter {
    step: String,
    last_pct: Option<u64>,
}

impl Meter {
    pub fn new(step: &str) -> Meter {
        Meter {
            step: step.to_string(),
            last_pct: None,
        }
    }

    pub fn update(&mut self, item: &str, done: u64, total: u64) -> Option<Event> {
        let pct = done.saturating_mul(100).checked_div(total).unwrap_or(0);
        let due = match self.last_pct {
            None => true,
            Some(last) => pct >= last + 5 || (done >= total && total > 0 && last < 100),
        };
        if !due {
            return None;
        }
        self.last_pct = Some(pct.min(100));
        Some(Event::Transfer {
            step: self.step.clone(),
            item: item.to_string(),
            done,
            total,
        })
    }
}

/// An error with its causes, each on its own `caused by:` line, leaving out
/// causes whose text the message already shows.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
        source = s.source();
    }
    text
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// kind-style lines: ` ✓ step (1.2s)`; on a terminal a spinner shows the
/// running step and its latest progress message.
pub struct TextReporter<W: Write + Send> {
    out: W,
    spinner: Option<indicatif::ProgressBar>,
    tty: bool,
    verbose: bool,
}

impl<W: Write + Send> std::fmt::Debug for TextReporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextReporter")
            .field("tty", &self.tty)
            .finish()
    }
}

impl<W: Write + Send> TextReporter<W> {
    /// `tty`: draw a spinner (only when the output is a terminal).
    /// `verbose`: also print progress messages as lines when not on a tty.
    pub fn new(out: W, tty: bool, verbose: bool) -> Self {
        TextReporter {
            out,
            spinner: None,
            tty,
            verbose,
        }
    }

    fn line(&mut self, text: &str) {
        match &self.spinner {
            Some(s) => s.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    fn stop_spinner(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }
}

impl<W: Write + Send> Sink for TextReporter<W> {
    fn emit(&mut self, event: Event) {
        match event {
            Event::StepStarted { step } => {
                if self.tty {
                    let s = indicatif::ProgressBar::new_spinner();
                    s.set_style(
                        indicatif::ProgressStyle::with_template(" {spinner} {prefix} {wide_msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    s.set_prefix(step);
                    s.enable_steady_tick(Duration::from_millis(100));
                    self.spinner = Some(s);
                }
            }
            Event::Transfer {
                item, done, total, ..
            } => {
                if let Some(s) = &self.spinner {
                    if total > 0 {
                        s.set_style(
                            indicatif::ProgressStyle::with_template(
                                " {spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
                            )
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                        );
                        s.set_length(total);
                        s.set_position(done.min(total));
                    }
                    s.set_message(item);
                }
            }
            Event::Progress { step, message } => match &self.spinner {
                Some(s) => s.set_message(message),
                None if self.verbose => self.line(&format!("   {step}: {message}")),
                None => {}
            },
            Event::StepDone {
                step,
                elapsed,
                detail,
            } => {
                self.stop_spinner();
                let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
                self.line(&format!(" ✓ {step}{detail} ({})", secs(elapsed)));
            }
            Event::StepFailed {
                step,
                elapsed,
                error,
            } => {
                self.stop_spinner();
                self.line(&format!(" ✗ {step} ({})", secs(elapsed)));
                for l in error.lines() {
                    self.line(&format!("   {l}"));
                }
            }
            Event::Note { message } => self.line(&message),
        }
    }
}

/// One JSON object a line, for CI.
#[derive(Debug)]
pub struct JsonReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        JsonReporter { out }
    }
}

impl<W: Write + Send> Sink for JsonReporter<W> {
    fn emit(&mut self, event: Event) {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
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
        let ok: Result<u32, std::io::Error> = run(step(
            &mut events,
            "create cluster",
            |n| Some(format!("{n} nodes")),
            async { Ok(1) },
        ));
        assert_eq!(ok.unwrap(), 1);
        let err: Result<u32, std::io::Error> = run(step(&mut events, "apply", |_| None, async {
            Err(std::io::Error::other("boom"))
        }));
        assert!(err.is_err());
        assert!(matches!(&events[0], Event::StepStarted { step } if step == "create cluster"));
        assert!(matches!(&events[1], Event::StepDone { detail: Some(d), .. } if d == "1 nodes"));
        assert!(matches!(&events[2], Event::StepStarted { step } if step == "apply"));
        assert!(matches!(&events[3], Event::StepFailed { error, .. } if error == "boom"));
    }

    #[test]
    fn text_lines_without_a_terminal() {
        let mut buf = Vec::new();
        {
            let mut r = TextReporter::new(&mut buf, false, false);
            r.emit(Event::StepStarted {
                step: "wait for nodes".into(),
            });
            r.emit(Event::Progress {
                step: "wait for nodes".into(),
                message: "1 of 1 NotReady".into(),
            });
            r.emit(Event::StepDone {
                step: "wait for nodes".into(),
                elapsed: Duration::from_millis(1234),
                detail: None,
            });
            r.emit(Event::StepFailed {
                step: "apply".into(),
                elapsed: Duration::from_millis(50),
                error: "cannot apply StatefulSet x\nhint: y".into(),
            });
        }
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            " ✓ wait for nodes (1.2s)\n ✗ apply (0.1s)\n   cannot apply StatefulSet x\n   hint: y\n"
        );
    }

    #[test]
    fn verbose_text_shows_progress_lines() {
        let mut buf = Vec::new();
        TextReporter::new(&mut buf, false, true).emit(Event::Progress {
            step: "s".into(),
            message: "waiting for peer0-org1-0".into(),
        });
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "   s: waiting for peer0-org1-0\n"
        );
    }

    #[test]
    fn the_meter_emits_at_most_every_five_percent_and_the_end() {
        let mut m = Meter::new("image x");
        let emitted: Vec<u64> = (0..=100u64)
            .filter_map(|i| m.update("x", i, 100))
            .map(|e| match e {
                Event::Transfer { done, .. } => done,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(emitted, (0..=100).step_by(5).collect::<Vec<_>>());
    }

    #[test]
    fn step_with_lets_the_work_report_into_the_sink() {
        let mut events: Vec<Event> = Vec::new();
        let r: Result<(), std::io::Error> = run(step_with(
            &mut events,
            "pull",
            |_| None,
            async |sink: &mut dyn Sink| {
                sink.emit(Event::Transfer {
                    step: "pull".into(),
                    item: "img".into(),
                    done: 1,
                    total: 2,
                });
                Ok(())
            },
        ));
        assert!(r.is_ok());
        assert!(matches!(
            events[1],
            Event::Transfer {
                done: 1,
                total: 2,
                ..
            }
        ));
        assert!(matches!(events[2], Event::StepDone { .. }));
    }

    #[test]
    fn json_lines() {
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(&mut buf);
            r.emit(Event::StepDone {
                step: "apply".into(),
                elapsed: Duration::from_millis(1500),
                detail: Some("13 objects".into()),
            });
            r.emit(Event::Note {
                message: "hi".into(),
            });
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"event": "step_done", "step": "apply", "elapsed_ms": 1500, "detail": "13 objects"})
        );
        assert_eq!(
            lines[1],
            serde_json::json!({"event": "note", "message": "hi"})
        );
    }
}
