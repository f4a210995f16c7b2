//! The rendered objects of every valid fixture spec pass
//! `kubernetes-validate --strict` for Kubernetes 1.31 and the newest version
//! the installed validator knows (scripts/check/validate-manifests.sh). The
//! validator is a PyPI package that `scripts/test.sh` installs; this test
//! fails, never skips, when it is missing.

use std::path::PathBuf;
use std::process::Command;

use testkit::repo;

#[test]
fn rendered_manifests_of_every_valid_fixture_pass_kubernetes_validate() {
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "kubernetes-validate is not installed: run scripts/test.sh (it installs it), or `pip install kubernetes-validate`"
    );
    let specs_dir = repo().join("fixtures/specs");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&specs_dir)
        .expect("specs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 3);
    for spec in specs {
        let ws = tempfile::tempdir().expect("tempdir");
        let out = ws.path().join("out");
        let status = Command::new(env!("CARGO_BIN_EXE_fabdev"))
            .arg("-q")
            .arg("-w")
            .arg(ws.path())
            .arg("--spec")
            .arg(&spec)
            .arg("render")
            .arg("--out")
            .arg(&out)
            .status()
            .expect("run fabdev");
        assert!(status.success(), "render {}", spec.display());
        let result = Command::new("bash")
            .arg(repo().join("scripts/check/validate-manifests.sh"))
            .arg(out.join("manifests"))
            .output()
            .expect("run validate-manifests.sh");
        assert!(
            result.status.success(),
            "{}:\n{}\n{}",
            spec.display(),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
}
