//! Inference speed of the shipped STG predictor: trains of 50 spikes per second (batched, all cores) and the
//! latency of one train. `cargo run --release -p spikepop-predict --example infer_bench`
use std::time::Instant;

use rand::SeedableRng;
use spikepop_predict::Predictor;
use spikepop_spikes::synth::{Kind, SynthParams, train};

fn main() {
    let p = Predictor::embedded("stg").expect("built-in STG weights");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let trains: Vec<Vec<f64>> = (0..20_000)
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
        .collect();
    let refs: Vec<&[f64]> = trains.iter().map(|t| t.as_slice()).collect();
    let mean_len = refs.iter().map(|t| t.len()).sum::<usize>() as f64 / refs.len() as f64;
    let _ = p.predict_many(&refs[..1000]);
    for _ in 0..3 {
        let t = Instant::now();
        let out = p.predict_many(&refs);
        let dt = t.elapsed().as_secs_f64();
        println!(
            "batched: {} trains ({mean_len:.0} spikes on average) in {:.1} ms: {:.0} trains/s ({} threads)",
            out.len(),
            1e3 * dt,
            out.len() as f64 / dt,
            rayon::current_num_threads()
        );
    }
    let n = 2000;
    let t = Instant::now();
    for r in refs.iter().take(n) {
        std::hint::black_box(p.predict(r));
    }
    println!(
        "one train at a time: {:.1} us per train",
        1e6 * t.elapsed().as_secs_f64() / n as f64
    );
}
