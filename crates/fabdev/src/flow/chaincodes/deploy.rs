//! The deploy steps of one chaincode: `package X`, `install X`, `approve X`,
//! `commit X` and, with `initRequired`, `init X`, over one record per
//! chaincode ([`Deployment`]). `fabdev chaincode deploy` and its subsets
//! run them, and `up` ends with them, through [`Deploys`].

use std::collections::BTreeMap;

use chaincode::lifecycle::{self, ChannelAdmins, DeploySpec, LifecycleEvent, Planned};
use chaincode::package::{PackageOptions, package_dir};
use network::spec::{Chaincode, Lang};

use super::images::cluster_images;
use crate::events::{ChaincodeAction, DeployOutcome, EventKind, Meter, Sink};
use crate::flow::steps::{Step, StepResult, earlier, step};
use crate::flow::{Connections, Context, FlowError};

/// A lifecycle command: which of the deploy steps it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleCommand {
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

impl LifecycleCommand {
    /// The stages, `Init` included (it runs only for chaincodes that
    /// require it).
    fn stages(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            LifecycleCommand::Deploy => &[Package, Install, Approve, Commit, Init, Start],
            LifecycleCommand::Install => &[Package, Install],
            LifecycleCommand::Approve => &[Package, Approve],
            LifecycleCommand::Commit => &[Package, Commit],
            LifecycleCommand::Instantiate => &[Package, Approve, Commit, Init],
        }
    }

    /// Whether an `init X` step follows `commit X`.
    pub(crate) fn inits(self) -> bool {
        self.stages().contains(&Stage::Init)
    }

    /// The command as the CLI names it (`chaincode deploy`, …).
    pub fn command_name(self) -> &'static str {
        match self {
            LifecycleCommand::Deploy => "chaincode deploy",
            LifecycleCommand::Install => "chaincode install",
            LifecycleCommand::Approve => "chaincode approve",
            LifecycleCommand::Commit => "chaincode commit",
            LifecycleCommand::Instantiate => "chaincode instantiate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Package,
    Install,
    Approve,
    Commit,
    Init,
    /// Every peer asked to run the chaincode now (`start X`).
    Start,
}

/// What a deploy (or its last step that ran) did to one chaincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeReport {
    pub name: String,
    pub channel: String,
    pub outcome: DeployOutcome,
    pub report: lifecycle::DeployReport,
}

/// One chaincode as its deploy steps find and leave it.
#[derive(Debug)]
struct Deployment {
    chaincode: Chaincode,
    /// Made by `package X`: the package, its ID and the definition's inputs.
    package: Option<DeploySpec>,
    /// The definition to approve and commit, planned on first use.
    plan: Option<Planned>,
    /// Peers that installed the package now.
    installed: Vec<String>,
    /// Orgs that approved the definition now.
    approved: Vec<String>,
    /// Whether the definition was committed now.
    committed: bool,
}

impl Deployment {
    fn package(&self) -> Result<&DeploySpec, FlowError> {
        earlier(&self.package, "the chaincode's package")
    }

    /// The planned definition, asked of the peers once.
    async fn plan(&mut self, admins: &ChannelAdmins) -> Result<Planned, FlowError> {
        if self.plan.is_none() {
            self.plan = Some(lifecycle::plan(admins, self.package()?).await?);
        }
        earlier(&self.plan, "the planned definition").cloned()
    }
}

/// The deploy steps' part of a flow's state: a record per chaincode, one
/// admin connection per peer of each channel, and what each deploy did.
#[derive(Debug, Default)]
pub struct Deployments {
    chaincodes: BTreeMap<String, Deployment>,
    /// Channel → its admin connections, made on first use.
    admins: BTreeMap<String, ChannelAdmins>,
    pub(crate) no_vendor: bool,
    /// Whether an `init X` step follows `commit X` (deploy, instantiate,
    /// up): then that step, not the commit, reports the deploy.
    pub(crate) init_after_commit: bool,
    pub reports: Vec<ChaincodeReport>,
}

impl Deployments {
    /// For `up`: every chaincode of fabdev.yaml.
    pub(crate) fn of_workspace(ctx: &Context) -> Deployments {
        let mut d = Deployments {
            init_after_commit: true,
            ..Deployments::default()
        };
        d.select(ctx.ws.chaincodes.clone());
        d
    }

    /// The chaincodes to deploy.
    pub(crate) fn select(&mut self, chaincodes: Vec<Chaincode>) {
        self.chaincodes = chaincodes
            .into_iter()
            .map(|c| {
                let d = Deployment {
                    chaincode: c,
                    package: None,
                    plan: None,
                    installed: Vec::new(),
                    approved: Vec::new(),
                    committed: false,
                };
                (d.chaincode.name.clone(), d)
            })
            .collect();
    }

