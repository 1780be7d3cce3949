//! The Kubernetes calls every reconciler makes: server-side apply under the operator's
//! field manager, deletion that treats "already gone" as done, reads that return `None`
//! for a missing object, and Secret values.

use crate::context::Context;
use crate::secrets::SecretString;
use crate::{DeleteKind, Deletion, Error, Result};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::core::object::HasStatus;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Bounds of the namespaced objects the helpers handle.
pub trait Namespaced:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
{
}

impl<K> Namespaced for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
{
}

/// Server-side applies `object` (force: the operator owns these fields) and returns what
/// the server holds afterwards, status included. The write is recorded in
/// [`Context::own_writes`]: its watch event does not trigger the owner again.
pub async fn apply<K: Namespaced>(ctx: &Context, object: &K) -> Result<K> {
    let meta = object.meta();
    let name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let written = api
        .patch(
            &name,
            &PatchParams::apply(&ctx.config.field_manager).force(),
            &Patch::Apply(object),
        )
        .await
        .map_err(|e| Error::kube("apply", &K::kind(&()), &name, e))?;
    ctx.own_writes.record(&written);
    Ok(written)
}

/// Writes `status` on the status subresource of `object` by server-side apply, unless the
/// object already has exactly that status (the write would change nothing, and most
/// reconciles of a settled object end with the status it has).
pub async fn apply_status<K>(
    client: &Client,
    field_manager: &str,
    object: &K,
    status: &K::Status,
) -> Result<()>
where
    K: Namespaced + HasStatus,
    K::Status: Serialize + PartialEq,
{
    if object.status() == Some(status) {
        return Ok(());
    }
    let namespace = crate::labels::namespace(object)?;
    let name = crate::labels::name(object)?;
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    Api::<K>::namespaced(client.clone(), &namespace)
        .patch_status(
            &name,
            &PatchParams::apply(field_manager).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|e| Error::kube("patch status of", &K::kind(&()), &name, e))?;
    Ok(())
}

/// The object `name` in `namespace`, or `None` when it does not exist.
pub async fn get_opt<K: Namespaced>(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<K>> {
    Api::<K>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| Error::kube("get", &K::kind(&()), name, e))
}

/// Deletes `name` in `namespace`; a missing object is not an error.
pub async fn delete<K: Namespaced>(client: &Client, namespace: &str, name: &str) -> Result<()> {
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(Error::kube("delete", &K::kind(&()), name, e)),
    }
}

/// Deletes what a builder listed as no longer desired.
pub async fn delete_obsolete(client: &Client, namespace: &str, deletion: &Deletion) -> Result<()> {
    let name = deletion.name.as_str();
    match deletion.kind {
        DeleteKind::Deployment => delete::<Deployment>(client, namespace, name).await,
        DeleteKind::Service => delete::<Service>(client, namespace, name).await,
        DeleteKind::PodDisruptionBudget => {
            delete::<PodDisruptionBudget>(client, namespace, name).await
        }
        DeleteKind::CronJob => delete::<CronJob>(client, namespace, name).await,
        DeleteKind::ConfigMap => delete::<ConfigMap>(client, namespace, name).await,
        DeleteKind::Secret => delete::<Secret>(client, namespace, name).await,
        DeleteKind::ServiceAccount => delete::<ServiceAccount>(client, namespace, name).await,
        DeleteKind::Role => delete::<Role>(client, namespace, name).await,
        DeleteKind::RoleBinding => delete::<RoleBinding>(client, namespace, name).await,
    }
}

/// The value of `key` in a Secret (`data`, else `stringData`), when present and UTF-8.
pub fn secret_value(secret: &Secret, key: &str) -> Option<SecretString> {
    if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(bytes.0.clone())
            .ok()
            .map(SecretString::new);
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| SecretString::new(v.clone()))
}

/// The value of `key` in the Secret `name` of `namespace`; a missing Secret or key is a
/// [`Error::BackendSecret`] naming them.
pub async fn required_secret_value(
    client: &Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<SecretString> {
    let problem = |problem: String| Error::BackendSecret {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        problem,
    };
    let secret = get_opt::<Secret>(client, namespace, name)
        .await?
        .ok_or_else(|| problem("not found".into()))?;
    secret_value(&secret, key).ok_or_else(|| problem(format!("has no key {key:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    #[test]
    fn secret_values_come_from_data_then_string_data() {
        let secret = Secret {
            data: Some(BTreeMap::from([(
                "a".into(),
                ByteString(b"from-data".to_vec()),
            )])),
            string_data: Some(BTreeMap::from([("b".into(), "from-string".into())])),
            ..Secret::default()
        };
        assert_eq!(
            secret_value(&secret, "a").map(|s| s.expose().to_owned()),
            Some("from-data".into())
        );
        assert_eq!(
            secret_value(&secret, "b").map(|s| s.expose().to_owned()),
            Some("from-string".into())
        );
        assert!(secret_value(&secret, "c").is_none());
    }
}
