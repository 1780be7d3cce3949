//! `slugify`: text to a URL slug (`"Crème Brûlée — 2 for 1!"` → `"creme-brulee-2-for-1"`).

use minijinja::value::Value;
use minijinja::{Error, State};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::args::{expect_str, on_undefined};

/// Lower-cases, strips accents (NFKD minus combining marks) and joins the alphanumeric
/// runs with `-`. Letters of other scripts are kept as they are.
pub(super) fn slugify(state: &State<'_, '_>, value: &Value) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    let text = expect_str("slugify", value)?;
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use crate::filters::test_support::render;

    #[test]
    fn folds_accents_and_collapses_separators() {
        let got = render("{{ v|slugify }}", "  Crème Brûlée — 2 for 1!  ");
        assert_eq!(got.as_deref(), Ok("creme-brulee-2-for-1"));
        assert_eq!(render("{{ v|slugify }}", "--").as_deref(), Ok(""));
        assert_eq!(
            render("{{ v|slugify }}", "Привет Мир").as_deref(),
            Ok("привет-мир")
        );
    }

    #[test]
    fn non_string_is_an_error() {
        let err = render("{{ v|slugify }}", [1, 2]).unwrap_err();
        assert_eq!(err, "slugify: expected a string, got sequence");
    }
}
