//! `fabdev down`: remove the cluster (or only the namespace) and the
//! runtime state; keep the crypto unless purged.
//!
//! Steps: `workspace`, then `kind cluster <name>` ([`delete_cluster`]) or,
//! keeping the cluster (always on an existing cluster), `namespace <name>`
//! ([`delete_namespace`]), then `runtime state` ([`remove_runtime_state`]).

use cluster::k8s;
use cluster::kind::{ProcessRunner, Runner};
use serde::Serialize;

use super::connections::{Connections, fabdevs_namespace};
use super::context::{CREATING_MARKER, kind_driver, remove_path};
use super::ownership;
use super::steps::{Step, StepResult, run_flow, step};
use super::{Context, FlowError, Options, Target};
use crate::events::{ClusterState, EventKind, Sink};
use cluster::provider::NodeProvider;

/// What `down` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    pub cluster_deleted: bool,
    pub namespace_deleted: bool,
    pub crypto_deleted: bool,
}

/// The state the steps of `down` share.
#[derive(Debug)]
pub struct DownRun<R: Runner = ProcessRunner> {
    pub ctx: Context,
    opts: Options<R>,
    conn: Connections,
    keep_cluster: bool,
    purge: bool,
    pub report: DownReport,
}

/// The steps of `down` after `workspace`. An existing cluster is always
/// kept: only fabdev's namespace goes.
pub fn steps<R: Runner + Clone>(ctx: &Context, keep_cluster: bool) -> Vec<Step<DownRun<R>>> {
    let name = &ctx.ws.name;
    let keep_cluster = keep_cluster || ctx.target != Target::Kind;
    vec![
        if keep_cluster {
            step!(format!("namespace {name}") => delete_namespace)
        } else {
            step!(format!("kind cluster {name}") => delete_cluster)
        },
        step!("runtime state" => remove_runtime_state),
    ]
}

/// Remove the cluster (or only the namespace with `keep_cluster`) and the
/// runtime state; keep the crypto unless `purge`.
pub async fn down<R: Runner + Clone>(
    opts: &Options<R>,
    keep_cluster: bool,
    purge: bool,
    sink: &mut dyn Sink,
) -> Result<DownReport, FlowError> {
    let steps = |ctx: &Context| steps(ctx, keep_cluster);
    let run = run_flow(opts, sink, steps, |ctx| DownRun {
        keep_cluster: keep_cluster || ctx.target != Target::Kind,
        ctx,
        opts: opts.clone(),
        conn: Connections::new(None),
        purge,
        report: DownReport::default(),
    })
    .await?;
    Ok(run.report)
}

fn gone(deleted: bool) -> Option<String> {
    Some(if deleted { "deleted" } else { "not there" }.to_string())
}

/// The workspace's namespace, waiting until it is gone: on kind when
/// fabdev's kubeconfig says where it is; on an existing cluster only when
/// it is this workspace's (see `fabdevs_namespace`), never someone else's
/// namespace of the same name. The delete names the UID that was checked.
pub async fn delete_namespace<R: Runner>(run: &mut DownRun<R>, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    if !ctx.has_cluster() {
        return Ok(gone(false));
    }
    let client = run.conn.client(ctx).await?;
    let name = &ctx.ws.name;
    let uid = match ctx.target {
        Target::Existing(_) => {
            fabdevs_namespace(
                &client,
                ctx,
                run.opts.cluster.adopt_namespace,
                "fabdev down leaves it alone",
            )
            .await?
        }
        Target::Kind => k8s::namespace_meta(&client, name).await?.map(|m| m.uid),
    };
    let Some(uid) = uid else {
        return Ok(gone(false));
    };
    let deleted = k8s::delete_namespace(&client, name, &uid, run.opts.wait_timeout).await?;
    run.report.namespace_deleted = deleted;
    Ok(gone(deleted))
}

/// The kind cluster, when there is one.
pub async fn delete_cluster<R: Runner + Clone>(
    run: &mut DownRun<R>,
    sink: &mut dyn Sink,
) -> StepResult {
    let kind = kind_driver(&run.opts, &run.ctx)?;
    let name = &run.ctx.ws.name;
    let deleted = kind.exists(name).await?;
    if deleted {
        // Only the cluster this workspace created (or was creating: the
        // marker), or one the user adopts, is deleted; see `ownership`.
        if !run.ctx.state_dir.join(CREATING_MARKER).exists() {
            let adopt = run.opts.cluster.adopt_cluster;
            ownership::require_ours(&kind, &run.ctx, &mut run.conn, adopt).await?;
        }
        kind.delete(name, &run.ctx.kubeconfig()).await?;
        ownership::forget(&run.ctx)?;
    }
    run.report.cluster_deleted = deleted;
    // On podman, the last cluster's network and the chains podman's CNI
    // plugins leave in the host's iptables go too (kind and podman keep
    // them; on Docker, kind's network stays, as kind leaves it).
    let mut leftovers = None;
    let mut cleared = Vec::new();
    if kind.provider() == Some(NodeProvider::Podman) {
        // A `kind create` of this cluster killed earlier can leave node
        // containers in podman's storage only (kind does not see them).
        cleared = cluster::provider::remove_storage_only_nodes(name).await?;
        if kind.clusters().await?.is_empty() {
            let api = cluster::provider::api(NodeProvider::Podman)?;
            leftovers = Some(cluster::provider::remove_podman_leftovers(&api).await?);
        }
    }
    sink.send(EventKind::Cluster {
        name: name.clone(),
        state: if deleted {
            ClusterState::Deleted
        } else {
            ClusterState::Absent
        },
    });
    let mut detail = gone(deleted).unwrap_or_default();
    if !cleared.is_empty() {
        detail.push_str(&format!(
            "; podman's storage-only containers of a killed create removed ({})",
            cleared.join(", ")
        ));
    }
    if let Some(l) = leftovers {
        detail.push_str(&format!("; {l}"));
    }
    Ok(Some(detail))
}

/// Connection profiles and the record of what `up` applied, and without
/// the cluster its kubeconfig and marker;
/// with `purge` the crypto material too.
pub async fn remove_runtime_state<R: Runner>(run: &mut DownRun<R>, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    // The network is gone either way (the cluster or the namespace), so
    // the next `up` plans a new one.
    let mut remove = vec![
        ctx.profiles_dir(),
        ctx.state_dir.join(network::reconcile::APPLIED_FILE),
    ];
    if !run.keep_cluster {
        remove.push(ctx.kubeconfig());
        remove.push(ctx.state_dir.join(CREATING_MARKER));
    }
    if run.purge {
        remove.push(ctx.crypto.root().to_path_buf());
        run.report.crypto_deleted = ctx.crypto.root().exists();
    }
    for p in &remove {
        remove_path(p)?;
    }
    Ok(None)
}
