//! The generative worker service: one pipeline behind an HTTP API and a job queue.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the worker's environment.
//! - [`Service`] (here): the pipeline in force ([`Pipeline`]: definition, executors,
//!   templates), the backends, reloading the definition and refreshing templates, and the
//!   analytics event of every run.
//! - [`api`]: the HTTP routes (`/v1/generate`, `/v1/jobs`, `/v1/pipeline`, `/openapi.json`);
//!   [`model`] their bodies; [`openapi`] the OpenAPI document derived from both.
//! - [`jobs`]: job documents and the queue consumer.
//! - [`metrics`]: the worker's Prometheus counters (runs, job deliveries).
//! - [`error`]: [`ServiceError`], the one mapping of failures to problem+json.

pub mod api;
pub mod config;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod openapi;

pub use config::Config;
pub use error::ServiceError;

use crate::adapters::{AmqpPublisher, JobQueue, MongoStore, RedisCache};
use crate::backends::{Cache, DocumentStore, Publisher};
use crate::components::{Backends, ComponentError, ValidateComponent};
use crate::definition::Definition;
use crate::events::GenerationEvent;
use crate::executor::{Checkpoints, Executor};
use crate::llm::{Endpoint, LlmClient, LlmConfig};
use crate::templates::TemplateCatalog;
use machina_crds::content_pipeline::ComponentType;
use machina_kit::{Amqp, ApiError, App, CommonConfig, Metrics, Mongo, Redis, check_fn};
use metrics::WorkerMetrics;
use serde_json::Value;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::task::JoinHandle;

impl Wiring {
    /// Builds the executors of `definition`; reuses `templates` when the bindings did not
    /// change, else loads a new catalog.
    async fn build_pipeline(
        &self,
        definition: Arc<Definition>,
        templates: Option<Arc<TemplateCatalog>>,
    ) -> crate::Result<Pipeline> {
        let bindings = definition.spec.templates.clone();
        let templates = match templates {
            Some(t) if t.bindings() == bindings.as_slice() => t,
            _ => {
                let base = self.config.templates_url.clone().unwrap_or_default();
                let catalog = Arc::new(TemplateCatalog::new(base, bindings));
                if self.config.templates_url.is_some() {
                    catalog.refresh().await;
                }
                catalog
            }
        };
        let backends = Backends {
            documents: self
                .store
                .clone()
                .map(|s| Arc::new(s) as Arc<dyn DocumentStore>),
            cache: self.cache.clone().map(|c| c as Arc<dyn Cache>),
            publisher: self.publisher.clone().map(|p| p as Arc<dyn Publisher>),
            renderer: Some(templates.clone()),
            llm: self.llm_client(&definition),
        };
        let sync = Executor::new(definition.clone(), &backends)?.with_pipeline_name(&self.name);
        let mut jobs = Executor::new(definition.clone(), &backends)?.with_pipeline_name(&self.name);
        if let Some(store) = &self.store {
            jobs = jobs.with_checkpoints(Arc::new(store.clone()) as Arc<dyn Checkpoints>);
        }
        let validators = definition
            .spec
            .components
            .iter()
            .filter(|c| c.type_ == ComponentType::ValidateContext && c.inputs.is_empty())
            .filter_map(|c| c.validate_context.as_ref())
            .map(ValidateComponent::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| crate::Error::Build {
                component: "validateContext".to_owned(),
                source: Box::new(source),
            })?;
        Ok(Pipeline {
            definition,
            sync,
            jobs,
            templates,
            validators,
        })
    }

    fn llm_client(&self, definition: &Definition) -> Option<Arc<LlmClient>> {
        let provider = definition.spec.llm.as_ref()?;
        let mut config = LlmConfig::from_provider(provider, self.config.llm_api_key.clone());
        if let Some(base_url) = &self.config.llm_fallback_base_url {
            let model = self
                .config
                .llm_fallback_model
                .clone()
                .unwrap_or_else(|| provider.model.clone());
            let mut fallback = Endpoint::new(base_url.clone(), model);
            fallback.api_key = self.config.llm_api_key.clone();
            config = config.with_fallback(fallback);
        }
        Some(Arc::new(LlmClient::new(config)))
    }
}

