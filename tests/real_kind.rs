#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `fabdev up` on a REAL kind cluster: kind v0.33.0 with podman as its node
//! provider and the offline node image of scripts/setup/kind-node-image.sh
//! (kindest/node cannot be pulled here, and Docker cannot grant
//! `--privileged` on this machine: see `fabdev doctor`).
//!
//! - `real_kind_up_stand_ins` (CI): with the stand-in peer and orderer
//!   images and the DinD stand-in of scripts/setup/node-images.sh, put into
//!   podman through its Docker-compatible API:
//!   - an `up` killed while kind creates the cluster is completed by the
//!     next `up` (the cluster is made again);
//!   - that `up` creates the cluster from fabdev's own kind config (with the
//!     offline image's kubeadm patches), loads the images into the node's
//!     containerd, gets every pod Ready, seeds the builder images into the
//!     DinD sidecar, and stops where real Fabric is needed (the channel
//!     joins), saying so;
//!   - every host port mapping answers on 127.0.0.1 (the peer's and the
//!     orderer's NodePorts through kind's port mappings);
//!   - a second `up` changes nothing; `status` lists every pod Ready;
//!   - `down` deletes the cluster and leaves no container, network, volume
//!     or iptables chain behind, and the host's Docker keeps its FORWARD
//!     policy and chains.
//! - `real_kind_real_fabric_chaincode` (locally, with FABRIC_HOME and the
//!   images scripts/setup/node-images.sh makes from it): the same with real
//!   Fabric and the Node chaincode fixture, all through `fabdev up`, then
//!   `invoke`, `query` and `chaincode logs` through the host ports.
//!
//! Needs root, kind, podman set up as `fabdev doctor` says, the node image
//! and the images above; without them the tests are reported ignored, saying
//! why (crates/fabdev/build.rs), unless FABDEV_REQUIRE_REAL_KIND=1 (set by
//! scripts/test.sh), under which a missing piece fails them.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::images::Daemon;
use cluster::provider::{self, NodeProvider};
use fabdev::flow::{self, Options};
use testkit::outcome::outcome;

/// The node image of scripts/setup/kind-node-image.sh.
const NODE_IMAGE: &str = "fabdev.invalid/kind-node:v1.37.2";
const PEER_STANDIN: &str = "fabdev.invalid/standin-fabric-peer:2";
const ORDERER_STANDIN: &str = "fabdev.invalid/standin-fabric-orderer:2";
const DIND_STANDIN: &str = testkit::probe::DIND_STANDIN_IMAGE;
/// Host ports of the stand-in network (NodePorts, so 30000-32767); away
/// from the default 30000 that a user's network or another test may hold.
const HOST_PORT_BASE: u16 = 31400;

/// Fails naming what is missing (the build script let the test run, so
/// FABDEV_REQUIRE_REAL_KIND=1 is set or everything seemed there).
fn require(what: &str, ok: bool, fix: &str) {
    assert!(ok, "real kind: {what} is missing: {fix}");
}

