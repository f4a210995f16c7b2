//! The flows behind `fabdev up`, `down`, `status` and `channel create`, as a
//! library: each is a list of named steps that emit [`Event`]s into a
//! [`Sink`], so the CLI, CI (JSON lines) and other projects' test harnesses
//! drive the same code.
//!
//! Every step is idempotent, so `up` on a healthy network changes nothing,
//! and `up` after an interrupted run completes what is missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cluster::images::{self, Daemon, ImageEvent};
use cluster::k8s;
use cluster::kind::{self, Kind, ProcessRunner};
use network::channel::{self, ChannelEvent, Endpoints};
use network::pki::{self, CryptoDir};
use network::render::{self, NodeFiles};
use network::spec::StateDatabase;
use network::{Topology, Workspace};
use serde::Serialize;

use crate::events::{Event, Meter, Sink, step, step_with};

/// Where fabdev keeps its state inside a workspace.
pub const STATE_DIR: &str = ".fabdev";

/// What a flow needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace folder (its `.fabdev/` holds the state).
    pub workspace_dir: PathBuf,
    /// The spec file; default `<workspace_dir>/fabdev.yaml` (or the default network).
    pub spec: Option<PathBuf>,
    /// The kind binary; default `$FABDEV_KIND`, then PATH.
    pub kind: Option<PathBuf>,
    /// Deadline of each wait (nodes, pods).
    pub wait_timeout: Duration,
}

impl Options {
    pub fn new(workspace_dir: impl Into<PathBuf>) -> Options {
        Options {
            workspace_dir: workspace_dir.into(),
            spec: None,
            kind: None,
            wait_timeout: Duration::from_secs(600),
        }
    }
}

