//! The inner loop on real peers: chaincode built once by fabdev (warm) and
//! run by every peer, which never builds it; TypeScript chaincode built
//! before it is packaged. Needs the builder images in the host's Docker
//! (scripts/setup/builder-images.sh) and npm on PATH (TypeScript).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use chaincode::lifecycle::{self, LifecycleEvent, PeerImages as _};
use testkit::fabric::{
    CHANNEL, deploy, deploy_spec, dind, home, invoke, one_at_a_time, peer_docker as docker, query,
    start, workspace,
};
use testnet::TestNetwork;

/// Two orgs with a peer each, each peer with its own daemon, on a channel;
/// `images` seeded into every daemon.
async fn network(port_base: u16, images: impl Fn(&TestNetwork) -> Vec<String>) -> TestNetwork {
    let ws = workspace(&home(), &format!("name: loop\nhostPortBase: {port_base}\n"));
    let net = start(ws, dind()).await;
    net.create_channel(CHANNEL).await.expect("channel");
    net.seed_images(&images(&net))
        .await
        .expect("images (scripts/setup/builder-images.sh)");
    net
}

/// The runtime images a deploy copied into the daemons first, with the
/// peers it names (`LifecycleEvent::SeedingRuntime`), each followed by the
/// peers that got it (`RuntimeSeeded`), which must be the same.
fn seeded(events: &[LifecycleEvent]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for e in events {
        match e {
            LifecycleEvent::SeedingRuntime { image, peers } => {
                out.push((image.clone(), peers.clone()));
            }
            LifecycleEvent::RuntimeSeeded { image, copied, .. } => {
                assert_eq!(
                    out.last(),
                    Some(&(image.clone(), copied.clone())),
                    "{events:?}"
                );
            }
            _ => {}
        }
    }
    out
}

/// The images of every container a peer's daemon created since `since`
/// (unix seconds).
fn created_from(net: &TestNetwork, peer: &str, since: u64) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 1;
    docker(
        net,
        peer,
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &now.to_string(),
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--format",
            "{{.Actor.Attributes.image}}",
        ],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Go and Node chaincode built once by fabdev on the host's Docker, warm,
