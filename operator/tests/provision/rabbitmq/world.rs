//! One RabbitMQ test's world (an isolated vhost, the provisioner, a namespace for its
//! resources) and the AMQP and management helpers the tests share.

use crate::{must, secret, services, unique_namespace};
use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use machina_crds::{AnalyticsJob, ContentPipeline, Platform};
use machina_devenv::{BackingServices, Management, Vhost};
use machina_operator::provision::rabbitmq::{RabbitProvisioner, Topology};
use machina_operator::secrets::{SecretString, generate_password};
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// One test's world: an isolated vhost, the provisioner, and a namespace for its pipelines.
pub struct World {
    pub services: BackingServices,
    pub vhost: Vhost,
    pub rabbit: RabbitProvisioner,
    management: Management,
    pub namespace: String,
}

impl World {
    pub async fn new(prefix: &str) -> Self {
        let services = services();
        let vhost = must(services.isolated_vhost(prefix).await, "create a vhost");
        let rabbit = must(
            RabbitProvisioner::new(
                &services.rabbitmq_management_url,
                services.rabbitmq_username.clone(),
                secret(&services.rabbitmq_password),
            ),
            "management client",
        );
        let management = must(services.management(), "management client");
        Self {
            namespace: unique_namespace(prefix),
            services,
            vhost,
            rabbit,
            management,
        }
    }

    /// The sample pipeline named `name` in this world's namespace.
    pub fn pipeline(&self, name: &str) -> ContentPipeline {
        let mut pipeline: ContentPipeline = serde_yaml::from_str(include_str!(
            "../../../../config/samples/contentpipeline.yaml"
        ))
        .expect("sample pipeline");
        pipeline.metadata.name = Some(name.into());
        pipeline.metadata.namespace = Some(self.namespace.clone());
        pipeline
    }

    pub fn platform(&self) -> Platform {
        let mut platform: Platform =
            serde_yaml::from_str(include_str!("../../../../config/samples/platform.yaml"))
                .expect("sample platform");
        platform.metadata.namespace = Some(self.namespace.clone());
        platform
    }

    /// The topology of `pipeline`, in this world's vhost.
    pub fn topology(&self, pipeline: &ContentPipeline) -> Topology {
        let mut topology = Topology::for_pipeline(pipeline, &self.platform()).expect("topology");
        topology.vhost = self.vhost.name.clone();
        topology
    }

    /// The topology of the sample AnalyticsJob, in this world's vhost.
    pub fn analytics_topology(&self) -> Topology {
        let mut job: AnalyticsJob =
            serde_yaml::from_str(include_str!("../../../../config/samples/analyticsjob.yaml"))
                .expect("sample job");
        job.metadata.namespace = Some(self.namespace.clone());
        let mut topology = Topology::for_analytics_job(&job, &self.platform()).expect("topology");
        topology.vhost = self.vhost.name.clone();
        topology
    }

    pub async fn get(&self, path: &str) -> Option<Value> {
        must(self.management.get(path).await, "management GET")
    }

    pub fn vhost_path(&self) -> String {
        enc(&self.vhost.name)
    }

    pub async fn queue_names(&self) -> Vec<String> {
        let queues = self.get(&format!("queues/{}", self.vhost_path())).await;
        names(queues)
    }

    pub async fn exchange_names(&self) -> Vec<String> {
        let exchanges = self.get(&format!("exchanges/{}", self.vhost_path())).await;
        names(exchanges)
            .into_iter()
            .filter(|n| !n.is_empty() && !n.starts_with("amq."))
            .collect()
    }

    /// (exchange, routing key) of a queue's bindings, default exchange left out.
    pub async fn bindings(&self, queue: &str) -> Vec<(String, String)> {
        let path = format!("queues/{}/{}/bindings", self.vhost_path(), enc(queue));
        let mut out: Vec<(String, String)> = self
            .get(&path)
            .await
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|b| b["source"] != "")
            .map(|b| (str_of(&b["source"]), str_of(&b["routing_key"])))
            .collect();
        out.sort();
        out
    }

    /// Publishes through the management API; returns whether the message was routed.
    pub async fn routed(&self, exchange: &str, routing_key: &str) -> bool {
        let url = format!(
            "{}/api/exchanges/{}/{}/publish",
            self.services.rabbitmq_management_url,
            self.vhost_path(),
            enc(exchange)
        );
        let body = serde_json::json!({
            "properties": {}, "routing_key": routing_key,
            "payload": "probe", "payload_encoding": "string",
        });
        let reply: Value = must(
            must(
                reqwest::Client::new()
                    .post(url)
                    .basic_auth(
                        &self.services.rabbitmq_username,
                        Some(self.services.rabbitmq_password.expose()),
                    )
                    .json(&body)
                    .send()
                    .await,
                "publish via management",
            )
            .json()
            .await,
            "publish reply",
        );
        reply["routed"] == Value::Bool(true)
    }

    /// An AMQP connection to this vhost as `user`.
    pub async fn connect_as(
        &self,
        user: &str,
        password: &SecretString,
    ) -> lapin::Result<Connection> {
        let host = self.services.amqp_address().replacen("amqp://", "", 1);
        let url = format!(
            "amqp://{}:{}@{host}/{}",
            enc(user),
            password.expose(),
            self.vhost_path()
        );
        Connection::connect(&url, ConnectionProperties::default()).await
    }

    pub async fn cleanup(self) {
        must(self.vhost.delete().await, "delete the vhost");
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

pub fn names(list: Option<Value>) -> Vec<String> {
    let mut out: Vec<String> = list
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|q| str_of(&q["name"]))
        .collect();
    out.sort();
    out
}

pub fn password() -> SecretString {
    generate_password().expect("password")
}

/// Publishes with confirms; `Ok(true)` when the broker acked.
pub async fn publish(
    conn: &Connection,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
) -> lapin::Result<bool> {
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await?;
    let confirmation = tokio::time::timeout(TIMEOUT, confirm)
        .await
        .expect("no publisher confirm within 10 s")?;
    Ok(confirmation.is_ack())
}

/// Gets one message (acked) from `queue`.
pub async fn get_one(conn: &Connection, queue: &str) -> lapin::Result<Option<Vec<u8>>> {
    let channel = conn.create_channel().await?;
    let message = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await?;
    Ok(message.map(|m| m.delivery.data))
}

/// Polls `queue` until a message arrives (routing and dead-lettering are asynchronous).
pub async fn wait_for_message(conn: &Connection, queue: &str) -> Vec<u8> {
    for _ in 0..50 {
        if let Some(body) = get_one(conn, queue).await.expect("basic.get") {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no message in {queue} within 10 s");
}
