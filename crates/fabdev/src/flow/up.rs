//! `fabdev up`: the kind cluster (or an existing one), images, objects,
//! readiness, DinD seeding, channels and connection profiles.
//!
//! The steps, in order (each a function below):
//!
//! | step | function |
//! |---|---|
//! | `workspace` | `context::workspace_step` |
//! | `plan` (what changes from what the last `up` applied; refused changes stop `up` here) | [`plan_changes`] |
//! | `existing cluster` (existing only: first, before anything is written) | `connections::existing_cluster` |
//! | `crypto material` | [`crypto_material`] |
//! | `render Kubernetes objects` | [`render_objects`] |
//! | `kind` (kind only) | [`find_kind`] |
//! | `image <ref>` (each image on the host; on an existing cluster only the builder images) | [`pull_image`] |
//! | `kind cluster <name>` (kind only) | [`kind_cluster`] |
//! | `wait for nodes Ready` (kind only) | [`wait_for_nodes`] |
//! | `load images into the kind nodes` (kind only) | [`load_node_images`] |
//! | `apply objects` | [`apply_objects`] |
//! | `wait for orderers and peers Ready` | [`wait_for_pods`] |
//! | `builder images in every peer's DinD` | [`seed_dind`] |
//! | `node endpoints` | `connections::node_endpoints` |
//! | `consenters <channel>` (each running channel, when the plan adds or removes orderers: one consenter change at a time, a new orderer joined with the latest config block, a removed one taken off the channel) | `orderers::update_consenters` |
//! | `channel <name>` (each channel; on a running one, the orgs fabdev.yaml adds: config update, joins, catch-up) | [`create_channel`] |
//! | `config update <channel>` (each channel whose batch timeout the plan changes) | `config_update::update_parameters` |
//! | `connection profiles` | [`connection_profiles`] |
//! | `package X`, `install X`, `approve X`, `commit X`, `init X` (each chaincode of fabdev.yaml; `init` with `initRequired`) | `chaincodes::deploy_steps` (as `fabdev chaincode deploy`) |
//! | `remove orderer <name>` (each orderer removed, on a cluster: its objects, once it left every channel) | `orderers::remove_orderer` |
//! | `record what was applied` (`.fabdev/applied.json`, read by the next `up`'s `plan`) | [`record_applied`] |
//!
//! The host's Docker daemon and the Kubernetes client (the run's
//! [`Connections`]) are made by the first step that needs them, so a
//! failure to reach either is that step's failure.

use std::path::PathBuf;

use cluster::dind::Dind;
use cluster::images::{self, Daemon, ImageEvent, TransferReport};
use cluster::k8s;
use cluster::kind::{Kind, ProcessRunner, Runner};
use network::render::Rendered;
use serde::Serialize;

use super::chaincodes::{DeployParts, Deployments, Deploys, LifecycleCommand, deploy_steps};
use super::channel::join_every_node;
use super::config_update;
use super::connections::{
    Connected, Connections, EXISTING_CLUSTER_STEP, NODE_ENDPOINTS_STEP, existing_cluster,
    fabdevs_namespace, node_endpoints,
};
use super::context::{CREATING_MARKER, kind_driver, kind_node_image, kind_provider, remove_path};
use super::orderers;
use super::ownership::{self, Ownership};
use super::plan;
use super::prepare::{self, CRYPTO_STEP, RENDER_STEP};
use super::steps::{Step, StepResult, earlier, run_flow, step};
use super::{Context, FlowError, ImagesToLoad, Options, Target};
use crate::events::{ClusterState, EventKind, Meter, Sink};
use cluster::provider::{self, ProviderChoice};

const DIND_STEP: &str = "builder images in every peer's DinD";
const PLAN_STEP: &str = "plan";

/// What `up` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpReport {
    pub cluster_created: bool,
    pub objects_changed: usize,
    pub channels: Vec<String>,
    pub profiles: Vec<PathBuf>,
    /// Each chaincode and what the deploy did (`basic deployed at sequence 1`).
    pub chaincodes: Vec<String>,
}

