//! `fabdev doctor`: whether this host (kind) or the existing cluster can run
//! the workspace's network. Its checks are its results: each goes to the
//! reporter as an [`EventKind::Check`], outside any step.

use cluster::doctor::{self, Check, DoctorInput, ExistingCluster, Verdict};
use cluster::kind::Runner;

use super::{Context, FlowError, Options, Target};
use crate::events::{EventKind, Sink};

/// Run every check of the workspace of `opts` (its kind binary is
/// `Options::kind`); each is reported as it comes, and all are returned.
pub async fn doctor(
    opts: &Options<impl Runner>,
    sink: &mut dyn Sink,
) -> Result<Vec<Check>, FlowError> {
    let ctx = Context::load(opts)?;
    let mut host_ports = Vec::new();
    for n in &ctx.topo.nodes {
        host_ports.push(n.host_ports.grpc);
        host_ports.extend(n.host_ports.admin);
        host_ports.push(n.host_ports.operations);
    }
    let input = DoctorInput {
        kind: opts.kind.clone(),
        kind_provider: ctx.ws.cluster.kind.provider,
        host_ports,
        dind_image: ctx.ws.images.dind.clone(),
        fabric_tag: ctx.ws.fabric.tag.clone(),
        // Until `up` exists there is no cluster of fabdev's to hold the ports.
        cluster_exists: false,
        existing: match &ctx.target {
            Target::Kind => None,
            Target::Existing(access) => Some(ExistingCluster {
                access: access.clone(),
                namespace: ctx.ws.name.clone(),
            }),
        },
    };
    // The cluster checks speak TLS to the API server (as the flows do).
    network::channel::install_crypto_provider();
    let mut checks = doctor::run(&input).await;
    // Which exact Fabric release the images run (see spec::FABRIC_RELEASES).
    checks.insert(1, fabric_check(&ctx.ws));
    for c in &checks {
        sink.send(EventKind::Check(c.clone()));
    }
    Ok(checks)
}

/// The names of the checks that failed.
pub fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.name.as_str())
        .collect()
}

/// doctor's `fabric` check: the exact Fabric release the peer and orderer
/// images run.
fn fabric_check(ws: &network::Workspace) -> Check {
    Check {
        name: "fabric".to_string(),
        verdict: Verdict::Ok,
        detail: format!(
            "{} runs Fabric {} ({}, {})",
            ws.fabric.tag,
            ws.fabric.release(),
            ws.images.peer,
            ws.images.orderer
        ),
        hint: None,
    }
}
