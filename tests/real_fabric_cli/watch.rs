//! `chaincode watch` on real peers: a Node chaincode redeployed on a file
//! change and answering with the new code at once, and a TypeScript
//! chaincode's type error shown as its round's failure while the watch
//! goes on.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use fabdev::events::{Event, EventKind, Sink};
use fabdev::flow::chaincodes::{WatchReport, WatchRequest, watch};

use super::*;

/// Events sent on as they come, for the test to act on.
struct Forward(mpsc::Sender<Event>);

impl Sink for Forward {
    fn emit(&mut self, event: Event) {
        let _ = self.0.send(event);
    }
}

/// The events up to the next `round` event, and that event's round,
/// chaincodes and failed step.
fn next_round(rx: &mpsc::Receiver<Event>) -> (Vec<Event>, u64, Vec<String>, Option<String>) {
    let mut seen = Vec::new();
    loop {
        let e = rx
            .recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|e| panic!("no round after 600 s ({e}): {seen:#?}"));
        if let EventKind::Round {
            round,
            chaincodes,
            failed,
            ..
        } = &e.kind
        {
            println!("{e:?}");
            return (seen, *round, chaincodes.clone(), failed.clone());
        }
        seen.push(e);
    }
}

fn step_done(seen: &[Event], step: &str) -> bool {
    seen.iter()
        .any(|e| e.step.as_deref() == Some(step) && matches!(e.kind, EventKind::StepDone { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_watch_redeploys_a_change_and_shows_a_build_error() {
    let ws = workspace_dir();
    copy_fixture("chaincode/node", &ws.path().join("chaincode/basic"));
    copy_fixture("chaincode/typescript", &ws.path().join("chaincode/ts"));
    // A type error: `tsc` fails, so the TypeScript chaincode's round fails
    // in its package step.
    edit(
        &ws.path().join("chaincode/ts/src/assetTransfer.ts"),
        "const ASSET_DOC_TYPE = 'asset';",
        "const ASSET_DOC_TYPE: number = 'asset';",
    );
    let t = CliNetwork::start(
        ws,
        32400,
        concat!(
            "chaincodes:\n",
            "  - { name: basic, path: chaincode/basic, channel: mychannel }\n",
            "  - { name: ts, path: chaincode/ts, channel: mychannel }\n",
        ),
    )
    .await;
    let logs = || t.net.all_logs();
    t.ok(&["channel", "create"]).await;

    // The watch, on a thread of its own as the CLI runs it, reading the
    // peers' daemons through their sockets (no Kubernetes here).
    let opts = t.options();
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watching = std::thread::spawn(move || -> Result<WatchReport, String> {
        let stop = async {
            let _ = stop_rx.await;
        };
        let request = WatchRequest {
            log_lines: 10,
            ..WatchRequest::default()
        };
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(watch(&opts, request, stop, &mut Forward(tx)))
            .map_err(|e| fabdev::errors::chain(&e))
    });

    // Round 1: both deployed; basic starts on both peers and shows its
    // first log lines, ts fails at `tsc` with the compiler's error.
    let (seen, round, chaincodes, failed) = next_round(&rx);
    assert_eq!(
        (round, chaincodes.as_slice()),
        (1, &["basic".to_string(), "ts".to_string()][..])
    );
    assert_eq!(
        failed.as_deref(),
        Some("package ts"),
        "{seen:#?}\n{}",
        logs()
    );
    for step in ["commit basic", "start basic", "logs basic"] {
        assert!(step_done(&seen, step), "{step}: {seen:#?}\n{}", logs());
    }
    let ts_error = seen
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::StepFailed { error, .. } if e.step.as_deref() == Some("package ts") => {
                Some(error.clone())
            }
            _ => None,
        })
        .expect("package ts failed");
    assert!(ts_error.contains("error TS2322"), "{ts_error}");
    let log_peers: std::collections::BTreeSet<&str> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ChaincodeLog { peer, .. } if e.step.as_deref() == Some("logs basic") => {
                Some(peer.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(log_peers.len(), 2, "{seen:#?}");

    // An edit: a new transaction function. The round redeploys basic only
    // (ts did not change), and the new code answers.
    let edited = Instant::now();
    super::add_version(
        &t.path("chaincode/basic/lib/assetTransfer.js"),
        "watched-v2",
    );
    let (seen, round, chaincodes, failed) = next_round(&rx);
    let ready = edited.elapsed();
    assert_eq!(
        (round, chaincodes.as_slice()),
        (2, &["basic".to_string()][..])
    );
    assert_eq!(failed, None, "{seen:#?}\n{}", logs());
    assert!(
        seen.iter().any(|e| matches!(&e.kind,
            EventKind::Changed { chaincode, files } if chaincode == "basic" && files == &["~lib/assetTransfer.js"])),
        "{seen:#?}"
    );
    let out = t.ok(&["chaincode", "query", "basic", "Version"]).await;
    let answered = edited.elapsed();
    assert_eq!(stdout(&out).trim(), "watched-v2");
    let invoke_start = Instant::now();
    t.ok(&super::create_asset(["w1", "red", "5", "Tom", "10"]))
        .await;
    println!(
        "watch: edit → round done {:.1} s, edit → first query answered {:.1} s, first invoke after the round {:.1} s",
        ready.as_secs_f64(),
        answered.as_secs_f64(),
        invoke_start.elapsed().as_secs_f64()
    );

    // Ctrl-C's stand-in: the watch ends, and that is no error.
    stop_tx.send(()).expect("the watch runs");
    let report = tokio::task::spawn_blocking(move || watching.join())
        .await
        .expect("join")
        .expect("the watch thread")
        .expect("the watch");
    assert_eq!((report.rounds, report.failed_rounds), (2, 1));
}