fn kind_bin() -> PathBuf {
    cluster::kind::find_kind(None).unwrap_or_else(|e| panic!("real kind: {e}"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn podman(args: &[&str]) -> String {
    run(Command::new("podman").args(args))
}

/// What podman and the host's netfilter hold that a kind cluster could
/// leave behind: containers, networks, volumes, and iptables chains with
/// the FORWARD policy.
#[derive(Debug, PartialEq, Eq)]
struct HostState {
    containers: BTreeSet<String>,
    networks: BTreeSet<String>,
    volumes: BTreeSet<String>,
    chains: BTreeSet<String>,
    links: BTreeSet<String>,
}

fn host_state() -> HostState {
    let lines = |s: String| -> BTreeSet<String> {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut chains = BTreeSet::new();
    for save in ["iptables-save", "iptables-legacy-save", "ip6tables-save"] {
        let Ok(out) = Command::new(save).output() else {
            continue;
        };
        let mut table = String::new();
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(t) = l.strip_prefix('*') {
                table = t.to_string();
            } else if let Some(c) = l.strip_prefix(':') {
                // ":FORWARD DROP [0:0]": the chain and, for built-in ones,
                // its policy.
                let mut parts = c.split_whitespace();
                let name = parts.next().unwrap_or_default();
                let policy = parts.next().unwrap_or_default();
                // What kind on podman could leave or change: CNI's chains,
                // the built-in chains' policies, and Docker's chains
                // (other tests' chains on a shared host come and go).
                let builtin = policy != "-";
                if name.starts_with("CNI-") || name.starts_with("DOCKER") || builtin {
                    chains.insert(format!("{save} {table} {name} {policy}"));
                }
            }
        }
    }
    let links = lines(run(Command::new("ip").args(["-o", "link", "show"])))
        .into_iter()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_string()))
        .map(|n| n.split('@').next().unwrap_or_default().to_string())
        .filter(|n| n.starts_with("cni") || n.starts_with("podman") || n.starts_with("kind"))
        .collect();
    HostState {
        containers: lines(podman(&["ps", "-a", "--format", "{{.Names}}"])),
        networks: lines(podman(&["network", "ls", "--format", "{{.Name}}"])),
        volumes: lines(podman(&["volume", "ls", "--format", "{{.Name}}"])),
        chains,
        links,
    }
}

/// The stand-in images of scripts/setup/node-images.sh, from the host's
/// Docker into podman (through both Docker-compatible APIs).
async fn standins_into_podman(podman_api: &Daemon) {
    let docker = Daemon::connect_local().unwrap();
    let images: Vec<String> = [PEER_STANDIN, ORDERER_STANDIN, DIND_STANDIN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in &images {
        require(
            &format!("image {i} in the host's Docker"),
            docker.image_id(i).await.ok().flatten().is_some(),
            "run scripts/setup/node-images.sh",
        );
    }
    cluster::images::transfer(&docker, podman_api, &images, &mut |_| {})
        .await
        .expect("stand-ins into podman");
}

/// A workspace of one orderer and one peer on kind with podman and the
/// offline node image.
fn workspace(dir: &Path, name: &str, images: &str, extra: &str) {
    std::fs::write(
        dir.join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {name}\n\
             hostPortBase: {HOST_PORT_BASE}\n\
             cluster: {{ provider: kind, kind: {{ provider: podman, nodeImage: {NODE_IMAGE} }} }}\n\
             images: {{ {images} }}\n\
             orgs:\n  - {{ name: Org1, peers: 1, stateDatabase: leveldb }}\n\
             channels:\n  - {{ name: mychannel, orgs: [Org1] }}\n{extra}"
        ),
    )
    .unwrap();
}

/// The cluster's node containers (kind's label), from podman.
fn node_containers(cluster: &str) -> Vec<String> {
    podman(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=io.x-k8s.kind.cluster={cluster}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// Every host port of the workspace's nodes answers on 127.0.0.1: the
/// operations port with /healthz over HTTPS, the others by accepting a
/// connection.
async fn host_ports_answer(ctx: &flow::Context) -> Vec<(String, u16)> {
    let mut answered = Vec::new();
    for node in &ctx.topo.nodes {
        let hp = &node.host_ports;
        let mut tcp = vec![hp.grpc];
        tcp.extend(hp.admin);
        for port in tcp {
            let s = std::net::TcpStream::connect_timeout(
                &([127, 0, 0, 1], port).into(),
                Duration::from_secs(5),
            );
            assert!(s.is_ok(), "{} 127.0.0.1:{port}: {s:?}", node.name);
            answered.push((node.name.clone(), port));
        }
        let address = format!("127.0.0.1:{}", hp.operations);
        let (status, body) = testnet::operations::healthz(&address)
            .await
            .unwrap_or_else(|e| panic!("{} /healthz on {address}: {e}", node.name));
        assert!(
            status == 200 && body.contains("\"status\":\"OK\""),
            "{} /healthz on {address}: {status} {body}",
            node.name
        );
        answered.push((node.name.clone(), hp.operations));
    }
    answered
}

/// `fabdev down` for a workspace when a test ends early (a failed
/// assertion), so that the next run starts from a clean host.
struct DownOnDrop(PathBuf);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new(env!("CARGO_BIN_EXE_fabdev"))
                .arg("-w")
                .arg(&self.0)
                .args(["down", "--purge", "--trust-spec"])
                .status();
        }
    }
}