/// The state the steps of `up` share: the workspace, and what each step
/// makes for the later ones.
pub struct UpRun<R: Runner = ProcessRunner> {
    pub ctx: Context,
    opts: Options<R>,
    images: ImagesToLoad,
    rendered: Option<Rendered>,
    kind: Option<Kind<R>>,
    /// kind's node provider (made by the `kind` step); the host's images
    /// are on its engine.
    provider: Option<ProviderChoice>,
    host: Option<Daemon>,
    conn: Connections,
    deployments: Deployments,
    pub report: UpReport,
}

impl<R: Runner> Connected for UpRun<R> {
    fn connections(&mut self) -> (&Context, &mut Connections) {
        (&self.ctx, &mut self.conn)
    }
}

impl<R: Runner> Deploys for UpRun<R> {
    fn deploy_parts(&mut self) -> DeployParts<'_> {
        DeployParts {
            ctx: &self.ctx,
            conn: &mut self.conn,
            deployments: &mut self.deployments,
        }
    }
}

impl<R: Runner> std::fmt::Debug for UpRun<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpRun")
            .field("workspace", &self.ctx.ws.name)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// The steps of `up` after `workspace`. On kind: the binary, every image
/// on the host, the cluster, its nodes and the images in them. On an
/// existing cluster: the cluster (context and API server) and only the
/// builder images on the host (for the peers' DinD); the nodes' images come
/// from the cluster's registries, and nothing is created or loaded.
pub fn steps<R: Runner + Clone>(ctx: &Context) -> Vec<Step<UpRun<R>>> {
    // The plan first: a refused change stops `up` before anything is
    // touched.
    let mut steps = vec![step!(PLAN_STEP => plan_changes)];
    // An existing cluster is asked first: a wrong context or a cluster
    // that does not answer stops `up` before it writes anything.
    if let Target::Existing(_) = ctx.target {
        steps.push(step!(EXISTING_CLUSTER_STEP => existing_cluster));
    }
    steps.extend([
        step!(CRYPTO_STEP => crypto_material),
        step!(RENDER_STEP => render_objects),
    ]);
    let images = ctx.images();
    let host_images: Vec<&String> = match ctx.target {
        Target::Kind => {
            steps.push(step!("kind" => find_kind));
            images.all().collect()
        }
        Target::Existing(_) => images.for_peers().collect(),
    };
    for image in host_images {
        steps.push(step!(format!("image {image}"), image => pull_image));
    }
    if ctx.target == Target::Kind {
        steps.extend([
            step!(format!("kind cluster {}", ctx.ws.name) => kind_cluster),
            step!("wait for nodes Ready" => wait_for_nodes),
            step!("load images into the kind nodes" => load_node_images),
        ]);
    }
    steps.extend([
        step!("apply objects" => apply_objects),
        step!("wait for orderers and peers Ready" => wait_for_pods),
        step!(DIND_STEP => seed_dind),
    ]);
    steps.extend(network_steps(ctx, true));
    steps
}

/// The steps of `up` from `node endpoints` on, once the nodes run: the
/// running channels' consenter changes (`consenters <channel>`, when the
/// plan adds or removes orderers), the channels, the plan's
/// channel-parameter changes (`config update <channel>`, planned from what
/// the last `up` applied), the connection profiles, the chaincodes, on a
/// cluster the objects of each orderer removed (`remove orderer <name>`),
/// and the record of what was applied.
fn network_steps<R: Runner + Clone>(ctx: &Context, cluster: bool) -> Vec<Step<UpRun<R>>> {
    let mut steps = vec![step!(NODE_ENDPOINTS_STEP => node_endpoints)];
    let plan = network::reconcile::plan(ctx.applied.as_ref(), &ctx.ws);
    for ch in orderers::consenter_channels(&plan, ctx.applied.as_ref(), &ctx.ws) {
        steps.push(step!(orderers::consenters_step(&ch), ch => orderers::update_consenters));
    }
    for ch in &ctx.ws.channels {
        steps.push(step!(format!("channel {}", ch.name), &ch.name => create_channel));
    }
    for ch in config_update::parameter_channels(&plan) {
        steps.push(step!(config_update::step_name(&ch), ch => config_update::update_parameters));
    }
    steps.push(step!("connection profiles" => connection_profiles));
    let chaincodes: Vec<String> = ctx.ws.chaincodes.iter().map(|c| c.name.clone()).collect();
    steps.extend(deploy_steps(ctx, &chaincodes, LifecycleCommand::Deploy));
    if cluster {
        for o in orderers::removed_orderers(&plan) {
            steps.push(step!(orderers::remove_step(&o), o => orderers::remove_orderer));
        }
    }
    steps.push(step!("record what was applied" => record_applied));
    steps
}

