//! Bad input: every case is a problem+json 4xx, and nothing is stored.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn compile_error_is_422_with_position_and_nothing_stored() {
    let app = spawn_app("tpl_compile").await;
    let problem = app
        .post("/v1/templates", &json!({"name": "broken", "format": "Html", "source": "<p>ok</p>\n<p>{{ user.name }</p>"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "compile_error");
    let error = &problem["errors"][0];
    assert_eq!(error["template"], "broken");
    assert_eq!(error["line"], 2);
    assert!(error["column"].as_u64().is_some_and(|c| c > 1), "{problem}");
    assert_eq!(app.count_versions("broken").await, 0);
    app.get("/v1/templates/broken")
        .await
        .problem(StatusCode::NOT_FOUND);

    // An unknown filter and an undeclared include are compile errors too.
    let filter = app
        .post(
            "/v1/templates",
            &json!({"name": "broken", "format": "Text", "source": "{{ x | nosuchfilter }}"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        filter["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nosuchfilter"),
        "{filter}"
    );
    let include = app
        .post("/v1/templates", &json!({"name": "broken", "format": "Text", "source": "a\n{% include 'nope' %}", "includes": ["nope"]}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            include["errors"][0]["line"].as_u64(),
            include["errors"][0]["column"].as_u64()
        ),
        (Some(2), Some(12))
    );
    assert_eq!(app.count_versions("broken").await, 0);
}

#[tokio::test]
async fn malformed_requests_are_problems() {
    let app = spawn_app("tpl_bad").await;
    let malformed = app
        .send(
            app.client
                .post(app.url("/v1/templates"))
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        malformed["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("line 1"),
        "{malformed}"
    );

    let wrong_type = app
        .post(
            "/v1/templates",
            &json!({"name": "x", "format": "Text", "source": 5}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_type["field"], "source");
    let bad_format = app
        .post(
            "/v1/templates",
            &json!({"name": "x", "format": "Pdf", "source": "a"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_format["field"], "format");
    let bad_name = app
        .post(
            "/v1/templates",
            &json!({"name": "Not_Valid", "format": "Text", "source": "a"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_name["field"], "name");
    let empty = app
        .post(
            "/v1/templates",
            &json!({"name": "x", "format": "Text", "source": " "}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty["field"], "source");
    let self_include = app
        .put(
            "/v1/templates/x",
            &json!({"format": "Text", "source": "a", "includes": ["x"]}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(self_include["field"], "includes[0]");
    app.send(
        app.client
            .post(app.url("/v1/templates"))
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = "x".repeat(2 * 1024 * 1024);
    app.post(
        "/v1/templates",
        &json!({"name": "huge", "format": "Text", "source": huge}),
    )
    .await
    .problem(StatusCode::PAYLOAD_TOO_LARGE);
    let too_long = "x".repeat(300 * 1024);
    let long = app
        .post(
            "/v1/templates",
            &json!({"name": "long", "format": "Text", "source": too_long}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long["field"], "source");

    app.post("/v1/templates/nobody/render", &json!({"context": {}}))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/v1/templates/nobody/bundle")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/v1/templates/nobody/versions/1")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.create_text("real", "{{ a }}").await;
    let ctx = app
        .post("/v1/templates/real/render", &json!({"context": [1, 2]}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ctx["field"], "context");
    app.post("/v1/templates/real/activate", &json!({"version": "two"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.get("/v1/templates/real/versions/one")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(app.count_versions("real").await, 1);
    for name in ["x", "huge", "long"] {
        assert_eq!(app.count_versions(name).await, 0, "{name}");
    }
}

#[tokio::test]
async fn ops_endpoints_and_openapi() {
    let app = spawn_app("tpl_ops").await;
    let ready = app.get("/readyz").await.expect(StatusCode::OK);
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(checks, ["mongodb", "mongodb-indexes", "redis"]);
    let doc = app.get("/openapi.json").await.expect(StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    for path in [
        "/v1/templates",
        "/v1/templates/{name}/render",
        "/v1/templates/{name}/bundle",
        "/v1/validate",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["Bundle"].is_object());
}
