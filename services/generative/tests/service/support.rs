//! The test harness: a worker on port 0 against the real Redis, RabbitMQ and MongoDB
//! (fresh database, vhost and key prefix per test), [`MockOpenAi`] for the LLM and a fake
//! template service serving bundles.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use machina_devenv::{BackingServices, Vhost, unique_database_name, unique_redis_prefix};
use machina_generative::service::{Config, Connections, Service, jobs};
use machina_generative::testing::{MockOpenAi, MockReply};
use machina_kit::{Amqp, CommonConfig, Metrics, Mongo, Redis, Secret, Vars};
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the LLM mock answers to the `copy` component.
pub const COPY: &str = r#"{"title": "Bright Lamp"}"#;
/// The page the sample pipeline renders for [`COPY`] and the product `Lamp`.
pub const PAGE: &str = "<h1>Bright Lamp</h1><p>Lamp</p>";

/// The sample pipeline (config/samples/contentpipeline.yaml) with the mock LLM and the
/// test's database.
pub fn sample_definition(llm: &str, database: &str) -> String {
    format!(
        r#"apiVersion: machina.dev/v1alpha1
kind: ContentPipeline
metadata: {{name: product-copy}}
spec:
  platformRef: {{name: acme}}
  templates:
    - {{name: prompt, templateRef: product-prompt}}
    - {{name: page, templateRef: product-page}}
  llm: {{baseUrl: "{llm}", model: gpt-test, timeoutSeconds: 10, maxRetries: 0,
         inputCostPerMillionTokens: 0.15, outputCostPerMillionTokens: 0.6}}
  components:
    - name: request
      type: ValidateContext
      validateContext:
        schema:
          type: object
          required: [sku]
          properties:
            sku: {{type: string, pattern: "^[A-Z]{{3}}-[0-9]{{3}}$"}}
            tone: {{type: string, enum: [playful, neutral, premium]}}
        defaults: {{tone: neutral, max_words: 120}}
    - {{name: cached, type: Cache, inputs: [request], cache: {{ttlSeconds: 3600, key: [sku, tone]}}}}
    - name: product
      type: LookupDocument
      inputs: [cached]
      lookupDocument: {{database: {database}, collection: products, filter: {{sku: "{{{{ context.sku }}}}"}}, into: product}}
    - {{name: prompt, type: RenderTemplate, inputs: [product], renderTemplate: {{template: prompt}}}}
    - {{name: copy, type: LlmCompletion, inputs: [prompt], llmCompletion: {{maxTokens: 400, temperature: 0.6, jsonMode: true}}}}
    - {{name: shape, type: TransformJson, inputs: [copy, product], transformJson: {{expression: "{{product: product, copy: copy}}"}}}}
    - {{name: page, type: RenderTemplate, inputs: [shape], renderTemplate: {{template: page}}}}
    - {{name: save, type: Store, inputs: [page], store: {{collection: generated_pages}}}}
    - {{name: announce, type: Publish, inputs: [page], publish: {{routingKey: content.generated.product}}}}
  output: page
"#
    )
}

/// A pipeline with two LLM calls in a row (for the crash test): `copy` then `review`.
pub fn two_llm_definition(llm: &str, database: &str) -> String {
    format!(
        r#"metadata: {{name: reviewed}}
kind: ContentPipeline
spec:
  platformRef: {{name: acme}}
  templates:
    - {{name: prompt, templateRef: product-prompt}}
  llm: {{baseUrl: "{llm}", model: gpt-test, timeoutSeconds: 20, maxRetries: 0}}
  components:
    - {{name: request, type: ValidateContext, validateContext: {{schema: {{type: object, required: [sku]}}, defaults: {{tone: neutral}}}}}}
    - name: product
      type: LookupDocument
      inputs: [request]
      lookupDocument: {{database: {database}, collection: products, filter: {{sku: "{{{{ context.sku }}}}"}}, into: product}}
    - {{name: prompt, type: RenderTemplate, inputs: [product], renderTemplate: {{template: prompt}}}}
    - {{name: copy, type: LlmCompletion, inputs: [prompt], llmCompletion: {{maxTokens: 400, temperature: 0.6, jsonMode: true}}}}
    - {{name: review, type: LlmCompletion, inputs: [copy], llmCompletion: {{maxTokens: 100, temperature: 0.0}}}}
    - {{name: save, type: Store, inputs: [review], store: {{collection: generated_pages}}}}
  output: save
"#
    )
}

// === fake template service ===

/// One stored template of the fake: versions by number, the active one.
#[derive(Debug, Clone)]
pub struct FakeTemplate {
    /// Format.
    pub format: &'static str,
    /// Sources by version.
    pub versions: HashMap<i64, String>,
    /// The active version.
    pub active: i64,
}

/// A fake of the template service's bundle endpoint.
#[derive(Debug, Clone, Default)]
pub struct FakeTemplates {
    templates: Arc<Mutex<HashMap<String, FakeTemplate>>>,
    requests: Arc<AtomicUsize>,
}

