//! The files of a reconstruction that every front end reads or writes the same way: the DIC distributions
//! per recording (`--prior`, the CSV that `spikepop predict` writes), `run.json` (every setting, to repeat a
//! run) and the output folder (`population.csv`, `summary.csv`, `run.json`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use spikepop_models::Model;

use crate::pipeline::{self, Outcome};
use crate::search::{Prior, SearchSettings};
use crate::table::{self, TableError};

/// The columns a DIC distribution file must have.
pub const PRIOR_COLUMNS: [&str; 5] = ["ID", "g_s", "sd_g_s", "g_u", "sd_g_u"];

/// Reads the DIC distribution of every recording from a CSV with `ID,g_s,sd_g_s,g_u,sd_g_u` (more columns
/// are ignored); a row whose four values are all empty marks a silent recording (`None`).
pub fn read_priors(path: &Path) -> Result<HashMap<String, Option<Prior>>, TableError> {
    let located = table::located(path);
    let err = |line: u64, problem: String| located(line, None, problem);
    let (mut rdr, h) = table::open_table(path, "DIC file")?;
    let mut cols = [0; 5];
    for (c, name) in cols.iter_mut().zip(PRIOR_COLUMNS) {
        *c = h.iter().position(|x| x == name).ok_or_else(|| {
            err(
                1,
                format!("no `{name}` column; expected {}", PRIOR_COLUMNS.join(",")),
            )
        })?;
    }
    let mut out = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| table::malformed(path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let id = rec[cols[0]].to_string();
        let fields: Vec<&str> = cols[1..]
            .iter()
            .map(|&c| rec.get(c).unwrap_or("").trim())
            .collect();
        let prior = if fields.iter().all(|f| f.is_empty()) {
            None
        } else {
            let mut v = [0.0; 4];
            for (k, (f, what)) in fields.iter().zip(&PRIOR_COLUMNS[1..]).enumerate() {
                v[k] = f
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        err(
                            line,
                            format!("field {what}: `{f}`; expected a finite number"),
                        )
                    })?;
            }
            if v[1] < 0.0 || v[3] < 0.0 {
                return Err(err(
                    line,
                    "a standard deviation is negative; expected sd >= 0".into(),
                ));
            }
            Some(Prior {
                g_s: v[0],
                sd_g_s: v[1],
                g_u: v[2],
                sd_g_u: v[3],
            })
        };
        if out.insert(id.clone(), prior).is_some() {
            return Err(err(line, format!("duplicate ID {id}")));
        }
    }
    Ok(out)
}

/// Where the DIC distributions of a run came from.
#[derive(Clone, Debug, PartialEq)]
pub enum PriorSource {
    /// A predictor: its weights (`built-in stg` or the file) and their SHA-256.
    Weights {
        /// `built-in <model>` or the weights file.
        name: String,
        /// SHA-256 of the weights.
        sha256: String,
    },
    /// A DIC distribution file.
    File(String),
}

