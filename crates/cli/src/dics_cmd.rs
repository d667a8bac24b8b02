//! `spikepop dics`: the threshold voltage and the DICs (g_f, g_s, g_u, g_t) of every model of a population
//! file.

use std::path::PathBuf;

use anyhow::Result;
use spikepop_reconstruct::table::{self, PopulationTable, TableError, Vth};

use crate::output::{model_by_name, with_threads, write_atomic};

/// Compute the threshold voltage and the DICs of every model of a population file.
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Population CSV: `ID`, optional `model`, one column per conductance (`g_Na`, ...).
    #[arg(long)]
    input: PathBuf,
    /// Output CSV: `ID,[model,]V_th,g_f,g_s,g_u,g_t`; the DICs are dimensionless (divided by g_leak).
    #[arg(short, long)]
    output: PathBuf,
    /// Voltage (mV) at which the DICs are evaluated, or `auto` for each model's first downward zero
    /// crossing of g_t on [-90, 0] mV (NaN when there is none). Default: the model's V_th (STG -51, DA -55.5).
    #[arg(long, allow_negative_numbers = true)]
    vth: Option<Vth>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let pop = PopulationTable::read(&args.input, model)?;
    let vth = args.vth.unwrap_or(Vth::Fixed(model.default_vth));
    let rows =
        with_threads(args.threads, || table::dics(model, &pop, vth))?.map_err(|e| TableError {
            file: Some(args.input.clone()),
            ..e
        })?;
    let missing = rows.iter().filter(|(v, _)| v.is_nan()).count();
    write_atomic(&args.output, |w| {
        table::write_dics(w, &pop, &rows)?;
        Ok(())
    })?;
    if missing > 0 {
        eprintln!(
            "warning: {missing} model(s) have no downward zero crossing of g_t on [-90, 0] mV; their V_th and DICs are NaN"
        );
    }
    eprintln!(
        "computed the DICs of {} models of {} into {}",
        rows.len(),
        args.input.display(),
        args.output.display()
    );
    Ok(())
}
