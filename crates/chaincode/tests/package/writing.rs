//! Writing the package; bounded inputs, secrets and .fabdevignore.

use super::*;

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
    node_chaincode(&n_dir, "n");
    write(&n_dir, ".env", "A=1\n");
    write(&n_dir, ".fabdevignore", ".env\n");
    let pkg = package_dir(&n_dir, &opts("n_1")).unwrap();
    let (_, code) = decode(&pkg);
    assert!(!names(&code).contains(&"src/.env"));
    assert!(pkg.warnings.is_empty());
}

/// `.fabdevignore` is read only as a plain file of the folder, and only up
/// to 64 KiB: a link (to a file outside, or to /dev/zero) is refused.
#[test]
fn fabdevignore_is_a_bounded_plain_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("cc");
    go_with_sparse(&d, "small.bin", 10);
    std::os::unix::fs::symlink("/dev/zero", d.join(".fabdevignore")).unwrap();
    let (e, t) = err_text(&d, &opts("ign_1"));
    assert!(matches!(e, PackageError::Ignore { .. }), "{e:?}");
    assert!(t.contains("not a regular file"), "{t}");
    fs::remove_file(d.join(".fabdevignore")).unwrap();
    let f = fs::File::create(d.join(".fabdevignore")).unwrap();
    f.set_len(65 * 1024).unwrap();
    let (e, t) = err_text(&d, &opts("ign_1"));
    assert!(matches!(e, PackageError::Ignore { .. }), "{e:?}");
    assert!(t.contains("more than the 65536"), "{t}");
}
