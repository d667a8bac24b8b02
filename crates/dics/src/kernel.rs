//! DIC sensitivities: everything that depends on V alone, precomputed once per voltage ([`Kernel`]), and
//! the cheap per-model part (the calcium-dependent channels).
//!
//! For channel `i` with open product `G_i = prod_k x_k^p_k` and reversal `E_i`, and each gate `k`,
//! `D_ik = (dG_i/dx_k) x_k'(V) (V - E_i)` and
//!
//! ```text
//! S_i^f = [G_i + sum_k w_fs,k D_ik] / g_leak
//! S_i^s = [sum_k (w_su,k - w_fs,k) D_ik] / g_leak
//! S_i^u = [sum_k (1 - w_su,k) D_ik] / g_leak
//! ```
//!
//! (spec `models.md` 5.1), with the weights of [`w_factor`] from the gate's own time constant or forced by
//! the declaration ([`DicTimescale`]). Gate values and derivatives come from the model's declaration
//! through [`Model::gate_inf`] evaluated on dual numbers.
//!
//! A calcium-dependent gate `x = r(Ca) u(V)` (STG KCa) makes its channel depend on the model's own
//! calcium equilibrium `Ca_inf(V) = -alpha sum_c g_c G_c(V) (V - E_c) + beta` over the carriers. Writing
//! `q(Ca) = r(Ca)^p` and `Ĝ` for the open product with `u` in place of `x`, the channel's sensitivities are
//! `q(Ca) ŝ + q'(Ca) Ca_inf'(V) Ĝ (V - E) ω`, where `ŝ` (the direct V terms at `q = 1`) and `ω` (the
//! weights of the constant calcium time constant) depend on V only. The kernel stores `ŝ` and
//! `Ĝ (V - E) ω`; per model only `Ca_inf`, `Ca_inf'` (linear in the carrier conductances) and `q` remain.

use num_dual::{Dual2_64, Dual64, DualNum};
use spikepop_models::model::{DicTimescale, Gate, Gating, Model};
use spikepop_models::vfn::{Real, VFn};

/// The largest number of channels (leak included) a model may have.
pub const MAX_CHANNELS: usize = spikepop_models::file::MAX_CHANNELS;

/// The three DIC timescales.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timescale {
    /// Fast (`g_f`).
    Fast = 0,
    /// Slow (`g_s`).
    Slow = 1,
    /// Ultraslow (`g_u`).
    Ultraslow = 2,
}

impl Timescale {
    /// The three timescales in order.
    pub const ALL: [Timescale; 3] = [Timescale::Fast, Timescale::Slow, Timescale::Ultraslow];

    /// The DIC's column name (`g_f`, `g_s`, `g_u`).
    pub const fn column(self) -> &'static str {
        match self {
            Timescale::Fast => "g_f",
            Timescale::Slow => "g_s",
            Timescale::Ultraslow => "g_u",
        }
    }
}

/// The timescale weight `w(tau; tau1, tau2)` of spec 5.2: 1 if `tau <= tau1`, `(ln tau2 - ln tau) /
/// (ln tau2 - ln tau1)` if `tau1 < tau <= tau2`, 0 if `tau > tau2`.
pub fn w_factor(tau: f64, tau1: f64, tau2: f64) -> f64 {
    if tau > tau2 {
        0.0
    } else if tau > tau1 {
        (libm::log(tau2) - libm::log(tau)) / (libm::log(tau2) - libm::log(tau1))
    } else {
        1.0
    }
}

/// Dynamic input conductances (dimensionless, normalised by the cell's g_leak).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dics {
    /// Fast DIC.
    pub g_f: f64,
    /// Slow DIC.
    pub g_s: f64,
    /// Ultraslow DIC.
    pub g_u: f64,
}

impl Dics {
    /// The total DIC `g_t = g_f + g_s + g_u`.
    pub fn g_t(&self) -> f64 {
        self.g_f + self.g_s + self.g_u
    }

    /// The DIC of one timescale.
    pub fn get(&self, t: Timescale) -> f64 {
        self.as_array()[t as usize]
    }

