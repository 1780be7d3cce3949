//! A template-only pipeline run: ValidateContext → RenderTemplate → TransformJson, with
//! in-memory backends and the real renderer ([`TemplateCatalog`] over the template engine,
//! fed once from an in-process bundle server, so no network on the measured path).
//!
//! Templates and data: the template engine's benchmark email (`layout.html` extended by a
//! product list that includes a product card importing macros; 50 products), the same set
//! `services/template-engine/benches/compare.sh` renders with Jinja2 and Handlebars.
//!
//! ```sh
//! cargo bench -p machina-generative --bench pipeline
//! ```

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use criterion::{Criterion, criterion_group, criterion_main};
use machina_crds::content_pipeline::TemplateBinding;
use machina_generative::components::Backends;
use machina_generative::render::Renderer;
use machina_generative::templates::TemplateCatalog;
use machina_generative::{Definition, Executor};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../template-engine/benches/fixtures"
);

/// Stored names: the template service allows lowercase letters, digits, `-` and `.`.
const TEMPLATES: [(&str, &str); 4] = [
    ("product-list.html", "product_list.html"),
    ("layout.html", "layout.html"),
    ("product-card.html", "product_card.html"),
    ("macros.html", "macros.html"),
];

const DEFINITION: &str = r#"
apiVersion: machina.dev/v1alpha1
kind: ContentPipeline
metadata: {name: email}
spec:
  platformRef: {name: acme}
  templates:
    - {name: email, templateRef: product-list.html}
  components:
    - name: request
      type: ValidateContext
      validateContext:
        schema:
          type: object
          required: [user, products, campaign]
          properties:
            user: {type: object, required: [first_name]}
            products: {type: array, maxItems: 200}
        defaults: {free_shipping_threshold: 49}
    - {name: email, type: RenderTemplate, inputs: [request], renderTemplate: {template: email}}
    - {name: shape, type: TransformJson, inputs: [email], transformJson: {expression: "{html: @, bytes: length(@)}"}}
  output: shape
"#;

fn source(file: &str) -> String {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).expect("fixture");
    text.replace("product_card.html", "product-card.html")
}

/// The bundle of `product-list.html` as the template service sends it.
fn bundle() -> Value {
    let templates: Vec<Value> = TEMPLATES
        .iter()
        .map(|(name, file)| {
            json!({"name": name, "version": 1, "format": "Html", "source": source(file),
                   "checksum": "bench", "limits": {"fuel": 1_000_000, "maxRecursionDepth": 64,
                   "maxOutputBytes": 1_048_576}, "extends": null, "includes": []})
        })
        .collect();
    json!({"root": {"name": "product-list.html", "version": 1}, "templates": templates})
}

async fn serve_bundle(
    State(bundles): State<Arc<HashMap<String, Value>>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, axum::http::StatusCode> {
    bundles
        .get(&name)
        .cloned()
        .map(Json)
        .ok_or(axum::http::StatusCode::NOT_FOUND)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/data.json")).expect("data.json"),
    )
    .expect("data is JSON");

    let (catalog, executor) = runtime.block_on(async {
        let bundles = Arc::new(HashMap::from([("product-list.html".to_owned(), bundle())]));
        let app = Router::new()
            .route("/v1/templates/{name}/bundle", get(serve_bundle))
            .with_state(bundles);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let catalog = Arc::new(TemplateCatalog::new(
            url,
            vec![TemplateBinding {
                name: "email".to_owned(),
                template_ref: "product-list.html".to_owned(),
                version: None,
            }],
        ));
        let errors = catalog.refresh().await;
        assert!(errors.is_empty(), "{errors:?}");
        let definition =
            Arc::new(Definition::from_bytes(DEFINITION.as_bytes(), "bench").expect("definition"));
        let backends = Backends {
            renderer: Some(catalog.clone()),
            ..Backends::default()
        };
        let executor = Executor::new(definition, &backends).expect("pipeline builds");
        (catalog, executor)
    });

    // Sanity: the pipeline renders the email.
    let result = runtime
        .block_on(executor.run("check", data.clone()))
        .expect("runs");
    let bytes = result.output["bytes"].as_u64().unwrap_or(0);
    assert!(bytes > 10_000, "{}", result.output);

    let mut group = c.benchmark_group("generative");
    group.bench_function("render_only/email_50_products", |b| {
        b.iter(|| black_box(catalog.render("email", black_box(&data)).expect("renders")));
    });
    group.bench_function("pipeline/validate_render_transform", |b| {
        b.iter(|| {
            let result = runtime
                .block_on(executor.run("bench", black_box(data.clone())))
                .expect("runs");
            black_box(result.output)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
