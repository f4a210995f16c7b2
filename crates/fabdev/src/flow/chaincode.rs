//! `fabdev chaincode deploy|install|approve|commit|instantiate`, `invoke`,
//! `query` and `list`: the chaincode lifecycle (`chaincode::lifecycle`) as
//! named steps, against the nodes' endpoints.
//!
//! | command | steps after `workspace` |
//! |---|---|
//! | `deploy` | `node endpoints`, `chaincodes`, then per chaincode `package X`, `install X`, `approve X`, `commit X` and, with `initRequired`, `init X` |
//! | `install` | `node endpoints`, `chaincodes`, `package X`, `install X` |
//! | `approve` | `node endpoints`, `chaincodes`, `package X`, `approve X` |
//! | `commit` | `node endpoints`, `chaincodes`, `package X`, `commit X` |
//! | `instantiate` | `node endpoints`, `chaincodes`, `package X`, `approve X`, `commit X`, `init X` (with `initRequired`) |
//! | `invoke`, `query` | `node endpoints`, `invoke X F` / `query X F` |
//! | `list` | `node endpoints`, `installed packages`, `committed on C` per channel |
//!
//! `up` ends with the four deploy steps of every chaincode of fabdev.yaml
//! (the same functions, through [`HasLifecycle`]). Every step acts only
//! where something is missing, so a deploy of an unchanged chaincode
//! changes nothing and says so, and a changed one is an upgrade at the next
//! sequence.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chaincode::lifecycle::{self, Caller, ChannelAdmins, DeploySpec, LifecycleEvent, Planned};
use chaincode::package::{PackageOptions, package_dir};
use cluster::dind::Dind;
use cluster::k8s;
use cluster::kind::Runner;
use network::channel::Endpoints;
use network::pki::ADMIN;
use network::spec::{self, Chaincode, Detected, Lang};

use super::endpoints::resolve;
use super::steps::{Step, StepResult, made, run_flow};
use super::{Context, FlowError, Options};
use crate::events::{
    ChaincodeAction, CommittedChaincode, DeployOutcome, Event, InstalledPackage, Sink,
};

/// A lifecycle command: which of the deploy steps it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Package, install, approve, commit.
    Deploy,
    /// Package, install.
    Install,
    /// Package (for its ID), approve.
    Approve,
    /// Package (for its ID), commit.
    Commit,
    /// Package (for its ID), approve, commit, Init.
    Instantiate,
}

impl Command {
    /// The stages, `Init` included (it runs only for chaincodes that
    /// require it).
    fn stages(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            Command::Deploy => &[Package, Install, Approve, Commit, Init],
            Command::Install => &[Package, Install],
            Command::Approve => &[Package, Approve],
            Command::Commit => &[Package, Commit],
            Command::Instantiate => &[Package, Approve, Commit, Init],
        }
    }

    fn inits(self) -> bool {
        self.stages().contains(&Stage::Init)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Package,
    Install,
    Approve,
    Commit,
    Init,
}

/// Which chaincodes a lifecycle command acts on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// One chaincode of fabdev.yaml by name (with `path`: the name to give
    /// the folder). Default: every chaincode of fabdev.yaml.
    pub name: Option<String>,
    /// A chaincode folder, listed in fabdev.yaml or not.
    pub path: Option<PathBuf>,
    /// The channel, instead of the one fabdev.yaml gives (or, for a folder
    /// not listed there, the workspace's only channel).
    pub channel: Option<String>,
    /// Package Go chaincode as it is, without a vendored copy.
    pub no_vendor: bool,
}

impl Selection {
    /// The names the steps carry; whether they are right is the
    /// `chaincodes` step's to say.
    fn names(&self, ctx: &Context) -> Vec<String> {
        match (&self.name, &self.path) {
            (Some(n), _) => vec![n.clone()],
            (None, Some(p)) => vec![folder_name(p)],
            (None, None) => ctx.ws.chaincodes.iter().map(|c| c.name.clone()).collect(),
        }
    }
}

fn folder_name(p: &std::path::Path) -> String {
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chaincode".to_string())
}

fn input(message: String, hint: &str) -> FlowError {
    FlowError::Input {
        message,
        hint: hint.to_string(),
    }
}

