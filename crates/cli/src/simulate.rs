//! `spikepop simulate`: spike times (and optionally voltage traces) of every model of a population file.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_models::sim::{Settings, simulate_batch};
use spikepop_reconstruct::table::{self, PopulationTable};

use crate::output::{
    cancel_flag, check_interrupted, model_by_name, progress, with_threads, write_atomic,
};

/// Simulate every model of a population file and write its spike times.
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Population CSV: `ID`, optional `model`, one column per conductance (`g_Na`, ...).
    #[arg(long)]
    input: PathBuf,
    /// Output CSV: `ID,[model,]n_spikes,spiking_times` with spike times in absolute ms.
    #[arg(short, long)]
    output: PathBuf,
    /// Simulated time (ms); default: the model's (STG 6000, DA 12000).
    #[arg(long, allow_negative_numbers = true)]
    duration: Option<f64>,
    /// Initial time dropped from the output (ms); default: the model's (3000 for STG and DA).
    #[arg(long, allow_negative_numbers = true)]
    transient: Option<f64>,
    /// Integration step (ms). See docs/simulator.md for the accuracy of each step.
    /// [default: the model's step, 0.05 for STG and DA]
    #[arg(long, allow_negative_numbers = true)]
    dt: Option<f64>,
    /// Standard deviation of the injected current noise before its 1 kHz low-pass (uA/cm^2).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    noise: f64,
    /// Seed of the current noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Also write voltage traces to this CSV (`ID,[model,]t,V`, after the transient).
    #[arg(long)]
    traces: Option<PathBuf>,
    /// Keep one trace sample every this many steps.
    #[arg(long, default_value_t = 20)]
    trace_every: usize,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let settings = Settings {
        dt: args.dt.unwrap_or(model.default_dt),
        duration: args.duration.unwrap_or(model.default_duration),
        transient: args.transient.unwrap_or(model.default_transient),
        noise_sigma: args.noise,
        seed: args.seed,
        trace_every: args.traces.as_ref().map(|_| args.trace_every),
    };
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("--{}", e.to_string().trim_start_matches("invalid ")))?;
    let pop = PopulationTable::read(&args.input, model)?;
    let cancel = cancel_flag();
    let bar = progress(pop.len() as u64, "simulating");
    let out = with_threads(args.threads, || {
        simulate_batch(model, &pop.g, &settings, cancel, || bar.inc(1))
    })??;
    bar.finish_and_clear();
    check_interrupted()?;
    let unstable: Vec<&str> = out
        .iter()
        .zip(&pop.ids)
        .filter(|(o, _)| !o.finite)
        .map(|(_, id)| id.as_str())
        .collect();
    if !unstable.is_empty() {
        eprintln!(
            "warning: {} model(s) became numerically unstable and stopped early (IDs {}); try a smaller --dt",
            unstable.len(),
            unstable.join(", ")
        );
    }
    write_atomic(&args.output, |w| {
        table::write_spikes(w, &pop, &out)?;
        Ok(())
    })?;
    if let Some(path) = &args.traces {
        write_atomic(path, |w| {
            table::write_traces(w, &pop, &out)?;
            Ok(())
        })?;
    }
    eprintln!(
        "simulated {} models of {} into {}",
        out.len(),
        args.input.display(),
        args.output.display()
    );
    Ok(())
}
