//! Fabric 2.x lifecycle chaincode packages.
//!
//! A package is `gzip(tar[metadata.json, code.tar.gz])`, laid out the way
//! `peer lifecycle chaincode package` lays it out (Fabric 2.5 / 3.1):
//!
//! - the outer tar holds `metadata.json` then `code.tar.gz`, regular files of
//!   mode 0100644, uid/gid 0, mtime 0;
//! - `metadata.json` is Go's `json.Marshal` of `{path, type, label}`: compact,
//!   in that order (see `gojson`);
//! - `code.tar.gz` for a Go module holds a directory entry (040755) for every
//!   folder holding a packaged file, sorted, then every file (0100644),
//!   sorted; for Node, files only in walk order (see `source`); uid/gid 500,
//!   empty owner names, mtime 0;
//! - the package ID is `<label>:<hex SHA-256 of the package file>`.
//!
//! Headers are built from fixed values only (see `tarball`), so nothing about
//! the machine leaks in: not mtimes, owners, permission bits, umask or the
//! order a filesystem lists a folder in. The tar streams are byte-for-byte
//! those Go's archive/tar writes for the peer CLI's headers.
//!
//! **What is not the peer's:** the gzip *compressed* bytes. Both gzip headers
//! are the same (no mtime, no name, OS byte 255, level 6 / XFL 0), but the
//! deflate streams come from different compressors (Go's compress/flate vs
//! miniz_oxide), so a package made here and one made by the peer CLI from the
//! same folder decompress to the same bytes yet have different package IDs.
//! Both install alike; only the ID differs. The compressed bytes here depend
//! on flate2's deflate backend: the golden IDs in the tests catch a change.
//!
//! Decisions beyond what the peer does:
//! - **Default label:** the folder's base name with every character outside
//!   `[A-Za-z0-9_.+-]` replaced by `_`, when that is a valid label (it starts
//!   with a letter or digit); otherwise an error asking for `--label`.
//! - **Node `path`:** the folder's base name. The peer CLI writes the path it
//!   was given (`./cc`, `/home/me/cc`), which puts the caller's working folder
//!   into the package ID; the Docker build ignores `path` for Node, so the base
//!   name keeps the ID the same wherever the folder sits.
//! - **Go:** module mode only (a `go.mod` at the top of the folder); `path` is
//!   the module path from `go.mod`, as `go list` reports it for the root
//!   package. GOPATH-mode chaincode is refused.
//! - **Symbolic links:** a link to a regular file inside the folder is packaged
//!   as a regular file with the target's bytes (Fabric follows file links too).
//!   A link to a folder is skipped when its name would skip a folder (a hidden
//!   name for Go; `node_modules`/`.git` for Node) and refused otherwise; a link
//!   out of the folder, or one that leads nowhere, is refused. Sockets, pipes
//!   and devices are refused. Every refusal names the file.
//! - **Names** that are not UTF-8 are refused, naming the file.
//! - **META-INF:** only `*.json` CouchDB index definitions under
//!   `META-INF/statedb/couchdb/indexes/` or
//!   `META-INF/statedb/couchdb/collections/<name>/indexes/`, checked as the
//!   peer CLI checks them (a little stricter: the name must end in `.json`).
//!   Hidden files there are skipped, as the peer CLI skips them.
//! - **Size:** a package over the peer's 100 MiB message limit is refused,
//!   and so is a folder with a file over [`MAX_FILE_BYTES`] or files over
//!   [`MAX_SOURCE_BYTES`] in all, *uncompressed* (a sparse file compresses to
//!   almost nothing but is unpacked whole by the peer). Sizes are checked
//!   before anything is read; files are streamed into the archive, never
//!   held whole in memory.
//! - **Secrets:** a file that looks like one (`.env`, `id_rsa`, a `*.pem` or
//!   `*.key` holding a PRIVATE KEY, an `.npmrc` holding a token) is packaged
//!   with a warning ([`Package::warnings`]) naming it.
//! - **`.fabdevignore`** at the top of the folder (gitignore syntax) leaves
//!   out what matches. Without one, nothing changes.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::{Compression, GzBuilder};
use network::spec::{Detected, Lang, check_label, detect_lang};
use sha2::{Digest, Sha256};

mod gojson;
mod gomod;
mod metainf;
mod source;
mod tarball;

use tarball::{Entry, TYPE_REG, TarWriter};

/// The largest package the peer takes (its gRPC message limit).
pub const MAX_PACKAGE_BYTES: usize = 100 * 1024 * 1024;
/// The largest file a package may hold, uncompressed: what the peer's message
/// limit carries.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// The most bytes a package's files may hold in all, uncompressed.
pub const MAX_SOURCE_BYTES: u64 = 256 * 1024 * 1024;

