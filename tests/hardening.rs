//! The `fabdev` binary against bad and hostile input, and against itself
//! (issue 12): bounded inputs, exit codes, one writer per workspace, private
//! state folders, crypto folders read without following links.

use std::io::BufRead as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use testkit::{fabdev, fabdev_bin as bin, repo};

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Waits for a child with a deadline; kills it past the deadline.
fn wait_with_deadline(mut child: Child, deadline: Duration) -> Result<Output, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let id = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let read = |r: Option<Box<dyn std::io::Read + Send>>| {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        };
        let out = read(stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
        let err = read(stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
        let status = child.wait();
        let _ = tx.send(status.map(|status| Output {
            status,
            stdout: out,
            stderr: err,
        }));
    });
    match rx.recv_timeout(deadline) {
        Ok(Ok(o)) => Ok(o),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            Err(format!("still running after {deadline:?}"))
        }
    }
}

// ---------------------------------------------------------------------------
// 1. Bounded inputs and exit codes
// ---------------------------------------------------------------------------

#[test]
fn a_spec_too_big_for_the_port_range_exits_2_before_any_crypto() {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo().join("fixtures/specs/broken/too-many-nodes.yaml"),
        ws.path().join("fabdev.yaml"),
    )
    .expect("copy");
    let out = fabdev(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("NodePort range 30000-32767"), "{err}");
    assert!(err.contains("use fewer orgs or peers"), "{err}");
    assert_eq!(
        names_in(ws.path()),
        ["fabdev.yaml"],
        "nothing may be written"
    );
}

#[test]
fn a_device_as_spec_is_read_with_a_limit_and_exits_2() {
    let ws = tempfile::tempdir().expect("tempdir");
    let child = fabdev(ws.path())
        .args(["--spec", "/dev/zero", "render"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = wait_with_deadline(child, Duration::from_secs(30)).expect("it ends");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero is larger than 1048576 bytes"),
        "{err}"
    );
    assert!(names_in(ws.path()).is_empty(), "nothing may be written");
}

#[test]
fn a_chaincode_path_outside_the_workspace_exits_2() {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nchaincodes:\n  - { name: basic, path: ../../../../../../../../etc, lang: go }\n",
    )
    .expect("spec");
    let out = fabdev(ws.path()).arg("render").output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("chaincode folder /etc is outside the workspace"),
        "{err}"
    );
    assert!(err.contains("fabdev chaincode package PATH"), "{err}");
    assert_eq!(names_in(ws.path()), ["fabdev.yaml"]);
}

#[test]
fn packaging_a_huge_sparse_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cc = dir.path().join("cc");
    std::fs::create_dir(&cc).expect("mkdir");
    std::fs::write(cc.join("go.mod"), "module example.com/cc\n\ngo 1.22\n").expect("go.mod");
    std::fs::write(cc.join("main.go"), "package main\n").expect("main.go");
    let f = std::fs::File::create(cc.join("disk.img")).expect("create");
    f.set_len(2 * 1024 * 1024 * 1024).expect("sparse 2 GiB");
    let pkg = dir.path().join("cc.tar.gz");
    let out = Command::new(bin())
        .args(["chaincode", "package"])
        .arg(&cc)
        .arg("-o")
        .arg(&pkg)
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("disk.img"), "{err}");
    assert!(err.contains("100 MiB"), "{err}");
    assert!(!pkg.exists());
}

#[test]
fn packaging_warns_about_files_that_look_like_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cc = dir.path().join("cc");
    std::fs::create_dir(&cc).expect("mkdir");
    std::fs::write(cc.join("go.mod"), "module example.com/cc\n\ngo 1.22\n").expect("go.mod");
    std::fs::write(cc.join("main.go"), "package main\n").expect("main.go");
    std::fs::write(cc.join(".env"), "TOKEN=x\n").expect(".env");
    let out = Command::new(bin())
        .args(["chaincode", "package"])
        .arg(&cc)
        .arg("-o")
        .arg(dir.path().join("cc.tar.gz"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning:") && err.contains(".env"), "{err}");
    assert!(err.contains(".fabdevignore"), "{err}");
}

#[test]
fn a_closed_stdout_is_an_error_not_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("p.tar.gz");
    // stdout closed (`>&-`): the package ID cannot be printed.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" chaincode package "$1" --label basic_1.0 -o "$2" >&-"#)
        .arg(bin())
        .arg(repo().join("fixtures/chaincode/go"))
        .arg(&pkg)
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("<stdout>"), "{err}");

    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" init --stdout >&-"#)
        .arg(bin())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));

    // A reader that has gone (a closed pipe): an error too, not a panic.
    let mut child = Command::new(bin())
        .arg("-w")
        .arg(dir.path())
        .arg("render")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = wait_with_deadline(child, Duration::from_secs(120)).expect("it ends");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("<stdout>"), "{err}");
}

