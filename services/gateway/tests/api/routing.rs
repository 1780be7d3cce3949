//! Routing, header hygiene, streaming, dynamic pipeline routes, CORS, OpenAPI.

use machina_gateway::routes::{PipelineEndpoint, Upstream};
use serde_json::Value;

use crate::helpers::{problem, setup, token};

#[tokio::test]
async fn routes_prefixes_to_the_upstream_with_rewrites_and_queries() {
    let (_up, gw) = setup(&[]).await;
    let response = gw
        .client
        .get(gw.url("/v1/open/items?a=1&b=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: Value = response.json().await.unwrap();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/v1/echo/items?a=1&b=2");

    let echo: Value = gw
        .client
        .get(gw.url("/v1/pipelines/shop/blog/v1/generate"))
        .bearer_auth(token("u1", ""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["path"], "/v1/generate", "pipeline prefix stripped");

    let missing = gw.client.get(gw.url("/v1/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["detail"], "no route for this path");

    let encoded_slash = gw
        .client
        .get(gw.url("/v1/open/a%2Fb"))
        .send()
        .await
        .unwrap();
    assert_eq!(encoded_slash.status(), 400);
    assert_eq!(problem(encoded_slash).await["field"], "path");
    // HTTP clients resolve dot segments themselves; send them raw.
    for path in ["/v1/open/../admin/x", "/v1/open/%2e%2E/admin/x"] {
        let head = raw_get(&gw.address, path).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{path}: {head}");
    }
}

/// Sends `GET path` over a plain TCP connection; returns the status line.
async fn raw_get(address: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn header_hygiene_both_ways() {
    let (_up, gw) = setup(&[]).await;
    let response = gw
        .client
        .get(gw.url("/v1/open/h"))
        .header("connection", "x-client-hop")
        .header("x-client-hop", "1")
        .header("x-machina-sub", "forged-admin")
        .header("x-machina-roles", "admin")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-request-id", "req-123")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-123");
    assert!(
        response.headers().get("x-upstream-hop").is_none(),
        "upstream hop-by-hop header removed"
    );
    let echo: Value = response.json().await.unwrap();
    let h = &echo["headers"];
    assert!(h.get("x-client-hop").is_none());
    assert!(
        h.get("x-machina-sub").is_none(),
        "forged claim header stripped"
    );
    assert!(h.get("x-machina-roles").is_none());
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "untrusted chain replaced by the peer"
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(
        h["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(h["x-request-id"], "req-123");
    assert_eq!(
        h["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    assert!(h["host"].as_str().unwrap().starts_with("127.0.0.1:"));

    // Without ids, the gateway makes them and tells both sides.
    let response = gw.client.get(gw.url("/v1/open/h")).send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36);
    let echo: Value = response.json().await.unwrap();
    assert_eq!(echo["headers"]["x-request-id"], id.as_str());
    let trace = echo["headers"]["traceparent"].as_str().unwrap();
    assert!(trace.starts_with("00-") && trace.len() == 55, "{trace}");
}

#[tokio::test]
async fn verified_claims_reach_the_upstream() {
    let (_up, gw) = setup(&[]).await;
    let echo: Value = gw
        .client
        .get(gw.url("/v1/secure/me"))
        .bearer_auth(token("user-42", "echo:read"))
        .header("x-machina-sub", "someone-else")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h = &echo["headers"];
    assert_eq!(h["x-machina-sub"], "user-42");
    assert_eq!(h["x-machina-scope"], "echo:read");
    assert_eq!(h["x-machina-roles"], "editor");
    assert_eq!(h["x-machina-permissions"], "echo.read");
    assert_eq!(h["x-machina-client-id"], "web");
    assert!(
        h["authorization"].as_str().unwrap().starts_with("Bearer "),
        "token forwarded for services that verify it again"
    );
}

#[tokio::test]
async fn bodies_stream_both_ways_and_limits_hold() {
    let (up, gw) = setup(&[("BODY_LIMIT", "256KiB")]).await;
    let body = vec![b'x'; 200 * 1024];
    let echo: Value = gw
        .client
        .post(gw.url("/v1/open/upload"))
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["body_len"], 200 * 1024);

    let big = gw
        .client
        .post(gw.url("/v1/open/upload"))
        .header("x-test-key", "big")
        .body(vec![0u8; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    problem(big).await;
    assert_eq!(
        up.attempts("big"),
        0,
        "refused before reaching the upstream"
    );

    // A chunked body (no Content-Length) streams through, and is cut past the limit.
    let chunks = futures::stream::iter((0..10).map(|_| {
        Ok::<_, std::io::Error>(hyper::body::Frame::data(bytes::Bytes::from(vec![
            0u8;
            10 * 1024
        ])))
    }));
    let body = reqwest::Body::wrap(http_body_util::StreamBody::new(chunks));
    let echo: Value = gw
        .client
        .post(gw.url("/v1/open/upload"))
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["body_len"], 100 * 1024);
    assert_eq!(echo["headers"]["transfer-encoding"], "chunked");
    let chunks = futures::stream::iter((0..40).map(|_| {
        Ok::<_, std::io::Error>(hyper::body::Frame::data(bytes::Bytes::from(vec![
            0u8;
            10 * 1024
        ])))
    }));
    let body = reqwest::Body::wrap(http_body_util::StreamBody::new(chunks));
    let chunked = gw
        .client
        .post(gw.url("/v1/open/upload"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);

    let streamed = gw
        .client
        .get(gw.url("/v1/open/s?stream=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        streamed.text().await.unwrap(),
        "chunk0;chunk1;chunk2;chunk3;"
    );
}

#[tokio::test]
async fn upstream_errors_pass_through_untouched() {
    let (_up, gw) = setup(&[]).await;
    let response = gw
        .client
        .get(gw.url("/v1/open/x?status=404"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), "plain upstream error");
}

#[tokio::test]
async fn pipeline_routes_change_without_restart() {
    let (up, gw) = setup(&[]).await;
    let bearer = token("u1", "");
    let before = gw
        .client
        .get(gw.url("/v1/pipelines/news/digest/v1/pipeline"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 404);
    gw.routes.set_pipelines(&[PipelineEndpoint {
        namespace: "news".into(),
        name: "digest".into(),
        endpoint: Upstream::parse(&up.url).unwrap(),
    }]);
    let after: Value = gw
        .client
        .get(gw.url("/v1/pipelines/news/digest/v1/pipeline"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["path"], "/v1/pipeline");
    gw.routes.set_pipelines(&[]);
    let gone = gw
        .client
        .get(gw.url("/v1/pipelines/news/digest/v1/pipeline"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let fixed = gw
        .client
        .get(gw.url("/v1/pipelines/shop/blog/x"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 200, "routes-file pipelines stay");
}

#[tokio::test]
async fn cors_preflight_follows_the_configured_origins() {
    let (_up, gw) = setup(&[]).await;
    let preflight = |origin: &'static str| {
        gw.client
            .request(reqwest::Method::OPTIONS, gw.url("/v1/secure/x"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let simple = gw
        .client
        .get(gw.url("/v1/open/x"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        simple.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("ratelimit-remaining")
    );
}

#[tokio::test]
async fn one_openapi_document_with_public_paths() {
    let (_up, gw) = setup(&[]).await;
    let doc: Value = gw
        .client
        .get(gw.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/v1/open/items"),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(paths.contains_key("/v1/secure/items"));
    assert!(paths.contains_key("/v1/pipelines/shop/blog/v1/echo/items"));
    assert_eq!(
        paths["/v1/secure/items"]["get"]["security"],
        serde_json::json!([{ "bearer": ["echo:read"] }])
    );
    assert_eq!(
        paths["/v1/open/items"]["get"]["security"],
        serde_json::json!([])
    );
    assert!(doc["components"]["schemas"]["secure.Item"].is_object());
    assert_eq!(doc["x-machina-unavailable"], Value::Null);

    let health = gw.client.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = gw.client.get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "redis reachable");
}
