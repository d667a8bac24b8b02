//! Accuracy and cost of the fixed step: for each dt, how many of the reference simulations
//! (`tests/data/sims_*.csv`) are reproduced (label; tonic ISI and burst period within 1%; spikes per
//! burst) and how long one simulated second takes. Run: `cargo run --release --manifest-path experiments/Cargo.toml --example dt_table`.

#[path = "../../crates/models/tests/common/mod.rs"]
mod common;

use std::time::Instant;

use spikepop_models::sim::Settings;
use spikepop_models::{DA, STG};

fn main() {
    println!(
        "| dt (ms) | STG matches (of 48) | DA matches (of 24) | STG ms per simulated s | DA ms per simulated s |"
    );
    println!("|---|---|---|---|---|");
    for dt in [0.1, 0.05, 0.025, 0.01, 0.005, 0.0025, 0.002, 0.001] {
        let mut cells = Vec::new();
        let mut cost = Vec::new();
        for (model, file, n) in [(&STG, "sims_stg.csv", 48.0), (&DA, "sims_da.csv", 24.0)] {
            let mut s = Settings::for_model(model);
            s.dt = dt;
            let t0 = Instant::now();
            let bad = common::mismatches(model, file, &s);
            // Wall time over all cores / (models x simulated seconds), times the number of threads: per core.
            let per_core = t0.elapsed().as_secs_f64() * rayon::current_num_threads() as f64 * 1e3
                / (n * s.duration / 1e3);
            cells.push(format!("{}", n as usize - bad.len()));
            cost.push(format!("{per_core:.2}"));
        }
        println!(
            "| {dt} | {} | {} | {} | {} |",
            cells[0], cells[1], cost[0], cost[1]
        );
    }
}
