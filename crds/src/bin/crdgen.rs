//! Writes the CRD YAML under `config/crd/bases/` from the Rust types, or prints the images.
//!
//! `crdgen` (write), `crdgen --check` (fail when a committed file differs), `crdgen images`
//! (lines `<binary> <image:tag>` for `build/images.sh`).

use machina_crds::images::Component;
use machina_crds::manifests::generated_files;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("images") => {
            for c in Component::ALL {
                println!("{} {}", c.binary(), c.default_image());
            }
            ExitCode::SUCCESS
        }
        Some("--check") => check(),
        None => write(),
        Some(other) => {
            eprintln!("crdgen: unknown argument {other:?}; usage: crdgen [--check | images]");
            ExitCode::from(2)
        }
    }
}

fn files() -> Vec<(String, String)> {
    match generated_files() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("crdgen: cannot serialise the CRDs: {e}");
            std::process::exit(1);
        }
    }
}

fn write() -> ExitCode {
    for (path, contents) in files() {
        let full = repo_root().join(&path);
        if let Some(dir) = full.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("crdgen: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::write(&full, contents) {
            eprintln!("crdgen: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    ExitCode::SUCCESS
}

fn check() -> ExitCode {
    let stale: Vec<String> = files()
        .into_iter()
        .filter(|(path, contents)| {
            std::fs::read_to_string(repo_root().join(path))
                .ok()
                .as_deref()
                != Some(contents)
        })
        .map(|(path, _)| path)
        .collect();
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "crdgen: out of date: {}; run `cargo run -p machina-crds --bin crdgen`",
            stale.join(", ")
        );
        ExitCode::FAILURE
    }
}
