//! Where a resource stands after a reconcile, as the three conditions every Machina kind
//! reports (`Ready`, `Progressing`, `Degraded`), set through
//! `crds::conditions::set_condition` so unchanged conditions keep their timestamps.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use machina_crds::common::condition_types::{DEGRADED, PROGRESSING, READY};
use machina_crds::conditions::{ConditionUpdate, set_condition};

/// Where a resource stands after a reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Everything converged and every rollout is complete.
    Ready,
    /// Converged; workloads are rolling out.
    Progressing {
        /// What is awaited.
        message: String,
    },
    /// The desired state cannot be reached without a change.
    Degraded {
        /// Machine-readable reason naming the failing dependency.
        reason: &'static str,
        /// What a human needs to know (never a secret).
        message: String,
    },
}

/// Sets `Ready`, `Progressing` and `Degraded` in `conditions` for `health`.
pub fn set_health(
    conditions: &mut Vec<Condition>,
    health: &Health,
    generation: Option<i64>,
    now: Timestamp,
) {
    let (ready, progressing, degraded) = match health {
        Health::Ready => (
            cond(READY, true, "Ready", "rolled out, backends provisioned"),
            cond(PROGRESSING, false, "Reconciled", "nothing to do"),
            cond(DEGRADED, false, "AsExpected", "no problem"),
        ),
        Health::Progressing { message } => (
            cond(READY, false, "RollingOut", message),
            cond(PROGRESSING, true, "RollingOut", message),
            cond(DEGRADED, false, "AsExpected", "no problem"),
        ),
        Health::Degraded { reason, message } => (
            cond(READY, false, reason, message),
            cond(PROGRESSING, false, reason, message),
            cond(DEGRADED, true, reason, message),
        ),
    };
    for update in [ready, progressing, degraded] {
        set_condition(conditions, update, generation, now);
    }
}

fn cond<'a>(
    type_: &'a str,
    status: bool,
    reason: &'a str,
    message: &'a str,
) -> ConditionUpdate<'a> {
    ConditionUpdate {
        type_,
        status,
        reason,
        message,
    }
}
