//! The generative worker of a pipeline: its Deployment, Service and PodDisruptionBudget.

use super::definition::{
    DEFINITION_CHECKSUM_ANNOTATION, DEFINITION_DIR, DEFINITION_KEY, Definition, worker_labels,
};
use super::redis;
use crate::labels;
use crate::platform::CREDENTIALS_VERSION_ANNOTATION;
use crate::pod::{MachinaContainer, PlatformSettings, env_secret, env_value, merge_env};
use crate::provision::rabbitmq::pipeline_base;
use crate::workload::{self, PodParts};
use crate::{Result, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EnvVar, KeyToPath, Service, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use machina_crds::ContentPipeline;
use machina_crds::images::Component;
use std::collections::BTreeMap;

/// Key of the connection string in the pipeline's MongoDB Secret.
pub const MONGODB_URI_KEY: &str = "uri";
/// Key of the AMQP URL in the pipeline's RabbitMQ Secret.
pub const AMQP_URL_KEY: &str = "url";

/// The database of a pipeline: `spec.mongodb.database`, else `<prefix>_cp_<namespace>_<name>`
/// with `-` turned into `_` (bounded to 63 characters).
pub fn database(pipeline: &ContentPipeline, platform: &PlatformSettings) -> Result<String> {
    if let Some(database) = &pipeline.spec.mongodb.database {
        return Ok(database.clone());
    }
    let raw = format!(
        "{}_cp_{}_{}",
        platform.database_prefix,
        labels::namespace(pipeline)?,
        labels::name(pipeline)?
    )
    .replace(['-', '.'], "_");
    Ok(names::bounded(&raw, names::MAX_LABEL))
}

/// The worker's environment: the kit's variables, the definition file, its credentials from
/// the pipeline's Secrets, the LLM key, the Platform's services, then the spec's `env`.
pub fn worker_env(pipeline: &ContentPipeline, platform: &PlatformSettings) -> Result<Vec<EnvVar>> {
    let name = labels::name(pipeline)?;
    let spec = &pipeline.spec;
    let mut env = platform.base_env(&names::pipeline_worker(&name), true);
    env.extend([
        env_value("PIPELINE_NAME", name.as_str()),
        env_value(
            "PIPELINE_DEFINITION",
            format!("{DEFINITION_DIR}/{DEFINITION_KEY}"),
        ),
        env_secret(
            "MONGODB_URI",
            &names::pipeline_mongodb_secret(&name),
            MONGODB_URI_KEY,
        ),
        env_value("MONGODB_DATABASE", database(pipeline, platform)?),
        env_secret(
            "AMQP_URL",
            &names::pipeline_rabbitmq_secret(&name),
            AMQP_URL_KEY,
        ),
        env_value("EVENTS_EXCHANGE", platform.events_exchange.as_str()),
        // The job queue and its dead-letter topology are the operator's (provisioned with
        // their arguments; the worker may only check them), named after the pipeline.
        env_value("JOBS_QUEUE", pipeline_base(pipeline)?),
        env_value("JOBS_QUEUE_PROVISIONED", "true"),
        env_value("PREFETCH", spec.messaging.prefetch.to_string()),
        env_value("MAX_DELIVERIES", spec.messaging.max_deliveries.to_string()),
    ]);
    if spec.redis.enabled {
        env.push(env_secret(
            "REDIS_URL",
            &names::pipeline_redis(&name),
            redis::URL_KEY,
        ));
    }
    if let Some(key) = spec
        .llm
        .as_ref()
        .and_then(|l| l.api_key_secret_ref.as_ref())
    {
        env.push(env_secret("LLM_API_KEY", &key.name, &key.key));
    }
    if platform.templates_enabled {
        env.push(env_value(
            "TEMPLATES_URL",
            platform.service_url(Component::Templates),
        ));
    }
    Ok(merge_env(env, &spec.workload.env))
}

/// The worker Deployment `<pipeline>`. Its pod template carries the definition checksum and
/// the credentials version, so either change rolls the pods.
pub fn deployment(
    pipeline: &ContentPipeline,
    platform: &PlatformSettings,
    definition: &Definition,
    credentials_version: Option<&str>,
) -> Result<Deployment> {
    let name = labels::name(pipeline)?;
    let object_name = names::pipeline_worker(&name);
    let workload = &pipeline.spec.workload;
    let container = MachinaContainer {
        name: "worker".into(),
        image: platform.image(Component::Generative, workload.image.as_deref()),
        args: Vec::new(),
        env: worker_env(pipeline, platform)?,
        resources: workload.resources.clone(),
        volume_mounts: vec![VolumeMount {
            name: "definition".into(),
            mount_path: DEFINITION_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        }],
    }
    .build();
    let mut annotations = BTreeMap::from([(
        DEFINITION_CHECKSUM_ANNOTATION.to_owned(),
        definition.checksum.clone(),
    )]);
    if let Some(version) = credentials_version {
        annotations.insert(CREDENTIALS_VERSION_ANNOTATION.into(), version.into());
    }
    let volume = Volume {
        name: "definition".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: names::pipeline_definition(&name),
            items: Some(vec![KeyToPath {
                key: DEFINITION_KEY.into(),
                path: DEFINITION_KEY.into(),
                ..KeyToPath::default()
            }]),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    };
    let app = worker_labels(&object_name);
    let parts = PodParts {
        app,
        workload,
        container,
        volumes: vec![volume],
        annotations,
        platform,
        service_account: None,
    };
    let meta = labels::object_meta(pipeline, object_name.clone(), app.labels())?;
    Ok(workload::deployment(meta, workload.replicas, parts))
}

/// The worker Service `<pipeline>` with the spec's type and port.
pub fn service(pipeline: &ContentPipeline) -> Result<Service> {
    let object_name = names::pipeline_worker(&labels::name(pipeline)?);
    let app = worker_labels(&object_name);
    let spec = &pipeline.spec.service;
    Ok(workload::http_service(
        labels::object_meta(pipeline, object_name.clone(), app.labels())?,
        app,
        spec.type_,
        spec.port,
    ))
}

/// The worker's PodDisruptionBudget, when `minAvailable` is set.
pub fn pod_disruption_budget(pipeline: &ContentPipeline) -> Result<Option<PodDisruptionBudget>> {
    let Some(min) = pipeline.spec.workload.min_available else {
        return Ok(None);
    };
    let object_name = names::pipeline_worker(&labels::name(pipeline)?);
    let app = worker_labels(&object_name);
    let meta = labels::object_meta(pipeline, object_name.clone(), app.labels())?;
    Ok(Some(workload::pod_disruption_budget(meta, app, min)))
}