/// Connections to the backing services that are configured.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    /// MongoDB (documents, checkpoints, jobs).
    pub mongo: Option<Mongo>,
    /// Redis (Cache components).
    pub redis: Option<Redis>,
    /// RabbitMQ (events, Publish components, jobs).
    pub amqp: Option<Amqp>,
    /// The registry `/metrics` serves (shared with the connection helpers).
    pub metrics: Metrics,
}

/// One definition, ready to run.
#[derive(Debug)]
pub struct Pipeline {
    /// The definition.
    pub definition: Arc<Definition>,
    /// Runs of the synchronous API (no checkpoints: a failed request is retried whole).
    pub sync: Executor,
    /// Runs of jobs, checkpointed so a redelivered job resumes.
    pub jobs: Executor,
    /// The pipeline's templates.
    pub templates: Arc<TemplateCatalog>,
    /// The ValidateContext components that read the request, to reject an invalid job
    /// before accepting it.
    validators: Vec<ValidateComponent>,
}

impl Pipeline {
    /// Checks `context` against the schemas of the ValidateContext components that read
    /// the request (what a run would reject first).
    pub fn validate(&self, context: &Value) -> Result<(), ServiceError> {
        for validator in &self.validators {
            match validator.check(context.clone()) {
                Ok(_) => {}
                Err(ComponentError::InvalidContext { violations }) => {
                    return Err(ServiceError::InvalidContext { violations });
                }
                Err(other) => {
                    return Err(ApiError::Internal(anyhow::anyhow!(other.to_string())).into());
                }
            }
        }
        Ok(())
    }
}

/// The worker: shared by the HTTP handlers and the job consumer.
#[derive(Debug)]
pub struct Service {
    wiring: Wiring,
    connections: Connections,
    queue: JobQueue,
    metrics: WorkerMetrics,
    /// Whether this process declared the job queue (before its first publish).
    queue_declared: std::sync::atomic::AtomicBool,
    pipeline: RwLock<Arc<Pipeline>>,
}

/// What pipelines are built with.
#[derive(Debug)]
struct Wiring {
    config: Config,
    name: String,
    store: Option<MongoStore>,
    cache: Option<Arc<RedisCache>>,
    publisher: Option<Arc<AmqpPublisher>>,
}

impl Service {
    /// Loads the definition, connects the backends and compiles the templates (a template
    /// service that is down leaves them unloaded and `/readyz` red; they load on the next
    /// refresh).
    pub async fn build(config: Config, connections: Connections) -> crate::Result<Arc<Self>> {
        let definition = Arc::new(Definition::load(&config.definition_path)?);
        let name = config
            .pipeline_name
            .clone()
            .or_else(|| definition.name.clone())
            .unwrap_or_else(|| "pipeline".to_owned());
        let store = connections.mongo.as_ref().map(|mongo| {
            let database = config
                .mongodb_database
                .clone()
                .or_else(|| mongo.default_database().map(|d| d.name().to_owned()))
                .unwrap_or_else(|| "machina_generative".to_owned());
            MongoStore::new(mongo.client().clone(), &database)
        });
        if let Some(store) = &store
            && let Err(err) = store.ensure_indexes().await
        {
            tracing::warn!(error = %err, "indexes not created; retried at the next start");
        }
        let cache = connections
            .redis
            .clone()
            .map(|redis| Arc::new(RedisCache::new(redis, config.cache_prefix.clone())));
        let publisher = connections.amqp.clone().map(|amqp| {
            Arc::new(
                AmqpPublisher::new(amqp, config.events_exchange.clone())
                    .provisioned(config.jobs_queue_provisioned),
            )
        });
        let queue = JobQueue {
            name: config.jobs_queue_for(&name),
            max_deliveries: config.max_deliveries,
            provisioned: config.jobs_queue_provisioned,
        };
        let wiring = Wiring {
            config,
            name,
            store,
            cache,
            publisher,
        };
        let pipeline = wiring.build_pipeline(definition, None).await?;
        let metrics = WorkerMetrics::register(&connections.metrics);
        Ok(Arc::new(Self {
            wiring,
            connections,
            queue,
            metrics,
            queue_declared: std::sync::atomic::AtomicBool::new(false),
            pipeline: RwLock::new(Arc::new(pipeline)),
        }))
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.wiring.name
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.wiring.config
    }

