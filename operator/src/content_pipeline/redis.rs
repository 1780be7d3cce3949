//! A pipeline's own Redis: a single-instance Deployment with a password, a memory limit and
//! an eviction policy from the spec, its Service, and the data of its password Secret.

use crate::labels::{self, AppLabels};
use crate::pod::{self, PlatformSettings, env_secret};
use crate::secrets::{self, SecretString};
use crate::workload::{self, PodParts};
use crate::{Result, names, quantity};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, ExecAction, Probe, Secret, Service,
    ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use machina_crds::ContentPipeline;
use machina_crds::common::Workload;
use machina_crds::content_pipeline::{EvictionPolicy, PipelineRedis};
use machina_crds::images::REDIS_IMAGE;
use std::collections::BTreeMap;

/// Port of Redis.
pub const REDIS_PORT: i32 = 6379;
/// Key of the password in the Redis Secret.
pub const PASSWORD_KEY: &str = "password";
/// Key of the client URL (with the password) in the Redis Secret.
pub const URL_KEY: &str = "url";

/// `app.kubernetes.io/name` of a pipeline's Redis.
const REDIS_NAME: &str = "redis";
/// `app.kubernetes.io/component` of a pipeline's Redis.
const REDIS_COMPONENT: &str = "cache";

/// Labels of a pipeline's Redis.
pub fn redis_labels(instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: REDIS_NAME,
        instance,
        component: REDIS_COMPONENT,
    }
}

/// Whether `labels` are those of a pipeline's Redis.
pub fn is_redis(set: &BTreeMap<String, String>) -> bool {
    set.get(labels::NAME).map(String::as_str) == Some(REDIS_NAME)
        && set.get(labels::COMPONENT).map(String::as_str) == Some(REDIS_COMPONENT)
}

/// Redis's spelling of an eviction policy.
pub fn eviction_policy(policy: EvictionPolicy) -> &'static str {
    match policy {
        EvictionPolicy::Noeviction => "noeviction",
        EvictionPolicy::AllkeysLru => "allkeys-lru",
        EvictionPolicy::AllkeysLfu => "allkeys-lfu",
        EvictionPolicy::AllkeysRandom => "allkeys-random",
        EvictionPolicy::VolatileLru => "volatile-lru",
        EvictionPolicy::VolatileLfu => "volatile-lfu",
        EvictionPolicy::VolatileRandom => "volatile-random",
        EvictionPolicy::VolatileTtl => "volatile-ttl",
    }
}

/// Arguments of `redis-server`: the password from the environment (expanded by the kubelet,
/// so it is not in the pod spec), `maxmemory` in bytes, the eviction policy, and the
/// append-only file when persistence is on.
pub fn server_args(redis: &PipelineRedis) -> Result<Vec<String>> {
    let mut args = vec![
        "--requirepass".to_owned(),
        "$(REDIS_PASSWORD)".to_owned(),
        "--maxmemory".to_owned(),
        quantity::to_bytes(&redis.max_memory)?.to_string(),
        "--maxmemory-policy".to_owned(),
        eviction_policy(redis.eviction_policy).to_owned(),
    ];
    if redis.persistence {
        args.extend(["--appendonly".to_owned(), "yes".to_owned()]);
    } else {
        // No RDB snapshots either: a cache without persistence never writes to disk.
        args.extend(["--save".to_owned(), String::new()]);
    }
    Ok(args)
}

/// The data of the Redis Secret: the password and the in-cluster URL clients use.
pub fn secret_data(
    pipeline_name: &str,
    namespace: &str,
    password: &SecretString,
) -> BTreeMap<String, SecretString> {
    let host = names::pipeline_redis(pipeline_name);
    let url = format!(
        "redis://:{}@{host}.{namespace}.svc:{REDIS_PORT}/0",
        password.expose()
    );
    BTreeMap::from([
        (PASSWORD_KEY.to_owned(), password.clone()),
        (URL_KEY.to_owned(), SecretString::new(url)),
    ])
}

