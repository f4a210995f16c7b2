//! The commands fabdev runs (kind, and others through the same seam): what
//! to run ([`CommandSpec`]), how ([`Runner`]: [`ProcessRunner`] for real,
//! a fake in tests), and the line a user can paste to run it again.

use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// A command to run: program, arguments and optional standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables set for the command (on top of fabdev's environment).
    pub env: Vec<(OsString, OsString)>,
    /// Bytes written to the command's stdin (then closed).
    pub stdin: Option<Vec<u8>>,
    /// Name of what stdin holds, for the pasteable line (`kind-config.yaml`).
    pub stdin_name: Option<String>,
    /// How long the command may take.
    pub timeout: Duration,
}

impl CommandSpec {
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> CommandSpec {
        CommandSpec {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            stdin: None,
            stdin_name: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> CommandSpec {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> CommandSpec {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, name: &str, bytes: Vec<u8>) -> CommandSpec {
        self.stdin = Some(bytes);
        self.stdin_name = Some(name.to_string());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> CommandSpec {
        self.timeout = timeout;
        self
    }

    /// The command as one shell line a user can paste, with stdin shown as a
    /// redirect from the file it came from.
    pub fn pasteable(&self) -> String {
        let mut line = String::new();
        for (k, v) in &self.env {
            line.push_str(&k.to_string_lossy());
            line.push('=');
            line.push_str(&shell_quote(&v.to_string_lossy()));
            line.push(' ');
        }
        line.push_str(&shell_quote(&self.program.to_string_lossy()));
        for a in &self.args {
            line.push(' ');
            line.push_str(&shell_quote(&a.to_string_lossy()));
        }
        if let Some(name) = &self.stdin_name {
            line.push_str(" < ");
            line.push_str(&shell_quote(name));
        }
        line
    }
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What a finished command returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs commands. [`ProcessRunner`] for real; tests supply a fake.
pub trait Runner: Send + Sync {
    fn run(&self, cmd: &CommandSpec) -> impl Future<Output = std::io::Result<Output>> + Send;
}

/// Runs commands as child processes with tokio, killing them at the timeout.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRunner;

impl Runner for ProcessRunner {
    async fn run(&self, cmd: &CommandSpec) -> std::io::Result<Output> {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;

        let mut child = tokio::process::Command::new(&cmd.program)
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(if cmd.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        // stdin is fed while the output is read, so neither side can fill a
        // pipe and wait on the other. A command that exits without reading
        // all of its input (kind failing early) closes the pipe: that is not
        // an error of its own; its exit status and output say what happened.
        let stdin = child.stdin.take();
        let feed = async {
            if let (Some(bytes), Some(mut stdin)) = (&cmd.stdin, stdin) {
                match stdin.write_all(bytes).await {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                    _ => drop(stdin),
                }
            }
            Ok(())
        };
        let run = async {
            let (fed, out) = tokio::join!(feed, child.wait_with_output());
            fed?;
            out
        };
        let out = tokio::time::timeout(cmd.timeout, run).await.map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("still running after {}s", cmd.timeout.as_secs()),
            )
        })??;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_real_runner_runs_and_times_out() {
        let out = block_on(
            ProcessRunner.run(
                &CommandSpec::new("sh", &["-c", "cat; echo err >&2; exit 3"])
                    .stdin("in", b"hi".to_vec()),
            ),
        )
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "hi");
        assert_eq!(out.stderr, "err\n");
        let err = block_on(
            ProcessRunner.run(
                &CommandSpec::new("sh", &["-c", "read x"])
                    .stdin("in", Vec::new())
                    // Far above a process start on a loaded machine: the
                    // point is that a closed stdin ends `read` before it.
                    .timeout(Duration::from_secs(30)),
            ),
        );
        // `read` on a closed stdin returns at once: not a timeout.
        assert!(err.is_ok());
        let err = block_on(
            ProcessRunner
                .run(&CommandSpec::new("sleep", &["5"]).timeout(Duration::from_millis(100))),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_command_that_exits_without_reading_its_input_reports_its_own_failure() {
        // More input than a pipe holds, to a command that never reads it:
        // the result is its exit code and message, not a broken pipe.
        let out = block_on(
            ProcessRunner.run(
                &CommandSpec::new("sh", &["-c", "echo 'no node image' >&2; exit 1"])
                    .stdin("kind-config.yaml", vec![b'x'; 1 << 20]),
            ),
        )
        .unwrap();
        assert_eq!(out.code, Some(1));
        assert_eq!(out.stderr, "no node image\n");
        // And a command that writes much before it reads does not deadlock.
        let out = block_on(
            ProcessRunner.run(
                &CommandSpec::new("sh", &["-c", "head -c 1048576 /dev/zero; cat >/dev/null"])
                    .stdin("in", vec![b'x'; 1 << 20])
                    .timeout(Duration::from_secs(20)),
            ),
        )
        .unwrap();
        assert_eq!((out.code, out.stdout.len()), (Some(0), 1 << 20));
    }
}
