//! Validation of one incoming event: every problem named by field and reason, clock skew
//! handled (slightly-future timestamps clamped and annotated, far-future and too-old ones
//! refused).

use super::Event;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// What an event may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A timestamp further ahead of the receive time than this is refused.
    pub max_future_skew: Duration,
    /// A timestamp older than this is refused (it would fall outside retention).
    pub max_age: Duration,
    /// Largest serialised event, in bytes.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_future_skew: Duration::minutes(5),
            max_age: Duration::days(7),
            max_event_bytes: 32 * 1024,
        }
    }
}

/// Why one event of a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    /// Position of the event in the batch (0 for the single-event endpoint).
    pub index: usize,
    /// The offending field (`timestamp`, `properties`, `actorId`…), or `""` for the event.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

const KNOWN: [&str; 8] = [
    "id",
    "type",
    "timestamp",
    "actorId",
    "anonymousId",
    "sessionId",
    "properties",
    "context",
];
const MAX_ID: usize = 128;
const MAX_TYPE: usize = 128;
const MAX_IDENTITY: usize = 256;

/// Checks `raw` (event number `index`), received at `now`, against `limits`. The id of
/// the result is the client's, or empty when the client sent none (see `derive_id`).
///
/// Takes the JSON by value so that `properties` and `context` move into the event
/// instead of being copied (ingestion validates every event of every request).
pub fn validate(
    raw: Value,
    index: usize,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<Event, Rejection> {
    let reject = |field: &str, reason: String| Rejection {
        index,
        field: field.to_owned(),
        reason,
    };
    let Value::Object(mut map) = raw else {
        return Err(reject("", "an event must be a JSON object".into()));
    };
    if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(reject(
            unknown,
            format!("unknown field; the fields are {}", KNOWN.join(", ")),
        ));
    }
    let size = json_len(&map);
    if size > limits.max_event_bytes {
        return Err(reject(
            "",
            format!(
                "the event is {size} bytes; at most {} are accepted",
                limits.max_event_bytes
            ),
        ));
    }
    let id = optional_string(&map, "id", MAX_ID).map_err(|r| reject("id", r))?;
    if let Some(id) = &id
        && !id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(reject(
            "id",
            "must be printable ASCII without spaces".into(),
        ));
    }
    let kind = match map.get("type") {
        Some(Value::String(kind)) => check_type(kind).map_err(|r| reject("type", r))?,
        Some(_) => return Err(reject("type", "must be a string".into())),
        None => return Err(reject("type", "is required".into())),
    };
    let actor_id =
        optional_string(&map, "actorId", MAX_IDENTITY).map_err(|r| reject("actorId", r))?;
    let anonymous_id =
        optional_string(&map, "anonymousId", MAX_IDENTITY).map_err(|r| reject("anonymousId", r))?;
    if actor_id.is_none() && anonymous_id.is_none() {
        return Err(reject(
            "actorId",
            "one of actorId or anonymousId is required".into(),
        ));
    }
    let session_id =
        optional_string(&map, "sessionId", MAX_IDENTITY).map_err(|r| reject("sessionId", r))?;
    let properties = match map.remove("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(reject("properties", "must be a JSON object".into())),
        None => return Err(reject("properties", "is required (may be {})".into())),
    };
    let mut context = match map.remove("context") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(reject("context", "must be a JSON object".into())),
    };
    let timestamp = match map.get("timestamp") {
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                reject(
                    "timestamp",
                    format!("must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z ({e})"),
                )
            })?
            .with_timezone(&Utc),
        Some(_) => return Err(reject("timestamp", "must be an RFC 3339 string".into())),
        None => return Err(reject("timestamp", "is required".into())),
    };
    let timestamp =
        check_skew(timestamp, now, limits, &mut context).map_err(|r| reject("timestamp", r))?;
    Ok(Event {
        id: id.unwrap_or_default(),
        kind,
        timestamp,
        actor_id,
        anonymous_id,
        session_id,
        properties,
        context,
    })
}

/// Length of `map` as compact JSON, counted without building the text.
fn json_len(map: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a map of JSON values always serialises.
    let _ = serde_json::to_writer(&mut counter, map);
    counter.0
}

