//! The HTTP edge: authentication, path routing (discovery, OpenAPI, resources),
//! query parameters and bodies, and turning results into responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::list::{ListRequest, list};
use crate::ops::{self, DeleteOpts, Propagation, WriteOpts};
use crate::patch::PatchKind;
use crate::registry::Resource;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::watch::{self, WatchRequest};
use crate::{Cluster, admission, discovery, openapi, scale, table};

/// Largest request body accepted (the apiserver's limit is 3 MiB for objects).
const MAX_BODY: usize = 3 * 1024 * 1024;

type Params = HashMap<String, String>;

/// Axum entry point: every request comes here.
pub async fn handle(AxState(cluster): AxState<Arc<Cluster>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if !authorized(&cluster, &parts.headers) {
        return ApiError::unauthorized().into_response();
    }
    let params: Params = Query::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let path = parts.uri.path().trim_end_matches('/').to_owned();
    tracing::debug!(method = %parts.method, %path, query = ?parts.uri.query(), "request");
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError {
                code: 413,
                reason: "RequestEntityTooLarge",
                message: "Request entity too large: limit is 3145728".into(),
                details: None,
            }
            .into_response();
        }
    };
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body = if ct.contains("protobuf") || ct.contains("cbor") {
        // Only JSON/YAML bodies are understood, plus the few protobuf bodies of
        // kubectl's `create` generators.
        match crate::protobuf::decode(&body) {
            Some(v) => axum::body::Bytes::from(v.to_string()),
            None => return ApiError::unsupported_media_type(ct).into_response(),
        }
    } else {
        body
    };
    if parts.method == Method::GET
        && let ["api", "v1", "namespaces", ns, "pods", pod, "log"] = path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .as_slice()
    {
        return crate::logs::serve(cluster.clone(), ns, pod, &params).await;
    }
    match route(
        &cluster,
        &parts.method,
        &path,
        &params,
        &parts.headers,
        &body,
    ) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// A presented bearer token must be the cluster's. Requests without one are served:
/// the server only listens on loopback, and client-go (kubectl) never sends a bearer
/// token over plain http (see README, "Authentication").
fn authorized(cluster: &Cluster, headers: &HeaderMap) -> bool {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(v) => v
            .strip_prefix("Bearer ")
            .is_some_and(|t| t.trim() == cluster.token),
    }
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn route(
    cluster: &Arc<Cluster>,
    method: &Method,
    path: &str,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match segs.as_slice() {
        ["version"] => return ok(discovery::version()),
        ["healthz"] | ["readyz"] | ["livez"] => return Ok((StatusCode::OK, "ok").into_response()),
        ["openapi", rest @ ..] => return openapi::serve(cluster, rest, headers),
        _ => {}
    }
    let st = cluster.lock();
    let (group, version, rest) = match segs.as_slice() {
        ["api"] => return ok(discovery::core_versions(&cluster.server_address)),
        ["apis"] => return ok(discovery::group_list(&st.registry)),
        ["api", "v1"] => {
            return discovery::resource_list(&st.registry, "", "v1")
                .map_or_else(|| Err(ApiError::no_route(path)), ok);
        }
        ["apis", g] => {
            return discovery::group(&st.registry, g)
                .map_or_else(|| Err(ApiError::no_route(path)), ok);
        }
        ["apis", g, v] => {
            return discovery::resource_list(&st.registry, g, v)
                .map_or_else(|| Err(ApiError::no_route(path)), ok);
        }
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_route(path)),
    };
    let is_resource = |p: &str| st.registry.get(group, version, p).is_some();
    let (ns, rest): (Option<&str>, &[&str]) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if is_resource(plural)
                && !(group.is_empty() && matches!(*plural, "status" | "finalize")) =>
        {
            (Some(*ns), &rest_from(rest, 2, plural, tail))
        }
        other => (None, other),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return Err(ApiError::no_route(path)),
    };
    let res = st
        .registry
        .get(group, version, plural)
        .cloned()
        .ok_or_else(|| ApiError::no_route(path))?;
    drop(st);
    if res.namespaced && ns.is_none() && name.is_some() {
        // `/api/v1/pods/x`: named objects of a namespaced resource need a namespace.
        return Err(ApiError::no_route(path));
    }
    if let Some(s) = sub
        && !(s == "status" && res.status)
        && !(s == "finalize" && res.plural == "namespaces")
        && !(s == "scale" && scale::has_scale(&res))
    {
        return Err(ApiError::no_route(path));
    }
    if sub == Some("scale")
        && let Some(n) = name
    {
        return scale_route(cluster, method, &res, ns, n, params, headers, body);
    }
    let sub = sub.filter(|s| *s == "status");
    let ns = if res.namespaced { ns } else { None };
    resource(cluster, method, &res, ns, name, sub, params, headers, body)
}

