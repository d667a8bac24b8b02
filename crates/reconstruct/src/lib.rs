//! Verified degenerate populations: the last two stages of the pipeline.
//!
//! Given a recording and a distribution of its DICs (the predictor's mean and sd of g_s and g_u),
//! [`search::reconstruct`] draws candidate conductance vectors over that distribution (crate
//! `spikepop-dics`), simulates each one (crate `spikepop-models`), and keeps those that reproduce the
//! recording ([`verify::verify`]): same firing label and feature distances within documented tolerances.
//! It oversamples until N verified models exist or a budget is spent, and re-centres the DIC distribution
//! on the verified candidates (importance resampling in DIC space) so that a poor first prediction still
//! converges. Everything is deterministic for a seed, whatever the number of threads.
#![deny(missing_docs)]

pub mod files;
pub mod pipeline;
pub mod search;
pub mod settings;
pub mod table;
pub mod verify;

pub use pipeline::{Outcome, PipelineError, Predicted, Priors};
pub use search::{
    Member, Prior, Reconstruction, SearchError, SearchSettings, reconstruct, reconstruct_with_rate,
};
pub use settings::{InvalidSetting, Options, Setting};
pub use verify::{Tolerances, Verdict, isi_distance, verify};
