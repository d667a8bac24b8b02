//! Synthetic spike trains for tests and demos: tonic, bursting, Poisson and irregular, with optional timing
//! jitter and missing spikes. Seeded and reproducible: the same parameters and seed give the same trains on every
//! machine (ChaCha8 generator).
//!
//! - `tonic`: one spike every 1000/`rate_hz` ms, from a random phase.
//! - `bursting`: a burst every `period_ms`, from a random phase; each burst has `spikes_per_burst` spikes
//!   1000/`intra_hz` ms apart. The last burst may be cut by the end of the recording.
//! - `poisson`: exponential ISIs of mean 1000/`rate_hz` ms (CV 1).
//! - `irregular`: gamma-distributed ISIs of shape 2 and mean 1000/`rate_hz` ms (CV about 0.71, no burst structure).
//!
//! Then each spike is moved by a normal jitter of standard deviation `jitter_ms`, deleted with probability
//! `drop`, and the spikes left in `[0, duration_ms)` are sorted.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Gamma, Normal};

use crate::SpikeTrain;

/// The kind of train to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Regular single spikes at `rate_hz`.
    #[default]
    Tonic,
    /// Bursts of `spikes_per_burst` spikes at `intra_hz`, one every `period_ms`.
    Bursting,
    /// A Poisson process at `rate_hz`.
    Poisson,
    /// A gamma renewal process (shape 2) at `rate_hz`.
    Irregular,
}

impl Kind {
    /// `"tonic"`, `"bursting"`, `"poisson"` or `"irregular"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tonic => "tonic",
            Kind::Bursting => "bursting",
            Kind::Poisson => "poisson",
            Kind::Irregular => "irregular",
        }
    }
}

/// What to generate. `Default` is a 10 s tonic train at 10 Hz; bursting defaults to 5 spikes at 100 Hz every
/// 1000 ms; no jitter, no missing spikes.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthParams {
    /// The kind of train.
    pub kind: Kind,
    /// Mean firing rate of tonic, Poisson and irregular trains (Hz).
    pub rate_hz: f64,
    /// Bursting: onset-to-onset period of the bursts (ms).
    pub period_ms: f64,
    /// Bursting: spikes in each burst.
    pub spikes_per_burst: usize,
    /// Bursting: intra-burst frequency (Hz): spikes of a burst are 1000/`intra_hz` ms apart.
    pub intra_hz: f64,
    /// Length of the recording (ms); spikes lie in `[0, duration_ms)`.
    pub duration_ms: f64,
    /// Standard deviation of the normal jitter added to each spike (ms).
    pub jitter_ms: f64,
    /// Probability that each spike is deleted, in `[0, 1)`.
    pub drop: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            kind: Kind::Tonic,
            rate_hz: 10.0,
            period_ms: 1000.0,
            spikes_per_burst: 5,
            intra_hz: 100.0,
            duration_ms: 10_000.0,
            jitter_ms: 0.0,
            drop: 0.0,
        }
    }
}

/// Parameters that cannot make a train.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A parameter is out of its range.
    #[error("{name} must be {expected}, got {value}")]
    OutOfRange {
        /// The parameter (as the command line spells it).
        name: &'static str,
        /// Its range.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
    /// A burst would last longer than the period.
    #[error(
        "a burst of {spikes} spikes at {intra_hz} Hz lasts {burst_ms} ms, not shorter than the period of {period_ms} ms"
    )]
    BurstTooLong {
        /// Spikes per burst.
        spikes: usize,
        /// Intra-burst frequency (Hz).
        intra_hz: f64,
        /// Burst duration (ms).
        burst_ms: f64,
        /// Period (ms).
        period_ms: f64,
    },
    /// The train would hold an unreasonable number of spikes.
    #[error(
        "these parameters make about {expected} spikes per train, more than the limit of {limit}"
    )]
    TooManySpikes {
        /// Expected spike count.
        expected: f64,
        /// The limit.
        limit: f64,
    },
}

/// The most spikes one synthetic train may be expected to hold.
const MAX_SPIKES: f64 = 1.0e7;

