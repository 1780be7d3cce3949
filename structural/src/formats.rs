//! String `format`s kube-apiserver validates for CRDs, and nothing else.
//!
//! The apiserver strips every format outside a fixed list before validating
//! (`StripUnsupportedFormatsPostProcess`); notably `int32`, `int64`, `float` and
//! `double` are *not* on it and are therefore never enforced. Names are matched after
//! removing `-` (`date-time` = `datetime`), as go-openapi's registry does.
//!
//! Checks mirror go-openapi `strfmt` (the checks themselves live in `format_checks`);
//! where Go leans on its standard library (`net/mail`, `net/url`) the check is a close
//! approximation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use crate::format_checks::{
    is_base64, is_cidr, is_date, is_date_time, is_duration, is_email, is_isbn10, is_isbn13, is_mac,
    is_request_uri,
};

/// A supported `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    BsonObjectId,
    Uri,
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Cidr,
    Mac,
    Uuid,
    Uuid3,
    Uuid4,
    Uuid5,
    Isbn,
    Isbn10,
    Isbn13,
    CreditCard,
    Ssn,
    HexColor,
    RgbColor,
    Byte,
    Password,
    Date,
    Duration,
    DateTime,
}

impl Format {
    /// The format for a schema's `format` name, or `None` when the apiserver ignores it.
    pub(crate) fn lookup(name: &str) -> Option<Self> {
        let normalized = name.replace('-', "");
        Some(match normalized.as_str() {
            "bsonobjectid" => Self::BsonObjectId,
            "uri" => Self::Uri,
            "email" => Self::Email,
            "hostname" => Self::Hostname,
            "ipv4" => Self::Ipv4,
            "ipv6" => Self::Ipv6,
            "cidr" => Self::Cidr,
            "mac" => Self::Mac,
            "uuid" => Self::Uuid,
            "uuid3" => Self::Uuid3,
            "uuid4" => Self::Uuid4,
            "uuid5" => Self::Uuid5,
            "isbn" => Self::Isbn,
            "isbn10" => Self::Isbn10,
            "isbn13" => Self::Isbn13,
            "creditcard" => Self::CreditCard,
            "ssn" => Self::Ssn,
            "hexcolor" => Self::HexColor,
            "rgbcolor" => Self::RgbColor,
            "byte" => Self::Byte,
            "password" => Self::Password,
            "date" => Self::Date,
            "duration" => Self::Duration,
            "datetime" => Self::DateTime,
            _ => return None,
        })
    }

    /// Whether `s` is valid for this format.
    pub(crate) fn is_valid(self, s: &str) -> bool {
        match self {
            Self::BsonObjectId => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            Self::Uri => is_request_uri(s),
            Self::Email => is_email(s),
            Self::Hostname => s.len() <= 255 && matches(&HOSTNAME, s),
            Self::Ipv4 => {
                s.parse::<Ipv4Addr>().is_ok() || (s.contains('.') && s.parse::<IpAddr>().is_ok())
            }
            Self::Ipv6 => s.contains(':') && s.parse::<Ipv6Addr>().is_ok(),
            Self::Cidr => is_cidr(s),
            Self::Mac => is_mac(s),
            Self::Uuid => matches(&UUID, s),
            Self::Uuid3 => matches(&UUID3, s),
            Self::Uuid4 => matches(&UUID4, s),
            Self::Uuid5 => matches(&UUID5, s),
            Self::Isbn => is_isbn10(s) || is_isbn13(s),
            Self::Isbn10 => is_isbn10(s),
            Self::Isbn13 => is_isbn13(s),
            Self::CreditCard => {
                matches(&CREDIT_CARD, &s.replace(|c: char| !c.is_ascii_digit(), ""))
            }
            Self::Ssn => matches(&SSN, s),
            Self::HexColor => matches(&HEX_COLOR, s),
            Self::RgbColor => matches(&RGB_COLOR, s),
            Self::Byte => is_base64(s),
            Self::Password => true,
            Self::Date => is_date(s),
            Self::Duration => is_duration(s),
            Self::DateTime => is_date_time(s),
        }
    }
}

/// Constant patterns; `None` only if a literal below were malformed (a unit test
/// proves they all compile), in which case the format is not enforced.
pub(crate) type Lazy = LazyLock<Option<Regex>>;