pub use source::IGNORE_FILE;

/// The gzip level of both gzip streams: Go's `gzip.DefaultCompression`.
const GZIP_LEVEL: u32 = 6;

/// What to package a folder as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageOptions {
    /// Package label; by default derived from the folder name.
    pub label: Option<String>,
    /// Chaincode language; by default detected from go.mod / package.json.
    pub lang: Option<Lang>,
}

/// A chaincode package, ready to write or install.
#[derive(Clone, PartialEq, Eq)]
pub struct Package {
    pub label: String,
    pub lang: Lang,
    /// The `path` of metadata.json: the Go module path, or for Node the
    /// folder's base name.
    pub path: String,
    /// The package file (`.tar.gz`).
    pub bytes: Vec<u8>,
    /// `<label>:<hex sha256 of bytes>`, the peer's package ID.
    pub id: String,
    /// Packaged files that look like secrets.
    pub warnings: Vec<PackageWarning>,
}

/// A packaged file that looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageWarning {
    pub file: PathBuf,
    /// Why it looks like one.
    pub reason: String,
}

impl fmt::Display for PackageWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} goes into the package, but {}: leave it out with a line in {IGNORE_FILE} (gitignore syntax)",
            self.file.display(),
            self.reason
        )
    }
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("label", &self.label)
            .field("lang", &self.lang)
            .field("path", &self.path)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("id", &self.id)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Why a folder could not be packaged or a package not written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot open chaincode folder {}", dir.display())]
    Folder {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a folder: give the chaincode's folder", dir.display())]
    NotAFolder { dir: PathBuf },
    #[error(
        "{} has neither go.mod nor package.json, so its language is unknown: pass --lang go or --lang node",
        dir.display()
    )]
    UnknownLang { dir: PathBuf },
    #[error(
        "{} has both go.mod and package.json: pass --lang go or --lang node to say which to package",
        dir.display()
    )]
    AmbiguousLang { dir: PathBuf },
    #[error(
        "cannot make a package label from the name of folder {} ({reason}): pass --label, e.g. --label mycc_1.0",
        dir.display()
    )]
    NoDefaultLabel { dir: PathBuf, reason: String },
    #[error("{reason}: pass a valid --label, e.g. --label mycc_1.0")]
    InvalidLabel { label: String, reason: String },
    #[error(
        "{} has no go.mod: fabdev packages Go chaincode as a Go module (run `go mod init <import path>` there); GOPATH mode is not supported",
        dir.display()
    )]
    NoGoMod { dir: PathBuf },
    #[error("{}{}: {message}", file.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    GoMod {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{} not found: Node chaincode needs a package.json at the top of its folder", file.display())]
    NoPackageJson { file: PathBuf },
    #[error("{} is not valid JSON", file.display())]
    PackageJson {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} has no \"scripts\": {{\"start\": ...}}: the chaincode container runs `npm start`; add \"start\": \"fabric-chaincode-node start\"",
        file.display()
    )]
    NoStartScript { file: PathBuf },
    #[error("cannot list folder {}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot inspect {}", path.display())]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {}", file.display())]
    ReadFile {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: the file name is not valid UTF-8; rename the file or move it out of the chaincode folder", path.display())]
    NonUtf8Name { path: PathBuf },
    #[error(
        "{} is not a regular file or folder (a socket, pipe or device): remove it from the chaincode folder",
        file.display()
    )]
    SpecialFile { file: PathBuf },
    #[error(
        "{} is a symbolic link that {reason}: fabdev follows links only to regular files inside the chaincode folder",
        file.display()
    )]
    Symlink { file: PathBuf, reason: String },
    #[error("{} is a symbolic link that cannot be followed", file.display())]
    BrokenSymlink {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {reason}", file.display())]
    MetaInf { file: PathBuf, reason: String },
    #[error(
        "{} is not valid JSON (META-INF may only hold CouchDB index definitions)",
        file.display()
    )]
    MetaInfJson {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} is {size} bytes, over the limit of {MAX_FILE_BYTES} bytes (100 MiB) for one file of a package: leave it out with a line in {IGNORE_FILE}, or move it out of the chaincode folder",
        file.display()
    )]
    FileTooLarge { file: PathBuf, size: u64 },
    #[error(
        "the files of {} come to {total} bytes or more with {}, over the limit of {MAX_SOURCE_BYTES} bytes (256 MiB) for a package, uncompressed: leave large files out with {IGNORE_FILE}",
        dir.display(),
        file.display()
    )]
    SourceTooLarge {
        dir: PathBuf,
        file: PathBuf,
        total: u64,
    },
    #[error("{}: {reason}", file.display())]
    Ignore { file: PathBuf, reason: String },
    #[error(
        "{} changed after the chaincode folder was listed (replaced by a link or another file): package again once the folder is settled",
        file.display()
    )]
    Changed { file: PathBuf },
    #[error("cannot build the package of {}", dir.display())]
    Archive {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the package of {} is {size} bytes, over the peer's limit of {MAX_PACKAGE_BYTES} bytes (100 MiB): leave large files out of the folder",
        dir.display()
    )]
    TooLarge { dir: PathBuf, size: usize },
    #[error(
        "{} already exists: fabdev does not overwrite packages; remove it or choose another file with -o",
        path.display()
    )]
    OutputExists { path: PathBuf },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Packages the chaincode in `dir`.
