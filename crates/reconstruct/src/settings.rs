//! The one check of [`SearchSettings`] that every front end shares. A problem names the setting as a
//! [`Setting`], so that each front end words it in its own terms: a flag of the command line, a field of the
//! page, an argument of the Python package.

use crate::search::SearchSettings;

/// A setting of `reconstruct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    /// Verified models wanted per recording (`-n`).
    N,
    /// Candidates simulated at most per recording.
    MaxCandidates,
    /// Relative tolerance on the rate.
    TolRate,
    /// Relative tolerance on the inter-burst period.
    TolPeriod,
    /// Absolute tolerance on the spikes per burst.
    TolSpikesPerBurst,
    /// Relative tolerance on the burst duration.
    TolBurstDuration,
    /// Shortest simulated window after the transient (ms).
    MinWindow,
    /// Factor on the prediction's sds for tonic recordings.
    TonicSpread,
    /// Models tried per DIC target for tonic recordings.
    TonicTries,
    /// Factor on the prediction's sds for bursting and irregular recordings.
    BurstingSpread,
    /// Share of a tonic recording's DIC targets drawn from what its rate alone says.
    TonicRateShare,
    /// Integration step (ms).
    Dt,
    /// Transient (ms).
    Transient,
    /// Current noise sigma.
    Noise,
}

impl Setting {
    /// The setting's name as the command line and the Python package spell it (`tol_rate` is `--tol-rate`
    /// on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Setting::N => "n",
            Setting::MaxCandidates => "max_candidates",
            Setting::TolRate => "tol_rate",
            Setting::TolPeriod => "tol_period",
            Setting::TolSpikesPerBurst => "tol_spikes_per_burst",
            Setting::TolBurstDuration => "tol_burst_duration",
            Setting::MinWindow => "min_window",
            Setting::TonicSpread => "tonic_spread",
            Setting::TonicTries => "tonic_tries",
            Setting::BurstingSpread => "bursting_spread",
            Setting::TonicRateShare => "tonic_rate_share",
            Setting::Dt => "dt",
            Setting::Transient => "transient",
            Setting::Noise => "noise",
        }
    }
}

/// An invalid setting: which one, the value given and what was expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{value}: expected {expected}")]
pub struct InvalidSetting {
    /// The setting at fault.
    pub setting: Setting,
    /// The value given, as text.
    pub value: String,
    /// What was expected.
    pub expected: String,
}

fn check(
    ok: bool,
    setting: Setting,
    value: impl ToString,
    expected: &str,
) -> Result<(), InvalidSetting> {
    if ok {
        Ok(())
    } else {
        Err(InvalidSetting {
            setting,
            value: value.to_string(),
            expected: expected.to_string(),
        })
    }
}

impl SearchSettings {
    /// Checks every setting; the first one at fault is named. The simulation's duration is set per
    /// recording and is not checked here.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        check(
            self.n >= 1,
            Setting::N,
            self.n,
            "at least one model per recording",
        )?;
        check(
            self.max_candidates >= 1,
            Setting::MaxCandidates,
            self.max_candidates,
            "at least 1",
        )?;
        for (setting, v) in [
            (Setting::TolRate, self.tolerances.rate),
            (Setting::TolPeriod, self.tolerances.period),
            (Setting::TolSpikesPerBurst, self.tolerances.spikes_per_burst),
            (Setting::TolBurstDuration, self.tolerances.burst_duration),
        ] {
            check(v.is_finite() && v >= 0.0, setting, v, "a number >= 0")?;
        }
        check(
            self.min_window.is_finite() && self.min_window > 0.0,
            Setting::MinWindow,
            self.min_window,
            "a positive number of ms",
        )?;
        check(
            self.tonic_spread.is_finite() && self.tonic_spread >= 1.0,
            Setting::TonicSpread,
            self.tonic_spread,
            "a number of at least 1",
        )?;
        check(
            self.bursting_spread.is_finite() && self.bursting_spread >= 1.0,
            Setting::BurstingSpread,
            self.bursting_spread,
            "a number of at least 1",
        )?;
        check(
            self.tonic_tries >= 1,
            Setting::TonicTries,
            self.tonic_tries,
            "at least 1",
        )?;
        check(
            (0.0..=1.0).contains(&self.tonic_rate_share),
            Setting::TonicRateShare,
            self.tonic_rate_share,
            "a share from 0 to 1",
        )?;
        let sim = &self.sim;
        check(
            sim.dt.is_finite() && sim.dt > 0.0,
            Setting::Dt,
            sim.dt,
            "a step > 0 ms",
        )?;
        check(
            sim.transient.is_finite() && sim.transient >= 0.0,
            Setting::Transient,
            sim.transient,
            "a number of ms >= 0",
        )?;
        check(
            sim.noise_sigma.is_finite() && sim.noise_sigma >= 0.0,
            Setting::Noise,
            sim.noise_sigma,
            "sigma >= 0",
        )?;
        Ok(())
    }
}

