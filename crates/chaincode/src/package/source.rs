//! Walking a chaincode folder and laying its files out in code.tar.gz the way
//! the peer CLI does for Go modules and for Node.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::metainf::{self, Refusal};
use super::tarball::{Entry, TYPE_DIR, TYPE_REG, TarWriter};
use super::{MAX_FILE_BYTES, MAX_SOURCE_BYTES, PackageError, PackageWarning, gz_writer};

/// The ignore file of a chaincode folder (gitignore syntax): what matches is
/// left out of the package.
pub const IGNORE_FILE: &str = ".fabdevignore";

/// The largest `.fabdevignore` fabdev reads.
pub const MAX_IGNORE_BYTES: u64 = 64 * 1024;

/// Files up to this size are read to look for secrets (`*.pem`, `.npmrc`).
const SNIFF_BYTES: u64 = 1024 * 1024;

/// Owner Fabric gives every code.tar.gz entry.
const CODE_UID: u32 = 500;
const CODE_GID: u32 = 500;
const FILE_MODE: u32 = 0o100644;
const DIR_MODE: u32 = 0o40755;

/// What a folder entry is, after following a symbolic link.
#[derive(Debug)]
enum Kind {
    Dir {
        link: bool,
    },
    /// A regular file (or a link to one) and its size.
    File(u64),
    Special,
    /// A link that may not be followed; the error to give if it is not skipped.
    BadLink(PackageError),
}

/// The folder being packaged: `shown` as the user gave it (for messages and
/// file access), `root` canonical (to keep links inside it).
#[derive(Debug)]
struct Tree<'a> {
    shown: &'a Path,
    root: &'a Path,
    /// The patterns of the folder's `.fabdevignore`, if it has one.
    ignore: Option<Gitignore>,
    /// Bytes of the files listed so far (uncompressed).
    total: u64,
    /// The device and inode of each regular file listed (by its relative
    /// path), so a file replaced after the listing (by a link, say) is
    /// refused when it is opened.
    ids: std::collections::BTreeMap<String, (u64, u64)>,
    warnings: Vec<PackageWarning>,
}

impl<'a> Tree<'a> {
    fn new(shown: &'a Path, root: &'a Path) -> Result<Tree<'a>, PackageError> {
        let file = shown.join(IGNORE_FILE);
        let ignore = match fs::symlink_metadata(&file) {
            Ok(m) if !m.is_file() => {
                return Err(PackageError::Ignore {
                    file,
                    reason: "is a symbolic link or not a regular file: fabdev reads it only as a plain file of the chaincode folder".into(),
                });
            }
            Ok(m) if m.len() > MAX_IGNORE_BYTES => {
                return Err(PackageError::Ignore {
                    file,
                    reason: format!(
                        "is {} bytes, more than the {MAX_IGNORE_BYTES} fabdev reads",
                        m.len()
                    ),
                });
            }
            Ok(m) => {
                let mut text = String::new();
                open_no_follow(&file, &m)
                    .and_then(|f| f.take(MAX_IGNORE_BYTES).read_to_string(&mut text))
                    .map_err(|source| PackageError::ReadFile {
                        file: file.clone(),
                        source,
                    })?;
                let mut b = GitignoreBuilder::new(shown);
                for line in text.lines() {
                    b.add_line(Some(file.clone()), line)
                        .map_err(|e| PackageError::Ignore {
                            file: file.clone(),
                            reason: e.to_string(),
                        })?;
                }
                let gi = b.build().map_err(|e| PackageError::Ignore {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
                Some(gi)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(PackageError::Stat { path: file, source }),
        };
        Ok(Tree {
            shown,
            root,
            ignore,
            total: 0,
            ids: std::collections::BTreeMap::new(),
            warnings: Vec::new(),
        })
    }

    /// Whether `.fabdevignore` leaves `rel` out.
    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        self.ignore
            .as_ref()
            .is_some_and(|gi| gi.matched(rel, is_dir).is_ignore())
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.shown.to_path_buf()
        } else {
            self.shown.join(rel)
        }
    }

