//! `fabdev chaincode logs NAME [--peer P] [-f]`: what a chaincode's
//! container printed, read from the peer's own DinD daemon by `docker logs`
//! run in the pod's `dind` container through the API server (the daemon
//! listens on a socket inside the pod only).
//!
//! | steps after `workspace` |
//! |---|
//! | `peers`, `kubernetes client`, `chaincode containers`, `logs` |
//!
//! A peer runs one container per package it was asked to run (an upgrade
//! leaves the old one stopped beside the new): the logs are those of the
//! newest running one, else of the newest stopped one (a chaincode that
//! crashed, or panicked in `Init`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use cluster::dind::{Dind, DindContainer};
use cluster::kind::Runner;

use super::connections::Connections;
use super::steps::{Step, StepResult, run_flow, step};
use super::{Context, FlowError, Options, Target};
use crate::events::{EventKind, Sink};

const LOGS_STEP: &str = "logs";

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsRequest {
    /// The chaincode's name.
    pub name: String,
    /// One peer (node name, e.g. `peer0-org1`); default every peer.
    pub peer: Option<String>,
    /// Keep reading until the container stops (one peer only).
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
}

/// The state of the `logs` steps.
pub struct LogsRun {
    pub ctx: Context,
    request: LogsRequest,
    /// `Options::local_daemons`: peer → its DinD daemon's socket on this
    /// machine; empty: each daemon through its pod.
    local_daemons: BTreeMap<String, PathBuf>,
    conn: Connections,
    /// The peers to read (node names).
    peers: Vec<String>,
    /// Per peer: its daemon and the chosen container.
    found: Vec<(String, Dind, DindContainer)>,
}

impl std::fmt::Debug for LogsRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsRun")
            .field("request", &self.request)
            .field("found", &self.found)
            .finish_non_exhaustive()
    }
}

/// The steps of `chaincode logs` after `workspace`.
pub fn steps(_: &Context) -> Vec<Step<LogsRun>> {
    vec![
        step!("peers" => peers_step),
        step!("kubernetes client" => client_step),
        step!("chaincode containers" => containers_step),
        step!(LOGS_STEP => logs_step),
    ]
}

/// Run `chaincode logs`.
pub async fn logs(
    opts: &Options<impl Runner>,
    request: LogsRequest,
    sink: &mut dyn Sink,
) -> Result<(), FlowError> {
    run_flow(opts, sink, steps, |ctx| LogsRun {
        ctx,
        request,
        local_daemons: opts.local_daemons.clone(),
        conn: Connections::new(None),
        peers: Vec::new(),
        found: Vec::new(),
    })
    .await?;
    Ok(())
}

async fn client_step(run: &mut LogsRun, _: &mut dyn Sink) -> StepResult {
    if !run.local_daemons.is_empty() {
        return Ok(Some(
            "none: the daemons' sockets are on this machine".to_string(),
        ));
    }
    if !run.ctx.has_cluster() {
        return Err(FlowError::NoCluster {
            name: run.ctx.ws.name.clone(),
        });
    }
    run.conn.client(&run.ctx).await?;
    Ok(Some(match &run.ctx.target {
        Target::Kind => run.ctx.kubeconfig().display().to_string(),
        Target::Existing(access) => access.source(),
    }))
}

/// The peers asked for (checked before anything is contacted).
async fn peers_step(run: &mut LogsRun, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    let req = &run.request;
    let all: Vec<String> = ctx.topo.peers().map(|n| n.name.clone()).collect();
    let peers = match &req.peer {
        Some(p) if !all.contains(p) => {
            return Err(FlowError::Input {
                message: format!("the workspace has no peer {p}"),
                hint: format!("use one of: {}", all.join(", ")),
            });
        }
        Some(p) => vec![p.clone()],
        None => all,
    };
    if req.follow && peers.len() > 1 {
        return Err(FlowError::Input {
            message: "--follow reads one peer's container".to_string(),
            hint: format!("add --peer with one of: {}", peers.join(", ")),
        });
    }
    let detail = peers.join(", ");
    run.peers = peers;
    Ok(Some(detail))
}

