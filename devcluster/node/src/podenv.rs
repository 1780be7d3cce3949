//! A container's environment as the kubelet builds it: `envFrom`, then `env` (literal values
//! with `$(VAR)` expansion, Secret/ConfigMap keys, the downward API), over the image
//! mapping's defaults. Pure: the Secrets and ConfigMaps are fetched beforehand into
//! [`Sources`].

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use std::collections::{BTreeMap, BTreeSet};

/// Data of the Secrets and ConfigMaps a pod refers to, by name (Secret data decoded).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Secret name → key → value.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// ConfigMap name → key → value.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why the environment cannot be built: the `CreateContainerConfigError` message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A referenced object does not exist.
    #[error("{kind} {name:?} not found (env {var})")]
    MissingObject {
        /// `secret` or `configmap`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The variable (or `envFrom`).
        var: String,
    },
    /// A referenced key does not exist.
    #[error("couldn't find key {key} in {kind} {name:?} (env {var})")]
    MissingKey {
        /// `secret` or `configmap`.
        kind: &'static str,
        /// Object name.
        name: String,
        /// The key.
        key: String,
        /// The variable.
        var: String,
    },
}

/// Names of the Secrets and ConfigMaps the pod's containers and volumes read.
pub fn referenced(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut secrets = BTreeSet::new();
    let mut config_maps = BTreeSet::new();
    let Some(spec) = &pod.spec else {
        return (secrets, config_maps);
    };
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        for from in c.env_from.iter().flatten() {
            if let Some(s) = &from.secret_ref {
                secrets.insert(s.name.clone());
            }
            if let Some(m) = &from.config_map_ref {
                config_maps.insert(m.name.clone());
            }
        }
        for var in c.env.iter().flatten() {
            let Some(source) = &var.value_from else {
                continue;
            };
            if let Some(s) = &source.secret_key_ref {
                secrets.insert(s.name.clone());
            }
            if let Some(m) = &source.config_map_key_ref {
                config_maps.insert(m.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            secrets.insert(s);
        }
        if let Some(m) = &v.config_map {
            config_maps.insert(m.name.clone());
        }
    }
    (secrets, config_maps)
}

/// The environment of `container` in `pod`, in definition order (later wins on a repeated name).
pub fn resolve(
    pod: &Pod,
    container: &Container,
    defaults: &BTreeMap<String, String>,
    sources: &Sources,
) -> Result<BTreeMap<String, String>, EnvError> {
    let mut env = defaults.clone();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (kind, name, optional, data) = if let Some(s) = &from.secret_ref {
            ("secret", &s.name, s.optional, sources.secrets.get(&s.name))
        } else if let Some(m) = &from.config_map_ref {
            (
                "configmap",
                &m.name,
                m.optional,
                sources.config_maps.get(&m.name),
            )
        } else {
            continue;
        };
        match data {
            Some(data) => {
                for (k, v) in data {
                    env.insert(format!("{prefix}{k}"), v.clone());
                }
            }
            None if optional == Some(true) => {}
            None => {
                return Err(EnvError::MissingObject {
                    kind,
                    name: name.clone(),
                    var: "envFrom".into(),
                });
            }
        }
    }
    for var in container.env.iter().flatten() {
        if let Some(value) = value_of(pod, var, &env, sources)? {
            env.insert(var.name.clone(), value);
        }
    }
    Ok(env)
}

fn value_of(
    pod: &Pod,
    var: &EnvVar,
    env: &BTreeMap<String, String>,
    sources: &Sources,
) -> Result<Option<String>, EnvError> {
    let Some(source) = &var.value_from else {
        return Ok(Some(expand_refs(var.value.as_deref().unwrap_or(""), env)));
    };
    let lookup = |kind: &'static str,
                  objects: &BTreeMap<String, BTreeMap<String, String>>,
                  name: &str,
                  key: &str,
                  optional: Option<bool>| {
        let missing_ok = optional == Some(true);
        match objects.get(name) {
            None if missing_ok => Ok(None),
            None => Err(EnvError::MissingObject {
                kind,
                name: name.to_owned(),
                var: var.name.clone(),
            }),
            Some(data) => match data.get(key) {
                Some(v) => Ok(Some(v.clone())),
                None if missing_ok => Ok(None),
                None => Err(EnvError::MissingKey {
                    kind,
                    name: name.to_owned(),
                    key: key.to_owned(),
                    var: var.name.clone(),
                }),
            },
        }
    };
    if let Some(s) = &source.secret_key_ref {
        return lookup("secret", &sources.secrets, &s.name, &s.key, s.optional);
    }
    if let Some(m) = &source.config_map_key_ref {
        return lookup(
            "configmap",
            &sources.config_maps,
            &m.name,
            &m.key,
            m.optional,
        );
    }
    if let Some(f) = &source.field_ref {
        return Ok(Some(field_value(pod, &f.field_path)));
    }
    // resourceFieldRef: no resource accounting here; an empty value is what a process sees
    // for "no limit".
    Ok(Some(String::new()))
}

