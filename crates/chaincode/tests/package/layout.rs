//! Go and Node layout rules.

use super::*;

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
    node_chaincode(&d, "x");
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
