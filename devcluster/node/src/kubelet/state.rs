//! What a container supervisor reports, and the pod status built from it (pure).

use crate::controllers::conditions::{self, Cond, time};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// A container's current state, as `containerStatuses[].state` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running: about to start, backing off, or unable to start.
    Waiting {
        /// `ContainerCreating`, `CrashLoopBackOff`, `ImageNotRunnable`…
        reason: String,
        /// Details.
        message: String,
    },
    /// Running since `started`.
    Running {
        /// Start time.
        started: DateTime<Utc>,
    },
    /// Exited.
    Terminated(Exit),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Exit code (128 + signal when killed by one).
    pub code: i32,
    /// `Completed`, `Error`, `OOMKilled`…
    pub reason: String,
    /// Start of the run.
    pub started: DateTime<Utc>,
    /// End of the run.
    pub finished: DateTime<Utc>,
}

/// A container's status as its supervisor publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// Image reference from the spec.
    pub image: String,
    /// Current state.
    pub state: State,
    /// The previous run, once there was one.
    pub last: Option<Exit>,
    /// Readiness (probe passed, or running without a probe).
    pub ready: bool,
    /// Restarts so far.
    pub restart_count: i32,
    /// Process id of the current run.
    pub pid: Option<u32>,
    /// Whether the supervisor will not start it again (final exit).
    pub done: bool,
}

impl ContainerStatus {
    /// A container about to be created.
    pub fn waiting(name: &str, image: &str, reason: &str, message: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            state: State::Waiting {
                reason: reason.to_owned(),
                message: message.to_owned(),
            },
            last: None,
            ready: false,
            restart_count: 0,
            pid: None,
            done: false,
        }
    }
}

fn exit_json(e: &Exit) -> Value {
    json!({"terminated": {
        "exitCode": e.code,
        "reason": e.reason,
        "startedAt": time(e.started),
        "finishedAt": time(e.finished),
    }})
}

fn state_json(s: &State) -> Value {
    match s {
        State::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        State::Running { started } => json!({"running": {"startedAt": time(*started)}}),
        State::Terminated(e) => exit_json(e),
    }
}

/// The pod phase from its containers and restart policy.
pub fn phase(containers: &[ContainerStatus], restart_policy: &str) -> &'static str {
    let ever_ran =
        |c: &ContainerStatus| c.last.is_some() || !matches!(c.state, State::Waiting { .. });
    if containers.is_empty() || !containers.iter().any(ever_ran) {
        return "Pending";
    }
    if restart_policy != "Always" && containers.iter().all(|c| c.done) {
        let ok = containers
            .iter()
            .all(|c| matches!(&c.state, State::Terminated(e) if e.code == 0));
        return if ok { "Succeeded" } else { "Failed" };
    }
    "Running"
}

/// The `status` object of a pod (for a merge patch): phase, IPs, conditions, container statuses.
pub fn pod_status(
    existing_conditions: &Value,
    containers: &[ContainerStatus],
    restart_policy: &str,
    pod_ip: &str,
    start_time: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let phase = phase(containers, restart_policy);
    let all_ready = !containers.is_empty() && containers.iter().all(|c| c.ready);
    let not_ready: Vec<&str> = containers
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let message = format!("containers with unready status: [{}]", not_ready.join(" "));
    let reason = if matches!(phase, "Succeeded" | "Failed") {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let ready = |t: &'static str| {
        if all_ready {
            Cond::new(t, true, "", "")
        } else {
            Cond::new(t, false, reason, message.clone())
        }
    };
    let wanted = [
        Cond::new("PodReadyToStartContainers", true, "", ""),
        Cond::new("Initialized", true, "", ""),
        ready("ContainersReady"),
        ready("Ready"),
        Cond::new("PodScheduled", true, "", ""),
    ];
    let mut conds = conditions::merge_plain(existing_conditions, &wanted, now);
    // Empty reasons/messages are omitted, as the API does.
    if let Some(items) = conds.as_array_mut() {
        for c in items.iter_mut().filter_map(Value::as_object_mut) {
            c.retain(|k, v| !((k == "reason" || k == "message") && v == ""));
        }
    }
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "image": c.image,
                "imageID": format!("devcluster://{}", c.image),
                "containerID": c.pid.map(|p| format!("process://{p}")),
                "ready": c.ready,
                "started": matches!(c.state, State::Running { .. }),
                "restartCount": c.restart_count,
                "state": state_json(&c.state),
                "lastState": c.last.as_ref().map_or(json!({}), exit_json),
            })
        })
        .collect();
    json!({
        "phase": phase,
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": time(start_time),
        "qosClass": "BestEffort",
        "conditions": conds,
        "containerStatuses": statuses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn running(ready: bool) -> ContainerStatus {
        ContainerStatus {
            state: State::Running {
                started: Utc::now(),
            },
            ready,
            ..ContainerStatus::waiting("c", "img", "", "")
        }
    }

    fn exited(code: i32) -> ContainerStatus {
        let t = Utc::now();
        ContainerStatus {
            state: State::Terminated(Exit {
                code,
                reason: "x".into(),
                started: t,
                finished: t,
            }),
            done: true,
            ..ContainerStatus::waiting("c", "img", "", "")
        }
    }

    #[test]
    fn phases_follow_containers_and_restart_policy() {
        assert_eq!(
            phase(
                &[ContainerStatus::waiting("c", "i", "ImageNotRunnable", "")],
                "Always"
            ),
            "Pending"
        );
        assert_eq!(phase(&[running(false)], "Always"), "Running");
        assert_eq!(phase(&[exited(0)], "Never"), "Succeeded");
        assert_eq!(phase(&[exited(0), exited(1)], "OnFailure"), "Failed");
        assert_eq!(phase(&[exited(0), running(true)], "Never"), "Running");
    }

    #[test]
    fn ready_conditions_need_every_container_ready() {
        let now = Utc::now();
        let s = pod_status(
            &Value::Null,
            &[running(true), running(false)],
            "Always",
            "127.10.0.2",
            now,
            now,
        );
        let ready = s["conditions"]
            .as_array()
            .expect("conds")
            .iter()
            .find(|c| c["type"] == "Ready")
            .cloned()
            .expect("ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(s["podIP"], "127.10.0.2");
        assert_eq!(
            s["containerStatuses"][0]["state"]["running"].is_object(),
            true
        );
        let s = pod_status(
            &Value::Null,
            &[running(true)],
            "Always",
            "127.10.0.2",
            now,
            now,
        );
        let ready = s["conditions"]
            .as_array()
            .expect("conds")
            .iter()
            .find(|c| c["type"] == "Ready")
            .cloned()
            .expect("ready");
        assert_eq!(ready["status"], "True");
        assert!(ready.get("reason").is_none());
    }
}
