//! Node chaincode with a build step (TypeScript, or any `scripts.build`).
//!
//! Fabric's Node builder only installs production dependencies (`npm ci
//! --omit=dev` or `npm install --production`) and never builds, so a
//! contract whose `main` is `dist/index.js` made by `tsc` would be packaged
//! without `dist/` and could not start. fabdev runs the build itself,
//! before packaging:
//!
//! - **Detected** ([`build_step`]) from `package.json` and the folder: a
//!   `scripts.build`, a `tsconfig.json`, or a `main` that does not exist.
//! - **Where:** in a copy of the folder kept between builds under
//!   `~/.cache/fabdev/node-build/<hash of the folder's path>/` (the source
//!   folder is never changed). Its `node_modules` is kept while
//!   `package.json` and the lockfile are unchanged (their hash is written
//!   next to it), so a one-line change costs only the build.
//! - **How:** the host's `npm`: `npm ci` with a lockfile, else `npm
//!   install` (development dependencies included: the compiler is one),
//!   always with `--ignore-scripts`, so no install script of the package or
//!   of a dependency runs on this machine (as root, often),
//!   then `npm run build`, or `npx tsc` for a `tsconfig.json` without a
//!   build script. Without `npm` on PATH this is [`NodeBuildError::NoNpm`],
//!   which says what to do.
//! - **What is packaged** ([`Built::dir`]): what runs: `package.json`, the
//!   folder's own lockfile (not one the install made: the peer installs
//!   from the package's), the build's output folder (`compilerOptions.outDir`
//!   of `tsconfig.json`, else the top folder of `main`), `META-INF`,
//!   `.npmrc` and `.fabdevignore`. When the output cannot be told apart
//!   (a `main` at the top of the folder), everything but `node_modules`.
//!   Without a lockfile, the packaged package.json leaves out
//!   `devDependencies` (see `strip_dev_dependencies`).
//! - A failed install or build is [`NodeBuildError::Failed`] with the
//!   command's own output (the compiler's errors).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Errors of a Node build; each names the folder and the cause.
#[derive(Debug, thiserror::Error)]
pub enum NodeBuildError {
    #[error(
        "{} has a build step ({reasons}) and fabdev runs it with npm, which is not on PATH",
        dir.display()
    )]
    NoNpm { dir: PathBuf, reasons: String },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid JSON", file.display())]
    PackageJson {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "building {} failed: `{command}` ({status}):\n{output}",
        dir.display()
    )]
    Failed {
        dir: PathBuf,
        work: PathBuf,
        command: String,
        status: String,
        /// What the command printed (stdout and stderr), its tail.
        output: String,
    },
    #[error(
        "{}: `main` is {main}, which the build did not make",
        dir.display()
    )]
    NoMain { dir: PathBuf, main: String },
    #[error(
        "{}: `main` is {main}, which does not exist, and there is no build step (no scripts.build, no tsconfig.json)",
        dir.display()
    )]
    NothingBuildsMain { dir: PathBuf, main: String },
}

impl NodeBuildError {
    /// The fix to paste, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            NodeBuildError::NoNpm { .. } => Some(
                "install Node.js 18 or later (with npm), or build the chaincode yourself and package a folder that holds what runs (package.json and the built files)"
                    .to_string(),
            ),
            NodeBuildError::Failed { work, .. } => Some(format!(
                "fix the error above and deploy again; the same command runs in a copy of the folder in {}",
                work.display()
            )),
            NodeBuildError::NoMain { main, .. } => Some(format!(
                "make the build write {main} (tsconfig.json's outDir), or correct `main` in package.json"
            )),
            NodeBuildError::NothingBuildsMain { .. } => {
                Some("add a build script, or correct `main` in package.json".to_string())
            }
            _ => None,
        }
    }
}

/// Why a folder needs a build, and how it is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// What says there is one: `scripts.build`, `tsconfig.json`,
    /// `main dist/index.js does not exist`.
    pub reasons: Vec<String>,
    /// The command that builds: `npm run build`, or `npx tsc`.
    pub command: Vec<String>,
    /// `main` of package.json, if any.
    pub main: Option<String>,
    /// Where the build writes what runs, relative to the folder, if known.
    pub output: Option<String>,
}

