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
pub mod data;
pub mod eval;
pub mod features;
pub mod net;
pub mod train;

use std::path::Path;

use rayon::prelude::*;
use spikepop_spikes::features::Label;

pub use net::{Output, Weights, WeightsError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The weights embedded in the binary for `model` (`stg` or `da`), if they were present at build time.
pub fn embedded_bytes(model: &str) -> Option<&'static [u8]> {
    match model {
        "stg" => embedded::STG,
        "da" => embedded::DA,
        _ => None,
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
        /// The default classifier's label of the train (what the label head is trained to predict).
        true_label: Label,
        /// Label probabilities and the Gaussian of (g_s, g_u).
        output: Output,
    },
}

/// Blurred copies per train for weights with a spike-time resolution ([`Weights::resolution_ms`]).
pub const DEFAULT_COPIES: usize = 4;

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
}

impl Predictor {
    /// A predictor of these weights, with [`DEFAULT_COPIES`].
    pub fn new(weights: Weights) -> Predictor {
        Predictor {
            weights,
            copies: DEFAULT_COPIES,
        }
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

    /// `--weights FILE` if given, else the embedded weights of `model`.
    pub fn load(model: &str, weights: Option<&Path>) -> anyhow::Result<Predictor> {
        match weights {
            Some(p) => Predictor::from_file(p, Some(model)),
            None => Predictor::embedded(model),
        }
    }

    /// Predicts one train (sorted spike times in ms).
    pub fn predict(&self, times_ms: &[f64]) -> Prediction {
        self.predict_many(&[times_ms])
            .pop()
            .expect("one prediction")
    }

    /// Predicts many trains, batched and in parallel (results in input order).
    pub fn predict_many(&self, trains: &[&[f64]]) -> Vec<Prediction> {
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
                let mut outs = self.weights.forward(&x, rows).into_iter();
                feats
                    .chunks(copies)
                    .map(|group| {
                        // A copy can only turn silent if blurring merged spikes; pool the firing ones.
                        let firing: Vec<(Output, Label)> = group
                            .iter()
                            .flatten()
                            .map(|(_, l)| (outs.next().expect("one output per row"), *l))
                            .collect();
                        match firing.first() {
                            None => Prediction::Silent,
                            Some(&(_, true_label)) => {
                                let output = pool(firing.into_iter().map(|(o, _)| o).collect());
                                Prediction::Spiking {
                                    label: features::LABELS[output.label_index()],
                                    true_label,
                                    output,
                                }
                            }
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
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

    #[test]
    fn copies_are_pooled_and_reproducible() {
        let mut w = net::tests::random_weights(&[16], 3);
        let t: Vec<f64> = (0..60)
            .map(|i| 80.0 * i as f64 + 0.7 * (i as f64).sin())
            .collect();
        // Without a resolution the train is used as given, whatever the copies.
        let plain = Predictor::new(w.clone()).predict(&t);
        let (x, _) = features::features(&t).unwrap();
        match &plain {
            Prediction::Spiking { output, .. } => assert_eq!(*output, w.forward(&x, 1)[0]),
            other => panic!("{other:?}"),
        }
        w.resolution_ms = 0.5;
        let p = Predictor::new(w.clone());
        let a = p.predict(&t);
        assert_eq!(a, p.predict(&t));
        assert_ne!(a, plain);
        let singles: Vec<Output> = (0..DEFAULT_COPIES as u64)
            .map(|k| {
                let (x, _) = features::features(&blurred(&t, 0.5, k)).unwrap();
                w.forward(&x, 1)[0].clone()
            })
            .collect();
        let Prediction::Spiking { output, .. } = a else {
            panic!("{a:?}")
        };
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
        match one.predict(&t) {
            Prediction::Spiking { output, .. } => assert_eq!(output, singles[0]),
            other => panic!("{other:?}"),
        }
    }
}
