//! Encoding a raster to JPEG, PNG, WebP (lossy, libwebp through the `webp` crate)
//! or AVIF (pure Rust: `image`'s encoder over ravif and rav1e).

use image::{
    ColorType, ImageEncoder,
    codecs::{avif::AvifEncoder, jpeg::JpegEncoder, png::PngEncoder},
};

use super::{ImageError, OutputFormat, Raster};

/// rav1e speed preset (1 slowest … 10 fastest): variants are encoded on request,
/// so speed matters more than the last few percent of size.
const AVIF_SPEED: u8 = 9;

/// Encodes `raster` as `format`; JPEG drops alpha by laying it over white.
pub fn encode(raster: &Raster, format: OutputFormat, quality: u8) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let color = match raster.channels {
        1 => ColorType::L8,
        2 => ColorType::La8,
        3 => ColorType::Rgb8,
        _ => ColorType::Rgba8,
    };
    let (w, h) = (raster.width, raster.height);
    let result = match format {
        OutputFormat::Jpeg => {
            let (data, color) = if raster.has_alpha() {
                flatten(raster)
            } else {
                (raster.data.clone(), color)
            };
            JpegEncoder::new_with_quality(&mut out, quality).write_image(&data, w, h, color.into())
        }
        OutputFormat::Png => {
            PngEncoder::new(&mut out).write_image(&raster.data, w, h, color.into())
        }
        OutputFormat::Webp => return webp(raster, quality),
        OutputFormat::Avif => return avif(raster, quality),
    };
    result.map_err(|e| ImageError::Internal(e.to_string()))?;
    Ok(out)
}

/// Lossy WebP at `quality` (alpha kept, compressed losslessly by libwebp).
fn webp(raster: &Raster, quality: u8) -> Result<Vec<u8>, ImageError> {
    // libwebp takes RGB or RGBA only: expand grey.
    let expanded: Vec<u8>;
    let (data, alpha) = match raster.channels {
        1 => {
            expanded = raster.data.iter().flat_map(|&g| [g, g, g]).collect();
            (expanded.as_slice(), false)
        }
        2 => {
            expanded = raster
                .data
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect();
            (expanded.as_slice(), true)
        }
        3 => (raster.data.as_slice(), false),
        _ => (raster.data.as_slice(), true),
    };
    let encoder = if alpha {
        webp::Encoder::from_rgba(data, raster.width, raster.height)
    } else {
        webp::Encoder::from_rgb(data, raster.width, raster.height)
    };
    encoder
        .encode_simple(false, f32::from(quality))
        .map(|memory| memory.to_vec())
        .map_err(|e| ImageError::Internal(format!("WebP encoding failed: {e:?}")))
}

/// AVIF at `quality`, 8-bit 4:4:4; alpha is kept when any pixel is not opaque.
fn avif(raster: &Raster, quality: u8) -> Result<Vec<u8>, ImageError> {
    // Always hand the encoder RGBA: ravif's `encode_rgba` is a plain function compiled in
    // ravif (optimised even in dev builds, see the root Cargo.toml), and it drops an
    // all-opaque alpha itself. `encode_rgb` is `#[inline]` and generic underneath, so it and
    // all of rav1e behind it would be instantiated in this crate, unoptimised in debug
    // builds (about 10x slower).
    // Grey and grey+alpha are expanded to RGBA by the encoder already.
    let expanded: Vec<u8>;
    let (data, color) = match raster.channels {
        1 => (raster.data.as_slice(), ColorType::L8),
        2 => (raster.data.as_slice(), ColorType::La8),
        3 => {
            expanded = raster
                .data
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect();
            (expanded.as_slice(), ColorType::Rgba8)
        }
        _ => (raster.data.as_slice(), ColorType::Rgba8),
    };
    let mut out = Vec::new();
    // One thread: the limiter already bounds how many images are processed at once.
    AvifEncoder::new_with_speed_quality(&mut out, AVIF_SPEED, quality)
        .with_num_threads(Some(1))
        .write_image(data, raster.width, raster.height, color.into())
        .map_err(|e| ImageError::Internal(e.to_string()))?;
    Ok(out)
}

/// Lays an image with alpha over white, dropping the alpha channel.
fn flatten(raster: &Raster) -> (Vec<u8>, ColorType) {
    let channels = raster.channels as usize;
    let colour = channels - 1;
    let data = raster
        .data
        .chunks_exact(channels)
        .flat_map(|p| {
            let alpha = u16::from(p[colour]);
            p[..colour]
                .iter()
                .map(move |c| ((u16::from(*c) * alpha + 255 * (255 - alpha)) / 255) as u8)
        })
        .collect();
    (
        data,
        if colour == 1 {
            ColorType::L8
        } else {
            ColorType::Rgb8
        },
    )
}
