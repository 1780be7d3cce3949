//! Unit tests of the ContentPipeline builders, on the sample pipeline and Platform.

use super::*;
use crate::fixtures::{
    NAMESPACE, assert_no_literal_secrets, env_literal, env_secret_ref, mk_pipeline, mk_platform,
    only_container,
};
use crate::platform::CREDENTIALS_VERSION_ANNOTATION;
use definition::DEFINITION_CHECKSUM_ANNOTATION;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use machina_crds::common::ServiceType;
use pretty_assertions::assert_eq;

fn settings() -> PlatformSettings {
    PlatformSettings::from_platform(&mk_platform()).expect("settings")
}

fn build(pipeline: &ContentPipeline) -> PipelineObjects {
    desired_state(pipeline, &settings(), CredentialVersions::default()).expect("desired state")
}

fn worker(objects: &PipelineObjects) -> &Container {
    only_container(objects.deployment.spec.template.spec.as_ref().expect("pod"))
}

fn pod_annotation(objects: &PipelineObjects, key: &str) -> Option<String> {
    objects
        .deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(key).cloned())
}

#[test]
fn names_namespaces_and_owners() {
    let objects = build(&mk_pipeline());
    let redis = objects.redis.as_ref().expect("redis");
    let metas = [
        (&objects.config_map.metadata, "product-copy-definition"),
        (&objects.deployment.metadata, "product-copy"),
        (&objects.service.metadata, "product-copy"),
        (
            &objects
                .pod_disruption_budget
                .as_ref()
                .expect("pdb")
                .metadata,
            "product-copy",
        ),
        (&redis.deployment.metadata, "product-copy-redis"),
        (&redis.service.metadata, "product-copy-redis"),
    ];
    for (meta, name) in metas {
        assert_eq!(meta.name.as_deref(), Some(name));
        assert_eq!(meta.namespace.as_deref(), Some(NAMESPACE));
        let owner = &meta.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ContentPipeline", "product-copy")
        );
        assert_eq!(owner.controller, Some(true));
        let labels = meta.labels.as_ref().expect("labels");
        assert_eq!(labels[crate::labels::MANAGED_BY], "machina-operator");
    }
    assert!(objects.deletions.is_empty(), "{:?}", objects.deletions);
}

#[test]
fn worker_runs_the_generative_image_with_the_spec_replicas() {
    let objects = build(&mk_pipeline());
    let spec = &objects.deployment.spec;
    assert_eq!(spec.replicas, Some(2));
    let c = worker(&objects);
    assert_eq!(
        c.image.as_deref(),
        Some(
            format!(
                "ghcr.io/machina-dev/machina-generative:{}",
                machina_crds::images::TAG
            )
            .as_str()
        )
    );
    assert_eq!(
        c.readiness_probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.as_deref()),
        Some("/readyz")
    );
    assert_eq!(
        c.security_context
            .as_ref()
            .and_then(|s| s.read_only_root_filesystem),
        Some(true)
    );
}

#[test]
fn worker_env_wires_every_secret_by_reference() {
    let objects = build(&mk_pipeline());
    let c = worker(&objects);
    assert_no_literal_secrets(c);
    assert_eq!(
        env_secret_ref(c, "MONGODB_URI"),
        Some(("product-copy-mongodb", "uri"))
    );
    assert_eq!(
        env_secret_ref(c, "REDIS_URL"),
        Some(("product-copy-redis", "url"))
    );
    assert_eq!(
        env_secret_ref(c, "AMQP_URL"),
        Some(("product-copy-rabbitmq", "url"))
    );
    assert_eq!(
        env_secret_ref(c, "LLM_API_KEY"),
        Some(("acme-llm", "api-key"))
    );
    assert_eq!(
        env_literal(c, "PIPELINE_DEFINITION"),
        Some("/etc/machina/pipeline.yaml")
    );
    assert_eq!(
        env_literal(c, "MONGODB_DATABASE"),
        Some("acme_cp_shop_product_copy")
    );
    assert_eq!(
        env_literal(c, "TEMPLATES_URL"),
        Some("http://acme-templates.shop.svc:8080")
    );
    assert_eq!(
        env_literal(c, "JWT_JWKS_URL"),
        Some("http://acme-auth.shop.svc:8080/.well-known/jwks.json")
    );
}

