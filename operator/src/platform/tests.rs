//! Unit tests of the Platform builders, on the sample Platform.

use super::*;
use crate::fixtures::{
    NAMESPACE, assert_no_literal_secrets, env_literal, env_secret_ref, mk_platform, only_container,
};
use crate::labels;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use pretty_assertions::assert_eq;

fn build(platform: &Platform) -> PlatformObjects {
    desired_state(platform, &BTreeMap::new()).expect("desired state")
}

fn deployment_named<'a>(objects: &'a PlatformObjects, name: &str) -> &'a Deployment {
    objects
        .deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no deployment {name}"))
}

fn container(deployment: &Deployment) -> &Container {
    let spec = &deployment.spec;
    only_container(spec.template.spec.as_ref().expect("pod spec"))
}

#[test]
fn every_enabled_service_gets_a_deployment_and_service() {
    let objects = build(&mk_platform());
    let names: Vec<_> = objects
        .deployments
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "acme-gateway",
            "acme-auth",
            "acme-users",
            "acme-content",
            "acme-media",
            "acme-templates",
            "acme-analytics",
            "acme-insights"
        ]
    );
    assert_eq!(objects.services.len(), 8);
    let deletions: Vec<_> = objects.deletions.iter().map(|d| d.kind).collect();
    assert!(
        deletions
            .iter()
            .all(|k| *k == crate::DeleteKind::PodDisruptionBudget),
        "only budgets without minAvailable are deleted: {deletions:?}"
    );
}

#[test]
fn objects_are_namespaced_labelled_and_owned() {
    let objects = build(&mk_platform());
    let metas = objects
        .deployments
        .iter()
        .map(|d| &d.metadata)
        .chain(objects.services.iter().map(|s| &s.metadata))
        .chain(objects.pod_disruption_budgets.iter().map(|p| &p.metadata));
    for meta in metas {
        assert_eq!(meta.namespace.as_deref(), Some(NAMESPACE));
        let labels = meta.labels.as_ref().expect("labels");
        assert_eq!(labels[labels::MANAGED_BY], "machina-operator");
        assert_eq!(labels[labels::PART_OF], "machina");
        assert_eq!(Some(&labels[labels::INSTANCE]), meta.name.as_ref());
        let owners = meta.owner_references.as_ref().expect("owners");
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].kind, "Platform");
        assert_eq!(owners[0].name, "acme");
        assert_eq!(owners[0].controller, Some(true));
    }
}

#[test]
fn deployment_follows_the_workload_spec() {
    let objects = build(&mk_platform());
    let gateway = deployment_named(&objects, "acme-gateway");
    let spec = &gateway.spec;
    assert_eq!(spec.replicas, Some(2));
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .expect("rolling update");
    assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
    let selector = spec.selector.match_labels.as_ref().expect("selector");
    let pod_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .expect("pod labels");
    for (k, v) in selector {
        assert_eq!(pod_labels.get(k), Some(v));
    }
    let c = container(gateway);
    assert_eq!(
        c.image.as_deref(),
        Some(
            format!(
                "ghcr.io/machina-dev/machina-gateway:{}",
                machina_crds::images::TAG
            )
            .as_str()
        )
    );
    let limits = c
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .expect("limits");
    assert_eq!(limits["memory"].0, "256Mi");

    let users = deployment_named(&objects, "acme-users");
    let spec = &users.spec;
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(
        spec.strategy, None,
        "one replica keeps the default strategy"
    );
}

#[test]
fn placement_annotations_and_pull_secrets_reach_the_pod() {
    let mut platform = mk_platform();
    platform.spec.image_pull_secrets = vec!["regcred".into()];
    let users = &mut platform.spec.services.users.workload;
    users.node_selector = BTreeMap::from([("pool".into(), "apps".into())]);
    users.pod_annotations = BTreeMap::from([("sidecar.istio.io/inject".into(), "true".into())]);
    users.tolerations = vec![k8s_openapi::api::core::v1::Toleration {
        key: Some("dedicated".into()),
        operator: Some("Exists".into()),
        ..Default::default()
    }];
    let objects = build(&platform);
    let template = &deployment_named(&objects, "acme-users").spec.template;
    let pod = template.spec.as_ref().expect("pod");
    assert_eq!(pod.node_selector.as_ref().expect("ns")["pool"], "apps");
    assert_eq!(pod.tolerations.as_ref().expect("tolerations").len(), 1);
    assert_eq!(
        pod.image_pull_secrets.as_ref().expect("pull")[0].name,
        "regcred"
    );
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .expect("annotations");
    assert_eq!(annotations["sidecar.istio.io/inject"], "true");
}

