//! `spikepop evaluate`: the predictor's error table on a test set with known DICs.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_predict::Predictor;
use spikepop_predict::eval::evaluate;

use crate::output::{model_by_name, with_threads};
use crate::train::{named_set, read_samples};

/// Print the predictor's errors on a test set: MAE and median error per DIC, overall and per label, label
/// accuracy, and the fraction of true values inside the predicted 1-sd and 2-sd intervals.
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg or da.
    #[arg(long)]
    model: String,
    /// Test data: a dataset file, or a folder (its test.* file, else every .csv/.parquet file in it).
    #[arg(long, value_name = "TEST")]
    data: PathBuf,
    /// Weights file (default: the weights built into spikepop).
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let predictor = Predictor::load(model.name, args.weights.as_deref())?;
    let path = named_set(&args.data, "test").unwrap_or_else(|| args.data.clone());
    let samples = read_samples(&path)?;
    let report = with_threads(args.threads, || evaluate(&predictor, &samples))?;
    println!("{report}");
    Ok(())
}
