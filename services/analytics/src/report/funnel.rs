//! Funnels: how many identities did the steps in order, each within `window` of their
//! first step (the usual definition of Amplitude, Mixpanel, Umami).

use crate::event::Event;
use chrono::Duration;
use serde::Serialize;
use std::collections::HashMap;

/// One step of a funnel report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunnelStep {
    /// Event type of the step.
    #[serde(rename = "type")]
    pub kind: String,
    /// Identities that reached it.
    pub count: u64,
    /// Share of the previous step's identities (1 for the first step).
    pub conversion_from_previous: f64,
    /// Share of the first step's identities.
    pub conversion_from_start: f64,
}

/// The funnel of `steps` (event types) over `events`, each identity counted once at the
/// deepest step it reached from any of its first-step events.
pub fn funnel(events: &[Event], steps: &[String], window: Duration) -> Vec<FunnelStep> {
    let mut by_identity: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events {
        if let Some(who) = e.identity()
            && steps.contains(&e.kind)
        {
            by_identity.entry(who).or_default().push(e);
        }
    }
    let mut reached = vec![0u64; steps.len()];
    for list in by_identity.values_mut() {
        list.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        let depth = deepest(list, steps, window);
        for r in reached.iter_mut().take(depth) {
            *r += 1;
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    steps
        .iter()
        .enumerate()
        .map(|(i, kind)| FunnelStep {
            kind: kind.clone(),
            count: reached[i],
            conversion_from_previous: if i == 0 {
                1.0
            } else {
                ratio(reached[i], reached[i - 1])
            },
            conversion_from_start: ratio(reached[i], reached[0]),
        })
        .collect()
}

/// Steps done in order by one identity's time-ordered events, from its best start.
fn deepest(list: &[&Event], steps: &[String], window: Duration) -> usize {
    let mut best = 0;
    for (start, first) in list.iter().enumerate().filter(|(_, e)| e.kind == steps[0]) {
        let deadline = first.timestamp + window;
        let mut depth = 1;
        for e in &list[start + 1..] {
            if depth == steps.len() || e.timestamp > deadline {
                break;
            }
            if e.kind == steps[depth] {
                depth += 1;
            }
        }
        best = best.max(depth);
        if best == steps.len() {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::series::tests::ev;
    use serde_json::json;

    #[test]
    fn ordered_steps_within_the_window() {
        let steps: Vec<String> = ["page.viewed", "item.viewed", "item.purchased"]
            .map(String::from)
            .into();
        let e = |id: &str, kind: &str, ts: &str, who: &str| ev(id, kind, ts, who, json!({}));
        let events = vec![
            // a: all three in order within 1h.
            e("1", "page.viewed", "2026-01-01T10:00:00Z", "a"),
            e("2", "item.viewed", "2026-01-01T10:10:00Z", "a"),
            e("3", "item.purchased", "2026-01-01T10:20:00Z", "a"),
            // b: views, but purchases after the window.
            e("4", "page.viewed", "2026-01-01T10:00:00Z", "b"),
            e("5", "item.viewed", "2026-01-01T10:30:00Z", "b"),
            e("6", "item.purchased", "2026-01-01T12:00:00Z", "b"),
            // c: out of order (purchase before view) then only a page view.
            e("7", "item.purchased", "2026-01-01T09:00:00Z", "c"),
            e("8", "page.viewed", "2026-01-01T10:00:00Z", "c"),
            // d: a late second start completes the funnel.
            e("9", "page.viewed", "2026-01-01T08:00:00Z", "d"),
            e("10", "page.viewed", "2026-01-01T11:00:00Z", "d"),
            e("11", "item.viewed", "2026-01-01T11:01:00Z", "d"),
            e("12", "item.purchased", "2026-01-01T11:02:00Z", "d"),
            // e: never starts.
            e("13", "item.viewed", "2026-01-01T10:00:00Z", "e"),
        ];
        let report = funnel(&events, &steps, Duration::hours(1));
        let counts: Vec<u64> = report.iter().map(|s| s.count).collect();
        assert_eq!(counts, [4, 3, 2]);
        assert_eq!(report[1].conversion_from_previous, 0.75);
        assert_eq!(report[2].conversion_from_start, 0.5);
        assert_eq!(report[2].conversion_from_previous, 2.0 / 3.0);
    }
}
