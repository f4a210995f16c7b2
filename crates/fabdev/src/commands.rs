//! Running the commands. Results go to stdout, progress and notes to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use network::pki::{self, CryptoDir};
use network::render::{self, NodeFiles};
use network::spec::{self, Lang};
use network::{Topology, Workspace};

use crate::cli::{
    ChaincodeCommand, ChannelCommand, Cli, Command, DoctorArgs, Format, InitArgs, LangArg,
    PackageArgs, RenderArgs,
};
use crate::error::CliError;
use fabdev::events::{JsonReporter, Sink, TextReporter};
use fabdev::flow;

/// Where fabdev keeps its state inside a workspace.
pub const STATE_DIR: &str = fabdev::lock::STATE_DIR;

/// `println!` into a String buffer (written at once by `stdout_write`).
macro_rules! outln {
    ($buf:ident, $($arg:tt)*) => {{
        $buf.push_str(&format!($($arg)*));
        $buf.push('\n');
    }};
}

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
    // One writer per workspace: the commands that write into .fabdev/ take
    // its lock, once their input is known to be good (so bad input writes
    // nothing at all, not even the lock file).
    let spec = cli.spec.as_deref();
    let _lock = match &cli.command {
        Command::Render(args) => {
            check_out(args)?;
            load_workspace(&ws_dir, spec)?;
            Some(lock(&ws_dir, "render", RENDER_LOCK_WAIT, &notes)?)
        }
        Command::Up(args) => {
            load_workspace(&ws_dir, spec)?;
            let wait = std::time::Duration::from_secs(args.timeout);
            Some(lock(&ws_dir, "up", wait, &notes)?)
        }
        Command::Down(_) => {
            load_workspace(&ws_dir, spec)?;
            Some(lock(&ws_dir, "down", RENDER_LOCK_WAIT, &notes)?)
        }
        _ => None,
    };
    match cli.command {
        Command::Init(args) => init(&ws_dir, &args, &notes),
        Command::Render(args) => render_cmd(&ws_dir, cli.spec.as_deref(), &args, &notes),
        Command::Chaincode(ChaincodeCommand::Package(args)) => package(&args, &notes),
        Command::Up(args) => {
            let mut opts = flow_options(&ws_dir, cli.spec.as_deref(), args.kind.clone());
            opts.wait_timeout = std::time::Duration::from_secs(args.timeout);
            run_flow(args.output, cli.verbose, "up", |sink| {
                Box::pin(async move { flow::up(&opts, sink).await.map(drop) })
            })
        }
        Command::Down(args) => {
            let opts = flow_options(&ws_dir, cli.spec.as_deref(), args.kind.clone());
            let (keep, purge) = (args.keep_cluster, args.purge);
            run_flow(args.output, cli.verbose, "down", |sink| {
                Box::pin(async move { flow::down(&opts, keep, purge, sink).await.map(drop) })
            })
        }
        Command::Status(args) => status(&ws_dir, cli.spec.as_deref(), &args),
        Command::Doctor(args) => doctor(&ws_dir, cli.spec.as_deref(), &args),
        Command::Channel(ChannelCommand::Create { name, output }) => {
            let opts = flow_options(&ws_dir, cli.spec.as_deref(), None);
            run_flow(output, cli.verbose, "channel create", |sink| {
                Box::pin(async move {
                    flow::create_channels(&opts, name.as_deref(), None, sink)
                        .await
                        .map(drop)
                })
            })
        }
        Command::Chaincode(_) => not_implemented(
            "chaincode deploy/install/approve/commit/instantiate/invoke/query/list/logs",
            5,
        ),
    }
}

/// How long `render` and `down` wait for another command in the workspace.
const RENDER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The workspace's lock (see `fabdev::lock`), after checking the workspace
/// folder exists (so a wrong `-w` is not created as a side effect).
fn lock(
    ws_dir: &Path,
    command: &str,
    deadline: std::time::Duration,
    notes: &Notes,
) -> Result<fabdev::lock::WorkspaceLock, CliError> {
    if !ws_dir.is_dir() {
        return Err(CliError::NoWorkspace {
            path: ws_dir.to_path_buf(),
        });
    }
    Ok(fabdev::lock::lock_workspace(
        ws_dir,
        command,
        deadline,
        |line| notes.say(&format!(" … {line}")),
    )?)
}

