//! Recompute cost: `compute` (trends, anomalies for every series, the item–item
//! model and every user's and item's list) over N synthetic events.
//!
//! `cargo bench -p machina-insights --bench recompute`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use machina_insights::{
    algo::synthetic::{ClusteredSpec, clustered_interactions},
    compute::{ComputeParams, Event, compute},
};

const HOUR_MS: i64 = 3_600_000;

/// About `n` item views from users in 20 taste clusters, spread over the last 20 days.
fn events(n: usize) -> (Vec<Event>, i64) {
    let now = 10_000 * HOUR_MS;
    let spec = ClusteredSpec {
        users: n / 11,
        clusters: 20,
        items_per_cluster: 100,
        ..ClusteredSpec::default()
    };
    let data = clustered_interactions(&spec, 0);
    let span = 20 * 24 * HOUR_MS;
    let events = data
        .interactions
        .into_iter()
        .enumerate()
        .map(|(k, i)| Event {
            kind: if k % 7 == 0 {
                "item.purchased"
            } else {
                "item.viewed"
            }
            .to_owned(),
            // Spread users over the window so series and trends have data.
            ts_ms: now - span + (k as i64 * 7_919 * 60_000) % span,
            user: Some(i.user),
            item: Some(i.item),
            category: None,
            id: Some(format!("e{k}")),
            received_ms: now,
        })
        .collect();
    (events, now)
}

fn recompute(c: &mut Criterion) {
    let mut group = c.benchmark_group("recompute");
    group.sample_size(10);
    for n in [10_000usize, 100_000] {
        let (events, now) = events(n);
        let params = ComputeParams::default();
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &events, |b, events| {
            b.iter(|| compute(black_box(events), now, &params))
        });
    }
    group.finish();
}

criterion_group!(benches, recompute);
criterion_main!(benches);
