//! A fast fixed-step simulator for the channel-table models, with on-the-fly spike detection.
//!
//! # Scheme
//! Staggered exponential integration (Rush-Larsen for the gates, exponential Euler for V and Ca):
//! gates and calcium live at half steps, V at whole steps. Each step
//! 1. looks up every voltage-dependent coefficient at `V_n` in a table on a fine voltage grid
//!    (linear interpolation), already in update form: `x_inf` and `exp(-dt / tau_x)`;
//! 2. advances every gate from `n - 1/2` to `n + 1/2` exactly for a frozen `V_n`
//!    (`x <- x_inf + (x - x_inf) exp(-dt / tau)`), then calcium, then the calcium-dependent gates;
//! 3. advances V from `n` to `n + 1` exactly for frozen conductances: V relaxes towards the
//!    conductance-weighted reversal potential `V_inf = (sum g E + I) / sum g` at rate `sum g`.
//!
//! Step 3 is what makes the scheme stable at the model's stiffness (g_Na up to 8000 mS/cm^2 relaxes V in
//! about 1e-4 ms): no explicit update of V is ever taken. The staggering makes the scheme second-order
//! accurate in dt; `docs/simulator.md` tabulates the error against the tight-tolerance reference.
//!
//! # Spikes
//! The reference rule (spec section 1) is applied on the fly, on the continuous trajectory: a spike is an
//! upward crossing of +10 mV at `t >= transient`, kept once V later falls below 0 mV. Crossing times are
//! linearly interpolated between steps, so they are not quantised to the step. No trace is stored unless
//! asked for.
//!
//! # Guard
//! A time constant with a pole inside the grid (DA's `tau_m_Na` near -38.727 mV, which turns zero and then
//! negative just above it) is replaced within 0.01 mV of the pole by the straight line between its values at
//! the window's ends, as the reference simulations do. The DIC code keeps the verbatim formula.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::model::{Gate, Gating, Model};
use crate::noise::{NOISE_CUTOFF_HZ, NoiseTrace};
use crate::vfn::VFn;

/// Most gates a channel may have.
const MAX_GATES: usize = 3;
/// Half-width of the window around a time-constant pole that the simulator bridges linearly (mV).
pub const POLE_GUARD_MV: f64 = 0.01;
/// Default integration step (ms), chosen by measurement against the reference (docs/simulator.md).
pub const DEFAULT_DT: f64 = 0.05;

const V_MIN: f64 = -150.0;
const V_MAX: f64 = 120.0;
/// Voltage step of the coefficient tables (mV).
const TABLE_STEP: f64 = 0.02;

/// Simulation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Integration step (ms).
    pub dt: f64,
    /// Simulated time from the initial state (ms).
    pub duration: f64,
    /// Initial part dropped from spikes and traces (ms).
    pub transient: f64,
    /// Standard deviation of the injected white current noise before filtering (uA/cm^2); 0 for none.
    pub noise_sigma: f64,
    /// Seed of the noise; each model of a batch derives its own stream from it and its index.
    pub seed: u64,
    /// Record V every `trace_every * dt` ms after the transient (`None`: no trace).
    pub trace_every: Option<usize>,
}

impl Settings {
    /// The model's reference defaults: its duration and transient, [`DEFAULT_DT`], no noise, no trace.
    pub fn for_model(model: &Model) -> Self {
        Self {
            dt: DEFAULT_DT,
            duration: model.default_duration,
            transient: model.default_transient,
            noise_sigma: 0.0,
            seed: 0,
            trace_every: None,
        }
    }

