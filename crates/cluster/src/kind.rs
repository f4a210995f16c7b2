//! Driving the `kind` binary: find it, check its version, create, list and
//! delete clusters.
//!
//! Every command goes through a [`Runner`], so tests check the exact argv and
//! stdin with a fake one, and a failed command is reported as a line the user
//! can paste into a shell, with its output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Oldest kind release fabdev drives: its default node image runs
/// Kubernetes 1.31, which has native sidecars (used for the DinD container)
/// on by default.
pub const MIN_KIND_VERSION: Version = Version {
    major: 0,
    minor: 24,
    patch: 0,
};

/// Environment variable that names the kind binary (the `--kind` flag wins).
pub const KIND_ENV: &str = "FABDEV_KIND";

mod command;

pub use command::{CommandSpec, Output, ProcessRunner, Runner};

/// A kind release version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Version {
    /// Parse `kind version` output: `kind v0.27.0 go1.23.4 linux/amd64`
    /// (pre-releases: `kind v0.28.0-alpha+abc go...`).
    pub fn parse_kind_output(s: &str) -> Option<Version> {
        let word = s.split_whitespace().find(|w| w.starts_with('v'))?;
        let core = word
            .trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("");
        let mut nums = core.split('.').map(|n| n.parse::<u32>().ok());
        Some(Version {
            major: nums.next()??,
            minor: nums.next()??,
            patch: nums.next().flatten().unwrap_or(0),
        })
    }
}

/// Errors of driving kind.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error(
        "kind was not found{}",
        searched.as_ref().map(|s| format!(" ({s})")).unwrap_or_default()
    )]
    NotFound { searched: Option<String> },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({}):\n{}", exit_text(*code), indent(output))]
    Failed {
        command: String,
        code: Option<i32>,
        output: String,
    },
    #[error("cannot read the kind version from `{command}` output: {output:?}")]
    UnknownVersion { command: String, output: String },
    #[error("kind {found} is too old: fabdev needs {MIN_KIND_VERSION} or newer")]
    TooOld { found: Version },
}

impl KindError {
    /// The fix to paste, when there is one: a hint is data, which fabdev's
    /// reporters print on a `hint:` line and JSON `step_failed` carries.
    pub fn hint(&self) -> Option<String> {
        match self {
            KindError::NotFound { .. } => Some(format!(
                "install kind (`go install sigs.k8s.io/kind@v0.33.0`, or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation), or name the binary with --kind PATH or {KIND_ENV}"
            )),
            KindError::TooOld { .. } => Some("upgrade kind".to_string()),
            _ => None,
        }
    }
}

fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_string(),
    }
}

fn indent(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    // The tail is where kind says what went wrong; keep it readable.
    let start = lines.len().saturating_sub(40);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn non_empty_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Find the kind binary: an explicit path, then `FABDEV_KIND`, then `PATH`,
/// then where `go install sigs.k8s.io/kind@…` puts it (`$GOBIN`, else
/// `$GOPATH/bin`, else `~/go/bin`), which is often not on `PATH`.
pub fn find_kind(explicit: Option<&Path>) -> Result<PathBuf, KindError> {
    let env = std::env::var_os(KIND_ENV).map(PathBuf::from);
    let found = which::which("kind").ok().or_else(|| {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let go_bin = var("GOBIN")
            .or_else(|| var("GOPATH").map(|p| p.join("bin")))
            .or_else(|| var("HOME").map(|h| h.join("go").join("bin")))?;
        Some(go_bin.join("kind")).filter(|p| p.is_file())
    });
    find_kind_with(explicit, env.as_deref(), found)
}

fn find_kind_with(
    explicit: Option<&Path>,
    env: Option<&Path>,
    on_path: Option<PathBuf>,
) -> Result<PathBuf, KindError> {
    if let Some(p) = explicit.or(env) {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(KindError::NotFound {
                searched: Some(format!("{} is not a file", p.display())),
            })
        };
    }
    on_path.ok_or(KindError::NotFound {
        searched: Some("not on PATH".into()),
    })
}

