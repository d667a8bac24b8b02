//! The predictor's input: a fixed-size vector of firing-pattern features for a spike train of any length.
//!
//! Every feature is a smooth, scale-aware function of the inter-spike intervals (ISIs, ms), mostly in log
//! space, so that trains from 3 spikes to hours of recording map to the same vector layout. A feature that
//! does not apply (the burst period of a tonic train) is 0 with a "present" flag set to 0, never NaN.
//! The layout is [`NAMES`]; [`VERSION`] changes whenever it does, and weights record the version they were
//! trained with.

use spikepop_spikes::features::{Classifier, Features, Label, bursts};

/// Version of the feature layout (stored in the weights' metadata and checked on load).
pub const VERSION: u32 = 3;

/// The ISI quantiles (in log space) in the vector.
pub const QUANTILES: [f64; 9] = [0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98];

/// The feature names, in vector order.
pub const NAMES: [&str; N_FEATURES] = [
    "log_rate",
    "log_n_spikes",
    "log_isi_mean",
    "log_isi_sd",
    "log_isi_q02",
    "log_isi_q05",
    "log_isi_q10",
    "log_isi_q25",
    "log_isi_q50",
    "log_isi_q75",
    "log_isi_q90",
    "log_isi_q95",
    "log_isi_q98",
    "log_isi_min",
    "log_isi_max",
    "log1p_cv",
    "cv2",
    "lv",
    "dlog_isi_abs_mean",
    "dlog_isi_sd",
    "dlog_isi_abs_q90",
    "log_isi_corr1",
    "log_isi_corr2",
    "frac_short",
    "frac_long",
    "label_tonic",
    "label_bursting",
    "label_irregular",
    "burst_present",
    "log_spikes_per_burst",
    "log_burst_duration",
    "log_intra_burst_hz",
    "duty_cycle",
    "log_burst_rate",
    "burst_period_present",
    "log_inter_burst_period",
    "spikes_per_burst_cv",
    "intra_first_log_isi",
    "intra_last_log_isi",
    "intra_log_isi_sd",
    "inter_log_isi_sd",
    "log_f_spiking",
    "log_cv_fine",
    "log_cv2_fine",
    "log_isi_spread_fine",
    "isi_trend",
    "log_abs_isi_trend",
    "isi_curvature",
    "log_abs_isi_curvature",
    "first_isi_dev",
    "last_isi_dev",
    "log_rate_sd_halves",
    "log_period_cv_fine",
    "period_trend",
    "log_abs_period_trend",
    "log_burst_duration_cv_fine",
    "intra_mid_log_isi",
    "log_silence_mean",
];

/// Length of the feature vector.
pub const N_FEATURES: usize = 58;

/// The labels the predictor distinguishes (its `p_<label>` outputs), in output order. Silent trains (fewer than
/// 3 spikes) never reach the network.
pub const LABELS: [Label; 3] = [Label::Tonic, Label::Bursting, Label::Irregular];

/// Index of `label` in [`LABELS`] (`None` for silent).
pub fn label_index(label: Label) -> Option<usize> {
    LABELS.iter().position(|l| *l == label)
}

/// Whether a train is too short for the predictor (fewer than 3 spikes: the `silent` label).
pub fn is_silent(times_ms: &[f64]) -> bool {
    times_ms.len() < 3
}

/// Linear-interpolation quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let w = pos - lo as f64;
    sorted[lo] * (1.0 - w) + sorted[hi] * w
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Pearson correlation of `x[i]` and `x[i + lag]` (0 when undefined).
fn autocorr(x: &[f64], lag: usize) -> f64 {
    if x.len() < lag + 3 {
        return 0.0;
    }
    let a = &x[..x.len() - lag];
    let b = &x[lag..];
    let (ma, sa) = mean_sd(a);
    let (mb, sb) = mean_sd(b);
    if sa < 1e-9 || sb < 1e-9 {
        return 0.0;
    }
    let c = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / a.len() as f64;
    (c / (sa * sb)).clamp(-1.0, 1.0)
}

/// Least-squares coefficients of `y` on the centred position `p` in [-1/2, 1/2] and on the orthogonal
/// quadratic `p^2 - mean(p^2)`: (slope, curvature); 0 for fewer than 3 values.
fn trend(y: &[f64]) -> (f64, f64) {
    let k = y.len();
    if k < 3 {
        return (0.0, 0.0);
    }
    let p: Vec<f64> = (0..k).map(|i| i as f64 / (k - 1) as f64 - 0.5).collect();
    let p2m = p.iter().map(|x| x * x).sum::<f64>() / k as f64;
    let q: Vec<f64> = p.iter().map(|x| x * x - p2m).collect();
    let ym = y.iter().sum::<f64>() / k as f64;
    let fit = |b: &[f64]| {
        let num: f64 = b.iter().zip(y).map(|(b, y)| b * (y - ym)).sum();
        let den: f64 = b.iter().map(|b| b * b).sum();
        if den > 0.0 { num / den } else { 0.0 }
    };
    (fit(&p), fit(&q))
}

