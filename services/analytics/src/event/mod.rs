//! The analytics event: its wire schema, validation with per-field errors, the id that
//! makes ingestion idempotent, and decoding of messages from the events exchange.
//!
//! Wire schema (shared with the insights service):
//! `{ "id"?, "type", "timestamp" (RFC 3339), "actorId"?, "anonymousId"? (one of the two
//! required), "sessionId"?, "properties": {}, "context"?: {} }`.

mod id;
mod message;
mod validate;

pub use id::{IdSource, derive_id};
pub use message::{MessageError, decode_message};
pub use validate::{Limits, Rejection, validate};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A validated event, as published to the events exchange (with its id always set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique id: the client's, else derived (see [`derive_id`]); the dedup key everywhere.
    pub id: String,
    /// Event type, also the routing key (`page.viewed`, `item.purchased`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened (clamped to the receive time when slightly in the future).
    pub timestamp: DateTime<Utc>,
    /// Known user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Anonymous visitor (device or cookie id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// Session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Event payload; `properties.itemId` names the item of item interactions.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Where it came from (user agent, page, skew annotations).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

impl Event {
    /// The identity used for unique counts, funnels and retention: the actor, else the
    /// anonymous id.
    pub fn identity(&self) -> Option<&str> {
        self.actor_id.as_deref().or(self.anonymous_id.as_deref())
    }

    /// The value of an event field named as in AnalyticsJob specs and report queries:
    /// `type`, `source`, `actorId`, `anonymousId`, `sessionId`, `identity`,
    /// `properties.a.b`, `context.a.b`. `None` when absent or null.
    pub fn field(&self, path: &str) -> Option<Value> {
        let string = |s: &Option<String>| s.clone().map(Value::String);
        match path {
            "type" => Some(Value::String(self.kind.clone())),
            "actorId" => string(&self.actor_id),
            "anonymousId" => string(&self.anonymous_id),
            "sessionId" => string(&self.session_id),
            "identity" => self.identity().map(|s| Value::String(s.to_owned())),
            "source" => self.context.get("source").cloned(),
            _ => {
                let (root, rest) = path.split_once('.')?;
                let map = match root {
                    "properties" => &self.properties,
                    "context" => &self.context,
                    _ => return None,
                };
                let mut parts = rest.split('.');
                let mut current = map.get(parts.next()?)?;
                for part in parts {
                    current = current.get(part)?;
                }
                (!current.is_null()).then(|| current.clone())
            }
        }
    }

    /// The field as a number: JSON numbers, and strings that parse as one.
    pub fn number(&self, path: &str) -> Option<f64> {
        as_number(&self.field(path)?)
    }

    /// The field as a dimension value: strings as they are, other scalars as JSON text.
    pub fn dimension(&self, path: &str) -> Option<String> {
        self.field(path).map(|v| as_text(&v))
    }
}

/// A JSON value as a number, when it is one or a string holding one.
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A JSON value as text: a string as it is, anything else as JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn mk_event() -> Event {
        serde_json::from_value(json!({
            "id": "e1", "type": "item.viewed", "timestamp": "2026-01-01T10:00:00Z",
            "anonymousId": "anon", "sessionId": "s",
            "properties": {"itemId": "sku-1", "price": "12.5", "nested": {"a": 3}},
            "context": {"source": "web"}
        }))
        .expect("event")
    }

    #[test]
    fn fields_resolve_by_path() {
        let event = mk_event();
        assert_eq!(event.field("type"), Some(json!("item.viewed")));
        assert_eq!(event.field("identity"), Some(json!("anon")));
        assert_eq!(event.field("actorId"), None);
        assert_eq!(event.field("source"), Some(json!("web")));
        assert_eq!(event.field("properties.nested.a"), Some(json!(3)));
        assert_eq!(event.field("properties.missing"), None);
        assert_eq!(event.field("bogus.x"), None);
        assert_eq!(event.number("properties.price"), Some(12.5));
        assert_eq!(event.dimension("properties.nested.a").as_deref(), Some("3"));
    }
}
