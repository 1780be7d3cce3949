//! Compile errors with positions and missing-reference checks.

use machina_template_engine::{CompileError, TemplateFormat::*};
use pretty_assertions::assert_eq;

use crate::support::mk_engine;

fn errors(
    templates: &[(&str, machina_template_engine::TemplateFormat, &str)],
) -> Vec<CompileError> {
    match mk_engine(templates) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

#[test]
fn syntax_error_has_line_and_column() {
    let got = errors(&[("page", Html, "<p>\n  {{ user.name }\n</p>")]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].to_string(),
        "page:2:16: syntax error: unexpected `}`, expected end of variable block"
    );
    assert_eq!((got[0].line, got[0].column), (2, Some(16)));
}

#[test]
fn unclosed_block_reports_the_template() {
    let got = errors(&[
        ("ok", Text, "fine"),
        ("bad", Text, "a\nb\n{% if x %}\nno end"),
    ]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].template, "bad");
    assert!(
        got[0].message.contains("unexpected end of input"),
        "{got:?}"
    );
}

#[test]
fn every_broken_template_is_reported() {
    let got = errors(&[
        ("a", Text, "{{ }}"),
        ("b", Text, "{% for %}"),
        ("c", Text, "ok"),
    ]);
    let names: Vec<&str> = got.iter().map(|e| e.template.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn missing_references_are_named_with_position() {
    let src = "{% extends \"layout\" %}\n{% block b %}{% include 'nope.html' %}{% endblock %}";
    let got = errors(&[
        ("page", Html, src),
        ("other", Html, "{% import \"macros\" as m %}"),
    ]);
    let messages: Vec<String> = got.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "other:1:11: `import` names template \"macros\" which does not exist",
            "page:1:12: `extends` names template \"layout\" which does not exist",
            "page:2:25: `include` names template \"nope.html\" which does not exist",
        ]
    );
}

#[test]
fn existing_references_and_dynamic_names_pass() {
    let got = errors(&[
        ("layout", Html, "{% block b %}{% endblock %}"),
        (
            "page",
            Html,
            "{% extends 'layout' %}{% block b %}{% include partial %}{% endblock %}",
        ),
        (
            "list",
            Html,
            "{% include ['missing', 'layout'] %}{% include 'x' ignore missing %}",
        ),
    ]);
    assert_eq!(got, Vec::new());
}

#[test]
fn unknown_filters_and_tests_are_reported() {
    let src = "a\n{{ x|no_such_filter|upper }}{% if x is odd or x is not shiny %}{% endif %}";
    let got: Vec<String> = errors(&[("t", Text, src)])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "t:2:6: unknown filter `no_such_filter`",
            "t:2:56: unknown test `shiny`"
        ]
    );
}
