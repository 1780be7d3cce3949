//! The samples validate against the generated CRDs (schema, defaults and CEL rules), and a
//! table of invalid objects is rejected with an error naming the offending field.

use machina_structural::{AdmitError, CrdValidator, FieldValidation};
use serde_json::{Value, json};
use std::path::PathBuf;

fn repo_path(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn yaml_file(path: &str) -> Value {
    let text =
        std::fs::read_to_string(repo_path(path)).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The validator of the committed CRD of a plural (`platforms`, …).
fn validator(plural: &str) -> CrdValidator {
    let crd = serde_json::from_value(yaml_file(&format!(
        "config/crd/bases/machina.dev_{plural}.yaml"
    )))
    .expect("a CustomResourceDefinition");
    CrdValidator::new(&crd).expect("a valid structural schema")
}

fn plural_of(obj: &Value) -> &'static str {
    match obj["kind"].as_str() {
        Some("Platform") => "platforms",
        Some("Template") => "templates",
        Some("ContentPipeline") => "contentpipelines",
        Some("AnalyticsJob") => "analyticsjobs",
        other => panic!("not a Machina kind: {other:?}"),
    }
}

/// Admits `obj` like the apiserver does on create (`old: None`) or update, with
/// `fieldValidation=Strict`; returns the stored object or the errors as `(field, text)`.
fn admit_with(obj: &Value, old: Option<&Value>) -> Result<Value, Vec<(String, String)>> {
    // The apiserver takes the namespace from the request path, as `kubectl -n acme` would.
    let mut obj = obj.clone();
    if obj["metadata"].get("namespace").is_none() {
        obj["metadata"]["namespace"] = json!("acme");
    }
    match validator(plural_of(&obj)).admit("v1alpha1", obj, old, FieldValidation::Strict) {
        Ok(admitted) => Ok(admitted.object),
        Err(AdmitError::UnknownFields(paths)) => Err(paths
            .iter()
            .map(|p| (p.clone(), machina_structural::unknown_field_message(p)))
            .collect()),
        Err(AdmitError::Invalid(errors)) => Err(errors
            .errors()
            .iter()
            .map(|e| (e.field.clone(), e.to_string()))
            .collect()),
    }
}

/// The errors of creating `obj` (empty when admitted).
fn admit(obj: &Value) -> Vec<(String, String)> {
    admit_with(obj, None).err().unwrap_or_default()
}

const SAMPLES: [&str; 8] = [
    "config/samples/platform.yaml",
    "config/quickstart/platform.yaml",
    "config/quickstart/pipeline.yaml",
    "config/samples/template-product-prompt.yaml",
    "config/samples/template-product-page.yaml",
    "config/samples/contentpipeline.yaml",
    "config/samples/contentpipeline-refine.yaml",
    "config/samples/analyticsjob.yaml",
];

#[test]
fn every_sample_is_admitted() {
    for path in SAMPLES {
        let errors = admit(&yaml_file(path));
        assert!(errors.is_empty(), "{path} is rejected: {errors:#?}");
    }
}

#[test]
fn every_sample_deserialises_into_its_rust_type() {
    use machina_crds::{AnalyticsJob, ContentPipeline, Platform, Template};
    for path in SAMPLES {
        let obj = yaml_file(path);
        let parsed = match plural_of(&obj) {
            "platforms" => serde_json::from_value::<Platform>(obj).map(|_| ()),
            "templates" => serde_json::from_value::<Template>(obj).map(|_| ()),
            "contentpipelines" => serde_json::from_value::<ContentPipeline>(obj).map(|_| ()),
            _ => serde_json::from_value::<AnalyticsJob>(obj).map(|_| ()),
        };
        parsed.unwrap_or_else(|e| panic!("{path} does not fit its Rust type: {e}"));
    }
}

#[test]
fn defaults_are_applied_by_the_schema() {
    let platform = admit_with(&yaml_file("config/samples/platform.yaml"), None).expect("admitted");
    assert_eq!(platform["spec"]["services"]["users"]["replicas"], json!(1));
    assert_eq!(
        platform["spec"]["services"]["users"]["enabled"],
        json!(true)
    );
    assert_eq!(
        platform["spec"]["rabbitmq"]["eventsExchange"],
        json!("machina.events")
    );
    assert_eq!(platform["spec"]["auth"]["keyRotationDays"], json!(30));

    let job = admit_with(&yaml_file("config/samples/analyticsjob.yaml"), None).expect("admitted");
    assert_eq!(job["spec"]["deletionPolicy"], json!("Delete"));
    assert_eq!(job["spec"]["backoffLimit"], json!(3));
}

/// Sets (or with `None` removes) the value at a dotted path such as `spec.components[2].type`.
fn edit(obj: &mut Value, path: &str, value: Option<Value>) {
    let mut segments: Vec<&str> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                segments.push(&rest[..open]);
            }
            let close = rest.find(']').expect("closing bracket");
            segments.push(&rest[open..=close]);
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            segments.push(rest);
        }
    }
    let (last, parents) = segments.split_last().expect("a path");
    let mut cursor = obj;
    for seg in parents {
        cursor = step(cursor, seg);
    }
    match (last.strip_prefix('['), value) {
        (Some(index), Some(v)) => {
            cursor[index.trim_end_matches(']').parse::<usize>().expect("index")] = v
        }
        (Some(index), None) => {
            let i: usize = index.trim_end_matches(']').parse().expect("index");
            cursor.as_array_mut().expect("array").remove(i);
        }
        (None, Some(v)) => cursor[*last] = v,
        (None, None) => {
            cursor.as_object_mut().expect("object").remove(*last);
        }
    }
}

