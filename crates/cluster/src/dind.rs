//! A peer's DinD daemon, reached the only way there is: `docker` run in the
//! pod's `dind` container through the API server ([`crate::exec`]). The
//! daemon listens on a unix socket that only the sidecar and the peer mount
//! (the sidecar's `DOCKER_HOST` points at it), so no port of the daemon is
//! ever opened on the user's machine or in the pod.
//!
//! A daemon run without Kubernetes (a test harness's peer processes, each
//! with its own dockerd) is reached the same way through its socket on
//! this machine ([`Dind::local`]): the same `docker` commands, run here.
//!
//! [`Dind`] is an [`ImageTarget`]: `up` copies images into it with
//! [`crate::images::transfer_to_many`] (one `docker load` a peer, fed by one
//! export from the host), and it lists, tags and reads the logs of the
//! chaincode containers the peer runs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use kube::Client;

use crate::exec::{ExecError, PodExec, Stdout};
use crate::images::{ImageError, ImageTarget, LoadBody};

/// The sidecar's container name in fabdev's peer pods.
pub const CONTAINER: &str = "dind";

/// Deadline of a short `docker` command (inspect, tag, ps).
const SHORT: Duration = Duration::from_secs(60);

/// The most stdout a short `docker` command may write (`ps -a` of a
/// daemon with thousands of containers is well below).
const MAX_STDOUT: usize = 4 * 1024 * 1024;

/// One peer's DinD daemon.
#[derive(Debug, Clone)]
pub struct Dind {
    transport: Transport,
    label: String,
    transfer_timeout: Duration,
}

/// How `docker` commands reach the daemon.
#[derive(Debug, Clone)]
enum Transport {
    /// Run in the pod's `dind` container through the API server.
    Pod(Box<PodExec>),
    /// Run here, against the daemon's socket on this machine.
    Local(PathBuf),
}

/// A container of the daemon (`docker ps -a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DindContainer {
    pub name: String,
    pub image: String,
    pub state: String,
}

impl Dind {
    /// The daemon of pod `pod` (e.g. `peer0-org1-0`) in `namespace`;
    /// `label` names it in errors and events ("dind of peer0-org1").
    pub fn new(client: &Client, namespace: &str, pod: &str, label: &str) -> Dind {
        let exec = PodExec::new(client, namespace, pod, CONTAINER);
        Dind {
            label: format!("{label} ({})", exec.label()),
            transport: Transport::Pod(Box::new(exec)),
            transfer_timeout: Duration::from_secs(60 * 60),
        }
    }

    /// A daemon whose socket is on this machine (a peer run as processes,
    /// as `crates/testnet` runs them); `docker` runs here.
    pub fn local(socket: impl Into<PathBuf>, label: &str) -> Dind {
        let socket = socket.into();
        Dind {
            label: format!("{label} (unix://{})", socket.display()),
            transport: Transport::Local(socket),
            transfer_timeout: Duration::from_secs(60 * 60),
        }
    }

    /// Run `docker ARGS`, handing its stdout over as it arrives.
    async fn run_streaming<S, B>(
        &self,
        args: &[&str],
        stdin: Option<S>,
        out: Stdout<'_>,
        timeout: Duration,
    ) -> Result<String, ExecError>
    where
        S: Stream<Item = Result<B, std::io::Error>> + Send,
        B: AsRef<[u8]>,
    {
        match &self.transport {
            Transport::Pod(exec) => {
                let mut cmd = vec!["docker"];
                cmd.extend_from_slice(args);
                exec.run_streaming(&cmd, stdin, out, timeout).await
            }
            Transport::Local(socket) => {
                let host = format!("--host=unix://{}", socket.display());
                let mut cmd = vec!["docker", host.as_str()];
                cmd.extend_from_slice(args);
                local_run(&cmd, stdin, out, timeout).await
            }
        }
    }

    async fn docker(&self, args: &[&str]) -> Result<String, ExecError> {
        let mut stdout = CappedBuf::new(MAX_STDOUT);
        self.run_streaming(
            args,
            None::<futures_util::stream::Empty<Result<Vec<u8>, std::io::Error>>>,
            Stdout::Each(&mut |chunk| stdout.push(chunk)),
            SHORT,
        )
        .await?;
        stdout.text().ok_or_else(|| ExecError::TooMuchOutput {
            line: shell_words(&[&["docker"], args].concat()),
            limit: MAX_STDOUT,
        })
    }

