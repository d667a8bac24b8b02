//! Training-time augmentations of a spike train, seeded and deterministic: a random window, deleted spikes
//! and spike-time jitter, each applied with some probability so that clean trains stay in the mix.
//!
//! And the spike-time resolution ([`Augment::resolution_ms`], [`blur`]): Gaussian jitter of a fixed sd on
//! every train, in training and at inference alike. Simulated trains carry sub-resolution structure that is
//! the integrator's, not the cell's (spike times interpolated between steps of 0.05 ms are off by up to
//! about 0.02 ms, in a pattern that depends on the spike's shape); a network that reads it fails on trains
//! from another integrator or step, and on recordings. Blurring every train at a resolution well above that
//! error hides it, and seeing the same blur at inference keeps every train inside the training distribution.

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
    /// Probability that an augmented train's jitter sd is drawn log-uniformly from
    /// `[MIN_LOG_JITTER_MS, max_jitter_ms]` instead of uniformly from `[0, max_jitter_ms]`: a uniform sd up to
    /// 3 ms almost never gives the jitter of 0.01-0.05 ms of a recording sampled at 10-100 kHz (or of another
    /// integrator), which a network that reads spike times to a few microseconds must also have seen.
    pub p_log_jitter: f64,
    /// Probability that an augmented train is then put on a sampling grid: each spike time rounded to a
    /// multiple of a step drawn log-uniformly from `[QUANTIZE_MS.0, QUANTIZE_MS.1]`, with a random offset. A
    /// recording sampled at 10-100 kHz (or a solver's output grid) gives such trains: a regular burster's
    /// ISIs then repeat exactly, or jump by one step, which jitter never gives.
    pub p_quantize: f64,
    /// Spike-time resolution (ms): Gaussian jitter of this sd on every train, clean ones included, drawn
    /// from its own stream (0: none; 0.1 by default). The weights record it and the predictor applies it too.
    pub resolution_ms: f64,
    /// Probability that an augmented train gets ISI noise: each inter-spike interval multiplied by
    /// exp(N(0, s)), with s drawn log-uniformly from `[MIN_ISI_NOISE, max_isi_noise]`, and the train rebuilt
    /// from its first spike. Unlike jitter, whose successive ISIs anticorrelate, this is the phase noise that
    /// a noisy current, or a loose integrator (BDF at rtol 1e-2 moves ISIs by up to 20%), gives a train; seen
    /// on noise-free cells it teaches the network that such irregularity does not by itself tell the DICs.
    pub p_isi_noise: f64,
    /// Largest relative sd of the ISI noise of [`Augment::p_isi_noise`].
    pub max_isi_noise: f64,
    /// Probability that a train, clean ones included, gets the white ISI noise of an integrator: each
    /// interval multiplied by exp(N(0, s)), s log-uniform from [`MIN_SOLVER_NOISE`] to
    /// [`Augment::max_solver_noise`], from a stream of its own and with no other change. The reference's
    /// accurate integrator (BDF, rtol 1e-3) moves a noise-free STG cell's ISIs by 0.04-0.6 ms (relative
    /// 5e-4 to 9e-3), uncorrelated from one interval to the next, where an exact solution drifts smoothly; a
    /// network that never saw such noise on an otherwise clean train reads it as a noisy cell's response.
    pub p_solver_noise: f64,
    /// Largest relative sd of the ISI noise of [`Augment::p_solver_noise`].
    pub max_solver_noise: f64,
    /// Probability that a train, clean ones included, gets a slow drift of its rate: every ISI multiplied by
    /// exp(a (1/2 - r(u))), u the ISI's midpoint as a fraction of the train's span, r a relaxation from 1 to 0
    /// with a time constant log-uniform from 0.1 to 10 spans (nearly linear at 10), and the total change of
    /// log ISI `a` log-uniform in magnitude from [`MIN_DRIFT`] to [`Augment::max_drift`], either sign; from a
    /// stream of its own. A cell started from rest relaxes in a way that depends on its DICs; a recorded cell
    /// drifts for reasons that do not (temperature, run-down, a perturbation before the recording), and a
    /// network that never saw such drift reads it as the start-up relaxation of a cell it is not.
    pub p_drift: f64,
    /// Largest total change of log ISI of [`Augment::p_drift`].
    pub max_drift: f64,
}

