//! Entry writes, reads, history, diff and restore.
//!
//! A save first inserts version `n + 1` (the unique `(entryId, version)` index
//! lets exactly one concurrent saver have it), then moves the entry document to
//! it under its `rev` guard. A saver that finds `n + 1` taken while the entry
//! still says `n` (the winner died between the two writes) rolls the entry
//! forward to the stored version first, so a saved version is never lost.

use std::collections::BTreeMap;

use super::{Content, RETRIES, Source};
use crate::{
    Error,
    clock::{now_ms, rfc3339},
    diff::{Diff, diff},
    error::Result,
    model::{
        ContentType, CreateEntry, EntryDoc, EntryView, Fields, ListQuery, ReadQuery, UpdateEntry,
        VersionDoc,
    },
    permissions::Caller,
    store::entries::Inserted,
    validate::{FieldError, check_values, is_locale, is_slug, merge, references, resolve},
};

/// Default and largest page of the entry listing.
const PAGE: (i64, i64) = (50, 200);

impl Content {
    /// The locale of a write or read: `given`, else the default one.
    pub(crate) fn locale_of(&self, given: Option<&str>, field: &str) -> Result<String> {
        match given {
            Some(l) if is_locale(l) => Ok(l.to_owned()),
            Some(l) => Err(Error::invalid(
                field,
                format!("{l:?} is not a locale such as en or fr-CA"),
            )),
            None => Ok(self.default_locale.clone()),
        }
    }

    /// Checks `values` for `locale` against `ty` and that references point at
    /// existing entries of allowed types; returns the merged values.
    async fn checked(
        &self,
        ty: &ContentType,
        current: &Fields,
        values: &Fields,
        locale: &str,
    ) -> Result<Fields> {
        let mut errors = check_values(ty, values);
        if errors.is_empty() {
            errors = self.check_references(ty, values).await?;
        }
        Error::check(errors)?;
        Ok(merge(ty, current, values, locale))
    }

