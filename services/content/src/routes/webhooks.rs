//! `/v1/content/webhooks`: subscriptions and their delivery log (`content:admin`).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use machina_kit::ApiJson;

use super::AppState;
use crate::{
    error::Result,
    model::{CreateWebhook, DeliveryPage, WebhookPage, WebhookView},
    permissions::{ADMIN, Caller},
};

/// Subscribes a URL to events; the response shows the signing secret once.
#[utoipa::path(post, path = "/v1/content/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookView), (status = 422)))]
pub async fn create_webhook(
    State(content): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookView>)> {
    caller.require(&[ADMIN])?;
    Ok((
        StatusCode::CREATED,
        Json(content.create_webhook(body).await?),
    ))
}

/// Lists subscriptions.
#[utoipa::path(get, path = "/v1/content/webhooks", tag = "webhooks", responses((status = 200, body = WebhookPage)))]
pub async fn list_webhooks(
    State(content): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookPage>> {
    caller.require(&[ADMIN])?;
    Ok(Json(WebhookPage {
        items: content.list_webhooks().await?,
    }))
}

/// Reads a subscription.
#[utoipa::path(get, path = "/v1/content/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView), (status = 404)))]
pub async fn get_webhook(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookView>> {
    caller.require(&[ADMIN])?;
    Ok(Json(content.get_webhook(&id).await?))
}

/// Deletes a subscription (pending deliveries are dropped).
#[utoipa::path(delete, path = "/v1/content/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_webhook(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.require(&[ADMIN])?;
    content.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log: every attempt of the latest deliveries, newest first.
#[utoipa::path(get, path = "/v1/content/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryPage), (status = 404)))]
pub async fn deliveries(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryPage>> {
    caller.require(&[ADMIN])?;
    Ok(Json(DeliveryPage {
        items: content.deliveries(&id).await?,
    }))
}
