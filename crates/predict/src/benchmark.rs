//! Benchmarks of spike trains that spikepop did not simulate, and the predictor's table on them.
//!
//! A benchmark folder (made by `scripts/foreign_benchmark.py`) holds one model's cells simulated in several
//! *domains*: other integrators, cells that have settled, current noise, recording-like sampling, jitter and
//! missed spikes, long recordings. `benchmark.json` lists the domains; each domain is a CSV with the columns
//! `ID,g_s,g_u,spiking_times` (and others, ignored), one row per cell:
//!
//! ```json
//! {"format": "spikepop-benchmark", "version": 1, "model": "stg",
//!  "domains": [{"name": "ref-app", "file": "ref-app.csv", "simulator": "...", "description": "..."},
//!              {"name": "noise5", "file": "noise5.csv", "noise": 5.0}]}
//! ```
//!
//! A domain's `noise`, where present, is the sd (uA/cm²) of the current noise that fired its cells; a
//! predictor that reads the noise amplitude ([`crate::Weights::noise_input`]) is evaluated on such a domain
//! twice, not told and told it ([`BenchRow::told_noise`]).
//!
//! [`evaluate`] gives, for every domain and label, the predictor's errors and calibration next to those of the
//! rate-only baseline ([`crate::baseline`]) and the reference network's published figures where they apply.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use spikepop_spikes::features::Label;

use crate::baseline::RateBaseline;
use crate::data::{DataError, Sample, read_csv};
use crate::eval::{Row, report};
use crate::{Prediction, Predictor};

/// The manifest's file name.
pub const MANIFEST: &str = "benchmark.json";
/// The manifest's `format`.
pub const FORMAT: &str = "spikepop-benchmark";

/// Why a benchmark folder cannot be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    /// The manifest is missing or unreadable.
    #[error("{path}: {msg}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A domain's file is missing or malformed.
    #[error(transparent)]
    Data(#[from] DataError),
}

#[derive(Deserialize)]
struct ManifestFile {
    format: String,
    version: u32,
    model: String,
    domains: Vec<DomainEntry>,
}

#[derive(Deserialize)]
struct DomainEntry {
    name: String,
    file: String,
    #[serde(default)]
    simulator: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    noise: Option<f64>,
}

/// One domain: its cells' trains with their true DICs.
#[derive(Clone, Debug)]
pub struct Domain {
    /// Its name (`ref-app`, `settled`, `noise5`, ...).
    pub name: String,
    /// What simulated it.
    pub simulator: String,
    /// What it stands for.
    pub description: String,
    /// The sd of the current noise that fired its cells (uA/cm²), where the manifest gives it; `None`:
    /// noise-free, or not said.
    pub noise: Option<f64>,
    /// The cells.
    pub samples: Vec<Sample>,
}

/// A benchmark: one model's domains.
#[derive(Clone, Debug)]
pub struct Benchmark {
    /// The model (`stg`, `da`).
    pub model: String,
    /// The domains, in the manifest's order.
    pub domains: Vec<Domain>,
}

impl Benchmark {
    /// Reads `dir/benchmark.json` and every domain file it lists.
    pub fn read(dir: &Path) -> Result<Benchmark, BenchmarkError> {
        let path = dir.join(MANIFEST);
        let bad = |msg: String| BenchmarkError::Manifest {
            path: path.clone(),
            msg,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            bad(format!(
                "cannot read the benchmark manifest ({e}); expected a folder made by scripts/foreign_benchmark.py"
            ))
        })?;
        let m: ManifestFile = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{e}; expected {{\"format\": \"{FORMAT}\", \"version\": 1, \"model\": ..., \"domains\": [{{\"name\", \"file\", ...}}]}}"
            ))
        })?;
        if m.format != FORMAT || m.version != 1 {
            return Err(bad(format!(
                "format `{}` version {}; expected `{FORMAT}` version 1",
                m.format, m.version
            )));
        }
        if m.domains.is_empty() {
            return Err(bad("lists no domain; expected at least one".into()));
        }
        let mut domains = Vec::new();
        for d in m.domains {
            if d.file.contains("..") || Path::new(&d.file).is_absolute() {
                return Err(bad(format!(
                    "domain `{}`: file `{}`; expected a file name inside the folder",
                    d.name, d.file
                )));
            }
            if let Some(sigma) = d.noise.filter(|s| !(s.is_finite() && *s >= 0.0)) {
                return Err(bad(format!(
                    "domain `{}`: noise {sigma}; expected the sd of the current noise, a number >= 0 (uA/cm2)",
                    d.name
                )));
            }
            let samples = read_csv(&dir.join(&d.file))?;
            domains.push(Domain {
                name: d.name,
                simulator: d.simulator,
                description: d.description,
                noise: d.noise,
                samples,
            });
        }
        Ok(Benchmark {
            model: m.model,
            domains,
        })
    }
}

