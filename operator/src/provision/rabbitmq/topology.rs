//! What a ContentPipeline or an AnalyticsJob needs on RabbitMQ, computed without I/O.
//!
//! A pipeline `<ns>/<name>` owns, in its Platform's vhost:
//! - the quorum queue `machina.cp.<ns>.<name>` (delivery limit `messaging.maxDeliveries`,
//!   optional TTL), dead-lettering to its own direct exchange `<queue>.dlx`, which routes to
//!   the dead-letter queue `<queue>.dlq`;
//! - bindings of the queue: the jobs exchange with the pipeline's own routing key
//!   `generate.<ns>.<name>`, plus every routing key of `messaging.bindings` (exchange
//!   defaulting to the jobs exchange);
//! - the user `machina.cp.<ns>.<name>`, which may configure and read only its own
//!   resources and write to them and to the jobs and events exchanges.
//!
//! An AnalyticsJob owns the same shape under `machina.aj.<ns>.<name>`, bound to the events
//! exchange with its `source.eventTypes`; its user only touches its own resources.
//! The shared exchanges are declared (topic, durable) but never deleted by a pipeline or job.

use crate::labels;
use machina_crds::{AnalyticsJob, ContentPipeline, Platform};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Deliveries of an event before an AnalyticsJob's queue dead-letters it.
pub const ANALYTICS_MAX_DELIVERIES: u32 = 5;

/// Why a topology cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The resource or its Platform lacks a name or namespace.
    #[error(transparent)]
    Metadata(#[from] crate::Error),
    /// A name used in queue names and permission regexes is not a DNS-1123 label (a dot
    /// would let `a` claim the resources of `a.b`).
    #[error("{kind} {field} {value:?} must be a DNS-1123 label (lowercase letters, digits, '-')")]
    NotADnsLabel {
        /// Kind of the resource.
        kind: &'static str,
        /// `name` or `namespace`.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// Exchange types the provisioner declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExchangeKind {
    /// Routing-key patterns with `*` and `#`.
    Topic,
    /// Exact routing keys.
    Direct,
}

impl ExchangeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Topic => "topic",
            Self::Direct => "direct",
        }
    }
}

/// A durable exchange.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeSpec {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: ExchangeKind,
    /// Whether the topology owns it (deleted by `remove`) or shares it (never deleted).
    pub owned: bool,
}

impl ExchangeSpec {
    /// A shared durable topic exchange.
    pub fn shared_topic(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: ExchangeKind::Topic,
            owned: false,
        }
    }

    /// The body of the management API's PUT.
    pub fn to_json(&self) -> Value {
        json!({
            "type": self.kind.as_str(),
            "durable": true,
            "auto_delete": false,
            "internal": false,
            "arguments": {},
        })
    }
}

/// A durable quorum queue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueSpec {
    /// Name.
    pub name: String,
    /// Deliveries after which a message is dead-lettered (`x-delivery-limit`).
    pub delivery_limit: Option<u32>,
    /// Exchange and routing key of dead-lettered and expired messages.
    pub dead_letter: Option<(String, String)>,
    /// Milliseconds a message may wait before it expires (`x-message-ttl`).
    pub message_ttl_ms: Option<u64>,
}

impl QueueSpec {
    /// A quorum queue without limits (a dead-letter queue).
    pub fn plain(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            delivery_limit: None,
            dead_letter: None,
            message_ttl_ms: None,
        }
    }

    /// The queue's arguments, as declared.
    pub fn arguments(&self) -> serde_json::Map<String, Value> {
        let mut args = serde_json::Map::new();
        args.insert("x-queue-type".into(), json!("quorum"));
        if let Some(limit) = self.delivery_limit {
            args.insert("x-delivery-limit".into(), json!(limit));
        }
        if let Some((exchange, routing_key)) = &self.dead_letter {
            args.insert("x-dead-letter-exchange".into(), json!(exchange));
            args.insert("x-dead-letter-routing-key".into(), json!(routing_key));
        }
        if let Some(ttl) = self.message_ttl_ms {
            args.insert("x-message-ttl".into(), json!(ttl));
        }
        args
    }

    /// The body of the management API's PUT.
    pub fn to_json(&self) -> Value {
        json!({ "durable": true, "auto_delete": false, "arguments": self.arguments() })
    }
}

/// A binding of a queue to an exchange with one routing key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindingSpec {
    /// Source exchange.
    pub exchange: String,
    /// Destination queue.
    pub queue: String,
    /// Routing key (a pattern for topic exchanges).
    pub routing_key: String,
}

