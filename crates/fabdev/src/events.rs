//! The engine's typed events and the reporters that show them.
//!
//! Long work (`up`, `down`, `status`, `channel create`) is a list of named
//! steps (see `flow`). The engine only emits [`Event`]s into a [`Sink`]: the
//! steps' start and end, progress, and typed outcomes (the cluster, images,
//! objects, channel joins, a status, a doctor check). A reporter decides how
//! they look: `✓ step (1.2s)` lines, a spinner on a terminal, or one JSON
//! object a line for CI. Only this module touches indicatif.

use std::io::Write;
use std::time::{Duration, Instant};

use cluster::doctor::{Check, Verdict};
use serde::Serialize;

use crate::flow::Status;

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
    /// The kind cluster, as a step found or left it.
    Cluster {
        step: String,
        name: String,
        state: ClusterState,
    },
    /// Images copied into a target (pulled into the host's Docker, loaded
    /// into the kind nodes, seeded into a peer's DinD), and those it had
    /// already.
    Images {
        step: String,
        target: String,
        copied: Vec<String>,
        present: Vec<String>,
    },
    /// Objects applied to the cluster (`Kind name`), and those the apply changed.
    Applied {
        step: String,
        objects: Vec<String>,
        changed: Vec<String>,
    },
    /// Pods that are Ready.
    PodsReady { step: String, pods: usize },
    /// A node and a channel: joining, joined, already a member, or failed.
    Channel {
        step: String,
        channel: String,
        node: String,
        state: JoinState,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A chaincode folder packaged (a vendored copy, for Go, when `vendored`).
    Packaged {
        step: String,
        chaincode: String,
        lang: String,
        package_id: String,
        bytes: usize,
        vendored: bool,
        /// Files that look like secrets and go into the package (see
        /// `chaincode::package::PackageWarning`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// A lifecycle action on a peer (install) or an org (approve) or the
    /// channel (commit): under way, done now, or found done already.
    Chaincode {
        step: String,
        chaincode: String,
        action: ChaincodeAction,
        #[serde(skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        org: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sequence: Option<i64>,
    },
    /// Where a deploy left a chaincode, and what it did to get there.
    Deployed {
        step: String,
        chaincode: String,
        channel: String,
        outcome: DeployOutcome,
        package_id: String,
        version: String,
        sequence: i64,
        installed: Vec<String>,
        approved: Vec<String>,
        committed: bool,
        /// Whether the chaincode's `Init` ran now.
        initialized: bool,
    },
    /// What a transaction function returned (`invoke`: with the ID of the
    /// committed transaction). `json` holds the result when it parses as JSON.
    TxResult {
        step: String,
        chaincode: String,
        function: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        transaction_id: Option<String>,
        result: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        json: Option<serde_json::Value>,
    },
    /// The packages installed on a peer.
    InstalledPackages {
        step: String,
        peer: String,
        packages: Vec<InstalledPackage>,
    },
    /// The chaincode definitions committed on a channel.
    CommittedChaincodes {
        step: String,
        channel: String,
        chaincodes: Vec<CommittedChaincode>,
    },
    /// `chaincode logs`: whose output follows (a peer's chaincode container).
    ChaincodeContainer {
        step: String,
        peer: String,
        container: String,
        state: String,
    },
    /// `chaincode logs`: one line a chaincode container printed.
    ChaincodeLog {
        step: String,
        peer: String,
        line: String,
    },
    /// A doctor check's result.
    Check(Check),
    /// What `status` found.
    Status(Status),
}

/// The kind cluster as a step of `up` or `down` found or left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterState {
    Created,
    Exists,
    /// An earlier `kind create` never finished; its cluster was deleted and made again.
    Recreated,
    Deleted,
    /// There was no cluster to delete.
    Absent,
}

impl std::fmt::Display for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClusterState::Created => "created",
            ClusterState::Exists => "exists",
            ClusterState::Recreated => "recreated (an earlier create did not finish)",
            ClusterState::Deleted => "deleted",
            ClusterState::Absent => "not there",
        })
    }
}

/// A node's membership of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinState {
    Joining,
    Joined,
    AlreadyJoined,
    Failed,
}

