//! What every end-to-end test needs besides the cluster: the Platform's backend Secrets from
//! the running backing services, lookups of external state, and log tails for failures.

use machina_devenv::BackingServices;
use serde_json::{Value, json};

/// The three backend Secrets a Platform named `platform` references (MongoDB admin URI,
/// Redis URL, RabbitMQ administrator), as JSON manifests for `kubectl apply`.
pub fn backend_secrets(backing: &BackingServices, platform: &str) -> Vec<String> {
    let secret = |name: String, data: Value| {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name}, "type": "Opaque", "stringData": data,
        })
    };
    let items = [
        secret(
            format!("{platform}-mongodb-admin"),
            json!({"uri": backing.mongodb_uri.expose()}),
        ),
        secret(
            format!("{platform}-redis"),
            json!({"url": backing.redis_url.expose()}),
        ),
        secret(
            format!("{platform}-rabbitmq-admin"),
            json!({
                "username": backing.rabbitmq_username,
                "password": backing.rabbitmq_password.expose(),
                "amqpUrl": backing.amqp_url.expose(),
                "managementUrl": backing.rabbitmq_management_url,
            }),
        ),
    ];
    items.iter().map(Value::to_string).collect()
}

/// Whether MongoDB user `user` exists in `database`.
pub async fn mongo_user_exists(backing: &BackingServices, database: &str, user: &str) -> bool {
    let client = backing.mongodb().await.expect("MongoDB (run devenv/up.sh)");
    let info = client
        .database(database)
        .run_command(mongodb::bson::doc! {"usersInfo": user})
        .await
        .expect("usersInfo");
    info.get_array("users")
        .map(|u| !u.is_empty())
        .unwrap_or(false)
}

/// The last 40 lines of `text`.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The last lines of the file at `path` (empty when unreadable).
pub fn tail_of(path: &std::path::Path) -> String {
    tail(&std::fs::read_to_string(path).unwrap_or_default())
}

/// `segment` percent-encoded for a URL path (RabbitMQ management paths hold vhost names).
pub fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `status` of the machina.dev object `kind`/`plural` named `name`, once it reflects the
/// object's current generation (`observedGeneration`); `None` before.
pub async fn current_status(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    plural: &str,
    name: &str,
) -> Option<Value> {
    let resource = kube::api::ApiResource {
        group: "machina.dev".into(),
        version: "v1alpha1".into(),
        api_version: "machina.dev/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), namespace, &resource);
    let object = api.get_opt(name).await.ok()??;
    let generation = object.metadata.generation?;
    let status = object.data.get("status")?.clone();
    (status["observedGeneration"].as_i64() == Some(generation)).then_some(status)
}