pub fn package_dir(dir: &Path, opts: &PackageOptions) -> Result<Package, PackageError> {
    let root = fs::canonicalize(dir).map_err(|source| PackageError::Folder {
        dir: dir.to_path_buf(),
        source,
    })?;
    if !root.is_dir() {
        return Err(PackageError::NotAFolder {
            dir: dir.to_path_buf(),
        });
    }
    let lang = match opts.lang {
        Some(l) => l,
        None => match detect_lang(&root) {
            Detected::Found(l) => l,
            Detected::Ambiguous => {
                return Err(PackageError::AmbiguousLang {
                    dir: dir.to_path_buf(),
                });
            }
            Detected::Neither => {
                return Err(PackageError::UnknownLang {
                    dir: dir.to_path_buf(),
                });
            }
        },
    };
    let label = match &opts.label {
        Some(l) => l.clone(),
        None => default_label(dir, &root)?,
    };
    check_label(&label).map_err(|reason| PackageError::InvalidLabel {
        label: label.clone(),
        reason: reason.message,
    })?;

    let (
        path,
        source::Code {
            bytes: code,
            warnings,
        },
    ) = match lang {
        Lang::Go => {
            let path = go_module_path(dir)?;
            (path, source::go_code(dir, &root)?)
        }
        Lang::Node => {
            check_package_json(dir)?;
            (base_name(dir, &root)?, source::node_code(dir, &root)?)
        }
    };
    let metadata = gojson::metadata_json(&path, lang.fabric_type(), &label);
    let bytes = outer(&metadata, &code).map_err(|source| PackageError::Archive {
        dir: dir.to_path_buf(),
        source,
    })?;
    if bytes.len() > MAX_PACKAGE_BYTES {
        return Err(PackageError::TooLarge {
            dir: dir.to_path_buf(),
            size: bytes.len(),
        });
    }
    let id = package_id(&label, &bytes);
    Ok(Package {
        label,
        lang,
        path,
        bytes,
        id,
        warnings,
    })
}

/// The peer's package ID of a package file: `<label>:<hex sha256>`.
pub fn package_id(label: &str, bytes: &[u8]) -> String {
    format!("{label}:{}", hex::encode(Sha256::digest(bytes)))
}

/// A gzip stream with a fixed header (no mtime, no name, OS 255) at level 6.
fn gz_writer() -> flate2::write::GzEncoder<Vec<u8>> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL))
}

/// gzip of `data`, with the header of [`gz_writer`].
fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut gz = gz_writer();
    gz.write_all(data)?;
    gz.finish()
}

/// The package file: gzip(tar[metadata.json, code.tar.gz]).
fn outer(metadata: &[u8], code: &[u8]) -> io::Result<Vec<u8>> {
    let mut tw = TarWriter::new(Vec::with_capacity(code.len() + 3 * 512 + 1024));
    for (name, data) in [("metadata.json", metadata), ("code.tar.gz", code)] {
        let e = Entry {
            name,
            typeflag: TYPE_REG,
            mode: 0o100644,
            uid: 0,
            gid: 0,
        };
        tw.append(&e, data)?;
    }
    gzip(&tw.finish()?)
}

fn base_name(dir: &Path, root: &Path) -> Result<String, PackageError> {
    match root.file_name() {
        Some(n) => n
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| PackageError::NonUtf8Name {
                path: dir.to_path_buf(),
            }),
        None => Err(PackageError::NotAFolder {
            dir: dir.to_path_buf(),
        }),
    }
}

/// The folder's base name as a label (see the module docs).
fn default_label(dir: &Path, root: &Path) -> Result<String, PackageError> {
    let Some(name) = root.file_name() else {
        return Err(PackageError::NoDefaultLabel {
            dir: dir.to_path_buf(),
            reason: "it has no name".into(),
        });
    };
    let name = name.to_string_lossy();
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match check_label(&label) {
        Ok(()) => Ok(label),
        Err(_) => Err(PackageError::NoDefaultLabel {
            dir: dir.to_path_buf(),
            reason: format!("{name:?} does not start with a letter or digit"),
        }),
    }
}

