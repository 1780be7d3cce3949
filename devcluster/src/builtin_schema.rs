//! Unknown-field detection for built-in kinds (kubectl sends `fieldValidation=Strict`):
//! the OpenAPI schemas of the k8s-openapi types (generated with schemars, the way
//! kube-derive does for CRDs) are compiled once and used to find fields the real
//! apiserver would not decode. Objects are never rewritten by these schemas.

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::api::{apps, batch, coordination, core, discovery, networking, policy, rbac};
use machina_structural::{SchemaValidator, Scope};
use schemars::JsonSchema;
use serde_json::Value;

type Validators = HashMap<(&'static str, &'static str), (SchemaValidator, Value)>;

fn schema_of<T: JsonSchema>() -> Option<Value> {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).ok()
}

fn add<T: JsonSchema>(
    map: &mut Validators,
    group: &'static str,
    plural: &'static str,
    scope: Scope,
) {
    match schema_of::<T>().map(|s| (SchemaValidator::for_resource(&s, scope), s)) {
        Some((Ok(v), schema)) => {
            map.insert((group, plural), (v, schema));
        }
        other => tracing::warn!(
            group,
            plural,
            ok = other.is_some(),
            "no unknown-field schema for built-in kind"
        ),
    }
}

fn validators() -> &'static Validators {
    static CELL: OnceLock<Validators> = OnceLock::new();
    CELL.get_or_init(|| {
        let (n, c) = (Scope::Namespaced, Scope::Cluster);
        let mut m = Validators::new();
        add::<core::v1::Namespace>(&mut m, "", "namespaces", c);
        add::<core::v1::ConfigMap>(&mut m, "", "configmaps", n);
        add::<core::v1::Secret>(&mut m, "", "secrets", n);
        add::<core::v1::Service>(&mut m, "", "services", n);
        add::<core::v1::Pod>(&mut m, "", "pods", n);
        add::<core::v1::ServiceAccount>(&mut m, "", "serviceaccounts", n);
        add::<apps::v1::Deployment>(&mut m, "apps", "deployments", n);
        add::<apps::v1::StatefulSet>(&mut m, "apps", "statefulsets", n);
        add::<apps::v1::ReplicaSet>(&mut m, "apps", "replicasets", n);
        add::<batch::v1::Job>(&mut m, "batch", "jobs", n);
        add::<batch::v1::CronJob>(&mut m, "batch", "cronjobs", n);
        add::<policy::v1::PodDisruptionBudget>(&mut m, "policy", "poddisruptionbudgets", n);
        add::<discovery::v1::EndpointSlice>(&mut m, "discovery.k8s.io", "endpointslices", n);
        add::<coordination::v1::Lease>(&mut m, "coordination.k8s.io", "leases", n);
        add::<networking::v1::Ingress>(&mut m, "networking.k8s.io", "ingresses", n);
        add::<rbac::v1::Role>(&mut m, "rbac.authorization.k8s.io", "roles", n);
        add::<rbac::v1::RoleBinding>(&mut m, "rbac.authorization.k8s.io", "rolebindings", n);
        add::<rbac::v1::ClusterRole>(&mut m, "rbac.authorization.k8s.io", "clusterroles", c);
        add::<rbac::v1::ClusterRoleBinding>(
            &mut m,
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            c,
        );
        m
    })
}

/// Compiles the schemas now (they take a moment; done off the request path at start).
pub fn warm() {
    let _ = validators();
}

/// The OpenAPI schema of a built-in kind (published for `kubectl explain`).
pub fn schema(group: &str, plural: &str) -> Option<&'static Value> {
    validators()
        .iter()
        .find(|((g, p), _)| *g == group && *p == plural)
        .map(|(_, (_, s))| s)
}

/// The paths of fields the built-in kind does not have (`spec.replica`), sorted;
/// `None` when the kind has no schema here.
pub fn unknown_fields(group: &str, plural: &str, obj: &Value) -> Option<Vec<String>> {
    let (v, _) = validators().get(&(group, plural))?;
    let mut copy = obj.clone();
    Some(v.prune(&mut copy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_typos_are_found_and_valid_objects_pass() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "w", "labels": {"a": "b"}, "annotations": {"x": "y"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "w"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "w", "image": "x",
                    "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}},
                    "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}}]}}},
            "status": {"replicas": 1}});
        assert_eq!(unknown_fields("apps", "deployments", &d), Some(vec![]));
        let mut bad = d.clone();
        bad["spec"]["replica"] = json!(2);
        bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("y");
        assert_eq!(
            unknown_fields("apps", "deployments", &bad),
            Some(vec![
                "spec.replica".to_owned(),
                "spec.template.spec.containers[0].imagee".to_owned()
            ])
        );
    }
}