    /// Every container of the daemon, running or not.
    pub async fn containers(&self) -> Result<Vec<DindContainer>, ExecError> {
        let out = self
            .docker(&[
                "ps",
                "-a",
                "--no-trunc",
                "--format",
                "{{.Names}}\t{{.Image}}\t{{.State}}",
            ])
            .await?;
        Ok(parse_containers(&out))
    }

    /// The output of container `name` (stdout and stderr as the daemon
    /// keeps them), handed over as it arrives; with `follow`, until the
    /// container stops or the caller stops polling.
    pub async fn logs(
        &self,
        name: &str,
        follow: bool,
        tail: Option<usize>,
        on_output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(), ExecError> {
        let tail = tail.map(|n| n.to_string());
        let args = logs_args(name, follow, tail.as_deref());
        let timeout = if follow {
            Duration::from_secs(365 * 24 * 3600)
        } else {
            SHORT
        };
        // `docker logs` writes the container's stderr to its own stderr:
        // both are wanted, in one stream, as a terminal shows them.
        let none = None::<futures_util::stream::Empty<Result<Vec<u8>, std::io::Error>>>;
        match &self.transport {
            Transport::Pod(exec) => {
                let mut cmd = vec!["docker"];
                cmd.extend_from_slice(&args);
                let script = format!("exec {} 2>&1", shell_words(&cmd));
                exec.run_streaming(
                    &["sh", "-c", &script],
                    none,
                    Stdout::Each(on_output),
                    timeout,
                )
                .await
                .map(|_| ())
            }
            Transport::Local(_) => {
                let stderr = self
                    .run_streaming(&args, none, Stdout::Each(&mut *on_output), timeout)
                    .await?;
                on_output(stderr.as_bytes());
                Ok(())
            }
        }
    }
}

impl Dind {
    /// Copy `image` from this daemon into `to`, named `as_name` there:
    /// `docker save` here streamed into `docker load` there (a bounded
    /// pipe, nothing on disk), then `docker tag`.
    pub async fn copy_image_to(
        &self,
        to: &Dind,
        image: &str,
        as_name: &str,
    ) -> Result<(), ImageError> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let body: LoadBody = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .boxed();
        let none = None::<futures_util::stream::Empty<Result<Vec<u8>, std::io::Error>>>;
        let save = async {
            let r = self
                .run_streaming(
                    &["save", "--", image],
                    none,
                    Stdout::Channel(tx),
                    self.transfer_timeout,
                )
                .await;
            r.map(|_| ())
                .map_err(|e| exec_error("exporting", image, &self.label, e))
        };
        let (saved, loaded) = tokio::join!(save, to.load(image, body));
        saved?;
        loaded?;
        to.tag(image, as_name).await?;
        // Only the peer's own name stays.
        to.docker(&["rmi", "--", image])
            .await
            .map(|_| ())
            .map_err(|e| exec_error("untagging", image, &to.label, e))
    }
}

impl Dind {
    /// Build image `tag` in this daemon from a `docker build` context tar
    /// (a Dockerfile and the files it adds), sent as the command's input:
    /// the one-step build a peer runs for its chaincode image, without its
    /// builder (see `chaincode::image`).
    pub async fn build_image(&self, tag: &str, context: Vec<u8>) -> Result<(), ImageError> {
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(context)]);
        self.run_streaming(
            &["build", "--quiet", "--tag", tag, "-"],
            Some(body),
            Stdout::Each(&mut |_| {}),
            self.transfer_timeout,
        )
        .await
        .map(|_| ())
        .map_err(|e| exec_error("building", tag, &self.label, e))
    }
}

/// Run `cmd` here, with `stdin` as its input; returns its stderr.
async fn local_run<S, B>(
    cmd: &[&str],
    stdin: Option<S>,
    sink: Stdout<'_>,
    timeout: Duration,
) -> Result<String, ExecError>
where
    S: Stream<Item = Result<B, std::io::Error>> + Send,
    B: AsRef<[u8]>,
{
    let line = shell_words(cmd);
    let work = async {
        let mut child = tokio::process::Command::new(cmd[0])
            .args(&cmd[1..])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ExecError::Start {
                line: line.clone(),
                message: e.to_string(),
            })?;
        let input = child.stdin.take();
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let (fed, stderr) = crate::exec::pipe(input, stdin, out.as_mut(), sink, err.as_mut()).await;
        let status = child.wait().await.map_err(|e| ExecError::Start {
            line: line.clone(),
            message: e.to_string(),
        })?;
        if !status.success() {
            return Err(ExecError::Failed {
                line: line.clone(),
                status: status.to_string(),
                stdout: String::new(),
                stderr,
            });
        }
        fed.map_err(|source| ExecError::Stdin {
            line: line.clone(),
            source,
        })?;
        Ok(stderr)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(ExecError::Timeout {
            line: line.clone(),
            after: timeout,
        }),
    }
}

