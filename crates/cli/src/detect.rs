//! `spikepop detect`: spike times from membrane-potential traces (threshold crossings), written in the
//! reference CSV layout that every command reading spike times takes. The work lives in
//! `spikepop_spikes::detect` and `spikepop_spikes::traces`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use spikepop_spikes::SpikeTrain;
use spikepop_spikes::detect::{DetectError, NoSpikes, detect};
use spikepop_spikes::traces::read_traces;

use crate::input::{DetectArgs, UnitArg};
use crate::output::write_atomic;

/// Detect spikes in membrane-potential traces and write their times (`ID,spiking_times`, ms).
#[derive(clap::Args)]
#[command(
    after_help = "Traces: CSV or TSV, either long (a time column t, time, time_ms or time_s; a voltage column V; key \
columns such as ID and model: what `spikepop simulate --traces` writes) or wide (time first, one column per \
trace). Voltages in mV.\n\nA spike is an upward crossing of --threshold; the next one counts only after the \
trace has fallen --hysteresis below it and --refractory ms have passed. --threshold 10 --hysteresis 10 is the \
simulator's own spike rule.\n\nExample:\n  spikepop simulate --model stg --input pop.csv --traces traces.csv \
--trace-every 1 -o spikes.csv\n  spikepop detect --input traces.csv --threshold 10 -o detected.csv"
)]
pub struct Args {
    /// Trace file (CSV or TSV).
    #[arg(short = 'i', long, value_name = "FILE")]
    input: PathBuf,
    #[command(flatten)]
    detect: DetectArgs,
    /// Unit of the time column [default: ms, or s for a time_s column].
    #[arg(long, value_enum)]
    unit: Option<UnitArg>,
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
    let unit = args.unit.map(Into::into).unwrap_or_default();
    let traces = read_traces(&args.input, unit)?;
    let mut trains = Vec::with_capacity(traces.len());
    let mut quiet = Vec::new();
    for tr in &traces {
        let spikes = detect(&tr.t_ms, &tr.v_mv, &opts)
            .map_err(|e| anyhow::anyhow!("{}: trace {}: {e}", args.input.display(), tr.id))?;
        if spikes.is_empty() {
            quiet.push(format!(
                "trace {}: {}",
                tr.id,
                NoSpikes {
                    v_mv: &tr.v_mv,
                    threshold_mv: opts.threshold_mv
                }
            ));
        }
        trains.push(SpikeTrain {
            id: tr.id.clone(),
            times_ms: spikes,
        });
    }
    if quiet.len() == traces.len() {
        bail!(
            "{}: no spike in any trace; {}",
            args.input.display(),
            quiet[..quiet.len().min(3)].join("; ")
        );
    }
    for q in quiet.iter().take(5) {
        eprintln!("warning: {q}");
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
