use super::rules::parse_fabric_version;
use super::*;

fn parse(text: &str) -> Result<Workspace, SpecError> {
    Workspace::parse(text, Path::new("fabdev.yaml"), Path::new("."))
}

#[test]
fn init_template_is_the_default_network() {
    let ws = parse(INIT_TEMPLATE).expect("template parses");
    assert_eq!(ws, Workspace::default_network());
}

#[test]
fn minimal_file_gets_defaults() {
    let ws = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\n").expect("parses");
    assert_eq!(ws, Workspace::default_network());
}

#[test]
fn an_image_starting_with_a_dash_is_refused() {
    let err =
        parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\nimages:\n  dind: \"--privileged\"\n")
            .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("images.dind"), "{text}");
    assert!(text.contains("is not an image reference"), "{text}");
}

#[test]
fn unknown_field_is_rejected_with_its_line() {
    let err = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\norgz: []\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("fabdev.yaml:3"), "{text}");
    assert!(text.contains("orgz"), "{text}");
}

#[test]
fn type_errors_name_the_field() {
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - name: Org1\n    peers: two\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("fabdev.yaml:5:12: field `peers`: "),
        "{err}"
    );
}

#[test]
fn rules() {
    assert!(check_channel_name("mychannel").is_ok());
    assert!(check_channel_name("my.chan-1").is_ok());
    assert!(check_channel_name("MyChannel").is_err());
    assert!(check_channel_name("1chan").is_err());
    assert!(check_channel_name(&"a".repeat(250)).is_err());
    assert!(check_chaincode_name("asset-transfer_2").is_ok());
    assert!(check_chaincode_name("bad--name").is_err());
    assert!(check_chaincode_name("-x").is_err());
    assert!(check_chaincode_version("1.0+build_1-x").is_ok());
    assert!(check_chaincode_version("1 0").is_err());
    assert!(check_label("basic_1.0").is_ok());
    assert!(check_label("_basic").is_err());
    assert!(check_label("basic:1").is_err());
    assert!(check_dns_label("fabdev", 40).is_ok());
    assert!(check_dns_label("Fabdev", 40).is_err());
    assert!(check_dns_label("fab-", 40).is_err());
    assert!(check_dns_label(&"a".repeat(41), 40).is_err());
    assert!(check_org_name("Org1").is_ok());
    assert!(check_org_name("Org_1").is_err());
    assert!(check_org_name("1Org").is_err());
}

#[test]
fn fabric_versions() {
    assert_eq!(
        parse_fabric_version("2.5").map(|v| v.two_digit()),
        Ok("2.5".into())
    );
    assert_eq!(
        parse_fabric_version("3.1.1").map(|v| v.two_digit()),
        Ok("3.1".into())
    );
    assert!(parse_fabric_version("2.4").is_err());
    assert!(parse_fabric_version("latest").is_err());
    let v3 = parse_fabric_version("3.1").expect("3.1");
    let images = Images::for_version(&v3);
    // Pinned to exact releases, never the floating `3.1` / `2.5` tags.
    assert_eq!(images.ccenv, "hyperledger/fabric-ccenv:3.1.5");
    assert_eq!(images.baseos, "hyperledger/fabric-baseos:3.1.5");
    assert_eq!(images.nodeenv, "hyperledger/fabric-nodeenv:2.5.8");
    let patch = Images::for_version(&parse_fabric_version("2.5.10").expect("2.5.10"));
    assert_eq!(patch.ccenv, "hyperledger/fabric-ccenv:2.5.10");
    assert_eq!(patch.peer, "hyperledger/fabric-peer:2.5.10");
}

#[test]
fn cluster_defaults_to_kind_and_reads_existing() {
    let ws = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\n").expect("parses");
    assert_eq!(ws.cluster, ClusterSpec::default());
    assert_eq!(ws.cluster.provider, Provider::Kind);
    let ws = Workspace::parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: existing\n  kubeconfig: conf/shared.yaml\n  context: team-dev\n",
        Path::new("/ws/fabdev.yaml"),
        Path::new("/ws"),
    )
    .expect("parses");
    assert_eq!(
        ws.cluster,
        ClusterSpec {
            provider: Provider::Existing,
            kubeconfig: Some(PathBuf::from("/ws/conf/shared.yaml")),
            context: Some("team-dev".into()),
            kind: KindSpec::default(),
        }
    );
    // An absolute kubeconfig stays as written; both may be left out.
    let ws = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: existing, kubeconfig: /etc/k.yaml }\n",
    )
    .expect("parses");
    assert_eq!(ws.cluster.kubeconfig, Some(PathBuf::from("/etc/k.yaml")));
    assert_eq!(ws.cluster.context, None);
    let ws = parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster: { provider: kind }\n")
        .expect("parses");
    assert_eq!(ws, Workspace::default_network());
}

#[test]
fn kind_provider_and_node_image() {
    let ws = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  kind: { provider: podman, nodeImage: fabdev.invalid/kind-node:v1.37.2 }\n",
    )
    .unwrap();
    assert_eq!(ws.cluster.provider, Provider::Kind);
    assert_eq!(
        ws.cluster.kind,
        KindSpec {
            provider: Some(cluster::provider::NodeProvider::Podman),
            node_image: Some("fabdev.invalid/kind-node:v1.37.2".into()),
        }
    );
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  kind: { provider: nerdctl }\n",
    )
    .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.field, "cluster.kind.provider");
    assert_eq!(p.pos.map(|p| p.line), Some(4));
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: existing\n  kind: { provider: docker }\n",
    )
    .unwrap_err();
    assert_eq!(err.problems()[0].field, "cluster.kind");
    assert!(
        parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  kind: { image: x }\n")
            .is_err()
    );
}