/// Smallest relative sd of the ISI noise of [`Augment::p_isi_noise`].
pub const MIN_ISI_NOISE: f64 = 0.001;

/// Smallest relative sd of the integrator's ISI noise of [`Augment::p_solver_noise`].
pub const MIN_SOLVER_NOISE: f64 = 1e-4;

/// Mixed into the seed of the integrator's ISI noise in training.
const SOLVER_SEED: u64 = 0x5EED_0DE5;

/// Smallest total change of log ISI of the drift of [`Augment::p_drift`].
pub const MIN_DRIFT: f64 = 1e-4;

/// Time constants of the drift of [`Augment::p_drift`], in spans of the train (log-uniform between them).
pub const DRIFT_TAU: (f64, f64) = (0.1, 10.0);

/// Mixed into the seed of the drift in training.
const DRIFT_SEED: u64 = 0x5EED_D21F;

impl Default for Augment {
    fn default() -> Self {
        Augment {
            p_clean: 0.25,
            p_window: 0.5,
            max_drop: 0.08,
            max_jitter_ms: 3.0,
            p_log_jitter: 0.0,
            p_quantize: 0.0,
            resolution_ms: 0.1,
            p_isi_noise: 0.0,
            max_isi_noise: 0.2,
            p_solver_noise: 0.0,
            max_solver_noise: 0.02,
            p_drift: 0.0,
            max_drift: 0.03,
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
            p_log_jitter: 0.0,
            p_quantize: 0.0,
            resolution_ms: 0.0,
            p_isi_noise: 0.0,
            max_isi_noise: 0.2,
            p_solver_noise: 0.0,
            max_solver_noise: 0.02,
            p_drift: 0.0,
            max_drift: 0.03,
        }
    }

