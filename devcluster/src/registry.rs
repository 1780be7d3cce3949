//! [`Registry`]: the resources the server serves — the built-in kinds and the
//! resources of every established CustomResourceDefinition.

use std::collections::BTreeMap;
use std::sync::Arc;

use machina_structural::CrdValidator;
use serde_json::Value;

/// One served resource (one group/version/plural).
#[derive(Debug, Clone)]
pub struct Resource {
    /// API group, "" for core.
    pub group: String,
    /// Served version.
    pub version: String,
    /// Plural name (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names for kubectl (`mp`, `deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`, `machina`).
    pub categories: Vec<String>,
    /// Whether the `status` subresource exists.
    pub status: bool,
    /// For CRDs: the schema validator and printer columns.
    pub crd: Option<Arc<CrdInfo>>,
}

/// What a CRD adds to a resource.
#[derive(Debug)]
pub struct CrdInfo {
    /// The compiled schemas of every version.
    pub validator: CrdValidator,
    /// `additionalPrinterColumns` of each version.
    pub columns: BTreeMap<String, Vec<Value>>,
    /// The `openAPIV3Schema` of each version (for /openapi/v3).
    pub schemas: BTreeMap<String, Value>,
}

impl Resource {
    /// Review resources: create-only, answered and never stored (no RBAC here).
    pub fn is_review(&self) -> bool {
        matches!(
            self.plural.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectreviews"
        )
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Kind.group` as used in Invalid messages (`Platform.machina.dev`).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// `(group, version, plural, kind, namespaced, shortNames, categories, status)`.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    &'static [&'static str],
    bool,
);

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    ("", "v1", "namespaces", "Namespace", false, &["ns"], &[], true),
    ("", "v1", "secrets", "Secret", true, &[], &[], false),
    ("", "v1", "configmaps", "ConfigMap", true, &["cm"], &[], false),
    ("", "v1", "services", "Service", true, &["svc"], &["all"], true),
    ("", "v1", "pods", "Pod", true, &["po"], &["all"], true),
    ("", "v1", "events", "Event", true, &["ev"], &[], false),
    ("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"], &[], false),
    ("", "v1", "endpoints", "Endpoints", true, &["ep"], &[], false),
    ("", "v1", "nodes", "Node", false, &["no"], &[], true),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"], &[], true),
    ("apps", "v1", "deployments", "Deployment", true, &["deploy"], &["all"], true),
    ("apps", "v1", "statefulsets", "StatefulSet", true, &["sts"], &["all"], true),
    ("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"], &["all"], true),
    ("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], &["all"], true),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", true, &[], &[], false),
    ("batch", "v1", "jobs", "Job", true, &[], &["all"], true),
    ("batch", "v1", "cronjobs", "CronJob", true, &["cj"], &["all"], true),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"], &[], true),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, &[], &[], false),
    ("events.k8s.io", "v1", "events", "Event", true, &["ev"], &[], false),
    ("coordination.k8s.io", "v1", "leases", "Lease", true, &[], &[], false),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", true, &["ing"], &[], true),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, &["netpol"], &[], false),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"], &["all"], true),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true, &[], &[], false),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, &[], &[], false),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, &[], &[], false),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, &[], &[], false),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, &[], &[], false),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, &[], &[], false),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, &["crd", "crds"], &["api-extensions"], true),
];

/// All served resources, keyed by `(group, version, plural)`.
#[derive(Debug, Clone)]
pub struct Registry {
    resources: BTreeMap<(String, String, String), Resource>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut resources = BTreeMap::new();
        for &(group, version, plural, kind, namespaced, short, cats, status) in BUILTINS {
            let r = Resource {
                group: group.into(),
                version: version.into(),
                plural: plural.into(),
                singular: kind.to_lowercase(),
                kind: kind.into(),
                namespaced,
                short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                categories: cats.iter().map(|s| (*s).to_owned()).collect(),
                status,
                crd: None,
            };
            resources.insert((group.into(), version.into(), plural.into()), r);
        }
        Self { resources }
    }
}

impl Registry {
    /// The resource at `/apis/<group>/<version>/<plural>`.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// Any served version of `group/plural` (to find the storage of another version).
    pub fn by_plural(&self, group: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .values()
            .find(|r| r.group == group && r.plural == plural)
    }

    /// The resource serving `kind` in `apiVersion` (for ownerReferences and GC).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .values()
            .find(|r| r.kind == kind && r.api_version() == api_version)
    }

    /// Every resource, sorted by group, version, plural.
    pub fn all(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// Groups with their versions, core ("") first, in a stable order.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.resources.values() {
            let versions = out.entry(r.group.clone()).or_default();
            if !versions.contains(&r.version) {
                versions.push(r.version.clone());
            }
        }
        out
    }

    /// Adds or replaces a resource (CRD registration).
    pub fn insert(&mut self, r: Resource) {
        self.resources
            .insert((r.group.clone(), r.version.clone(), r.plural.clone()), r);
    }

    /// Removes every version of `group/plural` (CRD deletion).
    pub fn remove_crd(&mut self, group: &str, plural: &str) {
        self.resources
            .retain(|(g, _, p), r| !(g == group && p == plural && r.crd.is_some()));
    }
}
