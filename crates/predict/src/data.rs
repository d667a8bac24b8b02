//! Training and test data: (spike train, g_s, g_u) samples, read from CSV files (the layout `spikepop dataset
//! --format csv` writes, or any CSV with the columns `g_s`, `g_u` and `spiking_times`), or generated in-process
//! with the population generator and the simulator (small sets for tests and quick experiments).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikepop_dics::{Generator, GeneratorOptions, TargetSpec};
use spikepop_models::Model;
use spikepop_models::sim::{Settings, simulate_batch};
use spikepop_spikes::{format_train, parse_train};

use crate::features::is_silent;

/// One training example: a spike train and the DICs of the model that fired it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Identifier (the file's `ID`, or the row number).
    pub id: String,
    /// Spike times (ms), sorted.
    pub times_ms: Vec<f64>,
    /// Target slow DIC.
    pub g_s: f64,
    /// Target ultraslow DIC.
    pub g_u: f64,
    /// The group the sample belongs to (the dataset's `target`: all models of one target DIC pair), used to
    /// split without leaking a target into two sets. The row index when the file has no `target` column.
    pub group: u64,
    /// The sd of the current noise (uA/cm², before its 1-kHz low-pass, as `spikepop dataset --noise` sets it)
    /// of the simulation that fired the train, when known: a `spikepop dataset` folder records it (0 for
    /// noise-free cells); `None` for trains of unknown origin. Networks trained with `--p-noise-told` learn to
    /// read it when it is told ([`crate::Weights::noise_input`]).
    pub noise: Option<f64>,
}

/// Errors reading data files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// A file's content is not what was expected.
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        msg: String,
    },
}

/// Reads every sample of a CSV file with the columns `g_s`, `g_u`, `spiking_times` (`"[t1, t2, ...]"`) and
/// optionally `ID` and `target` (any order, other columns ignored).
pub fn read_csv(path: &Path) -> Result<Vec<Sample>, DataError> {
    let io = |e: &dyn std::fmt::Display| DataError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let fmt = |msg: String| DataError::Format {
        path: path.to_path_buf(),
        msg,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_path(path)
        .map_err(|e| io(&e))?;
    let headers = rdr.headers().map_err(|e| io(&e))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(gs), Some(gu), Some(st)) = (col("g_s"), col("g_u"), col("spiking_times")) else {
        return Err(fmt(
            "line 1: expected the columns g_s, g_u and spiking_times (a `spikepop dataset --format csv` file)"
                .into(),
        ));
    };
    let (id_col, target_col) = (col("ID"), col("target"));
    let mut out = Vec::new();
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| io(&e))?;
        let line = rec.position().map_or(row as u64 + 2, |p| p.line());
        let num = |c: usize, name: &str| -> Result<f64, DataError> {
            let raw = rec.get(c).unwrap_or("").trim();
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    fmt(format!(
                        "line {line}, field {name}: `{raw}`; expected a finite number"
                    ))
                })
        };
        let g_s = num(gs, "g_s")?;
        let g_u = num(gu, "g_u")?;
        let times_ms = parse_train(rec.get(st).unwrap_or(""))
            .map_err(|e| fmt(format!("line {line}, field spiking_times: {e}")))?;
        let group = match target_col {
            Some(c) => {
                let raw = rec.get(c).unwrap_or("").trim();
                raw.parse::<u64>().map_err(|_| {
                    fmt(format!(
                        "line {line}, field target: `{raw}`; expected a non-negative integer"
                    ))
                })?
            }
            None => row as u64,
        };
        let id = id_col
            .and_then(|c| rec.get(c))
            .map_or_else(|| (row + 1).to_string(), str::to_string);
        out.push(Sample {
            id,
            times_ms,
            g_s,
            g_u,
            group,
            noise: None,
        });
    }
    Ok(out)
}

/// Writes samples as CSV (`ID,g_s,g_u,target,n_spikes,spiking_times`), which [`read_csv`] reads back.
pub fn write_csv<W: std::io::Write>(w: W, samples: &[Sample]) -> csv::Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    wr.write_record(["ID", "g_s", "g_u", "target", "n_spikes", "spiking_times"])?;
    for s in samples {
        wr.write_record([
            s.id.clone(),
            s.g_s.to_string(),
            s.g_u.to_string(),
            s.group.to_string(),
            s.times_ms.len().to_string(),
            format_train(&s.times_ms),
        ])?;
    }
    wr.flush()?;
    Ok(())
}

/// The CSV files of a data path: the file itself, or the `.csv` files of a folder (sorted by name).
pub fn csv_files(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| DataError::Io {
                path: path.to_path_buf(),
                msg: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                msg: "no .csv files in this folder".into(),
            });
        }
        Ok(files)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

/// Splits samples by group into (train, validation): a seeded shuffle of the groups, the first
/// `round(val_fraction * groups)` (at least 1 when there are 2 groups or more) to validation.
pub fn split_by_group(
    samples: Vec<Sample>,
    val_fraction: f64,
    seed: u64,
) -> (Vec<Sample>, Vec<Sample>) {
    let mut groups: Vec<u64> = samples.iter().map(|s| s.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5B17);
    groups.shuffle(&mut rng);
    let mut n_val = (val_fraction * groups.len() as f64).round() as usize;
    if n_val == 0 && groups.len() >= 2 && val_fraction > 0.0 {
        n_val = 1;
    }
    let val: HashMap<u64, ()> = groups[..n_val].iter().map(|g| (*g, ())).collect();
    samples
        .into_iter()
        .partition(|s| !val.contains_key(&s.group))
}

