//! The engine's typed events: what the flows say, as data. How they look
//! is the reporters' business: `text` (`✓ step (1.2s)` lines, a spinner on a
//! terminal) and `json` (one object a line, for CI).
//!
//! Long work is a list of named steps (see `flow`). A step emits
//! [`EventKind`]s; the step runner (`flow::steps`) stamps each with the
//! step's name into an [`Event`], the envelope every [`Sink`] receives (as
//! nextest's `TestEvent { .., kind }`). So no step writes its own name into
//! what it reports. This layer knows no flow: the flows name its types.

mod json;
mod text;

use std::time::Duration;

use cluster::doctor::Check;
use serde::Serialize;

pub use json::JsonReporter;
pub use text::{TextReporter, Verbosity, escape_controls};

/// One event: what happened, and in which step (none for a note, a doctor
/// check or a status, which no step emits).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The step's name, stamped by the step runner.
    pub step: Option<String>,
    pub kind: EventKind,
}

impl Event {
    /// An event of no step.
    pub fn new(kind: EventKind) -> Event {
        Event { step: None, kind }
    }

    /// An event of step `step`.
    pub fn of(step: &str, kind: EventKind) -> Event {
        Event {
            step: Some(step.to_string()),
            kind,
        }
    }
}

impl From<EventKind> for Event {
    fn from(kind: EventKind) -> Event {
        Event::new(kind)
    }
}

/// What happened: the kind of an [`Event`]. Its JSON name is
/// [`EventKind::name`]; its fields follow the envelope's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventKind {
    /// A step began.
    StepStarted {},
    /// Something the running step is doing or waiting for.
    Progress { message: String },
    /// Bytes moved so far for one item of the running step (an image pull
    /// or copy); `total` 0 when unknown.
    Transfer { item: String, done: u64, total: u64 },
    /// A step finished.
    StepDone {
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A step failed; the run stops. `error` is the error and its causes
    /// (`errors::chain`), `hint` the fix when the error gives one.
    StepFailed {
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
        error: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    /// A note outside any step.
    Note { message: String },
    /// The kind cluster, as a step found or left it.
    Cluster { name: String, state: ClusterState },
    /// Images copied into a target (pulled into the host's Docker, loaded
    /// into the kind nodes, seeded into a peer's DinD), and those it had
    /// already.
    Images {
        target: String,
        copied: Vec<String>,
        present: Vec<String>,
    },
    /// Objects applied to the cluster (`Kind name`), and those the apply changed.
    Applied {
        objects: Vec<String>,
        changed: Vec<String>,
    },
    /// Pods that are Ready.
    PodsReady { pods: usize },
    /// A node and a channel: joining, joined, already a member, or failed.
    Channel {
        channel: String,
        node: String,
        state: JoinState,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A chaincode folder packaged (a vendored copy, for Go, when `vendored`).
    Packaged {
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
        peer: String,
        packages: Vec<InstalledPackage>,
    },
    /// The chaincode definitions committed on a channel.
    CommittedChaincodes {
        channel: String,
        chaincodes: Vec<CommittedChaincode>,
    },
    /// `chaincode logs`: whose output follows (a peer's chaincode container).
    ChaincodeContainer {
        peer: String,
        container: String,
        state: String,
    },
    /// `chaincode logs`: one line a chaincode container printed.
    ChaincodeLog { peer: String, line: String },
    /// `chaincode watch`: a chaincode folder watched, with its files.
    Watching {
        chaincode: String,
        path: String,
        files: usize,
    },
    /// `chaincode watch`: files of a chaincode that changed (`+` added,
    /// `~` changed, `-` removed); a round redeploys it.
    Changed {
        chaincode: String,
        files: Vec<String>,
    },
    /// `chaincode watch`: a round ended (the chaincodes it redeployed),
    /// with each step's time; `failed` names the step that failed.
    Round {
        round: u64,
        chaincodes: Vec<String>,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
        steps: Vec<StepTime>,
        #[serde(skip_serializing_if = "Option::is_none")]
        failed: Option<String>,
    },
    /// What `up` is about to do to a running network (`first_up` for a new
    /// one): actions added, changed and removed, and what it refuses.
    Plan(network::reconcile::Plan),
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

/// How long a step of a `chaincode watch` round took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepTime {
    pub step: String,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
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

impl EventKind {
    /// The event's name, the `event` field of its JSON line.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::StepStarted {} => "step_started",
            EventKind::Progress { .. } => "progress",
            EventKind::Transfer { .. } => "transfer",
            EventKind::StepDone { .. } => "step_done",
            EventKind::StepFailed { .. } => "step_failed",
            EventKind::Note { .. } => "note",
            EventKind::Cluster { .. } => "cluster",
            EventKind::Images { .. } => "images",
            EventKind::Applied { .. } => "applied",
            EventKind::PodsReady { .. } => "pods_ready",
            EventKind::Channel { .. } => "channel",
            EventKind::Packaged { .. } => "packaged",
            EventKind::Chaincode { .. } => "chaincode",
            EventKind::Deployed { .. } => "deployed",
            EventKind::TxResult { .. } => "tx_result",
            EventKind::InstalledPackages { .. } => "installed_packages",
            EventKind::CommittedChaincodes { .. } => "committed_chaincodes",
            EventKind::ChaincodeContainer { .. } => "chaincode_container",
            EventKind::ChaincodeLog { .. } => "chaincode_log",
            EventKind::Watching { .. } => "watching",
            EventKind::Changed { .. } => "changed",
            EventKind::Round { .. } => "round",
            EventKind::Plan(_) => "plan",
            EventKind::Check(_) => "check",
            EventKind::Status(_) => "status",
        }
    }
}

/// Where events go: a reporter, or a list in a test.
pub trait Sink: Send {
    fn emit(&mut self, event: Event);

    /// Emit `kind`: inside a step, the runner's sink stamps the step's name.
    fn send(&mut self, kind: EventKind) {
        self.emit(Event::new(kind));
    }
}

impl Sink for Vec<Event> {
    fn emit(&mut self, event: Event) {
        self.push(event);
    }
}

/// Turns a stream of byte counts into [`EventKind::Transfer`]s, at most one
/// per 5% of progress (and the last), so JSON output stays small.
#[derive(Debug, Default)]
pub struct Meter {
    last_pct: Option<u64>,
}

impl Meter {
    pub fn new() -> Meter {
        Meter::default()
    }

    pub fn update(&mut self, item: &str, done: u64, total: u64) -> Option<EventKind> {
        let pct = done.saturating_mul(100).checked_div(total).unwrap_or(0);
        let due = match self.last_pct {
            None => true,
            Some(last) => pct >= last + 5 || (done >= total && total > 0 && last < 100),
        };
        if !due {
            return None;
        }
        self.last_pct = Some(pct.min(100));
        Some(EventKind::Transfer {
            item: item.to_string(),
            done,
            total,
        })
    }
}

/// One node in `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: String,
    pub pod_ready: Option<bool>,
    /// Channels the node reports, or why they could not be read.
    pub channels: Result<Vec<String>, String>,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub workspace: String,
    /// `kind` or `existing`.
    pub provider: String,
    /// On kind: kind has the cluster; on an existing cluster: its API server answers.
    pub cluster_exists: bool,
    pub nodes: Vec<NodeStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_emits_at_most_every_five_percent_and_the_end() {
        let mut m = Meter::new();
        let emitted: Vec<u64> = (0..=100u64)
            .filter_map(|i| m.update("x", i, 100))
            .map(|e| match e {
                EventKind::Transfer { done, .. } => done,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(emitted, (0..=100).step_by(5).collect::<Vec<_>>());
    }
}