#[test]
fn probes_and_security_context_follow_the_contract() {
    let objects = build(&mk_platform());
    for deployment in &objects.deployments {
        let pod = deployment.spec.template.spec.as_ref().expect("pod");
        let c = only_container(pod);
        let port = &c.ports.as_ref().expect("ports")[0];
        assert_eq!(
            (port.name.as_deref(), port.container_port),
            (Some("http"), 8080)
        );
        let live = c.liveness_probe.as_ref().and_then(|p| p.http_get.as_ref());
        let ready = c.readiness_probe.as_ref().and_then(|p| p.http_get.as_ref());
        assert_eq!(live.and_then(|h| h.path.as_deref()), Some("/healthz"));
        assert_eq!(ready.and_then(|h| h.path.as_deref()), Some("/readyz"));
        assert_eq!(
            ready.map(|h| &h.port),
            Some(&IntOrString::String("http".into()))
        );
        let sc = c.security_context.as_ref().expect("security context");
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.run_as_user, Some(65532));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_owned()])
        );
        assert_eq!(
            sc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
            Some("RuntimeDefault")
        );
        let tmp = c.volume_mounts.as_ref().expect("mounts");
        assert!(tmp.iter().any(|m| m.mount_path == "/tmp"));
        assert!(
            pod.volumes
                .iter()
                .flatten()
                .any(|v| v.name == "tmp" && v.empty_dir.is_some())
        );
    }
}

#[test]
fn credentials_come_from_the_connection_secret_only() {
    let objects = build(&mk_platform());
    for deployment in &objects.deployments {
        assert_no_literal_secrets(container(deployment));
    }
    let auth = container(deployment_named(&objects, "acme-auth"));
    assert_eq!(
        env_secret_ref(auth, "MONGODB_URI"),
        Some(("acme-auth-connection", MONGODB_URI_KEY))
    );
    assert_eq!(
        env_secret_ref(auth, "REDIS_URL"),
        Some(("acme-auth-connection", REDIS_URL_KEY))
    );
    assert_eq!(env_literal(auth, "MONGODB_DATABASE"), Some("acme_auth"));
    let analytics = container(deployment_named(&objects, "acme-analytics"));
    assert_eq!(
        env_secret_ref(analytics, "AMQP_URL"),
        Some(("acme-analytics-connection", AMQP_URL_KEY))
    );
    assert_eq!(
        env_literal(analytics, "EVENTS_EXCHANGE"),
        Some("machina.events")
    );
    let gateway = container(deployment_named(&objects, "acme-gateway"));
    assert_eq!(
        env_secret_ref(gateway, "MONGODB_URI"),
        None,
        "least privilege"
    );
}

#[test]
fn gateway_env_lists_policy_and_upstreams() {
    let objects = build(&mk_platform());
    let gateway = container(deployment_named(&objects, "acme-gateway"));
    assert_eq!(env_literal(gateway, "RATE_LIMIT_PER_MINUTE"), Some("1200"));
    assert_eq!(env_literal(gateway, "UPSTREAM_TIMEOUT"), Some("30s"));
    assert_eq!(
        env_literal(gateway, "CORS_ALLOWED_ORIGINS"),
        Some("https://shop.acme.example,https://admin.acme.example")
    );
    assert_eq!(env_literal(gateway, "CORS_ALLOW_CREDENTIALS"), Some("true"));
    assert_eq!(
        env_literal(gateway, "AUTH_URL"),
        Some("http://acme-auth.shop.svc:8080")
    );
    assert_eq!(
        env_literal(gateway, "INSIGHTS_URL"),
        Some("http://acme-insights.shop.svc:8080")
    );
    assert_eq!(env_literal(gateway, "GATEWAY_URL"), None);
    assert_eq!(
        env_literal(gateway, "JWT_JWKS_URL"),
        Some("http://acme-auth.shop.svc:8080/.well-known/jwks.json")
    );
    assert_eq!(env_literal(gateway, "SERVICE_NAME"), Some("acme-gateway"));
}

