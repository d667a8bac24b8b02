//! # spikepop-dataset: training data at scale
//!
//! Makes the data a DIC predictor learns from: N (g_s, g_u) targets by Latin hypercube over a model's training
//! range, M models per target from the population generator (`spikepop-dics`), each simulated (`spikepop-models`)
//! and measured (`spikepop-spikes`), one row per model, stored as Parquet (spike times as `list<double>`) or in
//! the reference's CSV layout.
//!
//! - [`Plan`]: one run, or shard `I/K` of one ([`Shard`]). Rows are a pure function of the [`Spec`]: target i,
//!   its models and their noise depend on the seed and on i alone, so shards, threads, group sizes and
//!   interruptions never change a row. Written group by group (crash-safe), resumable ([`RunOptions::resume`]).
//! - [`merge()`]: shards into the dataset the unsharded run writes, row for row.
//! - [`split()`]: train/validation/test files by target (never one target's models in two sets), seeded.
//! - [`Source`] / [`Sink`] / [`read_rows`]: the file formats; [`Row`] and the columns in [`row`].
//!
//! Folder layout, columns and the Slurm recipe: `docs/dataset.md`.
#![deny(missing_docs)]

pub mod error;
pub mod manifest;
pub mod merge;
pub mod row;
pub mod run;
pub mod spec;
pub mod store;
pub mod targets;

pub use error::{Error, Result};
pub use manifest::{MANIFEST, Manifest, Summary};
pub use merge::{SplitOptions, merge, split};
pub use row::{Layout, Row};
pub use run::{Hooks, Outcome, Plan, Report, RunOptions};
pub use spec::{Format, Shard, Spec, check_range, parse_range, training_range};
pub use store::{Sink, Source, read_rows};
pub use targets::latin_hypercube;
