//! HTTP caching and range logic, pure: ETags, `If-None-Match`, `Range`, `Accept`.

use crate::imaging::OutputFormat;

/// A strong ETag from a content hash.
pub fn etag(sha256_hex: &str) -> String {
    format!("\"{sha256_hex}\"")
}

/// True if `If-None-Match` lists `etag` (or `*`); weak comparison, as RFC 9110 says for it.
pub fn none_match(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == bare)
}

/// The outcome of a `Range` header against a file of `length` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: send everything. Multi-range and malformed headers land here,
    /// which RFC 9110 allows (a server may ignore `Range`).
    Full,
    /// Inclusive byte range `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// The range lies outside the file: 416.
    Unsatisfiable,
}

/// Parses a single-range `bytes=` header.
pub fn parse_range(header: &str, length: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) if length > 0 => RangeRequest::Partial {
                start: length.saturating_sub(n),
                end: length - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Full,
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return RangeRequest::Full;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parse(last)
            };
            match end {
                None => RangeRequest::Full,
                Some(end) if end < start => RangeRequest::Full,
                Some(_) if start >= length => RangeRequest::Unsatisfiable,
                Some(end) => RangeRequest::Partial {
                    start,
                    end: end.min(length - 1),
                },
            }
        }
        (true, true) => RangeRequest::Full,
    }
}

/// The best format the client accepts for `format=auto`: AVIF if `Accept`
/// names it, else WebP if it names that, else JPEG for opaque sources and PNG
/// for sources with alpha. A type listed with `q=0` counts as refused.
pub fn negotiate(accept: Option<&str>, has_alpha: bool) -> OutputFormat {
    let accepts = |mime: &str| {
        accept.is_some_and(|a| {
            a.split(',').any(|part| {
                let mut pieces = part.split(';').map(str::trim);
                let name = pieces.next().unwrap_or_default();
                let refused = pieces.any(|p| p.replace(' ', "") == "q=0");
                name.eq_ignore_ascii_case(mime) && !refused
            })
        })
    };
    if accepts("image/avif") {
        OutputFormat::Avif
    } else if accepts("image/webp") {
        OutputFormat::Webp
    } else if has_alpha {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial { start: 0, end: 9 });
        assert_eq!(
            parse_range("bytes=90-", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=50-500", 100),
            Partial { start: 50, end: 99 }
        );
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Full);
        assert_eq!(parse_range("items=0-1", 100), Full);
        assert_eq!(parse_range("bytes=9-2", 100), Full);
    }

    #[test]
    fn if_none_match() {
        assert!(none_match("\"a\", \"b\"", "\"b\""));
        assert!(none_match("W/\"b\"", "\"b\""));
        assert!(none_match("*", "\"b\""));
        assert!(!none_match("\"c\"", "\"b\""));
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(
            negotiate(Some("image/avif,image/webp,*/*"), false),
            OutputFormat::Avif
        );
        assert_eq!(
            negotiate(Some("image/avif;q=0,image/webp,*/*"), false),
            OutputFormat::Webp
        );
        assert_eq!(negotiate(Some("image/webp"), true), OutputFormat::Webp);
        assert_eq!(
            negotiate(Some("image/webp;q=0, image/*"), false),
            OutputFormat::Jpeg
        );
        assert_eq!(negotiate(None, true), OutputFormat::Png);
    }
}
