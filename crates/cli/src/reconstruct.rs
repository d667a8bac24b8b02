//! `spikepop reconstruct`: from spike times to a verified degenerate population, one per recording.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_predict::Predictor;
use spikepop_reconstruct::files::{self, PriorSource};
use spikepop_reconstruct::{Options, Priors, Setting, Tolerances, pipeline};

use crate::input::InputArgs;
use crate::output::{cancel_flag, check_interrupted, model_by_name, progress, with_threads};

/// Reconstruct a verified population of models for every recording of a file.
#[derive(clap::Args)]
#[command(
    after_help = "Outputs in OUTDIR: population.csv (the verified models), summary.csv (one row per \
recording) and run.json (every setting, to repeat the run exactly). See docs/reconstruct.md."
)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    #[command(flatten)]
    input: InputArgs,
    /// Also write the population for other simulators, into OUTDIR/<format>/ (`neuron`, `brian2`,
    /// `neuroml`; repeat the flag or separate with commas), as `spikepop export` does (docs/interop.md).
    #[arg(long, value_delimiter = ',', value_parser = ["neuron", "brian2", "neuroml"])]
    export: Vec<String>,
    /// Verified models wanted per recording.
    #[arg(short = 'n', long = "size", default_value_t = 100)]
    n: usize,
    /// Random seed (candidates); the run is reproducible for a seed whatever the threads.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (created; replaced if it holds an earlier reconstruction).
    #[arg(short, long, value_name = "OUTDIR")]
    output: PathBuf,
    /// DIC distribution per recording: a CSV with `ID,g_s,sd_g_s,g_u,sd_g_u` (what `spikepop predict`
    /// writes); rows with empty DICs are silent recordings. Default: the built-in predictor.
    #[arg(long, value_name = "DICS.csv", conflicts_with = "weights")]
    prior: Option<PathBuf>,
    /// Predictor weights file (default: the weights built into spikepop).
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// Candidates simulated at most per recording [default: 30 N].
    #[arg(long)]
    max_candidates: Option<usize>,
    /// Generate N candidates from the prediction without simulating or verifying them (the reference's
    /// behaviour).
    #[arg(long)]
    no_verify: bool,
    /// Relative tolerance on the rate of tonic and irregular recordings.
    #[arg(long, default_value_t = Tolerances::default().rate)]
    tol_rate: f64,
    /// Relative tolerance on the inter-burst period.
    #[arg(long, default_value_t = Tolerances::default().period)]
    tol_period: f64,
    /// Absolute tolerance on the mean spikes per burst.
    #[arg(long, default_value_t = Tolerances::default().spikes_per_burst)]
    tol_spikes_per_burst: f64,
    /// Relative tolerance on the mean burst duration.
    #[arg(long, default_value_t = Tolerances::default().burst_duration)]
    tol_burst_duration: f64,
    /// Refinement rounds (re-centring the DIC distribution on verified candidates).
    #[arg(long, default_value_t = 2)]
    refine_rounds: usize,
    /// Factor on the prediction's standard deviations for tonic recordings, so that the population spreads
    /// along the models with the recording's rate (1 keeps the prediction as it is).
    #[arg(long, default_value_t = spikepop_reconstruct::search::DEFAULT_TONIC_SPREAD)]
    tonic_spread: f64,
    /// For tonic recordings, models tried per DIC target drawn from the prediction before the target is
    /// given up, so that the population covers the DICs where only some models fire at the recorded rate
    /// (1: every candidate is a fresh draw from the refined proposal, as for bursting recordings).
    #[arg(long, default_value_t = spikepop_reconstruct::search::DEFAULT_TONIC_TRIES)]
    tonic_tries: usize,
    /// Factor on the prediction's standard deviations for bursting and irregular recordings (1 keeps the
    /// prediction as it is); verification keeps only the models that burst like the recording.
    #[arg(long, default_value_t = spikepop_reconstruct::search::DEFAULT_BURSTING_SPREAD)]
    bursting_spread: f64,
    /// For tonic recordings, the share of DIC targets drawn from what the recording's firing rate alone says
    /// (the predictor's rate-only baseline: every DIC of the training range that fires at that rate) instead
    /// of from the prediction, from 0 to 1; 0 draws them all from the prediction.
    #[arg(long, default_value_t = spikepop_reconstruct::search::DEFAULT_TONIC_RATE_SHARE)]
    tonic_rate_share: f64,
    /// Shortest window simulated after the transient (ms); a longer recording's own span is used.
    #[arg(long, default_value_t = spikepop_reconstruct::search::DEFAULT_MIN_WINDOW_MS)]
    min_window: f64,
    /// Current noise injected into every candidate's simulation (sigma in uA/cm^2, white, 1 kHz low-pass),
    /// for recordings made with noisy input; 0 simulates without noise. Weights that read the noise amplitude
    /// (the built-in STG and DA ones) are told it, so the prediction is that of a cell with this noise.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Integration step of the verification simulations (ms).
    /// [default: the model's step, 0.05 for STG and DA]
    #[arg(long)]
    dt: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    // A format that cannot express the model is refused before the reconstruction, not after it.
    for format in &args.export {
        spikepop_export::check_model(model, format.parse()?)
            .map_err(|e| anyhow::anyhow!("--export {format}: {e}"))?;
    }
    let recordings = args.input.read()?;
    let predictor;
    let (priors, prior_source) = match &args.prior {
        Some(path) => (
            Priors::Table {
                priors: files::read_priors(path)?,
                source: path.display().to_string(),
            },
            PriorSource::File(path.display().to_string()),
        ),
        None => {
            predictor = Predictor::for_model(model, args.weights.as_deref())?;
            let source = PriorSource::Weights {
                name: args.weights.as_ref().map_or_else(
                    || format!("built-in {}", model.name),
                    |p| p.display().to_string(),
                ),
                sha256: predictor.weights.sha256(),
            };
            (Priors::Predictor(&predictor), source)
        }
    };
    let options = Options {
        n: args.n,
        seed: args.seed,
        max_candidates: args.max_candidates,
        no_verify: args.no_verify,
        refine_rounds: Some(args.refine_rounds),
        tonic_spread: Some(args.tonic_spread),
        bursting_spread: Some(args.bursting_spread),
        tonic_tries: Some(args.tonic_tries),
        tonic_rate_share: Some(args.tonic_rate_share),
        min_window: Some(args.min_window),
        noise: Some(args.noise),
        dt: args.dt,
        tol_rate: Some(args.tol_rate),
        tol_period: Some(args.tol_period),
        tol_spikes_per_burst: Some(args.tol_spikes_per_burst),
        tol_burst_duration: Some(args.tol_burst_duration),
    };
    let settings = options.settings(model).map_err(|e| {
        let flag = match e.setting {
            Setting::N => "--size".to_string(),
            s => format!("--{}", s.name().replace('_', "-")),
        };
        anyhow::anyhow!("invalid {flag} {e}")
    })?;
    files::prepare_output(&args.output)
        .map_err(|e| anyhow::anyhow!("{e}; choose another --output"))?;
    let cancel = cancel_flag();
    let bar = progress(recordings.trains.len() as u64, "reconstructing");
    let outcomes = with_threads(args.threads, || {
        pipeline::run(
            model,
            &recordings.trains,
            &priors,
            &settings,
            args.seed,
            &|done| bar.set_position(done as u64),
            cancel,
        )
    })?;
    bar.finish_and_clear();
    check_interrupted()?;
    let outcomes = outcomes?;

    let run = files::run_record(
        model,
        &args.input.input.display().to_string(),
        recordings.format.as_str(),
        (recordings.format == spikepop_spikes::Format::Trace)
            .then(|| args.input.detect.options())
            .as_ref(),
        &prior_source,
        args.seed,
        &settings,
    );
    files::Rendered::new(model, &outcomes, &settings, &run).save(&args.output)?;
    let (ids, members, g) = pipeline::population_columns(&outcomes);
    if ids.is_empty() && !args.export.is_empty() {
        eprintln!("no model in the population: nothing to export");
    }
    for format in args.export.iter().filter(|_| !ids.is_empty()) {
        let dir = args.output.join(format);
        let (n, _) =
            crate::export::export_members(model, &ids, Some(&members), &g, format.parse()?, &dir)?;
        eprintln!("wrote {n} members for {format} to {}", dir.display());
    }
    eprint!(
        "{}",
        pipeline::report(&outcomes, &settings, &args.output.display().to_string())
    );
    Ok(())
}
