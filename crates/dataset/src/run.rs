//! Making (a shard of) a dataset: targets, populations, simulations, features, written group by group.
//!
//! # Folder layout
//! ```text
//! DIR/dataset.json                       settings and shard; `complete` and a summary once done
//! DIR/part-<I>.inprogress/targets-<a>-<b>.<ext>   while running: one file per finished group of targets [a, b)
//! DIR/part-<I>.<ext>                     when done: every row of the shard, in order
//! ```
//! A group file is written to a temporary name and renamed when complete, so an interruption or a crash loses at
//! most the group being simulated. `--resume` checks the manifest against the request and continues after the
//! last group on disk. When the last group is done, the groups are joined into the part file (Parquet row groups of
//! [`FINAL_GROUP_ROWS`] rows, cut by row count so that the file does not depend on the group size), the manifest is
//! marked complete and the group files are removed.
//!
//! # Reproducibility
//! Target i is entry i of the Latin hypercube drawn from the seed ([`latin_hypercube`]); its M models come from
//! the generator's streams `i << 32 | k`; model k of target i is simulated with the noise stream of its row ID
//! `i M + k` ([`stream_seed`]). Nothing depends on the thread, the shard or the group, so a shard holds exactly
//! the rows the whole run would have for its targets.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use spikepop_dics::{Generator, GeneratorOptions, Infeasible, Population, TargetSpec};
use spikepop_models::noise::NoiseTrace;
use spikepop_models::sim::{Compiled, LANES, Outcome as SimOutcome, noise_for};

use crate::error::{Error, Result};
use crate::manifest::{MANIFEST, Manifest, Summarizer, Summary};
use crate::row::{Layout, Row, measure};
use crate::spec::{Format, MAX_ATTEMPTS, Shard, Spec};
use crate::store::{FINAL_GROUP_ROWS, OLD_TMP_PREFIX, Sink, Source, TMP_PREFIX};
use crate::targets::latin_hypercube;

/// Rows aimed at per group (checkpoint) when the group size is not given: about 8 s of STG simulation on 2 cores.
pub const GROUP_ROWS: u64 = 1024;

/// How a run is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// The dataset folder.
    pub dir: PathBuf,
    /// Which shard to make.
    pub shard: Shard,
    /// Storage format.
    pub format: Format,
    /// Continue the run in `dir` if there is one (start one if there is none).
    pub resume: bool,
    /// Targets per group (checkpoint); by default enough for about [`GROUP_ROWS`] rows.
    pub group_targets: Option<u64>,
}

impl RunOptions {
    /// Shard 0 of 1 in `dir`, Parquet, no resume, default groups.
    pub fn new(dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            dir: dir.into(),
            shard: Shard::WHOLE,
            format: Format::Parquet,
            resume: false,
            group_targets: None,
        }
    }
}

/// Callbacks of a run. They are called from worker threads.
pub struct Hooks<'a> {
    /// Stops the run after the group in progress when set (e.g. by Ctrl-C).
    pub cancel: &'a AtomicBool,
    /// `n` more models are done (simulated, or given up with their infeasible target).
    pub on_models: &'a (dyn Fn(u64) + Sync),
    /// A target has no population (its M models count as done).
    pub on_infeasible: &'a (dyn Fn(u64, &Infeasible) + Sync),
    /// A group of targets is safely on disk.
    pub on_group: &'a (dyn Fn(Range<u64>) + Sync),
}

