//! # spikepop-spikes: spike trains in, firing-pattern features out
//!
//! The first stage of the spikepop pipeline. It reads recorded spike times from the formats experimentalists
//! keep them in, checks and normalises them, and describes each train with features a physiologist recognises.
//! It does not simulate anything and knows nothing of models or conductances.
//!
//! - **Reading** ([`read_trains`]): the reference CSV (`ID`, `spiking_times` = `"[t1, t2, ...]"`), long CSV/TSV
//!   tables (`ID,time`), text files (one train per line), Kilosort/phy folders (`spike_times.npy`,
//!   `spike_clusters.npy`, `params.py`, `cluster_group.tsv`) and, with the cargo feature `nwb`, NWB files (the
//!   `units` table). The format is told by the extension and header or given in [`ReadOptions`].
//!
//!   *Guarantees*: every returned train is in ms, sorted, without exact duplicates, with finite non-negative
//!   times; IDs are text exactly as in the file (never parsed as numbers). What was changed (sorting, removed
//!   duplicates, missing IDs) comes back as warnings in [`Recordings`]; what cannot be read is a [`ReadError`]
//!   whose message names the file, the row, line or element, and what was expected.
//! - **Features** ([`features`]): counts, rates, ISI statistics (CV, CV2, LV), bursts (spikes per burst,
//!   duration, intra- and inter-burst frequency, duty cycle) and a [`features::Label`] from one of two
//!   [`features::Classifier`]s: the reference application's rule (reproduced exactly, spec `models.md` §4) or a
//!   default that also recognises irregular firing. Features that do not apply are NaN, never 0.
//! - **The `"[t1, t2, ...]"` string** ([`format_train`], [`parse_train`]): the one place that writes and
//!   parses it; writing round-trips every `f64` exactly.
//! - **Synthetic trains** ([`synth`]): tonic, bursting, Poisson and irregular trains with jitter and missing
//!   spikes, seeded and reproducible.
//!
//! ```
//! use spikepop_spikes::features::{Classifier, Features, Label};
//! let tonic: Vec<f64> = (0..20).map(|i| 5.0 + 100.0 * i as f64).collect();
//! let f = Features::of(&tonic, &Classifier::Default);
//! assert_eq!(f.label, Label::Tonic);
//! assert!((f.mean_rate_hz - 10.0).abs() < 1e-9);
//! assert!(f.spikes_per_burst.is_nan());
//! ```
//!
//! Definitions of every feature and the exact layout of every format: `docs/features.md`.

#![deny(missing_docs)]

pub mod atomic;
pub mod detect;
mod error;
pub mod features;
#[cfg(feature = "nwb")]
mod h5;
mod read;
pub mod stats;
pub mod synth;
pub mod traces;
mod train;

pub use error::{Location, ReadError, TrainParseError};
pub use read::{
    Format, ReadOptions, Recordings, SpikeTrain, TimeUnit, guess_format, read_recording,
    read_trains, spikes_of_traces,
};
pub use train::{format_train, parse_train, write_reference_csv};
