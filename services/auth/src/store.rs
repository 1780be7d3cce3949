//! [`Store`]: the MongoDB collections and their indexes.

use mongodb::{
    Collection, IndexModel,
    bson::doc,
    error::{ErrorKind, WriteFailure},
    options::IndexOptions,
};

use crate::model::{ClientDoc, KeyDoc, RefreshDoc, RoleDoc, UserDoc};

/// Handles to the service's collections.
#[derive(Debug, Clone)]
pub struct Store {
    /// Signing keys.
    pub keys: Collection<KeyDoc>,
    /// OAuth clients.
    pub clients: Collection<ClientDoc>,
    /// Users.
    pub users: Collection<UserDoc>,
    /// Roles → permissions.
    pub roles: Collection<RoleDoc>,
    /// Refresh tokens.
    pub refresh: Collection<RefreshDoc>,
}

impl Store {
    /// Collections of `database`.
    pub fn new(client: &mongodb::Client, database: &str) -> Self {
        let db = client.database(database);
        Self {
            keys: db.collection("signing_keys"),
            clients: db.collection("clients"),
            users: db.collection("users"),
            roles: db.collection("roles"),
            refresh: db.collection("refresh_tokens"),
        }
    }

    /// Creates the indexes the queries and invariants need (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.users
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"email": 1})
                    .options(unique())
                    .build(),
            )
            .await?;
        self.keys
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"generation": 1})
                    .options(unique())
                    .build(),
            )
            .await?;
        self.refresh
            .create_index(IndexModel::builder().keys(doc! {"family": 1}).build())
            .await?;
        self.refresh
            .create_index(IndexModel::builder().keys(doc! {"sub": 1}).build())
            .await?;
        let ttl = IndexOptions::builder()
            .expire_after(std::time::Duration::ZERO)
            .build();
        self.refresh
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"expiresAt": 1})
                    .options(ttl)
                    .build(),
            )
            .await?;
        Ok(())
    }
}

/// True for a unique-index violation.
pub fn is_duplicate(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|e| e.code == 11000)),
        ErrorKind::Command(e) => e.code == 11000,
        _ => false,
    }
}
