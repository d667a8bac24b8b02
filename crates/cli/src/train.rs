//! `spikepop train`: trains the DIC predictor on a dataset (checkpoints every epoch, `--resume`), calibrates
//! its sd on the validation set and writes the weights (safetensors). The work lives in `spikepop-predict`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use spikepop_predict::augment::Augment;
use spikepop_predict::samples::training_sets;
use spikepop_predict::train::{
    InitFrom, Loss, Progress, TrainConfig, checkpoint_path, record_provenance, train,
};

use crate::output::{cancel_flag, model_by_name, with_threads, write_atomic};

/// Train the DIC predictor on simulated spike trains with known DICs.
#[derive(clap::Args)]
#[command(
    after_help = "Data: a `spikepop dataset` file or folder (CSV or Parquet: columns g_s, g_u, spiking_times and \
                  optionally target), a folder with train.* and val.* (from `spikepop dataset split`), or any \
                  CSV with g_s, g_u, spiking_times. Without a validation file, 10% of the targets are held out.\n\n\
                  Recipe and architecture: docs/predictor.md"
)]
pub struct Args {
    /// Neuron model the data were simulated with: stg, da, or the path of a model file.
    #[arg(long)]
    model: String,
    /// Training data: a file, or a folder (train.* and val.*, or every .csv/.parquet file in it). Repeat it
    /// (or separate with commas) to train on several data sets at once, e.g. noise-free and noisy trains.
    #[arg(
        long,
        value_name = "DIR_OR_FILE",
        required = true,
        value_delimiter = ','
    )]
    data: Vec<PathBuf>,
    /// Validation data (default: val.* next to train.*, else 10% of the targets of --data).
    #[arg(long, value_name = "FILE")]
    val: Option<PathBuf>,
    /// Output weights (safetensors).
    #[arg(short, long, value_name = "WEIGHTS.safetensors")]
    output: PathBuf,
    /// Training epochs.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Seed of the initial weights, the augmentations, the batch order and the validation split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue from the checkpoint folder (<output>.ckpt) where an interrupted run stopped.
    #[arg(long)]
    resume: bool,
    /// Hidden layer widths.
    #[arg(long, value_delimiter = ',', default_value = "128,128,128")]
    hidden: Vec<usize>,
    /// Batch size.
    #[arg(long, default_value_t = TrainConfig::default().batch)]
    batch: usize,
    /// Peak learning rate (AdamW, cosine decay).
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    lr: f64,
    /// Likelihood of the DICs: gaussian (the centre is the conditional mean) or laplace (the conditional
    /// median, which minimises the mean absolute error). The sd is calibrated to the coverage bands either way.
    #[arg(long, default_value = "gaussian")]
    loss: Loss,
    /// beta-NLL exponent in [0, 1]: weights each train's NLL by its predicted sd^beta (held constant), so that
    /// trains with a large sd still pull their centre; 0 is the plain likelihood.
    #[arg(long, default_value_t = 0.0)]
    beta: f64,
    /// Augmentation: probability that a training train is left untouched in an epoch.
    #[arg(long, default_value_t = Augment::default().p_clean)]
    p_clean: f64,
    /// Augmentation: largest sd of the Gaussian spike-time jitter (ms), drawn per train in [0, this].
    #[arg(long, default_value_t = Augment::default().max_jitter_ms)]
    max_jitter_ms: f64,
    /// Augmentation: probability that a jittered train's jitter sd is drawn log-uniformly from [0.001 ms,
    /// --max-jitter-ms] instead of uniformly: small jitter (a recording sampled at 10-100 kHz) as often per
    /// decade as large.
    #[arg(long, default_value_t = Augment::default().p_log_jitter)]
    p_log_jitter: f64,
    /// Augmentation: probability that a jittered train is then put on a sampling grid of a step drawn
    /// log-uniformly from 0.01 to 0.1 ms (a recording sampled at 100 to 10 kHz), with a random offset.
    #[arg(long, default_value_t = Augment::default().p_quantize)]
    p_quantize: f64,
    /// Augmentation: largest probability of deleting each spike, drawn per train in [0, this].
    #[arg(long, default_value_t = Augment::default().max_drop)]
    max_drop: f64,
    /// Augmentation: probability of cutting a random window of [n/2, n) spikes (trains of more than 10 spikes).
    #[arg(long, default_value_t = Augment::default().p_window)]
    p_window: f64,
    /// Spike-time resolution (ms): Gaussian jitter of this sd on every training train, clean ones included.
    /// The weights record it and the predictor blurs every train it is given the same way, so that the
    /// network cannot read sub-resolution structure (the integrator's, not the cell's). 0: none.
    #[arg(long, default_value_t = Augment::default().resolution_ms)]
    resolution_ms: f64,
    /// Start from the layers of these weights (fine-tuning, e.g. DA from the STG network) instead of random
    /// ones; the input and target standardisation still come from the data. Needs the same --hidden widths.
    /// Weights that do not read the noise amplitude may start a network that does (--p-noise-told): its two
    /// noise inputs start with zero weights, so that it begins as those weights, told or not.
    #[arg(long, value_name = "WEIGHTS.safetensors")]
    init: Option<PathBuf>,
    /// Augmentation: probability that an augmented train gets ISI noise (each interval multiplied by
    /// exp(N(0, s)), s log-uniform from 0.001 to --max-isi-noise): the phase noise of a noisy current or of a
    /// loose integrator, on noise-free cells, so that irregularity alone does not read as information.
    #[arg(long, default_value_t = Augment::default().p_isi_noise)]
    p_isi_noise: f64,
    /// Augmentation: largest relative sd of the ISI noise of --p-isi-noise.
    #[arg(long, default_value_t = Augment::default().max_isi_noise)]
    max_isi_noise: f64,
    /// Augmentation: probability that a train, clean ones included, gets an integrator's white ISI noise
    /// alone (each interval multiplied by exp(N(0, s)), s log-uniform from 1e-4 to --max-solver-noise): what
    /// an accurate integrator other than spikepop's (BDF at rtol 1e-3) does to a noise-free train.
    #[arg(long, default_value_t = Augment::default().p_solver_noise)]
    p_solver_noise: f64,
    /// Augmentation: largest relative sd of the ISI noise of --p-solver-noise.
    #[arg(long, default_value_t = Augment::default().max_solver_noise)]
    max_solver_noise: f64,
    /// Augmentation: probability that a train, clean ones included, gets a slow drift of its rate (log ISI
    /// changing by up to --max-drift from its first interval to its last, linearly or as a relaxation, either
    /// sign): the drift of a recorded cell, which says nothing about its DICs, unlike the start-up relaxation
    /// of a simulated one.
    #[arg(long, default_value_t = Augment::default().p_drift)]
    p_drift: f64,
    /// Augmentation: largest total change of log ISI of --p-drift (0.03: a 3% change of rate).
    #[arg(long, default_value_t = Augment::default().max_drift)]
    max_drift: f64,
    /// The feature version the network reads: 4 (default) adds the relaxation profile of a cell started from
    /// rest to version 3; a network for recordings of settled cells reads version 3 (docs/predictor.md).
    #[arg(long, value_name = "V", default_value_t = spikepop_predict::features::VERSION)]
    features_version: u32,
    /// The share of training trains told their noise amplitude each epoch (the `noise` of their `spikepop
    /// dataset` folder; trains of other files never are): above 0 the network also reads the amplitude when
    /// `predict --noise` tells it, and does without it otherwise. 0 (default): a network of the spike times alone.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    p_noise_told: f64,
    /// Worker threads for features and augmentation (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// The `spikepop dataset` manifest of a data path: the folder's own `dataset.json`, or the one next to a file
