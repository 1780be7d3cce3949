//! [`Users`]: the operations, independent of HTTP.
//!
//! - [`access`]: who may touch which profile.
//! - [`profiles`]: read, patch, soft delete, search.
//! - [`preferences`]: the preferences object (merge patch, size limit).
//! - [`register`]: registration through auth, and its recovery path.
//! - [`gdpr`]: export and erasure.

pub mod access;
pub mod gdpr;
pub mod preferences;
pub mod profiles;
pub mod register;

use std::sync::Arc;

use crate::{
    auth_client::AuthClient,
    error::{Error, Result},
    events::{ChangeKind, Outbox},
    model::ProfileDoc,
    store::Store,
    traits::TraitsSchema,
};

/// How often a read-modify-write is retried when another writer got there first.
const WRITE_ATTEMPTS: usize = 5;

/// The user service's operations; shared behind an `Arc`.
#[derive(Debug)]
pub struct Users {
    /// Collections.
    pub store: Store,
    /// Change events.
    pub outbox: Outbox,
    /// The auth service.
    pub auth: AuthClient,
    /// The platform's traits schema.
    pub traits: Arc<TraitsSchema>,
    /// Permission granting access to every profile.
    pub admin_permission: String,
    /// Size limit of a preferences object, in bytes of JSON.
    pub preferences_max_bytes: usize,
}

impl Users {
    /// Applies `change` to the active profile `id` and records `kind`, retrying on a
    /// concurrent write. `change` validates and returns the changed document, or an error
    /// (nothing written).
    pub async fn modify<F>(&self, id: &str, kind: ChangeKind, mut change: F) -> Result<ProfileDoc>
    where
        F: FnMut(&mut ProfileDoc) -> Result<()>,
    {
        for _ in 0..WRITE_ATTEMPTS {
            let mut doc = self.store.active(id).await?.ok_or_else(|| not_found(id))?;
            let version = doc.version;
            change(&mut doc)?;
            doc.version = version + 1;
            doc.updated_at = mongodb::bson::DateTime::now();
            self.outbox.stage(kind, &mut doc);
            match self.store.replace_if(&doc, version).await {
                Ok(true) => {
                    self.outbox.wake();
                    return Ok(doc);
                }
                Ok(false) => continue,
                Err(e) => return Err(duplicate_or(e)),
            }
        }
        Err(Error::conflict(
            "the profile is being changed concurrently; retry",
        ))
    }
}

/// 404 for a profile the caller cannot see (missing, deleted, or someone else's).
pub fn not_found(id: &str) -> Error {
    Error::not_found(format!("no profile {id}"))
}

/// 409 naming the taken field for a unique-index violation, else a 503.
pub fn duplicate_or(err: mongodb::error::Error) -> Error {
    match crate::store::duplicate_of(&err) {
        Some(field) => Error::conflict(format!("this {field} is already taken")),
        None => err.into(),
    }
}
