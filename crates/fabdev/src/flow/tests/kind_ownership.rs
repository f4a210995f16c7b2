//! A kind cluster of the workspace's name that this workspace did not
//! create is neither reused by `up` nor deleted by `down` (issue 19,
//! finding 4). The matching UID and a real second workspace are
//! `tests/real_kind.rs`'s.

use std::sync::{Arc, Mutex};

use super::*;
use crate::flow::ownership;

/// kind as a fake that records every command: `version` and `get
/// clusters` (a cluster named fabdev exists) answer, anything else fails.
#[derive(Debug, Clone, Default)]
struct Recording(Arc<Mutex<Vec<Vec<String>>>>);

impl Recording {
    fn commands(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|a| a.join(" ")).collect()
    }
}

impl Runner for Recording {
    /// Records the command, then answers as [`super::KIND_OK`] does.
    async fn run(&self, cmd: &CommandSpec) -> std::io::Result<Output> {
        self.0.lock().unwrap().push(super::args_of(cmd));
        super::KIND_OK.run(cmd).await
    }
}

#[test]
fn down_leaves_a_kind_cluster_this_workspace_did_not_create() {
    let dir = workspace();
    let kind = Recording::default();
    let opts = options(dir.path()).with_runner(kind.clone());
    let mut events: Vec<Event> = Vec::new();
    let err = rt()
        .block_on(down(&opts, false, false, &mut events))
        .unwrap_err();
    assert_eq!(failed_step(&events), "kind cluster fabdev");
    assert!(
        matches!(&err, FlowError::NotOurCluster { name, why } if name == "fabdev" && why.contains("did not create it")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("kind cluster fabdev is not this workspace's"),
        "{err}"
    );
    let hint = err.hint().unwrap_or_default();
    assert!(
        hint.contains("fabdev up --adopt-cluster")
            && hint.contains("kind delete cluster --name fabdev"),
        "{hint}"
    );
    assert!(err.is_bad_input());
    let commands = kind.commands();
    assert!(
        commands.iter().all(|c| !c.starts_with("delete")),
        "down must not delete it: {commands:?}"
    );
}

#[test]
fn up_does_not_take_on_a_kind_cluster_this_workspace_did_not_create() {
    let dir = workspace();
    let kind = Recording::default();
    let opts = options(dir.path()).with_runner(kind.clone());
    let ctx = Context::load(&opts).unwrap();
    let driver = cluster::kind::Kind::new("kind", kind.clone());
    let mut conn = Connections::new(None);
    let err = rt()
        .block_on(ownership::require_ours(&driver, &ctx, &mut conn, false))
        .unwrap_err();
    assert!(
        matches!(&err, FlowError::NotOurCluster { why, .. } if why.contains("did not create it")),
        "{err:?}"
    );
    // Nothing was asked of the cluster or of kind: no kubeconfig exported.
    assert!(kind.commands().is_empty(), "{:?}", kind.commands());
    assert!(!ctx.kubeconfig().exists());
    assert!(!conn.has_client());
}

#[test]
fn a_recorded_identity_is_read_back_trimmed_and_forgotten() {
    let dir = workspace();
    let opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    assert_eq!(ownership::recorded(&ctx).unwrap(), None);
    state_file(dir.path(), CLUSTER_ID_FILE, "3f1c-uid\n");
    assert_eq!(
        ownership::recorded(&ctx).unwrap().as_deref(),
        Some("3f1c-uid")
    );
    ownership::forget(&ctx).unwrap();
    assert_eq!(ownership::recorded(&ctx).unwrap(), None);
}
