//! `up` and `down` with a fake kind or none: where each stops, Ctrl-C,
//! the cluster flags and an existing cluster's kubeconfig.

use super::*;

#[test]
fn up_without_kind_stops_at_the_kind_step_with_a_hint() {
    let ws = tempfile::tempdir().expect("tempdir");
    let out = without_kind(&mut fabdev(), ws.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("-w")
        .arg(ws.path())
        .arg("up")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(" ✓ crypto material: 17 created, 0 reused"),
        "{err}"
    );
    assert!(
        err.contains(" ✓ render Kubernetes objects: 16 objects"),
        "{err}"
    );
    assert!(err.contains(" ✗ kind"), "{err}");
    assert!(err.contains("--kind PATH"), "{err}");
}

#[test]
fn up_json_events_report_a_kind_that_is_too_old() {
    let ws = tempfile::tempdir().expect("tempdir");
    let kind = fake_kind(ws.path(), "v0.20.0");
    let (out, events) = json_run(ws.path(), &kind, "up");
    assert_eq!(out.status.code(), Some(1));
    let steps: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().expect("event"),
                e["step"].as_str().expect("step"),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("step_started", "workspace"),
            ("step_done", "workspace"),
            ("step_started", "plan"),
            ("plan", "plan"),
            ("step_done", "plan"),
            ("step_started", "crypto material"),
            ("step_done", "crypto material"),
            ("step_started", "render Kubernetes objects"),
            ("step_done", "render Kubernetes objects"),
            ("step_started", "kind"),
            ("step_failed", "kind")
        ]
    );
    assert_eq!(events[1]["detail"], "fabdev: 1 orderer, 2 peers, 1 channel");
    let last = events.last().expect("events");
    assert_eq!(last["step"], "kind");
    assert!(
        last["error"]
            .as_str()
            .expect("error")
            .contains("kind v0.20.0 is too old"),
        "{last}"
    );
    assert!(last["elapsed_ms"].is_u64());
}

#[test]
fn down_without_a_cluster_removes_runtime_state_but_keeps_crypto() {
    let ws = tempfile::tempdir().expect("tempdir");
    fabdev()
        .arg("-w")
        .arg(ws.path())
        .arg("render")
        .arg("--out")
        .arg(ws.path().join("out"))
        .assert()
        .success();
    std::fs::create_dir_all(ws.path().join(".fabdev/profiles")).expect("profiles");
    std::fs::write(ws.path().join(".fabdev/kubeconfig"), "x").expect("kubeconfig");
    // A fake kind that knows no clusters.
    let kind = ws.path().join("kind");
    std::fs::write(&kind, "#!/bin/sh\nexit 0\n").expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = with_kind(ws.path(), &kind, &["down"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("kind cluster fabdev: not there"),
        "{}",
        stderr_of(&out)
    );
    assert!(!ws.path().join(".fabdev/profiles").exists());
    assert!(!ws.path().join(".fabdev/kubeconfig").exists());
    assert!(
        ws.path().join(".fabdev/crypto").is_dir(),
        "crypto is kept without --purge"
    );
    let out = with_kind(ws.path(), &kind, &["down", "--purge"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        !ws.path().join(".fabdev/crypto").exists(),
        "--purge deletes the crypto"
    );
}

/// A kind cluster of the workspace's name that this workspace's `up` did
/// not create (issue 19, finding 4): `down` does not delete it, exits 2 and
/// says what to do; `kind delete` never runs.
#[test]
fn down_leaves_a_kind_cluster_this_workspace_did_not_create() {
    let ws = tempfile::tempdir().expect("tempdir");
    let deleted = ws.path().join("kind-delete-ran");
    // A fake kind whose cluster `fabdev` exists; `delete` leaves a trace.
    let kind = ws.path().join("kind");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh
case \"$1\" in
  version) echo 'kind v0.33.0 go1.24.2 linux/amd64';;
  get) echo fabdev;;
  delete) touch '{}';;
  *) echo 'no' >&2; exit 1;;
