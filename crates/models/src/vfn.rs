//! Voltage functions as data: the building blocks of steady states, time constants and rates.
//!
//! Every function is evaluated by one generic [`VFn::eval`], so the same declaration yields values (with
//! `f64`) and exact derivatives (with dual numbers, [`VFn::eval_d`]) for the DIC sensitivities.

use num_dual::{Dual2_64, Dual64, DualNum};

/// A real number that the voltage functions can be evaluated on: `f64`, or a dual number for first (`Dual64`)
/// or second (`Dual2_64`) derivatives.
pub trait Real: DualNum<Primitive = f64> + Copy {
    /// `e^self` through [`libm::exp`]: the same bits on every processor. The platform's `exp` (glibc) picks an
    /// FMA code path at run time, and a last-bit difference in a rate table grows, over a simulation, into
    /// different spike times: the same `--seed` gave different data sets on different CPUs.
    fn exp_portable(self) -> Self;
}

impl Real for f64 {
    #[inline]
    fn exp_portable(self) -> f64 {
        libm::exp(self)
    }
}

impl Real for Dual64 {
    #[inline]
    fn exp_portable(self) -> Dual64 {
        let e = libm::exp(self.re);
        Dual64::new(e, self.eps * e)
    }
}

impl Real for Dual2_64 {
    #[inline]
    fn exp_portable(self) -> Dual2_64 {
        let e = libm::exp(self.re);
        Dual2_64::new(e, self.v1 * e, (self.v2 + self.v1 * self.v1) * e)
    }
}

/// The generalised sigmoid `gsig(V; a, b, c, d) = a + b / (1 + exp((V + d) / c))` of the reference code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sig {
    /// Offset `a`.
    pub a: f64,
    /// Amplitude `b`.
    pub b: f64,
    /// Slope `c` (mV); negative for activation, positive for inactivation.
    pub c: f64,
    /// Half-point shift `d` (mV): the midpoint is at `V = -d`.
    pub d: f64,
}

impl Sig {
    /// A sigmoid from the reference's (A, B, C, D) arguments.
    pub const fn new(a: f64, b: f64, c: f64, d: f64) -> Self {
        Self { a, b, c, d }
    }

    /// A steady-state sigmoid `1 / (1 + exp((V + d) / c))`, i.e. `gsig(V; 0, 1, c, d)`.
    pub const fn unit(c: f64, d: f64) -> Self {
        Self {
            a: 0.0,
            b: 1.0,
            c,
            d,
        }
    }

    fn eval<D: Real>(&self, v: D) -> D {
        let e = ((v + self.d) / self.c).exp_portable();
        (e + 1.0).recip() * self.b + self.a
    }
}