#[test]
fn auth_env_has_token_policy_and_no_jwks() {
    let objects = build(&mk_platform());
    let auth = container(deployment_named(&objects, "acme-auth"));
    assert_eq!(env_literal(auth, "ACCESS_TOKEN_TTL"), Some("900s"));
    assert_eq!(env_literal(auth, "REFRESH_TOKEN_TTL"), Some("1209600s"));
    assert_eq!(env_literal(auth, "KEY_ROTATION_DAYS"), Some("30"));
    assert_eq!(
        env_literal(auth, "ISSUER"),
        Some("http://acme-gateway.shop.svc:8080")
    );
    assert_eq!(env_literal(auth, "JWT_JWKS_URL"), None);
}

#[test]
fn workload_env_overrides_and_extends() {
    let mut platform = mk_platform();
    platform.spec.services.users.workload.env = vec![
        crate::pod::env_value("LOG_LEVEL", "trace"),
        crate::pod::env_value("FEATURE_X", "on"),
    ];
    let objects = build(&platform);
    let users = container(deployment_named(&objects, "acme-users"));
    assert_eq!(env_literal(users, "LOG_LEVEL"), Some("trace"));
    assert_eq!(env_literal(users, "FEATURE_X"), Some("on"));
    let count = users
        .env
        .iter()
        .flatten()
        .filter(|v| v.name == "LOG_LEVEL")
        .count();
    assert_eq!(count, 1, "no duplicate names");
}

#[test]
fn gateway_service_type_is_configurable_others_are_cluster_ip() {
    let objects = build(&mk_platform());
    for service in &objects.services {
        let spec = service.spec.as_ref().expect("spec");
        let expected = if service.metadata.name.as_deref() == Some("acme-gateway") {
            "LoadBalancer"
        } else {
            "ClusterIP"
        };
        assert_eq!(spec.type_.as_deref(), Some(expected));
        let port = &spec.ports.as_ref().expect("ports")[0];
        assert_eq!(port.port, 8080);
        assert_eq!(port.target_port, Some(IntOrString::String("http".into())));
    }
}

#[test]
fn budgets_exist_only_with_min_available() {
    let objects = build(&mk_platform());
    let budgets: Vec<_> = objects
        .pod_disruption_budgets
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(budgets, ["acme-gateway", "acme-auth"]);
    let pdb = &objects.pod_disruption_budgets[0];
    let spec = pdb.spec.as_ref().expect("spec");
    assert_eq!(spec.min_available, Some(IntOrString::Int(1)));
    assert!(objects.deletions.contains(&crate::Deletion::new(
        crate::DeleteKind::PodDisruptionBudget,
        "acme-users"
    )));
}

#[test]
fn disabled_services_are_deleted_not_built() {
    let mut platform = mk_platform();
    platform.spec.services.insights.enabled = false;
    platform.spec.services.media.enabled = false;
    platform.spec.services.content.enabled = false;
    let objects = build(&platform);
    assert_eq!(objects.deployments.len(), 5);
    assert_eq!(objects.services.len(), 5);
    for name in ["acme-insights", "acme-media", "acme-content"] {
        for kind in [
            crate::DeleteKind::Deployment,
            crate::DeleteKind::Service,
            crate::DeleteKind::PodDisruptionBudget,
        ] {
            assert!(
                objects
                    .deletions
                    .contains(&crate::Deletion::new(kind, name)),
                "{kind:?} {name}"
            );
        }
    }
    assert!(objects.deletions.contains(&crate::Deletion::new(
        crate::DeleteKind::Secret,
        "acme-media-connection"
    )));
    let gateway = container(deployment_named(&objects, "acme-gateway"));
    assert_eq!(env_literal(gateway, "INSIGHTS_URL"), None);
}

#[test]
fn credentials_version_is_a_pod_annotation() {
    let platform = mk_platform();
    let versions = BTreeMap::from([(Component::Users, "abc123".to_owned())]);
    let objects = desired_state(&platform, &versions).expect("desired state");
    let annotation = |name: &str| {
        deployment_named(&objects, name)
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(CREDENTIALS_VERSION_ANNOTATION).cloned())
    };
    assert_eq!(annotation("acme-users").as_deref(), Some("abc123"));
    assert_eq!(annotation("acme-media"), None);
}

#[test]
fn a_platform_without_uid_is_an_error() {
    let mut platform = mk_platform();
    platform.metadata.uid = None;
    let err = desired_state(&platform, &BTreeMap::new()).expect_err("no uid");
    assert_eq!(err.metric_label(), "MissingObjectKey");
}
