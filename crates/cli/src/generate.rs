//! `spikepop generate`: populations of conductance vectors that reach target DICs (g_s, g_u), exactly N per
//! target, with every conductance >= 0, reproducibly for a seed.

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use spikepop_dics::{Generator, GeneratorOptions, SetupError, SolveMode, TargetSpec};
use spikepop_reconstruct::table;

use crate::output::{model_by_name, with_threads, write_atomic};

/// Generate populations of models whose slow and ultraslow DICs reach given targets.
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Target slow DIC g_s (dimensionless, divided by g_leak).
    #[arg(
        long,
        allow_negative_numbers = true,
        required_unless_present = "targets",
        conflicts_with = "targets"
    )]
    gs: Option<f64>,
    /// Target ultraslow DIC g_u.
    #[arg(
        long,
        allow_negative_numbers = true,
        required_unless_present = "targets",
        conflicts_with = "targets"
    )]
    gu: Option<f64>,
    /// Standard deviation of the g_s target: each model draws its own g_s from a Gaussian.
    #[arg(
        long = "gs-sd",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        conflicts_with = "targets"
    )]
    gs_sd: f64,
    /// Standard deviation of the g_u target.
    #[arg(
        long = "gu-sd",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        conflicts_with = "targets"
    )]
    gu_sd: f64,
    /// The `ID` written for the single-target form.
    #[arg(long, default_value = "0", conflicts_with = "targets")]
    id: String,
    /// Many targets at once: a CSV with columns `ID,g_s,g_u` and optionally `sd_g_s,sd_g_u`.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// The two channels compensated, e.g. `A,H` (default: the reference's choice per target:
    /// STG g_u < 0 -> CaS,A, g_s < 0 -> CaS,H, else A,H; DA g_s < 0 -> ERG,CaL, else ERG,Kd).
    #[arg(long, value_delimiter = ',')]
    pair: Option<Vec<String>>,
    /// Models per target.
    #[arg(short = 'n', long = "size", default_value_t = 16)]
    n: usize,
    /// Random seed; the output depends on it alone (not on --threads).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threshold voltage (mV) at which the DICs are targeted (default: the model's, STG -51, DA -55.5).
    #[arg(long, allow_negative_numbers = true)]
    vth: Option<f64>,
    /// Seeds a model may try before its target is declared unreachable.
    #[arg(long, default_value_t = 1000)]
    max_attempts: u32,
    /// Solve the calcium coupling with the reference's fixed-point schedule of this many iterations (5 in
    /// the reference: 6 solves) instead of to convergence; such models reach their targets only roughly.
    #[arg(long)]
    reference_iterations: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output population CSV: `ID,model,g_...,g_leak,g_f,g_s,g_u` (the columns `spikepop simulate` reads).
    #[arg(short, long)]
    output: PathBuf,
}

/// The command-line flag a setup error is about.
fn flag_of(e: &SetupError) -> &'static str {
    match e.setting() {
        Some("pair") => "--pair: ",
        Some("vth") => "--vth: ",
        Some("n") => "-n: ",
        Some("max_attempts") => "--max-attempts: ",
        Some("g_s") => "--gs: ",
        Some("g_u") => "--gu: ",
        Some("sd_g_s") => "--gs-sd: ",
        Some("sd_g_u") => "--gu-sd: ",
        _ => "",
    }
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let targets: Vec<(String, TargetSpec)> = match &args.targets {
        Some(path) => table::read_targets(path)?,
        None => {
            let (Some(gs), Some(gu)) = (args.gs, args.gu) else {
                bail!("give --gs and --gu, or --targets FILE");
            };
            vec![(
                args.id.clone(),
                TargetSpec::gaussian(gs, gu, args.gs_sd, args.gu_sd),
            )]
        }
    };
    let setup = |e: SetupError| {
        let flag = match (&e, &args.targets) {
            (SetupError::BadTarget { .. }, Some(_)) => "",
            _ => flag_of(&e),
        };
        anyhow!("{flag}{e}")
    };
    let opts = GeneratorOptions {
        vth: args.vth,
        pair: args.pair.clone(),
        mode: args
            .reference_iterations
            .map_or(SolveMode::converged(), SolveMode::reference_schedule),
        seed: args.seed,
        max_attempts: args.max_attempts,
    };
    if args.n == 0 {
        return Err(setup(SetupError::EmptyPopulation));
    }
    for (_, t) in &targets {
        t.validate().map_err(setup)?;
    }
    let generator = Generator::new(model, &opts).map_err(setup)?;
    let specs: Vec<TargetSpec> = targets.iter().map(|(_, t)| *t).collect();
    let results =
        with_threads(args.threads, || generator.generate(&specs, args.n))?.map_err(setup)?;
    let failed: Vec<String> = targets
        .iter()
        .zip(&results)
        .filter_map(|((id, _), r)| r.as_ref().err().map(|e| format!("ID {id}: {e}")))
        .collect();
    if !failed.is_empty() {
        let more = if failed.len() > 3 {
            format!(" (and {} more targets)", failed.len() - 3)
        } else {
            String::new()
        };
        bail!(
            "{}{more}; no output was written",
            failed[..failed.len().min(3)].join("; ")
        );
    }
    let total: usize = results
        .iter()
        .map(|r| r.as_ref().map_or(0, |p| p.len()))
        .sum();
    let pops: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
    let ids: Vec<String> = targets.iter().map(|(id, _)| id.clone()).collect();
    write_atomic(&args.output, |w| {
        table::write_generated(w, model, &ids, &pops)?;
        Ok(())
    })?;
    eprintln!(
        "generated {total} {} models ({} per target, {} target(s)) into {}",
        model.name.to_uppercase(),
        args.n,
        targets.len(),
        args.output.display()
    );
    Ok(())
}
