//! Shared by the simulator-accuracy test and the `dt_table` example: the reference simulations
//! (`tests/data/sims_*.csv`) and the comparison rule (same label, tonic ISI and burst period within 1%,
//! identical spikes per burst).
#![allow(dead_code)]

use std::sync::atomic::AtomicBool;

use spikepop_models::Model;
use spikepop_models::sim::{Settings, simulate_batch};

/// The reference's pattern statistics of a spike train (spec section 4 rule, in f64).
#[derive(Debug)]
pub struct Pattern {
    pub label: u8,
    pub isi_mean: f64,
    pub burst_period: f64,
    pub spikes_per_burst: f64,
}

pub fn pattern(t: &[f64]) -> Pattern {
    let nan = f64::NAN;
    if t.len() < 3 {
        return Pattern {
            label: 0,
            isi_mean: nan,
            burst_period: nan,
            spikes_per_burst: nan,
        };
    }
    let isi: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = isi.iter().sum::<f64>() / isi.len() as f64;
    let sd = (isi.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / isi.len() as f64).sqrt();
    if sd / mean <= 0.15 {
        return Pattern {
            label: 1,
            isi_mean: mean,
            burst_period: nan,
            spikes_per_burst: nan,
        };
    }
    let (lo, hi) = isi
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let th = (lo + hi) / 2.0;
    let mut bursts: Vec<Vec<f64>> = vec![vec![t[0]]];
    for (k, &d) in isi.iter().enumerate() {
        if d > th {
            bursts.push(Vec::new());
        }
        bursts.last_mut().unwrap().push(t[k + 1]);
    }
    bursts.retain(|b| b.len() > 1);
    let inner = if bursts.len() > 2 {
        &bursts[1..bursts.len() - 1]
    } else {
        &bursts[0..0]
    };
    let spb = inner.iter().map(|b| b.len() as f64).sum::<f64>() / inner.len() as f64;
    let onsets: Vec<f64> = inner.iter().map(|b| b[0]).collect();
    let period = if onsets.len() > 1 {
        (onsets[onsets.len() - 1] - onsets[0]) / (onsets.len() - 1) as f64
    } else {
        nan
    };
    Pattern {
        label: 2,
        isi_mean: nan,
        burst_period: period,
        spikes_per_burst: spb,
    }
}

pub struct Case {
    pub id: String,
    pub g: Vec<f64>,
    pub label: u8,
    pub isi_mean: f64,
    pub burst_period: f64,
    pub spikes_per_burst: f64,
}

pub fn read_cases(model: &Model, file: &str) -> Vec<Case> {
    let path = format!(
        "{}/tests/data/{file}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    );
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let num = |r: &csv::StringRecord, n: &str| r[col(n)].parse::<f64>().unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            Case {
                id: r[col("ID")].to_string(),
                g: model.conductance_names().map(|c| num(&r, c)).collect(),
                label: r[col("label")].parse().unwrap(),
                isi_mean: num(&r, "isi_mean_ms"),
                burst_period: num(&r, "burst_period_ms"),
                spikes_per_burst: num(&r, "spikes_per_burst"),
            }
        })
        .collect()
}

/// Simulates every reference model at `settings` and returns one message per mismatch, skipping the IDs in
/// `borderline`, which are compared loosely (same label, period within 10%, spikes per burst within 1).
pub fn mismatches(model: &Model, file: &str, settings: &Settings) -> Vec<String> {
    mismatches_except(model, file, settings, &[])
}

/// See [`mismatches`].
pub fn mismatches_except(
    model: &Model,
    file: &str,
    settings: &Settings,
    borderline: &[&str],
) -> Vec<String> {
    let cases = read_cases(model, file);
    let g: Vec<Vec<f64>> = cases.iter().map(|c| c.g.clone()).collect();
    let out = simulate_batch(model, &g, settings, &AtomicBool::new(false), || {}).unwrap();
    let mut failures = Vec::new();
    for (c, o) in cases.iter().zip(&out) {
        assert!(o.finite, "{} ID {}: non-finite state", model.name, c.id);
        let p = pattern(&o.spikes);
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        let loose = borderline.contains(&c.id.as_str());
        let ok = p.label == c.label
            && match c.label {
                2 if loose => {
                    rel(p.burst_period, c.burst_period) < 0.10
                        && (p.spikes_per_burst - c.spikes_per_burst).abs() <= 1.0
                }
                1 => rel(p.isi_mean, c.isi_mean) < 0.01,
                2 => {
                    rel(p.burst_period, c.burst_period) < 0.01
                        && p.spikes_per_burst == c.spikes_per_burst
                }
                _ => true,
            };
        if !ok {
            failures.push(format!(
                "ID {}: got {:?}, expected label {} isi {} period {} spb {}",
                c.id, p, c.label, c.isi_mean, c.burst_period, c.spikes_per_burst
            ));
        }
    }
    failures
}
