//! Rendering benchmark: a realistic HTML email (a base layout with blocks, a product-list
//! email extending it with loops, conditionals, an include per product, macros, filters
//! and escaping) over 50 products, from `benches/fixtures/`.
//!
//! `cargo bench -p machina-template-engine` runs criterion (time per render and renders/s
//! as throughput). With `RENDER_ITERATIONS=N` set it instead times N renders after a
//! warm-up and prints one line in the format of the peer scripts in `benches/peers/`, so
//! `benches/compare.sh` can put the engines side by side.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use machina_template_engine::{Engine, EngineOptions, TemplateFormat, TemplateSet};
use serde_json::Value;

const TEMPLATES: [(&str, &str); 4] = [
    ("layout.html", include_str!("fixtures/layout.html")),
    ("macros.html", include_str!("fixtures/macros.html")),
    (
        "product_card.html",
        include_str!("fixtures/product_card.html"),
    ),
    (
        "product_list.html",
        include_str!("fixtures/product_list.html"),
    ),
];

fn template_set() -> TemplateSet {
    let mut set = TemplateSet::new();
    for (name, source) in TEMPLATES {
        set.insert(name, TemplateFormat::Html, source);
    }
    set
}

fn data() -> Value {
    serde_json::from_str(include_str!("fixtures/data.json")).expect("fixtures/data.json parses")
}

fn engine() -> Engine {
    Engine::new(template_set(), EngineOptions::default()).expect("fixtures compile")
}

fn bench_render(c: &mut Criterion) {
    let engine = engine();
    let data = data();
    let mut group = c.benchmark_group("email");
    group.throughput(Throughput::Elements(1));
    group.bench_function("render product_list.html (50 products)", |b| {
        b.iter(|| {
            engine
                .render("product_list.html", black_box(&data))
                .expect("renders")
        });
    });
    let value = minijinja::Value::from_serialize(&data);
    group.bench_function("render product_list.html (pre-converted context)", |b| {
        b.iter(|| {
            engine
                .render("product_list.html", black_box(&value))
                .expect("renders")
        });
    });
    group.bench_function("compile the 4-template set", |b| {
        b.iter(|| {
            Engine::new(black_box(template_set()), EngineOptions::default()).expect("compiles")
        });
    });
    group.finish();
}

/// Times `iterations` renders after a warm-up; prints the peers' one-line format.
fn simple_run(iterations: u32) {
    let engine = engine();
    let data = data();
    let mut bytes = 0;
    for _ in 0..iterations.div_ceil(10) {
        bytes = engine
            .render("product_list.html", &data)
            .expect("renders")
            .len();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(
            engine
                .render("product_list.html", black_box(&data))
                .expect("renders"),
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_sec = f64::from(iterations) / seconds;
    println!(
        "engine=minijinja-2.24 renders={iterations} seconds={seconds:.3} renders_per_sec={per_sec:.0} bytes={bytes}"
    );
}

criterion_group!(benches, bench_render);

fn main() {
    if let Some(n) = std::env::var("RENDER_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        simple_run(n);
        return;
    }
    if std::env::var_os("RENDER_DUMP").is_some() {
        print!(
            "{}",
            engine()
                .render("product_list.html", data())
                .expect("renders")
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
