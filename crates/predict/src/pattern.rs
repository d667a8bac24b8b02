//! Firing patterns that no model of the training range gives: trains that the default classifier labels
//! irregular and that are more irregular, at every time scale, than every irregular training train.
//!
//! A train's irregularity is the smallest of its `cv`, `cv2` and `lv` ([`isi_variation`]): 0 for a clock, about
//! 1 for a Poisson process, whose intervals are irregular at every scale. A conductance-based model fired by a
//! noisy current is irregular at some scales only: the irregular trains of the STG training sets (current noise
//! of sigma 2 to 12) stay below 0.9, where a Poisson train of a minute lies at 0.9-1 (`docs/predictor.md`,
//! section 3). Bursting trains reach 1 and more through the long intervals between bursts; the classifier calls
//! them bursting, and they are left alone. The bound is the 99.9% quantile over the irregular training trains,
//! stored in the weights ([`crate::Weights::irregular_bound`]); a train above it by [`MARGIN`] is out of the
//! predictor's domain ([`crate::Ood::PATTERN`]).

use rayon::prelude::*;
use spikepop_spikes::features::{Classifier, Features, Label, isi_variation};
use spikepop_spikes::stats::quantile;

use crate::data::Sample;

/// Irregular trains that a bound is fitted on at the least.
pub const MIN_TRAINS: usize = 100;
/// How far above the bound a train must lie to be out of the domain.
pub const MARGIN: f64 = 0.05;

/// The smallest of a train's `cv`, `cv2` and `lv`; `None` below 3 spikes.
pub fn irregularity(times_ms: &[f64]) -> Option<f64> {
    least(isi_variation(times_ms)?)
}

/// The smallest of `[cv, cv2, lv]`, when finite.
fn least([cv, cv2, lv]: [f64; 3]) -> Option<f64> {
    let r = cv.min(cv2).min(lv);
    r.is_finite().then_some(r)
}

/// Whether a train that the default classifier labels `label` fires in a pattern beyond `bound`: labelled
/// irregular, with an [`irregularity`] above `bound + MARGIN`. `times_ms` must be sorted.
pub fn beyond(times_ms: &[f64], label: Label, bound: f32) -> bool {
    label == Label::Irregular
        && irregularity(times_ms).is_some_and(|r| r > f64::from(bound) + MARGIN)
}

/// The bound fitted on `samples`: the 99.9% quantile of the [`irregularity`] of the trains that the default
/// classifier labels irregular, and how many there are; no bound with fewer than [`MIN_TRAINS`].
pub fn fit(samples: &[Sample]) -> (Option<f32>, usize) {
    let mut r: Vec<f64> = samples
        .par_iter()
        .filter_map(|s| {
            let f = Features::of(&s.times_ms, &Classifier::Default);
            (f.label == Label::Irregular)
                .then(|| least([f.cv, f.cv2, f.lv]))
                .flatten()
        })
        .collect();
    let n = r.len();
    if n < MIN_TRAINS {
        return (None, n);
    }
    r.sort_by(f64::total_cmp);
    (Some(quantile(&r, 0.999) as f32), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikepop_spikes::synth::{Kind, SynthParams, trains};

    /// [`beyond`] with the default classifier's label of the whole train.
    fn flagged(t: &[f64], bound: f32) -> bool {
        beyond(t, Features::of(t, &Classifier::Default).label, bound)
    }

    fn of(kind: Kind, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let p = SynthParams {
            kind,
            duration_ms: 60_000.0,
            ..SynthParams::default()
        };
        trains(&p, n, seed)
            .unwrap()
            .into_iter()
            .map(|t| t.times_ms)
            .collect()
    }

    fn sample(times_ms: Vec<f64>) -> Sample {
        Sample {
            id: String::new(),
            times_ms,
            g_s: 0.0,
            g_u: 0.0,
            group: 0,
            noise: None,
        }
    }

    #[test]
    fn a_poisson_train_is_beyond_a_noisy_model_s_irregularity_and_regular_patterns_are_not() {
        // A clock has none; fewer than 3 spikes have no irregularity.
        let clock: Vec<f64> = (0..20).map(|i| 100.0 * f64::from(i)).collect();
        assert_eq!(irregularity(&clock), Some(0.0));
        assert_eq!(irregularity(&[1.0, 2.0]), None);
        // Minute-long Poisson trains at 10 Hz (about 600 intervals): irregular at every scale, about 1, and
        // beyond a bound of 0.8 (the STG training sets' irregular trains reach 0.82).
        let poisson = of(Kind::Poisson, 50, 1);
        for t in &poisson {
            let r = irregularity(t).unwrap();
            assert!((0.85..1.15).contains(&r), "{r}");
            assert!(flagged(t, 0.8));
        }
        // Tonic and gamma-2 renewal trains (CV about 0.71) are not; nor is a bursting train at any bound, though
        // its intervals vary more than a Poisson process's (CV near 2, irregularity near 0.8).
        for t in of(Kind::Tonic, 10, 2)
            .iter()
            .chain(&of(Kind::Irregular, 50, 3))
        {
            assert!(!flagged(t, 0.8), "{:?}", irregularity(t));
        }
        for t in of(Kind::Bursting, 10, 4) {
            assert!(isi_variation(&t).unwrap()[0] > 1.5);
            assert!(irregularity(&t).unwrap() > 0.7);
            assert!(!flagged(&t, 0.0));
        }
    }

    #[test]
    fn the_bound_is_the_999_quantile_of_the_irregular_trains_alone() {
        let gamma = of(Kind::Irregular, 150, 5);
        let mut want: Vec<f64> = gamma.iter().filter_map(|t| irregularity(t)).collect();
        want.sort_by(f64::total_cmp);
        let mut samples: Vec<Sample> = gamma.into_iter().map(sample).collect();
        // Bursting and silent trains do not count.
        samples.extend(of(Kind::Bursting, 20, 6).into_iter().map(sample));
        samples.push(sample(vec![1.0, 2.0]));
        let (b, n) = fit(&samples);
        assert_eq!(n, 150);
        assert!((f64::from(b.unwrap()) - quantile(&want, 0.999)).abs() < 1e-6);
        assert!(b.unwrap() < 1.0);
        // Too few irregular trains: no bound.
        let (b, n) = fit(&samples[100..]);
        assert_eq!((b, n), (None, 50));
    }
}