fn go_module_path(dir: &Path) -> Result<String, PackageError> {
    let file = dir.join("go.mod");
    if !file.is_file() {
        return Err(PackageError::NoGoMod {
            dir: dir.to_path_buf(),
        });
    }
    let bytes = read_limited(&file)?;
    let text = String::from_utf8(bytes).map_err(|_| PackageError::GoMod {
        file: file.clone(),
        line: 0,
        message: "not valid UTF-8".into(),
    })?;
    gomod::module_path(&text).map_err(|e| PackageError::GoMod {
        file,
        line: e.line,
        message: e.message,
    })
}

/// Reads a file of at most [`MAX_FILE_BYTES`].
fn read_limited(file: &Path) -> Result<Vec<u8>, PackageError> {
    use std::io::Read as _;
    let read_err = |source| PackageError::ReadFile {
        file: file.to_path_buf(),
        source,
    };
    let mut data = Vec::new();
    fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut data))
        .map_err(read_err)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(PackageError::FileTooLarge {
            file: file.to_path_buf(),
            size: data.len() as u64,
        });
    }
    Ok(data)
}

fn check_package_json(dir: &Path) -> Result<(), PackageError> {
    let file = dir.join("package.json");
    if !file.is_file() {
        return Err(PackageError::NoPackageJson { file });
    }
    let bytes = read_limited(&file)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| PackageError::PackageJson {
            file: file.clone(),
            source,
        })?;
    let start = value
        .get("scripts")
        .and_then(|s| s.get("start"))
        .and_then(|s| s.as_str());
    match start {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err(PackageError::NoStartScript { file }),
    }
}

/// Writes `pkg` to `out`, which must not exist. The bytes go to a temporary
/// file in the same folder that then takes the final name, so `out` is
/// either absent or whole; the temporary file is removed on failure.
pub fn write_package(pkg: &Package, out: &Path) -> Result<(), PackageError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let write_err = |source| PackageError::Write {
        path: out.to_path_buf(),
        source,
    };
    if fs::symlink_metadata(out).is_ok() {
        return Err(PackageError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let Some(file_name) = out.file_name() else {
        return Err(write_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output path does not name a file",
        )));
    };
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };

    // Create the temporary file; retry on a name clash.
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{n}", std::process::id()));
        let tmp = parent.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(source) => return Err(write_err(source)),
        }
    };
    let guard = TempFile(Some(tmp.clone()));
    file.write_all(&pkg.bytes).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);

    // A hard link cannot replace an existing file, so a file that appeared at
    // `out` meanwhile is kept; where hard links are unsupported, rename.
    match fs::hard_link(&tmp, out) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(PackageError::OutputExists {
                path: out.to_path_buf(),
            });
        }
        Err(_) => {
            if fs::symlink_metadata(out).is_ok() {
                return Err(PackageError::OutputExists {
                    path: out.to_path_buf(),
                });
            }
            fs::rename(&tmp, out).map_err(write_err)?;
        }
    }
    drop(guard);
    Ok(())
}

/// Removes a temporary file when dropped.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_header_is_fixed() {
        let gz = gzip(b"hello").unwrap();
        // magic, deflate, no flags, mtime 0, XFL 0 (level 6), OS 255: as Go writes it.
        assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    }

    #[test]
    fn default_labels() {
        let d = Path::new("x");
        assert_eq!(
            default_label(d, Path::new("/a/asset-go")).unwrap(),
            "asset-go"
        );
        assert_eq!(
            default_label(d, Path::new("/a/my cc (v2)")).unwrap(),
            "my_cc__v2_"
        );
        assert_eq!(
            default_label(d, Path::new("/a/Basic.1+x")).unwrap(),
            "Basic.1+x"
        );
        let e = default_label(d, Path::new("/a/.hidden")).unwrap_err();
        assert!(e.to_string().contains("--label"), "{e}");
        assert!(default_label(d, Path::new("/a/_x")).is_err());
        assert!(default_label(d, Path::new("/")).is_err());
    }

    #[test]
    fn ids() {
        assert_eq!(
            package_id("l", b""),
            "l:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn debug_hides_bytes() {
        let p = Package {
            label: "l".into(),
            lang: Lang::Go,
            path: "p".into(),
            bytes: vec![0; 10],
            id: "l:x".into(),
            warnings: vec![],
        };
        assert!(format!("{p:?}").contains("<10 bytes>"));
    }
}
