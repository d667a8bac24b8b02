//! Joining shards into one dataset, and splitting a dataset into train/validation/test sets by target.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::manifest::{MANIFEST, Manifest, ShardInfo, SplitCount, SplitInfo, Summarizer};
use crate::row::Layout;
use crate::store::{FINAL_GROUP_ROWS, Sink, Source};

/// Reads the manifest of a dataset folder and checks that it is complete.
fn complete_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.join(MANIFEST).exists() {
        return Err(Error::Invalid(format!(
            "{}: no {MANIFEST}; expected a folder written by `spikepop dataset`",
            dir.display()
        )));
    }
    let m = Manifest::read(dir)?;
    if !m.complete {
        return Err(Error::Invalid(format!(
            "{}: shard {} is not complete; finish it with `spikepop dataset ... --resume` first",
            dir.display(),
            m.shard()
        )));
    }
    Ok(m)
}

/// Refuses an output folder that already holds a dataset, then creates it.
fn prepare_output(out: &Path) -> Result<()> {
    if out.join(MANIFEST).exists() {
        return Err(Error::Invalid(format!(
            "-o {}: the folder already holds a dataset ({MANIFEST}); choose another folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(Error::io(out, "cannot create the folder"))
}

/// Joins the shards in `inputs` (folders written by `spikepop dataset --shard I/K`, complete, same settings, every
/// shard 0..K-1 exactly once) into `out`, which then holds exactly what the unsharded run writes: `dataset.json` for
/// shard 0/1 and `part-0.<ext>`. Rows stream through (one batch in memory at a time).
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Manifest> {
    if inputs.is_empty() {
        return Err(Error::Invalid(
            "merge: no input folders; give the shard folders to join".into(),
        ));
    }
    let mut shards: Vec<(PathBuf, Manifest)> = Vec::new();
    for dir in inputs {
        shards.push((dir.clone(), complete_manifest(dir)?));
    }
    let (first_dir, first) = shards[0].clone();
    for (dir, m) in &shards[1..] {
        let diff = first.differences(m, &["shard"]);
        if !diff.is_empty() {
            return Err(Error::Invalid(format!(
                "merge: {} and {} were made with other settings: {}",
                first_dir.display(),
                dir.display(),
                diff.join("; ")
            )));
        }
        if m.shard.count != first.shard.count {
            return Err(Error::Invalid(format!(
                "merge: {} is shard {} but {} is shard {}; join shards of one split (the same K)",
                first_dir.display(),
                first.shard(),
                dir.display(),
                m.shard()
            )));
        }
    }
    shards.sort_by_key(|(_, m)| m.shard.index);
    for w in shards.windows(2) {
        if w[0].1.shard.index == w[1].1.shard.index {
            return Err(Error::Invalid(format!(
                "merge: {} and {} are both shard {}; give each shard once",
                w[0].0.display(),
                w[1].0.display(),
                w[0].1.shard()
            )));
        }
    }
    let k = first.shard.count;
    let missing: Vec<String> = (0..k)
        .filter(|i| !shards.iter().any(|(_, m)| m.shard.index == *i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "merge: shard(s) {} of {k} missing; give all {k} shard folders",
            missing.join(", ")
        )));
    }
    let mut merged = first.clone();
    merged.shard = ShardInfo {
        index: 0,
        count: 1,
        first_target: 0,
        end_target: merged.targets,
    };
    merged.complete = false;
    merged.summary = None;
    prepare_output(out)?;
    let part = out.join(merged.part_file());
    let model = merged.resolve_model(&first_dir.join(MANIFEST))?;
    let layout = Layout::for_model(model);
    let mut sink = Sink::create(&part, merged.format, &layout, FINAL_GROUP_ROWS)?;
    let mut summ = Summarizer::new(merged.per_target, Some(0..merged.targets));
    for (dir, m) in &shards {
        let path = dir.join(m.part_file());
        let mut src = Source::open(&path, m.format)?;
        if src.layout() != &layout {
            return Err(Error::malformed(
                &path,
                "the columns differ from the dataset columns of this model",
            ));
        }
        while let Some(batch) = src.next_batch()? {
            for row in batch {
                summ.add(&row).map_err(|e| Error::malformed(&path, e))?;
                sink.push(row)?;
            }
        }
    }
    let summary = summ.finish().map_err(|e| Error::malformed(&part, e))?;
    sink.commit()?;
    merged.complete = true;
    merged.summary = Some(summary);
    merged.write(out)?;
    Ok(merged)
}

/// Fractions and seed of a split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitOptions {
    /// Fraction of targets in the validation set.
    pub val: f64,
    /// Fraction of targets in the test set.
    pub test: f64,
    /// Seed of the shuffle of the targets.
    pub seed: u64,
}

/// The three sets, in file order.
pub const SETS: [&str; 3] = ["train", "val", "test"];

/// Splits the dataset in `data` into `out/train.<ext>`, `out/val.<ext>` and `out/test.<ext>` by target: the
/// targets that have rows are shuffled with the seed (ChaCha8), the first `round(val n)` go to validation, the next
/// `round(test n)` to test, the rest to training, so all models of a target land in the same set. Each file keeps
/// the dataset's row order. A set with fraction 0 is not written. `out/dataset.json` is the source's manifest with
/// the split recorded.
pub fn split(data: &Path, out: &Path, opts: SplitOptions) -> Result<Manifest> {
    for (flag, v) in [("--val", opts.val), ("--test", opts.test)] {
        if !(v.is_finite() && (0.0..1.0).contains(&v)) {
            return Err(Error::Invalid(format!(
                "{flag} {v}: expected a fraction in [0, 1)"
            )));
        }
    }
    if opts.val + opts.test >= 1.0 {
        return Err(Error::Invalid(format!(
            "--val {} --test {}: nothing would be left for training; expected val + test < 1",
            opts.val, opts.test
        )));
    }
    let source = complete_manifest(data)?;
    let summary = source.summary.clone().unwrap_or_default();
    let mut targets: Vec<u64> = (source.shard.first_target..source.shard.end_target)
        .filter(|t| summary.infeasible_targets.binary_search(t).is_err())
        .collect();
    let n = targets.len() as u64;
    let n_val = (opts.val * n as f64).round() as u64;
    let n_test = (opts.test * n as f64).round() as u64;
    for (flag, f, k) in [("--val", opts.val, n_val), ("--test", opts.test, n_test)] {
        if f > 0.0 && k == 0 {
            return Err(Error::Invalid(format!(
                "{flag} {f}: {n} target(s) give an empty set; ask for a larger fraction or more targets"
            )));
        }
    }
    if n_val + n_test >= n {
        return Err(Error::Invalid(format!(
            "--val {} --test {}: {n} target(s) leave none for training",
            opts.val, opts.test
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    targets.shuffle(&mut rng);
    let set_of: HashMap<u64, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let set = if (i as u64) < n_val {
                1
            } else if (i as u64) < n_val + n_test {
                2
            } else {
                0
            };
            (t, set)
        })
        .collect();
    let counts = [n - n_val - n_test, n_val, n_test];

    prepare_output(out)?;
    let model = source.resolve_model(&data.join(MANIFEST))?;
    let layout = Layout::for_model(model);
    let file = |s: usize| format!("{}.{}", SETS[s], source.format.ext());
    let mut sinks: Vec<Option<Sink>> = Vec::new();
    for (s, &count) in counts.iter().enumerate() {
        sinks.push(if count > 0 {
            Some(Sink::create(
                &out.join(file(s)),
                source.format,
                &layout,
                FINAL_GROUP_ROWS,
            )?)
        } else {
            None
        });
    }
    let path = data.join(source.part_file());
    let mut src = Source::open(&path, source.format)?;
    let mut summ = Summarizer::new(source.per_target, None);
    while let Some(batch) = src.next_batch()? {
        for row in batch {
            summ.add(&row).map_err(|e| Error::malformed(&path, e))?;
            let s = *set_of.get(&row.target).ok_or_else(|| {
                Error::malformed(
                    &path,
                    format!(
                        "row ID {}: target {} is listed as infeasible in the manifest",
                        row.id, row.target
                    ),
                )
            })?;
            sinks[s]
                .as_mut()
                .expect("a set with targets has a file")
                .push(row)?;
        }
    }
    summ.finish().map_err(|e| Error::malformed(&path, e))?;
    let mut sets = BTreeMap::new();
    for (s, sink) in sinks.into_iter().enumerate() {
        if let Some(sink) = sink {
            let rows = sink.commit()?;
            sets.insert(
                SETS[s].to_string(),
                SplitCount {
                    file: file(s),
                    targets: counts[s],
                    rows,
                },
            );
        }
    }
    let mut m = source;
    m.split = Some(SplitInfo {
        seed: opts.seed,
        val: opts.val,
        test: opts.test,
        sets,
    });
    m.write(out)?;
    Ok(m)
}
