//! Simulation cost: one model for 1 s of biological time at the default step (single thread), and the
//! batch throughput on all cores. Run: `cargo bench -p spikepop-models --bench simulate`.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spikepop_models::cells::{DA_SEED, STG_BURSTER, STG_SEED};
use spikepop_models::sim::{Compiled, LANES, Settings, simulate_batch};
use spikepop_models::{DA, Model, STG};

fn one_second(c: &mut Criterion, name: &str, model: &Model, g: &[f64]) {
    let mut settings = Settings::for_model(model);
    settings.duration = 1000.0;
    settings.transient = 0.0;
    let compiled = Compiled::new(model, settings.dt);
    let cancel = AtomicBool::new(false);
    c.bench_function(
        &format!("{name}: 1 s of biological time, one thread"),
        |b| b.iter(|| black_box(compiled.run(black_box(g), &settings, None, &cancel))),
    );
}

/// `L` models in lock-step on one thread (batches run [`LANES`] at a time): the per-core throughput.
fn lanes<const L: usize>(c: &mut Criterion, name: &str, model: &Model, g: &[f64]) {
    let mut settings = Settings::for_model(model);
    settings.duration = 1000.0;
    settings.transient = 0.0;
    let compiled = Compiled::new(model, settings.dt);
    let cancel = AtomicBool::new(false);
    let mut group = c.benchmark_group(format!("{L} models in lock-step x 1 s, one thread"));
    group.throughput(Throughput::Elements(L as u64));
    group.bench_function(name, |b| {
        b.iter(|| black_box(compiled.run_lanes([black_box(g); L], &settings, [None; L], &cancel)))
    });
    group.finish();
}

fn single(c: &mut Criterion) {
    one_second(c, "stg seed (tonic)", &STG, &STG_SEED);
    one_second(c, "stg burster", &STG, &STG_BURSTER);
    one_second(c, "da seed", &DA, &DA_SEED);
    lanes::<4>(c, "stg burster", &STG, &STG_BURSTER);
    lanes::<4>(c, "da seed", &DA, &DA_SEED);
    lanes::<LANES>(c, "stg burster", &STG, &STG_BURSTER);
    lanes::<LANES>(c, "da seed", &DA, &DA_SEED);
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch of 64 models x 1 s, all cores");
    group.sample_size(10);
    for (name, model, g) in [
        ("stg", &STG, STG_BURSTER.to_vec()),
        ("da", &DA, DA_SEED.to_vec()),
    ] {
        let pop = vec![g; 64];
        let mut settings = Settings::for_model(model);
        settings.duration = 1000.0;
        settings.transient = 0.0;
        group.throughput(Throughput::Elements(64));
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    simulate_batch(model, &pop, &settings, &AtomicBool::new(false), || {}).unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single, batch);
criterion_main!(benches);
