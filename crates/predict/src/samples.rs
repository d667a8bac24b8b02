//! Training and test samples from files and folders: the CSV of [`crate::data::read_csv`] or the Parquet and
//! CSV files of `spikepop dataset` (read by `spikepop-dataset`). What `spikepop train`, `calibrate` and
//! `evaluate` read, and any front end that trains.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::data::{Sample, csv_files, read_csv, split_by_group};

fn is_data_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("parquet"))
}

/// Reads one data file: CSV by [`read_csv`], Parquet by `spikepop-dataset`. The samples of a `spikepop
/// dataset` folder get its noise amplitude ([`Sample::noise`]).
fn read_file(path: &Path) -> Result<Vec<Sample>> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut samples = if csv {
        read_csv(path)?
    } else {
        let rows =
            spikepop_dataset::read_rows(path).with_context(|| format!("{}", path.display()))?;
        rows.into_iter()
            .map(|r| Sample {
                id: r.id.to_string(),
                times_ms: r.spikes,
                g_s: r.target_g_s,
                g_u: r.target_g_u,
                group: r.target,
                noise: None,
            })
            .collect()
    };
    if let Some(m) = manifest_of(path) {
        for s in &mut samples {
            s.noise = Some(m.noise);
        }
    }
    Ok(samples)
}

/// The data files of a path: itself, or the .csv/.parquet files of a folder (sorted).
fn data_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        if !path.exists() {
            bail!("{}: no such file or folder", path.display());
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_data_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        // Fall back to the CSV lister's message.
        csv_files(path)?;
    }
    Ok(files)
}

/// Every sample of a file or folder. The targets of the k-th file get `k << 48` added to their group, so that
/// the same target number in two files (two data sets) stays two groups.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    read_all(&[path.to_path_buf()])
}

/// Every sample of several files or folders (see [`read_samples`]).
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    let mut k = 0u64;
    for path in paths {
        for f in data_files(path)? {
            out.extend(read_file(&f)?.into_iter().map(|mut s| {
                s.group += k << 48;
                s
            }));
            k += 1;
        }
    }
    Ok(out)
}

