//! Running the commands. Results go to stdout, progress and notes to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use network::render;
use network::spec::{self, Lang, Provider};

use crate::cli::{
    CallArgs, ChaincodeCommand, ChannelCommand, Cli, Command, DoctorArgs, Format, InitArgs,
    LangArg, LifecycleArgs, PackageArgs, ProviderArg, RenderArgs, StatusArgs,
};
use crate::error::CliError;
use crate::output::{StdoutErrors, results_stdout, stdout_write};
use chaincode::lifecycle::Caller;
use fabdev::events::{Event, JsonReporter, Sink, TextReporter, Verbosity};
use fabdev::flow::chaincode::{Call, Command as LifecycleCommand, Selection};
use fabdev::flow::{self, Context, STATE_DIR};
use fabdev::lock::WorkspaceLock;

/// Progress notes on stderr, silenced by `-q`.
struct Notes {
    quiet: bool,
}

impl Notes {
    fn say(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let ws_dir = cli.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let notes = Notes { quiet: cli.quiet };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    let spec = cli.spec.as_deref();
    let flags = flow::ClusterFlags {
        provider: cli.provider.map(|p| match p {
            ProviderArg::Kind => Provider::Kind,
            ProviderArg::Existing => Provider::Existing,
        }),
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        load_images: false,
    };
    let flags = &flags;
    match cli.command {
        Command::Init(args) => init(&ws_dir, &args, &notes),
        Command::Render(args) => render_cmd(&ws_dir, spec, flags, &args, &notes),
        Command::Chaincode(ChaincodeCommand::Package(args)) => package(&args, &notes),
        Command::Up(args) => {
            let flags = &flow::ClusterFlags {
                load_images: args.load_images,
                ..flags.clone()
            };
            let mut opts = flow_options(&ws_dir, spec, flags, args.kind.clone());
            opts.wait_timeout = Duration::from_secs(args.timeout);
            let _lock = lock_if_good(&ws_dir, spec, flags, "up", opts.wait_timeout, &notes)?;
            run_flow(args.output, verbosity, "up", |sink| {
                Box::pin(async move { flow::up(&opts, sink).await.map(drop) })
            })
        }
        Command::Down(args) => {
            let opts = flow_options(&ws_dir, spec, flags, args.kind.clone());
            let (keep, purge) = (args.keep_cluster, args.purge);
            let _lock = lock_if_good(&ws_dir, spec, flags, "down", LOCK_WAIT, &notes)?;
            run_flow(args.output, verbosity, "down", |sink| {
                Box::pin(async move { flow::down(&opts, keep, purge, sink).await.map(drop) })
            })
        }
        Command::Status(StatusArgs { output, kind }) => {
            let opts = flow_options(&ws_dir, spec, flags, kind);
            run_flow(output, verbosity, "status", |sink| {
                Box::pin(async move { flow::status(&opts, sink).await.map(drop) })
            })
        }
        Command::Doctor(args) => doctor(&ws_dir, spec, flags, &args, verbosity),
        Command::Channel(ChannelCommand::Create { name, output }) => {
            let opts = flow_options(&ws_dir, spec, flags, None);
            run_flow(output, verbosity, "channel create", |sink| {
                Box::pin(async move {
                    flow::create_channels(&opts, name.as_deref(), None, sink)
                        .await
                        .map(drop)
                })
            })
        }
        Command::Chaincode(ChaincodeCommand::Deploy(a)) => lifecycle(
            &ws_dir,
            spec,
            flags,
            verbosity,
            &notes,
            LifecycleCommand::Deploy,
            a,
        ),
        Command::Chaincode(ChaincodeCommand::Install(a)) => lifecycle(
            &ws_dir,
            spec,
            flags,
            verbosity,
            &notes,
            LifecycleCommand::Install,
            a,
        ),
        Command::Chaincode(ChaincodeCommand::Approve(a)) => lifecycle(
            &ws_dir,
            spec,
            flags,
            verbosity,
            &notes,
            LifecycleCommand::Approve,
            a,
        ),
        Command::Chaincode(ChaincodeCommand::Commit(a)) => lifecycle(
            &ws_dir,
            spec,
            flags,
            verbosity,
            &notes,
            LifecycleCommand::Commit,
            a,
        ),
        Command::Chaincode(ChaincodeCommand::Instantiate(a)) => lifecycle(
            &ws_dir,
            spec,
            flags,
            verbosity,
            &notes,
            LifecycleCommand::Instantiate,
            a,
        ),
        Command::Chaincode(ChaincodeCommand::Invoke(a)) => {
            let transient = a
                .transient
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            call(&ws_dir, spec, flags, verbosity, true, a.call, transient)
        }
        Command::Chaincode(ChaincodeCommand::Query(a)) => call(
            &ws_dir,
            spec,
            flags,
            verbosity,
            false,
            a.call,
            Default::default(),
        ),
        Command::Chaincode(ChaincodeCommand::List { output }) => {
            let opts = flow_options(&ws_dir, spec, flags, None);
            run_flow(output, verbosity, "chaincode list", |sink| {
                Box::pin(async move { flow::chaincode::list(&opts, None, sink).await })
            })
        }
        Command::Chaincode(ChaincodeCommand::Logs {
            name,
            peer,
            follow,
            tail,
            output,
        }) => {
            let opts = flow_options(&ws_dir, spec, flags, None);
            let request = flow::logs::LogsRequest {
                name,
                peer,
                follow,
                tail,
                local_daemons: Default::default(),
            };
            run_flow(output, verbosity, "chaincode logs", |sink| {
                Box::pin(async move { flow::logs::logs(&opts, request, sink).await })
            })
        }
    }
}

/// A lifecycle command. It changes the network, so it takes the
/// workspace's lock as `up` does (which deploys too); `invoke`, `query` and
/// `list` do not.
fn lifecycle(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    verbosity: Verbosity,
    notes: &Notes,
    command: LifecycleCommand,
    a: LifecycleArgs,
) -> Result<(), CliError> {
    let opts = flow_options(ws_dir, spec, flags, None);
    let selection = Selection {
        name: a.name,
        path: a.path,
        channel: a.channel,
        no_vendor: a.no_vendor,
    };
    let name = match command {
        LifecycleCommand::Deploy => "chaincode deploy",
        LifecycleCommand::Install => "chaincode install",
        LifecycleCommand::Approve => "chaincode approve",
        LifecycleCommand::Commit => "chaincode commit",
        LifecycleCommand::Instantiate => "chaincode instantiate",
    };
    let _lock = lock_if_good(ws_dir, spec, flags, name, LOCK_WAIT, notes)?;
    run_flow(a.output, verbosity, name, |sink| {
        Box::pin(async move {
            flow::chaincode::run_lifecycle(&opts, command, selection, None, sink)
                .await
                .map(drop)
        })
    })
}

fn call(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    verbosity: Verbosity,
    submit: bool,
    a: CallArgs,
    transient: std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(), CliError> {
    let opts = flow_options(ws_dir, spec, flags, None);
    // Empty: the flow takes the workspace's first org (Org1 by default).
    let org = a.org.unwrap_or_default();
    let call = Call {
        submit,
        chaincode: a.name,
        function: a.function,
        args: a.args,
        caller: Caller { org, user: a.user },
        transient,
        channel: a.channel,
    };
    let name = if submit {
        "chaincode invoke"
    } else {
        "chaincode query"
    };
    run_flow(a.output, verbosity, name, |sink| {
        Box::pin(async move {
            flow::chaincode::call(&opts, call, None, sink)
                .await
                .map(drop)
        })
    })
}

/// How long `render`, `down` and the chaincode lifecycle commands wait for
/// another command in the workspace
/// (`up` waits as long as its `--timeout`).
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// One writer per workspace (see `fabdev::lock`): the commands that write
/// into `.fabdev/` take its lock once their input is known to be good, so
/// bad input writes nothing at all, not even the lock file. A second
/// command waits, saying for whom.
fn lock(
    ws_dir: &Path,
    command: &str,
    deadline: Duration,
    notes: &Notes,
) -> Result<WorkspaceLock, CliError> {
    Ok(fabdev::lock::lock_workspace(
        ws_dir,
        command,
        deadline,
        |line| notes.say(&format!(" … {line}")),
    )?)
}

/// The lock for a flow: taken when the workspace loads; when it does not,
/// none is taken and the flow's workspace step reports why (through the
/// reporter, exit 2) before anything is written.
fn lock_if_good(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    command: &str,
    deadline: Duration,
    notes: &Notes,
) -> Result<Option<WorkspaceLock>, CliError> {
    match Context::load_with(ws_dir, spec, flags) {
        Ok(_) => lock(ws_dir, command, deadline, notes).map(Some),
        Err(_) => Ok(None),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            action: "cannot start the async runtime in",
            path: PathBuf::from("."),
            source,
        })
}

/// The reporter of `format`: JSON lines on stdout, or text lines on stderr
/// with results (a status, doctor checks) on stdout. What goes to stdout
/// must get there: [`StdoutErrors::check`] says whether it did.
fn reporter(format: Format, verbosity: Verbosity) -> (Box<dyn Sink>, StdoutErrors) {
    use std::io::IsTerminal;
    let (stdout, errors) = results_stdout();
    let sink: Box<dyn Sink> = match format {
        Format::Json => Box::new(JsonReporter::new(stdout)),
        Format::Text => Box::new(
            TextReporter::new(
                std::io::stderr(),
                std::io::stderr().is_terminal(),
                verbosity,
            )
            .with_results(stdout),
        ),
    };
    (sink, errors)
}

fn doctor(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    args: &DoctorArgs,
    verbosity: Verbosity,
) -> Result<(), CliError> {
    use cluster::doctor::{self, DoctorInput, ExistingCluster, Verdict};
    let ctx = Context::load_with(ws_dir, spec, flags).map_err(CliError::of("doctor"))?;
    let mut host_ports = Vec::new();
    for n in &ctx.topo.nodes {
        host_ports.push(n.host_ports.grpc);
        host_ports.extend(n.host_ports.admin);
        host_ports.push(n.host_ports.operations);
    }
    let input = DoctorInput {
        kind: args.kind.clone(),
        host_ports,
        dind_image: ctx.ws.images.dind.clone(),
        fabric_tag: ctx.ws.fabric.tag.clone(),
        // Until `up` exists there is no cluster of fabdev's to hold the ports.
        cluster_exists: false,
        existing: match &ctx.target {
            flow::Target::Kind => None,
            flow::Target::Existing(access) => Some(ExistingCluster {
                access: access.clone(),
                namespace: ctx.ws.name.clone(),
            }),
        },
    };
    // The cluster checks speak TLS to the API server (as the flows do).
    network::channel::install_crypto_provider();
    let mut checks = runtime()?.block_on(doctor::run(&input));
    // Which exact Fabric release the images run (see spec::FABRIC_RELEASES).
    checks.insert(1, fabric_check(&ctx.ws));
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.name.as_str())
        .collect();
    let failed = failed.join(", ");
    let (mut sink, stdout) = reporter(args.output, verbosity);
    for c in checks {
        sink.emit(Event::Check(c));
    }
    drop(sink);
    stdout.check()?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Doctor { failed })
    }
}