    /// `[g_f, g_s, g_u]`.
    pub fn as_array(&self) -> [f64; 3] {
        [self.g_f, self.g_s, self.g_u]
    }

    /// From `[g_f, g_s, g_u]`.
    pub fn from_array(a: [f64; 3]) -> Self {
        Self {
            g_f: a[0],
            g_s: a[1],
            g_u: a[2],
        }
    }

    /// All NaN (no threshold, no value).
    pub const NAN: Dics = Dics {
        g_f: f64::NAN,
        g_s: f64::NAN,
        g_u: f64::NAN,
    };
}

/// The sensitivity matrix S (3 x n_channels, normalised by g_leak): `S[channel] = [S^f, S^s, S^u]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sensitivities {
    n: usize,
    s: [[f64; 3]; MAX_CHANNELS],
}

impl Sensitivities {
    /// Number of channels.
    pub fn n_channels(&self) -> usize {
        self.n
    }

    /// `[S^f, S^s, S^u]` of one channel.
    pub fn channel(&self, i: usize) -> [f64; 3] {
        assert!(i < self.n, "channel index {i} out of range");
        self.s[i]
    }

    /// One row (timescale) over all channels.
    pub fn row(&self, t: Timescale) -> Vec<f64> {
        self.s[..self.n].iter().map(|c| c[t as usize]).collect()
    }

    /// The DICs of conductances `g`: `g_x = sum_i g_i S_i^x` (S is already normalised by g_leak).
    pub fn dics(&self, g: &[f64]) -> Dics {
        assert_eq!(g.len(), self.n, "one conductance per channel");
        let mut d = [0.0; 3];
        for (gi, si) in g.iter().zip(&self.s) {
            for x in 0..3 {
                d[x] += gi * si[x];
            }
        }
        Dics::from_array(d)
    }
}

/// The weights and time constant of one gate (or of the calcium pathway) at the kernel's voltage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateWeights {
    /// Channel index.
    pub channel: usize,
    /// The gate's name (`m_Na`), or `Ca` for the calcium pathway of a calcium-dependent channel.
    pub name: &'static str,
    /// The time constant used (ms), `None` when the weights are forced.
    pub tau: Option<f64>,
    /// Weight of the fast part against the slow one.
    pub w_fs: f64,
    /// Weight of the fast-and-slow part against the ultraslow one.
    pub w_su: f64,
}

/// A channel whose open product depends on calcium.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CaDependent {
    /// Channel index.
    pub channel: usize,
    /// The calcium-dependent gate with its voltage part replaced by 1: `gate_inf` of it is `r(Ca)`.
    unit_gate: Gate,
    /// Exponent of the gate.
    power: i32,
    /// Unnormalised sensitivities at `q = 1` (direct V terms, timescale-split).
    pub direct: [f64; 3],
    /// `Ĝ (V - E) ω`: multiplies `q'(Ca) Ca_inf'(V)`.
    pub path: [f64; 3],
}

impl CaDependent {
    /// `q(Ca) = r(Ca)^p`, generically (values, first or second derivatives).
    fn q<D: Real>(&self, ca: D) -> D {
        Model::gate_inf(&self.unit_gate, D::from(0.0), ca).powi(self.power)
    }

    /// `(q, q')` at `ca`.
    #[inline]
    pub fn q1(&self, ca: f64) -> (f64, f64) {
        let r = self.q(Dual64::new(ca, 1.0));
        (r.re, r.eps)
    }

    /// `(q, q', q'')` at `ca`.
    #[inline]
    pub fn q2(&self, ca: f64) -> (f64, f64, f64) {
        let r = self.q(Dual2_64::new(ca, 1.0, 0.0));
        (r.re, r.v1, r.v2)
    }
}

/// The calcium part of a kernel.
#[derive(Clone, Debug)]
pub(crate) struct CaKernel {
    /// `beta` of the calcium equation.
    pub beta: f64,
    /// `d Ca_inf / d g_c = -alpha G_c (V - E_c)` per channel (0 for non-carriers).
    pub a: [f64; MAX_CHANNELS],
    /// `d Ca_inf'(V) / d g_c = -alpha (G_c'(V)(V - E_c) + G_c)` per channel (0 for non-carriers).
    pub b: [f64; MAX_CHANNELS],
    /// Carrier channel indices.
    pub carriers: Vec<usize>,
    /// Calcium-dependent channels.
    pub dependents: Vec<CaDependent>,
}

