//! Go vendoring: a peer builds Go chaincode in a builder container that may
//! have no network (a DinD daemon's), and with `src/vendor` present it builds
//! with `-mod=vendor`, offline. So when a Go module has no `vendor/` and
//! `go` is available, fabdev packages a vendored copy: the folder is copied
//! aside and `go mod vendor` runs there (with the user's Go environment:
//! GOPROXY, GOFLAGS, GONOSUMDB, ...). The source folder is never changed,
//! and the same input gives the same package (vendoring is deterministic).

use std::path::{Path, PathBuf};
use std::process::Command;

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
        "`go mod vendor` failed for {} ({status}):\n{output}\n  hint: fix the module (or vendor it yourself), or package without vendoring (--no-vendor)",
        dir.display()
    )]
    Go {
        dir: PathBuf,
        status: String,
        output: String,
    },
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
    if !needs_vendoring(dir) {
        return Ok(None);
    }
    let Ok(go) = which_go() else {
        return Ok(None);
    };
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
    let out = Command::new(go)
        .args(["mod", "vendor"])
        .current_dir(&copy)
        .output()
        .map_err(|source| VendorError::Io {
            action: "run `go mod vendor` in",
            path: copy.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(VendorError::Go {
            dir: dir.to_path_buf(),
            status: out.status.to_string(),
            output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(Some(tmp))
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
