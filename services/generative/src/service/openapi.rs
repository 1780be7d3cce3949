//! The OpenAPI 3 document, generated from the handlers' annotations and the bodies' types,
//! served at `GET /openapi.json`.

use super::{api, model};
use crate::components::{CacheOutcome, ComponentInfo, Violation};
use crate::executor::{RunResult, Status, TraceEntry};
use crate::llm::Usage;
use axum::Json;
use utoipa::OpenApi;

/// The worker's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "machina-generative", description = "Runs one ContentPipeline: synchronous generation and asynchronous jobs."),
    paths(api::generate, api::submit, api::job, api::pipeline),
    components(schemas(
        model::GenerateRequest, model::JobAccepted, model::JobStatus, model::JobView,
        model::PipelineView, model::TemplateVersion, model::Problem,
        RunResult, TraceEntry, Status, ComponentInfo, CacheOutcome, Usage, Violation,
    )),
    tags(
        (name = "generate", description = "Synchronous runs of the pipeline"),
        (name = "jobs", description = "Asynchronous runs over RabbitMQ"),
        (name = "pipeline", description = "The definition in force"),
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
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("serialises")
    }

    #[test]
    fn lists_every_route_with_its_method() {
        let doc = document();
        for (path, method) in [
            ("/v1/generate", "post"),
            ("/v1/jobs", "post"),
            ("/v1/jobs/{id}", "get"),
            ("/v1/pipeline", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is missing: {}",
                doc["paths"]
            );
        }
        assert_eq!(
            doc["paths"].as_object().map(|p| p.len()),
            Some(4),
            "a route without a document entry, or the other way round"
        );
    }

    #[test]
    fn describes_the_bodies_and_problems() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for schema in [
            "GenerateRequest",
            "RunResult",
            "TraceEntry",
            "JobView",
            "PipelineView",
            "Problem",
        ] {
            assert!(schemas[schema].is_object(), "{schema} is missing");
        }
        let trace = &schemas["TraceEntry"].to_string();
        assert!(
            trace.contains("iteration") && trace.contains("loop"),
            "{trace}"
        );
        let generate = &doc["paths"]["/v1/generate"]["post"]["responses"];
        assert!(
            generate["200"]["content"]["text/event-stream"].is_object(),
            "{generate}"
        );
        assert!(
            generate["422"]["content"]["application/problem+json"].is_object(),
            "{generate}"
        );
        let jobs = &doc["paths"]["/v1/jobs"]["post"]["responses"]["202"];
        assert!(jobs["headers"]["Location"].is_object(), "{jobs}");
    }
}
