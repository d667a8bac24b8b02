//! The `spikepop` command line: argument parsing and glue only; the work lives in the library crates.

mod dics_cmd;
mod features;
mod generate;
mod output;
mod population;
mod simulate;
mod synth;

use clap::{Parser, Subcommand};

/// spikepop: from recorded spike times to populations of conductance-based neuron models.
#[derive(Parser)]
#[command(name = "spikepop", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate every model of a population file and write its spike times (and voltage traces).
    Simulate(simulate::Args),
    /// Measure every spike train of a file: counts, rates, ISI statistics, bursts and a firing label.
    Features(features::Args),
    /// Make synthetic spike trains (tonic, bursting, Poisson, irregular) for tests and demos.
    Synth(synth::Args),
    /// Threshold voltage and DICs (g_f, g_s, g_u, g_t) of every model of a population file.
    Dics(dics_cmd::Args),
    /// Populations of models that reach target DICs (g_s, g_u): exactly N per target, reproducible.
    Generate(generate::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Features(args) => features::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Dics(args) => dics_cmd::run(args),
        Command::Generate(args) => generate::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