impl CaKernel {
    /// `(Ca_inf, dCa_inf/dV)` for conductances `g`.
    #[inline]
    pub fn eq(&self, g: &[f64]) -> (f64, f64) {
        let (mut ca, mut dca) = (self.beta, 0.0);
        for &c in &self.carriers {
            ca += g[c] * self.a[c];
            dca += g[c] * self.b[c];
        }
        (ca, dca)
    }
}

/// Everything of the DIC sensitivities that depends on the voltage only, for one model at one V.
#[derive(Clone, Debug)]
pub struct Kernel {
    model: &'static Model,
    v: f64,
    pub(crate) n: usize,
    pub(crate) leak: usize,
    /// Unnormalised sensitivities; for calcium-dependent channels the direct part at `q = 1`.
    pub(crate) s: [[f64; 3]; MAX_CHANNELS],
    /// Whether a channel is calcium-dependent (its `s` entry must be rebuilt per model).
    pub(crate) ca_dep: [bool; MAX_CHANNELS],
    pub(crate) ca: Option<CaKernel>,
    tau_ref: [f64; 3],
    weights: Vec<GateWeights>,
}

/// Value and V-derivative of a gate's voltage part.
fn gate_v_part(gate: &Gate, v: f64) -> (f64, f64) {
    match gate.gating {
        Gating::CaDependent { inf, .. } => inf.eval_d(v),
        _ => {
            let x = Model::gate_inf(gate, Dual64::new(v, 1.0), Dual64::from(0.0));
            (x.re, x.eps)
        }
    }
}

/// The open product and its V-derivative of a calcium-independent channel, by dual numbers.
fn open_product_d(gates: &[Gate], v: f64) -> (f64, f64) {
    let mut p = Dual64::from(1.0);
    for g in gates {
        assert!(
            !matches!(g.gating, Gating::CaDependent { .. }),
            "a calcium carrier with a calcium-dependent gate ({}) is not supported",
            g.name
        );
        p *= Model::gate_inf(g, Dual64::new(v, 1.0), Dual64::from(0.0)).powi(g.power);
    }
    (p.re, p.eps)
}