    /// Checks that the probabilities are in [0, 1] and the jitter is finite and >= 0.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, p) in [
            ("--p-clean", self.p_clean),
            ("--p-window", self.p_window),
            ("--max-drop", self.max_drop),
            ("--p-log-jitter", self.p_log_jitter),
            ("--p-quantize", self.p_quantize),
            ("--p-isi-noise", self.p_isi_noise),
            ("--p-solver-noise", self.p_solver_noise),
            ("--p-drift", self.p_drift),
        ] {
            if !(0.0..=1.0).contains(&p) {
                anyhow::bail!("invalid {name} {p}: expected a probability from 0 to 1");
            }
        }
        if !(MIN_ISI_NOISE..=1.0).contains(&self.max_isi_noise) {
            anyhow::bail!(
                "invalid --max-isi-noise {}: expected a relative sd from {MIN_ISI_NOISE} to 1",
                self.max_isi_noise
            );
        }
        if !(MIN_SOLVER_NOISE..=1.0).contains(&self.max_solver_noise) {
            anyhow::bail!(
                "invalid --max-solver-noise {}: expected a relative sd from {MIN_SOLVER_NOISE} to 1",
                self.max_solver_noise
            );
        }
        if !(MIN_DRIFT..=1.0).contains(&self.max_drift) {
            anyhow::bail!(
                "invalid --max-drift {}: expected a change of log ISI from {MIN_DRIFT} to 1",
                self.max_drift
            );
        }
        check_jitter_ms("--max-jitter-ms", self.max_jitter_ms)?;
        check_jitter_ms("--resolution-ms", self.resolution_ms)
    }

    /// The augmented copy of `times` (sorted) for `stream` (e.g. epoch and sample index mixed by the caller).
    /// Deleting spikes never leaves fewer than 5 (or the original count, if smaller).
    /// The drift ([`Augment::p_drift`]) and the integrator's ISI noise ([`Augment::p_solver_noise`]) come
    /// first and the resolution jitter ([`Augment::resolution_ms`]) last, each from a stream of its own, so
    /// that the other draws do not depend on them.
    pub fn apply(&self, times: &[f64], seed: u64, stream: u64) -> Vec<f64> {
        let drifted = self.drift(times, seed ^ DRIFT_SEED, stream);
        let times = drifted.as_deref().unwrap_or(times);
        let solved = self.solver_noise(times, seed ^ SOLVER_SEED, stream);
        blur(
            &self.apply_unblurred(solved.as_deref().unwrap_or(times), seed, stream),
            self.resolution_ms,
            seed ^ BLUR_SEED,
            stream,
        )
    }

    /// `times` with the integrator's ISI noise of [`Augment::p_solver_noise`], or `None` when this train
    /// gets none (no draw at all when the probability is 0).
    fn solver_noise(&self, times: &[f64], seed: u64, stream: u64) -> Option<Vec<f64>> {
        let mut rng = chosen(self.p_solver_noise, seed, stream)?;
        let s = log_uniform(MIN_SOLVER_NOISE, self.max_solver_noise, rng.random());
        let mut out = times.to_vec();
        isi_noise(&mut out, s, &mut rng);
        Some(out)
    }

    /// `times` with the slow drift of [`Augment::p_drift`], or `None` when this train gets none (no draw at
    /// all when the probability is 0).
    fn drift(&self, times: &[f64], seed: u64, stream: u64) -> Option<Vec<f64>> {
        if times.len() < 3 {
            return None;
        }
        let mut rng = chosen(self.p_drift, seed, stream)?;
        let size = log_uniform(MIN_DRIFT, self.max_drift, rng.random());
        let change = if rng.random::<bool>() { size } else { -size };
        let tau = log_uniform(DRIFT_TAU.0, DRIFT_TAU.1, rng.random());
        Some(drift(times, change, tau))
    }

    fn apply_unblurred(&self, times: &[f64], seed: u64, stream: u64) -> Vec<f64> {
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
        let mut out = drop_spikes(t, p_drop, &mut rng);
        // The extra draws only when asked for, so that settings without it keep their streams.
        if self.p_isi_noise > 0.0 && rng.random::<f64>() < self.p_isi_noise {
            let s = log_uniform(MIN_ISI_NOISE, self.max_isi_noise, rng.random());
            isi_noise(&mut out, s, &mut rng);
        }
        let u = rng.random::<f64>();
        // The extra draw only when asked for, so that settings without it keep their streams.
        let sd = if self.p_log_jitter > 0.0
            && self.max_jitter_ms > MIN_LOG_JITTER_MS
            && rng.random::<f64>() < self.p_log_jitter
        {
            log_uniform(MIN_LOG_JITTER_MS, self.max_jitter_ms, u)
        } else {
            self.max_jitter_ms * u
        };
        jitter(&mut out, sd, &mut rng);
        if self.p_quantize > 0.0 && rng.random::<f64>() < self.p_quantize {
            let step = log_uniform(QUANTIZE_MS.0, QUANTIZE_MS.1, rng.random());
            let offset = step * rng.random::<f64>();
            quantize(&mut out, step, offset);
        }
        out
    }
}

/// The stream of an augmentation that draws from a stream of its own (`seed`, `stream`), when it is chosen for
/// this train with probability `p`: `None` otherwise, and without a draw when `p` is 0, so that settings
/// without it keep their streams.
fn chosen(p: f64, seed: u64, stream: u64) -> Option<ChaCha8Rng> {
    if p <= 0.0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    (rng.random::<f64>() < p).then_some(rng)
}

/// The log-uniform value from `lo` to `hi` for the uniform draw `u` in [0, 1).
fn log_uniform(lo: f64, hi: f64, u: f64) -> f64 {
    lo * (hi / lo).powf(u)
}

