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

mod fixtures;
mod layout;
mod links;
mod refusals;
mod writing;

/// Package IDs of the committed fixtures. A change here means every package
/// fabdev makes changes ID: only on purpose.
const GO_FIXTURE_ID: &str =
    "asset-go_1.0:a715609761d4573c2c5a242a11276381e488c1df6631069a54db62c52895d1b9";
const NODE_FIXTURE_ID: &str =
    "asset-node_1.0:3a045219a1a43d93e46b99e5affc874eb376c1cfc7287fb956759cadb9547647";

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

fn err_text(dir: &Path, o: &PackageOptions) -> (PackageError, String) {
    let e = package_dir(dir, o).unwrap_err();
    let t = e.to_string();
    (e, t)
}

/// The least Node chaincode in `dir`: a `package.json` named `name` whose
/// start script is the shim's, and an `index.js`.
fn node_chaincode(dir: &Path, name: &str) {
    write(
        dir,
        "package.json",
        &format!(r#"{{"name":"{name}","scripts":{{"start":"fabric-chaincode-node start"}}}}"#),
    );
    write(dir, "index.js", "//\n");
}
