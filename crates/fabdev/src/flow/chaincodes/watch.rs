//! `fabdev chaincode watch [NAME…]`: the chaincode folders watched, and
//! what changed redeployed, until Ctrl-C.
//!
//! | steps after `workspace` |
//! |---|
//! | `node endpoints`, `chaincodes`, `watch folders`, then round 1 (every chaincode), then for ever: `wait for changes` and a round of what changed |
//!
//! A round is the deploy steps of each chaincode (`package X`, `install X`,
//! `approve X`, `commit X`, `init X` with `initRequired`: the same
//! functions as `chaincode deploy`), then `start X` (one query to every
//! peer at once, so that each peer launches the new chaincode now and
//! says when it answers: `chaincode::lifecycle::launch_all`) and `logs X`
//! (the first lines each peer's new container printed). A round that fails
//! (a compile error, a chaincode that does not start) is reported, as its
//! failed step, and the watch goes on: the next change starts the next
//! round. Each round ends with [`EventKind::Round`]: its steps' times.
//!
//! Files are polled (`chaincode::watch`: why polling, and what is never
//! watched), every [`POLL`]; a round starts once the folders have been
//! quiet for [`QUIET`] (or changing for [`LONGEST`]). The stop future
//! (Ctrl-C for the CLI) ends the watch at once, between rounds or in one:
//! a round cut short leaves what a cut `deploy` leaves, which the next
//! deploy completes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chaincode::watch::{Debounce, Rules, Snapshot, changes, snapshot};
use cluster::dind::Dind;
use cluster::kind::Runner;

use super::deploy::{DeployParts, Deploys, LifecycleCommand, deploy_steps};
use super::run::ChaincodeRun;
use super::selection::{Selection, select};
use crate::events::{Event, EventKind, Sink, StepTime};
use crate::flow::connections::{Connected, NODE_ENDPOINTS_STEP, node_endpoints};
use crate::flow::logs::{LineSplitter, chaincode_prefixes, pick};
use crate::flow::steps::{Step, StepResult, run_flow, run_steps, step};
use crate::flow::{Connections, Context, FlowError, Options};

/// How often the folders are read.
pub const POLL: Duration = Duration::from_millis(250);
/// How long the folders must be quiet before a round starts.
pub const QUIET: Duration = Duration::from_millis(400);
/// The longest a burst of changes holds a round back.
pub const LONGEST: Duration = Duration::from_secs(3);
/// The name of the step between rounds.
pub const WAIT_STEP: &str = "wait for changes";

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct WatchRequest {
    /// Chaincodes of fabdev.yaml; empty: every one.
    pub names: Vec<String>,
    /// Package Go chaincode as it is, without a vendored copy.
    pub no_vendor: bool,
    /// How many of each container's first log lines a round shows.
    pub log_lines: usize,
}

/// How the watch ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchReport {
    pub rounds: u64,
    pub failed_rounds: u64,
}

/// One watched folder.
#[derive(Debug)]
struct Folder {
    path: PathBuf,
    rules: Rules,
    last: Snapshot,
}

/// The state of the watch's steps: the chaincode commands' state (for the
/// deploy steps), the folders and what changed.
#[derive(Debug)]
pub struct WatchRun {
    cc: ChaincodeRun,
    request: WatchRequest,
    local_daemons: BTreeMap<String, PathBuf>,
    /// The watched chaincodes, as the `chaincodes` step found them.
    specs: BTreeMap<String, network::spec::Chaincode>,
    folders: BTreeMap<String, Folder>,
    /// The chaincodes the next round redeploys.
    changed: Vec<String>,
}

impl Connected for WatchRun {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        self.cc.connections()
    }
}

impl Deploys for WatchRun {
    fn deploy_parts(&mut self) -> DeployParts<'_> {
        self.cc.deploy_parts()
    }
}

/// The steps before the first round.
pub fn steps(_: &Context) -> Vec<Step<WatchRun>> {
    vec![
        step!(NODE_ENDPOINTS_STEP => node_endpoints),
        step!("chaincodes" => chaincodes_step),
        step!("watch folders" => folders_step),
    ]
}

/// A round's steps: the deploy steps of each chaincode (`start X` the
/// last), then `logs X`.
pub fn round_steps(ctx: &Context, names: &[String]) -> Vec<Step<WatchRun>> {
    let mut steps = deploy_steps(ctx, names, LifecycleCommand::Deploy);
    for name in names {
        steps.push(step!(format!("logs {name}"), name => logs_step));
    }
    steps
}