/// Results go to stdout; one that cannot be written (stdout closed, or a
/// reader gone) is an error, never a silent success. Rust's own stdout
/// treats a closed descriptor as a sink, so write through a duplicate of it.
fn stdout_write(bytes: &[u8]) -> Result<(), CliError> {
    use std::os::fd::AsFd as _;
    let err = |source| CliError::Io {
        action: "cannot write the result to",
        path: PathBuf::from("<stdout>"),
        source,
    };
    if stdout_was_closed() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "stdout is closed (or is /dev/null opened read-write, which looks the same); to discard the result, redirect it with `>/dev/null`",
        )));
    }
    let mut out = std::fs::File::from(
        std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(err)?,
    );
    out.write_all(bytes).map_err(err)?;
    out.flush().map_err(err)
}

/// Whether fabdev was started with stdout closed (`>&-`). Rust's runtime
/// puts `/dev/null` on a closed standard descriptor before `main`, opened
/// read-write; a shell's `>/dev/null` opens it write-only. So stdout being
/// `/dev/null` open read-write means it was closed. (Linux; elsewhere, no.)
fn stdout_was_closed() -> bool {
    #[cfg(target_os = "linux")]
    {
        let is_null =
            std::fs::read_link("/proc/self/fd/1").is_ok_and(|t| t == Path::new("/dev/null"));
        let read_write = std::fs::read_to_string("/proc/self/fdinfo/1")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            })
            // O_ACCMODE is 3 and O_RDWR 2 on every Linux architecture.
            .is_some_and(|flags| flags & 3 == 2);
        is_null && read_write
    }
    #[cfg(not(target_os = "linux"))]
    false
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

fn doctor(ws_dir: &Path, spec: Option<&Path>, args: &DoctorArgs) -> Result<(), CliError> {
    use cluster::doctor::{self, DoctorInput, Verdict};
    let ws = load_workspace(ws_dir, spec)?;
    let topo = Topology::of(&ws);
    let mut host_ports = Vec::new();
    for n in &topo.nodes {
        host_ports.push(n.host_ports.grpc);
        host_ports.extend(n.host_ports.admin);
        host_ports.push(n.host_ports.operations);
    }
    let input = DoctorInput {
        kind: args.kind.clone(),
        host_ports,
        dind_image: ws.images.dind.clone(),
        fabric_tag: ws.fabric.tag.clone(),
        // Until `up` exists there is no cluster of fabdev's to hold the ports.
        cluster_exists: false,
    };
    let mut checks = runtime()?.block_on(doctor::run(&input));
    // Which exact Fabric release the images run (see spec::FABRIC_RELEASES).
    checks.insert(
        1,
        doctor::Check {
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
        },
    );
    let mut buf = String::new();
    match args.output {
        Format::Json => {
            for c in &checks {
                outln!(buf, "{}", serde_json::to_string(c).unwrap_or_default());
            }
        }
        Format::Text => {
            for c in &checks {
                let mark = match c.verdict {
                    Verdict::Ok => "✓",
                    Verdict::Warn => "!",
                    Verdict::Fail => "✗",
                };
                outln!(buf, " {mark} {:<8} {}", c.name, c.detail);
                if let Some(h) = &c.hint {
                    outln!(buf, "   {:<8} hint: {h}", "");
                }
            }
        }
    }
    stdout_write(buf.as_bytes())?;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Doctor {
            failed: failed.join(", "),
        })
    }
}

fn flow_options(ws_dir: &Path, spec: Option<&Path>, kind: Option<PathBuf>) -> flow::Options {
    let mut opts = flow::Options::new(ws_dir);
    opts.spec = spec.map(Path::to_path_buf);
    opts.kind = kind;
    opts
}

type FlowFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), flow::FlowError>> + 'a>>;