/// doctor's `fabric` check: the exact Fabric release the peer and orderer
/// images run.
fn fabric_check(ws: &network::Workspace) -> cluster::doctor::Check {
    cluster::doctor::Check {
        name: "fabric".to_string(),
        verdict: cluster::doctor::Verdict::Ok,
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

fn flow_options(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    kind: Option<PathBuf>,
) -> flow::Options {
    let mut opts = flow::Options::new(ws_dir);
    opts.spec = spec.map(Path::to_path_buf);
    opts.cluster = flags.clone();
    opts.kind = kind;
    opts
}

type FlowFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), flow::FlowError>> + 'a>>;

/// Run a flow with the chosen reporter; Ctrl-C stops it between steps'
/// awaits, leaving a state the next run completes.
fn run_flow(
    format: Format,
    verbosity: Verbosity,
    command: &'static str,
    f: impl for<'a> FnOnce(&'a mut dyn Sink) -> FlowFuture<'a>,
) -> Result<(), CliError> {
    let (mut sink, stdout) = reporter(format, verbosity);
    let rt = runtime()?;
    rt.block_on(async {
        tokio::select! {
            r = f(sink.as_mut()) => r.map_err(CliError::of(command)),
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted { command }),
        }
    })?;
    drop(sink);
    stdout.check()
}