/// `<dir>/<stem>.parquet` or `<dir>/<stem>.csv` (in that order), when `dir` is a folder that has one: the sets
/// that `spikepop dataset split` writes (`train`, `val`, `test`).
pub fn named_set(dir: &Path, stem: &str) -> Option<PathBuf> {
    if !dir.is_dir() {
        return None;
    }
    ["parquet", "csv"]
        .iter()
        .map(|e| dir.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

/// The manifest of the `spikepop dataset` folder that `path` is (or holds `path`), when it has one.
pub fn manifest_of(path: &Path) -> Option<spikepop_dataset::Manifest> {
    let dir = if path.is_dir() { path } else { path.parent()? };
    if !dir.join(spikepop_dataset::MANIFEST).is_file() {
        return None;
    }
    spikepop_dataset::Manifest::read(dir).ok()
}

/// The integration steps (ms, ascending, without repeats) of the noise-free `spikepop dataset` folders among
/// `paths`; `None` when a path is not such a folder (the steps are then unknown) or none is noise-free.
pub fn noise_free_steps(paths: &[PathBuf]) -> Option<Vec<f64>> {
    let mut steps: Vec<f64> = Vec::new();
    for p in paths {
        let m = manifest_of(p)?;
        if m.noise == 0.0 && !steps.contains(&m.dt) {
            steps.push(m.dt);
        }
    }
    steps.sort_by(f64::total_cmp);
    (!steps.is_empty()).then_some(steps)
}

/// The training and validation samples of `spikepop train --data ... [--val ...]`: a source that has its own
/// `train.*` and `val.*` sets ([`named_set`]) gives them, when no `val` is given; every other source is read
/// whole, and validated on `val`, or, without it, on 10% of its targets held out ([`split_by_group`] with
/// `seed`).
pub fn training_sets(
    data: &[PathBuf],
    val: Option<&Path>,
    seed: u64,
) -> Result<(Vec<Sample>, Vec<Sample>)> {
    let (mut train_set, mut val_set) = (Vec::new(), Vec::new());
    let mut rest = Vec::new();
    for d in data {
        if val.is_none()
            && let (Some(t), Some(v)) = (named_set(d, "train"), named_set(d, "val"))
        {
            train_set.extend(read_all(&[t])?);
            val_set.extend(read_all(&[v])?);
        } else {
            rest.push(d.clone());
        }
    }
    if !rest.is_empty() {
        let all = read_all(&rest)?;
        if let Some(v) = val {
            train_set.extend(all);
            val_set.extend(read_samples(v)?);
        } else {
            let (t, v) = split_by_group(all, 0.1, seed);
            train_set.extend(t);
            val_set.extend(v);
        }
    }
    Ok((train_set, val_set))
}

/// Why the scores on noise-free trains simulated at a step coarser than the network's finest training step,
/// and not one of its training steps, are not the network's own: the spike times carry an integrator's error
/// above the resolution it was trained at, of a pattern it has not seen.
pub fn step_mismatch(predictor: &crate::Predictor, test: &Path) -> Option<String> {
    let trained = predictor.weights.sim_dts_ms();
    let finest = *trained.first()?;
    let m = manifest_of(test)?;
    let same = |dt: &f64| (m.dt - dt).abs() <= 1e-9 * dt;
    (m.noise == 0.0 && m.dt > finest * (1.0 + 1e-9) && !trained.iter().any(same)).then(|| {
        let steps: Vec<String> = trained.iter().map(f64::to_string).collect();
        format!(
            "{} was simulated at dt {} ms, the network's noise-free training trains at dt {} ms: the \
             coarser step's spike-time error (about 0.003 ms for STG at 0.025 ms, 0.014 ms at 0.05 ms) is \
             above the network's resolution of {} ms and not a pattern it was trained on; simulate the test \
             set with --dt {finest} for the network's own accuracy (notes/predictor-log.md, sections 4d, 4f and \
             4g)",
            test.display(),
            m.dt,
            steps.join(" and "),
            predictor.weights.resolution_ms
        )
    })
}

/// How `spikepop evaluate --data` reads its test trains ([`test_set`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestOptions {
    /// Keep only the cells (same ID and DICs) that fire in this data set too (`--same-cells-as`).
    pub same_cells_as: Option<PathBuf>,
    /// Spike-time jitter sd (ms), [`crate::augment::perturb`].
    pub jitter_ms: f64,
    /// Probability of dropping each spike.
    pub drop: f64,
    /// Sampling grid (ms) the spike times are rounded to; 0 for none.
    pub grid_ms: f64,
    /// Seed of the perturbations.
    pub seed: u64,
}

/// The test trains of `spikepop evaluate --data DATA`: DATA's `test.*` set when it has one, else DATA; the
/// cells of [`TestOptions::same_cells_as`] alone, perturbed as asked. Also returns the notes to show
/// ([`step_mismatch`]). Errors name the file at fault; the caller names its own arguments (`jitter`,
/// `drop`, `grid` are checked here under those names).
pub fn test_set(
    predictor: &crate::Predictor,
    data: &Path,
    opts: &TestOptions,
) -> Result<(Vec<Sample>, Vec<String>)> {
    use crate::augment::{check_drop, check_jitter_ms, perturb_samples};
    check_jitter_ms("jitter", opts.jitter_ms)?;
    check_jitter_ms("grid", opts.grid_ms)?;
    check_drop("drop", opts.drop)?;
    let path = named_set(data, "test").unwrap_or_else(|| data.to_path_buf());
    let notes: Vec<String> = step_mismatch(predictor, &path).into_iter().collect();
    let mut samples = read_samples(&path)?;
    if let Some(other) = &opts.same_cells_as {
        let other_path = named_set(other, "test").unwrap_or_else(|| other.clone());
        samples = crate::data::same_cells(samples, &read_samples(&other_path)?)
            .with_context(|| format!("cells compared with {}", other_path.display()))?;
    }
    perturb_samples(
        &mut samples,
        opts.jitter_ms,
        opts.drop,
        opts.grid_ms,
        opts.seed,
    );
    Ok((samples, notes))
}

/// `spikepop evaluate --benchmark DIR [--baseline-data TRAIN]`: the domain x label table of `predictor` on the
/// benchmark folder `dir`, with the rate-only baseline fitted on `baseline_data` or stored in the weights.
/// Also returns the notes to show.
pub fn benchmark_report(
    predictor: &crate::Predictor,
    dir: &Path,
    baseline_data: Option<&Path>,
) -> Result<(crate::benchmark::BenchReport, Vec<String>)> {
    use crate::baseline::RateBaseline;
    use crate::benchmark::{Benchmark, MANIFEST, evaluate};
    let bench = Benchmark::read(dir)?;
    if bench.model != predictor.weights.model {
        bail!(
            "{}: the benchmark is of the {} model; expected {} (the predictor's model)",
            dir.join(MANIFEST).display(),
            bench.model,
            predictor.weights.model
        );
    }
    let fitted = match baseline_data {
        Some(p) => Some(
            RateBaseline::fit(&read_samples(p)?, crate::train::BASELINE_BINS).with_context(
                || {
                    format!(
                        "{}: no firing train to fit the rate-only baseline on",
                        p.display()
                    )
                },
            )?,
        ),
        None => None,
    };
    let mut notes = Vec::new();
    if fitted.is_none() && predictor.weights.rate_baseline.is_none() {
        notes.push(
            "these weights hold no rate-only baseline (trained before it existed); give --baseline-data \
             TRAIN to fit one"
                .to_string(),
        );
    }
    Ok((evaluate(predictor, &bench, fitted.as_ref()), notes))
}
