//! The rate-only baseline: what the log firing rate alone says about (g_s, g_u).
//!
//! A step regressor on the log mean firing rate, fitted on a training set: the trains are sorted by rate and cut
//! into bins of equal count; each bin predicts the median of its (g_s, g_u) (the value that minimises the mean
//! absolute error) with an sd of half its central 68% range. It is the yardstick of `spikepop evaluate`: a
//! predictor that reads more than the rate must do at least as well, on every kind of train, as this one does.
//! `spikepop train` fits it on the training trains and stores it in the weights ([`crate::Weights`]).

use spikepop_spikes::stats::quantile;

use crate::data::Sample;
use crate::features::is_silent;

/// Trains per bin at the least.
const MIN_PER_BIN: usize = 50;

/// The fitted baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct RateBaseline {
    /// Upper edges of all bins but the last, in ln(Hz), ascending (`centre.len() - 1` of them).
    pub edges: Vec<f32>,
    /// Median (g_s, g_u) per bin.
    pub centre: Vec<[f32; 2]>,
    /// Half the 16-84% range of (g_s, g_u) per bin (at least 1e-3).
    pub sd: Vec<[f32; 2]>,
    /// The 0.1% and 99.9% quantiles of the training trains' log rates, ln(Hz): the rates a model of the
    /// training range fires at ([`RateBaseline::rate_range`]).
    pub range: [f32; 2],
}

/// The log mean firing rate of a train, ln(Hz): (n - 1) intervals over the time from the first to the last
/// spike. `None` for fewer than 3 spikes or spikes that all coincide.
pub fn log_rate(times_ms: &[f64]) -> Option<f64> {
    if is_silent(times_ms) {
        return None;
    }
    let span = times_ms[times_ms.len() - 1] - times_ms[0];
    (span > 0.0).then(|| ((times_ms.len() - 1) as f64 * 1000.0 / span).ln())
}

/// A firing train's (log rate, g_s, g_u), the row the baseline is fitted on.
fn row(s: &Sample) -> Option<(f64, f64, f64)> {
    Some((log_rate(&s.times_ms)?, s.g_s, s.g_u))
}

impl RateBaseline {
    /// [`RateBaseline::fit`] on the tonic trains of `samples` alone (labelled by the default classifier,
    /// [`spikepop_spikes::features::Classifier::Default`]).
    pub fn fit_tonic(samples: &[Sample], bins: usize) -> Option<RateBaseline> {
        Self::fit_tonic_counted(samples, bins).0
    }

    /// [`RateBaseline::fit_tonic`] and the number of tonic trains it was fitted on.
    pub fn fit_tonic_counted(samples: &[Sample], bins: usize) -> (Option<RateBaseline>, usize) {
        use rayon::prelude::*;
        use spikepop_spikes::features::{Classifier, Features, Label};
        let rows: Vec<(f64, f64, f64)> = samples
            .par_iter()
            .filter(|s| {
                !is_silent(&s.times_ms)
                    && Features::of(&s.times_ms, &Classifier::Default).label == Label::Tonic
            })
            .filter_map(row)
            .collect();
        let n = rows.len();
        (Self::fit_rows(rows, bins), n)
    }

    /// Fits the baseline on the firing trains of `samples` with at most `bins` bins (fewer when there are
    /// fewer than 50 trains a bin); `None` without 2 firing trains.
    pub fn fit(samples: &[Sample], bins: usize) -> Option<RateBaseline> {
        Self::fit_rows(samples.iter().filter_map(row).collect(), bins)
    }

