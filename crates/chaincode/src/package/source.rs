//! Walking a chaincode folder and laying its files out in code.tar.gz the way
//! the peer CLI does for Go modules and for Node.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::metainf::{self, Refusal};
use super::tarball::{Entry, TYPE_DIR, TYPE_REG, TarWriter};
use super::{PackageError, gzip};

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
    File,
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
}

impl Tree<'_> {
    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.shown.to_path_buf()
        } else {
            self.shown.join(rel)
        }
    }

    /// The entries of folder `rel`, sorted by name (byte order, as Go's
    /// filepath.Walk reads them).
    fn list(&self, rel: &str) -> Result<Vec<(String, Kind)>, PackageError> {
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
                Kind::File
            } else if ft.is_symlink() {
                self.follow(&path)
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
            Ok(m) if m.is_file() => Kind::File,
            Ok(_) => Kind::Special,
            Err(source) => Kind::BadLink(PackageError::BrokenSymlink {
                file: path.to_path_buf(),
                source,
            }),
        }
    }

    fn read(&self, rel: &str) -> Result<Vec<u8>, PackageError> {
        let file = self.path(rel);
        fs::read(&file).map_err(|source| PackageError::ReadFile { file, source })
    }

    /// Checks a META-INF file and returns its bytes.
    fn read_metadata(&self, rel: &str, name: &str) -> Result<Vec<u8>, PackageError> {
        let data = self.read(rel)?;
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
            Kind::File | Kind::Special => PackageError::SpecialFile {
                file: self.path(rel),
            },
        }
    }
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
    data: Option<Vec<u8>>,
}

/// code.tar.gz of a Go module (Fabric's golang platform, module mode).
///
/// Every file under `src/<relative path>`, except those of folders whose name
/// starts with `.`; the top-level `META-INF/` under `META-INF/` (hidden files
/// there skipped, hidden folders there walked, as Fabric does). Directory
/// entries first — every parent of a file, sorted as strings without the
/// trailing `/` — then the files sorted by name.
pub(crate) fn go_code(shown: &Path, root: &Path) -> Result<Vec<u8>, PackageError> {
    let tree = Tree { shown, root };
    let mut files = Vec::new();
    walk_go(&tree, "", &mut files)?;
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
    let mut tw = TarWriter::new(Vec::new());
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
    finish_code(tree.shown, &tree, tw, files)
}

/// Append the files (read now unless already read) after whatever `tw`
/// holds, and gzip the tar: the common end of both languages' code.tar.gz.
fn finish_code(
    shown: &Path,
    tree: &Tree<'_>,
    mut tw: TarWriter<Vec<u8>>,
    files: Vec<Source>,
) -> Result<Vec<u8>, PackageError> {
    let archive = |source| PackageError::Archive {
        dir: shown.to_path_buf(),
        source,
    };
    for f in files {
        let data = match f.data {
            Some(d) => d,
            None => tree.read(&f.rel)?,
        };
        tw.append(&file_entry(&f.name), &data).map_err(archive)?;
    }
    let tar = tw.finish().map_err(archive)?;
    gzip(&tar).map_err(archive)
}

fn walk_go(tree: &Tree<'_>, rel: &str, out: &mut Vec<Source>) -> Result<(), PackageError> {
    for (name, kind) in tree.list(rel)? {
        let child = join(rel, &name);
        let meta = is_meta(&child);
        let hidden = name.starts_with('.');
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
            Kind::File => out.push(file_source(tree, child, meta)?),
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
pub(crate) fn node_code(shown: &Path, root: &Path) -> Result<Vec<u8>, PackageError> {
    let tree = Tree { shown, root };
    let mut files = Vec::new();
    walk_node(&tree, "", &mut files)?;
    let tw = TarWriter::new(Vec::new());
    finish_code(tree.shown, &tree, tw, files)
}

fn walk_node(tree: &Tree<'_>, rel: &str, out: &mut Vec<Source>) -> Result<(), PackageError> {
    for (name, kind) in tree.list(rel)? {
        let child = join(rel, &name);
        let meta = is_meta(&child);
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
            Kind::File => out.push(file_source(tree, child, meta)?),
            other => return Err(tree.not_a_file(&child, other)),
        }
    }
    Ok(())
}

/// A file of the package: META-INF files go to the top level (checked and
/// read now), everything else under `src/` (read when written).
fn file_source(tree: &Tree<'_>, child: String, meta: bool) -> Result<Source, PackageError> {
    Ok(if meta {
        let data = tree.read_metadata(&child, &child)?;
        Source {
            name: child.clone(),
            rel: child,
            data: Some(data),
        }
    } else {
        Source {
            name: format!("src/{child}"),
            rel: child,
            data: None,
        }
    })
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
