//! `spikepop dataset`: training data (targets, populations, simulations, features) written group by group,
//! sharded and resumable; `spikepop dataset merge` joins shards, `spikepop dataset split` makes
//! train/validation/test sets by target. The work lives in `spikepop-dataset`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Result, anyhow, bail};
use spikepop_dataset::{
    Format, Hooks, Manifest, Outcome, Plan, RunOptions, Shard, Spec, SplitOptions, Summary,
    parse_range,
};
use spikepop_spikes::features::Label;

use crate::output::{cancel_flag, model_by_name, progress, with_threads};

/// Make a training set: N targets by Latin hypercube, M models each, simulated and measured.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    make: MakeArgs,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Join the folders of shards 0..K-1 into one dataset, identical to the unsharded run.
    Merge(MergeArgs),
    /// Split a dataset into train/val/test files by target (a target's models stay together).
    Split(SplitArgs),
}

#[derive(clap::Args)]
struct MakeArgs {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long, required = true)]
    model: Option<String>,
    /// Number of (g_s, g_u) targets, N, drawn by Latin hypercube over the training range.
    #[arg(long, required = true)]
    targets: Option<u64>,
    /// Models per target, M.
    #[arg(long, default_value_t = spikepop_dataset::spec::DEFAULT_PER_TARGET)]
    per_target: u32,
    /// Seed of the targets, the populations and the noise; the rows depend on it alone (not on --threads or
    /// --shard).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder: dataset.json and part-<I>.parquet (or .csv).
    #[arg(short, long, required = true)]
    output: Option<PathBuf>,
    /// Make shard I of K (0-based): the targets [I N/K, (I+1) N/K). Merge the K folders with `dataset merge`.
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// parquet (spike times as list<double>) or csv (the reference's layout, "[t1, ...]" strings).
    #[arg(long, default_value = "parquet")]
    format: String,
    /// Injected current noise: sigma before the 1 kHz low-pass (uA/cm^2).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    noise: f64,
    /// Simulated time (ms); default: the model's (STG 6000, DA 12000).
    #[arg(long, allow_negative_numbers = true)]
    duration: Option<f64>,
    /// Initial time dropped from the spike trains (ms); default: the model's (3000 for STG and DA).
    #[arg(long, allow_negative_numbers = true)]
    transient: Option<f64>,
    /// Integration step (ms).
    /// [default: the model's step, 0.05 for STG and DA]
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Target g_s range A,B (default STG -20,20; DA -10,15).
    #[arg(long, allow_hyphen_values = true)]
    gs_range: Option<String>,
    /// Target g_u range A,B (default 0,20).
    #[arg(long, allow_hyphen_values = true)]
    gu_range: Option<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Continue the run in the output folder where it stopped (or start it if there is none).
    #[arg(long)]
    resume: bool,
    /// Targets per checkpoint group (default: about 1024 models). Does not change the rows.
    #[arg(long)]
    group_targets: Option<u64>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The shard folders (each written with --shard I/K, complete).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(clap::Args)]
struct SplitArgs {
    /// The dataset folder to split.
    #[arg(long)]
    data: PathBuf,
    /// Output folder: train.<ext>, val.<ext>, test.<ext> and dataset.json.
    #[arg(short, long)]
    output: PathBuf,
    /// Fraction of the targets in the validation set.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    val: f64,
    /// Fraction of the targets in the test set.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    test: f64,
    /// Seed of the shuffle of the targets.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Some(Sub::Merge(a)) => merge(a),
        Some(Sub::Split(a)) => split(a),
        None => make(args.make),
    }
}