/// A lifecycle action, as [`Event::Chaincode`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaincodeAction {
    Installing,
    Installed,
    AlreadyInstalled,
    Approving,
    Approved,
    AlreadyApproved,
    Committing,
    Committed,
    AlreadyCommitted,
    /// Calling the chaincode's `Init` (`initRequired`).
    Initializing,
    Initialized,
    /// Initialised at this version already: `Init` was not run again.
    AlreadyInitialized,
}

/// What a deploy did to a chaincode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOutcome {
    /// Committed for the first time (sequence 1).
    Deployed,
    /// A changed package, committed at the next sequence.
    Upgraded,
    /// The definition was committed already; what was missing (an install,
    /// an approval) was done.
    Completed,
    /// Nothing to do: installed, approved and committed as it is.
    Unchanged,
}

impl std::fmt::Display for DeployOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeployOutcome::Deployed => "deployed",
            DeployOutcome::Upgraded => "upgraded",
            DeployOutcome::Completed => "completed",
            DeployOutcome::Unchanged => "unchanged",
        })
    }
}

/// A package on a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPackage {
    pub package_id: String,
    pub label: String,
}

/// A committed definition and which orgs (MSP IDs) approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommittedChaincode {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    pub init_required: bool,
    pub approvals: std::collections::BTreeMap<String, bool>,
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
/// failed (with the error), each with the elapsed time. The work gets the
/// sink, to report progress and outcomes while it runs.
pub async fn run_step<T, E>(
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

/// How much a [`TextReporter`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Failures and results only (`-q`).
    Quiet,
    /// Each step's outcome, and a spinner on a terminal.
    #[default]
    Normal,
    /// Also every progress message as a line when not on a terminal (`-v`).
    Verbose,
}

/// kind-style lines: ` ✓ step (1.2s)`; on a terminal a spinner shows the
/// running step and its latest progress message. Results (a status, doctor
/// checks) go to the results writer when one is set (the CLI's stdout).
pub struct TextReporter<W: Write + Send> {
    out: W,
    results: Option<Box<dyn Write + Send>>,
    spinner: Option<indicatif::ProgressBar>,
    tty: bool,
    verbosity: Verbosity,
}

impl<W: Write + Send> std::fmt::Debug for TextReporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextReporter")
            .field("tty", &self.tty)
            .field("verbosity", &self.verbosity)
            .finish()
    }
}

impl<W: Write + Send> TextReporter<W> {
    /// `tty`: draw a spinner (only when the output is a terminal and not quiet).
    pub fn new(out: W, tty: bool, verbosity: Verbosity) -> Self {
        TextReporter {
            out,
            results: None,
            spinner: None,
            tty: tty && verbosity != Verbosity::Quiet,
            verbosity,
        }
    }

    /// Write results (status, checks) here instead of with the progress lines.
    pub fn with_results(mut self, results: impl Write + Send + 'static) -> Self {
        self.results = Some(Box::new(results));
        self
    }

