//! Every error, wherever it arises, is problem+json.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{problem, spawn_app, spawn_with};

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let app = spawn_app().await;
    let body = problem(app.get("/does-not-exist").await, 404).await;
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["title"], "Not Found");
}

#[tokio::test]
async fn wrong_method_is_405_problem_with_allow() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/hello")).send().await.unwrap();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        allow.as_deref().is_some_and(|a| a.contains("GET")),
        "{allow:?}"
    );
    let body = problem(response, 405).await;
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn handler_error_keeps_its_detail() {
    let app = spawn_app().await;
    let body = problem(app.get("/items/42").await, 404).await;
    assert_eq!(body["detail"], "item 42 does not exist");
}

#[tokio::test]
async fn valid_json_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/items"))
        .json(&json!({"name": "a", "tags": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"name": "a", "tags": [1, 2]}));
}

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/items"))
        .header("content-type", "application/json")
        .body(r#"{"name": "a", "tags": [1,"#)
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "bad_request");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("malformed JSON"), "{detail}");
    assert!(detail.contains("line 1 column"), "{detail}");
}

#[tokio::test]
async fn wrong_type_is_422_naming_the_field() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/items"))
        .json(&json!({"name": "a", "tags": [1, "two"]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["field"], "tags[1]");
    assert!(
        body["detail"].as_str().unwrap().contains("invalid type"),
        "{body}"
    );
}

#[tokio::test]
async fn missing_field_is_422_naming_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/items"))
        .json(&json!({"tags": []}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["field"], "name");
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/items"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body = problem(response, 415).await;
    assert_eq!(body["code"], "unsupported_media_type");
}

#[tokio::test]
async fn oversized_body_is_413_problem() {
    let app = spawn_app().await;
    let big = json!({"name": "x".repeat(4096), "tags": []});
    let response = app
        .client
        .post(app.url("/items"))
        .json(&big)
        .send()
        .await
        .unwrap();
    let body = problem(response, 413).await;
    assert_eq!(body["code"], "payload_too_large");
    assert!(body["detail"].as_str().unwrap().contains("1024"), "{body}");
}

#[tokio::test]
async fn body_under_a_raised_limit_is_accepted() {
    let app = spawn_with(|app| app.body_limit(64 * 1024)).await;
    let big = json!({"name": "x".repeat(4096), "tags": []});
    let response = app
        .client
        .post(app.url("/items"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn slow_handler_is_504_problem() {
    let app = spawn_with(|app| app.request_timeout(Duration::from_millis(100))).await;
    let started = Instant::now();
    let body = problem(app.get("/sleep/5000").await, 504).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "timed out late: {:?}",
        started.elapsed()
    );
    assert_eq!(body["code"], "timeout");
}

#[tokio::test]
async fn internal_error_is_opaque() {
    let app = spawn_app().await;
    let response = app.get("/boom").await;
    let body = problem(response, 500).await;
    assert_eq!(body["code"], "internal");
    assert!(
        !body.to_string().contains("hunter2"),
        "5xx must not leak: {body}"
    );
}

#[tokio::test]
async fn panic_is_500_problem_and_server_survives() {
    let app = spawn_app().await;
    let body = problem(app.get("/panic").await, 500).await;
    assert!(!body.to_string().contains("handler bug"), "{body}");
    assert_eq!(app.get("/hello").await.status(), 200);
}

#[tokio::test]
async fn oversized_chunked_body_without_length_is_413_problem() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /items HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{{\"name\": \"{}", "x".repeat(700));
    for part in [chunk.as_str(), &"y".repeat(700), "\", \"tags\": []}"] {
        stream
            .write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("content-type: application/problem+json"),
        "{response}"
    );
    assert!(
        response.contains("\"code\":\"payload_too_large\""),
        "{response}"
    );
}
