//! The error table: MAE and median absolute error of g_s and g_u, overall and per label, label accuracy, and
//! the fraction of true values inside the predicted 1-sd and 2-sd intervals; optionally the 95% bootstrap
//! intervals of those figures, resampling whole targets.

use std::collections::BTreeMap;
use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use spikepop_spikes::features::Label;

use crate::data::Sample;
use crate::{Output, Prediction, Predictor};

/// Error statistics of one group of trains.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// The group (`all` or a label).
    pub name: String,
    /// Trains in the group.
    pub n: usize,
    /// Mean absolute error of g_s, g_u.
    pub mae: [f64; 2],
    /// Median absolute error of g_s, g_u.
    pub median: [f64; 2],
    /// Fraction of true values within 1 sd, per DIC.
    pub in1: [f64; 2],
    /// Fraction of true values within 2 sd, per DIC.
    pub in2: [f64; 2],
    /// Fraction of trains whose predicted label is the true one.
    pub accuracy: f64,
}

/// The whole table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// `all`, then one row per true label present.
    pub rows: Vec<Row>,
    /// Trains with fewer than 3 spikes (not predicted).
    pub silent: usize,
    /// 95% bootstrap intervals per row (same order as `rows`), when asked for ([`Report::with_intervals`]).
    pub intervals: Vec<Intervals>,
    /// The evaluated trains, for the intervals.
    items: Vec<Item>,
}

/// 95% intervals `[low, high]` of a row's figures: the 2.5% and 97.5% quantiles over bootstrap draws that
/// resample whole targets (all models of one target DIC pair together, [`Sample::group`]) with replacement.
/// Models of one target share their DICs and their errors are correlated, so resampling trains alone would
/// give intervals too narrow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Intervals {
    /// Targets (groups) in the row.
    pub groups: usize,
    /// Mean absolute error of g_s, g_u.
    pub mae: [[f64; 2]; 2],
    /// Fraction of true values within 1 sd, per DIC.
    pub in1: [[f64; 2]; 2],
    /// Fraction of true values within 2 sd, per DIC.
    pub in2: [[f64; 2]; 2],
}

/// The median of `v` (sorted in place); NaN when `v` is empty.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    spikepop_spikes::stats::quantile(v, 0.5)
}

