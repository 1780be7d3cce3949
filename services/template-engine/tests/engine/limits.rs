//! Sandbox limits: each hit is its own error, and a runaway render stops quickly.

use std::time::{Duration, Instant};

use machina_template_engine::{Limits, RenderError, TemplateFormat::*};
use serde_json::json;

use crate::support::{mk_engine, text};

/// Renders `t` under `limits`, asserting it ends (either way) within two seconds.
fn timed(engine: &machina_template_engine::Engine, limits: &Limits) -> Result<String, RenderError> {
    let started = Instant::now();
    let result = engine.render_with("t", json!({}), limits);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "render took {took:?}");
    result
}

#[test]
fn nested_runaway_loops_exhaust_fuel() {
    let engine =
        text("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}");
    let limits = Limits {
        max_output_bytes: usize::MAX,
        ..Limits::default()
    };
    let err = timed(&engine, &limits).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, RenderError::FuelExhausted { limit: 1_000_000 }),
        "{err:?}"
    );
}

#[test]
fn giant_range_is_refused_at_once() {
    let engine = text("{% for i in range(10**9) %}x{% endfor %}");
    match timed(&engine, &Limits::default()) {
        Err(RenderError::Invalid { message, .. }) => {
            assert_eq!(message, "range has too many elements")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn infinite_macro_recursion_hits_the_recursion_limit() {
    let engine = text("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    let err = timed(&engine, &Limits::default()).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, RenderError::RecursionLimit { limit: 64 }),
        "{err:?}"
    );
}

#[test]
fn self_include_hits_the_recursion_limit() {
    let engine = mk_engine(&[("t", Text, "x{% include 't' %}")]).expect("compiles");
    let err = timed(&engine, &Limits::default()).map(|_| ()).unwrap_err();
    assert!(matches!(err, RenderError::RecursionLimit { .. }), "{err:?}");
}

#[test]
fn recursion_depth_is_the_number_of_nested_macro_calls() {
    let src = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}ok{% endif %}{% endmacro %}{{ f(depth) }}";
    let engine = text(src);
    let render = |depth: u32, max: u32| {
        let limits = Limits {
            max_recursion_depth: max,
            ..Limits::default()
        };
        engine.render_with("t", json!({ "depth": depth }), &limits)
    };
    assert_eq!(render(40, 64).ok().as_deref(), Some("ok"));
    assert!(matches!(
        render(80, 64),
        Err(RenderError::RecursionLimit { limit: 64 })
    ));
    assert_eq!(render(5, 10).ok().as_deref(), Some("ok"));
    assert!(matches!(
        render(20, 10),
        Err(RenderError::RecursionLimit { limit: 10 })
    ));
}

#[test]
fn output_bomb_stops_at_the_limit() {
    let engine = text("{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}");
    let limits = Limits {
        fuel: u64::MAX,
        ..Limits::default()
    };
    let mut out = Vec::new();
    let started = Instant::now();
    let err = engine
        .render_to_write("t", json!({}), &limits, &mut out)
        .map(|_| ())
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(err, RenderError::OutputTooLarge { limit: 1_048_576 }),
        "{err:?}"
    );
    assert!(out.len() <= 1_048_576, "wrote {} bytes", out.len());
}

#[test]
fn limits_are_per_render() {
    let engine = text("{% for i in range(2000) %}{{ i }}{% endfor %}");
    assert!(engine.render("t", json!({})).is_ok());
    let tight = Limits {
        fuel: 1_000,
        ..Limits::default()
    };
    assert!(matches!(
        engine.render_with("t", json!({}), &tight),
        Err(RenderError::FuelExhausted { limit: 1_000 })
    ));
    let small = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        engine.render_with("t", json!({}), &small),
        Err(RenderError::OutputTooLarge { limit: 100 })
    ));
    assert!(
        engine.render("t", json!({})).is_ok(),
        "the engine's own limits are unchanged"
    );
}

#[test]
fn json_output_is_bounded_too() {
    let engine = mk_engine(&[(
        "t",
        Json,
        "[{% for i in range(10000) %}{{ i }},{% endfor %}0]",
    )])
    .expect("compiles");
    let small = Limits {
        max_output_bytes: 1_024,
        ..Limits::default()
    };
    let err = engine
        .render_with("t", json!({}), &small)
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(err, RenderError::OutputTooLarge { limit: 1_024 }),
        "{err:?}"
    );
}
