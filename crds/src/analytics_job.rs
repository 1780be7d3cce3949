//! `AnalyticsJob` (`aj`): a declarative aggregation over the event stream, run as a streaming
//! worker or on a schedule, writing rollups and insights.

use crate::common::{DeletionPolicy, ObservedState, PlatformRef};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an AnalyticsJob: which events, which aggregates, how often, where to.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "machina.dev",
    version = "v1alpha1",
    kind = "AnalyticsJob",
    plural = "analyticsjobs",
    shortname = "aj",
    category = "machina",
    namespaced,
    status = "AnalyticsJobStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.mode"}"#,
    printcolumn = r#"{"name":"Schedule","type":"string","jsonPath":".spec.schedule","priority":1}"#,
    printcolumn = r#"{"name":"Events","type":"integer","jsonPath":".status.eventsProcessed"}"#,
    printcolumn = r#"{"name":"Last Success","type":"date","jsonPath":".status.lastSuccessTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.mode == 'Scheduled' ? has(self.schedule) : !has(self.schedule)").message("a Scheduled job needs a schedule; a Streaming job has none").field_path(".schedule"))]
#[x_kube(validation = Rule::new("!has(self.timeZone) || self.mode == 'Scheduled'").message("timeZone applies to Scheduled jobs only").field_path(".timeZone"))]
pub struct AnalyticsJobSpec {
    /// The Platform whose event stream is aggregated.
    pub platform_ref: PlatformRef,
    /// `Streaming` keeps a worker consuming events; `Scheduled` runs a Job per `schedule`.
    #[serde(default)]
    pub mode: JobMode,
    /// Cron schedule (5 fields or a macro such as `@hourly`) of a Scheduled job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), pattern(r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9*?,/LW#A-Za-z-]+\s+){4}[0-9*?,/LW#A-Za-z-]+)$"))]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule, for example `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), pattern(r"^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$"))]
    pub time_zone: Option<String>,
    /// Pause the job (no new runs, the streaming worker scaled to zero).
    #[serde(default)]
    pub suspend: bool,
    /// The events aggregated.
    pub source: EventSource,
    /// Conditions every aggregated event satisfies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub filters: Vec<EventFilter>,
    /// Event fields the aggregates are broken down by (`type`, `properties.x`, `context.x`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(min = 1, max = 128), pattern(r"^(type|source|actorId|sessionId|(properties|context)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$")))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub dimensions: Vec<String>,
    /// Aggregates computed per window and dimension values.
    #[schemars(length(min = 1, max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub metrics: Vec<Metric>,
    /// Time buckets the rollups are kept at.
    #[serde(default = "default_windows")]
    #[schemars(length(min = 1, max = 3))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub windows: Vec<Granularity>,
    /// How late an event may arrive and still be counted in its window.
    #[serde(default = "default_lateness")]
    #[schemars(range(min = 0, max = 86_400))]
    pub allowed_lateness_seconds: i32,
    /// Where rollups go and how long they are kept.
    #[serde(default)]
    pub output: JobOutput,
    /// Insights computed from the rollups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights: Option<InsightsConfig>,
    /// CPU and memory of the worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Worker image; defaults to the Machina analytics image of the Platform's release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Retries of a failed scheduled run.
    #[serde(default = "default_backoff")]
    #[schemars(range(min = 0, max = 20))]
    pub backoff_limit: i32,
    /// Finished runs kept for inspection.
    #[serde(default = "default_history")]
    #[schemars(range(min = 0, max = 100))]
    pub successful_jobs_history_limit: i32,
    /// Failed runs kept for inspection.
    #[serde(default = "default_failed_history")]
    #[schemars(range(min = 0, max = 100))]
    pub failed_jobs_history_limit: i32,
    /// Whether the MongoDB user, queue and output collection are removed on delete.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

fn default_windows() -> Vec<Granularity> {
    vec![Granularity::Hour]
}

fn default_lateness() -> i32 {
    300
}

fn default_backoff() -> i32 {
    3
}

fn default_history() -> i32 {
    3
}

fn default_failed_history() -> i32 {
    1
}

/// How the job runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum JobMode {
    /// A Deployment consuming the job's queue continuously.
    #[default]
    Streaming,
    /// A CronJob aggregating stored events on a schedule.
    Scheduled,
}

/// Which events the job reads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSource {
    /// Event types (routing-key patterns with `*` and `#`), for example `page.view` or `content.#`.
    #[schemars(
        length(min = 1, max = 32),
        inner(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_*#.:-]+$"))
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub event_types: Vec<String>,
}

