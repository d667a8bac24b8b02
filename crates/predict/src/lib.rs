//! # spikepop-predict: the DIC predictor
//!
//! From a spike train of any length to the label probabilities and a Gaussian (mean and sd) of the slow and
//! ultraslow Dynamic Input Conductances (g_s, g_u) of the model that fired it, for the STG or the DA model.
//!
//! - [`features`]: the fixed-size input vector (ISI statistics in log space, CV, CV2, LV, burst structure).
//! - [`net`]: the network for inference in plain Rust and its safetensors weights file.
//! - [`train`]: training with burn (Flex backend, autodiff), checkpoints, resume, calibration of the sd.
//! - [`data`], [`augment`]: samples from CSV files or generated in-process; training augmentations.
//! - [`eval`]: the error table.
//!
//! Trained weights in `crates/predict/weights/{stg,da}.safetensors` are embedded in the binary
//! ([`Predictor::embedded`]). Architecture, recipe and accuracy: `docs/predictor.md`.

#![deny(missing_docs)]

pub mod augment;
pub mod baseline;
pub mod benchmark;
pub mod data;
pub mod eval;
pub mod features;
pub mod net;
pub mod output;
pub mod pattern;
#[cfg(feature = "train")]
pub mod samples;
#[cfg(feature = "train")]
pub mod train;

use std::path::Path;

use rayon::prelude::*;
use spikepop_models::Model;
use spikepop_spikes::features::Label;

pub use net::{Output, Weights, WeightsError};

/// The weights' note holding the SHA-256 of the model they were trained for
/// ([`spikepop_models::file::fingerprint`]).
pub const MODEL_SHA256_NOTE: &str = "model_sha256";

pub use output::write_csv;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The weights embedded in the binary for the model named `model` (every `weights/<model>.safetensors`
/// present at build time), if any.
pub fn embedded_bytes(model: &str) -> Option<&'static [u8]> {
    embedded::ALL
        .iter()
        .find(|(name, _)| *name == model)
        .map(|(_, bytes)| *bytes)
}

/// Why a prediction is out of the predictor's domain (empty: in it). Such a train gets a wide prediction (at
/// least the training set's own spread of g_s and g_u, centred inside the training range) rather than a
/// confident number; `spikepop predict` writes the reasons in its `ood` column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ood(u8);

impl Ood {
    /// The network's centre lies outside the range of DICs it was trained on.
    pub const RANGE: Ood = Ood(1);
    /// The windows of a long train disagree (their centres differ by more than 2 of their sds): the cell
    /// changed during the recording, or its windows are read inconsistently.
    pub const WINDOWS: Ood = Ood(2);
    /// The train's firing rate is outside the rates of the training trains.
    pub const RATE: Ood = Ood(4);
    /// The train is irregular beyond every irregular training train, as a Poisson process is
    /// ([`pattern`]).
    pub const PATTERN: Ood = Ood(8);

    /// No reason: in the domain.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `self` holds every reason of `other`.
    pub fn contains(self, other: Ood) -> bool {
        self.0 & other.0 == other.0
    }

    /// The reasons' names (`range`, `windows`, `rate`, `pattern`), in that order.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Ood::RANGE, "range"),
            (Ood::WINDOWS, "windows"),
            (Ood::RATE, "rate"),
            (Ood::PATTERN, "pattern"),
        ]
        .into_iter()
        .filter(|(o, _)| self.contains(*o))
        .map(|(_, n)| n)
        .collect()
    }
}

impl std::ops::BitOr for Ood {
    type Output = Ood;
    fn bitor(self, rhs: Ood) -> Ood {
        Ood(self.0 | rhs.0)
    }
}

impl std::fmt::Display for Ood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join("+"))
    }
}

