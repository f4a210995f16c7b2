//! Packages decoded back and checked entry by entry, determinism across
//! copies of a folder, and the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chaincode::package::{
    Package, PackageError, PackageOptions, package_dir, package_id, write_package,
};
use flate2::read::GzDecoder;
use network::spec::Lang;

/// Package IDs of the committed fixtures. A change here means every package
/// fabdev makes changes ID: only on purpose.
const GO_FIXTURE_ID: &str =
    "asset-go_1.0:a715609761d4573c2c5a242a11276381e488c1df6631069a54db62c52895d1b9";
const NODE_FIXTURE_ID: &str =
    "asset-node_1.0:23e9887bffcaab940e7fbd3d5be5eab718b6159dd1897c9d63e9a3325e08098b";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/chaincode")
        .join(name)
}

fn opts(label: &str) -> PackageOptions {
    PackageOptions {
        label: Some(label.to_string()),
        lang: None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ent {
    name: String,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    uname: Vec<u8>,
    gname: Vec<u8>,
    ustar: bool,
    data: Vec<u8>,
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    // Fixed gzip header: no flags, no mtime, XFL 0, OS 255.
    assert_eq!(&bytes[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn untar(tar_bytes: &[u8]) -> Vec<Ent> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Ent {
            name,
            kind: h.entry_type(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            uname: h.username_bytes().unwrap_or_default().to_vec(),
            gname: h.groupname_bytes().unwrap_or_default().to_vec(),
            ustar: h.as_ustar().is_some(),
            data,
        });
    }
    out
}

/// (metadata.json bytes, code.tar.gz entries), checking the outer layout.
fn decode(pkg: &Package) -> (Vec<u8>, Vec<Ent>) {
    let outer = untar(&gunzip(&pkg.bytes));
    let names: Vec<&str> = outer.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["metadata.json", "code.tar.gz"]);
    for e in &outer {
        assert_eq!(e.kind, tar::EntryType::Regular, "{}", e.name);
        assert_eq!(
            (e.mode, e.uid, e.gid, e.mtime),
            (0o100644, 0, 0, 0),
            "{}",
            e.name
        );
        assert!(
            e.uname.is_empty() && e.gname.is_empty() && e.ustar,
            "{}",
            e.name
        );
    }
    let code = untar(&gunzip(&outer[1].data));
    for e in &code {
        assert_eq!((e.uid, e.gid, e.mtime), (500, 500, 0), "{}", e.name);
        assert!(e.uname.is_empty() && e.gname.is_empty(), "{}", e.name);
        match e.kind {
            tar::EntryType::Directory => {
                assert_eq!(e.mode, 0o40755, "{}", e.name);
                assert!(e.name.ends_with('/') && e.data.is_empty(), "{}", e.name);
            }
            tar::EntryType::Regular => assert_eq!(e.mode, 0o100644, "{}", e.name),
            other => panic!("{}: unexpected entry type {other:?}", e.name),
        }
    }
    assert_eq!(pkg.id, package_id(&pkg.label, &pkg.bytes));
    (outer[0].data.clone(), code)
}

fn names(code: &[Ent]) -> Vec<&str> {
    code.iter().map(|e| e.name.as_str()).collect()
}

fn write(root: &Path, rel: &str, data: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

const INDEX: &str = r#"{"index":{"fields":["owner"]},"ddoc":"d","name":"n","type":"json"}"#;

/// Copies a tree writing files in reverse order, with other mtimes,
/// permissions and (as root) owners than the original.
fn scrambled_copy(src: &Path, dst: &Path) {
    fn list(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                list(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    list(src, src, &mut files);
    files.sort();
    files.reverse();
    for (i, rel) in files.iter().enumerate() {
        let to = dst.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(src.join(rel), &to).unwrap();
        let f = fs::File::options().write(true).open(&to).unwrap();
        f.set_modified(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 7919 * i as u64),
        )
        .unwrap();
        drop(f);
        let mode = if i % 2 == 0 { 0o600 } else { 0o755 };
        fs::set_permissions(&to, fs::Permissions::from_mode(mode)).unwrap();
        let _ = std::os::unix::fs::chown(&to, Some(1234 + i as u32), Some(4321));
        fs::set_permissions(to.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
    }
}

// ---------------------------------------------------------------------------
// The committed fixtures
// ---------------------------------------------------------------------------

#[test]
fn go_fixture_layout() {
    let pkg = package_dir(&fixture("go"), &opts("asset-go_1.0")).unwrap();
    assert_eq!(pkg.lang, Lang::Go);
    assert_eq!(pkg.path, "github.com/fabdev/fixtures/asset-go");
    let (metadata, code) = decode(&pkg);
    assert_eq!(
        metadata,
        br#"{"path":"github.com/fabdev/fixtures/asset-go","type":"golang","label":"asset-go_1.0"}"#
    );
    assert_eq!(
        names(&code),
        [
            "META-INF/",
            "META-INF/statedb/",
            "META-INF/statedb/couchdb/",
            "META-INF/statedb/couchdb/indexes/",
            "src/",
            "src/chaincode/",
            "META-INF/statedb/couchdb/indexes/indexOwner.json",
            "src/chaincode/asset.go",
            "src/go.mod",
            "src/go.sum",
            "src/main.go",
        ]
    );
    for e in &code {
        if let Some(rel) = e
            .name
            .strip_prefix("src/")
            .filter(|_| e.kind == tar::EntryType::Regular)
        {
            assert_eq!(
                e.data,
                fs::read(fixture("go").join(rel)).unwrap(),
                "{}",
                e.name
            );
        }
    }
    assert_eq!(pkg.id, GO_FIXTURE_ID);
}

#[test]
fn node_fixture_layout() {
    let pkg = package_dir(&fixture("node"), &opts("asset-node_1.0")).unwrap();
    assert_eq!(pkg.lang, Lang::Node);
    assert_eq!(pkg.path, "node");
    let (metadata, code) = decode(&pkg);
    assert_eq!(
        metadata,
        br#"{"path":"node","type":"node","label":"asset-node_1.0"}"#
    );
    assert_eq!(
        names(&code),
        [
            "META-INF/statedb/couchdb/indexes/indexOwner.json",
            "src/index.js",
            "src/lib/assetTransfer.js",
            "src/package.json",
        ]
    );
    assert_eq!(
        code[3].data,
        fs::read(fixture("node/package.json")).unwrap()
    );
    assert_eq!(pkg.id, NODE_FIXTURE_ID);
}

#[test]
fn fixtures_are_deterministic_across_copies() {
    for (name, label) in [("go", "asset-go_1.0"), ("node", "asset-node_1.0")] {
        let a = package_dir(&fixture(name), &opts(label)).unwrap();
        let b = package_dir(&fixture(name), &opts(label)).unwrap();
        assert_eq!(a, b, "{name}: two runs differ");

        // Same base name (Node's `path`), elsewhere, written differently.
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join("some/where/else").join(name);
        scrambled_copy(&fixture(name), &copy);
        let c = package_dir(&copy, &opts(label)).unwrap();
        assert_eq!(a.bytes, c.bytes, "{name}: copy differs");
        assert_eq!(a.id, c.id);
    }
}

#[test]
fn go_id_does_not_depend_on_the_folder_name() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("renamed");
    scrambled_copy(&fixture("go"), &copy);
    let pkg = package_dir(&copy, &opts("asset-go_1.0")).unwrap();
    assert_eq!(pkg.id, GO_FIXTURE_ID);
}

#[test]
fn default_label_is_the_folder_name() {
    let pkg = package_dir(&fixture("go"), &PackageOptions::default()).unwrap();
    assert_eq!(pkg.label, "go");
    assert!(pkg.id.starts_with("go:"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my cc");
    write(&dir, "package.json", r#"{"scripts":{"start":"x"}}"#);
    assert_eq!(
        package_dir(&dir, &PackageOptions::default()).unwrap().label,
        "my_cc"
    );
    let dir = tmp.path().join("_cc");
    write(&dir, "package.json", r#"{"scripts":{"start":"x"}}"#);
    let e = package_dir(&dir, &PackageOptions::default()).unwrap_err();
    assert!(matches!(e, PackageError::NoDefaultLabel { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("_cc") && text.contains("--label"), "{text}");
}

// ---------------------------------------------------------------------------
// Go layout rules
// ---------------------------------------------------------------------------

#[test]
fn go_hidden_dirs_skipped_hidden_files_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(
        &d,
        "go.mod",
        "// A module.\nmodule \"example.com/hidden\" // quoted\n\ngo 1.22\n",
    );
    write(&d, "main.go", "package main\n");
    write(&d, ".env", "A=1\n");
    write(&d, "sub/.hidden-file", "h\n");
    write(&d, ".git/config", "[core]\n");
    write(&d, ".idea/x.go", "package x\n");
    write(&d, "sub/.cache/y", "y\n");
    write(&d, "vendor/github.com/x/y/y.go", "package y\n");
    write(&d, "vendor/modules.txt", "# github.com/x/y v1.0.0\n");
    write(&d, "a/x.go", "package a\n");
    write(&d, "a.b/y.go", "package ab\n");
    write(&d, "a/b/z.go", "package b\n");
    write(&d, "META-INF/statedb/couchdb/indexes/i.json", INDEX);
    write(&d, "META-INF/statedb/couchdb/indexes/.dir/j.json", INDEX);
    write(&d, "META-INF/.DS_Store", "junk");
    fs::create_dir_all(d.join("empty/deeper")).unwrap();

    let pkg = package_dir(&d, &opts("hidden_1")).unwrap();
    assert_eq!(pkg.path, "example.com/hidden");
    let (metadata, code) = decode(&pkg);
    assert_eq!(
        metadata,
        br#"{"path":"example.com/hidden","type":"golang","label":"hidden_1"}"#
    );
    assert_eq!(
        names(&code),
        [
            // Directories: parents of packaged files only, sorted without
            // the trailing slash (so "src/a.b" before "src/a/b").
            "META-INF/",
            "META-INF/statedb/",
            "META-INF/statedb/couchdb/",
            "META-INF/statedb/couchdb/indexes/",
            "META-INF/statedb/couchdb/indexes/.dir/",
            "src/",
            "src/a/",
            "src/a.b/",
            "src/a/b/",
            "src/sub/",
            "src/vendor/",
            "src/vendor/github.com/",
            "src/vendor/github.com/x/",
            "src/vendor/github.com/x/y/",
            // Files, sorted.
            "META-INF/statedb/couchdb/indexes/.dir/j.json",
            "META-INF/statedb/couchdb/indexes/i.json",
            "src/.env",
            "src/a.b/y.go",
            "src/a/b/z.go",
            "src/a/x.go",
            "src/go.mod",
            "src/main.go",
            "src/sub/.hidden-file",
            "src/vendor/github.com/x/y/y.go",
            "src/vendor/modules.txt",
        ]
    );
    let env = code.iter().find(|e| e.name == "src/.env").unwrap();
    assert_eq!(env.data, b"A=1\n");
}

#[test]
fn long_and_non_ascii_names_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "go.mod", "module example.com/long\n");
    let deep = format!("{}/{}/f.go", "d".repeat(90), "e".repeat(60));
    let very = format!("{}.go", "n".repeat(200));
    write(&d, &deep, "package d\n");
    write(&d, &very, "package n\n");
    write(&d, "café/naïve.go", "package c\n");
    let (_, code) = decode(&package_dir(&d, &opts("long")).unwrap());
    let got = names(&code);
    assert!(got.contains(&format!("src/{deep}").as_str()), "{got:?}");
    assert!(got.contains(&format!("src/{very}").as_str()), "{got:?}");
    assert!(got.contains(&"src/café/naïve.go"), "{got:?}");
    assert!(got.contains(&"src/café/"), "{got:?}");
}

// ---------------------------------------------------------------------------
// Node layout rules
// ---------------------------------------------------------------------------

#[test]
fn node_walk_order_and_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(
        &d,
        "package.json",
        r#"{"name":"x","scripts":{"start":"fabric-chaincode-node start"}}"#,
    );
    write(&d, "index.js", "//\n");
    write(&d, ".npmrc", "registry=x\n");
    write(&d, ".git/HEAD", "ref\n");
    write(&d, "node_modules/a/b.js", "//\n");
    write(&d, "lib/node_modules/dep/x.js", "//\n");
    write(&d, "lib/y.js", "//\n");
    write(&d, "sub/.git/HEAD", "ref\n");
    write(&d, "sub/z.js", "//\n");
    write(&d, "a/x.js", "//\n");
    write(&d, "a-c.js", "//\n");
    write(&d, "a.b.js", "//\n");
    write(&d, "META-INF/statedb/couchdb/indexes/i.json", INDEX);
    write(&d, "META-INF/.hidden", "x");
    fs::create_dir_all(d.join("empty")).unwrap();

    let pkg = package_dir(&d, &opts("n_1")).unwrap();
    assert_eq!(pkg.path, "cc");
    let (_, code) = decode(&pkg);
    assert_eq!(
        names(&code),
        [
            "src/.npmrc",
            "META-INF/statedb/couchdb/indexes/i.json",
            // Walk order: the folder "a" is read where "a" sorts among its
            // siblings, before "a-c.js" (a full-path sort would put it after).
            "src/a/x.js",
            "src/a-c.js",
            "src/a.b.js",
            "src/index.js",
            "src/lib/y.js",
            "src/package.json",
            "src/sub/z.js",
        ]
    );
}

#[test]
fn node_path_is_the_same_wherever_the_folder_sits() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("x/cc");
    let b = tmp.path().join("y/z/cc");
    for d in [&a, &b] {
        write(
            d,
            "package.json",
            r#"{"scripts":{"start":"node index.js"}}"#,
        );
        write(d, "index.js", "//\n");
    }
    let pa = package_dir(&a, &opts("cc_1")).unwrap();
    let pb = package_dir(&b, &opts("cc_1")).unwrap();
    assert_eq!(pa.id, pb.id);
    // Through a relative path with `..` as well.
    let rel = b.join("../../../x/./cc");
    assert_eq!(package_dir(&rel, &opts("cc_1")).unwrap().id, pa.id);
}

// ---------------------------------------------------------------------------
// Links and special files
// ---------------------------------------------------------------------------

#[test]
fn file_links_inside_are_packaged_as_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "go.mod", "module example.com/links\n");
    write(&d, "real/data.txt", "payload\n");
    symlink("real/data.txt", d.join("link.txt")).unwrap();
    symlink("real", d.join(".hidden-link")).unwrap(); // folder link with a hidden name: skipped
    let (_, code) = decode(&package_dir(&d, &opts("l")).unwrap());
    let link = code.iter().find(|e| e.name == "src/link.txt").unwrap();
    assert_eq!(link.kind, tar::EntryType::Regular);
    assert_eq!(link.data, b"payload\n");
    assert!(!names(&code).iter().any(|n| n.contains("hidden-link")));
}

#[test]
fn bad_links_and_special_files_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("secret.txt");
    fs::write(&outside, "s").unwrap();
    type Setup = fn(&Path, &Path);
    let cases: [(&str, Setup, &str); 4] = [
        (
            "outside",
            |d, o| symlink(o, d.join("out.txt")).unwrap(),
            "out.txt",
        ),
        (
            "folder",
            |d, _| symlink("real", d.join("dirlink")).unwrap(),
            "dirlink",
        ),
        (
            "dangling",
            |d, _| symlink("nowhere", d.join("dangling.txt")).unwrap(),
            "dangling.txt",
        ),
        (
            "fifo",
            |d, _| {
                let ok = std::process::Command::new("mkfifo")
                    .arg(d.join("pipe"))
                    .status()
                    .unwrap();
                assert!(ok.success());
            },
            "pipe",
        ),
    ];
    for (case, setup, file) in cases {
        let d = tmp.path().join(case).join("cc");
        write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
        write(&d, "real/a.js", "//\n");
        setup(&d, &outside);
        let e = package_dir(&d, &opts("l")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&d.join(file).display().to_string()),
            "{case}: {text}"
        );
    }
    // A link named node_modules is skipped like the folder it stands for.
    let d = tmp.path().join("nm/cc");
    write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
    write(&d, "real/a.js", "//\n");
    symlink("real", d.join("node_modules")).unwrap();
    let (_, code) = decode(&package_dir(&d, &opts("l")).unwrap());
    assert_eq!(names(&code), ["src/package.json", "src/real/a.js"]);
}

#[test]
fn a_non_utf8_file_name_is_named() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
    let bad = d.join(std::ffi::OsStr::from_bytes(b"bad\xff.js"));
    fs::write(&bad, "//").unwrap();
    let e = package_dir(&d, &opts("l")).unwrap_err();
    assert!(matches!(e, PackageError::NonUtf8Name { .. }), "{e:?}");
    assert!(e.to_string().contains("bad"), "{e}");
    fs::remove_file(&bad).unwrap();
}

