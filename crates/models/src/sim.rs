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
/// Models simulated together in lock-step by [`simulate_batch`].
pub const LANES: usize = 4;
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

    /// `gp[k] = gv[k]^power[k]` for the slots `range`, lane by lane.
    #[inline]
    fn powers_into<const L: usize>(
        &self,
        gv: &[[f64; L]],
        gp: &mut [[f64; L]],
        range: std::ops::Range<usize>,
    ) {
        for ((p, x), &n) in gp[range.clone()]
            .iter_mut()
            .zip(&gv[range.clone()])
            .zip(&self.powers[range])
        {
            match n {
                1 => *p = *x,
                2 => *p = std::array::from_fn(|l| x[l] * x[l]),
                3 => *p = std::array::from_fn(|l| x[l] * x[l] * x[l]),
                4 => {
                    *p = std::array::from_fn(|l| {
                        let x2 = x[l] * x[l];
                        x2 * x2
                    })
                }
                n => *p = std::array::from_fn(|l| x[l].powi(n)),
            }
        }
    }

    /// The open probability of channel `c` from the gate powers `gp`, lane by lane.
    #[inline]
    fn open_probability<const L: usize>(&self, c: usize, gp: &[[f64; L]]) -> [f64; L] {
        let [a, b, d] = self.factors[c];
        std::array::from_fn(|l| gp[a][l] * gp[b][l] * gp[d][l])
    }

    /// Open probabilities of every channel from the gate values (`gp` receives the gate powers).
    #[inline]
    fn open_all<const L: usize>(
        &self,
        gv: &[[f64; L]],
        gp: &mut [[f64; L]],
        open: &mut [[f64; L]],
    ) {
        self.powers_into(gv, gp, 0..gv.len());
        for (c, o) in open.iter_mut().enumerate() {
            *o = self.open_probability(c, gp);
        }
    }

    /// The total calcium current for open probabilities `open` at voltages `v` (0 without calcium).
    #[inline]
    fn calcium_current<const L: usize>(
        &self,
        g: &[[f64; L]],
        open: &[[f64; L]],
        v: &[f64; L],
    ) -> [f64; L] {
        let mut i = [0.0; L];
        if let Some((_, _, _, carriers)) = &self.ca {
            for &c in carriers {
                let e = self.reversal[c];
                for l in 0..L {
                    i[l] += g[c][l] * open[c][l] * (v[l] - e);
                }
            }
        }
        i
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
        let [out] = self.run_lanes([g], settings, [noise], cancel);
        out
    }

    /// Simulates `L` models in lock-step, one per lane, so that the arithmetic vectorises across models.
    /// Lanes never interact: each model's result is bitwise the same whatever its lane partners (and the
    /// same as [`Compiled::run`]).
    pub fn run_lanes<const L: usize>(
        &self,
        g: [&[f64]; L],
        settings: &Settings,
        noise: [Option<&NoiseTrace>; L],
        cancel: &AtomicBool,
    ) -> [Outcome; L] {
        run_lanes_impl(self, g, settings, noise, cancel)
    }
}