/// `docker logs` of container `name`: `--` before the name, so that a name
/// cannot be read as an option.
fn logs_args<'a>(name: &'a str, follow: bool, tail: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec!["logs"];
    if follow {
        args.push("--follow");
    }
    if let Some(t) = tail {
        args.extend(["--tail", t]);
    }
    args.extend(["--", name]);
    args
}

/// Stdout kept up to a limit; past it, only the fact that it was passed.
struct CappedBuf {
    buf: Vec<u8>,
    limit: usize,
    over: bool,
}

impl CappedBuf {
    fn new(limit: usize) -> Self {
        CappedBuf {
            buf: Vec::new(),
            limit,
            over: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if self.over || self.buf.len() + chunk.len() > self.limit {
            self.over = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The text, or `None` when it was longer than the limit.
    fn text(self) -> Option<String> {
        (!self.over).then(|| String::from_utf8_lossy(&self.buf).into_owned())
    }
}

fn shell_words(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_containers(out: &str) -> Vec<DindContainer> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(DindContainer {
                name: f.next()?.to_string(),
                image: f.next()?.to_string(),
                state: f.next()?.to_string(),
            })
        })
        .collect()
}

fn exec_error(operation: &str, image: &str, daemon: &str, e: ExecError) -> ImageError {
    ImageError::Exec {
        operation: operation.to_string(),
        image: image.to_string(),
        daemon: daemon.to_string(),
        source: Box::new(e),
    }
}

impl ImageTarget for Dind {
    fn label(&self) -> &str {
        &self.label
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>, ImageError> {
        match self
            .docker(&["image", "inspect", "--format", "{{.Id}}", "--", reference])
            .await
        {
            Ok(out) => Ok(Some(out.trim().to_string())),
            Err(ExecError::Failed { stderr, .. }) if stderr.contains("No such image") => Ok(None),
            Err(e) => Err(exec_error("inspecting", reference, &self.label, e)),
        }
    }

    async fn tag(&self, id: &str, reference: &str) -> Result<(), ImageError> {
        self.docker(&["tag", "--", id, reference])
            .await
            .map(|_| ())
            .map_err(|e| exec_error("tagging", reference, &self.label, e))
    }

    async fn load(&self, image: &str, body: LoadBody) -> Result<(), ImageError> {
        self.run_streaming(
            &["load", "--quiet"],
            Some(body),
            Stdout::Each(&mut |_| {}),
            self.transfer_timeout,
        )
        .await
        .map(|_| ())
        .map_err(|e| exec_error("loading", image, &self.label, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_from_docker_ps() {
        let out =
            "dev-peer0-org1-basic_1-ab\tdev-peer0-org1-basic_1-ab-1234\tUp 3 minutes\tx\nbroken\n";
        assert_eq!(
            parse_containers(out),
            [DindContainer {
                name: "dev-peer0-org1-basic_1-ab".into(),
                image: "dev-peer0-org1-basic_1-ab-1234".into(),
                state: "Up 3 minutes".into(),
            }]
        );
    }

    #[test]
    fn names_given_to_docker_come_after_double_dash() {
        assert_eq!(
            logs_args("--help", true, Some("5")),
            ["logs", "--follow", "--tail", "5", "--", "--help"]
        );
    }

    #[test]
    fn docker_stdout_is_capped() {
        let mut b = CappedBuf::new(10);
        b.push(b"12345");
        b.push(b"67890");
        assert_eq!(b.text().as_deref(), Some("1234567890"));
        let mut b = CappedBuf::new(10);
        b.push(b"12345");
        b.push(b"678901");
        b.push(b"x");
        assert!(b.buf.is_empty());
        assert_eq!(b.text(), None);
    }

    #[test]
    fn logs_script_quotes_every_word() {
        assert_eq!(
            shell_words(&["docker", "logs", "--tail", "10", "a b"]),
            "'docker' 'logs' '--tail' '10' 'a b'"
        );
    }
}