/// A condition on an event field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(self.op in ['In', 'NotIn']) == has(self.values)").message("values is set exactly for the In and NotIn operators").field_path(".values"))]
#[x_kube(validation = Rule::new("(self.op in ['Exists', 'In', 'NotIn']) != has(self.value)").message("value is required by comparison operators and forbidden for Exists, In and NotIn").field_path(".value"))]
pub struct EventFilter {
    /// Event field, for example `properties.country`.
    #[schemars(length(min = 1, max = 128), pattern(r"^(type|source|actorId|sessionId|(properties|context)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$"))]
    pub field: String,
    /// Comparison.
    pub op: FilterOp,
    /// Operand of a comparison; compared as numbers when both sides are numeric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1_024))]
    pub value: Option<String>,
    /// Operands of In / NotIn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), inner(length(max = 1_024)))]
    pub values: Option<Vec<String>>,
}

/// Filter operators.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum FilterOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// One of `values`.
    In,
    /// None of `values`.
    NotIn,
    /// The field is present.
    Exists,
}

/// One aggregate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'Count' ? !has(self.property) : has(self.property)").message("property is required by every metric but Count, which counts events").field_path(".property"))]
#[x_kube(validation = Rule::new("(self.type == 'Percentiles') == has(self.percentiles)").message("percentiles is set exactly for the Percentiles metric").field_path(".percentiles"))]
pub struct Metric {
    /// Name of the metric in the rollups.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z][a-z0-9_]*$"))]
    pub name: String,
    /// Aggregate function.
    #[serde(rename = "type")]
    pub type_: MetricType,
    /// Numeric event field (Sum, Min, Max, Average, Percentiles) or identity field (Unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 128),
        pattern(r"^(actorId|sessionId|(properties|context)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$")
    )]
    pub property: Option<String>,
    /// Percentiles to report, each strictly between 0 and 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 8), inner(range(min = 0.001, max = 99.999)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub percentiles: Option<Vec<f64>>,
}

/// Aggregate functions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MetricType {
    /// Number of events.
    Count,
    /// Sum of a numeric field.
    Sum,
    /// Smallest value of a numeric field.
    Min,
    /// Largest value of a numeric field.
    Max,
    /// Mean of a numeric field.
    Average,
    /// Distinct values of a field (HyperLogLog estimate).
    Unique,
    /// Quantiles of a numeric field (quantile sketch).
    Percentiles,
}

/// Rollup bucket sizes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Granularity {
    /// One-minute buckets.
    Minute,
    /// One-hour buckets.
    Hour,
    /// One-day buckets (UTC).
    Day,
}

/// Output of the job.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.collection) == has(oldSelf.collection) && (!has(self.collection) || self.collection == oldSelf.collection)").message("collection is immutable: the rollups live in it").field_path(".collection"))]
pub struct JobOutput {
    /// Rollup collection in the Platform's analytics database; defaults to `rollups_<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120), pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub collection: Option<String>,
    /// Days rollups are kept (TTL index).
    #[serde(default = "default_retention")]
    #[schemars(range(min = 1, max = 3_650))]
    pub retention_days: i32,
}

impl Default for JobOutput {
    fn default() -> Self {
        Self {
            collection: None,
            retention_days: default_retention(),
        }
    }
}

fn default_retention() -> i32 {
    90
}

/// Insights derived from the job's rollups by the insights service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct InsightsConfig {
    /// Detect rising and falling series, with significance.
    #[serde(default)]
    pub trends: bool,
    /// Flag anomalous buckets against a seasonal baseline.
    #[serde(default)]
    pub anomalies: bool,
    /// Item-to-item recommendations from interaction events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendations: Option<Recommendations>,
}

/// Recommendation settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recommendations {
    /// Event field naming the item interacted with, for example `properties.contentId`.
    #[schemars(
        length(min = 1, max = 128),
        pattern(r"^(properties|context)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    )]
    pub item_field: String,
    /// Recommendations kept per item and per user.
    #[serde(default = "default_top_k")]
    #[schemars(range(min = 1, max = 100))]
    pub top_k: i32,
}

fn default_top_k() -> i32 {
    10
}

/// Observed state of an AnalyticsJob.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsJobStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub observed: ObservedState,
    /// Start of the last run (Scheduled) or last progress report (Streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_time: Option<Time>,
    /// Completion of the last successful run or checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_time: Option<Time>,
    /// Timestamp of the newest event aggregated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<Time>,
    /// Events aggregated since the job was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_processed: Option<i64>,
    /// Collection the rollups are written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_collection: Option<String>,
    /// Secret with the job's MongoDB credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongodb_secret: Option<String>,
    /// Queue bound to the events exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}
