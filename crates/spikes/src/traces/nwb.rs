//! NWB 2 intracellular recordings (HDF5): the `CurrentClampSeries`, `IZeroClampSeries` and `PatchClampSeries` (in
//! volts) of `/acquisition`. Each series is one trace, named by its group: `data` times its `conversion`
//! (plus its `offset`) is in volts, and the times are `starting_time + k / rate` or `timestamps` (seconds).
//! `sweep_number` is the series' sweep.

use std::path::Path;

use hdf5::types::{VarLenAscii, VarLenUnicode};
use hdf5_metno as hdf5;

use super::{Trace, TraceError, TraceSelect, to_mv};

const SERIES: [&str; 3] = ["CurrentClampSeries", "IZeroClampSeries", "PatchClampSeries"];

fn attr_string(loc: &hdf5::Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    a.read_scalar::<VarLenUnicode>()
        .map(|s| s.as_str().to_string())
        .or_else(|_| {
            a.read_scalar::<VarLenAscii>()
                .map(|s| s.as_str().to_string())
        })
        .ok()
}

fn attr_f64(loc: &hdf5::Location, name: &str) -> Option<f64> {
    loc.attr(name).ok()?.read_scalar::<f64>().ok()
}

fn first_line(e: &hdf5::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn open(path: &Path) -> Result<hdf5::File, TraceError> {
    hdf5::File::open(path).map_err(|e| {
        TraceError::recording(
            path,
            format!(
                "not a readable NWB (HDF5) file, truncated or damaged? ({})",
                first_line(&e)
            ),
        )
    })
}

/// The names of the intracellular series in `/acquisition`, in name order.
fn series_names(file: &hdf5::File) -> Vec<String> {
    let Ok(acq) = file.group("acquisition") else {
        return Vec::new();
    };
    let mut names: Vec<String> = acq
        .member_names()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            acq.group(n)
                .ok()
                .and_then(|g| attr_string(&g, "neurodata_type"))
                .is_some_and(|t| SERIES.contains(&t.as_str()))
        })
        .collect();
    names.sort();
    names
}

/// Whether an NWB file is a voltage recording rather than sorted spikes: no `units` table, and at least one
/// current-clamp series in `/acquisition`.
pub(crate) fn holds_traces(path: &Path) -> bool {
    open(path).is_ok_and(|f| !f.link_exists("units") && !series_names(&f).is_empty())
}

pub(super) fn read(path: &Path, select: &TraceSelect) -> Result<Vec<Trace>, TraceError> {
    let file = open(path)?;
    let names = series_names(&file);
    if names.is_empty() {
        return Err(TraceError::recording(
            path,
            "no CurrentClampSeries, IZeroClampSeries or PatchClampSeries in /acquisition: this NWB file holds no \
             membrane-potential recording",
        ));
    }
    let acq = file
        .group("acquisition")
        .map_err(|e| TraceError::recording(path, first_line(&e)))?;
    let mut traces = Vec::new();
    let mut sweeps = Vec::new();
    for name in &names {
        if select.channel.as_ref().is_some_and(|c| c != name) {
            continue;
        }
        let part =
            |what: String| TraceError::recording(path, format!("acquisition/{name}: {what}"));
        let g = acq.group(name).map_err(|e| part(first_line(&e)))?;
        let sweep = g
            .attr("sweep_number")
            .ok()
            .and_then(|a| a.read_scalar::<u64>().ok());
        sweeps.push(sweep);
        if let Some(want) = select.sweep
            && sweep != Some(u64::from(want))
        {
            continue;
        }
        let data = g
            .dataset("data")
            .map_err(|e| part(format!("no data ({})", first_line(&e))))?;
        let unit = attr_string(&data, "unit").unwrap_or_else(|| "volts".to_string());
        let Some(factor) = to_mv(&unit) else {
            if select.channel.is_some() {
                return Err(part(format!(
                    "data are in {unit:?}, not a membrane potential (volts)"
                )));
            }
            continue;
        };
        let conversion = attr_f64(&data, "conversion").unwrap_or(1.0);
        let offset = attr_f64(&data, "offset").unwrap_or(0.0);
        let raw: Vec<f64> = data.read_raw::<f64>().map_err(|e| {
            part(format!(
                "cannot read data ({}), truncated or damaged file?",
                first_line(&e)
            ))
        })?;
        let t_ms: Vec<f64> = if let Ok(ts) = g.dataset("timestamps") {
            ts.read_raw::<f64>()
                .map_err(|e| part(format!("cannot read timestamps ({})", first_line(&e))))?
                .into_iter()
                .map(|t| t * 1000.0)
                .collect()
        } else {
            let start = g.dataset("starting_time").map_err(|_| {
                part("neither timestamps nor starting_time: the samples have no times".into())
            })?;
            let t0 = start
                .read_scalar::<f64>()
                .map_err(|e| part(first_line(&e)))?;
            let rate = attr_f64(&start, "rate").unwrap_or(f64::NAN);
            if !(rate.is_finite() && rate > 0.0) {
                return Err(part(format!(
                    "starting_time's rate is {rate}: expected a positive sampling rate (Hz)"
                )));
            }
            (0..raw.len())
                .map(|k| (t0 + k as f64 / rate) * 1000.0)
                .collect()
        };
        if t_ms.len() != raw.len() {
            return Err(part(format!(
                "{} timestamps for {} samples: expected one per sample",
                t_ms.len(),
                raw.len()
            )));
        }
        let v_mv = raw
            .into_iter()
            .map(|x| (x * conversion + offset) * factor)
            .collect();
        traces.push(Trace {
            id: name.clone(),
            t_ms,
            v_mv,
        });
    }
    if traces.is_empty() {
        let what = match (&select.channel, select.sweep) {
            (Some(c), _) if !names.contains(c) => {
                format!(
                    "no series {c:?} (--channel); its series: {}",
                    names.join(", ")
                )
            }
            (_, Some(s)) => format!(
                "no series of sweep {s} (--sweep); its sweeps: {}",
                sweeps
                    .iter()
                    .map(|s| s.map_or("none".to_string(), |s| s.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!(
                "no series in volts among {}: nothing to detect spikes in",
                names.join(", ")
            ),
        };
        return Err(TraceError::select(path, what));
    }
    Ok(traces)
}
