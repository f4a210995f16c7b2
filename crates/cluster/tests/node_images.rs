#![allow(clippy::unwrap_used)]
//! Loading images into kind nodes' containerd, against real Docker and a
//! real containerd: each "node" is a container with kind's labels running
//! containerd with its CRI plugin (testkit::kindnode). Nothing is
//! pulled. These tests fail, not skip, when Docker or crictl is missing.

use cluster::images::{Daemon, ImageError, ImageEvent, SkipReason, TransferReport};
use cluster::node_images::{NodeImageError, exec_in_node, kind_nodes, load_into_nodes};
use testkit::dockerd::{HostImage, chain, host};
use testkit::kindnode::KindNode;

/// `load_into_nodes` of one image, with the events it emitted.
async fn load(
    host: &Daemon,
    cluster: &str,
    image: &str,
) -> (Result<TransferReport, NodeImageError>, Vec<ImageEvent>) {
    let mut events = Vec::new();
    let r = load_into_nodes(host, cluster, &[image.to_string()], &mut |e| events.push(e)).await;
    (r, events)
}

fn cluster_name(what: &str) -> String {
    format!("fabdev-t{}-{what}", std::process::id())
}

#[tokio::test]
async fn loads_with_the_host_id_then_skips_what_every_node_has() {
    let host = host().await;
    let cluster = cluster_name("one");
    let node = KindNode::start(&host, &cluster, "control-plane").await;
    let image = HostImage::new(&host, "node-load", 2 * 1024 * 1024).await;
    assert_eq!(node.image_id(&image.name), None);

    let (r, events) = load(&host, &cluster, &image.name).await;
    let report = r.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(report.transferred.len(), 1, "{report:?}");
    assert_eq!(report.transferred[0].id, image.id);
    assert!(report.transferred[0].bytes > 2 * 1024 * 1024, "{report:?}");
    // kind's own check (`crictl inspecti`) now finds the host's image ID.
    assert_eq!(
        node.image_id(&image.name).as_deref(),
        Some(image.id.as_str())
    );
    let to = format!("kind node {}", node.name);
    assert!(
        events.iter().any(|e| matches!(e, ImageEvent::Transferred { to: t, id, .. } if *t == to && *id == image.id)),
        "{events:?}"
    );

    let (r, events) = load(&host, &cluster, &image.name).await;
    let again = r.unwrap();
    assert!(again.transferred.is_empty(), "{again:?}");
    assert_eq!(again.skipped.len(), 1);
    assert_eq!(again.skipped[0].reason, SkipReason::AlreadyPresent);
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ImageEvent::Transferring { .. } | ImageEvent::Transferred { .. }
        )),
        "{events:?}"
    );
}

#[tokio::test]
async fn one_export_feeds_every_node_that_lacks_the_image() {
    let host = host().await;
    let cluster = cluster_name("two");
    let a = KindNode::start(&host, &cluster, "control-plane").await;
    let b = KindNode::start(&host, &cluster, "worker").await;
    assert_eq!(
        kind_nodes(&host, &cluster).await.unwrap(),
        vec![a.name.clone(), b.name.clone()]
    );
    // Large enough for progress events (one per 4 MiB).
    let image = HostImage::new(&host, "fan-out", 9 * 1024 * 1024).await;

    let (r, events) = load(&host, &cluster, &image.name).await;
    r.unwrap_or_else(|e| panic!("{}", chain(&e)));
    for node in [&a, &b] {
        assert_eq!(
            node.image_id(&image.name).as_deref(),
            Some(image.id.as_str())
        );
    }
    let both = format!("kind nodes {}, {}", a.name, b.name);
    let progress: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            ImageEvent::Transferring { to, bytes_done, .. } if *to == both => Some(*bytes_done),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 2, "{events:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");

    // Only the node that lost the image gets it again.
    b.remove_image(&image.name);
    assert_eq!(b.image_id(&image.name), None);
    let (r, events) = load(&host, &cluster, &image.name).await;
    r.unwrap();
    let only_b = format!("kind node {}", b.name);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ImageEvent::Transferred { to, .. } if *to == only_b)),
        "{events:?}"
    );
    assert_eq!(b.image_id(&image.name).as_deref(), Some(image.id.as_str()));
}

#[tokio::test]
async fn a_failed_import_names_the_node_and_a_command_to_paste() {
    let host = host().await;
    let cluster = cluster_name("broken");
    let node = KindNode::start(&host, &cluster, "control-plane").await;
    // A node whose ctr is not a program: the import cannot run.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let copied = std::process::Command::new("docker")
        .arg("cp")
        .arg(empty.path())
        .arg(format!("{}:/usr/bin/ctr", node.name))
        .status()
        .unwrap();
    assert!(copied.success());
    let image = HostImage::new(&host, "broken", 64 * 1024).await;

    let err = load(&host, &cluster, &image.name).await.0.unwrap_err();
    let text = chain(&err);
    assert!(
        matches!(&err, NodeImageError::Command { node: n, exit_code, .. } if *n == node.name && *exit_code != 0),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "docker exec -i {} ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -",
            node.name
        )),
        "{text}"
    );
}

#[tokio::test]
async fn no_nodes_and_missing_images_are_named() {
    let host = host().await;
    let cluster = cluster_name("none");
    let err = load(&host, &cluster, "x:1").await.0.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, NodeImageError::NoNodes { .. }), "{text}");
    assert!(
        text.contains(&format!("kind cluster {cluster} has no node containers")),
        "{text}"
    );
    assert!(text.contains("io.x-k8s.kind.cluster="), "{text}");

    let cluster = cluster_name("lonely");
    let _node = KindNode::start(&host, &cluster, "control-plane").await;
    let err = load(&host, &cluster, "fabdev-test/never-made:1")
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(&err, NodeImageError::Host(ImageError::MissingOnSource { image, .. }) if image == "fabdev-test/never-made:1"),
        "{}",
        chain(&err)
    );
}

#[tokio::test]
async fn a_source_that_fails_midway_cuts_the_input_off_and_the_import_fails() {
    let host = host().await;
    let cluster = cluster_name("cut");
    let node = KindNode::start(&host, &cluster, "control-plane").await;
    let image = HostImage::new(&host, "cut", 256 * 1024).await;
    // The first 64 KiB of a real export, then the source fails.
    let docker = host.docker("export a test image").await.unwrap();
    let mut export = docker.export_image(&image.name);
    let mut head = Vec::new();
    while head.len() < 64 * 1024 {
        use futures_util::StreamExt;
        head.extend_from_slice(&export.next().await.unwrap().unwrap());
    }
    head.truncate(64 * 1024);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(Ok(head.into())).await.unwrap();
    tx.send(Err(std::io::Error::other("the source failed")))
        .await
        .unwrap();
    let cmd: Vec<String> = ["ctr", "--namespace=k8s.io", "images", "import", "-"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Keep the sender alive: only the Err chunk may end the input.
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        exec_in_node(&host, &node.name, &cmd, Some(rx)),
    )
    .await
    .expect("the import must end once its input is cut off, not wait for more")
    .unwrap_or_else(|e| panic!("{}", chain(&e)));
    drop(tx);
    assert_ne!(out.exit_code, 0, "{out:?}");
    assert_eq!(node.image_id(&image.name), None);
}
