//! Voltage traces in a numpy `.npy` array (mV): shape `(n,)` is one trace, `(n, k)` is `k` traces, one per
//! column; the sampling rate comes from the caller, since the array carries none.

use std::path::Path;

use super::{Trace, TraceError, TraceSelect};
use crate::read::npy::{NpyVec, read_array};

pub(super) fn read(path: &Path, select: &TraceSelect) -> Result<Vec<Trace>, TraceError> {
    let rate = select.rate_hz.ok_or_else(|| {
        TraceError::select(
            path,
            "a .npy array of voltages carries no sampling rate; give it with --rate HZ (Python: rate_hz=)",
        )
    })?;
    if !(rate.is_finite() && rate > 0.0) {
        return Err(TraceError::select(
            path,
            format!("the sampling rate must be a positive number of Hz, got {rate}"),
        ));
    }
    if select.sweep.is_some() {
        return Err(TraceError::select(
            path,
            "a sweep (--sweep) applies only to ABF and NWB recordings; the columns of a .npy array are picked \
             with --channel (0-based)",
        ));
    }
    let array = read_array(path).map_err(|e| TraceError::recording(path, e.to_string()))?;
    let (n, k) = match array.shape.as_slice() {
        [n] => (*n, 1),
        [n, k] => (*n, *k),
        shape => {
            return Err(TraceError::recording(
                path,
                format!(
                    "an array of {} dimensions; expected (samples,) for one trace or (samples, traces)",
                    shape.len()
                ),
            ));
        }
    };
    if n == 0 || k == 0 {
        return Err(TraceError::recording(path, "an empty array: no samples"));
    }
    let values: Vec<f64> = match array.values {
        NpyVec::Float(v) => v,
        NpyVec::Int(v) => v.into_iter().map(|x| x as f64).collect(),
        NpyVec::UInt(v) => v.into_iter().map(|x| x as f64).collect(),
    };
    let columns: Vec<usize> = match &select.channel {
        None => (0..k).collect(),
        Some(c) => match c.trim().parse::<usize>() {
            Ok(j) if j < k => vec![j],
            _ => {
                return Err(TraceError::select(
                    path,
                    format!(
                        "no column {c:?} (--channel); the array has {k} column(s), numbered from 0"
                    ),
                ));
            }
        },
    };
    let dt_ms = 1000.0 / rate;
    let mut traces = Vec::with_capacity(columns.len());
    for j in columns {
        let at = |i: usize| if array.fortran { j * n + i } else { i * k + j };
        let mut v_mv = Vec::with_capacity(n);
        for i in 0..n {
            let v = values[at(i)];
            if !v.is_finite() {
                return Err(TraceError::recording(
                    path,
                    format!("sample {i} of column {j} is {v}: expected finite voltages (mV)"),
                ));
            }
            v_mv.push(v);
        }
        traces.push(Trace {
            id: if k == 1 {
                "trace".to_string()
            } else {
                format!("trace{j}")
            },
            t_ms: (0..n).map(|i| i as f64 * dt_ms).collect(),
            v_mv,
        });
    }
    Ok(traces)
}