fn init(ws_dir: &Path, args: &InitArgs, notes: &Notes) -> Result<(), CliError> {
    if args.stdout {
        return stdout_write(spec::INIT_TEMPLATE.as_bytes());
    }
    let path = ws_dir.join(spec::SPEC_FILE);
    if path.exists() && !args.force {
        return Err(CliError::Exists {
            path,
            hint: "keep it, or run `fabdev init --force` to overwrite it with the default".into(),
        });
    }
    write_atomic(&path, spec::INIT_TEMPLATE.as_bytes())?;
    notes.say(&format!(" ✓ wrote {}", path.display()));
    let gitignore = ws_dir.join(".gitignore");
    let current = match std::fs::read_to_string(&gitignore) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(CliError::Io {
                action: "cannot read",
                path: gitignore,
                source,
            });
        }
    };
    // `.fabdev`, `.fabdev/`, `/.fabdev` or `/.fabdev/`.
    let has_entry = current.lines().any(|l| {
        let l = l.trim();
        l.strip_prefix('/').unwrap_or(l).trim_end_matches('/') == STATE_DIR
    });
    if !has_entry {
        let mut next = current.clone();
        if !next.is_empty() && !next.ends_with('\n') {
            next.push('\n');
        }
        next.push_str(&format!(
            "# fabdev state: crypto material, packages, kubeconfig\n{STATE_DIR}/\n"
        ));
        write_atomic(&gitignore, next.as_bytes())?;
        notes.say(&format!(" ✓ added {STATE_DIR}/ to {}", gitignore.display()));
    }
    Ok(())
}