/// Set in the child that [`an_unreadable_file_is_named`] starts as nobody.
const AS_NOBODY: &str = "FABDEV_TEST_AS_NOBODY";

#[test]
fn an_unreadable_file_is_named() {
    // Root (CAP_DAC_OVERRIDE) reads any file, so as root this test runs
    // itself again as nobody (setpriv, from util-linux), where a mode-0
    // file is unreadable.
    if running_as_root() && std::env::var_os(AS_NOBODY).is_none() {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "an_unreadable_file_is_named", "--nocapture"])
            .env(AS_NOBODY, "1")
            .output()
            .expect("setpriv (util-linux) runs this test as nobody when root");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "as nobody: {text}");
        assert!(text.contains("1 passed"), "as nobody: {text}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
    let locked = d.join("locked.js");
    fs::write(&locked, "//").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    assert!(
        fs::read(&locked).is_err(),
        "a mode-0 file must be unreadable here"
    );
    let e = package_dir(&d, &opts("l")).unwrap_err();
    assert!(matches!(e, PackageError::ReadFile { .. }), "{e:?}");
    assert!(e.to_string().contains(&locked.display().to_string()), "{e}");
}

/// Whether this process runs as root (uid 0).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the process's effective uid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

fn err_text(dir: &Path, o: &PackageOptions) -> (PackageError, String) {
    let e = package_dir(dir, o).unwrap_err();
    let t = e.to_string();
    (e, t)
}

