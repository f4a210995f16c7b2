//! Links and special files.

use super::*;

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
            .args([
                "--exact",
                "links::an_unreadable_file_is_named",
                "--nocapture",
            ])
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
