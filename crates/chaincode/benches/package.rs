//! Packaging the committed Go fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chaincode::package::{PackageOptions, package_dir};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/chaincode/go");
    let opts = PackageOptions {
        label: Some("asset-go_1.0".into()),
        lang: None,
    };
    c.bench_function("package the Go fixture", |b| {
        b.iter(|| package_dir(std::hint::black_box(&dir), &opts).expect("packages"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
