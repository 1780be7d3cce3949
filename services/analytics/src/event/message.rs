//! Messages of the events exchange as [`Event`]s: events published by the ingestion API,
//! and the generation events of the generative worker (`GenerationEvent`, camelCase,
//! message id `<runId>:generation`), which become `content.generated` events.

use super::Event;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Why a message is not an event.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The body is not JSON.
    #[error("the message body is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but neither an event nor a generation event.
    #[error("the message is not an analytics event: {0}")]
    NotAnEvent(String),
}

/// Type given to generation events.
pub const CONTENT_GENERATED: &str = "content.generated";

/// The events carried by a message with `message_id` and AMQP `timestamp` (seconds),
/// received at `now`: one event, one generation event, or a pack (a JSON array of
/// events of one type, each with its id, as the API publishes with `PUBLISH_PACK`).
pub fn decode_message(
    body: &[u8],
    message_id: Option<&str>,
    timestamp: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, MessageError> {
    let value: Value = serde_json::from_slice(body).map_err(MessageError::NotJson)?;
    if let Value::Array(items) = value {
        if items.is_empty() {
            return Err(MessageError::NotAnEvent("an empty pack".into()));
        }
        return items.into_iter().map(packed).collect();
    }
    if value.get("type").is_some() {
        let mut event: Event =
            serde_json::from_value(value).map_err(|e| MessageError::NotAnEvent(e.to_string()))?;
        if event.id.is_empty() {
            event.id = message_id
                .ok_or_else(|| MessageError::NotAnEvent("no id and no message id".into()))?
                .to_owned();
        }
        if event.identity().is_none() {
            return Err(MessageError::NotAnEvent("no actorId or anonymousId".into()));
        }
        return Ok(vec![event]);
    }
    generation(value, message_id, timestamp, now).map(|e| vec![e])
}

/// One event of a pack: it must carry its own id and identity.
fn packed(value: Value) -> Result<Event, MessageError> {
    let event: Event =
        serde_json::from_value(value).map_err(|e| MessageError::NotAnEvent(e.to_string()))?;
    if event.id.is_empty() || event.identity().is_none() {
        return Err(MessageError::NotAnEvent(
            "a packed event without id or identity".into(),
        ));
    }
    Ok(event)
}

/// A generation event: id from the message (else the run), the run as anonymous id (a
/// generation has no end user), the pipeline and outcome in `properties`.
fn generation(
    value: Value,
    message_id: Option<&str>,
    timestamp: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Event, MessageError> {
    let Value::Object(properties) = value else {
        return Err(MessageError::NotAnEvent("not a JSON object".into()));
    };
    let run_id = match (properties.get("runId"), properties.get("pipeline")) {
        (Some(Value::String(run)), Some(Value::String(_))) => run.clone(),
        _ => {
            return Err(MessageError::NotAnEvent(
                "no type, and not a generation event".into(),
            ));
        }
    };
    let timestamp = timestamp
        .and_then(|s| DateTime::from_timestamp(i64::try_from(s).ok()?, 0))
        .unwrap_or(now);
    let mut context = Map::new();
    context.insert("source".into(), Value::String("generative".into()));
    Ok(Event {
        id: message_id.map_or_else(|| format!("{run_id}:generation"), str::to_owned),
        kind: CONTENT_GENERATED.into(),
        timestamp,
        actor_id: None,
        anonymous_id: Some(run_id),
        session_id: None,
        properties,
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_and_generation_events_decode() {
        let now = Utc::now();
        let body = json!({"id": "x", "type": "page.viewed", "timestamp": "2026-01-01T00:00:00Z",
                          "actorId": "u", "properties": {}});
        let e = one(decode_message(body.to_string().as_bytes(), None, None, now));
        assert_eq!((e.id.as_str(), e.kind.as_str()), ("x", "page.viewed"));

        let generation = json!({"runId": "r1", "pipeline": "copy", "version": "v",
                                "outcome": "succeeded", "latencyMs": 12.0});
        let e = one(decode_message(
            generation.to_string().as_bytes(),
            Some("r1:generation"),
            Some(1_700_000_000),
            now,
        ));
        assert_eq!(e.kind, CONTENT_GENERATED);
        assert_eq!(e.id, "r1:generation");
        assert_eq!(e.anonymous_id.as_deref(), Some("r1"));
        assert_eq!(e.number("properties.latencyMs"), Some(12.0));
        assert_eq!(e.timestamp.timestamp(), 1_700_000_000);

        assert!(matches!(
            decode_message(b"nope", None, None, now),
            Err(MessageError::NotJson(_))
        ));
        assert!(decode_message(b"{\"a\":1}", None, None, now).is_err());
    }

    fn one(decoded: Result<Vec<Event>, MessageError>) -> Event {
        let mut events = decoded.expect("decodes");
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn packs_decode_to_their_events_and_need_ids() {
        let now = Utc::now();
        let event = |id: &str| {
            json!({"id": id, "type": "page.viewed", "timestamp": "2026-01-01T00:00:00Z",
                                      "anonymousId": "a", "properties": {"n": 1}})
        };
        let pack = json!([event("a"), event("b")]);
        let events =
            decode_message(pack.to_string().as_bytes(), Some("m"), None, now).expect("pack");
        let ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let no_id = json!([event("a"), {"type": "x", "timestamp": "2026-01-01T00:00:00Z", "actorId": "u", "properties": {}}]);
        assert!(decode_message(no_id.to_string().as_bytes(), Some("m"), None, now).is_err());
        assert!(decode_message(b"[]", Some("m"), None, now).is_err());
        assert!(decode_message(b"[1]", Some("m"), None, now).is_err());
    }
}
