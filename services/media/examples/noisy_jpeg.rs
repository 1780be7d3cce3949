//! Writes a large, noisy JPEG for benchmarks (noise defeats compression the
//! way a detailed photo does): `noisy_jpeg OUT WIDTH HEIGHT QUALITY`.
//!
//! `noisy_jpeg big.jpg 7000 5000 95` gives about 29 MB.

use std::process::ExitCode;

use image::{ImageEncoder, codecs::jpeg::JpegEncoder};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, w, h, q] = args.as_slice() else {
        eprintln!("usage: noisy_jpeg OUT WIDTH HEIGHT QUALITY");
        return ExitCode::from(2);
    };
    let (Ok(w), Ok(h), Ok(q)) = (w.parse::<u32>(), h.parse::<u32>(), q.parse::<u8>()) else {
        eprintln!("WIDTH, HEIGHT and QUALITY must be numbers");
        return ExitCode::from(2);
    };
    let mut seed = 0x9e37_79b9_u32;
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed & 0x3f) as u8;
            // A gradient plus noise: structure for the eye, entropy for the encoder.
            pixels.extend([
                ((x * 255 / w) as u8).wrapping_add(noise),
                ((y * 255 / h) as u8).wrapping_add(noise / 2),
                noise.wrapping_mul(3),
            ]);
        }
    }
    let file = match std::fs::File::create(out) {
        Ok(f) => std::io::BufWriter::new(f),
        Err(e) => {
            eprintln!("cannot create {out}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match JpegEncoder::new_with_quality(file, q).write_image(
        &pixels,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot encode: {e}");
            ExitCode::FAILURE
        }
    }
}
