//! Timings: when each pipeline's Ready condition turned True (a watch), percentiles, the
//! operator's provisioning time per pipeline (its debug events) and its metrics.

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use machina_crds::ContentPipeline;
use machina_crds::common::condition_types::READY;
use machina_crds::conditions::is_true;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// When each pipeline was first seen Ready (monotonic and wall clock).
pub type ReadyTimes = Arc<Mutex<HashMap<String, (Instant, SystemTime)>>>;

/// Watches the pipelines of `api`, recording the first moment each is seen Ready.
pub fn watch_ready(api: Api<ContentPipeline>) -> (ReadyTimes, tokio::task::JoinHandle<()>) {
    let times: ReadyTimes = Arc::default();
    let sink = times.clone();
    let task = tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(event) = stream.next().await {
            let Ok(pipeline) = event else { continue };
            let ready = pipeline
                .status
                .as_ref()
                .is_some_and(|s| is_true(&s.observed.conditions, READY));
            if ready {
                let mut times = sink.lock().unwrap_or_else(|e| e.into_inner());
                times
                    .entry(pipeline.name_any())
                    .or_insert_with(|| (Instant::now(), SystemTime::now()));
            }
        }
    });
    (times, task)
}

/// Number of pipelines seen Ready so far.
pub fn ready_count(times: &ReadyTimes) -> usize {
    times.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// p50, p99 and max of `values` (seconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Median.
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Nearest-rank percentiles.
pub fn summary(values: &[f64]) -> Summary {
    if values.is_empty() {
        return Summary::default();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    };
    Summary {
        p50: rank(0.50),
        p99: rank(0.99),
        max: sorted[sorted.len() - 1],
    }
}

/// Per pipeline, the time the operator spent provisioning it (MongoDB and RabbitMQ calls)
/// before `until[name]`: the `provisioned` debug events of its JSON log, attributed through
/// the reconcile span's `name` field.
pub fn provisioning_per_pipeline(
    log: &Path,
    until: &HashMap<String, SystemTime>,
) -> HashMap<String, Duration> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut spent: HashMap<String, Duration> = HashMap::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["message"] != "provisioned" {
            continue;
        }
        // The reconcile span's fields come first; the span's own `name` ("reconcile")
        // repeats the key after them, so a JSON parser keeps the wrong one.
        let Some(name) = span_object_name(line) else {
            continue;
        };
        let at = event["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(SystemTime::from);
        let before_ready = match (at, until.get(name)) {
            (Some(at), Some(ready)) => at <= *ready,
            _ => false,
        };
        if before_ready {
            let micros = event["elapsed_us"].as_u64().unwrap_or(0);
            *spent.entry(name.to_owned()).or_default() += Duration::from_micros(micros);
        }
    }
    spent
}

/// The `name` field of the reconcile span in a JSON log line: `"span":{"name":"<object>",…`.
fn span_object_name(line: &str) -> Option<&str> {
    let rest = line.split_once(r#""span":{"name":""#)?.1;
    Some(&rest[..rest.find('"')?])
}

/// The value of metric `name{labels…}` in a Prometheus text exposition (`0` when absent).
pub fn metric(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