/// Results a reporter writes (doctor's checks, as text or JSON lines) obey
/// the same rule: a closed stdout is an error naming it.
#[test]
fn a_closed_stdout_is_an_error_for_reported_results_too() {
    let ws = tempfile::tempdir().expect("tempdir");
    for format in ["text", "json"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" -w "$1" doctor -o "$2" >&-"#)
            .arg(bin())
            .arg(ws.path())
            .arg(format)
            .output()
            .expect("run");
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{format}: {err}");
        assert!(err.contains("<stdout>"), "{format}: {err}");
    }
    assert!(names_in(ws.path()).is_empty(), "doctor writes nothing");
}

// ---------------------------------------------------------------------------
// 2. One writer per workspace
// ---------------------------------------------------------------------------

#[test]
fn a_second_command_waits_for_the_one_holding_the_workspace() {
    let ws = tempfile::tempdir().expect("tempdir");
    // Another fabdev (this test) holds the workspace's lock.
    let state = ws.path().join(".fabdev");
    std::fs::create_dir(&state).expect("mkdir");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("lock"))
        .expect("lock file");
    held.lock().expect("lock");
    std::fs::write(state.join("lock"), "fabdev up, pid 4242\n").expect("note");

    let mut child = fabdev(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a line saying what it waits for");
    assert!(
        first.contains("waiting for another fabdev command (fabdev up, pid 4242)"),
        "{first}"
    );
    // While it waits, it has written nothing.
    assert!(!state.join("crypto").exists());
    assert!(!ws.path().join("out").exists());

    held.unlock().expect("unlock");
    drop(held);
    let (txs, rxs) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = txs.send(child.wait());
    });
    let status = rxs
        .recv_timeout(Duration::from_secs(120))
        .expect("it finishes once the lock is free")
        .expect("wait");
    assert!(status.success());
    assert!(ws.path().join("out/kind-config.yaml").is_file());
}

#[test]
fn two_renders_at_once_in_one_workspace_both_succeed() {
    for round in 0..3 {
        let ws = tempfile::tempdir().expect("tempdir");
        let spawn = |name: &str| {
            fabdev(ws.path())
                .arg("-q")
                .arg("render")
                .arg("--out")
                .arg(ws.path().join(name))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        };
        let (a, b) = (spawn("a"), spawn("b"));
        for child in [a, b] {
            let out = wait_with_deadline(child, Duration::from_secs(120)).expect("ends");
            assert!(out.status.success(), "round {round}: {}", stderr_of(&out));
        }
        // Same crypto for both: the same Secrets.
        let secret = "manifests/01-secret-peer0-org1-crypto.yaml";
        assert_eq!(
            std::fs::read(ws.path().join("a").join(secret)).expect("a"),
            std::fs::read(ws.path().join("b").join(secret)).expect("b"),
        );
    }
}

#[test]
fn state_folders_are_private_whatever_the_umask() {
    let ws = tempfile::tempdir().expect("tempdir");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000 && exec "$0" -q -w "$1" render --out "$1/out""#)
        .arg(bin())
        .arg(ws.path())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    for dir in [".fabdev", ".fabdev/crypto"] {
        let mode = std::fs::metadata(ws.path().join(dir))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{dir} is {mode:o}");
    }
}