/// Run `chaincode watch` until `stop` completes.
pub async fn watch(
    opts: &Options<impl Runner>,
    request: WatchRequest,
    stop: impl Future<Output = ()> + Send,
    sink: &mut dyn Sink,
) -> Result<WatchReport, FlowError> {
    let mut stop = std::pin::pin!(stop);
    let local_daemons = opts.local_daemons.clone();
    let setup = run_flow(opts, sink, steps, |ctx| {
        let mut cc = ChaincodeRun::new(ctx, opts);
        cc.deployments.init_after_commit = true;
        WatchRun {
            cc,
            request,
            local_daemons,
            specs: BTreeMap::new(),
            folders: BTreeMap::new(),
            changed: Vec::new(),
        }
    });
    let mut run = tokio::select! {
        r = setup => r?,
        () = &mut stop => return Ok(WatchReport::default()),
    };
    let mut report = WatchReport::default();
    run.changed = run.folders.keys().cloned().collect();
    loop {
        report.rounds += 1;
        let names = std::mem::take(&mut run.changed);
        let specs = names.iter().filter_map(|n| run.specs.get(n).cloned());
        run.cc.deployments.select(specs.collect());
        let mut timed = Timed {
            sink: &mut *sink,
            steps: Vec::new(),
        };
        let start = Instant::now();
        // Each chaincode's steps on their own: one that fails does not
        // hold the others back.
        let mut failed = None;
        for name in &names {
            let steps = round_steps(&run.cc.ctx, std::slice::from_ref(name));
            let result = tokio::select! {
                r = run_steps(&mut run, steps, &mut timed) => r,
                () = &mut stop => return Ok(report),
            };
            if result.is_err() && failed.is_none() {
                failed = timed.steps.last().map(|s| s.step.clone());
            }
        }
        report.failed_rounds += u64::from(failed.is_some());
        let steps = std::mem::take(&mut timed.steps);
        sink.send(EventKind::Round {
            round: report.rounds,
            chaincodes: names,
            elapsed: start.elapsed(),
            steps,
            failed,
        });
        let wait = vec![step!(WAIT_STEP => wait_step)];
        tokio::select! {
            r = run_steps(&mut run, wait, sink) => r?,
            () = &mut stop => return Ok(report),
        }
    }
}

/// Each step's time, on the way to the reporter.
struct Timed<'a> {
    sink: &'a mut dyn Sink,
    steps: Vec<StepTime>,
}

impl Sink for Timed<'_> {
    fn emit(&mut self, event: Event) {
        if let (
            Some(step),
            EventKind::StepDone { elapsed, .. } | EventKind::StepFailed { elapsed, .. },
        ) = (&event.step, &event.kind)
        {
            self.steps.push(StepTime {
                step: step.clone(),
                elapsed: *elapsed,
            });
        }
        self.sink.emit(event);
    }
}

/// The `chaincodes` step: the chaincodes to watch, as fabdev.yaml gives
/// them.
async fn chaincodes_step(run: &mut WatchRun, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.cc.ctx;
    let mut selected = Vec::new();
    if run.request.names.is_empty() {
        selected = select(ctx, &Selection::default())?;
    }
    for name in &run.request.names {
        let sel = Selection {
            name: Some(name.clone()),
            ..Selection::default()
        };
        selected.extend(select(ctx, &sel)?);
    }
    let detail = selected
        .iter()
        .map(|c| format!("{} ({}, {})", c.name, c.lang, c.path.display()))
        .collect::<Vec<_>>()
        .join("; ");
    run.cc.deployments.no_vendor = run.request.no_vendor;
    run.specs = selected.into_iter().map(|c| (c.name.clone(), c)).collect();
    Ok(Some(detail))
}

/// The `watch folders` step: each chaincode's folder read once, its
/// `.fabdevignore` with it.
async fn folders_step(run: &mut WatchRun, sink: &mut dyn Sink) -> StepResult {
    let mut files = 0;
    for cc in run.specs.values() {
        let rules = Rules::load(&cc.path)?;
        let last = snapshot(&cc.path, &rules)?;
        files += last.len();
        sink.send(EventKind::Watching {
            chaincode: cc.name.clone(),
            path: cc.path.display().to_string(),
            files: last.len(),
        });
        let folder = Folder {
            path: cc.path.clone(),
            rules,
            last,
        };
        run.folders.insert(cc.name.clone(), folder);
    }
    Ok(Some(format!(
        "{} folder{}, {files} files; polled every {} ms",
        run.folders.len(),
        if run.folders.len() == 1 { "" } else { "s" },
        POLL.as_millis()
    )))
}