/// The steps of [`up_running`]: `plan` and `crypto material`, then
/// [`network_steps`]; no cluster, no images, no objects.
pub fn running_steps<R: Runner + Clone>(ctx: &Context) -> Vec<Step<UpRun<R>>> {
    let mut steps = vec![
        step!(PLAN_STEP => plan_changes),
        step!(CRYPTO_STEP => crypto_material),
    ];
    steps.extend(network_steps(ctx, false));
    steps
}

/// Bring the network up.
pub async fn up<R: Runner + Clone>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
) -> Result<UpReport, FlowError> {
    up_with(opts, sink, steps).await
}

/// `up` on a network whose nodes already run, reached at
/// `Options::endpoints` (or, without a kubeconfig, the host ports): the
/// plan, then everything `up` does once the nodes run ([`running_steps`]).
/// What the tests against real Fabric processes (`crates/testnet`, which
/// runs the rendered pods itself) run as `up`.
pub async fn up_running<R: Runner + Clone>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
) -> Result<UpReport, FlowError> {
    up_with(opts, sink, running_steps).await
}

async fn up_with<R: Runner + Clone>(
    opts: &Options<R>,
    sink: &mut dyn Sink,
    steps: impl FnOnce(&Context) -> Vec<Step<UpRun<R>>>,
) -> Result<UpReport, FlowError> {
    let run = run_flow(opts, sink, steps, |ctx| UpRun {
        images: ctx.images(),
        deployments: Deployments::of_workspace(&ctx),
        ctx,
        opts: opts.clone(),
        rendered: None,
        kind: None,
        provider: None,
        host: None,
        conn: Connections::new(opts.endpoints.clone()),
        report: UpReport::default(),
    })
    .await?;
    let mut report = run.report;
    report.chaincodes = run
        .deployments
        .reports
        .iter()
        .map(|r| format!("{} {} at sequence {}", r.name, r.outcome, r.report.sequence))
        .collect();
    Ok(report)
}

/// The host's image store, connected on first use: on kind, the
/// Docker-compatible API of kind's node provider (Docker, or podman's API
/// socket); on an existing cluster, the host's Docker daemon.
fn host_docker<'a>(
    slot: &'a mut Option<Daemon>,
    provider: Option<&ProviderChoice>,
) -> Result<&'a Daemon, FlowError> {
    if slot.is_none() {
        *slot = Some(match provider {
            Some(p) => provider::api(p.provider)?,
            None => Daemon::connect_local()?,
        });
    }
    earlier(slot, "the host's Docker daemon")
}

/// The plan from what the last `up` applied (`.fabdev/applied.json`) to
/// fabdev.yaml, shown as an event; what `up` cannot apply safely, or not
/// yet, is refused and stops `up` before it touches anything.
pub async fn plan_changes<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let applied = plan::read_applied(&run.ctx.state_dir)?;
    let plan = network::reconcile::plan(applied.as_ref(), &run.ctx.ws)
        .refusing_unapplied(plan::up_applies);
    let text = plan.text();
    let summary = text.lines().next().unwrap_or_default();
    let detail = summary
        .strip_prefix("plan: ")
        .unwrap_or(summary)
        .to_string();
    let refused = plan.refused.len();
    sink.send(EventKind::Plan(plan));
    if refused > 0 {
        return Err(FlowError::Refused { refused });
    }
    Ok(Some(detail))
}

/// What this `up` applied, for the next one's plan: written only once
/// every step before it succeeded.
pub async fn record_applied<R: Runner>(run: &mut UpRun<R>, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    std::fs::create_dir_all(&ctx.state_dir).map_err(|source| FlowError::Io {
        action: "create",
        path: ctx.state_dir.clone(),
        source,
    })?;
    let before = plan::read_applied(&ctx.state_dir)?;
    let applied = network::reconcile::AppliedState::after(before.as_ref(), &ctx.ws, &ctx.topo);
    plan::write_applied(&ctx.state_dir, &applied)?;
    Ok(Some(format!(
        "{}/{}",
        super::STATE_DIR,
        network::reconcile::APPLIED_FILE
    )))
}

