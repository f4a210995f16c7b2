use super::*;

#[test]
fn snapshotter_from_containerd_1_config() {
    let cfg = "version = 2\nroot = \"/var/lib/containerd\"\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    sandbox_image = \"registry.k8s.io/pause:3.10\"\n    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n      default_runtime_name = \"runc\"\n      snapshotter = \"overlayfs\"\n";
    assert_eq!(parse_snapshotter(cfg).unwrap(), "overlayfs");
}

#[test]
fn snapshotter_from_containerd_2_config() {
    let cfg = "version = 3\n[plugins.'io.containerd.cri.v1.images']\n  snapshotter = 'native'\n";
    assert_eq!(parse_snapshotter(cfg).unwrap(), "native");
}

#[test]
fn snapshotter_errors_say_what_is_missing() {
    assert_eq!(
        parse_snapshotter("root = '/x'\n").unwrap_err(),
        "the config has no version"
    );
    assert_eq!(
        parse_snapshotter("version = 1\n").unwrap_err(),
        "config version 1 is not one of 2, 3 or 4"
    );
    assert_eq!(
        parse_snapshotter("version = 2\n[plugins]\n").unwrap_err(),
        "config version 2 sets no plugins.io.containerd.grpc.v1.cri.containerd.snapshotter"
    );
    assert!(
        parse_snapshotter("version = [")
            .unwrap_err()
            .starts_with("the config does not parse")
    );
}

#[test]
fn references_as_the_cri_names_them() {
    for (given, want) in [
        ("docker:28.5.1-dind", "docker.io/library/docker:28.5.1-dind"),
        ("busybox", "docker.io/library/busybox:latest"),
        (
            "hyperledger/fabric-peer:2.5.14",
            "docker.io/hyperledger/fabric-peer:2.5.14",
        ),
        (
            "fabdev.invalid/standin-fabric-peer:2",
            "fabdev.invalid/standin-fabric-peer:2",
        ),
        ("localhost/x:1", "localhost/x:1"),
        ("registry:5000/x", "registry:5000/x:latest"),
        ("x@sha256:abc", "docker.io/library/x@sha256:abc"),
    ] {
        assert_eq!(normalized_reference(given), want, "{given}");
    }
    let out = br#"{"status": {"id": "sha256:abc", "repoTags": ["localhost/docker:28.5.1-dind"]}}"#;
    assert_eq!(parse_repo_tags(out), ["localhost/docker:28.5.1-dind"]);
    assert!(parse_repo_tags(b"{}").is_empty());
}

#[test]
fn inspecti_output() {
    let out = br#"{"status": {"id": "sha256:abc", "repoTags": ["docker.io/x:1"]}, "info": {}}"#;
    assert_eq!(parse_inspecti(out).as_deref(), Some("sha256:abc"));
    assert_eq!(parse_inspecti(b"not json"), None);
}

#[test]
fn commands_can_be_pasted() {
    assert_eq!(
        pasteable("kt-control-plane", &import_command("overlayfs")),
        "docker exec -i kt-control-plane ctr --namespace=k8s.io images import \
             --all-platforms --digests --snapshotter=overlayfs -"
    );
    let cmd = vec!["crictl".to_string(), "inspecti".into(), "it's".into()];
    assert_eq!(
        pasteable("n", &cmd),
        r"docker exec n crictl inspecti 'it'\''s'"
    );
}

#[test]
fn labels_name_the_nodes() {
    assert_eq!(node_label(&["a".into()]), "kind node a");
    assert_eq!(node_label(&["a".into(), "b".into()]), "kind nodes a, b");
}
