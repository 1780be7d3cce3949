//! Test-only builders of custom resources, from the samples in `config/samples` so the
//! builders are tested against what users are shown.

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use machina_crds::{AnalyticsJob, ContentPipeline, Platform};
use serde::de::DeserializeOwned;

/// Namespace every fixture lives in.
pub const NAMESPACE: &str = "shop";

fn from_sample<K: DeserializeOwned + kube::Resource>(yaml: &str, uid: &str) -> K {
    let mut resource: K = serde_yaml::from_str(yaml).expect("sample parses");
    let meta = resource.meta_mut();
    meta.namespace = Some(NAMESPACE.into());
    meta.uid = Some(uid.into());
    meta.generation = Some(1);
    resource
}

/// `config/samples/platform.yaml`, in namespace `shop`.
pub fn mk_platform() -> Platform {
    from_sample(
        include_str!("../../config/samples/platform.yaml"),
        "11111111-1111-1111-1111-111111111111",
    )
}

/// `config/samples/contentpipeline.yaml`, in namespace `shop`.
pub fn mk_pipeline() -> ContentPipeline {
    from_sample(
        include_str!("../../config/samples/contentpipeline.yaml"),
        "22222222-2222-2222-2222-222222222222",
    )
}

/// `config/samples/analyticsjob.yaml` (Streaming), in namespace `shop`.
pub fn mk_analytics_job() -> AnalyticsJob {
    from_sample(
        include_str!("../../config/samples/analyticsjob.yaml"),
        "33333333-3333-3333-3333-333333333333",
    )
}

/// The one container of a pod spec.
pub fn only_container(spec: &PodSpec) -> &Container {
    assert_eq!(spec.containers.len(), 1);
    &spec.containers[0]
}

/// A container's variable by name.
pub fn env<'a>(container: &'a Container, name: &str) -> Option<&'a EnvVar> {
    container.env.as_ref()?.iter().find(|v| v.name == name)
}

/// A container's literal variable by name.
pub fn env_literal<'a>(container: &'a Container, name: &str) -> Option<&'a str> {
    env(container, name)?.value.as_deref()
}

/// The Secret name and key a variable is read from.
pub fn env_secret_ref<'a>(container: &'a Container, name: &str) -> Option<(&'a str, &'a str)> {
    let selector = env(container, name)?
        .value_from
        .as_ref()?
        .secret_key_ref
        .as_ref()?;
    Some((selector.name.as_str(), selector.key.as_str()))
}

/// Asserts that every variable carrying a credential is read from a Secret, and that no
/// literal value looks like a URL with credentials.
pub fn assert_no_literal_secrets(container: &Container) {
    for var in container.env.iter().flatten() {
        let name = var.name.as_str();
        let secret = matches!(name, "MONGODB_URI" | "REDIS_URL" | "AMQP_URL")
            || ["PASSWORD", "API_KEY", "SECRET"]
                .iter()
                .any(|s| name.ends_with(s));
        if secret {
            assert!(var.value.is_none(), "{name} has a literal value");
            assert!(
                var.value_from
                    .as_ref()
                    .and_then(|f| f.secret_key_ref.as_ref())
                    .is_some(),
                "{name} is not read from a Secret"
            );
        }
        if let Some(value) = &var.value {
            assert!(!value.contains('@'), "{name} looks like a credential");
        }
    }
}

/// `config/samples/template-product-page.yaml`, in namespace `shop`.
pub fn mk_template() -> machina_crds::Template {
    from_sample(
        include_str!("../../config/samples/template-product-page.yaml"),
        "44444444-4444-4444-4444-444444444444",
    )
}
