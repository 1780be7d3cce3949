//! Custom MongoDB roles: privileges on named collections of one database, for workloads
//! that must not see a whole database (an AnalyticsJob reads `events` and writes only its
//! own collections). Standard commands only: `rolesInfo`, `createRole`, `updateRole`,
//! `dropRole`.

use super::{MongoError, MongoProvisioner, Result, command_code};
use mongodb::bson::{Bson, Document, doc};

/// MongoDB's error code for a role that does not exist.
const ROLE_NOT_FOUND: i32 = 31;

/// Actions on one collection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Privilege {
    /// Collection the actions apply to.
    pub collection: String,
    /// MongoDB privilege actions, e.g. `find`, `insert`.
    pub actions: Vec<&'static str>,
}

impl Privilege {
    /// Read only.
    pub fn read(collection: impl Into<String>) -> Self {
        Self {
            collection: collection.into(),
            actions: vec!["find"],
        }
    }

    /// Read, write, delete and index a collection the workload owns.
    pub fn own(collection: impl Into<String>) -> Self {
        Self {
            collection: collection.into(),
            actions: vec!["find", "insert", "update", "remove", "createIndex"],
        }
    }

    /// Read and upsert, never delete: a collection shared with other workloads.
    pub fn upsert(collection: impl Into<String>) -> Self {
        Self {
            collection: collection.into(),
            actions: vec!["find", "insert", "update"],
        }
    }
}

/// A role defined in `db` holding exactly `privileges` (and inheriting nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSpec {
    /// Database the role is defined in; its privileges are on this database's collections.
    pub db: String,
    /// Role name.
    pub role: String,
    /// Every privilege of the role; `ensure_role` removes any other.
    pub privileges: Vec<Privilege>,
}

impl RoleSpec {
    fn privileges_bson(&self) -> Vec<Bson> {
        self.privileges
            .iter()
            .map(|p| {
                Bson::Document(doc! {
                    "resource": { "db": &self.db, "collection": &p.collection },
                    "actions": p.actions.clone(),
                })
            })
            .collect()
    }

    /// `createRole` / `updateRole` with the full privilege list.
    pub(super) fn command(&self, command: &str) -> Document {
        let mut cmd = Document::new();
        cmd.insert(command, self.role.as_str());
        cmd.insert("privileges", self.privileges_bson());
        cmd.insert("roles", Vec::<Bson>::new());
        cmd
    }
}

impl MongoProvisioner {
    /// Whether `role` is defined in `db`.
    pub async fn role_exists(&self, db: &str, role: &str) -> Result<bool> {
        let reply = self
            .client
            .database(db)
            .run_command(doc! { "rolesInfo": { "role": role, "db": db } })
            .await
            .map_err(|source| MongoError::EnsureRole {
                role: role.into(),
                db: db.into(),
                source,
            })?;
        Ok(reply
            .get_array("roles")
            .map(|roles| !roles.is_empty())
            .unwrap_or(false))
    }

    /// Makes `spec.role` exist in `spec.db` with exactly `spec.privileges`: `createRole` when
    /// missing, else `updateRole` (idempotent; a changed output collection moves the grant).
    pub async fn ensure_role(&self, spec: &RoleSpec) -> Result<()> {
        let error = |source| MongoError::EnsureRole {
            role: spec.role.clone(),
            db: spec.db.clone(),
            source,
        };
        let db = self.client.database(&spec.db);
        if !self.role_exists(&spec.db, &spec.role).await? {
            match db.run_command(spec.command("createRole")).await {
                Ok(_) => {
                    tracing::info!(role = %spec.role, db = %spec.db, "created MongoDB role");
                    return Ok(());
                }
                // Created concurrently (a retried reconcile): converge it below.
                Err(_) if self.role_exists(&spec.db, &spec.role).await? => {}
                Err(source) => return Err(error(source)),
            }
        }
        db.run_command(spec.command("updateRole"))
            .await
            .map_err(error)?;
        Ok(())
    }

    /// Drops `role` from `db`. Returns whether it existed; a missing role is not an error.
    pub async fn drop_role(&self, db: &str, role: &str) -> Result<bool> {
        match self
            .client
            .database(db)
            .run_command(doc! { "dropRole": role })
            .await
        {
            Ok(_) => {
                tracing::info!(role, db, "dropped MongoDB role");
                Ok(true)
            }
            Err(e) if command_code(&e) == Some(ROLE_NOT_FOUND) => Ok(false),
            Err(source) => Err(MongoError::DropRole {
                role: role.into(),
                db: db.into(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_command_lists_collection_scoped_privileges_and_no_inherited_roles() {
        let spec = RoleSpec {
            db: "acme_analytics".into(),
            role: "machina.aj.shop.daily".into(),
            privileges: vec![Privilege::read("events"), Privilege::own("daily")],
        };
        let cmd = spec.command("createRole");
        assert_eq!(
            cmd.get_str("createRole").ok(),
            Some("machina.aj.shop.daily")
        );
        assert_eq!(cmd.get_array("roles").map(Vec::len).ok(), Some(0));
        let privileges = cmd.get_array("privileges").expect("privileges");
        let first = privileges[0].as_document().expect("document");
        assert_eq!(
            first.get_document("resource").ok(),
            Some(&doc! {"db": "acme_analytics", "collection": "events"})
        );
        assert_eq!(
            first.get_array("actions").ok(),
            Some(&vec![Bson::String("find".into())])
        );
        let second = privileges[1].as_document().expect("document");
        assert!(
            !second
                .get_array("actions")
                .expect("actions")
                .contains(&Bson::String("dropCollection".into()))
        );
    }
}
