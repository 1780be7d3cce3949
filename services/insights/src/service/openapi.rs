//! The OpenAPI 3 document served at `GET /openapi.json`.
//!
//! Written by hand: six routes with hand-built JSON bodies (the hot path
//! joins cached strings), so there are no response types to derive from.

use axum::Json;
use serde_json::{Value, json};

fn problem(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(schema: &str) -> Value {
    json!({ "description": "OK",
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn param(name: &str, location: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": location, "required": required, "schema": schema, "description": description })
}

fn k() -> Value {
    param(
        "k",
        "query",
        false,
        json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 10 }),
        "list length, at most REC_LIST_LEN (default 50)",
    )
}

fn id(description: &str) -> Value {
    param(
        "id",
        "path",
        true,
        json!({ "type": "string", "minLength": 1, "maxLength": 256 }),
        description,
    )
}

/// The document.
pub fn spec() -> Value {
    let read_errors = |extra: &[(&str, Value)]| {
        let mut r = json!({ "400": problem("invalid parameter (see `field`)"),
                            "503": problem("nothing computed yet, or Redis is down") });
        for (code, v) in extra {
            r[*code] = v.clone();
        }
        r
    };
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Machina insights service", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Trends, anomalies and recommendations over analytics events, served from Redis." },
        "paths": {
            "/v1/recommendations/users/{id}": { "get": {
                "summary": "Recommendations for a user (seen items excluded; fallback for unknown users)",
                "parameters": [id("user id (actorId or anonymousId)"), k()],
                "responses": merge(json!({ "200": ok("RecommendationList") }), read_errors(&[])) } },
            "/v1/recommendations/items/{id}/similar": { "get": {
                "summary": "Items similar to an item (fallback for unknown items)",
                "parameters": [id("item id (properties.itemId)"), k()],
                "responses": merge(json!({ "200": ok("RecommendationList") }), read_errors(&[])) } },
            "/v1/insights/trends": { "get": {
                "summary": "Rising items and event types, ranked by z",
                "parameters": [
                    param("dimension", "query", false, json!({ "type": "string", "enum": ["item", "type"] }), "only this dimension"),
                    param("limit", "query", false, json!({ "type": "integer", "minimum": 1, "maximum": 100, "default": 100 }), "at most this many"),
                ],
                "responses": merge(json!({ "200": ok("TrendReport") }), read_errors(&[])) } },
            "/v1/insights/anomalies": { "get": {
                "summary": "Anomalies of one hourly series",
                "parameters": [param("series", "query", true, json!({ "type": "string" }), "`events` or `type:<event type>`")],
                "responses": merge(json!({ "200": ok("SeriesReport") }), read_errors(&[("404", problem("no such series"))])) } },
            "/v1/insights/status": { "get": {
                "summary": "What the current generation holds",
                "responses": merge(json!({ "200": ok("Status") }), read_errors(&[])) } },
            "/v1/insights/recompute": { "post": {
                "summary": "Recompute now, or fold in the events received since the last step (admin: INSIGHTS_ADMIN_TOKEN or a JWT with scope insights:admin)",
                "security": [{ "bearer": [] }],
                "parameters": [param("mode", "query", false, json!({ "type": "string", "enum": ["full", "incremental"], "default": "full" }),
                    "`full`: every result from the lookback window, a new generation; `incremental`: recommendations only, from the events received since the watermark, changed lists rewritten in place (answer: `{mode, applied, duplicates, userLists, itemLists, ...}`)")],
                "responses": merge(json!({ "200": ok("Status") }), json!({
                    "401": problem("missing or invalid token"),
                    "403": problem("not an admin, or admin access not configured"),
                    "400": problem("unknown mode"),
                    "409": problem("a recompute is already running (here or in another replica)"),
                    "503": problem("MongoDB or Redis is down") })) } },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": { "type": "object", "description": "RFC 9457 problem details",
                    "properties": { "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                                    "detail": {"type": "string"}, "code": {"type": "string"}, "field": {"type": "string"} } },
                "Scored": { "type": "object", "properties": {
                    "item": {"type": "string"}, "score": {"type": "number"},
                    "reason": {"type": "string", "enum": ["similar", "trending", "popular"]} } },
                "RecommendationList": { "type": "object", "properties": {
                    "userId": {"type": "string"}, "itemId": {"type": "string"}, "generation": {"type": "integer"},
                    "source": {"type": "string", "enum": ["personalized", "fallback"]},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Scored"}} } },
                "TrendReport": { "type": "object", "properties": {
                    "asOfMs": {"type": "integer"}, "recentWindowMs": {"type": "integer"}, "baselineWindowMs": {"type": "integer"},
                    "generation": {"type": "integer"},
                    "trends": {"type": "array", "items": { "type": "object", "properties": {
                        "dimension": {"type": "string"}, "key": {"type": "string"}, "recent": {"type": "integer"},
                        "baseline": {"type": "integer"}, "expected": {"type": "number"}, "lift": {"type": "number"},
                        "z": {"type": "number"}, "pValue": {"type": "number"} } } } } },
                "SeriesReport": { "type": "object", "properties": {
                    "series": {"type": "string"}, "bucketMs": {"type": "integer"}, "startMs": {"type": "integer"},
                    "points": {"type": "integer"}, "seasonHours": {"type": "integer", "nullable": true},
                    "generation": {"type": "integer"},
                    "anomalies": {"type": "array", "items": { "type": "object", "properties": {
                        "tsMs": {"type": "integer"}, "value": {"type": "number"}, "expected": {"type": "number"},
                        "z": {"type": "number"}, "direction": {"type": "string", "enum": ["spike", "dip"]} } } } } },
                "Status": { "type": "object", "properties": {
                    "generation": {"type": "integer"}, "asOfMs": {"type": "integer"}, "events": {"type": "integer"},
                    "users": {"type": "integer"}, "items": {"type": "integer"}, "trends": {"type": "integer"},
                    "series": {"type": "array", "items": {"type": "string"}} } },
            }
        }
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_route() {
        let spec = spec();
        let paths = spec["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 6);
        assert!(
            spec["paths"]["/v1/recommendations/users/{id}"]["get"]["responses"]["400"].is_object()
        );
        assert!(spec["paths"]["/v1/insights/recompute"]["post"]["responses"]["401"].is_object());
    }
}
