//! Does a simulated spike train reproduce the recording?
//!
//! A candidate is **verified** when it has the recording's label (spikepop's default classifier) and:
//! - tonic or irregular: its mean rate is within `rate` (relative, default 10%) of the recording's;
//! - bursting: its inter-burst period is within `period` (relative, default 10%), its mean spikes per burst
//!   within `spikes_per_burst` (absolute, default 1) and its mean burst duration within `burst_duration`
//!   (relative, default 25%) of the recording's.
//!
//! Candidates are ranked by [`isi_distance`], the 1-Wasserstein distance between the two log-ISI
//! distributions: phase-free (a model's spikes need not line up with the recording's) and sensitive to the
//! whole ISI pattern, not only to the few features above.

use spikepop_spikes::features::{Classifier, Features, Label};

/// Verification tolerances (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Relative tolerance on the mean rate of tonic and irregular trains.
    pub rate: f64,
    /// Relative tolerance on the inter-burst period.
    pub period: f64,
    /// Absolute tolerance on the mean number of spikes per burst.
    pub spikes_per_burst: f64,
    /// Relative tolerance on the mean burst duration.
    pub burst_duration: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            rate: 0.10,
            period: 0.10,
            spikes_per_burst: 1.0,
            burst_duration: 0.25,
        }
    }
}

/// The outcome of checking one candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Whether the candidate reproduces the recording.
    pub verified: bool,
    /// The first criterion that failed, for reports (`None` when verified).
    pub failed: Option<&'static str>,
    /// Log-ISI distance to the recording (smaller is closer; infinite with fewer than 2 spikes).
    pub distance: f64,
}

fn within_rel(a: f64, b: f64, tol: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= tol * b.abs()
}

/// Checks a candidate's spike times against the recording's features (`recording` must come from the
/// default classifier). `recording_times` feed the ranking distance.
pub fn verify(
    recording: &Features,
    recording_times: &[f64],
    candidate: &[f64],
    tol: &Tolerances,
) -> Verdict {
    let f = Features::of(candidate, &Classifier::Default);
    let distance = isi_distance(recording_times, candidate);
    let failed = if f.label != recording.label {
        Some("label")
    } else {
        match recording.label {
            Label::Silent => None,
            Label::Tonic | Label::Irregular => {
                (!within_rel(f.mean_rate_hz, recording.mean_rate_hz, tol.rate)).then_some("rate")
            }
            Label::Bursting => {
                if !within_rel(
                    f.inter_burst_period_ms,
                    recording.inter_burst_period_ms,
                    tol.period,
                ) {
                    Some("period")
                } else if !(f.spikes_per_burst - recording.spikes_per_burst)
                    .abs()
                    .le(&tol.spikes_per_burst)
                {
                    Some("spikes per burst")
                } else if !within_rel(
                    f.burst_duration_ms,
                    recording.burst_duration_ms,
                    tol.burst_duration,
                ) {
                    Some("burst duration")
                } else {
                    None
                }
            }
        }
    };
    Verdict {
        verified: failed.is_none(),
        failed,
        distance,
    }
}

/// The 1-Wasserstein distance between the log-ISI distributions of two trains (ISIs in ms), computed on
/// 64 matched quantiles. Infinite when either train has fewer than two spikes.
pub fn isi_distance(a: &[f64], b: &[f64]) -> f64 {
    let log_isis = |t: &[f64]| -> Vec<f64> {
        let mut v: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]).max(1e-6).ln()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (la, lb) = (log_isis(a), log_isis(b));
    if la.is_empty() || lb.is_empty() {
        return f64::INFINITY;
    }
    let quantile = |v: &[f64], q: f64| {
        let x = q * (v.len() - 1) as f64;
        let i = x.floor() as usize;
        let j = (i + 1).min(v.len() - 1);
        v[i] + (x - i as f64) * (v[j] - v[i])
    };
    const M: usize = 64;
    (0..M)
        .map(|k| {
            let q = (k as f64 + 0.5) / M as f64;
            (quantile(&la, q) - quantile(&lb, q)).abs()
        })
        .sum::<f64>()
        / M as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tonic(rate_hz: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|k| 3000.0 + k as f64 * 1000.0 / rate_hz)
            .collect()
    }

    fn bursts(period: f64, spikes: usize, intra: f64, n_bursts: usize) -> Vec<f64> {
        (0..n_bursts)
            .flat_map(|b| (0..spikes).map(move |k| 3000.0 + b as f64 * period + k as f64 * intra))
            .collect()
    }

    #[test]
    fn tonic_rate_tolerance() {
        let rec = tonic(10.0, 30);
        let f = Features::of(&rec, &Classifier::Default);
        let tol = Tolerances::default();
        assert!(verify(&f, &rec, &tonic(10.8, 30), &tol).verified);
        let v = verify(&f, &rec, &tonic(11.5, 30), &tol);
        assert_eq!((v.verified, v.failed), (false, Some("rate")));
        let v = verify(&f, &rec, &bursts(200.0, 4, 10.0, 10), &tol);
        assert_eq!(v.failed, Some("label"));
    }

    #[test]
    fn bursting_tolerances() {
        let rec = bursts(200.0, 4, 10.0, 12);
        let f = Features::of(&rec, &Classifier::Default);
        let tol = Tolerances::default();
        assert!(verify(&f, &rec, &bursts(210.0, 4, 11.0, 12), &tol).verified);
        assert!(
            verify(&f, &rec, &bursts(200.0, 5, 8.0, 12), &tol).verified,
            "one more spike, same duration"
        );
        assert_eq!(
            verify(&f, &rec, &bursts(240.0, 4, 10.0, 12), &tol).failed,
            Some("period")
        );
        assert_eq!(
            verify(&f, &rec, &bursts(200.0, 6, 6.0, 12), &tol).failed,
            Some("spikes per burst")
        );
        assert_eq!(
            verify(&f, &rec, &bursts(200.0, 4, 15.0, 12), &tol).failed,
            Some("burst duration")
        );
    }

    #[test]
    fn isi_distance_is_a_phase_free_metric() {
        let a = tonic(10.0, 30);
        let shifted: Vec<f64> = a.iter().map(|t| t + 37.0).collect();
        assert_eq!(isi_distance(&a, &shifted), 0.0);
        // Doubling every ISI moves every log-ISI by ln 2.
        let slow = tonic(5.0, 30);
        assert!((isi_distance(&a, &slow) - 2f64.ln()).abs() < 1e-12);
        assert_eq!(isi_distance(&a, &slow), isi_distance(&slow, &a));
        assert!(isi_distance(&a, &[1.0]).is_infinite());
    }
}