/// The reference network's published figures (MAE g_s, MAE g_u) for a row, where they exist: its STG and DA
/// test sets were simulated by its data generator (`ref-gen`: BDF rtol 1e-2, from rest;
/// `../shared/spec/reference-system.md` sections 8 and 12; Brandoit et al. 2025).
pub fn published_reference(model: &str, domain: &str, row: &str) -> Option<[f64; 2]> {
    match (model, domain, row) {
        ("stg", "ref-gen", "all") => Some([2.85, 1.75]),
        ("stg", "ref-gen", "tonic") => Some([4.65, 2.30]),
        ("stg", "ref-gen", "bursting") => Some([0.81, 1.14]),
        ("da", "ref-gen", "all") => Some([2.36, 1.01]),
        _ => None,
    }
}

/// One row of the benchmark table: a domain and a label (or `all`).
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    /// The domain.
    pub domain: String,
    /// The noise amplitude the predictor was told on this row (the domain's `noise`), for weights that read
    /// it; `None`: not told (every domain's first rows, and the pooled ones).
    pub told_noise: Option<f64>,
    /// The predictor's figures (its `name` is the label or `all`).
    pub net: Row,
    /// The rate-only baseline's MAE of g_s, g_u on the same trains (when the weights have one).
    pub baseline: Option<[f64; 2]>,
    /// The rate-only baseline's 1-sd coverage of g_s, g_u.
    pub baseline_in1: Option<[f64; 2]>,
    /// Share of the trains flagged out of the domain ([`crate::Ood`]).
    pub ood: f64,
    /// The reference network's published MAE, where it applies ([`published_reference`]).
    pub reference: Option<[f64; 2]>,
}

/// The benchmark table.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// The model.
    pub model: String,
    /// Rows: per domain, `all` then each label present.
    pub rows: Vec<BenchRow>,
    /// Silent trains (not predicted) per domain.
    pub silent: Vec<(String, usize)>,
}

impl BenchReport {
    /// The row of a domain and label (`all`, `tonic`, ...), the noise amplitude not told.
    pub fn row(&self, domain: &str, label: &str) -> Option<&BenchRow> {
        self.rows
            .iter()
            .find(|r| r.domain == domain && r.net.name == label && r.told_noise.is_none())
    }

    /// The row of a domain and label with the domain's noise amplitude told to the predictor (weights that
    /// read it, domains that give it).
    pub fn told_row(&self, domain: &str, label: &str) -> Option<&BenchRow> {
        self.rows
            .iter()
            .find(|r| r.domain == domain && r.net.name == label && r.told_noise.is_some())
    }
}

/// The name of the rows that pool every domain.
pub const POOLED: &str = "all domains";

/// Evaluates `predictor` on every domain of `bench`, then on all of them pooled ([`POOLED`]); the rate-only
/// baseline is `baseline` if given, else the one stored in the weights. Weights that read the noise amplitude
/// are evaluated on each domain that gives its `noise` a second time, told it (rows with
/// [`BenchRow::told_noise`], after the domain's untold rows, not pooled); the pooled rows are untold, and an
/// amplitude told to `predictor` itself is ignored.
pub fn evaluate(
    predictor: &Predictor,
    bench: &Benchmark,
    baseline: Option<&RateBaseline>,
) -> BenchReport {
    let baseline = baseline.or(predictor.weights.rate_baseline.as_ref());
    let mut untold = predictor.clone();
    untold
        .tell_noise(None)
        .expect("not telling is always possible");
    let mut told = untold.clone();
    let mut rows = Vec::new();
    let mut silent = Vec::new();
    let mut pooled: Vec<(&Sample, Prediction)> = Vec::new();
    for d in &bench.domains {
        let trains: Vec<&[f64]> = d.samples.iter().map(|s| s.times_ms.as_slice()).collect();
        let preds = untold.predict_many(&trains);
        let scored: Vec<(&Sample, Prediction)> = d.samples.iter().zip(preds).collect();
        let (r, k) = table(&bench.model, &d.name, &scored, baseline, None);
        rows.extend(r);
        silent.push((d.name.clone(), k));
        pooled.extend(scored);
        if let Some(sigma) = d.noise {
            // weights that do not read the amplitude refuse it: they have no told rows
            if told.tell_noise(Some(sigma)).is_ok() {
                let preds = told.predict_many(&trains);
                let scored: Vec<(&Sample, Prediction)> = d.samples.iter().zip(preds).collect();
                rows.extend(table(&bench.model, &d.name, &scored, baseline, Some(sigma)).0);
            }
        }
    }
    if bench.domains.len() > 1 {
        rows.extend(table(&bench.model, POOLED, &pooled, baseline, None).0);
    }
    BenchReport {
        model: bench.model.clone(),
        rows,
        silent,
    }
}

