//! The spike-train input options shared by every command that reads recordings.

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use spikepop_spikes::detect::{DetectOptions, SpikeTime};
use spikepop_spikes::{Format, ReadOptions, Recordings, TimeUnit, read_trains};

/// Input formats, as `--format` spells them.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// CSV with ID and spiking_times = "[t1, t2, ...]" (ms).
    Reference,
    /// CSV/TSV with one spike per row: ID,time.
    Long,
    /// One train per line, times separated by spaces or commas.
    Text,
    /// Kilosort/phy folder (spike_times.npy, spike_clusters.npy, params.py).
    Phy,
    /// NWB file (units table).
    Nwb,
    /// Membrane-potential recordings: Axon ABF 1/2, NWB current clamp, .npy (with --rate), or CSV/TSV (time
    /// and V columns, or time then one column per trace); spikes are detected with --threshold, --hysteresis,
    /// --refractory, --min-slope and --at, in the traces picked by --channel and --sweep.
    Trace,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Reference => Format::Reference,
            FormatArg::Long => Format::Long,
            FormatArg::Text => Format::Text,
            FormatArg::Phy => Format::Phy,
            FormatArg::Nwb => Format::Nwb,
            FormatArg::Trace => Format::Trace,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum UnitArg {
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

impl From<UnitArg> for TimeUnit {
    fn from(u: UnitArg) -> TimeUnit {
        match u {
            UnitArg::Ms => TimeUnit::Ms,
            UnitArg::S => TimeUnit::S,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnlyArg {
    /// Clusters marked good in cluster_group.tsv.
    Good,
}

/// Where the recordings come from and how to read them.
#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// Spike-train file, voltage recording (.abf, .nwb, .npy, CSV/TSV traces), or Kilosort/phy output folder.
    #[arg(short = 'i', long, value_name = "FILE")]
    pub input: PathBuf,
    /// Input format [default: told from the extension and the CSV header].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Unit of the times in reference, long and text files [default: ms, or the unit named by the table].
    #[arg(long, value_enum)]
    pub unit: Option<UnitArg>,
    /// Sampling rate of a phy folder [default: sample_rate of params.py] or of .npy voltage traces, in Hz.
    #[arg(long, value_name = "HZ")]
    pub rate: Option<f64>,
    /// Phy only: keep the clusters curated as good in cluster_group.tsv.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub only: Option<OnlyArg>,
    #[command(flatten)]
    pub detect: DetectArgs,
}

/// How spikes are detected in voltage traces (`--format trace`, and `spikepop detect`).
#[derive(clap::Args, Debug, Default)]
pub struct DetectArgs {
    /// Traces only: the threshold whose upward crossing is a spike (mV) [default: 0].
    #[arg(long, value_name = "MV", allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Traces only: how far below the threshold the trace must fall before the next spike (mV) [default: 10].
    #[arg(long, value_name = "MV", allow_negative_numbers = true)]
    pub hysteresis: Option<f64>,
    /// Traces only: shortest interval between two spikes (ms) [default: 1].
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub refractory: Option<f64>,
    /// Traces only: smallest dV/dt at the crossing (mV/ms); leaves out slow depolarisations.
    #[arg(long, value_name = "MV_PER_MS", allow_negative_numbers = true)]
    pub min_slope: Option<f64>,
    /// Traces only: where the spike time is taken: the interpolated crossing, or the peak [default: crossing].
    #[arg(long, value_name = "AT")]
    pub at: Option<SpikeTime>,
    /// Voltage recordings only: one channel (an ABF channel's name or 0-based index, an NWB series, a text
    /// file's trace, a .npy column) [default: every voltage channel].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Voltage recordings only: one sweep of an ABF or NWB file, numbered from 0 [default: every sweep].
    #[arg(long, value_name = "S")]
    pub sweep: Option<u32>,
}

impl DetectArgs {
    /// The detection options, the defaults where a flag is not given.
    pub fn options(&self) -> DetectOptions {
        let d = DetectOptions::default();
        DetectOptions {
            threshold_mv: self.threshold.unwrap_or(d.threshold_mv),
            hysteresis_mv: self.hysteresis.unwrap_or(d.hysteresis_mv),
            refractory_ms: self.refractory.unwrap_or(d.refractory_ms),
            min_slope: self.min_slope,
            time: self.at.unwrap_or(d.time),
        }
    }
}

impl InputArgs {
    /// Reads the recordings, printing the reader's warnings on stderr.
    pub fn read(&self) -> Result<Recordings> {
        let opts = ReadOptions {
            format: self.format.map(Format::from),
            unit: self.unit.map(TimeUnit::from),
            rate: self.rate,
            only_good: matches!(self.only, Some(OnlyArg::Good)),
            detect: self.detect.options(),
            channel: self.detect.channel.clone(),
            sweep: self.detect.sweep,
        };
        let recordings = read_trains(&self.input, &opts)?;
        for w in &recordings.warnings {
            eprintln!("warning: {w}");
        }
        Ok(recordings)
    }
}
