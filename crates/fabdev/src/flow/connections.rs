//! How every run reaches the cluster and the nodes, and the steps that
//! make those connections: one home for what `up`, `down`, `status`,
//! `channel create`, the chaincode commands and `chaincode logs` share.
//!
//! A run's [`Connections`] make the Kubernetes client, and the nodes'
//! endpoints with the port-forwards behind them, once, on first use, and
//! keep them for the run (as kind's `ActionContext` caches its `Nodes()`).

use cluster::k8s;
use network::channel::{self, Endpoints};
use network::render::labels;
use network::topology::{Node, ports};

use super::endpoints::{endpoints_detail, endpoints_for};
use super::steps::{StepResult, earlier};
use super::{Context, FlowError, Target};
use crate::events::{ClusterState, EventKind, Sink};

/// The name of the step that connects to an existing cluster.
pub const EXISTING_CLUSTER_STEP: &str = "existing cluster";

/// The name of the step that finds where the host reaches each node.
pub const NODE_ENDPOINTS_STEP: &str = "node endpoints";

/// A run's ways to the cluster and the nodes.
#[derive(Default)]
pub struct Connections {
    /// Endpoints the caller gave (`Options::endpoints`), used instead of
    /// the cluster's.
    given: Option<Endpoints>,
    client: Option<kube::Client>,
    endpoints: Option<Endpoints>,
    /// Port-forwards behind `endpoints`, open while the run lasts.
    forwards: Vec<k8s::Forward>,
    /// Whether `endpoints` are the ones given.
    given_used: bool,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("client", &self.client.is_some())
            .field("endpoints", &self.endpoints)
            .field("forwards", &self.forwards.len())
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// Connections that reach the nodes at `given` when set.
    pub fn new(given: Option<Endpoints>) -> Connections {
        Connections {
            given,
            ..Connections::default()
        }
    }

    /// The cluster's Kubernetes client (see [`Context::client`]), made on
    /// first use.
    pub async fn client(&mut self, ctx: &Context) -> Result<kube::Client, FlowError> {
        if self.client.is_none() {
            self.client = Some(ctx.client().await?);
        }
        earlier(&self.client, "the Kubernetes client").cloned()
    }

    /// Whether a step has made the client already.
    pub fn has_client(&self) -> bool {
        self.client.is_some()
    }

    /// The nodes' endpoints (made by the `node endpoints` step).
    pub fn endpoints(&self) -> Result<&Endpoints, FlowError> {
        earlier(&self.endpoints, "the node endpoints")
    }

    /// The nodes' endpoints, made on first use: the ones given, else the
    /// cluster's when there is one (an existing cluster, or a kind cluster
    /// whose kubeconfig fabdev wrote; see [`endpoints_for`]), else the host
    /// ports (`127.0.0.1:<host port>`, as kind maps them) with no cluster at
    /// all. Returns what the endpoints step reports.
    pub async fn open_endpoints(&mut self, ctx: &Context) -> Result<String, FlowError> {
        let (endpoints, forwards, detail) = match self.given.take() {
            Some(e) => {
                self.given_used = true;
                (e, Vec::new(), "given".to_string())
            }
            None if ctx.has_cluster() => {
                let client = self.client(ctx).await?;
                let (e, forwards) = endpoints_for(&client, ctx).await?;
                let detail = endpoints_detail(ctx, &forwards);
                (e, forwards, detail)
            }
            None => (
                Endpoints::host_ports(&ctx.topo),
                Vec::new(),
                "host ports on 127.0.0.1 (no kubeconfig)".to_string(),
            ),
        };
        self.endpoints = Some(endpoints);
        self.forwards = forwards;
        Ok(detail)
    }