/// and every peer runs the image made in its own daemon from that build.
/// The daemons start empty: each gets a language's runtime from the first
/// deploy of that language, and only then (no ccenv ever, so a peer that
/// built Go would fail), and no daemon ever runs a builder container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_warm_builds_every_peer_runs_the_image_it_never_built() {
    let _one = one_at_a_time().await;
    network::channel::install_crypto_provider();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let net = network(32100, |_| Vec::new()).await;
    let warm = net.warm_images().expect("host docker");
    let peers = ["peer0-org1", "peer0-org2"];
    for p in peers {
        let images = docker(&net, p, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert!(!images.contains("ccenv"), "{p} has a builder: {images}");
    }

    // Go, vendored; then a one-line change (the warm cache's case).
    let (dir, _copy) = testkit::fabric::vendored(&testkit::fixture("chaincode/go"));
    let go = deploy_spec("gocc", &dir, "gocc_1");
    let (report, events) = deploy(&net, &go, Some(&warm)).await;
    assert_eq!(report.installed.len(), 2, "{report:?}");
    let names: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    let baseos = net.workspace().images.baseos.clone();
    let nodeenv = net.workspace().images.nodeenv.clone();
    assert_eq!(seeded(&events), [(baseos.clone(), names.clone())]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LifecycleEvent::Built { .. })),
        "{events:?}"
    );
    let placed = events
        .iter()
        .filter(|e| matches!(e, LifecycleEvent::ImagePlaced { .. }))
        .count();
    assert_eq!(placed, 2, "{events:?}");
    invoke(
        &net,
        "Org1",
        "gocc",
        "CreateAsset",
        &["g1", "red", "3", "Ann", "100"],
    )
    .await;
    let got = query(&net, "Org2", "gocc", "ReadAsset", &["g1"]).await;
    assert!(got.contains("Ann"), "{got}");

    let main = dir.join("main.go");
    let code = std::fs::read_to_string(&main).expect("main.go");
    std::fs::write(&main, format!("{code}\n// one line changed\n")).expect("write");
    let go2 = deploy_spec("gocc", &dir, "gocc_1");
    assert_ne!(go2.package_id, go.package_id);
    let (report, events) = deploy(&net, &go2, Some(&warm)).await;
    assert_eq!((report.sequence, report.installed.len()), (2, 2));
    assert!(
        seeded(&events).is_empty(),
        "Go's runtime is there now: {events:?}"
    );
    let got = query(&net, "Org1", "gocc", "ReadAsset", &["g1"]).await;
    assert!(got.contains("Ann"), "{got}");

    // Node.
    let node = deploy_spec("nodecc", &testkit::fixture("chaincode/node"), "nodecc_1");
    let (report, events) = deploy(&net, &node, Some(&warm)).await;
    assert_eq!(report.installed.len(), 2, "{report:?}");
    assert_eq!(seeded(&events), [(nodeenv, names.clone())]);
    invoke(
        &net,
        "Org2",
        "nodecc",
        "CreateAsset",
        &["n1", "blue", "5", "Bo", "7"],
    )
    .await;
    let got = query(&net, "Org1", "nodecc", "ReadAsset", &["n1"]).await;
    assert!(got.contains("Bo"), "{got}");

    // A one-line Node change: the same dependencies, so no build runs and
    // each daemon gets only the sources, over the dependencies' layer.
    let node_dir = testkit::fixture_copy("chaincode/node");
    let index = node_dir.path().join("index.js");
    let code = std::fs::read_to_string(&index).expect("index.js");
    std::fs::write(&index, format!("{code}\n// one line changed\n")).expect("write");
    let node2 = deploy_spec("nodecc", node_dir.path(), "nodecc_1");
    let (report, events) = deploy(&net, &node2, Some(&warm)).await;
    assert_eq!((report.sequence, report.installed.len()), (2, 2));
    let built: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            LifecycleEvent::Built { bytes, .. } => Some(*bytes),
            _ => None,
        })
        .collect();
    assert!(
        matches!(built.as_slice(), [b] if *b < 64 * 1024),
        "only the sources: {events:?}"
    );
    assert!(
        seeded(&events).is_empty(),
        "Node's runtime is there now: {events:?}"
    );
    let got = query(&net, "Org2", "nodecc", "ReadAsset", &["n1"]).await;
    assert!(got.contains("Bo"), "{got}");

    // Each peer runs its own image, under the name it derives, and its
    // daemon never ran a builder.
    let builders = [
        net.workspace().images.ccenv.clone(),
        net.workspace().images.nodeenv.clone(),
    ];
    for p in peers {
        for s in [&go, &go2, &node, &node2] {
            let name = lifecycle::chaincode_image_name(lifecycle::NETWORK_ID, p, &s.package_id);
            let label = docker(
                &net,
                p,
                &[
                    "image",
                    "inspect",
                    "--format",
                    "{{index .Config.Labels \"org.hyperledger.fabric.chaincode.type\"}}",
                    &name,
                ],
            );
            assert!(
                ["GOLANG", "NODE"].contains(&label.trim()),
                "{p} {name}: {label}"
            );
        }
        let running = docker(&net, p, &["ps", "--format", "{{.Image}}"]);
        for s in [&go2, &node2] {
            let name = lifecycle::chaincode_image_name(lifecycle::NETWORK_ID, p, &s.package_id);
            assert!(running.contains(&name), "{p} runs: {running}");
        }
        let created = created_from(&net, p, since);
        assert!(!created.is_empty(), "{p}: no container created");
        for image in &created {
            assert!(
                !builders.contains(image),
                "{p} ran a builder ({image}); created: {created:?}"
            );
        }
    }
}