/// Set by [`clean_up_on_signal`]'s handler before it removes the temporary
/// folder: from then on the exit (130) is the handler's, and a write that
/// failed because the folder went away is not the error to report.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// While `render --out` writes its temporary folder (private keys included)
/// beside DIR, Ctrl-C or SIGTERM removes that folder before the process
/// exits (130). Returns once the handler is in place. (SIGKILL cannot be
/// caught: the next render there removes what a killed one left.)
fn clean_up_on_signal(out: &Path) {
    let out = out.to_path_buf();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            let _ = ready_tx.send(());
            return;
        };
        rt.block_on(async move {
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                let _ = ready_tx.send(());
                return;
            };
            let _ = ready_tx.send(());
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            render::remove_own_render_tmp(&out);
            eprintln!(
                "error: fabdev render was interrupted; nothing was written to {}",
                out.display()
            );
            std::process::exit(130);
        });
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(5));
}

/// `render --out DIR`: DIR must not exist yet.
fn check_out(args: &RenderArgs) -> Result<(), CliError> {
    if let Some(out) = &args.out
        && out.symlink_metadata().is_ok()
    {
        return Err(CliError::Exists {
            path: out.clone(),
            hint: "render writes into a new folder: remove it or pass another --out".into(),
        });
    }
    Ok(())
}

