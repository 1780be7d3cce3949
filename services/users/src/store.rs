//! [`Store`]: the MongoDB collections, their indexes, and the queries on them.
//!
//! SecantusDB (the dev MongoDB) has no multi-document transactions, and the code must
//! not depend on them anyway: a profile write and its outbox entry are two writes
//! (see `events`). Prefix search uses index-friendly ranges on lower-cased keys,
//! not regular expressions.

use mongodb::{
    Collection, IndexModel,
    bson::{Bson, DateTime, Document, doc},
    error::{ErrorKind, WriteFailure},
    options::IndexOptions,
};

use futures::TryStreamExt as _;

use crate::{events::OutboxDoc, model::ProfileDoc};

/// How long published events stay in the outbox (for export and debugging).
const SENT_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// Handles to the service's collections.
#[derive(Debug, Clone)]
pub struct Store {
    /// Profiles (with preferences).
    pub profiles: Collection<ProfileDoc>,
    /// Change events waiting for (or recently through) RabbitMQ.
    pub outbox: Collection<OutboxDoc>,
}

/// What a search asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Case-insensitive prefix of username, display name or email.
    pub prefix: Option<String>,
    /// Exact email (case-insensitive).
    pub email_key: Option<String>,
    /// Include soft-deleted profiles.
    pub include_deleted: bool,
    /// Created at or after.
    pub created_after: Option<DateTime>,
    /// Created before.
    pub created_before: Option<DateTime>,
    /// Resume after this id.
    pub after_id: Option<String>,
}

impl Store {
    /// Collections of `database`.
    pub fn new(client: &mongodb::Client, database: &str) -> Self {
        let db = client.database(database);
        Self {
            profiles: db.collection("profiles"),
            outbox: db.collection("outbox"),
        }
    }

    /// Creates the indexes the queries and invariants need (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        for key in ["emailKey", "usernameKey"] {
            self.profiles
                .create_index(
                    IndexModel::builder()
                        .keys(doc! {key: 1})
                        .options(unique())
                        .build(),
                )
                .await?;
        }
        self.profiles
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"displayNameKey": 1})
                    .build(),
            )
            .await?;
        self.outbox
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"sentAt": 1, "createdAt": 1, "seq": 1})
                    .build(),
            )
            .await?;
        self.outbox
            .create_index(IndexModel::builder().keys(doc! {"userId": 1}).build())
            .await?;
        let ttl = IndexOptions::builder().expire_after(SENT_RETENTION).build();
        self.outbox
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"sentAt": 1})
                    .options(ttl)
                    .build(),
            )
            .await
            .map(|_| ())
            .or_else(ignore_index_conflict)
    }

    /// A profile that is neither soft-deleted nor erased. Looked up by `_id` alone and
    /// filtered here: a pure primary-key read is the cheapest query on any server.
    pub async fn active(&self, id: &str) -> mongodb::error::Result<Option<ProfileDoc>> {
        Ok(self
            .any(id)
            .await?
            .filter(|p| p.deleted_at.is_none() && p.erased_at.is_none()))
    }

    /// A profile in any state.
    pub async fn any(&self, id: &str) -> mongodb::error::Result<Option<ProfileDoc>> {
        self.profiles.find_one(doc! {"_id": id}).await
    }

    /// Replaces `doc` if it is still at `expected_version`; false when someone else won.
    pub async fn replace_if(
        &self,
        doc: &ProfileDoc,
        expected_version: i64,
    ) -> mongodb::error::Result<bool> {
        let result = self
            .profiles
            .replace_one(doc! {"_id": &doc.id, "version": expected_version}, doc)
            .await?;
        Ok(result.matched_count == 1)
    }

    /// One page of profiles ordered by id; `limit + 1` are read to know if more exist.
    pub async fn search(
        &self,
        filter: &SearchFilter,
        limit: usize,
    ) -> mongodb::error::Result<Vec<ProfileDoc>> {
        let cursor = self
            .profiles
            .find(query(filter))
            .sort(doc! {"_id": 1})
            .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .await?;
        cursor.try_collect().await
    }

    /// Every outbox entry about `user_id`, oldest first.
    pub async fn events_of(&self, user_id: &str) -> mongodb::error::Result<Vec<OutboxDoc>> {
        let cursor = self
            .outbox
            .find(doc! {"userId": user_id})
            .sort(doc! {"createdAt": 1, "seq": 1})
            .await?;
        cursor.try_collect().await
    }
}

/// The MongoDB filter for `f`.
pub fn query(f: &SearchFilter) -> Document {
    let mut and: Vec<Document> = Vec::new();
    if !f.include_deleted {
        and.push(doc! {"deletedAt": Bson::Null});
    }
    and.push(doc! {"erasedAt": Bson::Null});
    if let Some(email) = &f.email_key {
        and.push(doc! {"emailKey": email});
    }
    if let Some(prefix) = &f.prefix {
        // Every string starting with `prefix` sorts between it and prefix + U+10FFFF
        // (byte-wise comparison of UTF-8, MongoDB's default collation).
        let range = doc! {"$gte": prefix, "$lt": format!("{prefix}\u{10FFFF}")};
        and.push(doc! {"$or": [
            {"usernameKey": range.clone()},
            {"displayNameKey": range.clone()},
            {"emailKey": range},
        ]});
    }
    if let Some(t) = f.created_after {
        and.push(doc! {"createdAt": {"$gte": t}});
    }
    if let Some(t) = f.created_before {
        and.push(doc! {"createdAt": {"$lt": t}});
    }
    if let Some(id) = &f.after_id {
        and.push(doc! {"_id": {"$gt": id}});
    }
    doc! {"$and": and}
}

/// The unique index a duplicate-key error names: `email`, `username`, or `None`.
pub fn duplicate_of(err: &mongodb::error::Error) -> Option<&'static str> {
    let message = match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == 11000 => e.message.as_str(),
        ErrorKind::Command(e) if e.code == 11000 => e.message.as_str(),
        _ => return None,
    };
    Some(if message.contains("usernameKey") {
        "username"
    } else if message.contains("emailKey") {
        "email"
    } else {
        "email or username"
    })
}

/// An index that exists with other options (e.g. another retention) is kept.
fn ignore_index_conflict(err: mongodb::error::Error) -> mongodb::error::Result<()> {
    match err.kind.as_ref() {
        ErrorKind::Command(e) if e.code == 85 || e.code == 86 => Ok(()),
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_search_hides_deleted_and_erased() {
        let q = query(&SearchFilter::default());
        let and = q.get_array("$and").unwrap();
        assert_eq!(and.len(), 2);
    }

    #[test]
    fn prefix_is_a_range_on_three_keys() {
        let q = query(&SearchFilter {
            prefix: Some("ad".into()),
            include_deleted: true,
            ..SearchFilter::default()
        });
        let text = format!("{q}");
        for key in ["usernameKey", "displayNameKey", "emailKey", "$gte", "$lt"] {
            assert!(text.contains(key), "{text}");
        }
        assert!(!text.contains("deletedAt"), "{text}");
    }
}