/// fabdev's fallback when its warm builder cannot build Go (its daemon
/// lacks ccenv, as when it is not the engine `up` pulled into, and `up`
/// seeded the runtimes only): the deploy first copies ccenv from the host
/// into the daemons of the peers that build, with progress, then the
/// peers build as Fabric does, and the chaincode answers. A second deploy
/// finds ccenv there and copies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_no_warm_go_builder_seeds_ccenv_then_the_peers_build() {
    let _one = one_at_a_time().await;
    network::channel::install_crypto_provider();
    let net = network(30700, TestNetwork::runtime_images).await;
    let ccenv = net.workspace().images.ccenv.clone();
    let peers = ["peer0-org1", "peer0-org2"];
    let has_ccenv = |p: &str| {
        docker(&net, p, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .lines()
            .any(|l| l == ccenv)
    };
    for p in peers {
        assert!(!has_ccenv(p), "{p} has {ccenv} before the deploy");
    }
    // The warm builder's daemon is peer0-org1's: runtimes only.
    let images = net
        .images_without_go_builder("peer0-org1")
        .expect("daemons");
    let (dir, _copy) = testkit::fabric::vendored(&testkit::fixture("chaincode/go"));
    let go = deploy_spec("gocc", &dir, "gocc_1");
    let (report, events) = deploy(&net, &go, Some(&images)).await;
    assert_eq!(report.installed.len(), 2, "{report:?}");
    let position = |f: &dyn Fn(&LifecycleEvent) -> bool| events.iter().position(f);
    let not_built =
        position(&|e| matches!(e, LifecycleEvent::NotBuilt { reason } if reason.contains(&ccenv)));
    let seeding = position(
        &|e| matches!(e, LifecycleEvent::SeedingBuilder { image, peers } if *image == ccenv && peers.len() == 2),
    );
    let progress = position(
        &|e| matches!(e, LifecycleEvent::SeedProgress { bytes_done, .. } if *bytes_done > 0),
    );
    let seeded = events.iter().find_map(|e| match e {
        LifecycleEvent::BuilderSeeded { copied, .. } => Some(copied.clone()),
        _ => None,
    });
    assert!(
        matches!((not_built, seeding, progress), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "{events:?}"
    );
    let mut copied = seeded.expect("a BuilderSeeded event");
    copied.sort();
    assert_eq!(copied, peers, "{events:?}");
    assert!(
        !events.iter().any(|e| matches!(
            e,
            LifecycleEvent::Built { .. } | LifecycleEvent::ImagePlaced { .. }
        )),
        "fabdev did not build: {events:?}"
    );
    for p in peers {
        assert!(has_ccenv(p), "{p} got {ccenv}");
    }
    invoke(
        &net,
        "Org1",
        "gocc",
        "CreateAsset",
        &["s1", "red", "3", "Cy", "9"],
    )
    .await;
    let got = query(&net, "Org2", "gocc", "ReadAsset", &["s1"]).await;
    assert!(got.contains("Cy"), "{got}");

    // Seeding again finds ccenv in every daemon and copies nothing.
    let peers_now: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    let again = images
        .seed_builder(&peers_now, &ccenv, &mut |_| {})
        .await
        .expect("seed again");
    assert!(again.is_empty(), "copied again into {again:?}");
}

/// A TypeScript contract (`main` in dist/, `scripts.build` = tsc) is built
/// by fabdev with npm before it is packaged, deployed (each peer installs
/// its production dependencies, as for any Node chaincode) and answers;
/// a type error is a build error that shows the compiler's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_typescript_chaincode_built_deployed_and_answering() {
    let _one = one_at_a_time().await;
    network::channel::install_crypto_provider();
    let src = tempfile::tempdir().expect("tempdir");
    let dir = src.path().join("typescript");
    testkit::copy_fixture("chaincode/typescript", &dir);
    let step = chaincode::nodebuild::build_step(&dir)
        .expect("build step")
        .expect("a TypeScript build");
    let built = chaincode::nodebuild::build(&dir, &step).expect("tsc");
    assert!(built.dir().join("dist/index.js").is_file());
    assert!(
        !built.dir().join("src").exists(),
        "only what runs is packaged"
    );
    assert!(!dir.join("dist").exists(), "the folder is not changed");
    // The fixture's lockfile is packaged with its package.json as written
    // (devDependencies too: `npm ci` needs the two to agree), so every peer
    // installs exactly what it pins, production dependencies only (`npm ci
    // --omit=dev`, no install scripts).
    let manifest = std::fs::read_to_string(built.dir().join("package.json")).expect("package.json");
    assert!(manifest.contains("fabric-contract-api"), "{manifest}");
    assert_eq!(
        std::fs::read(built.dir().join("package-lock.json")).expect("the lockfile is packaged"),
        std::fs::read(dir.join("package-lock.json")).expect("the fixture's lockfile")
    );
    assert!(
        built.commands[0].0.starts_with("npm ci --ignore-scripts"),
        "{:?}",
        built.commands
    );
    let ts = deploy_spec("tscc", built.dir(), "tscc_1");

    let net = network(32200, TestNetwork::builder_images).await;
    let (report, _) = deploy(&net, &ts, Some(&net)).await;
    assert_eq!(report.installed.len(), 2, "{report:?}");
    invoke(
        &net,
        "Org1",
        "tscc",
        "CreateAsset",
        &["t1", "green", "2", "Cy", "9"],
    )
    .await;
    let got = query(&net, "Org2", "tscc", "ReadAsset", &["t1"]).await;
    assert!(got.contains("Cy"), "{got}");
    assert_eq!(
        query(&net, "Org2", "tscc", "Language", &[]).await,
        "typescript"
    );

    // A type error: the build fails with tsc's message, naming the file.
    testkit::edit(
        &dir.join("src/assetTransfer.ts"),
        "return 'typescript';",
        "return 42 as number as string + nope;",
    );
    let e = chaincode::nodebuild::build(&dir, &step).expect_err("type error");
    let text = e.to_string();
    assert!(
        text.contains("npm run build")
            && text.contains("assetTransfer.ts")
            && text.contains("nope"),
        "{text}"
    );
}
