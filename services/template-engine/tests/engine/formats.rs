//! Output formats: escaping per template, JSON output checked.

use machina_template_engine::{RenderError, TemplateFormat::*};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::mk_engine;

#[test]
fn html_escapes_text_and_markdown_do_not() {
    let engine = mk_engine(&[
        ("h", Html, "{{ v }}"),
        ("t", Text, "{{ v }}"),
        ("m", Markdown, "{{ v }}"),
    ])
    .expect("compiles");
    let ctx = json!({"v": "<a href='x'>&</a>"});
    assert_eq!(
        engine.render("h", &ctx).ok().as_deref(),
        Some("&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;&#x2f;a&gt;")
    );
    assert_eq!(
        engine.render("t", &ctx).ok().as_deref(),
        Some("<a href='x'>&</a>")
    );
    assert_eq!(
        engine.render("m", &ctx).ok().as_deref(),
        Some("<a href='x'>&</a>")
    );
}

#[test]
fn markdown_filter_output_is_not_escaped_again_in_html() {
    let engine = mk_engine(&[("h", Html, "{{ body|markdown }}")]).expect("compiles");
    let got = engine.render("h", json!({"body": "**hi** <i>x</i>"}));
    assert_eq!(
        got.ok().as_deref(),
        Some("<p><strong>hi</strong> &lt;i&gt;x&lt;/i&gt;</p>\n")
    );
}

#[test]
fn json_values_are_json_encoded() {
    let engine = mk_engine(&[(
        "j",
        Json,
        r#"{"name": {{ name }}, "tags": {{ tags }}, "n": {{ n }}}"#,
    )])
    .expect("compiles");
    let out = engine.render(
        "j",
        json!({"name": "a \"quoted\" </script>", "tags": ["x"], "n": 2}),
    );
    let parsed: serde_json::Value =
        serde_json::from_str(&out.unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        parsed,
        json!({"name": "a \"quoted\" </script>", "tags": ["x"], "n": 2})
    );
}

#[test]
fn json_output_that_does_not_parse_is_an_error() {
    let engine = mk_engine(&[("j", Json, "{\"a\": {{ a }},\n}")]).expect("compiles");
    match engine.render("j", json!({"a": 1})) {
        Err(RenderError::InvalidJson {
            line,
            column,
            message,
        }) => {
            assert_eq!((line, column), (2, 1), "{message}");
        }
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn included_text_template_keeps_its_own_escaping() {
    let engine = mk_engine(&[
        ("h", Html, "<p>{{ v }}</p>{% include 'plain' %}"),
        ("plain", Text, "[{{ v }}]"),
    ])
    .expect("compiles");
    let got = engine.render("h", json!({"v": "<b>"}));
    assert_eq!(got.ok().as_deref(), Some("<p>&lt;b&gt;</p>[<b>]"));
}