/// (a `dataset split` file sits in its dataset's folder). `None` for data that did not come from `dataset`.
struct Bar {
    bar: indicatif::ProgressBar,
}

impl Progress for Bar {
    fn start(&self, epochs: usize, batches: usize, start: usize) {
        self.bar.set_length((epochs * batches) as u64);
        self.bar.set_position((start * batches) as u64);
    }
    fn batch(&self) {
        self.bar.inc(1);
    }
    fn epoch(&self, epoch: usize, train_loss: f64, val_loss: f64) {
        self.bar.set_message(format!(
            "epoch {epoch}: train loss {train_loss:.4}, val loss {val_loss:.4}"
        ));
        if self.bar.is_hidden() {
            eprintln!("epoch {epoch}: train loss {train_loss:.4}, val loss {val_loss:.4}");
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let cfg = TrainConfig {
        model: model.name.to_string(),
        hidden: args.hidden.clone(),
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        loss: args.loss,
        beta: args.beta,
        augment: Augment {
            p_clean: args.p_clean,
            p_window: args.p_window,
            max_drop: args.max_drop,
            max_jitter_ms: args.max_jitter_ms,
            p_log_jitter: args.p_log_jitter,
            p_quantize: args.p_quantize,
            resolution_ms: args.resolution_ms,
            p_isi_noise: args.p_isi_noise,
            max_isi_noise: args.max_isi_noise,
            p_solver_noise: args.p_solver_noise,
            max_solver_noise: args.max_solver_noise,
            p_drift: args.p_drift,
            max_drift: args.max_drift,
        },
        init: match &args.init {
            Some(path) => Some(InitFrom::read(path).context("--init")?),
            None => None,
        },
        features_version: args.features_version,
        p_noise_told: args.p_noise_told,
        ..TrainConfig::default()
    };
    cfg.validate()?;
    let (train_set, val_set) = training_sets(&args.data, args.val.as_deref(), args.seed)?;
    let ckpt = checkpoint_path(&args.output);
    eprintln!(
        "training on {} trains, validating on {} (checkpoints in {})",
        train_set.len(),
        val_set.len(),
        ckpt.display()
    );
    let bar = crate::output::progress(0, "training");
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar} {pos}/{len} batches, ETA {eta} | {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = Bar { bar };
    let cancel = cancel_flag();
    let t0 = std::time::Instant::now();
    let trained = with_threads(args.threads, || {
        train(
            &cfg,
            &train_set,
            &val_set,
            Some(&ckpt),
            args.resume,
            &progress,
            cancel,
        )
    })?
    .map_err(|e| {
        if cancel.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::anyhow!("interrupted: rerun with --resume to continue from the last checkpoint")
        } else {
            e
        }
    })?;
    progress.bar.finish_and_clear();
    let mut w = trained.weights;
    record_provenance(&mut w, model, &args.data, args.init.as_deref());
    let bytes = w.to_bytes();
    write_atomic(&args.output, |out| {
        out.write_all(&bytes)?;
        Ok(())
    })?;
    let (tl, vl) = trained
        .history
        .last()
        .copied()
        .unwrap_or((f64::NAN, f64::NAN));
    eprintln!(
        "trained {} epochs in {:.1} s (last: train loss {tl:.4}, val loss {vl:.4}); kept epoch {}; \
         calibration temperatures {:?}; {} parameters, {} bytes written to {}",
        trained.history.len(),
        t0.elapsed().as_secs_f64(),
        trained.best_epoch,
        w.temperature,
        w.n_params(),
        bytes.len(),
        args.output.display()
    );
    Ok(())
}