impl Kernel {
    /// Precomputes the sensitivities of `model` at voltage `v` (mV).
    ///
    /// # Panics
    /// If the model has more than [`MAX_CHANNELS`] channels, a gate with `DicTimescale::OwnTau` but no time
    /// constant, a channel with two calcium-dependent gates, or a calcium-dependent gate without calcium
    /// dynamics: declaration errors, not data errors.
    pub fn new(model: &'static Model, v: f64) -> Self {
        let n = model.n_channels();
        assert!(
            n <= MAX_CHANNELS,
            "{} has {n} channels; at most {MAX_CHANNELS} are supported",
            model.name
        );
        let tau_ref = model.timescales.map(|t| model.tau_ref(t, v));
        let [tf, ts, tu] = tau_ref;
        let weights_of = |tau: f64| (w_factor(tau, tf, ts), w_factor(tau, ts, tu));
        let mut s = [[0.0; 3]; MAX_CHANNELS];
        let mut ca_dep = [false; MAX_CHANNELS];
        let mut weights = Vec::new();
        let mut dependents = Vec::new();
        for (ci, ch) in model.channels.iter().enumerate() {
            let vals: Vec<(f64, f64)> = ch.gates.iter().map(|g| gate_v_part(g, v)).collect();
            let dv = v - ch.reversal;
            let ghat: f64 = ch
                .gates
                .iter()
                .zip(&vals)
                .map(|(g, &(x, _))| x.powi(g.power))
                .product();
            let mut si = [ghat, 0.0, 0.0];
            let mut ca_gate = None;
            for (k, gate) in ch.gates.iter().enumerate() {
                let (w_fs, w_su, tau) = match gate.dic {
                    DicTimescale::OwnTau => {
                        let tau = Model::gate_tau(gate, v).unwrap_or_else(|| {
                            panic!(
                                "gate {} has OwnTau DIC weights but no time constant",
                                gate.name
                            )
                        });
                        let (a, b) = weights_of(tau);
                        (a, b, Some(tau))
                    }
                    DicTimescale::Forced { w_fs, w_su } => (w_fs, w_su, None),
                };
                weights.push(GateWeights {
                    channel: ci,
                    name: gate.name,
                    tau,
                    w_fs,
                    w_su,
                });
                // dG/dx_k = p_k x_k^(p_k - 1) prod_{j != k} x_j^p_j
                let mut partial = f64::from(gate.power) * vals[k].0.powi(gate.power - 1);
                for (j, g2) in ch.gates.iter().enumerate() {
                    if j != k {
                        partial *= vals[j].0.powi(g2.power);
                    }
                }
                let d = partial * vals[k].1 * dv;
                si[0] += w_fs * d;
                si[1] += (w_su - w_fs) * d;
                si[2] += (1.0 - w_su) * d;
                if let Gating::CaDependent { kd, tau, .. } = gate.gating {
                    assert!(
                        ca_gate.is_none(),
                        "channel {} has two calcium-dependent gates",
                        ch.name
                    );
                    let unit_gate = Gate {
                        gating: Gating::CaDependent {
                            inf: VFn::Const(1.0),
                            kd,
                            tau,
                        },
                        ..*gate
                    };
                    ca_gate = Some((unit_gate, gate.power));
                }
            }
            s[ci] = si;
            if let Some((unit_gate, power)) = ca_gate {
                let calcium = model.calcium.unwrap_or_else(|| {
                    panic!(
                        "channel {} is calcium-dependent but {} has no calcium",
                        ch.name, model.name
                    )
                });
                let (w_fs, w_su) = weights_of(calcium.tau);
                weights.push(GateWeights {
                    channel: ci,
                    name: "Ca",
                    tau: Some(calcium.tau),
                    w_fs,
                    w_su,
                });
                let c = ghat * dv;
                ca_dep[ci] = true;
                dependents.push(CaDependent {
                    channel: ci,
                    unit_gate,
                    power,
                    direct: si,
                    path: [c * w_fs, c * (w_su - w_fs), c * (1.0 - w_su)],
                });
            }
        }
        let ca = model.calcium.map(|c| {
            let mut a = [0.0; MAX_CHANNELS];
            let mut b = [0.0; MAX_CHANNELS];
            for &k in c.carriers {
                let ch = &model.channels[k];
                let (gk, dgk) = open_product_d(ch.gates, v);
                let dv = v - ch.reversal;
                a[k] = -c.alpha * gk * dv;
                b[k] = -c.alpha * (dgk * dv + gk);
            }
            CaKernel {
                beta: c.beta,
                a,
                b,
                carriers: c.carriers.to_vec(),
                dependents,
            }
        });
        Kernel {
            model,
            v,
            n,
            leak: model.leak_index(),
            s,
            ca_dep,
            ca,
            tau_ref,
            weights,
        }
    }