#[test]
fn language_problems_name_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "README.md", "hi\n");
    let shown = d.display().to_string();

    let (e, t) = err_text(&d, &opts("l"));
    assert!(matches!(e, PackageError::UnknownLang { .. }), "{e:?}");
    assert!(t.contains(&shown) && t.contains("--lang"), "{t}");

    let go = PackageOptions {
        label: Some("l".into()),
        lang: Some(Lang::Go),
    };
    let (e, t) = err_text(&d, &go);
    assert!(matches!(e, PackageError::NoGoMod { .. }), "{e:?}");
    assert!(t.contains(&shown), "{t}");

    let node = PackageOptions {
        label: Some("l".into()),
        lang: Some(Lang::Node),
    };
    let (e, t) = err_text(&d, &node);
    assert!(matches!(e, PackageError::NoPackageJson { .. }), "{e:?}");
    assert!(
        t.contains(&d.join("package.json").display().to_string()),
        "{t}"
    );

    write(&d, "go.mod", "module example.com/x\n");
    write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
    let (e, t) = err_text(&d, &opts("l"));
    assert!(matches!(e, PackageError::AmbiguousLang { .. }), "{e:?}");
    assert!(t.contains(&shown) && t.contains("--lang"), "{t}");
    // --lang settles it.
    assert_eq!(package_dir(&d, &go).unwrap().lang, Lang::Go);
    assert_eq!(package_dir(&d, &node).unwrap().lang, Lang::Node);

    let missing = tmp.path().join("missing");
    let (e, t) = err_text(&missing, &opts("l"));
    assert!(matches!(e, PackageError::Folder { .. }), "{e:?}");
    assert!(t.contains(&missing.display().to_string()), "{t}");
    let (e, _) = err_text(&d.join("go.mod"), &opts("l"));
    assert!(matches!(e, PackageError::NotAFolder { .. }), "{e:?}");
}