fn known_chaincodes(ctx: &Context) -> String {
    let names: Vec<&str> = ctx.ws.chaincodes.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The channel of a chaincode that fabdev.yaml does not name one for: the
/// one given, else the workspace's only channel.
fn channel_for(ctx: &Context, given: Option<&str>, name: &str) -> Result<String, FlowError> {
    let known = || {
        ctx.ws
            .channels
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match given {
        Some(c) if ctx.ws.channel(c).is_some() => Ok(c.to_string()),
        Some(c) => Err(input(
            format!(
                "channel `{c}` is not in the workspace (its channels: {})",
                known()
            ),
            "pass one of those to --channel",
        )),
        None => match ctx.ws.channels.as_slice() {
            [only] => Ok(only.name.clone()),
            _ => Err(input(
                format!(
                    "{name} is not in fabdev.yaml and the workspace has several channels ({})",
                    known()
                ),
                "say which with --channel",
            )),
        },
    }
}

/// The chaincodes `sel` names, as fabdev.yaml gives them (or as made up
/// for a folder that it does not list).
pub fn select(ctx: &Context, sel: &Selection) -> Result<Vec<Chaincode>, FlowError> {
    let listed = |name: &str| ctx.ws.chaincodes.iter().find(|c| c.name == name);
    let mut out = match (&sel.name, &sel.path) {
        (name, Some(path)) => {
            let name = name.clone().unwrap_or_else(|| folder_name(path));
            spec::check_chaincode_name(&name).map_err(|m| {
                input(
                    m,
                    "name the chaincode: `fabdev chaincode deploy NAME --path DIR`",
                )
            })?;
            if !path.is_dir() {
                return Err(input(
                    format!("chaincode folder {} does not exist", path.display()),
                    "pass the folder holding go.mod or package.json to --path",
                ));
            }
            let lang = match spec::detect_lang(path) {
                Detected::Found(l) => l,
                Detected::Ambiguous => {
                    return Err(input(
                        format!("{} has both go.mod and package.json", path.display()),
                        "list it in fabdev.yaml with `lang:`",
                    ));
                }
                Detected::Neither => {
                    return Err(input(
                        format!(
                            "{} has neither go.mod nor package.json, so its language is unknown",
                            path.display()
                        ),
                        "pass a Go module or a Node package to --path",
                    ));
                }
            };
            match listed(&name) {
                Some(c) => vec![Chaincode {
                    path: path.clone(),
                    lang,
                    ..c.clone()
                }],
                None => vec![Chaincode::plain(
                    &name,
                    path.clone(),
                    &channel_for(ctx, sel.channel.as_deref(), &name)?,
                    lang,
                )],
            }
        }
        (Some(name), None) => match listed(name) {
            Some(c) => vec![c.clone()],
            None => {
                return Err(input(
                    format!(
                        "chaincode `{name}` is not in fabdev.yaml (its chaincodes: {})",
                        known_chaincodes(ctx)
                    ),
                    "add it under `chaincodes:`, or give its folder with --path DIR",
                ));
            }
        },
        (None, None) if ctx.ws.chaincodes.is_empty() => {
            return Err(input(
                "fabdev.yaml lists no chaincodes".to_string(),
                "add one under `chaincodes:` (name, path, channel), or give a folder with --path DIR",
            ));
        }
        (None, None) => ctx.ws.chaincodes.clone(),
    };
    if let Some(ch) = &sel.channel {
        let ch = channel_for(ctx, Some(ch), "")?;
        for c in &mut out {
            c.channel = ch.clone();
        }
    }
    Ok(out)
}

/// What a deploy (or its last step that ran) did to one chaincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeReport {
    pub name: String,
    pub channel: String,
    pub outcome: DeployOutcome,
    pub report: lifecycle::DeployReport,
}

/// The lifecycle's part of a flow's state: the chaincodes, their packages,
/// one admin connection per peer of each channel, the definitions planned.
#[derive(Debug, Default)]
pub struct Lifecycle {
    chaincodes: BTreeMap<String, Chaincode>,
    no_vendor: bool,
    specs: BTreeMap<String, DeploySpec>,
    admins: BTreeMap<String, ChannelAdmins>,
    planned: BTreeMap<String, Planned>,
    installed: BTreeMap<String, Vec<String>>,
    approved: BTreeMap<String, Vec<String>>,
    committed: BTreeMap<String, bool>,
    /// Whether an `init X` step follows `commit X` (deploy, instantiate,
    /// up): then that step, not the commit, reports the deploy.
    init_after_commit: bool,
    pub reports: Vec<ChaincodeReport>,
}

impl Lifecycle {
    /// For `up`: every chaincode of fabdev.yaml.
    pub(crate) fn of_workspace(ctx: &Context) -> Lifecycle {
        Lifecycle {
            chaincodes: ctx
                .ws
                .chaincodes
                .iter()
                .map(|c| (c.name.clone(), c.clone()))
                .collect(),
            init_after_commit: true,
            ..Lifecycle::default()
        }
    }
}

/// A flow state that runs the deploy steps: the workspace, the endpoints
/// (once the endpoints step made them) and the lifecycle's part.
pub(crate) trait HasLifecycle: Send {
    fn parts(&mut self) -> (&Context, Option<&Endpoints>, &mut Lifecycle);
}

/// The deploy steps of `stages` for each of `names`; `init X` only for a
/// chaincode that fabdev.yaml says requires it.
pub(crate) fn lifecycle_steps<S: HasLifecycle>(
    ctx: &Context,
    names: &[String],
    command: Command,
) -> Vec<Step<S>> {
    let mut steps = Vec::new();
    for name in names {
        let init_required = ctx
            .ws
            .chaincodes
            .iter()
            .any(|c| &c.name == name && c.init_required);
        for stage in command.stages() {
            if *stage == Stage::Init && !init_required {
                continue;
            }
            steps.push(match stage {
                Stage::Package => Step::on(format!("package {name}"), name, |r, i, s| {
                    Box::pin(package_step(r, i, s))
                }),
                Stage::Install => Step::on(format!("install {name}"), name, |r, i, s| {
                    Box::pin(install_step(r, i, s))
                }),
                Stage::Approve => Step::on(format!("approve {name}"), name, |r, i, s| {
                    Box::pin(approve_step(r, i, s))
                }),
                Stage::Commit => Step::on(format!("commit {name}"), name, |r, i, s| {
                    Box::pin(commit_step(r, i, s))
                }),
                Stage::Init => Step::on(format!("init {name}"), name, |r, i, s| {
                    Box::pin(init_step(r, i, s))
                }),
            });
        }
    }
    steps
}

fn chaincode_of<'a>(lc: &'a Lifecycle, name: &str) -> Result<&'a Chaincode, FlowError> {
    lc.chaincodes.get(name).ok_or(FlowError::StepOrder {
        what: "the chaincode's spec",
    })
}

