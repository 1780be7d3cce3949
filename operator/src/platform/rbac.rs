//! The gateway's identity: a ServiceAccount and a Role letting it watch the ContentPipelines
//! of its Platform's namespace, so it routes new pipelines without a restart.

use super::builders::meta;
use crate::Result;
use crate::names;
use crate::pod::PlatformSettings;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use machina_crds::Platform;
use machina_crds::images::Component;

/// The ServiceAccount, Role and RoleBinding of the gateway, all named like its Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayIdentity {
    /// What the gateway's pods run as.
    pub service_account: ServiceAccount,
    /// Read-only access to ContentPipelines.
    pub role: Role,
    /// Grants the Role to the ServiceAccount.
    pub role_binding: RoleBinding,
}

/// The gateway's identity on `platform`.
pub fn gateway_identity(
    platform: &Platform,
    settings: &PlatformSettings,
) -> Result<GatewayIdentity> {
    let component = Component::Gateway;
    let name = names::shared_service(&settings.name, component.name());
    let object_meta = meta(platform, component, &name)?;
    Ok(GatewayIdentity {
        service_account: ServiceAccount {
            metadata: object_meta.clone(),
            automount_service_account_token: Some(true),
            ..ServiceAccount::default()
        },
        role: Role {
            metadata: object_meta.clone(),
            rules: Some(vec![PolicyRule {
                api_groups: Some(vec!["machina.dev".into()]),
                resources: Some(vec!["contentpipelines".into()]),
                verbs: vec!["get".into(), "list".into(), "watch".into()],
                ..PolicyRule::default()
            }]),
        },
        role_binding: RoleBinding {
            metadata: object_meta,
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "Role".into(),
                name: name.clone(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name,
                namespace: Some(settings.namespace.clone()),
                ..Subject::default()
            }]),
        },
    })
}
