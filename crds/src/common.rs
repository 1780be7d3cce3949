//! Types shared by every kind: references, workload sizing, deletion policy, status conditions.

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pattern of a DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric.
pub const DNS1123_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Pattern of a DNS-1123 subdomain (Kubernetes object names).
pub const DNS1123_SUBDOMAIN: &str =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// What happens to external state (MongoDB users, RabbitMQ objects, stored templates)
/// when the custom resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Remove the external state together with the resource.
    #[default]
    Delete,
    /// Keep the external state; only the Kubernetes objects are garbage-collected.
    Retain,
}

/// A reference to the Platform a resource runs on.
///
/// The Platform may live in another namespace only when its `tenancy.namespaceSelector`
/// admits the referencing namespace (checked by the operator, reported in status).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRef {
    /// Name of the Platform.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// Namespace of the Platform; defaults to the namespace of the referencing resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub namespace: Option<String>,
}

/// A key in a Secret of the resource's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = 253), pattern(r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// How a workload's Service is exposed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    /// Reachable inside the cluster only.
    #[default]
    ClusterIP,
    /// Exposed on every node's port.
    NodePort,
    /// Exposed through an external load balancer.
    LoadBalancer,
}

/// Sizing and placement of one workload (a Deployment the operator creates).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.minAvailable) || self.minAvailable < self.replicas || self.replicas == 0").message("minAvailable must be lower than replicas, or no pod could ever be evicted").field_path(".minAvailable"))]
pub struct Workload {
    /// Number of pods.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// Container image; defaults to the Machina image of this component and release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// CPU and memory requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Extra environment variables for the container (for example feature flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub env: Vec<EnvVar>,
    /// Pods that must stay available during voluntary disruptions (a PodDisruptionBudget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub min_available: Option<i32>,
    /// Node selector for the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for the pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub tolerations: Vec<Toleration>,
    /// Extra labels and annotations put on the pods (for example for a service mesh).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
}

impl Default for Workload {
    fn default() -> Self {
        Self {
            replicas: default_replicas(),
            image: None,
            resources: None,
            env: Vec::new(),
            min_available: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            pod_annotations: BTreeMap::new(),
        }
    }
}

fn default_replicas() -> i32 {
    1
}

/// Status conditions, as Kubernetes API conventions describe them.
pub type Conditions = Vec<Condition>;

/// What every status starts with: the generation it describes and its conditions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedState {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing and Degraded, with machine-readable reasons and human messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Conditions,
}

/// Condition types every Machina resource reports.
pub mod condition_types {
    /// The resource is fully reconciled and serving.
    pub const READY: &str = "Ready";
    /// The operator is working towards the desired state (rollout, provisioning).
    pub const PROGRESSING: &str = "Progressing";
    /// The resource cannot reach the desired state without a change (bad input, failing backend).
    pub const DEGRADED: &str = "Degraded";
}

/// Schema of a free-form JSON object (a JSON Schema, a document filter, a default context):
/// kept as written, never pruned.
pub(crate) fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema of an optional free-form JSON object.
pub(crate) fn optional_free_form_object(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = free_form_object(g);
    schema.insert("nullable".into(), true.into());
    schema
}