fn make(a: MakeArgs) -> Result<()> {
    let (Some(model), Some(targets), Some(dir)) = (a.model, a.targets, a.output) else {
        bail!("give --model, --targets and -o DIR (or a subcommand: merge, split)");
    };
    // Install the Ctrl-C handler before the folder exists, so an interruption always leaves it resumable.
    let cancel = cancel_flag();
    let model = model_by_name(&model)?;
    let mut spec = Spec::new(model);
    spec.seed = a.seed;
    spec.targets = targets;
    spec.per_target = a.per_target;
    spec.noise = a.noise;
    spec.dt = a.dt.unwrap_or(model.default_dt);
    spec.transient = a.transient.unwrap_or(model.default_transient);
    if let Some(d) = a.duration {
        spec.duration = d;
    }
    if let Some(r) = &a.gs_range {
        spec.gs_range = parse_range("--gs-range", r)?;
    }
    if let Some(r) = &a.gu_range {
        spec.gu_range = parse_range("--gu-range", r)?;
    }
    if a.threads == Some(0) {
        bail!("invalid --threads 0: expected at least 1");
    }
    let opts = RunOptions {
        dir: dir.clone(),
        shard: a.shard.parse::<Shard>()?,
        format: a.format.parse::<Format>()?,
        resume: a.resume,
        group_targets: a.group_targets,
    };
    let m = spec.per_target as u64;
    let plan = Plan::open(spec, opts)?;
    let shard = plan.manifest().shard();
    let range = plan.shard_targets();
    let done = plan.done_targets();
    if done > 0 && !plan.is_complete() {
        eprintln!(
            "resuming {}: {done} of {} targets already done",
            dir.display(),
            range.end - range.start
        );
    }
    let what = if shard.count > 1 {
        format!("shard {shard}")
    } else {
        "simulating".to_string()
    };
    let bar = progress((range.end - range.start) * m, &what);
    bar.set_position(done * m);
    bar.reset_eta();
    let warned = std::sync::atomic::AtomicBool::new(false);
    let on_models = |n: u64| {
        bar.inc(n);
        if cancel.load(Ordering::Relaxed) && !warned.swap(true, Ordering::Relaxed) {
            bar.set_message("interrupted: finishing the current group");
        }
    };
    let on_infeasible = |t: u64, e: &spikepop_dics::Infeasible| {
        bar.suspend(|| eprintln!("warning: target {t} skipped (no rows): {e}"));
    };
    let hooks = Hooks {
        cancel,
        on_models: &on_models,
        on_infeasible: &on_infeasible,
        on_group: &|_| {},
    };
    let outcome = with_threads(a.threads, || plan.execute(&hooks))??;
    bar.finish_and_clear();
    match outcome {
        Outcome::Interrupted {
            done_targets,
            shard_targets,
            simulated,
            elapsed,
        } => {
            bail!(
                "interrupted after {done_targets} of {shard_targets} targets ({simulated} models in {:.1} s); \
                 the folder is consistent: run the same command with --resume to continue",
                elapsed.as_secs_f64()
            )
        }
        Outcome::Complete(r) => {
            if r.simulated == 0 {
                eprintln!("{} is already complete: nothing to do", r.part.display());
            } else {
                eprintln!(
                    "simulated {} models in {:.1} s: {:.1} models/s",
                    r.simulated,
                    r.elapsed.as_secs_f64(),
                    r.models_per_second()
                );
            }
            print_summary(&r.manifest, r.summary(), &r.part.display().to_string());
            Ok(())
        }
    }
}

fn label_counts(counts: &std::collections::BTreeMap<String, u64>, rows: u64) -> String {
    Label::ALL
        .iter()
        .map(|l| {
            let n = counts.get(l.as_str()).copied().unwrap_or(0);
            format!("{l} {n} ({:.1}%)", 100.0 * n as f64 / rows.max(1) as f64)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(m: &Manifest, s: &Summary, file: &str) {
    eprintln!(
        "wrote {} rows ({} model, targets {}..{}, {} per target) to {file}",
        s.rows,
        m.model.to_uppercase(),
        m.shard.first_target,
        m.shard.end_target,
        m.per_target
    );
    eprintln!("labels: {}", label_counts(&s.labels, s.rows));
    eprintln!(
        "reference labels: {}",
        label_counts(&s.labels_reference, s.rows)
    );
    eprintln!("silent fraction: {:.3}", s.silent_fraction());
    if !s.infeasible_targets.is_empty() {
        eprintln!(
            "infeasible targets (no rows): {}",
            s.infeasible_targets.len()
        );
    }
    if s.unstable > 0 {
        eprintln!(
            "warning: {} simulation(s) became non-finite and stopped early (column finite = false); try a smaller --dt",
            s.unstable
        );
    }
}

fn merge(a: MergeArgs) -> Result<()> {
    let m = spikepop_dataset::merge(&a.inputs, &a.output)?;
    let s = m.summary.clone().unwrap_or_default();
    print_summary(&m, &s, &a.output.join(m.part_file()).display().to_string());
    Ok(())
}

fn split(a: SplitArgs) -> Result<()> {
    let m = spikepop_dataset::split(
        &a.data,
        &a.output,
        SplitOptions {
            val: a.val,
            test: a.test,
            seed: a.seed,
        },
    )?;
    let info = m.split.as_ref().ok_or_else(|| anyhow!("split recorded"))?;
    for (name, c) in &info.sets {
        eprintln!(
            "{name}: {} targets, {} rows -> {}",
            c.targets,
            c.rows,
            a.output.join(&c.file).display()
        );
    }
    Ok(())
}