/// What the table keeps of one firing train besides the network's figures: its true label, the rate-only
/// baseline's |error| and |z| per DIC (when there is a baseline), and whether it was flagged out of domain.
type Extra = (Label, Option<ErrZ>, bool);

/// |error| and |z| per DIC of one prediction.
type ErrZ = ([f64; 2], [f64; 2]);

/// The rows of one domain (`all`, then each label present) and its silent trains.
fn table(
    model: &str,
    domain: &str,
    scored: &[(&Sample, Prediction)],
    baseline: Option<&RateBaseline>,
    told_noise: Option<f64>,
) -> (Vec<BenchRow>, usize) {
    // Per firing train: true label, baseline |error| and |z|, whether flagged.
    let mut extra: Vec<Extra> = Vec::new();
    let net: Vec<_> = scored
        .iter()
        .map(|(s, p)| match p {
            Prediction::Silent => None,
            Prediction::Spiking {
                true_label,
                output,
                ood,
                ..
            } => {
                let y = [s.g_s, s.g_u];
                let b = baseline
                    .and_then(|b| b.predict(&s.times_ms))
                    .map(|(c, sd)| {
                        let e = [(c[0] - y[0]).abs(), (c[1] - y[1]).abs()];
                        (e, [e[0] / sd[0], e[1] / sd[1]])
                    });
                extra.push((*true_label, b, !ood.is_empty()));
                Some((*true_label, y, output.clone(), s.group))
            }
        })
        .collect();
    let r = report(net);
    let rows = r
        .rows
        .into_iter()
        .map(|net| {
            let members: Vec<&Extra> = extra
                .iter()
                .filter(|(l, _, _)| net.name == "all" || l.as_str() == net.name)
                .collect();
            let n = members.len().max(1) as f64;
            let b: Vec<ErrZ> = members.iter().filter_map(|m| m.1).collect();
            let (baseline, baseline_in1) = if b.len() == members.len() && !b.is_empty() {
                let mean = |f: &dyn Fn(&ErrZ) -> f64| b.iter().map(f).sum::<f64>() / b.len() as f64;
                (
                    Some([mean(&|x| x.0[0]), mean(&|x| x.0[1])]),
                    Some([
                        mean(&|x| f64::from(u8::from(x.1[0] <= 1.0))),
                        mean(&|x| f64::from(u8::from(x.1[1] <= 1.0))),
                    ]),
                )
            } else {
                (None, None)
            };
            BenchRow {
                domain: domain.to_string(),
                told_noise,
                reference: published_reference(model, domain, &net.name),
                ood: members.iter().filter(|m| m.2).count() as f64 / n,
                baseline,
                baseline_in1,
                net,
            }
        })
        .collect();
    (rows, r.silent)
}