impl BindingSpec {
    fn new(exchange: &str, queue: &str, routing_key: &str) -> Self {
        Self {
            exchange: exchange.into(),
            queue: queue.into(),
            routing_key: routing_key.into(),
        }
    }
}

/// A user's permission regexes on a vhost (anchored; matched against resource names).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Permissions {
    /// Resources the user may declare and delete.
    pub configure: String,
    /// Resources the user may publish to (exchanges) or bind (queues).
    pub write: String,
    /// Resources the user may consume from (queues) or bind from (exchanges).
    pub read: String,
}

impl Permissions {
    /// Everything (the admin user on a vhost it manages).
    pub fn all() -> Self {
        Self {
            configure: ".*".into(),
            write: ".*".into(),
            read: ".*".into(),
        }
    }

    /// The body of the management API's PUT.
    pub fn to_json(&self) -> Value {
        json!({ "configure": self.configure, "write": self.write, "read": self.read })
    }
}

/// Resources a topology no longer wants (the queue of a pipeline whose `asyncJobs` was
/// turned off): `apply` unbinds the queues, deletes them when empty, and deletes the
/// exchanges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retired {
    /// Queues to unbind and delete when empty.
    pub queues: Vec<String>,
    /// Owned exchanges to delete.
    pub exchanges: Vec<String>,
}

/// Everything one ContentPipeline or AnalyticsJob needs on RabbitMQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The Platform's vhost.
    pub vhost: String,
    /// The workload's user (its password is provisioned separately).
    pub user: String,
    /// The user's permissions on `vhost`.
    pub permissions: Permissions,
    /// Exchanges to declare, shared or owned.
    pub exchanges: Vec<ExchangeSpec>,
    /// Queues to declare, dead-letter queues first.
    pub queues: Vec<QueueSpec>,
    /// Every binding of `queues`; others are removed.
    pub bindings: Vec<BindingSpec>,
    /// What an earlier spec had and this one does not.
    pub retired: Retired,
}

/// Base of every name a pipeline owns: `machina.cp.<ns>.<name>`.
pub fn pipeline_base(pipeline: &ContentPipeline) -> Result<String, TopologyError> {
    base("machina.cp", "ContentPipeline", pipeline)
}

/// Base of every name an AnalyticsJob owns: `machina.aj.<ns>.<name>`.
pub fn analytics_base(job: &AnalyticsJob) -> Result<String, TopologyError> {
    base("machina.aj", "AnalyticsJob", job)
}

impl Topology {
    /// The topology of `pipeline` on `platform`.
    pub fn for_pipeline(
        pipeline: &ContentPipeline,
        platform: &Platform,
    ) -> Result<Self, TopologyError> {
        let base = pipeline_base(pipeline)?;
        let rabbit = &platform.spec.rabbitmq;
        let messaging = &pipeline.spec.messaging;
        let (ns, name) = (labels::namespace(pipeline)?, labels::name(pipeline)?);
        let own = owned_pattern(&base);
        let mut write = vec![own.clone(), escape(&rabbit.jobs_exchange)];
        if rabbit.events_exchange != rabbit.jobs_exchange {
            write.push(escape(&rabbit.events_exchange));
        }
        let mut topology = Self {
            vhost: vhost(platform)?,
            user: base.clone(),
            permissions: Permissions {
                configure: format!("^{own}$"),
                write: format!("^({})$", write.join("|")),
                read: format!("^{own}$"),
            },
            exchanges: Vec::new(),
            queues: Vec::new(),
            bindings: Vec::new(),
            retired: Retired::default(),
        };
        let mut shared =
            BTreeSet::from([rabbit.jobs_exchange.clone(), rabbit.events_exchange.clone()]);
        let names = QueueNames::new(&base);
        if messaging.async_jobs {
            let mut bindings = BTreeSet::from([BindingSpec::new(
                &rabbit.jobs_exchange,
                &base,
                &format!("generate.{ns}.{name}"),
            )]);
            for binding in &messaging.bindings {
                let exchange = binding.exchange.as_ref().unwrap_or(&rabbit.jobs_exchange);
                shared.insert(exchange.clone());
                for key in &binding.routing_keys {
                    bindings.insert(BindingSpec::new(exchange, &base, key));
                }
            }
            let ttl = messaging
                .message_ttl_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map(|s| s * 1_000);
            let limit = u32::try_from(messaging.max_deliveries).ok();
            topology.add_dead_lettered_queue(&names, limit, ttl, bindings);
        } else {
            topology.retired = Retired {
                queues: vec![names.queue.clone(), names.dlq.clone()],
                exchanges: vec![names.dlx.clone()],
            };
        }
        topology.add_shared_exchanges(shared);
        Ok(topology)
    }