/// Each peer's chaincode container.
async fn containers_step(run: &mut LogsRun, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    let req = &run.request;
    let peers: Vec<_> = ctx
        .topo
        .peers()
        .filter(|n| run.peers.contains(&n.name))
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for peer in peers {
        let label = format!("dind of {}", peer.name);
        let dind = match run.local_daemons.get(&peer.name) {
            Some(socket) => Dind::local(socket, &label),
            None => {
                let client = run.conn.client(ctx).await?;
                Dind::new(&client, &ctx.ws.name, &peer.pod_name(), &label)
            }
        };
        let containers = dind.containers().await.map_err(|source| FlowError::Dind {
            action: "list the containers of the Docker daemon".to_string(),
            peer: peer.name.clone(),
            source: Box::new(source),
        })?;
        match pick(&containers, &peer.name, &chaincode_prefixes(ctx, &req.name)) {
            Some(c) => found.push((peer.name.clone(), dind, c.clone())),
            None => missing.push(peer.name.clone()),
        }
    }
    if found.is_empty() {
        return Err(FlowError::Input {
            message: format!(
                "no container of chaincode {} on {}",
                req.name,
                missing.join(", ")
            ),
            hint: format!(
                "a peer starts it on the first call after a deploy: `fabdev chaincode deploy {0}`, then `fabdev chaincode query {0} …`",
                req.name
            ),
        });
    }
    let detail = found
        .iter()
        .map(|(p, _, c)| format!("{p}: {} ({})", c.name, c.state))
        .chain(missing.iter().map(|p| format!("{p}: none")))
        .collect::<Vec<_>>()
        .join("; ");
    run.found = found;
    Ok(Some(detail))
}

/// The name prefixes of the chaincode's containers: packages labelled
/// `NAME_…` (fabdev's default label), or fabdev.yaml's own label.
pub(crate) fn chaincode_prefixes(ctx: &Context, name: &str) -> Vec<String> {
    let mut labels = vec![format!("{name}_")];
    if let Some(cc) = ctx.ws.chaincodes.iter().find(|c| c.name == name) {
        labels.push(format!("{}:", cc.label()));
    }
    labels
}

/// The newest running container of the chaincode on `peer`, else the
/// newest stopped one (`docker ps -a` lists the newest first).
pub(crate) fn pick<'a>(
    containers: &'a [DindContainer],
    peer: &str,
    labels: &[String],
) -> Option<&'a DindContainer> {
    use chaincode::lifecycle::{NETWORK_ID, chaincode_container_name};
    let prefixes: Vec<String> = labels
        .iter()
        .map(|l| chaincode_container_name(NETWORK_ID, peer, l))
        .collect();
    let mine: Vec<&DindContainer> = containers
        .iter()
        .filter(|c| prefixes.iter().any(|p| c.name.starts_with(p.as_str())))
        .collect();
    mine.iter()
        .find(|c| c.state == "running")
        .or_else(|| mine.first())
        .copied()
}

async fn logs_step(run: &mut LogsRun, sink: &mut dyn Sink) -> StepResult {
    let mut lines = 0usize;
    for (peer, dind, container) in &run.found {
        sink.send(EventKind::ChaincodeContainer {
            peer: peer.clone(),
            container: container.name.clone(),
            state: container.state.clone(),
        });
        let mut split = LineSplitter::default();
        let mut emit = |sink: &mut dyn Sink, line: Vec<u8>| {
            lines += 1;
            sink.send(EventKind::ChaincodeLog {
                peer: peer.clone(),
                line: String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string(),
            });
        };
        // Whole lines only, so that a character split between two reads
        // stays whole.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let mut on_chunk = |chunk: &[u8]| {
            let _ = tx.send(chunk.to_vec());
        };
        let read = dind.logs(
            &container.name,
            run.request.follow,
            run.request.tail,
            &mut on_chunk,
        );
        let mut read = std::pin::pin!(read);
        let result = loop {
            tokio::select! {
                r = &mut read => break r,
                Some(chunk) = rx.recv() => {
                    for line in split.push(&chunk) {
                        emit(sink, line);
                    }
                }
            }
        };
        while let Ok(chunk) = rx.try_recv() {
            for line in split.push(&chunk) {
                emit(sink, line);
            }
        }
        if let Some(line) = split.finish() {
            emit(sink, line);
        }
        result.map_err(|source| FlowError::Dind {
            action: format!("read the logs of {}", container.name),
            peer: peer.clone(),
            source: Box::new(source),
        })?;
    }
    Ok(Some(format!(
        "{lines} lines from {} peer{}",
        run.found.len(),
        if run.found.len() == 1 { "" } else { "s" }
    )))
}