/// Crypto material, created when missing, never rotated.
pub async fn crypto_material<R: Runner>(run: &mut UpRun<R>, _: &mut dyn Sink) -> StepResult {
    let report = prepare::ensure_crypto(&run.ctx)?;
    Ok(Some(prepare::crypto_detail(&report)))
}

/// The kind config and every Kubernetes object.
pub async fn render_objects<R: Runner>(run: &mut UpRun<R>, _: &mut dyn Sink) -> StepResult {
    // The namespace carries the workspace's ID: made on the first `up`.
    run.ctx.ensure_workspace_id()?;
    let rendered = prepare::render_objects(&run.ctx)?;
    let detail = prepare::render_detail(&rendered);
    run.rendered = Some(rendered);
    Ok(Some(detail))
}

/// The kind binary (`--kind`, `$FABDEV_KIND`, PATH), its version, and the
/// node provider it runs on (Docker or podman, and why).
pub async fn find_kind<R: Runner + Clone>(run: &mut UpRun<R>, _: &mut dyn Sink) -> StepResult {
    let choice = kind_provider(&run.ctx)?;
    let kind = kind_driver(&run.opts, &run.ctx)?;
    kind.version().await?;
    let detail = format!("{}, nodes on {choice}", kind.bin().display());
    run.kind = Some(kind);
    run.provider = Some(choice);
    Ok(Some(detail))
}

/// One image on the host's Docker, pulled when missing.
pub async fn pull_image<R: Runner>(
    run: &mut UpRun<R>,
    image: &str,
    sink: &mut dyn Sink,
) -> StepResult {
    let host = host_docker(&mut run.host, run.provider.as_ref())?;
    let mut meter = Meter::new();
    let mut pulled = false;
    images::ensure_pulled(host, image, &mut |ev: ImageEvent| match ev {
        ImageEvent::Pulling {
            bytes_done,
            bytes_total,
            ..
        } => {
            if let Some(e) = meter.update(image, bytes_done, bytes_total) {
                sink.send(e);
            }
        }
        ImageEvent::Pulled { .. } => pulled = true,
        _ => {}
    })
    .await?;
    let (copied, present) = if pulled {
        (vec![image.to_string()], vec![])
    } else {
        (vec![], vec![image.to_string()])
    };
    sink.send(EventKind::Images {
        target: match run.provider.as_ref().map(|p| p.provider) {
            Some(provider::NodeProvider::Podman) => "host podman",
            _ => "host Docker",
        }
        .into(),
        copied,
        present,
    });
    Ok(None)
}

/// The kind cluster: made when missing, made again when an earlier
/// `kind create` did not finish (the `CREATING_MARKER` is still there).
pub async fn kind_cluster<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let kind = earlier(&run.kind, "the kind binary")?;
    let rendered = earlier(&run.rendered, "the rendered objects")?;
    let ctx = &run.ctx;
    let name = &ctx.ws.name;
    let kubeconfig = ctx.kubeconfig();
    std::fs::create_dir_all(&ctx.state_dir).map_err(|source| FlowError::Io {
        action: "create",
        path: ctx.state_dir.clone(),
        source,
    })?;
    // Present while `kind create` runs: if it is still there when the
    // cluster exists, that create was interrupted or killed and the
    // cluster may be half made, so it is made again.
    let marker = ctx.state_dir.join(CREATING_MARKER);
    let mut state = ClusterState::Created;
    let mut adopted = false;
    if kind.exists(name).await? {
        if !marker.exists() {
            // Reused only when it is the cluster this workspace created
            // (or the user adopts it): see `ownership`.
            let adopt = run.opts.cluster.adopt_cluster;
            adopted = ownership::require_ours(kind, ctx, &mut run.conn, adopt).await?
                == Ownership::Adopted;
            state = ClusterState::Exists;
        } else {
            kind.delete(name, &kubeconfig).await?;
            ownership::forget(ctx)?;
            state = ClusterState::Recreated;
        }
    }
    let mut cleared = Vec::new();
    if state != ClusterState::Exists {
        // A `kind create` of this cluster killed earlier can leave node
        // containers in podman's storage only, holding the nodes' names.
        if kind.provider() == Some(provider::NodeProvider::Podman) {
            cleared = provider::remove_storage_only_nodes(name).await?;
        }
        std::fs::write(&marker, format!("kind create cluster --name {name}\n")).map_err(
            |source| FlowError::Io {
                action: "write",
                path: marker.clone(),
                source,
            },
        )?;
        // The offline node image (scripts/setup/kind-node-image.sh) needs
        // longer kubeadm waits and a kubelet allowed on cgroup v1, which
        // only the kind config can give.
        let node_image = kind_node_image(ctx);
        let mut config = rendered.kind_config.clone();
        if let Some(image) = &node_image {
            let host = host_docker(&mut run.host, run.provider.as_ref())?;
            if provider::offline_node_key(host, image).await?.is_some() {
                config = cluster::kind_config::for_offline_node_image(&config)
                    .map_err(network::render::RenderError::from)?;
            }
        }
        kind.create(name, &config, &kubeconfig, node_image.as_deref())
            .await?;
        // The marker goes only once the identity is recorded: a create
        // cut short before that is made again, never taken as someone
        // else's cluster.
        ownership::record(ctx, &mut run.conn).await?;
        remove_path(&marker)?;
    }
    run.report.cluster_created = state != ClusterState::Exists;
    sink.send(EventKind::Cluster {
        name: name.clone(),
        state,
    });
    let mut detail = state.to_string();
    if adopted {
        detail.push_str(" (adopted: now this workspace's)");
    }
    if !cleared.is_empty() {
        detail.push_str(&format!(
            "; podman's storage-only containers of a killed create removed ({})",
            cleared.join(", ")
        ));
    }
    Ok(Some(detail))
}