    /// The admin connections of the channel of chaincode `name`, made by
    /// its deploy steps.
    pub(crate) fn admins_of(&self, name: &str) -> Result<&ChannelAdmins, FlowError> {
        let d = self.chaincodes.get(name).ok_or(FlowError::StepOrder {
            what: "the chaincode's spec",
        })?;
        let channel = &d.package()?.channel;
        self.admins.get(channel).ok_or(FlowError::StepOrder {
            what: "the channel's admin connections",
        })
    }

    fn get(&mut self, name: &str) -> Result<&mut Deployment, FlowError> {
        self.chaincodes.get_mut(name).ok_or(FlowError::StepOrder {
            what: "the chaincode's spec",
        })
    }
}

/// What the deploy steps work on: the workspace, the run's connections
/// (the node endpoints, the cluster's client) and the deployments.
pub(crate) struct DeployParts<'a> {
    pub ctx: &'a Context,
    pub conn: &'a mut Connections,
    pub deployments: &'a mut Deployments,
}

/// A flow state that runs the deploy steps.
pub(crate) trait Deploys: Send {
    fn deploy_parts(&mut self) -> DeployParts<'_>;
}

/// The deploy steps of `command` for each of `names`; `init X` only for a
/// chaincode that fabdev.yaml says requires it.
pub(crate) fn deploy_steps<S: Deploys>(
    ctx: &Context,
    names: &[String],
    command: LifecycleCommand,
) -> Vec<Step<S>> {
    let mut steps = Vec::new();
    for name in names {
        let init_required = ctx
            .ws
            .chaincodes
            .iter()
            .any(|c| &c.name == name && c.init_required);
        for stage in command.stages() {
            steps.push(match stage {
                Stage::Package => step!(format!("package {name}"), name => package_step),
                Stage::Install => step!(format!("install {name}"), name => install_step),
                Stage::Approve => step!(format!("approve {name}"), name => approve_step),
                Stage::Commit => step!(format!("commit {name}"), name => commit_step),
                Stage::Init if init_required => step!(format!("init {name}"), name => init_step),
                Stage::Init => continue,
                Stage::Start => step!(format!("start {name}"), name => start_step),
            });
        }
    }
    steps
}

