//! Loading referenced entries into a read, to a bounded depth.
//!
//! A reference value (an entry id) becomes `{id, type, slug, fields}` with the
//! referenced entry's values (in the same locale), whose own references are
//! loaded one level less deep. An id already on the path from the root becomes
//! `{id, cycle: true}`; an id that does not resolve becomes `{id, missing: true}`.
//! Each level is one query for all its ids.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::Content;
use crate::{
    error::Result,
    model::{ContentType, FieldKind, Fields},
    validate::{references, resolve},
};

/// Where referenced entries are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The latest saved values (`entries`), resolved for a locale.
    Working {
        /// Requested locale.
        locale: String,
        /// Used where `locale` has no value.
        fallback: String,
    },
    /// The published copies (`published`), in the locale or else the fallback.
    Published {
        /// Requested locale.
        locale: String,
        /// Used when the entry is not published in `locale`.
        fallback: String,
    },
}

/// A loaded referenced entry.
struct Loaded {
    type_id: String,
    slug: String,
    fields: Fields,
}

impl Content {
    /// `fields` (of a `ty` entry) with references loaded `depth` levels deep;
    /// `path` holds the ids from the root down to this entry.
    pub(crate) fn expand<'a>(
        &'a self,
        ty: &'a ContentType,
        fields: Fields,
        source: &'a Source,
        depth: u32,
        path: Vec<String>,
    ) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async move {
            if depth == 0 {
                return Ok(fields);
            }
            let ids: BTreeSet<String> = references(ty, &fields).into_iter().map(|r| r.id).collect();
            if ids.is_empty() {
                return Ok(fields);
            }
            let wanted: Vec<String> = ids
                .iter()
                .filter(|id| !path.contains(id))
                .cloned()
                .collect();
            let loaded = self.load(&wanted, source).await?;
            let mut types: BTreeMap<String, Option<ContentType>> = BTreeMap::new();
            let mut replacements: BTreeMap<String, Value> = BTreeMap::new();
            for id in ids {
                let value = if path.contains(&id) {
                    json!({ "id": id, "cycle": true })
                } else if let Some(entry) = loaded.get(&id) {
                    if !types.contains_key(&entry.type_id) {
                        types.insert(entry.type_id.clone(), self.read_type(&entry.type_id).await?);
                    }
                    let inner = match types.get(&entry.type_id).and_then(Option::as_ref) {
                        Some(inner_ty) => {
                            let mut below = path.clone();
                            below.push(id.clone());
                            self.expand(inner_ty, entry.fields.clone(), source, depth - 1, below)
                                .await?
                        }
                        None => entry.fields.clone(),
                    };
                    json!({ "id": id, "type": entry.type_id, "slug": entry.slug, "fields": inner })
                } else {
                    json!({ "id": id, "missing": true })
                };
                replacements.insert(id, value);
            }
            Ok(replace_references(ty, fields, &replacements))
        })
    }

    /// The entries `ids` as `source` sees them.
    async fn load(&self, ids: &[String], source: &Source) -> Result<BTreeMap<String, Loaded>> {
        let mut loaded = BTreeMap::new();
        match source {
            Source::Working { locale, fallback } => {
                let mut types: BTreeMap<String, Option<ContentType>> = BTreeMap::new();
                for entry in self.store.get_entries(ids).await? {
                    if !types.contains_key(&entry.type_id) {
                        types.insert(entry.type_id.clone(), self.read_type(&entry.type_id).await?);
                    }
                    let ty = types.get(&entry.type_id).and_then(Option::as_ref);
                    let fields = resolve(ty, &entry.fields, locale, fallback);
                    loaded.insert(
                        entry.id,
                        Loaded {
                            type_id: entry.type_id,
                            slug: entry.slug,
                            fields,
                        },
                    );
                }
            }
            Source::Published { locale, fallback } => {
                for doc in self
                    .store
                    .get_published_copies(ids, locale, fallback)
                    .await?
                {
                    loaded.entry(doc.entry_id).or_insert(Loaded {
                        type_id: doc.type_id,
                        slug: doc.slug,
                        fields: doc.fields,
                    });
                }
            }
        }
        Ok(loaded)
    }
}

/// `fields` with each reference id replaced by its entry in `replacements`.
fn replace_references(
    ty: &ContentType,
    mut fields: Fields,
    replacements: &BTreeMap<String, Value>,
) -> Fields {
    for def in &ty.fields {
        if let Some(value) = fields.get_mut(&def.name) {
            replace_value(&def.kind, value, replacements);
        }
    }
    fields
}

fn replace_value(kind: &FieldKind, value: &mut Value, replacements: &BTreeMap<String, Value>) {
    match (kind, &mut *value) {
        (FieldKind::Reference { .. }, Value::String(id)) => {
            if let Some(found) = replacements.get(id.as_str()) {
                *value = found.clone();
            }
        }
        (FieldKind::List { of, .. }, Value::Array(items)) => {
            for item in items {
                replace_value(of, item, replacements);
            }
        }
        _ => {}
    }
}
