//! Axon Binary Format (pCLAMP `.abf`, versions 1 and 2), read with the `openreadout-abf` crate: samples scaled
//! to physical units by the header's gain chain, one trace per sweep of each voltage channel.
//!
//! The crate was checked against pyABF (an independent reader) on the 68 pCLAMP files of pyABF's test corpus
//! (12 ABF 1, 56 ABF 2; 1,509 sweep-channels): the same sample counts, units, and first, middle and mean
//! values to 1e-3 (`notes/predictor-log.md` keeps the check).

use std::path::Path;

use openreadout_abf::AbfReader;
use openreadout_core::{Dataset, FormatReader};

use super::{Trace, TraceError, TraceSelect, pick_sweeps, to_mv};

/// Samples asked for per read; the crate caps a read at 2^26 samples, so long sweeps come in pieces.
const CHUNK: u64 = 1 << 22;

/// One input channel of an ABF file.
#[derive(Clone, Debug, PartialEq)]
pub struct AbfChannel {
    /// 0-based index among the file's input channels.
    pub index: usize,
    /// The name pCLAMP gave it (`IN 0`, `Vm_prime`, ...).
    pub name: String,
    /// Its unit as stored (`mV`, `pA`, ...).
    pub unit: String,
}

/// What an ABF file holds, from its header alone.
#[derive(Clone, Debug, PartialEq)]
pub struct AbfInfo {
    /// Samples per second (per channel).
    pub sample_rate_hz: f64,
    /// Number of sweeps (1 for a gap-free recording).
    pub sweeps: u32,
    /// The input channels.
    pub channels: Vec<AbfChannel>,
}

fn open(path: &Path) -> Result<(Box<dyn Dataset>, AbfInfo), TraceError> {
    let bad = |e: openreadout_core::Error| {
        TraceError::recording(path, format!("not a readable ABF file ({e})"))
    };
    let dataset = AbfReader.open(path).map_err(bad)?;
    let info = dataset.info().map_err(bad)?;
    let trace = info
        .traces
        .first()
        .ok_or_else(|| TraceError::recording(path, "an ABF file without any recorded signal"))?;
    if !(trace.sample_rate_hz.is_finite() && trace.sample_rate_hz > 0.0) {
        return Err(TraceError::recording(
            path,
            format!(
                "sampling rate {} Hz in the header: expected a positive number",
                trace.sample_rate_hz
            ),
        ));
    }
    let info = AbfInfo {
        sample_rate_hz: trace.sample_rate_hz,
        sweeps: trace.sweep_count,
        channels: trace
            .channels
            .iter()
            .enumerate()
            .map(|(index, c)| AbfChannel {
                index,
                name: c.name.trim().to_string(),
                unit: c.unit.clone().unwrap_or_default().trim().to_string(),
            })
            .collect(),
    };
    Ok((dataset, info))
}

/// The header of an ABF file: its rate, sweeps and channels.
pub fn info(path: &Path) -> Result<AbfInfo, TraceError> {
    open(path).map(|(_, info)| info)
}

/// Every trace of an ABF file that `select` picks (by default every sweep of every voltage channel). A trace is
/// named `sweep<k>`, or `<channel>/sweep<k>` when the file has more than one voltage channel; its times are from
/// the sweep's start.
pub(super) fn read(path: &Path, select: &TraceSelect) -> Result<Vec<Trace>, TraceError> {
    let (mut dataset, info) = open(path)?;
    let listing = || {
        info.channels
            .iter()
            .map(|c| {
                format!(
                    "{} ({} {})",
                    c.index,
                    c.name,
                    if c.unit.is_empty() {
                        "no unit"
                    } else {
                        &c.unit
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let voltage: Vec<&AbfChannel> = info
        .channels
        .iter()
        .filter(|c| to_mv(&c.unit).is_some())
        .collect();
    let chosen: Vec<&AbfChannel> = match &select.channel {
        Some(want) => {
            let c = info
                .channels
                .iter()
                .find(|c| &c.name == want || c.index.to_string() == *want)
                .ok_or_else(|| {
                    TraceError::select(
                        path,
                        format!(
                            "no channel {want:?} (--channel); its channels: {}",
                            listing()
                        ),
                    )
                })?;
            if to_mv(&c.unit).is_none() {
                return Err(TraceError::select(
                    path,
                    format!(
                        "channel {want:?} is in {:?}, not a membrane potential (mV, V or uV); its channels: {}",
                        c.unit,
                        listing()
                    ),
                ));
            }
            vec![c]
        }
        None => voltage.clone(),
    };
    if chosen.is_empty() {
        return Err(TraceError::recording(
            path,
            format!(
                "no channel records a membrane potential (unit mV, V or uV); its channels: {}. A voltage-clamp \
                 recording holds no spikes to detect",
                listing()
            ),
        ));
    }
    let sweeps = pick_sweeps(path, info.sweeps, select)?;
    let dt_ms = 1000.0 / info.sample_rate_hz;
    let mut traces = Vec::new();
    for sweep in sweeps {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); info.channels.len()];
        loop {
            let first = samples[0].len() as u64;
            let piece = dataset.read_trace(0, sweep, first, CHUNK).map_err(|e| {
                TraceError::recording(
                    path,
                    format!("sweep {sweep}: cannot read its samples ({e})"),
                )
            })?;
            let got = piece.channels.first().map_or(0, Vec::len);
            for (all, new) in samples.iter_mut().zip(piece.channels) {
                all.extend(new);
            }
            if (got as u64) < CHUNK {
                break;
            }
        }
        for c in &chosen {
            let factor = to_mv(&c.unit).unwrap_or(1.0);
            let v = &samples[c.index];
            traces.push(Trace {
                id: if voltage.len() > 1 {
                    format!("{}/sweep{sweep}", c.name)
                } else {
                    format!("sweep{sweep}")
                },
                t_ms: (0..v.len()).map(|k| k as f64 * dt_ms).collect(),
                v_mv: v.iter().map(|x| x * factor).collect(),
            });
        }
    }
    Ok(traces)
}