    /// [`RateBaseline::fit`] on (log rate, g_s, g_u) rows.
    fn fit_rows(mut rows: Vec<(f64, f64, f64)>, bins: usize) -> Option<RateBaseline> {
        if rows.len() < 2 {
            return None;
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let k = bins.clamp(1, (rows.len() / MIN_PER_BIN).max(1));
        let rates: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let mut out = RateBaseline {
            edges: Vec::new(),
            centre: Vec::new(),
            sd: Vec::new(),
            range: [
                quantile(&rates, 0.001) as f32,
                quantile(&rates, 0.999) as f32,
            ],
        };
        for b in 0..k {
            let bin = &rows[b * rows.len() / k..(b + 1) * rows.len() / k];
            let mut c = [0f32; 2];
            let mut sd = [0f32; 2];
            for d in 0..2 {
                let mut v: Vec<f64> = bin.iter().map(|r| if d == 0 { r.1 } else { r.2 }).collect();
                v.sort_by(f64::total_cmp);
                c[d] = quantile(&v, 0.5) as f32;
                sd[d] = ((0.5 * (quantile(&v, 0.84) - quantile(&v, 0.16))) as f32).max(1e-3);
            }
            out.centre.push(c);
            out.sd.push(sd);
            if b + 1 < k {
                out.edges.push(bin[bin.len() - 1].0 as f32);
            }
        }
        Some(out)
    }

    /// The baseline's (g_s, g_u) and their sd for a train; `None` for a silent one.
    pub fn predict(&self, times_ms: &[f64]) -> Option<([f64; 2], [f64; 2])> {
        let r = log_rate(times_ms)? as f32;
        let b = self.edges.partition_point(|e| *e < r);
        let (c, s) = (self.centre[b], self.sd[b]);
        Some((c.map(f64::from), s.map(f64::from)))
    }

    /// The training trains' rates, ln(Hz), widened by ln 1.5 on each side (down to two thirds of the slowest,
    /// up to 1.5 times the fastest, leaving out 0.1% at each end): a train outside fires at a rate that no
    /// model of the training range gives.
    pub fn rate_range(&self) -> (f64, f64) {
        let w = 1.5f64.ln();
        (f64::from(self.range[0]) - w, f64::from(self.range[1]) + w)
    }

    /// Checks the shapes and values (every number finite, sds positive, edges ascending).
    pub fn is_valid(&self) -> bool {
        !self.centre.is_empty()
            && self.sd.len() == self.centre.len()
            && self.edges.len() + 1 == self.centre.len()
            && self.edges.windows(2).all(|w| w[0] <= w[1])
            && self.edges.iter().all(|e| e.is_finite())
            && self.range.iter().all(|e| e.is_finite())
            && self.range[0] <= self.range[1]
            && self.centre.iter().flatten().all(|v| v.is_finite())
            && self.sd.iter().flatten().all(|v| v.is_finite() && *v > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regular(rate_hz: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 1000.0 / rate_hz).collect()
    }

    #[test]
    fn log_rate_counts_intervals() {
        assert!((log_rate(&regular(8.0, 25)).unwrap() - 8f64.ln()).abs() < 1e-12);
        assert_eq!(log_rate(&[1.0, 2.0]), None);
        assert_eq!(log_rate(&[1.0, 1.0, 1.0]), None);
    }

    #[test]
    fn the_baseline_learns_a_monotone_law_and_its_spread() {
        // g_s = 2 ln(rate) + U(-1, 1), g_u = 5 - ln(rate): 2,000 trains at 1-50 Hz.
        let samples: Vec<Sample> = (0..2000)
            .map(|i| {
                let rate = 1.0 + 49.0 * (i as f64 / 1999.0);
                let noise = ((i * 7919) % 1000) as f64 / 500.0 - 1.0;
                Sample {
                    id: i.to_string(),
                    times_ms: regular(rate, 20),
                    g_s: 2.0 * rate.ln() + noise,
                    g_u: 5.0 - rate.ln(),
                    group: i,
                    noise: None,
                }
            })
            .collect();
        let b = RateBaseline::fit(&samples, 20).unwrap();
        assert_eq!(b.centre.len(), 20);
        assert!(b.is_valid());
        let (c, sd) = b.predict(&regular(20.0, 30)).unwrap();
        let want = 2.0 * 20f64.ln();
        // Within the bin's width in rate (about 2.5 Hz there) plus sampling error.
        assert!((c[0] - want).abs() < 0.35, "{c:?} vs {want}");
        assert!((c[1] - (5.0 - 20f64.ln())).abs() < 0.1, "{c:?}");
        // U(-1, 1) has its 16-84% half-range at 0.68.
        assert!((sd[0] - 0.68).abs() < 0.15, "{sd:?}");
        // Beyond the training rates it predicts the outermost bins.
        assert_eq!(b.predict(&regular(500.0, 30)).unwrap().0, c_of(&b, 19));
        assert_eq!(b.predict(&regular(0.1, 30)).unwrap().0, c_of(&b, 0));
        // Too few trains: one bin; none: nothing.
        assert_eq!(
            RateBaseline::fit(&samples[..60], 20).unwrap().centre.len(),
            1
        );
        assert_eq!(RateBaseline::fit(&[], 20), None);
        // The training rates: 1 to 50 Hz, widened by a factor of 1.5.
        let (lo, hi) = b.rate_range();
        // (the 0.1% and 99.9% quantiles of 1-50 Hz evenly spread: 1.049 and 49.95 Hz)
        assert!((lo.exp() - 1.049 / 1.5).abs() < 0.005, "{lo}");
        assert!((hi.exp() - 49.95 * 1.5).abs() < 0.1, "{hi}");
    }

    #[test]
    fn the_tonic_reading_leaves_out_bursting_trains_of_the_same_rate() {
        // 200 tonic trains at 10 Hz with g_s = 10, and 200 bursting ones (5 spikes 10 ms apart every 500 ms:
        // also 10 Hz on average) with g_s = -10.
        let bursting = |k: usize| -> Vec<f64> {
            (0..40)
                .map(|i| (i / 5) as f64 * 500.0 + (i % 5) as f64 * 10.0 + k as f64 * 1e-3)
                .collect()
        };
        let samples: Vec<Sample> = (0..400)
            .map(|i| Sample {
                id: i.to_string(),
                times_ms: if i % 2 == 0 {
                    regular(10.0 + i as f64 * 1e-4, 40)
                } else {
                    bursting(i)
                },
                g_s: if i % 2 == 0 { 10.0 } else { -10.0 },
                g_u: 1.0,
                group: i as u64,
                noise: None,
            })
            .collect();
        let (tonic, n) = RateBaseline::fit_tonic_counted(&samples, 4);
        assert_eq!(n, 200);
        let (c, _) = tonic.unwrap().predict(&regular(10.0, 40)).unwrap();
        assert_eq!(c[0], 10.0);
        // Every firing train together: the bins around 10 Hz hold both kinds.
        let all = RateBaseline::fit(&samples, 4).unwrap();
        assert!(all.centre.iter().any(|c| c[0] < 10.0), "{:?}", all.centre);
    }

    fn c_of(b: &RateBaseline, k: usize) -> [f64; 2] {
        b.centre[k].map(f64::from)
    }
}
