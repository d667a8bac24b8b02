//! Populations out: a model and the members of a population written for other simulators, so that a
//! reconstructed population can go into NEURON or Brian2 models or be shared in NeuroML 2, and so that those
//! simulators can check spikepop's own.
//!
//! Every export is generated from the model's one declaration ([`spikepop_models::Model`]: its channels,
//! gates, calcium and initial state), for the built-in models and those of model files alike, with every rate
//! function written out in elementary operations ([`spikepop_models::expr::explicit`]). An export is a folder:
//! the simulator's files, a `run.py` that simulates every member and writes its spike times in the reference
//! CSV layout (`ID,n_spikes,spiking_times`, absolute ms after the transient, as `spikepop simulate` does), and
//! a `README.md` that states the conventions it maps (units, capacitance, area, initial state, spike rule).
//!
//! - [`Format::Neuron`]: one NMODL mechanism per channel (and one for intracellular calcium), and a Python
//!   script that builds each member as a single compartment and records its spikes with a `NetCon`.
//! - [`Format::Brian2`]: a Python script with the model's equations and one `NeuronGroup` for the whole
//!   population.
//! - [`Format::NeuroMl`]: NeuroML 2 (one file per ion channel, with LEMS component types for the model's rate
//!   functions; the members as cells of one network) and a LEMS simulation that jNeuroML runs in NEURON.
#![deny(missing_docs)]

mod brian2;
mod common;
mod neuroml;
mod neuron;

pub use neuroml::NEUROML_DT_MS;

use std::path::Path;

use spikepop_models::Model;
use spikepop_spikes::atomic::{self, AtomicWriteError};

/// A target simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NEURON: NMODL mechanisms and a Python script.
    Neuron,
    /// Brian2: a Python script.
    Brian2,
    /// NeuroML 2 and a LEMS simulation.
    NeuroMl,
}

impl Format {
    /// Every format, in the order of the docs.
    pub const ALL: [Format; 3] = [Format::Neuron, Format::Brian2, Format::NeuroMl];

    /// The format's name on the command line and in Python (`neuron`, `brian2`, `neuroml`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Neuron => "neuron",
            Format::Brian2 => "brian2",
            Format::NeuroMl => "neuroml",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = ExportError;

    fn from_str(s: &str) -> Result<Format, ExportError> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| ExportError::Format(s.to_string()))
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An unknown format name.
    #[error("unknown export format {0:?}; expected one of: neuron, brian2, neuroml")]
    Format(String),
    /// The model has something the format cannot express.
    #[error("channel {channel}: cannot be written as {format}: {why}")]
    Unsupported {
        /// The channel's name.
        channel: String,
        /// The format's name.
        format: &'static str,
        /// Why.
        why: String,
    },
    /// No member to export.
    #[error("the population has no member: nothing to export")]
    Empty,
    /// The IDs and the conductance rows differ in number.
    #[error("{ids} IDs for {rows} conductance rows")]
    Rows {
        /// Number of IDs.
        ids: usize,
        /// Number of conductance rows.
        rows: usize,
    },
    /// A member's conductances do not fit the model.
    #[error("member {id:?}: {problem}")]
    Member {
        /// The member's ID.
        id: String,
        /// What is wrong, and what was expected.
        problem: String,
    },
    /// Writing the folder failed.
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
}

/// The members of a population: one ID and one row of maximal conductances (mS/cm^2, in the model's
/// channel order) each.
#[derive(Clone, Copy, Debug)]
pub struct Population<'a> {
    /// The members' IDs, unique.
    pub ids: &'a [String],
    /// One conductance row per member.
    pub g: &'a [Vec<f64>],
}

/// The names of a population's members: each `ID`, or `ID/model` when the population has a `model` column
/// (the members of one recording in a `reconstruct` population).
pub fn member_names(ids: &[String], members: Option<&[String]>) -> Vec<String> {
    match members {
        Some(m) => ids
            .iter()
            .zip(m)
            .map(|(id, k)| format!("{id}/{k}"))
            .collect(),
        None => ids.to_vec(),
    }
}

/// One file of an export: its name in the folder and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// The file's name (no folder).
    pub name: String,
    /// Its content.
    pub text: String,
}

/// The files of `model`'s population `pop` for `format`, in memory.
pub fn files(model: &Model, pop: Population, format: Format) -> Result<Vec<File>, ExportError> {
    check(model, pop)?;
    check_model(model, format)?;
    Ok(match format {
        Format::Neuron => neuron::files(model, pop),
        Format::Brian2 => brian2::files(model, pop),
        Format::NeuroMl => neuroml::files(model, pop),
    })
}

