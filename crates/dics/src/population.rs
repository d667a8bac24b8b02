//! The population generator: a spiking seed population, then neuromodulation to target (g_s, g_u) with g_f
//! free (spec `models.md` 6.2 and 6.3), exact, complete and reproducible.
//!
//! Every model `k` of target `t` draws from its own ChaCha8 stream (the `--seed` key, stream
//! `t << 32 | k`), so the output does not depend on the number of threads. A model whose seed gives a
//! negative conductance or a failed solve draws a new seed (and, for a distribution target, a new target)
//! until it succeeds or exhausts its attempt budget; then the target is reported infeasible with the
//! fraction of seeds that failed.
//!
//! The per-model settings (seed ranges, seed DIC targets, pair rule, placeholder lines) are data:
//! [`PopulationSettings`], one per model ([`settings`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, StandardNormal, Uniform};
use rayon::prelude::*;
use spikepop_models::Model;

use crate::compensate::{ChannelSet, Problem, Solution, SolveMode};
use crate::error::{Infeasible, SetupError, SolveError};
use crate::kernel::{Dics, Kernel, MAX_CHANNELS};

pub use spikepop_models::recipe::{
    PairCondition, PairRule, Placeholder, PopulationSettings, UniformDraw, gamma_matching_uniform,
};

/// The population settings of a model by short name (the registry's models; a model loaded from a file
/// carries its own, [`Model::population`]).
pub fn settings(model: &str) -> Option<&'static PopulationSettings> {
    spikepop_models::by_name(model).and_then(|m| m.population.as_ref())
}

/// A population target: the mean (g_s, g_u) and standard deviations (0 for a point target). With a
/// non-zero sd each model draws its own target from independent Gaussians.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetSpec {
    /// Mean g_s*.
    pub g_s: f64,
    /// Mean g_u*.
    pub g_u: f64,
    /// Standard deviation of g_s*.
    pub sd_g_s: f64,
    /// Standard deviation of g_u*.
    pub sd_g_u: f64,
}

impl TargetSpec {
    /// A point target.
    pub const fn point(g_s: f64, g_u: f64) -> Self {
        Self {
            g_s,
            g_u,
            sd_g_s: 0.0,
            sd_g_u: 0.0,
        }
    }

    /// A Gaussian target.
    pub const fn gaussian(g_s: f64, g_u: f64, sd_g_s: f64, sd_g_u: f64) -> Self {
        Self {
            g_s,
            g_u,
            sd_g_s,
            sd_g_u,
        }
    }

    /// Checks that the means are finite and the sds finite and >= 0.
    pub fn validate(&self) -> Result<(), SetupError> {
        for (name, value, sd) in [
            ("g_s", self.g_s, false),
            ("g_u", self.g_u, false),
            ("sd_g_s", self.sd_g_s, true),
            ("sd_g_u", self.sd_g_u, true),
        ] {
            if !value.is_finite() || (sd && value < 0.0) {
                return Err(SetupError::BadTarget { name, value, sd });
            }
        }
        Ok(())
    }
}

/// Options of the generator.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorOptions {
    /// Threshold voltage (mV); the model's default when `None`.
    pub vth: Option<f64>,
    /// The pair to compensate (2 channel names); the reference's rule when `None`.
    pub pair: Option<Vec<String>>,
    /// How the calcium coupling is solved.
    pub mode: SolveMode,
    /// The random seed.
    pub seed: u64,
    /// Seeds a model may try before its target is declared infeasible.
    pub max_attempts: u32,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            vth: None,
            pair: None,
            mode: SolveMode::converged(),
            seed: 0,
            max_attempts: 1000,
        }
    }
}

/// A generated population: `len()` conductance vectors with their achieved DICs.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    n_channels: usize,
    conductances: Vec<f64>,
    dics: Vec<Dics>,
    /// Seeds tried.
    pub attempts: u64,
    /// Seeds that gave a negative conductance.
    pub negative: u64,
    /// Seeds whose solve failed.
    pub numerical: u64,
}

