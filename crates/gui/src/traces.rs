//! Simulations on demand for the selected recording: the spike trains of a few of its models for the
//! raster (with the verification's own settings), and voltage traces with the duration, transient and step
//! the user chooses.

use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;

use serde::Deserialize;
use spikepop_models::Model;
use spikepop_models::sim::{Outcome, Settings, simulate_batch};
use spikepop_reconstruct::Member;

use crate::error::ApiError;
use crate::state::Results;

/// Most models simulated in one request.
pub const MAX_MODELS: usize = 8;
/// Most samples recorded per trace (after the transient).
pub const MAX_SAMPLES: f64 = 500_000.0;
/// Most integration steps per simulation (transient included).
pub const MAX_STEPS: f64 = 5_000_000.0;
/// Longest stretch of a recording drawn in the raster (ms); its models are simulated that long.
pub const RASTER_WINDOW_MS: f64 = 10_000.0;

/// Which recording, which of its models, and (for traces) the simulation the user chose.
#[derive(Debug, Deserialize)]
pub struct Selection {
    /// The recording's position in the file (0-based).
    pub recording: usize,
    /// The models of its population, as `0,3,5` (positions in `population.csv`'s `model` column).
    #[serde(default)]
    pub models: String,
    /// Simulated time (ms), transient included.
    pub duration: Option<f64>,
    /// Initial part not recorded (ms).
    pub transient: Option<f64>,
    /// Integration step (ms).
    pub dt: Option<f64>,
    /// Present when the figure is downloaded rather than shown.
    pub download: Option<String>,
}

impl Selection {
    /// The selected recording's population, or a message.
    pub fn members<'r>(&self, results: &'r Results) -> Result<&'r [Member], ApiError> {
        let outcome = results.outcomes.get(self.recording).ok_or_else(|| {
            ApiError::missing(format!(
                "There is no recording number {} (the file has {}).",
                self.recording + 1,
                results.outcomes.len()
            ))
        })?;
        match &outcome.result {
            Ok(r) => Ok(&r.members),
            Err(e) => Err(ApiError::missing(format!(
                "Recording {} has no population: {e}",
                outcome.id
            ))),
        }
    }

    /// The chosen models (positions in the population), at most [`MAX_MODELS`].
    pub fn model_indices(&self, population: usize) -> Result<Vec<usize>, ApiError> {
        let mut out = Vec::new();
        for part in self
            .models
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let k: usize = part
                .parse()
                .map_err(|_| ApiError::bad(format!("`{part}` is not a model number.")))?;
            if k >= population {
                return Err(ApiError::bad(format!(
                    "There is no model {k}: this population has {population} (0 to {}).",
                    population.saturating_sub(1)
                )));
            }
            if !out.contains(&k) {
                out.push(k);
            }
        }
        if out.len() > MAX_MODELS {
            return Err(ApiError::bad(format!(
                "Choose at most {MAX_MODELS} models at a time ({} are selected).",
                out.len()
            )));
        }
        Ok(out)
    }

    /// The trace simulation: the user's duration, transient and step over `base` (the run's simulation
    /// settings, whose noise it keeps), checked and bounded.
    pub fn trace_settings(&self, base: &Settings) -> Result<Settings, ApiError> {
        let mut s = base.clone();
        s.duration = self.duration.unwrap_or(s.transient + 2000.0);
        s.transient = self.transient.unwrap_or(s.transient);
        s.dt = self.dt.unwrap_or(s.dt);
        s.trace_every = Some(1);
        s.validate()
            .map_err(|e| ApiError::bad(format!("Trace settings: {e}.")))?;
        if s.duration / s.dt > MAX_STEPS {
            return Err(ApiError::bad(format!(
                "Trace settings: {} ms at dt {} ms is more than {MAX_STEPS} steps; shorten the duration or \
                 lengthen dt.",
                s.duration, s.dt
            )));
        }
        if (s.duration - s.transient) / s.dt > MAX_SAMPLES {
            return Err(ApiError::bad(format!(
                "Trace settings: {} ms recorded at dt {} ms is more than {MAX_SAMPLES} samples per trace; \
                 record less time after the transient or lengthen dt.",
                s.duration - s.transient,
                s.dt
            )));
        }
        Ok(s)
    }
}

