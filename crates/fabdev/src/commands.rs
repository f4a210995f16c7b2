//! Running the commands. Results go to stdout, progress and notes to stderr.

mod identity;
mod trust;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use network::render;
use network::spec::{self, Lang, Provider};

use crate::cli::{
    CallArgs, ChaincodeCommand, ChannelCommand, Cli, Command, Format, InitArgs, LangArg,
    LifecycleArgs, PackageArgs, ProviderArg, RenderArgs, StatusArgs, WatchArgs,
};
use crate::error::CliError;
use crate::output::{StdoutErrors, results_stdout, stdout_write};
use chaincode::lifecycle::Caller;
use fabdev::events::{JsonReporter, Sink, TextReporter, Verbosity};
use fabdev::flow::chaincodes::{Call, CallKind, LifecycleCommand, Selection};
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

/// What every command shares: the workspace, the spec, the cluster flags
/// and how much to say.
struct Env {
    ws_dir: PathBuf,
    spec: Option<PathBuf>,
    flags: flow::ClusterFlags,
    /// `--trust-spec`: fabdev.yaml's choices of cluster and privileged
    /// images are accepted (see `commands::trust`).
    trust_spec: bool,
    verbosity: Verbosity,
    notes: Notes,
}

impl Env {
    fn of(cli: &Cli) -> Env {
        Env {
            ws_dir: cli.workspace.clone().unwrap_or_else(|| PathBuf::from(".")),
            spec: cli.spec.clone(),
            flags: flow::ClusterFlags {
                provider: cli.provider.map(|p| match p {
                    ProviderArg::Kind => Provider::Kind,
                    ProviderArg::Existing => Provider::Existing,
                }),
                kubeconfig: cli.kubeconfig.clone(),
                context: cli.context.clone(),
                load_images: false,
                adopt_cluster: cli.adopt_cluster,
                adopt_namespace: cli.adopt_namespace,
            },
            trust_spec: cli.trust_spec,
            verbosity: match (cli.quiet, cli.verbose) {
                (true, _) => Verbosity::Quiet,
                (false, true) => Verbosity::Verbose,
                (false, false) => Verbosity::Normal,
            },
            notes: Notes { quiet: cli.quiet },
        }
    }

    /// The flow options of the workspace, with the kind binary `kind`.
    fn options(&self, kind: Option<PathBuf>) -> flow::Options {
        let mut opts = flow::Options::new(&self.ws_dir);
        opts.spec = self.spec.clone();
        opts.cluster = self.flags.clone();
        opts.kind = kind;
        opts
    }

