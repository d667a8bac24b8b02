//! Training with burn (Flex backend, autodiff): the MLP of [`crate::net`], Gaussian negative log-likelihood
//! on standardised (g_s, g_u) plus cross-entropy on the label, AdamW with a cosine learning rate, fresh
//! augmentations every epoch, a checkpoint after every epoch (resumable to the same result), and the sd
//! calibrated on the validation set at the end.
//!
//! Determinism: initial weights, augmentations and batch order come from ChaCha8 streams of the seed, and the
//! Flex backend's kernels give the same result for the same thread count, so a seed reproduces a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, silu, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::augment::Augment;
use crate::data::Sample;
use crate::features::{LABELS, N_FEATURES, features, label_index};
use crate::net::{Dense, N_GAUSS, N_NOISE_INPUTS, Output, Weights, noise_inputs};

/// Bins of the rate-only baseline fitted on the training trains ([`crate::baseline`]).
pub const BASELINE_BINS: usize = 64;

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// `stg` or `da` (stored in the weights).
    pub model: String,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate (cosine decay to `lr / 100`, one epoch of linear warm-up).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Weight of the label cross-entropy in the loss.
    pub label_weight: f64,
    /// Smallest sd in standardised units.
    pub sd_floor: f32,
    /// Seed of the initial weights, augmentations and batch order.
    pub seed: u64,
    /// Augmentations of the training trains.
    pub augment: Augment,
    /// Likelihood of (g_s, g_u) given the outputs.
    pub loss: Loss,
    /// beta-NLL exponent: each train's NLL is weighted by its (constant) predicted sd^beta, so that the
    /// gradient of the centre no longer shrinks where the predicted sd is large. 0 is the plain NLL; with
    /// [`Loss::Laplace`] and 1 the centre is fitted by a plain absolute error. The sd's optimum is unchanged.
    pub beta: f64,
    /// Layers to start from instead of random ones (fine-tuning, e.g. DA from the STG network).
    pub init: Option<InitFrom>,
    /// The feature version the network reads ([`crate::features::n_features`]): the first entries of each
    /// feature vector. Version 3 leaves out the relaxation profile of a cell started from rest (version 4),
    /// which a recording of a settled cell does not carry.
    pub features_version: u32,
    /// The share of training trains whose noise amplitude ([`Sample::noise`]) the network is told, drawn
    /// afresh every epoch; 0 (the default) gives a network without the noise inputs ([`Weights::noise_input`]).
    /// Above 0 the network learns to read the amplitude when it is told and to do without it when it is not
    /// (the rest of the trains, and every train of unknown amplitude).
    pub p_noise_told: f64,
}

/// Trained layers to start a run from: the hidden layers and the head of other weights (whose input and
/// target standardisation are not taken: those come from the data). Shown by its `source` in the settings
/// that a checkpoint records.
#[derive(Clone, PartialEq)]
pub struct InitFrom {
    /// Where the layers come from (a file name), for the settings and the weights' notes.
    pub source: String,
    /// Hidden layers.
    pub hidden: Vec<Dense>,
    /// Head.
    pub head: Dense,
}

impl InitFrom {
    /// The layers of `w`, labelled `source`.
    pub fn new(source: &str, w: &Weights) -> InitFrom {
        InitFrom {
            source: source.to_string(),
            hidden: w.hidden.clone(),
            head: w.head.clone(),
        }
    }

    /// The layers of the weights file at `path` (labelled by its path).
    pub fn read(path: &Path) -> Result<InitFrom> {
        let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        let w =
            Weights::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(InitFrom::new(&path.display().to_string(), &w))
    }
}

impl std::fmt::Debug for InitFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InitFrom({:?})", self.source)
    }
}

/// The likelihood the network is trained with. Both heads output a centre and an sd; the centre is the
/// conditional mean under [`Loss::Gaussian`] and the conditional median under [`Loss::Laplace`] (which
/// minimises the mean absolute error). The sd is calibrated to Gaussian coverage afterwards either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loss {
    /// Gaussian negative log-likelihood: z^2 / 2 + ln sd.
    #[default]
    Gaussian,
    /// Laplace negative log-likelihood with the same sd: sqrt(2) |z| + ln sd.
    Laplace,
}

impl std::str::FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Loss, String> {
        Loss::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown loss `{s}`; expected gaussian or laplace"))
    }
}

impl Loss {
    /// Every likelihood.
    pub const ALL: [Loss; 2] = [Loss::Gaussian, Loss::Laplace];

    /// The name on the command line and in the weights' notes.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Gaussian => "gaussian",
            Loss::Laplace => "laplace",
        }
    }

    /// The negative log-likelihood (without its constant) of a standardised residual `z = (y - mu) / sd`.
    pub fn nll(self, z: f64, sd: f64) -> f64 {
        match self {
            Loss::Gaussian => 0.5 * z * z + sd.ln(),
            Loss::Laplace => std::f64::consts::SQRT_2 * z.abs() + sd.ln(),
        }
    }
}

