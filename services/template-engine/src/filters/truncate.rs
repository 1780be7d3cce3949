//! `truncate`: shortens text to a length, Jinja2 semantics.
//!
//! Written here rather than taken from `minijinja-contrib` because contrib's version only
//! takes keyword arguments; ours also takes Jinja2's positional order
//! `truncate(length, killwords, end, leeway)`. Defaults differ from Jinja2 on purpose:
//! `end='…'` and `leeway=0` (text longer than `length` is always cut).

use minijinja::value::{Kwargs, Value, from_args};
use minijinja::{Error, State};

use super::args::{arg, expect_str, invalid, on_undefined};

/// `{{ text|truncate(20, end='…', killwords=false, leeway=0) }}`; `args` are Jinja2's
/// positional arguments (length, killwords, end, leeway) followed by keywords.
pub(super) fn truncate(
    state: &State<'_, '_>,
    value: &Value,
    args: &[Value],
) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    type Args = (
        Option<usize>,
        Option<bool>,
        Option<String>,
        Option<usize>,
        Kwargs,
    );
    let text = expect_str("truncate", value)?;
    let (length, killwords, end, leeway, kwargs): Args = from_args(args)?;
    let length = arg("truncate", "length", length, &kwargs, 255)?;
    let killwords = arg("truncate", "killwords", killwords, &kwargs, false)?;
    let end = arg("truncate", "end", end, &kwargs, "…".to_string())?;
    let leeway = arg("truncate", "leeway", leeway, &kwargs, 0)?;
    kwargs.assert_all_used()?;
    cut(text, length, killwords, &end, leeway)
}

/// The algorithm of Jinja2's `do_truncate`, counted in characters.
fn cut(
    text: &str,
    length: usize,
    killwords: bool,
    end: &str,
    leeway: usize,
) -> Result<String, Error> {
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid(
            "truncate",
            format!("length {length} is shorter than the end marker {end:?}"),
        ));
    }
    if text.chars().count() <= length.saturating_add(leeway) {
        return Ok(text.to_string());
    }
    let keep: String = text.chars().take(length - end_len).collect();
    let kept = if killwords {
        keep.as_str()
    } else {
        keep.rsplit_once(' ')
            .map_or(keep.as_str(), |(head, _)| head)
    };
    Ok(format!("{kept}{end}"))
}

#[cfg(test)]
mod tests {
    use crate::filters::test_support::render;

    #[test]
    fn keeps_whole_words_by_default() {
        let got = render("{{ v|truncate(12) }}", "The quick brown fox");
        assert_eq!(got.as_deref(), Ok("The quick…"));
    }

    #[test]
    fn killwords_and_custom_end() {
        let got = render("{{ v|truncate(12, true, '...') }}", "The quick brown fox");
        assert_eq!(got.as_deref(), Ok("The quick..."));
        let got = render(
            "{{ v|truncate(length=6, killwords=true) }}",
            "Grüße aus Köln",
        );
        assert_eq!(got.as_deref(), Ok("Grüße…"));
    }

    #[test]
    fn short_text_and_leeway_leave_text_alone() {
        assert_eq!(
            render("{{ v|truncate(20) }}", "short").as_deref(),
            Ok("short")
        );
        let got = render("{{ v|truncate(5, leeway=3) }}", "abcdefg");
        assert_eq!(got.as_deref(), Ok("abcdefg"));
        let got = render("{{ v|truncate(5, false, '..', 3) }}", "abcdefghi");
        assert_eq!(got.as_deref(), Ok("abc.."));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let err = render("{{ v|truncate(5) }}", 42).unwrap_err();
        assert_eq!(err, "truncate: expected a string, got number");
        let err = render("{{ v|truncate(2, end='...') }}", "abcdef").unwrap_err();
        assert!(err.contains("shorter than the end marker"), "{err}");
        let err = render("{{ v|truncate(5, length=6) }}", "abcdefgh").unwrap_err();
        assert!(err.contains("both by position and by keyword"), "{err}");
        assert!(render("{{ v|truncate(5, bogus=1) }}", "abcdefgh").is_err());
        assert!(render("{{ v|truncate(5, false, '.', 0, 9) }}", "abcdefgh").is_err());
    }
}