    /// The model.
    pub fn model(&self) -> &'static Model {
        self.model
    }

    /// The voltage (mV).
    pub fn v(&self) -> f64 {
        self.v
    }

    /// The reference timescales (tau_f, tau_s, tau_u) at V (ms).
    pub fn reference_taus(&self) -> [f64; 3] {
        self.tau_ref
    }

    /// The weights of every gate, in channel and gate order, each calcium pathway after its channel's
    /// gates.
    pub fn gate_weights(&self) -> &[GateWeights] {
        &self.weights
    }

    /// `(Ca_inf(V), dCa_inf/dV)` for conductances `g`, if the model has calcium.
    pub fn calcium(&self, g: &[f64]) -> Option<(f64, f64)> {
        self.ca.as_ref().map(|c| c.eq(g))
    }

    /// Unnormalised sensitivities for conductances `g` (only the calcium carriers of `g` matter).
    #[inline]
    pub(crate) fn fill_unnormalised(&self, g: &[f64], s: &mut [[f64; 3]; MAX_CHANNELS]) {
        *s = self.s;
        if let Some(ca) = &self.ca {
            let (c, dc) = ca.eq(g);
            for d in &ca.dependents {
                let (q, dq) = d.q1(c);
                let k = dq * dc;
                for x in 0..3 {
                    s[d.channel][x] = q * d.direct[x] + k * d.path[x];
                }
            }
        }
    }

    /// The sensitivity matrix for conductances `g`, normalised by `g`'s g_leak. Only the leak and the
    /// calcium carriers of `g` matter.
    pub fn sensitivities(&self, g: &[f64]) -> Sensitivities {
        self.check_len(g);
        let mut s = [[0.0; 3]; MAX_CHANNELS];
        self.fill_unnormalised(g, &mut s);
        let inv = 1.0 / g[self.leak];
        for si in &mut s[..self.n] {
            for x in si.iter_mut() {
                *x *= inv;
            }
        }
        Sensitivities { n: self.n, s }
    }

    /// `sum_i g_i S_i` unnormalised (multiply by 1/g_leak for the DICs).
    #[inline]
    pub(crate) fn dics_unnormalised(&self, g: &[f64]) -> [f64; 3] {
        let mut d = [0.0; 3];
        for i in 0..self.n {
            if !self.ca_dep[i] {
                let si = &self.s[i];
                d[0] += g[i] * si[0];
                d[1] += g[i] * si[1];
                d[2] += g[i] * si[2];
            }
        }
        if let Some(ca) = &self.ca {
            let (c, dc) = ca.eq(g);
            for dep in &ca.dependents {
                let (q, dq) = dep.q1(c);
                let k = dq * dc;
                let gi = g[dep.channel];
                for x in 0..3 {
                    d[x] += gi * (q * dep.direct[x] + k * dep.path[x]);
                }
            }
        }
        d
    }

    /// The DICs of conductances `g` at the kernel's voltage, normalised by `g`'s g_leak.
    #[inline]
    pub fn dics(&self, g: &[f64]) -> Dics {
        self.check_len(g);
        let d = self.dics_unnormalised(g);
        let inv = 1.0 / g[self.leak];
        Dics {
            g_f: d[0] * inv,
            g_s: d[1] * inv,
            g_u: d[2] * inv,
        }
    }

    #[inline]
    fn check_len(&self, g: &[f64]) {
        assert_eq!(
            g.len(),
            self.n,
            "{} conductances for the {} model's {} channels",
            g.len(),
            self.model.name,
            self.n
        );
    }
}

/// The sensitivity matrix of `model` at `v` for conductances `g` (normalised by g_leak). Builds a kernel;
/// use [`Kernel`] directly to evaluate many conductance vectors at one voltage.
pub fn sensitivities(model: &'static Model, v: f64, g: &[f64]) -> Sensitivities {
    Kernel::new(model, v).sensitivities(g)
}

/// The DICs of `model` at `v` for conductances `g` (normalised by g_leak). Builds a kernel; use
/// [`Kernel`] directly to evaluate many conductance vectors at one voltage.
pub fn dics(model: &'static Model, v: f64, g: &[f64]) -> Dics {
    Kernel::new(model, v).dics(g)
}

