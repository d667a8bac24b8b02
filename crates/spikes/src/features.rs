//! Firing-pattern features of one spike train, and its label: `silent`, `tonic`, `bursting` or `irregular`.
//!
//! All times are in ms, all frequencies in Hz. A feature that does not apply to a train (the CV of two spikes, the
//! burst duration of a tonic train) is NaN, never 0. Definitions, with `t_1 < ... < t_n` the spike times and
//! `I_i = t_{i+1} - t_i` the `n - 1` inter-spike intervals (ISIs):
//!
//! | column | definition | needs |
//! |---|---|---|
//! | `n_spikes` | n | |
//! | `duration_ms` | t_n - t_1 | n >= 2 |
//! | `mean_rate_hz` | 1000 (n - 1) / duration (the rate over the span of the train) | n >= 2 |
//! | `isi_mean_ms` | mean of the I_i | n >= 2 |
//! | `cv` | population standard deviation / mean of the I_i (ddof = 0, as the reference) | n >= 3 |
//! | `cv2` | Holt et al. 1996: mean over i of 2 abs(I_{i+1} - I_i) / (I_{i+1} + I_i); 0 for a clock, about 1 for Poisson | n >= 3 |
//! | `lv` | Shinomoto et al. 2003 local variation: 3/(n-2) sum of ((I_i - I_{i+1}) / (I_i + I_{i+1}))^2; 0 for a clock, 1 for Poisson | n >= 3 |
//! | `f_spiking_hz` | mean of 1000 / I_i (mean instantaneous frequency) | tonic |
//! | `n_bursts` | bursts found: groups of 2 or more spikes separated by long ISIs | bursting |
//! | `spikes_per_burst` | mean spikes per complete burst | bursting |
//! | `burst_duration_ms` | mean first-to-last spike time of complete bursts | bursting |
//! | `intra_burst_hz` | mean over complete bursts of 1000 (k - 1) / burst duration (k spikes) | bursting |
//! | `inter_burst_period_ms` | mean onset-to-onset interval between bursts | bursting, 2 bursts |
//! | `inter_burst_hz` | 1000 / inter_burst_period_ms | bursting, 2 bursts |
//! | `duty_cycle` | burst_duration_ms / inter_burst_period_ms | bursting, 2 bursts |
//! | `nbr_spikes_bursting`, `duration_bursting_ms`, `f_intra_bursting_hz`, `f_inter_bursting_hz` | the reference application's burst features, see [`Classifier::Reference`] | reference classifier, bursting |
//!
//! "Complete" bursts: the first and last bursts of a recording may be cut by its start and end, so with 3 bursts
//! or more, per-burst means leave them out (with 1 or 2 bursts, all are used), and the inter-burst period is the
//! mean onset-to-onset interval from the second burst on (the first onset may be cut).
//!
//! Two classifiers decide the label and the bursts; see [`Classifier`].

use crate::stats::quantile;
use std::fmt;
use std::io;
use std::ops::Range;
use std::str::FromStr;

/// The firing pattern of a train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// Fewer than 3 spikes.
    Silent,
    /// Regular single spikes.
    Tonic,
    /// Groups of spikes at high frequency separated by silences.
    Bursting,
    /// Neither regular nor organised in bursts (e.g. Poisson-like firing). Only the default classifier uses it.
    Irregular,
}

impl Label {
    /// Every label, in order.
    pub const ALL: [Label; 4] = [
        Label::Silent,
        Label::Tonic,
        Label::Bursting,
        Label::Irregular,
    ];

    /// `"silent"`, `"tonic"`, `"bursting"` or `"irregular"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Silent => "silent",
            Label::Tonic => "tonic",
            Label::Bursting => "bursting",
            Label::Irregular => "irregular",
        }
    }

    /// The reference application's numeric label: 0 silent, 1 tonic (spiking), 2 bursting, 3 irregular.
    pub fn reference_code(self) -> u8 {
        match self {
            Label::Silent => 0,
            Label::Tonic => 1,
            Label::Bursting => 2,
            Label::Irregular => 3,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Label::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown label {s:?}, expected silent, tonic, bursting or irregular")
            })
    }
}

