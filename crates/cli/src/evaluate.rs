//! `spikepop evaluate`: the predictor's error table on a test set with known DICs.

use std::path::PathBuf;

use anyhow::{Result, bail};
use spikepop_predict::Predictor;
use spikepop_predict::augment::{check_drop, check_jitter_ms};
use spikepop_predict::eval::evaluate;
use spikepop_predict::samples::{TestOptions, benchmark_report, test_set};

use crate::output::{model_by_name, with_threads, write_atomic};

#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Test data: a dataset file, or a folder (its test.* file, else every .csv/.parquet file in it).
    #[arg(long, value_name = "TEST", required_unless_present = "benchmark")]
    data: Option<PathBuf>,
    /// A benchmark folder (`benchmark.json` and one CSV per domain, made by scripts/foreign_benchmark.py):
    /// prints the table of domain x label (errors, 1-sd and 2-sd coverage, label accuracy, the share flagged
    /// out of domain) next to the rate-only baseline and the reference network's published figures.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "same_cells_as", "jitter_ms", "drop", "grid_ms", "intervals"])]
    benchmark: Option<PathBuf>,
    /// Fit the rate-only baseline of --benchmark on this training data (default: the one stored in the
    /// weights by `spikepop train`).
    #[arg(long, value_name = "TRAIN", requires = "benchmark")]
    baseline_data: Option<PathBuf>,
    /// Weights file (default: the weights built into spikepop).
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// Keep only the cells (same ID, same DICs) that fire (3 spikes or more) in this other test set: compares
    /// noisy and noise-free trains of the same models, e.g. `--data da-test-noise5 --same-cells-as da-test`.
    #[arg(long, value_name = "TEST")]
    same_cells_as: Option<PathBuf>,
    /// Perturb every test train before predicting: Gaussian jitter of this sd (ms) on each spike, to measure
    /// how the predictor holds up on recorded trains that are less clean than simulations.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    jitter_ms: f64,
    /// Perturb every test train before predicting: delete each spike with this probability (at least 5 kept).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop: f64,
    /// Perturb every test train before predicting (after --jitter-ms and --drop): round each spike time to a
    /// multiple of this step (ms), as a recording sampled at 1/MS kHz gives them, e.g. 0.05 for 20 kHz.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    grid_ms: f64,
    /// Seed of the perturbations (--jitter-ms, --drop) and of the bootstrap (--intervals).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also print 95% intervals of the MAE and the coverages, from this many bootstrap draws over the targets
    /// (all models of one target resampled together), e.g. 2000; 0: none.
    #[arg(long, value_name = "DRAWS", default_value_t = 0)]
    intervals: usize,
    /// Blurred copies of each train pooled into its prediction, for weights trained with a spike-time
    /// resolution (more: smoother and slower).
    #[arg(long, value_name = "N", default_value_t = spikepop_predict::DEFAULT_COPIES)]
    copies: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Tell the predictor the sd of the trains' current noise, uA/cm² (weights that read it). Not with
    /// --benchmark: there each noisy domain is told its own (benchmark.json's `noise`) in rows of its own.
    #[arg(long, value_name = "SIGMA", conflicts_with = "benchmark")]
    noise: Option<f64>,
    /// Also write the table as CSV (one row per group, or per domain and group; shares as fractions).
    #[arg(short, long, value_name = "TABLE.csv")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    check_jitter_ms("--jitter-ms", args.jitter_ms)?;
    check_jitter_ms("--grid-ms", args.grid_ms)?;
    check_drop("--drop", args.drop)?;
    if args.copies == 0 {
        bail!("invalid --copies 0: expected 1 or more");
    }
    let mut predictor = Predictor::for_model(model, args.weights.as_deref())?;
    predictor.copies = args.copies;
    predictor
        .tell_noise(args.noise)
        .map_err(|e| anyhow::anyhow!("--noise: {e}"))?;
    if let Some(dir) = &args.benchmark {
        let (report, notes) = with_threads(args.threads, || {
            benchmark_report(&predictor, dir, args.baseline_data.as_deref())
        })??;
        for note in notes {
            eprintln!("note: {note}");
        }
        println!("{report}");
        return save(args.output.as_deref(), |w| report.write_csv(w));
    }
    let data = args.data.clone().expect("--data or --benchmark (clap)");
    let opts = TestOptions {
        same_cells_as: args.same_cells_as.clone(),
        jitter_ms: args.jitter_ms,
        drop: args.drop,
        grid_ms: args.grid_ms,
        seed: args.seed,
    };
    let (samples, notes) = test_set(&predictor, &data, &opts)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let mut report = with_threads(args.threads, || evaluate(&predictor, &samples))?;
    if args.intervals > 0 {
        report = report.with_intervals(args.intervals, args.seed);
    }
    println!("{report}");
    save(args.output.as_deref(), |w| report.write_csv(w))
}

/// Writes the table's CSV to `path` (atomically), when asked.
fn save(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    if let Some(path) = path {
        write_atomic(path, |w| Ok(write(w)?))?;
    }
    Ok(())
}