/// The prediction for one train.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// Fewer than 3 spikes: no DICs.
    Silent,
    /// A firing train.
    Spiking {
        /// The most probable label.
        label: Label,
        /// The default classifier's label of the train (what the label head is trained to predict); for a
        /// train read in windows, the most common label of its windows.
        true_label: Label,
        /// Label probabilities and the Gaussian of (g_s, g_u).
        output: Output,
        /// Why the train is out of the predictor's domain (empty when it is not).
        ood: Ood,
        /// The windows the train was read in (1 for a train no longer than [`Predictor::window_ms`] × 1.5).
        windows: usize,
    },
}

/// Blurred copies per train for weights with a spike-time resolution ([`Weights::resolution_ms`]).
pub const DEFAULT_COPIES: usize = 4;

/// The most windows a long train is read in; longer trains are read in this many windows spread evenly over
/// the recording, so that a prediction costs the same for a 10-minute and a 10-hour train.
pub const MAX_WINDOWS: usize = 32;

/// How far (in multiples of the training set's sd of each DIC, around its mean) a centre may lie before it
/// counts as outside the training range: a uniform training range reaches sqrt(3) = 1.73 sd.
pub const RANGE_SD: f64 = 1.9;

/// Copy `k` of `times` blurred at `resolution_ms` ([`augment::blur`]), seeded by the train itself
/// ([`augment::train_seed`]): the same train always gives the same copies.
pub(crate) fn blurred(times: &[f64], resolution_ms: f64, k: u64) -> Vec<f64> {
    augment::blur(times, resolution_ms, augment::train_seed(times), k)
}

/// A loaded predictor.
#[derive(Clone, Debug)]
pub struct Predictor {
    /// The weights.
    pub weights: Weights,
    /// Blurred copies of each train whose predictions are pooled, when the weights have a resolution: the
    /// mean of the centres and label probabilities, the root mean square of the sds. 1 or more.
    pub copies: usize,
    /// The length of the trains the network was trained on (ms): a train more than 1.5 times as long is read
    /// in windows of this length ([`Predictor::windows`]); infinite: never.
    pub window_ms: f64,
    /// The recording's noise amplitude as told ([`Predictor::tell_noise`]); `None`: not told, the prediction
    /// reads the spike times alone.
    noise: Option<f64>,
}

/// Why a noise amplitude cannot be told to a predictor ([`Predictor::tell_noise`]).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NoiseError {
    /// The weights were trained without the noise inputs.
    #[error(
        "these weights do not read the noise amplitude (trained without --p-noise-told); predict without it"
    )]
    NotRead,
    /// Not a finite amplitude >= 0.
    #[error("noise amplitude {0}: expected a finite sd >= 0 (uA/cm²)")]
    Invalid(f64),
}

impl Predictor {
    /// A predictor of these weights, with [`DEFAULT_COPIES`] and the window of its model's default recording
    /// (simulated duration less the transient: STG 3 s, DA 9 s).
    pub fn new(weights: Weights) -> Predictor {
        let window_ms = spikepop_models::by_name(&weights.model)
            .map_or(f64::INFINITY, |m| m.default_duration - m.default_transient);
        Predictor {
            weights,
            copies: DEFAULT_COPIES,
            window_ms,
            noise: None,
        }
    }

    /// Tells the predictor the sd of the recording's current noise (uA/cm², before its 1-kHz low-pass, as
    /// `spikepop dataset --noise` and `spikepop simulate --noise` set it; 0 for a noise-free cell), for
    /// weights that read it ([`Weights::noise_input`]); `None` forgets it. A spike train does not say its
    /// noise amplitude, and trains of different amplitudes can look alike while coming from different cells:
    /// told, the predictor reads them as cells of that amplitude.
    pub fn tell_noise(&mut self, sigma: Option<f64>) -> Result<(), NoiseError> {
        if let Some(s) = sigma {
            if !(s.is_finite() && s >= 0.0) {
                return Err(NoiseError::Invalid(s));
            }
            if !self.weights.noise_input {
                return Err(NoiseError::NotRead);
            }
        }
        self.noise = sigma;
        Ok(())
    }

