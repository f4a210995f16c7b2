//! Every fixture spec: the valid ones load, and each broken one fails with
//! exactly the error stored beside it (`NAME.error`, with the fixture folder
//! written as `{dir}`). Set FABDEV_BLESS=1 to rewrite the `.error` files after
//! an intended change of wording, then review the diff.

use std::path::{Path, PathBuf};

use network::Workspace;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/specs")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn valid_specs_load() {
    let files = yaml_files(&fixtures());
    assert!(
        files.len() >= 3,
        "expected the default, three-orgs and with-chaincode specs"
    );
    for f in files {
        let ws = Workspace::load_file(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!ws.orgs.is_empty());
    }
}

#[test]
fn three_orgs_spec_has_the_promised_shape() {
    let ws = Workspace::load_file(&fixtures().join("three-orgs.yaml")).expect("loads");
    assert_eq!(ws.orderer.count, 3);
    assert_eq!(ws.orgs.len(), 3);
    assert!(
        ws.orgs
            .iter()
            .all(|o| o.peers == 2 && o.state_database == network::spec::StateDatabase::Couchdb)
    );
}

#[test]
fn default_spec_equals_the_built_in_default() {
    let ws = Workspace::load_file(&fixtures().join("default.yaml")).expect("loads");
    assert_eq!(ws, Workspace::default_network());
}

#[test]
fn broken_specs_fail_with_their_exact_error() {
    let dir = fixtures().join("broken");
    let canonical = dir.canonicalize().expect("broken folder");
    let bless = std::env::var_os("FABDEV_BLESS").is_some();
    let files = yaml_files(&dir);
    assert!(files.len() >= 10);
    let mut failures = Vec::new();
    for f in files {
        let f = canonical.join(f.file_name().expect("name"));
        let err = match Workspace::load_file(&f) {
            Ok(_) => {
                failures.push(format!("{}: loaded, but it is meant to fail", f.display()));
                continue;
            }
            // As the CLI shows it: the message, then the hint.
            Err(e) => match e.hint() {
                Some(h) => format!("{e}\n  hint: {h}"),
                None => e.to_string(),
            }
            .replace(&*canonical.to_string_lossy(), "{dir}"),
        };
        let expected_path = f.with_extension("error");
        if bless {
            std::fs::write(&expected_path, format!("{err}\n")).expect("write .error");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if expected.trim_end() != err {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- got\n{err}",
                f.display(),
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