/// Run a flow with the chosen reporter; Ctrl-C stops it between steps'
/// awaits, leaving a state the next run completes.
fn run_flow(
    format: Format,
    verbose: bool,
    command: &'static str,
    f: impl for<'a> FnOnce(&'a mut dyn Sink) -> FlowFuture<'a>,
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let mut sink: Box<dyn Sink> = match format {
        Format::Json => Box::new(JsonReporter::new(std::io::stdout())),
        Format::Text => Box::new(TextReporter::new(
            std::io::stderr(),
            std::io::stderr().is_terminal(),
            verbose,
        )),
    };
    let rt = runtime()?;
    rt.block_on(async {
        tokio::select! {
            r = f(sink.as_mut()) => r.map_err(|e| CliError::Flow { command, source: Box::new(e) }),
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted { command }),
        }
    })
}

fn status(
    ws_dir: &Path,
    spec: Option<&Path>,
    args: &crate::cli::StatusArgs,
) -> Result<(), CliError> {
    let opts = flow_options(ws_dir, spec, args.kind.clone());
    let st = runtime()?
        .block_on(flow::status(&opts))
        .map_err(|e| CliError::Flow {
            command: "status",
            source: Box::new(e),
        })?;
    let mut buf = String::new();
    match args.output {
        Format::Json => outln!(
            buf,
            "{}",
            serde_json::to_string_pretty(&st).unwrap_or_default()
        ),
        Format::Text => {
            outln!(
                buf,
                "workspace {}: kind cluster {}",
                st.workspace,
                if st.cluster_exists {
                    "exists"
                } else {
                    "does not exist"
                }
            );
            for n in &st.nodes {
                let pod = match n.pod_ready {
                    Some(true) => "ready",
                    Some(false) => "not ready",
                    None => "no pod",
                };
                let channels = match &n.channels {
                    Ok(c) if c.is_empty() => "no channels".to_string(),
                    Ok(c) => c.join(", "),
                    Err(e) => format!("channels unknown: {}", e.lines().next().unwrap_or("")),
                };
                outln!(buf, "  {:<8} {:<24} {:<10} {channels}", n.role, n.name, pod);
            }
        }
    }
    stdout_write(buf.as_bytes())
}

fn not_implemented(command: &'static str, issue: u32) -> Result<(), CliError> {
    Err(CliError::NotImplemented { command, issue })
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
    let has_entry = current
        .lines()
        .any(|l| matches!(l.trim(), ".fabdev" | ".fabdev/" | "/.fabdev" | "/.fabdev/"));
    if !has_entry {
        let mut next = current.clone();
        if !next.is_empty() && !next.ends_with('\n') {
            next.push('\n');
        }
        next.push_str("# fabdev state: crypto material, packages, kubeconfig\n.fabdev/\n");
        write_atomic(&gitignore, next.as_bytes())?;
        notes.say(&format!(" ✓ added .fabdev/ to {}", gitignore.display()));
    }
    Ok(())
}

fn load_workspace(ws_dir: &Path, spec: Option<&Path>) -> Result<Workspace, CliError> {
    if let Some(file) = spec {
        return Ok(Workspace::load_file(file)?);
    }
    if !ws_dir.is_dir() {
        return Err(CliError::NoWorkspace {
            path: ws_dir.to_path_buf(),
        });
    }
    Ok(Workspace::load_dir(ws_dir)?)
}

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
            render::remove_own_render_tmp(&out);
            eprintln!(
                "error: fabdev render was interrupted; nothing was written to {}",
                out.display()
            );
            std::process::exit(130);
        });
    });
    let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(5));
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
    args: &RenderArgs,
    notes: &Notes,
) -> Result<(), CliError> {
    check_out(args)?;
    let ws = load_workspace(ws_dir, spec)?;
    let topo = Topology::of(&ws);
    let crypto_dir = CryptoDir::new(ws_dir.join(STATE_DIR).join("crypto"));
    let report = pki::ensure(&ws, &topo, &crypto_dir)?;
    notes.say(&format!(
        " ✓ crypto in {} ({} created, {} reused)",
        crypto_dir.root().display(),
        report.created.len(),
        report.reused.len()
    ));
    let mut files = NodeFiles::new();
    for node in &topo.nodes {
        files.insert(
            node.name.clone(),
            pki::read_tree(&crypto_dir.node_dir(node))?,
        );
    }
    let rendered = render::render(&ws, &topo, &files)?;
    match &args.out {
        Some(out) => {
            clean_up_on_signal(out);
            render::write_out(&rendered, out)?;
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
    let pkg = chaincode::package::package_dir(&args.path, &opts)?;
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
