//! The error table: MAE and median absolute error of g_s and g_u, overall and per label, label accuracy, and
//! the fraction of true values inside the predicted 1-sd and 2-sd intervals.

use std::fmt;

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
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// One evaluated train: true label, predicted label, |error| and |z| per DIC.
struct Item {
    label: Label,
    hit: bool,
    err: [f64; 2],
    z: [f64; 2],
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
        } => Some((true_label, [s.g_s, s.g_u], output)),
    }))
}

/// The table of any predictor with this output: per train, `None` if it was silent (not predicted), else its
/// true label, its true (g_s, g_u) and the prediction (the predicted label is the most probable one).
pub fn report(scored: impl IntoIterator<Item = Option<(Label, [f64; 2], Output)>>) -> Report {
    let mut items = Vec::new();
    let mut silent = 0;
    for s in scored {
        let Some((true_label, y, o)) = s else {
            silent += 1;
            continue;
        };
        items.push(Item {
            label: true_label,
            hit: crate::features::LABELS[o.label_index()] == true_label,
            err: [(o.g_s - y[0]).abs(), (o.g_u - y[1]).abs()],
            z: [
                (o.g_s - y[0]).abs() / o.sd_g_s,
                (o.g_u - y[1]).abs() / o.sd_g_u,
            ],
        });
    }
    let mut rows = vec![row("all", &items.iter().collect::<Vec<_>>())];
    for l in crate::features::LABELS {
        let g: Vec<&Item> = items.iter().filter(|i| i.label == l).collect();
        if !g.is_empty() {
            rows.push(row(l.as_str(), &g));
        }
    }
    Report { rows, silent }
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
        )
    }
}
