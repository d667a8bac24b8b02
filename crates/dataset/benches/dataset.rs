//! Dataset throughput: models generated, simulated (STG, 6 s, 3 s kept), measured and written per second, on
//! all cores, as `spikepop dataset` runs them. Run: `cargo bench -p spikepop-dataset --bench dataset`.

use std::sync::atomic::AtomicBool;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use spikepop_dataset::{Format, Hooks, Outcome, Plan, RunOptions, Spec};
use spikepop_models::STG;

fn stg_6s(c: &mut Criterion) {
    let mut group = c.benchmark_group("dataset, STG 6 s models, all cores");
    group.sample_size(10);
    let (targets, per_target) = (8u64, 16u32);
    group.throughput(Throughput::Elements(targets * per_target as u64));
    for format in [Format::Parquet, Format::Csv] {
        let mut spec = Spec::new(&STG);
        spec.seed = 1;
        spec.targets = targets;
        spec.per_target = per_target;
        group.bench_function(
            format!("{targets} targets x {per_target} models, {format}"),
            |b| {
                b.iter_batched(
                    || tempfile::tempdir().unwrap(),
                    |dir| {
                        let mut o = RunOptions::new(dir.path().join("d"));
                        o.format = format;
                        let cancel = AtomicBool::new(false);
                        let out = Plan::open(spec.clone(), o)
                            .unwrap()
                            .execute(&Hooks::quiet(&cancel))
                            .unwrap();
                        assert!(matches!(out, Outcome::Complete(_)));
                        dir
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, stg_6s);
criterion_main!(benches);
