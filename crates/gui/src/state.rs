//! What the server holds: the loaded recordings, the state of the run, and its results.
//!
//! One user, one browser tab: the server keeps one loaded file and one set of results at a time, and runs
//! one reconstruction at a time.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use spikepop_models::Model;
use spikepop_reconstruct::{Outcome, SearchSettings};
use spikepop_spikes::detect::DetectOptions;
use spikepop_spikes::features::Features;
use spikepop_spikes::traces::Trace;
use spikepop_spikes::{Format, SpikeTrain};
use tokio::sync::watch;

use crate::error::ApiError;

/// A file the user loaded.
#[derive(Debug)]
pub struct Loaded {
    /// The name of the uploaded file (or `folder (k files)` for a phy folder).
    pub name: String,
    /// The format that was read.
    pub format: Format,
    /// The recordings, in file order.
    pub trains: Vec<SpikeTrain>,
    /// The features of each recording (default classifier), in the same order.
    pub features: Vec<Features>,
    /// What the reader changed or noticed.
    pub warnings: Vec<String>,
    /// A voltage recording's traces and how their spikes were detected (`None` for spike-time files), kept so
    /// that the user can detect again at another threshold without loading the file again.
    pub voltage: Option<Arc<Voltage>>,
}

/// The traces of a loaded voltage recording, one per sweep and channel, in the order of the trains.
#[derive(Debug)]
pub struct Voltage {
    /// The traces (ms, mV), shared by every detection of the same recording.
    pub traces: Arc<Vec<Trace>>,
    /// The detection that gave the loaded trains.
    pub detect: DetectOptions,
}

/// A finished reconstruction.
#[derive(Debug)]
pub struct Results {
    /// The recordings it was run on.
    pub data: Arc<Loaded>,
    /// The model.
    pub model: &'static Model,
    /// The settings of the search.
    pub settings: SearchSettings,
    /// The seed.
    pub seed: u64,
    /// One outcome per recording, in file order.
    pub outcomes: Vec<Outcome>,
}

/// Where the run stands, as the page's progress display reads it (sent as JSON over server-sent events).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunStatus {
    /// No run yet.
    Idle,
    /// Running: `done` of `total` recordings reconstructed.
    Running {
        /// Recordings finished.
        done: usize,
        /// Recordings in the run.
        total: usize,
    },
    /// Finished; the results are ready.
    Done {
        /// Recordings reconstructed.
        recordings: usize,
        /// Verified models over all recordings.
        verified: usize,
        /// Wall time of the run (s).
        seconds: f64,
    },
    /// Stopped by the user's cancel button.
    Cancelled,
    /// The run could not finish.
    Failed {
        /// Why, in words.
        error: String,
    },
}

/// A model the user uploaded (its file and its weights), offered as [`UPLOADED`] in the model list.
#[derive(Clone)]
pub struct Uploaded {
    /// The model read from the file.
    pub model: &'static Model,
    /// Its predictor (weights checked against the model).
    pub predictor: Arc<spikepop_predict::Predictor>,
    /// The model file's name, for the page.
    pub file: String,
}

impl std::fmt::Debug for Uploaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploaded")
            .field("model", &self.model.name)
            .field("file", &self.file)
            .finish()
    }
}

/// The model-list value of the uploaded model.
pub const UPLOADED: &str = "uploaded";

/// The loaded data and the results, behind one lock.
#[derive(Debug, Default)]
pub struct Session {
    /// The loaded file, if any.
    pub data: Option<Arc<Loaded>>,
    /// The results of the last finished run on it, if any.
    pub results: Option<Arc<Results>>,
    /// Whether a run is in progress.
    pub running: bool,
    /// The model the user uploaded, if any.
    pub uploaded: Option<Uploaded>,
}

/// Shared by every request handler.
pub struct AppState {
    session: Mutex<Session>,
    /// The run's status; the page follows it over server-sent events.
    pub status: watch::Sender<RunStatus>,
    /// Set by the cancel button; the running pipeline polls it.
    pub cancel: Arc<AtomicBool>,
    /// Largest upload accepted (bytes).
    pub max_upload_bytes: usize,
}

impl AppState {
    /// A fresh state: nothing loaded, no run.
    pub fn new(max_upload_bytes: usize) -> Arc<Self> {
        Arc::new(AppState {
            session: Mutex::new(Session::default()),
            status: watch::Sender::new(RunStatus::Idle),
            cancel: Arc::new(AtomicBool::new(false)),
            max_upload_bytes,
        })
    }

    /// The session, locked. A lock poisoned by a panic elsewhere is still usable: every update of the
    /// session is a single assignment, so it is never left half-changed.
    pub fn session(&self) -> MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The results of the last run, or a message saying there are none.
    pub fn results(&self) -> Result<Arc<Results>, ApiError> {
        self.session().results.clone().ok_or_else(|| {
            ApiError::missing("No results yet: load a file and run the reconstruction.")
        })
    }

    /// The loaded file, or a message saying there is none.
    pub fn data(&self) -> Result<Arc<Loaded>, ApiError> {
        self.session()
            .data
            .clone()
            .ok_or_else(|| ApiError::missing("No file loaded yet: load a spike file first."))
    }
}
