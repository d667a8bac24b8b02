//! The reconstruction run: the page's settings, checked and turned into the command line's
//! [`SearchSettings`], and [`pipeline::run`] on a blocking thread with its progress published.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Deserialize;
use spikepop_models::Model;
use spikepop_predict::Predictor;
use spikepop_reconstruct::{Options, PipelineError, Priors, SearchSettings, Setting, pipeline};

use crate::error::ApiError;
use crate::state::{AppState, Results, RunStatus, UPLOADED};

/// The settings form of the page. Empty advanced fields (`null`) keep the command line's defaults.
#[derive(Debug, Deserialize)]
pub struct RunRequest {
    /// A built-in model's name (`stg`, `da`), or `uploaded` for the model file the user uploaded.
    pub model: String,
    /// Verified models wanted per recording.
    pub n: usize,
    /// Simulate and verify the candidates (off: the reference's behaviour).
    pub verify: bool,
    /// Random seed, as text (JavaScript numbers cannot hold every u64).
    pub seed: String,
    /// Candidates simulated at most per recording (default 30 N).
    pub max_candidates: Option<usize>,
    /// Refinement rounds (default 2).
    pub refine_rounds: Option<usize>,
    /// Relative tolerance on the rate (tonic, irregular).
    pub tol_rate: Option<f64>,
    /// Relative tolerance on the inter-burst period.
    pub tol_period: Option<f64>,
    /// Absolute tolerance on the spikes per burst.
    pub tol_spikes_per_burst: Option<f64>,
    /// Relative tolerance on the burst duration.
    pub tol_burst_duration: Option<f64>,
    /// Shortest simulated window after the transient (ms).
    pub min_window: Option<f64>,
    /// Current noise injected into every candidate's simulation (sigma, uA/cm^2; default 0).
    pub noise: Option<f64>,
    /// Integration step of the verification simulations (ms).
    pub dt: Option<f64>,
}

impl RunRequest {
    /// The built-in model, the search settings and the seed, exactly as `spikepop reconstruct` builds them
    /// from the same values; an error names the setting at fault.
    pub fn settings(&self) -> Result<(&'static Model, SearchSettings, u64), ApiError> {
        let model = spikepop_models::registry::built_in(&self.model).ok_or_else(|| {
            let names: Vec<&str> = spikepop_models::registry::BUILT_IN
                .iter()
                .map(|(n, _)| *n)
                .collect();
            ApiError::bad(format!(
                "Unknown model `{}`: choose one of {}, or upload a model file.",
                self.model,
                names.join(", ")
            ))
        })?;
        let (s, seed) = self.settings_for(model)?;
        Ok((model, s, seed))
    }

    /// The search settings and the seed for `model`.
    pub fn settings_for(&self, model: &'static Model) -> Result<(SearchSettings, u64), ApiError> {
        let seed: u64 = self.seed.trim().parse().map_err(|_| {
            ApiError::bad(format!(
                "Seed: `{}` is not a whole number from 0 to {}.",
                self.seed,
                u64::MAX
            ))
        })?;
        let options = Options {
            n: self.n,
            seed,
            max_candidates: self.max_candidates,
            no_verify: !self.verify,
            refine_rounds: self.refine_rounds,
            min_window: self.min_window,
            noise: self.noise,
            dt: self.dt,
            tol_rate: self.tol_rate,
            tol_period: self.tol_period,
            tol_spikes_per_burst: self.tol_spikes_per_burst,
            tol_burst_duration: self.tol_burst_duration,
            ..Options::default()
        };
        let s = options.settings(model).map_err(|e| {
            let field = match e.setting {
                Setting::N => "Population size",
                Setting::MaxCandidates => "Most candidates per recording",
                Setting::TolRate => "Rate tolerance",
                Setting::TolPeriod => "Burst period tolerance",
                Setting::TolSpikesPerBurst => "Spikes per burst tolerance",
                Setting::TolBurstDuration => "Burst duration tolerance",
                Setting::MinWindow => "Shortest simulated window",
                Setting::TonicSpread => "Tonic spread",
                Setting::TonicTries => "Tonic tries",
                Setting::BurstingSpread => "Bursting spread",
                Setting::TonicRateShare => "Tonic rate share",
                Setting::Dt => "Integration step dt",
                Setting::Transient => "Transient",
                Setting::Noise => "Current noise",
            };
            ApiError::bad(format!("{field}: {}; expected {}.", e.value, e.expected))
        })?;
        Ok((s, seed))
    }
}

