//! The workflow: states, the transitions between them, and which permission
//! allows each. Pure; the rules come from `WORKFLOW_CONFIG` or [`Workflow::default`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::permissions::{ADMIN, Caller, PUBLISH, WRITE};

/// Where a locale of an entry is in the workflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Being edited.
    #[default]
    Draft,
    /// Waiting for a publisher.
    InReview,
    /// Live.
    Published,
    /// Retired.
    Archived,
}

impl State {
    /// The state's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }
}

/// One allowed move and the permissions that may make it (any of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// From this state.
    pub from: State,
    /// To this state.
    pub to: State,
    /// Permissions (scopes) any of which allows the move; `content:admin` always does.
    pub permissions: Vec<String>,
}

/// The transition rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Every allowed move.
    pub transitions: Vec<Rule>,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No rule moves `from` to `to` at all.
    #[error("cannot move from {} to {}", from.as_str(), to.as_str())]
    NoSuchTransition {
        /// Current state.
        from: State,
        /// Requested state.
        to: State,
    },
    /// A rule exists but the caller has none of its permissions.
    #[error("moving from {} to {} needs one of: {}", from.as_str(), to.as_str(), needed.join(", "))]
    NotPermitted {
        /// Current state.
        from: State,
        /// Requested state.
        to: State,
        /// What would have allowed it.
        needed: Vec<String>,
    },
}

fn rule(from: State, to: State, permissions: &[&str]) -> Rule {
    Rule {
        from,
        to,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

impl Default for Workflow {
    /// Writers submit and withdraw; publishers publish, unpublish, archive and revive.
    fn default() -> Self {
        use State::{Archived, Draft, InReview, Published};
        Self {
            transitions: vec![
                rule(Draft, InReview, &[WRITE, PUBLISH]),
                rule(InReview, Draft, &[WRITE, PUBLISH]),
                rule(InReview, Published, &[PUBLISH]),
                rule(Draft, Published, &[PUBLISH]),
                rule(Published, Published, &[PUBLISH]),
                rule(Published, Draft, &[PUBLISH]),
                rule(Published, Archived, &[PUBLISH]),
                rule(Draft, Archived, &[PUBLISH]),
                rule(InReview, Archived, &[PUBLISH]),
                rule(Archived, Draft, &[PUBLISH]),
            ],
        }
    }
}

impl Workflow {
    /// Parses a `WORKFLOW_CONFIG` document.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// `Ok` when `caller` may move a locale from `from` to `to`.
    pub fn check(&self, from: State, to: State, caller: &Caller) -> Result<(), Refusal> {
        let Some(rule) = self
            .transitions
            .iter()
            .find(|r| r.from == from && r.to == to)
        else {
            return Err(Refusal::NoSuchTransition { from, to });
        };
        if caller.has(ADMIN) || rule.permissions.iter().any(|p| caller.has(p)) {
            Ok(())
        } else {
            Err(Refusal::NotPermitted {
                from,
                to,
                needed: rule.permissions.clone(),
            })
        }
    }

    /// Whether any rule leads into `to` from `from` (the scheduler's check).
    pub fn has_transition(&self, from: State, to: State) -> bool {
        self.transitions
            .iter()
            .any(|r| r.from == from && r.to == to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(scopes: &str) -> Caller {
        Caller::new("u", scopes.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn editor_submits_but_cannot_publish() {
        let wf = Workflow::default();
        let editor = caller(WRITE);
        assert!(wf.check(State::Draft, State::InReview, &editor).is_ok());
        let refused = wf
            .check(State::InReview, State::Published, &editor)
            .unwrap_err();
        assert!(matches!(refused, Refusal::NotPermitted { .. }), "{refused}");
    }

    #[test]
    fn admin_may_make_any_configured_move_but_no_other() {
        let wf = Workflow::default();
        let admin = caller(ADMIN);
        assert!(wf.check(State::Archived, State::Draft, &admin).is_ok());
        assert!(matches!(
            wf.check(State::Archived, State::Published, &admin),
            Err(Refusal::NoSuchTransition { .. })
        ));
    }

    #[test]
    fn config_parses() {
        let wf = Workflow::from_json(
            r#"{"transitions":[{"from":"draft","to":"published","permissions":["content:write"]}]}"#,
        )
        .unwrap();
        assert!(
            wf.check(State::Draft, State::Published, &caller(WRITE))
                .is_ok()
        );
        assert!(Workflow::from_json(r#"{"transitions":[{"from":"nope"}]}"#).is_err());
    }
}
