//! Go vendoring: a peer builds Go chaincode in a builder container that may
//! have no network (a DinD daemon's), and with `src/vendor` present it builds
//! with `-mod=vendor`, offline. So when a Go module has no `vendor/` and
//! `go` is available, fabdev packages a vendored copy: the folder is copied
//! aside and `go mod vendor` runs there (with the user's Go environment:
//! GOPROXY, GOFLAGS, GONOSUMDB, ...). The source folder is never changed,
//! and the same input gives the same package (vendoring is deterministic).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt as _;

/// How long `go mod vendor` may run (it downloads modules through the
/// user's proxy) before it is killed.
pub const VENDOR_TIMEOUT: Duration = Duration::from_secs(600);

/// How often a running `go mod vendor` looks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The most of `go mod vendor`'s error output kept for the message.
const MAX_GO_OUTPUT: u64 = 64 * 1024;

/// Errors of vendoring; each names the folder and the cause.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`go mod vendor` failed for {} ({status}):\n{output}",
        dir.display()
    )]
    Go {
        dir: PathBuf,
        status: String,
        output: String,
    },
    #[error(
        "`go mod vendor` for {} did not finish within {}s and was stopped",
        dir.display(),
        timeout.as_secs()
    )]
    Timeout { dir: PathBuf, timeout: Duration },
    /// The command was interrupted while `go mod vendor` ran: it was
    /// killed and the copy removed.
    #[error("`go mod vendor` for {} was stopped: the command was interrupted", dir.display())]
    Stopped { dir: PathBuf },
}

impl VendorError {
    /// The fix to paste, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            VendorError::Go { .. } => Some(
                "fix the module (or vendor it yourself), or package without vendoring (--no-vendor)"
                    .to_string(),
            ),
            VendorError::Timeout { .. } => Some(
                "check the Go module proxy is reachable (GOPROXY), or vendor the module yourself (`go mod vendor`), or package without vendoring (--no-vendor)"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// Whether `dir` is a Go module that a vendored copy would help: it has
/// `go.mod` and no `vendor/`.
pub fn needs_vendoring(dir: &Path) -> bool {
    dir.join("go.mod").is_file() && !dir.join("vendor").exists()
}

/// A vendored copy of the Go module in `dir`, in a temporary folder that
/// lives as long as the returned value; `None` when `dir` needs none or
/// `go` is not on PATH (the peer then builds with `-mod=readonly`, which
/// needs a module proxy).
pub fn vendored_copy(dir: &Path) -> Result<Option<tempfile::TempDir>, VendorError> {
    vendored_copy_until(dir, &AtomicBool::new(false))
}

/// [`vendored_copy`] that stops (killing `go`, removing the copy, and
/// returning [`VendorError::Stopped`]) once `stop` is set: what a command
/// interrupted by a signal sets, since it runs on a blocking thread that
/// dropping the command's future does not end.
pub fn vendored_copy_until(
    dir: &Path,
    stop: &AtomicBool,
) -> Result<Option<tempfile::TempDir>, VendorError> {
    if !needs_vendoring(dir) {
        return Ok(None);
    }
    let Ok(go) = which_go() else {
        return Ok(None);
    };
    vendored_copy_with(dir, &go, VENDOR_TIMEOUT, stop).map(Some)
}

/// [`vendored_copy_until`] with this `go` and deadline.
pub fn vendored_copy_with(
    dir: &Path,
    go: &Path,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<tempfile::TempDir, VendorError> {
    let tmp = tempfile::Builder::new()
        .prefix("fabdev-vendor-")
        .tempdir()
        .map_err(|source| VendorError::Io {
            action: "create a temporary folder for",
            path: dir.to_path_buf(),
            source,
        })?;
    // The copy keeps the folder's name: some tools read it.
    let name = dir
        .file_name()
        .map_or_else(|| "src".into(), |n| n.to_os_string());
    let copy = tmp.path().join(name);
    copy_tree(dir, &copy)?;
    let run_err = |source| VendorError::Io {
        action: "run `go mod vendor` in",
        path: copy.clone(),
        source,
    };
    let mut child = Command::new(go)
        .args(["mod", "vendor"])
        .current_dir(&copy)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(run_err)?;
    // Its error output, read while it runs (so a full pipe cannot stop it).
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        use std::io::Read as _;
        let mut text = Vec::new();
        if let Some(e) = stderr {
            let _ = e.take(MAX_GO_OUTPUT).read_to_end(&mut text);
        }
        text
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(status) = child.wait_timeout(left.min(STOP_POLL)).map_err(run_err)? {
            break status;
        }
        let stopped = stop.load(Ordering::SeqCst);
        if stopped || left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            let dir = dir.to_path_buf();
            return Err(if stopped {
                VendorError::Stopped { dir }
            } else {
                VendorError::Timeout { dir, timeout }
            });
        }
    };
    if !status.success() {
        let output = reader.join().unwrap_or_default();
        return Err(VendorError::Go {
            dir: dir.to_path_buf(),
            status: status.to_string(),
            output: String::from_utf8_lossy(&output).trim().to_string(),
        });
    }
    Ok(tmp)
}

