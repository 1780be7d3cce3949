//! Includes and inheritance between stored templates, and bundles.

use machina_template_engine::{Engine, EngineOptions, Limits, TemplateFormat, TemplateSet};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn bundle_resolves_includes_and_extends_transitively() {
    let app = spawn_app("tpl_bundle").await;
    let create = |body: Value| {
        let app = &app;
        async move {
            app.post("/v1/templates", &body)
                .await
                .expect(StatusCode::CREATED)
        }
    };
    create(json!({"name": "layout", "format": "Html", "source": "<main>{% block body %}{% endblock %}</main>"})).await;
    create(json!({"name": "footer", "format": "Html", "source": "<footer>{{ company }}</footer>"}))
        .await;
    create(json!({"name": "header", "format": "Html", "source": "<h1>{{ title }}</h1>{% include 'footer' %}", "includes": ["footer"]})).await;
    create(
        json!({"name": "page", "format": "Html", "extends": "layout", "includes": ["header"],
        "source": "{% extends 'layout' %}{% block body %}{% include 'header' %}{% endblock %}",
        "sampleContext": {"title": "t", "company": "c"}}),
    )
    .await;

    let context = json!({"title": "<Hi>", "company": "ACME"});
    let expected = "<main><h1>&lt;Hi&gt;</h1><footer>ACME</footer></main>";
    assert_eq!(app.render_ok("page", context.clone()).await, expected);

    let bundle = app
        .get("/v1/templates/page/bundle")
        .await
        .expect(StatusCode::OK);
    assert_eq!(bundle["root"], json!({"name": "page", "version": 1}));
    let names: Vec<&str> = bundle["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["page", "footer", "header", "layout"]);

    // A client renders the bundle locally, with no further request.
    assert_eq!(render_locally(&bundle, &context), expected);

    // A new active version of a transitive dependency shows up in renders and bundles.
    app.put(
        "/v1/templates/footer",
        &json!({"format": "Html", "source": "<footer>(c) {{ company }}</footer>"}),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(
        app.render_ok("page", context.clone()).await,
        "<main><h1>&lt;Hi&gt;</h1><footer>(c) ACME</footer></main>"
    );
    let bundle = app
        .get("/v1/templates/page/bundle?version=1")
        .await
        .expect(StatusCode::OK);
    let footer = bundle["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "footer")
        .cloned()
        .unwrap_or_default();
    assert_eq!(footer["version"], 2);
    app.get("/v1/templates/page/bundle?version=7")
        .await
        .problem(StatusCode::NOT_FOUND);

    // Retiring a dependency: the bundle says what is missing.
    assert_eq!(
        app.delete("/v1/templates/footer").await.status,
        StatusCode::NO_CONTENT
    );
    let problem = app
        .get("/v1/templates/page/bundle")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "dependency_missing");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("footer"),
        "{problem}"
    );
}

fn render_locally(bundle: &Value, context: &Value) -> String {
    let mut set = TemplateSet::new();
    for t in bundle["templates"].as_array().into_iter().flatten() {
        let format: TemplateFormat = serde_json::from_value(t["format"].clone()).expect("format");
        set.insert(
            t["name"].as_str().unwrap_or_default(),
            format,
            t["source"].as_str().unwrap_or_default(),
        );
    }
    let limits: Limits =
        serde_json::from_value(bundle["templates"][0]["limits"].clone()).expect("limits");
    let engine = Engine::new(
        set,
        EngineOptions {
            limits,
            ..EngineOptions::default()
        },
    )
    .expect("bundle compiles");
    engine
        .render(bundle["root"]["name"].as_str().unwrap_or_default(), context)
        .expect("renders")
}
