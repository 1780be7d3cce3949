//! `ContentPipeline` (`cp`): a dedicated generative worker running a graph of components,
//! with its own MongoDB user, Redis instance and RabbitMQ queue bindings.
//!
//! [`components`] holds the pipeline graph, [`repeat`] its loops, [`backends`] what the
//! worker is given (LLM provider, MongoDB, Redis, messaging).

pub mod backends;
pub mod components;
pub mod repeat;

pub use backends::{
    EvictionPolicy, LlmFallback, LlmProvider, PipelineMessaging, PipelineMongo, PipelineRedis,
    QueueBinding,
};
pub use components::{Component, ComponentType};
pub use repeat::{BodyComponent, BodyComponentType, OnCapReached, Repeat};

use crate::common::{DeletionPolicy, ObservedState, PlatformRef, ServiceType, Workload};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Desired state of a ContentPipeline: its templates, component graph and resources.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "machina.dev",
    version = "v1alpha1",
    kind = "ContentPipeline",
    plural = "contentpipelines",
    shortname = "cp",
    category = "machina",
    namespaced,
    status = "ContentPipelineStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Replicas","type":"string","jsonPath":".status.replicasReady"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Queue","type":"string","jsonPath":".status.queue","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.renderTemplate) || (has(self.templates) && self.templates.exists(t, t.name == c.renderTemplate.template)))").message("a RenderTemplate component must name a template declared in spec.templates").field_path(".components"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.inputs) || c.inputs.all(i, self.components.exists(o, o.name == i)))").message("every component input must name another component of the pipeline").field_path(".components"))]
#[x_kube(validation = Rule::new("!self.components.exists(c, c.type == 'LlmCompletion' || (has(c.repeat) && c.repeat.components.exists(b, b.type == 'LlmCompletion'))) || has(self.llm)").message("an LlmCompletion component needs spec.llm (the provider to call)").field_path(".llm"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.repeat) || c.repeat.components.all(b, !has(b.inputs) || b.inputs.all(i, i == c.name || c.repeat.components.exists(o, o.name == i) || self.components.exists(o, o.name == i))))").message("every input of a loop body component must name a component of its body, the loop itself or a component of the pipeline").field_path(".components"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.repeat) || c.repeat.components.all(b, !self.components.exists(o, o.name == b.name)))").message("the components of a loop's body need names no component of the pipeline has").field_path(".components"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.repeat) || c.repeat.components.all(b, !has(b.renderTemplate) || (has(self.templates) && self.templates.exists(t, t.name == b.renderTemplate.template))))").message("a RenderTemplate component in a loop must name a template declared in spec.templates").field_path(".components"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.repeat) || c.repeat.components.all(b, !has(b.lookupDocument) || !has(b.lookupDocument.database) || (has(self.mongodb.database) && b.lookupDocument.database == self.mongodb.database) || (has(self.mongodb.readDatabases) && b.lookupDocument.database in self.mongodb.readDatabases)))").message("a LookupDocument component in a loop may only read the pipeline's database or one listed in mongodb.readDatabases").field_path(".components"))]
#[x_kube(validation = Rule::new("!has(self.output) || self.components.exists(c, c.name == self.output)").message("spec.output must name a component of the pipeline").field_path(".output"))]
#[x_kube(validation = Rule::new("!self.components.exists(c, c.type == 'Cache') || self.redis.enabled").message("a Cache component needs the pipeline's Redis: set redis.enabled").field_path(".redis.enabled"))]
#[x_kube(validation = Rule::new("self.components.all(c, !has(c.lookupDocument) || !has(c.lookupDocument.database) || (has(self.mongodb.database) && c.lookupDocument.database == self.mongodb.database) || (has(self.mongodb.readDatabases) && c.lookupDocument.database in self.mongodb.readDatabases))").message("a LookupDocument component may only read the pipeline's database or one listed in mongodb.readDatabases").field_path(".components"))]
pub struct ContentPipelineSpec {
    /// The Platform this pipeline runs on.
    pub platform_ref: PlatformRef,
    /// What the pipeline generates, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Replicas, image, resources and placement of the generative worker.
    #[serde(flatten)]
    pub workload: Workload,
    /// How the worker's Service is exposed.
    #[serde(default)]
    pub service: PipelineService,
    /// Templates the pipeline renders, by local name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub templates: Vec<TemplateBinding>,
    /// The component graph; edges are each component's `inputs`. It is acyclic: loops are
    /// Repeat components, whose bodies run again until a condition holds, up to a cap.
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub components: Vec<Component>,
    /// Component whose output is the pipeline's result; defaults to the last component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub output: Option<String>,
    /// OpenAI-compatible provider called by LlmCompletion components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmProvider>,
    /// The pipeline's MongoDB database and user.
    #[serde(default)]
    pub mongodb: PipelineMongo,
    /// The pipeline's own Redis instance (cache).
    #[serde(default)]
    pub redis: PipelineRedis,
    /// Asynchronous jobs: queue, bindings, retries.
    #[serde(default)]
    pub messaging: PipelineMessaging,
    /// Whether the MongoDB user, RabbitMQ user and queues are removed on delete.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Exposure of the generative worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineService {
    /// Service type.
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
    /// Service port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65_535))]
    pub port: i32,
}

impl Default for PipelineService {
    fn default() -> Self {
        Self {
            type_: ServiceType::default(),
            port: default_port(),
        }
    }
}

fn default_port() -> i32 {
    8080
}

/// A Template the pipeline uses, under a local name components refer to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateBinding {
    /// Local name used by RenderTemplate components.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// Name of the Template resource in the pipeline's namespace.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub template_ref: String,
    /// Pin a stored version; by default the Template's active version is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub version: Option<i64>,
}

/// Observed state of a ContentPipeline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentPipelineStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub observed: ObservedState,
    /// In-cluster URL of the pipeline's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Desired replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Ready replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Ready over desired replicas, for example `2/2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_ready: Option<String>,
    /// Secret with the MongoDB username, password and connection string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongodb_secret: Option<String>,
    /// Secret with the Redis password and URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_secret: Option<String>,
    /// Secret with the RabbitMQ username, password and AMQP URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rabbitmq_secret: Option<String>,
    /// MongoDB database of the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Job queue of the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Dead-letter queue of the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    /// SHA-256 of the pipeline definition the worker runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_checksum: Option<String>,
    /// Template versions the definition was built with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub templates: Vec<ResolvedTemplate>,
}

/// A template binding resolved to a stored version.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedTemplate {
    /// Local name of the binding.
    pub name: String,
    /// Stored version in use.
    pub version: i64,
}