#[test]
fn a_symlink_in_a_node_crypto_folder_never_reaches_a_secret() {
    let ws = tempfile::tempdir().expect("tempdir");
    let first = fabdev(ws.path())
        .arg("-q")
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out1"))
        .output()
        .expect("run");
    assert!(first.status.success(), "{}", stderr_of(&first));
    let node = ws
        .path()
        .join(".fabdev/crypto/peerOrganizations/Org1/nodes/peer0-org1");
    let node = if node.is_dir() {
        node
    } else {
        // Find the node folder wherever the layout puts it.
        find_dir(&ws.path().join(".fabdev/crypto"), "peer0-org1").expect("peer0-org1 folder")
    };
    std::os::unix::fs::symlink("/etc/passwd", node.join("msp/passwd")).expect("symlink");
    let out = fabdev(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out2"))
        .output()
        .expect("run");
    let err = stderr_of(&out);
    assert!(!out.status.success(), "a link was followed:\n{err}");
    assert!(
        err.contains("msp/passwd") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(!ws.path().join("out2").exists());
}

fn find_dir(root: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(root).ok()?.flatten() {
        let p = e.path();
        if e.file_type().ok()?.is_dir() {
            if e.file_name() == name {
                return Some(p);
            }
            if let Some(found) = find_dir(&p, name) {
                return Some(found);
            }
        }
    }
    None
}

/// Ctrl-C while `render --out` writes its temporary folder beside `--out`
/// (the Secrets in it hold private keys): the folder goes, exit 130.
#[test]
fn an_interrupted_render_out_leaves_no_temporary_folder_with_keys() {
    let ws = tempfile::tempdir().expect("tempdir");
    // Many nodes, so writing the objects (each file synced) takes a while.
    let mut spec = String::from("apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n");
    for i in 1..=12 {
        spec.push_str(&format!("  - {{ name: Org{i}, peers: 9 }}\n"));
    }
    spec.push_str("channels: [{ name: mychannel, orgs: [Org1] }]\n");
    std::fs::write(ws.path().join("fabdev.yaml"), spec).expect("spec");
    let parent = ws.path().join("rendered");
    std::fs::create_dir(&parent).expect("mkdir");
    let tmp_in = |dir: &Path| {
        names_in(dir)
            .into_iter()
            .filter(|n| n.starts_with(".fabdev-render-"))
            .collect::<Vec<_>>()
    };
    let child = fabdev(ws.path())
        .arg("-q")
        .arg("render")
        .arg("--out")
        .arg(parent.join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait (with a deadline) for the temporary folder to appear.
    let appeared = testkit::wait_until(Duration::from_secs(120), Duration::from_millis(5), || {
        (!tmp_in(&parent).is_empty()).then_some(())
    });
    assert!(appeared.is_some(), "no temporary folder appeared");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = wait_with_deadline(child, Duration::from_secs(60)).expect("it ends");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(tmp_in(&parent).is_empty(), "left: {:?}", tmp_in(&parent));
    assert!(!parent.join("out").exists());
}

/// A kubeconfig that runs a command, inside a workspace (named by a cloned
/// fabdev.yaml's `cluster.kubeconfig`, or a committed `.fabdev/kubeconfig`),
/// is refused before the command runs (issue 19, finding 5).
#[test]
fn a_workspace_kubeconfig_with_a_credential_plugin_runs_nothing() {
    let ws = tempfile::tempdir().expect("tempdir");
    let marker = ws.path().join("plugin-ran");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {{server: 'https://127.0.0.1:1'}}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: ['-c', 'touch {}; echo {{}}']\n      interactiveMode: Never\n",
        marker.display()
    );
    std::fs::write(ws.path().join("kube.yaml"), &kubeconfig).expect("kubeconfig");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: cloned\ncluster: { provider: existing, kubeconfig: kube.yaml }\n",
    )
    .expect("spec");
    for args in [&["status"][..], &["down"][..], &["doctor"][..]] {
        let out = fabdev(ws.path()).args(args).output().expect("run");
        let err = stderr_of(&out);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            !marker.exists(),
            "{args:?} ran the kubeconfig's command: {err}"
        );
        assert!(
            err.contains("runs a command")
                || String::from_utf8_lossy(&out.stdout).contains("runs a command"),
            "{args:?}: {err}"
        );
    }

    // The same kubeconfig as fabdev's own kind kubeconfig, committed.
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: cloned\n",
    )
    .expect("spec");
    std::fs::create_dir_all(ws.path().join(".fabdev")).expect("state");
    std::fs::write(ws.path().join(".fabdev/kubeconfig"), &kubeconfig).expect("kubeconfig");
    let out = fabdev(ws.path()).args(["status"]).output().expect("run");
    let err = stderr_of(&out);
    assert!(
        !marker.exists(),
        "status ran the committed kubeconfig's command: {err}"
    );
}

