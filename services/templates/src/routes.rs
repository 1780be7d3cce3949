//! The HTTP API: thin handlers over [`Templates`]; every error is problem+json.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use machina_kit::ApiJson;

use crate::{
    Templates,
    error::Result,
    model::{
        ActivateRequest, Bundle, BundleQuery, CreateTemplate, PageQuery, RenderRequest,
        RenderResponse, TemplateContent, TemplatePage, TemplateView, ValidateRequest,
        ValidateResponse, VersionPage, VersionView, WriteResult,
    },
    openapi,
    service::WriteMode,
};

/// Shared handler state.
pub type AppState = Arc<Templates>;

/// The service's routes (the kit adds `/healthz`, `/readyz`, `/metrics`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/templates", post(create).get(list))
        .route(
            "/v1/templates/{name}",
            get(get_template).put(update).delete(retire),
        )
        .route("/v1/templates/{name}/versions", get(versions))
        .route("/v1/templates/{name}/versions/{version}", get(version))
        .route("/v1/templates/{name}/activate", post(activate))
        .route("/v1/templates/{name}/render", post(render))
        .route("/v1/templates/{name}/bundle", get(bundle))
        .route("/v1/validate", post(validate))
        .route("/openapi.json", get(openapi::document))
        .with_state(state)
}

fn write_status(result: &WriteResult) -> StatusCode {
    if result.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Creates a template (version 1, active).
#[utoipa::path(post, path = "/v1/templates", tag = "templates",
    request_body = CreateTemplate,
    responses(
        (status = 201, description = "Created and activated", body = WriteResult),
        (status = 409, description = "The name exists"),
        (status = 422, description = "Invalid field, compile errors (`errors` with line/column) or a failing sample context"),
    ))]
#[tracing::instrument(skip_all, fields(name = %body.name))]
pub async fn create(
    State(templates): State<AppState>,
    ApiJson(body): ApiJson<CreateTemplate>,
) -> Result<(StatusCode, Json<WriteResult>)> {
    let (name, content) = body.split();
    let result = templates.write(&name, content, WriteMode::Create).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

/// Adds a version and activates it; idempotent on content.
#[utoipa::path(put, path = "/v1/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "Template name")),
    request_body = TemplateContent,
    responses(
        (status = 201, description = "New version stored and activated", body = WriteResult),
        (status = 200, description = "A version with the same content exists; nothing created", body = WriteResult),
        (status = 422, description = "Invalid content"),
    ))]
#[tracing::instrument(skip_all, fields(name = %name))]
pub async fn update(
    State(templates): State<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<TemplateContent>,
) -> Result<(StatusCode, Json<WriteResult>)> {
    let result = templates.write(&name, body, WriteMode::Update).await?;
    Ok((write_status(&result), Json(result)))
}

/// Lists live templates by name (cursor pagination).
#[utoipa::path(get, path = "/v1/templates", tag = "templates",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (50)"),
        ("after" = Option<String>, Query, description = "The previous page's nextCursor"),
    ),
    responses((status = 200, body = TemplatePage)))]
pub async fn list(
    State(templates): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<TemplatePage>> {
    Ok(Json(
        templates.list(query.limit, query.after.as_deref()).await?,
    ))
}

/// A template's metadata and active version.
#[utoipa::path(get, path = "/v1/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "Template name")),
    responses((status = 200, body = TemplateView), (status = 404, description = "Unknown or retired")))]
pub async fn get_template(
    State(templates): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TemplateView>> {
    Ok(Json(templates.get(&name).await?))
}

/// Retires a template: hidden from lists and renders, versions kept. Idempotent.
#[utoipa::path(delete, path = "/v1/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "Template name")),
    responses((status = 204, description = "Retired (or already retired, or unknown)")))]
#[tracing::instrument(skip_all, fields(name = %name))]
pub async fn retire(
    State(templates): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    templates.retire(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A template's versions, oldest first.
#[utoipa::path(get, path = "/v1/templates/{name}/versions", tag = "templates",
    params(
        ("name" = String, Path, description = "Template name"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (50)"),
        ("after" = Option<String>, Query, description = "The previous page's nextCursor"),
    ),
    responses((status = 200, body = VersionPage), (status = 404, description = "Unknown or retired")))]
pub async fn versions(
    State(templates): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<VersionPage>> {
    Ok(Json(
        templates
            .versions(&name, query.limit, query.after.as_deref())
            .await?,
    ))
}

/// One immutable version.
#[utoipa::path(get, path = "/v1/templates/{name}/versions/{version}", tag = "templates",
    params(
        ("name" = String, Path, description = "Template name"),
        ("version" = i64, Path, description = "Version number"),
    ),
    responses((status = 200, body = VersionView), (status = 404, description = "Unknown template or version")))]
pub async fn version(
    State(templates): State<AppState>,
    Path((name, version)): Path<(String, i64)>,
) -> Result<Json<VersionView>> {
    Ok(Json(templates.version(&name, version).await?))
}

/// Activates a stored version (activation and rollback).
#[utoipa::path(post, path = "/v1/templates/{name}/activate", tag = "templates",
    params(("name" = String, Path, description = "Template name")),
    request_body = ActivateRequest,
    responses((status = 200, body = TemplateView), (status = 404, description = "Unknown template or version")))]
#[tracing::instrument(skip_all, fields(name = %name, version = body.version))]
pub async fn activate(
    State(templates): State<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ActivateRequest>,
) -> Result<Json<TemplateView>> {
    Ok(Json(templates.activate(&name, body.version).await?))
}

/// Renders the active version (or `version`) with `context`.
#[utoipa::path(post, path = "/v1/templates/{name}/render", tag = "render",
    params(("name" = String, Path, description = "Template name")),
    request_body = RenderRequest,
    responses(
        (status = 200, body = RenderResponse),
        (status = 404, description = "Unknown template or version"),
        (status = 422, description = "Context breaks the input schema (`errors[].pointer`), or the render failed: fuel, recursion, output size, undefined value (`code` names it)"),
    ))]
#[tracing::instrument(skip_all, fields(name = %name))]
pub async fn render(
    State(templates): State<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RenderRequest>,
) -> Result<Json<RenderResponse>> {
    Ok(Json(templates.render(&name, body).await?))
}

/// The root version plus every template it needs at their active versions.
#[utoipa::path(get, path = "/v1/templates/{name}/bundle", tag = "render",
    params(
        ("name" = String, Path, description = "Template name"),
        ("version" = Option<i64>, Query, description = "Root version (the active one by default)"),
    ),
    responses((status = 200, body = Bundle), (status = 404, description = "Unknown template or version"),
        (status = 422, description = "A dependency is not stored or retired")))]
pub async fn bundle(
    State(templates): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<BundleQuery>,
) -> Result<Json<Bundle>> {
    Ok(Json(templates.bundle(&name, query.version).await?))
}

/// Checks a candidate template without storing it.
#[utoipa::path(post, path = "/v1/validate", tag = "templates",
    request_body = ValidateRequest,
    responses((status = 200, body = ValidateResponse)))]
pub async fn validate(
    State(templates): State<AppState>,
    ApiJson(body): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>> {
    Ok(Json(templates.validate(body).await?))
}