/// The chaincode's package: a vendored copy for Go (unless `--no-vendor`,
/// a `vendor/` folder, or no `go` on PATH), labelled as fabdev.yaml says.
async fn package_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let parts = run.deploy_parts();
    let no_vendor = parts.deployments.no_vendor;
    let deployment = parts.deployments.get(name)?;
    let cc = deployment.chaincode.clone();
    let vendor = !no_vendor && cc.lang == Lang::Go && chaincode::vendor::needs_vendoring(&cc.path);
    if vendor {
        sink.send(EventKind::Progress {
            message: format!("go mod vendor in a copy of {}", cc.path.display()),
        });
    }
    // Node chaincode with a build step (TypeScript): built first.
    let build = match cc.lang {
        Lang::Node => chaincode::nodebuild::build_step(&cc.path)?,
        Lang::Go => None,
    };
    if let Some(b) = &build {
        sink.send(EventKind::Progress {
            message: format!(
                "{} ({}) in a copy of {}",
                b.command.join(" "),
                b.reasons.join(", "),
                cc.path.display()
            ),
        });
    }
    let (label, lang, dir) = (cc.label(), cc.lang, cc.path.clone());
    // Dropping this future (Ctrl-C, SIGTERM, SIGHUP) does not end the
    // blocking thread: the guard tells it to kill `go mod vendor` and
    // remove the copy (the chaincode's `.env` files too), rather than
    // leave the copy in /tmp or hold the exit until `go` ends.
    let stop = StopOnDrop::default();
    let stop_flag = stop.0.clone();
    let (pkg, vendored, built) = tokio::task::spawn_blocking(move || {
        let copy = if vendor {
            chaincode::vendor::vendored_copy_until(&dir, &stop_flag)?
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
    sink.send(EventKind::Packaged {
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
    deployment.package = Some(DeploySpec::of(&cc, pkg.bytes, pkg.id));
    Ok(Some(detail))
}

/// Sets its flag when dropped: how an async step stops the blocking work it
/// started when the step's future is dropped.
#[derive(Default)]
struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// What the install, approve, commit and init steps of a chaincode start
/// from: its record (packaged by an earlier step) and the admin
/// connections of its channel, made on first use.
async fn on_channel<'a>(
    ctx: &Context,
    conn: &Connections,
    deployments: &'a mut Deployments,
    name: &str,
) -> Result<(&'a ChannelAdmins, &'a mut Deployment), FlowError> {
    let endpoints = conn.endpoints()?;
    let deployment = deployments
        .chaincodes
        .get_mut(name)
        .ok_or(FlowError::StepOrder {
            what: "the chaincode's spec",
        })?;
    let channel = deployment.package()?.channel.clone();
    let admins = &mut deployments.admins;
    if !admins.contains_key(&channel) {
        let a =
            ChannelAdmins::connect(&ctx.ws, &ctx.topo, &ctx.crypto, endpoints, &channel).await?;
        admins.insert(channel.clone(), a);
    }
    let admins = admins.get(&channel).ok_or(FlowError::StepOrder {
        what: "the channel's admin connections",
    })?;
    Ok((admins, deployment))
}

/// A lifecycle event of the running step as an [`EventKind::Chaincode`].
fn chaincode_event(chaincode: &str, ev: LifecycleEvent) -> EventKind {
    use ChaincodeAction as A;
    let (action, peer, org, sequence) = match ev {
        LifecycleEvent::Built { bytes, took } => {
            return EventKind::Progress {
                message: format!(
                    "built once by fabdev in {:.1} s ({bytes} bytes of output)",
                    took.as_secs_f64()
                ),
            };
        }
        LifecycleEvent::NotBuilt { reason } => {
            return EventKind::Progress {
                message: format!("every peer builds it: {reason}"),
            };
        }
        LifecycleEvent::SeedingBuilder { image, peers } => {
            return EventKind::Progress {
                message: format!(
                    "fabdev cannot build it here: copying the builder image {image} into the daemons of {} first",
                    peers.join(", ")
                ),
            };
        }
        LifecycleEvent::SeedingRuntime { image, peers } => {
            return EventKind::Progress {
                message: format!(
                    "copying {image}, what this chaincode runs on, into the daemons of {} first",
                    peers.join(", ")
                ),
            };
        }
        LifecycleEvent::RuntimeSeeded {
            image,
            copied,
            took,
        } => {
            return EventKind::Progress {
                message: format!(
                    "{image} copied into {} in {:.1} s",
                    copied.join(", "),
                    took.as_secs_f64()
                ),
            };
        }
        LifecycleEvent::SeedProgress {
            image,
            bytes_done,
            bytes_expected,
        } => {
            return EventKind::Transfer {
                item: image,
                done: bytes_done,
                total: bytes_expected,
            };
        }
        LifecycleEvent::BuilderSeeded {
            image,
            copied,
            took,
        } => {
            let into = if copied.is_empty() {
                "present in every daemon already".to_string()
            } else {
                format!(
                    "copied into {} in {:.1} s",
                    copied.join(", "),
                    took.as_secs_f64()
                )
            };
            return EventKind::Progress {
                message: format!("builder image {image} {into}"),
            };
        }
        LifecycleEvent::ImagePlaced { peer, took } => {
            return EventKind::Progress {
                message: format!(
                    "image made in {peer}'s daemon in {:.1} s",
                    took.as_secs_f64()
                ),
            };
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
    EventKind::Chaincode {
        chaincode: chaincode.to_string(),
        action,
        peer,
        org,
        sequence,
    }
}

/// The package on every peer of the channel's orgs that lacks it; each
/// peer builds the chaincode in its own Docker daemon (once, when the
/// peers' daemons can be reached: see `images::cluster_images`).
async fn install_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let DeployParts {
        ctx,
        conn,
        deployments,
    } = run.deploy_parts();
    let images = cluster_images(ctx, conn).await?;
    let (admins, deployment) = on_channel(ctx, conn, deployments, name).await?;
    let peers = admins.peers().count();
    let images = images.as_ref().map(|i| i as &dyn lifecycle::PeerImages);
    // What the chaincode runs on is copied into the daemons that lack it
    // (`up` copies the runtimes of fabdev.yaml's languages only); when
    // fabdev cannot build, the peers build, and a builder image their
    // daemons lack is copied in first (`up` leaves Go's out while fabdev
    // builds Go); bytes are reported every 5 %.
    let mut meter = Meter::new();
    let installed =
        lifecycle::install_all(admins, deployment.package()?, images, &mut |e| match e {
            LifecycleEvent::SeedProgress {
                image,
                bytes_done,
                bytes_expected,
            } => {
                if let Some(ev) = meter.update(&image, bytes_done, bytes_expected) {
                    sink.send(ev)
                }
            }
            e => sink.send(chaincode_event(name, e)),
        })
        .await?;
    let detail = if installed.is_empty() {
        format!("installed already on every peer ({peers})")
    } else {
        format!("installed on {}", installed.join(", "))
    };
    deployment.installed = installed;
    Ok(Some(detail))
}

/// Each org's approval of the definition, where it differs: the committed
/// sequence for an unchanged package, the next one for a changed package.
async fn approve_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let DeployParts {
        ctx,
        conn,
        deployments,
    } = run.deploy_parts();
    let (admins, deployment) = on_channel(ctx, conn, deployments, name).await?;
    let plan = deployment.plan(admins).await?;
    let def = &plan.definition;
    let approved = lifecycle::approve_all(admins, deployment.package()?, def, &mut |e| {
        sink.send(chaincode_event(name, e))
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
    deployment.approved = approved;
    Ok(Some(detail))
}

/// The definition committed on the channel, unless it is already; then
/// what the deploy did to the chaincode (unless `init X` follows).
async fn commit_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let DeployParts {
        ctx,
        conn,
        deployments,
    } = run.deploy_parts();
    let init_after_commit = deployments.init_after_commit;
    let (admins, deployment) = on_channel(ctx, conn, deployments, name).await?;
    let plan = deployment.plan(admins).await?;
    let spec = deployment.package()?;
    let committed = lifecycle::commit_definition(admins, spec, &plan, &mut |e| {
        sink.send(chaincode_event(name, e))
    })
    .await?;
    // The record of what the network runs follows (`up`'s plan reads it).
    crate::flow::plan::record_chaincode(&ctx.state_dir, &deployment.chaincode)?;
    let def = &plan.definition;
    let detail = if committed {
        format!("sequence {} committed on {}", def.sequence, spec.channel)
    } else {
        format!(
            "sequence {} committed already on {}",
            def.sequence, spec.channel
        )
    };
    let init_follows = init_after_commit && spec.init_required;
    deployment.committed = committed;
    if !init_follows {
        let report = report_deploy(deployment, &plan, false, sink)?;
        deployments.reports.push(report);
    }
    Ok(Some(detail))
}

/// The chaincode's `Init`, once (`initRequired`): the peer refuses a second
/// `Init` of a version, so a re-deploy does not run it again and a failed
/// one runs on the next deploy. Then what the deploy did.
async fn init_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let DeployParts {
        ctx,
        conn,
        deployments,
    } = run.deploy_parts();
    let (admins, deployment) = on_channel(ctx, conn, deployments, name).await?;
    let plan = deployment.plan(admins).await?;
    let outcome = lifecycle::init(admins, deployment.package()?, &plan, &mut |e| {
        sink.send(chaincode_event(name, e))
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
    let report = report_deploy(deployment, &plan, initialized, sink)?;
    deployments.reports.push(report);
    Ok(Some(detail))
}

/// The `start X` step: every peer of the channel asked at once to run the
/// chaincode (`chaincode::lifecycle::launch_all`), so that each launches
/// it now rather than on the user's first call; done when each answers.
async fn start_step<S: Deploys>(run: &mut S, name: &str, sink: &mut dyn Sink) -> StepResult {
    let DeployParts {
        ctx,
        conn,
        deployments,
    } = run.deploy_parts();
    on_channel(ctx, conn, deployments, name).await?;
    let admins = deployments.admins_of(name)?;
    let launches = lifecycle::launch_all(admins, name).await;
    let mut answered = Vec::new();
    let mut failed = None;
    for l in launches {
        match l.result {
            Ok(()) => {
                sink.send(EventKind::Progress {
                    message: format!("{} answers ({:.1} s)", l.peer, l.took.as_secs_f64()),
                });
                answered.push(format!("{} {:.1} s", l.peer, l.took.as_secs_f64()));
            }
            Err(e) => {
                failed.get_or_insert((l.peer, e));
            }
        }
    }
    if let Some((peer, source)) = failed {
        return Err(FlowError::NotRunning {
            chaincode: name.to_string(),
            peer,
            source: Box::new(source),
        });
    }
    Ok(Some(format!("answering on {}", answered.join(", "))))
}

/// What the deploy did to a chaincode, from its steps so far: reported as
/// [`EventKind::Deployed`], and returned for [`Deployments::reports`].
fn report_deploy(
    deployment: &Deployment,
    plan: &Planned,
    initialized: bool,
    sink: &mut dyn Sink,
) -> Result<ChaincodeReport, FlowError> {
    let spec = deployment.package()?;
    let def = &plan.definition;
    let committed = deployment.committed;
    let report = lifecycle::DeployReport {
        package_id: spec.package_id.clone(),
        version: def.version.clone(),
        sequence: def.sequence,
        installed: deployment.installed.clone(),
        approved: deployment.approved.clone(),
        committed,
        initialized,
    };
    let outcome = match (report.unchanged(), committed, def.sequence) {
        (true, _, _) => DeployOutcome::Unchanged,
        (false, true, 1) => DeployOutcome::Deployed,
        (false, true, _) => DeployOutcome::Upgraded,
        (false, false, _) => DeployOutcome::Completed,
    };
    sink.send(EventKind::Deployed {
        chaincode: deployment.chaincode.name.clone(),
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
    Ok(ChaincodeReport {
        name: deployment.chaincode.name.clone(),
        channel: spec.channel.clone(),
        outcome,
        report,
    })
}
