//! Decoding, limits and processing on generated images.

use image::{ImageEncoder, RgbImage, codecs::jpeg::JpegEncoder};

use super::*;

/// A noisy RGB JPEG (noise defeats compression, like a photo's detail).
pub fn noisy_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let img = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([(x % 256) as u8, (y % 256) as u8, (seed & 0xff) as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn transform(w: u32, h: u32, fit: Fit, format: OutputFormat) -> Transform {
    Transform {
        width: Some(w),
        height: Some(h),
        fit,
        format,
        quality: 80,
        crop: None,
    }
}

#[test]
fn inspect_reads_dimensions() {
    assert_eq!(
        inspect(&noisy_jpeg(120, 80), "image/jpeg", 1 << 30).unwrap(),
        (120, 80)
    );
}

#[test]
fn truncated_or_garbled_jpeg_is_corrupt() {
    let good = noisy_jpeg(256, 256);
    let truncated = &good[..good.len() / 2];
    assert!(matches!(
        inspect(truncated, "image/jpeg", 1 << 30),
        Err(ImageError::Corrupt(_))
    ));
    let mut garbled = good.clone();
    let start = garbled.len() / 3;
    for (i, b) in garbled[start..].iter_mut().enumerate() {
        *b = if i % 2 == 0 { 0xFF } else { 0xC4 };
    }
    assert!(matches!(
        inspect(&garbled, "image/jpeg", 1 << 30),
        Err(ImageError::Corrupt(_))
    ));
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let jpeg = noisy_jpeg(64, 64);
    assert!(matches!(
        inspect(&jpeg, "image/jpeg", 64 * 63),
        Err(ImageError::TooManyPixels { pixels: 4096, .. })
    ));
}

#[test]
fn a_thumbnail_has_the_requested_size_in_every_format() {
    let jpeg = noisy_jpeg(800, 600);
    for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp] {
        let out = process(
            &jpeg,
            "image/jpeg",
            &transform(100, 100, Fit::Cover, format),
            1 << 30,
        )
        .unwrap();
        let decoded = image::load_from_memory(&out).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (100, 100),
            "{format:?}"
        );
        assert_eq!(infer::get(&out).unwrap().mime_type(), format.mime());
    }
}

/// The image size in an AVIF's `ispe` (image spatial extents) property.
fn avif_size(avif: &[u8]) -> (u32, u32) {
    let at = avif.windows(4).position(|w| w == b"ispe").unwrap();
    // "ispe", then version and flags (4 bytes), then width and height.
    let be = |i: usize| u32::from_be_bytes(avif[i..i + 4].try_into().unwrap());
    (be(at + 8), be(at + 12))
}

#[test]
fn avif_output_is_an_iso_bmff_file_of_brand_avif() {
    let jpeg = noisy_jpeg(800, 600);
    let out = process(
        &jpeg,
        "image/jpeg",
        &transform(64, 64, Fit::Cover, OutputFormat::Avif),
        1 << 30,
    )
    .unwrap();
    // ISO-BMFF: the first box is `ftyp` (size, type), then the major brand.
    assert_eq!(&out[4..8], b"ftyp");
    assert_eq!(&out[8..12], b"avif");
    assert_eq!(avif_size(&out), (64, 64));
    assert_eq!(infer::get(&out).unwrap().mime_type(), "image/avif");
}

#[test]
fn avif_encodes_grey_and_alpha_rasters() {
    for channels in 1..=4u8 {
        let raster = Raster {
            width: 16,
            height: 8,
            channels,
            data: vec![128; 16 * 8 * usize::from(channels)],
        };
        let out = encode(&raster, OutputFormat::Avif, 60).unwrap();
        assert_eq!(&out[4..12], b"ftypavif", "{channels} channels");
        assert_eq!(avif_size(&out), (16, 8), "{channels} channels");
    }
}

#[test]
fn contain_pads_to_the_box() {
    let jpeg = noisy_jpeg(400, 200);
    let out = process(
        &jpeg,
        "image/jpeg",
        &transform(100, 100, Fit::Contain, OutputFormat::Png),
        1 << 30,
    )
    .unwrap();
    let decoded = image::load_from_memory(&out).unwrap().into_rgba8();
    assert_eq!(decoded.dimensions(), (100, 100));
    assert_eq!(decoded.get_pixel(50, 5)[3], 0, "padding is transparent");
    assert_eq!(decoded.get_pixel(50, 50)[3], 255);
}

#[test]
fn odd_sizes_shrunk_on_load_stay_inside_the_decoded_image() {
    let jpeg = noisy_jpeg(5300 / 4, 3600 / 4);
    for (w, h) in [(256, 256), (100, 37), (661, 449)] {
        for fit in [Fit::Inside, Fit::Cover, Fit::Contain, Fit::Fill] {
            let out = process(
                &jpeg,
                "image/jpeg",
                &transform(w, h, fit, OutputFormat::Jpeg),
                1 << 30,
            );
            assert!(out.is_ok(), "{w}x{h} {fit:?}: {out:?}");
        }
    }
}

#[test]
fn the_variant_cache_key_names_the_format() {
    let avif = transform(64, 64, Fit::Cover, OutputFormat::Avif).canonical();
    let webp = transform(64, 64, Fit::Cover, OutputFormat::Webp).canonical();
    assert!(avif.contains("fmt=avif"), "{avif}");
    assert_ne!(avif, webp);
}