/// Which rule labels a train and finds its bursts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Classifier {
    /// spikepop's rule, which also recognises irregular firing (the thresholds are the `DEFAULT_*` constants):
    ///
    /// 1. fewer than 3 spikes: `silent`;
    /// 2. `bursting` when the ISIs split into two well-separated groups, short (within bursts) and long (between
    ///    bursts). Every split of the sorted ISIs is tried; in log scale, a split is well separated when
    ///    - the long ISIs are at least [`DEFAULT_BURST_GAP`] times the short ones, measured from the 10 % quantile of
    ///      the long ones to the 90 % quantile of the short ones ([`DEFAULT_GAP_QUANTILE`]: a few ISIs may lie in
    ///      between, as a dropped spike in a burst makes an ISI twice the intra-burst one),
    ///    - the median long ISI is at least [`DEFAULT_BURST_CONTRAST`] times the median short one,
    ///    - that gap is at least [`DEFAULT_BURST_SEPARATION`] times the sum of the spreads of the two groups
    ///      (robust standard deviations of the log-ISIs: interquartile range / 1.349),
    ///
    ///    and when splitting the train at its long ISIs gives a burst structure: at least 2 bursts of 2 or more
    ///    spikes, holding at least half of the spikes, whose mean duration is at most
    ///    [`DEFAULT_MAX_BURST_TO_SILENCE`] times the mean long ISI. Of the splits that qualify, the one between the
    ///    most different neighbouring ISIs (in the sorted order) gives the bursts. A Poisson train's log-ISIs form one broad group (no gap that is wide against
    ///    the spread), a regular train with a few missing spikes has long ISIs only 2 or 3 times the short ones
    ///    and "bursts" much longer than its pauses: neither is bursting;
    /// 3. `tonic` when CV <= [`DEFAULT_TONIC_CV`] (the reference's threshold) or when the train is locally
    ///    regular: the median over consecutive ISI pairs of CV2's term 2 |I_{i+1} - I_i| / (I_{i+1} + I_i) is at
    ///    most [`DEFAULT_TONIC_CV2`] (half the neighbouring ISIs differ by at most 20 % of their mean). A slow drift
    ///    of rate or a few missing spikes raise CV but not this median; for renewal processes it puts the border
    ///    near CV 0.2, while a Poisson train's median term is about 1;
    /// 4. otherwise `irregular`.
    #[default]
    Default,
    /// The reference application's rule (spec `models.md` section 4), reproduced exactly, including its float32
    /// arithmetic: times are rounded to f32 and shifted to start at 0; fewer than 3 spikes is `silent`;
    /// CV <= 0.15 is `tonic` (with `f_spiking_hz`); otherwise `bursting` (never `irregular`). Bursts are split at
    /// the ISIs above (max ISI + min ISI)/2, only bursts of more than one spike are kept, and the first and last
    /// kept bursts are always dropped; on the remaining ones: `nbr_spikes_bursting` = mean spikes per burst,
    /// `duration_bursting_ms` = mean burst duration, `f_intra_bursting_hz` = 1000 mean(k / duration) (k spikes:
    /// the reference's n/duration, not (n-1)/duration), `f_inter_bursting_hz` = 1000 / mean onset-to-onset
    /// interval (NaN with one burst). The physiologist's burst columns are also filled, on the same bursts.
    Reference,
}

impl Classifier {
    /// `"default"` or `"reference"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Classifier::Default => "default",
            Classifier::Reference => "reference",
        }
    }
}

impl FromStr for Classifier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            x if x.eq_ignore_ascii_case("default") => Ok(Classifier::Default),
            x if x.eq_ignore_ascii_case("reference") => Ok(Classifier::Reference),
            x => Err(format!(
                "unknown classifier {x:?}, expected default or reference"
            )),
        }
    }
}

