//! The spike-train input options shared by every command that reads recordings.

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
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
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Reference => Format::Reference,
            FormatArg::Long => Format::Long,
            FormatArg::Text => Format::Text,
            FormatArg::Phy => Format::Phy,
            FormatArg::Nwb => Format::Nwb,
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
    /// Spike-train file, or Kilosort/phy output folder.
    #[arg(short = 'i', long, value_name = "FILE")]
    pub input: PathBuf,
    /// Input format [default: told from the extension and the CSV header].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Unit of the times in reference, long and text files [default: ms, or the unit named by the table].
    #[arg(long, value_enum)]
    pub unit: Option<UnitArg>,
    /// Sampling rate of a phy folder in Hz [default: sample_rate of params.py].
    #[arg(long, value_name = "HZ")]
    pub rate: Option<f64>,
    /// Phy only: keep the clusters curated as good in cluster_group.tsv.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub only: Option<OnlyArg>,
}

impl InputArgs {
    /// Reads the recordings, printing the reader's warnings on stderr.
    pub fn read(&self) -> Result<Recordings> {
        let opts = ReadOptions {
            format: self.format.map(Format::from),
            unit: self.unit.map(TimeUnit::from),
            rate: self.rate,
            only_good: matches!(self.only, Some(OnlyArg::Good)),
        };
        let recordings = read_trains(&self.input, &opts)?;
        for w in &recordings.warnings {
            eprintln!("warning: {w}");
        }
        Ok(recordings)
    }
}
