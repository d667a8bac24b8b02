//! Spike detection in membrane-potential traces.
//!
//! A spike is an upward crossing of a threshold (mV) by the trace. After it, detection re-arms only once the
//! trace has fallen below `threshold - hysteresis` (so noise around the threshold does not count one spike
//! twice) and, when set, once `refractory_ms` has passed since the spike. An optional slope criterion keeps
//! only crossings whose dV/dt (between the two samples around the crossing) reaches `min_slope` (mV/ms), which
//! leaves out slow depolarisations such as plateaus. The spike time is the crossing, linearly interpolated
//! between the two samples around it, or the time of the highest sample before the trace re-arms.
//!
//! With threshold 10 mV and hysteresis 10 mV this is the reference's spike rule (an upward crossing of +10 mV
//! confirmed by a fall below 0 mV), which `spikepop simulate` applies: on a trace it writes at every step, the
//! detected times lie within one step of the simulator's.

use std::fmt;

/// Where a detected spike's time is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpikeTime {
    /// The upward threshold crossing, interpolated between samples.
    #[default]
    Crossing,
    /// The highest sample of the spike (before the trace re-arms).
    Peak,
}

impl SpikeTime {
    /// The name used on the command line and in files (`crossing`, `peak`).
    pub fn as_str(self) -> &'static str {
        match self {
            SpikeTime::Crossing => "crossing",
            SpikeTime::Peak => "peak",
        }
    }
}

impl std::str::FromStr for SpikeTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "crossing" => Ok(SpikeTime::Crossing),
            "peak" => Ok(SpikeTime::Peak),
            _ => Err(format!("`{s}`: expected crossing or peak")),
        }
    }
}

/// Default [`DetectOptions::threshold_mv`].
pub const DEFAULT_THRESHOLD_MV: f64 = 0.0;
/// Default [`DetectOptions::hysteresis_mv`].
pub const DEFAULT_HYSTERESIS_MV: f64 = 10.0;
/// Default [`DetectOptions::refractory_ms`].
pub const DEFAULT_REFRACTORY_MS: f64 = 1.0;

/// How spikes are detected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectOptions {
    /// The threshold an upward crossing of which is a spike (mV).
    pub threshold_mv: f64,
    /// How far below the threshold the trace must fall before the next spike (mV, > 0).
    pub hysteresis_mv: f64,
    /// Shortest interval between two spikes (ms, >= 0).
    pub refractory_ms: f64,
    /// Smallest dV/dt at the crossing (mV/ms); `None` for no slope criterion.
    pub min_slope: Option<f64>,
    /// Where the spike time is taken.
    pub time: SpikeTime,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            threshold_mv: DEFAULT_THRESHOLD_MV,
            hysteresis_mv: DEFAULT_HYSTERESIS_MV,
            refractory_ms: DEFAULT_REFRACTORY_MS,
            min_slope: None,
            time: SpikeTime::Crossing,
        }
    }
}

/// The option a [`DetectError::Option`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectSetting {
    /// [`DetectOptions::threshold_mv`].
    Threshold,
    /// [`DetectOptions::hysteresis_mv`].
    Hysteresis,
    /// [`DetectOptions::refractory_ms`].
    Refractory,
    /// [`DetectOptions::min_slope`].
    MinSlope,
}

impl DetectSetting {
    /// The setting's name as the command line spells it without its dashes (`min_slope` is `--min-slope`).
    pub fn name(self) -> &'static str {
        match self {
            DetectSetting::Threshold => "threshold",
            DetectSetting::Hysteresis => "hysteresis",
            DetectSetting::Refractory => "refractory",
            DetectSetting::MinSlope => "min_slope",
        }
    }
}

/// Why a trace cannot be searched for spikes.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DetectError {
    /// Time and voltage have different lengths.
    #[error("{t} times but {v} voltages; expected one voltage per time")]
    Lengths {
        /// Times.
        t: usize,
        /// Voltages.
        v: usize,
    },
    /// A time or voltage is not finite.
    #[error("sample {index}: not a finite number; expected finite times and voltages")]
    NotFinite {
        /// The sample (0-based).
        index: usize,
    },
    /// Times do not increase.
    #[error(
        "sample {index}: time {t} ms does not come after {previous} ms; expected increasing times"
    )]
    NotIncreasing {
        /// The sample (0-based).
        index: usize,
        /// Its time.
        t: f64,
        /// The time before it.
        previous: f64,
    },
    /// An option is out of range.
    #[error("{value}: expected {expected}")]
    Option {
        /// Which option.
        setting: DetectSetting,
        /// The value given.
        value: f64,
        /// What is expected.
        expected: &'static str,
    },
}

