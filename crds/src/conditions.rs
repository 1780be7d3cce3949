//! Status conditions built by one helper, so transitions keep their timestamps.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition to record: type, status, machine-readable reason and human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionUpdate<'a> {
    /// `Ready`, `Progressing` or `Degraded`.
    pub type_: &'a str,
    /// Whether the condition holds.
    pub status: bool,
    /// CamelCase reason, for example `InvalidTemplate`.
    pub reason: &'a str,
    /// What a human needs to know; never a secret.
    pub message: &'a str,
}

/// Sets a condition in `conditions`, keeping `lastTransitionTime` when the status is unchanged.
///
/// Returns whether anything changed, so callers can skip a status write.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    update: ConditionUpdate<'_>,
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let status = if update.status { "True" } else { "False" };
    let existing = conditions.iter_mut().find(|c| c.type_ == update.type_);
    match existing {
        Some(c) => {
            let before = c.clone();
            if c.status != status {
                c.last_transition_time = Time(now);
            }
            c.status = status.into();
            c.reason = update.reason.into();
            c.message = update.message.into();
            c.observed_generation = generation;
            *c != before
        }
        None => {
            conditions.push(Condition {
                type_: update.type_.into(),
                status: status.into(),
                reason: update.reason.into(),
                message: update.message.into(),
                observed_generation: generation,
                last_transition_time: Time(now),
            });
            true
        }
    }
}

/// Whether the condition of the given type is `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("valid timestamp")
    }

    fn ready(status: bool, reason: &'static str) -> ConditionUpdate<'static> {
        ConditionUpdate {
            type_: "Ready",
            status,
            reason,
            message: "m",
        }
    }

    #[test]
    fn new_condition_is_added_with_the_current_time() {
        let mut conditions = Vec::new();
        assert!(set_condition(
            &mut conditions,
            ready(false, "Progressing"),
            Some(1),
            at(10)
        ));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, Time(at(10)));
        assert_eq!(conditions[0].status, "False");
        assert_eq!(conditions[0].observed_generation, Some(1));
    }

    #[test]
    fn unchanged_status_keeps_the_transition_time() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ready(false, "Progressing"),
            Some(1),
            at(10),
        );
        let changed = set_condition(
            &mut conditions,
            ready(false, "WaitingForRollout"),
            Some(1),
            at(20),
        );
        assert!(changed, "the reason changed");
        assert_eq!(conditions[0].last_transition_time, Time(at(10)));
        assert_eq!(conditions[0].reason, "WaitingForRollout");
    }

    #[test]
    fn identical_update_reports_no_change() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, ready(true, "Ready"), Some(2), at(10));
        assert!(!set_condition(
            &mut conditions,
            ready(true, "Ready"),
            Some(2),
            at(30)
        ));
    }

    #[test]
    fn status_flip_moves_the_transition_time() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ready(false, "Progressing"),
            Some(1),
            at(10),
        );
        set_condition(&mut conditions, ready(true, "Ready"), Some(1), at(40));
        assert_eq!(conditions[0].last_transition_time, Time(at(40)));
        assert!(is_true(&conditions, "Ready"));
        assert!(!is_true(&conditions, "Degraded"));
    }
}