/// The sensitivity matrix computed directly, without the kernel's factorisation: every gate value and
/// derivative (in V and in Ca) by dual numbers at the cell's own calcium equilibrium. Slow; it is the
/// definition the fast path is tested against.
pub fn sensitivities_direct(model: &'static Model, v: f64, g: &[f64]) -> Sensitivities {
    assert_eq!(g.len(), model.n_channels(), "one conductance per channel");
    let [tf, ts, tu] = model.timescales.map(|t| model.tau_ref(t, v));
    // Ca_inf(V) and its derivative, as one dual-number function of V.
    let (ca, dca) = match model.calcium {
        Some(c) => {
            let vd = Dual64::new(v, 1.0);
            let mut sum = Dual64::from(0.0);
            for &k in c.carriers {
                let ch = &model.channels[k];
                let mut p = Dual64::from(1.0);
                for gate in ch.gates {
                    p *= Model::gate_inf(gate, vd, Dual64::from(0.0)).powi(gate.power);
                }
                sum += p * (vd - ch.reversal) * g[k];
            }
            let r = sum * (-c.alpha) + c.beta;
            (r.re, r.eps)
        }
        None => (0.0, 0.0),
    };
    let mut s = [[0.0; 3]; MAX_CHANNELS];
    for (ci, ch) in model.channels.iter().enumerate() {
        let dv = v - ch.reversal;
        let x: Vec<f64> = ch
            .gates
            .iter()
            .map(|gate| Model::gate_inf(gate, v, ca))
            .collect();
        let open: f64 = ch
            .gates
            .iter()
            .zip(&x)
            .map(|(gate, xk)| xk.powi(gate.power))
            .product();
        let mut si = [open, 0.0, 0.0];
        for (k, gate) in ch.gates.iter().enumerate() {
            let mut partial = f64::from(gate.power) * x[k].powi(gate.power - 1);
            for (j, g2) in ch.gates.iter().enumerate() {
                if j != k {
                    partial *= x[j].powi(g2.power);
                }
            }
            let dxdv = Model::gate_inf(gate, Dual64::new(v, 1.0), Dual64::from(ca)).eps;
            let (w_fs, w_su) = match gate.dic {
                DicTimescale::OwnTau => {
                    let tau = Model::gate_tau(gate, v).expect("OwnTau gate has a tau");
                    (w_factor(tau, tf, ts), w_factor(tau, ts, tu))
                }
                DicTimescale::Forced { w_fs, w_su } => (w_fs, w_su),
            };
            let d = partial * dxdv * dv;
            si[0] += w_fs * d;
            si[1] += (w_su - w_fs) * d;
            si[2] += (1.0 - w_su) * d;
            if matches!(gate.gating, Gating::CaDependent { .. }) {
                let c = model.calcium.expect("calcium-dependent gate needs calcium");
                let dxdca = Model::gate_inf(gate, Dual64::from(v), Dual64::new(ca, 1.0)).eps;
                let (w_fs, w_su) = (w_factor(c.tau, tf, ts), w_factor(c.tau, ts, tu));
                let d = partial * dxdca * dca * dv;
                si[0] += w_fs * d;
                si[1] += (w_su - w_fs) * d;
                si[2] += (1.0 - w_su) * d;
            }
        }
        let inv = 1.0 / g[model.leak_index()];
        s[ci] = si.map(|x| x * inv);
    }
    Sensitivities {
        n: model.n_channels(),
        s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w_factor_branches() {
        assert_eq!(w_factor(0.1, 0.2, 5.0), 1.0);
        assert_eq!(w_factor(0.2, 0.2, 5.0), 1.0);
        assert_eq!(w_factor(5.0, 0.2, 5.0), 0.0);
        assert_eq!(w_factor(6.0, 0.2, 5.0), 0.0);
        assert!((w_factor(1.0, 0.1, 10.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn unit_gate_gives_the_calcium_factor() {
        let m = &spikepop_models::STG;
        let k = Kernel::new(m, -51.0);
        let dep = &k.ca.as_ref().unwrap().dependents[0];
        let gate = &m.channels[dep.channel].gates[0];
        for ca in [0.05, 0.5, 3.0, 40.0] {
            let (q, dq) = dep.q1(ca);
            let (q2, dq2, _) = dep.q2(ca);
            let u = match gate.gating {
                Gating::CaDependent { inf, .. } => inf.at(-51.0),
                _ => unreachable!(),
            };
            let x = Model::gate_inf(gate, Dual64::from(-51.0), Dual64::new(ca, 1.0));
            // x = r u, so x^4 = q u^4 and d(x^4)/dCa = q' u^4.
            assert!((x.re.powi(4) - q * u.powi(4)).abs() <= 1e-15 * x.re.powi(4));
            assert!((4.0 * x.re.powi(3) * x.eps - dq * u.powi(4)).abs() <= 1e-13 * dq * u.powi(4));
            assert!((q - q2).abs() <= 1e-15 * q && (dq - dq2).abs() <= 1e-15 * dq);
        }
    }
}