/// The Redis Secret `<pipeline>-redis` for `password` (the reconciler generates it once with
/// [`secrets::generate_password`] and keeps it while the Secret exists).
pub fn secret(pipeline: &ContentPipeline, password: &SecretString) -> Result<Secret> {
    let name = labels::name(pipeline)?;
    let namespace = labels::namespace(pipeline)?;
    let object_name = names::pipeline_redis(&name);
    secrets::owned_secret(
        pipeline,
        object_name.clone(),
        redis_labels(&object_name),
        &secret_data(&name, &namespace, password),
    )
}

fn exec_probe(command: &str, period_seconds: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), command.into()]),
        }),
        period_seconds: Some(period_seconds),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

/// The Redis Deployment `<pipeline>-redis`: one replica, replaced (not surged) on change so
/// two instances never run at once.
pub fn deployment(
    pipeline: &ContentPipeline,
    platform: &PlatformSettings,
    credentials_version: Option<&str>,
) -> Result<Deployment> {
    let name = labels::name(pipeline)?;
    let object_name = names::pipeline_redis(&name);
    let redis = &pipeline.spec.redis;
    let data_mount = VolumeMount {
        name: "data".into(),
        mount_path: "/data".into(),
        ..VolumeMount::default()
    };
    let container = Container {
        name: "redis".into(),
        image: Some(
            redis
                .image
                .clone()
                .unwrap_or_else(|| REDIS_IMAGE.to_owned()),
        ),
        command: Some(vec!["redis-server".into()]),
        args: Some(server_args(redis)?),
        env: Some(vec![
            env_secret("REDIS_PASSWORD", &object_name, PASSWORD_KEY),
            // Read by redis-cli in the readiness probe.
            env_secret("REDISCLI_AUTH", &object_name, PASSWORD_KEY),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("redis".into()),
            container_port: REDIS_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(exec_probe("redis-cli ping | grep -q PONG", 5)),
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("redis".into()),
                host: None,
            }),
            period_seconds: Some(10),
            failure_threshold: Some(3),
            ..Probe::default()
        }),
        resources: redis.resources.clone(),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: pod::TMP_VOLUME.into(),
                mount_path: "/tmp".into(),
                ..VolumeMount::default()
            },
            data_mount,
        ]),
        working_dir: Some("/data".into()),
        ..Container::default()
    };
    let annotations = credentials_version
        .map(|v| {
            BTreeMap::from([(
                crate::platform::CREDENTIALS_VERSION_ANNOTATION.into(),
                v.to_owned(),
            )])
        })
        .unwrap_or_default();
    // Placement follows the worker's; replicas are always one.
    let placement = Workload {
        replicas: 1,
        image: None,
        resources: None,
        env: Vec::new(),
        min_available: None,
        node_selector: pipeline.spec.workload.node_selector.clone(),
        tolerations: pipeline.spec.workload.tolerations.clone(),
        pod_annotations: BTreeMap::new(),
    };
    let parts = PodParts {
        app: redis_labels(&object_name),
        workload: &placement,
        container,
        volumes: vec![Volume {
            name: "data".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }],
        annotations,
        platform,
        service_account: None,
    };
    let meta = labels::object_meta(
        pipeline,
        object_name.clone(),
        redis_labels(&object_name).labels(),
    )?;
    let mut deployment = workload::deployment(meta, 1, parts);
    deployment.spec.strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    Ok(deployment)
}

