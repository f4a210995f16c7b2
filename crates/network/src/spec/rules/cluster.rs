//! The rules of where the network runs: every node's host ports fit the
//! NodePort range, and the `cluster:` section (kind or an existing cluster).

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::super::raw::RawWorkspace;
use super::super::*;
use super::{Checker, pos_of};

/// Rule: every node's block of [`HOST_PORTS_PER_NODE`] host ports, from
/// `base`, fits Kubernetes' NodePort range (the host ports are NodePorts).
/// Checked before anything is written, in `u32`: `Topology::of` relies on it.
pub fn check_host_ports(base: u16, nodes: u32) -> Result<(), RuleError> {
    let (low, high) = (u32::from(*NODE_PORTS.start()), u32::from(*NODE_PORTS.end()));
    let last = u32::from(base).saturating_add(nodes.saturating_mul(HOST_PORTS_PER_NODE));
    if u32::from(base) >= low && last <= high {
        return Ok(());
    }
    let message = format!(
        "{nodes} nodes take {HOST_PORTS_PER_NODE} host ports each from hostPortBase {base}, which does not fit Kubernetes' NodePort range {low}-{high}"
    );
    let max_nodes = (high - low) / HOST_PORTS_PER_NODE;
    let hint = if nodes > max_nodes {
        format!(
            "use fewer orgs or peers: at most {max_nodes} nodes (orderers and peers together) fit the range"
        )
    } else {
        format!(
            "set `hostPortBase` between {low} and {}",
            high - nodes * HOST_PORTS_PER_NODE
        )
    };
    Err(RuleError::with_hint(message, hint))
}

/// Every node's block of host ports, from `hostPortBase` (or the default),
/// fits the NodePort range (see [`check_host_ports`]); too many nodes are
/// reported at `orgs` when no `hostPortBase` is given.
pub(super) fn host_port_base(
    c: &mut Checker,
    raw: &RawWorkspace,
    orderer: &OrdererOrg,
    orgs: &[PeerOrg],
) -> u16 {
    let host_port_base = raw
        .host_port_base
        .as_ref()
        .map_or(DEFAULT_HOST_PORT_BASE, |h| h.value);
    let nodes = orderer.count + orgs.iter().map(|o| o.peers).sum::<u32>();
    if let Err(RuleError { message, hint }) = check_host_ports(host_port_base, nodes) {
        let hint = hint.unwrap_or_default();
        match &raw.host_port_base {
            Some(h) => c.push(pos_of(h), "hostPortBase", message, &hint),
            None => c.push(raw.orgs.as_ref().and_then(pos_of), "orgs", message, &hint),
        }
    }
    host_port_base
}

/// `cluster.provider` is `kind` (the default) or `existing`;
/// `cluster.kubeconfig` (resolved against `base`) and `cluster.context` are
/// not empty, and only given with `existing` (kind's kubeconfig is fabdev's
/// own `.fabdev/kubeconfig`).
pub(super) fn cluster(c: &mut Checker, raw: &RawWorkspace, base: &Path) -> ClusterSpec {
    let Some(rc) = &raw.cluster else {
        return ClusterSpec::default();
    };
    let rc = &rc.value;
    let provider = match &rc.provider {
        Some(p) => Provider::parse(&p.value).unwrap_or_else(|| {
            c.push(
                pos_of(p),
                "cluster.provider",
                format!("provider {:?} is not one fabdev knows", p.value),
                "use `provider: kind` (a local kind cluster fabdev makes, the default) or `provider: existing` (a cluster you already have, named by `kubeconfig` and `context`)",
            );
            Provider::Kind
        }),
        None => Provider::Kind,
    };
    let only_existing = |c: &mut Checker, v: &Spanned<String>, key: &str| {
        if provider == Provider::Kind {
            c.push(
                pos_of(v),
                format!("cluster.{key}"),
                format!("`{key}` is only read with `provider: existing`"),
                "add `provider: existing` to run on that cluster, or remove the field (kind's kubeconfig is fabdev's own .fabdev/kubeconfig)",
            );
        }
    };
    let not_empty = |c: &mut Checker, v: &Spanned<String>, key: &str, hint: &str| {
        c.at(
            v,
            format!("cluster.{key}"),
            if v.value.trim().is_empty() {
                Err(format!("`{key}` is empty"))
            } else {
                Ok(())
            },
            hint,
        );
    };
    let kubeconfig = rc.kubeconfig.as_ref().map(|k| {
        only_existing(c, k, "kubeconfig");
        not_empty(
            c,
            k,
            "kubeconfig",
            "give the kubeconfig file, relative to fabdev.yaml, or leave it out to use $KUBECONFIG or ~/.kube/config",
        );
        let rel = PathBuf::from(&k.value);
        if rel.is_absolute() { rel } else { base.join(rel) }
    });
    let context = rc.context.as_ref().map(|x| {
        only_existing(c, x, "context");
        not_empty(
            c,
            x,
            "context",
            "name a context of the kubeconfig (`kubectl config get-contexts`), or leave it out to use its current context",
        );
        x.value.clone()
    });
    let mut kind = KindSpec::default();
    if let Some(k) = &rc.kind {
        if provider != Provider::Kind {
            c.push(
                pos_of(k),
                "cluster.kind",
                "`kind` is only read with `provider: kind`".to_string(),
                "remove `kind:` (an existing cluster has its own nodes), or use `provider: kind`",
            );
        }
        if let Some(p) = &k.value.provider {
            kind.provider = cluster::provider::NodeProvider::parse(&p.value);
            if kind.provider.is_none() {
                c.push(
                    pos_of(p),
                    "cluster.kind.provider",
                    format!("kind provider {:?} is not one fabdev drives", p.value),
                    "use `docker` or `podman` (where kind runs its nodes), or leave it out to use KIND_EXPERIMENTAL_PROVIDER or what the machine has",
                );
            }
        }
        if let Some(i) = &k.value.node_image {
            not_empty(
                c,
                i,
                "kind.nodeImage",
                "name a kind node image (kindest/node:v1.37.2, or the offline one of scripts/setup/kind-node-image.sh), or leave it out for kind's default",
            );
            kind.node_image = Some(i.value.trim().to_string());
        }
    }
    ClusterSpec {
        provider,
        kubeconfig,
        context,
        kind,
    }
}
