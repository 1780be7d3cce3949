//! The benchmark's peer: the least a service can do for the same read and write,
//! a bare axum handler on the same MongoDB collections (no auth, no validation,
//! no versions, no locale resolution). See the README's benchmark section.
//!
//! `MONGODB_URI=... MONGODB_DATABASE=... LISTEN_ADDR=127.0.0.1:8091 cargo run --release -p machina-content --example peer`

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use mongodb::{
    Collection,
    bson::{Document, doc},
};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let uri = std::env::var("MONGODB_URI")?;
    let database = std::env::var("MONGODB_DATABASE")?;
    let addr: SocketAddr = std::env::var("LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8091".to_owned())
        .parse()?;
    let client = mongodb::Client::with_uri_str(uri).await?;
    let entries: Collection<Document> = client.database(&database).collection("entries");
    let router = Router::new()
        .route("/entries/{id}", get(read))
        .route("/entries", post(write))
        .with_state(entries);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

async fn read(
    State(entries): State<Collection<Document>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    match entries.find_one(doc! { "_id": id }).await {
        Ok(Some(found)) => Ok(Json(
            mongodb::bson::Bson::Document(found).into_relaxed_extjson(),
        )),
        Ok(None) => Err(StatusCode::NOT_FOUND),
        Err(_) => Err(StatusCode::SERVICE_UNAVAILABLE),
    }
}

async fn write(
    State(entries): State<Collection<Document>>,
    Json(body): Json<Value>,
) -> Result<StatusCode, StatusCode> {
    let mut document =
        mongodb::bson::to_document(&body).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;
    document.insert("_id", uuid::Uuid::new_v4().to_string());
    entries
        .insert_one(document)
        .await
        .map(|_| StatusCode::CREATED)
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)
}
