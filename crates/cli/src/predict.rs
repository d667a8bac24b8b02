//! `spikepop predict`: the DICs (mean and sd of g_s and g_u) and the label probabilities of every spike train
//! of a file, from the trained predictor.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_predict::{Prediction, Predictor};

use crate::input::InputArgs;
use crate::output::{model_by_name, with_threads, write_atomic};

/// Predict the DICs of every spike train of a file:
/// `ID,label,g_s,sd_g_s,g_u,sd_g_u,p_<label>...,ood,windows`.
#[derive(clap::Args)]
#[command(
    after_help = "Trains with fewer than 3 spikes get label=silent and empty DICs. The built-in networks see every train \
at a spike-time resolution (0.05 ms for STG, 0.1 ms for DA: 4 copies blurred by that much, seeded by the train, \
pooled), so finer detail, such as an integrator's, does not move the answer. A train longer than 1.5 times \
the network's training recordings (STG 3 s, DA 9 s) is read in windows of that length (at most 32, spread over \
the recording; `windows`) and their readings combined. `ood` names why a train is outside what the predictor \
knows (`range`: a centre outside the training range; `rate`: a firing rate no model of the training range \
fires at; `windows`: windows that disagree); such a train gets a wide prediction, not a confident one. \
--noise tells weights that read it (the built-in STG and DA weights) the sd of the recordings' current noise: trains of \
different noise amplitudes can look alike while coming from different cells, so a told amplitude narrows the \
answer; a wrong one makes it wrong.\n\nExample:\n  spikepop predict --model stg --input examples/stg_set.csv -o dics.csv"
)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    #[command(flatten)]
    input: InputArgs,
    /// Weights file (default: the weights built into spikepop).
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// The sd of the recordings' current noise, uA/cm² (as `spikepop simulate --noise`; 0: noise-free), when
    /// known; for weights that read it (default: not told, the spike times alone).
    #[arg(long, value_name = "SIGMA")]
    noise: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output CSV.
    #[arg(short, long, value_name = "DICS.csv")]
    output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let mut predictor = Predictor::for_model(model, args.weights.as_deref())?;
    predictor
        .tell_noise(args.noise)
        .map_err(|e| anyhow::anyhow!("--noise: {e}"))?;
    let rec = args.input.read()?;
    let trains: Vec<&[f64]> = rec.trains.iter().map(|t| t.times_ms.as_slice()).collect();
    let preds = with_threads(args.threads, || predictor.predict_many(&trains))?;
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    write_atomic(&args.output, |w| {
        spikepop_predict::write_csv(w, &ids, &preds)?;
        Ok(())
    })?;
    let silent = preds
        .iter()
        .filter(|p| matches!(p, Prediction::Silent))
        .count();
    eprintln!(
        "predicted {} trains ({silent} silent) into {}",
        preds.len(),
        args.output.display()
    );
    Ok(())
}
