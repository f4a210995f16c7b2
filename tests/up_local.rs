#![allow(clippy::unwrap_used)]
//! `fabdev::flow::up`, `status` and `down` run for real as far as this
//! machine allows, without kind's node image or Fabric's images:
//!
//! - Kubernetes is a real etcd, kube-apiserver and kube-controller-manager
//!   (testkit::apiserver, from scripts/setup/kube.sh);
//!   there is no kubelet and no scheduler, so this test plays the kubelet: it
//!   registers the node and marks pods Ready, nothing more.
//! - The kind node is the stand-in of testkit::kindnode:
//!   a container with kind's labels running a real containerd, into which
//!   `up` loads the images for real.
//! - `kind` is a small script: `create` hands out the API server's kubeconfig,
//!   `get clusters` lists the cluster once created, `delete` forgets it.
//! - The images are tiny local ones under the spec's image names.
//!
//! The first `up` creates the cluster, loads the images into the node,
//! applies every object and waits for every pod; it then stops at seeding
//! the peers' DinD, which needs a kubelet's port-forward. The second `up`
//! finds everything in place and changes nothing up to the same point.

use std::path::Path;
use std::time::Duration;

use fabdev::events::{ClusterState, Event, EventKind};
use fabdev::flow::{self, Options};
use testkit::apiserver::ApiServer;
use testkit::dockerd::{self, chain, host};
use testkit::kindnode::KindNode;
use testkit::kubelet::{FakeKubelet, register_node};
use testkit::outcome::{outcome, status_without_fabric, up_stopping_at};

/// The fake kind: a shell script that records its calls in `calls.log`.
fn fake_kind(dir: &Path, cluster: &str, kubeconfig: &Path) -> std::path::PathBuf {
    let kind = dir.join("kind");
    let created = dir.join("created");
    let script = format!(
        r#"#!/bin/sh
echo "$@" >> {calls}
# the value after --kubeconfig, if any
out=""; prev=""
for a in "$@"; do [ "$prev" = "--kubeconfig" ] && out="$a"; prev="$a"; done
case "$1 $2" in
  "version "*) echo 'kind v0.33.0 go1.26.8 linux/amd64' ;;
  "get clusters") if [ -f {created} ]; then echo {cluster}; fi ;;
  "create cluster") cat >/dev/null; touch {created}; cp {kubeconfig} "$out" ;;
  "export kubeconfig") cp {kubeconfig} "$out" ;;
  "delete cluster") rm -f {created} ;;
  *) echo "fake kind: unexpected $*" >&2; exit 1 ;;
esac
"#,
        calls = dir.join("calls.log").display(),
        created = created.display(),
        kubeconfig = kubeconfig.display(),
    );
    std::fs::write(&kind, script).unwrap();
    testkit::make_executable(&kind);
    kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_twice_then_status_and_down_against_a_real_api_server_and_containerd() {
    let host = host().await;
    let api = ApiServer::start().await;
    let client = api.client().await;
    let cluster = format!("upl{}", std::process::id());

    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    let kind = fake_kind(dir.path(), &cluster, api.kubeconfig());

    // One tiny local image under every name the spec asks for.
    let base = dockerd::HostImage::new(&host, "up-local", 64 * 1024).await;
    let names = [
        "orderer", "peer", "dind", "ccenv", "baseos", "nodeenv", "couchdb",
    ];
    let image = |what: &str| dockerd::test_image("up", what);
    base.tag_each("up", &names);
    let images_yaml: Vec<String> = names.iter().map(|w| format!("{w}: {}", image(w))).collect();
    std::fs::write(
        ws.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {cluster}\nimages: {{ {} }}\n{}",
            images_yaml.join(", "),
            testkit::declared_chaincodes(&ws, "mychannel", &["node"]),
        ),
    )
    .unwrap();

    let node = KindNode::start(&host, &cluster, "control-plane").await;
    register_node(&client, &node.name).await;
    let kubelet = FakeKubelet::start(client.clone(), &cluster);

    let mut opts = Options::new(&ws);
    opts.kind = Some(kind.clone());
    opts.wait_timeout = Duration::from_secs(90);
    let dind_step = "builder images in every peer's DinD";

    let node_images: Vec<String> = ["orderer", "peer", "dind"].map(image).to_vec();

    // First up: everything is made.
    // (The DinD step needs a kubelet's exec.)
    let o = up_stopping_at(&opts, dind_step).await;
    // The refused exec is reported with the API server's reason and the
    // command as a pasteable kubectl line.
    assert!(
        o.failed[dind_step].contains("dind of peer0-org1 (container dind of pod peer0-org1-0)")
            && o.failed[dind_step].contains("exec peer0-org1-0 -c dind -- docker image inspect")
            && o.failed[dind_step].contains("does not have a host assigned"),
        "{o:#?}"
    );
    assert_eq!(o.cluster_state(), Some(ClusterState::Created), "{o:#?}");
    assert_eq!(o.node_images, Some((node_images.clone(), vec![])));
    assert_eq!(o.applied, Some((16, 16)));
    assert_eq!(o.pods_ready, Some(3));
    for what in ["orderer", "peer", "dind"] {
        assert_eq!(
            node.image_id(&image(what)).as_deref(),
            Some(base.id.as_str()),
            "{what} in the node's containerd"
        );
    }
    assert!(ws.join(".fabdev/kubeconfig").is_file());
    assert!(!ws.join(".fabdev/cluster-creating").exists());

    // Second up: nothing to create, load or change.
    let o = up_stopping_at(&opts, dind_step).await;
    assert_eq!(o.cluster_state(), Some(ClusterState::Exists));
    assert_eq!(o.node_images, Some((vec![], node_images.clone())));
    assert_eq!(o.applied, Some((16, 0)));
    assert_eq!(o.pods_ready, Some(3));

    // status: the cluster and every pod Ready; channels cannot be read
    // (no Fabric behind the pods), and each node says why. The status
    // goes out as a typed event too.
    let (st, events) = status_without_fabric(&opts, 3).await;
    assert_eq!(
        events.last().map(|e| &e.kind),
        Some(&EventKind::Status(st.clone()))
    );

    assert!(kubelet.stop().await >= 3);

    // down: kind deletes the cluster; the kubeconfig goes, the crypto stays.
    let mut events: Vec<Event> = Vec::new();
    flow::down(&opts, false, false, &mut events)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(
        outcome(&events).cluster_state(),
        Some(ClusterState::Deleted)
    );
    assert!(!ws.join(".fabdev/kubeconfig").exists());
    assert!(ws.join(".fabdev/crypto").is_dir());
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.starts_with("create cluster"))
            .count(),
        1,
        "{calls}"
    );

    for what in names {
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image(what)])
            .output();
    }
}