impl DetectOptions {
    /// Checks the options: a finite threshold, a hysteresis > 0, a refractory period >= 0, a slope > 0.
    pub fn check(&self) -> Result<(), DetectError> {
        let bad = |setting, value, expected| {
            Err(DetectError::Option {
                setting,
                value,
                expected,
            })
        };
        if !self.threshold_mv.is_finite() {
            return bad(
                DetectSetting::Threshold,
                self.threshold_mv,
                "a finite number of mV",
            );
        }
        if !(self.hysteresis_mv.is_finite() && self.hysteresis_mv > 0.0) {
            return bad(
                DetectSetting::Hysteresis,
                self.hysteresis_mv,
                "a number of mV > 0",
            );
        }
        if !(self.refractory_ms.is_finite() && self.refractory_ms >= 0.0) {
            return bad(
                DetectSetting::Refractory,
                self.refractory_ms,
                "a number of ms >= 0",
            );
        }
        if let Some(s) = self.min_slope
            && !(s.is_finite() && s > 0.0)
        {
            return bad(DetectSetting::MinSlope, s, "a slope in mV/ms > 0");
        }
        Ok(())
    }
}

/// The spike times (ms) of a trace sampled at `t_ms` (increasing) with voltages `v_mv`. A trace that starts
/// above `threshold - hysteresis` must first fall below it: a spike in progress at the start is not counted.
pub fn detect(t_ms: &[f64], v_mv: &[f64], opts: &DetectOptions) -> Result<Vec<f64>, DetectError> {
    opts.check()?;
    if t_ms.len() != v_mv.len() {
        return Err(DetectError::Lengths {
            t: t_ms.len(),
            v: v_mv.len(),
        });
    }
    for (i, (t, v)) in t_ms.iter().zip(v_mv).enumerate() {
        if !(t.is_finite() && v.is_finite()) {
            return Err(DetectError::NotFinite { index: i });
        }
        if i > 0 && *t <= t_ms[i - 1] {
            return Err(DetectError::NotIncreasing {
                index: i,
                t: *t,
                previous: t_ms[i - 1],
            });
        }
    }
    let thr = opts.threshold_mv;
    let rearm = thr - opts.hysteresis_mv;
    let mut spikes = Vec::new();
    let mut armed = v_mv.first().is_some_and(|v| *v < rearm);
    // The spike in progress: its index in `spikes` and its highest sample (time, voltage).
    let mut peak: Option<(usize, f64, f64)> = None;
    for i in 1..t_ms.len() {
        let (t0, t1, v0, v1) = (t_ms[i - 1], t_ms[i], v_mv[i - 1], v_mv[i]);
        if let Some((k, _, pv)) = peak
            && v1 > pv
        {
            peak = Some((k, t1, v1));
        }
        if !armed {
            if v1 < rearm {
                if let Some((k, pt, _)) = peak.take()
                    && opts.time == SpikeTime::Peak
                {
                    spikes[k] = pt;
                }
                armed = true;
            }
            continue;
        }
        if !(v0 < thr && v1 >= thr) {
            continue;
        }
        let slope = (v1 - v0) / (t1 - t0);
        if opts.min_slope.is_some_and(|s| slope < s) {
            continue;
        }
        let crossing = t0 + (thr - v0) / (v1 - v0) * (t1 - t0);
        if spikes
            .last()
            .is_some_and(|last: &f64| crossing - last < opts.refractory_ms)
        {
            continue;
        }
        spikes.push(crossing);
        peak = Some((spikes.len() - 1, t1, v1));
        armed = false;
    }
    if let Some((k, pt, _)) = peak
        && opts.time == SpikeTime::Peak
    {
        spikes[k] = pt;
    }
    Ok(spikes)
}

/// A threshold to suggest for a trace in which nothing crossed: halfway between its lowest and highest
/// sample (mV); `None` for an empty or flat trace.
pub fn suggest_threshold(v_mv: &[f64]) -> Option<f64> {
    let lo = v_mv.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v_mv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi > lo).then_some(0.5 * (lo + hi))
}

/// What to tell a user whose trace has no spike at `threshold_mv`: its range and a threshold to try.
pub struct NoSpikes<'a> {
    /// The trace's voltages (mV).
    pub v_mv: &'a [f64],
    /// The threshold that found nothing.
    pub threshold_mv: f64,
}

