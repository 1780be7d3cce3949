//! [`Engine`]: a compiled [`TemplateSet`] in a sandboxed MiniJinja environment.
//!
//! The environment's only loader is a closure over the set, so `include`, `import` and
//! `extends` resolve between the set's templates and nothing else: there is no filesystem
//! or network access from a template. Building the engine runs the checks of `checks`
//! and reports all problems at once.

use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::CompileErrors;
use crate::{EngineOptions, Limits, TemplateFormat, TemplateSet, UndefinedMode, checks, filters};

/// A compiled template set, ready to render. Cheap to share behind an `Arc`; rendering
/// takes `&self` and may run on many threads at once.
#[derive(Debug)]
pub struct Engine {
    pub(crate) env: Environment<'static>,
    pub(crate) templates: Arc<TemplateSet>,
    pub(crate) options: EngineOptions,
}

impl Engine {
    /// Compiles every template of `set`. The error lists every problem found: syntax
    /// errors, literal `include`/`import`/`from`/`extends` of a template the set does not
    /// hold, and unknown filters and tests.
    pub fn new(set: TemplateSet, options: EngineOptions) -> Result<Self, CompileErrors> {
        let templates = Arc::new(set);
        let env = environment(&templates, &options);
        let engine = Self {
            env,
            templates,
            options,
        };
        let errors = checks::problems(&engine.env, &engine.templates);
        if errors.is_empty() {
            Ok(engine)
        } else {
            Err(CompileErrors(errors))
        }
    }

    /// The templates this engine was built from.
    pub fn templates(&self) -> &TemplateSet {
        &self.templates
    }

    /// The options this engine was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Output format of template `name`, if the set holds it.
    pub fn format(&self, name: &str) -> Option<TemplateFormat> {
        self.templates.get(name).map(|t| t.format)
    }
}

/// The sandboxed environment: in-memory loader, per-template auto-escaping, limits.
fn environment(templates: &Arc<TemplateSet>, options: &EngineOptions) -> Environment<'static> {
    let mut env = Environment::new();
    let loader_set = Arc::clone(templates);
    env.set_loader(move |name| Ok(loader_set.get(name).map(|t| t.source.clone())));
    let escape_set = Arc::clone(templates);
    env.set_auto_escape_callback(move |name| {
        escape_set
            .get(name)
            .map_or(AutoEscape::None, |t| t.format.auto_escape())
    });
    env.set_undefined_behavior(match options.undefined {
        UndefinedMode::Strict => UndefinedBehavior::Strict,
        UndefinedMode::Lenient => UndefinedBehavior::Lenient,
        UndefinedMode::SemiStrict => UndefinedBehavior::SemiStrict,
    });
    apply_limits(&mut env, &options.limits);
    filters::register(&mut env);
    env
}

/// Sets the limits MiniJinja enforces itself (the output limit is the writer's).
pub(crate) fn apply_limits(env: &mut Environment<'_>, limits: &Limits) {
    // MiniJinja keeps the remaining fuel in an `isize`; larger budgets would wrap negative.
    let max_fuel = u64::try_from(isize::MAX).unwrap_or(u64::MAX);
    env.set_fuel(Some(limits.fuel.min(max_fuel)));
    env.set_recursion_limit(limits.minijinja_recursion_limit());
}
