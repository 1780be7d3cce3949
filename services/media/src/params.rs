//! Variant query parameters: parsing and validation (pure).
//!
//! `w`, `h` (1–8192), `fit` (cover|contain|inside|fill), `format`
//! (jpeg|png|webp|avif|auto), `q` (1–100), `crop` (`x,y,w,h`), plus the
//! signed-URL envelope `exp`, `kid`, `sig`. Anything else is a 400, so a
//! typo never silently serves the original.

use crate::{
    Error, Result,
    delivery::negotiate,
    imaging::{Fit, OutputFormat, Transform, plan::MAX_SIDE},
};

/// The requested format before negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatRequest {
    /// A fixed format.
    Fixed(OutputFormat),
    /// Chosen from `Accept` (the response varies on it).
    Auto,
}

/// A variant request: `None` fields take defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantQuery {
    /// Target width.
    pub width: Option<u32>,
    /// Target height.
    pub height: Option<u32>,
    /// Fit mode.
    pub fit: Option<Fit>,
    /// Format.
    pub format: Option<FormatRequest>,
    /// JPEG quality.
    pub quality: Option<u8>,
    /// Crop rectangle.
    pub crop: Option<[u32; 4]>,
}

impl VariantQuery {
    /// True when no transform is asked for (serve the original).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Parses decoded query pairs.
    pub fn parse(params: &[(String, String)]) -> Result<Self> {
        let mut query = Self::default();
        for (key, value) in params {
            match key.as_str() {
                "w" => query.width = Some(side("w", value)?),
                "h" => query.height = Some(side("h", value)?),
                "size" => {
                    let s = side("size", value)?;
                    query.width = Some(s);
                    query.height = Some(s);
                }
                "fit" => {
                    query.fit = Some(match value.as_str() {
                        "cover" => Fit::Cover,
                        "contain" => Fit::Contain,
                        "inside" => Fit::Inside,
                        "fill" => Fit::Fill,
                        _ => {
                            return Err(Error::bad_request(
                                "fit",
                                "fit must be cover, contain, inside or fill",
                            ));
                        }
                    })
                }
                "format" => {
                    query.format = Some(match value.as_str() {
                        "jpeg" | "jpg" => FormatRequest::Fixed(OutputFormat::Jpeg),
                        "png" => FormatRequest::Fixed(OutputFormat::Png),
                        "webp" => FormatRequest::Fixed(OutputFormat::Webp),
                        "auto" => FormatRequest::Auto,
                        "avif" => FormatRequest::Fixed(OutputFormat::Avif),
                        _ => {
                            return Err(Error::bad_request(
                                "format",
                                "format must be jpeg, png, webp, avif or auto",
                            ));
                        }
                    })
                }
                "q" => {
                    query.quality = Some(
                        value
                            .parse::<u8>()
                            .ok()
                            .filter(|q| (1..=100).contains(q))
                            .ok_or_else(|| {
                                Error::bad_request("q", "q must be an integer from 1 to 100")
                            })?,
                    )
                }
                "crop" => query.crop = Some(crop(value)?),
                "exp" | "kid" | "sig" => {}
                other => {
                    return Err(Error::bad_request(
                        other,
                        format!("unknown parameter {other}"),
                    ));
                }
            }
        }
        Ok(query)
    }

    /// The transform for a source of type `mime`, negotiating `format=auto`
    /// against `accept`; also says whether the response varies on `Accept`.
    pub fn resolve(&self, mime: &str, accept: Option<&str>) -> (Transform, bool) {
        let source_may_have_alpha = matches!(mime, "image/png" | "image/gif" | "image/webp");
        let (format, varies) = match self.format {
            Some(FormatRequest::Fixed(f)) => (f, false),
            Some(FormatRequest::Auto) => (negotiate(accept, source_may_have_alpha), true),
            None if mime.starts_with("video/") => (OutputFormat::Jpeg, false),
            None => (OutputFormat::for_source(mime), false),
        };
        let transform = Transform {
            width: self.width,
            height: self.height,
            fit: self.fit.unwrap_or_default(),
            format,
            quality: self.quality.unwrap_or(82),
            crop: self.crop,
        };
        (transform, varies)
    }
}

fn side(name: &str, value: &str) -> Result<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|v| (1..=MAX_SIDE).contains(v))
        .ok_or_else(|| {
            Error::bad_request(
                name,
                format!("{name} must be an integer from 1 to {MAX_SIDE}"),
            )
        })
}

fn crop(value: &str) -> Result<[u32; 4]> {
    let parts: Vec<u32> = value
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| Error::bad_request("crop", "crop must be x,y,w,h in pixels"))?;
    <[u32; 4]>::try_from(parts)
        .map_err(|_| Error::bad_request("crop", "crop must be x,y,w,h in pixels"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn parses_a_full_query() {
        let q = VariantQuery::parse(&pairs(
            "w=200&h=100&fit=contain&format=webp&q=70&crop=1,2,3,4",
        ))
        .unwrap();
        let (t, varies) = q.resolve("image/jpeg", None);
        assert_eq!(
            (t.width, t.height, t.fit, t.format, t.quality),
            (Some(200), Some(100), Fit::Contain, OutputFormat::Webp, 70)
        );
        assert_eq!(t.crop, Some([1, 2, 3, 4]));
        assert!(!varies);
    }

    #[test]
    fn auto_follows_accept_and_varies() {
        let q = VariantQuery::parse(&pairs("w=10&format=auto")).unwrap();
        assert_eq!(
            q.resolve("image/jpeg", Some("image/webp,*/*")).0.format,
            OutputFormat::Webp
        );
        assert_eq!(
            q.resolve("image/jpeg", Some("image/avif,image/webp,*/*"))
                .0
                .format,
            OutputFormat::Avif
        );
        let (t, varies) = q.resolve("image/jpeg", Some("image/*"));
        assert_eq!(t.format, OutputFormat::Jpeg);
        assert!(varies);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "w=0",
            "w=9000",
            "w=abc",
            "fit=zoom",
            "q=0",
            "crop=1,2",
            "zoom=2",
            "format=bmp",
        ] {
            assert!(VariantQuery::parse(&pairs(bad)).is_err(), "{bad}");
        }
        assert!(
            VariantQuery::parse(&pairs("exp=1&kid=a&sig=00"))
                .unwrap()
                .is_empty()
        );
    }
}
