//! `pattern` compilation with Go `regexp` (RE2) semantics on top of the `regex` crate.
//!
//! Both engines share RE2 syntax. The one difference that matters for CRD patterns is
//! that Go's Perl classes (`\d`, `\w`, `\s`, `\b`) are ASCII-only while the `regex`
//! crate makes them Unicode-aware; they are rewritten to their ASCII forms here.

use regex::Regex;

/// Compiles a schema `pattern`. Matching is unanchored, as in Go's `MatchString`.
pub(crate) fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&asciify_perl_classes(pattern))
}

/// Rewrites `\d \D \w \W \s \S \b \B` to ASCII-only equivalents, outside and inside
/// character classes.
fn asciify_perl_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push_str(&rewrite_escape(e, in_class)),
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` and a leading `]` are part of the class syntax.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// ASCII sets of Go's Perl classes; negations stay Unicode-wide (any other character).
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0C\\r ";

fn rewrite_escape(e: char, in_class: bool) -> String {
    let set = match e {
        'd' | 'D' => DIGIT,
        'w' | 'W' => WORD,
        's' | 'S' => SPACE,
        'b' | 'B' if !in_class => return format!("(?-u:\\{e})"),
        e => return format!("\\{e}"),
    };
    match (e.is_ascii_lowercase(), in_class) {
        (true, true) => set.to_owned(),
        (true, false) => format!("[{set}]"),
        // Nested classes are unions in the `regex` crate.
        (false, _) => format!("[^{set}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_only_like_go() {
        let digits = compile_pattern(r"^\d+$").unwrap();
        assert!(digits.is_match("123"));
        assert!(
            !digits.is_match("١٢٣"),
            "Arabic-Indic digits are not \\d in Go"
        );
        let class = compile_pattern(r"^[\w.-]+$").unwrap();
        assert!(class.is_match("a_b.c-d"));
        assert!(!class.is_match("é"));
        let negated = compile_pattern(r"^[^\s]+$").unwrap();
        assert!(negated.is_match("abc"));
        assert!(!negated.is_match("a b"));
        let upper = compile_pattern(r"^(\S+\s+){4}\S+$").unwrap();
        assert!(upper.is_match("*/5 * * * *"));
        assert!(
            upper.is_match("é é é é é"),
            "\\S matches any non-ASCII-space character"
        );
        assert!(compile_pattern(r"^[\D\W]+$").unwrap().is_match("-é"));
    }

    #[test]
    fn unicode_literals_and_dot_still_work() {
        let re = compile_pattern("^é.$").unwrap();
        assert!(re.is_match("éü"));
        assert!(
            compile_pattern(r"\bword\b")
                .unwrap()
                .is_match("a word here")
        );
        assert!(compile_pattern(r"\Bor\B").unwrap().is_match("word"));
    }

    #[test]
    fn matching_is_unanchored() {
        assert!(compile_pattern("[a-z]").unwrap().is_match("A1b"));
    }
}