/// `t` (sorted) with every ISI multiplied by exp(change (1/2 - r(u))), where u is the ISI's midpoint as a
/// fraction of the train's span and r(u) = (e^(-u/tau) - e^(-1/tau)) / (1 - e^(-1/tau)) goes from 1 to 0: log
/// ISI changes by `change` from the first interval to the last on a long train (less on a short one, whose
/// first and last midpoints are far from the ends), fastest at the start when `tau` (in spans) is small,
/// nearly linearly when it is large. Rebuilt from the first spike; a train of fewer than 2 spikes is returned
/// as it is.
pub fn drift(t: &[f64], change: f64, tau: f64) -> Vec<f64> {
    let (Some(&first), Some(&last)) = (t.first(), t.last()) else {
        return Vec::new();
    };
    let span = last - first;
    if span <= 0.0 {
        return t.to_vec();
    }
    let end = (-1.0 / tau).exp();
    let mut out = Vec::with_capacity(t.len());
    out.push(first);
    let mut now = first;
    for w in t.windows(2) {
        let u = (0.5 * (w[0] + w[1]) - first) / span;
        let r = ((-u / tau).exp() - end) / (1.0 - end);
        now += (w[1] - w[0]) * (change * (0.5 - r)).exp();
        out.push(now);
    }
    out
}

/// Multiplies every inter-spike interval of `t` by exp(N(0, sd)) and rebuilds the train from its first spike.
fn isi_noise(t: &mut [f64], sd: f64, rng: &mut ChaCha8Rng) {
    let Ok(normal) = Normal::new(0.0, sd) else {
        return;
    };
    let mut prev = t.first().copied().unwrap_or(0.0);
    let mut now = prev;
    for x in t.iter_mut().skip(1) {
        let isi = *x - prev;
        prev = *x;
        now += isi * normal.sample(rng).exp();
        *x = now;
    }
}

/// Sampling steps (ms) of the grid of [`Augment::p_quantize`]: 100 kHz to 10 kHz.
pub const QUANTIZE_MS: (f64, f64) = (0.01, 0.1);

/// Rounds every spike time to the nearest `offset + k step`, then drops duplicates (two spikes in one sample).
fn quantize(t: &mut Vec<f64>, step: f64, offset: f64) {
    for x in t.iter_mut() {
        *x = offset + ((*x - offset) / step).round() * step;
    }
    t.dedup();
}

/// Smallest jitter sd (ms) of the log-uniform draw ([`Augment::p_log_jitter`]).
pub const MIN_LOG_JITTER_MS: f64 = 0.001;

/// Mixed into the seed of the resolution jitter in training.
const BLUR_SEED: u64 = 0x5EED_B1A2;

/// `times` (sorted) with Gaussian jitter of sd `resolution_ms` on every spike, seeded per `(seed, stream)`;
/// a copy of `times` when `resolution_ms` is 0. Sorted and without duplicates.
pub fn blur(times: &[f64], resolution_ms: f64, seed: u64, stream: u64) -> Vec<f64> {
    let mut out = times.to_vec();
    if resolution_ms > 0.0 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        jitter(&mut out, resolution_ms, &mut rng);
    }
    out
}

/// A seed that depends on every spike time of `times` (bit for bit) and nothing else: the predictor's
/// resolution jitter is a fixed function of the train, so that a prediction is reproducible.
pub fn train_seed(times: &[f64]) -> u64 {
    // SplitMix64 finaliser over the running state (stable across platforms and Rust versions).
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    times.iter().fold(mix(times.len() as u64), |h, t| {
        mix(h.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ t.to_bits())
    })
}

/// Checks a probability of dropping a spike given as `flag` (a flag or an argument name): from 0 to below 1.
pub fn check_drop(flag: &str, p: f64) -> anyhow::Result<()> {
    if !(0.0..1.0).contains(&p) {
        anyhow::bail!("invalid {flag} {p}: expected a probability from 0 to below 1");
    }
    Ok(())
}

/// [`perturb`] on every sample's train, the i-th with stream i: what `spikepop evaluate --jitter-ms --drop
/// --grid-ms --seed` does to its test trains. Nothing changes when all three are 0.
pub fn perturb_samples(
    samples: &mut [crate::data::Sample],
    jitter_ms: f64,
    p_drop: f64,
    grid_ms: f64,
    seed: u64,
) {
    if jitter_ms > 0.0 || p_drop > 0.0 || grid_ms > 0.0 {
        for (i, s) in samples.iter_mut().enumerate() {
            s.times_ms = perturb(&s.times_ms, jitter_ms, p_drop, grid_ms, seed, i as u64);
        }
    }
}

