//! Validation of `spikepop reconstruct` on recordings simulated from known models (issue 7's targets).
//!
//! Picks recordings from `spikepop dataset` CSV files (tonic and bursting, in seeded random order), runs the
//! same pipeline as the command line with the built-in predictor, and reports:
//! - the share of recordings that get N verified models;
//! - an independent re-simulation of every returned model at half the step, verified again;
//! - diversity: per conductance, the coefficient of variation of the verified population against that of
//!   all candidates tried;
//! - the DIC error of the prediction and of the refined distribution against the true (g_s, g_u);
//! - wall time per recording.
//!
//! ```sh
//! cargo run --release --manifest-path experiments/Cargo.toml --example validate -- \
//!     --model stg --per-label 10 -n 100 --seed 11 data/stg-test/part-0.csv data/stg-test-noise5/part-0.csv
//! ```
//! With `--noise SIGMA` the candidates are simulated with current noise of that sigma (for noisy recordings).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use spikepop_models::sim::{Compiled, Settings, simulate_one};
use spikepop_models::{DA, Model, STG};
use spikepop_predict::Predictor;
use spikepop_predict::data::read_csv;
use spikepop_reconstruct::{Priors, SearchSettings, pipeline, verify};
use spikepop_spikes::SpikeTrain;
use spikepop_spikes::features::{Classifier, Features, Label};

struct Args {
    model: &'static Model,
    files: Vec<PathBuf>,
    per_label: usize,
    n: usize,
    seed: u64,
    noise: f64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        model: &STG,
        files: Vec::new(),
        per_label: 10,
        n: 100,
        seed: 11,
        noise: 0.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().with_context(|| format!("{x} needs a value"));
        match x.as_str() {
            "--model" => {
                a.model = match val()?.as_str() {
                    "stg" => &STG,
                    "da" => &DA,
                    m => bail!("unknown model {m}"),
                }
            }
            "--per-label" => a.per_label = val()?.parse()?,
            "-n" => a.n = val()?.parse()?,
            "--seed" => a.seed = val()?.parse()?,
            "--noise" => a.noise = val()?.parse()?,
            f => a.files.push(PathBuf::from(f)),
        }
    }
    anyhow::ensure!(!a.files.is_empty(), "give at least one dataset CSV file");
    Ok(a)
}

fn mean(x: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = x
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    s / n as f64
}

fn median(mut x: Vec<f64>) -> f64 {
    x.retain(|v| v.is_finite());
    x.sort_by(f64::total_cmp);
    if x.is_empty() {
        f64::NAN
    } else {
        x[x.len() / 2]
    }
}

fn main() -> Result<()> {
    let a = args()?;
    let model = a.model;
    let predictor = Predictor::embedded(model.name)?;
    let mut settings = SearchSettings::for_model(model, a.n);
    settings.sim.noise_sigma = a.noise;
    settings.sim.seed = a.seed;
    let cancel = AtomicBool::new(false);
    // The check: half the step and, with noise, another noise realisation.
    let mut fine = settings.sim.clone();
    fine.dt /= 2.0;
    fine.seed = a.seed ^ 0x5eed;
    let compiled = Compiled::new(model, fine.dt);
    println!(
        "| file | label | recordings | N verified | re-simulated at dt/2 pass | CV verified / CV candidates (median over channels) | pred MAE g_s / g_u | refined MAE g_s / g_u | s per recording |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut all_ok = (0, 0);
    for file in &a.files {
        let samples = read_csv(file)?;
        let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
        let mut order: Vec<usize> = (0..samples.len()).collect();
        order.shuffle(&mut rng);
        for label in [Label::Tonic, Label::Bursting] {
            let picked: Vec<_> = order
                .iter()
                .map(|&i| &samples[i])
                .filter(|s| Features::of(&s.times_ms, &Classifier::Default).label == label)
                .take(a.per_label)
                .collect();
            let trains: Vec<SpikeTrain> = picked
                .iter()
                .map(|s| SpikeTrain {
                    id: s.id.clone(),
                    times_ms: s.times_ms.clone(),
                })
                .collect();
            let t0 = Instant::now();
            let outcomes = pipeline::run(
                model,
                &trains,
                &Priors::Predictor(&predictor),
                &settings,
                a.seed,
                &|_| {},
                &cancel,
            )?;
            let secs = t0.elapsed().as_secs_f64() / trains.len() as f64;
            let (mut full, mut resim, mut returned) = (0, 0, 0);
            let mut cv_ratio = Vec::new();
            let mut err = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
            for ((o, s), t) in outcomes.iter().zip(&picked).zip(&trains) {
                let Ok(r) = &o.result else { continue };
                full += usize::from(r.members.len() == a.n);
                let rec = Features::of(&t.times_ms, &Classifier::Default);
                let span = t.times_ms.last().unwrap() - t.times_ms[0];
                let sim = Settings {
                    duration: fine.transient + settings.min_window.max(span),
                    ..fine.clone()
                };
                for (k, m) in r.members.iter().enumerate() {
                    let out = simulate_one(&compiled, &m.g, &sim, k as u64, &cancel);
                    resim += usize::from(
                        verify(&rec, &t.times_ms, &out.spikes, &settings.tolerances).verified,
                    );
                }
                returned += r.members.len();
                let cv = r.members_cv();
                cv_ratio.push(median(
                    cv.iter()
                        .zip(&r.candidates_cv)
                        .map(|(v, c)| v / c)
                        .collect(),
                ));
                if let (Some(p), Some(q)) = (o.predicted.prior, r.refined) {
                    err[0].push((p.g_s - s.g_s).abs());
                    err[1].push((p.g_u - s.g_u).abs());
                    err[2].push((q.g_s - s.g_s).abs());
                    err[3].push((q.g_u - s.g_u).abs());
                }
            }
            all_ok.0 += full;
            all_ok.1 += trains.len();
            let [a0, a1, a2, a3] = err.map(mean);
            println!(
                "| {} | {} | {} | {} ({:.0}%) | {:.1}% | {:.2} | {a0:.2} / {a1:.2} | {a2:.2} / {a3:.2} | {secs:.2} |",
                file.display(),
                label.as_str(),
                trains.len(),
                full,
                100.0 * full as f64 / trains.len() as f64,
                100.0 * resim as f64 / returned.max(1) as f64,
                median(cv_ratio),
            );
        }
    }
    println!(
        "\nrecordings with N = {} verified models: {} of {} ({:.1}%)",
        a.n,
        all_ok.0,
        all_ok.1,
        100.0 * all_ok.0 as f64 / all_ok.1.max(1) as f64
    );
    Ok(())
}