fn step<'a>(cursor: &'a mut Value, seg: &str) -> &'a mut Value {
    match seg.strip_prefix('[') {
        Some(index) => &mut cursor[index.trim_end_matches(']').parse::<usize>().expect("index")],
        None => &mut cursor[seg],
    }
}

/// One invalid object: a sample, the edits that break it, the field the error must name, and
/// words the message must contain.
struct Case {
    name: &'static str,
    sample: &'static str,
    edits: Vec<(&'static str, Option<Value>)>,
    field: &'static str,
    says: &'static str,
}

fn case(
    name: &'static str,
    sample: &'static str,
    edits: Vec<(&'static str, Option<Value>)>,
    field: &'static str,
    says: &'static str,
) -> Case {
    Case {
        name,
        sample,
        edits,
        field,
        says,
    }
}

const PLATFORM: &str = "config/samples/platform.yaml";
const TEMPLATE: &str = "config/samples/template-product-page.yaml";
const PIPELINE: &str = "config/samples/contentpipeline.yaml";
const JOB: &str = "config/samples/analyticsjob.yaml";
const LOOP: &str = "config/samples/contentpipeline-refine.yaml";

fn invalid_platforms() -> Vec<Case> {
    vec![
        case(
            "replicas of the wrong type",
            PLATFORM,
            vec![("spec.services.gateway.replicas", Some(json!("two")))],
            "spec.services.gateway.replicas",
            "integer",
        ),
        case(
            "rate limit out of bounds",
            PLATFORM,
            vec![("spec.gateway.rateLimitPerMinute", Some(json!(0)))],
            "spec.gateway.rateLimitPerMinute",
            "greater than or equal to 1",
        ),
        case(
            "unknown service type",
            PLATFORM,
            vec![("spec.gateway.serviceType", Some(json!("Ingress")))],
            "spec.gateway.serviceType",
            "Unsupported value",
        ),
        case(
            "missing mongodb backend",
            PLATFORM,
            vec![("spec.mongodb", None)],
            "spec.mongodb",
            "Required",
        ),
        case(
            "database prefix breaks the pattern",
            PLATFORM,
            vec![("spec.mongodb.databasePrefix", Some(json!("Acme-DB")))],
            "spec.mongodb.databasePrefix",
            "should match",
        ),
        case(
            "minAvailable not below replicas",
            PLATFORM,
            vec![("spec.services.gateway.minAvailable", Some(json!(2)))],
            "spec.services.gateway.minAvailable",
            "minAvailable must be lower than replicas",
        ),
        case(
            "refresh tokens shorter than access tokens",
            PLATFORM,
            vec![("spec.auth.refreshTokenTtlSeconds", Some(json!(600)))],
            "spec.auth.refreshTokenTtlSeconds",
            "must be longer",
        ),
        case(
            "CORS wildcard with credentials",
            PLATFORM,
            vec![("spec.gateway.corsAllowedOrigins", Some(json!(["*"])))],
            "spec.gateway.corsAllowedOrigins",
            "wildcard",
        ),
        case(
            "gateway without auth",
            PLATFORM,
            vec![("spec.services.auth", Some(json!({"enabled": false})))],
            "spec.services",
            "enable auth",
        ),
        case(
            "object name not DNS-1123",
            PLATFORM,
            vec![("metadata.name", Some(json!("Acme_Platform")))],
            "metadata.name",
            "RFC 1123",
        ),
    ]
}

fn invalid_templates() -> Vec<Case> {
    vec![
        case(
            "fuel of the wrong type",
            TEMPLATE,
            vec![("spec.limits.fuel", Some(json!("lots")))],
            "spec.limits.fuel",
            "integer",
        ),
        case(
            "recursion depth out of bounds",
            TEMPLATE,
            vec![("spec.limits.maxRecursionDepth", Some(json!(0)))],
            "spec.limits.maxRecursionDepth",
            "greater than or equal to 1",
        ),
        case(
            "output limit too large",
            TEMPLATE,
            vec![("spec.limits.maxOutputBytes", Some(json!(1_000_000_000_i64)))],
            "spec.limits.maxOutputBytes",
            "less than or equal to",
        ),
        case(
            "unknown format",
            TEMPLATE,
            vec![("spec.format", Some(json!("Pdf")))],
            "spec.format",
            "Unsupported value",
        ),
        case(
            "missing source",
            TEMPLATE,
            vec![("spec.source", None)],
            "spec.source",
            "Required",
        ),
        case(
            "empty source",
            TEMPLATE,
            vec![("spec.source", Some(json!("")))],
            "spec.source",
            "at least 1",
        ),
        case(
            "platformRef name not DNS-1123",
            TEMPLATE,
            vec![("spec.platformRef.name", Some(json!("Acme")))],
            "spec.platformRef.name",
            "should match",
        ),
        case(
            "pinned version zero",
            TEMPLATE,
            vec![("spec.pinnedVersion", Some(json!(0)))],
            "spec.pinnedVersion",
            "greater than or equal to 1",
        ),
        case(
            "extends itself",
            TEMPLATE,
            vec![("spec.extends", Some(json!("product-page")))],
            "spec.extends",
            "cannot extend itself",
        ),
        case(
            "includes itself",
            TEMPLATE,
            vec![(
                "spec.includes",
                Some(json!(["product-prompt", "product-page"])),
            )],
            "spec.includes",
            "cannot include itself",
        ),
    ]
}

fn invalid_pipelines() -> Vec<Case> {
    vec![
        case(
            "replicas of the wrong type",
            PIPELINE,
            vec![("spec.replicas", Some(json!("2")))],
            "spec.replicas",
            "integer",
        ),
        case(
            "replicas out of bounds",
            PIPELINE,
            vec![("spec.replicas", Some(json!(101)))],
            "spec.replicas",
            "less than or equal to 100",
        ),
        case(
            "prefetch out of bounds",
            PIPELINE,
            vec![("spec.messaging.prefetch", Some(json!(0)))],
            "spec.messaging.prefetch",
            "greater than or equal to 1",
        ),
        case(
            "unknown eviction policy",
            PIPELINE,
            vec![("spec.redis.evictionPolicy", Some(json!("lru")))],
            "spec.redis.evictionPolicy",
            "Unsupported value",
        ),
        case(
            "no components",
            PIPELINE,
            vec![("spec.components", Some(json!([])))],
            "spec.components",
            "at least 1",
        ),
        case(
            "duplicate component names",
            PIPELINE,
            vec![("spec.components[1].name", Some(json!("request")))],
            "spec.components[1]",
            "Duplicate value",
        ),
        case(
            "render of an undeclared template",
            PIPELINE,
            vec![(
                "spec.components[3].renderTemplate.template",
                Some(json!("missing")),
            )],
            "spec.components",
            "declared in spec.templates",
        ),
        case(
            "type and configuration disagree",
            PIPELINE,
            vec![("spec.components[3].type", Some(json!("LlmCompletion")))],
            "spec.components[3]",
            "renderTemplate is set exactly when type is RenderTemplate",
        ),
        case(
            "input names no component",
            PIPELINE,
            vec![("spec.components[2].inputs", Some(json!(["nowhere"])))],
            "spec.components",
            "every component input",
        ),
        case(
            "component is its own input",
            PIPELINE,
            vec![("spec.components[2].inputs", Some(json!(["product"])))],
            "spec.components[2].inputs",
            "its own input",
        ),
        case(
            "LLM component without a provider",
            PIPELINE,
            vec![("spec.llm", None)],
            "spec.llm",
            "needs spec.llm",
        ),
        case(
            "output names no component",
            PIPELINE,
            vec![("spec.output", Some(json!("summary")))],
            "spec.output",
            "must name a component",
        ),
        case(
            "cache without redis",
            PIPELINE,
            vec![("spec.redis.enabled", Some(json!(false)))],
            "spec.redis.enabled",
            "Cache component needs",
        ),
        case(
            "lookup outside the allowed databases",
            PIPELINE,
            vec![("spec.mongodb.readDatabases", Some(json!(["acme_users"])))],
            "spec.components",
            "may only read",
        ),
        case(
            "minAvailable not below replicas",
            PIPELINE,
            vec![("spec.minAvailable", Some(json!(2)))],
            "spec.minAvailable",
            "minAvailable must be lower",
        ),
        case(
            "LLM base URL not http(s)",
            PIPELINE,
            vec![("spec.llm.baseUrl", Some(json!("ftp://llm")))],
            "spec.llm.baseUrl",
            "should match",
        ),
    ]
}

fn invalid_loops() -> Vec<Case> {
    let body = "spec.components[2].repeat.components";
    vec![
        case(
            "Repeat without its block",
            LOOP,
            vec![("spec.components[2].repeat", None)],
            "spec.components[2]",
            "repeat is set exactly when type is Repeat",
        ),
        case(
            "run cap out of bounds",
            LOOP,
            vec![("spec.components[2].repeat.maxIterations", Some(json!(21)))],
            "spec.components[2].repeat.maxIterations",
            "less than or equal to 20",
        ),
        case(
            "run cap of zero",
            LOOP,
            vec![("spec.components[2].repeat.maxIterations", Some(json!(0)))],
            "spec.components[2].repeat.maxIterations",
            "greater than or equal to 1",
        ),
        case(
            "unknown cap policy",
            LOOP,
            vec![(
                "spec.components[2].repeat.onCapReached",
                Some(json!("Retry")),
            )],
            "spec.components[2].repeat.onCapReached",
            "Unsupported value",
        ),
        case(
            "no until condition",
            LOOP,
            vec![("spec.components[2].repeat.until", None)],
            "spec.components[2].repeat.until",
            "Required value",
        ),
        case(
            "empty body",
            LOOP,
            vec![(body, Some(json!([])))],
            body,
            "at least 1",
        ),
        case(
            "a loop in a loop",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[0].type",
                Some(json!("Repeat")),
            )],
            "spec.components[2].repeat.components[0].type",
            "Unsupported value",
        ),
        case(
            "a cache in a loop",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[0].type",
                Some(json!("Cache")),
            )],
            "spec.components[2].repeat.components[0].type",
            "Unsupported value",
        ),
        case(
            "duplicate body names",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[1].name",
                Some(json!("ask")),
            )],
            "spec.components[2].repeat.components[1]",
            "Duplicate value",
        ),
        case(
            "body name taken by the pipeline",
            LOOP,
            vec![
                (
                    "spec.components[2].repeat.components[0].name",
                    Some(json!("product")),
                ),
                (
                    "spec.components[2].repeat.components[1].inputs",
                    Some(json!(["product"])),
                ),
            ],
            "spec.components",
            "names no component of the pipeline has",
        ),
        case(
            "body name iteration",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[2].name",
                Some(json!("iteration")),
            )],
            "spec.components[2].repeat.components[2].name",
            "iteration is reserved",
        ),
        case(
            "body input names nothing",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[1].inputs",
                Some(json!(["nowhere"])),
            )],
            "spec.components",
            "every input of a loop body component",
        ),
        case(
            "loop output names no body component",
            LOOP,
            vec![("spec.components[2].repeat.output", Some(json!("product")))],
            "spec.components[2].repeat.output",
            "repeat.output must name a component of the loop's body",
        ),
        case(
            "LLM in a loop without a provider",
            LOOP,
            vec![("spec.llm", None)],
            "spec.llm",
            "needs spec.llm",
        ),
        case(
            "render of an undeclared template in a loop",
            LOOP,
            vec![(
                "spec.components[2].repeat.components[0]",
                Some(
                    json!({"name": "ask", "type": "RenderTemplate", "renderTemplate": {"template": "missing"}}),
                ),
            )],
            "spec.components",
            "RenderTemplate component in a loop",
        ),
    ]
}

