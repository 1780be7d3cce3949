//! Rotation of a pipeline's MongoDB credentials without downtime (the two-slot scheme of
//! [`crate::provision`]), triggered by the `machina.dev/rotate-credentials` annotation.
//!
//! Setting the annotation to a new value (a date, a ticket id) asks for one rotation:
//! the other slot's user gets a fresh password, the Secret switches to it (which rolls the
//! worker), and the previous user is dropped only once no pod runs with the old Secret.
//! What was honoured and which user awaits its drop are recorded as annotations on the
//! Secret, so a crash between the steps resumes where it stopped.

use crate::controllers::common::USERNAME_KEY;
use crate::controllers::kube_ops;
use crate::provision::CredentialSlot;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use std::collections::BTreeMap;

/// Annotation on a ContentPipeline: a new value rotates its MongoDB credentials once.
pub const ROTATE_ANNOTATION: &str = "machina.dev/rotate-credentials";
/// Annotation on the credentials Secret: the rotation request last honoured.
pub const ROTATED_FOR_ANNOTATION: &str = "machina.dev/rotated-for";
/// Annotation on the credentials Secret: the user a rotation retired, dropped after rollout.
pub const RETIRED_USER_ANNOTATION: &str = "machina.dev/retired-user";

/// What this reconcile does with the MongoDB credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The user the Secret holds after this reconcile.
    pub user: String,
    /// Whether `user` gets a fresh password (a rotation starts now).
    pub fresh_password: bool,
    /// A retired user still to drop once the rollout completes.
    pub retired: Option<String>,
    /// The rotation request honoured so far (kept on the Secret).
    pub rotated_for: Option<String>,
}

impl Plan {
    /// The annotations the Secret carries for this plan.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        if let Some(request) = &self.rotated_for {
            annotations.insert(ROTATED_FOR_ANNOTATION.to_owned(), request.clone());
        }
        if let Some(user) = &self.retired {
            annotations.insert(RETIRED_USER_ANNOTATION.to_owned(), user.clone());
        }
        annotations
    }
}

