//! Multi-tenancy: whether a Platform admits a resource from a given namespace.
//!
//! A Template, ContentPipeline or AnalyticsJob may reference a Platform in its own namespace,
//! or in another one when that Platform's `tenancy.namespaceSelector` matches the labels of
//! the referencing namespace. The operator evaluates this; it is pure so it is tested here.

use crate::common::PlatformRef;
use crate::platform::Platform;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use std::collections::BTreeMap;

/// Why a Platform refuses a tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// The Platform has no selector, so it admits only its own namespace.
    #[error(
        "Platform {platform_namespace}/{platform} admits only its own namespace, not {namespace}"
    )]
    OwnNamespaceOnly {
        /// Platform name.
        platform: String,
        /// Platform namespace.
        platform_namespace: String,
        /// Namespace of the referencing resource.
        namespace: String,
    },
    /// The selector does not match the namespace's labels.
    #[error(
        "namespace {namespace} does not match the namespaceSelector of Platform {platform_namespace}/{platform}"
    )]
    NotSelected {
        /// Platform name.
        platform: String,
        /// Platform namespace.
        platform_namespace: String,
        /// Namespace of the referencing resource.
        namespace: String,
    },
    /// The selector uses an operator Kubernetes does not define.
    #[error("namespaceSelector of Platform {platform} has an invalid operator {operator:?}")]
    InvalidSelector {
        /// Platform name.
        platform: String,
        /// The offending operator.
        operator: String,
    },
}

/// The namespace a reference points to, given the namespace of the referencing resource.
pub fn platform_namespace<'a>(reference: &'a PlatformRef, own_namespace: &'a str) -> &'a str {
    reference.namespace.as_deref().unwrap_or(own_namespace)
}

/// Checks that `platform` admits a resource living in `namespace` with `namespace_labels`.
pub fn admits(
    platform: &Platform,
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> Result<(), TenancyError> {
    let platform_ns = platform.metadata.namespace.clone().unwrap_or_default();
    let name = platform.metadata.name.clone().unwrap_or_default();
    if platform_ns == namespace {
        return Ok(());
    }
    let Some(selector) = &platform.spec.tenancy.namespace_selector else {
        return Err(TenancyError::OwnNamespaceOnly {
            platform: name,
            platform_namespace: platform_ns,
            namespace: namespace.into(),
        });
    };
    if selector_matches(selector, namespace_labels).map_err(|operator| {
        TenancyError::InvalidSelector {
            platform: name.clone(),
            operator,
        }
    })? {
        Ok(())
    } else {
        Err(TenancyError::NotSelected {
            platform: name,
            platform_namespace: platform_ns,
            namespace: namespace.into(),
        })
    }
}

/// Kubernetes label-selector semantics; an empty selector matches everything.
/// Returns the offending operator when one is not In, NotIn, Exists or DoesNotExist.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let mut expressions_match = true;
    for req in selector.match_expressions.iter().flatten() {
        expressions_match &= requirement_matches(req, labels)?;
    }
    Ok(labels_match && expressions_match)
}

fn requirement_matches(
    req: &LabelSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let value = labels.get(&req.key);
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => Ok(value.is_some_and(|v| values.contains(v))),
        "NotIn" => Ok(!value.is_some_and(|v| values.contains(v))),
        "Exists" => Ok(value.is_some()),
        "DoesNotExist" => Ok(value.is_none()),
        other => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::PlatformSpec;

    fn mk_platform(namespace: &str, selector: Option<LabelSelector>) -> Platform {
        let spec: PlatformSpec = serde_json::from_value(serde_json::json!({
            "mongodb": {"adminSecretRef": {"name": "m", "key": "uri"}},
            "redis": {"urlSecretRef": {"name": "r", "key": "url"}},
            "rabbitmq": {"adminSecretName": "q"},
        }))
        .expect("a minimal spec");
        let mut platform = Platform::new("acme", spec);
        platform.metadata.namespace = Some(namespace.into());
        platform.spec.tenancy.namespace_selector = selector;
        platform
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn match_labels(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs)),
            match_expressions: None,
        }
    }

    #[test]
    fn own_namespace_is_always_admitted() {
        assert_eq!(
            admits(&mk_platform("platform", None), "platform", &labels(&[])),
            Ok(())
        );
    }

    #[test]
    fn other_namespace_needs_a_selector() {
        let err = admits(
            &mk_platform("platform", None),
            "team-a",
            &labels(&[("machina.dev/platform", "acme")]),
        );
        assert!(matches!(err, Err(TenancyError::OwnNamespaceOnly { .. })));
    }

    #[test]
    fn selector_admits_matching_namespaces_only() {
        let platform = mk_platform(
            "platform",
            Some(match_labels(&[("machina.dev/platform", "acme")])),
        );
        assert_eq!(
            admits(
                &platform,
                "team-a",
                &labels(&[("machina.dev/platform", "acme")])
            ),
            Ok(())
        );
        let err = admits(
            &platform,
            "team-b",
            &labels(&[("machina.dev/platform", "other")]),
        );
        assert!(matches!(err, Err(TenancyError::NotSelected { .. })));
    }

    #[test]
    fn match_expressions_follow_kubernetes_semantics() {
        let req = |key: &str, op: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        let selector = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![
                req("tier", "In", &["gold", "silver"]),
                req("frozen", "DoesNotExist", &[]),
            ]),
        };
        assert_eq!(
            selector_matches(&selector, &labels(&[("tier", "gold")])),
            Ok(true)
        );
        assert_eq!(
            selector_matches(&selector, &labels(&[("tier", "bronze")])),
            Ok(false)
        );
        assert_eq!(
            selector_matches(&selector, &labels(&[("tier", "gold"), ("frozen", "yes")])),
            Ok(false)
        );
        let bad = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![req("tier", "Like", &[])]),
        };
        assert_eq!(selector_matches(&bad, &labels(&[])), Err("Like".into()));
    }

    #[test]
    fn empty_selector_admits_every_namespace() {
        let platform = mk_platform("platform", Some(LabelSelector::default()));
        assert_eq!(admits(&platform, "anyone", &labels(&[])), Ok(()));
    }

    #[test]
    fn reference_defaults_to_own_namespace() {
        let local = PlatformRef {
            name: "acme".into(),
            namespace: None,
        };
        let remote = PlatformRef {
            name: "acme".into(),
            namespace: Some("platform".into()),
        };
        assert_eq!(platform_namespace(&local, "team-a"), "team-a");
        assert_eq!(platform_namespace(&remote, "team-a"), "platform");
    }
}