/// One evaluated train: true label, predicted label, |error| and |z| per DIC, and its target (group).
#[derive(Clone, Debug, PartialEq)]
struct Item {
    label: Label,
    hit: bool,
    err: [f64; 2],
    z: [f64; 2],
    group: u64,
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// The 95% bootstrap intervals of [`Intervals`] for one row: `draws` resamplings of its groups.
fn intervals(items: &[&Item], draws: usize, rng: &mut ChaCha8Rng) -> Intervals {
    // Per group: trains, summed |error| per DIC, trains inside 1 sd and 2 sd per DIC.
    let mut by_group: BTreeMap<u64, [f64; 7]> = BTreeMap::new();
    for i in items {
        let g = by_group.entry(i.group).or_default();
        g[0] += 1.0;
        for d in 0..2 {
            g[1 + d] += i.err[d];
            g[3 + d] += f64::from(u8::from(i.z[d] <= 1.0));
            g[5 + d] += f64::from(u8::from(i.z[d] <= 2.0));
        }
    }
    let groups: Vec<[f64; 7]> = by_group.into_values().collect();
    let mut stats: [Vec<f64>; 6] = Default::default();
    for _ in 0..draws {
        let mut sum = [0.0; 7];
        for _ in 0..groups.len() {
            let g = &groups[rng.random_range(0..groups.len())];
            for (s, v) in sum.iter_mut().zip(g) {
                *s += v;
            }
        }
        for (k, st) in stats.iter_mut().enumerate() {
            st.push(sum[1 + k] / sum[0]);
        }
    }
    let band = |v: &mut Vec<f64>| {
        v.sort_unstable_by(f64::total_cmp);
        [quantile(v, 0.025), quantile(v, 0.975)]
    };
    let [a, b, c, d, e, f] = stats.each_mut().map(band);
    Intervals {
        groups: groups.len(),
        mae: [a, b],
        in1: [c, d],
        in2: [e, f],
    }
}

fn row(name: &str, items: &[&Item]) -> Row {
    let n = items.len();
    let nf = n.max(1) as f64;
    let mut r = Row {
        name: name.to_string(),
        n,
        accuracy: items.iter().filter(|i| i.hit).count() as f64 / nf,
        ..Row::default()
    };
    for d in 0..2 {
        let mut e: Vec<f64> = items.iter().map(|i| i.err[d]).collect();
        r.mae[d] = e.iter().sum::<f64>() / nf;
        r.median[d] = median(&mut e);
        r.in1[d] = items.iter().filter(|i| i.z[d] <= 1.0).count() as f64 / nf;
        r.in2[d] = items.iter().filter(|i| i.z[d] <= 2.0).count() as f64 / nf;
    }
    r
}

/// Evaluates `predictor` on `samples` (their true label is the default classifier's label of the train).
pub fn evaluate(predictor: &Predictor, samples: &[Sample]) -> Report {
    let trains: Vec<&[f64]> = samples.iter().map(|s| s.times_ms.as_slice()).collect();
    let preds = predictor.predict_many(&trains);
    report(samples.iter().zip(preds).map(|(s, p)| match p {
        Prediction::Silent => None,
        Prediction::Spiking {
            true_label, output, ..
        } => Some((true_label, [s.g_s, s.g_u], output, s.group)),
    }))
}

/// The table of any predictor with this output: per train, `None` if it was silent (not predicted), else its
/// true label, its true (g_s, g_u), the prediction (the predicted label is the most probable one) and its
/// target ([`Sample::group`], for [`Report::with_intervals`]).
pub fn report(scored: impl IntoIterator<Item = Option<(Label, [f64; 2], Output, u64)>>) -> Report {
    let mut items = Vec::new();
    let mut silent = 0;
    for s in scored {
        let Some((true_label, y, o, group)) = s else {
            silent += 1;
            continue;
        };
        items.push(Item {
            group,
            label: true_label,
            hit: crate::features::LABELS[o.label_index()] == true_label,
            err: [(o.g_s - y[0]).abs(), (o.g_u - y[1]).abs()],
            z: [
                (o.g_s - y[0]).abs() / o.sd_g_s,
                (o.g_u - y[1]).abs() / o.sd_g_u,
            ],
        });
    }
    let rows = groups(&items)
        .iter()
        .map(|(name, g)| row(name, g))
        .collect();
    Report {
        rows,
        silent,
        intervals: Vec::new(),
        items,
    }
}

/// The trains of each row of the table: `all`, then each true label present.
fn groups(items: &[Item]) -> Vec<(&'static str, Vec<&Item>)> {
    let mut out = vec![("all", items.iter().collect())];
    for l in crate::features::LABELS {
        let g: Vec<&Item> = items.iter().filter(|i| i.label == l).collect();
        if !g.is_empty() {
            out.push((l.as_str(), g));
        }
    }
    out
}

impl Report {
    /// Adds the 95% bootstrap intervals of every row ([`Intervals`]): `draws` resamplings of the targets,
    /// seeded (the same seed gives the same intervals).
    pub fn with_intervals(mut self, draws: usize, seed: u64) -> Report {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB007_57A9);
        self.intervals = groups(&self.items)
            .iter()
            .map(|(_, g)| intervals(g, draws, &mut rng))
            .collect();
        self
    }
}

/// The columns of a [`Row`] in the CSV tables of `spikepop evaluate -o` (shares as fractions, not percent).
pub const ROW_COLUMNS: [&str; 11] = [
    "group",
    "n",
    "mae_g_s",
    "mae_g_u",
    "median_g_s",
    "median_g_u",
    "in_1sd_g_s",
    "in_1sd_g_u",
    "in_2sd_g_s",
    "in_2sd_g_u",
    "label_accuracy",
];

impl Row {
    /// The row's cells in the order of [`ROW_COLUMNS`].
    pub fn cells(&self) -> Vec<String> {
        let mut c = vec![self.name.clone(), self.n.to_string()];
        for v in [self.mae, self.median, self.in1, self.in2] {
            c.extend(v.iter().map(|x| x.to_string()));
        }
        c.push(self.accuracy.to_string());
        c
    }
}

