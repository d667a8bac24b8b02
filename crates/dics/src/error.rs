//! Errors: invalid requests ([`SetupError`]), numerical failures of one model ([`SolveError`]) and
//! unreachable population targets ([`Infeasible`]).

/// A request that cannot be carried out whatever the conductances: an unknown channel, a wrong number of
/// targets, a non-finite target, an empty population.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetupError {
    /// A channel name that the model does not have.
    #[error("unknown channel `{name}` for the {model} model; its channels are {known}")]
    UnknownChannel {
        /// The name given.
        name: String,
        /// The model's short name.
        model: &'static str,
        /// The channel names the model has, comma-separated.
        known: String,
    },
    /// The same channel twice in a set.
    #[error("channel `{0}` is given twice; give distinct channels")]
    DuplicateChannel(String),
    /// The leak was put in the set of channels to solve for.
    #[error("the leak cannot be solved for: the DICs are normalised by g_leak")]
    Leak,
    /// A set with no channel or more than three.
    #[error("{0} channels to solve for; give 1 to 3")]
    SetSize(usize),
    /// A set whose size differs from the number of targets.
    #[error(
        "{channels} channel(s) to solve for but {targets} target(s); give one target (of g_f, g_s, g_u) per channel"
    )]
    CountMismatch {
        /// Number of channels in the set.
        channels: usize,
        /// Number of targets given.
        targets: usize,
    },
    /// A pair of the population generator with other than two channels.
    #[error("a pair needs exactly 2 channels, got {0}")]
    PairSize(usize),
    /// A target (or a standard deviation) that is NaN or infinite, or a negative standard deviation.
    #[error("{name} is {value}; expected a finite number{}", if *.sd { " >= 0" } else { "" })]
    BadTarget {
        /// Which value (`g_s`, `sd_g_u`, ...).
        name: &'static str,
        /// The value given.
        value: f64,
        /// Whether the value is a standard deviation (must be >= 0).
        sd: bool,
    },
    /// A conductance vector of the wrong length.
    #[error("{got} conductances given; the {model} model has {expected} channels")]
    Length {
        /// The model's short name.
        model: &'static str,
        /// Number of channels of the model.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A threshold voltage that is not finite.
    #[error("V_th is {0}; expected a finite voltage in mV")]
    BadVoltage(f64),
    /// A population of zero models was requested.
    #[error("the population size is 0; ask for at least 1 model")]
    EmptyPopulation,
    /// A per-model attempt budget of zero.
    #[error("the attempt budget is 0; allow at least 1 seed per model")]
    NoAttempts,
    /// No population settings for this model.
    #[error("no population settings for the model `{0}`")]
    NoSettings(String),
    /// A pair whose channels cannot move the requested DICs (its system is singular or ill-conditioned).
    #[error("the pair {pair} cannot move (g_s, g_u) at V_th = {vth} mV: {reason}")]
    UnsolvablePair {
        /// The pair, comma-separated.
        pair: String,
        /// The threshold voltage (mV).
        vth: f64,
        /// Why.
        reason: SolveError,
    },
    /// The seed population of the settings could not be solved (a settings bug).
    #[error("the seed population settings of the {model} model cannot be solved: {reason}")]
    BadSeedSettings {
        /// The model's short name.
        model: &'static str,
        /// Why.
        reason: SolveError,
    },
}

impl SetupError {
    /// The population setting this error is about, named as the Python package spells it (`pair`, `vth`,
    /// `n`, `max_attempts`, `g_s`, `g_u`, `sd_g_s`, `sd_g_u`), so that each front end can word it as its
    /// own flag or argument; `None` for errors about the model itself.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            SetupError::UnknownChannel { .. }
            | SetupError::DuplicateChannel(_)
            | SetupError::Leak
            | SetupError::PairSize(_)
            | SetupError::SetSize(_)
            | SetupError::UnsolvablePair { .. } => Some("pair"),
            SetupError::BadVoltage(_) => Some("vth"),
            SetupError::EmptyPopulation => Some("n"),
            SetupError::NoAttempts => Some("max_attempts"),
            SetupError::BadTarget { name, .. } => match *name {
                "g_s" => Some("g_s"),
                "g_u" => Some("g_u"),
                "sd_g_s" => Some("sd_g_s"),
                _ => Some("sd_g_u"),
            },
            _ => None,
        }
    }
}

/// A numerical failure for one model (never for a batch): the system is singular or ill-conditioned for
/// these conductances, or the calcium coupling did not converge.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// A zero pivot: the channels cannot move the requested DICs independently.
    #[error("the linear system is singular")]
    Singular,
    /// The condition number (of the column-equilibrated matrix, 1-norm) exceeds the limit.
    #[error("the linear system is ill-conditioned (condition number {0:.3e})")]
    IllConditioned(f64),
    /// A NaN or infinity in the system (e.g. a calcium concentration at the pole of the KCa gate).
    #[error("a non-finite value appeared in the system")]
    NonFinite,
    /// The Newton iteration on the calcium coupling did not reach the tolerance.
    #[error(
        "the calcium coupling did not converge in {iterations} Newton steps (residual {residual:.3e})"
    )]
    NotConverged {
        /// Newton steps taken.
        iterations: u32,
        /// Final residual (largest target error, relative to max(1, |target|)).
        residual: f64,
    },
}

/// A population target that could not be reached with non-negative conductances: one model exhausted its
/// attempt budget. Carries the statistics of every seed tried for that target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "cannot reach g_s = {g_s}, g_u = {g_u}{sd} with non-negative conductances: {pct:.1}% of the {attempts} seeds tried failed \
     ({negative} with a negative conductance, {numerical} numerical failures); model {model} found no valid seed in {max_attempts} attempts",
    sd = if self.sd_g_s > 0.0 || self.sd_g_u > 0.0 { format!(" (sd {}, {})", self.sd_g_s, self.sd_g_u) } else { String::new() },
    pct = self.failed_fraction() * 100.0
)]
pub struct Infeasible {
    /// Mean target g_s.
    pub g_s: f64,
    /// Mean target g_u.
    pub g_u: f64,
    /// Standard deviation of the g_s target (0 for a point target).
    pub sd_g_s: f64,
    /// Standard deviation of the g_u target.
    pub sd_g_u: f64,
    /// Seeds tried for this target.
    pub attempts: u64,
    /// Seeds that gave a negative conductance.
    pub negative: u64,
    /// Seeds whose solve failed (singular, ill-conditioned, not converged).
    pub numerical: u64,
    /// The first model (index) that exhausted its budget.
    pub model: usize,
    /// The per-model attempt budget.
    pub max_attempts: u32,
}

impl Infeasible {
    /// The fraction of the seeds tried that failed.
    pub fn failed_fraction(&self) -> f64 {
        if self.attempts == 0 {
            return 1.0;
        }
        (self.negative + self.numerical) as f64 / self.attempts as f64
    }
}

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An invalid request.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A numerical failure for one model.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// An unreachable population target.
    #[error(transparent)]
    Infeasible(#[from] Infeasible),
}
