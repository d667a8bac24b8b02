//! Reading and featurising 100,000 trains of 50 spikes from a long CSV table (5 million rows, about 80 MB), the
//! issue's performance target: under 1 s. The input (a mix of tonic, bursting and Poisson trains, times in ms with
//! 3 decimals, rows grouped by ID) is generated once into a temporary file.

use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use spikepop_spikes::features::{Classifier, Features};
use spikepop_spikes::synth::{self, Kind, SynthParams};
use spikepop_spikes::{ReadOptions, read_trains};

const TRAINS: usize = 100_000;
const SPIKES: usize = 50;

fn write_input(path: &std::path::Path) {
    let kinds = [
        SynthParams {
            kind: Kind::Tonic,
            rate_hz: 10.0,
            jitter_ms: 1.0,
            ..Default::default()
        },
        SynthParams {
            kind: Kind::Bursting,
            period_ms: 500.0,
            spikes_per_burst: 5,
            ..Default::default()
        },
        SynthParams {
            kind: Kind::Poisson,
            rate_hz: 10.0,
            duration_ms: 20_000.0,
            ..Default::default()
        },
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "ID,time").unwrap();
    let mut made = 0;
    while made < TRAINS {
        for p in &kinds {
            if made == TRAINS {
                break;
            }
            let t = synth::train(p, &mut rng);
            if t.len() < SPIKES {
                continue;
            }
            made += 1;
            for s in &t[..SPIKES] {
                writeln!(w, "{made},{s:.3}").unwrap();
            }
        }
    }
    w.flush().unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.csv");
    write_input(&path);
    let mut group = c.benchmark_group("long_csv");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("read_and_featurise_100k_trains_x_50_spikes", |b| {
        b.iter(|| {
            let rec = read_trains(black_box(&path), &ReadOptions::default()).unwrap();
            assert_eq!(rec.trains.len(), TRAINS);
            let features: Vec<Features> = rec
                .trains
                .iter()
                .map(|t| Features::of(&t.times_ms, &Classifier::Default))
                .collect();
            black_box(features)
        })
    });
    group.bench_function("read_only", |b| {
        b.iter(|| black_box(read_trains(black_box(&path), &ReadOptions::default()).unwrap()))
    });
    let trains = read_trains(&path, &ReadOptions::default()).unwrap().trains;
    group.bench_function("featurise_only", |b| {
        b.iter(|| {
            let features: Vec<Features> = trains
                .iter()
                .map(|t| Features::of(black_box(&t.times_ms), &Classifier::Default))
                .collect();
            black_box(features)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