/// Starts a run on the loaded file; returns the number of recordings. Refused while another run is going
/// on, without a loaded file, or when the model has no trained predictor in this build.
pub fn start(app: &Arc<AppState>, req: &RunRequest) -> Result<usize, ApiError> {
    let (model, settings, seed, predictor) = if req.model == UPLOADED {
        let up = app
            .session()
            .uploaded
            .clone()
            .ok_or_else(|| ApiError::bad("Upload a model file and its weights first."))?;
        let (settings, seed) = req.settings_for(up.model)?;
        (up.model, settings, seed, up.predictor)
    } else {
        let (model, settings, seed) = req.settings()?;
        let predictor = Predictor::embedded(model.name).map_err(|e| {
            ApiError::bad(format!(
                "The {} model has no trained DIC predictor in this build of spikepop, so its populations \
                 cannot be reconstructed here yet ({e}).",
                model.name.to_uppercase()
            ))
        })?;
        (model, settings, seed, Arc::new(predictor))
    };
    let data = {
        let mut session = app.session();
        if session.running {
            return Err(ApiError::busy(
                "A reconstruction is already running: wait for it or cancel it first.",
            ));
        }
        let data = session
            .data
            .clone()
            .ok_or_else(|| ApiError::bad("Load a spike file first."))?;
        session.running = true;
        session.results = None;
        data
    };
    let total = data.trains.len();
    app.cancel.store(false, Ordering::SeqCst);
    app.status
        .send_replace(RunStatus::Running { done: 0, total });
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pipeline::run(
                model,
                &data.trains,
                &Priors::Predictor(&predictor),
                &settings,
                seed,
                &|done| {
                    app.status.send_replace(RunStatus::Running { done, total });
                },
                &app.cancel,
            )
        }));
        let (results, status) = match run {
            Ok(Ok(outcomes)) => {
                let verified = outcomes
                    .iter()
                    .filter_map(|o| o.result.as_ref().ok())
                    .map(|r| r.members.iter().filter(|m| m.verified).count())
                    .sum();
                let status = RunStatus::Done {
                    recordings: outcomes.len(),
                    verified,
                    seconds: started.elapsed().as_secs_f64(),
                };
                let results = Results {
                    data,
                    model,
                    settings,
                    seed,
                    outcomes,
                };
                (Some(Arc::new(results)), status)
            }
            Ok(Err(PipelineError::Interrupted)) => (None, RunStatus::Cancelled),
            Ok(Err(e)) => (
                None,
                RunStatus::Failed {
                    error: format!("The reconstruction could not start: {e}"),
                },
            ),
            Err(_) => (
                None,
                RunStatus::Failed {
                    error:
                        "The reconstruction stopped on an internal error (see the terminal where \
                            spikepop gui runs); please report it."
                            .into(),
                },
            ),
        };
        {
            let mut session = app.session();
            session.results = results;
            session.running = false;
        }
        app.status.send_replace(status);
    });
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RunRequest {
        RunRequest {
            model: "stg".into(),
            n: 10,
            verify: true,
            seed: "3".into(),
            max_candidates: None,
            refine_rounds: None,
            tol_rate: None,
            tol_period: None,
            tol_spikes_per_burst: None,
            tol_burst_duration: None,
            min_window: None,
            noise: None,
            dt: None,
        }
    }

    #[test]
    fn defaults_are_the_command_lines() {
        let (model, s, seed) = request().settings().unwrap();
        assert_eq!(seed, 3);
        let mut cli = SearchSettings::for_model(model, 10);
        cli.sim.seed = 3;
        assert_eq!(s, cli);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut r = request();
        r.seed = "-1".into();
        assert!(r.settings().unwrap_err().message().starts_with("Seed"));
        let mut r = request();
        r.dt = Some(0.0);
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .starts_with("Integration step dt: 0; expected")
        );
        let mut r = request();
        r.model = "xyz".into();
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .contains("Unknown model")
        );
        let mut r = request();
        r.noise = Some(-1.0);
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .starts_with("Current noise")
        );
        // The command line's and the page's checks are one: a negative tolerance and a zero budget are
        // refused by both.
        let mut r = request();
        r.tol_period = Some(-0.5);
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .starts_with("Burst period tolerance: -0.5")
        );
        let mut r = request();
        r.max_candidates = Some(0);
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .starts_with("Most candidates per recording")
        );
        let mut r = request();
        r.tol_rate = Some(f64::NAN);
        assert!(
            r.settings()
                .unwrap_err()
                .message()
                .starts_with("Rate tolerance")
        );
    }
}
