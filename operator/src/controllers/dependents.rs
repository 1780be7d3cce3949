//! Which ContentPipelines, AnalyticsJobs and Templates a Platform change concerns.
//!
//! They read their Platform's settings (images, backing services, vhost, template
//! service), so each controller also watches Platforms and re-reconciles the objects
//! whose `platformRef` names the Platform that changed, instead of waiting for a requeue.

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use machina_crds::common::PlatformRef;
use machina_crds::{AnalyticsJob, ContentPipeline, Platform, Template, tenancy};

/// A kind whose objects may name a Platform.
pub trait OnPlatform: Resource<DynamicType = ()> + Clone + 'static {
    /// The object's reference to its Platform, if its kind has one.
    fn platform_ref(&self) -> Option<&PlatformRef>;
}

impl OnPlatform for ContentPipeline {
    fn platform_ref(&self) -> Option<&PlatformRef> {
        Some(&self.spec.platform_ref)
    }
}

impl OnPlatform for AnalyticsJob {
    fn platform_ref(&self) -> Option<&PlatformRef> {
        Some(&self.spec.platform_ref)
    }
}

impl OnPlatform for Template {
    fn platform_ref(&self) -> Option<&PlatformRef> {
        Some(&self.spec.platform_ref)
    }
}

impl OnPlatform for Platform {
    fn platform_ref(&self) -> Option<&PlatformRef> {
        None
    }
}

/// Whether `object` names the Platform `namespace`/`name`.
pub fn refers_to<K: OnPlatform>(object: &K, namespace: &str, name: &str) -> bool {
    let own_namespace = object.meta().namespace.as_deref().unwrap_or_default();
    let Some(reference) = object.platform_ref() else {
        return false;
    };
    reference.name == name && tenancy::platform_namespace(reference, own_namespace) == namespace
}

/// The objects among `objects` that name `platform`.
pub fn referencing<'a, K: OnPlatform>(
    objects: impl IntoIterator<Item = &'a K>,
    platform: &Platform,
) -> Vec<ObjectRef<K>> {
    let namespace = platform.namespace().unwrap_or_default();
    let name = platform.name_any();
    objects
        .into_iter()
        .filter(|object| refers_to(*object, &namespace, &name))
        .map(ObjectRef::from_obj)
        .collect()
}

/// A mapper for `Controller::watches`: a changed Platform → the cached objects naming it.
pub fn mapper<K: OnPlatform + Send + Sync>(
    store: Store<K>,
) -> impl Fn(Platform) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |platform| {
        let objects = store.state();
        referencing(objects.iter().map(|object| object.as_ref()), &platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn platform(namespace: &str, name: &str) -> Platform {
        let mut platform = fixtures::mk_platform();
        platform.metadata.namespace = Some(namespace.into());
        platform.metadata.name = Some(name.into());
        platform
    }

    fn pipeline(namespace: &str, name: &str, reference: PlatformRef) -> ContentPipeline {
        let mut pipeline = fixtures::mk_pipeline();
        pipeline.metadata.namespace = Some(namespace.into());
        pipeline.metadata.name = Some(name.into());
        pipeline.spec.platform_ref = reference;
        pipeline
    }

    fn named(name: &str, namespace: Option<&str>) -> PlatformRef {
        PlatformRef {
            name: name.into(),
            namespace: namespace.map(Into::into),
        }
    }

    #[test]
    fn a_platform_change_concerns_only_the_objects_naming_it() {
        let pipelines = [
            pipeline("shop", "same-namespace", named("main", None)),
            pipeline("blog", "cross-namespace", named("main", Some("shop"))),
            pipeline("shop", "other-platform", named("second", None)),
            pipeline("blog", "same-name-elsewhere", named("main", None)),
        ];
        let names: Vec<String> = referencing(&pipelines, &platform("shop", "main"))
            .into_iter()
            .map(|object| format!("{}/{}", object.namespace.unwrap_or_default(), object.name))
            .collect();
        assert_eq!(names, ["shop/same-namespace", "blog/cross-namespace"]);
    }

    #[test]
    fn a_platform_nobody_names_concerns_nothing() {
        let pipelines = [pipeline("shop", "a", named("main", None))];
        assert!(referencing(&pipelines, &platform("shop", "unused")).is_empty());
    }
}