impl TrainConfig {
    /// Checks the settings that do not depend on the data (called by [`train`]; call it first to fail before
    /// loading data).
    pub fn validate(&self) -> Result<()> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            bail!("the network needs at least one hidden layer of width > 0");
        }
        if self.batch == 0 || self.epochs == 0 {
            bail!("--epochs and the batch size must be > 0");
        }
        if !(0.0..=1.0).contains(&self.beta) {
            bail!(
                "invalid --beta {}: expected a number from 0 to 1",
                self.beta
            );
        }
        if let Some(init) = &self.init {
            let widths: Vec<usize> = init.hidden.iter().map(|d| d.d_out).collect();
            let nf = self.n_inputs()?;
            // weights that do not read the noise amplitude may start a network that does
            let fits =
                |d: &Dense| d.d_in == nf || (self.reads_noise() && d.d_in + N_NOISE_INPUTS == nf);
            if widths != self.hidden || init.hidden.first().is_some_and(|d| !fits(d)) {
                bail!(
                    "--init {}: its hidden layers are {widths:?} wide on {} features; expected --hidden {:?} \
                     on {nf}",
                    init.source,
                    init.hidden.first().map_or(0, |d| d.d_in),
                    self.hidden
                );
            }
            if init.head.d_out != N_GAUSS + LABELS.len() {
                bail!(
                    "--init {}: its head has {} outputs; expected {}",
                    init.source,
                    init.head.d_out,
                    N_GAUSS + LABELS.len()
                );
            }
        }
        if !(0.0..=1.0).contains(&self.p_noise_told) {
            bail!(
                "invalid --p-noise-told {}: expected a share from 0 to 1",
                self.p_noise_told
            );
        }
        self.n_inputs()?;
        self.augment.validate()?;
        Ok(())
    }

    /// The number of features the network reads ([`TrainConfig::features_version`]).
    pub fn n_features(&self) -> Result<usize> {
        crate::features::n_features(self.features_version).ok_or_else(|| {
            anyhow::anyhow!(
                "invalid --features-version {}: expected 3 to {}",
                self.features_version,
                crate::features::VERSION
            )
        })
    }

    /// Whether the network trained reads the noise amplitude ([`TrainConfig::p_noise_told`] above 0).
    pub fn reads_noise(&self) -> bool {
        self.p_noise_told > 0.0
    }

    /// The number of inputs of the network: its features, and the noise inputs when it is told the noise
    /// amplitude ([`TrainConfig::p_noise_told`]).
    pub fn n_inputs(&self) -> Result<usize> {
        let told = if self.reads_noise() {
            N_NOISE_INPUTS
        } else {
            0
        };
        Ok(self.n_features()? + told)
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: "stg".into(),
            hidden: vec![128, 128, 128],
            epochs: 60,
            batch: 256,
            lr: 2e-3,
            weight_decay: 1e-4,
            label_weight: 0.5,
            sd_floor: 0.01,
            seed: 0,
            augment: Augment::default(),
            loss: Loss::Gaussian,
            beta: 0.0,
            init: None,
            features_version: crate::features::VERSION,
            p_noise_told: 0.0,
        }
    }
}

/// One sample ready for the network: features, standardised-later targets and the label index.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The feature vector.
    pub x: [f32; N_FEATURES],
    /// (g_s, g_u).
    pub y: [f32; 2],
    /// Index in [`LABELS`].
    pub label: usize,
    /// The noise amplitude of the train's simulation, when known ([`Sample::noise`]); what a network that
    /// reads it is told in [`loss_of`].
    pub noise: Option<f64>,
}

/// Encodes samples (silent ones are dropped): features of the train as the predictor sees it, blurred at
/// `resolution_ms` as its first copy is ([`Predictor::copies`](crate::Predictor)).
pub fn encode(samples: &[Sample], resolution_ms: f64) -> Vec<Encoded> {
    samples
        .par_iter()
        .filter_map(|s| {
            let (x, l) = features(&crate::blurred(&s.times_ms, resolution_ms, 0))?;
            Some(Encoded {
                x,
                y: [s.g_s as f32, s.g_u as f32],
                label: label_index(l)?,
                noise: s.noise,
            })
        })
        .collect()
}

/// Encodes augmented copies for one epoch; the label stays the clean train's.
fn encode_augmented(
    samples: &[Sample],
    clean_labels: &[Option<usize>],
    aug: &Augment,
    seed: u64,
    epoch: usize,
) -> Vec<Encoded> {
    samples
        .par_iter()
        .zip(clean_labels)
        .enumerate()
        .filter_map(|(i, (s, l))| {
            let label = (*l)?;
            let stream = ((epoch as u64) << 40) | i as u64;
            let t = aug.apply(&s.times_ms, seed ^ 0xA6_6E47, stream);
            let (x, _) = features(&t)?;
            Some(Encoded {
                x,
                y: [s.g_s as f32, s.g_u as f32],
                label,
                noise: s.noise,
            })
        })
        .collect()
}

