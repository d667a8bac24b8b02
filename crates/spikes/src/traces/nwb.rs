//! NWB 2 intracellular recordings (HDF5): the `CurrentClampSeries`, `IZeroClampSeries` and `PatchClampSeries` (in
//! volts) of `/acquisition`. Each series is one trace, named by its group: `data` times its `conversion`
//! (plus its `offset`) is in volts, and the times are `starting_time + k / rate` or `timestamps` (seconds).
//! `sweep_number` is the series' sweep.

use std::path::Path;

use hdf5_reader::Hdf5File;

use super::{Trace, TraceError, TraceSelect, to_mv};
use crate::h5;

const SERIES: [&str; 3] = ["CurrentClampSeries", "IZeroClampSeries", "PatchClampSeries"];

fn open(path: &Path) -> Result<Hdf5File, TraceError> {
    h5::open(path).map_err(|e| TraceError::recording(path, e))
}

/// The names of the intracellular series in `/acquisition`, in name order.
fn series_names(file: &Hdf5File) -> Vec<String> {
    h5::guarded(|| {
        let Ok(acq) = file.group("/acquisition") else {
            return Ok(Vec::new());
        };
        let (groups, _) = acq.member_names().unwrap_or_default();
        let mut names: Vec<String> = groups
            .into_iter()
            .filter(|n| {
                acq.group(n)
                    .ok()
                    .and_then(|g| h5::group_string(&g, "neurodata_type"))
                    .is_some_and(|t| SERIES.contains(&t.as_str()))
            })
            .collect();
        names.sort();
        Ok(names)
    })
    .unwrap_or_default()
}

/// Whether an NWB file is a voltage recording rather than sorted spikes: no `units` table, and at least one
/// current-clamp series in `/acquisition`.
pub(crate) fn holds_traces(path: &Path) -> bool {
    open(path).is_ok_and(|f| {
        let units = h5::guarded(|| h5::has_member(&f.root_group().map_err(h5::damaged)?, "units"));
        units == Ok(false) && !series_names(&f).is_empty()
    })
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
    let acq = h5::guarded(|| file.group("/acquisition").map_err(|e| e.to_string()))
        .map_err(|e| TraceError::recording(path, e))?;
    let mut traces = Vec::new();
    let mut sweeps = Vec::new();
    for name in &names {
        if select.channel.as_ref().is_some_and(|c| c != name) {
            continue;
        }
        let part =
            |what: String| TraceError::recording(path, format!("acquisition/{name}: {what}"));
        let read = h5::guarded(|| series(&acq, name, select.sweep, select.channel.is_some()));
        let (sweep, trace) = read.map_err(part)?;
        sweeps.push(sweep);
        traces.extend(trace);
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

/// One series of `/acquisition`: its sweep number, and its trace unless another sweep is asked for or its
/// data are not in volts (an error when `named`, the series asked for by name).
fn series(
    acq: &hdf5_reader::group::Group,
    name: &str,
    want_sweep: Option<u32>,
    named: bool,
) -> Result<(Option<u64>, Option<Trace>), String> {
    let g = acq.group(name).map_err(|e| e.to_string())?;
    let sweep = h5::attr_f64(g.attribute("sweep_number"))
        .filter(|s| *s >= 0.0 && s.fract() == 0.0)
        .map(|s| s as u64);
    if let Some(want) = want_sweep
        && sweep != Some(u64::from(want))
    {
        return Ok((sweep, None));
    }
    let data = g.dataset("data").map_err(|e| format!("no data ({e})"))?;
    let unit = h5::attr_string(data.attribute("unit")).unwrap_or_else(|| "volts".to_string());
    let Some(factor) = to_mv(&unit) else {
        if named {
            return Err(format!(
                "data are in {unit:?}, not a membrane potential (volts)"
            ));
        }
        return Ok((sweep, None));
    };
    let conversion = h5::attr_f64(data.attribute("conversion")).unwrap_or(1.0);
    let offset = h5::attr_f64(data.attribute("offset")).unwrap_or(0.0);
    let raw = h5::floats(&data)
        .map_err(|e| format!("cannot read data ({e}), truncated or damaged file?"))?;
    let t_ms: Vec<f64> = if let Ok(ts) = g.dataset("timestamps") {
        h5::floats(&ts)
            .map_err(|e| format!("cannot read timestamps ({e})"))?
            .into_iter()
            .map(|t| t * 1000.0)
            .collect()
    } else {
        let start = g
            .dataset("starting_time")
            .map_err(|_| "neither timestamps nor starting_time: the samples have no times")?;
        let t0 = match h5::floats(&start)?.as_slice() {
            [t0] => *t0,
            v => {
                return Err(format!(
                    "starting_time holds {} values, expected one",
                    v.len()
                ));
            }
        };
        let rate = h5::attr_f64(start.attribute("rate")).unwrap_or(f64::NAN);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "starting_time's rate is {rate}: expected a positive sampling rate (Hz)"
            ));
        }
        (0..raw.len())
            .map(|k| (t0 + k as f64 / rate) * 1000.0)
            .collect()
    };
    if t_ms.len() != raw.len() {
        return Err(format!(
            "{} timestamps for {} samples: expected one per sample",
            t_ms.len(),
            raw.len()
        ));
    }
    let v_mv = raw
        .into_iter()
        .map(|x| (x * conversion + offset) * factor)
        .collect();
    Ok((
        sweep,
        Some(Trace {
            id: name.to_string(),
            t_ms,
            v_mv,
        }),
    ))
}