fn invalid_jobs() -> Vec<Case> {
    vec![
        case(
            "lateness of the wrong type",
            JOB,
            vec![("spec.allowedLatenessSeconds", Some(json!("soon")))],
            "spec.allowedLatenessSeconds",
            "integer",
        ),
        case(
            "retention out of bounds",
            JOB,
            vec![("spec.output.retentionDays", Some(json!(0)))],
            "spec.output.retentionDays",
            "greater than or equal to 1",
        ),
        case(
            "unknown mode",
            JOB,
            vec![("spec.mode", Some(json!("Batch")))],
            "spec.mode",
            "Unsupported value",
        ),
        case(
            "streaming job with a schedule",
            JOB,
            vec![("spec.schedule", Some(json!("*/15 * * * *")))],
            "spec.schedule",
            "Streaming job has none",
        ),
        case(
            "scheduled job without a schedule",
            JOB,
            vec![("spec.mode", Some(json!("Scheduled")))],
            "spec.schedule",
            "needs a schedule",
        ),
        case(
            "schedule that is not cron",
            JOB,
            vec![
                ("spec.mode", Some(json!("Scheduled"))),
                ("spec.schedule", Some(json!("every hour"))),
            ],
            "spec.schedule",
            "should match",
        ),
        case(
            "time zone on a streaming job",
            JOB,
            vec![("spec.timeZone", Some(json!("Europe/Berlin")))],
            "spec.timeZone",
            "Scheduled jobs only",
        ),
        case(
            "count with a property",
            JOB,
            vec![("spec.metrics[0].property", Some(json!("actorId")))],
            "spec.metrics[0].property",
            "counts events",
        ),
        case(
            "sum without a property",
            JOB,
            vec![("spec.metrics[3].property", None)],
            "spec.metrics[3].property",
            "property is required",
        ),
        case(
            "percentiles missing",
            JOB,
            vec![("spec.metrics[2].percentiles", None)],
            "spec.metrics[2].percentiles",
            "percentiles is set exactly",
        ),
        case(
            "percentile of 100",
            JOB,
            vec![("spec.metrics[2].percentiles", Some(json!([50, 100.5])))],
            "spec.metrics[2].percentiles[1]",
            "less than or equal to 99.999",
        ),
        case(
            "In filter without values",
            JOB,
            vec![("spec.filters[0].op", Some(json!("In")))],
            "spec.filters[0].values",
            "values is set exactly",
        ),
        case(
            "dimension outside the event",
            JOB,
            vec![("spec.dimensions", Some(json!(["type", "payload.x"])))],
            "spec.dimensions[1]",
            "should match",
        ),
        case(
            "duplicate metric names",
            JOB,
            vec![("spec.metrics[1].name", Some(json!("events")))],
            "spec.metrics[1]",
            "Duplicate value",
        ),
        case(
            "no event types",
            JOB,
            vec![("spec.source.eventTypes", Some(json!([])))],
            "spec.source.eventTypes",
            "at least 1",
        ),
    ]
}

