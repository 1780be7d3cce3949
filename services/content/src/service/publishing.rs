//! Workflow transitions per locale, and what publishing does.
//!
//! A transition is one `rev`-guarded replace of the entry: of two concurrent
//! moves from the same state only one applies. The same write records the event
//! it causes in the entry's `pending` list, so the event is committed with the
//! transition. Its effects follow: the `published` copy is synced with the
//! locale's state, the event goes to the outbox and a delivery per subscribed
//! webhook is queued (all idempotent, keyed by the event id), then the event
//! leaves `pending`. A replica that dies in between leaves the event pending,
//! and the scheduler's sweep completes it: an accepted publication is never lost.

use machina_kit::ApiError;
use serde_json::json;

use super::{Content, RETRIES, Source};
use crate::{
    Error,
    clock::{now_ms, parse_ms, rfc3339},
    error::Result,
    model::{
        DeliveryDoc, DeliveryStatus, EntryDoc, EntryView, LocaleState, PendingEvent, PublishedDoc,
        ReadQuery, ScheduleRequest,
    },
    permissions::{Caller, PUBLISH},
    store::{OutboxDoc, ScheduleDoc},
    validate::{check_values, resolve},
    workflow::{Refusal, State},
};

/// The routing key (and webhook event) of a publication.
pub const PUBLISHED: &str = "content.published";
/// The routing key (and webhook event) of a withdrawal.
pub const UNPUBLISHED: &str = "content.unpublished";

/// Who asks for a transition.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A caller, checked against the workflow's rules.
    Caller(&'a Caller),
    /// The scheduler, carrying out the publication scheduled for `publish_at`
    /// (RFC 3339, as shown in the locale's state); a locale whose state no longer
    /// shows that time was published, rescheduled or cancelled meanwhile.
    Scheduler {
        /// The schedule being carried out.
        publish_at: &'a str,
    },
}

impl Content {
    /// Moves `locale` of entry `id` to `to`.
    pub async fn transition(
        &self,
        actor: Actor<'_>,
        id: &str,
        locale: &str,
        to: State,
    ) -> Result<EntryView> {
        for _ in 0..RETRIES {
            let entry = self.get_entry_doc(id).await?;
            let from = entry.locale_state(locale).state;
            match actor {
                Actor::Caller(caller) => self.workflow.check(from, to, caller).map_err(refusal)?,
                Actor::Scheduler { publish_at } => {
                    if entry.locale_state(locale).publish_at.as_deref() != Some(publish_at) {
                        return Ok(self.view(entry, None));
                    }
                    if !self.workflow.has_transition(from, to) {
                        return Err(refusal(Refusal::NoSuchTransition { from, to }));
                    }
                }
            }
            if to == State::Published {
                self.check_publishable(&entry, locale).await?;
            }
            let mut next = moved(&entry, locale, to, now_ms());
            if !self.store.replace_entry(&next, entry.rev).await? {
                continue;
            }
            self.settle(&next).await?;
            next.pending.clear();
            return Ok(self.view(next, None));
        }
        Err(Error::conflict(format!(
            "entry {id} is changing concurrently; retry"
        )))
    }

    /// `Ok` when `locale` of `entry` may be published: its own values are valid
    /// (a required localized field has a value in that locale); else a 422.
    async fn check_publishable(&self, entry: &EntryDoc, locale: &str) -> Result<()> {
        let ty = self.get_type(&entry.type_id).await?;
        let own = resolve(Some(&ty), &entry.fields, locale, locale);
        Error::check(check_values(&ty, &own))
    }

    /// Writes the effects of `entry`'s pending events, then drops them from
    /// `pending`. Idempotent: running it twice (a sweep racing the request) is harmless.
    pub(crate) async fn settle(&self, entry: &EntryDoc) -> Result<()> {
        for pending in &entry.pending {
            self.sync_published(entry, &pending.locale).await?;
            self.announce(entry, pending).await?;
            self.store.drop_pending(&entry.id, &pending.id).await?;
        }
        Ok(())
    }

    /// Makes the `published` copy of `locale` match the locale's state: the
    /// published version's values, or no copy.
    async fn sync_published(&self, entry: &EntryDoc, locale: &str) -> Result<()> {
        let state = entry.locale_state(locale);
        let version = match (state.state, state.published_version) {
            (State::Published, Some(v)) => v,
            _ => return self.store.delete_published(&entry.id, locale).await,
        };
        let Some(saved) = self.store.get_version(&entry.id, version).await? else {
            tracing::error!(entry = %entry.id, version, "the published version is missing");
            return Ok(());
        };
        let ty = self.store.get_type(&entry.type_id).await?;
        self.store
            .put_published(&PublishedDoc {
                key: format!("{}:{locale}", entry.id),
                entry_id: entry.id.clone(),
                type_id: entry.type_id.clone(),
                slug: saved.slug,
                locale: locale.to_owned(),
                fields: resolve(ty.as_ref(), &saved.fields, locale, &self.default_locale),
                version,
                published_at: state.published_at.unwrap_or_else(|| rfc3339(now_ms())),
            })
            .await
    }

