//! Deployments: pods from the template (labelled `pod-template-hash`), scaling, Recreate and
//! RollingUpdate (maxSurge / maxUnavailable), and the status `kubectl rollout status` reads.

use super::conditions::{self, Cond};
use super::pods::{self, owner_reference};
use super::{Ctx, controller_for, drive, name_ns};
use crate::{Error, Result};
use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Label carrying the template hash of a Deployment's pod.
pub const HASH_LABEL: &str = "pod-template-hash";

/// Runs the Deployment controller until `stop`.
pub async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let pods = Api::<Pod>::all(ctx.client.clone());
    let controller =
        controller_for::<Deployment>(&ctx.client).owns(pods, watcher::Config::default());
    drive(controller, reconcile, ctx, stop).await;
}

/// How a rollout may proceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// Desired replicas.
    pub replicas: i32,
    /// Pods allowed above `replicas` during a rolling update.
    pub max_surge: i32,
    /// Pods allowed below `replicas` during a rolling update.
    pub max_unavailable: i32,
    /// Recreate: remove every old pod before starting new ones.
    pub recreate: bool,
}

/// A pod as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    /// Pod name.
    pub name: String,
    /// Whether it runs the current template.
    pub current: bool,
    /// Whether it counts as available.
    pub available: bool,
}

/// What to do next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// New pods to create.
    pub create: usize,
    /// Pods to delete.
    pub delete: Vec<String>,
}