#[test]
fn cluster_problems_name_field_and_line() {
    let err =
        parse("apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: minikube\n")
            .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.field, "cluster.provider");
    assert_eq!(p.pos.map(|p| p.line), Some(4));
    assert!(
        p.message.contains("minikube") && p.hint.contains("existing"),
        "{p:?}"
    );
    // kubeconfig and context belong to `existing`; an empty one is wrong too.
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  kubeconfig: k.yaml\n  context: \"\"\n",
    )
    .unwrap_err();
    let found: Vec<(&str, Option<u64>)> = err
        .problems()
        .iter()
        .map(|p| (p.field.as_str(), p.pos.map(|p| p.line)))
        .collect();
    assert_eq!(
        found,
        [
            ("cluster.kubeconfig", Some(4)),
            ("cluster.context", Some(5)),
            ("cluster.context", Some(5))
        ]
    );
    // Unknown fields under `cluster` are refused with their line.
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\ncluster:\n  provider: existing\n  namespace: x\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("fabdev.yaml:5") && err.contains("namespace"),
        "{err}"
    );
}

#[test]
fn collects_every_problem() {
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - name: Org1\n  - name: org1\nchannels:\n  - name: Bad\n    orgs: [Org3]\n",
    )
    .unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["orgs[1].name", "channels[0].name", "channels[0].orgs[0]"]
    );
    assert_eq!(
        err.problems()[0].pos,
        Some(Pos {
            line: 5,
            column: 11
        })
    );
}

/// A collections file is a regular file inside the workspace: a device
/// (`/dev/zero`, which a read never ends), a FIFO, or a file outside (a
/// link out, or an absolute path) is refused, without hanging.
#[test]
fn a_collections_file_is_a_regular_file_inside_the_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("cc")).unwrap();
    std::fs::write(ws.join("cc/go.mod"), "module x\n").unwrap();
    std::fs::write(tmp.path().join("outside.json"), "[]").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside.json"), ws.join("out.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", ws.join("zero.json")).unwrap();
    let fifo = ws.join("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let spec = |file: &str| {
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: w\nchaincodes:\n  - name: cc\n    path: cc\n    collections: {file}\n"
        )
    };
    for (file, says) in [
        ("/dev/zero", "is outside the workspace"),
        ("zero.json", "is outside the workspace"),
        ("out.json", "is outside the workspace"),
        ("fifo.json", "is not a regular file"),
    ] {
        let e = Workspace::parse(&spec(file), &ws.join("fabdev.yaml"), &ws).expect_err("refused");
        assert!(e.to_string().contains(says), "{file}: {e}");
    }
}

#[test]
fn batch_size_is_read_with_defaults_for_fields_left_out() {
    let ws = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric:\n  batchSize:\n    maxMessageCount: 500\n",
    )
    .expect("parses");
    assert_eq!(
        ws.batch_size,
        BatchSize {
            max_message_count: 500,
            ..BatchSize::default()
        }
    );
}

#[test]
fn batch_size_problems_name_file_field_line_and_fix() {
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric:\n  batchSize:\n    maxMessageCount: 0\n    absoluteMaxBytes: 1048576\n    preferredMaxBytes: 2097152\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("fabdev.yaml"), "{err}");
    assert!(err.contains("fabric.batchSize.maxMessageCount"), "{err}");
    assert!(err.contains("maxMessageCount is 0"), "{err}");
    assert!(err.contains(":7:"), "the preferred size's line: {err}");
    assert!(
        err.contains("preferredMaxBytes 2097152 is greater than absoluteMaxBytes 1048576"),
        "{err}"
    );
    assert!(err.contains("at most absoluteMaxBytes"), "{err}");
    let big = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric: { batchSize: { absoluteMaxBytes: 200000000 } }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(big.contains("fabric.batchSize.absoluteMaxBytes"), "{big}");
    assert!(big.contains("one gRPC message"), "{big}");
    let unknown = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric: { batchSize: { maxMessages: 5 } }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("maxMessages"), "{unknown}");
}

#[test]
fn anchor_peers_default_to_peer0_and_follow_the_list() {
    let ws = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - { name: Org1, peers: 3, anchorPeers: [peer2, peer0] }\n  - { name: Org2, peers: 2 }\n  - { name: Org3, anchorPeers: [] }\n",
    )
    .expect("parses");
    let anchors: Vec<&[u32]> = ws.orgs.iter().map(|o| o.anchor_peers.as_slice()).collect();
    assert_eq!(anchors, [&[2, 0][..], &[0][..], &[][..]]);
    assert_eq!(
        Workspace::default_network().orgs[0].anchor_peers,
        PeerOrg::default_anchor_peers()
    );
}

#[test]
fn anchor_peer_problems_name_file_field_line_and_fix() {
    let err = parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\norgs:\n  - name: Org1\n    peers: 2\n    anchorPeers:\n      - peer2\n      - peer0\n      - peer0\n      - leader\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("fabdev.yaml"), "{err}");
    assert!(err.contains("orgs[0].anchorPeers[0]"), "{err}");
    assert!(err.contains(":7:"), "peer2's line: {err}");
    assert!(
        err.contains("anchor peer peer2 is not one of the org's 2 peers (peer0..peer1)"),
        "{err}"
    );
    assert!(err.contains("orgs[0].anchorPeers[2]"), "{err}");
    assert!(err.contains("anchor peer peer0 is listed twice"), "{err}");
    assert!(err.contains("orgs[0].anchorPeers[3]"), "{err}");
    assert!(
        err.contains("\"leader\" is not a peer name of the form peer<N>"),
        "{err}"
    );
    assert!(err.contains("e.g. `anchorPeers: [peer0]`"), "{err}");
    assert!(
        !err.contains("orgs[0].anchorPeers[1]"),
        "peer0 the first time is fine: {err}"
    );
}
