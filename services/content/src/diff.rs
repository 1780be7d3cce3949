//! Field-level differences between two versions of an entry. Pure.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::Fields;

/// How a field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Absent before.
    Added,
    /// Absent after.
    Removed,
    /// Present in both with different values.
    Changed,
}

/// One changed field; localized values are compared per locale (`title.fr`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    /// `slug`, `fields.<name>` or `fields.<name>.<locale>`.
    pub field: String,
    /// How it changed.
    pub change: ChangeKind,
    /// The value before (absent when added).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub before: Option<Value>,
    /// The value after (absent when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub after: Option<Value>,
}

/// The changes from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Diff {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
    /// Every change, ordered by field.
    pub changes: Vec<Change>,
}

/// Changes between two sets of values (plus the slugs).
pub fn diff(before: (&str, &Fields), after: (&str, &Fields)) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.0 != after.0 {
        changes.push(change(
            "slug".to_owned(),
            Some(before.0.into()),
            Some(after.0.into()),
        ));
    }
    compare_maps("fields", before.1, after.1, true, &mut changes);
    changes
}

fn compare_maps(prefix: &str, a: &Fields, b: &Fields, descend: bool, out: &mut Vec<Change>) {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let path = format!("{prefix}.{name}");
        match (a.get(name), b.get(name)) {
            (Some(Value::Object(x)), Some(Value::Object(y))) if descend => {
                compare_maps(&path, x, y, false, out);
            }
            (x, y) if x != y => out.push(change(path, x.cloned(), y.cloned())),
            _ => {}
        }
    }
}

fn change(field: String, before: Option<Value>, after: Option<Value>) -> Change {
    let kind = match (&before, &after) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    Change {
        field,
        change: kind,
        before,
        after,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reports_added_removed_changed_and_per_locale() {
        let a = f(json!({"title": {"en": "Hi", "fr": "Salut"}, "price": 1, "old": true}));
        let b = f(
            json!({"title": {"en": "Hello", "fr": "Salut", "de": "Hallo"}, "price": 1, "new": "x"}),
        );
        let changes = diff(("a", &a), ("b", &b));
        let summary: Vec<(String, ChangeKind)> = changes
            .iter()
            .map(|c| (c.field.clone(), c.change))
            .collect();
        assert_eq!(
            summary,
            [
                ("slug".to_owned(), ChangeKind::Changed),
                ("fields.new".to_owned(), ChangeKind::Added),
                ("fields.old".to_owned(), ChangeKind::Removed),
                ("fields.title.de".to_owned(), ChangeKind::Added),
                ("fields.title.en".to_owned(), ChangeKind::Changed),
            ]
        );
        assert_eq!(changes[4].before, Some(json!("Hi")));
    }

    #[test]
    fn identical_versions_have_no_changes() {
        let a = f(json!({"x": [1, 2]}));
        assert!(diff(("s", &a), ("s", &a)).is_empty());
    }
}
