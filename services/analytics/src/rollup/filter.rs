//! The filters of an AnalyticsJob (and of report queries) evaluated on an event.

use crate::event::{Event, as_number, as_text};
use machina_crds::analytics_job::{EventFilter, FilterOp};
use std::cmp::Ordering;

/// Whether `event` satisfies `filter`. Comparisons are numeric when both sides are
/// numbers, else on text; a missing field satisfies only `Ne` and `NotIn`.
pub fn accepts(filter: &EventFilter, event: &Event) -> bool {
    let field = event.field(&filter.field);
    let Some(value) = field else {
        return matches!(filter.op, FilterOp::Ne | FilterOp::NotIn);
    };
    let cmp = |operand: &str| -> Ordering {
        match (as_number(&value), operand.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a.total_cmp(&b),
            _ => as_text(&value).as_str().cmp(operand),
        }
    };
    let operand = filter.value.as_deref().unwrap_or_default();
    let values = filter.values.as_deref().unwrap_or_default();
    match filter.op {
        FilterOp::Exists => true,
        FilterOp::Eq => cmp(operand) == Ordering::Equal,
        FilterOp::Ne => cmp(operand) != Ordering::Equal,
        FilterOp::Gt => cmp(operand) == Ordering::Greater,
        FilterOp::Gte => cmp(operand) != Ordering::Less,
        FilterOp::Lt => cmp(operand) == Ordering::Less,
        FilterOp::Lte => cmp(operand) != Ordering::Greater,
        FilterOp::In => values.iter().any(|v| cmp(v) == Ordering::Equal),
        FilterOp::NotIn => values.iter().all(|v| cmp(v) != Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Event {
        serde_json::from_value(json!({"id": "1", "type": "item.purchased",
            "timestamp": "2026-01-01T00:00:00Z", "actorId": "u",
            "properties": {"price": 9.5, "country": "DE", "qty": "10"}}))
        .expect("event")
    }

    fn f(field: &str, op: FilterOp, value: Option<&str>, values: Option<&[&str]>) -> EventFilter {
        EventFilter {
            field: field.into(),
            op,
            value: value.map(Into::into),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn operators() {
        let e = event();
        assert!(accepts(
            &f("properties.price", FilterOp::Gt, Some("9"), None),
            &e
        ));
        assert!(!accepts(
            &f("properties.price", FilterOp::Lt, Some("9"), None),
            &e
        ));
        // "10" > "9" numerically although not as text.
        assert!(accepts(
            &f("properties.qty", FilterOp::Gte, Some("9"), None),
            &e
        ));
        assert!(accepts(
            &f("properties.country", FilterOp::Eq, Some("DE"), None),
            &e
        ));
        assert!(accepts(
            &f(
                "properties.country",
                FilterOp::In,
                None,
                Some(&["FR", "DE"])
            ),
            &e
        ));
        assert!(!accepts(
            &f("properties.country", FilterOp::NotIn, None, Some(&["DE"])),
            &e
        ));
        assert!(accepts(
            &f("type", FilterOp::Ne, Some("page.viewed"), None),
            &e
        ));
        assert!(!accepts(
            &f("properties.none", FilterOp::Exists, None, None),
            &e
        ));
        assert!(accepts(
            &f("properties.none", FilterOp::Ne, Some("x"), None),
            &e
        ));
        assert!(!accepts(
            &f("properties.none", FilterOp::Eq, Some("x"), None),
            &e
        ));
    }
}
