//! DIC evaluation and population generation, single thread.
//!
//! `cargo bench -p spikepop-dics`. Throughput is reported per model ("elements"): a population bench of
//! 1000 models at 1 ms per iteration is 1 million models per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikepop_dics::{Generator, GeneratorOptions, Kernel, TargetSpec, VthFinder};
use spikepop_models::{DA, Model, STG};

/// 1000 conductance vectors in the ranges of `reference/dics_*.csv`.
fn random_vectors(model: &Model, n: usize) -> Vec<Vec<f64>> {
    let hi: &[f64] = if model.name == "stg" {
        &[8000.0, 350.0, 12.0, 50.0, 250.0, 600.0, 0.7, 0.02]
    } else {
        &[60.0, 20.0, 0.1, 0.12, 0.25, 0.1846, 0.02]
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .map(|_| {
            hi.iter()
                .enumerate()
                .map(|(i, &h)| {
                    if i == model.leak_index() {
                        rng.random_range(0.005..0.02)
                    } else {
                        rng.random_range(0.0..h)
                    }
                })
                .collect()
        })
        .collect()
}

fn single_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
}

fn bench_dics(c: &mut Criterion) {
    let mut group = c.benchmark_group("dics");
    for model in [&STG, &DA] {
        let k = Kernel::new(model, model.default_vth);
        let gs = random_vectors(model, 1000);
        group.throughput(Throughput::Elements(gs.len() as u64));
        group.bench_function(format!("{}_eval_1000", model.name), |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for g in &gs {
                    acc += k.dics(black_box(g)).g_t();
                }
                acc
            })
        });
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{}_kernel", model.name), |b| {
            b.iter(|| Kernel::new(model, black_box(model.default_vth)))
        });
    }
    group.finish();
}

fn bench_vth(c: &mut Criterion) {
    let mut group = c.benchmark_group("vth");
    let finder = VthFinder::new(&STG);
    let gs = random_vectors(&STG, 20);
    group.throughput(Throughput::Elements(gs.len() as u64));
    group.bench_function("stg_find_20", |b| {
        b.iter(|| {
            gs.iter()
                .filter_map(|g| finder.find(black_box(g)))
                .sum::<f64>()
        })
    });
    group.finish();
}

fn bench_generate(c: &mut Criterion) {
    let pool = single_thread();
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(1000));
    let cases: [(&'static Model, &str, TargetSpec); 5] = [
        (&STG, "stg_AH_1000", TargetSpec::point(2.0, 3.0)),
        (&STG, "stg_CaSH_1000", TargetSpec::point(-4.0, 7.85)),
        (&STG, "stg_CaSA_1000", TargetSpec::point(3.0, -1.0)),
        (
            &STG,
            "stg_gaussian_1000",
            TargetSpec::gaussian(0.0, 5.0, 3.0, 1.0),
        ),
        (&DA, "da_1000", TargetSpec::point(-1.958, 3.34)),
    ];
    for (model, name, target) in cases {
        let generator = Generator::new(model, &GeneratorOptions::default()).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                pool.install(|| {
                    generator
                        .generate_target(0, black_box(&target), 1000)
                        .unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_dics, bench_vth, bench_generate
}
criterion_main!(benches);
