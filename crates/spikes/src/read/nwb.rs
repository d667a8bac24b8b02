//! NWB 2 files (HDF5): the `units` table. `units/spike_times` holds every unit's spike times (seconds) end to end,
//! `units/spike_times_index` the end of each unit's slice (a ragged-array index), and `units/id` the unit ids.

use std::path::Path;

use super::SpikeTrain;
use crate::error::{Location, ReadError};
use crate::h5;

pub(super) fn read(path: &Path, _warnings: &mut Vec<String>) -> Result<Vec<SpikeTrain>, ReadError> {
    let part = |name: &str| Location::Part(format!("units/{name}"));
    let file = h5::open(path).map_err(|e| ReadError::invalid(path, Location::File, e))?;
    let root = h5::guarded(|| file.root_group().map_err(h5::damaged))
        .map_err(|e| ReadError::invalid(path, Location::File, e))?;
    if !h5::has_member(&root, "units").map_err(|e| ReadError::invalid(path, Location::File, e))? {
        return Err(ReadError::invalid(
            path,
            Location::File,
            "no units table (/units): this NWB file holds no sorted spike times",
        ));
    }
    let units = h5::guarded(|| root.group("units").map_err(|e| e.to_string()))
        .map_err(|e| ReadError::invalid(path, Location::Part("units".into()), e))?;
    let column = |name: &str, integer: bool| -> Result<(Vec<f64>, Vec<i64>), ReadError> {
        if !h5::has_member(&units, name).map_err(|e| ReadError::invalid(path, part(name), e))? {
            return Err(ReadError::invalid(
                path,
                part(name),
                "missing; the units table needs spike_times, spike_times_index and id",
            ));
        }
        h5::guarded(|| {
            let ds = units.dataset(name).map_err(|e| e.to_string())?;
            if integer {
                Ok((Vec::new(), h5::integers(&ds)?))
            } else {
                Ok((h5::floats(&ds)?, Vec::new()))
            }
        })
        .map_err(|e| {
            ReadError::invalid(
                path,
                part(name),
                format!("cannot read ({e}), truncated or damaged file?"),
            )
        })
    };
    let times = column("spike_times", false)?.0;
    let index = column("spike_times_index", true)?.1;
    let ids = column("id", true)?.1;
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
    for (u, (&id, &stored)) in ids.iter().zip(&index).enumerate() {
        let end = usize::try_from(stored).unwrap_or(usize::MAX);
        if end < start || end > times.len() {
            return Err(ReadError::invalid(
                path,
                part("spike_times_index"),
                format!(
                    "element {u} ({stored}) is outside {start}..={}: the index must grow up to the {} spike times",
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
