use super::*;

#[test]
fn npm_installs_from_the_lockfile_and_runs_no_install_scripts() {
    assert_eq!(
        install_command(true),
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    );
    assert_eq!(
        install_command(false),
        [
            "npm",
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund"
        ]
    );
}

/// With the host's real npm: a package whose own `preinstall`,
/// `install`, `postinstall` and `prepare` scripts would each leave a
/// file, built with and without a lockfile. None runs; the build does.
#[test]
fn a_packages_install_scripts_never_run() {
    assert!(
        which("npm").is_some(),
        "this test runs the host's npm: install it (Debian: apt-get install npm)"
    );
    let mark = |f: &str| format!("node -e \\\"require('fs').writeFileSync('ran-{f}','')\\\"");
    let package = format!(
        r#"{{"name": "scripts-probe", "version": "1.0.0", "main": "dist/index.js",
  "scripts": {{"preinstall": "{}", "install": "{}", "postinstall": "{}", "prepare": "{}",
    "build": "node -e \"require('fs').mkdirSync('dist',{{recursive:true}});require('fs').writeFileSync('dist/index.js','')\""}}}}"#,
        mark("preinstall"),
        mark("install"),
        mark("postinstall"),
        mark("prepare")
    );
    let lock = r#"{"name": "scripts-probe", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "scripts-probe", "version": "1.0.0"}}}"#;
    for with_lock in [true, false] {
        let mut files = vec![("package.json", package.as_str())];
        if with_lock {
            files.push(("package-lock.json", lock));
        }
        let d = folder(&files);
        let step = build_step(d.path())
            .expect("package.json")
            .expect("a build step");
        let built = build(d.path(), &step).unwrap_or_else(|e| panic!("{e}"));
        let root = std::fs::canonicalize(d.path()).expect("canonical");
        let key = hex::encode(Sha256::digest(root.to_string_lossy().as_bytes()));
        let work_parent = cache_root().join("node-build").join(&key[..16]);
        let work = work_parent.join(root.file_name().expect("name"));
        let ran: Vec<String> = std::fs::read_dir(&work)
            .expect("the build folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("ran-"))
            .collect();
        let _ = std::fs::remove_dir_all(&work_parent);
        assert!(ran.is_empty(), "lockfile {with_lock}: scripts ran: {ran:?}");
        assert!(built.dir().join("dist/index.js").is_file(), "the build ran");
        let install = &built.commands[0].0;
        assert!(install.contains("--ignore-scripts"), "{install}");
        assert!(
            install.starts_with(if with_lock { "npm ci" } else { "npm install" }),
            "{install}"
        );
    }
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = d.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }
    d
}

#[test]
fn plain_node_chaincode_has_no_build_step() {
    let d = folder(&[
        (
            "package.json",
            r#"{"main":"index.js","scripts":{"start":"x"}}"#,
        ),
        ("index.js", ""),
    ]);
    assert_eq!(build_step(d.path()).expect("step"), None);
    let none = folder(&[]);
    assert_eq!(build_step(none.path()).expect("step"), None);
}

#[test]
fn typescript_is_detected_with_its_output_folder() {
    let d = folder(&[
        (
            "package.json",
            r#"{"main":"dist/index.js","scripts":{"build":"tsc","start":"x"}}"#,
        ),
        (
            "tsconfig.json",
            "{\n  // where it goes\n  \"compilerOptions\": { \"outDir\": \"./build/\", },\n}\n",
        ),
    ]);
    let s = build_step(d.path()).expect("step").expect("a build");
    assert_eq!(
        s.reasons,
        [
            "scripts.build",
            "tsconfig.json",
            "main dist/index.js does not exist"
        ]
    );
    assert_eq!(s.command, ["npm", "run", "build"]);
    // tsconfig's outDir wins over main's folder.
    assert_eq!(s.output.as_deref(), Some("build"));
    // A tsconfig without a build script: tsc itself.
    let t = folder(&[
        ("package.json", r#"{"main":"lib/index.js"}"#),
        ("tsconfig.json", "{}"),
    ]);
    let s = build_step(t.path()).expect("step").expect("a build");
    assert_eq!(s.command, ["npx", "--no-install", "tsc"]);
    assert_eq!(s.output.as_deref(), Some("lib"));
}

#[test]
fn a_missing_main_with_nothing_to_build_it_is_an_error() {
    let d = folder(&[("package.json", r#"{"main":"dist/index.js"}"#)]);
    let e = build_step(d.path()).expect_err("no build");
    assert!(e.to_string().contains("main` is dist/index.js"), "{e}");
}

#[test]
fn tsconfig_comments_and_trailing_commas() {
    assert_eq!(
        ts_out_dir("{ /* a */ \"compilerOptions\": {\"outDir\": \"dist//x\", }, }"),
        Some("dist//x".into())
    );
    assert_eq!(
        ts_out_dir("{\"compilerOptions\": {\"outDir\": \"../out\"}}"),
        None
    );
    assert_eq!(
        ts_out_dir("{\"a\": \"// not a comment\", \"compilerOptions\": {\"outDir\": \"o\"}}"),
        Some("o".into())
    );
    assert_eq!(top_folder("dist/index.js"), Some("dist".into()));
    assert_eq!(top_folder("index.js"), None);
}
