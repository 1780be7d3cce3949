//! The OpenAPI 3 document, generated from the handlers' annotations and served
//! at `GET /openapi.json`.

use axum::Json;
use utoipa::OpenApi;

use crate::{diff, model, routes, validate, workflow};

/// The content service's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Machina content service", description = "Typed entries with workflows, versions, localisation, scheduled publishing, events and webhooks."),
    paths(
        routes::create_type, routes::list_types, routes::get_type, routes::update_type, routes::delete_type,
        routes::create_entry, routes::list_entries, routes::get_entry, routes::update_entry, routes::delete_entry,
        routes::transition, routes::schedule, routes::unschedule,
        routes::versions, routes::version, routes::restore, routes::diff, routes::published,
        routes::create_webhook, routes::list_webhooks, routes::get_webhook, routes::delete_webhook, routes::deliveries,
    ),
    components(schemas(
        model::FieldKind, model::FieldDef, model::ContentTypeBody, model::CreateContentType, model::ContentType,
        routes::TypePage, model::LocaleState, workflow::State, model::VersionDoc, model::PublishedDoc,
        model::CreateEntry, model::UpdateEntry, model::TransitionRequest, model::ScheduleRequest,
        model::EntryView, model::EntryPage, model::VersionPage, diff::Diff, diff::Change, diff::ChangeKind,
        model::CreateWebhook, model::WebhookView, model::WebhookPage, model::DeliveryStatus, model::Attempt,
        model::DeliveryDoc, model::DeliveryPage, validate::FieldError,
    )),
    tags(
        (name = "types", description = "Content types and their field schemas"),
        (name = "entries", description = "Entries and published reads"),
        (name = "workflow", description = "Transitions per locale and scheduled publishing"),
        (name = "history", description = "Versions, diff and restore"),
        (name = "webhooks", description = "Signed webhooks and their delivery log"),
    )
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_builds_with_every_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["paths"].as_object().unwrap().len(), 14);
    }
}