    /// Queues the event on the outbox and a delivery per subscribed webhook
    /// (keyed by the event id, so a repeat adds nothing).
    async fn announce(&self, entry: &EntryDoc, pending: &PendingEvent) -> Result<()> {
        let body = json!({
            "id": pending.id,
            "event": pending.event,
            "entryId": entry.id,
            "type": entry.type_id,
            "slug": entry.slug,
            "locale": pending.locale,
            "version": pending.version,
            "occurredAt": rfc3339(pending.at),
        })
        .to_string();
        self.store
            .insert_outbox(&OutboxDoc {
                id: pending.id.clone(),
                routing_key: pending.event.clone(),
                body: body.clone(),
                sent: false,
                attempts: 0,
                next_attempt_at: pending.at,
                lease_until: 0,
                created_at: pending.at,
            })
            .await?;
        for hook in self.store.list_webhooks(Some(&pending.event)).await? {
            let delivery = DeliveryDoc {
                id: format!("{}:{}", pending.id, hook.id),
                webhook_id: hook.id,
                event: pending.event.clone(),
                body: body.clone(),
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: pending.at,
                lease_until: 0,
                created_at: rfc3339(pending.at),
            };
            self.store.insert_delivery(&delivery).await?;
        }
        Ok(())
    }

    /// Completes events left pending (by a replica that died mid-publication)
    /// for longer than `grace`; returns how many entries were settled.
    pub async fn sweep_pending(&self, grace: std::time::Duration) -> Result<usize> {
        let cutoff = now_ms() - crate::worker::ms(grace);
        let stuck = self.store.entries_with_pending(cutoff).await?;
        for entry in &stuck {
            tracing::warn!(entry = %entry.id, events = entry.pending.len(), "completing an interrupted publication");
            self.settle(entry).await?;
        }
        Ok(stuck.len())
    }

    /// Schedules the publication of a locale (replacing an earlier schedule).
    pub async fn schedule(
        &self,
        caller: &Caller,
        id: &str,
        body: ScheduleRequest,
    ) -> Result<EntryView> {
        caller.require(&[PUBLISH])?;
        let locale = self.locale_of(body.locale.as_deref(), "locale")?;
        let at = parse_ms(&body.publish_at).ok_or_else(|| {
            Error::invalid(
                "publishAt",
                format!("{:?} is not an RFC 3339 timestamp", body.publish_at),
            )
        })?;
        // The entry shows the time first: the scheduler carries out only a
        // schedule the entry still shows.
        let view = self.mark_schedule(id, &locale, Some(rfc3339(at))).await?;
        self.store
            .put_schedule(&ScheduleDoc {
                key: format!("{id}:{locale}"),
                entry_id: id.to_owned(),
                locale: locale.clone(),
                publish_at: at,
                lease_until: 0,
                scheduled_by: caller.subject.clone(),
            })
            .await?;
        Ok(view)
    }

    /// Cancels the scheduled publication of a locale.
    pub async fn unschedule(
        &self,
        caller: &Caller,
        id: &str,
        locale: Option<&str>,
    ) -> Result<EntryView> {
        caller.require(&[PUBLISH])?;
        let locale = self.locale_of(locale, "locale")?;
        if !self.store.delete_schedule(id, &locale).await? {
            return Err(Error::not_found(format!(
                "a schedule for entry {id} in {locale}"
            )));
        }
        self.mark_schedule(id, &locale, None).await
    }

    /// Shows (or clears) a pending schedule in the entry's locale state.
    async fn mark_schedule(&self, id: &str, locale: &str, at: Option<String>) -> Result<EntryView> {
        self.mark_schedule_if(id, locale, at, None).await
    }

    /// Clears the schedule shown on the entry if it is still `shown` (the
    /// scheduler dropping a schedule must not hide a newer one).
    pub(crate) async fn clear_schedule_mark(
        &self,
        id: &str,
        locale: &str,
        shown: &str,
    ) -> Result<EntryView> {
        self.mark_schedule_if(id, locale, None, Some(shown)).await
    }

