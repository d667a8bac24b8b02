//! Inference speed of the built-in STG predictor (issue 6 targets: at least 20,000 trains of 50 spikes per
//! second batched on 2 cores, one train under 1 ms). Measured with the built-in weights as shipped (their
//! blurred copies pooled, `Predictor::copies`) and, as the baseline in the same run, with one copy per train.
//! `cargo bench -p spikepop-predict --bench predict`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use spikepop_predict::Predictor;
use spikepop_spikes::synth::{Kind, SynthParams, train};

const TRAINS: usize = 2_000;

fn trains() -> Vec<Vec<f64>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..TRAINS)
        .map(|i| {
            let params = if i % 2 == 0 {
                SynthParams {
                    kind: Kind::Tonic,
                    rate_hz: 10.0,
                    duration_ms: 5000.0,
                    jitter_ms: 1.0,
                    ..SynthParams::default()
                }
            } else {
                SynthParams {
                    kind: Kind::Bursting,
                    period_ms: 500.0,
                    spikes_per_burst: 5,
                    duration_ms: 5000.0,
                    jitter_ms: 0.5,
                    ..SynthParams::default()
                }
            };
            let mut t = train(&params, &mut rng);
            t.truncate(50);
            t
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let Ok(shipped) = Predictor::embedded("stg") else {
        eprintln!("no STG weights built in; nothing to measure");
        return;
    };
    let mut one = shipped.clone();
    one.copies = 1;
    let trains = trains();
    let refs: Vec<&[f64]> = trains.iter().map(|t| t.as_slice()).collect();
    let mut g = c.benchmark_group("predict");
    g.throughput(Throughput::Elements(TRAINS as u64));
    g.bench_function(format!("batched/copies={}", shipped.copies), |b| {
        b.iter(|| black_box(shipped.predict_many(&refs)))
    });
    g.bench_function("batched/copies=1", |b| {
        b.iter(|| black_box(one.predict_many(&refs)))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("one train/copies={}", shipped.copies), |b| {
        b.iter(|| black_box(shipped.predict(refs[1])))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
