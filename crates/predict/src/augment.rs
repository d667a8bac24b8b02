//! Training-time augmentations of a spike train, seeded and deterministic: a random window, deleted spikes
//! and spike-time jitter, each applied with some probability so that clean trains stay in the mix.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Augmentation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Augment {
    /// Probability that a train is left untouched.
    pub p_clean: f64,
    /// Probability of cutting a window of `[n/2, n)` spikes (trains of more than 10 spikes).
    pub p_window: f64,
    /// Largest probability of deleting each spike (drawn per train in `[0, max_drop]`).
    pub max_drop: f64,
    /// Largest jitter standard deviation (ms), drawn per train in `[0, max_jitter_ms]`.
    pub max_jitter_ms: f64,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            p_clean: 0.25,
            p_window: 0.5,
            max_drop: 0.08,
            max_jitter_ms: 3.0,
        }
    }
}

impl Augment {
    /// No augmentation.
    pub fn none() -> Augment {
        Augment {
            p_clean: 1.0,
            p_window: 0.0,
            max_drop: 0.0,
            max_jitter_ms: 0.0,
        }
    }

    /// The augmented copy of `times` (sorted) for `stream` (e.g. epoch and sample index mixed by the caller).
    /// Deleting spikes never leaves fewer than 5 (or the original count, if smaller).
    pub fn apply(&self, times: &[f64], seed: u64, stream: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        if rng.random::<f64>() < self.p_clean {
            return times.to_vec();
        }
        let n = times.len();
        let mut t: &[f64] = times;
        if n > 10 && rng.random::<f64>() < self.p_window {
            let len = rng.random_range(n / 2..n);
            let start = rng.random_range(0..=n - len);
            t = &times[start..start + len];
        }
        let p_drop = self.max_drop * rng.random::<f64>();
        let mut out: Vec<f64> = t
            .iter()
            .copied()
            .filter(|_| rng.random::<f64>() >= p_drop)
            .collect();
        if out.len() < 5.min(t.len()) {
            out = t.to_vec();
        }
        let sd = self.max_jitter_ms * rng.random::<f64>();
        if sd > 0.0 {
            let normal = Normal::new(0.0, sd).expect("finite sd");
            for x in &mut out {
                *x += normal.sample(&mut rng);
            }
            out.sort_unstable_by(f64::total_cmp);
            out.dedup();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_sorted_and_not_too_short() {
        let t: Vec<f64> = (0..100).map(|i| 10.0 * i as f64).collect();
        let a = Augment::default();
        for s in 0..50 {
            let x = a.apply(&t, 7, s);
            assert_eq!(x, a.apply(&t, 7, s));
            assert!(x.windows(2).all(|w| w[0] < w[1]));
            assert!(x.len() >= 5);
        }
        assert_ne!(a.apply(&t, 7, 1), a.apply(&t, 8, 1));
        assert_eq!(Augment::none().apply(&t, 1, 2), t);
    }
}
