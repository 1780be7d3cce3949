//! Image processing: inspect an upload, and turn an original into a variant.
//!
//! Everything here is synchronous, CPU-bound and free of I/O; the service
//! runs it on the blocking pool behind the [`crate::limiter`].
//!
//! Memory: a JPEG is decoded with DCT scaling (shrink-on-load) at the
//! smallest of 1/8, 1/4, 1/2 or 1 that still covers the output, so a
//! thumbnail of a 24-megapixel photo decodes about 375 k pixels, not 24 M.
//! Every decoder checks the header's dimensions against `max_pixels` before
//! allocating, which refuses decompression bombs.

mod decode;
mod encode;
pub mod plan;

use fast_image_resize::{
    FilterType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

pub use decode::{Raster, decode, inspect};
pub use encode::encode;

/// How a resized image fills the requested box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Fill the box, cropping the centre (the default).
    #[default]
    Cover,
    /// Fit inside the box and pad to its size.
    Contain,
    /// Fit inside the box, never enlarging; no padding.
    Inside,
    /// Stretch to the box.
    Fill,
}

impl Fit {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cover => "cover",
            Self::Contain => "contain",
            Self::Inside => "inside",
            Self::Fill => "fill",
        }
    }
}

/// An encodable output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Baseline JPEG with a quality.
    Jpeg,
    /// PNG (lossless).
    Png,
    /// WebP, lossy with a quality (libwebp).
    Webp,
    /// AVIF, lossy with a quality (ravif/rav1e).
    Avif,
}

impl OutputFormat {
    /// The media type served.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
        }
    }

    /// The short name used in parameters and cache keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Avif => "avif",
        }
    }

    /// The output format for a source of type `mime` when none is asked for.
    pub fn for_source(mime: &str) -> Self {
        match mime {
            "image/jpeg" => Self::Jpeg,
            "image/webp" => Self::Webp,
            _ => Self::Png,
        }
    }
}

/// A complete, validated transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// Target width.
    pub width: Option<u32>,
    /// Target height.
    pub height: Option<u32>,
    /// How to fill a box given both sides.
    pub fit: Fit,
    /// Output format.
    pub format: OutputFormat,
    /// JPEG, WebP and AVIF quality 1–100.
    pub quality: u8,
    /// `[x, y, w, h]` applied before resizing.
    pub crop: Option<[u32; 4]>,
}

impl Transform {
    /// A canonical text of the transform, the variant cache key's input.
    pub fn canonical(&self) -> String {
        let opt = |v: Option<u32>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let crop = self.crop.map_or_else(
            || "-".to_owned(),
            |c| format!("{},{},{},{}", c[0], c[1], c[2], c[3]),
        );
        format!(
            "w={};h={};fit={};fmt={};q={};crop={}",
            opt(self.width),
            opt(self.height),
            self.fit.as_str(),
            self.format.as_str(),
            self.quality,
            crop
        )
    }
}

/// Why processing failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The bytes are not a decodable image (corrupt or truncated).
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
    /// The image is larger than the pixel limit.
    #[error("the image has {pixels} pixels, more than the limit of {limit}")]
    TooManyPixels {
        /// Pixels in the header.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The transform does not fit the image.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// Resizing or encoding failed (a bug or resource problem).
    #[error("processing failed: {0}")]
    Internal(String),
}

/// Decodes `bytes` (of sniffed type `mime`), applies `transform`, encodes the result.
pub fn process(
    bytes: &[u8],
    mime: &str,
    transform: &Transform,
    max_pixels: u64,
) -> Result<Vec<u8>, ImageError> {
    let source = decode::for_transform(bytes, mime, transform, max_pixels)?;
    let resized = resize(&source.raster, &source.plan)?;
    let placed = match source.plan.canvas {
        Some(canvas) => resized.on_canvas(canvas),
        None => resized,
    };
    encode(&placed, transform.format, transform.quality)
}

/// Resizes the plan's source rectangle of `raster` to the plan's output size.
fn resize(raster: &Raster, plan: &plan::Plan) -> Result<Raster, ImageError> {
    let internal = |e: &dyn std::fmt::Display| ImageError::Internal(e.to_string());
    let src = ImageRef::new(
        raster.width,
        raster.height,
        &raster.data,
        raster.pixel_type(),
    )
    .map_err(|e| internal(&e))?;
    let mut dst = Image::new(plan.out_w, plan.out_h, raster.pixel_type());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(plan.src.x, plan.src.y, plan.src.w, plan.src.h);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| internal(&e))?;
    Ok(Raster {
        width: plan.out_w,
        height: plan.out_h,
        channels: raster.channels,
        data: dst.into_vec(),
    })
}

#[cfg(test)]
mod tests;
