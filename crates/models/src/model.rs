//! Channels, gates and models declared as data.
//!
//! A model is a table of [`Channel`]s; each channel lists its [`Gate`]s (steady state, time constant, power)
//! and its reversal potential. The exact right-hand side ([`Model::rhs`]), the fast simulator
//! ([`crate::sim`]) and the DIC sensitivities (crate `spikepop-dics`) are all computed from this one
//! declaration, so adding a model means writing a channel table, not formulas.

use crate::recipe::{PopulationSettings, Training};
use crate::vfn::{Real, VFn};

/// How a gate's open fraction evolves.
// Gates are declared once, in static tables: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gating {
    /// Hodgkin-Huxley gate: `dx/dt = (inf(V) - x) / tau(V)`.
    Hh {
        /// Steady state `x_inf(V)`.
        inf: VFn,
        /// Time constant `tau_x(V)` (ms).
        tau: VFn,
    },
    /// Calcium-dependent gate: `x_inf(V, Ca) = Ca / (Ca + kd) * inf(V)` (STG KCa).
    CaDependent {
        /// Voltage part of the steady state.
        inf: VFn,
        /// Half-activation calcium concentration (uM).
        kd: f64,
        /// Time constant (ms).
        tau: VFn,
    },
    /// Instantaneous gate with no state: `x = inf(V)` (NMDA magnesium block).
    Instant {
        /// The gate value.
        inf: VFn,
    },
    /// Three-state kinetic scheme C <-> O <-> I whose open fraction O is the gate (DA ERG):
    /// `dO/dt = a0 C + bi I - (ai + b0) O`, `dI/dt = ai O - bi I`, `C = 1 - O - I`.
    Kinetic {
        /// Closed to open rate (1/ms).
        a0: VFn,
        /// Open to closed rate.
        b0: VFn,
        /// Open to inactivated rate.
        ai: VFn,
        /// Inactivated to open rate.
        bi: VFn,
        /// Initial open fraction as a function of the initial voltage.
        init_open: VFn,
        /// Initial inactivated fraction as a function of the initial voltage.
        init_inactivated: VFn,
    },
}

impl Gating {
    /// Number of state variables the gate carries.
    pub const fn n_states(&self) -> usize {
        match self {
            Gating::Hh { .. } | Gating::CaDependent { .. } => 1,
            Gating::Instant { .. } => 0,
            Gating::Kinetic { .. } => 2,
        }
    }
}

/// How a gate's feedback is split between the fast, slow and ultraslow timescales in the DICs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DicTimescale {
    /// By the gate's own time constant, log-interpolated between the model's reference timescales.
    OwnTau,
    /// Forced weights (`w_fs`, `w_su`), as the reference does for DA's ERG (0, 0) and NMDA (1, 1).
    Forced {
        /// Weight of the fast part against the slow one.
        w_fs: f64,
        /// Weight of the fast-and-slow part against the ultraslow one.
        w_su: f64,
    },
}

/// One gate of a channel: `G = prod x^power`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gate {
    /// Name of the gate's state, e.g. `m_Na`.
    pub name: &'static str,
    /// Exponent of the gate in the channel's open probability.
    pub power: i32,
    /// Kinetics.
    pub gating: Gating,
    /// Timescale assignment for the DICs.
    pub dic: DicTimescale,
}

/// An ionic channel: `I = g * prod(x^p) * (V - E)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Channel {
    /// Short name (`Na`, `KCa`, `leak`); the conductance column is `g_<name>`.
    pub name: &'static str,
    /// The column name of its maximal conductance in every CSV (`g_Na`).
    pub column: &'static str,
    /// Reversal potential (mV).
    pub reversal: f64,
    /// Gates; empty for a leak.
    pub gates: &'static [Gate],
}

/// Intracellular calcium: `dCa/dt = (-alpha * sum(I_carriers) - Ca + beta) / tau`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calcium {
    /// Time constant (ms).
    pub tau: f64,
    /// Current-to-concentration factor.
    pub alpha: f64,
    /// Resting concentration term (uM).
    pub beta: f64,
    /// Indices of the channels that carry calcium.
    pub carriers: &'static [usize],
    /// Initial concentration (uM).
    pub initial: f64,
}

/// A reference timescale for the DICs: a gate's time constant, or a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TauRef {
    /// The time constant of gate `gate` of channel `channel`.
    Gate {
        /// Channel index.
        channel: usize,
        /// Gate index within the channel.
        gate: usize,
    },
    /// A constant time constant (ms).
    Const(f64),
}

