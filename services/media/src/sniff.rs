//! Content-type sniffing: what the bytes are, and whether the client's claims agree.
//!
//! The type stored and served is always the sniffed one. A declared type
//! (multipart part or `Content-Type`) or a filename extension that names a
//! different type is refused (422), so an executable named `cat.png` never
//! lands in storage; bytes of an unsupported kind are refused with 415.

/// What kind of media an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A still image the pipeline can decode.
    Image,
    /// A video (thumbnails through ffmpeg).
    Video,
    /// Stored and served as is, never processed (PDF, AVIF: no decoder here).
    File,
}

impl Kind {
    /// The name stored and returned in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::File => "file",
        }
    }
}

/// The sniffed type of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The media type, e.g. `image/png`.
    pub mime: &'static str,
    /// Its kind.
    pub kind: Kind,
}

/// Why an upload's type was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    /// The bytes are of no supported type (415).
    #[error("{0}")]
    Unsupported(String),
    /// A claim (declared type or extension) disagrees with the bytes (422).
    #[error("{reason}")]
    Mismatch {
        /// `content_type` or `filename`.
        field: &'static str,
        /// What disagrees.
        reason: String,
    },
}

/// Types accepted, with the extensions that may name them.
const ACCEPTED: &[(&str, Kind, &[&str])] = &[
    ("image/jpeg", Kind::Image, &["jpg", "jpeg", "jpe", "jfif"]),
    ("image/png", Kind::Image, &["png"]),
    ("image/gif", Kind::Image, &["gif"]),
    ("image/webp", Kind::Image, &["webp"]),
    ("image/avif", Kind::File, &["avif"]),
    ("video/mp4", Kind::Video, &["mp4", "m4v"]),
    ("video/webm", Kind::Video, &["webm"]),
    ("video/quicktime", Kind::Video, &["mov", "qt"]),
    ("video/x-matroska", Kind::Video, &["mkv"]),
    ("application/pdf", Kind::File, &["pdf"]),
];

/// Sniffs `head` (the first bytes suffice) and checks the client's claims.
pub fn check(
    head: &[u8],
    declared: Option<&str>,
    filename: Option<&str>,
) -> Result<Sniffed, SniffError> {
    let inferred = infer::get(head);
    let detected = inferred.map(|t| t.mime_type());
    if let Some(claimed) = declared.map(normalise).filter(|c| !is_generic(c))
        && detected != Some(claimed.as_str())
    {
        {
            return Err(SniffError::Mismatch {
                field: "content_type",
                reason: format!(
                    "the declared type {claimed} does not match the content ({})",
                    detected.unwrap_or("unrecognised bytes")
                ),
            });
        }
    }
    if let Some(ext) = filename.and_then(extension) {
        let named = ACCEPTED
            .iter()
            .find(|(_, _, exts)| exts.contains(&ext.as_str()));
        let agrees = named.is_some_and(|(mime, _, _)| Some(*mime) == detected)
            || inferred.is_some_and(|t| t.extension() == ext);
        let claims_a_type = named.is_some() || infer::is_supported(&ext);
        if claims_a_type && !agrees {
            return Err(SniffError::Mismatch {
                field: "filename",
                reason: format!(
                    "the file is named .{ext} but its content is {}",
                    detected.unwrap_or("unrecognised bytes")
                ),
            });
        }
    }
    let detected = detected.ok_or_else(|| {
        SniffError::Unsupported("the content's type could not be recognised".to_owned())
    })?;
    ACCEPTED
        .iter()
        .find(|(mime, _, _)| *mime == detected)
        .map(|(mime, kind, _)| Sniffed { mime, kind: *kind })
        .ok_or_else(|| SniffError::Unsupported(format!("{detected} is not accepted")))
}

/// The lower-case extension of `filename`, if any.
fn extension(filename: &str) -> Option<String> {
    let name = filename.rsplit(['/', '\\']).next()?;
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

fn normalise(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Types that claim nothing about the content.
fn is_generic(mime: &str) -> bool {
    matches!(
        mime,
        "" | "application/octet-stream" | "binary/octet-stream"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";

    #[test]
    fn png_bytes_named_png_pass() {
        let sniffed = check(PNG, Some("image/png"), Some("cat.PNG")).unwrap();
        assert_eq!(sniffed.mime, "image/png");
        assert_eq!(sniffed.kind, Kind::Image);
    }

    #[test]
    fn an_executable_named_png_is_a_mismatch() {
        let err = check(ELF, None, Some("cat.png")).unwrap_err();
        assert!(
            matches!(
                err,
                SniffError::Mismatch {
                    field: "filename",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = check(ELF, Some("image/png"), None).unwrap_err();
        assert!(
            matches!(
                err,
                SniffError::Mismatch {
                    field: "content_type",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_executable_without_claims_is_unsupported() {
        assert!(matches!(
            check(ELF, None, None),
            Err(SniffError::Unsupported(_))
        ));
    }

    #[test]
    fn generic_declared_types_and_unknown_extensions_claim_nothing() {
        assert!(check(PNG, Some("application/octet-stream"), Some("upload.bin")).is_ok());
        assert!(check(PNG, None, Some("noextension")).is_ok());
    }

    #[test]
    fn jpeg_extensions_are_aliases() {
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
        assert!(check(jpeg, Some("image/jpeg"), Some("a.jpg")).is_ok());
        assert!(check(jpeg, None, Some("a.jpeg")).is_ok());
        assert!(check(jpeg, None, Some("a.png")).is_err());
    }
}