/// Refuses, before any work, a model that `format` cannot express (NeuroML: an instantaneous gate in a
/// channel with a kinetic scheme); [`files`] refuses it too.
pub fn check_model(model: &Model, format: Format) -> Result<(), ExportError> {
    match format {
        Format::NeuroMl => neuroml::check(model),
        Format::Neuron | Format::Brian2 => Ok(()),
    }
}

/// Writes `files` into the folder `dir`, atomically: the folder appears complete or not at all (an existing
/// `dir` is replaced).
pub fn write(dir: &Path, files: &[File]) -> Result<(), ExportError> {
    atomic::write_dir(dir, |tmp| -> Result<(), ExportError> {
        for f in files {
            atomic::write_bytes(&tmp.join(&f.name), f.text.as_bytes())?;
        }
        Ok(())
    })
}

/// `files` as one zip archive (stored entries) under the folder name `folder`: the download the GUI offers.
pub fn zip(folder: &str, files: &[File]) -> Vec<u8> {
    use std::io::Write;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o644);
    // Writing into memory cannot fail.
    for f in files {
        out.start_file(format!("{folder}/{}", f.name), options)
            .expect("in memory");
        out.write_all(f.text.as_bytes()).expect("in memory");
    }
    out.finish().expect("in memory").into_inner()
}

fn check(model: &Model, pop: Population) -> Result<(), ExportError> {
    if pop.ids.is_empty() {
        return Err(ExportError::Empty);
    }
    if pop.ids.len() != pop.g.len() {
        return Err(ExportError::Rows {
            ids: pop.ids.len(),
            rows: pop.g.len(),
        });
    }
    for (id, row) in pop.ids.iter().zip(pop.g) {
        let member = |problem: String| ExportError::Member {
            id: id.clone(),
            problem,
        };
        if row.len() != model.channels.len() {
            return Err(member(format!(
                "{} conductances; the {} model needs {} ({})",
                row.len(),
                model.name,
                model.channels.len(),
                model
                    .channels
                    .iter()
                    .map(|c| c.column)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (g, ch) in row.iter().zip(model.channels) {
            if !(g.is_finite() && *g >= 0.0) {
                return Err(member(format!(
                    "{} is {g}; expected a finite conductance >= 0 (mS/cm^2)",
                    ch.column
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_populations_are_refused_with_the_member_and_the_column() {
        let m = &spikepop_models::STG;
        let ids = vec!["a".to_string(), "b".to_string()];
        let mut g = vec![vec![1.0; m.channels.len()]; 2];
        assert!(files(m, Population { ids: &ids, g: &g }, Format::Brian2).is_ok());
        g[1][2] = f64::NAN;
        let e = files(m, Population { ids: &ids, g: &g }, Format::Neuron).unwrap_err();
        assert_eq!(
            e.to_string(),
            "member \"b\": g_CaT is NaN; expected a finite conductance >= 0 (mS/cm^2)"
        );
        g[1].pop();
        let e = files(m, Population { ids: &ids, g: &g }, Format::Neuron).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("member \"b\": 7 conductances; the stg model needs 8 (g_Na, g_Kd"),
            "{e}"
        );
        let e = files(
            m,
            Population {
                ids: &ids[..1],
                g: &g,
            },
            Format::Neuron,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "1 IDs for 2 conductance rows");
        let e = files(m, Population { ids: &[], g: &[] }, Format::Neuron).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the population has no member: nothing to export"
        );
        assert_eq!("brian2".parse::<Format>().unwrap(), Format::Brian2);
        // The zip holds every file under the folder's name, byte for byte.
        let fs = files(
            m,
            Population {
                ids: &ids[..1],
                g: &g[..1],
            },
            Format::Neuron,
        )
        .unwrap();
        let mut z = ::zip::ZipArchive::new(std::io::Cursor::new(zip("stg_neuron", &fs))).unwrap();
        assert_eq!(z.len(), fs.len());
        for f in &fs {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut z.by_name(&format!("stg_neuron/{}", f.name)).unwrap(),
                &mut text,
            )
            .unwrap();
            assert_eq!(text, f.text);
        }
        assert!(
            "nest"
                .parse::<Format>()
                .unwrap_err()
                .to_string()
                .contains("neuron, brian2, neuroml")
        );
    }
}
