//! Rollup documents of the output collection (schema in the README): one per bucket and
//! dimension values, `_id` derived from both so a recomputation replaces it.

use super::compute::{MetricState, Rollup};
use chrono::{DateTime, Duration, Utc};
use mongodb::bson::{self, Bson, Document, doc, spec::BinarySubtype};
use sha2::{Digest, Sha256};

/// `_id` of a rollup: `<granularity>:<bucket start ms>:<hash of the dimension values>`.
pub fn rollup_id(rollup: &Rollup) -> String {
    let values: Vec<&Option<String>> = rollup.dimensions.iter().map(|(_, v)| v).collect();
    let json = serde_json::to_string(&values).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}:{}:{hex}",
        rollup.bucket.granularity.name(),
        rollup.bucket.start.timestamp_millis()
    )
}

/// A BSON date of `ts`.
pub fn date(ts: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(ts.timestamp_millis())
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(bson::Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

/// The field name of percentile `p`: `p50`, `p99_9`.
pub fn percentile_key(p: f64) -> String {
    format!("p{p}").replace('.', "_")
}

fn metric_doc(state: &MetricState) -> Document {
    let f = |v: Option<f64>| v.map_or(Bson::Null, Bson::Double);
    match state {
        MetricState::Count(n) => doc! {"type": "Count", "value": *n as i64},
        MetricState::Sum(s) => doc! {"type": "Sum", "value": *s},
        MetricState::Min(m) => doc! {"type": "Min", "value": f(*m)},
        MetricState::Max(m) => doc! {"type": "Max", "value": f(*m)},
        MetricState::Average { sum, count } => doc! {
            "type": "Average",
            "value": f((*count > 0).then(|| sum / *count as f64)),
            "sum": *sum,
            "count": *count as i64,
        },
        MetricState::Unique(hll) => doc! {
            "type": "Unique", "value": hll.estimate() as i64, "hll": binary(hll.to_bytes()),
        },
        MetricState::Percentiles {
            sketch,
            percentiles,
        } => {
            let mut values = Document::new();
            for p in percentiles {
                values.insert(percentile_key(*p), f(sketch.quantile(p / 100.0)));
            }
            doc! {
                "type": "Percentiles", "values": values, "count": sketch.count() as i64,
                "relativeAccuracy": sketch.alpha(), "sketch": binary(sketch.to_bytes()),
            }
        }
    }
}

/// The document of `rollup` for `job`, written at `now`, kept `retention_days` after
/// its bucket ends (`expireAt`, TTL index).
pub fn rollup_doc(job: &str, rollup: &Rollup, now: DateTime<Utc>, retention_days: i32) -> Document {
    let mut dimensions = Document::new();
    for (name, value) in &rollup.dimensions {
        dimensions.insert(name.clone(), value.clone().map_or(Bson::Null, Bson::String));
    }
    let mut metrics = Document::new();
    for (name, state) in &rollup.metrics {
        metrics.insert(name.clone(), metric_doc(state));
    }
    let end = rollup.bucket.end();
    doc! {
        "_id": rollup_id(rollup),
        "job": job,
        "granularity": rollup.bucket.granularity.name(),
        "bucketStart": date(rollup.bucket.start),
        "bucketEnd": date(end),
        "dimensions": dimensions,
        "count": rollup.count as i64,
        "metrics": metrics,
        "updatedAt": date(now),
        "expireAt": date(end + Duration::days(i64::from(retention_days.max(1)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::bucket::{Bucket, GranularityKey};
    use crate::rollup::compute::compute;
    use crate::rollup::compute::tests::{mk_event, mk_job};

    #[test]
    fn documents_carry_values_and_sketches() {
        let job = mk_job();
        let events = vec![
            mk_event(
                "1",
                "item.purchased",
                "2026-01-01T10:05:00Z",
                "a",
                "DE",
                10.0,
            ),
            mk_event(
                "2",
                "item.purchased",
                "2026-01-01T10:06:00Z",
                "b",
                "DE",
                30.0,
            ),
        ];
        let bucket = Bucket::of(GranularityKey::Hour, events[0].timestamp);
        let rollups = compute(&job, bucket, &events);
        let now = Utc::now();
        let d = rollup_doc("j", &rollups[0], now, 90);
        assert!(
            d.get_str("_id")
                .expect("id")
                .starts_with("hour:1767261600000:")
        );
        assert_eq!(d.get_i64("count").expect("count"), 2);
        let metrics = d.get_document("metrics").expect("metrics");
        assert_eq!(
            metrics
                .get_document("revenue")
                .expect("r")
                .get_f64("value")
                .expect("v"),
            40.0
        );
        assert_eq!(
            metrics
                .get_document("users")
                .expect("u")
                .get_i64("value")
                .expect("v"),
            2
        );
        let latency = metrics.get_document("latency").expect("l");
        let p50 = latency
            .get_document("values")
            .expect("v")
            .get_f64("p50")
            .expect("p50");
        assert!((p50 - 100.0).abs() <= 1.0, "{p50}");
        assert_eq!(
            d.get_document("dimensions")
                .expect("d")
                .get_str("type")
                .expect("t"),
            "item.purchased"
        );
        // Same input, same id: a recomputation replaces the document.
        assert_eq!(
            rollup_id(&rollups[0]),
            rollup_id(&compute(&job, bucket, &events)[0])
        );
        assert_eq!(percentile_key(99.9), "p99_9");
    }
}