/// Mean and sd (floored) of each column.
fn standardisation(
    rows: impl Iterator<Item = Vec<f64>> + Clone,
    dim: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut n = 0usize;
    let mut sum = vec![0f64; dim];
    for r in rows.clone() {
        n += 1;
        for (s, v) in sum.iter_mut().zip(&r) {
            *s += v;
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
    let mut var = vec![0f64; dim];
    for r in rows {
        for ((q, v), m) in var.iter_mut().zip(&r).zip(&mean) {
            *q += (v - m) * (v - m);
        }
    }
    let sd = var
        .iter()
        .map(|q| ((q / n.max(1) as f64).sqrt()).max(1e-3) as f32)
        .collect();
    (mean.iter().map(|m| *m as f32).collect(), sd)
}

/// The burn network: hidden SiLU layers and the head (see [`crate::net`]).
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    head: Linear,
}

fn linear_from(d: &Dense, id: u64, dev: &Device) -> Linear {
    let mut w = Tensor::<2>::from_data(TensorData::new(d.w.clone(), [d.d_in, d.d_out]), dev);
    let mut b = Tensor::<1>::from_data(TensorData::new(d.b.clone(), [d.d_out]), dev);
    if dev.is_autodiff() {
        w = w.require_grad();
        b = b.require_grad();
    }
    Linear {
        weight: Param::initialized(ParamId::from(2 * id + 1), w),
        bias: Some(Param::initialized(ParamId::from(2 * id + 2), b)),
    }
}

fn dense_of(l: &Linear) -> Dense {
    let w = l.weight.val();
    let [d_in, d_out] = w.dims();
    Dense {
        d_in,
        d_out,
        w: w.into_data().try_to_vec::<f32>().expect("f32 weights"),
        b: l.bias
            .as_ref()
            .map(|b| b.val().into_data().try_to_vec::<f32>().expect("f32 bias"))
            .unwrap_or_else(|| vec![0.0; d_out]),
    }
}

impl Mlp {
    /// The burn network holding `w`'s layers, with fixed parameter ids (so optimizer state can be restored).
    pub fn from_weights(w: &Weights, dev: &Device) -> Mlp {
        Mlp {
            hidden: w
                .hidden
                .iter()
                .enumerate()
                .map(|(k, d)| linear_from(d, k as u64, dev))
                .collect(),
            head: linear_from(&w.head, w.hidden.len() as u64, dev),
        }
    }

    /// Copies the layers into `w`.
    pub fn store(&self, w: &mut Weights) {
        w.hidden = self.hidden.iter().map(dense_of).collect();
        w.head = dense_of(&self.head);
    }

    /// Raw head outputs `[B, 4 + C]` for standardised features `[B, F]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for l in &self.hidden {
            h = silu(l.forward(h));
        }
        self.head.forward(h)
    }
}

/// Kaiming-uniform hidden layers from `cfg.seed` and a zero-bias head whose sd output starts near 1.
fn random_layers(cfg: &TrainConfig) -> (Vec<Dense>, Dense) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(0x1417);
    let mut dense = |d_in: usize, d_out: usize, gain: f32| {
        let k = gain * (6.0 / d_in as f32).sqrt() / 2f32.sqrt();
        Dense {
            d_in,
            d_out,
            w: (0..d_in * d_out).map(|_| rng.random_range(-k..k)).collect(),
            b: vec![0.0; d_out],
        }
    };
    let mut hidden = Vec::new();
    let mut d = cfg.n_inputs().expect("validated features version");
    for &h in &cfg.hidden {
        hidden.push(dense(d, h, 1.0));
        d = h;
    }
    let mut head = dense(d, N_GAUSS + LABELS.len(), 0.3);
    // softplus(0.5413) = 1: start with sd about 1 (the targets' spread).
    head.b[2] = 0.5413;
    head.b[3] = 0.5413;
    (hidden, head)
}

/// Initial weights: the layers of `cfg.init` when given (with zero weights on the noise inputs where they
/// lack them), else Kaiming-uniform layers from the seed and a zero-bias head whose sd output starts near 1;
/// the standardisation is always the data's.
fn init_weights(
    cfg: &TrainConfig,
    x_mean: Vec<f32>,
    x_sd: Vec<f32>,
    y_mean: [f32; 2],
    y_sd: [f32; 2],
) -> Weights {
    let (mut hidden, head) = match &cfg.init {
        Some(init) => (init.hidden.clone(), init.head.clone()),
        None => random_layers(cfg),
    };
    // layers of weights without the noise inputs: the inputs come last, so they get zero rows, and the
    // network starts as those weights whatever it is told
    if let Some(first) = hidden.first_mut() {
        let missing = x_mean.len().saturating_sub(first.d_in);
        first.w.resize(first.w.len() + missing * first.d_out, 0.0);
        first.d_in += missing;
    }
    Weights {
        model: cfg.model.clone(),
        x_mean,
        x_sd,
        y_mean,
        y_sd,
        hidden,
        head,
        temperature: vec![[1.0, 1.0]; LABELS.len()],
        sd_floor: cfg.sd_floor,
        resolution_ms: cfg.augment.resolution_ms,
        notes: BTreeMap::new(),
        features_version: cfg.features_version,
        rate_baseline: None,
        tonic_rate_baseline: None,
        irregular_bound: None,
        noise_input: cfg.reads_noise(),
    }
}