#[test]
fn definition_is_mounted_from_the_config_map() {
    let objects = build(&mk_pipeline());
    let pod = objects.deployment.spec.template.spec.as_ref().expect("pod");
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "definition")
        .expect("definition volume");
    assert_eq!(
        volume.config_map.as_ref().map(|c| c.name.as_str()),
        Some("product-copy-definition")
    );
    let mount = worker(&objects)
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == "definition")
        .expect("mount");
    assert_eq!(mount.mount_path, "/etc/machina");
    assert_eq!(mount.read_only, Some(true));
}

#[test]
fn checksum_and_credentials_roll_the_pods() {
    let pipeline = mk_pipeline();
    let objects = build(&pipeline);
    assert_eq!(
        pod_annotation(&objects, DEFINITION_CHECKSUM_ANNOTATION),
        Some(objects.definition.checksum.clone())
    );
    assert_eq!(
        pod_annotation(&objects, CREDENTIALS_VERSION_ANNOTATION),
        None
    );

    // Same spec: same pod template.
    assert_eq!(build(&mk_pipeline()).deployment, objects.deployment);

    // A change of definition changes the checksum.
    let mut changed = mk_pipeline();
    changed.spec.output = Some("save".into());
    assert_ne!(
        pod_annotation(&build(&changed), DEFINITION_CHECKSUM_ANNOTATION),
        pod_annotation(&objects, DEFINITION_CHECKSUM_ANNOTATION)
    );

    // A credentials version is put on both workloads.
    let rotated = desired_state(
        &pipeline,
        &settings(),
        CredentialVersions {
            worker: Some("w2"),
            redis: Some("r2"),
        },
    )
    .expect("desired state");
    assert_eq!(
        pod_annotation(&rotated, CREDENTIALS_VERSION_ANNOTATION).as_deref(),
        Some("w2")
    );
    let redis_annotations = rotated
        .redis
        .as_ref()
        .and_then(|r| r.deployment.spec.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .expect("redis annotations");
    assert_eq!(redis_annotations[CREDENTIALS_VERSION_ANNOTATION], "r2");
}

#[test]
fn service_follows_spec_service() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.service.type_ = ServiceType::NodePort;
    pipeline.spec.service.port = 80;
    let objects = build(&pipeline);
    let spec = objects.service.spec.as_ref().expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    let port = &spec.ports.as_ref().expect("ports")[0];
    assert_eq!(port.port, 80);
    assert_eq!(port.target_port, Some(IntOrString::String("http".into())));
}

#[test]
fn no_min_available_means_no_budget_and_a_deletion() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.workload.min_available = None;
    let objects = build(&pipeline);
    assert!(objects.pod_disruption_budget.is_none());
    assert_eq!(
        objects.deletions,
        [Deletion::new(
            DeleteKind::PodDisruptionBudget,
            "product-copy"
        )]
    );
}

#[test]
fn disabled_redis_is_deleted_and_not_wired() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.redis.enabled = false;
    let objects = build(&pipeline);
    assert!(objects.redis.is_none());
    for kind in [
        DeleteKind::Deployment,
        DeleteKind::Service,
        DeleteKind::Secret,
    ] {
        assert!(
            objects
                .deletions
                .contains(&Deletion::new(kind, "product-copy-redis"))
        );
    }
    assert_eq!(env_secret_ref(worker(&objects), "REDIS_URL"), None);
}

#[test]
fn explicit_database_and_image_win() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.mongodb.database = Some("copy".into());
    pipeline.spec.workload.image = Some("registry.local/gen:dev".into());
    let objects = build(&pipeline);
    let c = worker(&objects);
    assert_eq!(env_literal(c, "MONGODB_DATABASE"), Some("copy"));
    assert_eq!(c.image.as_deref(), Some("registry.local/gen:dev"));
}

#[test]
fn without_an_llm_key_there_is_no_llm_variable() {
    let mut pipeline = mk_pipeline();
    if let Some(llm) = pipeline.spec.llm.as_mut() {
        llm.api_key_secret_ref = None;
    }
    let objects = build(&pipeline);
    assert!(crate::fixtures::env(worker(&objects), "LLM_API_KEY").is_none());
}
