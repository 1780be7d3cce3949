//! OpenAPI v3 documents, enough for kubectl: the path operations carry
//! `x-kubernetes-group-version-kind` and the `fieldValidation` parameter (so kubectl
//! validates on the server instead of downloading schemas), and CRD schemas are
//! published as components (for `kubectl explain`). `/openapi/v2` is not served
//! (404), which kubectl tolerates once v3 answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::Cluster;
use crate::errors::{ApiError, ApiResult};
use crate::registry::{Registry, Resource};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `dev.machina.v1alpha1.Platform`: the component name the apiserver uses.
fn schema_name(r: &Resource) -> String {
    let group: Vec<&str> = if r.group.is_empty() {
        vec!["io", "k8s", "api", "core"]
    } else {
        r.group.split('.').rev().collect()
    };
    format!("{}.{}.{}", group.join("."), r.version, r.kind)
}

fn gvk(r: &Resource) -> Value {
    json!({"group": r.group, "version": r.version, "kind": r.kind})
}

fn params() -> Value {
    json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "force", "in": "query", "schema": {"type": "boolean"}, "uniqueItems": true},
    ])
}

fn operation(r: &Resource, action: &str, id: &str) -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(r))});
    json!({
        "operationId": format!("{id}{}", r.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r),
        "parameters": params(),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}},
    })
}

fn component(r: &Resource) -> Value {
    let mut schema = r
        .crd
        .as_ref()
        .and_then(|c| c.schemas.get(&r.version).cloned())
        .or_else(|| crate::builtin_schema::schema(&r.group, &r.plural).cloned())
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.entry("apiVersion").or_insert_with(|| json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
        props.entry("kind").or_insert_with(|| json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
        props.entry("metadata").or_insert_with(|| json!({"type": "object", "description": "Standard object's metadata.", "x-kubernetes-preserve-unknown-fields": true}));
    }
    schema["x-kubernetes-group-version-kind"] = json!([gvk(r)]);
    schema
}

/// The document of one group/version.
fn gv_document(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for r in reg
        .all()
        .filter(|r| r.group == group && r.version == version)
    {
        let base = format!("/{}", gv_path(group, version));
        let coll = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        paths.insert(
            coll.clone(),
            json!({"get": operation(r, "list", "list"), "post": operation(r, "post", "create")}),
        );
        let item = json!({
            "get": operation(r, "get", "read"), "put": operation(r, "put", "replace"),
            "patch": operation(r, "patch", "patch"), "delete": operation(r, "delete", "delete"),
        });
        paths.insert(format!("{coll}/{{name}}"), item);
        if r.status {
            paths.insert(format!("{coll}/{{name}}/status"), json!({"get": operation(r, "get", "readStatus"), "put": operation(r, "put", "replaceStatus"), "patch": operation(r, "patch", "patchStatus")}));
        }
        schemas.insert(schema_name(r), component(r));
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0+devcluster"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

fn index(reg: &Registry) -> Value {
    let mut paths = BTreeMap::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            let p = gv_path(&g, &v);
            // The hash only has to change when the document does; the state's
            // resourceVersion is cheap and safe (a CRD change bumps it).
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/...`.
pub fn serve(cluster: &Arc<Cluster>, rest: &[&str], _headers: &HeaderMap) -> ApiResult<Response> {
    let st = cluster.lock();
    let doc = match rest {
        ["v3"] => Some(index(&st.registry)),
        ["v3", "api", v] => gv_document(&st.registry, "", v),
        ["v3", "apis", g, v] => gv_document(&st.registry, g, v),
        _ => None,
    };
    match doc {
        Some(d) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            d.to_string(),
        )
            .into_response()),
        None => Err(ApiError::no_route(&format!("/openapi/{}", rest.join("/")))),
    }
}
