//! [`StateStore`]: the recommendation state ([`RecState`]) persisted in MongoDB,
//! so a restarted replica continues from the watermark instead of re-reading
//! every event, and never folds an event in twice.
//!
//! | collection            | documents |
//! |-----------------------|-----------|
//! | `insights_state`      | one: `{_id: "recs", epoch, anchorMs, halfLifeMs, watermarkMs, trending}` |
//! | `insights_profiles`   | one per user and epoch: `{_id: "<epoch>:<user>", epoch, user, items: [{i, w, t}], applied: [{id, at}]}` |
//! | `insights_categories` | one per item and epoch: `{_id: "<epoch>:<item>", epoch, item, category}` |
//!
//! A user's weights and the ids of the events folded into them live in one
//! document, written in one operation: after a crash, a replayed event either
//! is in that list (and is skipped) or is not in the weights either. No
//! multi-document transaction is needed (SecantusDB has none).
//!
//! A full rebuild writes a new epoch beside the old one, then switches the
//! state document to it, then deletes the old epoch: a crash in between leaves
//! the old, consistent state in place.

use futures::TryStreamExt;
use machina_kit::Mongo;
use mongodb::{
    Collection, IndexModel,
    bson::{Bson, Document, doc},
    options::ReplaceOptions,
};

use crate::{
    algo::recs::{Profiles, profiles::Cell},
    incremental::RecState,
    store::StoreError,
};

const STATE_ID: &str = "recs";
/// Documents per `insert_many`.
const INSERT_CHUNK: usize = 1_000;

/// Where the state lives.
#[derive(Debug, Clone)]
pub struct StateStore {
    state: Collection<Document>,
    profiles: Collection<Document>,
    categories: Collection<Document>,
}

/// A loaded state and the epoch it belongs to.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The epoch (the anchor of the full rebuild that started it).
    pub epoch: i64,
    /// The state.
    pub state: RecState,
}

fn write(source: mongodb::error::Error) -> StoreError {
    StoreError::State {
        action: "writing",
        source,
    }
}

fn read(source: mongodb::error::Error) -> StoreError {
    StoreError::State {
        action: "reading",
        source,
    }
}

impl StateStore {
    /// The collections in `database`.
    pub fn new(mongo: &Mongo, database: &str) -> Self {
        let db = mongo.client().database(database);
        Self {
            state: db.collection("insights_state"),
            profiles: db.collection("insights_profiles"),
            categories: db.collection("insights_categories"),
        }
    }

    /// The persisted state, if there is one decayed with `half_life_ms`
    /// (weights accumulated with another half-life cannot be continued).
    pub async fn load(&self, half_life_ms: Option<i64>) -> Result<Option<Stored>, StoreError> {
        let Some(head) = self
            .state
            .find_one(doc! {"_id": STATE_ID})
            .await
            .map_err(read)?
        else {
            return Ok(None);
        };
        let (Ok(epoch), Ok(anchor_ms)) = (head.get_i64("epoch"), head.get_i64("anchorMs")) else {
            return Ok(None);
        };
        if head.get_i64("halfLifeMs").ok() != half_life_ms {
            return Ok(None);
        }
        let mut state = RecState {
            profiles: Profiles::new(anchor_ms, half_life_ms),
            watermark_ms: head.get_i64("watermarkMs").unwrap_or(0),
            trending: strings(head.get_array("trending").ok()),
            ..RecState::default()
        };
        let mut cursor = self
            .profiles
            .find(doc! {"epoch": epoch})
            .await
            .map_err(read)?;
        while let Some(d) = cursor.try_next().await.map_err(read)? {
            let Ok(user) = d.get_str("user") else {
                continue;
            };
            let cells = docs(d.get_array("items").ok())
                .filter_map(|c| {
                    let cell = Cell {
                        weight: c.get_f64("w").ok()?,
                        last_ms: c.get_i64("t").ok()?,
                    };
                    Some((c.get_str("i").ok()?.to_owned(), cell))
                })
                .collect();
            let applied: std::collections::BTreeMap<String, i64> =
                docs(d.get_array("applied").ok())
                    .filter_map(|a| Some((a.get_str("id").ok()?.to_owned(), a.get_i64("at").ok()?)))
                    .collect();
            state.profiles.users.insert(user.to_owned(), cells);
            if !applied.is_empty() {
                state.applied.insert(user.to_owned(), applied);
            }
        }
        let mut cursor = self
            .categories
            .find(doc! {"epoch": epoch})
            .await
            .map_err(read)?;
        while let Some(d) = cursor.try_next().await.map_err(read)? {
            if let (Ok(item), Ok(category)) = (d.get_str("item"), d.get_str("category")) {
                state
                    .categories
                    .insert(item.to_owned(), category.to_owned());
            }
        }
        Ok(Some(Stored { epoch, state }))
    }