    /// The topology of `job` on `platform`: a queue bound to the events exchange with
    /// the job's event types. Both modes get it (a Scheduled job drains what accumulated).
    pub fn for_analytics_job(
        job: &AnalyticsJob,
        platform: &Platform,
    ) -> Result<Self, TopologyError> {
        let base = analytics_base(job)?;
        let events = &platform.spec.rabbitmq.events_exchange;
        let own = format!("^{}$", owned_pattern(&base));
        let mut topology = Self {
            vhost: vhost(platform)?,
            user: base.clone(),
            permissions: Permissions {
                configure: own.clone(),
                write: own.clone(),
                read: own,
            },
            exchanges: Vec::new(),
            queues: Vec::new(),
            bindings: Vec::new(),
            retired: Retired::default(),
        };
        let bindings = job
            .spec
            .source
            .event_types
            .iter()
            .map(|key| BindingSpec::new(events, &base, key))
            .collect();
        let names = QueueNames::new(&base);
        topology.add_dead_lettered_queue(&names, Some(ANALYTICS_MAX_DELIVERIES), None, bindings);
        topology.add_shared_exchanges(BTreeSet::from([events.clone()]));
        Ok(topology)
    }

    /// The names of every queue the topology declares.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.iter().map(|q| q.name.as_str())
    }

    fn add_dead_lettered_queue(
        &mut self,
        names: &QueueNames,
        delivery_limit: Option<u32>,
        message_ttl_ms: Option<u64>,
        mut bindings: BTreeSet<BindingSpec>,
    ) {
        self.exchanges.push(ExchangeSpec {
            name: names.dlx.clone(),
            kind: ExchangeKind::Direct,
            owned: true,
        });
        self.queues.push(QueueSpec::plain(&names.dlq));
        self.queues.push(QueueSpec {
            name: names.queue.clone(),
            delivery_limit,
            dead_letter: Some((names.dlx.clone(), names.queue.clone())),
            message_ttl_ms,
        });
        bindings.insert(BindingSpec::new(&names.dlx, &names.dlq, &names.queue));
        self.bindings = bindings.into_iter().collect();
    }

    fn add_shared_exchanges(&mut self, shared: BTreeSet<String>) {
        let owned = std::mem::take(&mut self.exchanges);
        self.exchanges = shared
            .into_iter()
            .map(ExchangeSpec::shared_topic)
            .chain(owned)
            .collect();
    }
}

/// The queue, dead-letter queue and dead-letter exchange of a base name.
struct QueueNames {
    queue: String,
    dlq: String,
    dlx: String,
}

impl QueueNames {
    fn new(base: &str) -> Self {
        Self {
            queue: base.to_owned(),
            dlq: format!("{base}.dlq"),
            dlx: format!("{base}.dlx"),
        }
    }
}

/// The Platform's vhost: `spec.rabbitmq.vhost`, else `<namespace>.<name>`.
fn vhost(platform: &Platform) -> Result<String, TopologyError> {
    Ok(match &platform.spec.rabbitmq.vhost {
        Some(vhost) => vhost.clone(),
        None => format!(
            "{}.{}",
            labels::namespace(platform)?,
            labels::name(platform)?
        ),
    })
}

fn base<K>(prefix: &str, kind: &'static str, resource: &K) -> Result<String, TopologyError>
where
    K: kube::Resource<DynamicType = ()>,
{
    let ns = labels::namespace(resource)?;
    let name = labels::name(resource)?;
    for (field, value) in [("namespace", &ns), ("name", &name)] {
        let label = !value.is_empty()
            && value.len() <= crate::names::MAX_LABEL
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !label {
            return Err(TopologyError::NotADnsLabel {
                kind,
                field,
                value: value.clone(),
            });
        }
    }
    Ok(format!("{prefix}.{ns}.{name}"))
}

/// Regex (unanchored) of the names owned by `base`: itself and `<base>.<anything>`.
fn owned_pattern(base: &str) -> String {
    format!(r"{}(\..*)?", escape(base))
}

/// Escapes the regex metacharacters of a resource name.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if r"\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "topology_tests.rs"]
mod tests;
