//! The `spikepop` command line: argument parsing and glue only; the work lives in the library crates.

mod calibrate;
mod dataset;
mod detect;
mod dics_cmd;
mod evaluate;
mod export;
mod features;
mod generate;
mod gui;
mod input;
mod model_cmd;
mod output;
mod predict;
mod reconstruct;
mod simulate;
mod synth;
mod train;

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
    /// Detect spikes in membrane-potential traces (threshold crossings) and write their times.
    Detect(detect::Args),
    /// Measure every spike train of a file: counts, rates, ISI statistics, bursts and a firing label.
    Features(features::Args),
    /// Make synthetic spike trains (tonic, bursting, Poisson, irregular) for tests and demos.
    Synth(synth::Args),
    /// Threshold voltage and DICs (g_f, g_s, g_u, g_t) of every model of a population file.
    Dics(dics_cmd::Args),
    /// Populations of models that reach target DICs (g_s, g_u): exactly N per target, reproducible.
    Generate(generate::Args),
    /// Training data at scale: targets, populations, simulations and features; sharded, resumable.
    Dataset(dataset::Args),
    /// Train the DIC predictor (g_s, g_u with an sd, and the label) on a dataset; checkpoints, --resume.
    Train(train::Args),
    /// Refit the DIC predictor's sd calibration on other data with known DICs (the network is unchanged).
    Calibrate(calibrate::Args),
    /// The DIC predictor's error table on a test set with known DICs.
    Evaluate(evaluate::Args),
    /// Predict the DICs (mean and sd) and label probabilities of every spike train of a file.
    Predict(predict::Args),
    /// From spike times to a verified degenerate population per recording: predict, generate, simulate, verify.
    Reconstruct(reconstruct::Args),
    /// Write a population for another simulator: NEURON (NMODL mechanisms), Brian2 or NeuroML 2, with a README.
    Export(export::Args),
    /// The graphical interface: a local web page from spike file to exported, verified population.
    Gui(gui::Args),
    /// Model files: list the built-in models, print one (`model show stg`), check your own.
    Model(model_cmd::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Features(args) => features::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Dics(args) => dics_cmd::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Dataset(args) => dataset::run(args),
        Command::Train(args) => train::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Reconstruct(args) => reconstruct::run(args),
        Command::Export(args) => export::run(args),
        Command::Gui(args) => gui::run(args),
        Command::Model(args) => model_cmd::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
