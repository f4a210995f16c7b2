//! fabdev.yaml's choice of an existing cluster or of images that run
//! privileged needs the user's word (issue 19, finding 5): refused without
//! it (naming the file, the fields and the flag, before anything is
//! written), accepted by `--trust-spec` and recorded, not asked again, asked
//! again when a value changes, and a record that came with a copy of the
//! workspace does not count.

use std::path::Path;

use super::{fabdev, fake_kind, stderr_of, tree};

const REFUSED: &str = "which fabdev uses only once you accept them";
const RECORD: &str = ".fabdev/trusted-spec.json";

/// `fabdev -w WS ARGS...` with stdin not a terminal.
fn run(ws: &Path, args: &[&str]) -> std::process::Output {
    fabdev()
        .arg("-w")
        .arg(ws)
        .args(args)
        .env_remove("FABDEV_KIND_NODE_IMAGE")
        .output()
        .expect("run")
}

fn kubeconfig(contexts: &[(&str, u16)]) -> String {
    let mut clusters = String::new();
    let mut ctxs = String::new();
    for (name, port) in contexts {
        clusters.push_str(&format!(
            "- name: c-{name}\n  cluster:\n    server: https://127.0.0.1:{port}\n"
        ));
        ctxs.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: c-{name}\n    user: u\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n- name: u\n  user:\n    token: t\ncontexts:\n{ctxs}current-context: {}\n",
        contexts[0].0
    )
}

fn existing_spec(ws: &Path, context: &str) {
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: cloned\n\
             cluster: {{ provider: existing, kubeconfig: kube.yaml, context: {context} }}\n"
        ),
    )
    .expect("spec");
}

#[test]
fn a_spec_that_picks_an_existing_cluster_needs_the_users_word_once() {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ws.path().join("kube.yaml"),
        kubeconfig(&[("alpha", 1), ("beta", 2)]),
    )
    .expect("kubeconfig");
    existing_spec(ws.path(), "alpha");

    // Refused where nobody can be asked, for every command that reaches
    // the cluster, naming the file, the fields, the cluster and the flag;
    // nothing is written.
    for args in [&["status"][..], &["up"], &["down"], &["doctor"]] {
        let out = run(ws.path(), args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(REFUSED), "{args:?}: {err}");
        assert!(
            err.contains(&ws.path().join("fabdev.yaml").display().to_string())
                && err.contains("cluster.provider")
                && err.contains("cluster.context")
                && err.contains("--trust-spec"),
            "{args:?}: {err}"
        );
        // Shown before anything is touched: which context, which server.
        assert!(
            err.contains("context alpha (cluster c-alpha, user u) at https://127.0.0.1:1"),
            "{args:?}: {err}"
        );
        assert!(!ws.path().join(".fabdev").exists(), "{args:?} wrote state");
    }

    // The flag accepts and records; the command then goes on (to a server
    // that does not answer).
    let out = run(ws.path(), &["--trust-spec", "status"]);
    let err = stderr_of(&out);
    assert!(!err.contains(REFUSED), "{err}");
    assert!(err.contains("does not answer"), "{err}");
    let record = std::fs::read_to_string(ws.path().join(RECORD)).expect("record");
    assert!(record.contains("alpha"), "{record}");

    // Recorded: not asked again.
    let out = run(ws.path(), &["status"]);
    let err = stderr_of(&out);
    assert!(!err.contains(REFUSED), "{err}");
    assert!(err.contains("does not answer"), "{err}");

    // A record that came with the folder (a clone, a copy) does not count.
    let copy = tempfile::tempdir().expect("copy");
    for (rel, bytes) in tree(ws.path()) {
        let to = copy.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(to, bytes).expect("copy");
    }
    let out = run(copy.path(), &["status"]);
    assert!(stderr_of(&out).contains(REFUSED), "{}", stderr_of(&out));

    // A changed value is asked again, naming what changed.
    existing_spec(ws.path(), "beta");
    let out = run(ws.path(), &["status"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(REFUSED), "{err}");
    assert!(
        err.contains("asks for cluster.context, cluster,"),
        "only the changed fields are named: {err}"
    );
    assert!(
        err.contains("https://127.0.0.1:2"),
        "the new cluster: {err}"
    );

    // What the command line says is the user's own word.
    let out = run(
        ws.path(),
        &[
            "--provider",
            "existing",
            "--kubeconfig",
            "kube.yaml",
            "--context",
            "alpha",
            "status",
        ],
    );
    assert!(!stderr_of(&out).contains(REFUSED), "{}", stderr_of(&out));
}

