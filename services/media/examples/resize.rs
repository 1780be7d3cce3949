//! Runs the service's image pipeline on a file, for benchmarks and memory checks:
//!
//! ```sh
//! cargo run --release -p machina-media --example resize -- IN OUT [SIZE] [FORMAT] [FIT]
//! /usr/bin/time -v target/release/examples/resize big.jpg thumb.jpg 256 jpeg inside
//! target/release/examples/resize big.jpg thumb.avif 256 avif inside
//! ```
//!
//! Exactly what `GET /v1/media/{id}?w=SIZE&h=SIZE&fit=FIT&format=FORMAT` does
//! with the original's bytes: sniff, decode with shrink-on-load and limits,
//! resize, encode.

use std::process::ExitCode;

use machina_media::{
    imaging::{self, Fit, OutputFormat, Transform},
    sniff,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: resize IN OUT [SIZE=256] [jpeg|png|webp|avif] [cover|contain|inside|fill]"
        );
        return ExitCode::from(2);
    };
    let size: u32 = rest.first().and_then(|s| s.parse().ok()).unwrap_or(256);
    let format = match rest.get(1).map(String::as_str) {
        Some("png") => OutputFormat::Png,
        Some("webp") => OutputFormat::Webp,
        Some("avif") => OutputFormat::Avif,
        _ => OutputFormat::Jpeg,
    };
    let fit = match rest.get(2).map(String::as_str) {
        Some("cover") => Fit::Cover,
        Some("contain") => Fit::Contain,
        Some("fill") => Fit::Fill,
        _ => Fit::Inside,
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sniffed = match sniff::check(&bytes[..bytes.len().min(8192)], None, Some(input)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let transform = Transform {
        width: Some(size),
        height: Some(size),
        fit,
        format,
        quality: 82,
        crop: None,
    };
    match imaging::process(&bytes, sniffed.mime, &transform, 100_000_000) {
        Ok(out) => match std::fs::write(output, out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write {output}: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{input}: {e}");
            ExitCode::FAILURE
        }
    }
}
