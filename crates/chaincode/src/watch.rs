//! What `fabdev chaincode watch` watches: a chaincode folder's files, as a
//! [`Snapshot`] of their sizes and modification times, compared with the
//! last one ([`changes`]), and a [`Debounce`] that says when a burst of
//! changes has settled.
//!
//! Polling, not the OS's file events: a snapshot of a chaincode folder
//! (without `node_modules` and `vendor/`) is a few hundred `stat`s, so a
//! poll every few hundred milliseconds costs nothing; it sees changes made
//! through bind mounts, network folders, VMs' shared folders and editors'
//! atomic renames alike, where inotify misses some or needs care; it needs
//! no new dependency; and the comparison and the debounce are pure
//! functions a test drives with made-up times.
//!
//! What is not watched ([`Rules`]): what the folder's `.fabdevignore`
//! leaves out of the package, `node_modules`, `vendor`, version control
//! folders (`.git`, `.hg`, `.svn`), editors' settings folders (`.idea`,
//! `.vscode`) and editors' temporary files (`*~`, `.*.swp` and the other
//! Vim swap files, Vim's `4913` probe, Emacs' `#…#` and `.#…`, `*.tmp`,
//! JetBrains' `*___jb_tmp___`/`*___jb_old___`, `.DS_Store`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::package::IGNORE_FILE;

/// Errors of watching a folder; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot read the ignore patterns of {}", file.display())]
    Ignore {
        file: PathBuf,
        #[source]
        source: ignore::Error,
    },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Folders never watched, at any depth.
const IGNORED_DIRS: [&str; 7] = [
    "node_modules",
    "vendor",
    ".git",
    ".hg",
    ".svn",
    ".idea",
    ".vscode",
];

/// Whether a file or folder named `name` is left out whatever
/// `.fabdevignore` says: dependency and tool folders, editors' temporary
/// files.
pub fn always_ignored(name: &str, is_dir: bool) -> bool {
    if is_dir {
        return IGNORED_DIRS.contains(&name);
    }
    let vim_swap = name.starts_with('.')
        && [".swp", ".swo", ".swx", ".swn"]
            .iter()
            .any(|s| name.ends_with(s));
    name.ends_with('~')
        || vim_swap
        || name == "4913"
        || (name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".#")
        || name.ends_with(".tmp")
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name == ".DS_Store"
}

/// What is watched in one folder: everything but [`always_ignored`] and
/// what its `.fabdevignore` matches.
#[derive(Debug)]
pub struct Rules {
    ignore: Option<Gitignore>,
}

impl Rules {
    /// The rules of `dir`, reading its `.fabdevignore` if it has one.
    pub fn load(dir: &Path) -> Result<Rules, WatchError> {
        let file = dir.join(IGNORE_FILE);
        if !file.exists() {
            return Ok(Rules { ignore: None });
        }
        let mut b = GitignoreBuilder::new(dir);
        if let Some(source) = b.add(&file) {
            return Err(WatchError::Ignore { file, source });
        }
        let gi = b
            .build()
            .map_err(|source| WatchError::Ignore { file, source })?;
        Ok(Rules { ignore: Some(gi) })
    }

    /// Rules from `.fabdevignore` lines, for tests (`dir` is where the
    /// patterns are rooted).
    pub fn from_lines(dir: &Path, lines: &[&str]) -> Result<Rules, WatchError> {
        let mut b = GitignoreBuilder::new(dir);
        for line in lines {
            b.add_line(None, line)
                .map_err(|source| WatchError::Ignore {
                    file: dir.join(IGNORE_FILE),
                    source,
                })?;
        }
        let gi = b.build().map_err(|source| WatchError::Ignore {
            file: dir.join(IGNORE_FILE),
            source,
        })?;
        Ok(Rules { ignore: Some(gi) })
    }

    /// Whether `rel` (relative to the folder, `/`-separated) is left out.
    pub fn ignored(&self, rel: &Path, is_dir: bool) -> bool {
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        always_ignored(&name, is_dir)
            || self
                .ignore
                .as_ref()
                .is_some_and(|gi| gi.matched_path_or_any_parents(rel, is_dir).is_ignore())
    }
}

/// What a file looked like at a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub modified: Option<SystemTime>,
    pub len: u64,
}

/// A folder's watched files (relative paths) and their stamps.
pub type Snapshot = BTreeMap<PathBuf, Stamp>;

/// How a file changed between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match self.kind {
            ChangeKind::Added => "+",
            ChangeKind::Modified => "~",
            ChangeKind::Removed => "-",
        };
        write!(f, "{mark}{}", self.path.display())
    }
}

