//! Splits a Jinja source into the bodies of its `{{ … }}` expressions and `{% … %}` tags,
//! skipping comments and `{% raw %}` blocks. The static checks (`references`, `names`)
//! read these bodies; MiniJinja's own parser is not public.

/// The inside of one `{{ … }}` or `{% … %}`, whitespace-control markers removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Body<'a> {
    /// Byte offset of `text` in the source.
    pub offset: usize,
    /// The body, leading `-`/`+`/`~` and surrounding whitespace trimmed.
    pub text: &'a str,
    /// `true` for a `{% … %}` tag, `false` for a `{{ … }}` expression.
    pub tag: bool,
}

impl<'a> Body<'a> {
    /// The tag's keyword (`include`, `for`, …); empty for expressions.
    pub(crate) fn keyword(&self) -> &'a str {
        if !self.tag {
            return "";
        }
        let end = self
            .text
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(self.text.len());
        &self.text[..end]
    }
}

/// Every expression and tag body of `source`, in order.
pub(crate) fn bodies(source: &str) -> Vec<Body<'_>> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(rel) = source[i..].find('{') {
        let start = i + rel;
        let rest = &source[start..];
        i = if rest.starts_with("{#") {
            skip_past(source, start + 2, "#}")
        } else if rest.starts_with("{{") {
            push_body(source, start + 2, "}}", false, &mut found)
        } else if rest.starts_with("{%") {
            let next = push_body(source, start + 2, "%}", true, &mut found);
            match found.last() {
                Some(body) if body.tag && body.keyword() == "raw" => skip_raw(source, next),
                _ => next,
            }
        } else {
            start + 1
        };
    }
    found
}

/// Records the body from `from` to `close`; returns the offset after `close`.
fn push_body<'a>(
    source: &'a str,
    from: usize,
    close: &str,
    tag: bool,
    found: &mut Vec<Body<'a>>,
) -> usize {
    let Some(end) = source[from..].find(close).map(|e| from + e) else {
        return source.len();
    };
    let raw = &source[from..end];
    let text = raw.trim_start_matches(['-', '+', '~']).trim_start();
    let offset = from + (raw.len() - text.len());
    let text = text.trim_end_matches(['-', '+', '~']).trim_end();
    found.push(Body { offset, text, tag });
    end + close.len()
}

fn skip_past(source: &str, from: usize, needle: &str) -> usize {
    source[from..]
        .find(needle)
        .map_or(source.len(), |e| from + e + needle.len())
}

/// Skips a `{% raw %}` body up to and including its `{% endraw %}` tag.
fn skip_raw(source: &str, from: usize) -> usize {
    let Some(e) = source[from..].find("endraw") else {
        return source.len();
    };
    skip_past(source, from + e, "%}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_expressions_and_tags_but_not_comments_or_raw() {
        let src =
            "a {{- x|upper }} {# {{ no }} #}{%+ if y -%}{% raw %}{{ no }}{% endraw %}{% endif %}";
        let got: Vec<(&str, bool)> = bodies(src).iter().map(|b| (b.text, b.tag)).collect();
        assert_eq!(
            got,
            [
                ("x|upper", false),
                ("if y", true),
                ("raw", true),
                ("endif", true)
            ]
        );
        let first = bodies(src)[0];
        assert_eq!(&src[first.offset..first.offset + 7], "x|upper");
        assert_eq!(bodies(src)[1].keyword(), "if");
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for src in ["{%", "{{ x", "{#", "{% raw %}", "{% raw %}{% endraw"] {
            let _ = bodies(src);
        }
    }
}