/// The build step of the Node chaincode in `dir`, if it has one; `None`
/// also when `dir` has no readable package.json (packaging reports that).
pub fn build_step(dir: &Path) -> Result<Option<BuildStep>, NodeBuildError> {
    let file = dir.join("package.json");
    let Ok(text) = std::fs::read(&file) else {
        return Ok(None);
    };
    let pkg: serde_json::Value =
        serde_json::from_slice(&text).map_err(|source| NodeBuildError::PackageJson {
            file: file.clone(),
            source,
        })?;
    let has_script = pkg
        .get("scripts")
        .and_then(|s| s.get("build"))
        .and_then(|b| b.as_str())
        .is_some_and(|b| !b.trim().is_empty());
    let tsconfig = dir.join("tsconfig.json");
    let has_tsconfig = tsconfig.is_file();
    let main = pkg
        .get("main")
        .and_then(|m| m.as_str())
        .map(|m| m.trim_start_matches("./").to_string())
        .filter(|m| !m.is_empty());
    let main_missing = main.as_ref().is_some_and(|m| !dir.join(m).exists());
    let mut reasons = Vec::new();
    if has_script {
        reasons.push("scripts.build".to_string());
    }
    if has_tsconfig {
        reasons.push("tsconfig.json".to_string());
    }
    if let (true, Some(m)) = (main_missing, &main) {
        reasons.push(format!("main {m} does not exist"));
    }
    if reasons.is_empty() {
        return Ok(None);
    }
    let command: Vec<String> = if has_script {
        ["npm", "run", "build"].map(String::from).to_vec()
    } else if has_tsconfig {
        ["npx", "--no-install", "tsc"].map(String::from).to_vec()
    } else {
        return Err(NodeBuildError::NothingBuildsMain {
            dir: dir.to_path_buf(),
            main: main.unwrap_or_default(),
        });
    };
    let out_dir = has_tsconfig
        .then(|| std::fs::read_to_string(&tsconfig).ok())
        .flatten()
        .and_then(|t| ts_out_dir(&t));
    let output = out_dir.or_else(|| main.as_deref().and_then(top_folder));
    Ok(Some(BuildStep {
        reasons,
        command,
        main,
        output,
    }))
}

/// The first folder of a relative path (`dist` of `dist/index.js`); none
/// for a file at the top.
fn top_folder(path: &str) -> Option<String> {
    let p = Path::new(path);
    let mut parts = p.components();
    let first = parts.next()?;
    parts.next()?;
    match first {
        std::path::Component::Normal(f) => f.to_str().map(str::to_string),
        _ => None,
    }
}

/// `compilerOptions.outDir` of a tsconfig.json (which may hold comments
/// and trailing commas), as a relative folder.
fn ts_out_dir(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(&json_without_comments(text)).ok()?;
    let out = v.get("compilerOptions")?.get("outDir")?.as_str()?;
    let out = out.trim_start_matches("./").trim_end_matches('/');
    (!out.is_empty() && !out.starts_with('/') && !out.starts_with("..")).then(|| out.to_string())
}

/// JSON with `//` and `/* */` comments and trailing commas removed
/// (outside strings), as tsconfig.json allows them.
fn json_without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            _ => out.push(c),
        }
    }
    // Trailing commas: a comma followed (after blanks) by `}` or `]`.
    let mut cleaned = String::with_capacity(out.len());
    let bytes: Vec<char> = out.chars().collect();
    let mut in_string = false;
    for (i, &c) in bytes.iter().enumerate() {
        if c == '"' && (i == 0 || bytes[i - 1] != '\\') {
            in_string = !in_string;
        }
        if c == ',' && !in_string {
            let next = bytes[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        cleaned.push(c);
    }
    cleaned
}

/// A built chaincode, ready to package.
#[derive(Debug)]
pub struct Built {
    /// Holds the folder to package; removed when dropped.
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    /// What ran, in order (`npm ci`, `npm run build`), with their times.
    pub commands: Vec<(String, Duration)>,
    /// Whether the dependencies were installed now (not kept from before).
    pub installed: bool,
    /// What the package holds of the build: `dist/` (or every file).
    pub output: String,
    /// Why it was built.
    pub reasons: Vec<String>,
}

impl Built {
    /// The folder to package.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `npm ci 4.1 s, npm run build 2.3 s (dist/)`.
    pub fn summary(&self) -> String {
        let ran = self
            .commands
            .iter()
            .map(|(c, t)| format!("{c} {:.1} s", t.as_secs_f64()))
            .collect::<Vec<_>>();
        let deps = if self.installed {
            ""
        } else {
            "dependencies kept, "
        };
        format!("built: {deps}{} → {}", ran.join(", "), self.output)
    }
}

/// Where builds are kept: `$FABDEV_CACHE_DIR`, else `$XDG_CACHE_HOME/fabdev`,
/// else `~/.cache/fabdev`, else the temporary folder's `fabdev-cache`.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("FABDEV_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("fabdev");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("fabdev"),
        None => std::env::temp_dir().join("fabdev-cache"),
    }
}

