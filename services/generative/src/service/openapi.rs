//! The OpenAPI 3.1 document of the worker, written by hand (the API is small and its
//! bodies are mostly the pipeline's own JSON).

use serde_json::{Value, json};

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let problem_response = |description: &str| json!({"description": description, "content": {"application/problem+json": {"schema": problem}}});
    let context_body = json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GenerateRequest"}}}
    });
    json!({
        "openapi": "3.1.0",
        "info": {"title": "machina-generative", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Runs one ContentPipeline: synchronous generation and asynchronous jobs."},
        "paths": {
            "/v1/generate": {"post": {
                "summary": "Run the pipeline on a context",
                "description": "With `Accept: text/event-stream` the answer is server-sent events: `delta` events ({component, text}) while LLM components answer, then one `result` (the body of the 200) or `error` (a problem) event.",
                "requestBody": context_body,
                "responses": {
                    "200": {"description": "The generated content", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RunResult"}},
                        "text/event-stream": {"schema": {"type": "string"}}}},
                    "400": problem_response("Malformed JSON"),
                    "413": problem_response("Body too large"),
                    "415": problem_response("Not JSON"),
                    "422": problem_response("The context breaks the pipeline's schema (violations listed)"),
                    "502": problem_response("The LLM endpoint failed"),
                    "503": problem_response("A backing service is unavailable")
                }}},
            "/v1/jobs": {"post": {
                "summary": "Queue the pipeline on a context",
                "requestBody": context_body,
                "responses": {
                    "202": {"description": "Accepted: stored and confirmed by the broker",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": {"type": "object", "properties": {"jobId": {"type": "string"}}}}}},
                    "400": problem_response("Malformed JSON"),
                    "422": problem_response("Not a {context} body"),
                    "503": problem_response("MongoDB or RabbitMQ unavailable")
                }}},
            "/v1/jobs/{id}": {"get": {
                "summary": "A job's status and result",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                    "404": problem_response("No such job")
                }}},
            "/v1/pipeline": {"get": {
                "summary": "The definition in force",
                "responses": {"200": {"description": "Name, version, checksum and templates",
                    "content": {"application/json": {"schema": {"type": "object"}}}}}}}
        },
        "components": {"schemas": {
            "GenerateRequest": {"type": "object", "required": ["context"], "additionalProperties": false,
                "properties": {"context": {"description": "The request context the pipeline validates and runs on"}}},
            "RunResult": {"type": "object", "properties": {
                "runId": {"type": "string"}, "pipeline": {"type": "string"}, "version": {"type": "string"},
                "output": {}, "cacheHit": {"type": "boolean"}, "resumed": {"type": "boolean"},
                "usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}},
                "cost": {"type": ["number", "null"]}, "durationMs": {"type": "number"},
                "trace": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "type": {"type": "string"},
                    "status": {"enum": ["ran", "resumed", "skipped"]}, "durationMs": {"type": "number"}}}}}},
            "Job": {"type": "object", "required": ["jobId", "status", "attempts"], "properties": {
                "jobId": {"type": "string"}, "status": {"enum": ["queued", "running", "succeeded", "failed"]},
                "attempts": {"type": "integer"}, "result": {"$ref": "#/components/schemas/RunResult"},
                "error": {"type": "string"}}},
            "Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "code": {"type": "string"}, "field": {"type": "string"},
                "violations": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}}}
        }}
    })
}