/// How to generate a data set in-process.
#[derive(Clone, Debug)]
pub struct GenSpec {
    /// Number of (g_s, g_u) targets, drawn uniformly in the ranges.
    pub targets: usize,
    /// Models per target.
    pub per_target: usize,
    /// g_s range.
    pub gs_range: [f64; 2],
    /// g_u range.
    pub gu_range: [f64; 2],
    /// Seed of the targets, the populations and the noise.
    pub seed: u64,
    /// Simulated time and transient (ms).
    pub duration: f64,
    /// Initial time dropped (ms).
    pub transient: f64,
    /// Current noise sigma (uA/cm^2).
    pub noise: f64,
}

impl GenSpec {
    /// The model's training ranges and simulation window (for the built-ins, the reference's: STG g_s
    /// [-20,20], DA [-10,15]; g_u [0,20]; 6 s / 12 s with a 3 s transient), no noise.
    pub fn reference(model: &Model, targets: usize, per_target: usize, seed: u64) -> GenSpec {
        GenSpec {
            targets,
            per_target,
            gs_range: model.training.g_s,
            gu_range: model.training.g_u,
            seed,
            duration: model.default_duration,
            transient: model.default_transient,
            noise: 0.0,
        }
    }
}

/// Generates samples: uniform targets, `per_target` models each (the population generator, converged), each
/// simulated. Targets the generator cannot reach are skipped. Reproducible for a seed, whatever the threads.
pub fn generate(
    model: &'static Model,
    spec: &GenSpec,
    cancel: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<Vec<Sample>> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(0xD1C5);
    let uni = |rng: &mut ChaCha8Rng, [lo, hi]: [f64; 2]| lo + (hi - lo) * rng.random::<f64>();
    let targets: Vec<TargetSpec> = (0..spec.targets)
        .map(|_| {
            let gs = uni(&mut rng, spec.gs_range);
            let gu = uni(&mut rng, spec.gu_range);
            TargetSpec::point(gs, gu)
        })
        .collect();
    let opts = GeneratorOptions {
        seed: spec.seed,
        ..GeneratorOptions::default()
    };
    let generator = Generator::new(model, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pops = generator
        .generate(&targets, spec.per_target)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut g = Vec::new();
    let mut meta = Vec::new();
    for (ti, (t, pop)) in targets.iter().zip(pops).enumerate() {
        let Ok(pop) = pop else { continue };
        for (k, (cond, _)) in pop.iter().enumerate() {
            g.push(cond.to_vec());
            meta.push((ti, k, t.g_s, t.g_u));
        }
    }
    let settings = Settings {
        duration: spec.duration,
        transient: spec.transient,
        noise_sigma: spec.noise,
        seed: spec.seed,
        ..Settings::for_model(model)
    };
    let out =
        simulate_batch(model, &g, &settings, cancel, || {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(out
        .into_iter()
        .zip(meta)
        .filter(|(o, _)| o.finite)
        .map(|(o, (ti, k, g_s, g_u))| Sample {
            id: (ti * spec.per_target + k).to_string(),
            times_ms: o.spikes,
            g_s,
            g_u,
            group: ti as u64,
            noise: Some(spec.noise),
        })
        .collect())
}

/// The samples whose cell (same ID and DICs) fires in `other`; an error if an ID's DICs differ or none is left.
pub fn same_cells(samples: Vec<Sample>, other: &[Sample]) -> anyhow::Result<Vec<Sample>> {
    let firing: HashMap<&str, &Sample> = other
        .iter()
        .filter(|s| !is_silent(&s.times_ms))
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut kept = Vec::new();
    for s in samples {
        if let Some(o) = firing.get(s.id.as_str()) {
            if o.g_s != s.g_s || o.g_u != s.g_u {
                anyhow::bail!(
                    "ID {}: g_s, g_u are {}, {} here but {}, {} there; expected the same cells",
                    s.id,
                    s.g_s,
                    s.g_u,
                    o.g_s,
                    o.g_u
                );
            }
            kept.push(s);
        }
    }
    if kept.is_empty() {
        anyhow::bail!("no ID of the test data fires there; expected the same cells");
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(group: u64) -> Sample {
        Sample {
            id: group.to_string(),
            times_ms: vec![1.0, 2.5, 4.0],
            g_s: -1.5,
            g_u: 0.1 + group as f64,
            group,
            noise: None,
        }
    }

    #[test]
    fn csv_round_trip() {
        let s: Vec<Sample> = (0..5).map(sample).collect();
        let mut buf = Vec::new();
        write_csv(&mut buf, &s).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, &buf).unwrap();
        assert_eq!(read_csv(&p).unwrap(), s);
    }

    #[test]
    fn bad_csv_names_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "g_s,g_u,spiking_times\n1,2,\"[1, 2]\"\n1,x,\"[1]\"\n").unwrap();
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("g_u"), "{e}");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        assert!(
            read_csv(&p)
                .unwrap_err()
                .to_string()
                .contains("spiking_times")
        );
    }

    #[test]
    fn split_keeps_groups_together() {
        let s: Vec<Sample> = (0..40).map(|i| sample(i / 4)).collect();
        let (tr, va) = split_by_group(s, 0.2, 3);
        assert_eq!(va.len(), 8);
        assert_eq!(tr.len(), 32);
        assert!(va.iter().all(|v| tr.iter().all(|t| t.group != v.group)));
    }
}