/// Simulates the chosen members (in parallel; no noise, so the same as any other simulation of them).
pub fn simulate(
    model: &Model,
    members: &[Member],
    chosen: &[usize],
    settings: &Settings,
) -> Result<Vec<Outcome>, ApiError> {
    let g: Vec<Vec<f64>> = chosen.iter().map(|&k| members[k].g.clone()).collect();
    simulate_batch(model, &g, settings, &AtomicBool::new(false), || {})
        .map_err(|e| ApiError::bad(format!("Simulation settings: {e}.")))
}

/// The settings of the raster's simulations: the verification's step and transient, and a window as long
/// as the recording's drawn stretch (at least the verification's minimum window, at most
/// [`RASTER_WINDOW_MS`]).
pub fn raster_settings(results: &Results, recording: &[f64]) -> Settings {
    let mut s = results.settings.sim.clone();
    let span = match (recording.first(), recording.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    s.duration = s.transient + results.settings.min_window.max(span).min(RASTER_WINDOW_MS);
    s.trace_every = None;
    s
}

/// The traces as CSV: `t_ms` and one column of V (mV) per model, named `model_K`.
pub fn traces_csv(chosen: &[usize], outcomes: &[Outcome]) -> String {
    let mut out = String::from("t_ms");
    for k in chosen {
        let _ = write!(out, ",model_{k}");
    }
    out.push('\n');
    let traces: Vec<_> = outcomes
        .iter()
        .map(|o| o.trace.clone().unwrap_or_default())
        .collect();
    let rows = traces.iter().map(|t| t.t.len()).max().unwrap_or(0);
    for i in 0..rows {
        let t = traces
            .iter()
            .find_map(|tr| tr.t.get(i))
            .copied()
            .unwrap_or(f64::NAN);
        let _ = write!(out, "{t}");
        for tr in &traces {
            match tr.v.get(i) {
                Some(v) => {
                    let _ = write!(out, ",{v}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(models: &str) -> Selection {
        Selection {
            recording: 0,
            models: models.into(),
            duration: None,
            transient: None,
            dt: None,
            download: None,
        }
    }

    #[test]
    fn models_are_checked() {
        assert_eq!(
            selection("0, 3,3,1").model_indices(5).unwrap(),
            vec![0, 3, 1]
        );
        assert_eq!(selection("").model_indices(5).unwrap(), Vec::<usize>::new());
        assert!(
            selection("5")
                .model_indices(5)
                .unwrap_err()
                .message()
                .contains("no model 5")
        );
        assert!(selection("x").model_indices(5).is_err());
        assert!(selection("0,1,2,3,4,5,6,7,8").model_indices(20).is_err());
    }

    #[test]
    fn trace_settings_are_bounded() {
        let stg = &spikepop_models::STG;
        let base = Settings::for_model(stg);
        let s = selection("0").trace_settings(&base).unwrap();
        assert_eq!(s.transient, stg.default_transient);
        assert_eq!(s.duration, stg.default_transient + 2000.0);
        assert_eq!(s.trace_every, Some(1));
        let mut long = selection("0");
        long.duration = Some(1e7);
        assert!(long.trace_settings(&base).is_err());
        let mut bad = selection("0");
        bad.transient = Some(6000.0);
        bad.duration = Some(5000.0);
        assert!(
            bad.trace_settings(&base)
                .unwrap_err()
                .message()
                .contains("transient")
        );
    }

    #[test]
    fn csv_has_one_column_per_model() {
        let o = |v: f64| Outcome {
            spikes: vec![],
            trace: Some(spikepop_models::sim::Trace {
                t: vec![1.0, 2.0],
                v: vec![v, v + 1.0],
            }),
            finite: true,
        };
        assert_eq!(
            traces_csv(&[2, 5], &[o(-60.0), o(-50.0)]),
            "t_ms,model_2,model_5\n1,-60,-50\n2,-59,-49\n"
        );
    }
}