/// The chaincode's package: a vendored copy for Go (unless `--no-vendor`,
/// a `vendor/` folder, or no `go` on PATH), labelled as fabdev.yaml says.
async fn package_step<S: HasLifecycle>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let (_, _, lc) = run.parts();
    let cc = chaincode_of(lc, name)?.clone();
    let step = format!("package {name}");
    let vendor =
        !lc.no_vendor && cc.lang == Lang::Go && chaincode::vendor::needs_vendoring(&cc.path);
    if vendor {
        sink.emit(Event::Progress {
            step: step.clone(),
            message: format!("go mod vendor in a copy of {}", cc.path.display()),
        });
    }
    // Node chaincode with a build step (TypeScript): built first.
    let build = match cc.lang {
        Lang::Node => chaincode::nodebuild::build_step(&cc.path)?,
        Lang::Go => None,
    };
    if let Some(b) = &build {
        sink.emit(Event::Progress {
            step: step.clone(),
            message: format!(
                "{} ({}) in a copy of {}",
                b.command.join(" "),
                b.reasons.join(", "),
                cc.path.display()
            ),
        });
    }
    let (label, lang, dir) = (cc.label(), cc.lang, cc.path.clone());
    let (pkg, vendored, built) = tokio::task::spawn_blocking(move || {
        let copy = if vendor {
            chaincode::vendor::vendored_copy(&dir)?
        } else {
            None
        };
        let built = match &build {
            Some(b) => Some(chaincode::nodebuild::build(&dir, b)?),
            None => None,
        };
        let src = match (&copy, &built) {
            (Some(t), _) => chaincode::vendor::copy_dir(t, &dir),
            (None, Some(b)) => b.dir().to_path_buf(),
            (None, None) => dir.clone(),
        };
        let opts = PackageOptions {
            label: Some(label),
            lang: Some(lang),
        };
        let summary = built.as_ref().map(chaincode::nodebuild::Built::summary);
        Ok::<_, FlowError>((package_dir(&src, &opts)?, copy.is_some(), summary))
    })
    .await
    .map_err(|e| FlowError::Io {
        action: "package",
        path: cc.path.clone(),
        source: std::io::Error::other(e),
    })??;
    sink.emit(Event::Packaged {
        step,
        chaincode: name.to_string(),
        lang: pkg.lang.to_string(),
        package_id: pkg.id.clone(),
        bytes: pkg.bytes.len(),
        vendored,
        warnings: pkg.warnings.iter().map(|w| w.to_string()).collect(),
    });
    let detail = format!(
        "{} ({}{}{}, {} bytes)",
        pkg.id,
        pkg.lang,
        if vendored { ", vendored" } else { "" },
        built.map(|b| format!(", {b}")).unwrap_or_default(),
        pkg.bytes.len()
    );
    lc.specs
        .insert(name.to_string(), DeploySpec::of(&cc, pkg.bytes, pkg.id));
    Ok(Some(detail))
}

/// The admin connections of a channel, made on first use.
async fn admins<'a>(
    slot: &'a mut BTreeMap<String, ChannelAdmins>,
    ctx: &Context,
    endpoints: &Endpoints,
    channel: &str,
) -> Result<&'a ChannelAdmins, FlowError> {
    if !slot.contains_key(channel) {
        let a = ChannelAdmins::connect(&ctx.ws, &ctx.topo, &ctx.crypto, endpoints, channel).await?;
        slot.insert(channel.to_string(), a);
    }
    slot.get(channel).ok_or(FlowError::StepOrder {
        what: "the channel's admin connections",
    })
}

