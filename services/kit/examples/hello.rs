//! The smallest complete service: `cargo run -p machina-kit --example hello`,
//! then `curl localhost:8080/hello/you`, `/healthz`, `/readyz`, `/metrics`.

use axum::{Router, extract::Path, routing::get};
use machina_kit::{ApiError, App, CommonConfig, Redis, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = CommonConfig::from_env("hello")?;
    let telemetry = telemetry::init(&config)?;

    let router = Router::new().route("/hello/{name}", get(hello));
    let mut app = App::new(&config, router);
    if let Some(url) = &config.redis_url {
        let redis = Redis::connect(url, app.metrics().clone())?;
        app = app.readiness_check(redis.readiness_check());
    }
    app.run().await?;

    telemetry.shutdown();
    Ok(())
}

async fn hello(Path(name): Path<String>) -> Result<String, ApiError> {
    if name.len() > 64 {
        return Err(ApiError::BadRequest {
            field: Some("name".to_owned()),
            reason: "at most 64 characters".to_owned(),
        });
    }
    Ok(format!("hello, {name}\n"))
}
