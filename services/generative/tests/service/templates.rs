//! The template catalog against the fake template service: compiled once per version,
//! active versions re-resolved on refresh, pinned versions fetched as pinned.

use crate::support::FakeTemplates;
use machina_crds::content_pipeline::TemplateBinding;
use machina_generative::render::Renderer;
use machina_generative::templates::TemplateCatalog;
use serde_json::json;

fn binding(name: &str, template_ref: &str, version: Option<i64>) -> TemplateBinding {
    TemplateBinding {
        name: name.to_owned(),
        template_ref: template_ref.to_owned(),
        version,
    }
}

#[tokio::test]
async fn renders_compiled_bundles_and_follows_the_active_version() {
    let fake = FakeTemplates::default();
    fake.put("greeting", "Html", 1, "<p>Hi {{ name }}</p>");
    fake.put("greeting", "Html", 2, "<p>Hello {{ name }}</p>");
    let url = fake.serve().await;
    let catalog = TemplateCatalog::new(
        url,
        vec![
            binding("active", "greeting", None),
            binding("pinned", "greeting", Some(1)),
            binding("ghost", "missing", None),
        ],
    );
    let errors = catalog.refresh().await;
    assert_eq!(
        errors.len(),
        1,
        "only the missing template fails: {errors:?}"
    );
    assert_eq!(catalog.missing(), vec!["ghost".to_owned()]);

    let data = json!({"name": "<Ada>"});
    let active = catalog.render("active", &data).expect("renders");
    assert_eq!(active.text, "<p>Hello &lt;Ada&gt;</p>");
    assert_eq!(active.version, Some(2));
    let pinned = catalog.render("pinned", &data).expect("renders");
    assert_eq!(
        (pinned.text.as_str(), pinned.version),
        ("<p>Hi &lt;Ada&gt;</p>", Some(1))
    );
    assert!(catalog.render("ghost", &data).is_err());

    // Renders never call the service; a refresh re-resolves only the unpinned bindings.
    let before = fake.requests();
    for _ in 0..10 {
        catalog.render("active", &data).expect("renders");
    }
    assert_eq!(fake.requests(), before);
    fake.put("greeting", "Html", 3, "<p>Welcome {{ name }}</p>");
    catalog.refresh().await;
    assert_eq!(fake.requests(), before + 2, "active and ghost re-resolved");
    let active = catalog.render("active", &data).expect("renders");
    assert_eq!(
        (active.text.as_str(), active.version),
        ("<p>Welcome &lt;Ada&gt;</p>", Some(3))
    );
    assert_eq!(catalog.loaded_version("pinned"), Some(1));
    assert_eq!(
        catalog.render_str(
            "Write for {{ context.sku }}.",
            &json!({"context": {"sku": "A"}})
        ),
        Ok("Write for A.".to_owned())
    );
}

#[tokio::test]
async fn an_unreachable_service_leaves_templates_unloaded() {
    let catalog = TemplateCatalog::new("http://127.0.0.1:9", vec![binding("a", "a", None)]);
    let errors = catalog.refresh().await;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("template a"),
        "{}",
        errors[0]
    );
    assert_eq!(catalog.missing(), vec!["a".to_owned()]);
}
