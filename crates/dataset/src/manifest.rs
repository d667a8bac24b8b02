//! `DIR/dataset.json`: the settings a dataset folder was made with, which shard it holds, and (once complete) a
//! summary of its rows. Written atomically. `--resume` and `merge` compare manifests field by field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spikepop_spikes::features::Label;

use crate::error::{Error, Result};
use crate::spec::{Format, MAX_ATTEMPTS, Shard, Spec};
use crate::store::write_file_atomic;

/// Version of the folder layout and columns.
pub const VERSION: u32 = 1;
/// File name of the manifest in a dataset folder.
pub const MANIFEST: &str = "dataset.json";

/// Which targets a folder holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Shard number, 0-based.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
    /// First target of the shard.
    pub first_target: u64,
    /// One past the last target of the shard.
    pub end_target: u64,
}

/// What a finished folder holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows written.
    pub rows: u64,
    /// Rows per label of the default classifier (all four labels, 0 included).
    pub labels: BTreeMap<String, u64>,
    /// Rows per label of the reference classifier.
    pub labels_reference: BTreeMap<String, u64>,
    /// Rows whose simulation became non-finite and stopped early.
    pub unstable: u64,
    /// Targets of the shard for which the generator found no population (no rows), in increasing order.
    pub infeasible_targets: Vec<u64>,
}

impl Summary {
    /// An empty summary with every label at 0.
    pub fn new() -> Summary {
        let zero = || Label::ALL.iter().map(|l| (l.to_string(), 0)).collect();
        Summary {
            labels: zero(),
            labels_reference: zero(),
            ..Summary::default()
        }
    }

    /// Fraction of silent rows (default classifier); 0 without rows.
    pub fn silent_fraction(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.labels.get("silent").copied().unwrap_or(0) as f64 / self.rows as f64
        }
    }
}

/// How a split folder was made from its source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// The seed of the shuffle of the targets.
    pub seed: u64,
    /// Requested fraction of targets in the validation set.
    pub val: f64,
    /// Requested fraction of targets in the test set.
    pub test: f64,
    /// Per split (`train`, `val`, `test`): targets and rows written.
    pub sets: BTreeMap<String, SplitCount>,
}

/// Size of one split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCount {
    /// The file, relative to the folder.
    pub file: String,
    /// Targets in it.
    pub targets: u64,
    /// Rows in it.
    pub rows: u64,
}

/// The manifest of a dataset folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`VERSION`]).
    pub version: u32,
    /// Version of spikepop that made the rows.
    pub spikepop: String,
    /// Model short name.
    pub model: String,
    /// The model's file, in full, when it is not a built-in model (or differs from the built-in of its
    /// name), so that `merge` and `split` know the model without the file it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_file: Option<String>,
    /// The seed.
    pub seed: u64,
    /// Targets in the whole dataset (N).
    pub targets: u64,
    /// Models per target (M).
    pub per_target: u32,
    /// How targets are drawn.
    pub sampling: String,
    /// Target g_s range.
    pub gs_range: [f64; 2],
    /// Target g_u range.
    pub gu_range: [f64; 2],
    /// Threshold voltage of the DICs (mV).
    pub vth: f64,
    /// Seeds per model before a target is declared infeasible.
    pub max_attempts: u32,
    /// Current-noise sigma (uA/cm^2).
    pub noise: f64,
    /// Integration step (ms).
    pub dt: f64,
    /// Simulated time (ms).
    pub duration: f64,
    /// Dropped initial time (ms).
    pub transient: f64,
    /// Storage format.
    pub format: Format,
    /// The part of the targets this folder holds.
    pub shard: ShardInfo,
    /// True once the part file is written in full.
    pub complete: bool,
    /// Row counts, when complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// How the folder was split from a dataset, for a split folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitInfo>,
}

/// Fields that are not settings: they may differ between a run and its resumption, or between shards.
const STATE_FIELDS: [&str; 3] = ["complete", "summary", "split"];

