//! Event ids, the dedup key of the whole path (Mongo `_id` of stored events, the worker's
//! staging `_id`): a retried request carries the same ids, so it never counts twice.

use super::Event;
use machina_kit::canonical_json;
use sha2::{Digest, Sha256};

/// Where the id of an event without a client id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource<'a> {
    /// The request's `Idempotency-Key` and the event's position in the batch.
    IdempotencyKey {
        /// The header value.
        key: &'a str,
        /// The event's index in the batch.
        index: usize,
    },
    /// Neither: a hash of the event's content, so an identical retry gets the same id.
    Content,
}

/// The id of `event`: its client id when set, else one derived from `source`
/// (`ik-<hash>` or `h-<hash>`, 32 hex digits).
pub fn derive_id(event: &Event, source: IdSource<'_>) -> String {
    if !event.id.is_empty() {
        return event.id.clone();
    }
    let mut hasher = Sha256::new();
    let prefix = match source {
        IdSource::IdempotencyKey { key, index } => {
            hasher.update(key.as_bytes());
            hasher.update(b"\n");
            hasher.update(index.to_string().as_bytes());
            "ik"
        }
        IdSource::Content => {
            let value = serde_json::to_value(event).unwrap_or_default();
            hasher.update(canonical_json(&value).as_bytes());
            "h"
        }
    };
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::mk_event;

    #[test]
    fn client_ids_win_and_derived_ids_are_stable() {
        let mut event = mk_event();
        assert_eq!(derive_id(&event, IdSource::Content), "e1");
        event.id.clear();
        let a = derive_id(&event, IdSource::Content);
        assert_eq!(a, derive_id(&event.clone(), IdSource::Content));
        assert!(a.starts_with("h-") && a.len() == 34);
        let k0 = derive_id(&event, IdSource::IdempotencyKey { key: "k", index: 0 });
        let k1 = derive_id(&event, IdSource::IdempotencyKey { key: "k", index: 1 });
        assert_ne!(k0, k1);
        assert!(k0.starts_with("ik-"));
        event.properties.insert("x".into(), 1.into());
        assert_ne!(a, derive_id(&event, IdSource::Content));
    }
}
