//! Finds the templates a source refers to by literal name, so a set can be checked for
//! missing `{% include %}`, `{% extends %}`, `{% import %}` and `{% from … import %}` targets
//! before anything renders. Dynamic names (`{% include partial_name %}`) and
//! `ignore missing` includes cannot be checked statically and are skipped.

use crate::scan::bodies;

/// A literal reference from one template to others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reference {
    /// The tag: `include`, `extends`, `import` or `from`.
    pub kind: &'static str,
    /// Candidate names; the reference resolves if any exists (`include ["a", "b"]`).
    pub names: Vec<String>,
    /// Byte offset of the first name's literal in the source.
    pub offset: usize,
}

/// Every literal template reference in `source`, in source order.
pub(crate) fn references(source: &str) -> Vec<Reference> {
    bodies(source)
        .into_iter()
        .filter_map(|body| {
            let kind = match body.keyword() {
                "include" => "include",
                "extends" => "extends",
                "import" => "import",
                "from" => "from",
                _ => return None,
            };
            let args = &body.text[kind.len()..];
            parse_args(kind, args, body.offset + kind.len())
        })
        .collect()
}

/// Parses `"name"` or `["a", "b"]` at the start of `args`; `None` when dynamic or optional.
fn parse_args(kind: &'static str, args: &str, args_offset: usize) -> Option<Reference> {
    let body = args.trim_start();
    let offset = args_offset + (args.len() - body.len());
    let (names, rest) = if let Some(list) = body.strip_prefix('[') {
        parse_list(list)?
    } else {
        let (name, rest) = parse_string(body)?;
        (vec![name], rest)
    };
    let optional = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w == ["ignore", "missing"]);
    (!optional && !names.is_empty()).then_some(Reference {
        kind,
        names,
        offset: if body.starts_with('[') {
            offset + 1
        } else {
            offset
        },
    })
}

/// Parses `"a", "b"]`; `None` when an element is not a string literal.
fn parse_list(mut rest: &str) -> Option<(Vec<String>, &str)> {
    let mut names = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(']') {
            return Some((names, after));
        }
        let (name, after) = parse_string(rest)?;
        names.push(name);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses a leading `'…'` or `"…"` literal (with backslash escapes).
fn parse_string(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            c if c == quote => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<(&'static str, Vec<String>)> {
        references(source)
            .into_iter()
            .map(|r| (r.kind, r.names))
            .collect()
    }

    #[test]
    fn finds_every_literal_reference_kind() {
        let src = r#"{% extends "base.html" %}{%- include 'a' -%}{% import "m" as m %}
{% from "f" import x %}{% include ["b", "c"] %}"#;
        let got = names(src);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], ("extends", vec!["base.html".to_string()]));
        assert_eq!(got[1], ("include", vec!["a".to_string()]));
        assert_eq!(got[2], ("import", vec!["m".to_string()]));
        assert_eq!(got[3], ("from", vec!["f".to_string()]));
        assert_eq!(got[4], ("include", vec!["b".to_string(), "c".to_string()]));
    }

    #[test]
    fn skips_dynamic_optional_raw_and_comments() {
        let src = r#"{% include name %}{% include "x" ignore missing %}
{# {% include "c" %} #}{% raw %}{% include "r" %}{% endraw %}{{ "{% include 'e' %}" }}"#;
        assert!(names(src).is_empty());
    }

    #[test]
    fn offset_points_at_the_literal() {
        let src = "line\n{% include \"p\" %}";
        let r = &references(src)[0];
        assert_eq!(&src[r.offset..r.offset + 3], "\"p\"");
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for src in [
            "{%",
            "{% include \"a",
            "{{",
            "{#",
            "{% raw %}",
            "{% include [\"a\",",
        ] {
            let _ = references(src);
        }
    }
}
