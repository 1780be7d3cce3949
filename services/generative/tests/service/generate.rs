//! The synchronous API end to end: content, trace, stored document, published events,
//! cache hits, invalid contexts, LLM failures and streaming.

use crate::support::{COPY, Env, Options, PAGE, sample_definition};
use machina_generative::testing::MockReply;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn statuses(result: &Value) -> Vec<(String, String)> {
    result["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (field("name"), field("status"))
        })
        .collect()
}

#[tokio::test]
async fn generates_stores_publishes_then_serves_from_the_cache() {
    let env = Env::new(Options::default()).await;
    let events = env.bind_events("content.generated.#").await;
    let app = env.worker().await;

    let (status, result, _) = app
        .post("/v1/generate", &json!({"context": {"sku": "ABC-123"}}))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["output"], PAGE);
    assert_eq!(result["cacheHit"], false);
    assert!(
        result["usage"]["total_tokens"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    assert!(result["cost"].as_f64().unwrap_or(0.0) > 0.0, "{result}");
    let names: Vec<String> = statuses(&result).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 9, "{names:?}");
    assert_eq!(
        env.templates.requests(),
        2,
        "bundles fetched once, not per render"
    );
    assert!(statuses(&result).iter().all(|(_, s)| s == "ran"));
    let run_id = result["runId"].as_str().expect("run id").to_owned();
    let prompt = &env.mock.requests()[0].body["messages"][0]["content"];
    assert_eq!(prompt, "Describe Lamp in a neutral tone.");

    let stored = env.documents("generated_pages").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].get_str("_id").expect("id"),
        format!("{run_id}:save")
    );
    assert_eq!(stored[0].get_str("content").expect("content"), PAGE);

    let mut messages = env.take_messages(&events, 2).await;
    messages.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(messages.len(), 2, "{messages:?}");
    let (key, announced) = &messages[0];
    assert_eq!(key, "content.generated.product");
    assert_eq!(announced["content"], PAGE);
    let (key, event) = &messages[1];
    assert_eq!(key, "content.generated.product-copy");
    assert_eq!(event["outcome"], "succeeded");
    assert_eq!(event["runId"], run_id.as_str());
    assert_eq!(event["templateVersions"], json!({"page": 7, "prompt": 3}));

    // Same sku and tone: served from Redis, the LLM not asked again.
    let (status, again, _) = app
        .post(
            "/v1/generate",
            &json!({"context": {"sku": "ABC-123", "tone": "neutral"}}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["cacheHit"], true);
    assert_eq!(again["output"], PAGE);
    assert_eq!(env.mock.request_count(), 1);
    let trace = statuses(&again);
    assert!(
        trace.contains(&("cached".into(), "ran".into())),
        "{trace:?}"
    );
    assert!(
        trace.contains(&("copy".into(), "skipped".into())),
        "{trace:?}"
    );

    let (status, pipeline) = app.get("/v1/pipeline").await;
    assert_eq!(status, 200);
    assert_eq!(pipeline["name"], "product-copy");
    assert_eq!(pipeline["checksum"].as_str().map(str::len), Some(64));
    assert_eq!(pipeline["templates"][1]["version"], 7);
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"machina_generative_runs_total{api="sync",outcome="succeeded"} 2"#),
        "{metrics}"
    );
    let (status, openapi) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/v1/generate", "post"),
        ("/v1/jobs", "post"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/pipeline", "get"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(openapi["components"]["schemas"]["RunResult"].is_object());

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn an_invalid_context_is_a_422_naming_the_violations_and_nothing_is_stored() {
    let env = Env::new(Options::default()).await;
    let app = env.worker().await;

    let (status, problem, headers) = app
        .post(
            "/v1/generate",
            &json!({"context": {"sku": "lamp", "tone": "angry"}}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let paths: Vec<&str> = problem["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"/sku") && paths.contains(&"/tone"),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("/sku")
    );

    // Not a {context} body: the kit's 422 naming the field; malformed JSON: 400.
    let (status, problem, _) = app.post("/v1/generate", &json!({"ctx": {}})).await;
    assert_eq!(status, 422, "{problem}");
    let response = app
        .http
        .post(app.url("/v1/generate"))
        .header("content-type", "application/json")
        .body("{\"context\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);

    assert_eq!(env.mock.request_count(), 0);
    assert!(env.documents("generated_pages").await.is_empty());
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_failing_llm_is_an_opaque_502_and_streaming_sends_deltas_then_the_result() {
    let env = Env::new(Options::default()).await;
    let app = env.worker().await;

    env.mock.fail(1, 500);
    let (status, problem, _) = app
        .post(
            "/v1/generate",
            &json!({"context": {"sku": "ABC-123", "tone": "premium"}}),
        )
        .await;
    assert_eq!(status, 502, "{problem}");
    assert!(
        !problem.to_string().contains("127.0.0.1"),
        "opaque: {problem}"
    );
    assert!(env.documents("generated_pages").await.is_empty());

    env.mock.push(MockReply::Content(COPY.to_owned()));
    let response = app
        .http
        .post(app.url("/v1/generate"))
        .header("accept", "text/event-stream")
        .json(&json!({"context": {"sku": "ABC-123", "tone": "playful"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    let deltas = body.matches("event: delta").count();
    assert!(deltas >= 2, "{body}");
    let result = body
        .split("event: result\ndata: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("a result event");
    let result: Value = serde_json::from_str(result).expect("result JSON");
    assert_eq!(result["output"], PAGE);
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn follows_definition_changes_and_template_activations() {
    let env = Env::new(Options::default()).await;
    let app = env.worker().await;
    let background = app.service.spawn_background();
    let (_, before) = app.get("/v1/pipeline").await;

    env.templates
        .put("product-page", "Html", 8, "<h2>{{ copy.title }}</h2>");
    let definition = sample_definition(&env.mock.base_url(), &env.db_name)
        .replace("ttlSeconds: 3600", "ttlSeconds: 60");
    env.write_definition(&definition);
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let (_, after) = app.get("/v1/pipeline").await;
        if (after["checksum"] != before["checksum"] && after["templates"][1]["version"] == 8)
            || Instant::now() > deadline
        {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(after["checksum"], before["checksum"], "{after}");
    assert_eq!(after["templates"][1]["version"], 8, "{after}");

    // A new definition version is a new cache namespace; the new page template renders.
    let (status, result, _) = app
        .post("/v1/generate", &json!({"context": {"sku": "ABC-123"}}))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["output"], "<h2>Bright Lamp</h2>");
    assert_eq!(result["version"], after["version"]);
    for task in background {
        task.abort();
    }
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn with_auth_running_the_api_needs_a_valid_token() {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
    const SECRET: &[u8] = b"test-only-generative-secret";
    let verifier = machina_kit::auth::JwtVerifier::with_key(
        DecodingKey::from_secret(SECRET),
        Algorithm::HS256,
    );
    let env = Env::new(Options {
        verifier: Some(verifier),
        ..Options::default()
    })
    .await;
    let app = env.worker().await;
    let url = |path: &str| format!("http://{}{path}", app.addr);
    let body = json!({"context": {"sku": "ABC-123"}});
    let anonymous = app
        .http
        .post(url("/v1/generate"))
        .json(&body)
        .send()
        .await
        .expect("answers");
    assert_eq!(anonymous.status(), 401);
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 600;
    let sign = |secret: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "client-1", "exp": exp}),
            &EncodingKey::from_secret(secret),
        )
        .expect("sign")
    };
    let forged = app
        .http
        .post(url("/v1/generate"))
        .bearer_auth(sign(b"another-secret"))
        .json(&body)
        .send()
        .await
        .expect("answers");
    assert_eq!(forged.status(), 401);
    let signed = app
        .http
        .post(url("/v1/generate"))
        .bearer_auth(sign(SECRET))
        .json(&body)
        .send()
        .await
        .expect("answers");
    assert_eq!(signed.status(), 200);
    let page: Value = signed.json().await.expect("json");
    assert_eq!(page["output"], PAGE);
    // The document describing the API stays public.
    let openapi = app
        .http
        .get(url("/openapi.json"))
        .send()
        .await
        .expect("answers");
    assert_eq!(openapi.status(), 200);
}
