//! The upstream of the gateway benchmark: answers every request with a small
//! JSON body. `bench/compare.sh` runs it; usage: `bench_upstream 127.0.0.1:18080`.

use axum::{Json, Router};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let router =
        Router::new().fallback(|| async { Json(json!({ "hello": "world", "items": [1, 2, 3] })) });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}
