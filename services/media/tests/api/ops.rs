//! The OpenAPI document and the kit's readiness with MongoDB and RabbitMQ.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn openapi_lists_the_endpoints_and_readyz_checks_dependencies() {
    let app = spawn_app().await;
    let doc = app
        .send(app.client.get(app.url("/openapi.json")))
        .await
        .expect(StatusCode::OK);
    for path in [
        "/v1/media",
        "/v1/media/{id}",
        "/v1/media/{id}/thumbnail",
        "/v1/uploads/{id}",
        "/v1/media/{id}/signed-url",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        ready = app.send(app.client.get(app.url("/readyz"))).await.status;
        if ready == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready, StatusCode::OK);
}