    /// The lock for a flow that writes into `.fabdev/`: taken when the
    /// workspace loads; when it does not, none is taken and the flow's
    /// workspace step reports why (through the reporter, exit 2) before
    /// anything is written.
    fn lock_if_good(
        &self,
        opts: &flow::Options,
        command: &str,
        deadline: Duration,
    ) -> Result<Option<WorkspaceLock>, CliError> {
        match Context::load(opts) {
            Ok(_) => lock(&self.ws_dir, command, deadline, &self.notes).map(Some),
            Err(_) => Ok(None),
        }
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let env = Env::of(&cli);
    let verbosity = env.verbosity;
    match cli.command {
        Command::Init(args) => init(&env.ws_dir, &args, &env.notes),
        Command::Render(args) => render(&env, &args),
        Command::Identity(c) => identity::run(&env, c),
        Command::Connect(a) => identity::connect(&env, &a),
        Command::Up(args) => {
            let mut opts = env.options(args.kind.clone());
            opts.cluster.load_images = args.load_images;
            opts.wait_timeout = Duration::from_secs(args.timeout);
            trust::require(&env, &opts, "up")?;
            let _lock = env.lock_if_good(&opts, "up", opts.wait_timeout)?;
            run_flow(args.output, verbosity, "up", |sink| {
                Box::pin(async move { flow::up(&opts, sink).await.map(drop) })
            })
        }
        Command::Down(args) => {
            let opts = env.options(args.kind.clone());
            let (keep, purge) = (args.keep_cluster, args.purge);
            trust::require(&env, &opts, "down")?;
            let _lock = env.lock_if_good(&opts, "down", LOCK_WAIT)?;
            run_flow(args.output, verbosity, "down", |sink| {
                Box::pin(async move { flow::down(&opts, keep, purge, sink).await.map(drop) })
            })
        }
        Command::Status(StatusArgs { output, kind }) => {
            let opts = env.options(kind);
            trust::require(&env, &opts, "status")?;
            run_flow(output, verbosity, "status", |sink| {
                Box::pin(async move { flow::status(&opts, sink).await.map(drop) })
            })
        }
        Command::Doctor(args) => {
            let opts = env.options(args.kind.clone());
            trust::require(&env, &opts, "doctor")?;
            let checks = run_flow(args.output, verbosity, "doctor", |sink| {
                Box::pin(async move { flow::doctor(&opts, sink).await })
            })?;
            let failed = flow::doctor::failed(&checks).join(", ");
            if failed.is_empty() {
                Ok(())
            } else {
                Err(CliError::Doctor { failed })
            }
        }
        Command::Channel(ChannelCommand::Create { name, output }) => {
            let opts = env.options(None);
            trust::require(&env, &opts, "channel create")?;
            run_flow(output, verbosity, "channel create", |sink| {
                Box::pin(async move {
                    flow::create_channels(&opts, name.as_deref(), sink)
                        .await
                        .map(drop)
                })
            })
        }
        Command::Chaincode(command) => chaincode(&env, command),
    }
}

/// `fabdev chaincode …`.
fn chaincode(env: &Env, command: ChaincodeCommand) -> Result<(), CliError> {
    let verbosity = env.verbosity;
    let (command, args) = match command {
        ChaincodeCommand::Package(args) => return package(&args, &env.notes),
        ChaincodeCommand::Deploy(a) => (LifecycleCommand::Deploy, a),
        ChaincodeCommand::Install(a) => (LifecycleCommand::Install, a),
        ChaincodeCommand::Approve(a) => (LifecycleCommand::Approve, a),
        ChaincodeCommand::Commit(a) => (LifecycleCommand::Commit, a),
        ChaincodeCommand::Instantiate(a) => (LifecycleCommand::Instantiate, a),
        ChaincodeCommand::Invoke(a) => {
            let transient = a
                .transient
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            return call(env, CallKind::Invoke, a.call, transient);
        }
        ChaincodeCommand::Query(a) => {
            return call(env, CallKind::Query, a.call, Default::default());
        }
        ChaincodeCommand::List { output } => {
            let opts = env.options(None);
            trust::require(env, &opts, "chaincode list")?;
            return run_flow(output, verbosity, "chaincode list", |sink| {
                Box::pin(async move { flow::chaincodes::list(&opts, sink).await })
            });
        }
        ChaincodeCommand::Watch(a) => return watch(env, a),
        ChaincodeCommand::Logs {
            name,
            peer,
            follow,
            tail,
            output,
        } => {
            let opts = env.options(None);
            let request = flow::logs::LogsRequest {
                name,
                peer,
                follow,
                tail,
            };
            trust::require(env, &opts, "chaincode logs")?;
            return run_flow(output, verbosity, "chaincode logs", |sink| {
                Box::pin(async move { flow::logs::logs(&opts, request, sink).await })
            });
        }
    };
    lifecycle(env, command, args)
}

/// A lifecycle command. It changes the network, so it takes the
/// workspace's lock as `up` does (which deploys too); `invoke`, `query` and
/// `list` do not.
fn lifecycle(env: &Env, command: LifecycleCommand, a: LifecycleArgs) -> Result<(), CliError> {
    let opts = env.options(None);
    let selection = Selection {
        name: a.name,
        path: a.path,
        channel: a.channel,
        no_vendor: a.no_vendor,
    };
    let name = command.command_name();
    trust::require(env, &opts, name)?;
    let _lock = env.lock_if_good(&opts, name, LOCK_WAIT)?;
    run_flow(a.output, env.verbosity, name, |sink| {
        Box::pin(async move {
            flow::chaincodes::lifecycle(&opts, command, selection, sink)
                .await
                .map(drop)
        })
    })
}

/// `chaincode watch`: it deploys, so it holds the workspace's lock while
/// it runs (another lifecycle command or `up` waits for it); Ctrl-C ends
/// it, and that is a success.
fn watch(env: &Env, a: WatchArgs) -> Result<(), CliError> {
    let opts = env.options(None);
    let request = flow::chaincodes::WatchRequest {
        names: a.names,
        no_vendor: a.no_vendor,
        log_lines: a.log_lines,
    };
    let name = "chaincode watch";
    trust::require(env, &opts, name)?;
    let _lock = env.lock_if_good(&opts, name, LOCK_WAIT)?;
    let (mut sink, stdout) = reporter(a.output, env.verbosity);
    let rt = runtime()?;
    exit_on_second_signal();
    let stop = stop_signal();
    let result = rt.block_on(flow::chaincodes::watch(&opts, request, stop, sink.as_mut()));
    drop(sink);
    result.map_err(CliError::of(name))?;
    stdout.check()?;
    Ok(())
}

fn call(
    env: &Env,
    kind: CallKind,
    a: CallArgs,
    transient: std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(), CliError> {
    let opts = env.options(None);
    // Empty: the flow takes the workspace's first org (Org1 by default).
    let org = a.org.unwrap_or_default();
    let call = Call {
        kind,
        chaincode: a.name,
        function: a.function,
        args: a.args,
        caller: Caller { org, user: a.user },
        transient,
        channel: a.channel,
    };
    let name = match kind {
        CallKind::Invoke => "chaincode invoke",
        CallKind::Query => "chaincode query",
    };
    trust::require(env, &opts, name)?;
    run_flow(a.output, env.verbosity, name, |sink| {
        Box::pin(async move { flow::chaincodes::call(&opts, call, sink).await.map(drop) })
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

type FlowFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, flow::FlowError>> + 'a>>;

/// The first SIGINT (Ctrl-C), SIGTERM or SIGHUP: what stops a command
/// cleanly (its future dropped, so temporary copies go and child processes
/// started with `kill_on_drop`, such as `kind create`, are killed). Never
/// resolves when the handlers cannot be installed.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// A second SIGINT, SIGTERM or SIGHUP ends the process at once (130),
/// whatever the first one's clean stop is still doing: a thread of its own
/// counts them, so a command stuck in a call that does not yield is not
/// left deaf to the user.
fn exit_on_second_signal() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            for first in [true, false] {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                if first {
                    eprintln!("fabdev: stopping cleanly (a second signal stops at once)");
                }
            }
            eprintln!("fabdev: a second signal: stopping at once");
            std::process::exit(130);
        });
    });
}

