//! The OpenAPI 3 document, generated from the handlers' annotations and served
//! at `GET /openapi.json`.

use utoipa::OpenApi;

use crate::{error, model, routes};

/// The user service's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Machina user service", description = "Profiles with schema-validated traits, preferences, search, soft delete, GDPR export and erasure; registration and passwords through auth."),
    paths(
        routes::account::register, routes::account::change_password,
        routes::profiles::me, routes::profiles::get_profile, routes::profiles::patch_profile,
        routes::profiles::delete_profile, routes::profiles::search,
        routes::preferences::get_preferences, routes::preferences::put_preferences,
        routes::preferences::patch_preferences, routes::preferences::delete_preferences,
        routes::gdpr::export, routes::gdpr::erase,
    ),
    components(schemas(
        model::ProfileView, model::RegisterRequest, model::ProfilePatch, model::ProfilePage,
        model::Export, model::Erasure, error::FieldError,
    )),
    tags(
        (name = "account", description = "Registration and password change (through auth)"),
        (name = "profiles", description = "Profiles: owner or admin"),
        (name = "preferences", description = "Preferences: owner or admin"),
        (name = "gdpr", description = "Export and erasure"),
    )
)]
pub struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
