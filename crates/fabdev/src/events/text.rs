//! Text lines as kind writes them: ` ✓ step (1.2s)`, a spinner on a
//! terminal. The only place that touches indicatif.

use std::io::Write;
use std::time::Duration;

use cluster::doctor::{Check, Verdict};

use super::{ChaincodeAction, DeployOutcome, Event, EventKind, JoinState, Sink, Status};

mod watch;

/// `text` safe to print on a terminal: every C0 and C1 control character
/// (ESC, BEL, CR, backspace, DEL, CSI, OSC, ...) written as `\x1b`, `\u{9b}`,
/// so that text fabdev did not write (chaincode logs and results, ledger
/// data, a peer's or pod's error text) cannot move the cursor, retitle the
/// window, write the clipboard (OSC 52) or forge a ` ✓` line. Tab stays;
/// newline stays only with `keep_newlines` (text that is multi-line by
/// design, each line then printed as such).
pub fn escape_controls(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let keep = |c: char| c == '\t' || (keep_newlines && c == '\n');
    if !text.chars().any(|c| c.is_control() && !keep(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if keep(c) || !c.is_control() => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
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

    /// One line; control characters in it escaped.
    fn line(&mut self, text: &str) {
        let text = escape_controls(text, false);
        match &self.spinner {
            Some(s) => s.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    /// One result line; control characters in it escaped.
    fn result_line(&mut self, text: &str) {
        let text = escape_controls(text, false);
        match &mut self.results {
            Some(r) => {
                let _ = writeln!(r, "{text}");
            }
            None => self.line(&text),
        }
    }

    /// A progress message: the spinner's message, or a line when verbose.
    fn progress(&mut self, step: &str, message: String) {
        match &self.spinner {
            Some(s) => s.set_message(escape_controls(&message, false).into_owned()),
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
        let step = event.step.unwrap_or_default();
        match event.kind {
            EventKind::StepStarted {} => {
                if self.tty {
                    let s = indicatif::ProgressBar::new_spinner();
                    s.set_style(
                        indicatif::ProgressStyle::with_template(" {spinner} {prefix} {wide_msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                    );
                    s.set_prefix(escape_controls(&step, false).into_owned());
                    s.enable_steady_tick(Duration::from_millis(100));
                    self.spinner = Some(s);
                }
            }
            EventKind::Transfer {
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
                    s.set_message(escape_controls(&item, false).into_owned());
                }
            }
            EventKind::Progress { message } => self.progress(&step, message),
            EventKind::StepDone {
                elapsed,
                detail,
            } => {
                self.stop_spinner();
                if !self.quiet() {
                    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
                    self.line(&format!(" ✓ {step}{detail} ({})", secs(elapsed)));
                }
            }
            EventKind::StepFailed {
                elapsed,
                error,
                hint,
            } => {
                self.stop_spinner();
                self.line(&format!(" ✗ {step} ({})", secs(elapsed)));
                for l in error.lines() {
                    self.line(&format!("   {l}"));
                }
                if let Some(h) = hint {
                    self.line(&format!("     hint: {h}"));
                }
            }
            EventKind::Note { message } => {
                if !self.quiet() {
                    self.line(&message);
                }
            }
            EventKind::Channel {
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
            EventKind::Chaincode {
                action,
                peer,
                org,
                sequence,
                ..
            } => self.chaincode(&step, action, peer, org, sequence),
            EventKind::Deployed {
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
            // Multi-line by design: each line printed (and escaped) alone.
            EventKind::TxResult { result, json, .. } => match json {
                Some(v) => {
                    let text = serde_json::to_string_pretty(&v).unwrap_or(result);
                    for l in text.split('\n') {
                        self.result_line(l);
                    }
                }
                None if result.is_empty() => {}
                None => {
                    for l in result.split('\n') {
                        self.result_line(l);
                    }
                }
            },
            EventKind::InstalledPackages { peer, packages, .. } => {
                if packages.is_empty() {
                    self.result_line(&format!("{peer:<24} no package installed"));
                }
                for p in packages {
                    self.result_line(&format!("{peer:<24} {}", p.package_id));
                }
            }
            EventKind::CommittedChaincodes {
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
            EventKind::ChaincodeContainer {
                peer,
                container,
                state,
                ..
            } => {
                self.line(&format!("==> {peer}: {container} ({state}) <=="));
            }
            EventKind::ChaincodeLog { line, .. } => self.result_line(&line),
            EventKind::Packaged { warnings, .. } => {
                for w in warnings {
                    self.line(&format!("   warning: {w}"));
                }
            }
            // The step's detail says the same in words.
            EventKind::Cluster { .. }
            | EventKind::Images { .. }
            | EventKind::Applied { .. }
            | EventKind::PodsReady { .. } => {}
            kind @ (EventKind::Watching { .. }
            | EventKind::Changed { .. }
            | EventKind::Round { .. }) => self.watch_event(kind),
            // Its first line, the summary, is the step's detail; a refused
            // plan is the failure, shown whole even when quiet.
            EventKind::Plan(plan) if !self.quiet() || !plan.applicable() => {
                let skip = usize::from(!self.quiet());
                for l in plan.text().lines().skip(skip) {
                    self.line(&format!("   {l}"));
                }
            }
            EventKind::Plan(_) => {}
            EventKind::Check(c) => self.check(&c),
            EventKind::Status(st) => self.status(&st),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::JsonReporter;

    /// A started, progressing and finished step, then a failed one.
    fn step_events() -> Vec<Event> {
        vec![
            Event::of("wait for nodes", EventKind::StepStarted {}),
            Event::of(
                "wait for nodes",
                EventKind::Progress {
                    message: "1 of 1 NotReady".into(),
                },
            ),
            Event::of(
                "wait for nodes",
                EventKind::StepDone {
                    elapsed: Duration::from_millis(1234),
                    detail: None,
                },
            ),
            Event::of(
                "apply",
                EventKind::StepFailed {
                    elapsed: Duration::from_millis(50),
                    error: "cannot apply StatefulSet x".into(),
                    hint: Some("y".into()),
                },
            ),
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
            " ✓ wait for nodes (1.2s)\n ✗ apply (0.1s)\n   cannot apply StatefulSet x\n     hint: y\n"
        );
    }

    #[test]
    fn quiet_text_shows_only_failures_and_results() {
        let mut events = vec![
            Event::new(EventKind::Note {
                message: "note".into(),
            }),
            Event::of(
                "channel c",
                EventKind::Channel {
                    channel: "c".into(),
                    node: "peer0-org1".into(),
                    state: JoinState::Joined,
                    error: None,
                },
            ),
            Event::new(EventKind::Check(Check {
                name: "kind".into(),
                verdict: Verdict::Fail,
                detail: "not found".into(),
                hint: Some("install it".into()),
            })),
        ];
        events.extend(step_events());
        assert_eq!(
            text_of(Verbosity::Quiet, events),
            " ✗ kind         not found\n                hint: install it\n ✗ apply (0.1s)\n   cannot apply StatefulSet x\n     hint: y\n"
        );
    }

    #[test]
    fn channel_joins_are_lines_and_joining_is_progress() {
        let join = |state, error: Option<&str>| {
            Event::of(
                "channel c",
                EventKind::Channel {
                    channel: "c".into(),
                    node: "peer0-org1".into(),
                    state,
                    error: error.map(str::to_string),
                },
            )
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
    fn output_from_outside_cannot_forge_the_terminal() {
        let osc52 = "\x1b]52;c;cm0gLXJmIH4=\x07";
        let events = vec![
            Event::of(
                "logs",
                EventKind::ChaincodeLog {
                    peer: "peer0-org1".into(),
                    line: format!("x\r ✓ fake{osc52}\tend\u{9b}2J"),
                },
            ),
            Event::of(
                "query basic Read",
                EventKind::TxResult {
                    chaincode: "basic".into(),
                    function: "Read".into(),
                    transaction_id: None,
                    result: "a\x1b[2J\nb\x08".into(),
                    json: None,
                },
            ),
            Event::of(
                "invoke",
                EventKind::StepFailed {
                    elapsed: Duration::from_millis(50),
                    error: "chaincode said \x1b]0;title\x07".into(),
                    hint: None,
                },
            ),
        ];
        assert_eq!(
            text_of(Verbosity::Normal, events),
            "x\\r ✓ fake\\x1b]52;c;cm0gLXJmIH4=\\x07\tend\\u{9b}2J\n\
             a\\x1b[2J\nb\\x08\n\
             \u{20}✗ invoke (0.1s)\n   chaincode said \\x1b]0;title\\x07\n"
        );
        assert_eq!(escape_controls("a\nb\x7f", true), "a\nb\\x7f");
        assert_eq!(escape_controls("a\nb", false), "a\\nb");
    }

    #[test]
    fn verbose_text_shows_progress_lines() {
        let mut buf = Vec::new();
        TextReporter::new(&mut buf, false, Verbosity::Verbose).emit(Event::of(
            "s",
            EventKind::Progress {
                message: "waiting for peer0-org1-0".into(),
            },
        ));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "   s: waiting for peer0-org1-0\n"
        );
    }

    #[test]
    fn chaincode_events_as_text_lines_results_and_json() {
        let ev = |action, peer: Option<&str>, org: Option<&str>, sequence| {
            Event::of(
                "install basic",
                EventKind::Chaincode {
                    chaincode: "basic".into(),
                    action,
                    peer: peer.map(str::to_string),
                    org: org.map(str::to_string),
                    sequence,
                },
            )
        };
        let deployed = |outcome| {
            Event::of(
                "commit basic",
                EventKind::Deployed {
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
                },
            )
        };
        let result = Event::of(
            "query basic ReadAsset",
            EventKind::TxResult {
                chaincode: "basic".into(),
                function: "ReadAsset".into(),
                transaction_id: None,
                result: r#"{"b":1}"#.into(),
                json: Some(serde_json::json!({"b": 1})),
            },
        );
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
}
