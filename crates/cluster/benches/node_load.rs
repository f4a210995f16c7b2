//! Loading a ~50 MB locally made image into a kind node's containerd:
//! fabdev's `node_images::load_into_nodes` (bollard export streamed into
//! `ctr images import` through an exec's stdin) against `kind load
//! docker-image` (docker save to a temp file, then the same import). The
//! node is the stand-in of testkit::kindnode: real containerd, ctr
//! and crictl in a container with kind's labels. The image is removed from
//! the node before every iteration (not timed).
//!
//! Needs the host Docker daemon (scripts/setup/docker.sh), crictl (installed
//! by scripts/test.sh) and kind (`go install sigs.k8s.io/kind@v0.33.0`).
//!
//! kind runs `docker exec --privileged`, which fails on hosts that cannot
//! grant every capability (this machine lacks CAP_SYS_RESOURCE), so kind is
//! given a `docker` on PATH that drops `--privileged`; the import itself
//! does not need it (fabdev's execs are never privileged).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Top-level modules: kindnode.rs reaches dockerd.rs as `super::dockerd`.

use std::process::Command;
use std::time::{Duration, Instant};

use cluster::node_images::load_into_nodes;
use criterion::{Criterion, criterion_group, criterion_main};
use testkit::{dockerd, kindnode};

const PAYLOAD: usize = 50 * 1024 * 1024;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = format!("fabdev-bench{}", std::process::id());
    let (host, node, image) = rt.block_on(async {
        let host = dockerd::host().await;
        let node = kindnode::KindNode::start(&host, &cluster, "control-plane").await;
        let image = dockerd::HostImage::new(&host, "node-bench", PAYLOAD).await;
        (host, node, image)
    });
    let images = vec![image.name.clone()];
    let remove = || {
        node.remove_image(&image.name);
        assert_eq!(node.image_id(&image.name), None);
    };

    let mut group = c.benchmark_group("load a 50 MB image into a kind node");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("fabdev load_into_nodes (export -> exec ctr import)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove();
                let started = Instant::now();
                let report = rt
                    .block_on(load_into_nodes(&host, &cluster, &images, &mut |_| {}))
                    .unwrap();
                total += started.elapsed();
                assert_eq!(report.transferred.len(), 1);
            }
            total
        })
    });

    let kind = kindnode::tool("kind");
    let shim = tempfile::tempdir().unwrap();
    let docker = which::which("docker").unwrap();
    std::fs::write(
        shim.path().join("docker"),
        format!(
            "#!/bin/bash\nargs=()\nfor a in \"$@\"; do [ \"$a\" = --privileged ] || args+=(\"$a\"); done\nexec '{}' \"${{args[@]}}\"\n",
            docker.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(shim.path().join("docker"))
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        shim.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    group.bench_function("kind load docker-image", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove();
                let started = Instant::now();
                let out = Command::new(&kind)
                    .args(["load", "docker-image", &image.name, "--name", &cluster])
                    .env("PATH", &path)
                    .output()
                    .unwrap();
                total += started.elapsed();
                assert!(
                    out.status.success(),
                    "kind load: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert_eq!(
                node.image_id(&image.name).as_deref(),
                Some(image.id.as_str())
            );
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