/// `ln(x)` for a finite positive `x`, else 0 (with the caller's presence flag telling them apart).
fn ln_or0(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x.ln()
    } else {
        0.0
    }
}

fn or0(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// The feature vector of a sorted train of at least 3 spikes (see [`NAMES`]), and the default classifier's
/// label. Returns `None` for a silent train (fewer than 3 spikes) or one whose spikes all coincide.
pub fn features(times_ms: &[f64]) -> Option<([f32; N_FEATURES], Label)> {
    if is_silent(times_ms) {
        return None;
    }
    // ISIs of exactly 0 (which readers remove) would give -inf logs: floor them at 1 us.
    let isis: Vec<f64> = times_ms
        .windows(2)
        .map(|w| (w[1] - w[0]).max(1e-3))
        .collect();
    let f = Features::of(times_ms, &Classifier::Default);
    if f.duration_ms.is_nan() || f.duration_ms <= 0.0 {
        return None;
    }
    let logs: Vec<f64> = isis.iter().map(|x| x.ln()).collect();
    let mut sorted = logs.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let (lmean, lsd) = mean_sd(&logs);
    let dl: Vec<f64> = logs.windows(2).map(|w| w[1] - w[0]).collect();
    let mut adl: Vec<f64> = dl.iter().map(|x| x.abs()).collect();
    adl.sort_unstable_by(f64::total_cmp);
    let (_, dsd) = mean_sd(&dl);
    let (adl_mean, adl_q90) = if adl.is_empty() {
        (0.0, 0.0)
    } else {
        (
            adl.iter().sum::<f64>() / adl.len() as f64,
            quantile(&adl, 0.9),
        )
    };
    let med = quantile(&sorted, 0.5);
    let k = logs.len() as f64;
    let frac_short = logs
        .iter()
        .filter(|&&l| l < med - std::f64::consts::LN_2)
        .count() as f64
        / k;
    let frac_long = logs
        .iter()
        .filter(|&&l| l > med + std::f64::consts::LN_2)
        .count() as f64
        / k;

    const TINY: f64 = 1e-6;
    let mut v = [0f64; N_FEATURES];
    v[0] = ln_or0(f.mean_rate_hz);
    v[1] = (times_ms.len() as f64).ln();
    v[2] = lmean;
    v[3] = lsd;
    for (j, q) in QUANTILES.iter().enumerate() {
        v[4 + j] = quantile(&sorted, *q);
    }
    v[13] = sorted[0];
    v[14] = sorted[sorted.len() - 1];
    v[15] = or0(f.cv).ln_1p();
    v[16] = or0(f.cv2);
    v[17] = or0(f.lv);
    v[18] = adl_mean;
    v[19] = dsd;
    v[20] = adl_q90;
    v[21] = autocorr(&logs, 1);
    v[22] = autocorr(&logs, 2);
    v[23] = frac_short;
    v[24] = frac_long;
    match f.label {
        Label::Tonic => v[25] = 1.0,
        Label::Bursting => v[26] = 1.0,
        Label::Irregular => v[27] = 1.0,
        Label::Silent => {}
    }
    if f.label == Label::Bursting && f.spikes_per_burst.is_finite() {
        v[28] = 1.0;
        v[29] = ln_or0(f.spikes_per_burst);
        v[30] = ln_or0(f.burst_duration_ms);
        v[31] = ln_or0(f.intra_burst_hz);
        v[33] = ln_or0(1000.0 * f.n_bursts / f.duration_ms);
        if f.inter_burst_period_ms.is_finite() {
            v[32] = or0(f.duty_cycle);
            v[34] = 1.0;
            v[35] = ln_or0(f.inter_burst_period_ms);
        }
        // Within-burst structure: spike-count regularity and ISI adaptation inside bursts, and the spread
        // of the silences between bursts.
        let bs = bursts(times_ms, &Classifier::Default);
        let counts: Vec<f64> = bs.iter().map(|r| r.len() as f64).collect();
        let (cm, csd) = mean_sd(&counts);
        v[36] = if cm > 0.0 { csd / cm } else { 0.0 };
        let (mut first, mut last, mut intra) = (Vec::new(), Vec::new(), Vec::new());
        for r in &bs {
            if r.len() >= 2 {
                // ISI j joins spikes j and j+1.
                first.push(logs[r.start]);
                last.push(logs[r.end - 2]);
                intra.extend_from_slice(&logs[r.start..r.end - 1]);
            }
        }
        v[37] = mean_sd(&first).0;
        v[38] = mean_sd(&last).0;
        v[39] = mean_sd(&intra).1;
        let gaps: Vec<f64> = bs
            .windows(2)
            .map(|w| logs[w[1].start - 1])
            .collect::<Vec<_>>();
        v[40] = mean_sd(&gaps).1;
        // Burst-to-burst structure: variability and drift of the onset-to-onset periods, variability of the
        // burst durations, the middle of the intra-burst ISI profile, the mean silence.
        if bs.len() >= 3 {
            let periods: Vec<f64> = bs
                .windows(2)
                .map(|w| (times_ms[w[1].start] - times_ms[w[0].start]).max(1e-3))
                .collect();
            let (pm, psd) = mean_sd(&periods);
            v[52] = (psd / pm + TINY).ln();
            let lp: Vec<f64> = periods.iter().map(|p| p.ln()).collect();
            let (slope, _) = trend(&lp);
            v[53] = slope;
            v[54] = (slope.abs() + TINY).ln();
            let durs: Vec<f64> = bs
                .iter()
                .map(|r| times_ms[r.end - 1] - times_ms[r.start])
                .collect();
            let (dm, dsd) = mean_sd(&durs);
            v[55] = if dm > 0.0 {
                (dsd / dm + TINY).ln()
            } else {
                TINY.ln()
            };
        }
        let mids: Vec<f64> = bs
            .iter()
            .filter(|r| r.len() >= 3)
            .map(|r| logs[r.start + (r.len() - 1) / 2])
            .collect();
        v[56] = mean_sd(&mids).0;
        v[57] = mean_sd(&gaps).0;
    }
    v[41] = ln_or0(f.f_spiking_hz);
    // Fine structure of near-regular trains (on a log scale, so that relative variations of 1e-4 stay
    // visible): variability, and the slow drift of the ISIs over the train (the relaxation of the slow and
    // ultraslow currents), as the linear and quadratic coefficients of log ISI against position.
    v[42] = (or0(f.cv) + TINY).ln();
    v[43] = (or0(f.cv2) + TINY).ln();
    v[44] = (quantile(&sorted, 0.95) - quantile(&sorted, 0.05) + TINY).ln();
    let (slope, curv) = trend(&logs);
    v[45] = slope;
    v[46] = (slope.abs() + TINY).ln();
    v[47] = curv;
    v[48] = (curv.abs() + TINY).ln();
    v[49] = logs[0] - lmean;
    v[50] = logs[logs.len() - 1] - lmean;
    // Difference of the mean log ISI between the two halves of the train.
    let h = logs.len() / 2;
    v[51] = if h >= 1 {
        (mean_sd(&logs[h..]).0 - mean_sd(&logs[..h]).0)
            .abs()
            .max(0.0)
            + TINY
    } else {
        TINY
    }
    .ln();
    let mut out = [0f32; N_FEATURES];
    for (o, x) in out.iter_mut().zip(v) {
        *o = if x.is_finite() { x as f32 } else { 0.0 };
    }
    Some((out, f.label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_length() {
        assert_eq!(NAMES.len(), N_FEATURES);
        let mut seen = std::collections::HashSet::new();
        assert!(NAMES.iter().all(|n| seen.insert(*n)));
    }

    #[test]
    fn silent_trains_have_no_features() {
        assert!(features(&[]).is_none());
        assert!(features(&[1.0, 2.0]).is_none());
        assert!(features(&[5.0, 5.0, 5.0]).is_none());
    }

    #[test]
    fn tonic_and_bursting_trains_are_finite_and_labelled() {
        let tonic: Vec<f64> = (0..30).map(|i| 100.0 * i as f64).collect();
        let (f, l) = features(&tonic).unwrap();
        assert_eq!(l, Label::Tonic);
        assert!(f.iter().all(|x| x.is_finite()));
        assert!((f[0] - 10f32.ln()).abs() < 1e-5);
        assert_eq!(f[28], 0.0);
        let mut burst = Vec::new();
        for b in 0..6 {
            for s in 0..5 {
                burst.push(1000.0 * b as f64 + 10.0 * s as f64);
            }
        }
        let (f, l) = features(&burst).unwrap();
        assert_eq!(l, Label::Bursting);
        assert!(f.iter().all(|x| x.is_finite()));
        assert_eq!(f[28], 1.0);
        assert!((f[29] - 5f32.ln()).abs() < 1e-5);
        assert_eq!(f[34], 1.0);
    }
}
