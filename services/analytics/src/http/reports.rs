//! `GET /v1/reports/*`: parse the query, scan the matching stored events (type and time
//! in MongoDB, other filters here), compute the report exactly, answer JSON or CSV
//! (`format=csv` or `Accept: text/csv`).

use super::{AppState, pushdown};
use crate::event::Event;
#[allow(unused_imports)] // named by the OpenAPI annotations
use crate::openapi::{
    BreakdownReport, FunnelReport, MetricParams, Problem, RetentionReport, ScopeParams,
    TimeseriesReport,
};
use crate::report::{self, Aggregate, CohortSize, csv};
use crate::rollup::bucket::GranularityKey;
use crate::rollup::filter;
use crate::store::EventQuery;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use machina_crds::analytics_job::{EventFilter, FilterOp};
use machina_kit::ApiError;
use serde_json::json;

/// Most buckets of one time series.
const MAX_BUCKETS: usize = 10_000;

/// Parsed query parameters (repeatable ones keep every value).
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

fn bad(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.into()),
        reason: reason.into(),
    }
}

impl Params {
    fn parse(raw: Option<String>) -> Result<Self, ApiError> {
        let raw = raw.unwrap_or_default();
        serde_urlencoded::from_str(&raw)
            .map(Self)
            .map_err(|e| bad("query", e.to_string()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn time(&self, name: &str, default: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
        self.get(name).map_or(Ok(default), |v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    bad(
                        name,
                        "must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z",
                    )
                })
        })
    }

    fn field(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.get(name).map(|v| check_field(name, v)).transpose()
    }
}

/// Event field names a query may use.
fn check_field(param: &str, value: &str) -> Result<String, ApiError> {
    let simple = [
        "type",
        "source",
        "actorId",
        "anonymousId",
        "sessionId",
        "identity",
    ];
    let nested = value.split_once('.').is_some_and(|(root, rest)| {
        matches!(root, "properties" | "context")
            && rest.split('.').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
    });
    if simple.contains(&value) || nested {
        Ok(value.to_owned())
    } else {
        Err(bad(
            param,
            format!(
                "{value:?} is not an event field: use one of {}, properties.<name> or context.<name>",
                simple.join(", ")
            ),
        ))
    }
}

/// `filter=<field>:<op>:<value>`, op in eq, ne, gt, gte, lt, lte, in (values split by `|`), exists.
fn parse_filter(spec: &str) -> Result<EventFilter, ApiError> {
    let mut parts = spec.splitn(3, ':');
    let (field, op, value) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next(),
    );
    let field = check_field("filter", field)?;
    let op = match op {
        "eq" => FilterOp::Eq,
        "ne" => FilterOp::Ne,
        "gt" => FilterOp::Gt,
        "gte" => FilterOp::Gte,
        "lt" => FilterOp::Lt,
        "lte" => FilterOp::Lte,
        "in" => FilterOp::In,
        "exists" => FilterOp::Exists,
        _ => {
            return Err(bad(
                "filter",
                format!(
                    "{spec:?}: expected <field>:<op>:<value> with op eq, ne, gt, gte, lt, lte, in or exists"
                ),
            ));
        }
    };
    let (value, values) = match (op, value) {
        (FilterOp::Exists, _) => (None, None),
        (FilterOp::In, Some(v)) => (None, Some(v.split('|').map(str::to_owned).collect())),
        (_, Some(v)) => (Some(v.to_owned()), None),
        (_, None) => {
            return Err(bad(
                "filter",
                format!("{spec:?}: the operator needs a value"),
            ));
        }
    };
    Ok(EventFilter {
        field,
        op,
        value,
        values,
    })
}

/// The common part of every report: range, types, filters, output format.
struct Scope {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: EventQuery,
    filters: Vec<EventFilter>,
    csv: bool,
}