    /// The run's endpoints with those of `nodes` that they lack (orderers
    /// fabdev.yaml no longer lists, which leave their channels before their
    /// pods go) added, reached as the others are: port-forwards to their
    /// pods, kept for the run, when the others are port-forwarded, else
    /// their host ports. Endpoints the caller gave are not added to: a node
    /// they lack is reported as unreachable by the step that needs it.
    pub async fn with_nodes(
        &mut self,
        ctx: &Context,
        nodes: &[&Node],
    ) -> Result<Endpoints, FlowError> {
        let mut out = self.endpoints()?.clone();
        for n in nodes {
            if out.get(&n.name).is_some() || self.given_used {
                continue;
            }
            if self.forwards.is_empty() {
                out.insert(
                    &n.name,
                    channel::NodeEndpoint {
                        grpc: format!("{}:{}", channel::HOST, n.host_ports.grpc),
                        admin: n.host_ports.admin.map(|p| format!("{}:{p}", channel::HOST)),
                    },
                );
                out.insert_operations(
                    &n.name,
                    &format!("{}:{}", channel::HOST, n.host_ports.operations),
                );
                continue;
            }
            let client = self.client(ctx).await?;
            let pod = n.pod_name();
            let grpc = k8s::port_forward(&client, &ctx.ws.name, &pod, n.grpc_port()).await?;
            let admin = match n.host_ports.admin {
                Some(_) => Some(
                    k8s::port_forward(&client, &ctx.ws.name, &pod, ports::ORDERER_ADMIN).await?,
                ),
                None => None,
            };
            out.insert(
                &n.name,
                channel::NodeEndpoint {
                    grpc: grpc.addr.to_string(),
                    admin: admin.as_ref().map(|a| a.addr.to_string()),
                },
            );
            self.forwards.push(grpc);
            self.forwards.extend(admin);
        }
        Ok(out)
    }

    /// An existing cluster: its context in the kubeconfig and its API
    /// server's answer; the client is kept for the run. Returns the
    /// context's name and what the step reports.
    async fn connect_existing(&mut self, ctx: &Context) -> Result<(String, String), FlowError> {
        let Target::Existing(access) = &ctx.target else {
            return Err(FlowError::StepOrder {
                what: "an existing cluster",
            });
        };
        let resolved = access.resolve()?;
        let client = resolved.client().await?;
        let version = resolved.server_version(&client).await?;
        self.client = Some(client);
        let detail = format!(
            "context {} at {} (Kubernetes {version})",
            resolved.context, resolved.server
        );
        Ok((resolved.context, detail))
    }
}

/// A flow state whose steps reach the cluster or the nodes.
pub(crate) trait Connected: Send {
    /// The workspace, and the run's connections.
    fn connections(&mut self) -> (&Context, &mut Connections);
}

/// The `existing cluster` step: the context in the kubeconfig and the API
/// server's answer. Nothing is created (and `--load-images` was refused as
/// bad input when the workspace loaded: see `Target::of`).
pub(crate) async fn existing_cluster<S: Connected>(run: &mut S, sink: &mut dyn Sink) -> StepResult {
    let (ctx, conn) = run.connections();
    let (name, detail) = conn.connect_existing(ctx).await?;
    sink.send(EventKind::Cluster {
        name,
        state: ClusterState::Exists,
    });
    Ok(Some(detail))
}

/// The `node endpoints` step: where the host reaches each node (see
/// [`Connections::open_endpoints`]).
pub(crate) async fn node_endpoints<S: Connected>(run: &mut S, _: &mut dyn Sink) -> StepResult {
    let (ctx, conn) = run.connections();
    Ok(Some(conn.open_endpoints(ctx).await?))
}

/// Whether namespace `name` on an existing cluster is this workspace's:
/// `None` when there is none, its UID when it carries the workspace's ID
/// (`.fabdev/workspace-id`, as label and annotation `fabdev.dev/workspace-id`)
/// or the user passed `--adopt-namespace`, else bad input saying what fabdev
/// does not do (`refusal`) and how to go on. A namespace of the workspace's
/// name from another workspace, or from someone who made it by hand (with a
/// RoleBinding of their own, say), is never used without that flag.
pub(crate) async fn fabdevs_namespace(
    client: &kube::Client,
    ctx: &Context,
    adopt: bool,
    refusal: &str,
) -> Result<Option<String>, FlowError> {
    let name = &ctx.ws.name;
    let meta = k8s::namespace_meta(client, name).await?;
    match k8s::ownership(meta.as_ref(), ctx.ws.workspace_id.as_deref()) {
        k8s::Ownership::Absent => Ok(None),
        k8s::Ownership::Ours { uid } => Ok(Some(uid)),
        k8s::Ownership::Foreign { uid, .. } if adopt => Ok(Some(uid)),
        k8s::Ownership::Foreign { id, .. } => {
            let whose = match id {
                Some(id) => format!(
                    "it carries another workspace's ID {}={id}",
                    labels::WORKSPACE_ID
                ),
                None => format!(
                    "it has no {} label: fabdev did not make it for this workspace",
                    labels::WORKSPACE_ID
                ),
            };
            Err(FlowError::Input {
                message: format!("namespace {name} on the cluster is not this workspace's ({whose}), so {refusal}"),
                hint: "give the workspace another `name:` in fabdev.yaml; or, if the namespace is this workspace's to take over (fabdev then labels it privileged, writes its keys into it, and `down` deletes it with everything in it), pass --adopt-namespace".to_string(),
            })
        }
    }
}
