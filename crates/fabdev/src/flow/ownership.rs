//! Whose kind cluster it is. kind names clusters only by name, so a
//! cluster of the workspace's name may be someone else's (another
//! workspace's, or made by hand). `up` records the identity of the cluster
//! it creates, its kube-system namespace's UID, in
//! `.fabdev/kind-cluster-id`; `up` reuses and `down` deletes a cluster only
//! when its UID matches, or when it is the one this workspace was creating
//! (the creating marker). Another cluster is refused, saying what to do:
//! `up --adopt-cluster` makes it this workspace's, or delete it with kind.

use std::path::PathBuf;

use cluster::k8s;
use cluster::kind::{Kind, Runner};

use super::connections::Connections;
use super::context::remove_path;
use super::{Context, FlowError};

/// The file under `.fabdev/` holding the UID of the cluster's kube-system
/// namespace, written when `up` creates (or adopts) the cluster.
pub const CLUSTER_ID_FILE: &str = "kind-cluster-id";

/// The namespace whose UID names a cluster: made once, with the cluster.
const IDENTITY_NAMESPACE: &str = "kube-system";

/// What the recorded identity says of a cluster of the workspace's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// The cluster this workspace created.
    Ours,
    /// Not known as ours, taken on because the user said so.
    Adopted,
    /// Someone else's, and why fabdev thinks so.
    NotOurs { why: String },
}

/// Judges a cluster from the recorded UID and the cluster's own (`None`:
/// not read, or no kube-system namespace).
pub fn judge(recorded: Option<&str>, actual: Option<&str>, adopt: bool) -> Ownership {
    match (recorded, actual) {
        (Some(r), Some(a)) if r == a => Ownership::Ours,
        _ if adopt => Ownership::Adopted,
        (None, _) => Ownership::NotOurs {
            why: format!("this workspace did not create it (.fabdev/{CLUSTER_ID_FILE} is missing)"),
        },
        (Some(r), Some(a)) => Ownership::NotOurs {
            why: format!(
                "it is not the cluster this workspace created (its {IDENTITY_NAMESPACE} namespace has UID {a}; .fabdev/{CLUSTER_ID_FILE} says {r})"
            ),
        },
        (Some(r), None) => Ownership::NotOurs {
            why: format!(
                "it has no {IDENTITY_NAMESPACE} namespace, so it is not the cluster this workspace created (.fabdev/{CLUSTER_ID_FILE} says {r})"
            ),
        },
    }
}

fn id_path(ctx: &Context) -> PathBuf {
    ctx.state_dir.join(CLUSTER_ID_FILE)
}

/// The recorded UID, `None` when none is.
pub fn recorded(ctx: &Context) -> Result<Option<String>, FlowError> {
    let path = id_path(ctx);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FlowError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Reads the cluster's UID through the workspace's kubeconfig and records
/// it: after `kind create`, and when the user adopts a cluster.
pub async fn record(ctx: &Context, conn: &mut Connections) -> Result<String, FlowError> {
    let client = conn.client(ctx).await?;
    let uid = k8s::namespace_uid(&client, IDENTITY_NAMESPACE)
        .await?
        .ok_or_else(|| FlowError::NoIdentity {
            name: ctx.ws.name.clone(),
        })?;
    let path = id_path(ctx);
    std::fs::write(&path, format!("{uid}\n")).map_err(|source| FlowError::Io {
        action: "write",
        path,
        source,
    })?;
    Ok(uid)
}

/// Removes the record (with the cluster, on `down`).
pub fn forget(ctx: &Context) -> Result<(), FlowError> {
    remove_path(&id_path(ctx))
}

/// Judges the existing kind cluster of the workspace's name, reading its
/// UID (through `.fabdev/kubeconfig`, exported from kind when missing) only
/// when there is a record to compare or the user adopts it. An adopted
/// cluster is recorded. A kubeconfig exported for a cluster that turns out
/// not to be ours is removed again.
pub async fn check<R: Runner>(
    kind: &Kind<R>,
    ctx: &Context,
    conn: &mut Connections,
    adopt: bool,
) -> Result<Ownership, FlowError> {
    let recorded = recorded(ctx)?;
    if recorded.is_none() && !adopt {
        return Ok(judge(None, None, false));
    }
    let kubeconfig = ctx.kubeconfig();
    let exported = !kubeconfig.is_file();
    if exported {
        // kind writes the kubeconfig on create only: ask for it again.
        kind.export_kubeconfig(&ctx.ws.name, &kubeconfig).await?;
    }
    let client = conn.client(ctx).await?;
    let actual = k8s::namespace_uid(&client, IDENTITY_NAMESPACE).await?;
    let verdict = judge(recorded.as_deref(), actual.as_deref(), adopt);
    match &verdict {
        Ownership::Adopted => {
            record(ctx, conn).await?;
        }
        Ownership::NotOurs { .. } if exported => remove_path(&kubeconfig)?,
        _ => {}
    }
    Ok(verdict)
}

/// [`check`], with a cluster that is not ours as the error.
pub async fn require_ours<R: Runner>(
    kind: &Kind<R>,
    ctx: &Context,
    conn: &mut Connections,
    adopt: bool,
) -> Result<Ownership, FlowError> {
    match check(kind, ctx, conn, adopt).await? {
        Ownership::NotOurs { why } => Err(FlowError::NotOurCluster {
            name: ctx.ws.name.clone(),
            why,
        }),
        verdict => Ok(verdict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_is_ours_only_with_the_recorded_uid() {
        assert_eq!(judge(Some("u1"), Some("u1"), false), Ownership::Ours);
        assert_eq!(judge(Some("u1"), Some("u1"), true), Ownership::Ours);
        let not_ours = |v: Ownership| match v {
            Ownership::NotOurs { why } => why,
            other => panic!("{other:?}"),
        };
        assert!(not_ours(judge(None, None, false)).contains("did not create it"));
        assert!(not_ours(judge(None, Some("u2"), false)).contains("did not create it"));
        let why = not_ours(judge(Some("u1"), Some("u2"), false));
        assert!(why.contains("UID u2") && why.contains("says u1"), "{why}");
        assert!(not_ours(judge(Some("u1"), None, false)).contains("no kube-system"));
        assert_eq!(judge(None, Some("u2"), true), Ownership::Adopted);
        assert_eq!(judge(Some("u1"), Some("u2"), true), Ownership::Adopted);
    }
}
