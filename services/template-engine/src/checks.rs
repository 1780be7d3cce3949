//! The checks run when an [`Engine`](crate::Engine) is built: every template compiles,
//! every literal `include`/`import`/`from`/`extends` names a template of the set, and
//! every filter and test used exists.

use std::collections::HashMap;

use minijinja::{Environment, ErrorKind};

use crate::TemplateSet;
use crate::error::CompileError;
use crate::names::{NameKind, names_used};
use crate::position::{column_at, line_at};
use crate::references::references;

/// Every problem of `templates`, template by template in name order.
pub(crate) fn problems(env: &Environment<'_>, templates: &TemplateSet) -> Vec<CompileError> {
    let mut known = HashMap::new();
    let mut errors = Vec::new();
    for (name, template) in templates.iter() {
        let source = template.source.as_str();
        if let Err(e) = env.get_template(name) {
            errors.push(compile_error(name, source, &e));
            continue;
        }
        errors.extend(missing_references(templates, name, source));
        errors.extend(unknown_names(env, &mut known, name, source));
    }
    errors
}

fn compile_error(name: &str, source: &str, e: &minijinja::Error) -> CompileError {
    let range = e.range();
    let line = e
        .line()
        .and_then(|l| u32::try_from(l).ok())
        .or_else(|| range.as_ref().map(|r| line_at(source, r.start)))
        .unwrap_or(1);
    CompileError {
        template: name.to_string(),
        line,
        column: range.map(|r| column_at(source, r.start)),
        message: match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

fn missing_references(templates: &TemplateSet, name: &str, source: &str) -> Vec<CompileError> {
    references(source)
        .into_iter()
        .filter(|r| !r.names.iter().any(|n| templates.contains(n)))
        .map(|r| {
            let quoted: Vec<String> = r.names.iter().map(|n| format!("{n:?}")).collect();
            let message = format!(
                "`{}` names template {} which does not exist",
                r.kind,
                quoted.join(" or ")
            );
            at(name, source, r.offset, message)
        })
        .collect()
}

fn unknown_names(
    env: &Environment<'_>,
    known: &mut HashMap<(NameKind, String), bool>,
    name: &str,
    source: &str,
) -> Vec<CompileError> {
    let mut errors = Vec::new();
    for used in names_used(source) {
        let exists = *known
            .entry((used.kind, used.name.clone()))
            .or_insert_with(|| exists(env, used.kind, &used.name));
        if !exists {
            let what = match used.kind {
                NameKind::Filter => "filter",
                NameKind::Test => "test",
            };
            let message = format!("unknown {what} `{}`", used.name);
            errors.push(at(name, source, used.offset, message));
        }
    }
    errors
}

/// Whether `env` knows the filter or test `name` (an identifier). MiniJinja has no public
/// lookup, so this evaluates `none|name` / `none is name`: only a missing name fails with
/// `UnknownFilter`/`UnknownTest`; any other outcome means it exists.
fn exists(env: &Environment<'_>, kind: NameKind, name: &str) -> bool {
    let (expression, missing) = match kind {
        NameKind::Filter => (format!("none|{name}"), ErrorKind::UnknownFilter),
        NameKind::Test => (format!("none is {name}"), ErrorKind::UnknownTest),
    };
    match env.compile_expression(&expression) {
        Ok(expr) => !matches!(expr.eval(()), Err(e) if e.kind() == missing),
        Err(_) => true,
    }
}

fn at(template: &str, source: &str, offset: usize, message: String) -> CompileError {
    CompileError {
        template: template.to_string(),
        line: line_at(source, offset),
        column: Some(column_at(source, offset)),
        message,
    }
}
