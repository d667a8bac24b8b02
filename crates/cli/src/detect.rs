//! `spikepop detect`: spike times from membrane-potential traces (threshold crossings), written in the
//! reference CSV layout that every command reading spike times takes. The work is the trace reader of
//! `spikepop_spikes::read_trains` (`spikepop_spikes::traces`, `spikepop_spikes::detect`).

use std::path::PathBuf;

use anyhow::{Result, bail};
use spikepop_spikes::detect::DetectError;
use spikepop_spikes::{Format, ReadOptions, read_trains};

use crate::input::{DetectArgs, UnitArg};
use crate::output::write_atomic;

/// Detect spikes in membrane-potential traces and write their times (`ID,spiking_times`, ms).
#[derive(clap::Args)]
#[command(
    after_help = "Recordings: Axon ABF 1 and 2 (.abf: every sweep of every voltage channel, times from the sweep's \
start), NWB current clamp (.nwb: the CurrentClampSeries of /acquisition; a build with --features spikepop/nwb), \
numpy arrays of mV (.npy, one trace or one column per trace, with --rate), or CSV/TSV, either long (a time \
column t, time, time_ms or time_s; a voltage column V; key columns such as ID and model: what `spikepop \
simulate --traces` writes) or wide (time first, one column per trace). --channel and --sweep pick one channel \
or sweep. Voltages in mV (ABF and NWB converted from their units).\n\nA spike is an upward crossing of --threshold; the next one counts only after the \
trace has fallen --hysteresis below it and --refractory ms have passed. --threshold 10 --hysteresis 10 is the \
simulator's own spike rule.\n\nExample:\n  spikepop simulate --model stg --input pop.csv --traces traces.csv \
--trace-every 1 -o spikes.csv\n  spikepop detect --input traces.csv --threshold 10 -o detected.csv"
)]
pub struct Args {
    /// Voltage recording: .abf, .nwb, .npy, or CSV/TSV traces.
    #[arg(short = 'i', long, value_name = "FILE")]
    input: PathBuf,
    #[command(flatten)]
    detect: DetectArgs,
    /// Unit of the time column [default: ms, or s for a time_s column].
    #[arg(long, value_enum)]
    unit: Option<UnitArg>,
    /// Sampling rate of a .npy array of voltages, in Hz.
    #[arg(long, value_name = "HZ")]
    rate: Option<f64>,
    /// Spike-time CSV to write (the reference layout).
    #[arg(short, long, value_name = "SPIKES.csv")]
    output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let opts = args.detect.options();
    opts.check().map_err(|e| match &e {
        DetectError::Option { setting, .. } => {
            anyhow::anyhow!("invalid --{} {e}", setting.name().replace('_', "-"))
        }
        _ => anyhow::anyhow!("{e}"),
    })?;
    let rec = read_trains(
        &args.input,
        &ReadOptions {
            format: Some(Format::Trace),
            unit: args.unit.map(Into::into),
            rate: args.rate,
            detect: opts,
            channel: args.detect.channel.clone(),
            sweep: args.detect.sweep,
            ..ReadOptions::default()
        },
    )?;
    let trains = rec.trains;
    // The reader warns about each trace without spikes (its range and a threshold to try).
    if trains.iter().all(|t| t.times_ms.is_empty()) {
        bail!(
            "{}: no spike in any trace; {}",
            args.input.display(),
            rec.warnings[..rec.warnings.len().min(3)].join("; ")
        );
    }
    for w in &rec.warnings {
        eprintln!("warning: {w}");
    }
    write_atomic(&args.output, |w| {
        spikepop_spikes::write_reference_csv(w, &trains)?;
        Ok(())
    })?;
    let n: usize = trains.iter().map(|t| t.times_ms.len()).sum();
    eprintln!(
        "detected {n} spikes in {} traces into {}",
        trains.len(),
        args.output.display()
    );
    Ok(())
}