/// A function of membrane voltage (mV), declared as data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VFn {
    /// A constant.
    Const(f64),
    /// A generalised sigmoid.
    Sig(Sig),
    /// The product of two sigmoids (STG `tau_h_Na`).
    SigProd(Sig, Sig),
    /// `base + scale / (exp((V + v1) / k1) + exp((V + v2) / k2))` (STG CaS time constants).
    InvExpSum {
        /// Constant floor.
        base: f64,
        /// Numerator.
        scale: f64,
        /// First shift (mV).
        v1: f64,
        /// First slope (mV).
        k1: f64,
        /// Second shift (mV).
        v2: f64,
        /// Second slope (mV).
        k2: f64,
    },
    /// `a * exp(k V)`: a kinetic rate (DA ERG scheme).
    Exp {
        /// Rate at 0 mV.
        a: f64,
        /// Exponential factor (1/mV).
        k: f64,
    },
    /// `base + 1 / (a1 exp(k1 V) + a2 exp(k2 V))` (DA `tau_h_Na`).
    InvRateSum {
        /// Constant floor.
        base: f64,
        /// First rate at 0 mV.
        a1: f64,
        /// First exponential factor.
        k1: f64,
        /// Second rate at 0 mV.
        a2: f64,
        /// Second exponential factor.
        k2: f64,
    },
    /// `base + 1 / (-(p + q V) / (exp(r + s V) - 1) + a exp(k V))`: an alpha "linoid" plus an exponential
    /// beta (DA `tau_m_Na`). It has a pole where `r + s V = 0`; see [`VFn::pole`].
    InvLinoidExp {
        /// Constant floor.
        base: f64,
        /// Linoid numerator offset.
        p: f64,
        /// Linoid numerator slope.
        q: f64,
        /// Exponent offset.
        r: f64,
        /// Exponent slope.
        s: f64,
        /// Beta rate at 0 mV.
        a: f64,
        /// Beta exponential factor.
        k: f64,
    },
    /// `a (V - v0) / (1 - exp(-(V - v0) / k))`: the "linoid" rate of Hodgkin-Huxley and Traub-style models,
    /// with its removable singularity at `V = v0` (value `a k`) evaluated through its series there.
    Linoid {
        /// Rate factor (1/(ms mV)).
        a: f64,
        /// Voltage of the removable singularity (mV).
        v0: f64,
        /// Slope (mV).
        k: f64,
    },
    /// Any other expression of V, from a model file ([`crate::expr`]).
    Expr(&'static crate::expr::Expr),
    /// The instantaneous NMDA magnesium block `1 / (1 + mg exp(-k V) / div)`.
    MgBlock {
        /// Extracellular magnesium (mM).
        mg: f64,
        /// Voltage factor (1/mV).
        k: f64,
        /// Divisor (mM).
        div: f64,
    },
}

impl VFn {
    /// Evaluates the function at `v`, generically (values or dual numbers).
    pub fn eval<D: Real>(&self, v: D) -> D {
        match *self {
            VFn::Const(c) => D::from(c),
            VFn::Sig(s) => s.eval(v),
            VFn::SigProd(s1, s2) => s1.eval(v) * s2.eval(v),
            VFn::InvExpSum {
                base,
                scale,
                v1,
                k1,
                v2,
                k2,
            } => {
                (((v + v1) / k1).exp_portable() + ((v + v2) / k2).exp_portable()).recip() * scale
                    + base
            }
            VFn::Exp { a, k } => (v * k).exp_portable() * a,
            VFn::InvRateSum {
                base,
                a1,
                k1,
                a2,
                k2,
            } => ((v * k1).exp_portable() * a1 + (v * k2).exp_portable() * a2).recip() + base,
            VFn::InvLinoidExp {
                base,
                p,
                q,
                r,
                s,
                a,
                k,
            } => {
                let alpha = -(v * q + p) / ((v * s + r).exp_portable() - 1.0);
                (alpha + (v * k).exp_portable() * a).recip() + base
            }
            VFn::MgBlock { mg, k, div } => ((v * (-k)).exp_portable() * mg / div + 1.0).recip(),
            VFn::Linoid { a, v0, k } => {
                let x = (v - v0) / k;
                if x.re().abs() < 1e-4 {
                    // x / (1 - e^-x) = 1 + x/2 + x^2/12 - x^4/720 + ...: exact to rounding for |x| < 1e-4.
                    (x * 0.5 + x * x * (1.0 / 12.0) + 1.0) * (a * k)
                } else {
                    (v - v0) * a / ((-x).exp_portable() * (-1.0) + 1.0)
                }
            }
            VFn::Expr(e) => e.eval(v),
        }
    }

    /// The value at `v` (f64).
    pub fn at(&self, v: f64) -> f64 {
        self.eval(v)
    }

    /// The value and the derivative with respect to `v`, exact (forward-mode dual numbers).
    pub fn eval_d(&self, v: f64) -> (f64, f64) {
        let r = self.eval(Dual64::new(v, 1.0));
        (r.re, r.eps)
    }

    /// The voltage of a removable-looking pole inside the function, if it has one
    /// (the `exp(r + s V) = 1` point of [`VFn::InvLinoidExp`]).
    pub fn pole(&self) -> Option<f64> {
        match *self {
            VFn::InvLinoidExp { r, s, .. } => Some(-r / s),
            _ => None,
        }
    }
}