const LOCKFILES: [&str; 2] = ["package-lock.json", "npm-shrinkwrap.json"];

/// Files that go into the package besides the build's output.
const KEPT: [&str; 4] = ["package.json", "META-INF", ".npmrc", ".fabdevignore"];

/// Run the build of the chaincode in `dir` (see the module docs) and lay
/// out what to package.
pub fn build(dir: &Path, step: &BuildStep) -> Result<Built, NodeBuildError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| NodeBuildError::Io {
            action,
            path,
            source,
        }
    };
    if which("npm").is_none() {
        return Err(NodeBuildError::NoNpm {
            dir: dir.to_path_buf(),
            reasons: step.reasons.join(", "),
        });
    }
    let root = std::fs::canonicalize(dir).map_err(io("open", dir))?;
    let name = root
        .file_name()
        .map_or_else(|| "chaincode".into(), |n| n.to_os_string());
    let key = hex::encode(Sha256::digest(root.to_string_lossy().as_bytes()));
    let work = cache_root().join("node-build").join(&key[..16]).join(&name);
    std::fs::create_dir_all(&work).map_err(io("create", &work))?;

    // The sources, fresh: everything but node_modules (kept) and the stamp.
    for entry in std::fs::read_dir(&work).map_err(io("read", &work))? {
        let entry = entry.map_err(io("read", &work))?;
        let n = entry.file_name();
        if n == "node_modules" || n == STAMP {
            continue;
        }
        let p = entry.path();
        let r = if entry.file_type().map_err(io("read", &p))?.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(io("remove", &p))?;
    }
    copy_tree(&root, &work, &["node_modules", ".git"])?;

    let mut commands = Vec::new();
    // Dependencies, when package.json or the lockfile changed.
    let lockfile = LOCKFILES.iter().find(|l| root.join(l).is_file());
    let mut h = Sha256::new();
    for f in ["package.json"].iter().chain(lockfile) {
        h.update(f.as_bytes());
        h.update(std::fs::read(root.join(f)).map_err(io("read", &root.join(f)))?);
    }
    let want = hex::encode(h.finalize());
    let stamp = work.join(STAMP);
    let have = std::fs::read_to_string(&stamp).unwrap_or_default();
    let installed = have.trim() != want || !work.join("node_modules").is_dir();
    if installed {
        let _ = std::fs::remove_file(&stamp);
        let install = install_command(lockfile.is_some());
        commands.push(run(dir, &work, &install)?);
        std::fs::write(&stamp, &want).map_err(io("write", &stamp))?;
    }
    let build: Vec<&str> = step.command.iter().map(String::as_str).collect();
    commands.push(run(dir, &work, &build)?);

    if let Some(main) = &step.main
        && !work.join(main).exists()
    {
        return Err(NodeBuildError::NoMain {
            dir: dir.to_path_buf(),
            main: main.clone(),
        });
    }

    // What to package.
    let tmp = tempfile::Builder::new()
        .prefix("fabdev-node-build-")
        .tempdir()
        .map_err(io("create a temporary folder for", dir))?;
    let out = tmp.path().join(&name);
    std::fs::create_dir_all(&out).map_err(io("create", &out))?;
    let output = match &step.output {
        Some(o) if work.join(o).is_dir() => {
            for f in KEPT
                .iter()
                .chain(lockfile)
                .chain(std::iter::once(&o.as_str()))
            {
                let from = work.join(f);
                if from.is_dir() {
                    copy_tree(&from, &out.join(f), &[])?;
                } else if from.is_file() {
                    std::fs::copy(&from, out.join(f)).map_err(io("copy", &from))?;
                }
            }
            format!("{o}/")
        }
        _ => {
            copy_tree(&work, &out, &["node_modules", ".git", STAMP])?;
            // Not the user's lockfile: the peer resolves on its own.
            if lockfile.is_none() {
                for l in LOCKFILES {
                    let _ = std::fs::remove_file(out.join(l));
                }
            }
            "every file".to_string()
        }
    };
    if lockfile.is_none() {
        strip_dev_dependencies(&out.join("package.json"))?;
    }
    Ok(Built {
        _tmp: tmp,
        dir: out,
        commands,
        installed,
        output,
        reasons: step.reasons.clone(),
    })
}