/// Event types are routing keys: dot-separated words of letters, digits, `_` and `-`.
fn check_type(kind: &str) -> Result<String, String> {
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if kind.len() > MAX_TYPE {
        return Err(format!("at most {MAX_TYPE} characters"));
    }
    if kind.is_empty() || !kind.split('.').all(word_ok) {
        return Err(
            "dot-separated words of letters, digits, '_' and '-', such as page.viewed".into(),
        );
    }
    Ok(kind.to_owned())
}

fn optional_string(
    map: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err("must not be empty".into()),
        Some(Value::String(s)) if s.len() > max => Err(format!("at most {max} bytes")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("must be a string".into()),
    }
}

/// Far future: refused. Slightly future (client clock ahead): clamped to `now`, with the
/// original in `context.clientTimestamp` and the skew in `context.clockSkewMs`. Older
/// than the retention window: refused.
fn check_skew(
    ts: DateTime<Utc>,
    now: DateTime<Utc>,
    limits: &Limits,
    context: &mut Map<String, Value>,
) -> Result<DateTime<Utc>, String> {
    if ts > now + limits.max_future_skew {
        return Err(format!(
            "is {}s in the future; at most {}s of clock skew is accepted",
            (ts - now).num_seconds(),
            limits.max_future_skew.num_seconds()
        ));
    }
    if ts < now - limits.max_age {
        return Err(format!(
            "is older than {} hours; such events are not accepted",
            limits.max_age.num_hours()
        ));
    }
    if ts > now {
        context.insert("clientTimestamp".into(), Value::String(ts.to_rfc3339()));
        context.insert(
            "clockSkewMs".into(),
            Value::from((ts - now).num_milliseconds()),
        );
        return Ok(now);
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().expect("now")
    }

    fn ok() -> Value {
        json!({"type": "page.viewed", "timestamp": "2026-03-01T11:59:00Z",
               "anonymousId": "a", "properties": {"path": "/"}})
    }

    fn field_of(raw: Value) -> (String, String) {
        let r = validate(raw, 3, now(), &Limits::default()).expect_err("rejected");
        assert_eq!(r.index, 3);
        (r.field, r.reason)
    }

    #[test]
    fn a_valid_event_passes_with_an_empty_id() {
        let e = validate(ok(), 0, now(), &Limits::default()).expect("valid");
        assert_eq!(e.kind, "page.viewed");
        assert_eq!(e.id, "");
        assert!(e.context.is_empty());
    }

    #[test]
    fn each_bad_field_is_named() {
        let with = |k: &str, v: Value| {
            let mut raw = ok();
            raw[k] = v;
            raw
        };
        assert_eq!(field_of(with("type", json!("bad type"))).0, "type");
        assert_eq!(field_of(with("type", json!(3))).0, "type");
        assert_eq!(
            field_of(with("timestamp", json!("yesterday"))).0,
            "timestamp"
        );
        assert_eq!(field_of(with("properties", json!([1]))).0, "properties");
        assert_eq!(field_of(with("context", json!("x"))).0, "context");
        assert_eq!(field_of(with("sessionId", json!(""))).0, "sessionId");
        assert_eq!(field_of(with("id", json!("has space"))).0, "id");
        assert_eq!(field_of(with("extra", json!(1))).0, "extra");
        let mut anonymous = ok();
        anonymous
            .as_object_mut()
            .expect("object")
            .remove("anonymousId");
        assert_eq!(field_of(anonymous).0, "actorId");
        assert_eq!(field_of(json!([1])).0, "");
    }

    #[test]
    fn clock_skew_is_clamped_or_refused() {
        let mut raw = ok();
        raw["timestamp"] = json!("2026-03-01T12:01:00Z");
        let e = validate(raw.clone(), 0, now(), &Limits::default()).expect("clamped");
        assert_eq!(e.timestamp, now());
        assert_eq!(e.context["clockSkewMs"], 60_000);
        raw["timestamp"] = json!("2026-03-01T13:00:00Z");
        let (field, reason) = field_of(raw.clone());
        assert_eq!(field, "timestamp");
        assert!(reason.contains("future"), "{reason}");
        raw["timestamp"] = json!("2025-01-01T00:00:00Z");
        assert!(field_of(raw).1.contains("older"));
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut raw = ok();
        raw["properties"] = json!({"blob": "x".repeat(40_000)});
        assert!(field_of(raw).1.contains("bytes"));
    }
}
