//! Commands run in a pod's container through the API server, as
//! `kubectl exec` runs them: the only way fabdev reaches a peer's DinD
//! daemon, whose socket is in the pod and nowhere else.
//!
//! A command's stdin can be a stream (an image export piped into
//! `docker load`), its stdout is collected or handed to a callback as it
//! arrives (`docker logs -f`), and its stderr is kept, bounded, for the
//! error. A failure names the pod, the container and the command as a
//! `kubectl exec` line that can be pasted into a shell.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pipe between fabdev and the exec stream, each way.
const PIPE_BUF: usize = 1024 * 1024;
/// The most of a command's stderr (and of stdout, in errors) kept.
const KEEP: usize = 16 * 1024;

/// What went wrong with a command run in a container.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The API server refused to start it (no such pod or container, the
    /// pod is not running, RBAC, ...): its own words.
    #[error("cannot run `{line}`: {message}")]
    Start { line: String, message: String },
    /// It ran and failed.
    #[error("`{line}` failed ({status}){}", output_of(stdout, stderr))]
    Failed {
        line: String,
        status: String,
        stdout: String,
        stderr: String,
    },
    /// It wrote more than fabdev reads.
    #[error("`{line}` wrote more than {limit} bytes")]
    TooMuchOutput { line: String, limit: usize },
    /// It did not finish in time.
    #[error("`{line}` did not finish within {} s", after.as_secs())]
    Timeout { line: String, after: Duration },
    /// Its input could not be written (the command ended early, or the
    /// source of the input failed: the source's error).
    #[error("writing the input of `{line}`")]
    Stdin {
        line: String,
        #[source]
        source: std::io::Error,
    },
}

fn output_of(stdout: &str, stderr: &str) -> String {
    let mut s = String::new();
    for text in [stderr.trim(), stdout.trim()] {
        if !text.is_empty() {
            s.push_str(":\n");
            s.push_str(text);
        }
    }
    s
}

/// A container of a pod, to run commands in.
#[derive(Clone)]
pub struct PodExec {
    api: Api<Pod>,
    namespace: String,
    pod: String,
    container: String,
}

impl std::fmt::Debug for PodExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.label())
    }
}

/// Where a command's stdout goes.
pub enum Stdout<'a> {
    /// Each piece, as it arrives.
    Each(&'a mut (dyn FnMut(&[u8]) + Send)),
    /// Into a bounded channel: the command's output is read only as fast
    /// as the receiver takes it (an image export piped into a load).
    Channel(tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>),
}

impl std::fmt::Debug for Stdout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stdout::Each(_) => "Stdout::Each",
            Stdout::Channel(_) => "Stdout::Channel",
        })
    }
}

impl Stdout<'_> {
    /// Hand over a piece; false once a channel's receiver is gone.
    pub(crate) async fn put(&mut self, chunk: &[u8]) -> bool {
        match self {
            Stdout::Each(f) => {
                f(chunk);
                true
            }
            Stdout::Channel(tx) => tx
                .send(Ok(bytes::Bytes::copy_from_slice(chunk)))
                .await
                .is_ok(),
        }
    }
}

