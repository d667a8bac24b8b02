//! How a model's populations are generated and over which DICs its predictor is trained: data that sits
//! beside the model's channel table (the algorithms are in crate `spikepop-dics`).

/// A seed conductance drawn uniformly (before scaling by `g_leak / leak_mean`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UniformDraw {
    /// Channel name.
    pub channel: &'static str,
    /// Lower bound (mS/cm^2).
    pub lo: f64,
    /// Upper bound (equal to `lo` for a constant that still "consumes a draw" in the reference).
    pub hi: f64,
}

/// When a pair rule applies, given the target (g_s*, g_u*).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PairCondition {
    /// `g_u* < x`.
    GuBelow(f64),
    /// `g_s* < x`.
    GsBelow(f64),
    /// Always (the last rule).
    Always,
}

impl PairCondition {
    /// Whether the condition holds for the target.
    pub fn holds(&self, g_s: f64, g_u: f64) -> bool {
        match *self {
            PairCondition::GuBelow(x) => g_u < x,
            PairCondition::GsBelow(x) => g_s < x,
            PairCondition::Always => true,
        }
    }
}

/// The first rule whose condition holds gives the pair compensated for a target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairRule {
    /// Condition on the target.
    pub when: PairCondition,
    /// The two channels solved for.
    pub pair: [&'static str; 2],
}

/// The initial value of a channel solved for in the modulation step, `intercept + slope * g_s*`: the
/// reference's placeholders, which only matter (through `Ca_inf`) for calcium carriers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placeholder {
    /// Channel name.
    pub channel: &'static str,
    /// Value at g_s* = 0.
    pub intercept: f64,
    /// Change per unit g_s*.
    pub slope: f64,
}

/// How a model's populations are generated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PopulationSettings {
    /// Model short name.
    pub model: &'static str,
    /// Uniform seed draws, in the reference's draw order.
    pub uniform: &'static [UniformDraw],
    /// g_leak ~ Gamma with the mean and variance of `U[lo, hi]` ([`gamma_matching_uniform`]).
    pub leak_range: (f64, f64),
    /// The drawn conductances are scaled by `g_leak / leak_mean`.
    pub leak_mean: f64,
    /// Channels solved for in the seed (3).
    pub seed_channels: &'static [&'static str],
    /// Seed DIC targets (g_f, g_s, g_u).
    pub seed_targets: [f64; 3],
    /// The reference's pair choice, first match wins.
    pub pair_rules: &'static [PairRule],
    /// Initial values of calcium carriers in the modulation step.
    pub placeholders: &'static [Placeholder],
}

impl PopulationSettings {
    /// `(shape, scale)` of the g_leak Gamma distribution.
    pub fn leak_gamma(&self) -> (f64, f64) {
        gamma_matching_uniform(self.leak_range.0, self.leak_range.1)
    }

    /// The pair the reference chooses for a target.
    pub fn pair_for(&self, g_s: f64, g_u: f64) -> [&'static str; 2] {
        self.pair_rules
            .iter()
            .find(|r| r.when.holds(g_s, g_u))
            .map(|r| r.pair)
            .unwrap_or(self.pair_rules[self.pair_rules.len() - 1].pair)
    }
}

/// The reference's `gamma_uniform_mean_std_matching(a, b)`: `k = 3(a+b)^2/(b-a)^2`, `theta =
/// (b-a)^2/(6(a+b))`, the Gamma with the mean and variance of `U[a, b]`.
pub fn gamma_matching_uniform(a: f64, b: f64) -> (f64, f64) {
    (
        3.0 * (a + b).powi(2) / (b - a).powi(2),
        (b - a).powi(2) / (6.0 * (a + b)),
    )
}

/// The range of target DICs a model's training data and predictor cover (spec `reference-system.md` 12).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Training {
    /// g_s range `[lo, hi]`.
    pub g_s: [f64; 2],
    /// g_u range `[lo, hi]`.
    pub g_u: [f64; 2],
}
