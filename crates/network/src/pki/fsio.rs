//! Atomic writes and reading a crypto tree back.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::PkiError;

/// Name prefix of the temporary files and folders fabdev writes next to
/// their final place. Leftovers of an interrupted run are removed by the next
/// `ensure` and skipped by [`read_tree`].
pub(crate) const TMP_PREFIX: &str = ".fabdev-tmp-";

/// Mode of certificates and config files.
const PUBLIC_MODE: u32 = 0o644;
/// Mode of private keys.
const SECRET_MODE: u32 = 0o600;
/// Mode of folders (as cryptogen).
const DIR_MODE: u32 = 0o755;

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PkiError {
    let path = path.to_path_buf();
    move |source| PkiError::Io {
        action,
        path,
        source,
    }
}

/// A file to write: its '/'-separated path relative to its folder, its bytes
/// and its mode.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub rel: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
}

impl File {
    /// A certificate or config file (0644).
    pub(crate) fn public(rel: impl Into<String>, bytes: &[u8]) -> File {
        File {
            rel: rel.into(),
            bytes: bytes.to_vec(),
            mode: PUBLIC_MODE,
        }
    }
    /// A private key (0600).
    pub(crate) fn secret(rel: impl Into<String>, bytes: &[u8]) -> File {
        File {
            rel: rel.into(),
            bytes: bytes.to_vec(),
            mode: SECRET_MODE,
        }
    }
}

/// Does `path` exist? (An I/O error other than "not found" is an error.)
pub(crate) fn exists(path: &Path) -> Result<bool, PkiError> {
    path.try_exists().map_err(io_err("check", path))
}

/// Creates `path` and its missing parents private to the user (0700,
/// whatever the umask): the state folders holding keys.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), PkiError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(path).map_err(io_err("create folder", path))
}

pub(crate) fn create_dir_all(path: &Path) -> Result<(), PkiError> {
    std::fs::create_dir_all(path).map_err(io_err("create folder", path))
}

fn set_mode(file: &std::fs::File, mode: u32, path: &Path) -> Result<(), PkiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io_err("set the permissions of", path))?;
    }
    #[cfg(not(unix))]
    let _ = (file, mode, path);
    Ok(())
}