fn lifecycle_event(step: &str, chaincode: &str, ev: LifecycleEvent) -> Event {
    use ChaincodeAction as A;
    let progress = |message: String| Event::Progress {
        step: step.to_string(),
        message,
    };
    let (action, peer, org, sequence) = match ev {
        LifecycleEvent::Built { bytes, took } => {
            return progress(format!(
                "built once by fabdev in {:.1} s ({bytes} bytes of output)",
                took.as_secs_f64()
            ));
        }
        LifecycleEvent::NotBuilt { reason } => {
            return progress(format!("every peer builds it: {reason}"));
        }
        LifecycleEvent::ImagePlaced { peer, took } => {
            return progress(format!(
                "image made in {peer}'s daemon in {:.1} s",
                took.as_secs_f64()
            ));
        }
        LifecycleEvent::Installing { peer } => (A::Installing, Some(peer), None, None),
        LifecycleEvent::Installed { peer } => (A::Installed, Some(peer), None, None),
        LifecycleEvent::AlreadyInstalled { peer } => (A::AlreadyInstalled, Some(peer), None, None),
        LifecycleEvent::Approving { org, sequence } => {
            (A::Approving, None, Some(org), Some(sequence))
        }
        LifecycleEvent::Approved { org, sequence } => {
            (A::Approved, None, Some(org), Some(sequence))
        }
        LifecycleEvent::AlreadyApproved { org, sequence } => {
            (A::AlreadyApproved, None, Some(org), Some(sequence))
        }
        LifecycleEvent::Committing { sequence } => (A::Committing, None, None, Some(sequence)),
        LifecycleEvent::Committed { sequence } => (A::Committed, None, None, Some(sequence)),
        LifecycleEvent::AlreadyCommitted { sequence } => {
            (A::AlreadyCommitted, None, None, Some(sequence))
        }
        LifecycleEvent::Initializing { sequence } => (A::Initializing, None, None, Some(sequence)),
        LifecycleEvent::Initialized { sequence, .. } => {
            (A::Initialized, None, None, Some(sequence))
        }
        LifecycleEvent::AlreadyInitialized { sequence } => {
            (A::AlreadyInitialized, None, None, Some(sequence))
        }
    };
    Event::Chaincode {
        step: step.to_string(),
        chaincode: chaincode.to_string(),
        action,
        peer,
        org,
        sequence,
    }
}

fn spec_of<'a>(
    specs: &'a BTreeMap<String, DeploySpec>,
    name: &str,
) -> Result<&'a DeploySpec, FlowError> {
    made(&specs.get(name), "the chaincode's package").copied()
}

/// The peers' DinD daemons of the workspace's cluster (through the
/// Kubernetes API), so that an install builds the chaincode once and hands
/// the image to the other peers; none without a cluster (an existing
/// cluster always is one).
async fn cluster_images(ctx: &Context) -> Result<Option<DindImages>, FlowError> {
    if !ctx.has_cluster() {
        return Ok(None);
    }
    let client = ctx.client().await?;
    let dinds = ctx
        .topo
        .peers()
        .map(|p| {
            let label = format!("dind of {}", p.name);
            let dind = Dind::new(&client, &ctx.ws.name, &p.pod_name(), &label);
            (p.name.clone(), dind)
        })
        .collect();
    // The host's Docker builds once, warm, when it has the builder images;
    // else the first peer builds and the image is copied.
    let builder = cluster::images::Daemon::connect_local().ok().map(|daemon| {
        let i = &ctx.ws.images;
        chaincode::image::WarmBuilder::new(
            daemon,
            chaincode::image::BuildImages {
                ccenv: i.ccenv.clone(),
                baseos: i.baseos.clone(),
                nodeenv: i.nodeenv.clone(),
                peer_version: ctx.ws.fabric.release(),
            },
        )
    });
    Ok(Some(DindImages { dinds, builder }))
}

/// [`lifecycle::PeerImages`] over the peers' DinD daemons: `docker save` in
/// one sidecar streamed into `docker load` in another.
#[derive(Debug)]
pub struct DindImages {
    pub dinds: BTreeMap<String, Dind>,
    /// fabdev's warm builder on the host's Docker, when it has the builder
    /// images (see `chaincode::image`).
    pub builder: Option<chaincode::image::WarmBuilder>,
}