impl Population {
    /// Number of models.
    pub fn len(&self) -> usize {
        self.dics.len()
    }

    /// Whether the population is empty (never, for a successful generation).
    pub fn is_empty(&self) -> bool {
        self.dics.is_empty()
    }

    /// The conductances of model `k`, in the model's channel order.
    pub fn conductances(&self, k: usize) -> &[f64] {
        &self.conductances[k * self.n_channels..(k + 1) * self.n_channels]
    }

    /// The achieved DICs of model `k`.
    pub fn dics(&self, k: usize) -> Dics {
        self.dics[k]
    }

    /// `(conductances, DICs)` of every model.
    pub fn iter(&self) -> impl Iterator<Item = (&[f64], Dics)> + '_ {
        self.conductances
            .chunks_exact(self.n_channels)
            .zip(self.dics.iter().copied())
    }
}

/// Why one seed was rejected.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reject {
    Negative,
    Numerical,
}

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    attempts: u64,
    negative: u64,
    numerical: u64,
}

enum Outcome {
    Found {
        g: [f64; MAX_CHANNELS],
        dics: Dics,
        stats: Stats,
    },
    Exhausted {
        stats: Stats,
    },
}

/// The first chunk of models generated per target; chunks then grow 4-fold up to [`MAX_CHUNK`]. A target
/// is declared infeasible after the first chunk in which a model exhausted its budget, so an impossible
/// target costs `FIRST_CHUNK * max_attempts` seeds, and the statistics reported do not depend on threads.
const FIRST_CHUNK: usize = 16;
const MAX_CHUNK: usize = 4096;

/// Relative tolerance on the achieved DICs of every generated model (with [`SolveMode::Converged`]).
pub const DIC_TOLERANCE: f64 = 1e-9;

/// The population generator of one model at one threshold voltage.
#[derive(Clone, Debug)]
pub struct Generator {
    settings: &'static PopulationSettings,
    model: &'static Model,
    kernel: Kernel,
    uniform: Vec<(usize, Option<Uniform<f64>>, f64)>,
    gamma: Gamma<f64>,
    leak: usize,
    seed_problem: Problem,
    rules: Vec<(PairCondition, Problem)>,
    fixed: Option<Problem>,
    placeholders: Vec<(usize, f64, f64)>,
    base_rng: ChaCha8Rng,
    max_attempts: u32,
    mode: SolveMode,
}

