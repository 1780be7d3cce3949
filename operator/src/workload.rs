//! The Deployment, Service and PodDisruptionBudget of one workload, shared by the Platform's
//! services, pipeline workers and the streaming analytics worker.

use crate::labels::AppLabels;
use crate::pod::{self, HTTP_PORT_NAME, PlatformSettings};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, PodSpec, PodTemplateSpec, Service, ServicePort, ServiceSpec, Volume,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use machina_crds::common::{ServiceType, Workload};
use std::collections::BTreeMap;

/// Everything a pod template is made of.
#[derive(Clone, Debug)]
pub struct PodParts<'a> {
    /// Labels of the workload; its selector labels select the pods.
    pub app: AppLabels<'a>,
    /// Placement and pod annotations from the spec.
    pub workload: &'a Workload,
    /// The one container.
    pub container: Container,
    /// Volumes besides `/tmp`.
    pub volumes: Vec<Volume>,
    /// Annotations the operator adds to the pod template (checksums that roll the pods).
    pub annotations: BTreeMap<String, String>,
    /// ServiceAccount of pods that call the Kubernetes API; the others get no token.
    pub service_account: Option<String>,
    /// Images and pull secrets come from the Platform.
    pub platform: &'a PlatformSettings,
}

/// A pod template from its parts.
pub fn pod_template(parts: PodParts<'_>) -> PodTemplateSpec {
    let mut annotations = parts.workload.pod_annotations.clone();
    annotations.extend(parts.annotations);
    let mut volumes = vec![pod::tmp_volume()];
    volumes.extend(parts.volumes);
    let workload = parts.workload;
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(parts.app.labels()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: vec![parts.container],
            volumes: Some(volumes),
            security_context: Some(pod::pod_security_context()),
            automount_service_account_token: Some(parts.service_account.is_some()),
            service_account_name: parts.service_account,
            image_pull_secrets: parts.platform.pull_secrets(),
            node_selector: (!workload.node_selector.is_empty())
                .then(|| workload.node_selector.clone()),
            tolerations: (!workload.tolerations.is_empty()).then(|| workload.tolerations.clone()),
            ..PodSpec::default()
        }),
    }
}

/// A Deployment of `replicas` pods. With more than one replica a rollout never lowers
/// capacity (`maxUnavailable: 0`, one surge pod at a time).
pub fn deployment(meta: ObjectMeta, replicas: i32, parts: PodParts<'_>) -> Deployment {
    let selector = parts.app.label_selector();
    let strategy = (replicas > 1).then(|| DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::Int(0)),
            max_surge: Some(IntOrString::Int(1)),
        }),
    });
    Deployment {
        metadata: meta,
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector,
            strategy,
            template: pod_template(parts),
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// A Service of the given type exposing `port` on the pods' `http` port.
pub fn http_service(
    meta: ObjectMeta,
    app: AppLabels<'_>,
    type_: ServiceType,
    port: i32,
) -> Service {
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some(service_type(type_).into()),
            selector: Some(app.selector()),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port,
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                protocol: Some("TCP".into()),
                app_protocol: Some("http".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The Kubernetes spelling of a Service type.
pub fn service_type(type_: ServiceType) -> &'static str {
    match type_ {
        ServiceType::ClusterIP => "ClusterIP",
        ServiceType::NodePort => "NodePort",
        ServiceType::LoadBalancer => "LoadBalancer",
    }
}

/// A PodDisruptionBudget keeping `min_available` of the workload's pods.
pub fn pod_disruption_budget(
    meta: ObjectMeta,
    app: AppLabels<'_>,
    min_available: i32,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta,
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available)),
            selector: Some(app.label_selector()),
            // Pods that never became ready may always be evicted (avoids stuck drains).
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}
