//! Kilosort/phy output folders: `spike_times.npy` (spike times in samples), `spike_clusters.npy` (one cluster id
//! per spike; `spike_templates.npy` when the folder was never curated), the sampling rate from `params.py`
//! (`sample_rate = 30000.0`) or the caller, and `cluster_group.tsv` (`cluster_id`, `group`) to keep only the units
//! curated as `good`. One train per cluster, by increasing cluster id; the id is the cluster number as text.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::npy::{self, NpyVec};
use super::{ReadOptions, SpikeTrain, join};
use crate::error::{Location, ReadError};

/// The folder of a phy data set given the folder itself or a file inside it.
pub(super) fn folder(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

pub(super) fn read(
    dir: &Path,
    opts: &ReadOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    let times_path = join(dir, "spike_times.npy");
    if !times_path.is_file() {
        return Err(ReadError::invalid(
            dir,
            Location::File,
            "no spike_times.npy: not a Kilosort/phy output folder",
        ));
    }
    let rate = sample_rate(dir, opts.rate, warnings)?;
    let mut clusters_path = join(dir, "spike_clusters.npy");
    if !clusters_path.is_file() {
        let templates = join(dir, "spike_templates.npy");
        if templates.is_file() {
            warnings.push(format!(
                "{}: no spike_clusters.npy; the template of each spike (spike_templates.npy) is used as its cluster",
                dir.display()
            ));
            clusters_path = templates;
        } else {
            return Err(ReadError::invalid(
                dir,
                Location::File,
                "no spike_clusters.npy (nor spike_templates.npy): cannot tell which unit fired each spike",
            ));
        }
    }
    let samples = npy::read(&times_path)?;
    let clusters = npy::read(&clusters_path)?;
    let clusters_name = clusters_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if samples.len() != clusters.len() {
        return Err(ReadError::invalid(
            &clusters_path,
            Location::File,
            format!(
                "{} entries but spike_times.npy has {} spikes; expected one cluster id per spike",
                clusters.len(),
                samples.len()
            ),
        ));
    }
    let clusters: Vec<i64> = match clusters {
        NpyVec::Int(v) => v,
        NpyVec::UInt(v) => v
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                i64::try_from(c).map_err(|_| {
                    ReadError::invalid(
                        &clusters_path,
                        Location::Element(i as u64),
                        format!("cluster id {c} is too large"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        NpyVec::Float(v) => v
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if c.fract() == 0.0 && c.abs() < 9.0e15 {
                    Ok(c as i64)
                } else {
                    Err(ReadError::invalid(
                        &clusters_path,
                        Location::Element(i as u64),
                        format!(
                            "cluster id {c} is not an integer ({clusters_name} must hold integers)"
                        ),
                    ))
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let ms_per_sample = |s: f64| s * 1000.0 / rate;
    let times: Vec<f64> = match samples {
        NpyVec::UInt(v) => v.into_iter().map(|s| ms_per_sample(s as f64)).collect(),
        NpyVec::Int(v) => {
            if let Some(i) = v.iter().position(|&s| s < 0) {
                return Err(ReadError::invalid(
                    &times_path,
                    Location::Element(i as u64),
                    format!(
                        "sample {} is negative; spike times must be non-negative",
                        v[i]
                    ),
                ));
            }
            v.into_iter().map(|s| ms_per_sample(s as f64)).collect()
        }
        NpyVec::Float(v) => {
            if let Some(i) = v.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
                return Err(ReadError::invalid(
                    &times_path,
                    Location::Element(i as u64),
                    format!("sample {} is not a finite non-negative number", v[i]),
                ));
            }
            v.into_iter().map(ms_per_sample).collect()
        }
    };
    let keep: Option<HashSet<i64>> = if opts.only_good {
        Some(good_clusters(dir, warnings)?)
    } else {
        None
    };
    let mut by_cluster: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (t, c) in times.into_iter().zip(clusters) {
        if keep.as_ref().is_none_or(|k| k.contains(&c)) {
            by_cluster.entry(c).or_default().push(t);
        }
    }
    if opts.only_good && by_cluster.is_empty() {
        warnings.push(format!(
            "{}: no spike belongs to a cluster marked good",
            dir.display()
        ));
    }
    Ok(by_cluster
        .into_iter()
        .map(|(c, times_ms)| SpikeTrain {
            id: c.to_string(),
            times_ms,
        })
        .collect())
}

/// The sampling rate: `--rate` if given (warning when `params.py` disagrees), else `sample_rate` of `params.py`.
fn sample_rate(
    dir: &Path,
    given: Option<f64>,
    warnings: &mut Vec<String>,
) -> Result<f64, ReadError> {
    let params = join(dir, "params.py");
    let from_params = if params.is_file() {
        read_params_rate(&params)?
    } else {
        None
    };
    match (given, from_params) {
        (Some(r), Some(p)) => {
            if r != p {
                warnings.push(format!(
                    "{}: --rate {r} Hz overrides sample_rate = {p} of params.py",
                    dir.display()
                ));
            }
            Ok(r)
        }
        (Some(r), None) => Ok(r),
        (None, Some(p)) => Ok(p),
        (None, None) => Err(ReadError::invalid(
            dir,
            Location::File,
            if params.is_file() {
                "params.py has no sample_rate line; pass the sampling rate with --rate HZ"
            } else {
                "no params.py to give the sampling rate; pass it with --rate HZ"
            },
        )),
    }
}

/// `sample_rate = ...` of a phy `params.py` (a Python file of simple assignments).
fn read_params_rate(path: &Path) -> Result<Option<f64>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReadError::io(path, e))?;
    for (i, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "sample_rate" {
            continue;
        }
        let value = value
            .split('#')
            .next()
            .unwrap_or("")
            .trim()
            .replace('_', "");
        let rate = value
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0);
        return match rate {
            Some(r) => Ok(Some(r)),
            None => Err(ReadError::invalid(
                path,
                Location::Line(i as u64 + 1),
                format!(
                    "sample_rate = {value} is not a positive number of Hz; pass the rate with --rate HZ"
                ),
            )),
        };
    }
    Ok(None)
}

/// Cluster ids marked `good` in `cluster_group.tsv` (phy's curation), or in Kilosort's `cluster_KSLabel.tsv`
/// when the folder was never curated (with a warning).
fn good_clusters(dir: &Path, warnings: &mut Vec<String>) -> Result<HashSet<i64>, ReadError> {
    let mut path = join(dir, "cluster_group.tsv");
    if !path.is_file() {
        let ks = join(dir, "cluster_KSLabel.tsv");
        if ks.is_file() {
            warnings.push(format!(
                "{}: no cluster_group.tsv (not curated in phy); --only good uses Kilosort's labels in cluster_KSLabel.tsv",
                dir.display()
            ));
            path = ks;
        } else {
            return Err(ReadError::invalid(
                dir,
                Location::File,
                "--only good needs cluster_group.tsv (phy's curation), which this folder lacks",
            ));
        }
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ReadError::io(&path, e))?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split('\t').map(str::trim).collect())
        .unwrap_or_default();
    let id_col = header.iter().position(|h| *h == "cluster_id" || *h == "id");
    let group_col = header.iter().position(|h| *h == "group" || *h == "KSLabel");
    let (Some(id_col), Some(group_col)) = (id_col, group_col) else {
        return Err(ReadError::invalid(
            &path,
            Location::Header,
            format!(
                "found the header {}, expected cluster_id and group (tab-separated)",
                crate::error::excerpt(&header.join("\t"))
            ),
        ));
    };
    let mut good = HashSet::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        let row = i as u64;
        let cell = |c: usize, name: &str| {
            cells.get(c).copied().ok_or_else(|| {
                ReadError::invalid(
                    &path,
                    Location::Row {
                        row,
                        line: row + 1,
                        field: Some(name.to_string()),
                    },
                    "missing field",
                )
            })
        };
        let id_text = cell(id_col, "cluster_id")?;
        let id = id_text.parse::<i64>().map_err(|_| {
            ReadError::invalid(
                &path,
                Location::Row {
                    row,
                    line: row + 1,
                    field: Some("cluster_id".into()),
                },
                format!("{} is not a cluster number", crate::error::excerpt(id_text)),
            )
        })?;
        if cell(group_col, "group")? == "good" {
            good.insert(id);
        }
    }
    Ok(good)
}