impl FakeTemplates {
    /// The fake with the sample's two templates (`product-prompt` v3, `product-page` v7).
    pub fn sample() -> Self {
        let fake = Self::default();
        fake.put(
            "product-prompt",
            "Text",
            3,
            "Describe {{ product.name }} in a {{ tone }} tone.",
        );
        fake.put(
            "product-page",
            "Html",
            7,
            "<h1>{{ copy.title }}</h1><p>{{ product.product.name }}</p>",
        );
        fake
    }

    /// Adds `version` of template `name` and makes it active.
    pub fn put(&self, name: &str, format: &'static str, version: i64, source: &str) {
        let mut templates = self.templates.lock().expect("lock");
        let entry = templates
            .entry(name.to_owned())
            .or_insert_with(|| FakeTemplate {
                format,
                versions: HashMap::new(),
                active: version,
            });
        entry.versions.insert(version, source.to_owned());
        entry.active = version;
    }

    /// Bundle requests served.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Serves the fake on a free port; returns its base URL.
    pub async fn serve(&self) -> String {
        let app = Router::new()
            .route("/v1/templates/{name}/bundle", get(bundle))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }
}

async fn bundle(
    State(fake): State<FakeTemplates>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, i64>>,
) -> Result<Json<Value>, axum::http::StatusCode> {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let templates = fake.templates.lock().expect("lock");
    let template = templates
        .get(&name)
        .ok_or(axum::http::StatusCode::NOT_FOUND)?;
    let version = query.get("version").copied().unwrap_or(template.active);
    let source = template
        .versions
        .get(&version)
        .ok_or(axum::http::StatusCode::NOT_FOUND)?;
    Ok(Json(json!({
        "root": {"name": name, "version": version},
        "templates": [{"name": name, "version": version, "format": template.format,
                       "source": source, "checksum": "x", "limits": {"fuel": 100000}}],
    })))
}

// === the worker under test ===

/// Options of [`TestApp::spawn`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The definition, from the mock's URL and the database name.
    pub definition: fn(&str, &str) -> String,
    /// `MAX_DELIVERIES`.
    pub max_deliveries: u32,
    /// Token verification of the API (auth running on the Platform).
    pub verifier: Option<machina_kit::auth::JwtVerifier>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            definition: sample_definition,
            max_deliveries: 5,
            verifier: None,
        }
    }
}

/// Everything one test shares between its workers.
#[derive(Debug)]
pub struct Env {
    /// Backing services settings.
    pub services: BackingServices,
    /// The test's database.
    pub db: mongodb::Database,
    /// Its name.
    pub db_name: String,
    /// The test's vhost.
    pub vhost: Vhost,
    /// The LLM mock.
    pub mock: MockOpenAi,
    /// The template service fake.
    pub templates: FakeTemplates,
    templates_url: String,
    redis_prefix: String,
    dir: PathBuf,
    options: Options,
}

