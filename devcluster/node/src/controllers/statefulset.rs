//! StatefulSets: pods `<name>-0`, `<name>-1`… created in order (each after the previous is
//! Ready, unless `podManagementPolicy: Parallel`), removed from the highest ordinal, and
//! replaced one at a time, highest first, when the template changes (RollingUpdate with
//! `partition`; OnDelete leaves that to the user). volumeClaimTemplates become per-pod
//! directories (no PersistentVolumes here).

use super::conditions::time;
use super::pods::{self, owner_reference};
use super::{Ctx, controller_for, drive, name_ns};
use crate::{Error, Result};
use chrono::Utc;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Label carrying the revision of a StatefulSet's pod.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Runs the StatefulSet controller until `stop`.
pub async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let pods = Api::<Pod>::all(ctx.client.clone());
    let controller =
        controller_for::<StatefulSet>(&ctx.client).owns(pods, watcher::Config::default());
    drive(controller, reconcile, ctx, stop).await;
}

/// One ordinal's pod as the planner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Ready and not terminating.
    pub ready: bool,
    /// Runs the current revision.
    pub current: bool,
    /// Being deleted.
    pub terminating: bool,
}

/// The next steps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    /// Ordinals to create.
    pub create: Vec<usize>,
    /// Ordinals to delete.
    pub delete: Vec<usize>,
}

/// Plans over `slots` (index = ordinal, `None` = no pod), for `replicas` pods.
pub fn plan(
    slots: &[Option<Slot>],
    replicas: usize,
    parallel: bool,
    partition: usize,
    rolling: bool,
) -> Steps {
    let mut steps = Steps::default();
    for i in 0..replicas {
        match slots.get(i).copied().flatten() {
            None => {
                steps.create.push(i);
                if !parallel {
                    return steps;
                }
            }
            Some(s) if !s.ready && !parallel => return steps,
            Some(_) => {}
        }
    }
    if !steps.create.is_empty() {
        return steps;
    }
    let condemned: Vec<usize> = (replicas..slots.len())
        .rev()
        .filter(|&i| slots[i].is_some_and(|s| !s.terminating))
        .collect();
    if !condemned.is_empty() {
        steps.delete = if parallel {
            condemned
        } else {
            condemned[..1].to_vec()
        };
        return steps;
    }
    let all_ready = slots
        .iter()
        .take(replicas)
        .all(|s| s.is_some_and(|s| s.ready));
    if rolling
        && all_ready
        && let Some(i) = (partition..replicas.min(slots.len()))
            .rev()
            .find(|&i| slots[i].is_some_and(|s| !s.current && !s.terminating))
    {
        steps.delete.push(i);
    }
    steps
}

