//! One writer per workspace: an advisory lock on `.fabdev/lock`, taken by
//! every command that writes into `.fabdev/` (render, up, down), and the
//! state folder itself, private to the user whatever the umask.
//!
//! The lock is `flock(2)` on the file (std's `File::lock`): the kernel drops
//! it when the process exits, however it exits, so a killed command never
//! leaves the workspace locked. A second command waits for the first, saying
//! which one it waits for, up to a deadline.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::flow::STATE_DIR;

/// The lock file inside [`STATE_DIR`].
pub const LOCK_FILE: &str = "lock";

/// Errors of taking the workspace lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another fabdev command ({holder}) still uses workspace {} after {waited:?}",
        workspace.display()
    )]
    Busy {
        workspace: PathBuf,
        holder: String,
        waited: Duration,
    },
}

impl crate::errors::Hint for LockError {
    fn hint(&self) -> Option<String> {
        match self {
            LockError::Busy { .. } => Some("wait for it to finish, or stop it; only one command at a time writes a workspace's .fabdev/".to_string()),
            LockError::Io { .. } => None,
        }
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LockError {
    let path = path.to_path_buf();
    move |source| LockError::Io {
        action,
        path,
        source,
    }
}

/// Creates `<workspace>/.fabdev` when missing, mode 0700 whatever the umask,
/// and makes an existing one 0700 (it holds private keys and a kubeconfig).
pub fn state_dir(workspace: &Path) -> Result<PathBuf, LockError> {
    let dir = workspace.join(STATE_DIR);
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    match b.create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(source) => return Err(io_err("create", &dir)(source)),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err("set the permissions of", &dir))?;
    }
    Ok(dir)
}

/// The workspace's lock, held until dropped (or the process ends).
#[derive(Debug)]
pub struct WorkspaceLock {
    file: File,
    path: PathBuf,
}

impl WorkspaceLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Takes the lock of `workspace` for `command`. When another command holds
/// it, calls `waiting` with a line naming that command, then waits up to
/// `deadline` for it to finish.
pub fn lock_workspace(
    workspace: &Path,
    command: &str,
    deadline: Duration,
    waiting: impl FnOnce(&str),
) -> Result<WorkspaceLock, LockError> {
    let dir = state_dir(workspace)?;
    let path = dir.join(LOCK_FILE);
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open", &path))
    };
    let file = open()?;
    let file = match file.try_lock() {
        Ok(()) => file,
        Err(std::fs::TryLockError::Error(source)) => return Err(io_err("lock", &path)(source)),
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = holder_of(&path);
            waiting(&format!(
                "waiting for another fabdev command ({holder}) to finish with workspace {}",
                workspace.display()
            ));
            // flock blocks without a timeout: block in a thread, wait on it
            // with the deadline. Past it, the thread is left blocked and the
            // process exits with the error.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(file.lock().map(|()| file));
            });
            match rx.recv_timeout(deadline) {
                Ok(Ok(file)) => file,
                Ok(Err(source)) => return Err(io_err("lock", &path)(source)),
                Err(_) => {
                    return Err(LockError::Busy {
                        workspace: workspace.to_path_buf(),
                        holder,
                        waited: deadline,
                    });
                }
            }
        }
    };
    let mut lock = WorkspaceLock { file, path };
    // Who holds it, for the message of the next command that waits.
    let note = format!("fabdev {command}, pid {}\n", std::process::id());
    let _ = lock
        .file
        .set_len(0)
        .and_then(|()| lock.file.rewind())
        .and_then(|()| lock.file.write_all(note.as_bytes()));
    Ok(lock)
}

/// The note the holder wrote in the lock file, or a placeholder.
fn holder_of(path: &Path) -> String {
    let mut text = String::new();
    let _ = File::open(path).and_then(|f| f.take(200).read_to_string(&mut text));
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "unknown".to_string()
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first_and_names_it() {
        let ws = tempfile::tempdir().expect("tempdir");
        let first = lock_workspace(ws.path(), "render", Duration::from_secs(1), |_| {
            panic!("the first lock does not wait")
        })
        .expect("first");
        let mut said = String::new();
        let err = lock_workspace(ws.path(), "up", Duration::from_millis(200), |m| {
            said = m.to_string();
        })
        .expect_err("busy");
        assert!(said.contains("fabdev render, pid"), "{said}");
        assert!(
            matches!(&err, LockError::Busy { holder, .. } if holder.contains("fabdev render")),
            "{err}"
        );
        drop(first);
        lock_workspace(ws.path(), "up", Duration::from_secs(5), |_| {}).expect("free again");
    }
}