esac
",
            deleted.display()
        ),
    )
    .expect("fake kind");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = with_kind(ws.path(), &kind, &["down"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "kind cluster fabdev is not this workspace's: this workspace did not create it"
        ),
        "{err}"
    );
    assert!(
        err.contains("fabdev up --adopt-cluster")
            && err.contains("kind delete cluster --name fabdev"),
        "{err}"
    );
    assert!(!deleted.exists(), "down ran `kind delete`: {err}");
}

/// `up` (a fake kind whose `create` hangs) stopped by `signal` once the
/// create runs: exit 130, a hint to run it again, and the hanging `kind
/// create` killed with fabdev. Returns the workspace, the fake kind and the
/// image the spec names.
fn interrupt_up(signal: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Std, Stdio};
    use std::time::Duration;

    let ws = tempfile::tempdir().expect("tempdir");
    // One image per signal: the tests run at once, and each removes its own.
    let image = format!(
        "fabdev-test/ctrlc-{}:{}",
        signal.trim_start_matches('-').to_lowercase(),
        std::process::id()
    );
    let made = Std::new("sh")
        .arg("-c")
        .arg(format!(
            "tar cf - --files-from /dev/null | docker import - {image}"
        ))
        .output()
        .expect("docker import");
    assert!(
        made.status.success(),
        "needs Docker (run scripts/test.sh): {}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: ctrlc\nimages: {{ peer: {image}, orderer: {image}, dind: {image}, ccenv: {image}, baseos: {image}, nodeenv: {image}, couchdb: {image} }}\n"
        ),
    )
    .expect("spec");
    let pidfile = ws.path().join("kind-create.pid");
    let kind = ws.path().join("kind");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  version) echo 'kind v0.29.0 go1.24.2 linux/amd64';;\n  create) echo $$ > {}; exec sleep 120;;\n  *) exit 0;;\nesac\n",
            pidfile.display()
        ),
    )
    .expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let mut child = Std::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(ws.path())
        .args(["up", "--trust-spec", "-o", "json", "--kind"])
        .arg(&kind)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fabdev");
    let stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let started_create =
            line.contains("\"step_started\"") && line.contains("kind cluster ctrlc");
        seen.push(line);
        if started_create {
            break;
        }
    }
    assert!(
        seen.last()
            .is_some_and(|l| l.contains("kind cluster ctrlc")),
        "up never reached the cluster step: {seen:#?}"
    );
    // Wait (with a deadline) until the fake `kind create` runs.
    let kind_pid = testkit::wait_until(Duration::from_secs(20), Duration::from_millis(1), || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    })
    .expect("the fake kind create never started");
    let sent = Std::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fabdev up was interrupted"), "{err}");
    assert!(err.contains("run it again"), "{err}");
    // The hanging `kind create` was killed with fabdev, not left running.
    let gone = testkit::wait_until(Duration::from_secs(10), Duration::from_millis(1), || {
        let alive = Std::new("kill")
            .args(["-0", &kind_pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!alive).then_some(())
    });
    assert!(
        gone.is_some(),
        "kind create (pid {kind_pid}) survived the interrupt"
    );

    (ws, kind, image)
}

/// SIGTERM and SIGHUP stop `up` as Ctrl-C does (issue 19, finding 8): the
/// hanging `kind create` is killed, not orphaned, and the exit is 130.
#[test]
fn sigterm_and_sighup_stop_up_as_ctrl_c_does() {
    for signal in ["-TERM", "-HUP"] {
        let (_ws, _kind, image) = interrupt_up(signal);
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &image])
            .output();
    }
}

