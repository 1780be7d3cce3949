//! Malformed requests over raw HTTP get Kubernetes-shaped Status errors.

use serde_json::{Value, json};

use crate::support::start;

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn malformed_requests_get_status_errors() {
    let dc = start().await;
    let http = reqwest::Client::new();
    let base = dc.base_url();
    let cms = format!("{base}/api/v1/namespaces/default/configmaps");

    let (code, body) = send(http.get(&cms).bearer_auth("wrong")).await;
    assert_eq!((code, body["reason"].as_str()), (401, Some("Unauthorized")));

    let (code, body) = send(
        http.post(&cms)
            .bearer_auth(dc.token())
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (code, body["kind"].as_str(), body["reason"].as_str()),
        (400, Some("Status"), Some("BadRequest"))
    );

    let (code, body) = send(
        http.post(&cms)
            .bearer_auth(dc.token())
            .json(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})),
    )
    .await;
    assert_eq!(code, 400, "{body}");

    let (code, body) = send(
        http.post(&cms)
            .bearer_auth(dc.token())
            .json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})),
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");

    let (code, _) = send(
        http.post(&cms)
            .bearer_auth(dc.token())
            .json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})),
    )
    .await;
    assert_eq!(code, 201);
    let (code, body) = send(
        http.patch(format!("{cms}/c"))
            .bearer_auth(dc.token())
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );

    let (code, body) = send(
        http.get(format!("{base}/apis/nope.example/v1/things"))
            .bearer_auth(dc.token()),
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));

    let (code, body) = send(
        http.get(format!("{cms}?watch=true&resourceVersion=abc"))
            .bearer_auth(dc.token()),
    )
    .await;
    assert_eq!(code, 400, "{body}");

    let (code, body) = send(
        http.delete(format!("{cms}/c?propagationPolicy=Sideways"))
            .bearer_auth(dc.token()),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = send(http.get(format!("{cms}/c")).bearer_auth(dc.token())).await;
    assert_eq!(code, 200, "a refused delete deleted nothing");
    dc.shutdown().await;
}

#[tokio::test]
async fn refuses_to_listen_beyond_loopback() {
    let config = machina_devcluster::Config {
        bind: "0.0.0.0:0".parse().expect("addr"),
        ..Default::default()
    };
    let err = machina_devcluster::DevCluster::start(config)
        .await
        .unwrap_err();
    assert!(
        matches!(err, machina_devcluster::StartError::NotLoopback(_)),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_fields_of_built_in_kinds_follow_field_validation() {
    let dc = start().await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/apis/apps/v1/namespaces/default/deployments",
        dc.base_url()
    );
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "typo"},
        "spec": {"replica": 2, "selector": {"matchLabels": {"app": "t"}},
                 "template": {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": [{"name": "t", "image": "x"}]}}}});
    let (code, st) = send(
        http.post(format!("{url}?fieldValidation=Strict"))
            .json(&body),
    )
    .await;
    assert_eq!(
        (code, st["message"].as_str()),
        (
            400,
            Some("strict decoding error: unknown field \"spec.replica\"")
        )
    );
    let (code, _) = send(http.get(format!("{url}/typo"))).await;
    assert_eq!(code, 404, "nothing written");
    let resp = http.post(&url).json(&body).send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 201);
    let warning = resp
        .headers()
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        warning.contains("unknown field") && warning.contains("spec.replica"),
        "{warning}"
    );
    dc.shutdown().await;
}