/// Every node of the cluster Ready.
pub async fn wait_for_nodes<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let client = run.conn.client(&run.ctx).await?;
    sink.send(EventKind::Progress {
        message: format!(
            "waiting up to {}s for every node of the cluster",
            run.opts.wait_timeout.as_secs()
        ),
    });
    k8s::wait_nodes_ready(&client, run.opts.wait_timeout).await?;
    Ok(None)
}

/// The nodes' images from the host's Docker into every kind node's
/// containerd (see `cluster::node_images`).
pub async fn load_node_images<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let host = host_docker(&mut run.host, run.provider.as_ref())?;
    let mut meter = Meter::new();
    let r = cluster::node_images::load_into_nodes(
        host,
        &run.ctx.ws.name,
        &run.images.into_nodes,
        &mut copy_progress(&mut meter, sink),
    )
    .await?;
    sink.send(images_event("kind nodes", &r));
    Ok(Some(format!(
        "{} loaded, {} present",
        r.transferred.len(),
        r.skipped.len()
    )))
}

/// Every rendered object, server-side applied (on an existing cluster,
/// into a namespace that is fabdev's or does not exist yet).
pub async fn apply_objects<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let manifests = earlier(&run.rendered, "the rendered objects")?.manifests();
    let client = run.conn.client(&run.ctx).await?;
    // On an existing cluster, a namespace of the workspace's name that is
    // someone else's is not taken over (labelled privileged, deleted by
    // `down`).
    if let Target::Existing(_) = run.ctx.target {
        fabdevs_namespace(
            &client,
            &run.ctx,
            run.opts.cluster.adopt_namespace,
            "fabdev up does not take it over (label it privileged, apply into it, delete it on down)",
        )
        .await?;
    }
    let applied = k8s::apply(&client, &manifests).await?;
    let changed: Vec<String> = applied
        .iter()
        .filter(|a| a.changed)
        .map(|a| format!("{} {}", a.kind, a.name))
        .collect();
    run.report.objects_changed = changed.len();
    let detail = format!("{} objects, {} changed", applied.len(), changed.len());
    sink.send(EventKind::Applied {
        objects: applied
            .iter()
            .map(|a| format!("{} {}", a.kind, a.name))
            .collect(),
        changed,
    });
    Ok(Some(detail))
}

/// Every orderer and peer pod Ready.
pub async fn wait_for_pods<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    let client = run.conn.client(&run.ctx).await?;
    let ctx = &run.ctx;
    let pods = ctx.topo.nodes.len();
    sink.send(EventKind::Progress {
        message: format!(
            "waiting up to {}s for {pods} pods ({})",
            run.opts.wait_timeout.as_secs(),
            ctx.selector()
        ),
    });
    k8s::wait_pods_ready(
        &client,
        &ctx.ws.name,
        &ctx.selector(),
        pods,
        run.opts.wait_timeout,
    )
    .await?;
    sink.send(EventKind::PodsReady { pods });
    Ok(Some(format!("{pods} pods")))
}

