//! `spikepop calibrate`: refits the calibration temperatures of trained weights on other data (a larger or
//! independent set with known DICs), leaving the network untouched. The work lives in `spikepop-predict`.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_predict::train::{
    COVERAGE_1SD, COVERAGE_2SD, calibrate_on, fit_pattern_bound, fit_tonic_rate_reading,
};
use spikepop_predict::{Predictor, Weights};

use crate::output::{model_by_name, with_threads, write_atomic};

/// Refit the sd calibration of the DIC predictor on data with known DICs: one factor per label and DIC that
/// puts the 1-sd and 2-sd coverage of the true values closest to the centres of their bands.
#[derive(clap::Args)]
#[command(
    after_help = "Use data never used for training or testing, as the predictor will meet them (noise-free and \
                  noisy trains together). Recipe: docs/predictor.md, section 2."
)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Calibration data: a file, or a folder (every .csv/.parquet file in it). Repeat it (or separate with
    /// commas) to pool several sets, e.g. noise-free and noisy trains.
    #[arg(
        long,
        value_name = "DIR_OR_FILE",
        required_unless_present_any = ["rate_data", "pattern_data"],
        value_delimiter = ','
    )]
    data: Vec<PathBuf>,
    /// Training trains to fit the tonic rate-only reading on (what a tonic train's rate says about its DICs,
    /// from which `reconstruct` draws part of a tonic population's targets), for weights trained before it
    /// existed; give the weights' own training data. Without `--data`, the temperatures stay as they are.
    #[arg(long, value_name = "DIR_OR_FILE", value_delimiter = ',')]
    rate_data: Vec<PathBuf>,
    /// Training trains to fit the bound of irregular patterns on (the most irregular of the trains labelled
    /// irregular: a train beyond it, such as a Poisson train, is out of the predictor's domain, `ood` =
    /// `pattern`), for weights trained before it existed; give the weights' own training data.
    #[arg(long, value_name = "DIR_OR_FILE", value_delimiter = ',')]
    pattern_data: Vec<PathBuf>,
    /// Weights to recalibrate (default: the weights built into spikepop).
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// Output weights (safetensors): the input's network with the new temperatures.
    #[arg(short, long, value_name = "WEIGHTS.safetensors")]
    output: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `fit` on the weights and `data` on `threads` worker threads; `None` without data.
fn fit_on<T: Send>(
    threads: Option<usize>,
    w: &mut Weights,
    data: &[PathBuf],
    fit: fn(&mut Weights, &[PathBuf]) -> Result<T>,
) -> Result<Option<T>> {
    if data.is_empty() {
        return Ok(None);
    }
    Ok(Some(with_threads(threads, || fit(w, data))??))
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let mut w = Predictor::for_model(model, args.weights.as_deref())?.weights;
    let before = w.temperature.clone();
    let firing = fit_on(args.threads, &mut w, &args.data, calibrate_on)?;
    let tonic = fit_on(
        args.threads,
        &mut w,
        &args.rate_data,
        fit_tonic_rate_reading,
    )?;
    let pattern = fit_on(args.threads, &mut w, &args.pattern_data, fit_pattern_bound)?;
    let bytes = w.to_bytes();
    write_atomic(&args.output, |out| {
        out.write_all(&bytes)?;
        Ok(())
    })?;
    if let Some(firing) = firing {
        eprintln!(
            "calibrated on {firing} firing trains (bands: 1 sd {:.0}-{:.0}%, 2 sd {:.0}-{:.0}%): temperatures \
             per label [g_s, g_u] {:?} (were {:?})",
            100.0 * COVERAGE_1SD.0,
            100.0 * COVERAGE_1SD.1,
            100.0 * COVERAGE_2SD.0,
            100.0 * COVERAGE_2SD.1,
            w.temperature,
            before,
        );
    }
    if let Some(n) = tonic {
        eprintln!("fitted the tonic rate-only reading on {n} tonic trains");
    }
    if let Some((n, b)) = pattern {
        eprintln!("fitted the bound of irregular patterns on {n} irregular trains: {b:.3}");
    }
    eprintln!("written to {}", args.output.display());
    Ok(())
}