impl Env {
    /// A fresh database, vhost and Redis prefix; the LLM mock answering [`COPY`]; the
    /// template fake; the product `ABC-123` (`Lamp`) stored.
    pub async fn new(options: Options) -> Self {
        let services = BackingServices::load_or_panic();
        let db_name = unique_database_name("gen");
        let client = services.mongodb().await.expect("mongodb");
        let db = client.database(&db_name);
        db.collection::<Document>("products")
            .insert_one(doc! {"_id": "p1", "sku": "ABC-123", "name": "Lamp"})
            .await
            .expect("insert product");
        let vhost = services.isolated_vhost("gen").await.expect("vhost");
        let mock = MockOpenAi::start().await.expect("mock");
        mock.set_default(MockReply::Content(COPY.to_owned()));
        let templates = FakeTemplates::sample();
        let templates_url = templates.serve().await;
        let dir = std::env::temp_dir().join(&db_name);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("pipeline.yaml"),
            (options.definition)(&mock.base_url(), &db_name),
        )
        .expect("write definition");
        Self {
            services,
            db,
            db_name: db_name.clone(),
            vhost,
            mock,
            templates,
            templates_url,
            redis_prefix: unique_redis_prefix("gen"),
            dir,
            options,
        }
    }

    /// Points the workers started from now on at another template service.
    pub fn set_templates_url(&mut self, url: impl Into<String>) {
        self.templates_url = url.into();
    }

    /// A worker (its own connections) over this environment.
    pub async fn worker(&self) -> TestApp {
        let metrics = Metrics::new();
        let mongo = Mongo::connect(
            &Secret::new(self.services.mongodb_uri.expose().to_owned()),
            "generative-test",
            metrics.clone(),
        )
        .await
        .expect("mongo");
        let redis = Redis::connect(
            &Secret::new(self.services.redis_url.expose().to_owned()),
            metrics.clone(),
        )
        .expect("redis");
        let amqp = Amqp::connect(
            &Secret::new(self.vhost.amqp_url.expose().to_owned()),
            "generative-test",
            metrics.clone(),
        )
        .expect("amqp");
        tokio::time::timeout(Duration::from_secs(10), amqp.connected())
            .await
            .expect("rabbitmq connects");
        let mut config = Config::new(self.dir.join("pipeline.yaml"));
        config.templates_url = Some(self.templates_url.clone());
        config.mongodb_database = Some(self.db_name.clone());
        config.cache_prefix = self.redis_prefix.clone();
        config.max_deliveries = self.options.max_deliveries;
        config.prefetch = 4;
        config.definition_poll = Duration::from_millis(100);
        config.template_refresh = Duration::from_millis(200);
        let connections = Connections {
            mongo: Some(mongo),
            redis: Some(redis),
            amqp: Some(amqp),
            metrics,
        };
        let service = Service::build(config, connections)
            .await
            .expect("service builds");
        let common = CommonConfig::from_vars(&Vars::default(), "generative-test").expect("config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = watch::channel(false);
        let app = service.app(&common, self.options.verifier.clone());
        let mut on_stop = stopped.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = on_stop.wait_for(|s| *s).await;
            };
            let _ = app.serve(listener, shutdown).await;
        });
        TestApp {
            addr,
            http: reqwest::Client::new(),
            service,
            stop,
            stopped,
            server,
            worker: None,
        }
    }

    /// Binds a queue to the events exchange for `pattern`; returns its name.
    pub async fn bind_events(&self, pattern: &str) -> String {
        let connection = self.vhost.connect().await.expect("amqp");
        let channel = connection.create_channel().await.expect("channel");
        machina_generative::adapters::rabbit::declare_events_exchange(
            &channel,
            "machina.events",
            false,
        )
        .await
        .expect("exchange");
        let queue = "test-events";
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("queue");
        channel
            .queue_bind(
                queue.into(),
                "machina.events".into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        let _ = connection.close(200, "done".into()).await;
        queue.to_owned()
    }

    /// Waits for `count` messages on `queue` (at most 10 s); returns `(routing key, body)`.
    pub async fn take_messages(&self, queue: &str, count: usize) -> Vec<(String, Value)> {
        let connection = self.vhost.connect().await.expect("amqp");
        let channel = connection.create_channel().await.expect("channel");
        let mut messages = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while messages.len() < count && Instant::now() < deadline {
            let got = channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get");
            match got {
                Some(message) => {
                    let delivery = message.delivery;
                    let body = serde_json::from_slice(&delivery.data).expect("JSON message");
                    messages.push((delivery.routing_key.to_string(), body));
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let _ = connection.close(200, "done".into()).await;
        messages
    }

    /// Documents of `collection` in the test's database.
    pub async fn documents(&self, collection: &str) -> Vec<Document> {
        self.db
            .collection::<Document>(collection)
            .find(doc! {})
            .await
            .expect("find")
            .map(|d| d.expect("document"))
            .collect()
            .await
    }

    /// Replaces the definition file.
    pub fn write_definition(&self, text: &str) {
        std::fs::write(self.dir.join("pipeline.yaml"), text).expect("write definition");
    }

    /// Drops the database and the vhost.
    pub async fn cleanup(self) {
        let _ = self.db.drop().await;
        let _ = self.vhost.delete().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One worker: its HTTP server and, once started, its job consumer.
#[derive(Debug)]
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A client.
    pub http: reqwest::Client,
    /// The service.
    pub service: Arc<Service>,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    server: JoinHandle<()>,
    /// The job consumer.
    pub worker: Option<JoinHandle<()>>,
}

impl TestApp {
    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts consuming jobs.
    pub fn start_worker(&mut self) {
        self.worker = jobs::spawn_worker(self.service.clone(), self.stopped.clone());
        assert!(self.worker.is_some(), "the worker starts");
    }

    /// `POST path` with a JSON body; returns status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body, headers)
    }

    /// `POST /v1/jobs` with `context`; asserts the 202 and returns the job id.
    pub async fn submit_job(&self, context: Value) -> String {
        let (status, body, _) = self.post("/v1/jobs", &json!({ "context": context })).await;
        assert_eq!(status, 202, "{body}");
        body["jobId"].as_str().expect("job id").to_owned()
    }

    /// `GET path`; returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls `GET /v1/jobs/{id}` until its status is `status` (at most `timeout`).
    pub async fn wait_for_job(&self, id: &str, status: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (code, job) = self.get(&format!("/v1/jobs/{id}")).await;
            assert_eq!(code, 200, "{job}");
            if job["status"] == status || Instant::now() > deadline {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Simulates a crash: the consumer task and the jobs it runs are aborted, then the
    /// connection is closed, so the broker requeues the unacknowledged jobs.
    pub async fn kill(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
            let _ = worker.await;
        }
        if let Some(amqp) = &self.service.connections().amqp
            && let Ok(connection) = amqp.connection()
        {
            let _ = connection.close(320, "killed".into()).await;
        }
    }

    /// Stops gracefully: no new jobs, the ones in flight finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(worker) = self.worker {
            let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
    }
}