    /// Checks the settings, naming the offending one.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return Err(SettingsError(
                "dt",
                format!("{} ms; expected a step > 0", self.dt),
            ));
        }
        if !(self.duration > 0.0 && self.duration.is_finite()) {
            return Err(SettingsError(
                "duration",
                format!("{} ms; expected a duration > 0", self.duration),
            ));
        }
        if !(self.transient >= 0.0 && self.transient < self.duration) {
            return Err(SettingsError(
                "transient",
                format!(
                    "{} ms; expected 0 <= transient < duration ({} ms)",
                    self.transient, self.duration
                ),
            ));
        }
        if !(self.noise_sigma >= 0.0 && self.noise_sigma.is_finite()) {
            return Err(SettingsError(
                "noise",
                format!("{}; expected sigma >= 0", self.noise_sigma),
            ));
        }
        if self.trace_every == Some(0) {
            return Err(SettingsError(
                "trace-every",
                "0; expected at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// An invalid simulation setting: the setting's name and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid {0}: {1}")]
pub struct SettingsError(pub &'static str, pub String);

/// A recorded voltage trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// Time of each sample (ms).
    pub t: Vec<f64>,
    /// Membrane voltage of each sample (mV).
    pub v: Vec<f64>,
}

/// The outcome of one simulation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Spike times (ms since t = 0), after the transient.
    pub spikes: Vec<f64>,
    /// Voltage trace, when requested.
    pub trace: Option<Trace>,
    /// False if the state became non-finite (the run stopped there).
    pub finite: bool,
}

/// A model compiled for one step size: coefficient tables and the step program.
///
/// Internally the gate states are regrouped by kind so the hot loops run over contiguous arrays:
/// HH gates, then calcium-dependent gates, then kinetic schemes (two states each).
#[derive(Clone, Debug)]
pub struct Compiled<'m> {
    model: &'m Model,
    dt: f64,
    n_hh: usize,
    n_cad: usize,
    n_inst: usize,
    n_kin: usize,
    /// One row per grid voltage: `n_val` values `[inf_hh, inf_cad (voltage part), instant,
    /// (o_inf, i_inf) per kinetic]`, then `n_dec` half-step decays `[decay_hh, decay_cad, P(dt/2) (4) per
    /// kinetic]`. Gates advance by a half step at the start and by two half steps afterwards.
    table: Vec<f64>,
    n_val: usize,
    n_dec: usize,
    /// Half-dissociation constant of each calcium-dependent gate.
    cad_kd: Vec<f64>,
    /// Per channel: (index into the gate-value array, power) of each gate.
    /// Per channel: the gate-value slots of its gates, padded with the constant-one slot.
    factors: Vec<[usize; MAX_GATES]>,
    /// Exponent of each gate-value slot (the constant-one slot included).
    powers: Vec<i32>,
    /// Channels with a calcium-dependent gate (their open probability is refreshed after calcium).
    cad_channels: Vec<usize>,
    reversal: Vec<f64>,
    /// Calcium: (alpha, beta, half-step decay, carrier channels).
    ca: Option<(f64, f64, f64, Vec<usize>)>,
    /// Where each internal state comes from in the model's state vector.
    init_map: Vec<usize>,
}

/// Evaluates a time constant, bridging a pole linearly (see the module docs).
fn guarded_tau(tau: &VFn, v: f64) -> f64 {
    if let Some(p) = tau.pole()
        && (v - p).abs() < POLE_GUARD_MV
    {
        let (a, b) = (tau.at(p - POLE_GUARD_MV), tau.at(p + POLE_GUARD_MV));
        return a + (b - a) * (v - (p - POLE_GUARD_MV)) / (2.0 * POLE_GUARD_MV);
    }
    tau.at(v)
}

fn lerp_into(out: &mut [f64], table: &[f64], i: usize, f: f64) {
    let n = out.len();
    let (r0, r1) = table[i * n..(i + 2) * n].split_at(n);
    for ((o, a), b) in out.iter_mut().zip(r0).zip(r1) {
        *o = a + f * (b - a);
    }
}