impl lifecycle::PeerImages for DindImages {
    fn copy_image<'a>(
        &'a self,
        from_peer: &'a str,
        to_peer: &'a str,
        image: &'a str,
        as_name: &'a str,
    ) -> lifecycle::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let daemon = |p: &str| {
                self.dinds
                    .get(p)
                    .ok_or_else(|| format!("no DinD daemon of {p}"))
            };
            daemon(from_peer)?
                .copy_image_to(daemon(to_peer)?, image, as_name)
                .await
                .map_err(|e| format!("{e}: {}", error_sources(&e)))
        })
    }

    fn warm_builder(&self) -> Option<&chaincode::image::WarmBuilder> {
        self.builder.as_ref()
    }

    fn build_image<'a>(
        &'a self,
        peer: &'a str,
        as_name: &'a str,
        context: &'a [u8],
    ) -> lifecycle::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.dinds
                .get(peer)
                .ok_or_else(|| format!("no DinD daemon of {peer}"))?
                .build_image(as_name, context.to_vec())
                .await
                .map_err(|e| format!("{e}: {}", error_sources(&e)))
        })
    }
}

fn error_sources(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out.join(": ")
}

/// The package on every peer of the channel's orgs that lacks it; each
/// peer builds the chaincode in its own Docker daemon (once, when the
/// peers' daemons can be reached: see [`cluster_images`]).
async fn install_step<S: HasLifecycle>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let (ctx, endpoints, lc) = run.parts();
    let endpoints = made(&endpoints, "the node endpoints")?;
    let spec = spec_of(&lc.specs, name)?;
    let admins = admins(&mut lc.admins, ctx, endpoints, &spec.channel).await?;
    let step = format!("install {name}");
    let peers = admins.peers().count();
    let images = cluster_images(ctx).await?;
    let images = images.as_ref().map(|i| i as &dyn lifecycle::PeerImages);
    let installed = lifecycle::install_all(admins, spec, images, &mut |e| {
        sink.emit(lifecycle_event(&step, name, e))
    })
    .await?;
    let detail = if installed.is_empty() {
        format!("installed already on every peer ({peers})")
    } else {
        format!("installed on {}", installed.join(", "))
    };
    lc.installed.insert(name.to_string(), installed);
    Ok(Some(detail))
}

async fn planned<'a>(
    planned: &'a mut BTreeMap<String, Planned>,
    admins: &ChannelAdmins,
    spec: &DeploySpec,
) -> Result<&'a Planned, FlowError> {
    if !planned.contains_key(&spec.name) {
        let p = lifecycle::plan(admins, spec).await?;
        planned.insert(spec.name.clone(), p);
    }
    planned.get(&spec.name).ok_or(FlowError::StepOrder {
        what: "the planned definition",
    })
}

/// Each org's approval of the definition, where it differs: the committed
/// sequence for an unchanged package, the next one for a changed package.
async fn approve_step<S: HasLifecycle>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let (ctx, endpoints, lc) = run.parts();
    let endpoints = made(&endpoints, "the node endpoints")?;
    let spec = spec_of(&lc.specs, name)?;
    let admins = admins(&mut lc.admins, ctx, endpoints, &spec.channel).await?;
    let plan = planned(&mut lc.planned, admins, spec).await?;
    let def = &plan.definition;
    let step = format!("approve {name}");
    let approved = lifecycle::approve_all(admins, spec, def, &mut |e| {
        sink.emit(lifecycle_event(&step, name, e))
    })
    .await?;
    let detail = if approved.is_empty() {
        format!(
            "sequence {}, version {}: approved already by every org",
            def.sequence, def.version
        )
    } else {
        format!(
            "sequence {}, version {}: approved by {}",
            def.sequence,
            def.version,
            approved.join(", ")
        )
    };
    lc.approved.insert(name.to_string(), approved);
    Ok(Some(detail))
}

/// The definition committed on the channel, unless it is already; then
/// what the deploy did to the chaincode.
async fn commit_step<S: HasLifecycle>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let (ctx, endpoints, lc) = run.parts();
    let endpoints = made(&endpoints, "the node endpoints")?;
    let spec = spec_of(&lc.specs, name)?;
    let admins = admins(&mut lc.admins, ctx, endpoints, &spec.channel).await?;
    let plan = planned(&mut lc.planned, admins, spec).await?.clone();
    let step = format!("commit {name}");
    let committed = lifecycle::commit_definition(admins, spec, &plan, &mut |e| {
        sink.emit(lifecycle_event(&step, name, e))
    })
    .await?;
    let def = &plan.definition;
    lc.committed.insert(name.to_string(), committed);
    let init_follows = lc.init_after_commit && spec.init_required;
    let detail = if committed {
        format!("sequence {} committed on {}", def.sequence, spec.channel)
    } else {
        format!(
            "sequence {} committed already on {}",
            def.sequence, spec.channel
        )
    };
    if !init_follows {
        report_deploy(lc, name, &step, &plan, false, sink)?;
    }
    Ok(Some(detail))
}