/// Ctrl-C during `up` stops it cleanly: exit 130, a hint to run it again, and
/// no child process left behind. Needs the Docker engine that scripts/test.sh
/// starts (the images must be "present on the host" for `up` to get as far
/// as creating the cluster); the kind binary is a fake whose `create` hangs.
#[test]
fn ctrl_c_during_up_stops_cleanly() {
    use std::process::Command as Std;

    let (ws, kind, image) = interrupt_up("-INT");
    // The interrupted create may have left a half-made cluster: the next
    // `up` deletes it before creating it again (here kind says the cluster
    // exists, and the new create fails at once to end the run).
    let marker = ws.path().join(".fabdev/cluster-creating");
    assert!(
        marker.is_file(),
        "the create marker must survive the interrupt"
    );
    let calls = ws.path().join("kind-calls.log");
    std::fs::write(
        &kind,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\ncase \"$1\" in\n  version) echo 'kind v0.29.0 go1.24.2 linux/amd64';;\n  get) echo ctrlc;;\n  create) echo 'no node image here' >&2; exit 1;;\n  *) exit 0;;\nesac\n",
            calls.display()
        ),
    )
    .expect("fake kind, second run");
    let out = Std::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(ws.path())
        .args(["up", "--kind"])
        .arg(&kind)
        .output()
        .expect("run fabdev up again");
    let _ = Std::new("docker").args(["rmi", "-f", &image]).output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let log = std::fs::read_to_string(&calls).expect("kind calls");
    let order: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("delete cluster") || l.starts_with("create cluster"))
        .map(|l| {
            if l.starts_with("delete") {
                "delete"
            } else {
                "create"
            }
        })
        .collect();
    assert_eq!(order, ["delete", "create"], "{log}");
    assert!(
        stderr_of(&out).contains("no node image here"),
        "{}",
        stderr_of(&out)
    );
    assert!(marker.is_file(), "a failed create keeps the marker");
}

/// `up` as far as this machine goes without kind: the images are found on
/// the host's Docker (the test setup starts it; each image is a tiny local
/// one), each reported as a typed `images` event, and a kind that cannot
/// export the kubeconfig of its existing cluster (one this workspace
/// recorded as its own) fails the cluster step, in JSON as that step's
/// `step_failed`.
#[test]
fn up_finds_its_images_on_the_host_then_fails_in_the_cluster_step() {
    let ws = tempfile::tempdir().expect("tempdir");
    let tag = format!("fabdev-test/cli-up:{}", std::process::id());
    // An empty image, made locally: no registry involved.
    let import = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("tar cf - -T /dev/null | docker import - {tag}"))
        .output()
        .expect("docker import");
    assert!(import.status.success(), "{}", stderr_of(&import));
    let names = ["orderer", "peer", "dind", "ccenv", "baseos", "nodeenv"];
    let image = |what: &str| format!("{tag}-{what}");
    for what in names {
        let tagged = std::process::Command::new("docker")
            .args(["tag", &tag, &image(what)])
            .status()
            .expect("docker tag");
        assert!(tagged.success());
    }
    let images: Vec<String> = names.iter().map(|w| format!("{w}: {}", image(w))).collect();
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nimages: {{ {} }}\n",
            images.join(", ")
        ),
    )
    .expect("spec");
    // A kind whose cluster exists but that refuses everything else.
    let kind = ws.path().join("kind");
    std::fs::write(
        &kind,
        "#!/bin/sh\ncase \"$1\" in\n  version) echo 'kind v0.33.0 go1.24.2 linux/amd64';;\n  get) echo fabdev;;\n  *) echo 'no' >&2; exit 1;;\nesac\n",
    )
    .expect("fake kind");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // The cluster is this workspace's (see `down_leaves_a_kind_cluster_…`).
    std::fs::create_dir_all(ws.path().join(".fabdev")).expect(".fabdev");
    std::fs::write(ws.path().join(".fabdev/kind-cluster-id"), "uid-1\n").expect("id");
    let (out, events) = json_run(ws.path(), &kind, "up");
    for what in names {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image(what)])
            .output();
    }
    let _ = std::process::Command::new("docker")
        .args(["rmi", &tag])
        .output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    for what in names {
        let step = format!("image {}", image(what));
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "step_done" && e["step"] == step),
            "{step}: {events:#?}"
        );
        assert!(
            events.iter().any(|e| e["event"] == "images"
                && e["step"] == step
                && e["target"] == "host Docker"
                && e["present"] == serde_json::json!([image(what)])),
            "{step}: {events:#?}"
        );
    }
    let last = events.last().expect("events");
    assert_eq!(last["event"], "step_failed", "{events:#?}");
    assert_eq!(last["step"], "kind cluster fabdev");
    let error = last["error"].as_str().unwrap_or_default();
    assert!(error.contains("export kubeconfig"), "{last}");
}

