//! `/v1/content/types`: content type CRUD (writes need `content:admin`).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use machina_kit::ApiJson;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::{
    error::Result,
    model::{ContentType, ContentTypeBody, CreateContentType},
    permissions::{ADMIN, Caller},
};

/// Every content type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypePage {
    /// The types, by id.
    pub items: Vec<ContentType>,
}

/// Creates a content type.
#[utoipa::path(post, path = "/v1/content/types", tag = "types", request_body = CreateContentType,
    responses((status = 201, body = ContentType), (status = 409, description = "The id exists"),
        (status = 422, description = "Invalid definition; `errors` lists every problem")))]
pub async fn create_type(
    State(content): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateContentType>,
) -> Result<(StatusCode, Json<ContentType>)> {
    caller.require(&[ADMIN])?;
    Ok((StatusCode::CREATED, Json(content.create_type(body).await?)))
}

/// Lists content types.
#[utoipa::path(get, path = "/v1/content/types", tag = "types", responses((status = 200, body = TypePage)))]
pub async fn list_types(State(content): State<AppState>, caller: Caller) -> Result<Json<TypePage>> {
    caller.require_read()?;
    Ok(Json(TypePage {
        items: content.list_types().await?,
    }))
}

/// Reads a content type.
#[utoipa::path(get, path = "/v1/content/types/{id}", tag = "types", params(("id" = String, Path)),
    responses((status = 200, body = ContentType), (status = 404)))]
pub async fn get_type(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ContentType>> {
    caller.require_read()?;
    Ok(Json(content.get_type(&id).await?))
}

/// Replaces a content type's fields.
#[utoipa::path(put, path = "/v1/content/types/{id}", tag = "types", params(("id" = String, Path)),
    request_body = ContentTypeBody, responses((status = 200, body = ContentType), (status = 404), (status = 422)))]
pub async fn update_type(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContentTypeBody>,
) -> Result<Json<ContentType>> {
    caller.require(&[ADMIN])?;
    Ok(Json(content.update_type(&id, body).await?))
}

/// Deletes a content type no entry uses.
#[utoipa::path(delete, path = "/v1/content/types/{id}", tag = "types", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "Entries of this type exist")))]
pub async fn delete_type(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.require(&[ADMIN])?;
    content.delete_type(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