    /// Writes `state` as a new epoch (its anchor), switches to it and drops the old ones.
    pub async fn save_full(&self, state: &RecState) -> Result<i64, StoreError> {
        let epoch = state.profiles.anchor_ms;
        for c in [&self.profiles, &self.categories] {
            c.create_index(IndexModel::builder().keys(doc! {"epoch": 1}).build())
                .await
                .map_err(write)?;
            // Leftovers of a crashed attempt at this very epoch.
            c.delete_many(doc! {"epoch": epoch}).await.map_err(write)?;
        }
        let users: Vec<Document> = state
            .profiles
            .users
            .keys()
            .map(|u| profile_doc(epoch, u, state))
            .collect();
        for chunk in users.chunks(INSERT_CHUNK) {
            self.profiles
                .insert_many(chunk.to_vec())
                .await
                .map_err(write)?;
        }
        let categories: Vec<Document> = state
            .categories
            .iter()
            .map(|(item, category)| category_doc(epoch, item, category))
            .collect();
        for chunk in categories.chunks(INSERT_CHUNK) {
            self.categories
                .insert_many(chunk.to_vec())
                .await
                .map_err(write)?;
        }
        self.save_head(epoch, state).await?;
        for c in [&self.profiles, &self.categories] {
            c.delete_many(doc! {"epoch": {"$ne": epoch}})
                .await
                .map_err(write)?;
        }
        Ok(epoch)
    }

    /// Writes the `users` and category `items` that changed, then the watermark.
    pub async fn save_step<'a>(
        &self,
        epoch: i64,
        state: &RecState,
        users: impl IntoIterator<Item = &'a String>,
        items: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), StoreError> {
        let upsert = ReplaceOptions::builder().upsert(true).build();
        for user in users {
            let d = profile_doc(epoch, user, state);
            self.profiles
                .replace_one(doc! {"_id": d.get("_id")}, d)
                .with_options(upsert.clone())
                .await
                .map_err(write)?;
        }
        for item in items {
            let Some(category) = state.categories.get(item) else {
                continue;
            };
            let d = category_doc(epoch, item, category);
            self.categories
                .replace_one(doc! {"_id": d.get("_id")}, d)
                .with_options(upsert.clone())
                .await
                .map_err(write)?;
        }
        self.save_head(epoch, state).await
    }

    async fn save_head(&self, epoch: i64, state: &RecState) -> Result<(), StoreError> {
        let head = doc! {
            "_id": STATE_ID,
            "epoch": epoch,
            "anchorMs": state.profiles.anchor_ms,
            "halfLifeMs": state.profiles.half_life_ms.map_or(Bson::Null, Bson::Int64),
            "watermarkMs": state.watermark_ms,
            "trending": &state.trending,
        };
        self.state
            .replace_one(doc! {"_id": STATE_ID}, head)
            .with_options(ReplaceOptions::builder().upsert(true).build())
            .await
            .map_err(write)?;
        Ok(())
    }
}

fn profile_doc(epoch: i64, user: &str, state: &RecState) -> Document {
    let items: Vec<Document> = state
        .profiles
        .users
        .get(user)
        .into_iter()
        .flatten()
        .map(|(item, cell)| doc! {"i": item, "w": cell.weight, "t": cell.last_ms})
        .collect();
    let applied: Vec<Document> = state
        .applied
        .get(user)
        .into_iter()
        .flatten()
        .map(|(id, at)| doc! {"id": id, "at": *at})
        .collect();
    doc! {
        "_id": format!("{epoch}:{user}"), "epoch": epoch, "user": user,
        "items": items, "applied": applied,
    }
}

fn category_doc(epoch: i64, item: &str, category: &str) -> Document {
    doc! {"_id": format!("{epoch}:{item}"), "epoch": epoch, "item": item, "category": category}
}

fn docs(array: Option<&Vec<Bson>>) -> impl Iterator<Item = &Document> {
    array.into_iter().flatten().filter_map(Bson::as_document)
}

fn strings(array: Option<&Vec<Bson>>) -> Vec<String> {
    array
        .into_iter()
        .flatten()
        .filter_map(|b| b.as_str().map(str::to_owned))
        .collect()
}