#[test]
fn bad_labels_are_refused() {
    for bad in ["-x", "_x", "a:b", "a b", "", "é"] {
        let (e, t) = err_text(&fixture("go"), &opts(bad));
        assert!(
            matches!(e, PackageError::InvalidLabel { .. }),
            "{bad}: {e:?}"
        );
        assert!(
            t.contains(&format!("{bad:?}")) && t.contains("--label"),
            "{t}"
        );
    }
}

#[test]
fn package_json_problems_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    let pj = d.join("package.json").display().to_string();
    for (text, start_missing) in [
        (r#"{"name":"x"}"#, true),
        (r#"{"scripts":{"test":"x"}}"#, true),
        (r#"{"scripts":{"start":""}}"#, true),
        (r#"{"scripts":{"start":1}}"#, true),
        ("{nope", false),
    ] {
        write(&d, "package.json", text);
        let (e, t) = err_text(&d, &opts("l"));
        if start_missing {
            assert!(
                matches!(e, PackageError::NoStartScript { .. }),
                "{text}: {e:?}"
            );
            assert!(t.contains("start"), "{t}");
        } else {
            assert!(
                matches!(e, PackageError::PackageJson { .. }),
                "{text}: {e:?}"
            );
        }
        assert!(t.contains(&pj), "{t}");
    }
}

#[test]
fn go_mod_problems_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    let gm = d.join("go.mod").display().to_string();
    for (text, at) in [
        ("go 1.22\n", String::new()),
        ("module a\nmodule b\n", ":2".to_string()),
        ("module `raw`\n", ":1".to_string()),
    ] {
        write(&d, "go.mod", text);
        let (e, t) = err_text(&d, &opts("l"));
        assert!(matches!(e, PackageError::GoMod { .. }), "{e:?}");
        assert!(t.starts_with(&format!("{gm}{at}:")), "{t}");
    }
}

#[test]
fn meta_inf_takes_only_couchdb_indexes() {
    for lang in ["go", "node"] {
        for (file, content, needle) in [
            (
                "META-INF/statedb/couchdb/indexes/readme.txt",
                "hello",
                "only CouchDB index",
            ),
            ("META-INF/indexOwner.json", INDEX, "only CouchDB index"),
            (
                "META-INF/statedb/couchdb/indexes/broken.json",
                "{",
                "not valid JSON",
            ),
            (
                "META-INF/statedb/couchdb/indexes/bad.json",
                r#"{"fields":["a"]}"#,
                "CouchDB index definition",
            ),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let d = tmp.path().join("cc");
            if lang == "go" {
                write(&d, "go.mod", "module example.com/m\n");
            } else {
                write(&d, "package.json", r#"{"scripts":{"start":"x"}}"#);
            }
            write(&d, file, content);
            let (e, t) = err_text(&d, &opts("l"));
            assert!(
                matches!(
                    e,
                    PackageError::MetaInf { .. } | PackageError::MetaInfJson { .. }
                ),
                "{lang} {file}: {e:?}"
            );
            assert!(t.contains(&d.join(file).display().to_string()), "{t}");
            assert!(t.contains(needle), "{t}");
        }
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

#[test]
fn write_package_is_atomic_and_refuses_existing_files() {
    let pkg = package_dir(&fixture("node"), &opts("asset-node_1.0")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("asset.tar.gz");
    write_package(&pkg, &out).unwrap();
    assert_eq!(fs::read(&out).unwrap(), pkg.bytes);
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("asset.tar.gz")],
        "temporary file left behind"
    );

    let e = write_package(&pkg, &out).unwrap_err();
    assert!(matches!(e, PackageError::OutputExists { .. }), "{e:?}");
    let t = e.to_string();
    assert!(
        t.contains(&out.display().to_string()) && t.contains("-o"),
        "{t}"
    );
    assert_eq!(fs::read(&out).unwrap(), pkg.bytes);

    let nowhere = tmp.path().join("no/such/folder/x.tar.gz");
    let e = write_package(&pkg, &nowhere).unwrap_err();
    assert!(matches!(e, PackageError::Write { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&nowhere.display().to_string()),
        "{e}"
    );
    assert!(!tmp.path().join("no").exists());
}

// ---------------------------------------------------------------------------
// Bounded inputs, secrets and .fabdevignore (issue 12)
// ---------------------------------------------------------------------------

/// A Go module folder with a sparse file of `len` bytes at `rel`.
fn go_with_sparse(d: &Path, rel: &str, len: u64) {
    write(d, "go.mod", "module example.com/big\n\ngo 1.22\n");
    write(d, "main.go", "package main\n");
    let f = fs::File::create(d.join(rel)).unwrap();
    f.set_len(len).unwrap();
}

#[test]
fn a_huge_sparse_file_is_refused_naming_it_and_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    go_with_sparse(&d, "zeros.bin", 2 * 1024 * 1024 * 1024);
    let (e, t) = err_text(&d, &opts("big_1"));
    assert!(matches!(e, PackageError::FileTooLarge { .. }), "{e:?}");
    assert!(t.contains("zeros.bin"), "{t}");
    assert!(t.contains("104857600 bytes (100 MiB)"), "{t}");
    assert!(t.contains(".fabdevignore"), "{t}");
}

#[test]
fn files_over_the_whole_package_limit_uncompressed_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    // Three sparse files just under the per-file limit: 297 MiB in all.
    go_with_sparse(&d, "a.bin", 99 * 1024 * 1024);
    go_with_sparse(&d, "b.bin", 99 * 1024 * 1024);
    go_with_sparse(&d, "c.bin", 99 * 1024 * 1024);
    let (e, t) = err_text(&d, &opts("big_1"));
    assert!(matches!(e, PackageError::SourceTooLarge { .. }), "{e:?}");
    assert!(t.contains("c.bin"), "{t}");
    assert!(t.contains("268435456 bytes (256 MiB)"), "{t}");
}

#[test]
fn files_that_look_like_secrets_are_packaged_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "go.mod", "module example.com/s\n\ngo 1.22\n");
    write(&d, "main.go", "package main\n");
    write(&d, ".env", "DB_PASSWORD=x\n");
    write(&d, "keys/id_rsa", "not really\n");
    write(
        &d,
        "tls/server.pem",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    );
    write(
        &d,
        "tls/ca.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    write(
        &d,
        ".npmrc",
        "//registry.npmjs.org/:_authToken=npm_abcdef\n",
    );
    let pkg = package_dir(&d, &opts("s_1")).unwrap();
    let mut flagged: Vec<String> = pkg
        .warnings
        .iter()
        .map(|w| {
            w.file
                .strip_prefix(&d)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    flagged.sort();
    assert_eq!(flagged, [".env", ".npmrc", "keys/id_rsa", "tls/server.pem"]);
    let text = pkg.warnings[0].to_string();
    assert!(text.contains(".fabdevignore"), "{text}");
    // Warned about, not silently dropped: they are in the package.
    let (_, code) = decode(&pkg);
    assert!(names(&code).contains(&"src/.env"));
}

#[test]
fn fabdevignore_leaves_out_what_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    write(&d, "go.mod", "module example.com/i\n\ngo 1.22\n");
    write(&d, "main.go", "package main\n");
    write(&d, ".env", "DB_PASSWORD=x\n");
    write(&d, "data/big.bin", "x\n");
    write(&d, "data/keep.txt", "k\n");
    write(&d, "sub/notes.log", "l\n");
    write(&d, ".fabdevignore", "# secrets\n.env\ndata/*.bin\n*.log\n");
    go_with_sparse(&d, "huge.iso", 2 * 1024 * 1024 * 1024);
    write(
        &d,
        ".fabdevignore",
        "# secrets\n.env\ndata/*.bin\n*.log\n/huge.iso\n",
    );
    let pkg = package_dir(&d, &opts("i_1")).unwrap();
    assert!(pkg.warnings.is_empty(), "{:?}", pkg.warnings);
    let (_, code) = decode(&pkg);
    let n = names(&code);
    assert!(n.contains(&"src/data/keep.txt"), "{n:?}");
    for gone in [
        "src/.env",
        "src/data/big.bin",
        "src/sub/notes.log",
        "src/huge.iso",
    ] {
        assert!(!n.contains(&gone), "{gone} in {n:?}");
    }

    // The same for Node.
    let n_dir = tmp.path().join("node");
    write(
        &n_dir,
        "package.json",
        r#"{"name":"n","scripts":{"start":"fabric-chaincode-node start"}}"#,
    );
    write(&n_dir, "index.js", "//\n");
    write(&n_dir, ".env", "A=1\n");
    write(&n_dir, ".fabdevignore", ".env\n");
    let pkg = package_dir(&n_dir, &opts("n_1")).unwrap();
    let (_, code) = decode(&pkg);
    assert!(!names(&code).contains(&"src/.env"));
    assert!(pkg.warnings.is_empty());
}
