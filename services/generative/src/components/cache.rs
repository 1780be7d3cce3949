//! Cache: serves the pipeline's result from the cache while fresh.
//!
//! The key is built from the pipeline name and version, the component's name and the
//! values at the `key` paths of the input (the whole input when there are none). On a hit
//! the output is the cached result and the executor skips every component that depends on
//! this one; on a miss the input passes through and the executor stores the pipeline's
//! result under the key once the run completes.

use super::{CacheOutcome, Component, ComponentError, ComponentOutput, RunContext};
use crate::backends::Cache;
use crate::definition::checksum;
use crate::json::{canonical, lookup};
use crate::render::Renderer;
use async_trait::async_trait;
use machina_crds::content_pipeline::components::Cache as CacheSpec;
use serde_json::Value;
use std::sync::Arc;

/// The Cache component.
#[derive(Debug)]
pub struct CacheComponent {
    name: String,
    spec: CacheSpec,
    cache: Arc<dyn Cache>,
    renderer: Option<Arc<dyn Renderer>>,
}

impl CacheComponent {
    /// A component named `name` caching as `spec` says in `cache`.
    pub fn new(name: &str, spec: CacheSpec, cache: Arc<dyn Cache>) -> Self {
        Self {
            name: name.to_owned(),
            spec,
            cache,
            renderer: None,
        }
    }

    /// Mixes the template versions in force of `renderer` into the keys, so a newly
    /// activated template version is rendered instead of served stale from the cache.
    pub fn with_renderer(mut self, renderer: Option<Arc<dyn Renderer>>) -> Self {
        self.renderer = renderer;
        self
    }

    /// The cache key for `input`.
    pub fn key(&self, ctx: &RunContext, input: &Value) -> String {
        let material = if self.spec.key.is_empty() {
            canonical(input)
        } else {
            let values: Vec<Value> = self
                .spec
                .key
                .iter()
                .map(|path| lookup(input, path).cloned().unwrap_or(Value::Null))
                .collect();
            canonical(&Value::Array(values))
        };
        let tag = self
            .renderer
            .as_ref()
            .map(|r| r.versions_tag())
            .unwrap_or_default();
        let material = if tag.is_empty() {
            material
        } else {
            format!("{tag}\n{material}")
        };
        format!(
            "machina:cp:{}:{}:{}:{}",
            ctx.pipeline,
            ctx.version,
            self.name,
            checksum(material.as_bytes())
        )
    }
}

#[async_trait]
impl Component for CacheComponent {
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError> {
        let key = self.key(ctx, &input);
        if let Some(cached) = self.cache.get(&key).await? {
            let mut output = ComponentOutput::new(cached);
            output.info.cache = Some(CacheOutcome::Hit);
            return Ok(output);
        }
        let mut output = ComponentOutput::new(input);
        output.info.cache = Some(CacheOutcome::Miss {
            key,
            ttl_seconds: u64::try_from(self.spec.ttl_seconds).unwrap_or(1).max(1),
        });
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::test_support::mk_ctx;
    use crate::testing::MemoryCache;
    use serde_json::json;
    use std::time::Duration;

    fn mk_cache(cache: Arc<MemoryCache>) -> CacheComponent {
        CacheComponent::new(
            "cached",
            CacheSpec {
                ttl_seconds: 60,
                key: vec!["sku".into(), "tone".into()],
            },
            cache,
        )
    }

    #[tokio::test]
    async fn misses_then_hits_on_the_key_paths_only() {
        let memory = Arc::new(MemoryCache::new());
        let component = mk_cache(memory.clone());
        let ctx = mk_ctx(json!({}));
        let input = json!({"sku": "ABC-123", "tone": "neutral", "noise": 1});
        let miss = component.run(&ctx, input.clone()).await.expect("runs");
        assert_eq!(miss.value, input);
        let Some(CacheOutcome::Miss { key, ttl_seconds }) = miss.info.cache else {
            panic!("expected a miss, got {:?}", miss.info.cache);
        };
        assert_eq!(ttl_seconds, 60);
        assert!(
            key.starts_with("machina:cp:product-copy:abc123:cached:"),
            "{key}"
        );
        memory
            .set(&key, &json!("cached page"), Duration::from_secs(60))
            .await
            .expect("set");
        let other_noise = json!({"sku": "ABC-123", "tone": "neutral", "noise": 2});
        let hit = component.run(&ctx, other_noise).await.expect("runs");
        assert_eq!(hit.info.cache, Some(CacheOutcome::Hit));
        assert_eq!(hit.value, json!("cached page"));
        let other_tone = json!({"sku": "ABC-123", "tone": "premium"});
        assert_ne!(component.key(&ctx, &other_tone), key);
    }

    /// A renderer whose only trait is the versions it reports.
    #[derive(Debug, Default)]
    struct Versions(std::sync::Mutex<String>);

    impl Renderer for Versions {
        fn render(
            &self,
            template: &str,
            _: &Value,
        ) -> Result<crate::render::Rendered, crate::render::RenderError> {
            Err(crate::render::RenderError::UnknownTemplate {
                template: template.to_owned(),
            })
        }

        fn render_str(
            &self,
            source: &str,
            _: &Value,
        ) -> Result<String, crate::render::RenderError> {
            Ok(source.to_owned())
        }

        fn versions_tag(&self) -> String {
            self.0.lock().map(|v| v.clone()).unwrap_or_default()
        }
    }

    #[test]
    fn a_new_template_version_is_a_new_key() {
        let versions = Arc::new(Versions::default());
        *versions.0.lock().expect("lock") = "page=product-page@1".to_owned();
        let component =
            mk_cache(Arc::new(MemoryCache::new())).with_renderer(Some(versions.clone()));
        let ctx = mk_ctx(json!({}));
        let input = json!({"sku": "ABC-123", "tone": "neutral"});
        let before = component.key(&ctx, &input);
        assert_eq!(component.key(&ctx, &input), before, "stable");
        *versions.0.lock().expect("lock") = "page=product-page@2".to_owned();
        assert_ne!(component.key(&ctx, &input), before);
        assert_eq!(
            mk_cache(Arc::new(MemoryCache::new())).key(&ctx, &input),
            mk_cache(Arc::new(MemoryCache::new()))
                .with_renderer(Some(Arc::new(Versions::default())))
                .key(&ctx, &input),
            "an unversioned renderer leaves the key as it was"
        );
    }
}
