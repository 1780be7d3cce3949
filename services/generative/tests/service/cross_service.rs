//! The worker against the REAL template service (`machina_templates::Application` on port 0
//! with a fresh database and invalidation channel): templates registered through its API,
//! bundles fetched by the worker's catalog, HTML escaping, template versions in the trace,
//! and activations (of the page and of the layout it extends) picked up within
//! `TEMPLATE_REFRESH` without serving stale results from the cache.

use crate::support::{Env, Options};
use machina_devenv::{BackingServices, unique_database_name, unique_redis_prefix};
use machina_generative::testing::MockReply;
use machina_kit::Vars;
use machina_templates::{Application, Config};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What the LLM mock answers: markup and an ampersand the HTML page must escape.
const COPY: &str = r#"{"title": "Bright <Lamp> & Co"}"#;

/// The template service on `127.0.0.1:0` with its own database and channel.
struct TemplateService {
    url: String,
    http: reqwest::Client,
    database: String,
}

impl TemplateService {
    async fn start() -> Self {
        let services = BackingServices::load_or_panic();
        let database = unique_database_name("tplx");
        let pairs: Vec<(String, String)> = vec![
            ("LISTEN_ADDR".into(), "127.0.0.1:0".into()),
            ("MONGODB_URI".into(), services.mongodb_uri.expose().into()),
            ("MONGODB_DATABASE".into(), database.clone()),
            ("REDIS_URL".into(), services.redis_url.expose().into()),
            (
                "TEMPLATES_CHANGED_CHANNEL".into(),
                format!("{}templates:changed", unique_redis_prefix("tplx")),
            ),
            ("LOG_LEVEL".into(), "warn".into()),
        ];
        let config = Config::from_vars(&Vars::from_pairs(pairs)).expect("template config");
        let app = Application::build(config)
            .await
            .expect("the template service builds");
        let url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.serve_until(std::future::pending()));
        Self {
            url,
            http: reqwest::Client::new(),
            database,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("template service answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.url)).json(&body))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(format!("{}{path}", self.url)).json(&body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    async fn cleanup(self) {
        if let Ok(client) = BackingServices::load_or_panic().mongodb().await {
            let _ = client.database(&self.database).drop().await;
        }
    }
}

/// `(component, templateVersion)` of the RenderTemplate entries of a trace.
fn rendered_versions(result: &Value) -> Vec<(String, i64)> {
    result["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .filter(|e| e["type"] == "RenderTemplate")
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["templateVersion"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

async fn generate(app: &crate::support::TestApp) -> Value {
    let (status, result, _) = app
        .post(
            "/v1/generate",
            &json!({"context": {"sku": "ABC-123", "tone": "playful"}}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    result
}

/// Generates until the output is `expected` (at most 10 s); returns the last result.
async fn generate_until(app: &crate::support::TestApp, expected: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = generate(app).await;
        if result["output"] == expected || Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn renders_bundles_of_the_real_template_service_and_follows_activations() {
    let templates = TemplateService::start().await;
    let mut env = Env::new(Options::default()).await;
    env.set_templates_url(templates.url.clone());
    env.mock.set_default(MockReply::Content(COPY.to_owned()));

    // The text prompt, a layout and the HTML page that extends it.
    let (status, body) = templates
        .post(
            "/v1/templates",
            json!({"name": "product-prompt", "format": "Text",
                   "source": "Describe {{ product.name }} in a {{ tone }} tone & <style>."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = templates
        .post(
            "/v1/templates",
            json!({"name": "layout", "format": "Html",
                   "source": "<main>{% block body %}{% endblock %}</main>",
                   "limits": {"fuel": 50000, "maxRecursionDepth": 16, "maxOutputBytes": 65536}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = templates
        .post(
            "/v1/templates",
            json!({"name": "product-page", "format": "Html", "extends": "layout",
                   "source": "{% extends \"layout\" %}{% block body %}<h1>{{ copy.title }}</h1><p>{{ product.product.name }}</p>{% endblock %}",
                   "limits": {"fuel": 50000}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // The bundle the worker consumes: root first, the layout with it, camelCase limits.
    let (status, bundle) = templates.get("/v1/templates/product-page/bundle").await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["templates"][0]["format"], "Html", "{bundle}");
    assert_eq!(bundle["templates"][0]["limits"]["fuel"], 50000, "{bundle}");
    assert_eq!(bundle["templates"][1]["name"], "layout", "{bundle}");

    let app = env.worker().await;
    let background = app.service.spawn_background();

    let result = generate(&app).await;
    assert_eq!(
        result["output"], "<main><h1>Bright &lt;Lamp&gt; &amp; Co</h1><p>Lamp</p></main>",
        "{result}"
    );
    assert_eq!(
        rendered_versions(&result),
        vec![("prompt".to_owned(), 1), ("page".to_owned(), 1)]
    );
    // A Text template is not escaped.
    let prompt = &env.mock.requests()[0].body["messages"][0]["content"];
    assert_eq!(prompt, "Describe Lamp in a playful tone & <style>.");
    let (_, pipeline) = app.get("/v1/pipeline").await;
    assert_eq!(pipeline["templates"][1]["version"], 1, "{pipeline}");

    // The same request again comes from the cache.
    let again = generate(&app).await;
    assert_eq!(again["cacheHit"], true, "{again}");

    // A new page version, activated by the template service: the worker renders it within
    // TEMPLATE_REFRESH (200 ms here), not the cached page of version 1.
    let (status, body) = templates
        .put(
            "/v1/templates/product-page",
            json!({"format": "Html", "extends": "layout",
                   "source": "{% extends \"layout\" %}{% block body %}<h2>{{ copy.title }}</h2>{% endblock %}"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], 2, "{body}");
    let v2 = "<main><h2>Bright &lt;Lamp&gt; &amp; Co</h2></main>";
    let result = generate_until(&app, v2).await;
    assert_eq!(result["output"], v2, "{result}");
    assert_eq!(result["cacheHit"], false, "{result}");
    assert_eq!(
        rendered_versions(&result),
        vec![("prompt".to_owned(), 1), ("page".to_owned(), 2)]
    );

    // A new version of the layout alone (the page stays at version 2) is picked up too.
    let (status, body) = templates
        .put(
            "/v1/templates/layout",
            json!({"format": "Html",
                   "source": "<article>{% block body %}{% endblock %}</article>"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let layout2 = "<article><h2>Bright &lt;Lamp&gt; &amp; Co</h2></article>";
    let result = generate_until(&app, layout2).await;
    assert_eq!(result["output"], layout2, "{result}");

    // Rolling the page back to version 1 through the template service.
    let (status, body) = templates
        .post("/v1/templates/product-page/activate", json!({"version": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    let rolled_back = "<article><h1>Bright &lt;Lamp&gt; &amp; Co</h1><p>Lamp</p></article>";
    let result = generate_until(&app, rolled_back).await;
    assert_eq!(result["output"], rolled_back, "{result}");
    assert_eq!(
        rendered_versions(&result),
        vec![("prompt".to_owned(), 1), ("page".to_owned(), 1)]
    );

    for task in background {
        task.abort();
    }
    app.stop().await;
    env.cleanup().await;
    templates.cleanup().await;
}