/// Decides the MongoDB user of a pipeline whose users are named from `base`, given its
/// current Secret and the rotation it `requested` (the annotation's value).
///
/// A new request is honoured only when the previous rotation has finished (no retired
/// user pending): otherwise the "other" slot could still be in use by running pods.
pub fn plan(base: &str, secret: Option<&Secret>, requested: Option<&str>) -> Plan {
    let annotation = |key: &str| {
        secret
            .and_then(|s| s.annotations().get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let current_slot = secret
        .and_then(|s| kube_ops::secret_value(s, USERNAME_KEY))
        .and_then(|user| CredentialSlot::of_user(base, user.expose()));
    let current = current_slot.unwrap_or_default();
    let rotated_for = annotation(ROTATED_FOR_ANNOTATION);
    let retired = annotation(RETIRED_USER_ANNOTATION);
    let requested = requested.filter(|r| !r.is_empty());
    let rotate = secret.is_some()
        && current_slot.is_some()
        && retired.is_none()
        && requested.is_some()
        && requested.map(str::to_owned) != rotated_for;
    if rotate {
        Plan {
            user: current.other().user(base),
            fresh_password: true,
            retired: Some(current.user(base)),
            rotated_for: requested.map(str::to_owned),
        }
    } else {
        Plan {
            user: current.user(base),
            fresh_password: false,
            retired,
            // A first Secret records the request in force, so creating a pipeline with the
            // annotation does not rotate right after.
            rotated_for: rotated_for.or_else(|| requested.map(str::to_owned)),
        }
    }
}

/// Whether every pod of `worker` runs its latest template: the controller has seen the
/// latest spec, all pods are updated and the desired number are available.
pub fn rollout_complete(worker: &Deployment) -> bool {
    let desired = worker.spec.replicas.unwrap_or(1);
    let status = worker.status.clone().unwrap_or_default();
    let generation = worker.metadata.generation.unwrap_or(0);
    status.observed_generation.unwrap_or(0) >= generation
        && status.updated_replicas.unwrap_or(0) >= desired
        && status.replicas.unwrap_or(0) == status.updated_replicas.unwrap_or(0)
        && status.available_replicas.unwrap_or(0) >= desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use kube::api::ObjectMeta;

    const BASE: &str = "machina.cp.shop.copy";

    fn secret(user: &str, annotations: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(
                USERNAME_KEY.to_owned(),
                ByteString(user.as_bytes().to_vec()),
            )])),
            ..Secret::default()
        }
    }

    #[test]
    fn a_new_pipeline_starts_on_slot_a_and_records_the_request_without_rotating() {
        let plan = plan(BASE, None, Some("2026-11"));
        assert_eq!(plan.user, format!("{BASE}-a"));
        assert!(!plan.fresh_password);
        assert_eq!(plan.retired, None);
        assert_eq!(plan.rotated_for.as_deref(), Some("2026-11"));
    }

    #[test]
    fn a_new_request_moves_to_the_other_slot_and_retires_the_current_user() {
        let current = secret(&format!("{BASE}-a"), &[(ROTATED_FOR_ANNOTATION, "2026-10")]);
        let plan = plan(BASE, Some(&current), Some("2026-11"));
        assert_eq!(plan.user, format!("{BASE}-b"));
        assert!(plan.fresh_password);
        assert_eq!(plan.retired.as_deref(), Some(&*format!("{BASE}-a")));
        assert_eq!(
            plan.annotations()
                .get(ROTATED_FOR_ANNOTATION)
                .map(String::as_str),
            Some("2026-11")
        );
    }

    #[test]
    fn an_honoured_request_changes_nothing() {
        let current = secret(&format!("{BASE}-b"), &[(ROTATED_FOR_ANNOTATION, "2026-11")]);
        let plan = plan(BASE, Some(&current), Some("2026-11"));
        assert_eq!(plan.user, format!("{BASE}-b"));
        assert!(!plan.fresh_password);
        assert_eq!(plan.retired, None);
    }

    #[test]
    fn a_request_waits_while_the_previous_rotation_still_has_a_user_to_drop() {
        let current = secret(
            &format!("{BASE}-b"),
            &[
                (ROTATED_FOR_ANNOTATION, "2026-11"),
                (RETIRED_USER_ANNOTATION, &format!("{BASE}-a")),
            ],
        );
        let plan = plan(BASE, Some(&current), Some("2026-12"));
        assert_eq!(plan.user, format!("{BASE}-b"));
        assert!(!plan.fresh_password);
        assert_eq!(plan.retired.as_deref(), Some(&*format!("{BASE}-a")));
        assert_eq!(plan.rotated_for.as_deref(), Some("2026-11"));
    }

    #[test]
    fn a_foreign_user_in_the_secret_is_replaced_by_slot_a_without_rotation() {
        let current = secret("someone-else", &[]);
        let plan = plan(BASE, Some(&current), Some("2026-11"));
        assert_eq!(plan.user, format!("{BASE}-a"));
        assert!(!plan.fresh_password);
    }

    fn worker(
        generation: i64,
        observed: i64,
        replicas: i32,
        updated: i32,
        available: i32,
    ) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            spec: DeploymentSpec {
                replicas: Some(2),
                ..DeploymentSpec::default()
            },
            status: Some(DeploymentStatus {
                observed_generation: Some(observed),
                replicas: Some(replicas),
                updated_replicas: Some(updated),
                available_replicas: Some(available),
                ..DeploymentStatus::default()
            }),
        }
    }

    #[test]
    fn a_rollout_is_complete_only_when_no_old_pod_remains() {
        assert!(rollout_complete(&worker(3, 3, 2, 2, 2)));
        assert!(
            !rollout_complete(&worker(3, 2, 2, 2, 2)),
            "spec not yet observed"
        );
        assert!(
            !rollout_complete(&worker(3, 3, 3, 2, 2)),
            "an old pod still runs"
        );
        assert!(
            !rollout_complete(&worker(3, 3, 2, 2, 1)),
            "not yet available"
        );
    }
}