/// Errors of the flows: each says which step and why (the step's own error
/// carries the details).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{0}")]
    Spec(#[from] network::SpecError),
    #[error("{0}")]
    Pki(#[from] pki::PkiError),
    #[error("{0}")]
    Render(#[from] render::RenderError),
    #[error("{0}")]
    Kind(#[from] kind::KindError),
    #[error("{0}")]
    K8s(#[from] k8s::K8sError),
    #[error("{0}")]
    Images(#[from] images::ImageError),
    #[error("{0}")]
    Nodes(#[from] cluster::nodes::NodeError),
    #[error("{0}")]
    Genesis(#[from] network::genesis::GenesisError),
    #[error("{0}")]
    Channel(#[from] channel::ChannelError),
    #[error("{0}")]
    Profile(#[from] network::profile::ProfileError),
    #[error("cluster {name} does not exist\n  hint: run `fabdev up` first")]
    NoCluster { name: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The workspace and where its state lives.
#[derive(Debug, Clone)]
pub struct Context {
    pub ws: Workspace,
    pub topo: Topology,
    pub state_dir: PathBuf,
    pub crypto: CryptoDir,
}

impl Context {
    pub fn load(opts: &Options) -> Result<Context, FlowError> {
        let ws = match &opts.spec {
            Some(f) => Workspace::load_file(f)?,
            None => Workspace::load_dir(&opts.workspace_dir)?,
        };
        let topo = Topology::of(&ws);
        let state_dir = opts.workspace_dir.join(STATE_DIR);
        let crypto = CryptoDir::new(state_dir.join("crypto"));
        Ok(Context {
            ws,
            topo,
            state_dir,
            crypto,
        })
    }

    /// fabdev's own kubeconfig (the user's ~/.kube/config is never touched).
    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir.join("kubeconfig")
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.state_dir.join("profiles")
    }

    /// The label selector of every pod fabdev runs for this workspace.
    pub fn selector(&self) -> String {
        format!("{}={}", render::labels::WORKSPACE, self.ws.name)
    }

    /// Images the nodes run (loaded into kind) and those the peers' DinD
    /// daemons need to build and run chaincode (seeded into each DinD).
    pub fn images(&self) -> (Vec<String>, Vec<String>) {
        let im = &self.ws.images;
        let mut node = vec![im.orderer.clone(), im.peer.clone(), im.dind.clone()];
        if self
            .ws
            .orgs
            .iter()
            .any(|o| o.state_database == StateDatabase::Couchdb)
        {
            node.push(im.couchdb.clone());
        }
        let builders = vec![im.ccenv.clone(), im.baseos.clone(), im.nodeenv.clone()];
        (node, builders)
    }
}

fn kind_driver(opts: &Options) -> Result<Kind<ProcessRunner>, FlowError> {
    Ok(Kind::new(
        kind::find_kind(opts.kind.as_deref())?,
        ProcessRunner,
    ))
}

/// Crypto (created when missing, never rotated) and the rendered objects.
pub async fn prepare(ctx: &Context, sink: &mut dyn Sink) -> Result<render::Rendered, FlowError> {
    let report = step(
        sink,
        "crypto material",
        |r: &pki::CryptoReport| {
            Some(format!(
                "{} created, {} reused",
                r.created.len(),
                r.reused.len()
            ))
        },
        async { pki::ensure(&ctx.ws, &ctx.topo, &ctx.crypto) },
    )
    .await?;
    drop(report);
    step(
        sink,
        "render Kubernetes objects",
        |r: &render::Rendered| Some(format!("{} objects", r.objects.len())),
        async {
            let mut files = NodeFiles::new();
            for node in &ctx.topo.nodes {
                files.insert(
                    node.name.clone(),
                    pki::read_tree(&ctx.crypto.node_dir(node))?,
                );
            }
            Ok::<_, FlowError>(render::render(&ctx.ws, &ctx.topo, &files)?)
        },
    )
    .await
}

/// What `up` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpReport {
    pub cluster_created: bool,
    pub objects_changed: usize,
    pub channels: Vec<String>,
    pub profiles: Vec<PathBuf>,
}

/// Bring the network up: kind cluster, images, objects, readiness, DinD
/// seeding, channels, connection profiles.
pub async fn up(opts: &Options, sink: &mut dyn Sink) -> Result<UpReport, FlowError> {
    channel::install_crypto_provider();
    let ctx = Context::load(opts)?;
    let rendered = prepare(&ctx, sink).await?;
    let kind = step(
        sink,
        "kind",
        |k: &Kind<ProcessRunner>| Some(k.bin().display().to_string()),
        async {
            let kind = kind_driver(opts)?;
            kind.version().await?;
            Ok::<_, FlowError>(kind)
        },
    )
    .await?;
    let name = ctx.ws.name.clone();
    let kubeconfig = ctx.kubeconfig();
    let mut report = UpReport::default();

    let host = Daemon::connect_local()?;
    let (node_images, builder_images) = ctx.images();
    let mut all_images = node_images.clone();
    all_images.extend(builder_images.iter().cloned());
    for image in &all_images {
        let name = format!("image {image}");
        step_with(
            sink,
            &name,
            |_| None,
            async |sink: &mut dyn Sink| {
                let mut meter = Meter::new(&name);
                images::ensure_pulled(&host, image, &mut |ev: ImageEvent| {
                    if let ImageEvent::Pulling {
                        bytes_done,
                        bytes_total,
                        ..
                    } = ev
                        && let Some(e) = meter.update(image, bytes_done, bytes_total)
                    {
                        sink.emit(e);
                    }
                })
                .await
            },
        )
        .await?;
    }

    let outcome = step(
        sink,
        &format!("kind cluster {name}"),
        |o: &ClusterOutcome| Some(o.to_string()),
        async {
            std::fs::create_dir_all(&ctx.state_dir).map_err(|source| FlowError::Io {
                action: "create",
                path: ctx.state_dir.clone(),
                source,
            })?;
            // Present while `kind create` runs: if it is still there when the
            // cluster exists, that create was interrupted or killed and the
            // cluster may be half made, so it is made again.
            let marker = ctx.state_dir.join(CREATING_MARKER);
            let mut outcome = ClusterOutcome::Created;
            if kind.exists(&name).await? {
                if !marker.exists() {
                    if !kubeconfig.is_file() {
                        // kind writes the kubeconfig on create only: ask for it again.
                        kind.export_kubeconfig(&name, &kubeconfig).await?;
                    }
                    return Ok::<_, FlowError>(ClusterOutcome::Exists);
                }
                kind.delete(&name, &kubeconfig).await?;
                outcome = ClusterOutcome::Recreated;
            }
            std::fs::write(&marker, format!("kind create cluster --name {name}\n")).map_err(
                |source| FlowError::Io {
                    action: "write",
                    path: marker.clone(),
                    source,
                },
            )?;
            kind.create(&name, &rendered.kind_config, &kubeconfig, None)
                .await?;
            remove_path(&marker)?;
            Ok(outcome)
        },
    )
    .await?;
    report.cluster_created = outcome != ClusterOutcome::Exists;

    let client = k8s::client(&kubeconfig).await?;
    step(sink, "wait for nodes Ready", |_| None, async {
        k8s::wait_nodes_ready(&client, opts.wait_timeout).await
    })
    .await?;

    step_with(
        sink,
        "load images into the kind nodes",
        |r: &images::TransferReport| {
            Some(format!(
                "{} loaded, {} present",
                r.transferred.len(),
                r.skipped.len()
            ))
        },
        async |sink: &mut dyn Sink| {
            let mut meter = Meter::new("load images into the kind nodes");
            let r = cluster::nodes::load_into_nodes(
                &host,
                &name,
                &node_images,
                &mut copy_progress(&mut meter, sink),
            )
            .await?;
            Ok::<_, FlowError>(r)
        },
    )
    .await?;

    let manifests = rendered.manifests();
    let applied = step(
        sink,
        "apply objects",
        |a: &Vec<k8s::Applied>| {
            Some(format!(
                "{} objects, {} changed",
                a.len(),
                a.iter().filter(|x| x.changed).count()
            ))
        },
        async { k8s::apply(&client, &manifests).await },
    )
    .await?;
    report.objects_changed = applied.iter().filter(|a| a.changed).count();

    step(
        sink,
        "wait for orderers and peers Ready",
        |_| Some(format!("{} pods", ctx.topo.nodes.len())),
        async {
            k8s::wait_pods_ready(
                &client,
                &name,
                &ctx.selector(),
                ctx.topo.nodes.len(),
                opts.wait_timeout,
            )
            .await
        },
    )
    .await?;

    // Every peer's DinD at once: one export of each builder image from the
    // host, streamed into all the DinDs that lack it.
    let peers: Vec<_> = ctx.topo.peers().collect();
    let step_name = "builder images in every peer's DinD";
    step_with(
        sink,
        step_name,
        |reports: &Vec<images::TransferReport>| {
            let copied: usize = reports.iter().map(|r| r.transferred.len()).sum();
            let present: usize = reports.iter().map(|r| r.skipped.len()).sum();
            Some(format!(
                "{copied} copied, {present} present ({} peers)",
                reports.len()
            ))
        },
        async |sink: &mut dyn Sink| {
            let mut forwards = Vec::with_capacity(peers.len());
            let mut dinds = Vec::with_capacity(peers.len());
            for peer in &peers {
                let pod = format!("{}-0", peer.name);
                let fwd =
                    k8s::port_forward(&client, &name, &pod, network::topology::ports::DIND).await?;
                dinds.push(Daemon::connect_tcp(
                    &format!("tcp://{}", fwd.addr),
                    &format!("dind of {}", peer.name),
                )?);
                forwards.push(fwd);
            }
            let targets: Vec<&Daemon> = dinds.iter().collect();
            let mut meter = Meter::new(step_name);
            let copied = images::transfer_to_many(
                &host,
                &targets,
                &builder_images,
                &mut copy_progress(&mut meter, sink),
            )
            .await;
            // A refused port-forward shows up as a reset connection: say
            // what the API server said instead.
            match (copied, forwards.iter().find_map(k8s::Forward::failure)) {
                (Ok(r), _) => Ok(r),
                (Err(_), Some(refused)) => Err(FlowError::K8s(refused)),
                (Err(e), None) => Err(FlowError::Images(e)),
            }
        },
    )
    .await?;

    let (endpoints, forwards) = step(
        sink,
        "node endpoints",
        |(_, f): &(Endpoints, Vec<k8s::Forward>)| {
            Some(if f.is_empty() {
                "kind port mappings on 127.0.0.1".to_string()
            } else {
                format!("{} port-forwards (port mappings not reachable)", f.len())
            })
        },
        endpoints_for(&client, &ctx),
    )
    .await?;
    for ch in &ctx.ws.channels {
        step(sink, &format!("channel {}", ch.name), |_| None, async {
            let block = network::genesis::genesis_block(&ctx.ws, &ctx.topo, &ctx.crypto, &ch.name)?;
            let mut joined = Vec::new();
            channel::create_channel(
                &ctx.ws,
                &ctx.topo,
                &ctx.crypto,
                &endpoints,
                &ch.name,
                &block,
                &mut |ev: ChannelEvent| joined.push(ev),
            )
            .await?;
            Ok::<_, FlowError>(())
        })
        .await?;
        report.channels.push(ch.name.clone());
    }

    drop(forwards);
    report.profiles = step(
        sink,
        "connection profiles",
        |p: &Vec<PathBuf>| {
            Some(format!(
                "{} written to {}",
                p.len(),
                ctx.profiles_dir().display()
            ))
        },
        async {
            network::profile::write_profiles(&ctx.ws, &ctx.topo, &ctx.crypto, &ctx.profiles_dir())
        },
    )
    .await?;
    Ok(report)
}

/// Name of the marker file in the state folder that says `kind create` is
/// under way (see [`up`]).
pub const CREATING_MARKER: &str = "cluster-creating";

/// What the cluster step of [`up`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterOutcome {
    Created,
    Exists,
    /// An earlier `kind create` never finished; its cluster was deleted and made again.
    Recreated,
}

impl std::fmt::Display for ClusterOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClusterOutcome::Created => "created",
            ClusterOutcome::Exists => "exists",
            ClusterOutcome::Recreated => "recreated (an earlier create did not finish)",
        })
    }
}

/// Byte progress of image copies, as progress events of the meter's step.
fn copy_progress<'a>(
    meter: &'a mut Meter,
    sink: &'a mut dyn Sink,
) -> impl FnMut(ImageEvent) + Send + 'a {
    move |ev: ImageEvent| {
        if let ImageEvent::Transferring {
            image,
            bytes_done,
            bytes_expected,
            ..
        } = ev
            && let Some(e) = meter.update(&image, bytes_done, bytes_expected)
        {
            sink.emit(e);
        }
    }
}

/// Whether every port can be connected to on 127.0.0.1 (within 2 s each).
async fn all_reachable(ports: &[u16]) -> bool {
    for p in ports {
        let dial = tokio::net::TcpStream::connect((channel::HOST, *p));
        if !matches!(
            tokio::time::timeout(Duration::from_secs(2), dial).await,
            Ok(Ok(_))
        ) {
            return false;
        }
    }
    true
}

/// The nodes' host ports when the kind port mappings answer; otherwise (a
/// cluster made without them, or another Kubernetes) one kube port-forward
/// per node port, kept open as long as the returned guards live.
pub async fn endpoints_for(
    client: &kube::Client,
    ctx: &Context,
) -> Result<(Endpoints, Vec<k8s::Forward>), FlowError> {
    let ports: Vec<u16> = ctx
        .topo
        .nodes
        .iter()
        .flat_map(|n| std::iter::once(n.host_ports.grpc).chain(n.host_ports.admin))
        .collect();
    if all_reachable(&ports).await {
        return Ok((Endpoints::host_ports(&ctx.topo), Vec::new()));
    }
    let mut endpoints = Endpoints::default();
    let mut forwards = Vec::new();
    for n in &ctx.topo.nodes {
        let pod = format!("{}-0", n.name);
        let grpc = k8s::port_forward(client, &ctx.ws.name, &pod, n.grpc_port()).await?;
        let admin = match n.host_ports.admin {
            Some(_) => Some(
                k8s::port_forward(
                    client,
                    &ctx.ws.name,
                    &pod,
                    network::topology::ports::ORDERER_ADMIN,
                )
                .await?,
            ),
            None => None,
        };
        endpoints.insert(
            &n.name,
            channel::NodeEndpoint {
                grpc: grpc.addr.to_string(),
                admin: admin.as_ref().map(|a| a.addr.to_string()),
            },
        );
        forwards.push(grpc);
        forwards.extend(admin);
    }
    Ok((endpoints, forwards))
}

/// `fabdev channel create`: genesis block and joins, against the nodes'
/// host endpoints (the kind port mappings on localhost).
pub async fn create_channels(
    opts: &Options,
    only: Option<&str>,
    endpoints: Option<Endpoints>,
    sink: &mut dyn Sink,
) -> Result<Vec<String>, FlowError> {
    channel::install_crypto_provider();
    let ctx = Context::load(opts)?;
    // Given endpoints win; else the cluster's (port mappings, or
    // port-forwards when they do not answer); else the host ports.
    let mut _forwards = Vec::new();
    let endpoints = match endpoints {
        Some(e) => e,
        None if ctx.kubeconfig().is_file() => {
            let client = k8s::client(&ctx.kubeconfig()).await?;
            let (e, f) = endpoints_for(&client, &ctx).await?;
            _forwards = f;
            e
        }
        None => Endpoints::host_ports(&ctx.topo),
    };
    let names: Vec<String> = match only {
        Some(n) => vec![n.to_string()],
        None => ctx.ws.channels.iter().map(|c| c.name.clone()).collect(),
    };
    for name in &names {
        let mut events = Vec::new();
        let result = step(sink, &format!("channel {name}"), |_| None, async {
            let block = network::genesis::genesis_block(&ctx.ws, &ctx.topo, &ctx.crypto, name)?;
            channel::create_channel(
                &ctx.ws,
                &ctx.topo,
                &ctx.crypto,
                &endpoints,
                name,
                &block,
                &mut |ev: ChannelEvent| events.push(ev),
            )
            .await?;
            Ok::<_, FlowError>(())
        })
        .await;
        for ev in events {
            let message = match ev {
                ChannelEvent::Joined { node, .. } => format!("{node} joined"),
                ChannelEvent::AlreadyJoined { node, .. } => format!("{node} already joined"),
                ChannelEvent::Failed { node, error, .. } => format!("{node} failed: {error}"),
                ChannelEvent::Joining { .. } => continue,
            };
            sink.emit(Event::Note {
                message: format!("   {message}"),
            });
        }
        result?;
    }
    Ok(names)
}

/// What `down` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    pub cluster_deleted: bool,
    pub namespace_deleted: bool,
    pub crypto_deleted: bool,
}

/// Remove the cluster (or only the namespace with `keep_cluster`) and the
/// runtime state; keep the crypto unless `purge`.
pub async fn down(
    opts: &Options,
    keep_cluster: bool,
    purge: bool,
    sink: &mut dyn Sink,
) -> Result<DownReport, FlowError> {
    let ctx = Context::load(opts)?;
    let name = ctx.ws.name.clone();
    let kubeconfig = ctx.kubeconfig();
    let mut report = DownReport::default();
    if keep_cluster {
        report.namespace_deleted = step(
            sink,
            &format!("namespace {name}"),
            |d: &bool| Some(if *d { "deleted" } else { "not there" }.to_string()),
            async {
                if !kubeconfig.is_file() {
                    return Ok::<_, FlowError>(false);
                }
                let client = k8s::client(&kubeconfig).await?;
                Ok(k8s::delete_namespace(&client, &name, opts.wait_timeout).await?)
            },
        )
        .await?;
    } else {
        let kind = kind_driver(opts)?;
        report.cluster_deleted = step(
            sink,
            &format!("kind cluster {name}"),
            |d: &bool| Some(if *d { "deleted" } else { "not there" }.to_string()),
            async {
                if !kind.exists(&name).await? {
                    return Ok::<_, FlowError>(false);
                }
                kind.delete(&name, &kubeconfig).await?;
                Ok(true)
            },
        )
        .await?;
    }
    let mut remove = vec![ctx.profiles_dir()];
    if !keep_cluster {
        remove.push(kubeconfig);
        remove.push(ctx.state_dir.join(CREATING_MARKER));
    }
    if purge {
        remove.push(ctx.crypto.root().to_path_buf());
        report.crypto_deleted = ctx.crypto.root().exists();
    }
    step(sink, "runtime state", |_| None, async {
        for p in &remove {
            remove_path(p)?;
        }
        Ok::<_, FlowError>(())
    })
    .await?;
    Ok(report)
}

fn remove_path(p: &Path) -> Result<(), FlowError> {
    let result = if p.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FlowError::Io {
            action: "remove",
            path: p.to_path_buf(),
            source,
        }),
    }
}

