//! How the reconcile plan's cost grows with the network: 1, 3 and 10 orgs,
//! as many channels (each with every org), and a change that touches all
//! of them (one more org on every channel, a peer more per org, the batch
//! timeout, one more orderer). Planning plus both renderings (text, JSON).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use network::reconcile::{AppliedState, plan};
use network::{Topology, Workspace};

fn spec(orgs: usize, peers: u32, extra_org: bool, timeout: u32, orderers: u32) -> Workspace {
    let n = orgs + usize::from(extra_org);
    let names: Vec<String> = (1..=n).map(|i| format!("Org{i}")).collect();
    let mut text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nfabric: {{ batchTimeoutMs: {timeout} }}\n\
         orderer: {{ count: {orderers} }}\norgs:\n"
    );
    for name in &names {
        text.push_str(&format!("  - {{ name: {name}, peers: {peers} }}\n"));
    }
    text.push_str("channels:\n");
    for c in 0..orgs {
        text.push_str(&format!(
            "  - {{ name: ch{c}, orgs: [{}] }}\n",
            names.join(", ")
        ));
    }
    Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new(".")).expect("spec")
}

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("reconcile plan");
    for orgs in [1usize, 3, 10] {
        let old = spec(orgs, 1, false, 250, 3);
        let applied = AppliedState::of(&old, &Topology::of(&old));
        let wanted = spec(orgs, 2, true, 500, 4);
        let p = plan(Some(&applied), &wanted);
        // 2 peers per org, the new org, it on every channel, timeout, orderer.
        assert_eq!(p.actions.len(), orgs + 1 + orgs + 1 + 1, "{p:?}");
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{orgs} orgs")),
            &orgs,
            |b, _| {
                b.iter(|| {
                    let p = plan(Some(&applied), &wanted);
                    (p.text().len(), p.json().is_object())
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
