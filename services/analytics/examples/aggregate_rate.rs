//! Aggregation throughput of the worker's pure core on one core: selects and aggregates
//! `COUNT` synthetic events (default 1,000,000) into hour rollups with two dimensions and
//! count, sum, unique (HLL) and percentile (DDSketch) metrics; prints events/s.

use chrono::{Duration, Utc};
use machina_analytics::event::Event;
use machina_analytics::rollup::bucket::{Bucket, GranularityKey};
use machina_analytics::rollup::{Job, compute};
use serde_json::json;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let spec = serde_json::from_value(json!({
        "platformRef": {"name": "acme"}, "source": {"eventTypes": ["item.*"]},
        "dimensions": ["type", "properties.country"],
        "metrics": [{"name": "events", "type": "Count"},
                    {"name": "revenue", "type": "Sum", "property": "properties.price"},
                    {"name": "buyers", "type": "Unique", "property": "actorId"},
                    {"name": "latency", "type": "Percentiles", "property": "properties.ms", "percentiles": [50, 95, 99]}],
        "windows": ["Hour"]
    }))?;
    let job = Job::new(spec);
    let hour = GranularityKey::Hour.floor(Utc::now());
    let events: Vec<Event> = (0..count)
        .map(|i| {
            let country = ["DE", "FR", "US", "JP"][i % 4];
            serde_json::from_value(json!({"id": format!("e{i}"), "type": if i % 3 == 0 { "item.viewed" } else { "item.purchased" },
                "timestamp": hour + Duration::milliseconds((i % 3_600_000) as i64), "actorId": format!("u{}", i % 50_000),
                "properties": {"country": country, "price": (i % 97) as f64, "ms": (i % 1000) as f64}}))
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let rollups = compute(&job, Bucket::of(GranularityKey::Hour, hour), &events);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "aggregated {count} events into {} rollups in {secs:.2}s = {:.0} events/s on one core",
        rollups.len(),
        count as f64 / secs
    );
    Ok(())
}