/// One node in `status`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: String,
    pub pod_ready: Option<bool>,
    /// Channels the node reports, or why they could not be read.
    pub channels: Result<Vec<String>, String>,
}

/// What `status` found.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub workspace: String,
    pub cluster_exists: bool,
    pub nodes: Vec<NodeStatus>,
}

/// The cluster, each node's pod readiness and channel membership.
pub async fn status(opts: &Options) -> Result<Status, FlowError> {
    channel::install_crypto_provider();
    let ctx = Context::load(opts)?;
    let kind = kind_driver(opts)?;
    let exists = kind.exists(&ctx.ws.name).await?;
    let mut pods = Vec::new();
    if exists && ctx.kubeconfig().is_file() {
        let client = k8s::client(&ctx.kubeconfig()).await?;
        pods = k8s::pods(&client, &ctx.ws.name).await?;
    }
    let endpoints = Endpoints::host_ports(&ctx.topo);
    let timeout = Duration::from_secs(5);
    let mut nodes = Vec::new();
    for n in &ctx.topo.nodes {
        let pod = format!("{}-0", n.name);
        let pod_ready = pods.iter().find(|(p, _)| *p == pod).map(|(_, r)| *r);
        let channels = match (exists, endpoints.get(&n.name)) {
            (false, _) => Err("no cluster".to_string()),
            (true, None) => Err("no endpoint".to_string()),
            (true, Some(ep)) => match n.kind {
                network::NodeKind::Orderer => {
                    channel::orderer_channels(n, ep, &ctx.crypto, &ctx.ws, timeout).await
                }
                network::NodeKind::Peer => {
                    channel::peer_channels(n, ep, &ctx.crypto, timeout).await
                }
            }
            .map_err(|e| e.to_string()),
        };
        nodes.push(NodeStatus {
            name: n.name.clone(),
            role: match n.kind {
                network::NodeKind::Orderer => "orderer".into(),
                network::NodeKind::Peer => "peer".into(),
            },
            pod_ready,
            channels,
        });
    }
    Ok(Status {
        workspace: ctx.ws.name.clone(),
        cluster_exists: exists,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    #[test]
    fn endpoints_fall_back_to_port_forwards_when_the_port_mappings_do_not_answer() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Host ports nothing listens on: a block at the top of the NodePort range.
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("fabdev.yaml"),
                "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n",
            )
            .unwrap();
            let ctx = Context::load(&Options::new(dir.path())).unwrap();
            let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
            let client = kube::Client::new(svc, "default");
            let (endpoints, forwards) = endpoints_for(&client, &ctx).await.unwrap();
            // One forward per gRPC port plus the orderer's admin port.
            assert_eq!(forwards.len(), 4);
            let orderer = endpoints.get("orderer0-ordererorg").unwrap();
            assert!(orderer.grpc.starts_with("127.0.0.1:"));
            assert_ne!(orderer.grpc, "127.0.0.1:32700");
            assert!(orderer.admin.is_some());
            assert!(endpoints.get("peer0-org2").unwrap().admin.is_none());
            // A connection to a forward opens a port-forward to the pod's port.
            let addr = orderer.admin.clone().unwrap();
            let conn = tokio::spawn(async move { tokio::net::TcpStream::connect(addr).await });
            let (req, _send) = handle.next_request().await.expect("portforward request");
            assert_eq!(
                req.uri().path(),
                "/api/v1/namespaces/fabdev/pods/orderer0-ordererorg-0/portforward"
            );
            assert!(req.uri().query().is_some_and(|q| q.ends_with("ports=7053")));
            drop(conn);
        });
    }
}
