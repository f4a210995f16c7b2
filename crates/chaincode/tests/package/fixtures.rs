//! The committed fixtures, packaged as Fabric's peer CLI packages them.

use super::*;

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
            "src/package-lock.json",
            "src/package.json",
        ]
    );
    // The lockfile goes with the sources: the peer's `npm ci` installs
    // exactly the dependencies it pins.
    assert_eq!(
        code[3].data,
        fs::read(fixture("node/package-lock.json")).unwrap()
    );
    assert_eq!(
        code[4].data,
        fs::read(fixture("node/package.json")).unwrap()
    );
    assert_eq!(pkg.id, NODE_FIXTURE_ID);
}

/// Every Node fixture pins its dependencies with a lockfile that matches
/// its package.json, so the builds that install them (`npm ci`) take
/// exactly what it names and never resolve a newer release.
#[test]
fn node_fixtures_pin_their_dependencies_with_a_lockfile() {
    for name in ["node", "node-abac", "node-init", "typescript"] {
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(fixture(name).join("package.json")).unwrap()).unwrap();
        let lock: serde_json::Value = serde_json::from_slice(
            &fs::read(fixture(name).join("package-lock.json"))
                .unwrap_or_else(|e| panic!("{name}: no package-lock.json: {e}")),
        )
        .unwrap();
        let root = &lock["packages"][""];
        for section in ["dependencies", "devDependencies"] {
            assert_eq!(
                root[section], manifest[section],
                "{name}: the lockfile's {section} differ from package.json's: run `npm install --package-lock-only --ignore-scripts` there"
            );
        }
        for dep in manifest["dependencies"].as_object().into_iter().flatten() {
            let locked = &lock["packages"][format!("node_modules/{}", dep.0)];
            assert!(
                locked["version"].is_string() && locked["integrity"].is_string(),
                "{name}: {} is not pinned with a version and an integrity hash",
                dep.0
            );
        }
    }
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
