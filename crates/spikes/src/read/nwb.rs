//! NWB 2 files (HDF5): the `units` table. `units/spike_times` holds every unit's spike times (seconds) end to end,
//! `units/spike_times_index` the end of each unit's slice (a ragged-array index), and `units/id` the unit ids.

use std::path::Path;

use hdf5_metno as hdf5;

use super::SpikeTrain;
use crate::error::{Location, ReadError};

pub(super) fn read(path: &Path, _warnings: &mut Vec<String>) -> Result<Vec<SpikeTrain>, ReadError> {
    let part = |name: &str| Location::Part(format!("units/{name}"));
    let file = hdf5::File::open(path).map_err(|e| {
        ReadError::invalid(
            path,
            Location::File,
            format!(
                "not a readable NWB (HDF5) file, truncated or damaged? ({})",
                first_line(&e)
            ),
        )
    })?;
    if !file.link_exists("units") {
        return Err(ReadError::invalid(
            path,
            Location::File,
            "no units table (/units): this NWB file holds no sorted spike times",
        ));
    }
    let units = file
        .group("units")
        .map_err(|e| ReadError::invalid(path, Location::Part("units".into()), first_line(&e)))?;
    let dataset = |name: &str| {
        if !units.link_exists(name) {
            return Err(ReadError::invalid(
                path,
                part(name),
                "missing; the units table needs spike_times, spike_times_index and id",
            ));
        }
        units
            .dataset(name)
            .map_err(|e| ReadError::invalid(path, part(name), first_line(&e)))
    };
    let read_err = |name: &str, e: hdf5::Error| {
        ReadError::invalid(
            path,
            part(name),
            format!(
                "cannot read ({}), truncated or damaged file?",
                first_line(&e)
            ),
        )
    };
    let times: Vec<f64> = dataset("spike_times")?
        .read_raw::<f64>()
        .map_err(|e| read_err("spike_times", e))?;
    let index: Vec<u64> = dataset("spike_times_index")?
        .read_raw::<u64>()
        .map_err(|e| read_err("spike_times_index", e))?;
    let ids: Vec<i64> = dataset("id")?
        .read_raw::<i64>()
        .map_err(|e| read_err("id", e))?;
    if ids.len() != index.len() {
        return Err(ReadError::invalid(
            path,
            part("spike_times_index"),
            format!(
                "{} entries but units/id has {}; expected one per unit",
                index.len(),
                ids.len()
            ),
        ));
    }
    let mut trains = Vec::with_capacity(ids.len());
    let mut start = 0usize;
    for (u, (&id, &end)) in ids.iter().zip(&index).enumerate() {
        let end = end as usize;
        if end < start || end > times.len() {
            return Err(ReadError::invalid(
                path,
                part("spike_times_index"),
                format!(
                    "element {u} ({end}) is outside {start}..={}: the index must grow up to the {} spike times",
                    times.len(),
                    times.len()
                ),
            ));
        }
        let mut times_ms = Vec::with_capacity(end - start);
        for (k, &t) in times[start..end].iter().enumerate() {
            if !(t.is_finite() && t >= 0.0) {
                return Err(ReadError::invalid(
                    path,
                    part("spike_times"),
                    format!(
                        "element {} (unit {id}) is {t}; spike times must be finite and non-negative",
                        start + k
                    ),
                ));
            }
            times_ms.push(t * 1000.0);
        }
        trains.push(SpikeTrain {
            id: id.to_string(),
            times_ms,
        });
        start = end;
    }
    if start != times.len() {
        return Err(ReadError::invalid(
            path,
            part("spike_times_index"),
            format!(
                "ends at {start} but units/spike_times holds {} values",
                times.len()
            ),
        ));
    }
    Ok(trains)
}

/// The first line of an HDF5 error (its full stack is long).
fn first_line(e: &hdf5::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}
