//! The built-in defaulting the real apiserver applies to the kinds the operator
//! writes (a subset of `pkg/apis/*/v1/defaults.go`), and ClusterIP allocation.

use serde_json::{Value, json};

use crate::registry::Resource;
use crate::store::State;

fn set_default(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        m.entry(key.to_owned()).or_insert(value);
    }
}

fn container_defaults(c: &mut Value) {
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    let pull = if c["image"]
        .as_str()
        .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'))
    {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default(c, "imagePullPolicy", json!(pull));
    if let Some(ports) = c["ports"].as_array_mut() {
        for p in ports {
            set_default(p, "protocol", json!("TCP"));
        }
    }
}

fn pod_spec_defaults(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    for key in ["containers", "initContainers"] {
        if let Some(cs) = spec[key].as_array_mut() {
            cs.iter_mut().for_each(container_defaults);
        }
    }
}

/// NodePorts in use by any Service.
fn used_node_ports(st: &State) -> std::collections::HashSet<i64> {
    st.list("", "services", None)
        .flat_map(|(_, o)| o["spec"]["ports"].as_array().into_iter().flatten())
        .filter_map(|p| p["nodePort"].as_i64())
        .collect()
}

/// Next free ClusterIP in 10.96.0.0/16 (10.96.0.1 is the `kubernetes` Service's).
fn allocate_cluster_ip(st: &State) -> String {
    st.cluster_ips
        .free()
        .map_or_else(|| "None".into(), |ip| ip.to_string())
}

/// Applies defaults to a built-in object being created or updated.
pub fn apply(st: &State, res: &Resource, obj: &mut Value, old: Option<&Value>) {
    let creating = old.is_none();
    if res.crd.is_some() {
        return;
    }
    match (res.group.as_str(), res.plural.as_str()) {
        ("apps", "deployments") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            set_default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            pod_spec_defaults(&mut spec["template"]["spec"]);
        }
        ("apps", "statefulsets") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            set_default(spec, "revisionHistoryLimit", json!(10));
            pod_spec_defaults(&mut spec["template"]["spec"]);
        }
        ("apps", "replicasets") => {
            set_default(&mut obj["spec"], "replicas", json!(1));
            pod_spec_defaults(&mut obj["spec"]["template"]["spec"]);
        }
        ("batch", "jobs") => {
            let spec = &mut obj["spec"];
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completions", json!(1));
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "suspend", json!(false));
            pod_spec_defaults(&mut spec["template"]["spec"]);
            set_default(
                &mut spec["template"]["spec"],
                "restartPolicy",
                json!("Never"),
            );
        }
        ("batch", "cronjobs") => {
            let spec = &mut obj["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            pod_spec_defaults(&mut spec["jobTemplate"]["spec"]["template"]["spec"]);
        }
        ("", "pods") => pod_spec_defaults(&mut obj["spec"]),
        ("", "services") => {
            let spec = &mut obj["spec"];
            if !spec.is_object() {
                return;
            }
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            let wants_node_port =
                matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer"));
            // Only a Service that gets NodePorts reads the ones in use (a scan of every
            // Service, which each write of a ClusterIP Service would otherwise pay).
            let mut used = if wants_node_port {
                used_node_ports(st)
            } else {
                Default::default()
            };
            if let Some(ports) = spec["ports"].as_array_mut() {
                for (i, p) in ports.iter_mut().enumerate() {
                    set_default(p, "protocol", json!("TCP"));
                    let port = p["port"].clone();
                    set_default(p, "targetPort", port);
                    if wants_node_port && p.get("nodePort").is_none() {
                        let kept = old.and_then(|o| o["spec"]["ports"][i]["nodePort"].as_i64());
                        let np = kept.or_else(|| (30000..=32767).find(|n| !used.contains(n)));
                        if let Some(np) = np {
                            used.insert(np);
                            p["nodePort"] = json!(np);
                        }
                    }
                }
            }
            if let Some(ip) = old
                .map(|o| &o["spec"]["clusterIP"])
                .filter(|ip| ip.is_string())
                && spec.get("clusterIP").is_none()
            {
                spec["clusterIP"] = ip.clone();
                spec["clusterIPs"] = json!([ip]);
            }
            if creating
                && spec["type"] != "ExternalName"
                && spec
                    .get("clusterIP")
                    .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
            {
                let ip = allocate_cluster_ip(st);
                spec["clusterIP"] = json!(ip);
                spec["clusterIPs"] = json!([ip]);
            }
            set_default(spec, "ipFamilies", json!(["IPv4"]));
            set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        ("", "secrets") => {
            set_default(obj, "type", json!("Opaque"));
            // stringData is write-only: merged into data (base64) and never stored.
            if let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
                && let Some(sd) = sd.as_object()
            {
                use base64::Engine;
                for (k, v) in sd {
                    let enc = base64::engine::general_purpose::STANDARD
                        .encode(v.as_str().unwrap_or_default());
                    obj["data"][k] = json!(enc);
                }
            }
        }
        _ => {}
    }
}