fn podman_api() -> Daemon {
    provider::api(NodeProvider::Podman).unwrap_or_else(|e| panic!("real kind: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_kind),
    ignore = "no real kind here: needs root, kind, podman (see `fabdev doctor`) and the node image of scripts/setup/kind-node-image.sh; FABDEV_REQUIRE_REAL_KIND=1 fails instead"
)]
async fn real_kind_up_stand_ins() {
    let _one = testkit::fabric::one_at_a_time().await;
    let kind = kind_bin();
    let api = podman_api();
    require(
        "podman's API",
        api.ping().await.is_ok(),
        "start podman's API service (scripts/setup/podman.sh)",
    );
    require(
        &format!("node image {NODE_IMAGE} in podman"),
        provider::offline_node_key(&api, NODE_IMAGE)
            .await
            .ok()
            .flatten()
            .is_some(),
        "run scripts/setup/kind-node-image.sh",
    );
    standins_into_podman(&api).await;
    let builders = [
        "fabdev.invalid/realkind-ccenv:1",
        "fabdev.invalid/realkind-baseos:1",
        "fabdev.invalid/realkind-nodeenv:1",
    ];
    for b in builders {
        testkit::tiny_image("podman", b);
    }

    let name = "fabdev-realkind";
    let before = host_state();
    let dir = tempfile::tempdir().unwrap();
    workspace(
        dir.path(),
        name,
        &format!(
            "peer: {PEER_STANDIN}, orderer: {ORDERER_STANDIN}, dind: {DIND_STANDIN}, ccenv: {}, baseos: {}, nodeenv: {}",
            builders[0], builders[1], builders[2]
        ),
        &testkit::declared_chaincodes(dir.path(), "mychannel", &["go", "node"]),
    );
    let _down = DownOnDrop(dir.path().to_path_buf());
    let mut opts = Options::new(dir.path());
    opts.kind = Some(kind.clone());
    opts.wait_timeout = Duration::from_secs(300);

    // An `up` killed while kind creates the cluster (the fabdev process and
    // kind with it, as a terminal's ^C or a CI timeout does)...
    let marker = dir.path().join(".fabdev").join(flow::CREATING_MARKER);
    let mut killed = Command::new(env!("CARGO_BIN_EXE_fabdev"))
        .arg("-w")
        .arg(dir.path())
        .args(["up", "--trust-spec", "--kind"])
        .arg(&kind)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start fabdev up");
    let started = Instant::now();
    let creating =
        testkit::wait_until(Duration::from_secs(300), Duration::from_millis(200), || {
            (marker.exists() && !node_containers(name).is_empty()).then_some(())
        });
    assert!(
        creating.is_some(),
        "kind creating the node: not within 300 s"
    );
    let pgid = killed.id().to_string();
    run(Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]));
    let _ = killed.wait();
    eprintln!(
        "killed `fabdev up` {:.1?} after it started",
        started.elapsed()
    );
    assert!(marker.exists(), "the marker stays after a killed create");

    // ...is completed by the next one: the half-made cluster is made again.
    let mut events = Vec::new();
    let started = Instant::now();
    let first = flow::up(&opts, &mut events).await;
    let first_time = started.elapsed();
    let o = outcome(&events);
    eprintln!("up after the killed one: {first_time:.1?}\n{o:#?}");
    let err = first.expect_err("stand-in nodes cannot join a channel");
    assert_eq!(
        o.failed.keys().collect::<Vec<_>>(),
        ["channel mychannel"],
        "{err}\n{o:#?}"
    );
    assert!(!marker.exists());
    let kind_detail = o.detail("kind");
    assert!(
        kind_detail.contains("nodes on podman (cluster.kind.provider in fabdev.yaml)"),
        "{kind_detail}"
    );
    let cluster_detail = o.detail(&format!("kind cluster {name}"));
    assert!(cluster_detail.starts_with("recreated"), "{o:#?}");
    for step in [
        "wait for nodes Ready",
        "load images into the kind nodes",
        "apply objects",
        "wait for orderers and peers Ready",
        "builder images in every peer's DinD",
        "node endpoints",
    ] {
        assert!(o.is_done(step), "{step}: {o:#?}");
    }
    assert_eq!(o.pods_ready, Some(2), "{o:#?}");
    let (loaded, _) = o.images.get("kind nodes").expect("node images event");
    let mut loaded = loaded.clone();
    loaded.sort();
    assert_eq!(
        loaded,
        [DIND_STANDIN, ORDERER_STANDIN, PEER_STANDIN],
        "{o:#?}"
    );
    // fabdev.yaml declares Go and Node chaincode, so both runtimes go into
    // the DinDs. The builder images are in podman only, not in the Docker
    // fabdev's warm builder uses: fabdev cannot build Go chaincode here, so
    // Go's builder goes into the DinDs too and the peers build (issue 18's
    // fallback).
    let (copied, _) = o.images.get("dind of peer0-org1").expect("DinD event");
    let mut copied = copied.clone();
    copied.sort();
    let mut want: Vec<String> = builders.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(copied, want, "{o:#?}");

    // The cluster is kind's, made from fabdev's config: one node, fabdev's
    // port mappings, the offline image's kubeadm patches.
    let nodes = node_containers(name);
    assert_eq!(nodes, [format!("{name}-control-plane")]);
    let node = &nodes[0];
    let ports = podman(&["port", node]);
    let ctx = flow::Context::load(&opts).unwrap();
    for n in &ctx.topo.nodes {
        let want = format!(
            "{}/tcp -> 127.0.0.1:{}",
            n.host_ports.grpc, n.host_ports.grpc
        );
        assert!(ports.contains(&want), "{want} in {ports}");
    }
    let kubeadm = podman(&["exec", node, "cat", "/kind/kubeadm.conf"]);
    assert!(kubeadm.contains("kubernetesAPICall: 5m0s"), "{kubeadm}");
    assert!(kubeadm.contains("failCgroupV1: false"), "{kubeadm}");
    // The images are in the node's containerd.
    let images = podman(&["exec", node, "crictl", "images", "-o", "json"]);
    for i in [PEER_STANDIN, ORDERER_STANDIN] {
        assert!(images.contains(i), "{i} in the node: {images}");
    }

    // Every host port mapping answers on 127.0.0.1.
    let answered = host_ports_answer(&ctx).await;
    eprintln!("host ports answering on 127.0.0.1: {answered:?}");

    // A second up changes nothing.
    let mut events = Vec::new();
    let started = Instant::now();
    let again = flow::up(&opts, &mut events).await;
    let again_time = started.elapsed();
    let o = outcome(&events);
    eprintln!("second up: {again_time:.1?}\n{o:#?}");
    assert!(again.is_err());
    let cluster_detail = o.detail(&format!("kind cluster {name}"));
    assert!(cluster_detail.starts_with("exists"), "{o:#?}");
    assert_eq!(o.applied.map(|(_, changed)| changed), Some(0), "{o:#?}");
    assert_eq!(
        o.detail("load images into the kind nodes"),
        "0 loaded, 3 present",
        "{o:#?}"
    );
    let (copied, present) = o.images.get("dind of peer0-org1").expect("DinD event");
    assert_eq!((copied.len(), present.len()), (0, 3), "{o:#?}");

    // status: the cluster and both pods Ready.
    let status = flow::status(&opts, &mut Vec::new()).await.expect("status");
    testkit::outcome::assert_all_ready(&status, "kind", 2);

    // The cluster's identity was recorded when it was made; another
    // workspace of the same name neither takes it on nor deletes it.
    let id_file = dir.path().join(".fabdev").join(flow::CLUSTER_ID_FILE);
    let uid = std::fs::read_to_string(&id_file).expect("the cluster's identity");
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("fabdev.yaml"),
        other.path().join("fabdev.yaml"),
    )
    .unwrap();
    // The chaincode folders it names.
    testkit::declared_chaincodes(other.path(), "mychannel", &["go", "node"]);
    let mut other_opts = Options::new(other.path());
    other_opts.kind = Some(kind.clone());
    let refused = |r: Result<(), flow::FlowError>, why: &str| match r {
        Err(flow::FlowError::NotOurCluster { why: w, .. }) if w.contains(why) => {}
        other => panic!("want a refusal ({why}): {other:?}"),
    };
    let not_made_here = "did not create it";
    refused(
        flow::down(&other_opts, false, false, &mut Vec::new())
            .await
            .map(drop),
        not_made_here,
    );
    let mut events = Vec::new();
    refused(
        flow::up(&other_opts, &mut events).await.map(drop),
        not_made_here,
    );
    let o = outcome(&events);
    assert!(
        o.failed.contains_key(&format!("kind cluster {name}")),
        "{o:#?}"
    );
    // A record of another cluster (made, deleted and made again under the
    // same name) does not match either; the kubeconfig exported to check
    // goes again.
    std::fs::create_dir_all(other.path().join(".fabdev")).unwrap();
    std::fs::write(
        other.path().join(".fabdev").join(flow::CLUSTER_ID_FILE),
        "0000-not-this-cluster\n",
    )
    .unwrap();
    refused(
        flow::down(&other_opts, false, false, &mut Vec::new())
            .await
            .map(drop),
        "not the cluster this workspace created",
    );
    assert!(!other.path().join(".fabdev/kubeconfig").exists());
    assert_eq!(node_containers(name), [format!("{name}-control-plane")]);
    assert_eq!(std::fs::read_to_string(&id_file).unwrap(), uid);

    // down: no cluster, and nothing of it left on the host.
    let mut events = Vec::new();
    let report = flow::down(&opts, false, true, &mut events)
        .await
        .expect("down");
    eprintln!("down: {report:?}\n{:#?}", outcome(&events));
    assert!(report.cluster_deleted);
    assert!(node_containers(name).is_empty());
    // (The host's Docker keeps its chains and FORWARD policy: they are
    // part of the state compared.)
    let after = host_state();
    assert_eq!(after, before, "down left something behind");
    eprintln!(
        "timings: up after a killed up (cluster made) {first_time:.1?}, second up {again_time:.1?}"
    );
}