/// Default classifier: largest CV of a tonic train (the reference's `cv_th`).
pub const DEFAULT_TONIC_CV: f64 = 0.15;
/// Default classifier: largest median of CV2's terms (2 |I_{i+1} - I_i| / (I_{i+1} + I_i)) of a tonic train.
pub const DEFAULT_TONIC_CV2: f64 = 0.2;
/// Default classifier: smallest ratio between the long and the short ISIs of a bursting train, from the
/// [`DEFAULT_GAP_QUANTILE`] quantile of the long ones to the (1 - [`DEFAULT_GAP_QUANTILE`]) quantile of the short.
pub const DEFAULT_BURST_GAP: f64 = 1.5;
/// Default classifier: smallest ratio of the median long ISI to the median short ISI of a bursting train.
pub const DEFAULT_BURST_CONTRAST: f64 = 2.5;
/// Default classifier: the gap between the ISI groups is measured from this quantile of the long ISIs down to the
/// (1 - this) quantile of the short ones, so that a few ISIs may lie in between (a dropped spike in a burst makes
/// an ISI twice the intra-burst one).
pub const DEFAULT_GAP_QUANTILE: f64 = 0.1;
/// Default classifier: smallest ratio of the gap between short and long ISIs to their spread, in log scale: the gap
/// must be this many times the sum of the two groups' robust standard deviations (interquartile range / 1.349).
pub const DEFAULT_BURST_SEPARATION: f64 = 2.5;
/// Default classifier: largest ratio of the mean burst duration to the mean long ISI (silence) of a bursting
/// train (a duty cycle up to about 2/3).
pub const DEFAULT_MAX_BURST_TO_SILENCE: f64 = 2.0;
/// The reference classifier's CV threshold between tonic and bursting.
pub const REFERENCE_CV_THRESHOLD: f64 = 0.15;

/// The header of a features CSV: `ID`, `label`, then the features in the order of [`Features::values`].
pub const COLUMNS: [&str; 21] = [
    "ID",
    "label",
    "n_spikes",
    "duration_ms",
    "mean_rate_hz",
    "isi_mean_ms",
    "cv",
    "cv2",
    "lv",
    "f_spiking_hz",
    "n_bursts",
    "spikes_per_burst",
    "burst_duration_ms",
    "intra_burst_hz",
    "inter_burst_period_ms",
    "inter_burst_hz",
    "duty_cycle",
    "nbr_spikes_bursting",
    "duration_bursting_ms",
    "f_intra_bursting_hz",
    "f_inter_bursting_hz",
];

/// The features of one train (see the module documentation for the definitions). NaN means "does not apply".
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// The label given by the classifier.
    pub label: Label,
    /// Number of spikes.
    pub n_spikes: usize,
    /// First to last spike (ms).
    pub duration_ms: f64,
    /// 1000 (n - 1) / duration (Hz).
    pub mean_rate_hz: f64,
    /// Mean inter-spike interval (ms).
    pub isi_mean_ms: f64,
    /// Coefficient of variation of the ISIs (population standard deviation / mean).
    pub cv: f64,
    /// Holt's CV2: mean of 2 |I_{i+1} - I_i| / (I_{i+1} + I_i).
    pub cv2: f64,
    /// Shinomoto's local variation LV.
    pub lv: f64,
    /// Tonic trains: mean of 1000 / ISI (Hz).
    pub f_spiking_hz: f64,
    /// Bursting trains: number of bursts found.
    pub n_bursts: f64,
    /// Bursting trains: mean spikes per complete burst.
    pub spikes_per_burst: f64,
    /// Bursting trains: mean duration of complete bursts (ms).
    pub burst_duration_ms: f64,
    /// Bursting trains: mean of 1000 (k - 1) / duration over complete bursts (Hz).
    pub intra_burst_hz: f64,
    /// Bursting trains: mean onset-to-onset interval between bursts (ms).
    pub inter_burst_period_ms: f64,
    /// Bursting trains: 1000 / inter-burst period (Hz).
    pub inter_burst_hz: f64,
    /// Bursting trains: burst duration / inter-burst period.
    pub duty_cycle: f64,
    /// Reference classifier, bursting: mean spikes per burst.
    pub nbr_spikes_bursting: f64,
    /// Reference classifier, bursting: mean burst duration (ms).
    pub duration_bursting_ms: f64,
    /// Reference classifier, bursting: 1000 mean(k / duration) (Hz; k spikes, as the reference).
    pub f_intra_bursting_hz: f64,
    /// Reference classifier, bursting: 1000 / mean onset-to-onset interval (Hz).
    pub f_inter_bursting_hz: f64,
}

