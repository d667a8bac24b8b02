//! What defines a dataset: the model, the seed, the targets and the simulation settings ([`Spec`]), which part of
//! it a run makes ([`Shard`]) and how it is stored ([`Format`]).

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use spikepop_models::Model;
use spikepop_models::sim::Settings;

use crate::error::{Error, Result};

/// Models per target when not given (the reference generated its sets in chunks of 16 cells).
pub const DEFAULT_PER_TARGET: u32 = 16;

/// Seeds a model may try before its target is declared infeasible (the generator's default).
pub const MAX_ATTEMPTS: u32 = 1000;

/// The training range of the target DICs, `(g_s range, g_u range)`: the model's own ([`Model::training`];
/// for the built-ins, the reference's: STG g_s in [-20, 20], DA g_s in [-10, 15], g_u in [0, 20], spec
/// `reference-system.md` section 12).
pub fn training_range(model: &Model) -> ([f64; 2], [f64; 2]) {
    (model.training.g_s, model.training.g_u)
}

/// Everything the rows of a dataset depend on. Two runs with equal specs write equal rows, whatever the
/// threads, shards, group sizes or interruptions.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The neuron model.
    pub model: &'static Model,
    /// The seed of the targets, the populations and the current noise.
    pub seed: u64,
    /// Number of (g_s, g_u) targets, N.
    pub targets: u64,
    /// Models per target, M.
    pub per_target: u32,
    /// Range of the target g_s, `[lo, hi]`.
    pub gs_range: [f64; 2],
    /// Range of the target g_u, `[lo, hi]`.
    pub gu_range: [f64; 2],
    /// Standard deviation of the injected current noise before its 1 kHz low-pass (uA/cm^2); 0 for none.
    pub noise: f64,
    /// Integration step (ms).
    pub dt: f64,
    /// Simulated time (ms).
    pub duration: f64,
    /// Initial time dropped from the spike trains (ms).
    pub transient: f64,
}

impl Spec {
    /// The reference's settings for `model`: its training range, duration and transient, the default step,
    /// no noise, 16 models per target, one target, seed 0.
    pub fn new(model: &'static Model) -> Spec {
        let (gs_range, gu_range) = training_range(model);
        Spec {
            model,
            seed: 0,
            targets: 1,
            per_target: DEFAULT_PER_TARGET,
            gs_range,
            gu_range,
            noise: 0.0,
            dt: model.default_dt,
            duration: model.default_duration,
            transient: model.default_transient,
        }
    }

    /// The threshold voltage at which the targets are reached (the model's).
    pub fn vth(&self) -> f64 {
        self.model.default_vth
    }

    /// The simulator settings (noise seeded by [`Spec::seed`]; each model draws its own stream from its row ID).
    pub fn sim_settings(&self) -> Settings {
        Settings {
            dt: self.dt,
            duration: self.duration,
            transient: self.transient,
            noise_sigma: self.noise,
            seed: self.seed,
            trace_every: None,
        }
    }

    /// Number of rows when every target is feasible: N x M.
    pub fn rows(&self) -> u64 {
        self.targets * self.per_target as u64
    }

    /// Checks the spec; the message names the flag at fault.
    pub fn validate(&self) -> Result<()> {
        if self.targets == 0 {
            return Err(Error::Invalid(
                "--targets 0: expected at least 1 target".into(),
            ));
        }
        if self.targets > u32::MAX as u64 {
            return Err(Error::Invalid(format!(
                "--targets {}: at most {} targets (the random streams number targets with 32 bits)",
                self.targets,
                u32::MAX
            )));
        }
        if self.per_target == 0 {
            return Err(Error::Invalid(
                "--per-target 0: expected at least 1 model per target".into(),
            ));
        }
        check_range("--gs-range", self.gs_range)?;
        check_range("--gu-range", self.gu_range)?;
        self.sim_settings().validate().map_err(|e| {
            Error::Invalid(format!(
                "--{}",
                e.to_string().trim_start_matches("invalid ")
            ))
        })
    }
}

