//! `spikepop export`: a population written for another simulator (NEURON, Brian2, NeuroML).

use std::path::{Path, PathBuf};

use anyhow::Result;
use spikepop_export::{Format, Population};
use spikepop_models::Model;
use spikepop_reconstruct::table::PopulationTable;

use crate::output::model_by_name;

/// Write the members of a population file for another simulator: NEURON (NMODL and a Python script),
/// Brian2 (a Python script) or NeuroML 2 (cells, channels and a LEMS simulation), with a README that states
/// the conventions (docs/interop.md).
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
    #[arg(long, value_parser = ["neuron", "brian2", "neuroml"])]
    format: String,
    /// Output folder (written whole, or not at all; an existing folder is replaced).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let format: Format = args.format.parse()?;
    let (n, files) = export_file(model, &args.input, format, &args.output)?;
    eprintln!(
        "wrote {n} members of the {} model for {format} to {} ({}); see its README.md",
        model.name,
        args.output.display(),
        files.join(", ")
    );
    Ok(())
}

/// Exports the population file `input` of `model` for `format` into the folder `out`: the number of members
/// and the names of the files written.
pub fn export_file(
    model: &Model,
    input: &Path,
    format: Format,
    out: &Path,
) -> Result<(usize, Vec<String>)> {
    let table = PopulationTable::read(input, model)?;
    export_members(
        model,
        &table.ids,
        table.members.as_deref(),
        &table.g,
        format,
        out,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))
}

/// Exports the members given as the columns of a population table (`ID`, optional `model`, conductance rows)
/// for `format` into the folder `out`: the number of members and the names of the files written.
pub fn export_members(
    model: &Model,
    ids: &[String],
    members: Option<&[String]>,
    g: &[Vec<f64>],
    format: Format,
    out: &Path,
) -> Result<(usize, Vec<String>), spikepop_export::ExportError> {
    let ids = spikepop_export::member_names(ids, members);
    let files = spikepop_export::files(model, Population { ids: &ids, g }, format)?;
    spikepop_export::write(out, &files)?;
    Ok((ids.len(), files.into_iter().map(|f| f.name).collect()))
}
