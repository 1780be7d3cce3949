//! The OpenAPI 3 document served at `/openapi.json`.

use utoipa::OpenApi;

use crate::{model, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Machina media service",
        description = "Uploads, image variants and CDN-friendly delivery"
    ),
    paths(
        routes::upload::upload,
        routes::upload::delete,
        routes::deliver::original_or_variant,
        routes::deliver::thumbnail,
        routes::deliver::meta,
        routes::deliver::sign,
        routes::sessions::create,
        routes::sessions::put_chunk,
        routes::sessions::state,
        routes::sessions::complete,
        routes::sessions::abort,
    ),
    components(schemas(
        model::Asset,
        model::CreateSession,
        model::Session,
        model::SignRequest,
        model::SignedUrl
    ))
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