impl<'m> Compiled<'m> {
    /// Compiles `model` for the step `dt` (ms).
    pub fn new(model: &'m Model, dt: f64) -> Self {
        let gates: Vec<(usize, &Gate)> = model
            .gate_slots()
            .into_iter()
            .map(|s| {
                (
                    s.state.unwrap_or(0),
                    &model.channels[s.channel].gates[s.gate],
                )
            })
            .collect();
        let of_kind = |pred: fn(&Gating) -> bool| -> Vec<(usize, &Gate)> {
            gates
                .iter()
                .copied()
                .filter(|(_, g)| pred(&g.gating))
                .collect()
        };
        let hh = of_kind(|g| matches!(g, Gating::Hh { .. }));
        let cad = of_kind(|g| matches!(g, Gating::CaDependent { .. }));
        let inst = of_kind(|g| matches!(g, Gating::Instant { .. }));
        let kin = of_kind(|g| matches!(g, Gating::Kinetic { .. }));

        // Gate-value array: [hh, cad, instant, kinetic open fractions]; map each gate to its slot.
        let order: Vec<&Gate> = hh
            .iter()
            .chain(&cad)
            .chain(&inst)
            .chain(&kin)
            .map(|(_, g)| *g)
            .collect();
        let one = order.len();
        let factors = model
            .channels
            .iter()
            .map(|ch| {
                assert!(
                    ch.gates.len() <= MAX_GATES,
                    "channel {} has more than {MAX_GATES} gates",
                    ch.name
                );
                let mut f = [one; MAX_GATES];
                for (slot, g) in f.iter_mut().zip(ch.gates) {
                    *slot = order
                        .iter()
                        .position(|o| std::ptr::eq(*o, g))
                        .expect("gate listed");
                }
                f
            })
            .collect();
        let powers = order.iter().map(|g| g.power).chain([1]).collect();
        let mut init_map = vec![0];
        init_map.extend(hh.iter().chain(&cad).map(|(s, _)| *s));
        for (s, _) in &kin {
            init_map.extend([*s, *s + 1]);
        }
        if model.calcium.is_some() {
            init_map.push(model.n_states() - 1);
        }

        let inf_tau = |g: &Gate| match g.gating {
            Gating::Hh { inf, tau } | Gating::CaDependent { inf, tau, .. } => (inf, tau),
            _ => unreachable!("only HH-like gates have inf and tau"),
        };
        let rates = |g: &Gate, v: f64| match g.gating {
            Gating::Kinetic { a0, b0, ai, bi, .. } => [a0.at(v), b0.at(v), ai.at(v), bi.at(v)],
            _ => unreachable!("only kinetic gates have rates"),
        };
        let n_rows = ((V_MAX - V_MIN) / TABLE_STEP).round() as usize + 2;
        let grid = |r: usize| V_MIN + r as f64 * TABLE_STEP;

        let mut table = Vec::new();
        for r in 0..n_rows {
            let v = grid(r);
            table.extend(hh.iter().chain(&cad).map(|(_, g)| inf_tau(g).0.at(v)));
            table.extend(inst.iter().map(|(_, g)| match g.gating {
                Gating::Instant { inf } => inf.at(v),
                _ => unreachable!(),
            }));
            for (_, g) in &kin {
                let p = kinetic_propagator(rates(g, v), 0.0);
                table.extend([p[0], p[1]]);
            }
            table.extend(
                hh.iter()
                    .chain(&cad)
                    .map(|(_, g)| (-0.5 * dt / guarded_tau(&inf_tau(g).1, v)).exp()),
            );
            for (_, g) in &kin {
                table.extend_from_slice(&kinetic_propagator(rates(g, v), 0.5 * dt)[2..]);
            }
        }
        let (n_hh, n_cad, n_inst, n_kin) = (hh.len(), cad.len(), inst.len(), kin.len());
        Self {
            model,
            n_val: n_hh + n_cad + n_inst + 2 * n_kin,
            n_dec: n_hh + n_cad + 4 * n_kin,
            cad_kd: cad
                .iter()
                .map(|(_, g)| match g.gating {
                    Gating::CaDependent { kd, .. } => kd,
                    _ => unreachable!(),
                })
                .collect(),
            ca: model.calcium.map(|c| {
                (
                    c.alpha,
                    c.beta,
                    (-0.5 * dt / c.tau).exp(),
                    c.carriers.to_vec(),
                )
            }),
            dt,
            n_hh,
            n_cad,
            n_inst,
            n_kin,
            table,
            cad_channels: model
                .channels
                .iter()
                .enumerate()
                .filter(|(_, ch)| {
                    ch.gates
                        .iter()
                        .any(|g| matches!(g.gating, Gating::CaDependent { .. }))
                })
                .map(|(i, _)| i)
                .collect(),
            factors,
            powers,
            reversal: model.channels.iter().map(|c| c.reversal).collect(),
            init_map,
        }
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The step (ms).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// `gp[k] = gv[k]^power[k]` for the slots `range`.
    #[inline]
    fn powers_into(&self, gv: &[f64], gp: &mut [f64], range: std::ops::Range<usize>) {
        for ((p, &x), &n) in gp[range.clone()]
            .iter_mut()
            .zip(&gv[range.clone()])
            .zip(&self.powers[range])
        {
            *p = match n {
                1 => x,
                2 => x * x,
                3 => x * x * x,
                4 => {
                    let x2 = x * x;
                    x2 * x2
                }
                n => x.powi(n),
            };
        }
    }

    /// The open probability of channel `c` from the gate powers `gp`.
    #[inline]
    fn open_probability(&self, c: usize, gp: &[f64]) -> f64 {
        self.factors[c].iter().map(|&k| gp[k]).product()
    }

    /// Open probabilities of every channel from the gate values (`gp` receives the gate powers).
    #[inline]
    fn open_all(&self, gv: &[f64], gp: &mut [f64], open: &mut [f64]) {
        self.powers_into(gv, gp, 0..gv.len());
        for (c, o) in open.iter_mut().enumerate() {
            *o = self.open_probability(c, gp);
        }
    }

    /// The total calcium current for open probabilities `open` at voltage `v` (0 without calcium).
    #[inline]
    fn calcium_current(&self, g: &[f64], open: &[f64], v: f64) -> f64 {
        self.ca.as_ref().map_or(0.0, |(_, _, _, carriers)| {
            carriers
                .iter()
                .map(|&c| g[c] * open[c] * (v - self.reversal[c]))
                .sum()
        })
    }

    /// Simulates one model with conductances `g` from the default initial state.
    /// `noise` is the injected current, if any. Stops early (with what it has) when `cancel` is set.
    pub fn run(
        &self,
        g: &[f64],
        settings: &Settings,
        noise: Option<&NoiseTrace>,
        cancel: &AtomicBool,
    ) -> Outcome {
        assert_eq!(g.len(), self.factors.len(), "one conductance per channel");
        let u0 = self.model.initial_state();
        let mut v = u0[0];
        let n_gate = self.n_hh + self.n_cad;
        // Gate values: [hh, cad, instant, kinetic open]; kinetic inactivated fractions apart.
        let mut gv = vec![0.0; n_gate + self.n_inst + self.n_kin];
        let mut inact = vec![0.0; self.n_kin];
        for k in 0..n_gate {
            gv[k] = u0[self.init_map[1 + k]];
        }
        for k in 0..self.n_kin {
            gv[n_gate + self.n_inst + k] = u0[self.init_map[1 + n_gate + 2 * k]];
            inact[k] = u0[self.init_map[2 + n_gate + 2 * k]];
        }
        let mut ca = if self.ca.is_some() {
            u0[u0.len() - 1]
        } else {
            0.0
        };

        let mut row = vec![0.0; self.n_val + self.n_dec];
        // Open probabilities, kept from one step to the next: the calcium current at n - 1/2 reads them.
        // (Instantaneous gates are still 0 here; no calcium carrier has one.)
        let mut open = vec![0.0; self.factors.len()];
        // Gate powers, with the constant-one slot at the end.
        let mut gp = vec![1.0; gv.len() + 1];
        self.open_all(&gv, &mut gp, &mut open);
        let mut trace = settings.trace_every.map(|_| Trace::default());
        let trace_dt = settings
            .trace_every
            .map_or(f64::INFINITY, |k| k as f64 * self.dt());
        let mut next_sample = settings.transient;
        let mut spikes = Vec::new();
        let mut pending: Vec<f64> = Vec::new();
        let transient = settings.transient;
        let inv_h = 1.0 / TABLE_STEP;
        let last_row = (self.table.len() / row.len() - 2) as f64;
        let mut finite = true;
        let h = self.dt;
        let n_steps = (settings.duration / h).round() as u64;

        for n in 0..n_steps {
            if n % 65_536 == 0 && cancel.load(Ordering::Relaxed) {
                break;
            }
            // Gates lag V by half a step: the first step moves them by half a step only.
            let first = n == 0;
            let t = n as f64 * h;
            // 1. Coefficients at V_n.
            let x = ((v - V_MIN) * inv_h).clamp(0.0, last_row);
            let i = x as usize;
            let f = x - i as f64;
            lerp_into(&mut row, &self.table, i, f);
            let (val, dec) = row.split_at_mut(self.n_val);
            // A full step is two half steps: square the half-step decays (and propagators); the first step
            // moves the gates by half a step only, to stagger them.
            if !first {
                let (d_gate, d_kin) = dec.split_at_mut(n_gate);
                for d in d_gate.iter_mut() {
                    *d *= *d;
                }
                for p in d_kin.chunks_exact_mut(4) {
                    let q = [p[0], p[1], p[2], p[3]];
                    p[0] = q[0] * q[0] + q[1] * q[2];
                    p[1] = q[0] * q[1] + q[1] * q[3];
                    p[2] = q[2] * q[0] + q[3] * q[2];
                    p[3] = q[2] * q[1] + q[3] * q[3];
                }
            }
            // 2. Gates, then calcium, then calcium-dependent gates. Calcium and the gates it drives live on the
            //    same half-step grid, so each sees the other at the interval's midpoint (time n): the mean of
            //    the values at n - 1/2 and n + 1/2 keeps the scheme second order.
            let i_ca_old = self.calcium_current(g, &open, v);
            for ((x, &inf), &d) in gv[..self.n_hh]
                .iter_mut()
                .zip(&val[..self.n_hh])
                .zip(&dec[..self.n_hh])
            {
                *x = inf + (*x - inf) * d;
            }
            for (k, ia) in inact.iter_mut().enumerate() {
                let o = n_gate + self.n_inst + k;
                let (o_inf, i_inf) = (val[o + k], val[o + k + 1]);
                let p = &dec[n_gate + 4 * k..n_gate + 4 * k + 4];
                let (d_o, d_i) = (gv[o] - o_inf, *ia - i_inf);
                gv[o] = o_inf + p[0] * d_o + p[1] * d_i;
                *ia = i_inf + p[2] * d_o + p[3] * d_i;
            }
            if self.n_inst > 0 {
                gv[n_gate..n_gate + self.n_inst]
                    .copy_from_slice(&val[n_gate..n_gate + self.n_inst]);
            }
            self.open_all(&gv, &mut gp, &mut open);
            if let Some((alpha, beta, half, _)) = &self.ca {
                let i_ca = 0.5 * (i_ca_old + self.calcium_current(g, &open, v));
                let ca_inf = beta - alpha * i_ca;
                let decay = if first { *half } else { half * half };
                let ca_old = ca;
                ca = ca_inf + (ca - ca_inf) * decay;
                let ca_mid = 0.5 * (ca_old + ca);
                for k in self.n_hh..n_gate {
                    let inf = ca_mid / (ca_mid + self.cad_kd[k - self.n_hh]) * val[k];
                    gv[k] = inf + (gv[k] - inf) * dec[k];
                }
                self.powers_into(&gv, &mut gp, self.n_hh..n_gate);
                for &c in &self.cad_channels {
                    open[c] = self.open_probability(c, &gp);
                }
            }
            // 3. V to n + 1 with frozen conductances.
            let mut g_tot = 0.0;
            let mut g_e = 0.0;
            for ((&gc, &o), &e) in g.iter().zip(&open).zip(&self.reversal) {
                let gc = gc * o;
                g_tot += gc;
                g_e += gc * e;
            }
            let i_ext = noise.map_or(0.0, |nz| nz.at(t + 0.5 * h));
            let v_new = if g_tot > 1e-12 {
                let v_inf = (g_e + i_ext) / g_tot;
                v_inf + (v - v_inf) * (-g_tot * h).exp()
            } else {
                v + i_ext * h
            };
            if !v_new.is_finite() {
                finite = false;
                break;
            }
            let t_new = t + h;
            // Spikes: upward +10 mV crossings after the transient, confirmed by a fall below 0 mV.
            if v <= 10.0 && v_new > 10.0 {
                let tc = t + h * (10.0 - v) / (v_new - v);
                if tc >= transient {
                    pending.push(tc);
                }
            } else if v >= 0.0 && v_new < 0.0 && !pending.is_empty() {
                spikes.append(&mut pending);
            }
            if let Some(tr) = trace.as_mut() {
                while next_sample <= t_new + 1e-9 {
                    let w = ((next_sample - t) / h).clamp(0.0, 1.0);
                    tr.t.push(next_sample);
                    tr.v.push(v + w * (v_new - v));
                    next_sample = transient + tr.t.len() as f64 * trace_dt;
                }
            }
            v = v_new;
        }
        Outcome {
            spikes,
            trace,
            finite,
        }
    }
}

/// The exact one-step solution of the C-O-I scheme for frozen rates `[a0, b0, ai, bi]`:
/// `[o_inf, i_inf, P00, P01, P10, P11]` with `x(t + dt) = x_inf + P (x(t) - x_inf)` and `P = exp(A dt)`.
fn kinetic_propagator([a0, b0, ai, bi]: [f64; 4], dt: f64) -> [f64; 6] {
    // do/dt = a0 (1 - o - i) + bi i - (ai + b0) o;  di/dt = ai o - bi i.
    let a = [[-(a0 + ai + b0), bi - a0], [ai, -bi]];
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    // Steady state: A x = -(a0, 0).
    let o_inf = a0 * bi / det;
    let i_inf = a0 * ai / det;
    // Eigenvalues are real (the discriminant is a sum of squares for these rate signs).
    let tr = a[0][0] + a[1][1];
    let disc = (tr * tr - 4.0 * det).max(0.0).sqrt();
    let (l1, l2) = (0.5 * (tr + disc), 0.5 * (tr - disc));
    // exp(A dt) = e^{l2 dt} [I + (A - l2 I) (e^{(l1 - l2) dt} - 1) / (l1 - l2)], stable as l1 -> l2.
    let d = l1 - l2;
    let c = if d.abs() * dt < 1e-12 {
        dt
    } else {
        (d * dt).exp_m1() / d
    };
    let e2 = (l2 * dt).exp();
    let p00 = e2 * (1.0 + (a[0][0] - l2) * c);
    let p01 = e2 * a[0][1] * c;
    let p10 = e2 * a[1][0] * c;
    let p11 = e2 * (1.0 + (a[1][1] - l2) * c);
    [o_inf, i_inf, p00, p01, p10, p11]
}

/// Derives the noise seed of model `index` of a batch from the batch seed (SplitMix64 finaliser), so that
/// a model's noise does not depend on the thread that simulates it or on the batch's order of work.
pub fn stream_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed
        ^ index
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Simulates one model (see [`Compiled::run`]), drawing its noise from `settings.seed` and `index`.
pub fn simulate_one(
    compiled: &Compiled,
    g: &[f64],
    settings: &Settings,
    index: u64,
    cancel: &AtomicBool,
) -> Outcome {
    let noise = (settings.noise_sigma > 0.0).then(|| {
        NoiseTrace::new(
            settings.noise_sigma,
            compiled.model().noise_dt,
            settings.duration,
            NOISE_CUTOFF_HZ,
            stream_seed(settings.seed, index),
        )
    });
    compiled.run(g, settings, noise.as_ref(), cancel)
}

/// Simulates a batch of models in parallel (rayon). The results are in input order and identical whatever
/// the number of threads. `on_done` is called once per finished model (for progress bars).
pub fn simulate_batch<F>(
    model: &Model,
    conductances: &[Vec<f64>],
    settings: &Settings,
    cancel: &AtomicBool,
    on_done: F,
) -> Result<Vec<Outcome>, SettingsError>
where
    F: Fn() + Sync,
{
    settings.validate()?;
    let compiled = Compiled::new(model, settings.dt);
    Ok(conductances
        .par_iter()
        .enumerate()
        .map(|(i, g)| {
            let out = simulate_one(&compiled, g, settings, i as u64, cancel);
            on_done();
            out
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DA;
    use crate::model::Model;

    #[test]
    fn da_sodium_time_constant_is_guarded_through_its_pole() {
        let Gating::Hh { tau, .. } = DA.channels[0].gates[0].gating else {
            panic!("m_Na is an HH gate")
        };
        let pole = tau.pole().expect("tau_m_Na has a pole");
        assert!((pole - -38.72723673792558).abs() < 1e-12);
        // The verbatim formula turns negative just above the pole...
        assert!(tau.at(pole + 1e-3) < 0.0);
        // ...the guarded one stays positive and finite across a fine sweep through it, and so do the
        // simulator's decay factors.
        for k in -5000..=5000 {
            let v = pole + k as f64 * 1e-5;
            let t = guarded_tau(&tau, v);
            assert!(t.is_finite() && t > 0.1 && t < 0.4, "tau({v}) = {t}");
            let d = (-0.025 / t).exp();
            assert!(d.is_finite() && (0.0..1.0).contains(&d));
        }
        // Outside the window it is the verbatim function.
        assert_eq!(guarded_tau(&tau, -38.75), tau.at(-38.75));
    }

    #[test]
    fn kinetic_propagator_matches_the_scheme() {
        let Gating::Kinetic { a0, b0, ai, bi, .. } = DA.channels[4].gates[0].gating else {
            panic!()
        };
        for v in [-90.0, -55.5, -20.0, 30.0] {
            let r = [a0.at(v), b0.at(v), ai.at(v), bi.at(v)];
            let [o_inf, _, p00, p01, p10, p11] = kinetic_propagator(r, 1e-6);
            // The steady state is the model's o_inf.
            let expected = Model::gate_inf(&DA.channels[4].gates[0], v, 0.0);
            assert!((o_inf - expected).abs() <= 1e-12 * expected.abs());
            // exp(A h) = I + A h + O(h^2).
            let a = [[-(r[0] + r[2] + r[1]), r[3] - r[0]], [r[2], -r[3]]];
            for (p, e) in [
                (p00, 1.0 + a[0][0] * 1e-6),
                (p01, a[0][1] * 1e-6),
                (p10, a[1][0] * 1e-6),
                (p11, 1.0 + a[1][1] * 1e-6),
            ] {
                assert!((p - e).abs() < 1e-11, "v {v}: {p} vs {e}");
            }
            // Semigroup: P(2h) = P(h)^2.
            let one = kinetic_propagator(r, 0.5);
            let two = kinetic_propagator(r, 1.0);
            let sq00 = one[2] * one[2] + one[3] * one[4];
            assert!((sq00 - two[2]).abs() < 1e-12);
        }
    }

    #[test]
    fn settings_are_validated_by_name() {
        let mut s = Settings::for_model(&DA);
        assert!(s.validate().is_ok());
        s.dt = 0.0;
        assert_eq!(s.validate().unwrap_err().0, "dt");
        s.dt = 0.05;
        s.transient = s.duration;
        assert_eq!(s.validate().unwrap_err().0, "transient");
    }
}