/// Leave `devDependencies` out of the packaged package.json (without a
/// lockfile): they were for the build fabdev ran, and a peer's `npm
/// install --production` still resolves them, which a builder without
/// network (or with an offline cache) cannot. With a lockfile the peer runs
/// `npm ci`, which needs package.json as it is and skips them itself.
fn strip_dev_dependencies(file: &Path) -> Result<(), NodeBuildError> {
    let text = std::fs::read(file).map_err(|source| NodeBuildError::Io {
        action: "read",
        path: file.to_path_buf(),
        source,
    })?;
    let mut v: serde_json::Value =
        serde_json::from_slice(&text).map_err(|source| NodeBuildError::PackageJson {
            file: file.to_path_buf(),
            source,
        })?;
    let Some(obj) = v.as_object_mut() else {
        return Ok(());
    };
    if obj.remove("devDependencies").is_none() {
        return Ok(());
    }
    let mut out = serde_json::to_vec_pretty(&v).map_err(|source| NodeBuildError::PackageJson {
        file: file.to_path_buf(),
        source,
    })?;
    out.push(b'\n');
    std::fs::write(file, out).map_err(|source| NodeBuildError::Io {
        action: "write",
        path: file.to_path_buf(),
        source,
    })
}

/// How the dependencies are installed: `npm ci` with a lockfile (exactly
/// what it pins), else `npm install`; never with the install scripts of
/// the package or its dependencies (`--ignore-scripts`: a cloned
/// repository's `postinstall`, or a dependency's, would run on this
/// machine, as root when fabdev runs as root). Pure.
pub fn install_command(lockfile: bool) -> Vec<&'static str> {
    let verb = if lockfile { "ci" } else { "install" };
    vec!["npm", verb, "--ignore-scripts", "--no-audit", "--no-fund"]
}

/// The file in a build folder that holds the hash of the package.json and
/// lockfile its node_modules was installed from.
const STAMP: &str = ".fabdev-deps";

/// Run `cmd` in `work`; its output is the error's when it fails.
fn run(dir: &Path, work: &Path, cmd: &[&str]) -> Result<(String, Duration), NodeBuildError> {
    let line = cmd.join(" ");
    let start = Instant::now();
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .current_dir(work)
        .output()
        .map_err(|source| NodeBuildError::Io {
            action: "run npm in",
            path: work.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(NodeBuildError::Failed {
            dir: dir.to_path_buf(),
            work: work.to_path_buf(),
            command: line,
            status: out.status.to_string(),
            output: tail(&text, 60),
        });
    }
    Ok((line, start.elapsed()))
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Copy a folder's files and folders, leaving out the names in `skip` at
/// its top (symbolic links to files are copied as files; others are left
/// out).
fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<(), NodeBuildError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| NodeBuildError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(to).map_err(io("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io("read", from))? {
        let entry = entry.map_err(io("read", from))?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let meta = std::fs::metadata(&src);
        match meta {
            Ok(m) if m.is_dir() => copy_tree(&src, &dst, &["node_modules", ".git"])?,
            Ok(m) if m.is_file() => {
                std::fs::copy(&src, &dst).map_err(io("copy", &src))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
