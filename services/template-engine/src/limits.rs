//! Sandbox limits and engine options.
//!
//! # Semantics
//! - **fuel**: MiniJinja's instruction budget for one render (`fuel` feature). Every VM
//!   instruction costs fuel; a render that spends it all stops with
//!   [`RenderError::FuelExhausted`](crate::RenderError::FuelExhausted). Fuel is counted per
//!   render, across every included, imported and extended template.
//! - **max_recursion_depth**: how many macro calls may be nested. MiniJinja keeps a
//!   weighted nesting counter (a macro call costs 6 units including its frame, an include
//!   11, each enclosing `for`/`with` frame 1) and stops the render when it passes its
//!   recursion limit; we set that limit to `6 × depth + 1` ([`RECURSION_UNITS_PER_LEVEL`]),
//!   so a self-recursive macro gets exactly `depth` nested calls (the default 64 stops it
//!   at the 65th) and self-including templates about half as many levels. MiniJinja caps
//!   its counter at 500 units without its `stacker` feature, to protect the thread's
//!   stack, so depths above 83 behave like 83.
//! - **max_output_bytes**: bytes written to the output. The render writes into a bounded
//!   writer that fails as soon as the limit would be passed, so a runaway template stops
//!   early instead of buffering gigabytes. Intermediate strings (captured `{% set %}`
//!   blocks, concatenations) are not output; they are bounded by fuel and by MiniJinja's
//!   own 100 MB cap on repeated strings.

use serde::{Deserialize, Serialize};

/// Units of MiniJinja's recursion counter granted per level of `max_recursion_depth`.
pub const RECURSION_UNITS_PER_LEVEL: usize = 6;

/// MiniJinja's safe maximum for its recursion counter (without the `stacker` feature).
const MINIJINJA_MAX_RECURSION: usize = 500;

/// Sandbox limits of one render. Field names match the CRD's `TemplateLimits`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// Instructions a render may execute before it is stopped.
    pub fuel: u64,
    /// Maximum nesting of macro calls (an include counts about two levels).
    pub max_recursion_depth: u32,
    /// Largest output a render may produce, in bytes.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 1_000_000,
            max_recursion_depth: 64,
            max_output_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    /// The value handed to `Environment::set_recursion_limit`.
    pub(crate) fn minijinja_recursion_limit(&self) -> usize {
        usize::try_from(self.max_recursion_depth)
            .unwrap_or(usize::MAX)
            .saturating_mul(RECURSION_UNITS_PER_LEVEL)
            .saturating_add(1)
            .min(MINIJINJA_MAX_RECURSION)
    }
}

/// What happens when a template reads a variable or attribute that is not there.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UndefinedMode {
    /// Any use of an undefined value is an error naming it (the default).
    #[default]
    Strict,
    /// Undefined values print as empty and are falsy; only calling into them fails.
    Lenient,
    /// Like `Lenient`, but iterating or printing an undefined value is also an error,
    /// while `{% if x is defined %}` and `{% if x %}` still work.
    SemiStrict,
}

/// Options fixed when an [`Engine`](crate::Engine) is built.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct EngineOptions {
    /// Limits used by [`Engine::render`](crate::Engine::render); a render may pass others.
    pub limits: Limits,
    /// Behaviour of undefined values.
    pub undefined: UndefinedMode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_crd() {
        let l = Limits::default();
        assert_eq!((l.fuel, l.max_recursion_depth), (1_000_000, 64));
        assert_eq!(l.max_output_bytes, 1_048_576);
    }

    #[test]
    fn recursion_depth_scales_and_caps() {
        let mut l = Limits::default();
        assert_eq!(l.minijinja_recursion_limit(), 385);
        l.max_recursion_depth = 500;
        assert_eq!(l.minijinja_recursion_limit(), 500);
    }

    #[test]
    fn deserialises_camel_case_with_defaults() {
        let l: Limits = serde_json::from_str(r#"{"maxOutputBytes": 2048}"#).unwrap_or_default();
        assert_eq!(l.max_output_bytes, 2048);
        assert_eq!(l.fuel, 1_000_000);
    }
}
