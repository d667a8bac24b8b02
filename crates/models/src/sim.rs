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
/// Models simulated together in lock-step by [`simulate_batch`] and [`Compiled::run_group`]: two AVX2
/// vectors per value, i.e. two independent chains of dependent operations per step for the processor to
/// overlap (8 lanes cost about 15% less per model than 4, 16 no less than 8).
pub const LANES: usize = 8;
/// The reference's spike rule: an upward crossing of +10 mV ...
pub const SPIKE_THRESHOLD_MV: f64 = 10.0;
/// ... confirmed by a fall below 0 mV (models may set their own, [`Model::spike_threshold`]).
pub const SPIKE_RESET_MV: f64 = 0.0;
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
            dt: model.default_dt,
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
/// HH gates (sorted by power), then calcium-dependent gates, then instantaneous gates, then kinetic schemes
/// (open fraction in the gate-value array, inactivated fraction apart).
#[derive(Clone, Debug)]
pub struct Compiled<'m> {
    model: &'m Model,
    dt: f64,
    /// The gates in slot order: HH, calcium-dependent, instantaneous, kinetic.
    gates: Vec<&'static Gate>,
    n_hh: usize,
    n_cad: usize,
    n_inst: usize,
    n_kin: usize,
    /// One row of `2 * n_pad` per grid voltage: the `n_cols` step coefficients there (see
    /// [`Compiled::coefficients`]), then their differences to the next row, so that linear interpolation
    /// is one multiply-add per coefficient and reads one row.
    table: Vec<f64>,
    /// `n_cols = n_val + n_dec` rounded up to a multiple of 4 (zero padding), so that rows are read in
    /// whole 4-wide vectors.
    n_pad: usize,
    n_val: usize,
    n_dec: usize,
    /// Half-dissociation constant of each calcium-dependent gate.
    cad_kd: Vec<f64>,
    /// Per channel: the gate-value slots of its gates, padded with the constant-one slot.
    factors: Vec<[usize; MAX_GATES]>,
    /// Runs of gate-value slots `(start, end, power)` of equal power, calcium-dependent slots excluded.
    plain_runs: Vec<(usize, usize, i32)>,
    /// The same for the calcium-dependent slots (refreshed after calcium).
    cad_runs: Vec<(usize, usize, i32)>,
    reversal: Vec<f64>,
    /// Calcium: (alpha, tau, beta, carrier channels).
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

/// Groups the slots `range` into runs `(start, end, power)` of consecutive slots with the same power.
fn power_runs(powers: &[i32], range: std::ops::Range<usize>) -> Vec<(usize, usize, i32)> {
    let mut runs: Vec<(usize, usize, i32)> = Vec::new();
    for k in range {
        match runs.last_mut() {
            Some(r) if r.2 == powers[k] => r.1 = k + 1,
            _ => runs.push((k, k + 1, powers[k])),
        }
    }
    runs
}