/// A conductance-based neuron model.
#[derive(Debug, PartialEq)]
pub struct Model {
    /// Short name (`stg`, `da`).
    pub name: &'static str,
    /// Long name for humans.
    pub title: &'static str,
    /// The channels, in the conductance order of every CSV; the leak is one of them.
    pub channels: &'static [Channel],
    /// Calcium dynamics, if the model has them.
    pub calcium: Option<Calcium>,
    /// Initial membrane voltage (mV); gates start at their steady state there.
    pub v0: f64,
    /// The DIC reference timescales (fast, slow, ultraslow).
    pub timescales: [TauRef; 3],
    /// Default threshold voltage at which DICs are evaluated (mV).
    pub default_vth: f64,
    /// Default simulated duration (ms).
    pub default_duration: f64,
    /// Default transient dropped from the output (ms).
    pub default_transient: f64,
    /// Sampling step of the reference's noise grid (ms): current noise is drawn on this grid.
    pub noise_dt: f64,
    /// Default integration step (ms): [`crate::sim::DEFAULT_DT`] unless the model needs a finer one.
    pub default_dt: f64,
    /// A spike is an upward crossing of this voltage (mV; the reference's +10) ...
    pub spike_threshold: f64,
    /// ... confirmed by a later fall below this one (mV; the reference's 0).
    pub spike_reset: f64,
    /// How its populations are generated (spec `models.md` 6.2, 6.3); `None` when it has no recipe.
    pub population: Option<PopulationSettings>,
    /// The range of target DICs its training data and predictor cover.
    pub training: Training,
}

/// Where one gate's state lives in the state vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateSlot {
    /// Channel index.
    pub channel: usize,
    /// Gate index within the channel.
    pub gate: usize,
    /// Index of the gate's first state variable in the state vector (`None` for instantaneous gates).
    pub state: Option<usize>,
}