/// Loss terms of a set under `w` (pure-Rust forward): mean NLL under `loss` (both DICs, standardised units,
/// without the constant) and mean label cross-entropy. Weights that read the noise amplitude are told each
/// train's [`Encoded::noise`] (none where it is `None`).
pub fn loss_of(w: &Weights, set: &[Encoded], loss: Loss) -> (f64, f64) {
    if set.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let parts: Vec<(f64, f64)> = set
        .par_chunks(1024)
        .map(|chunk| {
            let x: Vec<f32> = chunk.iter().flat_map(|e| e.x).collect();
            let raw = w.raw_each(&x, chunk.iter().map(|e| e.noise));
            let (mut nll, mut ce) = (0.0, 0.0);
            for (e, o) in chunk.iter().zip(raw.chunks_exact(w.head.d_out)) {
                for d in 0..2 {
                    let y = (e.y[d] - w.y_mean[d]) / w.y_sd[d];
                    let r = o[2 + d] as f64;
                    let sd = if r > 20.0 { r } else { r.exp().ln_1p() } + w.sd_floor as f64;
                    let z = (y - o[d]) as f64 / sd;
                    nll += loss.nll(z, sd);
                }
                let l = &o[N_GAUSS..];
                let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
                let lse = max + l.iter().map(|v| (*v as f64 - max).exp()).sum::<f64>().ln();
                ce += lse - l[e.label] as f64;
            }
            (nll, ce)
        })
        .collect();
    let n = set.len() as f64;
    let (nll, ce) = parts.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (nll / n, ce / n)
}

/// The coverage a calibrated sd must give (issue 6): the interval `mean ± 1 sd` holds 60-76% of the true
/// values, `mean ± 2 sd` holds 90-98%.
pub const COVERAGE_1SD: (f64, f64) = (0.60, 0.76);
/// See [`COVERAGE_1SD`].
pub const COVERAGE_2SD: (f64, f64) = (0.90, 0.98);

/// Data sources as the weights' notes record them: the paths, joined by commas.
fn joined(data: &[PathBuf]) -> String {
    let paths: Vec<String> = data.iter().map(|d| d.display().to_string()).collect();
    paths.join(",")
}

/// Fits the tonic rate-only reading of `w` ([`Weights::tonic_rate_baseline`]) on the training trains of `data`
/// (files or folders, [`crate::samples::read_all`]), for weights trained before it existed, and records the
/// data in its notes (`tonic_rate_data`). Returns the tonic trains used; an error, naming the data, without
/// 2 of them.
pub fn fit_tonic_rate_reading(w: &mut Weights, data: &[PathBuf]) -> Result<usize> {
    let samples = crate::samples::read_all(data)?;
    let sources = joined(data);
    let (b, n) = crate::baseline::RateBaseline::fit_tonic_counted(&samples, BASELINE_BINS);
    let Some(b) = b else {
        bail!(
            "{sources}: {n} tonic trains; expected at least 2 to fit the tonic rate-only reading on"
        );
    };
    w.tonic_rate_baseline = Some(b);
    w.notes.insert("tonic_rate_data".into(), sources);
    Ok(n)
}

/// Fits the bound of irregular patterns of `w` ([`Weights::irregular_bound`], [`crate::pattern::fit`]) on the
/// training trains of `data` (files or folders, [`crate::samples::read_all`]), for weights trained before it
/// existed, and records the data in its notes (`pattern_data`). Returns the irregular trains used and the
/// bound; an error, naming the data, with fewer than [`crate::pattern::MIN_TRAINS`] irregular trains.
pub fn fit_pattern_bound(w: &mut Weights, data: &[PathBuf]) -> Result<(usize, f32)> {
    let samples = crate::samples::read_all(data)?;
    let sources = joined(data);
    let (b, n) = crate::pattern::fit(&samples);
    let Some(b) = b else {
        bail!(
            "{sources}: {n} irregular trains; expected at least {} to fit the bound of irregular patterns on",
            crate::pattern::MIN_TRAINS
        );
    };
    w.irregular_bound = Some(b);
    w.notes.insert("pattern_data".into(), sources);
    Ok((n, b))
}

/// Firing trains (3 spikes or more) [`calibrate_on`] needs at the least.
pub const MIN_CALIBRATION_TRAINS: usize = 50;

/// `spikepop calibrate`: refits the temperatures of `w` on the trains of `data` (files or folders,
/// [`crate::samples::read_all`]) and records them in its notes (`calibration_data`, `calibration_trains`).
/// Returns the firing trains used; an error, naming the data, with fewer than [`MIN_CALIBRATION_TRAINS`].
pub fn calibrate_on(w: &mut Weights, data: &[PathBuf]) -> Result<usize> {
    let samples = crate::samples::read_all(data)?;
    let sources = joined(data);
    let firing = samples
        .iter()
        .filter(|s| !crate::features::is_silent(&s.times_ms))
        .count();
    if firing < MIN_CALIBRATION_TRAINS {
        bail!(
            "{sources}: {firing} firing trains (3 spikes or more); expected at least \
             {MIN_CALIBRATION_TRAINS} to calibrate on"
        );
    }
    calibrate(w, &samples);
    w.notes.insert("calibration_data".into(), sources);
    w.notes
        .insert("calibration_trains".into(), firing.to_string());
    Ok(firing)
}

/// Fits the calibration temperature of each DIC and label on the validation trains, as the predictor sees
/// them (blurred copies pooled, [`crate::Predictor`]); see [`fit_temperatures`]. Labels with fewer than 50
/// trains get the temperature of all trains. `spikepop calibrate` reruns this on other data.
pub fn calibrate(w: &mut Weights, val: &[Sample]) {
    w.temperature = vec![[1.0, 1.0]; LABELS.len()];
    let trains: Vec<&[f64]> = val.iter().map(|s| s.times_ms.as_slice()).collect();
    let preds = crate::Predictor::new(w.clone()).predict_many(&trains);
    let (out, y): (Vec<Output>, Vec<[f32; 2]>) = preds
        .into_iter()
        .zip(val)
        .filter_map(|(p, s)| match p {
            crate::Prediction::Spiking { output, .. } => {
                Some((output, [s.g_s as f32, s.g_u as f32]))
            }
            crate::Prediction::Silent => None,
        })
        .unzip();
    w.temperature = fit_temperatures(&out, &y);
}

