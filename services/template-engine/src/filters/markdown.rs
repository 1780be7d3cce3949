//! `markdown`: CommonMark (with tables, strikethrough and task lists) to HTML.
//!
//! The result is marked safe — so an HTML template does not escape it again — only after
//! it is sanitised: raw HTML in the input (blocks and inline tags) is turned into text, so
//! it comes out escaped, and links or images whose URL uses a script-capable scheme
//! (`javascript:`, `vbscript:`, `data:`) get `#` instead.

use minijinja::value::Value;
use minijinja::{Error, State};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

use super::args::{expect_str, on_undefined};

/// `{{ body|markdown }}`.
pub(super) fn markdown(state: &State<'_, '_>, value: &Value) -> Result<Value, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result.map(Value::from);
    }
    let text = expect_str("markdown", value)?;
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(sanitise);
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events);
    Ok(Value::from_safe_string(out))
}

/// Escapes raw HTML and neutralises unsafe link targets.
fn sanitise(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    }
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let scheme: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take_while(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let has_scheme = url.contains(':');
    if has_scheme && matches!(scheme.as_str(), "javascript" | "vbscript" | "data") {
        CowStr::Borrowed("#")
    } else {
        url
    }
}

#[cfg(test)]
mod tests {
    use crate::filters::test_support::render;

    #[test]
    fn renders_commonmark() {
        let got = render("{{ v|markdown }}", "# Hi\n\n*a* and **b** ~~c~~");
        assert_eq!(
            got.as_deref(),
            Ok("<h1>Hi</h1>\n<p><em>a</em> and <strong>b</strong> <del>c</del></p>\n")
        );
    }

    #[test]
    fn raw_html_is_escaped() {
        let got = render(
            "{{ v|markdown }}",
            "<script>alert(1)</script>\n\nhi <b onclick=x>b</b>",
        );
        let html = got.unwrap_or_default();
        assert!(
            !html.contains("<script>") && !html.contains("<b "),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;b onclick=x&gt;"), "{html}");
    }

    #[test]
    fn script_links_are_neutralised() {
        let got = render(
            "{{ v|markdown }}",
            "[x](javascript:alert(1)) ![i]( DATA:text/html,x) [ok](https://a.b/c)",
        );
        let html = got.unwrap_or_default();
        assert!(
            !html.to_lowercase().contains("javascript") && !html.contains("DATA"),
            "{html}"
        );
        assert!(html.contains(r##"<a href="#">x</a>"##), "{html}");
        assert!(html.contains(r#"<a href="https://a.b/c">ok</a>"#), "{html}");
    }

    #[test]
    fn non_string_is_an_error() {
        let err = render("{{ v|markdown }}", 3).unwrap_err();
        assert_eq!(err, "markdown: expected a string, got number");
    }
}
