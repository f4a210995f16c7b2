//! What fabdev refuses to package, each named.

use super::*;

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
