//! Labels and metadata of owned objects: the `app.kubernetes.io` labels, the subset used as
//! a selector, and the controller owner reference that lets Kubernetes garbage-collect
//! everything a custom resource created when it is deleted.

use crate::{Error, Result};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::Resource;
use std::collections::BTreeMap;

/// `app.kubernetes.io/name`: the application (`machina-gateway`, `redis`).
pub const NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the object's own name, unique in the namespace.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`: the role (`gateway`, `worker`, `cache`).
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/part-of`.
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// `app.kubernetes.io/managed-by`: how the operator's watches find its objects.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Value of [`PART_OF`] on every owned object.
pub const PART_OF_VALUE: &str = "machina";
/// Value of [`MANAGED_BY`] on every owned object.
pub const MANAGED_BY_VALUE: &str = "machina-operator";

/// What identifies one workload among the operator's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppLabels<'a> {
    /// Application name, for example `machina-gateway`.
    pub name: &'a str,
    /// Name of the object (Deployment, Service, …) it labels.
    pub instance: &'a str,
    /// Role of the workload, for example `gateway`.
    pub component: &'a str,
}

impl AppLabels<'_> {
    /// Every standard label.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.selector();
        labels.insert(COMPONENT.into(), self.component.into());
        labels.insert(PART_OF.into(), PART_OF_VALUE.into());
        labels.insert(MANAGED_BY.into(), MANAGED_BY_VALUE.into());
        labels
    }

    /// The labels a Deployment, Service or PodDisruptionBudget selects its pods by: name and
    /// instance, which never change for the life of the object (a Deployment's selector is
    /// immutable).
    pub fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (NAME.into(), self.name.into()),
            (INSTANCE.into(), self.instance.into()),
        ])
    }

    /// [`Self::selector`] as a `LabelSelector`.
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: Some(self.selector()),
            ..LabelSelector::default()
        }
    }
}

/// The owner reference (`controller: true`) of an object owned by `owner`.
pub fn owner_reference<K>(owner: &K) -> Result<OwnerReference>
where
    K: Resource<DynamicType = ()>,
{
    owner.controller_owner_ref(&()).ok_or_else(|| {
        missing::<K>(if owner.meta().name.is_none() {
            "name"
        } else {
            "uid"
        })
    })
}

/// The namespace of a namespaced custom resource.
pub fn namespace<K>(owner: &K) -> Result<String>
where
    K: Resource<DynamicType = ()>,
{
    owner
        .meta()
        .namespace
        .clone()
        .ok_or_else(|| missing::<K>("namespace"))
}

/// The name of a custom resource.
pub fn name<K>(owner: &K) -> Result<String>
where
    K: Resource<DynamicType = ()>,
{
    owner
        .meta()
        .name
        .clone()
        .ok_or_else(|| missing::<K>("name"))
}

/// Metadata of an object owned by `owner`: its name, the owner's namespace, `labels` and
/// the controller owner reference.
pub fn object_meta<K>(
    owner: &K,
    name: String,
    labels: BTreeMap<String, String>,
) -> Result<ObjectMeta>
where
    K: Resource<DynamicType = ()>,
{
    Ok(ObjectMeta {
        name: Some(name),
        namespace: Some(namespace(owner)?),
        labels: Some(labels),
        owner_references: Some(vec![owner_reference(owner)?]),
        ..ObjectMeta::default()
    })
}

fn missing<K: Resource<DynamicType = ()>>(field: &'static str) -> Error {
    Error::MissingObjectKey {
        kind: K::kind(&()).into_owned(),
        field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_platform;

    #[test]
    fn standard_labels_contain_the_selector() {
        let app = AppLabels {
            name: "machina-gateway",
            instance: "acme-gateway",
            component: "gateway",
        };
        let labels = app.labels();
        for (k, v) in app.selector() {
            assert_eq!(labels.get(&k), Some(&v));
        }
        assert_eq!(labels[PART_OF], "machina");
        assert_eq!(labels[MANAGED_BY], "machina-operator");
        assert_eq!(labels[COMPONENT], "gateway");
    }

    #[test]
    fn owner_reference_is_a_controller_reference() {
        let platform = mk_platform();
        let owner = owner_reference(&platform).expect("owner ref");
        assert_eq!(owner.kind, "Platform");
        assert_eq!(owner.api_version, "machina.dev/v1alpha1");
        assert_eq!(owner.name, "acme");
        assert_eq!(owner.controller, Some(true));
    }

    #[test]
    fn missing_uid_or_namespace_is_an_error_not_a_panic() {
        let mut platform = mk_platform();
        platform.metadata.uid = None;
        let err = owner_reference(&platform).expect_err("no uid");
        assert_eq!(err.metric_label(), "MissingObjectKey");
        assert!(err.to_string().contains("uid"), "{err}");
        platform.metadata.namespace = None;
        let err = namespace(&platform).expect_err("no namespace");
        assert_eq!(err.to_string(), "Platform is missing metadata.namespace");
    }
}