/// podman names an image without a registry `localhost/NAME` and exports
/// it so: a copy out of podman (into the host's Docker here, into a peer's
/// DinD in `up`) must still be known under the name asked for, with the
/// same ID (the builder images were missing in the DinD otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(real_kind),
    ignore = "no real kind here: needs root, kind, podman (see `fabdev doctor`) and the node image of scripts/setup/kind-node-image.sh; FABDEV_REQUIRE_REAL_KIND=1 fails instead"
)]
async fn real_kind_an_image_out_of_podman_keeps_its_short_name() {
    let api = podman_api();
    let name = format!("fabdev-test/short-name-{}:1", std::process::id());
    testkit::tiny_image("podman", &name);
    let stored = podman(&["image", "inspect", "--format", "{{.RepoTags}}", &name]);
    assert!(stored.contains(&format!("localhost/{name}")), "{stored}");
    let docker = Daemon::connect_local().unwrap();
    let copied =
        cluster::images::transfer(&api, &docker, std::slice::from_ref(&name), &mut |_| {}).await;
    let id = docker.image_id(&name).await;
    let _ = Command::new("docker")
        .args(["rmi", "--force", &name, &format!("localhost/{name}")])
        .output();
    let _ = Command::new("podman").args(["rmi", &name]).output();
    let report = copied.expect("copy out of podman");
    assert_eq!(report.transferred.len(), 1, "{report:?}");
    assert_eq!(
        id.unwrap(),
        Some(report.transferred[0].id.clone()),
        "the copy is known as {name}"
    );
}