    /// The pipeline in force.
    pub fn pipeline(&self) -> Arc<Pipeline> {
        self.pipeline
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The MongoDB store, when configured.
    pub fn store(&self) -> Option<&MongoStore> {
        self.wiring.store.as_ref()
    }

    /// The publisher, when RabbitMQ is configured.
    pub fn publisher(&self) -> Option<&Arc<AmqpPublisher>> {
        self.wiring.publisher.as_ref()
    }

    /// The job queue.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// The worker's counters.
    pub fn metrics(&self) -> &WorkerMetrics {
        &self.metrics
    }

    /// The connections.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Routing key of this pipeline's generation events.
    pub fn event_routing_key(&self) -> String {
        format!("content.generated.{}", self.name())
    }

    /// Counts a run of `api` (`sync` or `job`) and sends its analytics event; a failure
    /// is logged, never returned (the content was generated either way).
    pub async fn emit(&self, api: &'static str, event: &GenerationEvent) {
        self.metrics.run(api, event.outcome);
        self.publish_event(event).await;
    }

    /// Sends the analytics event of a run (without counting it); failures are logged.
    pub async fn publish_event(&self, event: &GenerationEvent) {
        let Some(publisher) = self.publisher() else {
            return;
        };
        let message = event.message(&self.event_routing_key());
        if let Err(err) = publisher.publish(&message).await {
            tracing::warn!(error = %err, run_id = %event.run_id, "generation event not sent");
        }
    }

    /// Starts the background tasks: reloading the definition when its file changes and
    /// re-resolving template versions every `TEMPLATE_REFRESH`. They stop when the service
    /// is dropped or the handles aborted.
    pub fn spawn_background(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(watch_definition(Arc::downgrade(self)))];
        if self.config().templates_url.is_some() {
            tasks.push(tokio::spawn(refresh_templates(Arc::downgrade(self))));
        }
        tasks
    }

    /// The HTTP app: the API routes, plus a readiness check per configured dependency and
    /// one for the templates.
    ///
    /// With a `verifier` (auth runs on the Platform) every API route needs a valid bearer
    /// token, so a pipeline reached around the gateway is no less protected.
    pub fn app(
        self: &Arc<Self>,
        common: &CommonConfig,
        verifier: Option<machina_kit::auth::JwtVerifier>,
    ) -> App {
        let mut app = App::new(common, api::router(self.clone(), verifier))
            .with_metrics(self.connections.metrics.clone());
        if let Some(mongo) = &self.connections.mongo {
            app = app.readiness_check(mongo.readiness_check());
        }
        if let Some(redis) = &self.connections.redis {
            app = app.readiness_check(redis.readiness_check());
        }
        if let Some(amqp) = &self.connections.amqp {
            app = app.readiness_check(amqp.readiness_check());
        }
        let service = Arc::downgrade(self);
        app.readiness_check(check_fn("templates", move || {
            let missing = service
                .upgrade()
                .map(|s| s.pipeline().templates.missing())
                .unwrap_or_default();
            async move {
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("not loaded: {}", missing.join(", ")))
                }
            }
        }))
    }
}

async fn watch_definition(service: std::sync::Weak<Service>) {
    let Some((path, interval)) = service.upgrade().map(|s| {
        (
            s.config().definition_path.clone(),
            s.config().definition_poll,
        )
    }) else {
        return;
    };
    let watcher = match crate::watch::DefinitionWatcher::start(&path, interval) {
        Ok(watcher) => watcher,
        Err(err) => {
            tracing::error!(error = %err, "not watching the pipeline definition");
            return;
        }
    };
    let mut changes = watcher.subscribe();
    while changes.changed().await.is_ok() {
        let definition = changes.borrow_and_update().clone();
        let Some(service) = service.upgrade() else {
            return;
        };
        if definition.checksum == service.pipeline().definition.checksum {
            continue;
        }
        let templates = service.pipeline().templates.clone();
        match service
            .wiring
            .build_pipeline(definition, Some(templates))
            .await
        {
            Ok(pipeline) => {
                tracing::info!(version = %pipeline.definition.version(), "pipeline definition in force");
                *service
                    .pipeline
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Arc::new(pipeline);
            }
            Err(err) => {
                tracing::error!(error = %err, "the new definition cannot be built; keeping the current one");
            }
        }
    }
}

async fn refresh_templates(service: std::sync::Weak<Service>) {
    let Some(interval) = service.upgrade().map(|s| s.config().template_refresh) else {
        return;
    };
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(service) = service.upgrade() else {
            return;
        };
        let templates = service.pipeline().templates.clone();
        drop(service);
        templates.refresh().await;
    }
}
