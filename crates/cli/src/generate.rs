//! `spikepop generate`: populations of conductance vectors that reach target DICs (g_s, g_u), exactly N per
//! target, with every conductance >= 0, reproducibly for a seed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use spikepop_dics::{Generator, GeneratorOptions, SetupError, SolveMode, TargetSpec};

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

/// Reads a targets CSV: `ID,g_s,g_u[,sd_g_s,sd_g_u]`, any column order, extra columns ignored.
fn read_targets(path: &Path) -> Result<Vec<(String, TargetSpec)>> {
    let name = path.display();
    let (mut rdr, headers) = crate::output::open_csv(path, "targets file")?;
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(id_col), Some(gs_col), Some(gu_col)) = (col("ID"), col("g_s"), col("g_u")) else {
        bail!("{name}: line 1: expected the columns ID,g_s,g_u (and optionally sd_g_s,sd_g_u)");
    };
    let (sd_s_col, sd_u_col) = (col("sd_g_s"), col("sd_g_u"));
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{name}: malformed CSV"))?;
        let line = rec.position().map_or(0, |p| p.line());
        let id = rec.get(id_col).unwrap_or("").to_string();
        if id.is_empty() {
            bail!("{name}: line {line}, field ID: empty; expected an identifier");
        }
        if !seen.insert(id.clone()) {
            bail!("{name}: line {line}: duplicate ID {id}; each target needs its own ID");
        }
        let num = |c: Option<usize>, field: &str, sd: bool| -> Result<f64> {
            let Some(c) = c else { return Ok(0.0) };
            let raw = rec.get(c).unwrap_or("");
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() && (!sd || v >= 0.0) => Ok(v),
                _ => Err(anyhow!(
                    "{name}: line {line}, field {field}: `{raw}`; expected a finite number{}",
                    if sd { " >= 0" } else { "" }
                )),
            }
        };
        let t = TargetSpec::gaussian(
            num(Some(gs_col), "g_s", false)?,
            num(Some(gu_col), "g_u", false)?,
            num(sd_s_col, "sd_g_s", true)?,
            num(sd_u_col, "sd_g_u", true)?,
        );
        out.push((id, t));
    }
    if out.is_empty() {
        bail!("{name}: no data rows after the header; expected one target per row");
    }
    Ok(out)
}

/// The command-line flag a setup error is about.
fn flag_of(e: &SetupError) -> &'static str {
    match e {
        SetupError::UnknownChannel { .. }
        | SetupError::DuplicateChannel(_)
        | SetupError::Leak
        | SetupError::PairSize(_)
        | SetupError::SetSize(_)
        | SetupError::UnsolvablePair { .. } => "--pair: ",
        SetupError::BadVoltage(_) => "--vth: ",
        SetupError::EmptyPopulation => "-n: ",
        SetupError::NoAttempts => "--max-attempts: ",
        SetupError::BadTarget { name: "g_s", .. } => "--gs: ",
        SetupError::BadTarget { name: "g_u", .. } => "--gu: ",
        SetupError::BadTarget { name: "sd_g_s", .. } => "--gs-sd: ",
        SetupError::BadTarget { .. } => "--gu-sd: ",
        _ => "",
    }
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let targets: Vec<(String, TargetSpec)> = match &args.targets {
        Some(path) => read_targets(path)?,
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
    write_atomic(&args.output, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["ID", "model"];
        header.extend(model.conductance_names());
        header.extend(["g_f", "g_s", "g_u"]);
        csv.write_record(&header)?;
        let mut rec: Vec<String> = Vec::with_capacity(header.len());
        for ((id, _), pop) in targets.iter().zip(&results) {
            let pop = pop.as_ref().map_err(|e| anyhow!("{e}"))?;
            for (k, (g, d)) in pop.iter().enumerate() {
                rec.clear();
                rec.push(id.clone());
                rec.push(k.to_string());
                rec.extend(g.iter().map(|x| x.to_string()));
                rec.extend([d.g_f, d.g_s, d.g_u].map(|x| x.to_string()));
                csv.write_record(&rec)?;
            }
        }
        csv.flush()?;
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