/// What a finished command printed.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl PodExec {
    pub fn new(client: &Client, namespace: &str, pod: &str, container: &str) -> PodExec {
        PodExec {
            api: Api::namespaced(client.clone(), namespace),
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: container.to_string(),
        }
    }

    pub fn pod(&self) -> &str {
        &self.pod
    }

    /// "container dind of pod peer0-org1-0".
    pub fn label(&self) -> String {
        format!("container {} of pod {}", self.container, self.pod)
    }

    /// The `kubectl exec` line that runs `cmd` the same way.
    pub fn kubectl_line(&self, cmd: &[&str], stdin: bool) -> String {
        let mut line = format!(
            "kubectl --kubeconfig .fabdev/kubeconfig -n {} exec {}{} -c {} --",
            self.namespace,
            if stdin { "-i " } else { "" },
            self.pod,
            self.container
        );
        for arg in cmd {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        line
    }

    /// Run `cmd` and collect what it prints; an exit status other than 0
    /// is an error with its output.
    pub async fn run(&self, cmd: &[&str], timeout: Duration) -> Result<ExecOutput, ExecError> {
        let mut stdout = Vec::new();
        self.run_streaming(
            cmd,
            None::<futures_util::stream::Empty<Result<Vec<u8>, std::io::Error>>>,
            Stdout::Each(&mut |chunk| {
                if stdout.len() < 64 * 1024 * 1024 {
                    stdout.extend_from_slice(chunk);
                }
            }),
            timeout,
        )
        .await
        .map(|stderr| ExecOutput { stdout, stderr })
    }

    /// Run `cmd` with `stdin` (when given) as its input, handing each piece
    /// of its stdout to `out` as it arrives; returns its stderr.
    pub async fn run_streaming<S, B>(
        &self,
        cmd: &[&str],
        stdin: Option<S>,
        out: Stdout<'_>,
        timeout: Duration,
    ) -> Result<String, ExecError>
    where
        S: Stream<Item = Result<B, std::io::Error>> + Send,
        B: AsRef<[u8]>,
    {
        let line = self.kubectl_line(cmd, stdin.is_some());
        let work = self.exec(cmd, stdin, out, &line);
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(ExecError::Timeout {
                line,
                after: timeout,
            }),
        }
    }

    async fn exec<S, B>(
        &self,
        cmd: &[&str],
        stdin: Option<S>,
        sink: Stdout<'_>,
        line: &str,
    ) -> Result<String, ExecError>
    where
        S: Stream<Item = Result<B, std::io::Error>> + Send,
        B: AsRef<[u8]>,
    {
        // kube's default pipe of 1 KiB between the caller and the
        // WebSocket makes a frame of each KiB: an image streamed into
        // `docker load` crawled at ~10 MB/s. Frames of up to 1 MiB.
        let params = AttachParams::default()
            .container(self.container.clone())
            .stdin(stdin.is_some())
            .stdout(true)
            .stderr(true)
            .max_stdin_buf_size(PIPE_BUF)
            .max_stdout_buf_size(PIPE_BUF);
        let mut proc = self
            .api
            .exec(&self.pod, cmd.iter().copied(), &params)
            .await
            .map_err(|e| ExecError::Start {
                line: line.to_string(),
                message: match &e {
                    kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
                    other => other.to_string(),
                },
            })?;
        let status = proc.take_status();
        let mut out = proc.stdout();
        let mut err = proc.stderr();
        let writer = proc.stdin();

        let (fed, stderr) = pipe(writer, stdin, out.as_mut(), sink, err.as_mut()).await;
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = proc.join().await;
        match status {
            Some(s) if s.status.as_deref() != Some("Success") => Err(ExecError::Failed {
                line: line.to_string(),
                status: exit_status(&s),
                stdout: String::new(),
                stderr,
            }),
            _ => match fed {
                Ok(()) => Ok(stderr),
                Err(source) => Err(ExecError::Stdin {
                    line: line.to_string(),
                    source,
                }),
            },
        }
    }
}

/// A running command's three streams at once: `stdin` written to `input`
/// (then closed, the command's end of input), `output` handed to `sink`, and
/// the last [`KEEP`] bytes of `errors` kept. Returns how the input went and
/// the errors' text.
pub(crate) async fn pipe<S, B, W, R, E>(
    input: Option<W>,
    stdin: Option<S>,
    output: Option<&mut R>,
    mut sink: Stdout<'_>,
    errors: Option<&mut E>,
) -> (std::io::Result<()>, String)
where
    S: Stream<Item = Result<B, std::io::Error>> + Send,
    B: AsRef<[u8]>,
    W: tokio::io::AsyncWrite + Unpin,
    R: tokio::io::AsyncRead + Unpin,
    E: tokio::io::AsyncRead + Unpin,
{
    let feed = async move {
        let (Some(mut w), Some(stdin)) = (input, stdin) else {
            return Ok(());
        };
        let mut stdin = std::pin::pin!(stdin);
        while let Some(chunk) = stdin.next().await {
            w.write_all(chunk?.as_ref()).await?;
        }
        w.shutdown().await
        // `w` dropped here: for a pipe, the end of input.
    };
    let read_out = async {
        let Some(out) = output else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = out.read(&mut buf).await {
            if n == 0 || !sink.put(&buf[..n]).await {
                break;
            }
        }
    };
    let read_err = async {
        let mut kept = Vec::new();
        if let Some(err) = errors {
            let mut buf = vec![0u8; 8 * 1024];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > KEEP {
                    kept.drain(..kept.len() - KEEP);
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    };
    let (fed, (), kept) = tokio::join!(feed, read_out, read_err);
    (fed, kept)
}

/// "exit code 1", or the API server's reason.
fn exit_status(s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Status) -> String {
    let code = s
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.clone());
    match (code, &s.message) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(m)) if !m.is_empty() => m.clone(),
        _ => s.reason.clone().unwrap_or_else(|| "failed".to_string()),
    }
}

/// `arg` as a shell word.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+{}%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_makes_pasteable_lines() {
        assert_eq!(shell_quote("docker"), "docker");
        assert_eq!(shell_quote("{{.ID}} x"), "'{{.ID}} x'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn failures_name_the_command_and_show_its_output() {
        let e = ExecError::Failed {
            line: "kubectl -n ws exec p -c dind -- docker load".into(),
            status: "exit code 1".into(),
            stdout: String::new(),
            stderr: "open /var/lib/docker/tmp: no space left on device\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "`kubectl -n ws exec p -c dind -- docker load` failed (exit code 1):\nopen /var/lib/docker/tmp: no space left on device"
        );
    }
}