/// The body of [`Compiled::run_lanes`], compiled for several instruction sets (AVX2 with FMA, AVX, and the
/// baseline) and dispatched at run time, so that the lanes use the widest vectors the processor has.
// Lane loops index several parallel per-lane arrays at once: the index form is the readable one.
#[allow(clippy::needless_range_loop)]
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn run_lanes_impl<const L: usize>(
    c: &Compiled,
    g: [&[f64]; L],
    settings: &Settings,
    noise: [Option<&NoiseTrace>; L],
    cancel: &AtomicBool,
) -> [Outcome; L] {
    let n_ch = c.factors.len();
    for gl in &g {
        assert_eq!(gl.len(), n_ch, "one conductance per channel");
    }
    // Conductances by channel, then lane.
    let gc: Vec<[f64; L]> = (0..n_ch)
        .map(|c| std::array::from_fn(|l| g[l][c]))
        .collect();
    let u0 = c.model.initial_state();
    let n_gate = c.n_hh + c.n_cad;
    let n_slots = n_gate + c.n_inst + c.n_kin;
    // Gate values: [hh, cad, instant, kinetic open]; kinetic inactivated fractions apart.
    let mut gv = vec![[0.0; L]; n_slots];
    let mut inact = vec![[0.0; L]; c.n_kin];
    for k in 0..n_gate {
        gv[k] = [u0[c.init_map[1 + k]]; L];
    }
    for k in 0..c.n_kin {
        gv[n_gate + c.n_inst + k] = [u0[c.init_map[1 + n_gate + 2 * k]]; L];
        inact[k] = [u0[c.init_map[2 + n_gate + 2 * k]]; L];
    }
    let mut v = [u0[0]; L];
    let mut ca = [if c.ca.is_some() {
        u0[u0.len() - 1]
    } else {
        0.0
    }; L];

    let n_cols = c.n_val + c.n_dec;
    let mut row = vec![[0.0; L]; n_cols];
    // Open probabilities, kept from one step to the next: the calcium current at n - 1/2 reads them.
    // (Instantaneous gates are still 0 here; no calcium carrier has one.)
    let mut open = vec![[0.0; L]; n_ch];
    // Gate powers, with the constant-one slot at the end.
    let mut gp = vec![[1.0; L]; n_slots + 1];
    c.open_all(&gv, &mut gp, &mut open);
    let trace_dt = settings
        .trace_every
        .map_or(f64::INFINITY, |k| k as f64 * c.dt());
    let mut out: [Outcome; L] = std::array::from_fn(|_| Outcome {
        spikes: Vec::new(),
        trace: settings.trace_every.map(|_| Trace::default()),
        finite: true,
    });
    let mut next_sample = [settings.transient; L];
    let mut pending: [Vec<f64>; L] = std::array::from_fn(|_| Vec::new());
    let transient = settings.transient;
    let inv_h = 1.0 / TABLE_STEP;
    let last_row = (c.table.len() / n_cols - 2) as f64;
    let h = c.dt;
    let n_steps = (settings.duration / h).round() as u64;
    let mut live = L;

    for n in 0..n_steps {
        if n % 65_536 == 0 && cancel.load(Ordering::Relaxed) {
            break;
        }
        // Gates lag V by half a step: the first step moves them by half a step only.
        let first = n == 0;
        let t = n as f64 * h;
        // 1. Coefficients at V_n, lane by lane (each lane reads its own table rows).
        for l in 0..L {
            let x = ((v[l] - V_MIN) * inv_h).clamp(0.0, last_row);
            let i = x as usize;
            let f = x - i as f64;
            let (r0, r1) = c.table[i * n_cols..(i + 2) * n_cols].split_at(n_cols);
            for ((o, a), b) in row.iter_mut().zip(r0).zip(r1) {
                o[l] = a + f * (b - a);
            }
        }
        let (val, dec) = row.split_at_mut(c.n_val);
        // A full step is two half steps: square the half-step decays (and propagators); the first step
        // moves the gates by half a step only, to stagger them.
        if !first {
            let (d_gate, d_kin) = dec.split_at_mut(n_gate);
            for d in d_gate.iter_mut() {
                for x in d.iter_mut() {
                    *x *= *x;
                }
            }
            for p in d_kin.chunks_exact_mut(4) {
                for l in 0..L {
                    let q = [p[0][l], p[1][l], p[2][l], p[3][l]];
                    p[0][l] = q[0] * q[0] + q[1] * q[2];
                    p[1][l] = q[0] * q[1] + q[1] * q[3];
                    p[2][l] = q[2] * q[0] + q[3] * q[2];
                    p[3][l] = q[2] * q[1] + q[3] * q[3];
                }
            }
        }
        // 2. Gates, then calcium, then calcium-dependent gates. Calcium and the gates it drives live on the
        //    same half-step grid, so each sees the other at the interval's midpoint (time n): the mean of
        //    the values at n - 1/2 and n + 1/2 keeps the scheme second order.
        let i_ca_old = c.calcium_current(&gc, &open, &v);
        for ((x, inf), d) in gv[..c.n_hh]
            .iter_mut()
            .zip(&val[..c.n_hh])
            .zip(&dec[..c.n_hh])
        {
            for l in 0..L {
                x[l] = inf[l] + (x[l] - inf[l]) * d[l];
            }
        }
        for (k, ia) in inact.iter_mut().enumerate() {
            let o = n_gate + c.n_inst + k;
            let p = &dec[n_gate + 4 * k..n_gate + 4 * k + 4];
            for l in 0..L {
                let (o_inf, i_inf) = (val[o + k][l], val[o + k + 1][l]);
                let (d_o, d_i) = (gv[o][l] - o_inf, ia[l] - i_inf);
                gv[o][l] = o_inf + p[0][l] * d_o + p[1][l] * d_i;
                ia[l] = i_inf + p[2][l] * d_o + p[3][l] * d_i;
            }
        }
        if c.n_inst > 0 {
            gv[n_gate..n_gate + c.n_inst].copy_from_slice(&val[n_gate..n_gate + c.n_inst]);
        }
        c.open_all(&gv, &mut gp, &mut open);
        if let Some((alpha, beta, half, _)) = &c.ca {
            let i_ca_new = c.calcium_current(&gc, &open, &v);
            let decay = if first { *half } else { half * half };
            let mut ca_mid = [0.0; L];
            for l in 0..L {
                let ca_inf = beta - alpha * 0.5 * (i_ca_old[l] + i_ca_new[l]);
                let ca_old = ca[l];
                ca[l] = ca_inf + (ca[l] - ca_inf) * decay;
                ca_mid[l] = 0.5 * (ca_old + ca[l]);
            }
            for k in c.n_hh..n_gate {
                let kd = c.cad_kd[k - c.n_hh];
                for l in 0..L {
                    let inf = ca_mid[l] / (ca_mid[l] + kd) * val[k][l];
                    gv[k][l] = inf + (gv[k][l] - inf) * dec[k][l];
                }
            }
            c.powers_into(&gv, &mut gp, c.n_hh..n_gate);
            for &ch in &c.cad_channels {
                open[ch] = c.open_probability(ch, &gp);
            }
        }
        // 3. V to n + 1 with frozen conductances.
        let mut g_tot = [0.0; L];
        let mut g_e = [0.0; L];
        for ((gcl, o), &e) in gc.iter().zip(&open).zip(&c.reversal) {
            for l in 0..L {
                let gg = gcl[l] * o[l];
                g_tot[l] += gg;
                g_e[l] += gg * e;
            }
        }
        let t_new = t + h;
        for l in 0..L {
            let i_ext = noise[l].map_or(0.0, |nz| nz.at(t + 0.5 * h));
            let v_old = v[l];
            let v_new = if g_tot[l] > 1e-12 {
                let v_inf = (g_e[l] + i_ext) / g_tot[l];
                v_inf + (v_old - v_inf) * (-g_tot[l] * h).exp()
            } else {
                v_old + i_ext * h
            };
            let o = &mut out[l];
            if !o.finite {
                continue;
            }
            if !v_new.is_finite() {
                // This lane stops here; keep its arithmetic harmless for the others' sake.
                o.finite = false;
                v[l] = c.model.v0;
                live -= 1;
                continue;
            }
            // Spikes: upward +10 mV crossings after the transient, confirmed by a fall below 0 mV.
            if v_old <= 10.0 && v_new > 10.0 {
                let tc = t + h * (10.0 - v_old) / (v_new - v_old);
                if tc >= transient {
                    pending[l].push(tc);
                }
            } else if v_old >= 0.0 && v_new < 0.0 && !pending[l].is_empty() {
                o.spikes.append(&mut pending[l]);
            }
            if let Some(tr) = o.trace.as_mut() {
                while next_sample[l] <= t_new + 1e-9 {
                    let w = ((next_sample[l] - t) / h).clamp(0.0, 1.0);
                    tr.t.push(next_sample[l]);
                    tr.v.push(v_old + w * (v_new - v_old));
                    next_sample[l] = transient + tr.t.len() as f64 * trace_dt;
                }
            }
            v[l] = v_new;
        }
        if live == 0 {
            break;
        }
    }
    out
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

/// The current noise of model `index` of a batch (`None` without noise): the one [`simulate_one`] and
/// [`simulate_batch`] inject, drawn from `stream_seed(settings.seed, index)`.
pub fn noise_for(compiled: &Compiled, settings: &Settings, index: u64) -> Option<NoiseTrace> {
    (settings.noise_sigma > 0.0).then(|| {
        NoiseTrace::new(
            settings.noise_sigma,
            compiled.model().noise_dt,
            settings.duration,
            NOISE_CUTOFF_HZ,
            stream_seed(settings.seed, index),
        )
    })
}

/// Simulates one model (see [`Compiled::run`]), drawing its noise from `settings.seed` and `index`.
pub fn simulate_one(
    compiled: &Compiled,
    g: &[f64],
    settings: &Settings,
    index: u64,
    cancel: &AtomicBool,
) -> Outcome {
    let noise = noise_for(compiled, settings, index);
    compiled.run(g, settings, noise.as_ref(), cancel)
}

/// Simulates a batch of models in parallel: groups of [`LANES`] models in lock-step, the groups spread over
/// the rayon pool. The results are in input order and identical whatever the number of threads (and the
/// same as [`simulate_one`] with the model's index). `on_done` is called once per finished model.
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
    let groups: Vec<Vec<Outcome>> = conductances
        .par_chunks(LANES)
        .enumerate()
        .map(|(gi, chunk)| {
            let noises: Vec<Option<NoiseTrace>> = (0..chunk.len())
                .map(|l| noise_for(&compiled, settings, (gi * LANES + l) as u64))
                .collect();
            if chunk.len() < LANES {
                // A short last group runs lane by lane (same results, no wasted lanes).
                return chunk
                    .iter()
                    .zip(&noises)
                    .map(|(g, nz)| {
                        let out = compiled.run(g, settings, nz.as_ref(), cancel);
                        on_done();
                        out
                    })
                    .collect();
            }
            let g: [&[f64]; LANES] = std::array::from_fn(|l| chunk[l].as_slice());
            let nz: [Option<&NoiseTrace>; LANES] = std::array::from_fn(|l| noises[l].as_ref());
            let outs = compiled.run_lanes(g, settings, nz, cancel);
            outs.into_iter().inspect(|_| on_done()).collect()
        })
        .collect();
    Ok(groups.into_iter().flatten().collect())
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
    fn lanes_do_not_interact() {
        // A batch (lanes of four, noise on) gives every model exactly what it gets alone.
        let mut s = Settings::for_model(&DA);
        s.duration = 3500.0;
        s.transient = 500.0;
        s.noise_sigma = 3.0;
        s.seed = 11;
        let base = [
            35.46934803014296,
            8.0,
            0.045,
            0.04069634820398918,
            0.15015869937543488,
            0.012,
            0.01285,
        ];
        let pop: Vec<Vec<f64>> = (0..6)
            .map(|k| base.iter().map(|g| g * (1.0 + 0.01 * k as f64)).collect())
            .collect();
        let cancel = AtomicBool::new(false);
        let batch = simulate_batch(&DA, &pop, &s, &cancel, || {}).unwrap();
        let compiled = Compiled::new(&DA, s.dt);
        for (k, g) in pop.iter().enumerate() {
            let alone = simulate_one(&compiled, g, &s, k as u64, &cancel);
            assert_eq!(alone, batch[k], "model {k}");
            assert!(!alone.spikes.is_empty());
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