    /// The entries of folder `rel`, sorted by name (byte order, as Go's
    /// filepath.Walk reads them).
    fn list(&mut self, rel: &str) -> Result<Vec<(String, Kind)>, PackageError> {
        let dir = self.path(rel);
        let rd = fs::read_dir(&dir).map_err(|source| PackageError::ReadDir {
            path: dir.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| PackageError::ReadDir {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| PackageError::NonUtf8Name { path: path.clone() })?;
            let ft = entry.file_type().map_err(|source| PackageError::Stat {
                path: path.clone(),
                source,
            })?;
            let kind = if ft.is_dir() {
                Kind::Dir { link: false }
            } else if ft.is_file() {
                let m = entry.metadata().map_err(|source| PackageError::Stat {
                    path: path.clone(),
                    source,
                })?;
                self.ids.insert(join(rel, &name), file_id(&m));
                Kind::File(m.len())
            } else if ft.is_symlink() {
                let kind = self.follow(&path);
                if let Kind::File(_) = kind
                    && let Ok(m) = fs::metadata(&path)
                {
                    self.ids.insert(join(rel, &name), file_id(&m));
                }
                kind
            } else {
                Kind::Special
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Where a symbolic link leads: only regular files (and, to be skipped
    /// or refused by name, folders) inside the chaincode folder.
    fn follow(&self, path: &Path) -> Kind {
        let target = match fs::canonicalize(path) {
            Ok(t) => t,
            Err(source) => {
                return Kind::BadLink(PackageError::BrokenSymlink {
                    file: path.to_path_buf(),
                    source,
                });
            }
        };
        if !target.starts_with(self.root) {
            return Kind::BadLink(PackageError::Symlink {
                file: path.to_path_buf(),
                reason: format!(
                    "points outside the chaincode folder (to {})",
                    target.display()
                ),
            });
        }
        match fs::metadata(&target) {
            Ok(m) if m.is_dir() => Kind::Dir { link: true },
            Ok(m) if m.is_file() => Kind::File(m.len()),
            Ok(_) => Kind::Special,
            Err(source) => Kind::BadLink(PackageError::BrokenSymlink {
                file: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Opens a listed file for reading: without following a link at its
    /// end (a link is opened at its target, which must still be inside the
    /// folder), and only when it is still the file the listing saw (device
    /// and inode, as `network::pki` reads crypto files).
    fn open(&self, rel: &str) -> Result<fs::File, PackageError> {
        let file = self.path(rel);
        let target = fs::canonicalize(&file).map_err(|source| PackageError::ReadFile {
            file: file.clone(),
            source,
        })?;
        if !target.starts_with(self.root) {
            return Err(PackageError::Symlink {
                file,
                reason: format!(
                    "points outside the chaincode folder (to {}) since the folder was listed",
                    target.display()
                ),
            });
        }
        let changed = || PackageError::Changed { file: file.clone() };
        let expected = self.ids.get(rel).ok_or_else(changed)?;
        let f = open_flags(&target).map_err(|source| PackageError::ReadFile {
            file: file.clone(),
            source,
        })?;
        let m = f.metadata().map_err(|source| PackageError::ReadFile {
            file: file.clone(),
            source,
        })?;
        if !m.is_file() || file_id(&m) != *expected {
            return Err(changed());
        }
        Ok(f)
    }

    /// Reads a whole (small: checked against the limits already) file.
    fn read(&self, rel: &str, size: u64) -> Result<Vec<u8>, PackageError> {
        let file = self.path(rel);
        let mut data = Vec::new();
        self.open(rel)?
            .take(size.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|source| PackageError::ReadFile { file, source })?;
        Ok(data)
    }

    /// Counts a file against the limits of one file and of the package.
    fn count(&mut self, rel: &str, size: u64) -> Result<(), PackageError> {
        if size > MAX_FILE_BYTES {
            return Err(PackageError::FileTooLarge {
                file: self.path(rel),
                size,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > MAX_SOURCE_BYTES {
            return Err(PackageError::SourceTooLarge {
                dir: self.shown.to_path_buf(),
                file: self.path(rel),
                total: self.total,
            });
        }
        Ok(())
    }

    /// Notes a file that looks like it holds a secret.
    fn sniff(&mut self, rel: &str, name: &str, size: u64) -> Result<(), PackageError> {
        let lower = name.to_ascii_lowercase();
        let reason = if lower == ".env" || lower.starts_with(".env.") {
            Some("an environment file, where secrets often live")
        } else if matches!(
            lower.as_str(),
            "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
        ) {
            Some("an SSH private key")
        } else if (lower.ends_with(".pem") || lower.ends_with(".key")) && size <= SNIFF_BYTES {
            let data = self.read(rel, size)?;
            contains(&data, b"PRIVATE KEY").then_some("it holds a PRIVATE KEY")
        } else if lower == ".npmrc" && size <= SNIFF_BYTES {
            let data = self.read(rel, size)?;
            (contains(&data, b"_authToken")
                || contains(&data, b"_auth=")
                || contains(&data, b"_password"))
            .then_some("it holds an npm registry token")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.warnings.push(PackageWarning {
                file: self.path(rel),
                reason: reason.to_string(),
            });
        }
        Ok(())
    }

    /// Checks a META-INF file and returns its bytes.
    fn read_metadata(&self, rel: &str, name: &str, size: u64) -> Result<Vec<u8>, PackageError> {
        let data = self.read(rel, size)?;
        let file = self.path(rel);
        metainf::validate(name, &data).map_err(|r| match r {
            Refusal::Place(reason) => PackageError::MetaInf { file, reason },
            Refusal::Index(reason) => PackageError::MetaInf {
                file,
                reason: format!("not a valid CouchDB index definition: {reason}"),
            },
            Refusal::Json(source) => PackageError::MetaInfJson { file, source },
        })?;
        Ok(data)
    }

    /// The error for a non-directory entry that is neither skipped nor a file.
    fn not_a_file(&self, rel: &str, kind: Kind) -> PackageError {
        match kind {
            Kind::BadLink(e) => e,
            Kind::Dir { .. } => PackageError::Symlink {
                file: self.path(rel),
                reason: "leads to a folder".into(),
            },
            Kind::File(_) | Kind::Special => PackageError::SpecialFile {
                file: self.path(rel),
            },
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

fn is_meta(rel: &str) -> bool {
    rel == "META-INF" || rel.starts_with("META-INF/")
}

/// A file bound for the package: its name there, where it is, and its bytes
/// when they were already read (META-INF files are read to be checked).
#[derive(Debug)]
struct Source {
    name: String,
    rel: String,
    size: u64,
    data: Option<Vec<u8>>,
}

/// The code.tar.gz of a folder and what it holds that looks like a secret.
#[derive(Debug)]
pub(crate) struct Code {
    pub bytes: Vec<u8>,
    pub warnings: Vec<PackageWarning>,
}

/// code.tar.gz of a Go module (Fabric's golang platform, module mode).
///
/// Every file under `src/<relative path>`, except those of folders whose name
/// starts with `.`; the top-level `META-INF/` under `META-INF/` (hidden files
/// there skipped, hidden folders there walked, as Fabric does). Directory
/// entries first — every parent of a file, sorted as strings without the
/// trailing `/` — then the files sorted by name.
pub(crate) fn go_code(shown: &Path, root: &Path) -> Result<Code, PackageError> {
    let mut tree = Tree::new(shown, root)?;
    let mut files = Vec::new();
    walk_go(&mut tree, "", &mut files)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));

    let mut dirs = BTreeSet::new();
    for f in &files {
        let mut name = f.name.as_str();
        while let Some(i) = name.rfind('/') {
            name = &name[..i];
            if !dirs.insert(name.to_string()) {
                break;
            }
        }
    }

    let archive = |source| PackageError::Archive {
        dir: shown.to_path_buf(),
        source,
    };
    let mut tw = TarWriter::new(gz_writer());
    for d in &dirs {
        let name = format!("{d}/");
        let e = Entry {
            name: &name,
            typeflag: TYPE_DIR,
            mode: DIR_MODE,
            uid: CODE_UID,
            gid: CODE_GID,
        };
        tw.append(&e, &[]).map_err(archive)?;
    }
    finish_code(tree, tw, files)
}

/// Append the files (streamed from disk unless already read) after whatever
/// `tw` holds, and end the gzip stream: the common end of both languages'
/// code.tar.gz. No file is held in memory whole.
fn finish_code(
    tree: Tree<'_>,
    mut tw: TarWriter<flate2::write::GzEncoder<Vec<u8>>>,
    files: Vec<Source>,
) -> Result<Code, PackageError> {
    let archive = |source| PackageError::Archive {
        dir: tree.shown.to_path_buf(),
        source,
    };
    for f in files {
        match f.data {
            Some(d) => tw.append(&file_entry(&f.name), &d).map_err(archive)?,
            None => {
                let file = tree.path(&f.rel);
                let mut r = tree.open(&f.rel)?;
                tw.append_reader(&file_entry(&f.name), f.size, &mut r)
                    .map_err(|source| PackageError::ReadFile { file, source })?;
            }
        }
    }
    let bytes = tw
        .finish()
        .and_then(flate2::write::GzEncoder::finish)
        .map_err(archive)?;
    Ok(Code {
        bytes,
        warnings: tree.warnings,
    })
}

fn walk_go(tree: &mut Tree<'_>, rel: &str, out: &mut Vec<Source>) -> Result<(), PackageError> {
    for (name, kind) in tree.list(rel)? {
        let child = join(rel, &name);
        let meta = is_meta(&child);
        let hidden = name.starts_with('.');
        if tree.ignored(&child, matches!(kind, Kind::Dir { .. })) {
            continue;
        }
        match kind {
            Kind::Dir { link } => {
                if !meta && hidden {
                    continue;
                }
                if link {
                    return Err(tree.not_a_file(&child, Kind::Dir { link }));
                }
                walk_go(tree, &child, out)?;
            }
            _ if meta && hidden => {}
            Kind::File(size) => out.push(file_source(tree, child, &name, size, meta)?),
            other => return Err(tree.not_a_file(&child, other)),
        }
    }
    Ok(())
}

/// code.tar.gz of a Node chaincode (Fabric's util.WriteFolderToTarPackage).
///
/// Files only, in the order of a depth-first walk reading each folder's
/// entries sorted by name; `node_modules` and `.git` folders skipped at any
/// depth; the top-level `META-INF/` under `META-INF/` (hidden files there
/// skipped), everything else under `src/`.
pub(crate) fn node_code(shown: &Path, root: &Path) -> Result<Code, PackageError> {
    let mut tree = Tree::new(shown, root)?;
    let mut files = Vec::new();
    walk_node(&mut tree, "", &mut files)?;
    let tw = TarWriter::new(gz_writer());
    finish_code(tree, tw, files)
}

fn walk_node(tree: &mut Tree<'_>, rel: &str, out: &mut Vec<Source>) -> Result<(), PackageError> {
    for (name, kind) in tree.list(rel)? {
        let child = join(rel, &name);
        let meta = is_meta(&child);
        if tree.ignored(&child, matches!(kind, Kind::Dir { .. })) {
            continue;
        }
        match kind {
            Kind::Dir { link } => {
                if name == "node_modules" || name == ".git" {
                    continue;
                }
                if link {
                    return Err(tree.not_a_file(&child, Kind::Dir { link }));
                }
                walk_node(tree, &child, out)?;
            }
            _ if meta && name.starts_with('.') => {}
            Kind::File(size) => out.push(file_source(tree, child, &name, size, meta)?),
            other => return Err(tree.not_a_file(&child, other)),
        }
    }
    Ok(())
}

/// A file of the package: META-INF files go to the top level (checked and
/// read now), everything else under `src/` (streamed when written). Counted
/// against the size limits and looked at for secrets.
fn file_source(
    tree: &mut Tree<'_>,
    child: String,
    name: &str,
    size: u64,
    meta: bool,
) -> Result<Source, PackageError> {
    tree.count(&child, size)?;
    Ok(if meta {
        let data = tree.read_metadata(&child, &child, size)?;
        Source {
            name: child.clone(),
            rel: child,
            size,
            data: Some(data),
        }
    } else {
        tree.sniff(&child, name, size)?;
        Source {
            name: format!("src/{child}"),
            rel: child,
            size,
            data: None,
        }
    })
}

/// A file's device and inode.
fn file_id(m: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (m.dev(), m.ino())
}

/// Opens `path` for reading with `O_NOFOLLOW` (a link at its end is an
/// error) and `O_NONBLOCK` (a pipe put there does not hang the open).
fn open_flags(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Opens the file `meta` (its `lstat`) describes, refusing one replaced
/// since (a link or another file): `.fabdevignore`.
fn open_no_follow(path: &Path, meta: &fs::Metadata) -> std::io::Result<fs::File> {
    let f = open_flags(path)?;
    let m = f.metadata()?;
    if !m.is_file() || file_id(&m) != file_id(meta) {
        return Err(std::io::Error::other(
            "replaced since it was inspected (by a link or another file)",
        ));
    }
    Ok(f)
}

fn file_entry(name: &str) -> Entry<'_> {
    Entry {
        name,
        typeflag: TYPE_REG,
        mode: FILE_MODE,
        uid: CODE_UID,
        gid: CODE_GID,
    }
}

#[cfg(test)]
mod open_tests {
    use super::*;

    /// A file replaced after the listing, by a link to another file of the
    /// folder or by another file, is refused when it is opened.
    #[test]
    fn a_file_replaced_since_the_listing_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::write(root.join("a.go"), "package a\n").unwrap();
        fs::write(root.join("b.go"), "package b\n").unwrap();
        let mut tree = Tree::new(&root, &root).unwrap();
        let listed = tree.list("").unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(tree.read("a.go", 10).unwrap(), b"package a\n");
        fs::remove_file(root.join("a.go")).unwrap();
        std::os::unix::fs::symlink(root.join("b.go"), root.join("a.go")).unwrap();
        let e = tree.read("a.go", 10).unwrap_err();
        assert!(matches!(e, PackageError::Changed { .. }), "{e:?}");
        // Another file renamed over it (the old one still there meanwhile,
        // so its inode is not reused).
        fs::write(root.join("c.tmp"), "package c\n").unwrap();
        fs::rename(root.join("c.tmp"), root.join("b.go")).unwrap();
        let e = tree.read("b.go", 10).unwrap_err();
        assert!(matches!(e, PackageError::Changed { .. }), "{e:?}");
    }
}