    /// The noise amplitude told ([`Predictor::tell_noise`]).
    pub fn noise(&self) -> Option<f64> {
        self.noise
    }

    /// A predictor of these weights for `model` (its window is the model's default recording).
    pub fn with_model(weights: Weights, model: &Model) -> Predictor {
        Predictor {
            window_ms: model.default_duration - model.default_transient,
            ..Predictor::new(weights)
        }
    }

    /// The predictor for `model`: `--weights FILE` if given, else the weights built into the binary. Either
    /// way the weights must belong to the model: the same name, and, when the weights record it
    /// ([`MODEL_SHA256_NOTE`]), the same model file content; the built-in weights serve only the built-in
    /// models themselves, not an edited copy of their files.
    pub fn for_model(model: &Model, weights: Option<&Path>) -> anyhow::Result<Predictor> {
        let weights = match weights {
            Some(p) => {
                let w = Predictor::from_file(p, None)?.weights;
                return Predictor::with_weights_for(w, model, &p.display().to_string());
            }
            None => {
                let built_in = spikepop_models::registry::built_in(model.name);
                if built_in.is_some_and(|b| {
                    spikepop_models::file::fingerprint(b)
                        != spikepop_models::file::fingerprint(model)
                }) {
                    anyhow::bail!(
                        "the `{}` model given differs from the built-in `{}`, so the built-in weights do \
                         not apply: train weights for it (`spikepop dataset`/`spikepop train --model FILE`) and \
                         give --weights FILE",
                        model.name,
                        model.name
                    );
                }
                Predictor::embedded(model.name)?.weights
            }
        };
        Ok(Predictor::with_model(weights, model))
    }

    /// A predictor of `weights` for `model`, checking that they belong to it: the same name and the same
    /// model content (the hash the weights record, [`MODEL_SHA256_NOTE`]; weights from before the note are the
    /// built-in model's of their name). `source` names the weights in errors.
    pub fn with_weights_for(
        weights: Weights,
        model: &Model,
        source: &str,
    ) -> anyhow::Result<Predictor> {
        if weights.model != model.name {
            anyhow::bail!(
                "{source}: these weights were trained for the {} model, not {}",
                weights.model,
                model.name
            );
        }
        let fingerprint = spikepop_models::file::fingerprint(model);
        // Weights without the note were trained before it existed, for the built-in model of their name.
        let trained_for = weights.notes.get(MODEL_SHA256_NOTE).cloned().or_else(|| {
            spikepop_models::registry::built_in(&weights.model)
                .map(spikepop_models::file::fingerprint)
        });
        if let Some(h) = trained_for
            && h != fingerprint
        {
            anyhow::bail!(
                "{source}: these weights were trained for another version of the `{}` model (model hash \
                 {}, this model {}); train weights for this model with `spikepop train --model FILE`",
                model.name,
                &h[..h.len().min(12)],
                &fingerprint[..12]
            );
        }
        Ok(Predictor::with_model(weights, model))
    }

    /// The predictor shipped in the binary for `model`; an error if none was embedded.
    pub fn embedded(model: &str) -> anyhow::Result<Predictor> {
        let bytes = embedded_bytes(model).ok_or_else(|| {
            anyhow::anyhow!(
                "no trained weights for `{model}` are built into this binary; give --weights FILE \
                 (train them with `spikepop train --model {model} ...`)"
            )
        })?;
        let weights = Weights::from_bytes(bytes)
            .map_err(|e| anyhow::anyhow!("the built-in weights for `{model}` are unusable: {e}"))?;
        Ok(Predictor::new(weights))
    }