/// The calibration temperatures `[C][2]` of [`calibrate`] for any network with this head: `out` are the
/// uncalibrated outputs (temperature 1) of the validation trains, `y` their true (g_s, g_u).
///
/// Each temperature is the factor (grid search) whose 1-sd and 2-sd coverage lie closest to the centres of
/// [`COVERAGE_1SD`] and [`COVERAGE_2SD`], each distance in units of its band's half-width. The errors are
/// lighter-tailed than a Gaussian (a tonic train's error is bounded by the training range): no factor gives
/// both Gaussian coverages, 68.3% and 95.4%, and a least-squares fit to those two (used until session 7)
/// left the 2-sd coverage at 98-99% on four test cells. The band centres (68%, 94%) keep both coverages
/// inside their bands with the widest margin.
pub fn fit_temperatures(out: &[Output], y: &[[f32; 2]]) -> Vec<[f32; 2]> {
    // |z| per DIC, with the label of each train.
    let mut z: [Vec<(usize, f64)>; 2] = [Vec::new(), Vec::new()];
    for (e, o) in y.iter().zip(out) {
        z[0].push((o.label_index(), ((e[0] as f64 - o.g_s) / o.sd_g_s).abs()));
        z[1].push((o.label_index(), ((e[1] as f64 - o.g_u) / o.sd_g_u).abs()));
    }
    let fit = |zs: &[f64]| -> f32 {
        if zs.is_empty() {
            return 1.0;
        }
        let mut best = (f64::INFINITY, 1.0);
        let mut t = 0.2;
        while t < 5.0 {
            let c1 = zs.iter().filter(|v| **v <= t).count() as f64 / zs.len() as f64;
            let c2 = zs.iter().filter(|v| **v <= 2.0 * t).count() as f64 / zs.len() as f64;
            let err = band_distance(c1, COVERAGE_1SD) + band_distance(c2, COVERAGE_2SD);
            if err < best.0 {
                best = (err, t);
            }
            t *= 1.01;
        }
        best.1 as f32
    };
    let mut temperature = vec![[1.0, 1.0]; LABELS.len()];
    for d in 0..2 {
        let all: Vec<f64> = z[d].iter().map(|p| p.1).collect();
        let t_all = fit(&all);
        for (k, temp) in temperature.iter_mut().enumerate() {
            let zs: Vec<f64> = z[d].iter().filter(|p| p.0 == k).map(|p| p.1).collect();
            temp[d] = if zs.len() >= 50 { fit(&zs) } else { t_all };
        }
    }
    temperature
}

/// The squared distance of a coverage from the centre of its band, in units of the band's half-width.
fn band_distance(c: f64, (lo, hi): (f64, f64)) -> f64 {
    ((c - 0.5 * (lo + hi)) / (0.5 * (hi - lo))).powi(2)
}

/// Progress of a training run, reported after every batch and epoch.
pub trait Progress {
    /// A run of `epochs` epochs of `batches` batches each is starting at epoch `start`.
    fn start(&self, _epochs: usize, _batches: usize, _start: usize) {}
    /// A batch is done.
    fn batch(&self) {}
    /// An epoch is done.
    fn epoch(&self, _epoch: usize, _train_loss: f64, _val_loss: f64) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// Files of a run's checkpoint folder.
fn ckpt_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (
        dir.join("last.safetensors"),
        dir.join("optimizer.bpk"),
        dir.join("state.txt"),
        dir.join("best.safetensors"),
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(spikepop_spikes::atomic::write_bytes(path, bytes)?)
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The calibrated weights of the epoch with the lowest validation loss.
    pub weights: Weights,
    /// (train loss, validation loss) per epoch.
    pub history: Vec<(f64, f64)>,
    /// The epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
}

/// Where `spikepop train` keeps the checkpoints of a run writing `output`: `<output>.ckpt`.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    PathBuf::from(format!("{}.ckpt", output.display()))
}

/// Records where trained weights come from, in their notes, as `spikepop train` does: the data sources
/// (`data`), the SHA-256 of `model`'s canonical file (the weights then serve that model alone), the
/// integration steps of the noise-free sources ([`crate::samples::noise_free_steps`]) and the weights
/// started from (`init`).
pub fn record_provenance(
    w: &mut Weights,
    model: &spikepop_models::Model,
    data: &[std::path::PathBuf],
    init: Option<&Path>,
) {
    w.notes.insert("data".into(), joined(data));
    w.notes.insert(
        crate::MODEL_SHA256_NOTE.into(),
        spikepop_models::file::fingerprint(model),
    );
    if let Some(steps) = crate::samples::noise_free_steps(data) {
        w.set_sim_dts_ms(&steps);
    }
    if let Some(init) = init {
        w.notes.insert("init".into(), init.display().to_string());
    }
}