impl SynthParams {
    /// Checks the parameters that the kind uses.
    pub fn validate(&self) -> Result<(), SynthError> {
        let positive = |name, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(SynthError::OutOfRange {
                    name,
                    expected: "a positive number",
                    value,
                })
            }
        };
        positive("--duration", self.duration_ms)?;
        if !(self.jitter_ms.is_finite() && self.jitter_ms >= 0.0) {
            return Err(SynthError::OutOfRange {
                name: "--jitter",
                expected: "a non-negative number of ms",
                value: self.jitter_ms,
            });
        }
        if !(self.drop >= 0.0 && self.drop < 1.0) {
            return Err(SynthError::OutOfRange {
                name: "--drop",
                expected: "in [0, 1)",
                value: self.drop,
            });
        }
        let expected = match self.kind {
            Kind::Tonic | Kind::Poisson | Kind::Irregular => {
                positive("--rate", self.rate_hz)?;
                self.duration_ms * self.rate_hz / 1000.0
            }
            Kind::Bursting => {
                positive("--period", self.period_ms)?;
                positive("--intra-hz", self.intra_hz)?;
                if self.spikes_per_burst == 0 {
                    return Err(SynthError::OutOfRange {
                        name: "--spikes-per-burst",
                        expected: "at least 1",
                        value: 0.0,
                    });
                }
                let burst_ms = (self.spikes_per_burst - 1) as f64 * 1000.0 / self.intra_hz;
                if burst_ms >= self.period_ms {
                    return Err(SynthError::BurstTooLong {
                        spikes: self.spikes_per_burst,
                        intra_hz: self.intra_hz,
                        burst_ms,
                        period_ms: self.period_ms,
                    });
                }
                self.duration_ms / self.period_ms * self.spikes_per_burst as f64
            }
        };
        if expected > MAX_SPIKES {
            return Err(SynthError::TooManySpikes {
                expected,
                limit: MAX_SPIKES,
            });
        }
        Ok(())
    }
}

/// One train (sorted, ms) drawn with `rng`. Invalid parameters (see [`SynthParams::validate`]) give an empty
/// train.
pub fn train<R: Rng + ?Sized>(p: &SynthParams, rng: &mut R) -> Vec<f64> {
    let mut t: Vec<f64> = Vec::new();
    if p.validate().is_err() {
        return t;
    }
    let d = p.duration_ms;
    match p.kind {
        Kind::Tonic => {
            let isi = 1000.0 / p.rate_hz;
            let phase = rng.random::<f64>() * isi;
            let mut i = 0u64;
            loop {
                let s = phase + i as f64 * isi;
                if s >= d {
                    break;
                }
                t.push(s);
                i += 1;
            }
        }
        Kind::Bursting => {
            let intra = 1000.0 / p.intra_hz;
            let phase = rng.random::<f64>() * p.period_ms;
            let mut j = 0u64;
            loop {
                let onset = phase + j as f64 * p.period_ms;
                if onset >= d {
                    break;
                }
                t.extend(
                    (0..p.spikes_per_burst)
                        .map(|k| onset + k as f64 * intra)
                        .filter(|&s| s < d),
                );
                j += 1;
            }
        }
        Kind::Poisson | Kind::Irregular => {
            let mean = 1000.0 / p.rate_hz;
            let isi: Box<dyn Fn(&mut R) -> f64> = match p.kind {
                Kind::Poisson => match Exp::new(1.0 / mean) {
                    Ok(e) => Box::new(move |r: &mut R| e.sample(r)),
                    Err(_) => return t,
                },
                _ => match Gamma::new(2.0, mean / 2.0) {
                    Ok(g) => Box::new(move |r: &mut R| g.sample(r)),
                    Err(_) => return t,
                },
            };
            let mut s = isi(rng);
            while s < d {
                t.push(s);
                s += isi(rng);
            }
        }
    }
    if p.jitter_ms > 0.0
        && let Ok(normal) = Normal::new(0.0, p.jitter_ms)
    {
        for s in &mut t {
            *s += normal.sample(rng);
        }
    }
    if p.drop > 0.0 {
        t.retain(|_| rng.random::<f64>() >= p.drop);
    }
    t.retain(|&s| (0.0..d).contains(&s));
    t.sort_unstable_by(f64::total_cmp);
    t
}

/// `n` trains named `1` to `n`, drawn one after the other from a ChaCha8 generator seeded with `seed`.
pub fn trains(p: &SynthParams, n: usize, seed: u64) -> Result<Vec<SpikeTrain>, SynthError> {
    p.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((1..=n)
        .map(|i| SpikeTrain {
            id: i.to_string(),
            times_ms: train(p, &mut rng),
        })
        .collect())
}