    /// Loads a weights file, checking that it was trained for `model` (when given).
    pub fn from_file(path: &Path, model: Option<&str>) -> anyhow::Result<Predictor> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the weights: {e}", path.display()))?;
        let weights =
            Weights::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if let Some(m) = model
            && weights.model != m
        {
            anyhow::bail!(
                "{}: these weights were trained for the {} model, not {m}",
                path.display(),
                weights.model
            );
        }
        Ok(Predictor::new(weights))
    }

    /// Predicts one train (sorted spike times in ms).
    pub fn predict(&self, times_ms: &[f64]) -> Prediction {
        self.predict_many(&[times_ms])
            .pop()
            .expect("one prediction")
    }

    /// The windows a train is read in: the train itself when it lasts at most 1.5 [`Predictor::window_ms`];
    /// otherwise consecutive windows of that length from its first spike (the remainder shorter than a
    /// window is left out), at most [`MAX_WINDOWS`] of them, spread evenly over the recording.
    pub fn windows<'a>(&self, times_ms: &'a [f64]) -> Vec<&'a [f64]> {
        let (Some(first), Some(last)) = (times_ms.first(), times_ms.last()) else {
            return vec![times_ms];
        };
        let w = self.window_ms;
        if !(w > 0.0 && w.is_finite()) || last - first <= 1.5 * w {
            return vec![times_ms];
        }
        let k = ((last - first) / w).floor() as usize;
        let picks: Vec<usize> = if k <= MAX_WINDOWS {
            (0..k).collect()
        } else {
            (0..MAX_WINDOWS)
                .map(|i| (i as f64 * (k - 1) as f64 / (MAX_WINDOWS - 1) as f64).round() as usize)
                .collect()
        };
        picks
            .into_iter()
            .map(|i| {
                let (a, b) = (first + i as f64 * w, first + (i + 1) as f64 * w);
                &times_ms
                    [times_ms.partition_point(|t| *t < a)..times_ms.partition_point(|t| *t < b)]
            })
            .collect()
    }

    /// Predicts many trains, batched and in parallel (results in input order). A long train is read in
    /// windows ([`Predictor::windows`]) whose predictions are combined ([`combine`]).
    pub fn predict_many(&self, trains: &[&[f64]]) -> Vec<Prediction> {
        let mut pieces: Vec<&[f64]> = Vec::with_capacity(trains.len());
        let mut spans = Vec::with_capacity(trains.len());
        for t in trains {
            let w = self.windows(t);
            spans.push((pieces.len(), w.len()));
            pieces.extend(w);
        }
        let read = self.predict_pieces(&pieces);
        spans
            .into_iter()
            .zip(trains)
            .map(|((start, n), t)| self.finish(t, &read[start..start + n]))
            .collect()
    }

    /// The network's reading of each piece: `None` for a silent one, else (label of the classifier, output).
    fn predict_pieces(&self, trains: &[&[f64]]) -> Vec<Option<(Label, Output)>> {
        let r = self.weights.resolution_ms;
        let copies = if r > 0.0 { self.copies.max(1) } else { 1 };
        trains
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                let feats: Vec<Option<([f32; features::N_FEATURES], Label)>> = chunk
                    .iter()
                    .flat_map(|t| {
                        (0..copies as u64).map(move |k| {
                            if r > 0.0 {
                                features::features(&blurred(t, r, k))
                            } else {
                                features::features(t)
                            }
                        })
                    })
                    .collect();
                let x: Vec<f32> = feats.iter().flatten().flat_map(|(f, _)| *f).collect();
                let rows = x.len() / features::N_FEATURES;
                let mut outs = self.weights.forward_told(&x, rows, self.noise).into_iter();
                feats
                    .chunks(copies)
                    .map(|group| {
                        // A copy can only turn silent if blurring merged spikes; pool the firing ones.
                        let firing: Vec<(Output, Label)> = group
                            .iter()
                            .flatten()
                            .map(|(_, l)| (outs.next().expect("one output per row"), *l))
                            .collect();
                        let true_label = firing.first()?.1;
                        Some((
                            true_label,
                            pool(firing.into_iter().map(|(o, _)| o).collect()),
                        ))
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The prediction of a train from the readings of its windows: combined, checked against the
    /// predictor's domain, and widened when out of it.
    fn finish(&self, train: &[f64], read: &[Option<(Label, Output)>]) -> Prediction {
        let firing: Vec<&(Label, Output)> = read.iter().flatten().collect();
        if firing.is_empty() {
            return Prediction::Silent;
        }
        let (mut output, disagree) = combine(firing.iter().map(|(_, o)| o));
        // The classifier's label that most windows carry.
        let mut counts = [0usize; features::LABELS.len()];
        for (l, _) in &firing {
            if let Some(i) = features::label_index(*l) {
                counts[i] += 1;
            }
        }
        let top = (0..counts.len())
            .max_by_key(|&i| (counts[i], usize::MAX - i))
            .unwrap_or(0);
        let true_label = features::LABELS[top];
        let mut ood = if disagree {
            Ood::WINDOWS
        } else {
            Ood::default()
        };
        let w = &self.weights;
        let centre = [output.g_s, output.g_u];
        let outside = (0..2)
            .any(|d| (centre[d] - f64::from(w.y_mean[d])).abs() > RANGE_SD * f64::from(w.y_sd[d]));
        if outside {
            ood = ood | Ood::RANGE;
        }
        if let (Some(b), Some(r)) = (&w.rate_baseline, baseline::log_rate(train)) {
            let (lo, hi) = b.rate_range();
            if r < lo || r > hi {
                ood = ood | Ood::RATE;
            }
        }
        if w.irregular_bound
            .is_some_and(|b| pattern::beyond(train, true_label, b))
        {
            ood = ood | Ood::PATTERN;
        }
        if !ood.is_empty() {
            widen(&mut output, w);
        }
        Prediction::Spiking {
            label: features::LABELS[output.label_index()],
            true_label,
            output,
            ood,
            windows: read.len(),
        }
    }
}

/// The prediction of a long train from those of its windows, and whether the windows disagree. The label
/// probabilities are averaged. Each DIC's centre is the mean of the windows' centres; its variance is the mean
/// of their variances less the share that averaging removes: the spread b of the centres measures the part of
/// a window's error that changes from window to window (noise), and the mean of K windows keeps 1/K of it,
/// so var = m - min(b, m) (1 - 1/K) + max(b - m, 0) with m the mean variance. Windows that disagree beyond
/// their own sds (b > 4 m: centres 2 sd apart) add their excess spread and are reported.
pub fn combine<'a>(outs: impl Iterator<Item = &'a Output>) -> (Output, bool) {
    let outs: Vec<&Output> = outs.collect();
    let k = outs.len() as f64;
    if outs.len() == 1 {
        return (outs[0].clone(), false);
    }
    let mut p = [0f32; features::LABELS.len()];
    for o in &outs {
        for (a, b) in p.iter_mut().zip(o.p) {
            *a += b / k as f32;
        }
    }
    let mut disagree = false;
    let mut dic = |c: &dyn Fn(&Output) -> f64, sd: &dyn Fn(&Output) -> f64| {
        let mean = outs.iter().map(|o| c(o)).sum::<f64>() / k;
        let m = outs.iter().map(|o| sd(o).powi(2)).sum::<f64>() / k;
        let b = outs.iter().map(|o| (c(o) - mean).powi(2)).sum::<f64>() / (k - 1.0);
        disagree |= b > 4.0 * m;
        let var = m - b.min(m) * (1.0 - 1.0 / k) + (b - m).max(0.0);
        (mean, var.sqrt())
    };
    let (g_s, sd_g_s) = dic(&|o| o.g_s, &|o| o.sd_g_s);
    let (g_u, sd_g_u) = dic(&|o| o.g_u, &|o| o.sd_g_u);
    (
        Output {
            p,
            g_s,
            sd_g_s,
            g_u,
            sd_g_u,
        },
        disagree,
    )
}

/// Widens an out-of-domain prediction: each centre is brought inside the training range and each sd made at
/// least the training set's own sd of that DIC (what knowing nothing about the train gives).
fn widen(o: &mut Output, w: &Weights) {
    for (d, (c, sd)) in [(&mut o.g_s, &mut o.sd_g_s), (&mut o.g_u, &mut o.sd_g_u)]
        .into_iter()
        .enumerate()
    {
        let (m, s) = (f64::from(w.y_mean[d]), f64::from(w.y_sd[d]));
        *c = c.clamp(m - RANGE_SD * s, m + RANGE_SD * s);
        *sd = sd.max(s);
    }
}

/// The pooled prediction of several blurred copies of one train: the mean of their label probabilities and
/// centres, and the root mean square of their sds. Each copy's sd already counts the blur's share of the error
/// (the network was trained on blurred trains); averaging the centres only shrinks that share, so the pooled sd
/// errs, slightly, on the wide side. (An ensemble's mixture sd would add the spread of the centres a second
/// time: 2-sd coverage of tonic STG trains went from 97.5% to 98.5%.)
fn pool(outs: Vec<Output>) -> Output {
    if outs.len() == 1 {
        return outs.into_iter().next().expect("one output");
    }
    let n = outs.len() as f64;
    let mean = |f: &dyn Fn(&Output) -> f64| outs.iter().map(f).sum::<f64>() / n;
    let g_s = mean(&|o| o.g_s);
    let g_u = mean(&|o| o.g_u);
    let sd_g_s = mean(&|o| o.sd_g_s.powi(2)).sqrt();
    let sd_g_u = mean(&|o| o.sd_g_u.powi(2)).sqrt();
    let mut p = [0f32; features::LABELS.len()];
    for o in &outs {
        for (a, b) in p.iter_mut().zip(o.p) {
            *a += b / n as f32;
        }
    }
    Output {
        p,
        g_s,
        sd_g_s,
        g_u,
        sd_g_u,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pooled reading of one train (no windows, no domain check).
    fn read(p: &Predictor, t: &[f64]) -> Output {
        p.predict_pieces(&[t])[0].clone().expect("firing").1
    }

    #[test]
    fn copies_are_pooled_and_reproducible() {
        let mut w = net::tests::random_weights(&[16], 3);
        let t: Vec<f64> = (0..60)
            .map(|i| 80.0 * i as f64 + 0.7 * (i as f64).sin())
            .collect();
        // Without a resolution the train is used as given, whatever the copies.
        let plain = read(&Predictor::new(w.clone()), &t);
        let (x, _) = features::features(&t).unwrap();
        assert_eq!(plain, w.forward(&x, 1)[0]);
        w.resolution_ms = 0.5;
        let p = Predictor::new(w.clone());
        let output = read(&p, &t);
        assert_eq!(output, read(&p, &t));
        assert_ne!(output, plain);
        let singles: Vec<Output> = (0..DEFAULT_COPIES as u64)
            .map(|k| {
                let (x, _) = features::features(&blurred(&t, 0.5, k)).unwrap();
                w.forward(&x, 1)[0].clone()
            })
            .collect();
        let n = singles.len() as f64;
        let mean_s = singles.iter().map(|o| o.g_s).sum::<f64>() / n;
        assert!((output.g_s - mean_s).abs() < 1e-9);
        let rms = (singles.iter().map(|o| o.sd_g_s.powi(2)).sum::<f64>() / n).sqrt();
        assert!((output.sd_g_s - rms).abs() < 1e-9);
        assert!(
            singles.iter().any(|o| o.g_s != singles[0].g_s),
            "the copies differ"
        );
        assert!((output.p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // One copy is copy 0 alone.
        let one = Predictor { copies: 1, ..p };
        assert_eq!(read(&one, &t), singles[0]);
    }

    #[test]
    fn long_trains_are_read_in_windows() {
        let p = Predictor::new(net::tests::random_weights(&[16], 3));
        assert_eq!(p.window_ms, 3000.0);
        let regular = |n: usize, isi: f64| -> Vec<f64> { (0..n).map(|i| i as f64 * isi).collect() };
        // Up to 1.5 windows: the train itself.
        let t = regular(46, 100.0);
        assert_eq!(p.windows(&t), vec![t.as_slice()]);
        // 10 s: three whole windows of 30 spikes from the first spike; the last second is left out.
        let t = regular(101, 100.0);
        let w = p.windows(&t);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0][0], w[0].len()), (0.0, 30));
        assert_eq!((w[2][0], w[2].len()), (6000.0, 30));
        // An hour: MAX_WINDOWS windows spread from the first to the last.
        let t = regular(36_001, 100.0);
        let w = p.windows(&t);
        assert_eq!(w.len(), MAX_WINDOWS);
        assert_eq!(w[0][0], 0.0);
        assert_eq!(w[MAX_WINDOWS - 1][0], 1_199.0 * 3000.0);
        match p.predict(&t) {
            Prediction::Spiking { windows, .. } => assert_eq!(windows, MAX_WINDOWS),
            other => panic!("{other:?}"),
        }
    }

    fn out(g_s: f64, sd: f64) -> Output {
        Output {
            p: [1.0, 0.0, 0.0],
            g_s,
            sd_g_s: sd,
            g_u: 5.0,
            sd_g_u: 1.0,
        }
    }

    #[test]
    fn windows_combine_into_one_gaussian() {
        // Four windows agreeing exactly: the centre, and the sd of one window (nothing averages out).
        let same = [out(3.0, 2.0), out(3.0, 2.0), out(3.0, 2.0), out(3.0, 2.0)];
        let (o, disagree) = combine(same.iter());
        assert_eq!((o.g_s, o.sd_g_s, o.g_u, o.sd_g_u), (3.0, 2.0, 5.0, 1.0));
        assert!(!disagree);
        // Centres 2 and 4 (sample variance 4/3 of the mean variance 4): of the spread, 1 - 1/4 averages out.
        let spread = [out(2.0, 2.0), out(4.0, 2.0), out(2.0, 2.0), out(4.0, 2.0)];
        let (o, disagree) = combine(spread.iter());
        let b: f64 = 4.0 / 3.0;
        assert!((o.g_s - 3.0).abs() < 1e-12);
        assert!((o.sd_g_s - (4.0 - b * 0.75).sqrt()).abs() < 1e-12);
        assert!(!disagree);
        // Centres 20 apart with sd 1: they disagree, and the spread beyond their sds is added.
        let apart = [out(-10.0, 1.0), out(10.0, 1.0)];
        let (o, disagree) = combine(apart.iter());
        assert!(disagree);
        let b: f64 = 200.0;
        assert!((o.sd_g_s - (1.0 - 0.5 + (b - 1.0)).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_predictions_are_flagged_and_widened() {
        let w = net::tests::random_weights(&[16], 3);
        let p = Predictor::new(w.clone());
        let mut o = out(60.0, 0.5);
        widen(&mut o, &w);
        // Into y_mean ± 1.9 y_sd (g_s: 0 ± 21.85), sd at least y_sd.
        assert!((o.g_s - 1.9 * 11.5).abs() < 1e-4, "{o:?}");
        assert!((o.sd_g_s - 11.5).abs() < 1e-4 && (o.sd_g_u - 5.8).abs() < 1e-4);
        // Whatever random weights say, a flagged train's sd is at least the training spread.
        let t: Vec<f64> = (0..40).map(|i| 70.0 * i as f64).collect();
        if let Prediction::Spiking { output, ood, .. } = p.predict(&t) {
            let inside =
                (output.g_s.abs() <= 1.9 * 11.5) && ((output.g_u - 10.0).abs() <= 1.9 * 5.8);
            assert!(inside || !ood.is_empty());
            if !ood.is_empty() {
                assert!(output.sd_g_s >= 11.5 - 1e-4, "{output:?}");
            }
        }
        assert_eq!((Ood::RANGE | Ood::RATE).to_string(), "range+rate");
        assert_eq!(Ood::default().to_string(), "");
    }
}