/// How long `kind create cluster` may take (node image start and the control
/// plane coming up).
pub const CREATE_TIMEOUT: Duration = Duration::from_secs(600);

/// The kind binary and how to run it.
#[derive(Debug, Clone)]
pub struct Kind<R: Runner = ProcessRunner> {
    bin: PathBuf,
    runner: R,
    /// Set as `KIND_EXPERIMENTAL_PROVIDER` for every command, when given.
    provider: Option<crate::provider::NodeProvider>,
}

impl<R: Runner> Kind<R> {
    pub fn new(bin: impl Into<PathBuf>, runner: R) -> Kind<R> {
        Kind {
            bin: bin.into(),
            runner,
            provider: None,
        }
    }

    /// Runs kind with `KIND_EXPERIMENTAL_PROVIDER=<provider>`, so that it
    /// makes its nodes where fabdev looks for them.
    pub fn with_provider(mut self, provider: crate::provider::NodeProvider) -> Kind<R> {
        self.provider = Some(provider);
        self
    }

    pub fn provider(&self) -> Option<crate::provider::NodeProvider> {
        self.provider
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    fn cmd(&self, args: &[&str]) -> CommandSpec {
        let cmd = CommandSpec::new(&self.bin, args);
        match self.provider {
            Some(p) => cmd.env(crate::provider::PROVIDER_ENV, p.as_str()),
            None => cmd,
        }
    }

    async fn run_ok(&self, cmd: CommandSpec) -> Result<Output, KindError> {
        let out = self
            .runner
            .run(&cmd)
            .await
            .map_err(|source| KindError::Spawn {
                command: cmd.pasteable(),
                source,
            })?;
        if out.success() {
            Ok(out)
        } else {
            let mut output = out.stderr.trim_end().to_string();
            if !out.stdout.trim().is_empty() {
                output = format!("{}\n{output}", out.stdout.trim_end());
            }
            Err(KindError::Failed {
                command: cmd.pasteable(),
                code: out.code,
                output,
            })
        }
    }

    /// `kind version`, checked against [`MIN_KIND_VERSION`].
    pub async fn version(&self) -> Result<Version, KindError> {
        let cmd = self.cmd(&["version"]);
        let command = cmd.pasteable();
        let out = self.run_ok(cmd).await?;
        let v = Version::parse_kind_output(&out.stdout).ok_or(KindError::UnknownVersion {
            command,
            output: out.stdout.trim().to_string(),
        })?;
        if v < MIN_KIND_VERSION {
            return Err(KindError::TooOld { found: v });
        }
        Ok(v)
    }

    /// Names of the existing kind clusters.
    pub async fn clusters(&self) -> Result<Vec<String>, KindError> {
        let out = self.run_ok(self.cmd(&["get", "clusters"])).await?;
        // "No kind clusters found." goes to stderr; stdout is one name a line.
        Ok(non_empty_lines(&out.stdout))
    }

    pub async fn exists(&self, name: &str) -> Result<bool, KindError> {
        Ok(self.clusters().await?.iter().any(|c| c == name))
    }

    /// `kind create cluster` with the rendered config on stdin, writing the
    /// kubeconfig to `kubeconfig` (never the user's ~/.kube/config).
    pub async fn create(
        &self,
        name: &str,
        config_yaml: &str,
        kubeconfig: &Path,
        node_image: Option<&str>,
    ) -> Result<(), KindError> {
        let mut cmd = self
            .cmd(&["create", "cluster", "--name", name, "--config", "-"])
            .arg("--kubeconfig")
            .arg(kubeconfig.as_os_str())
            .stdin("kind-config.yaml", config_yaml.as_bytes().to_vec())
            .timeout(CREATE_TIMEOUT);
        if let Some(image) = node_image {
            cmd = cmd.arg("--image").arg(image);
        }
        self.run_ok(cmd).await.map(drop)
    }

    /// `kind delete cluster`; deleting a cluster that does not exist succeeds.
    pub async fn delete(&self, name: &str, kubeconfig: &Path) -> Result<(), KindError> {
        let cmd = self
            .cmd(&["delete", "cluster", "--name", name])
            .arg("--kubeconfig")
            .arg(kubeconfig.as_os_str())
            .timeout(Duration::from_secs(180));
        self.run_ok(cmd).await.map(drop)
    }

    /// Write the kubeconfig of an existing cluster to `kubeconfig`
    /// (`kind export kubeconfig`), e.g. after it was deleted by hand.
    pub async fn export_kubeconfig(&self, name: &str, kubeconfig: &Path) -> Result<(), KindError> {
        let cmd = self
            .cmd(&["export", "kubeconfig", "--name", name])
            .arg("--kubeconfig")
            .arg(kubeconfig.as_os_str());
        self.run_ok(cmd).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::future::Future;
    use std::sync::Mutex;

    /// Records every command and answers from a script.
    #[derive(Default)]
    struct Fake {
        seen: Mutex<Vec<CommandSpec>>,
        answers: Mutex<Vec<Output>>,
    }

    impl Fake {
        fn answering(answers: Vec<Output>) -> Fake {
            Fake {
                seen: Mutex::default(),
                answers: Mutex::new(answers.into_iter().rev().collect()),
            }
        }
        fn seen(&self) -> Vec<CommandSpec> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Runner for &Fake {
        async fn run(&self, cmd: &CommandSpec) -> std::io::Result<Output> {
            self.seen.lock().unwrap().push(cmd.clone());
            Ok(self.answers.lock().unwrap().pop().unwrap_or_default())
        }
    }

    fn ok(stdout: &str) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    fn args(c: &CommandSpec) -> Vec<String> {
        c.args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn create_passes_the_config_on_stdin_and_a_private_kubeconfig() {
        let fake = Fake::answering(vec![ok("")]);
        let kind = Kind::new("/usr/local/bin/kind", &fake);
        block_on(kind.create(
            "fabdev",
            "kind: Cluster\n",
            Path::new("/ws/.fabdev/kubeconfig"),
            None,
        ))
        .unwrap();
        let seen = fake.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            args(&seen[0]),
            [
                "create",
                "cluster",
                "--name",
                "fabdev",
                "--config",
                "-",
                "--kubeconfig",
                "/ws/.fabdev/kubeconfig"
            ]
        );
        assert_eq!(seen[0].stdin.as_deref(), Some(&b"kind: Cluster\n"[..]));
        assert_eq!(seen[0].timeout, CREATE_TIMEOUT);
        assert_eq!(
            seen[0].pasteable(),
            "/usr/local/bin/kind create cluster --name fabdev --config - --kubeconfig /ws/.fabdev/kubeconfig < kind-config.yaml"
        );
    }

    #[test]
    fn create_with_a_node_image() {
        let fake = Fake::answering(vec![ok("")]);
        let kind = Kind::new("kind", &fake);
        block_on(kind.create("x", "", Path::new("k"), Some("kindest/node:v1.33.1"))).unwrap();
        let a = args(&fake.seen()[0]);
        assert_eq!(&a[a.len() - 2..], ["--image", "kindest/node:v1.33.1"]);
    }

    #[test]
    fn a_failed_command_is_reported_pasteable_with_its_output() {
        let fake = Fake::answering(vec![Output {
            code: Some(1),
            stdout: String::new(),
            stderr: "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"fabdev\"\n".into(),
        }]);
        let kind = Kind::new("kind", &fake);
        let err = block_on(kind.create("fabdev", "", Path::new("/tmp/my kube"), None)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("`kind create cluster --name fabdev --config - --kubeconfig '/tmp/my kube' < kind-config.yaml` failed (exit code 1):"),
            "{text}"
        );
        assert!(
            text.contains("    ERROR: failed to create cluster: node(s) already exist"),
            "{text}"
        );
    }

    #[test]
    fn a_provider_is_passed_to_every_command_and_shown_in_the_pasteable_line() {
        let fake = Fake::answering(vec![ok(""), ok("")]);
        let kind = Kind::new("kind", &fake).with_provider(crate::provider::NodeProvider::Podman);
        block_on(kind.exists("x")).unwrap();
        block_on(kind.delete("x", Path::new("/k"))).unwrap();
        for c in fake.seen() {
            assert_eq!(
                c.env,
                [(
                    OsString::from("KIND_EXPERIMENTAL_PROVIDER"),
                    OsString::from("podman")
                )]
            );
        }
        assert_eq!(
            fake.seen()[1].pasteable(),
            "KIND_EXPERIMENTAL_PROVIDER=podman kind delete cluster --name x --kubeconfig /k"
        );
        let out = block_on(
            ProcessRunner
                .run(&CommandSpec::new("sh", &["-c", "echo $FABDEV_X"]).env("FABDEV_X", "y")),
        )
        .unwrap();
        assert_eq!(out.stdout, "y\n");
    }

    #[test]
    fn clusters_and_exists() {
        let fake = Fake::answering(vec![ok("dev\nfabdev\n"), ok("")]);
        let kind = Kind::new("kind", &fake);
        assert!(block_on(kind.exists("fabdev")).unwrap());
        assert!(!block_on(kind.exists("fabdev")).unwrap());
        assert_eq!(args(&fake.seen()[0]), ["get", "clusters"]);
    }

    #[test]
    fn delete_argv() {
        let fake = Fake::answering(vec![ok("")]);
        let kind = Kind::new("kind", &fake);
        block_on(kind.delete("fabdev", Path::new("/k"))).unwrap();
        assert_eq!(
            args(&fake.seen()[0]),
            [
                "delete",
                "cluster",
                "--name",
                "fabdev",
                "--kubeconfig",
                "/k"
            ]
        );
    }

    #[test]
    fn export_kubeconfig_argv() {
        let fake = Fake::answering(vec![ok("")]);
        block_on(
            Kind::new("kind", &fake)
                .export_kubeconfig("fabdev", Path::new("/ws/.fabdev/kubeconfig")),
        )
        .unwrap();
        assert_eq!(
            args(&fake.seen()[0]),
            [
                "export",
                "kubeconfig",
                "--name",
                "fabdev",
                "--kubeconfig",
                "/ws/.fabdev/kubeconfig"
            ]
        );
    }

    #[test]
    fn versions() {
        assert_eq!(
            Version::parse_kind_output("kind v0.27.0 go1.23.4 linux/amd64"),
            Some(Version {
                major: 0,
                minor: 27,
                patch: 0
            })
        );
        assert_eq!(
            Version::parse_kind_output("kind v0.30.0-alpha+1234 go1.24 linux/amd64")
                .map(|v| v.minor),
            Some(30)
        );
        assert_eq!(Version::parse_kind_output("garbage"), None);

        let fake = Fake::answering(vec![ok("kind v0.20.0 go1.20.4 linux/amd64\n")]);
        let err = block_on(Kind::new("kind", &fake).version()).unwrap_err();
        assert!(err.to_string().contains("kind v0.20.0 is too old"), "{err}");
        let fake = Fake::answering(vec![ok("kind v0.29.0 go1.24 linux/amd64\n")]);
        assert_eq!(
            block_on(Kind::new("kind", &fake).version()).unwrap().minor,
            29
        );
    }

    #[test]
    fn finding_kind() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("kind");
        std::fs::write(&bin, "").unwrap();
        assert_eq!(find_kind_with(Some(&bin), None, None).unwrap(), bin);
        assert_eq!(find_kind_with(None, Some(&bin), None).unwrap(), bin);
        let err = find_kind_with(Some(&dir.path().join("nope")), None, None).unwrap_err();
        assert!(err.to_string().contains("is not a file"), "{err}");
        let err = find_kind_with(None, None, None).unwrap_err();
        assert!(err.to_string().contains("not on PATH"), "{err}");
        assert!(
            err.hint().is_some_and(|h| h.contains("--kind PATH")),
            "{err:?}"
        );
        assert_eq!(
            find_kind_with(None, None, Some(PathBuf::from("/usr/bin/kind"))).unwrap(),
            PathBuf::from("/usr/bin/kind")
        );
    }
}
