//! Results go to stdout; one that cannot be written (stdout closed, or a
//! reader gone) is an error, never a silent success. Rust's own stdout
//! treats a closed descriptor as a sink, so results are written through a
//! duplicate of it: at once ([`stdout_write`]) or by a reporter
//! ([`results_stdout`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::CliError;

fn stdout_error(source: std::io::Error) -> CliError {
    CliError::Io {
        action: "cannot write the result to",
        path: PathBuf::from("<stdout>"),
        source,
    }
}

/// Write `bytes` to stdout, all of them, or say why not.
pub fn stdout_write(bytes: &[u8]) -> Result<(), CliError> {
    write_fd1(bytes).map_err(stdout_error)
}

fn write_fd1(bytes: &[u8]) -> std::io::Result<()> {
    use std::os::fd::AsFd as _;
    if stdout_was_closed() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "stdout is closed (or is /dev/null opened read-write, which looks the same); to discard the result, redirect it with `>/dev/null`",
        ));
    }
    let mut out = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    out.write_all(bytes)?;
    out.flush()
}

/// Whether fabdev was started with stdout closed (`>&-`). Rust's runtime
/// puts `/dev/null` on a closed standard descriptor before `main`, opened
/// read-write; a shell's `>/dev/null` opens it write-only. So stdout being
/// `/dev/null` open read-write means it was closed. (Linux; elsewhere, no.)
pub fn stdout_was_closed() -> bool {
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

/// stdout for a reporter (a `Sink` cannot fail): every write goes through
/// [`stdout_write`]'s duplicate, and the first error is kept for
/// [`StdoutErrors::check`]; later writes fail at once.
pub struct ResultsStdout {
    first_error: Arc<Mutex<Option<std::io::Error>>>,
}

/// The command's side of a [`ResultsStdout`]: whether every write worked.
pub struct StdoutErrors {
    first_error: Arc<Mutex<Option<std::io::Error>>>,
}

/// A writer of results to stdout, and the handle that says whether all of
/// them were written.
pub fn results_stdout() -> (ResultsStdout, StdoutErrors) {
    let first_error = Arc::new(Mutex::new(None));
    (
        ResultsStdout {
            first_error: first_error.clone(),
        },
        StdoutErrors { first_error },
    )
}

impl std::io::Write for ResultsStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = first.as_ref() {
            return Err(std::io::Error::new(e.kind(), e.to_string()));
        }
        match write_fd1(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                let again = std::io::Error::new(e.kind(), e.to_string());
                *first = Some(e);
                Err(again)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl StdoutErrors {
    /// The first write that failed, as the command's error.
    pub fn check(&self) -> Result<(), CliError> {
        let first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match first {
            Some(e) => Err(stdout_error(e)),
            None => Ok(()),
        }
    }
}