/// The chaincode's `Init`, once (`initRequired`): the peer refuses a second
/// `Init` of a version, so a re-deploy does not run it again and a failed
/// one runs on the next deploy. Then what the deploy did.
async fn init_step<S: HasLifecycle>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let (ctx, endpoints, lc) = run.parts();
    let endpoints = made(&endpoints, "the node endpoints")?;
    let spec = spec_of(&lc.specs, name)?;
    let admins = admins(&mut lc.admins, ctx, endpoints, &spec.channel).await?;
    let plan = planned(&mut lc.planned, admins, spec).await?.clone();
    let step = format!("init {name}");
    let outcome = lifecycle::init(admins, spec, &plan, &mut |e| {
        sink.emit(lifecycle_event(&step, name, e))
    })
    .await?;
    let (initialized, detail) = match outcome {
        lifecycle::InitOutcome::Initialized { transaction_id } => {
            (true, format!("Init ran in transaction {transaction_id}"))
        }
        lifecycle::InitOutcome::AlreadyInitialized => (
            false,
            format!(
                "initialised already at version {} (Init not called again)",
                plan.definition.version
            ),
        ),
        lifecycle::InitOutcome::NotRequired => (false, "not required".to_string()),
    };
    report_deploy(lc, name, &step, &plan, initialized, sink)?;
    Ok(Some(detail))
}

/// What the deploy did to a chaincode, from its steps so far: reported as
/// [`Event::Deployed`] and kept in [`Lifecycle::reports`].
fn report_deploy(
    lc: &mut Lifecycle,
    name: &str,
    step: &str,
    plan: &Planned,
    initialized: bool,
    sink: &mut dyn Sink,
) -> Result<(), FlowError> {
    let spec = spec_of(&lc.specs, name)?;
    let def = &plan.definition;
    let committed = lc.committed.get(name).copied().unwrap_or(false);
    let report = lifecycle::DeployReport {
        package_id: spec.package_id.clone(),
        version: def.version.clone(),
        sequence: def.sequence,
        installed: lc.installed.get(name).cloned().unwrap_or_default(),
        approved: lc.approved.get(name).cloned().unwrap_or_default(),
        committed,
        initialized,
    };
    let outcome = match (report.unchanged(), committed, def.sequence) {
        (true, _, _) => DeployOutcome::Unchanged,
        (false, true, 1) => DeployOutcome::Deployed,
        (false, true, _) => DeployOutcome::Upgraded,
        (false, false, _) => DeployOutcome::Completed,
    };
    sink.emit(Event::Deployed {
        step: step.to_string(),
        chaincode: name.to_string(),
        channel: spec.channel.clone(),
        outcome,
        package_id: report.package_id.clone(),
        version: report.version.clone(),
        sequence: report.sequence,
        installed: report.installed.clone(),
        approved: report.approved.clone(),
        committed,
        initialized,
    });
    let channel = spec.channel.clone();
    lc.reports.push(ChaincodeReport {
        name: name.to_string(),
        channel,
        outcome,
        report,
    });
    Ok(())
}

/// A transaction function to call: submitted (`invoke`) or evaluated (`query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Submit (endorse, order, wait for the commit) rather than evaluate.
    pub submit: bool,
    pub chaincode: String,
    pub function: String,
    pub args: Vec<String>,
    /// Who calls; an empty org is the workspace's first org (Org1 in the
    /// default network).
    pub caller: Caller,
    /// Transient data (invoke only).
    pub transient: BTreeMap<String, Vec<u8>>,
    /// The channel; default the chaincode's in fabdev.yaml, else the
    /// workspace's only channel.
    pub channel: Option<String>,
}

impl Call {
    fn verb(&self) -> &'static str {
        if self.submit { "invoke" } else { "query" }
    }

    fn step_name(&self) -> String {
        format!("{} {} {}", self.verb(), self.chaincode, self.function)
    }
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResult {
    /// The committed transaction's ID (`invoke` only).
    pub transaction_id: Option<String>,
    pub result: Vec<u8>,
}

/// The state the steps of the chaincode commands share.
#[derive(Debug)]
pub struct ChaincodeRun {
    pub ctx: Context,
    given: Option<Endpoints>,
    endpoints: Option<Endpoints>,
    /// Port-forwards behind `endpoints`, open while the run lasts.
    forwards: Vec<k8s::Forward>,
    selection: Selection,
    pub lifecycle: Lifecycle,
    call: Option<Call>,
    pub call_result: Option<CallResult>,
}

impl HasLifecycle for ChaincodeRun {
    fn parts(&mut self) -> (&Context, Option<&Endpoints>, &mut Lifecycle) {
        (&self.ctx, self.endpoints.as_ref(), &mut self.lifecycle)
    }
}

