//! Pods (and other children) seen from a controller: ownership, readiness, template hashes,
//! and pods built from a template.

use crate::{Error, Result};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::ListParams;
use kube::core::Selector;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// The controller reference to `obj`, as its children carry it.
pub fn owner_reference<K: Resource<DynamicType = ()>>(obj: &K) -> Result<OwnerReference> {
    let meta = obj.meta();
    let name = meta.name.clone().unwrap_or_default();
    let uid = meta.uid.clone().ok_or_else(|| Error::Missing {
        kind: "owner",
        name: name.clone(),
        field: "metadata.uid",
    })?;
    Ok(OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name,
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Whether `meta` names `uid` as its controller.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.controller == Some(true))
}

/// Children of kind `K` in `namespace` controlled by `uid`, listed with the owner's
/// `selector` when it has one: the API server then sends only the candidates, not every
/// object of the namespace (with a thousand Deployments in one namespace, listing all pods
/// per reconcile made the controllers quadratic).
pub async fn owned<K>(
    client: &Client,
    namespace: &str,
    uid: &str,
    selector: Option<&LabelSelector>,
) -> Result<Vec<K>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&list_params(selector))
        .await
        .map_err(Error::kube(format!(
            "list {} in {namespace}",
            K::plural(&())
        )))?;
    Ok(list
        .items
        .into_iter()
        .filter(|k| controlled_by(k.meta(), uid))
        .collect())
}

/// A list request narrowed to `selector`; everything when there is none, or when it cannot
/// be expressed (the ownership filter still applies).
fn list_params(selector: Option<&LabelSelector>) -> ListParams {
    match selector.cloned().map(Selector::try_from) {
        Some(Ok(s)) if !s.selects_all() => ListParams::default().labels_from(&s),
        _ => ListParams::default(),
    }
}

/// Whether the object is being deleted.
pub fn terminating(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

/// The pod's phase (`Pending` when unset).
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// Since when the pod has been Ready, if it is.
pub fn ready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(
        cond.last_transition_time
            .as_ref()
            .map_or_else(Utc::now, super::conditions::to_chrono),
    )
}

/// Whether the pod is Ready and not terminating.
pub fn ready(pod: &Pod) -> bool {
    !terminating(&pod.metadata) && ready_since(pod).is_some()
}

/// Whether the pod has been Ready for at least `min_ready_seconds` at `now`.
pub fn available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    !terminating(&pod.metadata)
        && ready_since(pod).is_some_and(|since| {
            now - since >= chrono::Duration::seconds(i64::from(min_ready_seconds))
        })
}

/// A short stable hash of a pod template (what `pod-template-hash` carries).
pub fn template_hash(template: &PodTemplateSpec) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Five random characters in the alphabet Kubernetes uses for generated names.
pub fn suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // Unique within the process (counter) and across restarts (clock), spread by a hash.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(5)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A pod named `name` from `template`, with `extra_labels` added and `owner` as controller.
pub fn from_template(
    template: &PodTemplateSpec,
    name: &str,
    namespace: &str,
    owner: OwnerReference,
    extra_labels: &BTreeMap<String, String>,
) -> Pod {
    let t_meta = template.metadata.clone().unwrap_or_default();
    let mut labels = t_meta.labels.unwrap_or_default();
    labels.extend(extra_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            annotations: t_meta.annotations,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use pretty_assertions::assert_eq;

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".into(), "web".into())])),
                annotations: Some(BTreeMap::from([("a".into(), "1".into())])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("redis:7".into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        }
    }

    #[test]
    fn pod_from_template_carries_labels_owner_and_spec() {
        let owner = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            uid: "u1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let extra = BTreeMap::from([("pod-template-hash".to_owned(), "abc".to_owned())]);
        let pod = from_template(&template(), "web-abc-x", "shop", owner, &extra);
        let labels = pod.metadata.labels.clone().expect("labels");
        assert_eq!(labels["app"], "web");
        assert_eq!(labels["pod-template-hash"], "abc");
        assert_eq!(pod.metadata.annotations.as_ref().expect("ann")["a"], "1");
        assert!(controlled_by(&pod.metadata, "u1"));
        assert!(!controlled_by(&pod.metadata, "u2"));
        assert_eq!(pod.spec, template().spec);
    }

    #[test]
    fn template_hash_follows_the_template() {
        let a = template();
        let mut b = template();
        assert_eq!(template_hash(&a), template_hash(&b));
        if let Some(spec) = b.spec.as_mut() {
            spec.containers[0].image = Some("redis:8".into());
        }
        assert_ne!(template_hash(&a), template_hash(&b));
        assert_eq!(template_hash(&a).len(), 10);
        assert_eq!(suffix().len(), 5);
    }
}