/// The downward API value of `path` (`metadata.name`, `status.podIP`, `metadata.labels['k']`…).
pub fn field_value(pod: &Pod, path: &str) -> String {
    let meta = &pod.metadata;
    let status = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let keyed = |prefix: &str, map: Option<&BTreeMap<String, String>>| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("']"))
            .and_then(|key| map.and_then(|m| m.get(key)).cloned())
    };
    match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        _ => keyed("metadata.labels['", meta.labels.as_ref())
            .or_else(|| keyed("metadata.annotations['", meta.annotations.as_ref())),
    }
    .unwrap_or_default()
}

/// Kubernetes' `$(VAR)` expansion: defined names are replaced, undefined references stay as
/// written, `$$` is a literal `$`.
pub fn expand_refs(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after
            .strip_prefix('(')
            .and_then(|a| a.find(')').map(|end| (&a[..end], &a[end + 1..])))
        {
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A pod binds "all interfaces" of its own network namespace: here that is its pod IP, so a
/// value `0.0.0.0:<port>` (or `[::]:<port>`) becomes `<pod_ip>:<port>`.
pub fn bind_to_pod_ip(value: &str, pod_ip: &str) -> String {
    for wildcard in ["0.0.0.0:", "[::]:"] {
        if let Some(port) = value.strip_prefix(wildcard)
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{pod_ip}:{port}");
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        EnvFromSource, EnvVarSource, ObjectFieldSelector, PodStatus, SecretEnvSource,
        SecretKeySelector,
    };
    use kube::api::ObjectMeta;
    use pretty_assertions::assert_eq;

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web-1".into()),
                namespace: Some("shop".into()),
                labels: Some(BTreeMap::from([("app".into(), "web".into())])),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                pod_ip: Some("127.10.0.9".into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    fn lit(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }

    fn secret_var(name: &str, secret: &str, key: &str, optional: Option<bool>) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.into(),
                    key: key.into(),
                    optional,
                }),
                ..EnvVarSource::default()
            }),
        }
    }

    fn sources() -> Sources {
        Sources {
            secrets: BTreeMap::from([(
                "creds".into(),
                BTreeMap::from([("password".into(), "s3cret".into())]),
            )]),
            config_maps: BTreeMap::new(),
        }
    }

    #[test]
    fn literal_secret_field_and_expansion_in_order() {
        let c = Container {
            env: Some(vec![
                secret_var("PASS", "creds", "password", None),
                lit("URL", "redis://:$(PASS)@h:6379/$(NOPE)"),
                EnvVar {
                    name: "ME".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        field_ref: Some(ObjectFieldSelector {
                            field_path: "metadata.labels['app']".into(),
                            api_version: None,
                        }),
                        ..EnvVarSource::default()
                    }),
                },
                lit("IP", "$$(PASS)"),
            ]),
            ..Container::default()
        };
        let defaults = BTreeMap::from([("URL".to_owned(), "default".to_owned())]);
        let env = resolve(&pod(), &c, &defaults, &sources()).expect("env");
        assert_eq!(env["URL"], "redis://:s3cret@h:6379/$(NOPE)");
        assert_eq!(env["ME"], "web");
        assert_eq!(env["IP"], "$(PASS)");
    }

    #[test]
    fn env_from_prefixes_and_missing_refs_error_unless_optional() {
        let mut c = Container {
            env_from: Some(vec![EnvFromSource {
                prefix: Some("DB_".into()),
                secret_ref: Some(SecretEnvSource {
                    name: "creds".into(),
                    optional: None,
                }),
                config_map_ref: None,
            }]),
            env: Some(vec![secret_var("X", "gone", "k", Some(true))]),
            ..Container::default()
        };
        let env = resolve(&pod(), &c, &BTreeMap::new(), &sources()).expect("env");
        assert_eq!(env["DB_password"], "s3cret");
        assert!(!env.contains_key("X"));
        c.env = Some(vec![secret_var("X", "creds", "nokey", None)]);
        let err = resolve(&pod(), &c, &BTreeMap::new(), &sources()).expect_err("missing key");
        assert!(err.to_string().contains("nokey"), "{err}");
        assert!(!err.to_string().contains("s3cret"));
        c.env = Some(vec![secret_var("X", "gone", "k", None)]);
        assert!(matches!(
            resolve(&pod(), &c, &BTreeMap::new(), &sources()),
            Err(EnvError::MissingObject { .. })
        ));
    }

    #[test]
    fn wildcard_binds_become_the_pod_ip() {
        assert_eq!(
            bind_to_pod_ip("0.0.0.0:8080", "127.10.0.3"),
            "127.10.0.3:8080"
        );
        assert_eq!(bind_to_pod_ip("[::]:80", "127.10.0.3"), "127.10.0.3:80");
        assert_eq!(bind_to_pod_ip("0.0.0.0:x", "127.10.0.3"), "0.0.0.0:x");
        assert_eq!(
            bind_to_pod_ip("http://0.0.0.0:80", "1"),
            "http://0.0.0.0:80"
        );
    }
}