/// The folder inside a [`vendored_copy`] to package.
pub fn copy_dir(tmp: &tempfile::TempDir, original: &Path) -> PathBuf {
    let name = original
        .file_name()
        .map_or_else(|| "src".into(), |n| n.to_os_string());
    tmp.path().join(name)
}

fn which_go() -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|d| d.join("go"))
        .find(|p| p.is_file())
        .ok_or(())
}

/// Copy a folder's files and folders (symbolic links are not followed;
/// `.git` is left out, as packaging leaves it out).
fn copy_tree(from: &Path, to: &Path) -> Result<(), VendorError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| VendorError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(to).map_err(io("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io("read", from))? {
        let entry = entry.map_err(io("read", from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io("read", &src))?;
        if kind.is_dir() {
            if entry.file_name() == ".git" {
                continue;
            }
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(io("copy", &src))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_go_modules_without_vendor_need_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!needs_vendoring(dir.path()));
        std::fs::write(dir.path().join("go.mod"), "module x\n").expect("write");
        assert!(needs_vendoring(dir.path()));
        std::fs::create_dir(dir.path().join("vendor")).expect("mkdir");
        assert!(!needs_vendoring(dir.path()));
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    /// A `go` that never ends is stopped at the deadline, and said so.
    #[test]
    fn go_mod_vendor_has_a_deadline() {
        let tmp = tempfile::tempdir().unwrap();
        let module = tmp.path().join("cc");
        std::fs::create_dir(&module).unwrap();
        std::fs::write(module.join("go.mod"), "module x\n").unwrap();
        let go = tmp.path().join("go");
        std::fs::write(&go, "#!/bin/sh\nexec sleep 600\n").unwrap();
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let started = std::time::Instant::now();
        let never = AtomicBool::new(false);
        let e = vendored_copy_with(&module, &go, Duration::from_millis(300), &never).unwrap_err();
        assert!(matches!(e, VendorError::Timeout { .. }), "{e:?}");
        assert!(e.to_string().contains("did not finish within"), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    /// Asked to stop, a running `go mod vendor` is killed and the copy
    /// removed (a command interrupted by a signal).
    #[test]
    fn a_stopped_go_mod_vendor_leaves_no_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let module = tmp.path().join("cc");
        std::fs::create_dir(&module).unwrap();
        std::fs::write(module.join("go.mod"), "module x\n").unwrap();
        let started = tmp.path().join("started");
        let go = tmp.path().join("go");
        std::fs::write(
            &go,
            format!("#!/bin/sh\npwd > {}\nexec sleep 600\n", started.display()),
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let run = {
            let (module, go, stop) = (module.clone(), go.clone(), stop.clone());
            std::thread::spawn(move || {
                vendored_copy_with(&module, &go, Duration::from_secs(600), &stop)
            })
        };
        let copy = wait_for(|| std::fs::read_to_string(&started).ok());
        let copy = PathBuf::from(copy.trim());
        assert!(copy.join("go.mod").is_file(), "{}", copy.display());
        stop.store(true, Ordering::SeqCst);
        let e = run.join().unwrap().unwrap_err();
        assert!(matches!(e, VendorError::Stopped { .. }), "{e:?}");
        assert!(!copy.exists(), "{} was left", copy.display());
    }

    /// Waits (20 s at most) until `f` gives a value.
    fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < until, "not within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