/// Checks a jitter sd given as `flag` (a flag or an argument name): finite and >= 0 (ms).
pub fn check_jitter_ms(flag: &str, ms: f64) -> anyhow::Result<()> {
    if !(ms.is_finite() && ms >= 0.0) {
        anyhow::bail!("invalid {flag} {ms}: expected a finite number of ms >= 0");
    }
    Ok(())
}

/// Deletes each spike with probability `p_drop`; keeps the train whole if fewer than 5 spikes (or the original
/// count, if smaller) would be left.
fn drop_spikes(t: &[f64], p_drop: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let out: Vec<f64> = t
        .iter()
        .copied()
        .filter(|_| rng.random::<f64>() >= p_drop)
        .collect();
    if out.len() < 5.min(t.len()) {
        t.to_vec()
    } else {
        out
    }
}

/// Adds Gaussian jitter of sd `sd_ms` to every spike, then re-sorts (and drops exact duplicates).
fn jitter(t: &mut Vec<f64>, sd_ms: f64, rng: &mut ChaCha8Rng) {
    if sd_ms > 0.0 {
        let normal = Normal::new(0.0, sd_ms).expect("finite sd");
        for x in t.iter_mut() {
            *x += normal.sample(rng);
        }
        t.sort_unstable_by(f64::total_cmp);
        t.dedup();
    }
}