impl ChaincodeRun {
    fn new(ctx: Context, given: Option<Endpoints>) -> ChaincodeRun {
        ChaincodeRun {
            ctx,
            given,
            endpoints: None,
            forwards: Vec::new(),
            selection: Selection::default(),
            lifecycle: Lifecycle::default(),
            call: None,
            call_result: None,
        }
    }
}

fn endpoints_step() -> Step<ChaincodeRun> {
    Step::new("node endpoints", |r, _, s| Box::pin(node_endpoints(r, s)))
}

/// The given endpoints, else the cluster's, else the host ports.
async fn node_endpoints(run: &mut ChaincodeRun, _: &mut dyn Sink) -> StepResult {
    let (endpoints, forwards, detail) = resolve(&run.ctx, run.given.take()).await?;
    run.endpoints = Some(endpoints);
    run.forwards = forwards;
    Ok(Some(detail))
}

/// The steps of a lifecycle command after `workspace`.
pub fn steps(ctx: &Context, command: Command, sel: &Selection) -> Vec<Step<ChaincodeRun>> {
    let mut steps = vec![
        endpoints_step(),
        Step::new("chaincodes", |r, _, s| Box::pin(chaincodes_step(r, s))),
    ];
    steps.extend(lifecycle_steps(ctx, &sel.names(ctx), command));
    steps
}

