//! EndpointSlices: one `discovery.k8s.io/v1` slice `<service>` per selector Service, listing
//! the matching pods that have an IP (ready or not, with their conditions), target ports
//! resolved by number or container-port name.

use super::pods::{self, owner_reference};
use super::{Ctx, controller_for, drive, name_ns};
use crate::{Error, Result};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::core::Selector;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Label naming the Service of a slice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming who manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// Runs the EndpointSlice controller until `stop`.
pub async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let controller = controller_for::<Service>(&ctx.client);
    let services = controller.store();
    let pods = Api::<Pod>::all(ctx.client.clone());
    let slices = Api::<EndpointSlice>::all(ctx.client.clone());
    let controller = controller.owns(slices, watcher::Config::default()).watches(
        pods,
        watcher::Config::default(),
        move |pod: Pod| {
            let ns = pod.metadata.namespace.as_deref();
            services
                .state()
                .into_iter()
                .filter(|s| s.metadata.namespace.as_deref() == ns && selects(s, &pod))
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect::<Vec<_>>()
        },
    );
    drive(controller, reconcile, ctx, stop).await;
}

/// Whether `service` has a selector and `pod`'s labels satisfy it.
pub fn selects(service: &Service, pod: &Pod) -> bool {
    let Some(selector) = service.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return false;
    };
    let labels = pod.metadata.labels.as_ref();
    !selector.is_empty()
        && selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The port `target` names on `pod` (a number, or a container port's name).
pub fn resolve_port(target: &IntOrString, pod: &Pod) -> Option<i32> {
    match target {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(name) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

/// The slice's ports and endpoints for `service` over the namespace's `pods`.
pub fn slice_content(service: &Service, pods: &[Pod]) -> (Vec<EndpointPort>, Vec<Endpoint>) {
    let members: Vec<&Pod> = pods
        .iter()
        .filter(|p| selects(service, p))
        .filter(|p| !matches!(pods::phase(p), "Succeeded" | "Failed"))
        .filter(|p| p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some())
        .collect();
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|sp| {
            let target = sp.target_port.clone().unwrap_or(IntOrString::Int(sp.port));
            let port = members.iter().find_map(|p| resolve_port(&target, p));
            EndpointPort {
                name: sp.name.clone(),
                port,
                protocol: sp.protocol.clone().or(Some("TCP".into())),
                app_protocol: sp.app_protocol.clone(),
            }
        })
        .collect();
    let endpoints = members
        .iter()
        .map(|p| {
            let ready = pods::ready(p);
            let terminating = pods::terminating(&p.metadata);
            Endpoint {
                addresses: vec![
                    p.status
                        .as_ref()
                        .and_then(|s| s.pod_ip.clone())
                        .unwrap_or_default(),
                ],
                conditions: Some(EndpointConditions {
                    ready: Some(ready),
                    serving: Some(ready),
                    terminating: Some(terminating),
                }),
                node_name: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: p.metadata.name.clone(),
                    namespace: p.metadata.namespace.clone(),
                    uid: p.metadata.uid.clone(),
                    ..ObjectReference::default()
                }),
                ..Endpoint::default()
            }
        })
        .collect();
    (ports, endpoints)
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action> {
    let (name, ns) = name_ns(service.as_ref(), "Service")?;
    if pods::terminating(&service.metadata)
        || service
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .is_none()
    {
        return Ok(Action::await_change());
    }
    // Only the pods the selector names (checked above to exist): listing every pod of the
    // namespace per Service made this controller quadratic in the namespace's size.
    let selector: Selector = service
        .spec
        .iter()
        .flat_map(|s| s.selector.iter().flatten())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(Error::kube(format!("list pods in {ns}")))?
        .items;
    let (ports, endpoints) = slice_content(&service, &pods);
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!("get endpointslice {ns}/{name}")))?;
    if let Some(old) = &existing
        && old.endpoints.as_ref() == Some(&endpoints)
        && old.ports.as_ref() == Some(&ports)
    {
        return Ok(Action::requeue(Duration::from_secs(60)));
    }
    let slice = EndpointSlice {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            labels: Some(BTreeMap::from([
                (SERVICE_NAME_LABEL.to_owned(), name.clone()),
                (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
            ])),
            owner_references: Some(vec![owner_reference(service.as_ref())?]),
            resource_version: existing
                .as_ref()
                .and_then(|e| e.metadata.resource_version.clone()),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(endpoints),
        ports: Some(ports),
    };
    let outcome = if existing.is_some() {
        api.replace(&name, &PostParams::default(), &slice).await
    } else {
        api.create(&PostParams::default(), &slice).await
    };
    outcome.map_err(Error::kube(format!("write endpointslice {ns}/{name}")))?;
    Ok(Action::requeue(Duration::from_secs(60)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServicePort, ServiceSpec,
    };
    use pretty_assertions::assert_eq;

    fn pod(name: &str, app: &str, ip: Option<&str>, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([("app".into(), app.into())])),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some("http".into()),
                        container_port: 8080,
                        ..ContainerPort::default()
                    }]),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                pod_ip: ip.map(Into::into),
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn selects_matching_pods_with_ips_and_resolves_named_ports() {
        let service = Service {
            spec: Some(ServiceSpec {
                selector: Some(BTreeMap::from([("app".into(), "web".into())])),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::String("http".into())),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        let pods = [
            pod("a", "web", Some("127.10.0.2"), true),
            pod("b", "web", Some("127.10.0.3"), false),
            pod("c", "web", None, false),
            pod("d", "db", Some("127.10.0.4"), true),
        ];
        let (ports, endpoints) = slice_content(&service, &pods);
        assert_eq!(ports[0].port, Some(8080));
        let summary: Vec<(String, Option<bool>)> = endpoints
            .iter()
            .map(|e| {
                (
                    e.addresses[0].clone(),
                    e.conditions.as_ref().and_then(|c| c.ready),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("127.10.0.2".to_owned(), Some(true)),
                ("127.10.0.3".to_owned(), Some(false))
            ]
        );
    }
}