/// A recording-like perturbation of a test train, seeded per `(seed, stream)`: each spike deleted with
/// probability `p_drop` (at least 5 kept), Gaussian jitter of sd `jitter_ms` on every spike, then, when `grid_ms`
/// is above 0, every spike time rounded to a multiple of `grid_ms` (a recording sampled every `grid_ms`; two
/// spikes in one sample counted once). It measures how the predictor holds up on trains less clean than
/// simulations (`spikepop evaluate --jitter-ms --drop --grid-ms`).
pub fn perturb(
    times: &[f64],
    jitter_ms: f64,
    p_drop: f64,
    grid_ms: f64,
    seed: u64,
    stream: u64,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut out = drop_spikes(times, p_drop, &mut rng);
    jitter(&mut out, jitter_ms, &mut rng);
    if grid_ms > 0.0 {
        quantize(&mut out, grid_ms, 0.0);
    }
    out
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

    #[test]
    fn perturb_deletes_and_jitters_as_asked() {
        let t: Vec<f64> = (0..2000).map(|i| 100.0 * i as f64).collect();
        assert_eq!(perturb(&t, 0.0, 0.0, 0.0, 1, 2), t);
        let x = perturb(&t, 0.0, 0.1, 0.0, 1, 2);
        assert!((1700..1900).contains(&x.len()), "{} kept of 2000", x.len());
        assert!(x.iter().all(|v| t.contains(v)));
        // Jitter only: every spike moved, with the asked sd (within sampling error).
        let y = perturb(&t, 2.0, 0.0, 0.0, 1, 2);
        assert_eq!(y.len(), t.len());
        let var = y.iter().zip(&t).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / t.len() as f64;
        assert!((var.sqrt() - 2.0).abs() < 0.1, "jitter sd {}", var.sqrt());
        assert_eq!(y, perturb(&t, 2.0, 0.0, 0.0, 1, 2));
        assert_ne!(y, perturb(&t, 2.0, 0.0, 0.0, 1, 3));
        // Never fewer than 5 spikes.
        assert_eq!(perturb(&t[..6], 0.0, 0.99, 0.0, 1, 2).len(), 6);
    }

    #[test]
    fn log_uniform_jitter_gives_small_jitter_as_often_per_decade_as_large() {
        // Every train augmented and jittered alone (no window, no deletion); the jitter sd of a train is
        // read back from its spike moves.
        let t: Vec<f64> = (0..400).map(|i| 100.0 * i as f64).collect();
        let only_jitter = |p_log_jitter| Augment {
            p_clean: 0.0,
            p_window: 0.0,
            max_drop: 0.0,
            max_jitter_ms: 3.0,
            p_log_jitter,
            p_quantize: 0.0,
            resolution_ms: 0.0,
            ..Augment::none()
        };
        let sds = |a: &Augment| -> Vec<f64> {
            (0..2000)
                .map(|s| {
                    let x = a.apply(&t, 11, s);
                    let v = x.iter().zip(&t).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
                    (v / t.len() as f64).sqrt()
                })
                .collect()
        };
        let below =
            |v: &[f64], ms: f64| v.iter().filter(|&&x| x < ms).count() as f64 / v.len() as f64;
        let (uniform, log) = (sds(&only_jitter(0.0)), sds(&only_jitter(1.0)));
        // Uniform on [0, 3]: 1/30 below 0.1 ms. Log-uniform on [0.001, 3]: ln(100)/ln(3000) = 58% below 0.1 ms,
        // 29% below 0.01 ms, and none below 0.001 ms (less its sampling error over 400 spikes).
        assert!(below(&uniform, 0.1) < 0.06, "{}", below(&uniform, 0.1));
        assert!(
            (below(&log, 0.1) - 0.575).abs() < 0.04,
            "{}",
            below(&log, 0.1)
        );
        assert!(
            (below(&log, 0.01) - 0.288).abs() < 0.04,
            "{}",
            below(&log, 0.01)
        );
        assert!(below(&log, 0.0009) < 0.01);
    }

    #[test]
    fn quantizing_puts_the_spikes_on_a_grid() {
        let t: Vec<f64> = (0..300)
            .map(|i| 97.3 * i as f64 + 0.01234 * (i % 7) as f64)
            .collect();
        let mut q = t.clone();
        quantize(&mut q, 0.05, 0.02);
        for (x, y) in q.iter().zip(&t) {
            let k = (x - 0.02) / 0.05;
            assert!((k - k.round()).abs() < 1e-6 && (x - y).abs() <= 0.025 + 1e-9);
        }
        assert_eq!(perturb(&t, 0.0, 0.0, 0.0, 1, 2), t);
        let g = perturb(&t, 0.0, 0.0, 0.05, 1, 2);
        assert!(
            g.iter()
                .all(|x| ((x / 0.05) - (x / 0.05).round()).abs() < 1e-6)
        );
        // Two spikes in one sample become one.
        let mut close = vec![1.0, 1.004, 2.0];
        quantize(&mut close, 0.01, 0.0);
        assert_eq!(close.len(), 2);
        // Through `apply`: every train moved, by at most half of the coarsest step.
        let a = Augment {
            p_clean: 0.0,
            p_window: 0.0,
            max_drop: 0.0,
            max_jitter_ms: 0.0,
            p_log_jitter: 0.0,
            p_quantize: 1.0,
            resolution_ms: 0.0,
            ..Augment::none()
        };
        let moves: Vec<f64> = (0..200)
            .map(|s| {
                let x = a.apply(&t, 5, s);
                assert_eq!(x.len(), t.len());
                x.iter()
                    .zip(&t)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            })
            .collect();
        assert!(
            moves
                .iter()
                .all(|&m| m > 0.0 && m <= QUANTIZE_MS.1 / 2.0 + 1e-9)
        );
        assert!(moves.iter().any(|&m| m > 0.02) && moves.iter().any(|&m| m < 0.01));
    }

    #[test]
    fn validate_refuses_bad_settings() {
        assert!(Augment::default().validate().is_ok());
        for bad in [
            Augment {
                p_drift: -0.1,
                ..Augment::default()
            },
            Augment {
                max_drift: 0.0,
                ..Augment::default()
            },
            Augment {
                p_clean: 1.5,
                ..Augment::default()
            },
            Augment {
                max_drop: -0.1,
                ..Augment::default()
            },
            Augment {
                p_window: f64::NAN,
                ..Augment::default()
            },
            Augment {
                max_jitter_ms: -1.0,
                ..Augment::default()
            },
            Augment {
                max_jitter_ms: f64::INFINITY,
                ..Augment::default()
            },
            Augment {
                resolution_ms: -0.05,
                ..Augment::default()
            },
            Augment {
                p_log_jitter: 1.01,
                ..Augment::default()
            },
            Augment {
                p_quantize: -0.5,
                ..Augment::default()
            },
            Augment {
                p_isi_noise: 2.0,
                ..Augment::default()
            },
            Augment {
                max_isi_noise: 0.0,
                ..Augment::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn isi_noise_moves_intervals_not_spikes_around_a_grid() {
        // A regular train at 10 Hz; every train gets ISI noise and nothing else.
        let t: Vec<f64> = (0..200).map(|i| 100.0 * i as f64).collect();
        let a = Augment {
            p_clean: 0.0,
            p_isi_noise: 1.0,
            max_isi_noise: 0.2,
            ..Augment::none()
        };
        let mut sds = Vec::new();
        let mut lag1 = Vec::new();
        for s in 0..400 {
            let x = a.apply(&t, 3, s);
            assert_eq!(x.len(), t.len());
            assert_eq!(x[0], t[0]);
            assert!(x.windows(2).all(|w| w[1] > w[0]));
            let l: Vec<f64> = x
                .windows(2)
                .map(|w| (w[1] - w[0]).ln() - 100f64.ln())
                .collect();
            let m = l.iter().sum::<f64>() / l.len() as f64;
            let var = l.iter().map(|v| (v - m).powi(2)).sum::<f64>() / l.len() as f64;
            sds.push(var.sqrt());
            let c = l.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum::<f64>() / l.len() as f64;
            lag1.push(c / var);
        }
        // The log-ISI sd is the drawn s: log-uniform from 0.001 to 0.2, so about half the trains below
        // sqrt(0.001 * 0.2) = 0.014.
        sds.sort_by(f64::total_cmp);
        assert!(
            sds[0] > 0.0008 && sds[399] < 0.23,
            "{} {}",
            sds[0],
            sds[399]
        );
        let below = sds.iter().filter(|s| **s < 0.0141).count();
        assert!((160..240).contains(&below), "{below}");
        // Independent intervals: no lag-1 correlation (jitter would give -0.5).
        let mean_lag1 = lag1.iter().sum::<f64>() / lag1.len() as f64;
        assert!(mean_lag1.abs() < 0.03, "{mean_lag1}");
        // Settings without ISI noise draw as before.
        let plain = Augment::default();
        let with = Augment {
            p_isi_noise: 0.0,
            max_isi_noise: 0.5,
            ..Augment::default()
        };
        assert_eq!(plain.apply(&t, 9, 4), with.apply(&t, 9, 4));
    }

    #[test]
    fn solver_noise_reaches_clean_trains_alone_and_leaves_the_other_draws_unchanged() {
        // A regular train at 10 Hz: every train is clean, and half of them get the integrator's ISI noise.
        let t: Vec<f64> = (0..200).map(|i| 100.0 * i as f64).collect();
        let a = Augment {
            p_solver_noise: 0.5,
            max_solver_noise: 0.01,
            ..Augment::none()
        };
        let mut sds = Vec::new();
        for s in 0..400 {
            let x = a.apply(&t, 5, s);
            assert_eq!(x.len(), t.len());
            assert_eq!(x[0], t[0]);
            if x == t {
                continue;
            }
            let l: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]).ln()).collect();
            let m = l.iter().sum::<f64>() / l.len() as f64;
            sds.push((l.iter().map(|v| (v - m).powi(2)).sum::<f64>() / l.len() as f64).sqrt());
        }
        // About half the trains, each with a log-ISI sd from 1e-4 to 0.01 (log-uniform: a quarter of the
        // noisy ones below 10^-3.5).
        assert!((160..240).contains(&sds.len()), "{}", sds.len());
        sds.sort_by(f64::total_cmp);
        assert!(sds[0] > 0.00008 && sds[sds.len() - 1] < 0.0115, "{sds:?}");
        let low = sds.iter().filter(|s| **s < 10f64.powf(-3.5)).count() as f64 / sds.len() as f64;
        assert!((0.15..0.35).contains(&low), "{low}");
        // The other augmentations draw as they would without it: a train it passes over is the same train.
        let base = Augment {
            p_clean: 0.3,
            max_jitter_ms: 1.0,
            ..Augment::default()
        };
        let with = Augment {
            p_solver_noise: 0.5,
            ..base.clone()
        };
        let mut same = 0;
        for s in 0..100 {
            if a.solver_noise(&t, 5 ^ SOLVER_SEED, s).is_none() {
                assert_eq!(base.apply(&t, 5, s), with.apply(&t, 5, s));
                same += 1;
            }
        }
        assert!(same > 30, "{same}");
        assert!(
            Augment {
                max_solver_noise: 0.0,
                ..base.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            Augment {
                p_solver_noise: 1.5,
                ..base
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn drift_changes_log_isi_by_its_size_from_the_first_interval_to_the_last() {
        let t: Vec<f64> = (0..101).map(|i| 50.0 * i as f64).collect();
        let log_isis =
            |x: &[f64]| -> Vec<f64> { x.windows(2).map(|w| (w[1] - w[0]).ln()).collect() };
        for (change, tau) in [(0.02, 10.0), (-0.01, 0.1), (0.05, 1.0)] {
            let x = drift(&t, change, tau);
            assert_eq!((x.len(), x[0]), (t.len(), t[0]));
            let l = log_isis(&x);
            // Monotone in the direction of `change`, by `change` up to the half intervals at either end.
            assert!(l.windows(2).all(|w| (w[1] - w[0]) * change.signum() >= 0.0));
            let total = l[l.len() - 1] - l[0];
            assert!(
                (total / change - 1.0).abs() < 0.06,
                "{change} {tau}: {total}"
            );
            // A fast relaxation does most of its change in the first tenth of the train; a slow one is linear.
            let tenth = (l[10] - l[0]) / total;
            if tau <= 0.1 {
                assert!(tenth > 0.55, "{tenth}");
            } else if tau >= 10.0 {
                assert!((tenth - 0.1).abs() < 0.02, "{tenth}");
            }
        }
        assert!(drift(&[], 0.1, 1.0).is_empty() && drift(&[5.0], 0.1, 1.0) == [5.0]);
        // Half the trains get one (clean ones included), of sizes from 1e-4 to max_drift, both signs.
        let a = Augment {
            p_drift: 0.5,
            max_drift: 0.03,
            ..Augment::none()
        };
        let (mut n, mut up) = (0, 0);
        for s in 0..400 {
            let x = a.apply(&t, 3, s);
            if x == t {
                continue;
            }
            let l = log_isis(&x);
            let total = l[l.len() - 1] - l[0];
            assert!((5e-5..0.031).contains(&total.abs()), "{total}");
            n += 1;
            up += usize::from(total > 0.0);
        }
        assert!(
            (160..240).contains(&n) && (n / 4..3 * n / 4).contains(&up),
            "{n} {up}"
        );
    }

    #[test]
    fn blur_is_a_fixed_function_of_the_train() {
        let t: Vec<f64> = (0..2000).map(|i| 70.0 * i as f64 + 0.3).collect();
        assert_eq!(blur(&t, 0.0, 5, 0), t);
        let s = train_seed(&t);
        let a = blur(&t, 0.05, s, 0);
        assert_eq!(a, blur(&t, 0.05, s, 0));
        assert_ne!(a, blur(&t, 0.05, s, 1));
        let var = a.iter().zip(&t).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / t.len() as f64;
        assert!((var.sqrt() - 0.05).abs() < 0.003, "blur sd {}", var.sqrt());
        // The seed sees every bit of every spike time.
        let mut u = t.clone();
        u[1234] = f64::from_bits(u[1234].to_bits() + 1);
        assert_ne!(train_seed(&u), s);
        assert_ne!(train_seed(&t[..1999]), s);
        // The resolution jitter of training comes on top of the other draws, which it leaves alone.
        let aug = Augment {
            resolution_ms: 0.0,
            ..Augment::default()
        };
        let blurred = Augment {
            resolution_ms: 0.05,
            ..Augment::default()
        };
        for stream in 0..20 {
            let (x, y) = (aug.apply(&t, 3, stream), blurred.apply(&t, 3, stream));
            assert_eq!(x.len(), y.len());
            assert!(x.iter().zip(&y).all(|(p, q)| (p - q).abs() < 0.5));
            assert_ne!(x, y);
        }
    }
}
