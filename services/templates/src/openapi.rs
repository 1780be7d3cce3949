//! The OpenAPI 3 document, generated from the handlers' annotations and served
//! at `GET /openapi.json`.

use axum::Json;
use utoipa::OpenApi;

use crate::{model, routes};

/// The template service's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Machina template service", description = "Versioned templates, validation, sandboxed rendering and bundles."),
    paths(
        routes::create, routes::list, routes::get_template, routes::update, routes::retire,
        routes::versions, routes::version, routes::activate, routes::render, routes::bundle,
        routes::validate,
    ),
    components(schemas(
        model::Format, model::LimitsBody, model::TemplateContent, model::CreateTemplate,
        model::ActivateRequest, model::RenderRequest, model::ValidateRequest,
        model::LimitsView, model::WriteResult, model::VersionView, model::TemplateView,
        model::TemplateSummary, model::TemplatePage, model::VersionSummary, model::VersionPage,
        model::RenderResponse, model::TemplateProblem, model::ValidateResponse,
        model::BundleRoot, model::BundleTemplate, model::Bundle,
    )),
    tags(
        (name = "templates", description = "Template versions: create, update, activate, retire, validate"),
        (name = "render", description = "Rendering and bundles for local rendering"),
    )
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