/// What a front end was given for a run: `None` keeps the default (the command line's, which the page and
/// the Python package share). [`Options::settings`] turns it into checked [`SearchSettings`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Verified models wanted per recording.
    pub n: usize,
    /// Random seed (also the seed of the simulations' current noise).
    pub seed: u64,
    /// Candidates simulated at most per recording (default [`crate::search::BUDGET_PER_MODEL`] n).
    pub max_candidates: Option<usize>,
    /// `false`: the reference's behaviour (n candidates, neither simulated nor checked).
    pub no_verify: bool,
    /// Refinement rounds.
    pub refine_rounds: Option<usize>,
    /// Factor on the prediction's sds for tonic recordings.
    pub tonic_spread: Option<f64>,
    /// Models tried per DIC target for tonic recordings.
    pub tonic_tries: Option<usize>,
    /// Factor on the prediction's sds for bursting and irregular recordings.
    pub bursting_spread: Option<f64>,
    /// Share of a tonic recording's DIC targets drawn from what its rate alone says.
    pub tonic_rate_share: Option<f64>,
    /// Shortest simulated window after the transient (ms).
    pub min_window: Option<f64>,
    /// Current noise sigma (default 0).
    pub noise: Option<f64>,
    /// Integration step (ms; default the model's).
    pub dt: Option<f64>,
    /// Relative tolerance on the rate.
    pub tol_rate: Option<f64>,
    /// Relative tolerance on the inter-burst period.
    pub tol_period: Option<f64>,
    /// Absolute tolerance on the spikes per burst.
    pub tol_spikes_per_burst: Option<f64>,
    /// Relative tolerance on the burst duration.
    pub tol_burst_duration: Option<f64>,
}

impl Options {
    /// The search settings for `model`, checked ([`SearchSettings::check`]).
    pub fn settings(
        &self,
        model: &spikepop_models::Model,
    ) -> Result<SearchSettings, InvalidSetting> {
        let mut s = SearchSettings::for_model(model, self.n);
        s.max_candidates = self
            .max_candidates
            .unwrap_or(crate::search::BUDGET_PER_MODEL * self.n);
        s.verify = !self.no_verify;
        s.refine_rounds = self.refine_rounds.unwrap_or(s.refine_rounds);
        s.tonic_spread = self.tonic_spread.unwrap_or(s.tonic_spread);
        s.tonic_tries = self.tonic_tries.unwrap_or(s.tonic_tries);
        s.bursting_spread = self.bursting_spread.unwrap_or(s.bursting_spread);
        s.tonic_rate_share = self.tonic_rate_share.unwrap_or(s.tonic_rate_share);
        s.min_window = self.min_window.unwrap_or(s.min_window);
        s.sim.noise_sigma = self.noise.unwrap_or(0.0);
        s.sim.seed = self.seed;
        s.sim.dt = self.dt.unwrap_or(model.default_dt);
        let t = &mut s.tolerances;
        t.rate = self.tol_rate.unwrap_or(t.rate);
        t.period = self.tol_period.unwrap_or(t.period);
        t.spikes_per_burst = self.tol_spikes_per_burst.unwrap_or(t.spikes_per_burst);
        t.burst_duration = self.tol_burst_duration.unwrap_or(t.burst_duration);
        s.check()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_each_bad_value_is_named() {
        let ok = SearchSettings::for_model(&spikepop_models::STG, 10);
        assert_eq!(ok.check(), Ok(()));
        let bad = |f: &dyn Fn(&mut SearchSettings)| {
            let mut s = ok.clone();
            f(&mut s);
            s.check().unwrap_err().setting
        };
        assert_eq!(bad(&|s| s.n = 0), Setting::N);
        assert_eq!(bad(&|s| s.max_candidates = 0), Setting::MaxCandidates);
        assert_eq!(bad(&|s| s.tolerances.rate = -0.1), Setting::TolRate);
        assert_eq!(bad(&|s| s.tolerances.period = f64::NAN), Setting::TolPeriod);
        assert_eq!(
            bad(&|s| s.tolerances.spikes_per_burst = -1.0),
            Setting::TolSpikesPerBurst
        );
        assert_eq!(
            bad(&|s| s.tolerances.burst_duration = f64::INFINITY),
            Setting::TolBurstDuration
        );
        assert_eq!(bad(&|s| s.min_window = 0.0), Setting::MinWindow);
        assert_eq!(bad(&|s| s.tonic_spread = 0.5), Setting::TonicSpread);
        assert_eq!(bad(&|s| s.bursting_spread = 0.9), Setting::BurstingSpread);
        assert_eq!(bad(&|s| s.tonic_tries = 0), Setting::TonicTries);
        assert_eq!(bad(&|s| s.tonic_rate_share = 1.5), Setting::TonicRateShare);
        assert_eq!(
            bad(&|s| s.tonic_rate_share = f64::NAN),
            Setting::TonicRateShare
        );
        assert_eq!(bad(&|s| s.sim.dt = 0.0), Setting::Dt);
        assert_eq!(bad(&|s| s.sim.transient = -1.0), Setting::Transient);
        assert_eq!(bad(&|s| s.sim.noise_sigma = -2.0), Setting::Noise);
        let e = {
            let mut s = ok.clone();
            s.tolerances.rate = -0.1;
            s.check().unwrap_err()
        };
        assert_eq!(e.to_string(), "-0.1: expected a number >= 0");
    }
}