impl Features {
    /// Measures a train. `times_ms` must be sorted in increasing order (as [`crate::read_trains`] returns them).
    pub fn of(times_ms: &[f64], classifier: &Classifier) -> Features {
        debug_assert!(
            times_ms.windows(2).all(|w| w[0] <= w[1]),
            "spike times must be sorted"
        );
        let n = times_ms.len();
        let mut f = Features::not_applicable(n);
        let isis: Vec<f64> = times_ms.windows(2).map(|w| w[1] - w[0]).collect();
        if n >= 2 {
            f.duration_ms = times_ms[n - 1] - times_ms[0];
            f.isi_mean_ms = f.duration_ms / (n - 1) as f64;
            if f.duration_ms > 0.0 {
                f.mean_rate_hz = 1000.0 / f.isi_mean_ms;
            }
        }
        if let Some([cv, cv2, lv]) = variation_of_isis(&isis) {
            (f.cv, f.cv2, f.lv) = (cv, cv2, lv);
        }
        match classifier {
            Classifier::Default => classify_default(times_ms, &isis, &mut f),
            Classifier::Reference => classify_reference(times_ms, &mut f),
        }
        f
    }

    /// All features NaN, label silent.
    fn not_applicable(n: usize) -> Features {
        let nan = f64::NAN;
        Features {
            label: Label::Silent,
            n_spikes: n,
            duration_ms: nan,
            mean_rate_hz: nan,
            isi_mean_ms: nan,
            cv: nan,
            cv2: nan,
            lv: nan,
            f_spiking_hz: nan,
            n_bursts: nan,
            spikes_per_burst: nan,
            burst_duration_ms: nan,
            intra_burst_hz: nan,
            inter_burst_period_ms: nan,
            inter_burst_hz: nan,
            duty_cycle: nan,
            nbr_spikes_bursting: nan,
            duration_bursting_ms: nan,
            f_intra_bursting_hz: nan,
            f_inter_bursting_hz: nan,
        }
    }

    /// The numeric features in the order of [`COLUMNS`] (from `n_spikes` on).
    pub fn values(&self) -> [f64; COLUMNS.len() - 2] {
        [
            self.n_spikes as f64,
            self.duration_ms,
            self.mean_rate_hz,
            self.isi_mean_ms,
            self.cv,
            self.cv2,
            self.lv,
            self.f_spiking_hz,
            self.n_bursts,
            self.spikes_per_burst,
            self.burst_duration_ms,
            self.intra_burst_hz,
            self.inter_burst_period_ms,
            self.inter_burst_hz,
            self.duty_cycle,
            self.nbr_spikes_bursting,
            self.duration_bursting_ms,
            self.f_intra_bursting_hz,
            self.f_inter_bursting_hz,
        ]
    }

    /// Writes one CSV row: `id`, the label, then [`Features::values`] (shortest round-trip decimals, `NaN` for
    /// NaN). Write [`COLUMNS`] first as the header.
    pub fn write_row<W: io::Write>(&self, id: &str, w: &mut csv::Writer<W>) -> csv::Result<()> {
        use std::fmt::Write as _;
        w.write_field(id)?;
        w.write_field(self.label.as_str())?;
        let mut buf = String::with_capacity(24);
        for v in self.values() {
            buf.clear();
            // Writing to a String cannot fail.
            let _ = write!(buf, "{v}");
            w.write_field(&buf)?;
        }
        w.write_record(None::<&[u8]>)
    }
}

