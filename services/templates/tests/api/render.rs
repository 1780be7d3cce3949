//! Rendering: escaping, input schemas, sandbox limits, validation, metrics.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn html_is_escaped_and_text_is_not() {
    let app = spawn_app("tpl_escape").await;
    app.post(
        "/v1/templates",
        &json!({"name": "card", "format": "Html", "source": "<p>{{ name }}</p>"}),
    )
    .await
    .expect(StatusCode::CREATED);
    app.create_text("plain", "{{ name }}").await;
    let evil = json!({"name": "<script>alert('x')</script>"});
    let html = app.render_ok("card", evil.clone()).await;
    assert_eq!(
        html,
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;</p>"
    );
    assert_eq!(
        app.render_ok("plain", evil).await,
        "<script>alert('x')</script>"
    );

    app.post(
        "/v1/templates",
        &json!({"name": "data", "format": "Json", "source": "{\"title\": {{ title }}}"}),
    )
    .await
    .expect(StatusCode::CREATED);
    let out = app
        .render_ok("data", json!({"title": "a \"quoted\" title"}))
        .await;
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("valid JSON output");
    assert_eq!(parsed["title"], "a \"quoted\" title");

    // A specific version can be rendered.
    let body = app
        .post(
            "/v1/templates/plain/render",
            &json!({"context": {"name": "v"}, "version": 1}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            body["name"].as_str(),
            body["version"].as_i64(),
            body["format"].as_str()
        ),
        (Some("plain"), Some(1), Some("Text"))
    );
}

#[tokio::test]
async fn input_schema_violations_list_pointers() {
    let app = spawn_app("tpl_schema").await;
    let schema = json!({
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}
    });
    // A sample context that breaks the schema rejects the version; nothing is stored.
    let rejected = app
        .post(
            "/v1/templates",
            &json!({"name": "person", "format": "Text", "source": "{{ name }}",
            "inputSchema": schema, "sampleContext": {"age": 3}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rejected["code"], "input_invalid");
    assert_eq!(app.count_versions("person").await, 0);

    app.post(
        "/v1/templates",
        &json!({"name": "person", "format": "Text", "source": "{{ name }} ({{ age }})",
        "inputSchema": schema, "sampleContext": {"name": "Ada", "age": 36}}),
    )
    .await
    .expect(StatusCode::CREATED);
    let problem = app
        .post(
            "/v1/templates/person/render",
            &json!({"context": {"name": 5, "age": "ten"}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "input_invalid");
    let mut pointers: Vec<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["/age", "/name"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("/age"),
        "{problem}"
    );
    assert_eq!(
        app.render_ok("person", json!({"name": "Ada", "age": 36}))
            .await,
        "Ada (36)"
    );

    // An undefined variable names itself and its line.
    app.create_text("strict", "line one\n{{ missing.field }}")
        .await;
    let undefined = app
        .post("/v1/templates/strict/render", &json!({}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(undefined["code"], "undefined_value");
    assert_eq!(undefined["errors"][0]["line"], 2);
    assert!(
        undefined["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("missing"),
        "{undefined}"
    );
}

#[tokio::test]
async fn runaway_templates_hit_their_limits_quickly() {
    let app = spawn_app("tpl_limits").await;
    let cases = [
        (
            "spin",
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
            json!({"fuel": 20000}),
            "fuel_exhausted",
        ),
        (
            "deep",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            json!({"maxRecursionDepth": 10}),
            "recursion_limit",
        ),
        (
            "big",
            "{% for i in range(100000) %}0123456789{% endfor %}",
            json!({"maxOutputBytes": 1000}),
            "output_too_large",
        ),
    ];
    for (name, source, limits, code) in cases.clone() {
        app.post(
            "/v1/templates",
            &json!({"name": name, "format": "Text", "source": source, "limits": limits}),
        )
        .await
        .expect(StatusCode::CREATED);
        let started = Instant::now();
        let problem = app
            .post(&format!("/v1/templates/{name}/render"), &json!({}))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["code"], code, "{problem}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    // A sample context that runs away rejects the version.
    let rejected = app
        .post(
            "/v1/templates",
            &json!({"name": "spin2", "format": "Text", "source": cases[0].1,
            "limits": {"fuel": 20000}, "sampleContext": {}}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rejected["code"], "fuel_exhausted");
    assert!(
        rejected["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sampleContext"),
        "{rejected}"
    );

    let metrics = app.send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        text.contains(r#"machina_template_renders_total{outcome="fuel_exhausted"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("machina_template_render_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn validate_reports_problems_without_storing() {
    let app = spawn_app("tpl_validate").await;
    let ok = app
        .post(
            "/v1/validate",
            &json!({"format": "Text", "source": "{{ a }}"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(ok["valid"], true);

    let broken = app
        .post(
            "/v1/validate",
            &json!({"format": "Html", "source": "fine\n  {% if %}"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(broken["valid"], false);
    assert_eq!(broken["errors"][0]["line"], 2);
    assert!(broken["errors"][0]["column"].is_u64(), "{broken}");

    let unknown = app
        .post("/v1/validate", &json!({"format": "Text", "source": "{% include \"footer\" %}", "includes": ["footer"]}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(unknown["valid"], false);
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("footer"),
        "{unknown}"
    );

    app.create_text("footer", "-- bye").await;
    let known = app
        .post("/v1/validate", &json!({"format": "Text", "source": "hi {% include \"footer\" %}", "includes": ["footer"],
            "inputSchema": {"type": "object"}, "sampleContext": {"x": 1}}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(known["valid"], true, "{known}");
    let schema = app
        .post("/v1/validate", &json!({"format": "Text", "source": "x", "inputSchema": {"type": "object", "required": ["a"]}, "sampleContext": {}}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(schema["errors"][0]["pointer"], "");
    assert_eq!(app.count_versions("candidate").await, 0);
}
