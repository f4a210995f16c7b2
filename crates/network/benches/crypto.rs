//! How long generating the default network's crypto takes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use network::pki::{CryptoDir, ensure};
use network::{Topology, Workspace};

fn generate_default(c: &mut Criterion) {
    let ws = Workspace::default_network();
    let topo = Topology::of(&ws);
    c.bench_function("generate the default network's crypto", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("create a temporary folder"),
            |tmp| {
                let dir = CryptoDir::new(tmp.path().join("crypto"));
                let report = ensure(&ws, &topo, &dir).expect("generate crypto");
                assert!(!report.created.is_empty());
                tmp
            },
            BatchSize::PerIteration,
        );
    });
}

criterion_group!(benches, generate_default);
criterion_main!(benches);
