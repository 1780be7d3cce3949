//! Decoding with limits, and shrink-on-load for JPEG.

use std::io::Cursor;

use fast_image_resize::PixelType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use jpeg_decoder::PixelFormat;

use super::{
    ImageError, Transform,
    plan::{self, Canvas, Plan},
};

/// Decoded pixels: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) 8-bit channels.
#[derive(Debug, Clone)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels per pixel.
    pub channels: u8,
    /// Row-major pixel bytes.
    pub data: Vec<u8>,
}

impl Raster {
    /// The matching resizer pixel type.
    pub fn pixel_type(&self) -> PixelType {
        match self.channels {
            1 => PixelType::U8,
            2 => PixelType::U8x2,
            3 => PixelType::U8x3,
            _ => PixelType::U8x4,
        }
    }

    /// True if the raster has an alpha channel.
    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    /// This raster centred on a padded canvas: transparent when it has alpha
    /// (gaining one for RGB), else white.
    pub fn on_canvas(self, canvas: Canvas) -> Self {
        let channels = match self.channels {
            1 | 2 => 2,
            _ => 4,
        };
        let mut data = vec![0u8; canvas.w as usize * canvas.h as usize * channels as usize];
        let src_channels = self.channels as usize;
        for y in 0..self.height as usize {
            for x in 0..self.width as usize {
                let s = (y * self.width as usize + x) * src_channels;
                let d = ((y + canvas.y as usize) * canvas.w as usize + x + canvas.x as usize)
                    * channels as usize;
                let colour = usize::from(channels) - 1;
                data[d..d + colour].copy_from_slice(&self.data[s..s + colour.min(src_channels)]);
                data[d + colour] = if self.has_alpha() {
                    self.data[s + src_channels - 1]
                } else {
                    255
                };
            }
        }
        Self {
            width: canvas.w,
            height: canvas.h,
            channels,
            data,
        }
    }
}

/// A decoded source and the plan in its (possibly shrunk) coordinates.
#[derive(Debug)]
pub struct Source {
    /// The decoded pixels.
    pub raster: Raster,
    /// What to cut and resize.
    pub plan: Plan,
}

/// Checks that `bytes` decode completely and returns the dimensions. JPEGs
/// are decoded at 1/8 scale: every entropy-coded byte is still read (so
/// corruption is caught) for a sixty-fourth of the memory.
pub fn inspect(bytes: &[u8], mime: &str, max_pixels: u64) -> Result<(u32, u32), ImageError> {
    if mime == "image/jpeg" {
        let mut decoder = jpeg(bytes, max_pixels)?;
        let (w, h) = jpeg_size(&decoder)?;
        decoder.scale(1, 1).map_err(corrupt)?;
        decoder.decode().map_err(corrupt)?;
        return Ok((w, h));
    }
    let image = generic(bytes, max_pixels)?;
    Ok((image.width(), image.height()))
}

/// Decodes `bytes` for `transform`, shrinking JPEGs on load.
pub fn for_transform(
    bytes: &[u8],
    mime: &str,
    transform: &Transform,
    max_pixels: u64,
) -> Result<Source, ImageError> {
    if mime != "image/jpeg" {
        let raster = decode(bytes, mime, max_pixels)?;
        let plan = plan::plan(raster.width, raster.height, transform)?;
        return Ok(Source { raster, plan });
    }
    let mut decoder = jpeg(bytes, max_pixels)?;
    let (w, h) = jpeg_size(&decoder)?;
    let full = plan::plan(w, h, transform)?;
    let factor = plan::shrink_factor(&full);
    let (sw, sh) = (w.div_ceil(factor), h.div_ceil(factor));
    let (dw, dh) = decoder.scale(to_u16(sw), to_u16(sh)).map_err(corrupt)?;
    let raster = jpeg_raster(&mut decoder, dw.into(), dh.into())?;
    let (sx, sy) = (f64::from(dw) / f64::from(w), f64::from(dh) / f64::from(h));
    let mut plan = full;
    plan.src = full.src.scaled(sx, sy).clamped(raster.width, raster.height);
    Ok(Source { raster, plan })
}

/// Decodes `bytes` fully into a raster.
pub fn decode(bytes: &[u8], mime: &str, max_pixels: u64) -> Result<Raster, ImageError> {
    if mime == "image/jpeg" {
        let mut decoder = jpeg(bytes, max_pixels)?;
        let (w, h) = jpeg_size(&decoder)?;
        return jpeg_raster(&mut decoder, w, h);
    }
    let image = generic(bytes, max_pixels)?;
    let (width, height) = (image.width(), image.height());
    let (channels, data) = match image {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (2, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        other if other.color().has_alpha() => (4, other.into_rgba8().into_raw()),
        other => (3, other.into_rgb8().into_raw()),
    };
    Ok(Raster {
        width,
        height,
        channels,
        data,
    })
}

fn jpeg(bytes: &[u8], max_pixels: u64) -> Result<jpeg_decoder::Decoder<&[u8]>, ImageError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(corrupt)?;
    let (w, h) = jpeg_size(&decoder)?;
    check_pixels(w, h, max_pixels)?;
    // A second line of defence: the decoder's own allocation cap.
    decoder.set_max_decoding_buffer_size(
        usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    Ok(decoder)
}

fn jpeg_size(decoder: &jpeg_decoder::Decoder<&[u8]>) -> Result<(u32, u32), ImageError> {
    let info = decoder
        .info()
        .ok_or_else(|| ImageError::Corrupt("no JPEG frame header".to_owned()))?;
    Ok((info.width.into(), info.height.into()))
}

/// Decodes at the decoder's current scale, whose output is `w`×`h`.
fn jpeg_raster(
    decoder: &mut jpeg_decoder::Decoder<&[u8]>,
    w: u32,
    h: u32,
) -> Result<Raster, ImageError> {
    let pixels = decoder.decode().map_err(corrupt)?;
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or_else(|| ImageError::Corrupt("no JPEG frame header".to_owned()))?;
    let (channels, data) = match format {
        PixelFormat::L8 => (1, pixels),
        PixelFormat::RGB24 => (3, pixels),
        PixelFormat::L16 => (1, pixels.chunks_exact(2).map(|p| p[0]).collect()),
        PixelFormat::CMYK32 => (3, cmyk_to_rgb(&pixels)),
    };
    if data.len() < w as usize * h as usize * channels as usize {
        return Err(ImageError::Corrupt("the JPEG decoded short".to_owned()));
    }
    Ok(Raster {
        width: w,
        height: h,
        channels,
        data,
    })
}

/// Naive CMYK to RGB (no colour management).
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            [0, 1, 2].map(|i| ((u16::from(p[i]) * k) / 255) as u8)
        })
        .collect()
}

/// Any other format through `image`, with dimension and allocation limits.
fn generic(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, ImageError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(corrupt)?;
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    check_pixels(w, h, max_pixels)?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    decoder.set_limits(limits).map_err(corrupt)?;
    DynamicImage::from_decoder(decoder).map_err(corrupt)
}

fn check_pixels(w: u32, h: u32, limit: u64) -> Result<(), ImageError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels == 0 {
        return Err(ImageError::Corrupt("the image has no pixels".to_owned()));
    }
    if pixels > limit {
        return Err(ImageError::TooManyPixels { pixels, limit });
    }
    Ok(())
}

fn to_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn corrupt(err: impl std::fmt::Display) -> ImageError {
    ImageError::Corrupt(err.to_string())
}