/// Run a flow with the chosen reporter; Ctrl-C, SIGTERM or SIGHUP stops it
/// between steps' awaits, leaving a state the next run completes; a second
/// one exits at once.
fn run_flow<T>(
    format: Format,
    verbosity: Verbosity,
    command: &'static str,
    f: impl for<'a> FnOnce(&'a mut dyn Sink) -> FlowFuture<'a, T>,
) -> Result<T, CliError> {
    let (mut sink, stdout) = reporter(format, verbosity);
    let rt = runtime()?;
    exit_on_second_signal();
    let result = rt.block_on(async {
        tokio::select! {
            r = f(sink.as_mut()) => r.map_err(CliError::of(command)),
            () = stop_signal() => Err(CliError::Interrupted { command }),
        }
    });
    drop(sink);
    let value = result?;
    stdout.check()?;
    Ok(value)
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

/// `fabdev render`: the flow's steps through the text reporter on stderr;
/// without `--out` the objects are one YAML stream on stdout. Ctrl-C and
/// SIGTERM are `clean_up_on_signal`'s while `--out` is written.
fn render(env: &Env, args: &RenderArgs) -> Result<(), CliError> {
    // Bad input first: it writes nothing, not even the lock file.
    check_out(args)?;
    let opts = env.options(None);
    let _lock = env.lock_if_good(&opts, "render", LOCK_WAIT)?;
    if let Some(out) = &args.out {
        clean_up_on_signal(out);
    }
    let (mut sink, _) = reporter(Format::Text, env.verbosity);
    let out = args.out.as_deref();
    let rendered = runtime()?.block_on(flow::render(&opts, out, sink.as_mut()));
    drop(sink);
    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        // The handler is removing the folder and exits 130.
        loop {
            std::thread::park();
        }
    }
    let rendered = rendered.map_err(CliError::of("render"))?;
    match out {
        Some(_) => Ok(()),
        None => stdout_write(render::to_multi_doc(&rendered).as_bytes()),
    }
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