impl Report {
    /// The table as CSV: [`ROW_COLUMNS`], one line per row (`all`, then each label).
    pub fn write_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(ROW_COLUMNS)?;
        for r in &self.rows {
            csv.write_record(r.cells())?;
        }
        csv.flush()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| trains | n | MAE g_s | median g_s | MAE g_u | median g_u | in 1 sd g_s | in 1 sd g_u | in 2 sd g_s | in 2 sd g_u | label accuracy |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.2}% |",
                r.name,
                r.n,
                r.mae[0],
                r.median[0],
                r.mae[1],
                r.median[1],
                100.0 * r.in1[0],
                100.0 * r.in1[1],
                100.0 * r.in2[0],
                100.0 * r.in2[1],
                100.0 * r.accuracy
            )?;
        }
        write!(
            f,
            "silent trains (fewer than 3 spikes, not predicted): {}",
            self.silent
        )?;
        if self.intervals.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\n\n95% intervals (bootstrap over targets):\n\n\
             | trains | targets | MAE g_s | MAE g_u | in 1 sd g_s | in 1 sd g_u | in 2 sd g_s | in 2 sd g_u |"
        )?;
        write!(f, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
        let pct = |v: [f64; 2]| format!("{:.1}-{:.1}%", 100.0 * v[0], 100.0 * v[1]);
        for (r, i) in self.rows.iter().zip(&self.intervals) {
            write!(
                f,
                "\n| {} | {} | {:.2}-{:.2} | {:.2}-{:.2} | {} | {} | {} | {} |",
                r.name,
                i.groups,
                i.mae[0][0],
                i.mae[0][1],
                i.mae[1][0],
                i.mae[1][1],
                pct(i.in1[0]),
                pct(i.in1[1]),
                pct(i.in2[0]),
                pct(i.in2[1])
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 tonic trains in `1000 / per_group` targets, half of the targets with |z| = 0.5 (inside 1 sd) and
    /// half with |z| = 1.5, equal within a target: the 95% interval of the 1-sd coverage.
    fn coverage_interval(per_group: usize) -> [f64; 2] {
        let mut p = [0.0; crate::features::LABELS.len()];
        p[0] = 1.0;
        let scored = (0..1000u64).map(|i| {
            let group = i / per_group as u64;
            let z = if group.is_multiple_of(2) { 0.5 } else { 1.5 };
            let o = Output {
                p,
                g_s: 0.0,
                sd_g_s: 1.0,
                g_u: 0.0,
                sd_g_u: 2.0,
            };
            Some((Label::Tonic, [z, z], o, group))
        });
        let r = report(scored).with_intervals(2000, 7);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0].in1, [0.5, 1.0]);
        // The tonic row holds the same trains, with draws of its own.
        assert_eq!(r.intervals[1].groups, r.intervals[0].groups);
        assert!(r.intervals[1].in1[0][0] < 0.5 && r.intervals[1].in1[0][1] > 0.5);
        // g_u: every |z| is within 1 sd (sd 2), so its interval is a point; the MAE of g_s is 1 ± the spread.
        assert_eq!(r.intervals[0].in1[1], [1.0, 1.0]);
        assert!(r.intervals[0].mae[0][0] < 1.0 && r.intervals[0].mae[0][1] > 1.0);
        r.intervals[0].in1[0]
    }

    #[test]
    fn intervals_resample_whole_targets() {
        // One train per target: binomial, 0.5 ± 1.96 sqrt(0.25 / 1000) = 0.5 ± 0.031.
        let [lo, hi] = coverage_interval(1);
        assert!(lo < 0.5 && hi > 0.5, "{lo} {hi}");
        assert!((0.05..0.075).contains(&(hi - lo)), "{lo} {hi}");
        // Four identical trains per target: 250 independent targets, an interval twice as wide.
        let [lo4, hi4] = coverage_interval(4);
        assert!(
            (1.7..2.3).contains(&((hi4 - lo4) / (hi - lo))),
            "{lo4} {hi4}"
        );
        // Seeded: the same draws again.
        assert_eq!(coverage_interval(4), [lo4, hi4]);
    }
}