/// The watched files of `dir` now. A folder or file that disappears while
/// it is read (an editor's rename) is left out, not an error: the next
/// poll sees the folder as it settled.
pub fn snapshot(dir: &Path, rules: &Rules) -> Result<Snapshot, WatchError> {
    let mut out = Snapshot::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let abs = dir.join(&rel);
        let entries = match fs::read_dir(&abs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !rel.as_os_str().is_empty() => {
                continue;
            }
            Err(source) => {
                return Err(WatchError::Io {
                    action: "read the folder",
                    path: abs,
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| WatchError::Io {
                action: "read the folder",
                path: abs.clone(),
                source,
            })?;
            let child = rel.join(entry.file_name());
            // Followed, as packaging follows links inside the folder.
            let meta = match fs::metadata(entry.path()) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(WatchError::Io {
                        action: "read the file",
                        path: entry.path(),
                        source,
                    });
                }
            };
            if rules.ignored(&child, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                todo.push(child);
            } else {
                out.insert(
                    child,
                    Stamp {
                        modified: meta.modified().ok(),
                        len: meta.len(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// What changed from `old` to `new`, by path.
pub fn changes(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, stamp) in new {
        match old.get(path) {
            None => out.push(Change {
                path: path.clone(),
                kind: ChangeKind::Added,
            }),
            Some(s) if s != stamp => out.push(Change {
                path: path.clone(),
                kind: ChangeKind::Modified,
            }),
            Some(_) => {}
        }
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        out.push(Change {
            path: path.clone(),
            kind: ChangeKind::Removed,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// When a burst of changes has settled: `quiet` after the last change, or
/// `longest` after the first one (an editor or a generator that never
/// stops writing does not hold a redeploy back for ever).
#[derive(Debug, Clone)]
pub struct Debounce {
    quiet: Duration,
    longest: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debounce {
    pub fn new(quiet: Duration, longest: Duration) -> Debounce {
        Debounce {
            quiet,
            longest,
            first: None,
            last: None,
        }
    }

    /// A change seen at `now`.
    pub fn changed(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// Whether changes are waiting.
    pub fn pending(&self) -> bool {
        self.last.is_some()
    }

    /// Whether the waiting changes have settled at `now`.
    pub fn due(&self, now: Instant) -> bool {
        match (self.first, self.last) {
            (Some(first), Some(last)) => {
                now.saturating_duration_since(last) >= self.quiet
                    || now.saturating_duration_since(first) >= self.longest
            }
            _ => false,
        }
    }

    /// The changes were handled.
    pub fn clear(&mut self) {
        self.first = None;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temp_files_and_dependency_folders_are_never_watched() {
        for name in [
            "index.js~",
            ".index.js.swp",
            ".main.go.swx",
            "4913",
            "#main.go#",
            ".#main.go",
            "x.tmp",
            "a.js___jb_tmp___",
            ".DS_Store",
        ] {
            assert!(always_ignored(name, false), "{name}");
        }
        for dir in ["node_modules", "vendor", ".git", ".idea"] {
            assert!(always_ignored(dir, true), "{dir}");
        }
        for name in ["index.js", "main.go", "go.mod", "package.json", ".npmrc"] {
            assert!(!always_ignored(name, false), "{name}");
        }
        // A file named like a folder is a file.
        assert!(!always_ignored("vendor", false));
        assert!(!always_ignored("lib", true));
    }

    #[test]
    fn fabdevignore_patterns_apply_to_files_and_folders_below() {
        let dir = Path::new("/cc");
        let rules = Rules::from_lines(dir, &["*.log", "data/", "!keep.log"]).unwrap();
        assert!(rules.ignored(Path::new("out.log"), false));
        assert!(rules.ignored(Path::new("lib/out.log"), false));
        assert!(!rules.ignored(Path::new("keep.log"), false));
        assert!(rules.ignored(Path::new("data"), true));
        assert!(rules.ignored(Path::new("data/x.json"), false));
        assert!(!rules.ignored(Path::new("lib/index.js"), false));
        assert!(rules.ignored(Path::new("lib/node_modules"), true));
    }

    #[test]
    fn a_snapshot_holds_the_watched_files_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("lib")).unwrap();
        fs::create_dir_all(p.join("node_modules/x")).unwrap();
        fs::write(p.join("lib/index.js"), "a").unwrap();
        fs::write(p.join("node_modules/x/i.js"), "a").unwrap();
        fs::write(p.join(".index.js.swp"), "a").unwrap();
        fs::write(p.join("secret.env"), "a").unwrap();
        fs::write(p.join(IGNORE_FILE), "*.env\n").unwrap();
        let rules = Rules::load(p).unwrap();
        let snap = snapshot(p, &rules).unwrap();
        let files: Vec<String> = snap.keys().map(|k| k.display().to_string()).collect();
        assert_eq!(files, [".fabdevignore", "lib/index.js"]);
    }

    #[test]
    fn changes_are_added_modified_and_removed_files() {
        let stamp = |len| Stamp {
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(len)),
            len,
        };
        let old: Snapshot = [("a".into(), stamp(1)), ("b".into(), stamp(2))].into();
        let new: Snapshot = [("b".into(), stamp(3)), ("c".into(), stamp(1))].into();
        let got: Vec<String> = changes(&old, &new).iter().map(|c| c.to_string()).collect();
        assert_eq!(got, ["-a", "~b", "+c"]);
        assert!(changes(&new, &new).is_empty());
    }

    #[test]
    fn a_burst_is_due_once_quiet_or_once_it_lasted_too_long() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debounce::new(ms(300), ms(2000));
        assert!(!d.pending() && !d.due(t0));
        d.changed(t0);
        assert!(d.pending());
        assert!(!d.due(t0 + ms(299)));
        // Another change restarts the quiet time.
        d.changed(t0 + ms(200));
        assert!(!d.due(t0 + ms(400)));
        assert!(d.due(t0 + ms(500)));
        d.clear();
        assert!(!d.pending() && !d.due(t0 + ms(5000)));
        // Changes every 100 ms: due after the longest wait all the same.
        for i in 0..30 {
            d.changed(t0 + ms(100 * i));
        }
        assert!(d.due(t0 + ms(2000)));
        assert!(!d.due(t0 + ms(1999)));
    }
}