#[test]
fn cluster_flags_that_do_not_fit_exit_2_and_write_nothing() {
    let ws = tempfile::tempdir().expect("tempdir");
    // The default network runs on kind: --kubeconfig and --context name an
    // existing cluster, and --load-images is not implemented for one.
    for args in [
        &["--context", "team", "up"][..],
        &["--kubeconfig", "k.yaml", "down"],
        &["--context", "team", "render"],
        &["--provider", "existing", "up", "--load-images"],
    ] {
        let out = fabdev()
            .arg("-w")
            .arg(ws.path())
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains("--provider existing") || err.contains("--load-images is not implemented"),
            "{args:?}: {err}"
        );
        assert!(
            tree(ws.path()).is_empty(),
            "{args:?} wrote {:?}",
            tree(ws.path())
        );
    }

    // A context the kubeconfig does not have: bad input naming the ones it
    // has, found before any crypto is written.
    std::fs::write(
        ws.path().join("kube.yaml"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: alpha\n  context:\n    cluster: c\n    user: u\n\
         current-context: alpha\n",
    )
    .expect("kubeconfig");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: existing, kubeconfig: kube.yaml }\n",
    )
    .expect("spec");
    for command in ["up", "status"] {
        let out = fabdev()
            .arg("-w")
            .arg(ws.path())
            .args(["--trust-spec", "--context", "beta", command])
            .output()
            .expect("run");
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("context \"beta\" is not in the kubeconfig")
                && err.contains("it has: alpha"),
            "{command}: {err}"
        );
    }
    assert!(!ws.path().join(".fabdev/crypto").exists());
}

#[test]
fn an_existing_cluster_without_a_kubeconfig_reads_kubeconfig_as_kubectl_does() {
    let ws = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("home");
    let kubeconfig = |context: &str, port: u16| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c-{context}\n  cluster:\n    server: https://127.0.0.1:{port}\n\
             users:\n- name: u-{context}\n  user:\n    token: t\ncontexts:\n- name: {context}\n  context:\n    cluster: c-{context}\n    user: u-{context}\n\
             current-context: {context}\n"
        )
    };
    let a = ws.path().join("a.yaml");
    let b = ws.path().join("b.yaml");
    std::fs::write(&a, kubeconfig("alpha", 1)).expect("a");
    std::fs::write(&b, kubeconfig("beta", 2)).expect("b");
    let list = format!("{}:{}", a.display(), b.display());
    let status = |env: Option<&str>, args: &[&str]| {
        let mut cmd = fabdev();
        cmd.arg("-w")
            .arg(ws.path())
            .args(["--provider", "existing"])
            .args(args)
            .arg("status")
            .env("HOME", home.path())
            .env_remove("KUBECONFIG");
        if let Some(v) = env {
            cmd.env("KUBECONFIG", v);
        }
        stderr_of(&cmd.output().expect("run"))
    };
    // $KUBECONFIG's files are merged: the first file's current context, and
    // a context of the second file.
    let err = status(Some(&list), &[]);
    assert!(
        err.contains("the API server of context alpha (https://127.0.0.1:1) does not answer"),
        "{err}"
    );
    let err = status(Some(&list), &["--context", "beta"]);
    assert!(
        err.contains("the API server of context beta (https://127.0.0.1:2) does not answer"),
        "{err}"
    );
    let err = status(Some(&list), &["--context", "gamma"]);
    assert!(
        err.contains(&format!(
            "is not in the kubeconfig $KUBECONFIG ({list}); it has: alpha, beta"
        )),
        "{err}"
    );
    // --kubeconfig wins over $KUBECONFIG.
    let err = status(Some(&list), &["--kubeconfig", b.to_str().expect("utf8")]);
    assert!(err.contains("context beta (https://127.0.0.1:2)"), "{err}");
    // Without either: ~/.kube/config, and a hint when there is none.
    let err = status(None, &[]);
    assert!(
        err.contains(&format!("{}/.kube/config", home.path().display()))
            && err.contains("--kubeconfig FILE"),
        "{err}"
    );
    std::fs::create_dir(home.path().join(".kube")).expect(".kube");
    std::fs::write(home.path().join(".kube/config"), kubeconfig("home", 3)).expect("config");
    let err = status(None, &[]);
    assert!(err.contains("context home (https://127.0.0.1:3)"), "{err}");
}