/// Checks a range `[A, B]` given as `flag` (a flag or an argument name, used in the message): finite, A <= B.
pub fn check_range(flag: &str, [lo, hi]: [f64; 2]) -> Result<()> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::Invalid(format!(
            "{flag} {lo},{hi}: expected two finite numbers A,B"
        )));
    }
    if lo > hi {
        return Err(Error::Invalid(format!(
            "{flag} {lo},{hi}: the range is reversed; expected A <= B"
        )));
    }
    Ok(())
}

/// Parses a range `A,B` (the message names `flag`).
pub fn parse_range(flag: &str, text: &str) -> Result<[f64; 2]> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let bad = || {
        Error::Invalid(format!(
            "{flag} {text}: expected two numbers A,B, e.g. {flag} -20,20"
        ))
    };
    let [a, b] = parts[..] else { return Err(bad()) };
    let range = [
        a.parse::<f64>().map_err(|_| bad())?,
        b.parse::<f64>().map_err(|_| bad())?,
    ];
    check_range(flag, range)?;
    Ok(range)
}

/// Shard `index` of `count`: the contiguous block of targets `[index N / count, (index + 1) N / count)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole dataset (shard 0 of 1).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The targets of this shard among `n`.
    pub fn range(&self, n: u64) -> Range<u64> {
        let at = |i: u64| ((i as u128 * n as u128) / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// Checks that no shard of this split of `n` targets is empty.
    pub fn check(&self, n: u64) -> Result<()> {
        if self.count > n {
            return Err(Error::Invalid(format!(
                "--shard {self}: {} shards for {n} target(s) would leave some empty; use at most {n} shards",
                self.count
            )));
        }
        Ok(())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Shard> {
        let bad = |why: &str| Error::Invalid(format!("--shard {s}: {why}"));
        let (i, k) = s
            .split_once('/')
            .ok_or_else(|| bad("expected I/K, e.g. 0/8 for the first of 8 shards"))?;
        let (Ok(index), Ok(count)) = (i.trim().parse::<u64>(), k.trim().parse::<u64>()) else {
            return Err(bad(
                "expected I/K with whole numbers, e.g. 0/8 for the first of 8 shards",
            ));
        };
        if count == 0 {
            return Err(bad("the shard count is 0; expected at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "shard {index} does not exist; shards are numbered 0 to {}",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }
}

/// How rows are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Apache Parquet, spike times as a `list<double>` column.
    #[default]
    Parquet,
    /// The reference's CSV layout, spike times as a `"[t1, t2, ...]"` string.
    Csv,
}

impl Format {
    /// The file extension (`parquet` or `csv`).
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            _ => Err(Error::Invalid(format!(
                "--format {s}: expected parquet or csv"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_targets() {
        for n in [1u64, 7, 10, 100, 1001] {
            for k in 1..=n.min(13) {
                let mut next = 0;
                for i in 0..k {
                    let r = Shard { index: i, count: k }.range(n);
                    assert_eq!(r.start, next);
                    assert!(!r.is_empty());
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn shard_specs_are_parsed_and_checked() {
        assert_eq!(
            "2/5".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 5 }
        );
        for bad in ["3/2", "2/2", "1/0", "a/2", "1", "-1/2", "1/2/3", ""] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("--shard {bad}:")), "{e}");
        }
        assert!(Shard { index: 0, count: 8 }.check(4).is_err());
    }

    #[test]
    fn ranges_are_parsed_and_checked() {
        assert_eq!(parse_range("--gs-range", "-20, 20").unwrap(), [-20.0, 20.0]);
        assert_eq!(parse_range("--gu-range", "3,3").unwrap(), [3.0, 3.0]);
        let e = parse_range("--gs-range", "5,-5").unwrap_err().to_string();
        assert!(e.contains("reversed"), "{e}");
        for bad in ["1", "1,2,3", "a,b", "1,inf", "NaN,1"] {
            assert!(parse_range("--gu-range", bad).is_err(), "{bad}");
        }
    }
}