fn check(cases: Vec<Case>) {
    assert!(cases.len() >= 3);
    let mut failures = Vec::new();
    for c in cases {
        let mut obj = yaml_file(c.sample);
        for (path, value) in c.edits {
            edit(&mut obj, path, value);
        }
        let errors = admit(&obj);
        let hit = errors
            .iter()
            .any(|(field, text)| field == c.field && text.contains(c.says));
        if !hit {
            failures.push(format!(
                "{}: expected an error on {} saying {:?}, got {errors:#?}",
                c.name, c.field, c.says
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_platforms_are_rejected_naming_the_field() {
    check(invalid_platforms());
}

#[test]
fn invalid_templates_are_rejected_naming_the_field() {
    check(invalid_templates());
}

#[test]
fn invalid_content_pipelines_are_rejected_naming_the_field() {
    check(invalid_pipelines());
}

#[test]
fn invalid_loops_are_rejected_naming_the_field() {
    check(invalid_loops());
}

#[test]
fn invalid_analytics_jobs_are_rejected_naming_the_field() {
    check(invalid_jobs());
}

#[test]
fn unknown_fields_are_reported() {
    let mut obj = yaml_file(PIPELINE);
    edit(&mut obj, "spec.replica", Some(json!(3)));
    let errors = admit(&obj);
    assert!(
        errors
            .iter()
            .any(|(field, text)| field == "spec.replica" && text.contains("unknown field")),
        "{errors:#?}"
    );
}

/// Validates an update of `old` to `new`, with the transition rules (`oldSelf`) evaluated.
fn admit_update(old: &Value, new: &Value) -> Vec<(String, String)> {
    let old = admit_with(old, None).expect("old object admitted");
    admit_with(new, Some(&old)).err().unwrap_or_default()
}

#[test]
fn where_data_lives_is_immutable() {
    let cases: [(&str, &str, Value, &str); 4] = [
        (
            PLATFORM,
            "spec.mongodb.databasePrefix",
            json!("globex"),
            "databasePrefix is immutable",
        ),
        (
            PLATFORM,
            "spec.rabbitmq.vhost",
            json!("acme-2"),
            "vhost is immutable",
        ),
        (
            PIPELINE,
            "spec.mongodb.database",
            json!("other_db"),
            "database is immutable",
        ),
        (
            JOB,
            "spec.output.collection",
            json!("rollups_v2"),
            "collection is immutable",
        ),
    ];
    for (sample, path, value, says) in cases {
        let old = yaml_file(sample);
        let mut new = old.clone();
        edit(&mut new, path, Some(value));
        let errors = admit_update(&old, &new);
        assert!(
            errors
                .iter()
                .any(|(field, text)| field == path && text.contains(says)),
            "{path}: {errors:#?}"
        );
        assert!(
            admit_update(&old, &old).is_empty(),
            "an unchanged {sample} must be admitted"
        );
    }
}

#[test]
fn scaling_an_existing_pipeline_is_admitted() {
    let old = yaml_file(PIPELINE);
    let mut new = old.clone();
    edit(&mut new, "spec.replicas", Some(json!(5)));
    assert!(admit_update(&old, &new).is_empty());
}
