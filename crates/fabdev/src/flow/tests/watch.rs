//! `chaincode watch` without a network: its step lists, and a watch whose
//! rounds fail at `install` (nobody answers) while it sees, debounces and
//! filters the folder's changes, then stops when told.

use std::sync::mpsc;

use super::*;
use crate::flow::chaincodes::{WatchRequest, round_steps, watch, watch_steps};

/// Events sent on as they come, for a test that acts on them.
struct Forward(mpsc::Sender<Event>);

impl Sink for Forward {
    fn emit(&mut self, event: Event) {
        let _ = self.0.send(event);
    }
}

#[test]
fn watch_steps_are_the_deploy_steps_then_start_and_logs() {
    let dir = workspace_with_chaincode("");
    let ctx = Context::load(&options(dir.path())).unwrap();
    let setup = names(watch_steps(&ctx));
    assert_eq!(setup, ["node endpoints", "chaincodes", "watch folders"]);
    let round = names(round_steps(&ctx, &["basic".to_string()]));
    assert_eq!(
        round,
        [
            "package basic",
            "install basic",
            "approve basic",
            "commit basic",
            "start basic",
            "logs basic"
        ]
    );
    each_step_fails_as_itself(&setup);
    each_step_fails_as_itself(&round);
}

/// The next `round` event, with the events before it.
fn next_round(rx: &mpsc::Receiver<Event>, seen: &mut Vec<Event>) -> Event {
    loop {
        let e = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("no round after 120 s ({e}): {seen:#?}"));
        if matches!(e.kind, EventKind::Round { .. }) {
            return e;
        }
        seen.push(e);
    }
}

#[test]
fn a_change_is_debounced_filtered_and_redeployed_and_a_failed_round_does_not_stop_the_watch() {
    let dir = workspace_with_chaincode("");
    let opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    ensure_crypto(&ctx).unwrap();
    let cc = dir.path().join("chaincode/node");
    std::fs::create_dir_all(cc.join("node_modules/dep")).unwrap();
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // On a thread of its own, as the CLI runs it.
    let watching = std::thread::spawn(move || {
        let stop = async {
            let _ = stop_rx.await;
        };
        let request = WatchRequest {
            log_lines: 10,
            ..WatchRequest::default()
        };
        rt().block_on(watch(&opts, request, stop, &mut Forward(tx)))
    });
    let mut seen = Vec::new();
    // Round 1 deploys what is there; nobody answers, so it fails at install.
    let first = next_round(&rx, &mut seen);
    match &first.kind {
        EventKind::Round {
            round,
            failed,
            chaincodes,
            ..
        } => {
            assert_eq!(*round, 1);
            assert_eq!(chaincodes, &["basic"]);
            assert_eq!(failed.as_deref(), Some("install basic"), "{seen:#?}");
        }
        _ => unreachable!(),
    }
    assert!(seen.iter().any(|e| matches!(
        &e.kind,
        EventKind::Watching { chaincode, files, .. } if chaincode == "basic" && *files > 0
    )));
    // A burst: the source twice, an editor's swap file, a dependency.
    let index = cc.join("index.js");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, format!("{text}\n// one\n")).unwrap();
    std::fs::write(cc.join(".index.js.swp"), "swap").unwrap();
    std::fs::write(cc.join("node_modules/dep/x.js"), "dep").unwrap();
    std::fs::write(&index, format!("{text}\n// two\n")).unwrap();
    std::fs::write(cc.join("lib/new.js"), "// new\n").unwrap();
    seen.clear();
    let second = next_round(&rx, &mut seen);
    let changed: Vec<&Event> = seen
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Changed { .. }))
        .collect();
    // One round for the burst, with the watched files only.
    assert_eq!(changed.len(), 1, "{seen:#?}");
    assert_eq!(changed[0].step.as_deref(), Some("wait for changes"));
    match &changed[0].kind {
        EventKind::Changed { chaincode, files } => {
            assert_eq!(chaincode, "basic");
            assert_eq!(files, &["~index.js", "+lib/new.js"]);
        }
        _ => unreachable!(),
    }
    assert!(matches!(
        &second.kind,
        EventKind::Round { round: 2, failed: Some(f), steps, .. }
            if f == "install basic" && steps[0].step == "package basic"
    ));
    // Told to stop: it ends, and that is no error.
    stop_tx.send(()).unwrap();
    let report = watching.join().unwrap().unwrap();
    assert_eq!(report.rounds, 2);
    assert_eq!(report.failed_rounds, 2);
}