    fn quiet(&self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    fn line(&mut self, text: &str) {
        match &self.spinner {
            Some(s) => s.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    fn result_line(&mut self, text: &str) {
        match &mut self.results {
            Some(r) => {
                let _ = writeln!(r, "{text}");
            }
            None => self.line(text),
        }
    }

    /// A progress message: the spinner's message, or a line when verbose.
    fn progress(&mut self, step: &str, message: String) {
        match &self.spinner {
            Some(s) => s.set_message(message),
            None if self.verbosity == Verbosity::Verbose => {
                self.line(&format!("   {step}: {message}"))
            }
            None => {}
        }
    }

    fn stop_spinner(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }

    fn check(&mut self, c: &Check) {
        let mark = match c.verdict {
            Verdict::Ok => "✓",
            Verdict::Warn => "!",
            Verdict::Fail => "✗",
        };
        self.result_line(&format!(" {mark} {:<12} {}", c.name, c.detail));
        if let Some(h) = &c.hint {
            self.result_line(&format!("   {:<12} hint: {h}", ""));
        }
    }

    fn chaincode(
        &mut self,
        step: &str,
        action: ChaincodeAction,
        peer: Option<String>,
        org: Option<String>,
        sequence: Option<i64>,
    ) {
        let who = peer.or(org).unwrap_or_default();
        let seq = sequence
            .map(|s| format!(" sequence {s}"))
            .unwrap_or_default();
        let said = match action {
            ChaincodeAction::Installing => {
                return self.progress(step, format!("installing on {who} (the peer builds it)"));
            }
            ChaincodeAction::Approving => {
                return self.progress(step, format!("approving{seq} for {who}"));
            }
            ChaincodeAction::Committing => {
                return self.progress(step, format!("committing{seq}"));
            }
            ChaincodeAction::Initializing => {
                return self.progress(step, format!("calling Init{seq}"));
            }
            ChaincodeAction::Installed => format!("{who} installed"),
            ChaincodeAction::AlreadyInstalled => format!("{who} has it installed already"),
            ChaincodeAction::Approved => format!("{who} approved{seq}"),
            ChaincodeAction::AlreadyApproved => format!("{who} approved{seq} already"),
            ChaincodeAction::Committed => format!("committed{seq}"),
            ChaincodeAction::AlreadyCommitted => format!("committed{seq} already"),
            ChaincodeAction::Initialized => format!("Init ran{seq}"),
            ChaincodeAction::AlreadyInitialized => {
                format!("initialised{seq} already (Init not called again)")
            }
        };
        if !self.quiet() {
            self.line(&format!("   {said}"));
        }
    }

    fn status(&mut self, st: &Status) {
        self.result_line(&format!(
            "workspace {}: {}",
            st.workspace,
            match (st.provider.as_str(), st.cluster_exists) {
                ("existing", true) => "existing cluster answers",
                ("existing", false) => "existing cluster does not answer",
                (_, true) => "kind cluster exists",
                (_, false) => "kind cluster does not exist",
            }
        ));
        for n in &st.nodes {
            let pod = match n.pod_ready {
                Some(true) => "ready",
                Some(false) => "not ready",
                None => "no pod",
            };
            let channels = match &n.channels {
                Ok(c) if c.is_empty() => "no channels".to_string(),
                Ok(c) => c.join(", "),
                Err(e) => format!("channels unknown: {}", e.lines().next().unwrap_or("")),
            };
            self.result_line(&format!(
                "  {:<8} {:<24} {:<10} {channels}",
                n.role, n.name, pod
            ));
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
            Event::Progress { step, message } => self.progress(&step, message),
            Event::StepDone {
                step,
                elapsed,
                detail,
            } => {
                self.stop_spinner();
                if !self.quiet() {
                    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
                    self.line(&format!(" ✓ {step}{detail} ({})", secs(elapsed)));
                }
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
            Event::Note { message } => {
                if !self.quiet() {
                    self.line(&message);
                }
            }
            Event::Channel {
                step,
                node,
                state,
                error,
                ..
            } => {
                let said = match state {
                    JoinState::Joining => return self.progress(&step, format!("joining {node}")),
                    JoinState::Joined => format!("{node} joined"),
                    JoinState::AlreadyJoined => format!("{node} already joined"),
                    JoinState::Failed => {
                        format!("{node} failed: {}", error.unwrap_or_default())
                    }
                };
                if !self.quiet() {
                    self.line(&format!("   {said}"));
                }
            }
            Event::Chaincode {
                step,
                action,
                peer,
                org,
                sequence,
                ..
            } => self.chaincode(&step, action, peer, org, sequence),
            Event::Deployed {
                chaincode,
                channel,
                outcome,
                package_id,
                version,
                sequence,
                ..
            } => self.result_line(&match outcome {
                DeployOutcome::Unchanged => format!(
                    "{chaincode} on {channel}: unchanged (sequence {sequence}, version {version}, package {package_id})"
                ),
                _ => format!(
                    "{chaincode} on {channel}: {outcome} at sequence {sequence} (version {version}, package {package_id})"
                ),
            }),
            Event::TxResult { result, json, .. } => match json {
                Some(v) => {
                    let text = serde_json::to_string_pretty(&v).unwrap_or(result);
                    self.result_line(&text)
                }
                None if result.is_empty() => {}
                None => self.result_line(&result),
            },
            Event::InstalledPackages { peer, packages, .. } => {
                if packages.is_empty() {
                    self.result_line(&format!("{peer:<24} no package installed"));
                }
                for p in packages {
                    self.result_line(&format!("{peer:<24} {}", p.package_id));
                }
            }
            Event::CommittedChaincodes {
                channel,
                chaincodes,
                ..
            } => {
                if chaincodes.is_empty() {
                    self.result_line(&format!("{channel:<24} no chaincode committed"));
                }
                for c in chaincodes {
                    let approvals = c
                        .approvals
                        .iter()
                        .map(|(m, ok)| format!("{m} {}", if *ok { "✓" } else { "✗" }))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.result_line(&format!(
                        "{channel:<24} {} version {} sequence {} approvals: {approvals}",
                        c.name, c.version, c.sequence
                    ));
                }
            }
            Event::ChaincodeContainer {
                peer,
                container,
                state,
                ..
            } => {
                self.line(&format!("==> {peer}: {container} ({state}) <=="));
            }
            Event::ChaincodeLog { line, .. } => self.result_line(&line),
            Event::Packaged { warnings, .. } => {
                for w in warnings {
                    self.line(&format!("   warning: {w}"));
                }
            }
            // The step's detail says the same in words.
            Event::Cluster { .. }
            | Event::Images { .. }
            | Event::Applied { .. }
            | Event::PodsReady { .. } => {}
            Event::Check(c) => self.check(&c),
            Event::Status(st) => self.status(&st),
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
    use std::future::Future;

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
        let ok: Result<u32, std::io::Error> = run(run_step(
            &mut events,
            "create cluster",
            |n| Some(format!("{n} nodes")),
            async |_: &mut dyn Sink| Ok(1),
        ));
        assert_eq!(ok.unwrap(), 1);
        let err: Result<u32, std::io::Error> = run(run_step(
            &mut events,
            "apply",
            |_| None,
            async |_: &mut dyn Sink| Err(std::io::Error::other("boom")),
        ));
        assert!(err.is_err());
        assert!(matches!(&events[0], Event::StepStarted { step } if step == "create cluster"));
        assert!(matches!(&events[1], Event::StepDone { detail: Some(d), .. } if d == "1 nodes"));
        assert!(matches!(&events[2], Event::StepStarted { step } if step == "apply"));
        assert!(matches!(&events[3], Event::StepFailed { error, .. } if error == "boom"));
    }

    /// A started, progressing and finished step, then a failed one.
    fn step_events() -> Vec<Event> {
        vec![
            Event::StepStarted {
                step: "wait for nodes".into(),
            },
            Event::Progress {
                step: "wait for nodes".into(),
                message: "1 of 1 NotReady".into(),
            },
            Event::StepDone {
                step: "wait for nodes".into(),
                elapsed: Duration::from_millis(1234),
                detail: None,
            },
            Event::StepFailed {
                step: "apply".into(),
                elapsed: Duration::from_millis(50),
                error: "cannot apply StatefulSet x\nhint: y".into(),
            },
        ]
    }

    /// What a text reporter without a terminal writes for `events`.
    fn text_of(verbosity: Verbosity, events: Vec<Event>) -> String {
        let mut buf = Vec::new();
        {
            let mut r = TextReporter::new(&mut buf, false, verbosity);
            for e in events {
                r.emit(e);
            }
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn text_lines_without_a_terminal() {
        assert_eq!(
            text_of(Verbosity::Normal, step_events()),
            " ✓ wait for nodes (1.2s)\n ✗ apply (0.1s)\n   cannot apply StatefulSet x\n   hint: y\n"
        );
    }

    #[test]
    fn quiet_text_shows_only_failures_and_results() {
        let mut events = vec![
            Event::Note {
                message: "note".into(),
            },
            Event::Channel {
                step: "channel c".into(),
                channel: "c".into(),
                node: "peer0-org1".into(),
                state: JoinState::Joined,
                error: None,
            },
            Event::Check(Check {
                name: "kind".into(),
                verdict: Verdict::Fail,
                detail: "not found".into(),
                hint: Some("install it".into()),
            }),
        ];
        events.extend(step_events());
        assert_eq!(
            text_of(Verbosity::Quiet, events),
            " ✗ kind         not found\n                hint: install it\n ✗ apply (0.1s)\n   cannot apply StatefulSet x\n   hint: y\n"
        );
    }

    #[test]
    fn channel_joins_are_lines_and_joining_is_progress() {
        let join = |state, error: Option<&str>| Event::Channel {
            step: "channel c".into(),
            channel: "c".into(),
            node: "peer0-org1".into(),
            state,
            error: error.map(str::to_string),
        };
        let mut buf = Vec::new();
        {
            let mut r = TextReporter::new(&mut buf, false, Verbosity::Verbose);
            r.emit(join(JoinState::Joining, None));
            r.emit(join(JoinState::Joined, None));
            r.emit(join(JoinState::AlreadyJoined, None));
            r.emit(join(JoinState::Failed, Some("refused")));
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "   channel c: joining peer0-org1\n   peer0-org1 joined\n   peer0-org1 already joined\n   peer0-org1 failed: refused\n"
        );
        let mut buf = Vec::new();
        JsonReporter::new(&mut buf).emit(join(JoinState::AlreadyJoined, None));
        let line: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"event": "channel", "step": "channel c", "channel": "c", "node": "peer0-org1", "state": "already_joined"})
        );
    }

    #[test]
    fn verbose_text_shows_progress_lines() {
        let mut buf = Vec::new();
        TextReporter::new(&mut buf, false, Verbosity::Verbose).emit(Event::Progress {
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
    fn a_step_can_report_into_the_sink() {
        let mut events: Vec<Event> = Vec::new();
        let r: Result<(), std::io::Error> = run(run_step(
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
    fn chaincode_events_as_text_lines_results_and_json() {
        let ev = |action, peer: Option<&str>, org: Option<&str>, sequence| Event::Chaincode {
            step: "install basic".into(),
            chaincode: "basic".into(),
            action,
            peer: peer.map(str::to_string),
            org: org.map(str::to_string),
            sequence,
        };
        let deployed = |outcome| Event::Deployed {
            step: "commit basic".into(),
            chaincode: "basic".into(),
            channel: "mychannel".into(),
            outcome,
            package_id: "basic_1.0:ab".into(),
            version: "ab".into(),
            sequence: 2,
            installed: vec![],
            approved: vec!["Org1".into()],
            committed: true,
            initialized: false,
        };
        let result = Event::TxResult {
            step: "query basic ReadAsset".into(),
            chaincode: "basic".into(),
            function: "ReadAsset".into(),
            transaction_id: None,
            result: r#"{"b":1}"#.into(),
            json: Some(serde_json::json!({"b": 1})),
        };
        let mut progress = Vec::new();
        let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let mut r = TextReporter::new(&mut progress, false, Verbosity::Normal)
                .with_results(SharedBuf(std::sync::Arc::clone(&shared)));
            r.emit(ev(
                ChaincodeAction::Installing,
                Some("peer0-org1"),
                None,
                None,
            ));
            r.emit(ev(
                ChaincodeAction::Installed,
                Some("peer0-org1"),
                None,
                None,
            ));
            r.emit(ev(
                ChaincodeAction::AlreadyApproved,
                None,
                Some("Org2"),
                Some(2),
            ));
            r.emit(deployed(DeployOutcome::Upgraded));
            r.emit(result.clone());
        }
        let results = shared.lock().unwrap().clone();
        assert_eq!(
            String::from_utf8(progress).unwrap(),
            "   peer0-org1 installed\n   Org2 approved sequence 2 already\n"
        );
        assert_eq!(
            String::from_utf8(results).unwrap(),
            "basic on mychannel: upgraded at sequence 2 (version ab, package basic_1.0:ab)\n{\n  \"b\": 1\n}\n"
        );
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(&mut buf);
            r.emit(ev(
                ChaincodeAction::AlreadyApproved,
                None,
                Some("Org2"),
                Some(2),
            ));
            r.emit(deployed(DeployOutcome::Unchanged));
            r.emit(result);
        }
        let lines: Vec<serde_json::Value> = String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"event": "chaincode", "step": "install basic", "chaincode": "basic", "action": "already_approved", "org": "Org2", "sequence": 2})
        );
        assert_eq!(lines[1]["event"], "deployed");
        assert_eq!(lines[1]["outcome"], "unchanged");
        assert_eq!(lines[1]["approved"], serde_json::json!(["Org1"]));
        assert_eq!(
            lines[2],
            serde_json::json!({"event": "tx_result", "step": "query basic ReadAsset", "chaincode": "basic", "function": "ReadAsset", "result": "{\"b\":1}", "json": {"b": 1}})
        );
    }

    /// A results writer the test reads back.
    struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
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
    /// One line of every kind of event (and of the optional fields), as
    /// `--output json` writes them: the shape CI reads.
    #[test]
    fn every_event_as_a_json_line() {
        let st = |s: &str| s.to_string();
        let events = vec![
            Event::StepStarted { step: st("apply") },
            Event::Progress { step: st("apply"), message: st("waiting") },
            Event::Transfer { step: st("image x"), item: st("x"), done: 5, total: 10 },
            Event::StepDone { step: st("apply"), elapsed: Duration::from_millis(1500), detail: Some(st("13 objects")) },
            Event::StepDone { step: st("apply"), elapsed: Duration::from_millis(2), detail: None },
            Event::StepFailed { step: st("apply"), elapsed: Duration::from_millis(50), error: st("boom\n  caused by: x") },
            Event::Note { message: st("hi") },
            Event::Cluster { step: st("kind cluster fabdev"), name: st("fabdev"), state: ClusterState::Recreated },
            Event::Images { step: st("image x"), target: st("host Docker"), copied: vec![st("x")], present: vec![] },
            Event::Applied { step: st("apply objects"), objects: vec![st("Namespace fabdev")], changed: vec![] },
            Event::PodsReady { step: st("wait"), pods: 3 },
            Event::Channel { step: st("channel c"), channel: st("c"), node: st("peer0-org1"), state: JoinState::Failed, error: Some(st("refused")) },
            Event::Channel { step: st("channel c"), channel: st("c"), node: st("peer0-org1"), state: JoinState::Joined, error: None },
            Event::Packaged { step: st("package basic"), chaincode: st("basic"), lang: st("node"), package_id: st("basic_1:ab"), bytes: 10, vendored: false, warnings: vec![] },
            Event::Packaged { step: st("package basic"), chaincode: st("basic"), lang: st("go"), package_id: st("basic_1:ab"), bytes: 10, vendored: true, warnings: vec![st(".env looks like a secret")] },
            Event::Chaincode { step: st("install basic"), chaincode: st("basic"), action: ChaincodeAction::Installed, peer: Some(st("peer0-org1")), org: None, sequence: None },
            Event::Chaincode { step: st("approve basic"), chaincode: st("basic"), action: ChaincodeAction::AlreadyApproved, peer: None, org: Some(st("Org1")), sequence: Some(2) },
            Event::Deployed { step: st("commit basic"), chaincode: st("basic"), channel: st("mychannel"), outcome: DeployOutcome::Completed, package_id: st("basic_1:ab"), version: st("ab"), sequence: 1, installed: vec![st("peer0-org1")], approved: vec![], committed: false, initialized: true },
            Event::TxResult { step: st("invoke basic F"), chaincode: st("basic"), function: st("F"), transaction_id: Some(st("tx1")), result: st("ok"), json: None },
            Event::TxResult { step: st("query basic F"), chaincode: st("basic"), function: st("F"), transaction_id: None, result: st("[1]"), json: Some(serde_json::json!([1])) },
            Event::InstalledPackages { step: st("installed packages"), peer: st("peer0-org1"), packages: vec![InstalledPackage { package_id: st("basic_1:ab"), label: st("basic_1") }] },
            Event::CommittedChaincodes { step: st("committed on c"), channel: st("c"), chaincodes: vec![CommittedChaincode { name: st("basic"), version: st("1"), sequence: 1, init_required: false, approvals: [(st("Org1MSP"), true)].into() }] },
            Event::ChaincodeContainer { step: st("logs"), peer: st("peer0-org1"), container: st("dev-peer0"), state: st("running") },
            Event::ChaincodeLog { step: st("logs"), peer: st("peer0-org1"), line: st("hello") },
            Event::Check(Check { name: st("kind"), verdict: Verdict::Warn, detail: st("old"), hint: Some(st("upgrade")) }),
            Event::Check(Check { name: st("docker"), verdict: Verdict::Ok, detail: st("29"), hint: None }),
            Event::Status(Status {
                workspace: st("fabdev"),
                provider: st("kind"),
                cluster_exists: true,
                nodes: vec![
                    crate::flow::NodeStatus { name: st("peer0-org1"), role: st("peer"), pod_ready: Some(true), channels: Ok(vec![st("c")]) },
                    crate::flow::NodeStatus { name: st("orderer0"), role: st("orderer"), pod_ready: None, channels: Err(st("no cluster")) },
                ],
            }),
        ];
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(&mut buf);
            for e in events {
                r.emit(e);
            }
        }
        insta::assert_snapshot!(String::from_utf8(buf).unwrap());
    }
}