impl Manifest {
    /// The model the rows were made with: its recorded file, or the built-in model of its name. `path` is
    /// the manifest's, for errors.
    pub fn resolve_model(
        &self,
        path: &std::path::Path,
    ) -> Result<&'static spikepop_models::Model, crate::Error> {
        match &self.model_file {
            Some(text) => spikepop_models::file::parse(text, &path.display().to_string())
                .map(|m| &*Box::leak(Box::new(m)))
                .map_err(|e| crate::Error::malformed(path, format!("model_file: {e}"))),
            None => spikepop_models::by_name(&self.model).ok_or_else(|| {
                crate::Error::malformed(path, format!("unknown model `{}`", self.model))
            }),
        }
    }

    /// The manifest of shard `shard` of `spec`, not yet complete.
    pub fn new(spec: &Spec, shard: Shard, format: Format) -> Manifest {
        let r = shard.range(spec.targets);
        Manifest {
            version: VERSION,
            spikepop: env!("CARGO_PKG_VERSION").to_string(),
            model: spec.model.name.to_string(),
            model_file: (spikepop_models::by_name(spec.model.name) != Some(spec.model))
                .then(|| spikepop_models::file::to_toml(spec.model, "")),
            seed: spec.seed,
            targets: spec.targets,
            per_target: spec.per_target,
            sampling: "latin-hypercube".to_string(),
            gs_range: spec.gs_range,
            gu_range: spec.gu_range,
            vth: spec.vth(),
            max_attempts: MAX_ATTEMPTS,
            noise: spec.noise,
            dt: spec.dt,
            duration: spec.duration,
            transient: spec.transient,
            format,
            shard: ShardInfo {
                index: shard.index,
                count: shard.count,
                first_target: r.start,
                end_target: r.end,
            },
            complete: false,
            summary: None,
            split: None,
        }
    }

    /// The shard.
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.shard.index,
            count: self.shard.count,
        }
    }

    /// The part file of this folder, relative to it: `part-<shard>.<ext>`.
    pub fn part_file(&self) -> String {
        format!("part-{}.{}", self.shard.index, self.format.ext())
    }

    /// Reads `dir/dataset.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path, "cannot read"))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::malformed(&path, format!("not a spikepop dataset manifest: {e}"))
        })?;
        if m.version != VERSION {
            return Err(Error::malformed(
                &path,
                format!(
                    "layout version {}; this spikepop reads version {VERSION}",
                    m.version
                ),
            ));
        }
        Ok(m)
    }

    /// Writes `dir/dataset.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        write_file_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// The settings that differ between two manifests, as `name: ours vs theirs`, ignoring the state fields
    /// (`complete`, `summary`, `split`) and those in `also_ignore`.
    pub fn differences(&self, other: &Manifest, also_ignore: &[&str]) -> Vec<String> {
        let (a, b) = (
            serde_json::to_value(self).expect("serialises"),
            serde_json::to_value(other).expect("serialises"),
        );
        let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
            unreachable!("manifests are objects")
        };
        let null = serde_json::Value::Null;
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !STATE_FIELDS.contains(&k.as_str()) && !also_ignore.contains(&k.as_str()))
            .filter_map(|k| {
                let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
                (x != y).then(|| format!("{k}: {x} vs {y}"))
            })
            .collect()
    }
}

/// Counts rows into a [`Summary`] while checking that they come in dataset order: by target, then model, every
/// feasible target with exactly M rows (`model` 0..M-1), `ID = target * M + model`. With a target range, the
/// targets of the range without rows are the infeasible ones.
pub struct Summarizer {
    per_target: u32,
    range: Option<std::ops::Range<u64>>,
    last: Option<(u64, u32)>,
    summary: Summary,
}

impl Summarizer {
    /// Checks rows of `per_target` models per target, inside `range` when given (and then lists the targets of
    /// the range without rows as infeasible).
    pub fn new(per_target: u32, range: Option<std::ops::Range<u64>>) -> Summarizer {
        Summarizer {
            per_target,
            range,
            last: None,
            summary: Summary::new(),
        }
    }

    fn missing(&mut self, from: u64, to: u64) {
        if self.range.is_some() {
            self.summary.infeasible_targets.extend(from..to);
        }
    }

    /// Counts one row; `Err` says what is out of order.
    pub fn add(&mut self, row: &crate::row::Row) -> Result<(), String> {
        let m = self.per_target;
        let (t, k) = (row.target, row.model);
        if k >= m {
            return Err(format!(
                "row ID {}: model {k}, but the dataset has {m} models per target",
                row.id
            ));
        }
        if row.id != t * m as u64 + k as u64 {
            return Err(format!(
                "row ID {}: expected ID {} for target {t}, model {k}",
                row.id,
                t * m as u64 + k as u64
            ));
        }
        if let Some(r) = &self.range
            && !r.contains(&t)
        {
            return Err(format!(
                "row ID {}: target {t} is outside this shard's targets {}..{}",
                row.id, r.start, r.end
            ));
        }
        let ordered = match self.last {
            None => k == 0,
            Some((lt, lk)) if lt == t => k == lk + 1,
            Some((lt, lk)) => t > lt && lk + 1 == m && k == 0,
        };
        if !ordered {
            return Err(format!(
                "row ID {}: rows are not in dataset order (by target, then model 0..{})",
                row.id,
                m - 1
            ));
        }
        let from = match self.last {
            None => self.range.as_ref().map_or(t, |r| r.start),
            Some((lt, _)) => lt + 1,
        };
        if k == 0 {
            self.missing(from, t);
        }
        self.last = Some((t, k));
        let s = &mut self.summary;
        s.rows += 1;
        *s.labels.entry(row.label.to_string()).or_default() += 1;
        *s.labels_reference
            .entry(row.label_reference.to_string())
            .or_default() += 1;
        if !row.finite {
            s.unstable += 1;
        }
        Ok(())
    }

    /// The summary; `Err` if the last target is incomplete.
    pub fn finish(mut self) -> Result<Summary, String> {
        if let Some((lt, lk)) = self.last
            && lk + 1 != self.per_target
        {
            return Err(format!(
                "target {lt} has {} rows; expected {}",
                lk + 1,
                self.per_target
            ));
        }
        if let Some(r) = self.range.clone() {
            let from = self.last.map_or(r.start, |(lt, _)| lt + 1);
            self.missing(from, r.end);
        }
        Ok(self.summary)
    }
}
