//! Injected current noise: white Gaussian samples low-passed by a zero-phase Butterworth filter.
//!
//! As in the reference generator (`reference-system.md` section 12): white N(0, sigma) samples on a grid of
//! step `noise_dt`, filtered forward and backward by a 4th-order Butterworth low-pass at 1 kHz (so the
//! effective response is 8th order with no phase shift), then linearly interpolated in time. Unlike the
//! reference, the noise covers the whole run, transient included.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Cut-off frequency of the noise low-pass filter (Hz).
pub const NOISE_CUTOFF_HZ: f64 = 1000.0;

/// A sampled noise current, interpolated linearly between samples.
#[derive(Clone, Debug)]
pub struct NoiseTrace {
    dt: f64,
    samples: Vec<f64>,
}

impl NoiseTrace {
    /// Draws noise of pre-filter standard deviation `sigma` (uA/cm^2) on a grid of step `dt` (ms) covering
    /// `[0, duration]`, filtered forward and backward at `cutoff_hz`. Deterministic for a given `seed`.
    pub fn new(sigma: f64, dt: f64, duration: f64, cutoff_hz: f64, seed: u64) -> Self {
        let n = (duration / dt).ceil() as usize + 2;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0, sigma).expect("sigma is finite and >= 0");
        let mut samples: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
        let fs_hz = 1000.0 / dt;
        if cutoff_hz < fs_hz / 2.0 {
            filtfilt_butterworth4(&mut samples, fs_hz, cutoff_hz);
        }
        Self { dt, samples }
    }

    /// The noise current at time `t` (ms), linearly interpolated.
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        let x = (t / self.dt).max(0.0);
        let i = (x as usize).min(self.samples.len() - 2);
        let f = x - i as f64;
        self.samples[i] + f * (self.samples[i + 1] - self.samples[i])
    }

    /// The samples (for inspection and tests).
    pub fn samples(&self) -> &[f64] {
        &self.samples
    }
}

/// Zero-phase 4th-order Butterworth low-pass (two biquad sections, run forward then backward), with odd
/// reflection padding at both ends to settle the filter state, as `scipy.signal.filtfilt` does.
fn filtfilt_butterworth4(x: &mut [f64], fs_hz: f64, cutoff_hz: f64) {
    // The two sections of a 4th-order Butterworth: Q = 1 / (2 cos(k pi / 8)), k = 1, 3.
    let qs = [
        1.0 / (2.0 * libm::cos(std::f64::consts::PI / 8.0)),
        1.0 / (2.0 * libm::cos(3.0 * std::f64::consts::PI / 8.0)),
    ];
    let coeffs: Vec<Coefficients<f64>> = qs
        .iter()
        .map(|&q| {
            Coefficients::<f64>::from_params(Type::LowPass, fs_hz.hz(), cutoff_hz.hz(), q)
                .expect("cut-off below Nyquist")
        })
        .collect();
    let pad = (3 * 5).min(x.len().saturating_sub(1));
    let run = |data: &mut Vec<f64>| {
        for c in &coeffs {
            let mut f = DirectForm2Transposed::<f64>::new(*c);
            for v in data.iter_mut() {
                *v = f.run(*v);
            }
        }
    };
    let n = x.len();
    let mut ext = Vec::with_capacity(n + 2 * pad);
    ext.extend((1..=pad).rev().map(|i| 2.0 * x[0] - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=pad).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
    run(&mut ext);
    ext.reverse();
    run(&mut ext);
    ext.reverse();
    x.copy_from_slice(&ext[pad..pad + n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_reproducible_and_low_passed() {
        let a = NoiseTrace::new(5.0, 0.1, 20_000.0, NOISE_CUTOFF_HZ, 7);
        let b = NoiseTrace::new(5.0, 0.1, 20_000.0, NOISE_CUTOFF_HZ, 7);
        assert_eq!(a.samples(), b.samples());
        let s = a.samples();
        let n = s.len() as f64;
        let mean = s.iter().sum::<f64>() / n;
        let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        // Filtering white noise at fs = 10 kHz down to 1 kHz (8th-order zero-phase response) keeps about
        // 2 * 1000 / 10000 of its variance: the std drops from 5 to about 5 * sqrt(0.2) = 2.2.
        let sd = var.sqrt();
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((1.9..2.4).contains(&sd), "filtered sd {sd}");
        // Low-passed: neighbouring samples are strongly correlated (white noise would give 0).
        let lag1 = s
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (n - 1.0)
            / var;
        assert!(lag1 > 0.7, "lag-1 autocorrelation {lag1}");
    }
}