/// The chaincodes the command acts on, checked.
async fn chaincodes_step(run: &mut ChaincodeRun, _: &mut dyn Sink) -> StepResult {
    let selected = select(&run.ctx, &run.selection)?;
    let detail = selected
        .iter()
        .map(|c| {
            format!(
                "{} ({}, {}) on {}",
                c.name,
                c.lang,
                c.path.display(),
                c.channel
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    run.lifecycle.no_vendor = run.selection.no_vendor;
    run.lifecycle.chaincodes = selected.into_iter().map(|c| (c.name.clone(), c)).collect();
    Ok(Some(detail))
}

/// `fabdev chaincode deploy|install|approve|commit|instantiate`: what each
/// selected chaincode's last step left it as. Through `endpoints` when
/// given, else the cluster's, else the host ports.
pub async fn run_lifecycle(
    opts: &Options<impl Runner>,
    command: Command,
    selection: Selection,
    endpoints: Option<Endpoints>,
    sink: &mut dyn Sink,
) -> Result<Vec<ChaincodeReport>, FlowError> {
    let steps = |ctx: &Context| steps(ctx, command, &selection);
    let run = run_flow(opts, sink, steps, |ctx| {
        let mut run = ChaincodeRun {
            selection: selection.clone(),
            ..ChaincodeRun::new(ctx, endpoints)
        };
        run.lifecycle.init_after_commit = command.inits();
        run
    })
    .await?;
    Ok(run.lifecycle.reports)
}

/// The steps of `invoke` / `query` after `workspace`.
pub fn call_steps(call: &Call) -> Vec<Step<ChaincodeRun>> {
    vec![
        endpoints_step(),
        Step::new(call.step_name(), |r, _, s| Box::pin(call_step(r, s))),
    ]
}

/// `fabdev chaincode invoke|query`.
pub async fn call(
    opts: &Options<impl Runner>,
    call: Call,
    endpoints: Option<Endpoints>,
    sink: &mut dyn Sink,
) -> Result<CallResult, FlowError> {
    let steps = call_steps(&call);
    let run = run_flow(
        opts,
        sink,
        |_| steps,
        |ctx| ChaincodeRun {
            call: Some(call),
            ..ChaincodeRun::new(ctx, endpoints)
        },
    )
    .await?;
    Ok(run.call_result.unwrap_or_default())
}

async fn call_step(run: &mut ChaincodeRun, sink: &mut dyn Sink) -> StepResult {
    let endpoints = made(&run.endpoints, "the node endpoints")?;
    let call = made(&run.call, "the call")?;
    let ctx = &run.ctx;
    let mut caller = call.caller.clone();
    if caller.org.is_empty()
        && let Some(first) = ctx.ws.orgs.first()
    {
        caller.org = first.name.clone();
    }
    // Checked before anything is dialled: an org that is not there is bad input.
    lifecycle::caller_peer(&ctx.ws, &ctx.topo, &caller)?;
    let channel = match (
        &call.channel,
        ctx.ws.chaincodes.iter().find(|c| c.name == call.chaincode),
    ) {
        (Some(c), _) => channel_for(ctx, Some(c), &call.chaincode)?,
        (None, Some(cc)) => cc.channel.clone(),
        (None, None) => channel_for(ctx, None, &call.chaincode)?,
    };
    let result = if call.submit {
        let s = lifecycle::invoke(
            &ctx.ws,
            &ctx.topo,
            &ctx.crypto,
            endpoints,
            &caller,
            &channel,
            &call.chaincode,
            &call.function,
            &call.args,
            &call.transient,
        )
        .await?;
        CallResult {
            transaction_id: Some(s.transaction_id),
            result: s.result,
        }
    } else {
        let r = lifecycle::query(
            &ctx.ws,
            &ctx.topo,
            &ctx.crypto,
            endpoints,
            &caller,
            &channel,
            &call.chaincode,
            &call.function,
            &call.args,
        )
        .await?;
        CallResult {
            transaction_id: None,
            result: r,
        }
    };
    let detail = match &result.transaction_id {
        Some(tx) => format!("transaction {tx} committed on {channel}"),
        None => format!(
            "{} bytes from {channel} as {} {}",
            result.result.len(),
            caller.org,
            caller.user
        ),
    };
    sink.emit(Event::TxResult {
        step: call.step_name(),
        chaincode: call.chaincode.clone(),
        function: call.function.clone(),
        transaction_id: result.transaction_id.clone(),
        result: String::from_utf8_lossy(&result.result).into_owned(),
        json: serde_json::from_slice(&result.result).ok(),
    });
    run.call_result = Some(result);
    Ok(Some(detail))
}

/// The steps of `list` after `workspace`.
pub fn list_steps(ctx: &Context) -> Vec<Step<ChaincodeRun>> {
    let mut steps = vec![
        endpoints_step(),
        Step::new("installed packages", |r, _, s| {
            Box::pin(installed_step(r, s))
        }),
    ];
    for ch in &ctx.ws.channels {
        steps.push(Step::on(
            format!("committed on {}", ch.name),
            &ch.name,
            |r, i, s| Box::pin(committed_step(r, i, s)),
        ));
    }
    steps
}

/// `fabdev chaincode list`: the packages on each peer, the definitions on
/// each channel (as [`Event::InstalledPackages`] and
/// [`Event::CommittedChaincodes`]).
pub async fn list(
    opts: &Options<impl Runner>,
    endpoints: Option<Endpoints>,
    sink: &mut dyn Sink,
) -> Result<(), FlowError> {
    run_flow(opts, sink, list_steps, |ctx| {
        ChaincodeRun::new(ctx, endpoints)
    })
    .await?;
    Ok(())
}

async fn installed_step(run: &mut ChaincodeRun, sink: &mut dyn Sink) -> StepResult {
    let endpoints = made(&run.endpoints, "the node endpoints")?;
    let ctx = &run.ctx;
    let mut total = 0;
    let mut peers = 0;
    for peer in ctx.topo.peers() {
        let c = lifecycle::connect(peer, endpoints, &ctx.crypto, ADMIN).await?;
        let packages: Vec<InstalledPackage> = c
            .installed(lifecycle::CALL_TIMEOUT)
            .await?
            .into_iter()
            .map(|i| InstalledPackage {
                package_id: i.package_id,
                label: i.label,
            })
            .collect();
        total += packages.len();
        peers += 1;
        sink.emit(Event::InstalledPackages {
            step: "installed packages".into(),
            peer: peer.name.clone(),
            packages,
        });
    }
    Ok(Some(format!("{total} packages on {peers} peers")))
}

async fn committed_step(run: &mut ChaincodeRun, channel: &str, sink: &mut dyn Sink) -> StepResult {
    let endpoints = made(&run.endpoints, "the node endpoints")?;
    let ctx = &run.ctx;
    let spec = ctx.ws.channel(channel).ok_or_else(|| {
        FlowError::Lifecycle(lifecycle::LifecycleError::UnknownChannel {
            channel: channel.to_string(),
        })
    })?;
    let peer = spec
        .orgs
        .iter()
        .find_map(|o| ctx.topo.peers_of(o).next())
        .ok_or_else(|| {
            FlowError::Lifecycle(lifecycle::LifecycleError::NoPeer {
                org: spec.orgs.join(", "),
                channel: channel.to_string(),
            })
        })?;
    let c = lifecycle::connect(peer, endpoints, &ctx.crypto, ADMIN).await?;
    let mut chaincodes = Vec::new();
    for d in c.committed_all(channel, lifecycle::CALL_TIMEOUT).await? {
        let approvals = c
            .committed(channel, &d.name, lifecycle::CALL_TIMEOUT)
            .await?
            .map(|c| c.approvals)
            .unwrap_or_default();
        chaincodes.push(CommittedChaincode {
            name: d.name,
            version: d.version,
            sequence: d.sequence,
            init_required: d.init_required,
            approvals,
        });
    }
    let detail = format!("{} chaincodes, asked {}", chaincodes.len(), peer.name);
    sink.emit(Event::CommittedChaincodes {
        step: format!("committed on {channel}"),
        channel: channel.to_string(),
        chaincodes,
    });
    Ok(Some(detail))
}