/// `value` (an int or a percentage of `total`), rounded up or down.
pub fn scaled(value: Option<&IntOrString>, total: i32, default_pct: i32, round_up: bool) -> i32 {
    let pct = match value {
        Some(IntOrString::Int(n)) => return *n,
        Some(IntOrString::String(s)) => s.trim_end_matches('%').parse().unwrap_or(default_pct),
        None => default_pct,
    };
    let raw = i64::from(total) * i64::from(pct);
    let v = if round_up {
        (raw + 99) / 100
    } else {
        raw / 100
    };
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// The next step of a rollout over the live (non-terminating) `pods`;
/// `old_terminating` counts old pods still shutting down.
pub fn plan(r: &Rollout, pods: &[PodView], old_terminating: usize) -> Plan {
    let desired = usize::try_from(r.replicas.max(0)).unwrap_or(0);
    let (current, old): (Vec<&PodView>, Vec<&PodView>) = pods.iter().partition(|p| p.current);
    let mut out = Plan::default();
    if current.len() > desired {
        let mut extra: Vec<&&PodView> = current.iter().collect();
        extra.sort_by_key(|p| p.available);
        out.delete.extend(
            extra
                .iter()
                .take(current.len() - desired)
                .map(|p| p.name.clone()),
        );
        out.delete.extend(old.iter().map(|p| p.name.clone()));
        return out;
    }
    if r.recreate {
        if !old.is_empty() {
            out.delete.extend(old.iter().map(|p| p.name.clone()));
        } else if old_terminating == 0 {
            out.create = desired - current.len();
        }
        return out;
    }
    let surge = usize::try_from(r.max_surge.max(0)).unwrap_or(0);
    let unavailable = usize::try_from(r.max_unavailable.max(0)).unwrap_or(0);
    let total = pods.len();
    out.create = (desired - current.len()).min((desired + surge).saturating_sub(total));
    // Old pods that serve nothing can always go; available ones only down to the floor.
    out.delete
        .extend(old.iter().filter(|p| !p.available).map(|p| p.name.clone()));
    let available = pods.iter().filter(|p| p.available).count();
    let floor = desired.saturating_sub(unavailable);
    let removable = available.saturating_sub(floor);
    out.delete.extend(
        old.iter()
            .filter(|p| p.available)
            .take(removable)
            .map(|p| p.name.clone()),
    );
    out
}

fn rollout_of(d: &Deployment) -> Rollout {
    let replicas = d.spec.replicas.unwrap_or(1);
    let strategy = d.spec.strategy.as_ref();
    let recreate = strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate");
    let ru = strategy.and_then(|s| s.rolling_update.as_ref());
    let max_surge = scaled(ru.and_then(|r| r.max_surge.as_ref()), replicas, 25, true);
    let mut max_unavailable = scaled(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        replicas,
        25,
        false,
    );
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    Rollout {
        replicas,
        max_surge,
        max_unavailable,
        recreate,
    }
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action> {
    let (name, ns) = name_ns(d.as_ref(), "Deployment")?;
    if pods::terminating(&d.metadata) {
        return Ok(Action::await_change());
    }
    let spec = &d.spec;
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let hash = pods::template_hash(&spec.template);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let now = Utc::now();
    let all: Vec<Pod> = pods::owned(&ctx.client, &ns, &uid, Some(&spec.selector)).await?;
    let is_current =
        |p: &Pod| p.metadata.labels.as_ref().and_then(|l| l.get(HASH_LABEL)) == Some(&hash);
    let live: Vec<&Pod> = all
        .iter()
        .filter(|p| !pods::terminating(&p.metadata))
        .collect();
    let old_terminating = all
        .iter()
        .filter(|p| pods::terminating(&p.metadata) && !is_current(p))
        .count();
    let views: Vec<PodView> = live
        .iter()
        .map(|p| PodView {
            name: p.metadata.name.clone().unwrap_or_default(),
            current: is_current(p),
            available: pods::available(p, min_ready, now),
        })
        .collect();
    let rollout = rollout_of(&d);
    let step = if spec.paused == Some(true) {
        Plan::default()
    } else {
        plan(&rollout, &views, old_terminating)
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    for pod_name in &step.delete {
        match api.delete(pod_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if super::is_status(&e, 404) => {}
            Err(e) => return Err(Error::kube(format!("delete pod {ns}/{pod_name}"))(e)),
        }
    }
    let owner = owner_reference(d.as_ref())?;
    let labels = BTreeMap::from([(HASH_LABEL.to_owned(), hash.clone())]);
    for _ in 0..step.create {
        let pod_name = format!("{name}-{hash}-{}", pods::suffix());
        let pod = pods::from_template(&spec.template, &pod_name, &ns, owner.clone(), &labels);
        api.create(&PostParams::default(), &pod)
            .await
            .map_err(Error::kube(format!("create pod {ns}/{pod_name}")))?;
    }
    let ready = live.iter().filter(|p| pods::ready(p)).count();
    write_status(&ctx, &d, (&name, &ns), &rollout, &views, ready).await?;
    let waiting_min_ready = min_ready > 0
        && live
            .iter()
            .any(|p| pods::ready(p) && !pods::available(p, min_ready, now));
    Ok(if waiting_min_ready {
        Action::requeue(Duration::from_secs(1))
    } else {
        Action::requeue(Duration::from_secs(60))
    })
}

async fn write_status(
    ctx: &Ctx,
    d: &Deployment,
    (name, ns): (&str, &str),
    r: &Rollout,
    views: &[PodView],
    ready: usize,
) -> Result<()> {
    let replicas = views.len();
    let updated = views.iter().filter(|v| v.current).count();
    let available = views.iter().filter(|v| v.available).count();
    let desired = usize::try_from(r.replicas.max(0)).unwrap_or(0);
    let floor = desired.saturating_sub(usize::try_from(r.max_unavailable.max(0)).unwrap_or(0));
    let complete = updated == desired && replicas == desired && available == desired;
    let wanted = [
        if available >= floor {
            Cond::new(
                "Available",
                true,
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        } else {
            Cond::new(
                "Available",
                false,
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        },
        if complete {
            Cond::new(
                "Progressing",
                true,
                "NewReplicaSetAvailable",
                format!("Deployment {name:?} has successfully progressed."),
            )
        } else {
            Cond::new(
                "Progressing",
                true,
                "ReplicaSetUpdated",
                format!("Deployment {name:?} is progressing."),
            )
        },
    ];
    let existing = serde_json::to_value(d.status.as_ref().and_then(|s| s.conditions.clone()))
        .unwrap_or_default();
    // Zero counts are removed (null), as the API omits them.
    let count = |n: usize| if n == 0 { json!(null) } else { json!(n) };
    let status = json!({
        "status": {
            "observedGeneration": d.metadata.generation,
            "replicas": count(replicas),
            "updatedReplicas": count(updated),
            "readyReplicas": count(ready),
            "availableReplicas": count(available),
            "unavailableReplicas": count(desired.saturating_sub(available)),
            "conditions": conditions::merge(&existing, &wanted, Utc::now()),
        }
    });
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    super::patch_status(&api, name, d.status.as_ref(), &status).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn view(name: &str, current: bool, available: bool) -> PodView {
        PodView {
            name: name.into(),
            current,
            available,
        }
    }

    fn rolling(replicas: i32, surge: i32, unavailable: i32) -> Rollout {
        Rollout {
            replicas,
            max_surge: surge,
            max_unavailable: unavailable,
            recreate: false,
        }
    }

    #[test]
    fn scales_up_and_down() {
        assert_eq!(plan(&rolling(3, 1, 0), &[], 0).create, 3);
        let pods = [
            view("a", true, true),
            view("b", true, false),
            view("c", true, true),
        ];
        let p = plan(&rolling(2, 1, 0), &pods, 0);
        assert_eq!(
            p,
            Plan {
                create: 0,
                delete: vec!["b".into()]
            }
        );
    }

    #[test]
    fn rolling_update_surges_then_retires_old_pods_within_budget() {
        let old = [view("o1", false, true), view("o2", false, true)];
        // Surge 1, unavailable 0: one new pod, no old pod removed yet.
        assert_eq!(
            plan(&rolling(2, 1, 0), &old, 0),
            Plan {
                create: 1,
                delete: vec![]
            }
        );
        // The new pod is available: one old pod may go.
        let mid = [
            view("o1", false, true),
            view("o2", false, true),
            view("n1", true, true),
        ];
        assert_eq!(
            plan(&rolling(2, 1, 0), &mid, 0),
            Plan {
                create: 0,
                delete: vec!["o1".into()]
            }
        );
        // Unavailable 1, surge 0: one old pod goes first.
        assert_eq!(
            plan(&rolling(2, 0, 1), &old, 0),
            Plan {
                create: 0,
                delete: vec!["o1".into()]
            }
        );
        // Unready old pods never hold a rollout back.
        let stuck = [view("o1", false, false), view("o2", false, true)];
        assert_eq!(
            plan(&rolling(2, 0, 0), &stuck, 0).delete,
            vec!["o1".to_owned()]
        );
    }

    #[test]
    fn recreate_waits_for_old_pods_to_be_gone() {
        let r = Rollout {
            recreate: true,
            ..rolling(1, 0, 0)
        };
        assert_eq!(
            plan(&r, &[view("o", false, true)], 0).delete,
            vec!["o".to_owned()]
        );
        assert_eq!(plan(&r, &[], 1).create, 0);
        assert_eq!(plan(&r, &[], 0).create, 1);
    }

    #[test]
    fn percentages_round_like_kubernetes() {
        let pct = IntOrString::String("25%".into());
        assert_eq!(scaled(Some(&pct), 3, 25, true), 1);
        assert_eq!(scaled(Some(&pct), 3, 25, false), 0);
        assert_eq!(scaled(Some(&IntOrString::Int(2)), 3, 25, false), 2);
        assert_eq!(scaled(None, 10, 25, true), 3);
    }
}
