//! Table columns of the built-in kinds, as `kubectl get` shows them from a real
//! server (a subset: the kinds devcluster users look at most).

use serde_json::{Value, json};

use crate::registry::Resource;
use crate::table::human_age;

fn col(name: &str, ty: &str) -> Value {
    json!({"name": name, "type": ty, "format": "", "description": name, "priority": 0, "jsonPath": format!("={name}")})
}

/// The computed columns (after Name) for a built-in kind, if it has any.
pub fn columns(res: &Resource) -> Option<Vec<Value>> {
    let names: &[&str] = match (res.group.as_str(), res.plural.as_str()) {
        ("", "pods") => &["Ready", "Status", "Restarts", "Age"],
        ("", "services") => &["Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
        ("", "namespaces") => &["Status", "Age"],
        ("", "secrets") => &["Type", "Data", "Age"],
        ("", "configmaps") => &["Data", "Age"],
        ("", "events") => &["Last Seen", "Type", "Reason", "Object", "Message"],
        ("apps", "deployments") => &["Ready", "Up-to-date", "Available", "Age"],
        ("apps", "statefulsets") => &["Ready", "Age"],
        ("apps", "replicasets") => &["Desired", "Current", "Ready", "Age"],
        ("batch", "jobs") => &["Status", "Completions", "Age"],
        ("batch", "cronjobs") => &["Schedule", "Suspend", "Active", "Last Schedule", "Age"],
        ("coordination.k8s.io", "leases") => &["Holder", "Age"],
        _ => return None,
    };
    Some(
        names
            .iter()
            .map(|n| col(n, if *n == "Age" { "date" } else { "string" }))
            .collect(),
    )
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn len(v: &Value) -> usize {
    v.as_array()
        .map_or_else(|| v.as_object().map_or(0, |m| m.len()), Vec::len)
}

fn pod_status(o: &Value) -> String {
    if !o["metadata"]["deletionTimestamp"].is_null() {
        return "Terminating".into();
    }
    let waiting = o["status"]["containerStatuses"].as_array().and_then(|cs| {
        cs.iter().find_map(|c| {
            c["state"]["waiting"]["reason"]
                .as_str()
                .or(c["state"]["terminated"]["reason"].as_str())
        })
    });
    waiting
        .or(o["status"]["reason"].as_str())
        .or(o["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_owned()
}

fn ports(o: &Value) -> String {
    let ps: Vec<String> = o["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) => format!("{}:{np}/{proto}", int(&p["port"])),
                None => format!("{}/{proto}", int(&p["port"])),
            }
        })
        .collect();
    if ps.is_empty() {
        "<none>".into()
    } else {
        ps.join(",")
    }
}

fn external_ip(o: &Value) -> String {
    let ingress: Vec<&str> = o["status"]["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
        .collect();
    match (o["spec"]["type"].as_str(), ingress.is_empty()) {
        (_, false) => ingress.join(","),
        (Some("LoadBalancer"), true) => "<pending>".into(),
        _ => "<none>".into(),
    }
}

fn job_status(o: &Value) -> &'static str {
    let conds = o["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is = |t: &str| {
        conds
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if is("Complete") {
        "Complete"
    } else if is("Failed") {
        "Failed"
    } else if o["spec"]["suspend"] == true {
        "Suspended"
    } else {
        "Running"
    }
}

fn age(v: &Value) -> String {
    v.as_str().map_or_else(|| "<none>".into(), human_age)
}

/// One computed cell.
pub fn cell(name: &str, o: &Value) -> Value {
    let s = &o["status"];
    let text = match name {
        "Age" => age(&o["metadata"]["creationTimestamp"]),
        "Ready" if o["kind"] == "Pod" => {
            let ready = s["containerStatuses"]
                .as_array()
                .map_or(0, |cs| cs.iter().filter(|c| c["ready"] == true).count());
            format!("{ready}/{}", len(&o["spec"]["containers"]))
        }
        "Ready" => format!(
            "{}/{}",
            int(&s["readyReplicas"]),
            o["spec"]["replicas"].as_i64().unwrap_or(1)
        ),
        "Status" if o["kind"] == "Pod" => pod_status(o),
        "Status" if o["kind"] == "Job" => job_status(o).into(),
        "Status" => s["phase"].as_str().unwrap_or("Active").into(),
        "Restarts" => s["containerStatuses"]
            .as_array()
            .map_or(0, |cs| {
                cs.iter().map(|c| int(&c["restartCount"])).sum::<i64>()
            })
            .to_string(),
        "Type" if o["kind"] == "Event" => o["type"].as_str().unwrap_or_default().into(),
        "Type" => o["spec"]["type"]
            .as_str()
            .or(o["type"].as_str())
            .unwrap_or_default()
            .into(),
        "Cluster-IP" => o["spec"]["clusterIP"].as_str().unwrap_or("<none>").into(),
        "External-IP" => external_ip(o),
        "Port(s)" => ports(o),
        "Data" => (len(&o["data"]) + len(&o["binaryData"])).to_string(),
        "Up-to-date" => int(&s["updatedReplicas"]).to_string(),
        "Available" => int(&s["availableReplicas"]).to_string(),
        "Desired" => o["spec"]["replicas"].as_i64().unwrap_or(1).to_string(),
        "Current" => int(&s["replicas"]).to_string(),
        "Completions" => format!(
            "{}/{}",
            int(&s["succeeded"]),
            o["spec"]["completions"].as_i64().unwrap_or(1)
        ),
        "Schedule" => o["spec"]["schedule"].as_str().unwrap_or_default().into(),
        "Suspend" => o["spec"]["suspend"].as_bool().unwrap_or(false).to_string(),
        "Active" => len(&s["active"]).to_string(),
        "Last Schedule" => age(&s["lastScheduleTime"]),
        "Holder" => o["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or_default()
            .into(),
        "Last Seen" => age(if o["lastTimestamp"].is_string() {
            &o["lastTimestamp"]
        } else if o["eventTime"].is_string() {
            &o["eventTime"]
        } else {
            &o["metadata"]["creationTimestamp"]
        }),
        "Reason" => o["reason"].as_str().unwrap_or_default().into(),
        "Object" => {
            let r = if o["regarding"].is_object() {
                &o["regarding"]
            } else {
                &o["involvedObject"]
            };
            format!(
                "{}/{}",
                r["kind"].as_str().unwrap_or_default().to_lowercase(),
                r["name"].as_str().unwrap_or_default()
            )
        }
        "Message" => o["message"]
            .as_str()
            .or(o["note"].as_str())
            .unwrap_or_default()
            .into(),
        _ => String::new(),
    };
    json!(text)
}