/// The version `peer version` of FABRIC_HOME says (`2.5.14`).
fn fabric_version() -> Option<String> {
    let home = std::env::var_os("FABRIC_HOME")?;
    let out = Command::new(Path::new(&home).join("bin/peer"))
        .arg("version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        l.trim()
            .strip_prefix("Version: ")
            .map(|v| v.trim_start_matches('v').to_string())
    })
}

/// The default network (Org1 and Org2 with a peer each, one Raft orderer,
/// mychannel) with the Node chaincode fixture, all through `fabdev up` on
/// kind with podman and the offline node image; real Fabric images made
/// from FABRIC_HOME by scripts/setup/node-images.sh, the builder images of
/// scripts/setup/builder-images.sh. Then invoke, query and `chaincode logs`
/// through the host ports, status, and down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(real_kind, fabric_binaries)),
    ignore = "needs real kind (see real_kind_up_stand_ins) and FABRIC_HOME with the images scripts/setup/node-images.sh makes from it"
)]
async fn real_kind_real_fabric_chaincode() {
    let _one = testkit::fabric::one_at_a_time().await;
    let kind = kind_bin();
    let api = podman_api();
    let version = fabric_version().expect("FABRIC_HOME/bin/peer version");
    let two = version
        .rsplit_once('.')
        .map(|(two, _)| two.to_string())
        .unwrap();
    let peer = testkit::probe::local_fabric_image("peer", &version);
    let orderer = testkit::probe::local_fabric_image("orderer", &version);
    let [ccenv, baseos, nodeenv] = testkit::probe::builder_standins(&two);
    let images: Vec<String> = vec![
        peer.clone(),
        orderer.clone(),
        DIND_STANDIN.to_string(),
        ccenv.clone(),
        baseos.clone(),
        nodeenv.clone(),
    ];
    // Made in the host's Docker by the setup scripts; fabdev takes them from
    // podman, kind's provider here.
    let docker = Daemon::connect_local().unwrap();
    cluster::images::transfer(&docker, &api, &images, &mut |_| {})
        .await
        .expect("images into podman (scripts/setup/node-images.sh, builder-images.sh)");

    let dir = tempfile::tempdir().unwrap();
    testkit::copy_fixture("chaincode/node", &dir.path().join("chaincode/asset-node"));
    let name = "fabdev-realkind-fabric";
    std::fs::write(
        dir.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: {name}\n\
             fabric: {{ version: \"{two}\" }}\n\
             cluster: {{ kind: {{ provider: podman, nodeImage: {NODE_IMAGE} }} }}\n\
             images: {{ peer: {peer}, orderer: {orderer}, dind: {DIND_STANDIN}, \
             ccenv: {ccenv}, baseos: {baseos}, nodeenv: {nodeenv} }}\n\
             chaincodes:\n  - {{ name: basic, path: chaincode/asset-node, channel: mychannel }}\n"
        ),
    )
    .unwrap();
    let _down = DownOnDrop(dir.path().to_path_buf());
    let fabdev = |args: &[&str]| {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_fabdev"))
            .arg("-w")
            .arg(dir.path())
            .arg("--trust-spec")
            .args(args)
            .env(cluster::kind::KIND_ENV, &kind)
            .output()
            .expect("run fabdev");
        eprintln!(
            "$ fabdev {}   # {:.1?}\n{}{}",
            args.join(" "),
            started.elapsed(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        (out, started.elapsed())
    };
    let (out, cold) = fabdev(&["up", "--timeout", "900"]);
    assert!(out.status.success(), "cold up failed");
    let (out, warm) = fabdev(&["up"]);
    assert!(out.status.success(), "warm up failed");
    testkit::assert_basic_answers(|args| fabdev(args).0);
    let (out, _) = fabdev(&["status"]);
    assert!(out.status.success(), "status");
    let (out, _) = fabdev(&["down"]);
    assert!(out.status.success(), "down");
    assert!(node_containers(name).is_empty());
    eprintln!("real Fabric on kind: cold up {cold:.1?}, warm up {warm:.1?}");
}
