//! How the controllers' caches keep their CRs: metadata as it is, the rest as the JSON text
//! it arrived in. A ContentPipeline's 2 KiB of JSON (the sample's) takes about 11 KiB as
//! Rust values (a JSON Schema is a tree of maps), and every CR of a watched kind stays in
//! the cache; the compact form keeps 1,000 pipelines in a third of the memory. A reconcile
//! expands its object (a parse of a few KiB, microseconds) before reading it.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use kube::Resource;
use kube::api::ObjectMeta;
use machina_crds::common::PlatformRef;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use super::dependents::OnPlatform;
use crate::{Error, Result};

/// A CR of kind `K` as a controller's cache keeps it.
pub struct Cached<K> {
    metadata: ObjectMeta,
    /// The Platform the object names, kept expanded to map Platform changes to objects.
    platform: Option<PlatformRef>,
    /// Everything but the metadata, as JSON.
    body: Box<str>,
    kind: PhantomData<fn() -> K>,
}

impl<K: OnPlatform + Serialize> Cached<K> {
    /// The compact form of `object`.
    pub fn new(mut object: K) -> serde_json::Result<Self> {
        let metadata = std::mem::take(object.meta_mut());
        let platform = object.platform_ref().cloned();
        let body = serde_json::to_string(&object)?.into_boxed_str();
        Ok(Self {
            metadata,
            platform,
            body,
            kind: PhantomData,
        })
    }
}

impl<K: Resource<DynamicType = ()> + DeserializeOwned> Cached<K> {
    /// The object as the reconcile reads it.
    pub fn expand(&self) -> Result<K> {
        let mut object: K = serde_json::from_str(&self.body).map_err(|e| Error::CachedObject {
            kind: K::kind(&()).into_owned(),
            source: e,
        })?;
        *object.meta_mut() = self.metadata.clone();
        Ok(object)
    }
}

impl<K> Clone for Cached<K> {
    fn clone(&self) -> Self {
        Self {
            metadata: self.metadata.clone(),
            platform: self.platform.clone(),
            body: self.body.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Resource<DynamicType = ()>> fmt::Debug for Cached<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("kind", &K::kind(&()))
            .field("namespace", &self.metadata.namespace)
            .field("name", &self.metadata.name)
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Cached<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn api_version(dt: &()) -> Cow<'_, str> {
        K::api_version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Decoded as a whole `K` (so a malformed object fails the same way), then compacted.
impl<'de, K: OnPlatform + Serialize + DeserializeOwned> Deserialize<'de> for Cached<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let object = K::deserialize(deserializer)?;
        Self::new(object).map_err(D::Error::custom)
    }
}

impl<K: OnPlatform> OnPlatform for Cached<K> {
    fn platform_ref(&self) -> Option<&PlatformRef> {
        self.platform.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use machina_crds::ContentPipeline;

    #[test]
    fn a_cached_object_expands_to_the_object_it_was_made_of() {
        let mut pipeline = fixtures::mk_pipeline();
        pipeline.metadata.labels = Some([("team".to_owned(), "copy".to_owned())].into());
        let cached = Cached::new(pipeline.clone()).unwrap();
        assert_eq!(cached.meta().name, pipeline.metadata.name);
        assert_eq!(cached.platform_ref(), Some(&pipeline.spec.platform_ref));
        let expanded = cached.expand().unwrap();
        assert_eq!(
            serde_json::to_value(&expanded).unwrap(),
            serde_json::to_value(&pipeline).unwrap()
        );
    }

    #[test]
    fn it_decodes_from_the_api_servers_json_and_keeps_metadata_changes() {
        let pipeline = fixtures::mk_pipeline();
        let json = serde_json::to_string(&pipeline).unwrap();
        let mut cached: Cached<ContentPipeline> = serde_json::from_str(&json).unwrap();
        cached.meta_mut().managed_fields = None;
        cached.meta_mut().resource_version = Some("42".into());
        let expanded = cached.expand().unwrap();
        assert_eq!(expanded.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(
            serde_json::to_value(&expanded.spec).unwrap(),
            serde_json::to_value(&pipeline.spec).unwrap()
        );
    }

    #[test]
    fn a_malformed_object_is_refused_when_decoded() {
        let mut json = serde_json::to_value(fixtures::mk_pipeline()).unwrap();
        json["spec"]["components"] = serde_json::json!("not a list");
        let err = serde_json::from_value::<Cached<ContentPipeline>>(json).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn the_body_leaves_the_metadata_out() {
        let pipeline = fixtures::mk_pipeline();
        let cached = Cached::new(pipeline.clone()).unwrap();
        assert!(cached.body.contains(r#""metadata":{}"#), "{}", cached.body);
        let json = serde_json::to_string(&pipeline).unwrap();
        assert!(cached.body.len() < json.len());
    }
}
