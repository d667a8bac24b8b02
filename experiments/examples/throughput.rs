//! A logged run: models per second of `spikepop dataset` for STG 6 s models on this machine, next to the bare
//! simulator on the same conductances (so the cost of generation, features and storage shows), and the time
//! projected for the reference-sized set (75,000 targets x 16 models).
//!
//! `cargo run --release --manifest-path experiments/Cargo.toml --example throughput -- [TARGETS] [THREADS]` (default 64 targets x 16
//! models, all cores).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use spikepop_dataset::{Hooks, Outcome, Plan, RunOptions, Spec, read_rows};
use spikepop_models::STG;
use spikepop_models::sim::simulate_batch;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let targets: u64 = args.get(1).map_or(64, |a| a.parse().expect("TARGETS"));
    let threads: usize = args.get(2).map_or(0, |a| a.parse().expect("THREADS"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut spec = Spec::new(&STG);
    spec.seed = 1;
    spec.targets = targets;
    spec.per_target = 16;
    // Pipeline and bare simulator alternate, twice each; the best time of each is reported (the first run of a
    // process pays for page faults and clock ramp-up).
    let cancel = AtomicBool::new(false);
    let mut pipeline = f64::INFINITY;
    let mut bare = f64::INFINITY;
    let mut last = None;
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let out = pool
            .install(|| {
                Plan::open(spec.clone(), RunOptions::new(dir.path().join("d")))
                    .unwrap()
                    .execute(&Hooks::quiet(&cancel))
            })
            .unwrap();
        pipeline = pipeline.min(t0.elapsed().as_secs_f64());
        let Outcome::Complete(report) = out else {
            panic!("not interrupted")
        };
        let rows = read_rows(&report.part).unwrap();
        let g: Vec<Vec<f64>> = rows.iter().map(|r| r.conductances.clone()).collect();
        let t1 = Instant::now();
        pool.install(|| simulate_batch(&STG, &g, &spec.sim_settings(), &cancel, || {}).unwrap());
        bare = bare.min(t1.elapsed().as_secs_f64());
        let size = std::fs::metadata(&report.part).unwrap().len();
        last = Some((
            rows.len() as f64,
            size,
            report.summary().labels.clone(),
            dir,
        ));
    }
    let (n, size, labels, _dir) = last.unwrap();
    let rate = n / pipeline;
    let full = 75_000.0 * 16.0 / rate;
    println!(
        "STG 6 s models, {} threads: dataset {n} models in {pipeline:.2} s = {rate:.1} models/s; \
         bare simulate_batch {:.1} models/s (overhead {:.1}%); \
         reference-sized set (1.2 M models): {:.2} h",
        pool.current_num_threads(),
        n / bare,
        100.0 * (pipeline - bare) / bare,
        full / 3600.0
    );
    println!(
        "part file: {size} bytes ({:.0} bytes per row), labels {labels:?}",
        size as f64 / n
    );
}
