//! The status of a Template, computed from what a reconcile observed: pure, so it is
//! unit-tested without a server.

use super::client::{Registered, TemplateProblem};
use crate::controllers::health::{Health, set_health};
use k8s_openapi::jiff::Timestamp;
use machina_crds::Template;
use machina_crds::template::{CompileError, TemplateStatus};

/// What a reconcile learned about the template in the service.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// Nothing new (the Platform is unusable, the service unreachable): keep what is known.
    Nothing,
    /// Registered; the active version is the one the spec asks for.
    Registered(Registered),
    /// The service refused the source: where and why.
    Invalid(CompileError),
}

/// The compile error to report: the first problem with a position, else the first one.
pub fn compile_error(problems: &[TemplateProblem], fallback: &str) -> CompileError {
    let chosen = problems
        .iter()
        .find(|p| p.line > 0)
        .or_else(|| problems.first());
    match chosen {
        Some(p) => CompileError {
            line: i32::try_from(p.line).unwrap_or(i32::MAX),
            column: p.column.and_then(|c| i32::try_from(c).ok()),
            message: match &p.template {
                Some(t) if !t.is_empty() => format!("{t}: {}", p.message),
                _ => p.message.clone(),
            },
        },
        None => CompileError {
            line: 0,
            column: None,
            message: fallback.to_owned(),
        },
    }
}

/// `line L, column C: message` for the condition.
pub fn describe(error: &CompileError) -> String {
    match (error.line, error.column) {
        (0, _) => error.message.clone(),
        (line, Some(column)) => format!("line {line}, column {column}: {}", error.message),
        (line, None) => format!("line {line}: {}", error.message),
    }
}

/// The status to write: the previous one with this reconcile's observation, conditions
/// updated and `observedGeneration` set.
pub fn build(
    template: &Template,
    observation: &Observation,
    health: &Health,
    now: Timestamp,
) -> TemplateStatus {
    let mut status = template.status.clone().unwrap_or_default();
    match observation {
        Observation::Nothing => {}
        Observation::Registered(registered) => {
            status.template_id = Some(registered.name.clone());
            status.active_version = Some(registered.active_version);
            status.latest_version = Some(registered.latest_version);
            status.checksum = Some(registered.checksum.clone());
            status.compile_error = None;
        }
        Observation::Invalid(error) => status.compile_error = Some(error.clone()),
    }
    let generation = template.metadata.generation;
    set_health(&mut status.observed.conditions, health, generation, now);
    status.observed.observed_generation = generation;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: i64, column: Option<i64>, message: &str) -> TemplateProblem {
        TemplateProblem {
            template: Some("shop.page".into()),
            line,
            column,
            message: message.into(),
        }
    }

    #[test]
    fn the_first_positioned_problem_is_reported() {
        let error = compile_error(
            &[
                problem(0, None, "schema"),
                problem(3, Some(7), "unexpected end"),
            ],
            "invalid",
        );
        assert_eq!(error.line, 3);
        assert_eq!(error.column, Some(7));
        assert_eq!(error.message, "shop.page: unexpected end");
        assert_eq!(
            describe(&error),
            "line 3, column 7: shop.page: unexpected end"
        );
        assert_eq!(compile_error(&[], "invalid").message, "invalid");
    }
}
