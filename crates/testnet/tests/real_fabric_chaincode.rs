//! Chaincode end to end on real peers, each with its own DinD-shaped
//! dockerd: fabdev packages the fixture chaincode, installs it on every peer
//! of two orgs (each peer's daemon builds and runs it), approves, commits,
//! invokes through one org and queries through the other. Needs the
//! builder images in the host's Docker (scripts/make-builder-images.sh).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chaincode::lifecycle::{self, Caller, DeploySpec};
use chaincode::package::{PackageOptions, package_dir};
use network::Workspace;
use testnet::{FabricHome, Options, TestNetwork};

fn fabric() -> FabricHome {
    FabricHome::find()
        .unwrap_or_else(|e| panic!("real_fabric tests were built with Fabric binaries, but: {e}"))
}

fn workspace(fabric: &FabricHome, port_base: u16) -> Workspace {
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: cc\nhostPortBase: {port_base}\n\
         fabric: {{ version: \"{}\" }}\n",
        fabric.two_digit_version()
    );
    Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new(".")).expect("spec")
}

fn spec(dir: &Path, label: &str) -> DeploySpec {
    let pkg = package_dir(
        dir,
        &PackageOptions {
            label: Some(label.to_string()),
            lang: None,
        },
    )
    .expect("package");
    DeploySpec {
        name: "basic".into(),
        channel: "mychannel".into(),
        package: pkg.bytes,
        package_id: pkg.id,
        init_required: false,
    }
}

fn caller(org: &str) -> Caller {
    Caller {
        org: org.into(),
        user: "User1".into(),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_node_chaincode_deploy_invoke_query_upgrade() {
    network::channel::install_crypto_provider();
    let fabric = fabric();
    let opts = Options {
        dind: true,
        ready_timeout: Duration::from_secs(120),
        ..Options::default()
    };
    let net = TestNetwork::start(workspace(&fabric, 31600), opts)
        .await
        .expect("network");
    net.create_channel("mychannel").await.expect("channel");
    net.seed_images(&net.builder_images())
        .await
        .expect("builder images (scripts/make-builder-images.sh)");
    let (ws, topo, crypto, eps) = (
        net.workspace(),
        net.topology(),
        net.crypto(),
        net.endpoints(),
    );

    // A copy of the fixture, so that the upgrade can change a line.
    let src = tempfile::tempdir().expect("tempdir");
    copy_tree(Path::new("../../fixtures/chaincode/node"), src.path());

    let first = spec(src.path(), "basic_1");
    let mut events = Vec::new();
    let report = lifecycle::deploy(ws, topo, crypto, &eps, &first, &mut |e| events.push(e))
        .await
        .unwrap_or_else(|e| panic!("deploy: {e}\n{}", net.all_logs()));
    assert_eq!(report.sequence, 1, "{events:?}");
    assert_eq!(report.installed.len(), 2, "{report:?}");
    assert_eq!(report.approved, ["Org1", "Org2"]);
    assert!(report.committed);

    // Invoke through Org1, query through Org2.
    let args: Vec<String> = ["asset1", "blue", "5", "Tom", "300"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tx = lifecycle::invoke(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org1"),
        "mychannel",
        "basic",
        "CreateAsset",
        &args,
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("invoke: {e}"));
    assert!(!tx.transaction_id.is_empty());
    let got = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "ReadAsset",
        &["asset1".to_string()],
    )
    .await
    .unwrap_or_else(|e| panic!("query: {e}"));
    let asset: serde_json::Value = serde_json::from_slice(&got).expect("JSON asset");
    assert_eq!(asset["Owner"], "Tom", "{asset}");

    // The chaincode runs in each peer's own daemon.
    for peer in ["peer0-org1", "peer0-org2"] {
        let socket = net.dind_socket(peer).expect("socket");
        let out = std::process::Command::new("docker")
            .arg(format!("--host=unix://{}", socket.display()))
            .args(["ps", "--format", "{{.Names}}"])
            .output()
            .expect("docker ps");
        let names = String::from_utf8_lossy(&out.stdout);
        assert!(
            names.contains(peer) && names.contains("basic_1"),
            "{peer}'s daemon runs: {names}"
        );
    }

    // Again, unchanged: nothing installed, approved or committed.
    let again = lifecycle::deploy(ws, topo, crypto, &eps, &first, &mut |_| {})
        .await
        .expect("again");
    assert!(again.unchanged(), "{again:?}");
    assert_eq!(again.sequence, 1);

    // One line changed: sequence 2, and the new code answers.
    let file = src.path().join("lib/assetTransfer.js");
    let code = std::fs::read_to_string(&file).expect("read");
    let changed = code.replace(
        "async AssetExists(ctx, id) {",
        "async Version(ctx) {\n        return 'two';\n    }\n\n    async AssetExists(ctx, id) {",
    );
    assert_ne!(code, changed);
    std::fs::write(&file, changed).expect("write");
    let second = spec(src.path(), "basic_1");
    assert_ne!(second.package_id, first.package_id);
    let up = lifecycle::deploy(ws, topo, crypto, &eps, &second, &mut |_| {})
        .await
        .expect("upgrade");
    assert_eq!(up.sequence, 2, "{up:?}");
    let v = lifecycle::query(
        ws,
        topo,
        crypto,
        &eps,
        &caller("Org2"),
        "mychannel",
        "basic",
        "Version",
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("query new code: {e}"));
    assert_eq!(String::from_utf8_lossy(&v), "two");
}