static HOSTNAME: Lazy = LazyLock::new(|| {
    Regex::new(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
    .ok()
});
static UUID: Lazy = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok()
});
static UUID3: Lazy = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok()
});
static UUID4: Lazy = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
        .ok()
});
static UUID5: Lazy = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
        .ok()
});
static CREDIT_CARD: Lazy = LazyLock::new(|| {
    Regex::new(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$",
    )
    .ok()
});
static SSN: Lazy = LazyLock::new(|| Regex::new(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$").ok());
static HEX_COLOR: Lazy = LazyLock::new(|| Regex::new(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").ok());
static RGB_COLOR: Lazy = LazyLock::new(|| {
    let n = r"(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])";
    Regex::new(&format!(r"^rgb\(\s*{n}\s*,\s*{n}\s*,\s*{n}\s*\)$")).ok()
});
fn matches(re: &Lazy, s: &str) -> bool {
    re.as_ref().is_none_or(|re| re.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_patterns_compile() {
        for re in [
            &HOSTNAME,
            &UUID,
            &UUID3,
            &UUID4,
            &UUID5,
            &CREDIT_CARD,
            &SSN,
            &HEX_COLOR,
            &RGB_COLOR,
        ] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn lookup_normalizes_and_drops_unsupported() {
        assert_eq!(Format::lookup("date-time"), Some(Format::DateTime));
        assert_eq!(Format::lookup("int32"), None);
        assert_eq!(Format::lookup("int64"), None);
        assert_eq!(Format::lookup("k8s-custom"), None);
    }

    #[test]
    fn formats_accept_and_reject_like_strfmt() {
        let cases: &[(Format, &str, bool)] = &[
            (Format::DateTime, "2024-02-29T10:00:00Z", true),
            (Format::DateTime, "2024-02-29T10:00:00.123+02:00", true),
            (Format::DateTime, "2023-02-29T10:00:00Z", false),
            (Format::DateTime, "2024-01-01 10:00:00Z", false),
            (Format::DateTime, "2024-01-01T25:00:00Z", false),
            (Format::Date, "2024-12-31", true),
            (Format::Date, "2024-1-31", false),
            (Format::Byte, "aGVsbG8=", true),
            (Format::Byte, "aGVsbG8", false),
            (Format::Byte, "a$==", false),
            (Format::Uuid, "123E4567-e89b-12d3-a456-426614174000", true),
            (Format::Uuid4, "123e4567-e89b-12d3-a456-426614174000", false),
            (Format::Ipv4, "10.0.0.1", true),
            (Format::Ipv4, "10.0.0.256", false),
            (Format::Ipv6, "fe80::1", true),
            (Format::Ipv6, "10.0.0.1", false),
            (Format::Cidr, "10.0.0.0/8", true),
            (Format::Cidr, "10.0.0.0/33", false),
            (Format::Mac, "00:1a:2b:3c:4d:5e", true),
            (Format::Mac, "001a.2b3c.4d5e", true),
            (Format::Mac, "00:1a:2b", false),
            (Format::Hostname, "api.example.com", true),
            (Format::Hostname, "-bad-.com", false),
            (Format::Duration, "1h30m", true),
            (Format::Duration, "3 days", true),
            (Format::Duration, "soon", false),
            (Format::Uri, "https://example.com/a?b=c", true),
            (Format::Uri, "/relative/path", true),
            (Format::Uri, "123", false),
            (Format::Email, "ops@example.com", true),
            (Format::Email, "Ops Team <ops@example.com>", true),
            (Format::Email, "not-an-email", false),
            (Format::Isbn10, "0-321-75104-3", true),
            (Format::Isbn13, "978-0321751041", true),
            (Format::Isbn, "0321751044", false),
            (Format::HexColor, "#ff00AA", true),
            (Format::RgbColor, "rgb(255, 0, 10)", true),
            (Format::RgbColor, "rgb(256,0,0)", false),
            (Format::Ssn, "123-45-6789", true),
            (Format::CreditCard, "4111 1111 1111 1111", true),
            (Format::BsonObjectId, "507f1f77bcf86cd799439011", true),
        ];
        for (format, input, want) in cases {
            assert_eq!(format.is_valid(input), *want, "{format:?} {input:?}");
        }
    }
}
