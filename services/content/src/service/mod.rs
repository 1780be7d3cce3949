//! [`Content`]: the service's operations, between the HTTP handlers and the store.
//!
//! - `types`: content type CRUD.
//! - `entries`: entry writes (each save an immutable version), reads, history, diff, restore.
//! - `publishing`: workflow transitions, per-locale publish, schedules, events.
//! - `relations`: loading referenced entries to a bounded depth.
//! - `webhooks`: subscription CRUD and the delivery log.

mod entries;
mod publishing;
mod relations;
mod type_cache;
mod types;
mod webhooks;

use std::time::Duration;

use crate::{Store, error::Result, model::ContentType, workflow::Workflow};

use type_cache::TypeCache;

pub use publishing::{Actor, PUBLISHED, UNPUBLISHED};
pub use relations::Source;

/// How many times a `rev`-guarded update is retried after losing a race.
const RETRIES: usize = 16;

/// The content service's operations; shared by handlers and background loops.
#[derive(Debug, Clone)]
pub struct Content {
    store: Store,
    workflow: Workflow,
    default_locale: String,
    max_depth: u32,
    types: std::sync::Arc<TypeCache>,
}

impl Content {
    /// Operations over `store` with these rules; reads trust a cached content
    /// type for `type_ttl`.
    pub fn new(
        store: Store,
        workflow: Workflow,
        default_locale: String,
        max_depth: u32,
        type_ttl: Duration,
    ) -> Self {
        Self {
            store,
            workflow,
            default_locale,
            max_depth,
            types: std::sync::Arc::new(TypeCache::new(type_ttl)),
        }
    }

    /// The type `id` for a read (cached; see `type_cache`).
    pub(crate) async fn read_type(&self, id: &str) -> Result<Option<ContentType>> {
        if let Some(cached) = self.types.get(id) {
            return Ok(cached);
        }
        let ty = self.store.get_type(id).await?;
        self.types.put(id, ty.clone());
        Ok(ty)
    }

    /// The store (tests inspect it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The default locale.
    pub fn default_locale(&self) -> &str {
        &self.default_locale
    }
}
