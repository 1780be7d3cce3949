//! [`Templates`]: the service's operations, independent of HTTP.
//!
//! - this module: writes (create, update, activate, retire) and reads.
//! - `prepare`: checking a body into a version document (no writes).
//! - `render`: dependency resolution, cached engines, rendering, bundles, validation.

mod prepare;
mod render;

use std::sync::Arc;

use machina_kit::ApiError;
use machina_template_engine::Limits;

pub use prepare::{MAX_SOURCE_BYTES, canonical, check_name};

use crate::{
    cache::Cache,
    error::{Error, Result},
    invalidation::Notifier,
    metrics::RenderMetrics,
    model::{
        TemplateContent, TemplatePage, TemplateView, VersionDoc, VersionPage, VersionView,
        WriteResult,
    },
    store::Store,
};

/// Default and largest page size.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// Whether a write may add to an existing template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST /v1/templates`: the name must not be live.
    Create,
    /// `PUT /v1/templates/{name}`: adds a version (or creates the template).
    Update,
}

/// The template service's state and operations; share it behind an `Arc`.
#[derive(Debug)]
pub struct Templates {
    pub(crate) store: Store,
    pub(crate) cache: Arc<Cache>,
    pub(crate) notifier: Notifier,
    /// Default limits and caps on per-template overrides.
    pub(crate) limits: Limits,
    pub(crate) metrics: RenderMetrics,
}

impl Templates {
    /// The service over `store`.
    pub fn new(
        store: Store,
        cache: Arc<Cache>,
        notifier: Notifier,
        limits: Limits,
        metrics: RenderMetrics,
    ) -> Self {
        Self {
            store,
            cache,
            notifier,
            limits,
            metrics,
        }
    }

    /// The store (tests count documents through it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Number of compiled engines cached on this replica (tests check caching with it).
    pub fn cache_engines(&self) -> usize {
        self.cache.engines()
    }

    /// Stores `content` as a new version of `name` and activates it, or returns
    /// the existing version with the same content (`created: false`).
    pub async fn write(
        &self,
        name: &str,
        content: TemplateContent,
        mode: WriteMode,
    ) -> Result<WriteResult> {
        check_name("name", name)?;
        let existing = self.store.template(name).await?;
        if mode == WriteMode::Create && existing.as_ref().is_some_and(|t| !t.retired) {
            return Err(ApiError::Conflict(format!(
                "template {name:?} already exists; PUT /v1/templates/{name} adds a version"
            ))
            .into());
        }
        let description = content.description.clone();
        let prepared = self.prepare(name, content).await?;
        let same = self
            .store
            .version_by_content(name, &prepared.doc.content_checksum)
            .await?;
        let stored = match (&existing, same) {
            (Some(t), Some(found)) if !t.retired && found.version <= t.latest_version => {
                if let Some(d) = &description {
                    self.store.describe(name, d).await?;
                }
                return Ok(write_result(
                    &found,
                    t.active_version,
                    t.latest_version,
                    false,
                ));
            }
            // A version stored by a write that failed before activating it: finish that write.
            (Some(t), Some(found)) if found.version > t.latest_version => found,
            (None, Some(found)) => found,
            (existing, _) => {
                let exclusive = mode == WriteMode::Create && existing.is_none();
                self.store.insert_version(prepared.doc, exclusive).await?
            }
        };
        let template = self
            .store
            .promote(name, stored.version, description.as_deref())
            .await?;
        self.changed(name, template.active_version).await;
        tracing::info!(name = %name, version = stored.version, "template version stored");
        Ok(write_result(
            &stored,
            template.active_version,
            template.latest_version,
            true,
        ))
    }

    /// Makes `version` of `name` active (activation and rollback).
    pub async fn activate(&self, name: &str, version: i64) -> Result<TemplateView> {
        self.store.live_template(name).await?;
        let doc = self.store.existing_version(name, version).await?;
        let template = self.store.activate(name, version).await?;
        self.changed(name, version).await;
        tracing::info!(name = %name, version, "template version activated");
        Ok(template_view(&template, &doc))
    }

    /// Retires `name` (idempotent; unknown names are fine too).
    pub async fn retire(&self, name: &str) -> Result<()> {
        check_name("name", name)?;
        if self.store.retire(name).await? {
            self.changed(name, 0).await;
            tracing::info!(name = %name, "template retired");
        }
        Ok(())
    }

    /// A live template and its active version.
    pub async fn get(&self, name: &str) -> Result<TemplateView> {
        let template = self.store.live_template(name).await?;
        let active = self
            .store
            .existing_version(name, template.active_version)
            .await?;
        Ok(template_view(&template, &active))
    }

    /// A page of live templates.
    pub async fn list(&self, limit: Option<u32>, after: Option<&str>) -> Result<TemplatePage> {
        let limit = page_size(limit)?;
        let mut docs = self.store.list(after, i64::from(limit) + 1).await?;
        let next_cursor = next_cursor(&mut docs, limit, |t| t.name.clone());
        Ok(TemplatePage {
            items: docs.iter().map(|t| t.summary()).collect(),
            next_cursor,
        })
    }

    /// A page of a live template's versions.
    pub async fn versions(
        &self,
        name: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<VersionPage> {
        let limit = page_size(limit)?;
        let after = match after {
            Some(a) => a.parse::<i64>().map_err(|_| {
                Error::Api(ApiError::BadRequest {
                    field: Some("after".to_owned()),
                    reason: "must be a version number".to_owned(),
                })
            })?,
            None => 0,
        };
        let template = self.store.live_template(name).await?;
        let mut docs = self
            .store
            .versions(name, after, i64::from(limit) + 1)
            .await?;
        let next_cursor = next_cursor(&mut docs, limit, |v| v.version.to_string());
        Ok(VersionPage {
            items: docs
                .iter()
                .map(|v| v.summary(template.active_version))
                .collect(),
            next_cursor,
        })
    }

    /// One immutable version of a live template.
    pub async fn version(&self, name: &str, version: i64) -> Result<VersionView> {
        self.store.live_template(name).await?;
        Ok(self.store.existing_version(name, version).await?.view())
    }

    /// Evicts locally and tells the other replicas.
    async fn changed(&self, name: &str, version: i64) {
        self.cache.evict(name);
        self.notifier.publish(name, version).await;
    }
}

fn write_result(doc: &VersionDoc, active: i64, latest: i64, created: bool) -> WriteResult {
    WriteResult {
        name: doc.name.clone(),
        version: doc.version,
        active_version: active,
        latest_version: latest,
        checksum: doc.checksum.clone(),
        content_checksum: doc.content_checksum.clone(),
        format: doc.format,
        created,
    }
}

fn template_view(template: &crate::model::TemplateDoc, active: &VersionDoc) -> TemplateView {
    TemplateView {
        name: template.name.clone(),
        description: template.description.clone(),
        active_version: template.active_version,
        latest_version: template.latest_version,
        created_at: crate::model::rfc3339(template.created_at),
        updated_at: crate::model::rfc3339(template.updated_at),
        active: active.view(),
    }
}

fn page_size(limit: Option<u32>) -> Result<u32> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(Error::Api(ApiError::BadRequest {
            field: Some("limit".to_owned()),
            reason: format!("must be between 1 and {MAX_PAGE}"),
        })),
    }
}

/// Trims the extra item fetched to detect a next page and returns its cursor.
fn next_cursor<T>(items: &mut Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    }
}
