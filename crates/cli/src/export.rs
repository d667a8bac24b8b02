//! `spikepop export`: a population written for another simulator (NEURON, Brian2).

use std::path::PathBuf;

use anyhow::Result;
use spikepop_export::{Format, Population};
use spikepop_reconstruct::table::PopulationTable;

use crate::output::model_by_name;

/// Write the members of a population file for another simulator: NEURON (NMODL and a Python script) or
/// Brian2 (a Python script), with a README that states the conventions (docs/interop.md).
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file.
    #[arg(long)]
    model: String,
    /// Population CSV: `ID`, optional `model` (a member of a `reconstruct` population is then `ID/model`),
    /// one column per conductance (`g_Na`, ...), as `generate`, `reconstruct` and `simulate` use.
    #[arg(long)]
    input: PathBuf,
    /// Target simulator.
    #[arg(long, value_parser = ["neuron", "brian2"])]
    format: String,
    /// Output folder (written whole, or not at all; an existing folder is replaced).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let format: Format = args.format.parse()?;
    let table = PopulationTable::read(&args.input, model)?;
    let ids: Vec<String> = match &table.members {
        Some(m) => table
            .ids
            .iter()
            .zip(m)
            .map(|(id, k)| format!("{id}/{k}"))
            .collect(),
        None => table.ids.clone(),
    };
    let files = spikepop_export::files(
        model,
        Population {
            ids: &ids,
            g: &table.g,
        },
        format,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    spikepop_export::write(&args.output, &files)?;
    eprintln!(
        "wrote {} members of the {} model for {format} to {} ({}); see its README.md",
        ids.len(),
        model.name,
        args.output.display(),
        files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
