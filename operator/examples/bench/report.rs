//! The benchmark's output: one Markdown table, ready for `docs/benchmarks.md`.

use crate::backends::Found;
use crate::measure::{metric, summary};
use crate::processes::Memory;
use crate::{Rollout, mib};
use std::time::Duration;

/// Everything one run measured.
pub struct Report<'a> {
    /// Pipelines applied.
    pub pipelines: usize,
    /// Applies in flight.
    pub concurrency: usize,
    /// The API-only run, when it ran.
    pub peer: Option<&'a Rollout>,
    /// The operator run.
    pub operator: &'a Rollout,
    /// Operator memory: idle, with every pipeline Ready, after the deletion.
    pub memory: [Memory; 3],
    /// devcluster's memory at the end.
    pub devcluster: Memory,
    /// The operator's `/metrics` once every pipeline was Ready.
    pub metrics: &'a str,
    /// Backends after the rollout.
    pub found: Found,
    /// Backends after the deletion.
    pub gone: Found,
    /// From the delete to the last finalizer released.
    pub deletion: Duration,
}

fn percentiles(values: &[f64]) -> String {
    let s = summary(values);
    format!("{:.2} / {:.2} / {:.2} s", s.p50, s.p99, s.max)
}

fn rollout_rows(label: &str, r: &Rollout, n: usize, concurrency: usize) {
    let secs = r.apply_total.as_secs_f64();
    println!(
        "| {label}: apply {n} (client, {concurrency} in flight) | {secs:.2} s = {:.0}/s |",
        n as f64 / secs.max(f64::EPSILON)
    );
    println!(
        "| {label}: apply → Ready p50 / p99 / max | {} |",
        percentiles(&r.latencies)
    );
    println!(
        "| {label}: all {n} Ready after the first apply | {:.2} s |",
        r.all_ready.as_secs_f64()
    );
}

/// Prints the table.
pub fn print(r: &Report<'_>) {
    let n = r.pipelines;
    println!("| measure | result |");
    println!("|---|---|");
    if let Some(peer) = r.peer {
        rollout_rows("peer (no operator)", peer, n, r.concurrency);
    }
    rollout_rows("operator", r.operator, n, r.concurrency);
    println!(
        "| operator: apply → Ready excluding its own provisioning, p50 / p99 / max | {} |",
        percentiles(&r.operator.latencies_excluding_provisioning)
    );
    println!(
        "| operator: provisioning per pipeline before Ready, p50 / p99 / max | {} |",
        percentiles(&r.operator.provisioning)
    );
    let labels = |backend: &str| format!(r#"controller="contentpipeline",backend="{backend}""#);
    for backend in ["mongodb", "rabbitmq"] {
        let count = metric(
            r.metrics,
            "machina_operator_provision_duration_seconds_count",
            &labels(backend),
        );
        let sum = metric(
            r.metrics,
            "machina_operator_provision_duration_seconds_sum",
            &labels(backend),
        );
        println!(
            "| operator: {backend} provisioning calls until all Ready | {count:.0}, {sum:.1} s in total, {:.1} ms mean |",
            1000.0 * sum / count.max(1.0)
        );
    }
    let reconciles = metric(
        r.metrics,
        "machina_operator_reconciliations_total",
        r#"controller="contentpipeline""#,
    );
    let reconcile_sum = metric(
        r.metrics,
        "machina_operator_reconcile_duration_seconds_sum",
        r#"controller="contentpipeline""#,
    );
    println!(
        "| operator: reconciles until all Ready | {reconciles:.0} ({:.2} per pipeline, {:.0} ms mean) |",
        reconciles / n as f64,
        1000.0 * reconcile_sum / reconciles.max(1.0)
    );
    let [idle, ready, end] = r.memory;
    println!(
        "| operator RSS: idle / peak sampled during rollout / {n} Ready / VmHWM / after deletion | {:.1} / {:.1} / {:.1} / {:.1} / {:.1} MiB |",
        mib(idle.rss_kib),
        mib(r.operator.peak_rss_kib),
        mib(ready.rss_kib),
        mib(end.hwm_kib.max(ready.hwm_kib)),
        mib(end.rss_kib)
    );
    println!(
        "| devcluster RSS at the end (VmHWM) | {:.1} MiB ({:.1}) |",
        mib(r.devcluster.rss_kib),
        mib(r.devcluster.hwm_kib)
    );
    println!(
        "| backends after the rollout: MongoDB users / queues / dead-letter queues / bindings | {} / {} / {} / {} |",
        r.found.mongo_users, r.found.queues, r.found.dead_letter_queues, r.found.bindings
    );
    println!(
        "| delete all → every finalizer released | {:.2} s; left: {} / {} / {} / {} |",
        r.deletion.as_secs_f64(),
        r.gone.mongo_users,
        r.gone.queues,
        r.gone.dead_letter_queues,
        r.gone.bindings
    );
}