/// The bursts that `classifier` finds in `times_ms` (sorted), as ranges of spike indices, in time order; empty when
/// the train is not bursting. These are all the bursts found (before leaving out possibly cut first and last ones).
pub fn bursts(times_ms: &[f64], classifier: &Classifier) -> Vec<Range<usize>> {
    if times_ms.len() < 3 {
        return Vec::new();
    }
    match classifier {
        Classifier::Default => {
            let isis: Vec<f64> = times_ms.windows(2).map(|w| w[1] - w[0]).collect();
            default_bursts(&isis).unwrap_or_default()
        }
        Classifier::Reference => {
            let (_, isi) = reference_f32(times_ms);
            if reference_cv(&isi) <= REFERENCE_CV_THRESHOLD {
                Vec::new()
            } else {
                reference_bursts(&isi)
            }
        }
    }
}

/// The median over consecutive ISI pairs of 2 |I_{i+1} - I_i| / (I_{i+1} + I_i) (the median of CV2's terms).
fn median_local_variation(isis: &[f64]) -> f64 {
    let mut terms: Vec<f64> = isis
        .windows(2)
        .map(|p| 2.0 * (p[1] - p[0]).abs() / (p[1] + p[0]))
        .collect();
    if terms.is_empty() {
        return f64::NAN;
    }
    let m = terms.len();
    let (below, mid, _) = terms.select_nth_unstable_by(m / 2, f64::total_cmp);
    let upper = *mid;
    if m % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// The `cv`, `cv2` and `lv` of a train (the table above), each 0 for a clock and about 1 for a Poisson process;
/// `None` for fewer than 3 spikes. `times_ms` must be sorted.
pub fn isi_variation(times_ms: &[f64]) -> Option<[f64; 3]> {
    let isis: Vec<f64> = times_ms.windows(2).map(|w| w[1] - w[0]).collect();
    variation_of_isis(&isis)
}

/// [`isi_variation`] of the ISIs; `None` for fewer than 2.
fn variation_of_isis(isis: &[f64]) -> Option<[f64; 3]> {
    if isis.len() < 2 {
        return None;
    }
    let pairs = isis.windows(2);
    let k = pairs.len() as f64;
    let cv2 = pairs
        .clone()
        .map(|p| 2.0 * (p[1] - p[0]).abs() / (p[1] + p[0]))
        .sum::<f64>()
        / k;
    let lv = 3.0 / k
        * pairs
            .map(|p| ((p[0] - p[1]) / (p[0] + p[1])).powi(2))
            .sum::<f64>();
    Some([cv(isis), cv2, lv])
}

/// Population coefficient of variation (ddof = 0).
fn cv(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    var.sqrt() / mean
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

fn classify_default(t: &[f64], isis: &[f64], f: &mut Features) {
    if t.len() < 3 {
        f.label = Label::Silent;
        return;
    }
    if let Some(bursts) = default_bursts(isis) {
        f.label = Label::Bursting;
        burst_stats(t, &bursts, BurstEdges::DropWhenThreeOrMore, f);
        return;
    }
    if f.cv <= DEFAULT_TONIC_CV || median_local_variation(isis) <= DEFAULT_TONIC_CV2 {
        f.label = Label::Tonic;
        f.f_spiking_hz = mean(isis.iter().map(|i| 1000.0 / i));
    } else {
        f.label = Label::Irregular;
    }
}

/// The default classifier's bursts, or `None` when the ISIs do not split into a clear burst structure.
///
/// Every split of the sorted ISIs into short and long ones is a candidate; a candidate is accepted when the
/// groups are well separated (gap, contrast, spread) and splitting the train at its long ISIs gives a burst
/// structure (2 bursts or more, holding half of the spikes or more, not much longer than the silences). Of the
/// accepted candidates, the one between the most different neighbouring ISIs wins.
fn default_bursts(isis: &[f64]) -> Option<Vec<Range<usize>>> {
    let k = isis.len();
    if k < 2 {
        return None;
    }
    // The contrast cannot be reached: skip the sort and the logarithms (the common case of tonic trains).
    let (min, max) = isis
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    // (`min > 0.0` is false for NaN too.)
    if min.is_nan() || min <= 0.0 || max < DEFAULT_BURST_CONTRAST * min {
        return None;
    }
    let mut sorted = isis.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
    // The splits whose groups are well separated, tried from the widest step between neighbouring sorted ISIs
    // down: the first that also gives a burst structure wins.
    let (min_gap, min_contrast) = (DEFAULT_BURST_GAP.ln(), DEFAULT_BURST_CONTRAST.ln());
    let mut splits: Vec<(f64, usize)> = Vec::new();
    for s in 1..k {
        let step = logs[s] - logs[s - 1];
        if step <= 0.0 {
            continue;
        }
        let (short, long) = logs.split_at(s);
        let gap =
            quantile(long, DEFAULT_GAP_QUANTILE) - quantile(short, 1.0 - DEFAULT_GAP_QUANTILE);
        if gap < min_gap
            || quantile(long, 0.5) - quantile(short, 0.5) < min_contrast
            || gap < DEFAULT_BURST_SEPARATION * (robust_sd(short) + robust_sd(long))
        {
            continue;
        }
        splits.push((step, s));
    }
    splits.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, s) in splits {
        let long_min = sorted[s];
        if let Some(bursts) = burst_structure(isis, |i| isis[i] >= long_min) {
            return Some(bursts);
        }
    }
    None
}

/// A robust standard deviation of sorted values: interquartile range / 1.349 (the standard deviation for normal
/// data, but blind to a few outliers such as the very short ISIs that jitter makes within a burst).
fn robust_sd(sorted: &[f64]) -> f64 {
    (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 1.349
}

/// The bursts made by splitting at the ISIs `is_long` picks, when they form a burst structure: at least 2 bursts,
/// holding at least half of the spikes, lasting on average at most [`DEFAULT_MAX_BURST_TO_SILENCE`] times the mean
/// long ISI (a regular train with a few pauses is not bursting).
fn burst_structure(isis: &[f64], is_long: impl Fn(usize) -> bool) -> Option<Vec<Range<usize>>> {
    let bursts = split_bursts(isis.len(), &is_long);
    let in_bursts: usize = bursts.iter().map(|b| b.len()).sum();
    if bursts.len() < 2 || 2 * in_bursts < isis.len() + 1 {
        return None;
    }
    let burst_ms = mean(
        bursts
            .iter()
            .map(|b| isis[b.start..b.end - 1].iter().sum::<f64>()),
    );
    let silence_ms = mean((0..isis.len()).filter(|&i| is_long(i)).map(|i| isis[i]));
    (burst_ms <= DEFAULT_MAX_BURST_TO_SILENCE * silence_ms).then_some(bursts)
}

/// Splits the spikes of a train with `k` ISIs after each ISI `i` for which `is_long(i)` holds; keeps the groups
/// of 2 or more spikes.
fn split_bursts(k: usize, is_long: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut bursts = Vec::new();
    let mut start = 0;
    for i in 0..k {
        if is_long(i) {
            if i + 1 - start >= 2 {
                bursts.push(start..i + 1);
            }
            start = i + 1;
        }
    }
    if k + 1 - start >= 2 {
        bursts.push(start..k + 1);
    }
    bursts
}

/// Which bursts the per-burst means use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BurstEdges {
    /// Leave out the first and last bursts when there are 3 or more (the default classifier).
    DropWhenThreeOrMore,
    /// Always leave them out (the reference classifier).
    AlwaysDrop,
}

/// Fills the physiologist's burst features from `bursts` (all bursts found, in time order).
fn burst_stats(t: &[f64], bursts: &[Range<usize>], edges: BurstEdges, f: &mut Features) {
    let m = bursts.len();
    f.n_bursts = m as f64;
    let complete: &[Range<usize>] = match edges {
        BurstEdges::DropWhenThreeOrMore if m < 3 => bursts,
        _ if m >= 2 => &bursts[1..m - 1],
        _ => &[],
    };
    let dur = |b: &Range<usize>| t[b.end - 1] - t[b.start];
    f.spikes_per_burst = mean(complete.iter().map(|b| b.len() as f64));
    f.burst_duration_ms = mean(complete.iter().map(dur));
    f.intra_burst_hz = mean(
        complete
            .iter()
            .map(|b| 1000.0 * (b.len() - 1) as f64 / dur(b)),
    );
    let onsets: Vec<f64> = match edges {
        BurstEdges::DropWhenThreeOrMore if m >= 3 => {
            bursts[1..].iter().map(|b| t[b.start]).collect()
        }
        BurstEdges::DropWhenThreeOrMore => bursts.iter().map(|b| t[b.start]).collect(),
        BurstEdges::AlwaysDrop => complete.iter().map(|b| t[b.start]).collect(),
    };
    if onsets.len() >= 2 {
        f.inter_burst_period_ms =
            (onsets[onsets.len() - 1] - onsets[0]) / (onsets.len() - 1) as f64;
        f.inter_burst_hz = 1000.0 / f.inter_burst_period_ms;
        f.duty_cycle = f.burst_duration_ms / f.inter_burst_period_ms;
    }
}

/// The reference's preprocessing: times rounded to f32 and shifted so that the first is 0 (in f32), and the ISIs
/// (in f32).
fn reference_f32(t: &[f64]) -> (Vec<f32>, Vec<f32>) {
    let x0 = t[0] as f32;
    let x: Vec<f32> = t.iter().map(|&v| v as f32 - x0).collect();
    let isi: Vec<f32> = x.windows(2).map(|w| w[1] - w[0]).collect();
    (x, isi)
}

fn reference_cv(isi: &[f32]) -> f64 {
    let v: Vec<f64> = isi.iter().map(|&x| x as f64).collect();
    cv(&v)
}

/// The reference's bursts: split after each ISI above (max + min)/2 (in f32), groups of more than one spike kept.
fn reference_bursts(isi: &[f32]) -> Vec<Range<usize>> {
    let max = isi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = isi.iter().copied().fold(f32::INFINITY, f32::min);
    let threshold = (max + min) / 2.0;
    split_bursts(isi.len(), |i| isi[i] > threshold)
}

fn classify_reference(t: &[f64], f: &mut Features) {
    if t.len() < 3 {
        f.label = Label::Silent;
        return;
    }
    let (x, isi) = reference_f32(t);
    if reference_cv(&isi) <= REFERENCE_CV_THRESHOLD {
        f.label = Label::Tonic;
        f.f_spiking_hz = mean(isi.iter().map(|&i| 1000.0 / i as f64));
        return;
    }
    f.label = Label::Bursting;
    let bursts = reference_bursts(&isi);
    burst_stats(t, &bursts, BurstEdges::AlwaysDrop, f);
    let kept: &[Range<usize>] = if bursts.len() >= 2 {
        &bursts[1..bursts.len() - 1]
    } else {
        &[]
    };
    if kept.is_empty() {
        return;
    }
    let dur = |b: &Range<usize>| (x[b.end - 1] - x[b.start]) as f64;
    f.nbr_spikes_bursting = mean(kept.iter().map(|b| b.len() as f64));
    f.duration_bursting_ms = mean(kept.iter().map(dur));
    f.f_intra_bursting_hz = 1000.0
        * mean(
            kept.iter()
                .map(|b| b.len() as f64 / dur(b))
                .filter(|v| !v.is_nan()),
        );
    if kept.len() > 1 {
        let onsets: Vec<f64> = kept.iter().map(|b| x[b.start] as f64).collect();
        f.f_inter_bursting_hz = 1000.0 / mean(onsets.windows(2).map(|w| w[1] - w[0]));
    }
}

/// Writes the features file (`spikepop features`): the header [`COLUMNS`], then one row per train (its ID and
/// [`Features::write_row`]).
pub fn write_csv(
    w: impl std::io::Write,
    trains: &[crate::SpikeTrain],
    features: &[Features],
) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(COLUMNS)?;
    for (train, f) in trains.iter().zip(features) {
        f.write_row(&train.id, &mut csv)?;
    }
    csv.flush()?;
    Ok(())
}

