//! Threshold voltage: the model's default, or the first downward zero crossing of the total DIC `g_t(V)`.
//!
//! The crossing is found as the reference's `find_V_th_DICs` does (`reference/README.md` section 2): scan
//! `V_i = -90 + 0.01 i` mV (i = 0..9000, `np.linspace(-90, 0, 9001)`), take the first `i` with
//! `g_t(V_i) > 0` and `g_t(V_{i+1}) <= 0`, then bisect, keeping the half whose left end has `g_t > 0`,
//! until the bracket is at most 1e-9 mV wide, and report the midpoint.

use spikepop_models::Model;

use crate::kernel::Kernel;

/// First voltage of the scan (mV).
pub const SCAN_START: f64 = -90.0;
/// Last voltage of the scan (mV).
pub const SCAN_END: f64 = 0.0;
/// Number of scan points.
pub const SCAN_POINTS: usize = 9001;
/// Width of the final bisection bracket (mV).
pub const BISECTION_WIDTH: f64 = 1e-9;

/// The scan voltage `i`, computed as `np.linspace` does (`i * step + start`, the last point exact).
pub fn scan_voltage(i: usize) -> f64 {
    if i + 1 == SCAN_POINTS {
        return SCAN_END;
    }
    let step = (SCAN_END - SCAN_START) / (SCAN_POINTS - 1) as f64;
    i as f64 * step + SCAN_START
}

/// The model's default threshold voltage (mV): STG -51.0, DA -55.5.
pub fn default_vth(model: &Model) -> f64 {
    model.default_vth
}

/// `g_t(v)` of conductances `g`.
fn g_t(model: &'static Model, v: f64, g: &[f64]) -> f64 {
    Kernel::new(model, v).dics(g).g_t()
}

/// Bisection of a bracket `[lo, hi]` with `g_t(lo) > 0`, `g_t(hi) <= 0`.
fn bisect(model: &'static Model, g: &[f64], mut lo: f64, mut hi: f64) -> f64 {
    while hi - lo > BISECTION_WIDTH {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if g_t(model, mid, g) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The threshold voltage of conductances `g`: the first downward zero crossing of `g_t(V)` on the scan,
/// refined by bisection; `None` if `g_t` never crosses from > 0 to <= 0 on [-90, 0] mV.
///
/// Builds kernels on the fly up to the crossing; to find V_th for many conductance vectors, build a
/// [`VthFinder`] once.
pub fn find_vth(model: &'static Model, g: &[f64]) -> Option<f64> {
    let mut prev = g_t(model, scan_voltage(0), g);
    for i in 1..SCAN_POINTS {
        let cur = g_t(model, scan_voltage(i), g);
        if prev > 0.0 && cur <= 0.0 {
            return Some(bisect(model, g, scan_voltage(i - 1), scan_voltage(i)));
        }
        prev = cur;
    }
    None
}

/// The scan's kernels, built once, to find V_th for many conductance vectors of one model.
#[derive(Clone, Debug)]
pub struct VthFinder {
    model: &'static Model,
    kernels: Vec<Kernel>,
}

impl VthFinder {
    /// Builds the 9001 kernels of the scan (a few tens of milliseconds).
    pub fn new(model: &'static Model) -> Self {
        Self {
            model,
            kernels: (0..SCAN_POINTS)
                .map(|i| Kernel::new(model, scan_voltage(i)))
                .collect(),
        }
    }

    /// The model.
    pub fn model(&self) -> &'static Model {
        self.model
    }

    /// As [`find_vth`], with the scan's kernels precomputed.
    pub fn find(&self, g: &[f64]) -> Option<f64> {
        let mut prev = self.kernels[0].dics(g).g_t();
        for i in 1..SCAN_POINTS {
            let cur = self.kernels[i].dics(g).g_t();
            if prev > 0.0 && cur <= 0.0 {
                return Some(bisect(
                    self.model,
                    g,
                    self.kernels[i - 1].v(),
                    self.kernels[i].v(),
                ));
            }
            prev = cur;
        }
        None
    }
}