impl Scope {
    fn parse(params: &Params, headers: &HeaderMap) -> Result<Self, ApiError> {
        let now = Utc::now();
        let to = params.time("to", now)?;
        let from = params.time("from", to - Duration::days(7))?;
        if from >= to {
            return Err(bad("from", "must be before to"));
        }
        let types: Vec<String> = params
            .all("type")
            .flat_map(|t| t.split(','))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let filters = params
            .all("filter")
            .map(parse_filter)
            .collect::<Result<_, _>>()?;
        let csv = match params.get("format") {
            Some("csv") => true,
            Some("json") => false,
            Some(other) => return Err(bad("format", format!("{other:?}: expected json or csv"))),
            None => headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/csv")),
        };
        Ok(Self {
            from,
            to,
            query: EventQuery {
                types,
                from: Some(from),
                to: Some(to),
            },
            filters,
            csv,
        })
    }

    async fn events(&self, state: &AppState) -> Result<Vec<Event>, ApiError> {
        let limit = state.config.report_max_events;
        let fail = |e: mongodb::error::Error| ApiError::Unavailable(format!("mongodb: {e}"));
        let mut stream = Box::pin(state.store.scan(&self.query).await.map_err(fail)?);
        let mut events = Vec::new();
        while let Some(event) = stream.try_next().await.map_err(fail)? {
            if self.filters.iter().all(|f| filter::accepts(f, &event)) {
                if events.len() == limit {
                    return Err(ApiError::Unprocessable {
                        field: Some("from".into()),
                        reason: format!(
                            "more than {limit} events match; narrow the range or filters"
                        ),
                    });
                }
                events.push(event);
            }
        }
        Ok(events)
    }
}

fn csv_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// The metric and its property (`unique` counts `identity` unless told otherwise).
fn metric(params: &Params) -> Result<(Aggregate, String), ApiError> {
    let name = params.get("metric").unwrap_or("count");
    let aggregate = Aggregate::parse(name).ok_or_else(|| {
        bad(
            "metric",
            format!("{name:?}: expected count, sum, unique, p50, p95 or p99"),
        )
    })?;
    let property = match (aggregate, params.field("property")?) {
        (_, Some(p)) => p,
        (Aggregate::Unique, None) => "identity".into(),
        (Aggregate::Count, None) => String::new(),
        (_, None) => {
            return Err(bad(
                "property",
                format!("metric {name} needs a numeric property such as properties.price"),
            ));
        }
    };
    Ok((aggregate, property))
}