fn index(model: &Model, name: &str) -> Result<usize, SetupError> {
    model
        .channel_index(name)
        .ok_or_else(|| SetupError::UnknownChannel {
            name: name.to_string(),
            model: model.name,
            known: model
                .channels
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl Generator {
    /// A generator for `model` (which must have [`settings`]).
    pub fn new(model: &'static Model, opts: &GeneratorOptions) -> Result<Self, SetupError> {
        let settings = model
            .population
            .as_ref()
            .ok_or_else(|| SetupError::NoSettings(model.name.to_string()))?;
        let vth = opts.vth.unwrap_or(model.default_vth);
        if !vth.is_finite() {
            return Err(SetupError::BadVoltage(vth));
        }
        if opts.max_attempts == 0 {
            return Err(SetupError::NoAttempts);
        }
        let kernel = Kernel::new(model, vth);
        let mut uniform = Vec::new();
        for d in settings.uniform {
            let dist = if d.hi > d.lo {
                Some(Uniform::new(d.lo, d.hi).expect("valid uniform range"))
            } else {
                None
            };
            uniform.push((index(model, d.channel)?, dist, d.lo));
        }
        let (shape, scale) = settings.leak_gamma();
        let gamma = Gamma::new(shape, scale).expect("valid leak Gamma");
        let seed_set = ChannelSet::new(model, settings.seed_channels)?;
        let seed_problem = Problem::new(model, seed_set, [true; 3], opts.mode)?.prepared(&kernel);
        let pair_problem = |names: &[&str]| -> Result<Problem, SetupError> {
            if names.len() != 2 {
                return Err(SetupError::PairSize(names.len()));
            }
            Ok(Problem::new(
                model,
                ChannelSet::new(model, names)?,
                [false, true, true],
                opts.mode,
            )?
            .prepared(&kernel))
        };
        let mut rules = Vec::new();
        for r in settings.pair_rules {
            rules.push((r.when, pair_problem(&r.pair)?));
        }
        let fixed = match &opts.pair {
            Some(p) => Some(pair_problem(
                &p.iter().map(String::as_str).collect::<Vec<_>>(),
            )?),
            None => None,
        };
        let mut placeholders = Vec::new();
        for p in settings.placeholders {
            placeholders.push((index(model, p.channel)?, p.intercept, p.slope));
        }
        let generator = Generator {
            settings,
            model,
            kernel,
            uniform,
            gamma,
            leak: model.leak_index(),
            seed_problem,
            rules,
            fixed,
            placeholders,
            base_rng: ChaCha8Rng::seed_from_u64(opts.seed),
            max_attempts: opts.max_attempts,
            mode: opts.mode,
        };
        generator.check_nominal(vth)?;
        Ok(generator)
    }

    /// Checks the seed problem and a user pair at the nominal seed (range midpoints, mean leak): a pair
    /// that cannot move (g_s, g_u) is a request error, not 100% failed seeds.
    fn check_nominal(&self, vth: f64) -> Result<(), SetupError> {
        let mut g = self
            .nominal_seed()
            .map_err(|reason| SetupError::BadSeedSettings {
                model: self.model.name,
                reason,
            })?;
        if let Some(p) = &self.fixed {
            self.apply_placeholders(p, &mut g, 0.0);
            p.check(&self.kernel, &g)
                .map_err(|reason| SetupError::UnsolvablePair {
                    pair: p.set().names(self.model, ","),
                    vth,
                    reason,
                })?;
        }
        Ok(())
    }

    /// The nominal seed: the drawn channels at their range midpoints, the mean leak, and the seed channels
    /// solved for the seed DIC targets (a model's typical spiking cell, shown by `spikepop model check`).
    pub fn nominal_seed(&self) -> Result<Vec<f64>, SolveError> {
        let mut g = vec![0.0; self.model.n_channels()];
        for (&(i, _, _), d) in self.uniform.iter().zip(self.settings.uniform) {
            g[i] = 0.5 * (d.lo + d.hi);
        }
        g[self.leak] = self.settings.leak_mean;
        self.seed_problem
            .solve(&self.kernel, &mut g, &self.settings.seed_targets)?;
        Ok(g)
    }

    /// The model.
    pub fn model(&self) -> &'static Model {
        self.model
    }

    /// The settings in use.
    pub fn settings(&self) -> &'static PopulationSettings {
        self.settings
    }

    /// The kernel at the generator's V_th.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The pair compensated for a target: the fixed pair if one was given, else the reference's rule.
    pub fn pair_for(&self, g_s: f64, g_u: f64) -> &ChannelSet {
        self.problem_for(g_s, g_u).set()
    }

    fn problem_for(&self, g_s: f64, g_u: f64) -> &Problem {
        if let Some(p) = &self.fixed {
            return p;
        }
        self.rules
            .iter()
            .find(|(c, _)| c.holds(g_s, g_u))
            .map_or(&self.rules[self.rules.len() - 1].1, |(_, p)| p)
    }

    fn apply_placeholders(&self, p: &Problem, g: &mut [f64], g_s: f64) {
        for &(i, a, b) in &self.placeholders {
            if p.set().contains(i) {
                g[i] = a + b * g_s;
            }
        }
    }

    /// Solves the seed channels of `g` (drawn channels and leak given) for the seed DIC targets.
    pub fn solve_seed(&self, g: &mut [f64]) -> Result<Solution, SolveError> {
        self.seed_problem
            .solve(&self.kernel, g, &self.settings.seed_targets)
    }

    /// Neuromodulates one cell to (g_s*, g_u*) with g_f free: chooses the pair, sets the placeholders and
    /// solves. Does not check the signs of the result.
    pub fn modulate(&self, g: &mut [f64], g_s: f64, g_u: f64) -> Result<Solution, SolveError> {
        let p = self.problem_for(g_s, g_u);
        self.apply_placeholders(p, g, g_s);
        p.solve(&self.kernel, g, &[f64::NAN, g_s, g_u])
    }

    /// One seed: draw, scale, solve the seed, modulate, check.
    fn attempt(
        &self,
        rng: &mut ChaCha8Rng,
        target: &TargetSpec,
        g: &mut [f64],
    ) -> Result<Dics, Reject> {
        let g_s = if target.sd_g_s > 0.0 {
            target.g_s + target.sd_g_s * rng.sample::<f64, _>(StandardNormal)
        } else {
            target.g_s
        };
        let g_u = if target.sd_g_u > 0.0 {
            target.g_u + target.sd_g_u * rng.sample::<f64, _>(StandardNormal)
        } else {
            target.g_u
        };
        for &(i, ref dist, lo) in &self.uniform {
            g[i] = dist.as_ref().map_or(lo, |d| d.sample(rng));
        }
        let leak = self.gamma.sample(rng);
        g[self.leak] = leak;
        let f = leak / self.settings.leak_mean;
        for &(i, _, _) in &self.uniform {
            g[i] *= f;
        }
        for &i in self.seed_problem.set().indices() {
            g[i] = 0.0;
        }
        // The sensitivities depend on the calcium carriers only: a linear solve (no carrier in its set)
        // leaves them valid, so the seed and a linear pair share one evaluation.
        let mut s = [[0.0; 3]; MAX_CHANNELS];
        self.kernel.fill_unnormalised(g, &mut s);
        let seed = if self.seed_problem.is_nonlinear() {
            let r = self.solve_seed(g);
            self.kernel.fill_unnormalised(g, &mut s);
            r
        } else {
            self.seed_problem
                .solve_linear(&self.kernel, &s, g, &self.settings.seed_targets)
        };
        seed.map_err(|_| Reject::Numerical)?;
        let p = self.problem_for(g_s, g_u);
        self.apply_placeholders(p, g, g_s);
        let t = [f64::NAN, g_s, g_u];
        let sol = if p.is_nonlinear() {
            p.solve(&self.kernel, g, &t)
        } else {
            p.solve_linear(&self.kernel, &s, g, &t)
        };
        let sol = sol.map_err(|_| Reject::Numerical)?;
        let d = sol.dics;
        // The reference's fixed-point schedule stops short of the target by design: check only that the
        // DICs are finite then.
        let exact = matches!(self.mode, SolveMode::Converged { .. });
        if (exact
            && ((d.g_s - g_s).abs() > DIC_TOLERANCE * g_s.abs().max(1.0)
                || (d.g_u - g_u).abs() > DIC_TOLERANCE * g_u.abs().max(1.0)))
            || !d.as_array().iter().all(|x| x.is_finite())
        {
            return Err(Reject::Numerical);
        }
        if g.iter().any(|&x| !(x >= 0.0 && x.is_finite())) {
            return Err(Reject::Negative);
        }
        Ok(d)
    }

    fn member(&self, target_index: usize, k: usize, target: &TargetSpec) -> Outcome {
        let mut rng = self.base_rng.clone();
        rng.set_stream(((target_index as u64) << 32) | k as u64);
        let mut stats = Stats::default();
        let mut g = [0.0; MAX_CHANNELS];
        let n = self.model.n_channels();
        for _ in 0..self.max_attempts {
            stats.attempts += 1;
            match self.attempt(&mut rng, target, &mut g[..n]) {
                Ok(dics) => return Outcome::Found { g, dics, stats },
                Err(Reject::Negative) => stats.negative += 1,
                Err(Reject::Numerical) => stats.numerical += 1,
            }
        }
        Outcome::Exhausted { stats }
    }

    /// One model per `(k, target)` of `draws`, in parallel, each from the random stream that member `k` of
    /// [`Generator::generate_target`] with the same `target_index` uses (so the same stream and target give
    /// the same model). A draw whose every attempt failed gives why, as [`Infeasible`] for its own target.
    pub fn generate_streams(
        &self,
        target_index: usize,
        draws: &[(usize, TargetSpec)],
    ) -> Vec<Result<(Vec<f64>, Dics), Infeasible>> {
        let nc = self.model.n_channels();
        draws
            .par_iter()
            .map(|&(k, target)| match self.member(target_index, k, &target) {
                Outcome::Found { g, dics, .. } => Ok((g[..nc].to_vec(), dics)),
                Outcome::Exhausted { stats } => Err(Infeasible {
                    g_s: target.g_s,
                    g_u: target.g_u,
                    sd_g_s: target.sd_g_s,
                    sd_g_u: target.sd_g_u,
                    attempts: stats.attempts,
                    negative: stats.negative,
                    numerical: stats.numerical,
                    model: k,
                    max_attempts: self.max_attempts,
                }),
            })
            .collect()
    }

    /// Generates exactly `n` models for one target; `target_index` selects the random streams.
    pub fn generate_target(
        &self,
        target_index: usize,
        target: &TargetSpec,
        n: usize,
    ) -> Result<Population, Infeasible> {
        let nc = self.model.n_channels();
        let mut pop = Population {
            n_channels: nc,
            conductances: Vec::with_capacity(n * nc),
            dics: Vec::with_capacity(n),
            attempts: 0,
            negative: 0,
            numerical: 0,
        };
        let mut start = 0;
        let mut chunk = FIRST_CHUNK;
        while start < n {
            let end = n.min(start + chunk);
            let outcomes: Vec<Outcome> = (start..end)
                .into_par_iter()
                .map(|k| self.member(target_index, k, target))
                .collect();
            let mut exhausted = None;
            for (k, o) in (start..end).zip(outcomes) {
                let stats = match o {
                    Outcome::Found { g, dics, stats } => {
                        pop.conductances.extend_from_slice(&g[..nc]);
                        pop.dics.push(dics);
                        stats
                    }
                    Outcome::Exhausted { stats } => {
                        exhausted.get_or_insert(k);
                        stats
                    }
                };
                pop.attempts += stats.attempts;
                pop.negative += stats.negative;
                pop.numerical += stats.numerical;
            }
            if let Some(model) = exhausted {
                return Err(Infeasible {
                    g_s: target.g_s,
                    g_u: target.g_u,
                    sd_g_s: target.sd_g_s,
                    sd_g_u: target.sd_g_u,
                    attempts: pop.attempts,
                    negative: pop.negative,
                    numerical: pop.numerical,
                    model,
                    max_attempts: self.max_attempts,
                });
            }
            start = end;
            chunk = (chunk * 4).min(MAX_CHUNK);
        }
        Ok(pop)
    }

    /// Generates exactly `n` models per target, in parallel over targets and models (rayon's current
    /// pool). The result for each target is its population or why it is infeasible; invalid requests
    /// (n = 0, a non-finite target, a negative sd) are errors for the whole call.
    pub fn generate(
        &self,
        targets: &[TargetSpec],
        n: usize,
    ) -> Result<Vec<Result<Population, Infeasible>>, SetupError> {
        if n == 0 {
            return Err(SetupError::EmptyPopulation);
        }
        assert!(
            n as u64 <= u32::MAX as u64 && targets.len() as u64 <= u32::MAX as u64,
            "too many models"
        );
        for t in targets {
            t.validate()?;
        }
        Ok(targets
            .par_iter()
            .enumerate()
            .map(|(ti, t)| self.generate_target(ti, t, n))
            .collect())
    }
}

/// Generates `n` models of `model` for each target (see [`Generator`]).
pub fn generate(
    model: &'static Model,
    targets: &[TargetSpec],
    n: usize,
    opts: &GeneratorOptions,
) -> Result<Vec<Result<Population, Infeasible>>, SetupError> {
    Generator::new(model, opts)?.generate(targets, n)
}