/// Median of the values that are not NaN; NaN when there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    crate::stats::quantiles(values, [0.5])[0]
}

/// A number for the table: 4 significant digits, `-` for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        "-".to_string()
    } else if v == 0.0 {
        "0".to_string()
    } else if (0.01..1.0e5).contains(&v.abs()) {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 4) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

/// The table that `spikepop features --summary` prints: trains, share, median rate, CV and CV2 per label and
/// for all, then the medians of the bursting trains' burst features. `source` and `format` name the input in
/// its first line.
pub fn summary_table(
    source: &str,
    format: &str,
    features: &[Features],
    classifier: &Classifier,
) -> String {
    let mut s = String::new();
    let n = features.len();
    let spikes: usize = features.iter().map(|f| f.n_spikes).sum();
    s += &format!(
        "{source}: {n} train(s), {spikes} spikes, {format} format, {} classifier\n\n",
        classifier.as_str()
    );
    s += &format!(
        "{:<10} {:>7} {:>8} {:>15} {:>10} {:>10}\n",
        "label", "trains", "share", "median rate Hz", "median CV", "median CV2"
    );
    for label in Label::ALL {
        let of: Vec<&Features> = features.iter().filter(|f| f.label == label).collect();
        let share = if n == 0 {
            f64::NAN
        } else {
            100.0 * of.len() as f64 / n as f64
        };
        s += &format!(
            "{:<10} {:>7} {:>7.1}% {:>15} {:>10} {:>10}\n",
            label.as_str(),
            of.len(),
            share,
            num(median(of.iter().map(|f| f.mean_rate_hz))),
            num(median(of.iter().map(|f| f.cv))),
            num(median(of.iter().map(|f| f.cv2))),
        );
    }
    s += &format!(
        "{:<10} {:>7} {:>8} {:>15} {:>10} {:>10}\n",
        "all",
        n,
        "",
        num(median(features.iter().map(|f| f.mean_rate_hz))),
        num(median(features.iter().map(|f| f.cv))),
        num(median(features.iter().map(|f| f.cv2))),
    );
    let bursting: Vec<&Features> = features
        .iter()
        .filter(|f| f.label == Label::Bursting)
        .collect();
    if !bursting.is_empty() {
        let med = |get: fn(&Features) -> f64| num(median(bursting.iter().map(|f| get(f))));
        s += &format!(
            "\nbursting trains (medians): {} spikes per burst, burst duration {} ms, intra-burst {} Hz, \
             inter-burst {} Hz (period {} ms), duty cycle {}\n",
            med(|f| f.spikes_per_burst),
            med(|f| f.burst_duration_ms),
            med(|f| f.intra_burst_hz),
            med(|f| f.inter_burst_hz),
            med(|f| f.inter_burst_period_ms),
            med(|f| f.duty_cycle),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_labels() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference/valid.csv");
        let rec = crate::read_trains(&path, &crate::ReadOptions::default()).unwrap();
        let features: Vec<Features> = rec
            .trains
            .iter()
            .map(|t| Features::of(&t.times_ms, &Classifier::Default))
            .collect();
        let s = summary_table(
            "valid.csv",
            &rec.format.to_string(),
            &features,
            &Classifier::Default,
        );
        assert!(
            s.starts_with("valid.csv: 5 train(s), 26 spikes, reference format, default classifier"),
            "{s}"
        );
        assert!(s.contains("silent           3    60.0%"), "{s}");
        assert!(
            s.contains("tonic            1    20.0%           10.00"),
            "{s}"
        );
        assert!(
            s.contains("bursting trains (medians): 4.000 spikes per burst"),
            "{s}"
        );
    }

    #[test]
    fn numbers_for_the_table() {
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(9.97727), "9.977");
        assert_eq!(num(127.85), "127.8");
        assert_eq!(num(0.0008), "8.000e-4");
        assert_eq!(median([3.0, f64::NAN, 1.0, 2.0, 10.0].into_iter()), 2.5);
    }
}