impl<'m> Compiled<'m> {
    /// Compiles `model` for the step `dt` (ms).
    pub fn new(model: &'m Model, dt: f64) -> Self {
        let mut slots: Vec<(usize, &'static Gate)> = model
            .gate_slots()
            .into_iter()
            .map(|s| {
                (
                    s.state.unwrap_or(0),
                    &model.channels[s.channel].gates[s.gate],
                )
            })
            .collect();
        // Kind first (HH, calcium-dependent, instantaneous, kinetic), then power, so that the powers of
        // HH gates are taken in a few runs of equal exponent. The sort is stable: ties keep model order.
        let kind = |g: &Gating| match g {
            Gating::Hh { .. } => 0,
            Gating::CaDependent { .. } => 1,
            Gating::Instant { .. } => 2,
            Gating::Kinetic { .. } => 3,
        };
        slots.sort_by_key(|(_, g)| (kind(&g.gating), g.power));
        let count = |k: usize| slots.iter().filter(|(_, g)| kind(&g.gating) == k).count();
        let (n_hh, n_cad, n_inst, n_kin) = (count(0), count(1), count(2), count(3));
        let gates: Vec<&'static Gate> = slots.iter().map(|(_, g)| *g).collect();

        let one = gates.len();
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
                    *slot = gates
                        .iter()
                        .position(|o| std::ptr::eq(*o, g))
                        .expect("gate listed");
                }
                f
            })
            .collect();
        let powers: Vec<i32> = gates.iter().map(|g| g.power).collect();
        let n_gate = n_hh + n_cad;
        let mut plain_runs = power_runs(&powers, 0..n_hh);
        plain_runs.extend(power_runs(&powers, n_gate..gates.len()));
        let cad_runs = power_runs(&powers, n_hh..n_gate);
        // The state-vector index of each internal state: V, HH and calcium-dependent gates, (open,
        // inactivated) per kinetic scheme, calcium.
        let mut init_map = vec![0];
        init_map.extend(slots[..n_gate].iter().map(|(s, _)| *s));
        for (s, _) in &slots[n_gate + n_inst..] {
            init_map.extend([*s, *s + 1]);
        }
        if model.calcium.is_some() {
            init_map.push(model.n_states() - 1);
        }
        let is_cad = |ch: &crate::model::Channel| {
            ch.gates
                .iter()
                .any(|g| matches!(g.gating, Gating::CaDependent { .. }))
        };
        if let Some(ca) = &model.calcium {
            // The calcium update reads the carriers' open probabilities before the calcium-dependent
            // gates move.
            assert!(
                ca.carriers.iter().all(|&c| !is_cad(&model.channels[c])),
                "a calcium carrier may not have a calcium-dependent gate"
            );
        }

        let (n_val, n_dec, n_pad) = table_widths(n_gate, n_inst, n_kin);
        let mut compiled = Self {
            model,
            dt,
            gates,
            n_hh,
            n_cad,
            n_inst,
            n_kin,
            table: Vec::new(),
            n_pad,
            n_val,
            n_dec,
            cad_kd: slots[n_hh..n_gate]
                .iter()
                .map(|(_, g)| match g.gating {
                    Gating::CaDependent { kd, .. } => kd,
                    _ => unreachable!(),
                })
                .collect(),
            factors,
            plain_runs,
            cad_runs,
            reversal: model.channels.iter().map(|c| c.reversal).collect(),
            ca: model
                .calcium
                .map(|c| (c.alpha, c.tau, c.beta, c.carriers.to_vec())),
            init_map,
        };

        // The table: coefficients at each grid voltage (rows in parallel: the build costs as much as
        // simulating a few seconds), then each row's difference to the next.
        let n_cols = n_val + n_dec;
        let n_rows = ((V_MAX - V_MIN) / TABLE_STEP).round() as usize + 2;
        let mut table = vec![0.0; n_rows * 2 * n_pad];
        table
            .par_chunks_mut(2 * n_pad)
            .enumerate()
            .for_each(|(r, row)| {
                compiled.coefficients(V_MIN + r as f64 * TABLE_STEP, dt, &mut row[..n_cols])
            });
        for r in 0..n_rows - 1 {
            let (this, next) = table[r * 2 * n_pad..(r + 2) * 2 * n_pad].split_at_mut(2 * n_pad);
            let (a, d) = this.split_at_mut(n_pad);
            for ((d, a), b) in d.iter_mut().zip(&*a).zip(&next[..n_pad]) {
                *d = b - a;
            }
        }
        compiled.table = table;
        compiled
    }

    /// The step coefficients at voltage `v` for a step `dt`, in the table's column order: `n_val` values
    /// `[inf_hh, inf_cad (voltage part), instant, (o_inf, i_inf) per kinetic]`, then `n_dec` decays
    /// `[exp(-dt / tau) of hh and cad gates, P(dt) (4) per kinetic]`.
    fn coefficients(&self, v: f64, dt: f64, out: &mut [f64]) {
        let n_gate = self.n_hh + self.n_cad;
        let (val, dec) = out.split_at_mut(self.n_val);
        for (k, g) in self.gates.iter().enumerate() {
            match g.gating {
                Gating::Hh { inf, tau } | Gating::CaDependent { inf, tau, .. } => {
                    val[k] = inf.at(v);
                    dec[k] = libm::exp(-dt / guarded_tau(&tau, v));
                }
                Gating::Instant { inf } => val[k] = inf.at(v),
                Gating::Kinetic { a0, b0, ai, bi, .. } => {
                    let j = k - n_gate - self.n_inst;
                    let p = kinetic_propagator([a0.at(v), b0.at(v), ai.at(v), bi.at(v)], dt);
                    let o = n_gate + self.n_inst + 2 * j;
                    val[o..o + 2].copy_from_slice(&p[..2]);
                    dec[n_gate + 4 * j..n_gate + 4 * j + 4].copy_from_slice(&p[2..]);
                }
            }
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

    /// `gp[k] = gv[k]^power` for the slots of `runs`, lane by lane.
    #[inline(always)]
    fn powers_into<const L: usize>(
        gv: &[[f64; L]],
        gp: &mut [[f64; L]],
        runs: &[(usize, usize, i32)],
    ) {
        for &(a, b, n) in runs {
            let (x, p) = (&gv[a..b], &mut gp[a..b]);
            match n {
                // (Element by element: a run is a few slots, short for a `memcpy` call.)
                1 => {
                    for (p, x) in p.iter_mut().zip(x) {
                        *p = *x;
                    }
                }
                2 => {
                    for (p, x) in p.iter_mut().zip(x) {
                        *p = std::array::from_fn(|l| x[l] * x[l]);
                    }
                }
                3 => {
                    for (p, x) in p.iter_mut().zip(x) {
                        *p = std::array::from_fn(|l| x[l] * x[l] * x[l]);
                    }
                }
                4 => {
                    for (p, x) in p.iter_mut().zip(x) {
                        *p = std::array::from_fn(|l| {
                            let x2 = x[l] * x[l];
                            x2 * x2
                        });
                    }
                }
                n => {
                    for (p, x) in p.iter_mut().zip(x) {
                        *p = std::array::from_fn(|l| x[l].powi(n));
                    }
                }
            }
        }
    }

    /// The open probability of channel `c` from the gate powers `gp`, lane by lane.
    #[inline(always)]
    fn open_probability<const L: usize>(&self, c: usize, gp: &[[f64; L]]) -> [f64; L] {
        let [a, b, d] = self.factors[c];
        std::array::from_fn(|l| gp[a][l] * gp[b][l] * gp[d][l])
    }

    /// The total calcium current at voltages `v` for the open probabilities `open` of the carriers.
    #[inline(always)]
    fn calcium_current<const L: usize>(
        &self,
        g: &[[f64; L]],
        carriers: &[usize],
        open: &[[f64; L]],
        v: &[f64; L],
    ) -> [f64; L] {
        let mut i = [0.0; L];
        for (&c, o) in carriers.iter().zip(open) {
            let e = self.reversal[c];
            for l in 0..L {
                i[l] += g[c][l] * o[l] * (v[l] - e);
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
        match self.shape() {
            STG_SHAPE => run_lanes_impl::<
                L,
                { STG_SHAPE.0 },
                { STG_SHAPE.1 },
                { STG_SHAPE.2 },
                { STG_SHAPE.3 },
                { STG_SHAPE.4 },
            >(self, g, settings, noise, cancel),
            DA_SHAPE => run_lanes_impl::<
                L,
                { DA_SHAPE.0 },
                { DA_SHAPE.1 },
                { DA_SHAPE.2 },
                { DA_SHAPE.3 },
                { DA_SHAPE.4 },
            >(self, g, settings, noise, cancel),
            _ => run_lanes_impl::<L, DYN, DYN, DYN, DYN, DYN>(self, g, settings, noise, cancel),
        }
    }

    /// The model's sizes: (HH gates, calcium-dependent gates, instantaneous gates, kinetic schemes,
    /// channels).
    fn shape(&self) -> Shape {
        (
            self.n_hh,
            self.n_cad,
            self.n_inst,
            self.n_kin,
            self.factors.len(),
        )
    }

    /// Simulates up to [`LANES`] models in lock-step, in the cheapest way for their number: one model
    /// alone, 2 to 4 in four lanes, more in [`LANES`]; unused lanes repeat the first model and are dropped.
    /// Results are those of [`Compiled::run`] for each model, in order.
    pub fn run_group(
        &self,
        g: &[&[f64]],
        settings: &Settings,
        noise: &[Option<&NoiseTrace>],
        cancel: &AtomicBool,
    ) -> Vec<Outcome> {
        assert!(
            (1..=LANES).contains(&g.len()) && noise.len() == g.len(),
            "1 to {LANES} models, one noise each"
        );
        fn padded<'a, const L: usize>(
            c: &Compiled,
            g: &[&'a [f64]],
            settings: &Settings,
            noise: &[Option<&'a NoiseTrace>],
            cancel: &AtomicBool,
        ) -> Vec<Outcome> {
            let gl: [&[f64]; L] = std::array::from_fn(|l| g.get(l).copied().unwrap_or(g[0]));
            let nl: [Option<&NoiseTrace>; L] =
                std::array::from_fn(|l| noise.get(l).copied().unwrap_or(noise[0]));
            let mut out = c.run_lanes(gl, settings, nl, cancel).to_vec();
            out.truncate(g.len());
            out
        }
        match g.len() {
            1 => vec![self.run(g[0], settings, noise[0], cancel)],
            2..=4 => padded::<4>(self, g, settings, noise, cancel),
            _ => padded::<LANES>(self, g, settings, noise, cancel),
        }
    }
}

/// Model sizes (see [`Compiled::shape`]).
type Shape = (usize, usize, usize, usize, usize);
/// The shapes of the STG and DA models (tested), which get a kernel of their own with these sizes fixed at
/// compile time; other models run the generic kernel, with every size marked [`DYN`].
const STG_SHAPE: Shape = (10, 1, 0, 0, 8);
const DA_SHAPE: Shape = (5, 0, 1, 1, 7);
/// A size read at run time.
const DYN: usize = usize::MAX;

/// The widths of a coefficient-table row for `n_gate` HH and calcium-dependent gates, `n_inst` instantaneous
/// gates and `n_kin` kinetic schemes: `n_val` values (one per gate and instant, two per scheme), `n_dec`
/// decays (one per gate, four per scheme), and their sum padded to a multiple of 4. A `const fn`, so that a
/// shaped kernel gets them as constants.
#[inline(always)]
const fn table_widths(n_gate: usize, n_inst: usize, n_kin: usize) -> (usize, usize, usize) {
    let (n_val, n_dec) = (n_gate + n_inst + 2 * n_kin, n_gate + 4 * n_kin);
    (n_val, n_dec, (n_val + n_dec).next_multiple_of(4))
}

/// The size `fixed`, or `actual` when it is [`DYN`].
#[inline(always)]
const fn dim(fixed: usize, actual: usize) -> usize {
    if fixed == DYN { actual } else { fixed }
}

/// `e^x` lane by lane, within 1 ulp (relative error below 2.5e-16, tested), for `x <= 709` (larger `x` give `e^709`); `0` below -708; NaN
/// stays NaN.
///
/// The library `exp` is a scalar call; this one is branch-free arithmetic that vectorises across lanes.
/// Every lane goes through the same IEEE operations (no fused multiply-add, whatever the instruction set),
/// so the result of a lane does not depend on its partners or on the processor.
///
/// `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln 2 / 2` (Cody-Waite
/// reduction with a two-part `ln 2`); `e^r` by its Taylor series to degree 13 (truncation below 1e-17)
/// evaluated by Estrin's scheme; `2^k` added to the exponent bits.
#[inline(always)]
fn exp_lanes<const L: usize>(x: [f64; L]) -> [f64; L] {
    // 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    // ln 2 in two parts (fdlibm's): the high part has 21 trailing zero bits, so k * LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1 / n! for n = 0 to 13.
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    std::array::from_fn(|l| {
        // NaN passes the clamp and the arithmetic below; its low bits are 0, so `k` adds nothing to it.
        let xc = x[l].clamp(-708.0, 709.0);
        let t = xc * std::f64::consts::LOG2_E + SHIFT;
        let k = t - SHIFT;
        let r = (xc - k * LN2_HI) - k * LN2_LO;
        // e^r = 1 + (r + r^2 P(r)): the large 1 is added last, so it rounds once. P by Estrin's scheme
        // (pairs, then quadruples, then octets): a short dependency chain, which the V update waits on.
        let r2 = r * r;
        let r4 = r2 * r2;
        let r8 = r4 * r4;
        let p: [f64; 6] = std::array::from_fn(|i| C[2 + 2 * i] + C[3 + 2 * i] * r);
        let poly = (p[0] + p[1] * r2) + (p[2] + p[3] * r2) * r4 + (p[4] + p[5] * r2) * r8;
        let p = 1.0 + (r + r2 * poly);
        // |k| < 2^51 sits in the low bits of t; shift it into the exponent field.
        let k_bits = t.to_bits().wrapping_sub(SHIFT.to_bits()) << 52;
        // Flush to 0 below -708 with a bit mask rather than a branch.
        let keep = u64::from((x[l] >= -708.0) | x[l].is_nan()).wrapping_neg();
        f64::from_bits(p.to_bits().wrapping_add(k_bits) & keep)
    })
}

/// `out = a + f d`, four values at a time (the lengths are multiples of 4).
// A function of its own: its arguments are known not to overlap, so the loop needs no run-time checks.
#[inline(always)]
fn lerp_row(out: &mut [f64], a: &[f64], d: &[f64], f: f64) {
    let (out, a, d) = (
        out.as_chunks_mut::<4>().0,
        a.as_chunks::<4>().0,
        d.as_chunks::<4>().0,
    );
    for ((o, a), d) in out.iter_mut().zip(a).zip(d) {
        *o = std::array::from_fn(|j| a[j] + f * d[j]);
    }
}

/// The body of [`Compiled::run_lanes`], compiled for several instruction sets (AVX2 with FMA, AVX, and the
/// baseline) and dispatched at run time, so that the lanes use the widest vectors the processor has.
// Lane loops index several parallel per-lane arrays at once: the index form is the readable one.
#[allow(clippy::needless_range_loop)]
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn run_lanes_impl<
    const L: usize,
    const HH: usize,
    const CAD: usize,
    const INST: usize,
    const KIN: usize,
    const CH: usize,
>(
    c: &Compiled,
    g: [&[f64]; L],
    settings: &Settings,
    noise: [Option<&NoiseTrace>; L],
    cancel: &AtomicBool,
) -> [Outcome; L] {
    // The model's sizes: compile-time constants in a kernel instantiated for a shape (loop counts known,
    // slices of known length, so that the index checks fold away), read from `c` in the generic one.
    let (n_hh, n_cad, n_inst, n_kin, n_ch) = (
        dim(HH, c.n_hh),
        dim(CAD, c.n_cad),
        dim(INST, c.n_inst),
        dim(KIN, c.n_kin),
        dim(CH, c.factors.len()),
    );
    assert_eq!(
        (n_hh, n_cad, n_inst, n_kin, n_ch),
        (c.n_hh, c.n_cad, c.n_inst, c.n_kin, c.factors.len()),
        "kernel shape"
    );
    let (factors, reversal) = (&c.factors[..n_ch], &c.reversal[..n_ch]);
    for gl in &g {
        assert_eq!(gl.len(), n_ch, "one conductance per channel");
    }
    // Conductances by channel, then lane.
    let gc: Vec<[f64; L]> = (0..n_ch)
        .map(|c| std::array::from_fn(|l| g[l][c]))
        .collect();
    let u0 = c.model.initial_state();
    let n_gate = n_hh + n_cad;
    let n_slots = n_gate + n_inst + n_kin;
    // Gate values: [hh, cad, instant, kinetic open]; kinetic inactivated fractions apart.
    let mut gv = vec![[0.0; L]; n_slots];
    let mut inact = vec![[0.0; L]; n_kin];
    for k in 0..n_gate {
        gv[k] = [u0[c.init_map[1 + k]]; L];
    }
    for k in 0..n_kin {
        gv[n_gate + n_inst + k] = [u0[c.init_map[1 + n_gate + 2 * k]]; L];
        inact[k] = [u0[c.init_map[2 + n_gate + 2 * k]]; L];
    }
    let mut v = [u0[0]; L];
    let mut ca = [if c.ca.is_some() {
        u0[u0.len() - 1]
    } else {
        0.0
    }; L];

    let (n_val, n_dec, n_pad) = table_widths(n_gate, n_inst, n_kin);
    let n_cols = n_val + n_dec;
    assert_eq!((n_val, n_dec, n_pad), (c.n_val, c.n_dec, c.n_pad));
    // The step's coefficients (padded like the table rows).
    let mut coef = vec![[0.0; L]; n_pad];
    let mut by_lane = vec![0.0; L * n_pad];
    // The first step moves the gates by half a step only, to stagger them: its coefficients are
    // evaluated exactly at the initial voltage (common to all lanes) for dt / 2.
    let mut first = vec![0.0; n_cols];
    c.coefficients(u0[0], 0.5 * c.dt, &mut first);
    // Calcium decays over half a step, then a whole one.
    let (ca_half, ca_full) = c.ca.as_ref().map_or((1.0, 1.0), |(_, tau, _, _)| {
        (libm::exp(-0.5 * c.dt / tau), libm::exp(-c.dt / tau))
    });
    // Gate powers, with the constant-one slot at the end.
    let mut gp = vec![[1.0; L]; n_slots + 1];
    Compiled::powers_into(&gv, &mut gp, &c.plain_runs);
    // Open probabilities of the calcium carriers, kept from one step to the next: the calcium current at
    // n - 1/2 reads them. (Instantaneous gates are still 0 here; no calcium carrier has one.)
    let carriers = c.ca.as_ref().map_or(&[][..], |ca| ca.3.as_slice());
    let mut open_ca: Vec<[f64; L]> = carriers
        .iter()
        .map(|&ch| c.open_probability(ch, &gp))
        .collect();
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
    let stride = 2 * n_pad;
    let last_row = (c.table.len() / stride - 2) as f64;
    let h = c.dt;
    let n_steps = (settings.duration / h).round() as u64;
    let mut live = L;
    let has_noise = noise.iter().any(Option::is_some);
    // Lanes that need the per-lane bookkeeping every step: all of them once one has stopped or while
    // tracing (rare cases); otherwise only at a +10 or 0 mV crossing.
    let mut slow = settings.trace_every.is_some();
    let (up, down) = (c.model.spike_threshold, c.model.spike_reset);

    // Slices of the model's (in a shaped kernel: constant) sizes.
    let (gc, gv, gp, inact) = (
        &gc[..n_ch],
        &mut gv[..n_slots],
        &mut gp[..n_slots + 1],
        &mut inact[..n_kin],
    );
    let (coef, by_lane, first) = (
        &mut coef[..n_pad],
        &mut by_lane[..L * n_pad],
        &first[..n_cols],
    );

    for n in 0..n_steps {
        if n % 65_536 == 0 && cancel.load(Ordering::Relaxed) {
            break;
        }
        let t = n as f64 * h;
        // 1. Coefficients at V_n, lane by lane (each lane reads its own table row).
        if n == 0 {
            for (o, &x) in coef.iter_mut().zip(first) {
                *o = [x; L];
            }
        } else {
            // Grid position of every lane at once (`max` first: it also maps NaN to 0); the row index is
            // read from the mantissa of `floor(x) + 2^52`, a branch-free conversion.
            const TWO_52: f64 = 4_503_599_627_370_496.0;
            let x: [f64; L] =
                std::array::from_fn(|l| ((v[l] - V_MIN) * inv_h).max(0.0).min(last_row));
            let x0: [f64; L] = std::array::from_fn(|l| x[l].floor());
            let row: [u64; L] =
                std::array::from_fn(|l| (x0[l] + TWO_52).to_bits() - TWO_52.to_bits());
            // Each lane interpolates its row along the row, four coefficients at a time (contiguous, so it
            // vectorises), into `by_lane`, which is then transposed into `coef` (coefficient by
            // coefficient, lanes side by side).
            if L == 1 {
                // One lane: `coef` is the row itself.
                let i = row[0] as usize;
                let (a, d) = c.table[i * stride..(i + 1) * stride].split_at(n_pad);
                lerp_row(coef.as_flattened_mut(), a, d, x[0] - x0[0]);
            } else {
                for (l, out) in by_lane.chunks_exact_mut(n_pad).enumerate() {
                    let i = row[l] as usize;
                    let (a, d) = c.table[i * stride..(i + 1) * stride].split_at(n_pad);
                    lerp_row(out, a, d, x[l] - x0[l]);
                }
                for (k, o) in coef.iter_mut().enumerate() {
                    *o = std::array::from_fn(|l| by_lane[l * n_pad + k]);
                }
            }
        }
        let (val, dec) = coef.split_at(n_val);
        // 2. Gates, then calcium, then calcium-dependent gates. Calcium and the gates it drives live on the
        //    same half-step grid, so each sees the other at the interval's midpoint (time n): the mean of
        //    the values at n - 1/2 and n + 1/2 keeps the scheme second order.
        for ((x, inf), d) in gv[..n_hh].iter_mut().zip(&val[..n_hh]).zip(&dec[..n_hh]) {
            // (Whole arrays computed, then stored: all loads come before the stores, so they vectorise.)
            let new: [f64; L] = std::array::from_fn(|l| inf[l] + (x[l] - inf[l]) * d[l]);
            *x = new;
        }
        for (k, ia) in inact.iter_mut().enumerate() {
            let o = n_gate + n_inst + k;
            let p = &dec[n_gate + 4 * k..n_gate + 4 * k + 4];
            let (o_inf, i_inf) = (&val[o + k], &val[o + k + 1]);
            let d_o: [f64; L] = std::array::from_fn(|l| gv[o][l] - o_inf[l]);
            let d_i: [f64; L] = std::array::from_fn(|l| ia[l] - i_inf[l]);
            gv[o] = std::array::from_fn(|l| o_inf[l] + p[0][l] * d_o[l] + p[1][l] * d_i[l]);
            *ia = std::array::from_fn(|l| i_inf[l] + p[2][l] * d_o[l] + p[3][l] * d_i[l]);
        }
        if n_inst > 0 {
            gv[n_gate..n_gate + n_inst].copy_from_slice(&val[n_gate..n_gate + n_inst]);
        }
        Compiled::powers_into(gv, gp, &c.plain_runs);
        if let Some((alpha, _, beta, _)) = &c.ca {
            let i_ca_old = c.calcium_current(gc, carriers, &open_ca, &v);
            for (o, &ch) in open_ca.iter_mut().zip(carriers) {
                *o = c.open_probability(ch, gp);
            }
            let i_ca_new = c.calcium_current(gc, carriers, &open_ca, &v);
            let decay = if n == 0 { ca_half } else { ca_full };
            let mut ca_mid = [0.0; L];
            for l in 0..L {
                let ca_inf = beta - alpha * 0.5 * (i_ca_old[l] + i_ca_new[l]);
                let ca_old = ca[l];
                ca[l] = ca_inf + (ca[l] - ca_inf) * decay;
                ca_mid[l] = 0.5 * (ca_old + ca[l]);
            }
            for (k, &kd) in (n_hh..n_gate).zip(&c.cad_kd[..n_cad]) {
                let inf: [f64; L] =
                    std::array::from_fn(|l| ca_mid[l] / (ca_mid[l] + kd) * val[k][l]);
                gv[k] = std::array::from_fn(|l| inf[l] + (gv[k][l] - inf[l]) * dec[k][l]);
            }
            Compiled::powers_into(gv, gp, &c.cad_runs);
        }
        // 3. V to n + 1 with frozen conductances, all lanes at once (a lane with no conductance at all
        //    just integrates its injected current).
        let mut g_tot = [0.0; L];
        let mut g_e = [0.0; L];
        for ((gcl, &e), &[a, b, d]) in gc.iter().zip(reversal).zip(factors) {
            for l in 0..L {
                let gg = gcl[l] * (gp[a][l] * gp[b][l] * gp[d][l]);
                g_tot[l] += gg;
                g_e[l] += gg * e;
            }
        }
        let i_ext: [f64; L] = if has_noise {
            std::array::from_fn(|l| noise[l].map_or(0.0, |nz| nz.at(t + 0.5 * h)))
        } else {
            [0.0; L]
        };
        let relax: [f64; L] = exp_lanes::<L>(std::array::from_fn(|l| -g_tot[l] * h));
        let v_new: [f64; L] = std::array::from_fn(|l| {
            let v_inf = (g_e[l] + i_ext[l]) / g_tot[l];
            let relaxed = v_inf + (v[l] - v_inf) * relax[l];
            if g_tot[l] > 1e-12 {
                relaxed
            } else {
                v[l] + i_ext[l] * h
            }
        });
        // Nothing to record unless a lane crosses the spike threshold or reset or stops (bitwise `|`: no
        // branches).
        let mut event = slow;
        for l in 0..L {
            event |= (v[l] <= up) & (v_new[l] > up)
                | (v[l] >= down) & (v_new[l] < down)
                | !v_new[l].is_finite();
        }
        if !event {
            v = v_new;
            continue;
        }
        let t_new = t + h;
        for l in 0..L {
            let (v_old, v_new) = (v[l], v_new[l]);
            let o = &mut out[l];
            if !o.finite {
                continue;
            }
            if !v_new.is_finite() {
                // This lane stops here; keep its arithmetic harmless for the others' sake.
                o.finite = false;
                v[l] = c.model.v0;
                live -= 1;
                slow = true;
                continue;
            }
            // Spikes: upward crossings of the threshold (+10 mV) after the transient, confirmed by a fall below
            // the reset (0 mV).
            if v_old <= up && v_new > up {
                let tc = t + h * (up - v_old) / (v_new - v_old);
                if tc >= transient {
                    pending[l].push(tc);
                }
            } else if v_old >= down && v_new < down && !pending[l].is_empty() {
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
        libm::expm1(d * dt) / d
    };
    let e2 = libm::exp(l2 * dt);
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
    Compiled::new(model, settings.dt).simulate_batch(conductances, settings, cancel, on_done)
}

impl Compiled<'_> {
    /// [`simulate_batch`] with this compiled model, so that callers running many batches at one step
    /// build the coefficient table once. `settings.dt` must be the step it was compiled for.
    pub fn simulate_batch<F>(
        &self,
        conductances: &[Vec<f64>],
        settings: &Settings,
        cancel: &AtomicBool,
        on_done: F,
    ) -> Result<Vec<Outcome>, SettingsError>
    where
        F: Fn() + Sync,
    {
        settings.validate()?;
        if settings.dt != self.dt {
            return Err(SettingsError(
                "dt",
                format!(
                    "{}; the model was compiled for dt = {}",
                    settings.dt, self.dt
                ),
            ));
        }
        let groups: Vec<Vec<Outcome>> = conductances
            .par_chunks(LANES)
            .enumerate()
            .map(|(gi, chunk)| {
                let noises: Vec<Option<NoiseTrace>> = (0..chunk.len())
                    .map(|l| noise_for(self, settings, (gi * LANES + l) as u64))
                    .collect();
                let g: Vec<&[f64]> = chunk.iter().map(Vec::as_slice).collect();
                let nz: Vec<Option<&NoiseTrace>> = noises.iter().map(Option::as_ref).collect();
                let outs = self.run_group(&g, settings, &nz, cancel);
                outs.into_iter().inspect(|_| on_done()).collect()
            })
            .collect();
        Ok(groups.into_iter().flatten().collect())
    }
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
    fn exp_lanes_is_within_an_ulp_of_the_library_exp() {
        let mut worst = 0.0f64;
        let mut x: f64 = -720.0;
        while x < 709.0 {
            let xs = [x, -x * 1e-3, x * 1e-9, x.sin() * 0.35];
            let e = exp_lanes(xs);
            for (xi, ei) in xs.into_iter().zip(e) {
                let want = xi.exp();
                if want == 0.0 || want.is_infinite() {
                    assert!(
                        ei == want || (ei.abs() < 1e-307 && want < 1e-307),
                        "{xi}: {ei} vs {want}"
                    );
                } else if want > 1e-307 {
                    worst = worst.max(((ei - want) / want).abs());
                }
            }
            x += 0.0137;
        }
        assert!(worst < 2.5e-16, "worst relative error {worst:e}");
        let special = exp_lanes([0.0, f64::NAN, f64::NEG_INFINITY, -0.0]);
        assert_eq!(special[0], 1.0);
        assert!(special[1].is_nan());
        assert_eq!(special[2], 0.0);
        assert_eq!(special[3], 1.0);
    }

    #[test]
    fn lanes_do_not_interact() {
        // A batch (a group of eight lanes and one of three, padded to four; noise on) gives every model
        // exactly what it gets alone.
        let mut s = Settings::for_model(&DA);
        s.duration = 3500.0;
        s.transient = 500.0;
        s.noise_sigma = 3.0;
        s.seed = 11;
        let base = crate::cells::DA_SEED;
        let pop: Vec<Vec<f64>> = (0..11)
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
    fn stg_and_da_get_kernels_of_their_own() {
        assert_eq!(Compiled::new(&crate::STG, 0.05).shape(), STG_SHAPE);
        assert_eq!(Compiled::new(&DA, 0.05).shape(), DA_SHAPE);
    }

    #[test]
    fn shaped_kernels_match_the_generic_one_bitwise() {
        let cancel = AtomicBool::new(false);
        // An STG burster and the DA seed cell, and the DA seed cell with every conductance tripled.
        let stg = crate::cells::STG_BURSTER;
        let da = crate::cells::DA_SEED;
        for (model, g0, scale) in [
            (&crate::STG, &stg[..], 1.0),
            (&DA, &da[..], 1.0),
            (&DA, &da[..], 3.0),
        ] {
            let mut s = Settings::for_model(model);
            s.duration = 2000.0;
            s.transient = 100.0;
            s.trace_every = Some(7);
            let compiled = Compiled::new(model, s.dt);
            let pop: Vec<Vec<f64>> = (0..4)
                .map(|k| {
                    g0.iter()
                        .map(|g| scale * g * (1.0 + 0.02 * k as f64))
                        .collect()
                })
                .collect();
            let g: [&[f64]; 4] = std::array::from_fn(|l| pop[l].as_slice());
            let shaped = compiled.run_lanes(g, &s, [None; 4], &cancel);
            let generic =
                run_lanes_impl::<4, DYN, DYN, DYN, DYN, DYN>(&compiled, g, &s, [None; 4], &cancel);
            assert_eq!(shaped, generic, "{}", model.name);
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
