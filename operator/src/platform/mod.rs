//! A Platform's desired state: a Deployment, Service and (with `minAvailable`) a
//! PodDisruptionBudget per enabled shared service, and the objects of disabled services to
//! delete.
//!
//! Each service reads its backends from its connection Secret
//! ([`names::service_connection_secret`](crate::names::service_connection_secret)), which
//! the reconciler writes from the admin Secrets the Platform references; the keys are
//! [`MONGODB_URI_KEY`], [`REDIS_URL_KEY`] and [`AMQP_URL_KEY`].

mod builders;
mod connection;
mod rbac;

pub use builders::{
    AMQP_URL_KEY, Backends, MONGODB_URI_KEY, REDIS_URL_KEY, backends, deployment, service,
    service_env,
};
pub use connection::{BackendConnections, connection_secret, generated_values};
pub use rbac::{GatewayIdentity, gateway_identity};

use crate::pod::PlatformSettings;
use crate::{DeleteKind, Deletion, Result, names, workload};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use machina_crds::Platform;
use machina_crds::images::Component;
use machina_crds::platform::{PlatformServices, SharedService};
use std::collections::BTreeMap;

/// Pod-template annotation holding the version of a workload's credentials; changing it
/// rolls the pods, so rotated credentials are picked up without downtime.
pub const CREDENTIALS_VERSION_ANNOTATION: &str = "machina.dev/credentials-version";

/// The objects a Platform owns, to apply, and those to delete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlatformObjects {
    /// One per enabled service.
    pub deployments: Vec<Deployment>,
    /// One per enabled service.
    pub services: Vec<Service>,
    /// One per enabled service with `minAvailable`.
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
    /// The gateway's ServiceAccount and Role, when the gateway runs.
    pub gateway_identity: Option<GatewayIdentity>,
    /// Objects of disabled services, and budgets whose `minAvailable` was removed.
    pub deletions: Vec<Deletion>,
}

/// The eight shared services of a Platform with their settings, in a stable order.
pub fn shared_services(services: &PlatformServices) -> [(Component, &SharedService); 8] {
    [
        (Component::Gateway, &services.gateway),
        (Component::Auth, &services.auth),
        (Component::Users, &services.users),
        (Component::Content, &services.content),
        (Component::Media, &services.media),
        (Component::Templates, &services.templates),
        (Component::Analytics, &services.analytics),
        (Component::Insights, &services.insights),
    ]
}

/// The desired state of `platform`.
///
/// `credentials_versions` holds, per service, the version of its connection Secret
/// ([`crate::secrets::credentials_version`]); a service without one gets no annotation.
pub fn desired_state(
    platform: &Platform,
    credentials_versions: &BTreeMap<Component, String>,
) -> Result<PlatformObjects> {
    let settings = PlatformSettings::from_platform(platform)?;
    let mut objects = PlatformObjects::default();
    for (component, shared) in shared_services(&platform.spec.services) {
        let name = names::shared_service(&settings.name, component.name());
        if !shared.enabled {
            objects.deletions.extend([
                Deletion::new(DeleteKind::Deployment, &name),
                Deletion::new(DeleteKind::Service, &name),
                Deletion::new(DeleteKind::PodDisruptionBudget, &name),
                Deletion::new(
                    DeleteKind::Secret,
                    names::service_connection_secret(&settings.name, component.name()),
                ),
            ]);
            if component == Component::Gateway {
                objects.deletions.extend([
                    Deletion::new(DeleteKind::RoleBinding, &name),
                    Deletion::new(DeleteKind::Role, &name),
                    Deletion::new(DeleteKind::ServiceAccount, &name),
                ]);
            }
            continue;
        }
        if component == Component::Gateway {
            objects.gateway_identity = Some(gateway_identity(platform, &settings)?);
        }
        let version = credentials_versions.get(&component).map(String::as_str);
        objects
            .deployments
            .push(deployment(platform, &settings, component, shared, version)?);
        objects
            .services
            .push(service(platform, &settings, component)?);
        match shared.workload.min_available {
            Some(min) => {
                let meta = builders::meta(platform, component, &name)?;
                let app = builders::app_labels(component, &name);
                objects
                    .pod_disruption_budgets
                    .push(workload::pod_disruption_budget(meta, app, min));
            }
            None => objects
                .deletions
                .push(Deletion::new(DeleteKind::PodDisruptionBudget, name)),
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests;
