//! The predictor's input: a fixed-size vector of firing-pattern features for a spike train of any length.
//!
//! Every feature is a smooth, scale-aware function of the inter-spike intervals (ISIs, ms), mostly in log
//! space, so that trains from 3 spikes to hours of recording map to the same vector layout. A feature that
//! does not apply (the burst period of a tonic train) is 0 with a "present" flag set to 0, never NaN.
//! The layout is [`NAMES`]; [`VERSION`] changes whenever it does, and weights record the version they were
//! trained with. A new version only appends features, so weights of an older version read the first
//! [`n_features`] entries of the vector.

use spikepop_spikes::features::{Classifier, Features, Label, bursts};
use spikepop_spikes::stats::quantile;

/// Version of the feature layout (stored in the weights' metadata and checked on load).
pub const VERSION: u32 = 4;

/// The number of leading features that weights of feature version `version` read (`None` for a version this
/// spikepop does not know): version 3 is the first 58, version 4 adds the relaxation profile.
pub fn n_features(version: u32) -> Option<usize> {
    match version {
        3 => Some(V3_FEATURES),
        4 => Some(N_FEATURES),
        _ => None,
    }
}

/// Length of the version-3 vector: the relaxation profile of version 4 starts here.
pub const V3_FEATURES: usize = 58;

/// Number of equal segments (by ISI index) of the relaxation profile.
pub const PROFILE_BINS: usize = 8;

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
    "profile_1",
    "profile_2",
    "profile_3",
    "profile_4",
    "profile_5",
    "profile_6",
    "profile_7",
    "profile_8",
    "first_dev_1",
    "first_dev_2",
    "first_dev_3",
    "last_dev_3",
    "last_dev_2",
    "last_dev_1",
    "dlog_isi_ratio",
    "log_dlog_isi_abs_mean",
    "log_dlog_isi_abs_first",
    "log_dlog_isi_abs_last",
];

/// Length of the feature vector.
pub const N_FEATURES: usize = 76;

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

/// A signed log scale for deviations of log ISIs, which range from 1e-5 (the slow relaxation of a regular
/// train) to 1: `sign(x) ln(1 + |x| / 1e-5)`.
fn slog(x: f64) -> f64 {
    x.signum() * (x.abs() / 1e-5).ln_1p()
}

/// The relaxation profile of a non-bursting train (version 4), from its log ISIs: how the ISIs settle over the
/// train after the cell's last perturbation. Written to `out` (18 values, see [`NAMES`] from `profile_1`):
/// the mean deviation of the log ISIs from their mean in [`PROFILE_BINS`] equal segments of the train (by ISI
/// index; a segment shorter than one ISI takes the ISI it falls on), the first and the last three deviations,
/// all on the [`slog`] scale; the lag-1 ratio of successive changes of log ISI (about the per-spike factor of
/// an exponential relaxation, clamped to [-3, 3]); and the log of the mean absolute change, overall and over
/// the first and the last five changes.
fn relaxation_profile(logs: &[f64], mean: f64, out: &mut [f64]) {
    let n = logs.len();
    let dev = |i: usize| logs[i] - mean;
    for (b, o) in out[..PROFILE_BINS].iter_mut().enumerate() {
        let lo = (b * n / PROFILE_BINS).min(n - 1);
        let hi = ((b + 1) * n / PROFILE_BINS).clamp(lo + 1, n);
        *o = slog((lo..hi).map(dev).sum::<f64>() / (hi - lo) as f64);
    }
    for j in 0..3 {
        out[PROFILE_BINS + j] = slog(dev(j.min(n - 1)));
        out[PROFILE_BINS + 5 - j] = slog(dev(n - 1 - j.min(n - 1)));
    }
    let d: Vec<f64> = logs.windows(2).map(|w| w[1] - w[0]).collect();
    let num: f64 = d.windows(2).map(|w| w[0] * w[1]).sum();
    let den: f64 = d[..d.len().saturating_sub(1)].iter().map(|x| x * x).sum();
    out[PROFILE_BINS + 6] = if den > 0.0 {
        (num / den).clamp(-3.0, 3.0)
    } else {
        0.0
    };
    let ln_abs_mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            (v.iter().map(|x| x.abs()).sum::<f64>() / v.len() as f64 + 1e-9).ln()
        }
    };
    out[PROFILE_BINS + 7] = ln_abs_mean(&d);
    out[PROFILE_BINS + 8] = ln_abs_mean(&d[..d.len().min(5)]);
    out[PROFILE_BINS + 9] = ln_abs_mean(&d[d.len().saturating_sub(5)..]);
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
    // The relaxation profile (version 4) of trains that do not burst: the order of their ISIs, which the
    // trend and curvature above summarise in two numbers.
    if f.label != Label::Bursting {
        relaxation_profile(&logs, lmean, &mut v[V3_FEATURES..]);
    }
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
        // Bursting trains have no relaxation profile.
        assert!(f[V3_FEATURES..].iter().all(|x| *x == 0.0));
    }

    #[test]
    fn the_relaxation_profile_reads_an_exponential_settling() {
        // ISIs settling as 100 (1 + 1e-3 0.8^k) ms: log ISI deviations decay by 0.8 per spike.
        let mut t = vec![0.0];
        for k in 0..40 {
            t.push(t[k] + 100.0 * (1.0 + 1e-3 * 0.8f64.powi(k as i32)));
        }
        let (f, l) = features(&t).unwrap();
        assert_eq!(l, Label::Tonic);
        let at = |name: &str| f[NAMES.iter().position(|n| *n == name).unwrap()] as f64;
        // The first segment is above the mean, the later ones below it by the mean deviation, 1.25e-4, and
        // level.
        assert!(
            (at("profile_8") - slog(-1e-3 / 0.2 / 40.0)).abs() < 0.05,
            "{}",
            at("profile_8")
        );
        assert!(at("profile_1") > 3.0, "{}", at("profile_1"));
        for b in 3..=8 {
            assert!(at(&format!("profile_{b}")) < 0.0);
        }
        assert!((at("profile_8") - at("profile_7")).abs() < 0.05);
        assert!(at("first_dev_1") > at("first_dev_2") && at("first_dev_2") > at("first_dev_3"));
        assert!(
            (at("dlog_isi_ratio") - 0.8).abs() < 1e-3,
            "{}",
            at("dlog_isi_ratio")
        );
        // The first change is 1e-3 (0.8 - 1) = -2e-4 in log ISI.
        assert!(
            (at("log_dlog_isi_abs_first")
                - (2e-4 * (1.0 + 0.8 + 0.64 + 0.512 + 0.4096) / 5.0f64).ln())
            .abs()
                < 0.01
        );
        // The last five changes are 0.8^34, about 5e-4 times smaller: 7.6 less on the log scale.
        assert!((at("log_dlog_isi_abs_first") - at("log_dlog_isi_abs_last") - 7.6).abs() < 0.2);
        // A perfectly regular train has a flat profile.
        let regular: Vec<f64> = (0..30).map(|i| 125.0 * i as f64).collect();
        let (f, _) = features(&regular).unwrap();
        let profile = &f[V3_FEATURES..V3_FEATURES + PROFILE_BINS + 6];
        assert!(profile.iter().all(|x| x.abs() < 1e-3), "{profile:?}");
        assert_eq!(f[V3_FEATURES + PROFILE_BINS + 6], 0.0);
        // Every version reads a prefix of the current vector.
        assert_eq!(n_features(3), Some(58));
        assert_eq!(n_features(VERSION), Some(N_FEATURES));
        assert_eq!(n_features(2), None);
    }
}