impl<'a> Hooks<'a> {
    /// No reporting; stops when `cancel` is set.
    pub fn quiet(cancel: &'a AtomicBool) -> Hooks<'a> {
        Hooks {
            cancel,
            on_models: &|_| {},
            on_infeasible: &|_, _| {},
            on_group: &|_| {},
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The shard is complete.
    Complete(Box<Report>),
    /// Stopped by the cancel flag; the folder can be resumed.
    Interrupted {
        /// Targets of the shard done (on disk).
        done_targets: u64,
        /// Targets in the shard.
        shard_targets: u64,
        /// Models simulated by this run.
        simulated: u64,
        /// Time spent by this run.
        elapsed: Duration,
    },
}

/// A finished shard.
#[derive(Debug)]
pub struct Report {
    /// The manifest, complete, with its summary.
    pub manifest: Manifest,
    /// The part file.
    pub part: PathBuf,
    /// Models simulated by this run (0 if the folder was already complete).
    pub simulated: u64,
    /// Time spent by this run.
    pub elapsed: Duration,
}

impl Report {
    /// The summary of the rows.
    pub fn summary(&self) -> &Summary {
        self.manifest
            .summary
            .as_ref()
            .expect("a complete manifest has a summary")
    }

    /// Models simulated per second by this run.
    pub fn models_per_second(&self) -> f64 {
        self.simulated as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A run, checked and ready: the folder exists with its manifest, and the groups already on disk are known.
pub struct Plan {
    spec: Spec,
    opts: RunOptions,
    manifest: Manifest,
    generator: Generator,
    targets: Vec<[f64; 2]>,
    range: Range<u64>,
    group_targets: u64,
    staged: Vec<(Range<u64>, PathBuf)>,
    next: u64,
}

fn staging_dir(dir: &Path, m: &Manifest) -> PathBuf {
    dir.join(format!("part-{}.inprogress", m.shard.index))
}

fn group_name(r: &Range<u64>, format: Format) -> String {
    format!("targets-{:010}-{:010}.{}", r.start, r.end, format.ext())
}

fn parse_group_name(name: &str, format: Format) -> Option<Range<u64>> {
    let stem = name
        .strip_prefix("targets-")?
        .strip_suffix(&format!(".{}", format.ext()))?;
    let (a, b) = stem.split_once('-')?;
    Some(a.parse().ok()?..b.parse().ok()?)
}

impl Plan {
    /// Checks the request, then creates the folder and its manifest, or (with `resume`) checks the folder's
    /// manifest against the request and finds the groups already done. Nothing is created when the request is
    /// invalid.
    pub fn open(spec: Spec, opts: RunOptions) -> Result<Plan> {
        spec.validate()?;
        opts.shard.check(spec.targets)?;
        if opts.group_targets == Some(0) {
            return Err(Error::Invalid(
                "--group-targets 0: expected at least 1 target per group".into(),
            ));
        }
        let generator = Generator::new(
            spec.model,
            &GeneratorOptions {
                seed: spec.seed,
                max_attempts: MAX_ATTEMPTS,
                ..GeneratorOptions::default()
            },
        )
        .map_err(|e| Error::Invalid(format!("--model {}: {e}", spec.model.name)))?;
        let wanted = Manifest::new(&spec, opts.shard, opts.format);
        let dir = &opts.dir;
        let manifest_path = dir.join(MANIFEST);
        let staging = staging_dir(dir, &wanted);
        let manifest = if manifest_path.exists() {
            if !opts.resume {
                return Err(Error::Invalid(format!(
                    "-o {}: the folder already holds a dataset ({MANIFEST}); add --resume to continue it, or choose another folder",
                    dir.display()
                )));
            }
            let found = Manifest::read(dir)?;
            let diff = wanted.differences(&found, &[]);
            if !diff.is_empty() {
                return Err(Error::Invalid(format!(
                    "--resume: {} was made with other settings (this run vs the folder): {}",
                    dir.display(),
                    diff.join("; ")
                )));
            }
            found
        } else {
            let part = dir.join(wanted.part_file());
            if part.exists() || staging.exists() {
                return Err(Error::Invalid(format!(
                    "-o {}: {} exists without {MANIFEST}; remove it or choose another folder",
                    dir.display(),
                    if part.exists() { part } else { staging.clone() }.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(Error::io(dir, "cannot create the folder"))?;
            wanted.write(dir)?;
            wanted
        };
        let range = opts.shard.range(spec.targets);
        let mut plan = Plan {
            targets: latin_hypercube(spec.seed, spec.targets, spec.gs_range, spec.gu_range),
            group_targets: opts
                .group_targets
                .unwrap_or(GROUP_ROWS.div_ceil(spec.per_target as u64)),
            next: range.start,
            range,
            spec,
            opts,
            manifest,
            generator,
            staged: Vec::new(),
        };
        if !plan.manifest.complete {
            plan.scan_staging()?;
        }
        Ok(plan)
    }

    /// Finds the groups already on disk, removes leftover temporary files, checks that the groups follow each
    /// other from the shard's first target.
    fn scan_staging(&mut self) -> Result<()> {
        let staging = staging_dir(&self.opts.dir, &self.manifest);
        if !staging.exists() {
            std::fs::create_dir_all(&staging)
                .map_err(Error::io(&staging, "cannot create the folder"))?;
            return Ok(());
        }
        let entries =
            std::fs::read_dir(&staging).map_err(Error::io(&staging, "cannot list the folder"))?;
        for e in entries {
            let e = e.map_err(Error::io(&staging, "cannot list the folder"))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(TMP_PREFIX) || name.starts_with(OLD_TMP_PREFIX) {
                // A group that was being written when the previous run stopped.
                std::fs::remove_file(e.path()).map_err(Error::io(
                    &e.path(),
                    "cannot remove a leftover temporary file",
                ))?;
            } else if let Some(r) = parse_group_name(&name, self.opts.format) {
                self.staged.push((r, e.path()));
            }
        }
        self.staged.sort_by_key(|(r, _)| r.start);
        let mut next = self.range.start;
        for (r, path) in &self.staged {
            if r.start != next || r.end <= r.start || r.end > self.range.end {
                return Err(Error::malformed(
                    path,
                    format!(
                        "this group of targets does not follow the previous ones (expected targets from {next}); \
                         the folder was changed by hand: remove {} to start the shard again",
                        staging.display()
                    ),
                ));
            }
            next = r.end;
        }
        self.next = next;
        Ok(())
    }

    /// The manifest of the folder.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The targets of the shard.
    pub fn shard_targets(&self) -> Range<u64> {
        self.range.clone()
    }

    /// Targets already done (0 for a fresh run; all for a complete folder).
    pub fn done_targets(&self) -> u64 {
        if self.manifest.complete {
            self.range.end - self.range.start
        } else {
            self.next - self.range.start
        }
    }

    /// Whether the folder is already complete (a `--resume` of a finished run).
    pub fn is_complete(&self) -> bool {
        self.manifest.complete
    }

    /// The targets of the whole dataset, `[g_s, g_u]` by target index.
    pub fn targets(&self) -> &[[f64; 2]] {
        &self.targets
    }

    /// Runs the remaining groups, then writes the part file. Uses rayon's current thread pool.
    pub fn execute(mut self, hooks: &Hooks) -> Result<Outcome> {
        let started = Instant::now();
        let part = self.opts.dir.join(self.manifest.part_file());
        if self.manifest.complete {
            // Remove groups left by a stop between the manifest and the clean-up.
            let staging = staging_dir(&self.opts.dir, &self.manifest);
            if staging.exists() {
                std::fs::remove_dir_all(&staging)
                    .map_err(Error::io(&staging, "cannot remove the finished groups"))?;
            }
            return Ok(Outcome::Complete(Box::new(Report {
                manifest: self.manifest,
                part,
                simulated: 0,
                elapsed: started.elapsed(),
            })));
        }
        let compiled = Compiled::new(self.spec.model, self.spec.dt);
        let layout = Layout::for_model(self.spec.model);
        let staging = staging_dir(&self.opts.dir, &self.manifest);
        let mut simulated = 0;
        while self.next < self.range.end {
            if hooks.cancel.load(Ordering::SeqCst) {
                return Ok(Outcome::Interrupted {
                    done_targets: self.next - self.range.start,
                    shard_targets: self.range.end - self.range.start,
                    simulated,
                    elapsed: started.elapsed(),
                });
            }
            let group = self.next..(self.next + self.group_targets).min(self.range.end);
            let rows = self.group_rows(group.clone(), &compiled, hooks);
            simulated += rows.len() as u64;
            let path = staging.join(group_name(&group, self.opts.format));
            let mut sink = Sink::create(&path, self.opts.format, &layout, usize::MAX)?;
            for r in rows {
                sink.push(r)?;
            }
            sink.commit()?;
            (hooks.on_group)(group.clone());
            self.staged.push((group.clone(), path));
            self.next = group.end;
        }
        let summary = self.join_groups(&part, &layout)?;
        self.manifest.complete = true;
        self.manifest.summary = Some(summary);
        self.manifest.write(&self.opts.dir)?;
        std::fs::remove_dir_all(&staging)
            .map_err(Error::io(&staging, "cannot remove the finished groups"))?;
        Ok(Outcome::Complete(Box::new(Report {
            manifest: self.manifest,
            part,
            simulated,
            elapsed: started.elapsed(),
        })))
    }

    /// Generates, simulates and measures the models of a group of targets, in dataset order.
    fn group_rows(&self, group: Range<u64>, compiled: &Compiled, hooks: &Hooks) -> Vec<Row> {
        let m = self.spec.per_target;
        let pops: Vec<(u64, Result<Population, Infeasible>)> = (group.start as usize
            ..group.end as usize)
            .into_par_iter()
            .map(|t| {
                let [gs, gu] = self.targets[t];
                let pop = self
                    .generator
                    .generate_target(t, &TargetSpec::point(gs, gu), m as usize);
                (t as u64, pop)
            })
            .collect();
        let mut jobs: Vec<(u64, u32, &Population)> = Vec::with_capacity(pops.len() * m as usize);
        for (t, pop) in &pops {
            match pop {
                Ok(p) => jobs.extend((0..m).map(|k| (*t, k, p))),
                Err(e) => {
                    (hooks.on_infeasible)(*t, e);
                    (hooks.on_models)(m as u64);
                }
            }
        }
        let settings = self.spec.sim_settings();
        let vth = self.spec.vth();
        // Groups always finish: the cancel flag is read between groups, never inside a simulation.
        let never = AtomicBool::new(false);
        let row = |(t, k, pop): (u64, u32, &Population), out: SimOutcome| -> Row {
            let d = pop.dics(k as usize);
            let (label, label_reference, features) = measure(&out.spikes);
            let [gs, gu] = self.targets[t as usize];
            Row {
                id: t * m as u64 + k as u64,
                target_g_s: gs,
                target_g_u: gu,
                conductances: pop.conductances(k as usize).to_vec(),
                target: t,
                model: k,
                vth,
                achieved: [d.g_f, d.g_s, d.g_u],
                label,
                label_reference,
                finite: out.finite,
                n_spikes: out.spikes.len() as u64,
                features,
                spikes: out.spikes,
            }
        };
        // Models run LANES at a time in lock-step (the simulator's fast path); lanes never interact, so a
        // model's result is the same whatever its partners, i.e. whatever the group and shard.
        let chunks: Vec<Vec<Row>> = jobs
            .par_chunks(LANES)
            .map(|chunk| {
                let noise: Vec<Option<NoiseTrace>> = chunk
                    .iter()
                    .map(|&(t, k, _)| noise_for(compiled, &settings, t * m as u64 + k as u64))
                    .collect();
                let g: Vec<&[f64]> = chunk
                    .iter()
                    .map(|&(_, k, pop)| pop.conductances(k as usize))
                    .collect();
                let nz: Vec<Option<&NoiseTrace>> = noise.iter().map(Option::as_ref).collect();
                let outs: Vec<SimOutcome> = compiled.run_group(&g, &settings, &nz, &never);
                (hooks.on_models)(chunk.len() as u64);
                chunk
                    .iter()
                    .zip(outs)
                    .map(|(&j, out)| row(j, out))
                    .collect()
            })
            .collect();
        chunks.into_iter().flatten().collect()
    }

    /// Joins the group files into the part file and summarises the rows.
    fn join_groups(&self, part: &Path, layout: &Layout) -> Result<Summary> {
        let mut sink = Sink::create(part, self.opts.format, layout, FINAL_GROUP_ROWS)?;
        let mut summ = Summarizer::new(self.spec.per_target, Some(self.range.clone()));
        for (_, path) in &self.staged {
            let mut src = Source::open(path, self.opts.format)?;
            if src.layout() != layout {
                return Err(Error::malformed(
                    path,
                    "the columns differ from this model's dataset columns",
                ));
            }
            while let Some(batch) = src.next_batch()? {
                for row in batch {
                    summ.add(&row).map_err(|m| Error::malformed(path, m))?;
                    sink.push(row)?;
                }
            }
        }
        let summary = summ.finish().map_err(|m| Error::malformed(part, m))?;
        sink.commit()?;
        Ok(summary)
    }
}