fn render_cmd(
    ws_dir: &Path,
    spec: Option<&Path>,
    flags: &flow::ClusterFlags,
    args: &RenderArgs,
    notes: &Notes,
) -> Result<(), CliError> {
    // Bad input first: it writes nothing, not even the lock file.
    check_out(args)?;
    let ctx = Context::load_with(ws_dir, spec, flags).map_err(CliError::of("render"))?;
    let _lock = lock(ws_dir, "render", LOCK_WAIT, notes)?;
    let report = flow::ensure_crypto(&ctx).map_err(CliError::of("render"))?;
    notes.say(&format!(
        " ✓ crypto in {} ({} created, {} reused)",
        ctx.crypto.root().display(),
        report.created.len(),
        report.reused.len()
    ));
    let rendered = flow::render_objects(&ctx).map_err(CliError::of("render"))?;
    match &args.out {
        Some(out) => {
            clean_up_on_signal(out);
            let written = render::write_out(&rendered, out);
            if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                // The handler is removing the folder and exits 130.
                loop {
                    std::thread::park();
                }
            }
            written.map_err(|e| CliError::of("render")(e.into()))?;
            notes.say(&format!(
                " ✓ wrote kind config and {} objects to {}",
                rendered.objects.len(),
                out.display()
            ));
        }
        None => stdout_write(render::to_multi_doc(&rendered).as_bytes())?,
    }
    Ok(())
}

fn package(args: &PackageArgs, notes: &Notes) -> Result<(), CliError> {
    let opts = chaincode::package::PackageOptions {
        label: args.label.clone(),
        lang: args.lang.map(|l| match l {
            LangArg::Go => Lang::Go,
            LangArg::Node => Lang::Node,
        }),
    };
    if let Some(out) = &args.output
        && out.symlink_metadata().is_ok()
    {
        return Err(CliError::Exists {
            path: out.clone(),
            hint: "choose another -o FILE, or remove the old package first".into(),
        });
    }
    // Node chaincode with a build step (TypeScript): built first, and the
    // package holds what runs.
    let is_node = match opts.lang {
        Some(l) => l == Lang::Node,
        None => !args.path.join("go.mod").exists(),
    };
    let step = if is_node {
        chaincode::nodebuild::build_step(&args.path)?
    } else {
        None
    };
    let built = match &step {
        Some(s) => {
            notes.say(&format!(
                " … building {} ({}): {}",
                args.path.display(),
                s.reasons.join(", "),
                s.command.join(" ")
            ));
            Some(chaincode::nodebuild::build(&args.path, s)?)
        }
        None => None,
    };
    // The built copy keeps the folder's name, and so its default label.
    let src = built.as_ref().map_or(args.path.as_path(), |b| b.dir());
    let pkg = chaincode::package::package_dir(src, &opts)?;
    if let Some(b) = &built {
        notes.say(&format!(" ✓ {}", b.summary()));
    }
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.tar.gz", pkg.label)));
    for w in &pkg.warnings {
        eprintln!("warning: {w}");
    }
    chaincode::package::write_package(&pkg, &out)?;
    notes.say(&format!(
        " ✓ packaged {} chaincode {} as {} ({} bytes)",
        pkg.lang,
        args.path.display(),
        out.display(),
        pkg.bytes.len()
    ));
    stdout_write(format!("{}\n", pkg.id).as_bytes())
}

/// Write a file through a temporary sibling and a rename, so a failure never
/// leaves a half-written file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| CliError::Io {
            action,
            path,
            source,
        }
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io("cannot write in", &dir))?;
    tmp.write_all(bytes).map_err(io("cannot write", path))?;
    // Temporary files are created 0600; a workspace file is an ordinary one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io("cannot set permissions of", path))?;
    }
    tmp.persist(path).map_err(|e| CliError::Io {
        action: "cannot write",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}
