//! `x-request-id`: propagated when valid, generated otherwise, visible to handlers.

use crate::helpers::spawn_app;

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header")
        .to_str()
        .expect("x-request-id is ASCII")
        .to_owned()
}

#[tokio::test]
async fn incoming_request_id_is_propagated_to_response_and_handler() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/whoami"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&response), "req-42");
    assert_eq!(response.text().await.unwrap(), "req-42");
}

#[tokio::test]
async fn missing_request_id_is_generated_and_unique() {
    let app = spawn_app().await;
    let first = app.get("/whoami").await;
    let second = app.get("/whoami").await;
    let (a, b) = (request_id(&first), request_id(&second));
    assert_eq!(a.len(), 36, "a UUID: {a}");
    assert_ne!(a, b);
    assert_eq!(
        first.text().await.unwrap(),
        a,
        "the handler sees the generated id"
    );
}

#[tokio::test]
async fn invalid_request_id_is_replaced() {
    let app = spawn_app().await;
    let long = "x".repeat(200);
    let response = app
        .client
        .get(app.url("/hello"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = request_id(&response);
    assert_ne!(id, long);
    assert_eq!(id.len(), 36);
}

#[tokio::test]
async fn error_responses_carry_the_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "err-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(request_id(&response), "err-1");
}