    async fn mark_schedule_if(
        &self,
        id: &str,
        locale: &str,
        at: Option<String>,
        only_if: Option<&str>,
    ) -> Result<EntryView> {
        for _ in 0..RETRIES {
            let entry = self.get_entry_doc(id).await?;
            if only_if.is_some_and(|shown| {
                entry.locale_state(locale).publish_at.as_deref() != Some(shown)
            }) {
                return Ok(self.view(entry, None));
            }
            let mut next = entry.clone();
            let state = next
                .locales
                .entry(locale.to_owned())
                .or_insert_with(LocaleState::default);
            state.publish_at.clone_from(&at);
            next.rev = entry.rev + 1;
            if self.store.replace_entry(&next, entry.rev).await? {
                return Ok(self.view(next, None));
            }
        }
        Err(Error::conflict(format!(
            "entry {id} is changing concurrently; retry"
        )))
    }

    /// The published copy of (type, slug), in `?locale=` or else the fallback,
    /// with references loaded from their published copies.
    pub async fn read_published(
        &self,
        type_id: &str,
        slug: &str,
        query: &ReadQuery,
    ) -> Result<PublishedDoc> {
        let locale = self.locale_of(query.locale.as_deref(), "locale")?;
        let fallback = self.locale_of(query.fallback.as_deref(), "fallback")?;
        let depth = self.depth(query.depth)?;
        let found = match self.store.find_published(type_id, slug, &locale).await? {
            Some(doc) => Some(doc),
            None => self.store.find_published(type_id, slug, &fallback).await?,
        };
        let mut doc = found.ok_or_else(|| {
            Error::not_found(format!(
                "a published {type_id} {slug:?} in {locale} or {fallback}"
            ))
        })?;
        if depth > 0
            && let Some(ty) = self.read_type(type_id).await?
        {
            let source = Source::Published { locale, fallback };
            let fields = std::mem::take(&mut doc.fields);
            doc.fields = self
                .expand(&ty, fields, &source, depth, vec![doc.entry_id.clone()])
                .await?;
        }
        Ok(doc)
    }
}

/// `entry` with `locale` moved to `to` at `now` (ms): the locale's state, and the
/// event the move causes recorded as pending.
fn moved(entry: &EntryDoc, locale: &str, to: State, now: i64) -> EntryDoc {
    let from = entry.locale_state(locale).state;
    let mut next = entry.clone();
    let mut state = entry.locale_state(locale);
    state.state = to;
    if to == State::Published {
        state.published_version = Some(entry.version);
        state.published_at = Some(rfc3339(now));
        state.publish_at = None;
    } else {
        state.published_version = None;
        state.published_at = None;
    }
    next.locales.insert(locale.to_owned(), state);
    let event = match (from, to) {
        (_, State::Published) => Some(PUBLISHED),
        (State::Published, _) => Some(UNPUBLISHED),
        _ => None,
    };
    if let Some(event) = event {
        next.pending.push(PendingEvent {
            id: uuid::Uuid::new_v4().to_string(),
            event: event.to_owned(),
            locale: locale.to_owned(),
            version: entry.version,
            at: now,
        });
    }
    next.rev = entry.rev + 1;
    next.updated_at = rfc3339(now);
    next
}

/// A refused transition: 403 when a permission is missing, 409 when no rule exists.
fn refusal(refused: Refusal) -> Error {
    match refused {
        Refusal::NotPermitted { .. } => Error::Api(ApiError::Forbidden(refused.to_string())),
        Refusal::NoSuchTransition { .. } => Error::conflict(refused.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn mk_entry() -> EntryDoc {
        EntryDoc {
            id: "e".into(),
            type_id: "t".into(),
            slug: "s".into(),
            fields: serde_json::Map::new(),
            version: 3,
            rev: 7,
            locales: BTreeMap::new(),
            created_at: String::new(),
            updated_at: String::new(),
            pending: Vec::new(),
        }
    }

    #[test]
    fn publishing_records_the_version_and_a_pending_event() {
        let next = moved(&mk_entry(), "fr", State::Published, 1000);
        let fr = next.locale_state("fr");
        assert_eq!(
            (fr.state, fr.published_version),
            (State::Published, Some(3))
        );
        assert_eq!(next.locale_state("de").state, State::Draft);
        assert_eq!(next.rev, 8);
        assert_eq!(next.pending.len(), 1);
        assert_eq!(
            (
                next.pending[0].event.as_str(),
                next.pending[0].locale.as_str()
            ),
            (PUBLISHED, "fr")
        );
    }

    #[test]
    fn only_entering_or_leaving_published_is_an_event() {
        let submitted = moved(&mk_entry(), "en", State::InReview, 1);
        assert!(submitted.pending.is_empty());
        let published = moved(&submitted, "en", State::Published, 2);
        let withdrawn = moved(&published, "en", State::Draft, 3);
        assert_eq!(withdrawn.pending.len(), 2);
        assert_eq!(withdrawn.pending[1].event, UNPUBLISHED);
        assert_eq!(withdrawn.locale_state("en").published_version, None);
    }
}