/// `rest` with the namespace prefix removed (helper for slice patterns).
fn rest_from<'a>(
    _rest: &[&'a str],
    _skip: usize,
    plural: &&'a str,
    tail: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec![*plural];
    v.extend_from_slice(tail);
    v
}

fn flag(params: &Params, k: &str) -> bool {
    params.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn write_opts(params: &Params, headers: &HeaderMap) -> ApiResult<WriteOpts> {
    let explicit = params
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .cloned();
    let manager = explicit.clone().unwrap_or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_owned()
    });
    Ok(WriteOpts {
        manager,
        manager_explicit: explicit.is_some(),
        validation: admission::field_validation(params.get("fieldValidation").map(String::as_str))?,
        dry_run: params.get("dryRun").is_some_and(|v| v == "All"),
        force: flag(params, "force"),
    })
}

fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    serde_json::from_slice(body).or_else(|je| {
        serde_yaml::from_slice::<Value>(body).map_err(|_| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded: {je}"
            ))
        })
    })
}

fn written(w: ops::Written) -> Response {
    let code = if w.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = json_response(code, &w.object);
    for warning in w.warnings {
        let text = format!(
            "299 - {}",
            serde_json::to_string(&warning).unwrap_or_default()
        );
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

fn list_request(params: &Params) -> ApiResult<ListRequest> {
    Ok(ListRequest {
        labels: LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(params.get("fieldSelector").map_or("", String::as_str))?,
        limit: params
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0),
        continue_token: params.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

fn delete_opts(params: &Params, body: &[u8]) -> ApiResult<DeleteOpts> {
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(body)?
    };
    let policy = params
        .get("propagationPolicy")
        .cloned()
        .or_else(|| b["propagationPolicy"].as_str().map(str::to_owned));
    let propagation = match policy.as_deref() {
        None | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    let orphan = b["orphanDependents"].as_bool() == Some(true);
    Ok(DeleteOpts {
        propagation: if orphan {
            Propagation::Orphan
        } else {
            propagation
        },
        uid: b["preconditions"]["uid"].as_str().map(str::to_owned),
        resource_version: b["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_owned),
        grace_period: params
            .get("gracePeriodSeconds")
            .and_then(|g| g.parse().ok())
            .or_else(|| b["gracePeriodSeconds"].as_i64()),
        dry_run: params.get("dryRun").is_some_and(|v| v == "All")
            || b["dryRun"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "All")),
    })
}

/// SelfSubjectAccessReview / SelfSubjectReview: everything is allowed and everyone
/// is the devcluster admin (there is no RBAC), which `kubectl auth can-i/whoami` show.
fn review(method: &Method, res: &Resource, body: &[u8]) -> ApiResult<Response> {
    if *method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let mut obj = parse_body(body)?;
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    obj["status"] = if res.plural == "selfsubjectreviews" {
        json!({"userInfo": {"username": "devcluster-admin", "groups": ["system:masters", "system:authenticated"]}})
    } else {
        json!({"allowed": true, "reason": "devcluster does not enforce RBAC"})
    };
    Ok(json_response(StatusCode::CREATED, &obj))
}

#[allow(clippy::too_many_arguments)]
fn scale_route(
    cluster: &Arc<Cluster>,
    method: &Method,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let ns = if res.namespaced { ns } else { None };
    match *method {
        Method::GET => Ok(json_response(
            StatusCode::OK,
            &scale::get(&cluster.lock(), res, ns, name)?,
        )),
        Method::PUT => {
            let opts = write_opts(params, headers)?;
            Ok(written(scale::write(
                &mut cluster.lock(),
                res,
                ns,
                name,
                None,
                parse_body(body)?,
                &opts,
            )?))
        }
        Method::PATCH => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = PatchKind::from_content_type(ct)?;
            let opts = write_opts(params, headers)?;
            Ok(written(scale::write(
                &mut cluster.lock(),
                res,
                ns,
                name,
                Some(kind),
                parse_body(body)?,
                &opts,
            )?))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[allow(clippy::too_many_arguments)]
fn resource(
    cluster: &Arc<Cluster>,
    method: &Method,
    res: &Resource,
    ns: Option<&str>,
    name: Option<&str>,
    sub: Option<&str>,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let wants_table = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    if res.is_review() {
        return review(method, res, body);
    }
    match (method.clone(), name) {
        (Method::GET, None) if flag(params, "watch") => {
            let lr = list_request(params)?;
            let req = WatchRequest {
                res: res.clone(),
                namespace: ns.map(str::to_owned),
                labels: lr.labels,
                fields: lr.fields,
                resource_version: params.get("resourceVersion").cloned().unwrap_or_default(),
                bookmarks: flag(params, "allowWatchBookmarks"),
                send_initial: flag(params, "sendInitialEvents"),
                timeout: Duration::from_secs(
                    params
                        .get("timeoutSeconds")
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(1800),
                ),
                bookmark_interval: cluster.bookmark_interval,
            };
            let body: Body = watch::start(&cluster.lock(), req)?;
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        (Method::GET, None) => {
            let v = list(&cluster.lock(), res, ns, &list_request(params)?)?;
            let v = if wants_table {
                table::list_table(res, &v)
            } else {
                v
            };
            Ok(json_response(StatusCode::OK, &v))
        }
        (Method::GET, Some(n)) => {
            let v = ops::get(&cluster.lock(), res, ns, n)?;
            let v = if wants_table {
                table::object_table(res, &v)
            } else {
                v
            };
            Ok(json_response(StatusCode::OK, &v))
        }
        (Method::POST, None) => {
            let obj = parse_body(body)?;
            let opts = write_opts(params, headers)?;
            Ok(written(ops::create(
                &mut cluster.lock(),
                res,
                ns,
                obj,
                &opts,
            )?))
        }
        (Method::PUT, Some(n)) => {
            let obj = parse_body(body)?;
            let opts = write_opts(params, headers)?;
            Ok(written(ops::update(
                &mut cluster.lock(),
                res,
                ns,
                n,
                obj,
                sub,
                &opts,
            )?))
        }
        (Method::PATCH, Some(n)) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = PatchKind::from_content_type(ct)?;
            let patch = parse_body(body)?;
            let opts = write_opts(params, headers)?;
            Ok(written(ops::patch(
                &mut cluster.lock(),
                res,
                ns,
                n,
                kind,
                patch,
                sub,
                &opts,
            )?))
        }
        (Method::DELETE, Some(n)) => {
            let opts = delete_opts(params, body)?;
            let (obj, pending) = ops::delete(&mut cluster.lock(), res, ns, n, &opts)?;
            let code = if pending {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj))
        }
        (Method::DELETE, None) => {
            let opts = delete_opts(params, body)?;
            let mut st = cluster.lock();
            let v = list(
                &st,
                res,
                ns,
                &ListRequest {
                    limit: 0,
                    continue_token: None,
                    ..list_request(params)?
                },
            )?;
            let mut items = Vec::new();
            for item in v["items"].as_array().into_iter().flatten() {
                let (n, ins) = (
                    item["metadata"]["name"].as_str().unwrap_or_default(),
                    item["metadata"]["namespace"].as_str(),
                );
                if let Ok((o, _)) = ops::delete(&mut st, res, ins, n, &opts) {
                    items.push(o);
                }
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"apiVersion": res.api_version(), "kind": format!("{}List", res.kind), "metadata": {"resourceVersion": st.rv.to_string()}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}