/// Fabric's chaincode images into every peer's DinD at once: one export of
/// each image from the host, streamed into a `docker load` run in each DinD
/// sidecar that lacks it, through the API server (the daemons listen on a
/// socket inside their pods only). What the chaincode of the languages
/// fabdev.yaml declares runs on, nothing when it declares none (a deploy
/// copies a language's runtime into the daemons that lack it); Go's
/// builder (the largest image) only with Go declared and when fabdev's
/// warm builder cannot build Go chaincode on this host, so that the peers
/// can build it themselves.
pub async fn seed_dind<R: Runner>(run: &mut UpRun<R>, sink: &mut dyn Sink) -> StepResult {
    if run.images.declared.is_empty() {
        return Ok(Some(
            "nothing to copy: fabdev.yaml declares no chaincode (a deploy copies what its chaincode runs on into the daemons that lack it)".into(),
        ));
    }
    // Go's builder matters only with Go declared.
    let fabdev_builds =
        run.images.declared.contains(&network::spec::Lang::Go) && fabdev_builds_go(&run.ctx).await;
    let seeded = run.images.for_dind(fabdev_builds);
    let client = run.conn.client(&run.ctx).await?;
    let host = host_docker(&mut run.host, run.provider.as_ref())?;
    let ctx = &run.ctx;
    let peers: Vec<_> = ctx.topo.peers().collect();
    let dinds: Vec<Dind> = peers
        .iter()
        .map(|peer| {
            Dind::new(
                &client,
                &ctx.ws.name,
                &peer.pod_name(),
                &format!("dind of {}", peer.name),
            )
        })
        .collect();
    let targets: Vec<&Dind> = dinds.iter().collect();
    let mut meter = Meter::new();
    let reports = images::transfer_to_many(
        host,
        &targets,
        &seeded,
        &mut copy_progress(&mut meter, sink),
    )
    .await?;
    for (peer, r) in peers.iter().zip(&reports) {
        sink.send(images_event(&format!("dind of {}", peer.name), r));
    }
    let copied: usize = reports.iter().map(|r| r.transferred.len()).sum();
    let present: usize = reports.iter().map(|r| r.skipped.len()).sum();
    let builders = if fabdev_builds {
        "; Go's builder stays on the host: fabdev builds"
    } else {
        ""
    };
    Ok(Some(format!(
        "{copied} copied, {present} present ({} peers){builders}",
        reports.len()
    )))
}

/// Whether fabdev's warm builder (the host's Docker) can build Go
/// chaincode: it answers and has Go's builder image.
async fn fabdev_builds_go(ctx: &Context) -> bool {
    match crate::flow::chaincodes::warm_builder(ctx) {
        Some(builder) => builder.can_build("GOLANG").await,
        None => false,
    }
}

/// One channel: its genesis block and every node's join.
pub async fn create_channel<R: Runner>(
    run: &mut UpRun<R>,
    name: &str,
    sink: &mut dyn Sink,
) -> StepResult {
    let ready = join_every_node(&run.ctx, run.conn.endpoints()?, name, sink).await?;
    run.report.channels.push(name.to_string());
    Ok(Some(ready))
}

/// A connection profile per org, for SDKs on the host.
pub async fn connection_profiles<R: Runner>(run: &mut UpRun<R>, _: &mut dyn Sink) -> StepResult {
    let ctx = &run.ctx;
    let dir = ctx.profiles_dir();
    let written = network::profile::write_profiles(&ctx.ws, &ctx.topo, &ctx.crypto, &dir)?;
    let detail = format!("{} written to {}", written.len(), dir.display());
    run.report.profiles = written;
    Ok(Some(detail))
}

/// Byte progress of image copies, as transfer events.
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
            sink.send(e);
        }
    }
}

fn images_event(target: &str, r: &TransferReport) -> EventKind {
    EventKind::Images {
        target: target.into(),
        copied: r.transferred.iter().map(|t| t.image.clone()).collect(),
        present: r.skipped.iter().map(|s| s.image.clone()).collect(),
    }
}
