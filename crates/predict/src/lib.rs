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

/// A loaded predictor.
#[derive(Clone, Debug)]
pub struct Predictor {
    /// The weights.
    pub weights: Weights,
}

impl Predictor {
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
        Ok(Predictor { weights })
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
        Ok(Predictor { weights })
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
        trains
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                let feats: Vec<Option<([f32; features::N_FEATURES], Label)>> =
                    chunk.iter().map(|t| features::features(t)).collect();
                let x: Vec<f32> = feats.iter().flatten().flat_map(|(f, _)| *f).collect();
                let rows = x.len() / features::N_FEATURES;
                let mut outs = self.weights.forward(&x, rows).into_iter();
                feats
                    .into_iter()
                    .map(|f| match f {
                        None => Prediction::Silent,
                        Some((_, true_label)) => {
                            let output = outs.next().expect("one output per row");
                            Prediction::Spiking {
                                label: features::LABELS[output.label_index()],
                                true_label,
                                output,
                            }
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
