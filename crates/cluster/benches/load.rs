//! Loading a ~50 MB locally made image into a second dockerd: fabdev's
//! `transfer` (bollard export streamed into load) against
//! `docker save IMG | docker -H unix://SOCK load`. The image is removed from
//! the target before every iteration (not timed).
//!
//! Needs the host Docker daemon (scripts/setup/docker.sh) and root for the
//! second dockerd.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use cluster::images::{transfer, transfer_to_many};
use criterion::{Criterion, criterion_group, criterion_main};
use testkit::dockerd as support;

const PAYLOAD: usize = 50 * 1024 * 1024;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (host, second, image) = rt.block_on(async {
        let host = support::host().await;
        let second = support::SecondDockerd::start().await;
        let image = support::HostImage::new(&host, "bench", PAYLOAD).await;
        (host, second, image)
    });
    let target = second.daemon();
    let images = vec![image.name.clone()];
    let remove = |rt: &tokio::runtime::Runtime| {
        rt.block_on(target.remove_image(&image.name)).unwrap();
    };

    let mut group = c.benchmark_group("load a 50 MB image into a second dockerd");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("fabdev transfer (bollard export -> load)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove(&rt);
                let started = Instant::now();
                let report = rt
                    .block_on(transfer(&host, &target, &images, &mut |_| {}))
                    .unwrap();
                total += started.elapsed();
                assert_eq!(report.transferred.len(), 1);
            }
            total
        })
    });
    group.bench_function("docker save | docker load", |b| {
        let pipeline = format!(
            "set -o pipefail; docker save '{}' | docker -H 'unix://{}' load -q >/dev/null",
            image.name,
            second.socket().display()
        );
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove(&rt);
                let started = Instant::now();
                let status = Command::new("bash")
                    .arg("-c")
                    .arg(&pipeline)
                    .status()
                    .unwrap();
                total += started.elapsed();
                assert!(status.success(), "{pipeline}");
            }
            total
        })
    });
    group.finish();

    // Two targets (two peers' DinD): one `transfer` after the other, against
    // one export streamed into both loads at once.
    let third = rt.block_on(support::SecondDockerd::start());
    let other = third.daemon();
    let remove_both = |rt: &tokio::runtime::Runtime| {
        rt.block_on(target.remove_image(&image.name)).unwrap();
        rt.block_on(other.remove_image(&image.name)).unwrap();
    };
    let mut group = c.benchmark_group("load a 50 MB image into two dockerds");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("transfer to each in turn", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove_both(&rt);
                let started = Instant::now();
                for to in [&target, &other] {
                    rt.block_on(transfer(&host, to, &images, &mut |_| {}))
                        .unwrap();
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("transfer_to_many (one export, both loads)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove_both(&rt);
                let started = Instant::now();
                let reports = rt
                    .block_on(transfer_to_many(
                        &host,
                        &[&target, &other],
                        &images,
                        &mut |_| {},
                    ))
                    .unwrap();
                total += started.elapsed();
                assert!(reports.iter().all(|r| r.transferred.len() == 1));
            }
            total
        })
    });
    group.finish();
    drop(image);
    drop(third);
    drop(second); // stops the second dockerd and removes its folder
}

criterion_group!(benches, bench);
criterion_main!(benches);