/// `GET /v1/reports/timeseries`.
#[utoipa::path(get, path = "/v1/reports/timeseries", tag = "reports",
    params(ScopeParams, MetricParams,
        ("bucket" = Option<String>, Query, description = "minute, hour (default) or day; at most 10,000 buckets"),
        ("groupBy" = Option<String>, Query, description = "A field to split the series by, such as properties.country")),
    responses(
        (status = 200, description = "One series per group, every bucket present",
            content((TimeseriesReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than `REPORT_MAX_EVENTS` events match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn timeseries(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw)?;
    let scope = Scope::parse(&params, &headers)?;
    let (aggregate, property) = metric(&params)?;
    let bucket_name = params.get("bucket").unwrap_or("hour");
    let bucket = GranularityKey::parse(bucket_name).ok_or_else(|| {
        bad(
            "bucket",
            format!("{bucket_name:?}: expected minute, hour or day"),
        )
    })?;
    let buckets =
        (scope.to - bucket.floor(scope.from)).num_seconds() / bucket.length().num_seconds();
    if buckets > MAX_BUCKETS as i64 {
        return Err(bad(
            "bucket",
            format!("the range holds {buckets} buckets; at most {MAX_BUCKETS}"),
        ));
    }
    let group_by = params.field("groupBy")?;
    let pushdown = state.config.report_pushdown
        && scope.filters.is_empty()
        && matches!(aggregate, Aggregate::Count | Aggregate::Unique);
    let (series, scanned) = if pushdown {
        let cells = pushdown::cells(
            &state.store,
            &scope.query,
            aggregate,
            &property,
            bucket,
            group_by.as_deref(),
        )
        .await
        .map_err(|e| ApiError::Unavailable(format!("mongodb: {e}")))?;
        (
            report::from_cells(cells, bucket, scope.from, scope.to, group_by.is_some()),
            None,
        )
    } else {
        let events = scope.events(&state).await?;
        let series = report::timeseries(
            &events,
            aggregate,
            &property,
            bucket,
            group_by.as_deref(),
            scope.from,
            scope.to,
        );
        (series, Some(events.len()))
    };
    if scope.csv {
        let rows = series.iter().flat_map(|s| {
            s.points.iter().map(|p| {
                vec![
                    p.t.to_rfc3339(),
                    s.group.clone().unwrap_or_default(),
                    csv::number(p.value),
                ]
            })
        });
        return Ok(csv_response(csv::document(&["t", "group", "value"], rows)));
    }
    Ok(axum::Json(json!({
        "metric": params.get("metric").unwrap_or("count"), "property": property, "bucket": bucket.name(),
        "from": scope.from, "to": scope.to, "groupBy": group_by, "eventsScanned": scanned, "pipeline": pushdown, "series": series,
    }))
    .into_response())
}

/// `GET /v1/reports/breakdown`.
#[utoipa::path(get, path = "/v1/reports/breakdown", tag = "reports",
    params(ScopeParams, MetricParams,
        ("groupBy" = String, Query, description = "The field to group by, such as properties.country"),
        ("limit" = Option<usize>, Query, description = "Most rows (50)")),
    responses(
        (status = 200, description = "Rows largest first",
            content((BreakdownReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than `REPORT_MAX_EVENTS` events match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn breakdown(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw)?;
    let scope = Scope::parse(&params, &headers)?;
    let (aggregate, property) = metric(&params)?;
    let group_by = params
        .field("groupBy")?
        .ok_or_else(|| bad("groupBy", "is required, for example properties.country"))?;
    let limit: usize = params.get("limit").map_or(Ok(50), |v| {
        v.parse()
            .map_err(|_| bad("limit", "must be a positive integer"))
    })?;
    let events = scope.events(&state).await?;
    let mut rows = report::breakdown(&events, aggregate, &property, &group_by);
    rows.truncate(limit.max(1));
    if scope.csv {
        let rows = rows
            .iter()
            .map(|(g, v)| vec![g.clone().unwrap_or_default(), csv::number(*v)]);
        return Ok(csv_response(csv::document(&["group", "value"], rows)));
    }
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(group, value)| json!({"group": group, "value": value}))
        .collect();
    Ok(axum::Json(json!({"metric": params.get("metric").unwrap_or("count"), "property": property, "groupBy": group_by,
        "from": scope.from, "to": scope.to, "events": events.len(), "rows": rows})).into_response())
}

fn parse_window(value: &str) -> Option<Duration> {
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let n: i64 = value[..digits].parse().ok()?;
    let d = match &value[digits..] {
        "" | "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return None,
    };
    (n > 0).then_some(d)
}

/// `GET /v1/reports/funnel?steps=a,b,c&window=1h`.
#[utoipa::path(get, path = "/v1/reports/funnel", tag = "reports",
    params(ScopeParams,
        ("steps" = String, Query, description = "2 to 10 comma-separated event types, in order"),
        ("window" = Option<String>, Query, description = "Conversion window from the first step: 30m, 1h (default), 7d or seconds")),
    responses(
        (status = 200, description = "Identities reaching each step in order",
            content((FunnelReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than `REPORT_MAX_EVENTS` events match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn funnel(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw)?;
    let mut scope = Scope::parse(&params, &headers)?;
    let steps: Vec<String> = params
        .get("steps")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !(2..=10).contains(&steps.len()) {
        return Err(bad(
            "steps",
            "2 to 10 comma-separated event types, for example page.viewed,item.viewed,item.purchased",
        ));
    }
    let window_text = params.get("window").unwrap_or("1h");
    let window = parse_window(window_text).ok_or_else(|| {
        bad(
            "window",
            format!("{window_text:?}: expected a duration such as 30m, 1h or 7d"),
        )
    })?;
    scope.query.types = steps.clone();
    let events = scope.events(&state).await?;
    let report = report::funnel(&events, &steps, window);
    if scope.csv {
        let rows = report.iter().enumerate().map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.kind.clone(),
                s.count.to_string(),
                s.conversion_from_previous.to_string(),
                s.conversion_from_start.to_string(),
            ]
        });
        return Ok(csv_response(csv::document(
            &[
                "step",
                "type",
                "count",
                "conversionFromPrevious",
                "conversionFromStart",
            ],
            rows,
        )));
    }
    Ok(axum::Json(json!({"from": scope.from, "to": scope.to, "windowSeconds": window.num_seconds(), "steps": report})).into_response())
}

/// `GET /v1/reports/retention?cohort=day|week&periods=N`.
#[utoipa::path(get, path = "/v1/reports/retention", tag = "reports",
    params(ScopeParams,
        ("cohort" = Option<String>, Query, description = "day (default) or week (ISO weeks)"),
        ("periods" = Option<usize>, Query, description = "Periods per cohort, 1 to 90 (7)")),
    responses(
        (status = 200, description = "Cohorts by first event in the range",
            content((RetentionReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad parameter; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than `REPORT_MAX_EVENTS` events match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MongoDB unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retention(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw)?;
    let scope = Scope::parse(&params, &headers)?;
    let size = match params.get("cohort").unwrap_or("day") {
        "day" => CohortSize::Day,
        "week" => CohortSize::Week,
        other => return Err(bad("cohort", format!("{other:?}: expected day or week"))),
    };
    let periods: usize = params.get("periods").map_or(Ok(7), |v| {
        v.parse()
            .map_err(|_| bad("periods", "must be an integer from 1 to 90"))
    })?;
    if !(1..=90).contains(&periods) {
        return Err(bad("periods", "must be an integer from 1 to 90"));
    }
    let events = scope.events(&state).await?;
    let cohorts = report::retention(&events, size, periods);
    if scope.csv {
        let rows = cohorts.iter().flat_map(|c| {
            c.retained
                .iter()
                .zip(&c.rates)
                .enumerate()
                .map(move |(k, (r, rate))| {
                    vec![
                        c.cohort.to_rfc3339(),
                        c.size.to_string(),
                        k.to_string(),
                        r.to_string(),
                        rate.to_string(),
                    ]
                })
        });
        return Ok(csv_response(csv::document(
            &["cohort", "size", "period", "retained", "rate"],
            rows,
        )));
    }
    Ok(axum::Json(
        json!({"from": scope.from, "to": scope.to, "periods": periods, "cohorts": cohorts}),
    )
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_fields_parse_or_name_the_parameter() {
        let f = parse_filter("properties.price:gte:10").expect("filter");
        assert_eq!((f.op, f.value.as_deref()), (FilterOp::Gte, Some("10")));
        let f = parse_filter("properties.country:in:DE|FR").expect("in");
        assert_eq!(f.values, Some(vec!["DE".into(), "FR".into()]));
        assert!(parse_filter("properties.x:exists").is_ok());
        assert!(parse_filter("properties.x:like:a").is_err());
        assert!(parse_filter("properties.x:eq").is_err());
        assert!(check_field("groupBy", "password").is_err());
        assert!(check_field("groupBy", "properties.").is_err());
        assert_eq!(parse_window("90m"), Some(Duration::minutes(90)));
        assert_eq!(parse_window("0h"), None);
        assert_eq!(parse_window("1w"), None);
    }
}