impl Model {
    /// Number of conductances (channels, leak included).
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }

    /// The conductance column names in CSV order (`g_Na`, ...).
    pub fn conductance_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.channels.iter().map(|c| c.column)
    }

    /// Index of a channel by its short name (`Na`) or column name (`g_Na`).
    pub fn channel_index(&self, name: &str) -> Option<usize> {
        self.channels
            .iter()
            .position(|c| c.name == name || c.column == name)
    }

    /// The index of the leak channel (the one without gates).
    pub fn leak_index(&self) -> usize {
        self.channels
            .iter()
            .position(|c| c.gates.is_empty())
            .expect("every model has a leak channel")
    }

    /// Layout of the gates in the state vector `[V, gates in channel order..., Ca]`.
    pub fn gate_slots(&self) -> Vec<GateSlot> {
        let mut next = 1;
        let mut slots = Vec::new();
        for (ci, ch) in self.channels.iter().enumerate() {
            for (gi, g) in ch.gates.iter().enumerate() {
                let n = g.gating.n_states();
                slots.push(GateSlot {
                    channel: ci,
                    gate: gi,
                    state: (n > 0).then_some(next),
                });
                next += n;
            }
        }
        slots
    }

    /// Number of state variables: V, the gate states and Ca when present.
    pub fn n_states(&self) -> usize {
        1 + self
            .channels
            .iter()
            .flat_map(|c| c.gates)
            .map(|g| g.gating.n_states())
            .sum::<usize>()
            + usize::from(self.calcium.is_some())
    }

    /// Names of the state variables, in state-vector order.
    pub fn state_names(&self) -> Vec<String> {
        let mut names = vec!["V".to_string()];
        for g in self.channels.iter().flat_map(|c| c.gates) {
            match g.gating {
                Gating::Instant { .. } => {}
                Gating::Kinetic { .. } => {
                    names.push(g.name.to_string());
                    names.push(g.name.replacen("o_", "i_", 1));
                }
                _ => names.push(g.name.to_string()),
            }
        }
        if self.calcium.is_some() {
            names.push("Ca".to_string());
        }
        names
    }

    /// The steady-state value of a gate at voltage `v` and calcium `ca` (value of the open fraction for a
    /// kinetic scheme). Generic, so derivatives come from dual numbers.
    pub fn gate_inf<D: Real>(gate: &Gate, v: D, ca: D) -> D {
        match gate.gating {
            Gating::Hh { inf, .. } | Gating::Instant { inf } => inf.eval(v),
            Gating::CaDependent { inf, kd, .. } => ca / (ca + kd) * inf.eval(v),
            Gating::Kinetic { a0, b0, ai, bi, .. } => {
                let (a0, b0, ai, bi) = (a0.eval(v), b0.eval(v), ai.eval(v), bi.eval(v));
                a0 * bi / (a0 * (ai + bi) + b0 * bi)
            }
        }
    }

    /// The time constant of a gate at `v`, if it has one.
    pub fn gate_tau(gate: &Gate, v: f64) -> Option<f64> {
        match gate.gating {
            Gating::Hh { tau, .. } | Gating::CaDependent { tau, .. } => Some(tau.at(v)),
            _ => None,
        }
    }

    /// A reference DIC timescale at `v` (ms).
    pub fn tau_ref(&self, r: TauRef, v: f64) -> f64 {
        match r {
            TauRef::Const(t) => t,
            TauRef::Gate { channel, gate } => {
                Self::gate_tau(&self.channels[channel].gates[gate], v)
                    .expect("timescale gate has a tau")
            }
        }
    }

    /// The default initial state: `V = v0`, gates at steady state there (kinetic schemes at their declared
    /// initial values), calcium at its initial value.
    pub fn initial_state(&self) -> Vec<f64> {
        let v = self.v0;
        let ca = self.calcium.map_or(0.0, |c| c.initial);
        let mut u = vec![v];
        for g in self.channels.iter().flat_map(|c| c.gates) {
            match g.gating {
                Gating::Instant { .. } => {}
                Gating::Kinetic {
                    init_open,
                    init_inactivated,
                    ..
                } => {
                    u.push(init_open.at(v));
                    u.push(init_inactivated.at(v));
                }
                _ => u.push(Self::gate_inf(g, v, ca)),
            }
        }
        if self.calcium.is_some() {
            u.push(ca);
        }
        u
    }

    /// The open probability of each channel for state `u` (gates taken from the state; instantaneous
    /// gates evaluated at V).
    fn open_probabilities(&self, u: &[f64], out: &mut [f64]) {
        let v = u[0];
        let mut s = 1;
        for (ci, ch) in self.channels.iter().enumerate() {
            let mut p = 1.0;
            for g in ch.gates {
                let x = match g.gating {
                    Gating::Instant { inf } => inf.at(v),
                    _ => u[s],
                };
                s += g.gating.n_states();
                p *= x.powi(g.power);
            }
            out[ci] = p;
        }
    }

    /// The exact right-hand side `du/dt` of the model with maximal conductances `g` at state `u`, with an
    /// injected current `i_ext` (uA/cm^2). Used for validation and as the definition the simulator follows.
    pub fn rhs(&self, g: &[f64], u: &[f64], i_ext: f64, du: &mut [f64]) {
        assert_eq!(g.len(), self.n_channels(), "one conductance per channel");
        assert_eq!(u.len(), self.n_states(), "state length");
        let v = u[0];
        let ca = self.calcium.map_or(0.0, |_| u[u.len() - 1]);
        let mut open = vec![0.0; self.n_channels()];
        self.open_probabilities(u, &mut open);
        let currents: Vec<f64> = self
            .channels
            .iter()
            .enumerate()
            .map(|(i, ch)| g[i] * open[i] * (v - ch.reversal))
            .collect();
        du[0] = i_ext - currents.iter().sum::<f64>();
        let mut s = 1;
        for g in self.channels.iter().flat_map(|c| c.gates) {
            match g.gating {
                Gating::Hh { inf, tau } => du[s] = (inf.at(v) - u[s]) / tau.at(v),
                Gating::CaDependent { tau, .. } => {
                    du[s] = (Self::gate_inf(g, v, ca) - u[s]) / tau.at(v)
                }
                Gating::Instant { .. } => {}
                Gating::Kinetic { a0, b0, ai, bi, .. } => {
                    let (o, i) = (u[s], u[s + 1]);
                    let (a0, b0, ai, bi) = (a0.at(v), b0.at(v), ai.at(v), bi.at(v));
                    du[s] = a0 * (1.0 - o - i) + bi * i - o * (ai + b0);
                    du[s + 1] = ai * o - bi * i;
                }
            }
            s += g.gating.n_states();
        }
        if let Some(c) = self.calcium {
            let i_ca: f64 = c.carriers.iter().map(|&k| currents[k]).sum();
            du[s] = (-c.alpha * i_ca - ca + c.beta) / c.tau;
        }
    }
}