/// The Service `<pipeline>-redis` on port 6379.
pub fn service(pipeline: &ContentPipeline) -> Result<Service> {
    let name = labels::name(pipeline)?;
    let object_name = names::pipeline_redis(&name);
    let app = redis_labels(&object_name);
    Ok(Service {
        metadata: labels::object_meta(pipeline, object_name.clone(), app.labels())?,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(app.selector()),
            ports: Some(vec![ServicePort {
                name: Some("redis".into()),
                port: REDIS_PORT,
                target_port: Some(IntOrString::String("redis".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{
        NAMESPACE, assert_no_literal_secrets, env_secret_ref, mk_pipeline, mk_platform,
    };

    fn settings() -> PlatformSettings {
        PlatformSettings::from_platform(&mk_platform()).expect("settings")
    }

    #[test]
    fn args_carry_memory_policy_and_password_reference() {
        let pipeline = mk_pipeline();
        let args = server_args(&pipeline.spec.redis).expect("args");
        assert_eq!(
            args,
            [
                "--requirepass",
                "$(REDIS_PASSWORD)",
                "--maxmemory",
                "134217728",
                "--maxmemory-policy",
                "allkeys-lru",
                "--save",
                ""
            ]
        );
        let mut redis = pipeline.spec.redis.clone();
        redis.persistence = true;
        redis.eviction_policy = EvictionPolicy::VolatileTtl;
        let args = server_args(&redis).expect("args");
        assert!(args.ends_with(&["--appendonly".to_owned(), "yes".to_owned()]));
        assert!(args.contains(&"volatile-ttl".to_owned()));
    }

    #[test]
    fn a_bad_max_memory_is_an_error() {
        let mut pipeline = mk_pipeline();
        pipeline.spec.redis.max_memory = "lots".into();
        let err = deployment(&pipeline, &settings(), None).expect_err("bad quantity");
        assert_eq!(err.metric_label(), "InvalidQuantity");
    }

    #[test]
    fn deployment_reads_the_password_from_its_secret() {
        let pipeline = mk_pipeline();
        let d = deployment(&pipeline, &settings(), Some("v1")).expect("deployment");
        assert_eq!(d.metadata.name.as_deref(), Some("product-copy-redis"));
        assert_eq!(d.metadata.namespace.as_deref(), Some(NAMESPACE));
        assert_eq!(d.spec.replicas, Some(1));
        assert_eq!(
            d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()),
            Some("Recreate")
        );
        let pod = d.spec.template.spec.as_ref().expect("pod");
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some(REDIS_IMAGE));
        assert_eq!(
            env_secret_ref(c, "REDIS_PASSWORD"),
            Some(("product-copy-redis", PASSWORD_KEY))
        );
        assert_no_literal_secrets(c);
        assert!(
            c.readiness_probe
                .as_ref()
                .and_then(|p| p.exec.as_ref())
                .is_some()
        );
        let sc = c.security_context.as_ref().expect("security context");
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        let mounts: Vec<_> = c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| m.mount_path.as_str())
            .collect();
        assert_eq!(mounts, ["/tmp", "/data"]);
    }

    #[test]
    fn explicit_image_and_resources_are_used() {
        let mut pipeline = mk_pipeline();
        pipeline.spec.redis.image = Some("valkey/valkey:8".into());
        let d = deployment(&pipeline, &settings(), None).expect("deployment");
        let c = &d.spec.template.spec.as_ref().expect("pod").containers[0];
        assert_eq!(c.image.as_deref(), Some("valkey/valkey:8"));
    }

    #[test]
    fn service_exposes_6379() {
        let s = service(&mk_pipeline()).expect("service");
        assert_eq!(s.metadata.name.as_deref(), Some("product-copy-redis"));
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.ports.as_ref().expect("ports")[0].port, 6379);
        assert_eq!(
            spec.selector.as_ref().expect("selector")[labels::INSTANCE],
            "product-copy-redis"
        );
    }

    #[test]
    fn secret_data_holds_password_and_url() {
        let password = SecretString::new("pw123");
        let data = secret_data("product-copy", "shop", &password);
        assert_eq!(data[PASSWORD_KEY].expose(), "pw123");
        assert_eq!(
            data[URL_KEY].expose(),
            "redis://:pw123@product-copy-redis.shop.svc:6379/0"
        );
        assert!(!format!("{data:?}").contains("pw123"));
        let secret = secret(&mk_pipeline(), &password).expect("secret");
        assert_eq!(secret.metadata.name.as_deref(), Some("product-copy-redis"));
        assert_eq!(
            secret.data.as_ref().expect("data")[PASSWORD_KEY].0,
            b"pw123"
        );
        assert_eq!(
            secret.metadata.owner_references.as_ref().expect("owner")[0].name,
            "product-copy"
        );
    }
}