impl fmt::Display for NoSpikes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lo = self.v_mv.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.v_mv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        write!(
            f,
            "no upward crossing of {} mV; the trace spans {lo:.1} to {hi:.1} mV",
            self.threshold_mv
        )?;
        if let Some(s) = suggest_threshold(self.v_mv) {
            write!(f, " (a threshold to try: {s:.1} mV, halfway)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A train of triangular spikes from -60 to +30 mV, 1 ms up and 1 ms down, starting at `starts` (ms),
    /// sampled every `dt` ms.
    fn trace(starts: &[f64], dt: f64, until: f64) -> (Vec<f64>, Vec<f64>) {
        let n = (until / dt) as usize;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * dt).collect();
        let v = t
            .iter()
            .map(|&t| {
                starts
                    .iter()
                    .map(|&s| {
                        let x = t - s;
                        if (0.0..1.0).contains(&x) {
                            -60.0 + 90.0 * x
                        } else if (1.0..2.0).contains(&x) {
                            30.0 - 90.0 * (x - 1.0)
                        } else {
                            -60.0
                        }
                    })
                    .fold(-60.0, f64::max)
            })
            .collect();
        (t, v)
    }

    #[test]
    fn crossings_are_interpolated_and_peaks_found() {
        let (t, v) = trace(&[10.0, 30.0, 55.5], 0.1, 80.0);
        let got = detect(&t, &v, &DetectOptions::default()).unwrap();
        // 0 mV is crossed 60/90 ms after each start.
        let want = [10.0 + 2.0 / 3.0, 30.0 + 2.0 / 3.0, 55.5 + 2.0 / 3.0];
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{g} vs {w}");
        }
        let peaks = detect(
            &t,
            &v,
            &DetectOptions {
                time: SpikeTime::Peak,
                ..Default::default()
            },
        )
        .unwrap();
        for (g, s) in peaks.iter().zip([10.0, 30.0, 55.5]) {
            assert!((g - (s + 1.0)).abs() < 0.1 + 1e-9, "{g} vs {}", s + 1.0);
        }
    }

    #[test]
    fn hysteresis_refractory_and_slope_leave_out_what_is_not_a_spike() {
        // Noise around the threshold: 1, -1, 1, -1 mV ... crosses 0 many times but never falls 10 mV below.
        let t: Vec<f64> = (0..100).map(|i| i as f64 * 0.1).collect();
        let mut v: Vec<f64> = vec![-60.0; 10];
        v.extend((10..100).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }));
        assert_eq!(detect(&t, &v, &DetectOptions::default()).unwrap().len(), 1);
        // Two spikes 3 ms apart: a refractory period of 5 ms keeps the first alone.
        let (t, v) = trace(&[10.0, 13.0], 0.05, 30.0);
        assert_eq!(detect(&t, &v, &DetectOptions::default()).unwrap().len(), 2);
        let refractory = DetectOptions {
            refractory_ms: 5.0,
            ..Default::default()
        };
        assert_eq!(detect(&t, &v, &refractory).unwrap().len(), 1);
        // A slow ramp across the threshold (1 mV/ms) is not a spike at a 20 mV/ms criterion.
        let t: Vec<f64> = (0..2000).map(|i| i as f64 * 0.1).collect();
        let v: Vec<f64> = t.iter().map(|t| -60.0 + t).collect();
        assert_eq!(detect(&t, &v, &DetectOptions::default()).unwrap().len(), 1);
        let steep = DetectOptions {
            min_slope: Some(20.0),
            ..Default::default()
        };
        assert!(detect(&t, &v, &steep).unwrap().is_empty());
        // A trace that starts during a spike does not count it.
        let (t, v) = trace(&[0.0, 20.0], 0.1, 40.0);
        assert!(v[8] > 0.0);
        assert_eq!(
            detect(&t[8..], &v[8..], &DetectOptions::default())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn bad_traces_and_options_are_named() {
        let o = DetectOptions::default();
        assert!(matches!(
            detect(&[0.0, 1.0], &[0.0], &o),
            Err(DetectError::Lengths { t: 2, v: 1 })
        ));
        assert!(matches!(
            detect(&[0.0, 1.0, 1.0], &[0.0; 3], &o),
            Err(DetectError::NotIncreasing { index: 2, .. })
        ));
        assert!(matches!(
            detect(&[0.0, 1.0], &[0.0, f64::NAN], &o),
            Err(DetectError::NotFinite { index: 1 })
        ));
        let e = detect(
            &[0.0],
            &[0.0],
            &DetectOptions {
                hysteresis_mv: 0.0,
                ..o
            },
        )
        .unwrap_err();
        assert!(matches!(
            e,
            DetectError::Option {
                setting: DetectSetting::Hysteresis,
                ..
            }
        ));
        let hint = NoSpikes {
            v_mv: &[-70.0, -40.0],
            threshold_mv: 0.0,
        }
        .to_string();
        assert!(
            hint.contains("-70.0 to -40.0 mV") && hint.contains("-55.0 mV"),
            "{hint}"
        );
    }
}