    async fn check_references(&self, ty: &ContentType, values: &Fields) -> Result<Vec<FieldError>> {
        let refs = references(ty, values);
        let ids: Vec<String> = refs.iter().map(|r| r.id.clone()).collect();
        let found: BTreeMap<String, String> = self
            .store
            .get_entries(&ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e.type_id))
            .collect();
        Ok(refs
            .into_iter()
            .filter_map(|r| match found.get(&r.id) {
                None => Some(FieldError::new(
                    r.field,
                    format!("no entry {} exists", r.id),
                )),
                Some(t) if !r.to.is_empty() && !r.to.contains(t) => Some(FieldError::new(
                    r.field,
                    format!(
                        "entry {} is a {t}, expected one of: {}",
                        r.id,
                        r.to.join(", ")
                    ),
                )),
                Some(_) => None,
            })
            .collect())
    }

    /// Creates an entry: version 1, draft in every locale.
    pub async fn create_entry(&self, caller: &Caller, body: CreateEntry) -> Result<EntryView> {
        let locale = self.locale_of(body.locale.as_deref(), "locale")?;
        let ty = self.store.get_type(&body.type_id).await?.ok_or_else(|| {
            Error::invalid("type", format!("no content type {} exists", body.type_id))
        })?;
        if !is_slug(&body.slug) {
            return Err(Error::invalid(
                "slug",
                format!("{:?} is not a slug ([a-z0-9][a-z0-9-]*)", body.slug),
            ));
        }
        let fields = self
            .checked(&ty, &Fields::new(), &body.fields, &locale)
            .await?;
        let now = rfc3339(now_ms());
        let entry = EntryDoc {
            id: uuid::Uuid::new_v4().to_string(),
            type_id: ty.id.clone(),
            slug: body.slug,
            fields,
            version: 1,
            rev: 1,
            locales: BTreeMap::new(),
            created_at: now.clone(),
            updated_at: now,
            pending: Vec::new(),
        };
        // The version first: an entry never exists without its first version.
        self.store
            .insert_version(&version_of(&entry, caller, None))
            .await?;
        if let Err(err) = self.store.insert_entry(&entry).await {
            self.store.delete_version(&entry.id, 1).await?;
            return Err(err);
        }
        Ok(self.view(entry, None))
    }

    /// Saves new values for one locale (and the plain fields) as a new version.
    pub async fn update_entry(
        &self,
        caller: &Caller,
        id: &str,
        body: UpdateEntry,
    ) -> Result<EntryView> {
        let locale = self.locale_of(body.locale.as_deref(), "locale")?;
        if let Some(slug) = body.slug.as_deref().filter(|s| !is_slug(s)) {
            return Err(Error::invalid(
                "slug",
                format!("{slug:?} is not a slug ([a-z0-9][a-z0-9-]*)"),
            ));
        }
        let entry = self.get_entry_doc(id).await?;
        let ty = self.get_type(&entry.type_id).await?;
        let fields = self
            .checked(&ty, &entry.fields, &body.fields, &locale)
            .await?;
        let slug = body.slug.unwrap_or_else(|| entry.slug.clone());
        let saved = self.save(caller, id, slug, fields, None).await?;
        Ok(self.view(saved, None))
    }

    /// Stores `fields` as the next version of entry `id` and moves the entry to it.
    async fn save(
        &self,
        caller: &Caller,
        id: &str,
        slug: String,
        fields: Fields,
        restored_from: Option<i64>,
    ) -> Result<EntryDoc> {
        for _ in 0..RETRIES {
            let entry = self.get_entry_doc(id).await?;
            let mut next = entry.clone();
            next.slug.clone_from(&slug);
            next.fields.clone_from(&fields);
            next.version = entry.version + 1;
            next.rev = entry.rev + 1;
            next.updated_at = rfc3339(now_ms());
            if self
                .store
                .insert_version(&version_of(&next, caller, restored_from))
                .await?
                == Inserted::Taken
            {
                self.roll_forward(&entry).await?;
                continue;
            }
            return match self.move_to(next).await {
                Err(err) => {
                    // The slug is taken: this version never became the entry's.
                    self.store.delete_version(id, entry.version + 1).await?;
                    Err(err)
                }
                ok => ok,
            };
        }
        Err(Error::conflict(format!(
            "entry {id} is being saved concurrently; retry"
        )))
    }

    /// Replaces the entry with `next` (one version ahead), re-reading it when a
    /// transition changed it meanwhile.
    async fn move_to(&self, mut next: EntryDoc) -> Result<EntryDoc> {
        loop {
            if self.store.replace_entry(&next, next.rev - 1).await? {
                return Ok(next);
            }
            let current = self.get_entry_doc(&next.id).await?;
            if current.version >= next.version {
                // Another saver rolled the entry forward to this version already.
                return Ok(current);
            }
            next.locales = current.locales;
            next.pending = current.pending;
            next.rev = current.rev + 1;
        }
    }

    /// Moves an entry stuck behind its newest stored version forward to it.
    async fn roll_forward(&self, entry: &EntryDoc) -> Result<()> {
        let Some(stored) = self.store.get_version(&entry.id, entry.version + 1).await? else {
            return Ok(());
        };
        let mut next = entry.clone();
        next.slug = stored.slug;
        next.fields = stored.fields;
        next.version = stored.version;
        next.rev = entry.rev + 1;
        next.updated_at = stored.created_at;
        self.store.replace_entry(&next, entry.rev).await?;
        Ok(())
    }

    /// The entry document, or 404.
    pub(crate) async fn get_entry_doc(&self, id: &str) -> Result<EntryDoc> {
        self.store
            .get_entry(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("entry {id}")))
    }

    /// An entry, resolved for `?locale=` and with references loaded to `?depth=`.
    pub async fn read_entry(&self, id: &str, query: &ReadQuery) -> Result<EntryView> {
        let entry = self.get_entry_doc(id).await?;
        let depth = self.depth(query.depth)?;
        let Some(locale) = query.locale.as_deref() else {
            return Ok(self.view(entry, None));
        };
        let locale = self.locale_of(Some(locale), "locale")?;
        let fallback = self.locale_of(query.fallback.as_deref(), "fallback")?;
        let ty = self.read_type(&entry.type_id).await?;
        let mut fields = resolve(ty.as_ref(), &entry.fields, &locale, &fallback);
        if let Some(ty) = ty.as_ref() {
            let source = Source::Working {
                locale: locale.clone(),
                fallback,
            };
            fields = self
                .expand(ty, fields, &source, depth, vec![entry.id.clone()])
                .await?;
        }
        let mut view = self.view(entry, Some(locale));
        view.fields = fields;
        Ok(view)
    }

    /// `?depth=` checked against `MAX_DEPTH`.
    pub(crate) fn depth(&self, depth: Option<u32>) -> Result<u32> {
        match depth {
            Some(d) if d > self.max_depth => Err(Error::Api(machina_kit::ApiError::BadRequest {
                field: Some("depth".to_owned()),
                reason: format!("depth is at most {}", self.max_depth),
            })),
            d => Ok(d.unwrap_or(0)),
        }
    }

    /// A page of entries.
    pub async fn list_entries(&self, query: &ListQuery) -> Result<Vec<EntryView>> {
        let limit = query.limit.unwrap_or(PAGE.0).clamp(1, PAGE.1);
        let entries = self
            .store
            .list_entries(query.type_id.as_deref(), limit, query.offset.unwrap_or(0))
            .await?;
        let Some(locale) = query.locale.as_deref() else {
            return Ok(entries.into_iter().map(|e| self.view(e, None)).collect());
        };
        let locale = self.locale_of(Some(locale), "locale")?;
        let mut types: BTreeMap<String, Option<ContentType>> = BTreeMap::new();
        let mut views = Vec::with_capacity(entries.len());
        for entry in entries {
            if !types.contains_key(&entry.type_id) {
                let ty = self.read_type(&entry.type_id).await?;
                types.insert(entry.type_id.clone(), ty);
            }
            let ty = types.get(&entry.type_id).and_then(Option::as_ref);
            let fields = resolve(ty, &entry.fields, &locale, &self.default_locale);
            let mut view = self.view(entry, Some(locale.clone()));
            view.fields = fields;
            views.push(view);
        }
        Ok(views)
    }

    /// Deletes an entry, its published copies and schedules (versions are kept).
    pub async fn delete_entry(&self, id: &str) -> Result<()> {
        if self.store.delete_entry(id).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!("entry {id}")))
        }
    }

    /// Every version of an entry, newest first.
    pub async fn versions(&self, id: &str) -> Result<Vec<VersionDoc>> {
        self.get_entry_doc(id).await?;
        self.store.list_versions(id).await
    }

    /// One version, or 404.
    pub async fn version(&self, id: &str, version: i64) -> Result<VersionDoc> {
        self.store
            .get_version(id, version)
            .await?
            .ok_or_else(|| Error::not_found(format!("version {version} of entry {id}")))
    }

    /// Field-level changes from version `from` to version `to`.
    pub async fn diff(&self, id: &str, from: i64, to: i64) -> Result<Diff> {
        let a = self.version(id, from).await?;
        let b = self.version(id, to).await?;
        Ok(Diff {
            from,
            to,
            changes: diff((&a.slug, &a.fields), (&b.slug, &b.fields)),
        })
    }

    /// Saves version `version`'s slug and values as a new version.
    pub async fn restore(&self, caller: &Caller, id: &str, version: i64) -> Result<EntryView> {
        let old = self.version(id, version).await?;
        let saved = self
            .save(caller, id, old.slug, old.fields, Some(version))
            .await?;
        Ok(self.view(saved, None))
    }

    /// The API view of an entry (raw values).
    pub(crate) fn view(&self, entry: EntryDoc, locale: Option<String>) -> EntryView {
        EntryView {
            id: entry.id,
            type_id: entry.type_id,
            slug: entry.slug,
            version: entry.version,
            locale,
            fields: entry.fields,
            locales: entry.locales,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        }
    }
}

/// The version document of `entry`'s current values.
fn version_of(entry: &EntryDoc, caller: &Caller, restored_from: Option<i64>) -> VersionDoc {
    VersionDoc {
        key: format!("{}:{}", entry.id, entry.version),
        entry_id: entry.id.clone(),
        version: entry.version,
        slug: entry.slug.clone(),
        fields: entry.fields.clone(),
        author: caller.subject.clone(),
        created_at: entry.updated_at.clone(),
        restored_from,
    }
}