fn ordinal(set: &str, pod: &str) -> Option<usize> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action> {
    let (name, ns) = name_ns(set.as_ref(), "StatefulSet")?;
    if pods::terminating(&set.metadata) {
        return Ok(Action::await_change());
    }
    let spec = &set.spec;
    let replicas = usize::try_from(spec.replicas.unwrap_or(1).max(0)).unwrap_or(0);
    let revision = format!("{name}-{}", pods::template_hash(&spec.template));
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let owned: Vec<Pod> = pods::owned(&ctx.client, &ns, &uid, Some(&spec.selector)).await?;
    let mut by_ordinal: BTreeMap<usize, &Pod> = BTreeMap::new();
    for p in &owned {
        if let Some(i) = p.metadata.name.as_deref().and_then(|n| ordinal(&name, n)) {
            by_ordinal.insert(i, p);
        }
    }
    let len = by_ordinal
        .keys()
        .next_back()
        .map_or(0, |m| m + 1)
        .max(replicas);
    let slots: Vec<Option<Slot>> = (0..len)
        .map(|i| {
            by_ordinal.get(&i).map(|p| Slot {
                ready: pods::ready(p),
                current: p
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(REVISION_LABEL))
                    == Some(&revision),
                terminating: pods::terminating(&p.metadata),
            })
        })
        .collect();
    let strategy = spec.update_strategy.as_ref();
    let rolling = strategy.and_then(|s| s.type_.as_deref()) != Some("OnDelete");
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let steps = plan(&slots, replicas, parallel, partition, rolling);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    for i in &steps.delete {
        let pod_name = format!("{name}-{i}");
        match api.delete(&pod_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if super::is_status(&e, 404) => {}
            Err(e) => return Err(Error::kube(format!("delete pod {ns}/{pod_name}"))(e)),
        }
    }
    let owner = owner_reference(set.as_ref())?;
    for i in &steps.create {
        let pod_name = format!("{name}-{i}");
        let labels = BTreeMap::from([
            (REVISION_LABEL.to_owned(), revision.clone()),
            (
                "statefulset.kubernetes.io/pod-name".to_owned(),
                pod_name.clone(),
            ),
            ("apps.kubernetes.io/pod-index".to_owned(), i.to_string()),
        ]);
        let mut pod = pods::from_template(&spec.template, &pod_name, &ns, owner.clone(), &labels);
        if let Some(pod_spec) = pod.spec.as_mut() {
            pod_spec.hostname = Some(pod_name.clone());
            pod_spec.subdomain = spec.service_name.clone();
            add_claim_volumes(
                pod_spec,
                spec.volume_claim_templates.as_deref().unwrap_or_default(),
            );
        }
        api.create(&PostParams::default(), &pod)
            .await
            .map_err(Error::kube(format!("create pod {ns}/{pod_name}")))?;
    }
    let live: Vec<&Slot> = slots.iter().flatten().filter(|s| !s.terminating).collect();
    let count = |n: usize| if n == 0 { json!(null) } else { json!(n) };
    let updated = live.iter().filter(|s| s.current).count();
    let ready = live.iter().filter(|s| s.ready).count();
    let previous = set.status.as_ref().and_then(|s| s.current_revision.clone());
    let current_revision = if updated == live.len() {
        Some(revision.clone())
    } else {
        previous.or(Some(revision.clone()))
    };
    let status = json!({"status": {
        "observedGeneration": set.metadata.generation,
        "replicas": live.len(),
        "readyReplicas": count(ready),
        "availableReplicas": count(ready),
        "currentReplicas": count(updated),
        "updatedReplicas": count(updated),
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }});
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
    super::patch_status(&api, &name, set.status.as_ref(), &status).await?;
    tracing::trace!(at = %time(Utc::now()), statefulset = %name, "reconciled");
    Ok(Action::requeue(Duration::from_secs(60)))
}

/// Each claim template becomes an `emptyDir` volume of the same name, so mounts resolve.
fn add_claim_volumes(
    spec: &mut k8s_openapi::api::core::v1::PodSpec,
    claims: &[k8s_openapi::api::core::v1::PersistentVolumeClaim],
) {
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    for claim in claims {
        let Some(claim_name) = claim.metadata.name.clone() else {
            continue;
        };
        if volumes.iter().all(|v| v.name != claim_name) {
            volumes.push(k8s_openapi::api::core::v1::Volume {
                name: claim_name,
                empty_dir: Some(Default::default()),
                ..Default::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const READY: Option<Slot> = Some(Slot {
        ready: true,
        current: true,
        terminating: false,
    });
    const STARTING: Option<Slot> = Some(Slot {
        ready: false,
        current: true,
        terminating: false,
    });
    const OLD: Option<Slot> = Some(Slot {
        ready: true,
        current: false,
        terminating: false,
    });

    #[test]
    fn ordered_creation_waits_for_readiness() {
        assert_eq!(plan(&[], 3, false, 0, true).create, vec![0]);
        assert_eq!(plan(&[STARTING], 3, false, 0, true), Steps::default());
        assert_eq!(plan(&[READY], 3, false, 0, true).create, vec![1]);
        assert_eq!(plan(&[], 3, true, 0, true).create, vec![0, 1, 2]);
    }

    #[test]
    fn scale_down_from_the_top_and_update_highest_first() {
        assert_eq!(
            plan(&[READY, READY, READY], 1, false, 0, true).delete,
            vec![2]
        );
        assert_eq!(plan(&[OLD, OLD, READY], 3, false, 0, true).delete, vec![1]);
        assert_eq!(
            plan(&[OLD, OLD, READY], 3, false, 2, true).delete,
            Vec::<usize>::new()
        );
        assert_eq!(
            plan(&[OLD, OLD], 2, false, 0, false).delete,
            Vec::<usize>::new()
        );
        assert_eq!(ordinal("db", "db-12"), Some(12));
        assert_eq!(ordinal("db", "dbx-1"), None);
    }
}
