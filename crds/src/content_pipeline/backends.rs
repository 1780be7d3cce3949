//! What a pipeline's worker is given: an LLM provider, a MongoDB user, a Redis instance and
//! RabbitMQ bindings.

use crate::common::SecretKeyRef;
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An OpenAI-compatible chat-completions endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmProvider {
    /// Base URL of the API (the part before `/v1/chat/completions`).
    #[schemars(length(min = 1, max = 2_048), pattern(r"^https?://[^\s]+$"))]
    pub base_url: String,
    /// Default model.
    #[schemars(length(min = 1, max = 256))]
    pub model: String,
    /// Secret key holding the API key; none for endpoints without authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeyRef>,
    /// Timeout of one call.
    #[serde(default = "default_llm_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: i32,
    /// Retries after a timeout, 429 or 5xx, with exponential backoff.
    #[serde(default = "default_llm_retries")]
    #[schemars(range(min = 0, max = 10))]
    pub max_retries: i32,
    /// Price of one million prompt tokens, for cost accounting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub input_cost_per_million_tokens: Option<f64>,
    /// Price of one million completion tokens, for cost accounting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub output_cost_per_million_tokens: Option<f64>,
    /// Endpoint and model tried when the primary keeps failing (after its retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<LlmFallback>,
}

/// A second OpenAI-compatible endpoint used when the primary is unavailable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmFallback {
    /// Base URL of the fallback API.
    #[schemars(length(min = 1, max = 2_048), pattern(r"^https?://[^\s]+$"))]
    pub base_url: String,
    /// Model to ask at the fallback.
    #[schemars(length(min = 1, max = 256))]
    pub model: String,
    /// Secret key holding the fallback's API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeyRef>,
}

fn default_llm_timeout() -> i32 {
    60
}

fn default_llm_retries() -> i32 {
    2
}

/// The pipeline's MongoDB database and user.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.database) == has(oldSelf.database) && (!has(self.database) || self.database == oldSelf.database)").message("database is immutable: generated content lives in it").field_path(".database"))]
pub struct PipelineMongo {
    /// Database the user owns (readWrite); defaults to `<prefix>_cp_<namespace>_<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Za-z0-9_-]+$"))]
    pub database: Option<String>,
    /// Other databases the user may read (for document lookups), for example the content service's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 8),
        inner(length(min = 1, max = 63), pattern(r"^[A-Za-z0-9_-]+$"))
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub read_databases: Vec<String>,
}

/// The pipeline's own Redis instance.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRedis {
    /// Whether the operator runs a Redis for this pipeline (Cache components need it).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `maxmemory` of the instance, as a Kubernetes quantity.
    #[serde(default = "default_max_memory")]
    #[schemars(pattern(r"^[1-9][0-9]*(Ki|Mi|Gi)?$"))]
    pub max_memory: String,
    /// What Redis evicts when `maxMemory` is reached.
    #[serde(default)]
    pub eviction_policy: EvictionPolicy,
    /// Keep data across restarts (append-only file on a volume).
    #[serde(default)]
    pub persistence: bool,
    /// Redis image; defaults to the platform's Redis image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// CPU and memory of the Redis container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for PipelineRedis {
    fn default() -> Self {
        Self {
            enabled: true,
            max_memory: default_max_memory(),
            eviction_policy: EvictionPolicy::default(),
            persistence: false,
            image: None,
            resources: None,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_max_memory() -> String {
    "64Mi".into()
}

/// Redis `maxmemory-policy` values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    /// Refuse writes when full.
    Noeviction,
    /// Evict the least recently used keys.
    #[default]
    AllkeysLru,
    /// Evict the least frequently used keys.
    AllkeysLfu,
    /// Evict random keys.
    AllkeysRandom,
    /// Evict the least recently used keys with an expiry.
    VolatileLru,
    /// Evict the least frequently used keys with an expiry.
    VolatileLfu,
    /// Evict random keys with an expiry.
    VolatileRandom,
    /// Evict the keys closest to expiry.
    VolatileTtl,
}

/// Asynchronous jobs over RabbitMQ.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.asyncJobs || !has(self.bindings)").message("bindings route asynchronous jobs: set asyncJobs or remove the bindings").field_path(".bindings"))]
pub struct PipelineMessaging {
    /// Accept asynchronous jobs from the pipeline's queue.
    #[serde(default = "default_true")]
    pub async_jobs: bool,
    /// Extra bindings of the pipeline's queue; the pipeline's own routing key is always bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub bindings: Vec<QueueBinding>,
    /// Unacknowledged jobs a worker holds at once.
    #[serde(default = "default_prefetch")]
    #[schemars(range(min = 1, max = 1_000))]
    pub prefetch: i32,
    /// Deliveries of a job before it goes to the dead-letter queue.
    #[serde(default = "default_deliveries")]
    #[schemars(range(min = 1, max = 100))]
    pub max_deliveries: i32,
    /// Jobs waiting longer than this expire to the dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 604_800))]
    pub message_ttl_seconds: Option<i32>,
}

impl Default for PipelineMessaging {
    fn default() -> Self {
        Self {
            async_jobs: true,
            bindings: Vec::new(),
            prefetch: default_prefetch(),
            max_deliveries: default_deliveries(),
            message_ttl_seconds: None,
        }
    }
}

fn default_prefetch() -> i32 {
    8
}

fn default_deliveries() -> i32 {
    5
}

/// A binding of the pipeline's queue to an exchange.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueBinding {
    /// Exchange; defaults to the Platform's jobs exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_.:-]+$"))]
    pub exchange: Option<String>,
    /// Routing keys (topic patterns with `*` and `#`).
    #[schemars(
        length(min = 1, max = 16),
        inner(length(min = 1, max = 255), pattern(r"^[A-Za-z0-9_*#.:-]+$"))
    )]
    pub routing_keys: Vec<String>,
}