#[test]
fn a_spec_that_names_a_privileged_or_node_image_needs_the_users_word() {
    let ws = tempfile::tempdir().expect("tempdir");
    let kind = fake_kind(ws.path(), "v0.29.0");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: imgs\n\
         cluster: { kind: { nodeImage: example.invalid/node:1 } }\n\
         images: { dind: example.invalid/dind:1 }\n",
    )
    .expect("spec");
    let kind = kind.to_str().expect("utf8");
    for command in ["up", "down", "status"] {
        let out = run(ws.path(), &[command, "--kind", kind]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("asks for cluster.kind.nodeImage, images.dind,")
                && err.contains("example.invalid/dind:1")
                && err.contains("privileged")
                && err.contains("--trust-spec"),
            "{command}: {err}"
        );
        assert!(!ws.path().join(".fabdev").exists(), "{command} wrote state");
    }
    // Without the spec's images there is nothing to ask.
    let plain = tempfile::tempdir().expect("plain");
    let out = run(plain.path(), &["status", "--kind", kind]);
    assert!(!stderr_of(&out).contains(REFUSED), "{}", stderr_of(&out));

    let out = run(ws.path(), &["--trust-spec", "-q", "status", "--kind", kind]);
    assert!(!stderr_of(&out).contains(REFUSED), "{}", stderr_of(&out));
    let record = std::fs::read_to_string(ws.path().join(RECORD)).expect("record");
    assert!(record.contains("example.invalid/node:1"), "{record}");
    // A new DinD image is asked again.
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: imgs\n\
         cluster: { kind: { nodeImage: example.invalid/node:1 } }\n\
         images: { dind: example.invalid/dind:2 }\n",
    )
    .expect("spec");
    let out = run(ws.path(), &["status", "--kind", kind]);
    let err = stderr_of(&out);
    assert!(err.contains("asks for images.dind,"), "{err}");
}

/// On a terminal fabdev asks, once: `n` (or anything but yes) refuses and
/// writes nothing, `y` records. The terminal is util-linux's `script`.
#[test]
fn on_a_terminal_fabdev_asks_and_records_a_yes() {
    let ws = tempfile::tempdir().expect("tempdir");
    let kind = fake_kind(ws.path(), "v0.29.0");
    std::fs::write(
        ws.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: tty\nimages: { dind: example.invalid/dind:1 }\n",
    )
    .expect("spec");
    let on_a_terminal = |answer: &str| {
        let line = format!(
            "{} -w {} status --kind {}",
            env!("CARGO_BIN_EXE_fabdev"),
            ws.path().display(),
            kind.display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(format!("{answer}\n").as_bytes())?;
                child.wait_with_output()
            })
            .expect("util-linux script");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    };
    let (code, text) = on_a_terminal("n");
    assert!(
        text.contains("Trust these choices for this workspace? [y/N]"),
        "{text}"
    );
    assert!(text.contains(REFUSED), "{text}");
    assert_eq!(code, Some(2), "{text}");
    assert!(!ws.path().join(".fabdev").exists(), "{text}");
    let (code, text) = on_a_terminal("y");
    assert!(text.contains("trusted: recorded"), "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert!(ws.path().join(RECORD).is_file(), "{text}");
    // Not asked again.
    let (_, text) = on_a_terminal("");
    assert!(!text.contains("Trust these choices"), "{text}");
}
