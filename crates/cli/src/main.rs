//! The `spikepop` command line: argument parsing and glue only; the work lives in the library crates.

mod output;
mod features;
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
    /// Measure every spike train of a file: counts, rates, ISI statistics, bursts and a firing label.
    Features(features::Args),
    /// Make synthetic spike trains (tonic, bursting, Poisson, irregular) for tests and demos.
    Synth(synth::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Features(args) => features::run(args),
        Command::Synth(args) => synth::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
