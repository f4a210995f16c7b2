//! What a flow's typed events say, for assertions on a run.

use std::collections::BTreeMap;

use fabdev::events::{ClusterState, Event, EventKind};

/// What a run's typed events say.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The steps done, in order.
    pub done: Vec<String>,
    /// What each step done said it did (its detail), when it said so.
    pub details: BTreeMap<String, String>,
    /// The failed steps' errors.
    pub failed: BTreeMap<String, String>,
    /// The cluster's name and state (the last `cluster` event).
    pub cluster: Option<(String, ClusterState)>,
    /// The images copied into the kind nodes and those present.
    pub node_images: Option<(Vec<String>, Vec<String>)>,
    /// Each DinD target's images: (copied, present).
    pub dind: BTreeMap<String, (Vec<String>, Vec<String>)>,
    /// Every target's images, the kind nodes' and the DinD daemons':
    /// (copied, present).
    pub images: BTreeMap<String, (Vec<String>, Vec<String>)>,
    /// The applied objects and those changed.
    pub applied: Option<(usize, usize)>,
    /// The Ready pods.
    pub pods_ready: Option<usize>,
}

impl Outcome {
    /// The cluster's state alone.
    pub fn cluster_state(&self) -> Option<ClusterState> {
        self.cluster.as_ref().map(|(_, state)| *state)
    }

    /// Whether `step` was done.
    pub fn is_done(&self, step: &str) -> bool {
        self.done.iter().any(|d| d == step)
    }

    /// What `step` said it did ("" when it said nothing or did not run).
    pub fn detail(&self, step: &str) -> &str {
        self.details.get(step).map_or("", String::as_str)
    }
}

/// Reads a run's events.
pub fn outcome(events: &[Event]) -> Outcome {
    let mut o = Outcome::default();
    for e in events {
        let step = e.step.clone().unwrap_or_default();
        if let EventKind::Images {
            target,
            copied,
            present,
        } = &e.kind
        {
            o.images
                .insert(target.clone(), (copied.clone(), present.clone()));
        }
        match &e.kind {
            EventKind::StepDone { detail, .. } => {
                if let Some(d) = detail {
                    o.details.insert(step.clone(), d.clone());
                }
                o.done.push(step);
            }
            EventKind::StepFailed { error, .. } => {
                o.failed.insert(step, error.clone());
            }
            EventKind::Cluster { name, state, .. } => o.cluster = Some((name.clone(), *state)),
            EventKind::Images {
                target,
                copied,
                present,
            } if target == "kind nodes" => {
                o.node_images = Some((copied.clone(), present.clone()));
            }
            EventKind::Images {
                target,
                copied,
                present,
            } if step.contains("DinD") => {
                o.dind
                    .insert(target.clone(), (copied.clone(), present.clone()));
            }
            EventKind::Applied {
                objects, changed, ..
            } => o.applied = Some((objects.len(), changed.len())),
            EventKind::PodsReady { pods, .. } => o.pods_ready = Some(*pods),
            _ => {}
        }
    }
    o
}

/// What `status` says after a good `up`: the cluster of `provider`
/// (`kind`, `existing`) exists, with `nodes` nodes, every pod Ready.
pub fn assert_all_ready(status: &fabdev::flow::Status, provider: &str, nodes: usize) {
    assert_eq!(status.provider, provider, "{status:?}");
    assert!(status.cluster_exists, "{status:?}");
    assert_eq!(status.nodes.len(), nodes, "{status:?}");
    assert!(
        status.nodes.iter().all(|n| n.pod_ready == Some(true)),
        "{status:?}"
    );
}

/// `up` with `opts`, which must fail at `step` and nowhere else (on the
/// tests' API server no kubelet runs a pod's exec or port-forward, so the
/// DinD step is where `up` stops): what its events say.
pub async fn up_stopping_at<R>(opts: &fabdev::flow::Options<R>, step: &str) -> Outcome
where
    R: cluster::kind::Runner + Clone,
{
    let mut events: Vec<Event> = Vec::new();
    let result = fabdev::flow::up(opts, &mut events).await;
    let o = outcome(&events);
    let err = match result {
        Ok(_) => panic!("up did not stop at {step}:\n{o:#?}"),
        Err(e) => e,
    };
    let why = crate::dockerd::chain(&err);
    eprintln!("up stopped at {step} as expected: {why}");
    assert_eq!(o.failed.keys().collect::<Vec<_>>(), [step], "{why}\n{o:#?}");
    o
}

/// `status` after an `up` whose pods are Ready with no Fabric behind them:
/// the cluster exists, with `nodes` nodes, each pod Ready, and no node's
/// channels can be read (each says why). The status and its events.
pub async fn status_without_fabric<R>(
    opts: &fabdev::flow::Options<R>,
    nodes: usize,
) -> (fabdev::flow::Status, Vec<Event>)
where
    R: cluster::kind::Runner + Clone,
{
    let mut events: Vec<Event> = Vec::new();
    let st = fabdev::flow::status(opts, &mut events)
        .await
        .unwrap_or_else(|e| panic!("status: {}", crate::dockerd::chain(&e)));
    assert!(st.cluster_exists, "{st:?}");
    assert_eq!(st.nodes.len(), nodes, "{st:?}");
    assert!(st.nodes.iter().all(|n| n.pod_ready == Some(true)), "{st:?}");
    assert!(st.nodes.iter().all(|n| n.channels.is_err()), "{st:?}");
    (st, events)
}
