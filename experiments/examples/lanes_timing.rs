//! Wall time (and a fingerprint of the results) of eight models in lock-step on one thread, for profiling
//! the step. Run: `cargo run --release --manifest-path experiments/Cargo.toml --example lanes_timing -- stg|da [ms] [reps]`.
//! The fingerprint hashes the bits of every spike time of a few perturbed models, so two builds can be
//! checked for bitwise-identical results.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use spikepop_models::cells::{DA_SEED, STG_BURSTER};
use spikepop_models::sim::{Compiled, LANES, Settings};
use spikepop_models::{DA, STG};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (model, base) = match args.get(1).map(String::as_str) {
        Some("da") => (&DA, &DA_SEED[..]),
        _ => (&STG, &STG_BURSTER[..]),
    };
    let duration: f64 = args.get(2).map_or(1000.0, |s| s.parse().expect("duration"));
    let reps: usize = args.get(3).map_or(5, |s| s.parse().expect("reps"));
    let mut settings = Settings::for_model(model);
    settings.duration = duration;
    settings.transient = 0.0;
    let compiled = Compiled::new(model, settings.dt);
    let cancel = AtomicBool::new(false);
    let pop: Vec<Vec<f64>> = (0..LANES)
        .map(|k| base.iter().map(|g| g * (1.0 + 0.01 * k as f64)).collect())
        .collect();
    let g: [&[f64]; LANES] = std::array::from_fn(|l| pop[l].as_slice());
    let mut best = f64::INFINITY;
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut n_spikes = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let out = compiled.run_lanes(g, &settings, [None; LANES], &cancel);
        best = best.min(t0.elapsed().as_secs_f64());
        hash = 0xcbf2_9ce4_8422_2325;
        n_spikes = 0;
        for o in &out {
            for s in &o.spikes {
                hash = (hash ^ s.to_bits()).wrapping_mul(0x0100_0000_01b3);
                n_spikes += 1;
            }
        }
    }
    println!(
        "{}: {:.3} ms per model per simulated second (best of {reps}); {n_spikes} spikes, fingerprint {hash:016x}",
        model.name,
        best * 1e3 / LANES as f64 / (duration / 1000.0)
    );
}