fn set_dir_mode(dir: &Path) -> Result<(), PkiError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
            .map_err(io_err("set the permissions of", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Write `bytes` to `path` through a temporary file in the same folder, so
/// `path` either keeps its old content or has all of the new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PkiError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(parent)
        .map_err(io_err("create a temporary file in", parent))?;
    // Restrict before writing: the temporary file is 0600 already, keys stay so.
    set_mode(tmp.as_file(), mode, tmp.path())?;
    tmp.write_all(bytes).map_err(io_err("write", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err("flush", tmp.path()))?;
    tmp.persist(path).map_err(|e| PkiError::Io {
        action: "rename a temporary file to",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Create folder `dir` holding `files`, all at once: the files are written
/// in a temporary sibling folder, which is then renamed to `dir`. Fails if
/// `dir` exists and is not empty.
pub(crate) fn write_dir_atomic(dir: &Path, files: &[File]) -> Result<(), PkiError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(parent)
        .map_err(io_err("create a temporary folder in", parent))?;
    set_dir_mode(tmp.path())?;
    for f in files {
        // Create each folder of the file's path with the same mode.
        let mut sub = tmp.path().to_path_buf();
        let mut parts: Vec<&str> = f.rel.split('/').collect();
        let name = parts.pop().unwrap_or_default();
        for part in parts {
            sub.push(part);
            if !sub.is_dir() {
                std::fs::create_dir(&sub).map_err(io_err("create folder", &sub))?;
                set_dir_mode(&sub)?;
            }
        }
        write_atomic(&sub.join(name), &f.bytes, f.mode)?;
    }
    std::fs::rename(tmp.path(), dir)
        .map_err(io_err("move a temporary folder into place at", dir))?;
    // Renamed away: nothing left for TempDir to delete.
    let _ = tmp.keep();
    Ok(())
}

fn is_tmp(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with(TMP_PREFIX))
}

/// Remove temporary files and folders an interrupted run left in `dir`.
pub(crate) fn remove_stale_tmp(dir: &Path) -> Result<(), PkiError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        if !is_tmp(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(io_err("inspect", &path))?
            .is_dir();
        if is_dir {
            std::fs::remove_dir_all(&path)
                .map_err(io_err("remove leftover temporary folder", &path))?;
        } else {
            std::fs::remove_file(&path).map_err(io_err("remove leftover temporary file", &path))?;
        }
    }
    Ok(())
}

/// The first piece of an org folder made with its CAs, if any: a node or
/// user folder (signed by them), else the org msp folder (holding copies).
pub(crate) fn signed_material(org_dir: &Path) -> Result<Option<PathBuf>, PkiError> {
    for sub in ["nodes", "users"] {
        let dir = org_dir.join(sub);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            if !is_tmp(&entry.file_name()) {
                found.push(entry.path());
            }
        }
        found.sort();
        if let Some(first) = found.into_iter().next() {
            return Ok(Some(first));
        }
    }
    let msp = org_dir.join("msp");
    Ok(exists(&msp)?.then_some(msp))
}

/// Every file below `dir`, keyed by its '/'-separated path relative to
/// `dir`, sorted. Leftover temporary entries of an interrupted run (names
/// starting with `.fabdev-tmp-`) are skipped.
///
/// Symbolic links are not followed, and one found is an error naming it:
/// whatever is read here goes into a Kubernetes Secret, and fabdev writes no
/// links, so a link (to `/etc/passwd`, say) was put there by someone else.
/// So is anything that is neither a file nor a folder.
pub fn read_tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, PkiError> {
    let mut out = BTreeMap::new();
    let meta = std::fs::symlink_metadata(dir).map_err(io_err("inspect", dir))?;
    if !meta.is_dir() {
        return Err(not_ours(dir, &meta));
    }
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// The error for a crypto folder entry that is a link or a special file.
fn not_ours(path: &Path, meta: &std::fs::Metadata) -> PkiError {
    let what = if meta.file_type().is_symlink() {
        "a symbolic link"
    } else {
        "neither a file nor a folder"
    };
    PkiError::Invalid {
        path: path.to_path_buf(),
        identity: "crypto folder".to_string(),
        problem: format!(
            "{what}, which fabdev does not follow or put into a Secret"
        ),
        hint: "remove it: fabdev writes only plain files and folders there (delete the node's folder to have it generated again)".to_string(),
    }
}

/// Reads the file `meta` (its `lstat`) describes, refusing one that was
/// replaced (by a link, say) since it was inspected.
fn read_no_follow(path: &Path, meta: &std::fs::Metadata) -> Result<Vec<u8>, PkiError> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).map_err(io_err("read", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let opened = f.metadata().map_err(io_err("inspect", path))?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(not_ours(path, meta));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(io_err("read", path))?;
    Ok(bytes)
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), PkiError> {
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        if is_tmp(&name) {
            continue;
        }
        let path = entry.path();
        let rel = format!("{prefix}{}", name.to_string_lossy());
        let meta = std::fs::symlink_metadata(&path).map_err(io_err("inspect", &path))?;
        if meta.is_dir() {
            walk(&path, &format!("{rel}/"), out)?;
        } else if meta.is_file() {
            let bytes = read_no_follow(&path, &meta)?;
            out.insert(rel, bytes);
        } else {
            return Err(not_ours(&path, &meta));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_dir_atomic_refuses_to_clobber_and_leaves_no_tmp() {
        let t = tempfile::tempdir().expect("tempdir");
        let dir = t.path().join("a");
        write_dir_atomic(
            &dir,
            &[File::public("x/y.txt", b"1"), File::secret("k", b"2")],
        )
        .expect("write");
        assert_eq!(std::fs::read(dir.join("x/y.txt")).expect("read"), b"1");
        let err = write_dir_atomic(&dir, &[File::public("z", b"3")]).unwrap_err();
        assert!(err.to_string().contains("a"), "{err}");
        assert!(!dir.join("z").exists());
        let names: Vec<_> = std::fs::read_dir(t.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("a")]);
    }

    #[test]
    fn stale_tmp_is_removed_and_skipped() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(t.path().join(".fabdev-tmp-abc")).expect("mkdir");
        std::fs::write(t.path().join(".fabdev-tmp-abc/f"), b"x").expect("write");
        std::fs::write(t.path().join("keep"), b"y").expect("write");
        let tree = read_tree(t.path()).expect("tree");
        assert_eq!(tree.keys().collect::<Vec<_>>(), ["keep"]);
        assert_eq!(signed_material(t.path()).expect("scan"), None);
        remove_stale_tmp(t.path()).expect("clean");
        assert!(!t.path().join(".fabdev-tmp-abc").exists());
        assert!(t.path().join("keep").exists());
    }

    #[cfg(unix)]
    #[test]
    fn links_in_a_crypto_folder_are_refused_not_followed() {
        let t = tempfile::tempdir().expect("tempdir");
        let node = t.path().join("node");
        std::fs::create_dir_all(node.join("msp/keystore")).expect("mkdir");
        std::fs::write(node.join("msp/keystore/key.pem"), b"k").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", node.join("msp/keystore/passwd"))
            .expect("symlink");
        let err = read_tree(&node).expect_err("a link is refused");
        let text = err.to_string();
        assert!(text.contains("msp/keystore/passwd"), "{text}");
        assert!(text.contains("symbolic link"), "{text}");

        // A link to a folder, and the node folder itself as a link.
        std::fs::remove_file(node.join("msp/keystore/passwd")).expect("rm");
        std::os::unix::fs::symlink("/etc", node.join("etc")).expect("symlink");
        assert!(read_tree(&node).is_err());
        std::fs::remove_file(node.join("etc")).expect("rm");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&node, &link).expect("symlink");
        assert!(read_tree(&link).is_err());
        assert_eq!(read_tree(&node).expect("plain tree").len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn modes() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().expect("tempdir");
        let dir = t.path().join("a");
        write_dir_atomic(
            &dir,
            &[File::public("c/cert", b"1"), File::secret("k/key", b"2")],
        )
        .expect("write");
        let mode = |p: &str| {
            std::fs::metadata(dir.join(p))
                .expect("stat")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("c/cert"), 0o644);
        assert_eq!(mode("k/key"), 0o600);
        assert_eq!(mode("k"), 0o755);
        assert_eq!(
            std::fs::metadata(&dir).expect("stat").permissions().mode() & 0o777,
            0o755
        );
    }
}