/// The `wait for changes` step: the folders polled until a burst of
/// changes has settled; then which chaincodes changed, and how.
async fn wait_step(run: &mut WatchRun, sink: &mut dyn Sink) -> StepResult {
    let mut debounce = Debounce::new(QUIET, LONGEST);
    // Per chaincode, each changed file as it first changed, in path order.
    let mut seen: BTreeMap<String, BTreeMap<PathBuf, String>> = BTreeMap::new();
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let now = Instant::now();
        for (name, folder) in &mut run.folders {
            // A changed .fabdevignore changes what is watched.
            let rules = Rules::load(&folder.path)?;
            let snap = snapshot(&folder.path, &rules)?;
            let changed = changes(&folder.last, &snap);
            if !changed.is_empty() {
                debounce.changed(now);
                let files = seen.entry(name.clone()).or_default();
                for c in &changed {
                    files.entry(c.path.clone()).or_insert_with(|| c.to_string());
                }
                folder.rules = rules;
                folder.last = snap;
            }
        }
        if debounce.due(now) {
            break;
        }
    }
    let mut detail = Vec::new();
    for (name, files) in seen {
        let files: Vec<String> = files.into_values().collect();
        detail.push(format!("{name}: {}", summary(&files)));
        sink.send(EventKind::Changed {
            chaincode: name.clone(),
            files,
        });
        run.changed.push(name);
    }
    Ok(Some(detail.join("; ")))
}

/// Up to 3 changed files, then how many more.
fn summary(files: &[String]) -> String {
    let mut s = files.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if files.len() > 3 {
        s.push_str(&format!(" and {} more", files.len() - 3));
    }
    s
}

/// The `logs X` step: the first lines of the chaincode's newest container
/// on each peer whose daemon can be read (through its pod, or its socket
/// for a network run as processes).
async fn logs_step(run: &mut WatchRun, name: &str, sink: &mut dyn Sink) -> StepResult {
    let ctx = &run.cc.ctx;
    let most = run.request.log_lines;
    if run.local_daemons.is_empty() && !ctx.has_cluster() {
        return Ok(Some("no peer's Docker daemon can be read here".to_string()));
    }
    let mut shown = 0;
    let peers: Vec<_> = ctx.topo.peers().cloned().collect();
    for peer in peers {
        let label = format!("dind of {}", peer.name);
        let dind = match run.local_daemons.get(&peer.name) {
            Some(socket) => Dind::local(socket, &label),
            None if run.local_daemons.is_empty() => {
                let client = run.cc.conn.client(&run.cc.ctx).await?;
                Dind::new(&client, &run.cc.ctx.ws.name, &peer.pod_name(), &label)
            }
            None => continue,
        };
        let dind_error = |action: String| {
            let peer = peer.name.clone();
            move |source| FlowError::Dind {
                action,
                peer,
                source: Box::new(source),
            }
        };
        let containers = dind.containers().await.map_err(dind_error(
            "list the containers of the Docker daemon".into(),
        ))?;
        let prefixes = chaincode_prefixes(&run.cc.ctx, name);
        let Some(container) = pick(&containers, &peer.name, &prefixes) else {
            continue;
        };
        let mut bytes = Vec::new();
        dind.logs(&container.name, false, None, &mut |c: &[u8]| {
            bytes.extend_from_slice(c)
        })
        .await
        .map_err(dind_error(format!("read the logs of {}", container.name)))?;
        let mut split = LineSplitter::default();
        let mut lines = split.push(&bytes);
        lines.extend(split.finish());
        sink.send(EventKind::ChaincodeContainer {
            peer: peer.name.clone(),
            container: container.name.clone(),
            state: container.state.clone(),
        });
        for line in lines.into_iter().take(most) {
            shown += 1;
            sink.send(EventKind::ChaincodeLog {
                peer: peer.name.clone(),
                line: String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string(),
            });
        }
    }
    Ok(Some(format!("{shown} lines")))
}