/// The longest log line handed on; the rest of a longer line is dropped
/// (a chaincode that writes without a newline is not buffered without end).
pub const MAX_LOG_LINE: usize = 64 * 1024;

/// What a cut line ends with.
const CUT: &[u8] = b" [line cut at 64 KiB]";

/// Bytes into lines (without their `\n`), each at most [`MAX_LOG_LINE`].
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// The current line was cut: drop its bytes up to the next newline.
    skipping: bool,
}

impl LineSplitter {
    /// The lines `chunk` completes.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (head, tail, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            rest = tail;
            if !self.skipping {
                let room = MAX_LOG_LINE - self.pending.len();
                if head.len() > room {
                    self.pending.extend_from_slice(&head[..room]);
                    let mut line = std::mem::take(&mut self.pending);
                    line.extend_from_slice(CUT);
                    out.push(line);
                    self.skipping = true;
                } else {
                    self.pending.extend_from_slice(head);
                }
            }
            if newline {
                if !self.skipping {
                    out.push(std::mem::take(&mut self.pending));
                }
                self.skipping = false;
            }
        }
        out
    }

    /// The last line, if it did not end with a newline.
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        Some(std::mem::take(&mut self.pending)).filter(|l| !l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_cut_at_64_kib() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\nb"), vec![b"a".to_vec()]);
        assert_eq!(s.push(b"c\n\n"), vec![b"bc".to_vec(), Vec::new()]);
        // 200 KiB without a newline, in pieces: one line of 64 KiB, marked.
        let mut got = Vec::new();
        for _ in 0..200 {
            got.extend(s.push(&[b'x'; 1024]));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), MAX_LOG_LINE + CUT.len());
        assert!(got[0].ends_with(CUT));
        assert!(s.pending.is_empty());
        // The rest of the long line is dropped; the next line is whole.
        assert_eq!(s.push(b"yyy\nnext"), Vec::<Vec<u8>>::new());
        assert_eq!(s.finish(), Some(b"next".to_vec()));
        assert_eq!(s.finish(), None);
    }

    fn c(name: &str, state: &str) -> DindContainer {
        DindContainer {
            name: name.into(),
            image: String::new(),
            state: state.into(),
        }
    }

    #[test]
    fn the_newest_running_container_of_the_chaincode_on_that_peer() {
        let all = [
            c("dev-peer0-org1-basic_2b-ffff", "exited"),
            c("dev-peer0-org1-other_1-aaaa", "running"),
            c("dev-peer0-org1-basic_1a-eeee", "running"),
            c("dev-peer0-org1-basic_19-dddd", "running"),
            c("dev-peer0-org11-basic_1a-eeee", "running"),
        ];
        let labels = ["basic_".to_string()];
        assert_eq!(
            pick(&all, "peer0-org1", &labels).map(|c| c.name.as_str()),
            Some("dev-peer0-org1-basic_1a-eeee")
        );
        // None running: the newest stopped one (a crash's output).
        let stopped = [
            c("dev-peer0-org1-basic_2b-ffff", "exited"),
            c("dev-peer0-org1-basic_1a-eeee", "exited"),
        ];
        assert_eq!(
            pick(&stopped, "peer0-org1", &labels).map(|c| c.name.as_str()),
            Some("dev-peer0-org1-basic_2b-ffff")
        );
        assert!(pick(&all, "peer1-org1", &labels).is_none());
        // A label of fabdev.yaml's own (`label: mycc`).
        let own = [c("dev-peer0-org1-mycc-abcd", "running")];
        assert!(pick(&own, "peer0-org1", &labels).is_none());
        assert!(pick(&own, "peer0-org1", &["mycc:".to_string()]).is_some());
    }
}
