//! Status conditions built by one helper that keeps `lastTransitionTime` when a condition's
//! status does not change, as JSON ready for a status merge patch.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// A desired condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    /// `Available`, `Progressing`, `Complete`…
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// Machine-readable reason.
    pub reason: String,
    /// Human message.
    pub message: String,
}

impl Cond {
    /// A condition.
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

/// A Kubernetes time as chrono's.
pub fn to_chrono(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> DateTime<Utc> {
    let nanos = u32::try_from(t.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(t.0.as_second(), nanos).unwrap_or_default()
}

/// RFC 3339 in whole seconds, as Kubernetes writes times.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The conditions to write: `wanted` with transition times carried over from `existing`
/// (the serialised current conditions) when the status is unchanged; other existing
/// conditions are kept.
pub fn merge(existing: &Value, wanted: &[Cond], now: DateTime<Utc>) -> Value {
    let old: Vec<Value> = existing.as_array().cloned().unwrap_or_default();
    let mut out: Vec<Value> = old
        .iter()
        .filter(|c| !wanted.iter().any(|w| c["type"] == w.type_))
        .cloned()
        .collect();
    for w in wanted {
        let status = if w.status { "True" } else { "False" };
        let previous = old.iter().find(|c| c["type"] == w.type_);
        let same_status = previous.filter(|c| c["status"] == status);
        let transition = same_status
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(time(now)));
        // Unchanged conditions keep their update time too, so a status write is a no-op.
        let updated = same_status
            .filter(|c| c["reason"] == w.reason.as_str() && c["message"] == w.message.as_str())
            .and_then(|c| c.get("lastUpdateTime").cloned())
            .unwrap_or_else(|| json!(time(now)));
        out.push(json!({
            "type": w.type_,
            "status": status,
            "reason": w.reason,
            "message": w.message,
            "lastTransitionTime": transition,
            "lastUpdateTime": updated,
        }));
    }
    Value::Array(out)
}

/// Whether merge-patching `wanted` (a `status` object) onto `existing` would change it: a
/// controller skips no-op writes, which would otherwise wake its own watch forever.
pub fn needs_patch(existing: &Value, wanted: &Value) -> bool {
    let Some(fields) = wanted.as_object() else {
        return true;
    };
    fields.iter().any(|(k, v)| {
        let current = existing.get(k).unwrap_or(&Value::Null);
        current != v
    })
}

/// `merge` for kinds whose conditions have no `lastUpdateTime` (Job, Pod).
pub fn merge_plain(existing: &Value, wanted: &[Cond], now: DateTime<Utc>) -> Value {
    let mut merged = merge(existing, wanted, now);
    if let Some(items) = merged.as_array_mut() {
        for c in items {
            if let Some(obj) = c.as_object_mut() {
                obj.remove("lastUpdateTime");
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn transition_time_kept_while_status_holds() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t0");
        let t1 = t0 + chrono::Duration::minutes(5);
        let first = merge(&Value::Null, &[Cond::new("Available", true, "A", "ok")], t0);
        let same = merge(&first, &[Cond::new("Available", true, "B", "ok")], t1);
        assert_eq!(same[0]["lastTransitionTime"], time(t0));
        assert_eq!(same[0]["reason"], "B");
        let flipped = merge(&same, &[Cond::new("Available", false, "C", "no")], t1);
        assert_eq!(flipped[0]["lastTransitionTime"], time(t1));
        assert_eq!(flipped[0]["status"], "False");
        let again = merge(
            &flipped,
            &[Cond::new("Available", false, "C", "no")],
            t1 + chrono::Duration::minutes(1),
        );
        assert_eq!(again, flipped, "an unchanged condition is byte-identical");
        assert!(!needs_patch(
            &json!({"a": 1, "c": [again.clone()]}),
            &json!({"a": 1, "c": [again]})
        ));
        assert!(needs_patch(&json!({"a": 1}), &json!({"a": 2})));
        assert!(!needs_patch(&json!({}), &json!({"gone": null})));
        let plain = merge_plain(&Value::Null, &[Cond::new("Complete", true, "", "")], t0);
        assert!(plain[0].get("lastUpdateTime").is_none());
    }
}
