//! Rendering across named templates, undefined values and run-time errors.

use machina_template_engine::{
    EngineOptions, Limits, RenderError, TemplateFormat::*, UndefinedMode,
};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{mk_engine, mk_engine_with, text};

#[test]
fn extends_include_and_import_between_named_templates() {
    let engine = mk_engine(&[
        ("layout.html", Html, "<title>{% block title %}X{% endblock %}</title>{% block body %}{% endblock %}"),
        ("macros.html", Html, "{% macro badge(t) %}<b>{{ t }}</b>{% endmacro %}"),
        ("row.html", Html, "<li>{{ item }}</li>"),
        (
            "page.html",
            Html,
            "{% extends 'layout.html' %}{% import 'macros.html' as m %}\
             {% block title %}{{ super() }}!{% endblock %}\
             {% block body %}{{ m.badge(tag) }}<ul>{% for item in items %}{% include 'row.html' %}{% endfor %}</ul>{% endblock %}",
        ),
    ])
    .expect("compiles");
    let got = engine.render("page.html", json!({"tag": "<new>", "items": ["a&b", "c"]}));
    assert_eq!(
        got.ok().as_deref(),
        Some("<title>X!</title><b>&lt;new&gt;</b><ul><li>a&amp;b</li><li>c</li></ul>")
    );
}

#[test]
fn strict_undefined_names_the_expression() {
    let engine = text("Hello\n{{ user.name }}!");
    match engine.render("t", json!({"user": {}})) {
        Err(RenderError::Undefined {
            template,
            line,
            name,
        }) => {
            assert_eq!(
                (template.as_str(), line, name.as_str()),
                ("t", 2, "user.name")
            );
        }
        other => panic!("expected Undefined, got {other:?}"),
    }
    let err = engine.render("t", json!({})).map(|_| ()).unwrap_err();
    assert_eq!(err.to_string(), "t:2: undefined value `user.name`");
}

#[test]
fn strict_undefined_in_loops_and_conditions_is_named() {
    for (source, expected) in [
        ("{% for x in items %}{{ x }}{% endfor %}", "items"),
        ("{% if flag %}y{% endif %}", "flag"),
        ("{{ order.total|currency }}", "order.total"),
        ("{{ order.note|upper|truncate(3) }}", "order.note"),
        ("{{ order['id']|slugify }}", "order['id']"),
    ] {
        let err = text(source)
            .render("t", json!({"order": {}}))
            .map(|_| ())
            .unwrap_err();
        match err {
            RenderError::Undefined { name, .. } => assert_eq!(name, expected, "{source}"),
            other => panic!("{source}: expected Undefined, got {other:?}"),
        }
    }
}

#[test]
fn lenient_undefined_prints_empty() {
    let options = EngineOptions {
        undefined: UndefinedMode::Lenient,
        ..EngineOptions::default()
    };
    let src = "[{{ missing }}|{{ missing|currency }}|{{ missing|truncate(3) }}]";
    let engine = mk_engine_with(&[("t", Text, src)], options).expect("compiles");
    assert_eq!(engine.render("t", json!({})).ok().as_deref(), Some("[||]"));
}

#[test]
fn unknown_template_is_not_found() {
    let engine = text("x");
    let err = engine.render("nope", json!({})).map(|_| ()).unwrap_err();
    assert!(
        matches!(&err, RenderError::TemplateNotFound { name } if name == "nope"),
        "{err:?}"
    );
    let dynamic = text("{% include name %}");
    let err = dynamic
        .render("t", json!({"name": "ghost"}))
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&err, RenderError::TemplateNotFound { name } if name == "ghost"),
        "{err:?}"
    );
}

#[test]
fn filter_errors_are_invalid_with_line() {
    let engine = text("a\n{{ 'x'|number }}");
    match engine.render("t", json!({})) {
        Err(RenderError::Invalid {
            template,
            line,
            message,
        }) => {
            assert_eq!(template, "t");
            assert_eq!(line, Some(2));
            assert_eq!(message, "number: expected a number, got string \"x\"");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn render_to_write_streams_and_counts() {
    let engine = text("{% for i in range(3) %}{{ i }}{% endfor %}");
    let mut out = Vec::new();
    let n = engine.render_to_write("t", json!({}), &Limits::default(), &mut out);
    assert_eq!(n.ok(), Some(3));
    assert_eq!(out, b"012");
}

#[test]
fn engine_is_shareable_across_threads() {
    let engine = std::sync::Arc::new(text("{{ n }}"));
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let engine = std::sync::Arc::clone(&engine);
            std::thread::spawn(move || engine.render("t", json!({ "n": n })).ok())
        })
        .collect();
    let got: Vec<Option<String>> = handles
        .into_iter()
        .map(|h| h.join().ok().flatten())
        .collect();
    assert_eq!(
        got,
        [
            Some("0".into()),
            Some("1".into()),
            Some("2".into()),
            Some("3".into())
        ]
    );
}