impl BenchReport {
    /// The table as CSV: `domain`, the columns of [`crate::eval::ROW_COLUMNS`], then `ood_share`,
    /// `baseline_mae_g_s`, `baseline_mae_g_u`, `baseline_in_1sd_g_s`, `baseline_in_1sd_g_u`,
    /// `reference_mae_g_s`, `reference_mae_g_u` (empty where there is none), `told_noise` (the amplitude told
    /// to the predictor on this row, empty where none was).
    pub fn write_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(w);
        let mut head = vec!["domain"];
        head.extend(crate::eval::ROW_COLUMNS);
        head.extend([
            "ood_share",
            "baseline_mae_g_s",
            "baseline_mae_g_u",
            "baseline_in_1sd_g_s",
            "baseline_in_1sd_g_u",
            "reference_mae_g_s",
            "reference_mae_g_u",
            "told_noise",
        ]);
        csv.write_record(&head)?;
        let pair = |v: Option<[f64; 2]>| match v {
            Some([a, b]) => [a.to_string(), b.to_string()],
            None => [String::new(), String::new()],
        };
        for r in &self.rows {
            let mut c = vec![r.domain.clone()];
            c.extend(r.net.cells());
            c.push(r.ood.to_string());
            c.extend(pair(r.baseline));
            c.extend(pair(r.baseline_in1));
            c.extend(pair(r.reference));
            c.push(r.told_noise.map_or(String::new(), |s| s.to_string()));
            csv.write_record(&c)?;
        }
        csv.flush()
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| domain | trains | n | MAE g_s | MAE g_u | median g_s | median g_u | 1 sd g_s | 1 sd g_u | 2 sd g_s | 2 sd g_u | label | ood | rate-only g_s / g_u | reference g_s / g_u |"
        )?;
        write!(
            f,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        let pair = |v: Option<[f64; 2]>| {
            v.map_or("-".to_string(), |v| format!("{:.2} / {:.2}", v[0], v[1]))
        };
        for r in &self.rows {
            let n = &r.net;
            let domain = match r.told_noise {
                Some(s) => format!("{}, told {s}", r.domain),
                None => r.domain.clone(),
            };
            write!(
                f,
                "\n| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {} | {} |",
                domain,
                n.name,
                n.n,
                n.mae[0],
                n.mae[1],
                n.median[0],
                n.median[1],
                100.0 * n.in1[0],
                100.0 * n.in1[1],
                100.0 * n.in2[0],
                100.0 * n.in2[1],
                100.0 * n.accuracy,
                100.0 * r.ood,
                pair(r.baseline),
                pair(r.reference)
            )?;
        }
        let silent: Vec<String> = self
            .silent
            .iter()
            .filter(|(_, k)| *k > 0)
            .map(|(d, k)| format!("{d} {k}"))
            .collect();
        if !silent.is_empty() {
            write!(
                f,
                "\nsilent trains (fewer than 3 spikes, not predicted): {}",
                silent.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn bad_folders_get_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("benchmark.json") && err.contains("cannot read"),
            "{err}"
        );
        write(dir.path(), MANIFEST, "{\"format\": \"x\"");
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("benchmark.json") && err.contains("expected"),
            "{err}"
        );
        write(
            dir.path(),
            MANIFEST,
            r#"{"format": "spikepop-benchmark", "version": 1, "model": "stg",
                "domains": [{"name": "a", "file": "a.csv"}]}"#,
        );
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.csv"), "{err}");
        write(
            dir.path(),
            "a.csv",
            "ID,g_s,g_u,spiking_times\nc1,1.0,x,\"[1, 2, 3]\"\n",
        );
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("a.csv") && err.contains("line 2") && err.contains("g_u"),
            "{err}"
        );
        write(
            dir.path(),
            "a.csv",
            "ID,g_s,g_u,spiking_times\nc1,1.0,2.0,\"[1, 2, 3]\"\n",
        );
        let b = Benchmark::read(dir.path()).unwrap();
        assert_eq!(b.domains.len(), 1);
        assert_eq!(b.domains[0].samples[0].times_ms, vec![1.0, 2.0, 3.0]);
        write(
            dir.path(),
            MANIFEST,
            r#"{"format": "spikepop-benchmark", "version": 1, "model": "stg",
                "domains": [{"name": "a", "file": "../a.csv"}]}"#,
        );
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("inside the folder"), "{err}");
        write(
            dir.path(),
            MANIFEST,
            r#"{"format": "spikepop-benchmark", "version": 1, "model": "stg",
                "domains": [{"name": "a", "file": "a.csv", "noise": -5}]}"#,
        );
        let err = Benchmark::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("benchmark.json") && err.contains("domain `a`: noise -5"),
            "{err}"
        );
        write(
            dir.path(),
            MANIFEST,
            r#"{"format": "spikepop-benchmark", "version": 1, "model": "stg",
                "domains": [{"name": "a", "file": "a.csv", "noise": 5}]}"#,
        );
        assert_eq!(
            Benchmark::read(dir.path()).unwrap().domains[0].noise,
            Some(5.0)
        );
    }
}
