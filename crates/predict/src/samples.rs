//! Training and test samples from files and folders: the CSV of [`crate::data::read_csv`] or the Parquet and
//! CSV files of `spikepop dataset` (read by `spikepop-dataset`). What `spikepop train`, `calibrate` and
//! `evaluate` read, and any front end that trains.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::data::{Sample, csv_files, read_csv};

fn is_data_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("parquet"))
}

/// Reads one data file: CSV by [`read_csv`], Parquet by `spikepop-dataset`.
fn read_file(path: &Path) -> Result<Vec<Sample>> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        return Ok(read_csv(path)?);
    }
    let rows = spikepop_dataset::read_rows(path).with_context(|| format!("{}", path.display()))?;
    Ok(rows
        .into_iter()
        .map(|r| Sample {
            id: r.id.to_string(),
            times_ms: r.spikes,
            g_s: r.target_g_s,
            g_u: r.target_g_u,
            group: r.target,
        })
        .collect())
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
