//! Builders shared by the engine tests.

use machina_template_engine::{CompileErrors, Engine, EngineOptions, TemplateFormat, TemplateSet};

/// An engine over `templates` (name, format, source) with default options.
pub fn mk_engine(templates: &[(&str, TemplateFormat, &str)]) -> Result<Engine, CompileErrors> {
    mk_engine_with(templates, EngineOptions::default())
}

/// An engine over `templates` with `options`.
pub fn mk_engine_with(
    templates: &[(&str, TemplateFormat, &str)],
    options: EngineOptions,
) -> Result<Engine, CompileErrors> {
    let mut set = TemplateSet::new();
    for (name, format, source) in templates {
        set.insert(*name, *format, *source);
    }
    Engine::new(set, options)
}

/// A one-template text engine; panics on compile errors (tests only).
pub fn text(source: &str) -> Engine {
    mk_engine(&[("t", TemplateFormat::Text, source)]).expect("template compiles")
}
