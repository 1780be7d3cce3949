//! Finds the filters (`x|name`, `{% filter name %}`) and tests (`x is name`) a source
//! uses, so unknown ones are reported when a set is built rather than at the first render
//! that reaches them (MiniJinja resolves both only at run time).

use crate::scan::bodies;

/// Whether a name is used as a filter or as a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum NameKind {
    Filter,
    Test,
}

/// One use of a filter or test name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameUse {
    pub kind: NameKind,
    pub name: String,
    /// Byte offset of the name in the source.
    pub offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str, usize),
    Pipe,
    Other,
}

/// Every filter and test name `source` uses, in order.
pub(crate) fn names_used(source: &str) -> Vec<NameUse> {
    let mut found = Vec::new();
    for body in bodies(source) {
        let tokens = lex(body.text, body.offset);
        if body.keyword() == "filter"
            && let Some(Token::Ident(name, offset)) = tokens.get(1)
        {
            found.push(use_of(NameKind::Filter, name, *offset));
        }
        found.extend(uses(&tokens));
    }
    found
}

fn uses(tokens: &[Token<'_>]) -> Vec<NameUse> {
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match (token, tokens.get(i + 1), tokens.get(i + 2)) {
            (Token::Pipe, Some(Token::Ident(name, at)), _) => {
                found.push(use_of(NameKind::Filter, name, *at));
            }
            (Token::Ident("is", _), Some(Token::Ident("not", _)), Some(Token::Ident(name, at))) => {
                found.push(use_of(NameKind::Test, name, *at));
            }
            (Token::Ident("is", _), Some(Token::Ident(name, at)), _) if *name != "not" => {
                found.push(use_of(NameKind::Test, name, *at));
            }
            _ => {}
        }
    }
    found
}

fn use_of(kind: NameKind, name: &str, offset: usize) -> NameUse {
    NameUse {
        kind,
        name: name.to_string(),
        offset,
    }
}

/// Identifiers, pipes and everything else; string literals are skipped whole.
fn lex(text: &str, base: usize) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' || c == '\'' {
            skip_string(&mut chars, c);
            tokens.push(Token::Other);
        } else if c.is_alphabetic() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !(d.is_alphanumeric() || d == '_') {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            tokens.push(Token::Ident(&text[i..end], base + i));
        } else if c == '|' {
            tokens.push(Token::Pipe);
        } else if !c.is_whitespace() {
            tokens.push(Token::Other);
        }
    }
    tokens
}

fn skip_string(chars: &mut impl Iterator<Item = (usize, char)>, quote: char) {
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<(NameKind, String)> {
        names_used(source)
            .into_iter()
            .map(|u| (u.kind, u.name))
            .collect()
    }

    #[test]
    fn finds_filters_and_tests() {
        let src = "{{ a|upper | truncate(3) }}{% if b is not defined or c is even %}{% endif %}\
                   {% filter lower %}x{% endfilter %}{% for x in y|sort if x is number %}{% endfor %}";
        let got = names(src);
        let expected = [
            (NameKind::Filter, "upper"),
            (NameKind::Filter, "truncate"),
            (NameKind::Test, "defined"),
            (NameKind::Test, "even"),
            (NameKind::Filter, "lower"),
            (NameKind::Filter, "sort"),
            (NameKind::Test, "number"),
        ];
        let expected: Vec<(NameKind, String)> =
            expected.iter().map(|(k, n)| (*k, n.to_string())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn ignores_pipes_in_strings_and_comments() {
        assert!(names(r#"{{ "a|b" ~ 'is x' }}{# {{ a|nope }} #}"#).is_empty());
    }

    #[test]
    fn offset_points_at_the_name() {
        let src = "x\n{{ a|slugify }}";
        let u = &names_used(src)[0];
        assert_eq!(&src[u.offset..u.offset + 7], "slugify");
    }
}