/// Every Fabric release tarball a workflow downloads is checked against a
/// pinned SHA-256 before it is unpacked, and a missing pin fails the run
/// (issue 19, finding 9): no `curl … | tar`.
#[test]
fn workflows_run_fabric_binaries_only_after_a_pinned_checksum() {
    let dir = repo().join(".github/workflows");
    let mut downloads = 0;
    for name in names_in(&dir) {
        let text = std::fs::read_to_string(dir.join(&name)).expect("workflow");
        for (i, line) in text.lines().enumerate() {
            if !(line.contains("curl") && line.contains("hyperledger-fabric-linux")) {
                continue;
            }
            downloads += 1;
            let next = text.lines().nth(i + 1).unwrap_or_default();
            assert!(
                !line.contains("| tar") && !next.trim_start().starts_with("| tar"),
                "{name}:{}: unpacked straight from the download",
                i + 1
            );
            let before: String = text.lines().take(i).collect::<Vec<_>>().join("\n");
            let after: String = text.lines().skip(i).take(4).collect::<Vec<_>>().join("\n");
            assert!(
                after.contains("sha256sum -c"),
                "{name}:{}: no checksum check after the download",
                i + 1
            );
            assert!(
                before.contains("no pinned SHA-256") && before.contains("exit 1"),
                "{name}:{}: a missing pin must fail the run",
                i + 1
            );
        }
    }
    assert!(
        downloads > 0,
        "no Fabric download found in {}",
        dir.display()
    );
}

/// The stand-ins for Fabric's builder and runtime images carry names of
/// their own: fabdev pins `hyperledger/fabric-*` releases, and a stand-in
/// tagged under such a name in the host's Docker would be seeded into a
/// real network by a later `fabdev up` (issue 19, finding 9).
#[test]
fn the_builder_stand_ins_are_never_named_as_fabric_images() {
    let script = repo().join("scripts/setup/builder-images.sh");
    let text = std::fs::read_to_string(&script).expect("read builder-images.sh");
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for line in &code {
        assert!(
            !line.contains("hyperledger/"),
            "{}: a stand-in named as Fabric's image: {line}",
            script.display()
        );
    }
    let imports: Vec<&&str> = code
        .iter()
        .filter(|l| l.trim_start().starts_with("import \"$work/"))
        .collect();
    assert_eq!(imports.len(), 3, "baseos, ccenv, nodeenv: {imports:?}");
    for line in imports {
        assert!(line.contains("\"fabdev.invalid/standin-fabric-"), "{line}");
    }
    // The names the tests give in their fabdev.yaml are the ones made.
    for name in testkit::probe::builder_standins("2.5") {
        let (repo_name, _) = name.rsplit_once(':').expect("a tag");
        assert!(text.contains(repo_name), "{name} is not made by the script");
    }
}

/// No setup script that makes images in the host's Docker names one as an
/// image fabdev pins (`hyperledger/fabric-*`, `docker:…`): not the DinD
/// stand-in, nor the peer and orderer images made from FABRIC_HOME's
/// binaries (not the images Hyperledger publishes); their import functions
/// refuse any name outside `fabdev.invalid/`, and the names the tests give
/// are the ones made (issue 19, finding 9).
#[test]
fn the_setup_scripts_name_no_image_as_an_official_one() {
    use testkit::probe;
    for script in ["builder-images.sh", "node-images.sh"] {
        let path = repo().join("scripts/setup").join(script);
        let text = std::fs::read_to_string(&path).expect("read the script");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for official in ["hyperledger/fabric-", "docker:"] {
                let named = line.replace("fabdev.invalid/standin-docker:", "");
                assert!(
                    !named.contains(official),
                    "{script}:{}: an image named as {official}…: {line}",
                    n + 1
                );
            }
        }
        assert!(
            text.contains("case \"$name\" in fabdev.invalid/*) ;;"),
            "{script}: its import function must refuse names outside fabdev.invalid/"
        );
    }
    let node = std::fs::read_to_string(repo().join("scripts/setup/node-images.sh"))
        .expect("read node-images.sh");
    assert!(
        node.contains(probe::DIND_STANDIN_IMAGE),
        "the DinD stand-in"
    );
    let local = probe::local_fabric_image("peer", "2.5.14");
    let (stem, _) = local.rsplit_once("-peer:").expect("a peer image");
    assert!(node.contains(&format!("LOCAL_FABRIC={stem}")), "{local}");
    for image in [
        probe::PAUSE_IMAGE,
        probe::DIND_STANDIN_IMAGE,
        probe::PEER_STANDIN_IMAGE,
        probe::ORDERER_STANDIN_IMAGE,
        &local,
    ] {
        assert!(image.starts_with("fabdev.invalid/"), "{image}");
    }
}
