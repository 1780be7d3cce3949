//! [`RoleCache`]: roles → permissions from MongoDB, reloaded at most every few
//! seconds so token issuance does not query roles on every request.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use futures::TryStreamExt as _;
use mongodb::{Collection, bson::doc};

use super::Auth;
use crate::{Error, Result, model::RoleDoc, scope};

/// How long a loaded role table is used before reloading.
const TTL: Duration = Duration::from_secs(5);

/// Role name → permissions.
pub type RoleTable = HashMap<String, Vec<String>>;

/// Cached role table.
#[derive(Debug)]
pub struct RoleCache {
    collection: Collection<RoleDoc>,
    table: Mutex<Option<(Instant, RoleTable)>>,
}

impl RoleCache {
    /// A cache over `collection`.
    pub fn new(collection: Collection<RoleDoc>) -> Self {
        Self {
            collection,
            table: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<HashMap<String, Vec<String>>> {
        let guard = self.table.lock().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, t)| t.clone())
    }

    /// Forgets the table (after an admin change on this replica).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.table.lock() {
            *guard = None;
        }
    }

    /// The role table.
    pub async fn table(&self) -> mongodb::error::Result<HashMap<String, Vec<String>>> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let roles: Vec<RoleDoc> = self.collection.find(doc! {}).await?.try_collect().await?;
        let table: HashMap<_, _> = roles.into_iter().map(|r| (r.name, r.permissions)).collect();
        if let Ok(mut guard) = self.table.lock() {
            *guard = Some((Instant::now(), table.clone()));
        }
        Ok(table)
    }
}

/// True for a role or permission name: `[A-Za-z0-9_.:-]{1,64}`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

impl Auth {
    /// The permissions `roles` grant.
    pub async fn permissions(&self, roles: &[String]) -> Result<Vec<String>> {
        let table = self.roles.table().await.map_err(|e| self.db(&e))?;
        Ok(scope::permissions(roles, &table))
    }

    /// Creates or replaces a role.
    pub async fn put_role(&self, name: &str, permissions: Vec<String>) -> Result<RoleDoc> {
        if !valid_name(name) {
            return Err(Error::invalid(
                "name",
                "a role name is 1-64 of A-Z a-z 0-9 _ . : -",
            ));
        }
        if let Some((i, _)) = permissions.iter().enumerate().find(|(_, p)| !valid_name(p)) {
            return Err(Error::invalid(
                &format!("permissions[{i}]"),
                "a permission is 1-64 of A-Z a-z 0-9 _ . : -",
            ));
        }
        let mut permissions = permissions;
        permissions.sort();
        permissions.dedup();
        let role = RoleDoc {
            name: name.to_owned(),
            permissions,
        };
        self.store
            .roles
            .replace_one(doc! {"_id": name}, &role)
            .upsert(true)
            .await
            .map_err(|e| self.db(&e))?;
        self.roles.invalidate();
        Ok(role)
    }

    /// Every role.
    pub async fn list_roles(&self) -> Result<Vec<RoleDoc>> {
        let mut roles: Vec<RoleDoc> = self
            .store
            .roles
            .find(doc! {})
            .await
            .map_err(|e| self.db(&e))?
            .try_collect()
            .await
            .map_err(|e| self.db(&e))?;
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles)
    }

    /// Deletes a role (404 if absent).
    pub async fn delete_role(&self, name: &str) -> Result<()> {
        let outcome = self
            .store
            .roles
            .delete_one(doc! {"_id": name})
            .await
            .map_err(|e| self.db(&e))?;
        self.roles.invalidate();
        if outcome.deleted_count == 0 {
            return Err(Error::not_found(format!("role {name:?}")));
        }
        Ok(())
    }
}
