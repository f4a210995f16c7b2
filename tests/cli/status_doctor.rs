//! `status` and `doctor` with a fake kind.

use super::*;

#[test]
fn status_reports_its_steps_and_then_the_status_as_json_lines() {
    let ws = tempfile::tempdir().expect("tempdir");
    // A fake kind that knows no clusters.
    let kind = fake_kind(ws.path(), "v0.33.0");
    let (out, events) = json_run(ws.path(), &kind, "status");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let done: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step_done")
        .map(|e| e["step"].as_str().expect("step"))
        .collect();
    assert_eq!(
        done,
        ["workspace", "kind cluster fabdev", "pods", "channels"]
    );
    let status = events.last().expect("events");
    assert_eq!(status["event"], "status");
    assert_eq!(status["cluster_exists"], false);
    assert_eq!(status["nodes"].as_array().expect("nodes").len(), 3);
    assert_eq!(status["nodes"][0]["channels"]["Err"], "no cluster");

    // In text, the status goes to stdout and the steps to stderr; `-q`
    // leaves the status alone.
    let out = with_kind(ws.path(), &kind, &["-q", "status"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(
        stdout.starts_with("workspace fabdev: kind cluster does not exist\n"),
        "{stdout}"
    );
    assert_eq!(stderr_of(&out), "", "-q prints no steps");
}

#[test]
fn doctor_reports_every_check_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kind = dir.path().join("kind");
    std::fs::write(
        &kind,
        "#!/bin/sh\necho 'kind v0.29.0 go1.24.2 linux/amd64'\n",
    )
    .expect("fake kind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kind, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = fabdev()
        .current_dir(dir.path())
        .env("KIND_EXPERIMENTAL_PROVIDER", "docker")
        .args(["doctor", "-o", "json", "--kind"])
        .arg(&kind)
        .output()
        .expect("run");
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let checks: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    // kind's node provider comes first; the engine's own checks (docker…
    // or podman…) differ by host; the rest keep a fixed order.
    assert_eq!(names.first(), Some(&"provider"), "{stdout}");
    let rest: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.starts_with("docker") && !n.starts_with("podman"))
        .collect();
    assert_eq!(
        rest,
        [
            "provider", "fabric", "dind", "kind", "kubectl", "cpu", "memory", "inotify", "ports"
        ],
        "{stdout}"
    );
    let check = |n: &str| checks.iter().find(|c| c["name"] == n).expect("check");
    // The exact Fabric release the images run (spec::FABRIC_RELEASES).
    assert_eq!(
        check("fabric")["detail"],
        "2.5 runs Fabric 2.5.14 (hyperledger/fabric-peer:2.5.14, hyperledger/fabric-orderer:2.5.14)"
    );
    let verdict = |n: &str| check(n)["verdict"].clone();
    assert_eq!(verdict("kind"), "ok", "{stdout}");
    assert!(
        check("kind")["detail"]
            .as_str()
            .expect("detail")
            .starts_with("v0.29.0")
    );
    // The test setup (scripts/test.sh) starts Docker: doctor must see it.
    assert_eq!(verdict("docker"), "ok", "{stdout}");
    // Exit code follows the verdicts: 0 unless a check failed.
    let failed = checks.iter().any(|c| c["verdict"] == "fail");
    assert_eq!(out.status.success(), !failed, "{stdout}");
}

#[test]
fn doctor_without_kind_fails_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = without_kind(fabdev().current_dir(dir.path()), dir.path())
        .env("PATH", "/nonexistent")
        .arg("doctor")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(stdout.contains("✗ kind"), "{stdout}");
    assert!(stdout.contains("--kind PATH"), "{stdout}");
    assert!(
        stdout.contains("go install sigs.k8s.io/kind@v0.33.0"),
        "{stdout}"
    );
    // Other checks may fail on this host too (the provider, Docker's
    // --privileged, busy ports): kind must be among the problems named.
    let stderr = stderr_of(&out);
    let problems = stderr
        .lines()
        .find_map(|l| l.split("doctor found problems: ").nth(1))
        .unwrap_or_default();
    assert!(problems.split(", ").any(|p| p.trim() == "kind"), "{stderr}");

    // `go install sigs.k8s.io/kind@…` puts kind in ~/go/bin, often not on PATH:
    // fabdev looks there too.
    let go_bin = dir.path().join("go/bin");
    std::fs::create_dir_all(&go_bin).expect("go/bin");
    let kind = fake_kind(&go_bin, "v0.33.0");
    let out = without_kind(fabdev().current_dir(dir.path()), dir.path())
        .env("PATH", "/nonexistent")
        .args(["doctor", "-o", "json"])
        .output()
        .expect("run");
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(
        stdout.contains(&format!("v0.33.0 at {}", kind.display())),
        "{stdout}"
    );
}
