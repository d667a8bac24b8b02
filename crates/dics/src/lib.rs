//! Dynamic Input Conductances (DICs), threshold voltage, compensation and exact population generation.
//!
//! - [`Kernel`]: the DIC sensitivities of a model at one voltage, computed from the model crate's channel
//!   declarations (gate derivatives by dual numbers), with the voltage-only work done once; per
//!   conductance vector only the calcium-dependent channels are recomputed. [`Kernel::dics`] gives
//!   (g_f, g_s, g_u), normalised by the cell's g_leak.
//! - [`find_vth`] / [`VthFinder`]: the first downward zero crossing of g_t(V).
//! - [`Problem`] / [`compensate()`]: solve a set of channels for target DICs, the calcium coupling to
//!   convergence (Newton) or on the reference's fixed-point schedule.
//! - [`Generator`]: seed population, then neuromodulation to target (g_s, g_u); exactly N models with
//!   non-negative conductances, reproducible for a seed whatever the number of threads.
//!
//! Conventions, formulas and the differences from the reference are in `docs/dics.md`.
#![deny(missing_docs)]
// Index loops over 3-row, n-channel sensitivity tables and 3x3 matrices read like the formulas.
#![allow(clippy::needless_range_loop)]

pub mod compensate;
pub mod error;
pub mod kernel;
pub mod linalg;
pub mod population;
pub mod vth;

pub use compensate::{ChannelSet, Problem, Solution, SolveMode, Targets, compensate};
pub use error::{Error, Infeasible, SetupError, SolveError};
pub use kernel::{
    Dics, GateWeights, Kernel, MAX_CHANNELS, Sensitivities, Timescale, dics, sensitivities,
    sensitivities_direct, w_factor,
};
pub use population::{
    Generator, GeneratorOptions, Population, PopulationSettings, TargetSpec, generate, settings,
};
pub use vth::{VthFinder, default_vth, find_vth};