/// Trains on `train`, selects and calibrates on `val`. With `ckpt`, writes a checkpoint after every epoch
/// into that folder, and with `resume` continues from the one there (same config and data required for the
/// same result). `cancel` stops between batches with an error (the last checkpoint stays).
pub fn train(
    cfg: &TrainConfig,
    train: &[Sample],
    val: &[Sample],
    ckpt: Option<&Path>,
    resume: bool,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Trained> {
    cfg.validate()?;
    let clean = encode(train, cfg.augment.resolution_ms);
    let mut val_enc = encode(val, cfg.augment.resolution_ms);
    // The validation trains are told their amplitude as the training trains are, once for all epochs, so that
    // the epoch kept reads both ways (not told, the network does not read it: forget it).
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(0x7E11_FFFF);
    for e in &mut val_enc {
        let told = cfg.reads_noise() && rng.random_bool(cfg.p_noise_told);
        e.noise = e.noise.filter(|_| told);
    }
    if clean.len() < 2 {
        bail!(
            "the training data hold {} non-silent trains; expected at least 2",
            clean.len()
        );
    }
    if val_enc.is_empty() {
        bail!("the validation data hold no non-silent train");
    }
    let clean_labels: Vec<Option<usize>> = train
        .par_iter()
        .map(|s| features(&s.times_ms).and_then(|(_, l)| label_index(l)))
        .collect();
    let nf = cfg.n_features()?;
    let told = cfg.reads_noise();
    let (mut x_mean, mut x_sd) = standardisation(
        clean
            .iter()
            .map(|e| e.x[..nf].iter().map(|v| *v as f64).collect()),
        nf,
    );
    if told {
        // The noise inputs standardised as they are drawn: each train of known amplitude told with
        // probability p, the others never.
        let p = cfg.p_noise_told;
        let (mut m, mut q) = ([0f64; N_NOISE_INPUTS], [0f64; N_NOISE_INPUTS]);
        for e in &clean {
            let v = noise_inputs(e.noise);
            for k in 0..N_NOISE_INPUTS {
                m[k] += p * f64::from(v[k]);
                q[k] += p * f64::from(v[k]).powi(2);
            }
        }
        let n = clean.len() as f64;
        for k in 0..N_NOISE_INPUTS {
            let mean = m[k] / n;
            x_mean.push(mean as f32);
            x_sd.push((q[k] / n - mean * mean).max(0.0).sqrt().max(1e-3) as f32);
        }
    }
    let n_in = x_mean.len();
    let (y_mean, y_sd) = standardisation(
        clean
            .iter()
            .map(|e| e.y.iter().map(|v| *v as f64).collect()),
        2,
    );
    let mut weights = init_weights(
        cfg,
        x_mean,
        x_sd,
        [y_mean[0], y_mean[1]],
        [y_sd[0], y_sd[1]],
    );

    let dev = Device::flex().autodiff();
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .with_epsilon(1e-8)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(5.0)))
        .init();
    let mut start_epoch = 0;
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Weights)> = None;
    if let Some(dir) = ckpt {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (last, opt_path, state, best_path) = ckpt_paths(dir);
        if resume && state.exists() {
            let text = std::fs::read_to_string(&state)?;
            let mut lines = text.lines();
            let head = lines.next().unwrap_or("");
            let want = format!("{cfg:?}");
            if head != want {
                bail!(
                    "--resume: the checkpoint in {} was made with other settings ({head}); expected {want}",
                    dir.display()
                );
            }
            for l in lines {
                let mut it = l.split_whitespace();
                if let (Some(a), Some(b)) = (it.next(), it.next()) {
                    history.push((a.parse().unwrap_or(f64::NAN), b.parse().unwrap_or(f64::NAN)));
                }
            }
            start_epoch = history.len();
            weights = Weights::from_bytes(&std::fs::read(&last)?)
                .with_context(|| format!("{}", last.display()))?;
            optim = optim
                .load(&opt_path)
                .map_err(|e| anyhow::anyhow!("{}: {e:?}", opt_path.display()))?;
            if best_path.exists() {
                let bw = Weights::from_bytes(&std::fs::read(&best_path)?)?;
                let (be, bv) = history
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (i + 1, h.1))
                    .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
                best = Some((bv, be, bw));
            }
        }
    }
    let mut model = Mlp::from_weights(&weights, &dev);
    let n_batches = clean.len().div_ceil(cfg.batch);
    let total_steps = (cfg.epochs * n_batches) as f64;
    progress.start(cfg.epochs, n_batches, start_epoch);
    let c = LABELS.len();
    for epoch in start_epoch..cfg.epochs {
        let set = encode_augmented(train, &clean_labels, &cfg.augment, cfg.seed, epoch);
        let mut order: Vec<usize> = (0..set.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(0xB47C_0000 + epoch as u64);
        order.shuffle(&mut rng);
        // Which trains are told their noise amplitude this epoch (those that have one).
        let told_now: Vec<bool> = if told {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(0x7E11_0000 + epoch as u64);
            set.iter()
                .map(|e| rng.random_bool(cfg.p_noise_told) && e.noise.is_some())
                .collect()
        } else {
            Vec::new()
        };
        let mut train_loss = 0.0;
        let mut seen = 0usize;
        for (bi, idx) in order.chunks(cfg.batch).enumerate() {
            if cancel.load(Ordering::SeqCst) {
                bail!("interrupted");
            }
            let b = idx.len();
            let mut xs = Vec::with_capacity(b * n_in);
            let mut ys = Vec::with_capacity(b * 2);
            let mut hot = vec![0f32; b * c];
            for (r, &i) in idx.iter().enumerate() {
                let e = &set[i];
                xs.extend(weights.inputs(&e.x, e.noise.filter(|_| told && told_now[i])));
                for d in 0..2 {
                    ys.push((e.y[d] - weights.y_mean[d]) / weights.y_sd[d]);
                }
                hot[r * c + e.label] = 1.0;
            }
            let x = Tensor::<2>::from_data(TensorData::new(xs, [b, n_in]), &dev);
            let y = Tensor::<2>::from_data(TensorData::new(ys, [b, 2]), &dev);
            let hot = Tensor::<2>::from_data(TensorData::new(hot, [b, c]), &dev);
            let out = model.forward(x);
            let mu = out.clone().narrow(1, 0, 2);
            let sd = softplus(out.clone().narrow(1, 2, 2), 1.0).add_scalar(cfg.sd_floor);
            let logits = out.narrow(1, N_GAUSS, c);
            let z = (y - mu) / sd.clone();
            let fit = match cfg.loss {
                Loss::Gaussian => z.powi_scalar(2).mul_scalar(0.5),
                Loss::Laplace => z.abs().mul_scalar(std::f64::consts::SQRT_2),
            };
            let mut nll = fit + sd.clone().log();
            if cfg.beta != 0.0 {
                nll = nll * sd.detach().powf_scalar(cfg.beta);
            }
            let nll = nll.sum_dim(1).mean();
            let ce = (log_softmax(logits, 1) * hot).sum_dim(1).mean().neg();
            let loss = nll + ce.mul_scalar(cfg.label_weight);
            let lv: f32 = loss.clone().into_scalar::<f32>();
            train_loss += lv as f64 * b as f64;
            seen += b;
            let step = (epoch * n_batches + bi) as f64;
            let lr = if step < n_batches as f64 {
                cfg.lr * (step + 1.0) / n_batches as f64
            } else {
                let p = step / total_steps;
                cfg.lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            progress.batch();
        }
        model.store(&mut weights);
        let (vn, vc) = loss_of(&weights, &val_enc, cfg.loss);
        let val_loss = vn + cfg.label_weight * vc;
        let train_loss = train_loss / seen.max(1) as f64;
        history.push((train_loss, val_loss));
        let improved = best.as_ref().is_none_or(|b| val_loss < b.0);
        if improved {
            best = Some((val_loss, epoch + 1, weights.clone()));
        }
        if let Some(dir) = ckpt {
            let (last, opt_path, state, best_path) = ckpt_paths(dir);
            write_atomic(&last, &weights.to_bytes())?;
            if improved {
                write_atomic(&best_path, &weights.to_bytes())?;
            }
            let tmp = opt_path.with_extension("tmp");
            optim
                .save(&tmp)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e:?}", tmp.display()))?;
            std::fs::rename(&tmp, &opt_path)?;
            let mut text = format!("{cfg:?}\n");
            for (a, b) in &history {
                text.push_str(&format!("{a} {b}\n"));
            }
            write_atomic(&state, text.as_bytes())?;
        }
        progress.epoch(epoch + 1, train_loss, val_loss);
    }
    let (_, best_epoch, mut w) = best.context("no epoch was run")?;
    calibrate(&mut w, val);
    w.notes.insert("epochs".into(), cfg.epochs.to_string());
    w.notes.insert("best_epoch".into(), best_epoch.to_string());
    w.notes.insert("seed".into(), cfg.seed.to_string());
    w.notes
        .insert("train_trains".into(), clean.len().to_string());
    w.notes
        .insert("val_trains".into(), val_enc.len().to_string());
    w.notes.insert("hidden".into(), format!("{:?}", cfg.hidden));
    w.notes.insert("loss".into(), cfg.loss.name().into());
    w.notes.insert("beta".into(), cfg.beta.to_string());
    let a = &cfg.augment;
    let mut aug = format!(
        "p_clean={} p_window={} max_drop={} max_jitter_ms={}",
        a.p_clean, a.p_window, a.max_drop, a.max_jitter_ms
    );
    if a.p_log_jitter > 0.0 {
        aug += &format!(" p_log_jitter={}", a.p_log_jitter);
    }
    if a.p_quantize > 0.0 {
        aug += &format!(" p_quantize={}", a.p_quantize);
    }
    if a.resolution_ms > 0.0 {
        aug += &format!(" resolution_ms={}", a.resolution_ms);
    }
    if a.p_isi_noise > 0.0 {
        aug += &format!(
            " p_isi_noise={} max_isi_noise={}",
            a.p_isi_noise, a.max_isi_noise
        );
    }
    if a.p_solver_noise > 0.0 {
        aug += &format!(
            " p_solver_noise={} max_solver_noise={}",
            a.p_solver_noise, a.max_solver_noise
        );
    }
    if a.p_drift > 0.0 {
        aug += &format!(" p_drift={} max_drift={}", a.p_drift, a.max_drift);
    }
    if told {
        aug += &format!(" p_noise_told={}", cfg.p_noise_told);
    }
    if cfg.features_version != crate::features::VERSION {
        aug += &format!(" features_version={}", cfg.features_version);
    }
    w.notes.insert("augment".into(), aug);
    w.rate_baseline = crate::baseline::RateBaseline::fit(train, BASELINE_BINS);
    w.tonic_rate_baseline = crate::baseline::RateBaseline::fit_tonic(train, BASELINE_BINS);
    w.irregular_bound = crate::pattern::fit(train).0;
    Ok(Trained {
        weights: w,
        history,
        best_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loss_is_minimised_by_its_own_sd() {
        // For a residual r, the Gaussian NLL is smallest at sd = |r| and the Laplace one (whose scale is
        // sd / sqrt 2) at sd = sqrt(2) |r|.
        let r = 0.7;
        let argmin = |loss: Loss| {
            (1..4000)
                .map(|k| k as f64 * 1e-3)
                .min_by(|a, b| loss.nll(r / a, *a).total_cmp(&loss.nll(r / b, *b)))
                .unwrap()
        };
        assert!((argmin(Loss::Gaussian) - r).abs() < 2e-3);
        assert!((argmin(Loss::Laplace) - std::f64::consts::SQRT_2 * r).abs() < 2e-3);
        assert_eq!("laplace".parse::<Loss>(), Ok(Loss::Laplace));
        assert!(
            "l2".parse::<Loss>()
                .unwrap_err()
                .contains("gaussian or laplace")
        );
    }

    /// |z| of a Gaussian cut at `cut` sd, as a deterministic sample: a grid of step 0.01, each point repeated in
    /// proportion to the density.
    fn cut_gaussian(cut: f64) -> Vec<f64> {
        (0..)
            .map(|j| (j as f64 + 0.5) * 0.01)
            .take_while(|z| *z < cut)
            .flat_map(|z| std::iter::repeat_n(z, (100.0 * (-0.5 * z * z).exp()).round() as usize))
            .collect()
    }

    #[test]
    fn temperatures_put_both_coverages_inside_their_bands() {
        // g_s errors lighter-tailed than a Gaussian (cut at 1.9 sd): the least-squares fit to 68.3% and 95.4%
        // gave 66.5% and 98.1% here, outside the 2-sd band. g_u errors Gaussian with 1.5 times the stated sd.
        let wide: Vec<f64> = cut_gaussian(6.0).iter().map(|z| 1.5 * z).collect();
        let n = wide.len();
        // The same number of light errors, by quantile.
        let cut = cut_gaussian(1.9);
        let light: Vec<f64> = (0..n).map(|i| cut[i * cut.len() / n]).collect();
        let mut p = [0.0; LABELS.len()];
        p[0] = 1.0;
        let out = vec![
            Output {
                p,
                g_s: 0.0,
                sd_g_s: 1.0,
                g_u: 0.0,
                sd_g_u: 1.0,
            };
            n
        ];
        let y: Vec<[f32; 2]> = (0..n).map(|i| [light[i] as f32, -wide[i] as f32]).collect();
        let t = fit_temperatures(&out, &y);
        for (d, zs) in [&light, &wide].into_iter().enumerate() {
            let temp = t[0][d] as f64;
            let cover = |k: f64| zs.iter().filter(|z| **z <= k * temp).count() as f64 / n as f64;
            let (c1, c2) = (cover(1.0), cover(2.0));
            assert!(
                (COVERAGE_1SD.0 + 0.02..=COVERAGE_1SD.1 - 0.02).contains(&c1)
                    && (COVERAGE_2SD.0 + 0.01..=COVERAGE_2SD.1 - 0.01).contains(&c2),
                "DIC {d}: temperature {temp} covers {c1} and {c2}"
            );
        }
        // A Gaussian error is widened by about its true factor (a little less: the 2-sd band centre is 94%).
        assert!((1.40..1.50).contains(&t[0][1]), "{:?}", t[0]);
        // Labels without trains take the temperature of all trains.
        assert_eq!(t[1], t[0]);
    }

    #[test]
    fn burn_forward_matches_the_plain_forward() {
        let cfg = TrainConfig {
            hidden: vec![16, 8],
            ..TrainConfig::default()
        };
        let mean: Vec<f32> = (0..N_FEATURES).map(|i| i as f32 * 0.1).collect();
        let sd: Vec<f32> = (0..N_FEATURES).map(|i| 1.0 + i as f32 * 0.05).collect();
        let w = init_weights(&cfg, mean.clone(), sd.clone(), [1.0, 2.0], [3.0, 4.0]);
        let rows = 3;
        let x: Vec<f32> = (0..rows * N_FEATURES)
            .map(|i| ((i * 7) % 11) as f32 * 0.4 - 2.0)
            .collect();
        let xn: Vec<f32> = x
            .chunks_exact(N_FEATURES)
            .flat_map(|r| r.iter().zip(&mean).zip(&sd).map(|((v, m), s)| (v - m) / s))
            .collect();
        let dev = Device::flex();
        let m = Mlp::from_weights(&w, &dev);
        let burn_out = m
            .forward(Tensor::<2>::from_data(
                TensorData::new(xn, [rows, N_FEATURES]),
                &dev,
            ))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let plain = w.raw(&x, rows);
        assert_eq!(burn_out.len(), plain.len());
        for (a, b) in burn_out.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // And the layers come back unchanged.
        let mut back = w.clone();
        m.store(&mut back);
        assert_eq!(back, w);
    }
}