/// What `run.json` records: the version, the model, the input, where the DICs came from, the seed and every
/// setting, so that the run can be repeated exactly; for voltage traces (`detection`, given when the input was
/// read with [`spikepop_spikes::Format::Trace`]), how their spikes were detected.
pub fn run_record(
    model: &Model,
    input: &str,
    format: &str,
    detection: Option<&spikepop_spikes::detect::DetectOptions>,
    prior: &PriorSource,
    seed: u64,
    settings: &SearchSettings,
) -> serde_json::Value {
    let prior = match prior {
        PriorSource::Weights { name, sha256 } => {
            serde_json::json!({ "weights": name, "weights_sha256": sha256 })
        }
        PriorSource::File(f) => serde_json::json!({ "file": f }),
    };
    let mut record = serde_json::json!({
        "spikepop": env!("CARGO_PKG_VERSION"),
        "command": "reconstruct",
        "model": model.name,
        "input": input,
        "format": format,
        "prior": prior,
        "seed": seed,
        "n": settings.n,
        "max_candidates": settings.max_candidates,
        "verify": settings.verify,
        "refine_rounds": settings.refine_rounds,
        "tonic_spread": settings.tonic_spread,
        "tonic_tries": settings.tonic_tries,
        "tonic_rate_share": settings.tonic_rate_share,
        "bursting_spread": settings.bursting_spread,
        "tolerances": {
            "rate": settings.tolerances.rate,
            "period": settings.tolerances.period,
            "spikes_per_burst": settings.tolerances.spikes_per_burst,
            "burst_duration": settings.tolerances.burst_duration,
        },
        "simulation": {
            "dt": settings.sim.dt,
            "noise": settings.sim.noise_sigma,
            "transient": settings.sim.transient,
            "min_window": settings.min_window,
        },
        "vth": model.default_vth,
    });
    if let Some(d) = detection {
        record["detection"] = serde_json::json!({
            "threshold_mv": d.threshold_mv,
            "hysteresis_mv": d.hysteresis_mv,
            "refractory_ms": d.refractory_ms,
            "min_slope": d.min_slope,
            "at": d.time.as_str(),
        });
    }
    record
}

/// Why an output folder cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The folder exists and holds something other than an earlier reconstruction.
    #[error("{}: exists and is not an earlier reconstruction", .0.display())]
    NotAReconstruction(PathBuf),
    /// The folder's parent cannot be created.
    #[error("cannot create the folder {}: {source}", path.display())]
    CreateParent {
        /// The parent folder.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write the outputs for {}: {source}", path.display())]
    Write {
        /// The output folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The folder could not be moved into place.
    #[error(transparent)]
    Atomic(#[from] spikepop_spikes::atomic::AtomicWriteError),
}

/// Checks that `out` may be written (absent, empty, or an earlier reconstruction: it holds a `run.json`)
/// and creates its parent folder.
pub fn prepare_output(out: &Path) -> Result<(), OutputError> {
    if out.exists() {
        let empty = out
            .read_dir()
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !(empty || out.join("run.json").exists()) {
            return Err(OutputError::NotAReconstruction(out.to_path_buf()));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| OutputError::CreateParent {
        path: parent.clone(),
        source,
    })
}

/// The three files of a reconstruction, as bytes: what [`Rendered::save`] writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `population.csv`.
    pub population: Vec<u8>,
    /// `summary.csv`.
    pub summary: Vec<u8>,
    /// `run.json`.
    pub run: Vec<u8>,
}

impl Rendered {
    /// Renders the outcomes of a run and its record ([`run_record`]).
    pub fn new(
        model: &Model,
        outcomes: &[Outcome],
        settings: &SearchSettings,
        run: &serde_json::Value,
    ) -> Rendered {
        let mut population = Vec::new();
        let mut summary = Vec::new();
        // Writing into memory cannot fail.
        pipeline::write_population(&mut population, model, outcomes, settings.verify)
            .expect("in memory");
        pipeline::write_summary(&mut summary, outcomes, settings).expect("in memory");
        let run = (serde_json::to_string_pretty(run).expect("a JSON value") + "\n").into_bytes();
        Rendered {
            population,
            summary,
            run,
        }
    }

    /// Writes `population.csv`, `summary.csv` and `run.json` into `out`, atomically: the folder appears
    /// whole or not at all (see [`prepare_output`] for which folders may be replaced).
    pub fn save(&self, out: &Path) -> Result<(), OutputError> {
        prepare_output(out)?;
        let write = |e: std::io::Error| OutputError::Write {
            path: out.to_path_buf(),
            source: e,
        };
        spikepop_spikes::atomic::write_dir(out, |dir: &Path| {
            for (name, bytes) in [
                ("population.csv", &self.population),
                ("summary.csv", &self.summary),
                ("run.json", &self.run),
            ] {
                std::fs::write(dir.join(name), bytes).map_err(write)?;
            }
            Ok(())
        })
    }
}
