//! Membrane-potential traces: one [`Trace`] per sweep and channel, times in ms and voltages in mV, from
//!
//! - Axon Binary Format files (`.abf`, pCLAMP, versions 1 and 2; [`abf`]): one trace per sweep of each voltage
//!   channel (unit mV, V or uV), times from the sweep's start;
//! - NWB 2 files (`.nwb`, with the `nwb` feature): the `CurrentClampSeries` (and `PatchClampSeries`,
//!   `IZeroClampSeries` in volts) of `/acquisition`, one trace per series, times from its `starting_time` and
//!   `rate` or its `timestamps`;
//! - numpy arrays (`.npy`) of voltages (mV) with a sampling rate given by the caller ([`TraceSelect::rate_hz`]):
//!   shape `(n,)` is one trace, `(n, k)` is `k` traces (one per column), times from 0;
//! - text files (CSV, or TSV when the header has tabs), in one of two layouts:
//!
//! - **long**, as `spikepop simulate --traces` writes them: a time column (`t`, `time`, `time_ms` or
//!   `time_s`), a voltage column (`V`, `v`, `V_mV` or `voltage`) and key columns (`ID`, `model`, ...): one
//!   trace per key, its rows in time order, its ID the key's values joined by `/`;
//! - **wide**: the first column is the time, every other column a trace named by its header.
//!
//! Times of a text file are in ms unless the column is `time_s` or the caller says seconds ([`TimeUnit`]);
//! voltages in mV. [`TraceSelect`] picks a channel and a sweep.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::TimeUnit;

pub mod abf;
mod npy;
#[cfg(feature = "nwb")]
pub(crate) mod nwb;

/// Which traces of a recording to read, and the sampling rate that a bare array does not carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceSelect {
    /// One channel: an ABF channel's name (`IN 0`) or 0-based index, an NWB series' or electrode's name, a text
    /// file's trace name (a wide column's header or a long layout's key). `None`: every voltage channel.
    pub channel: Option<String>,
    /// One sweep, 0-based (an ABF sweep; an NWB series' `sweep_number`). `None`: every sweep.
    pub sweep: Option<u32>,
    /// Sampling rate (Hz) of a `.npy` array; required for those and refused for the other files.
    pub rate_hz: Option<f64>,
}

/// One sampled trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The trace's name (a key, or a column header).
    pub id: String,
    /// Sample times (ms).
    pub t_ms: Vec<f64>,
    /// Membrane potential (mV).
    pub v_mv: Vec<f64>,
}

/// Why a trace file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The header is not a trace layout.
    #[error("{path}: header {header}: {what}")]
    Header {
        /// The file.
        path: PathBuf,
        /// The header, shortened.
        header: String,
        /// What is expected.
        what: String,
    },
    /// A cell is not a number, or a row is short.
    #[error("{path}: row {row} (line {line}), field {field}: {what}")]
    Cell {
        /// The file.
        path: PathBuf,
        /// The data row (1-based).
        row: usize,
        /// The line (1-based, the header is line 1).
        line: usize,
        /// The column.
        field: String,
        /// What is wrong.
        what: String,
    },
    /// No data rows.
    #[error("{path}: no samples; expected a header and at least one row")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A binary recording (ABF, NWB, npy) cannot be read, or holds no voltage trace.
    #[error("{path}: {what}")]
    Recording {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what is expected.
        what: String,
    },
    /// A channel, sweep or sampling rate was asked for that the file does not have or take.
    #[error("{path}: {what}")]
    Select {
        /// The file.
        path: PathBuf,
        /// What was asked for, and what the file offers.
        what: String,
    },
}

impl TraceError {
    pub(crate) fn recording(path: &Path, what: impl Into<String>) -> Self {
        TraceError::Recording {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }

    pub(crate) fn select(path: &Path, what: impl Into<String>) -> Self {
        TraceError::Select {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// The factor from a voltage unit (`mV`, `V`, `uV`, `volts`, ...) to mV; `None` when it is not a voltage.
pub fn to_mv(unit: &str) -> Option<f64> {
    match unit.trim() {
        "mV" | "millivolt" | "millivolts" => Some(1.0),
        "V" | "v" | "volt" | "volts" | "Volt" | "Volts" => Some(1000.0),
        "uV" | "\u{b5}V" | "\u{3bc}V" | "microvolt" | "microvolts" => Some(1e-3),
        _ => None,
    }
}

/// Every trace of a recording that `select` picks; the kind of file is told by its extension (`.abf`, `.nwb`,
/// `.npy`; anything else is read as text). `unit` is the time unit of a text file's time column unless it is
/// `time_s` (always seconds).
pub fn read_traces(
    path: &Path,
    unit: TimeUnit,
    select: &TraceSelect,
) -> Result<Vec<Trace>, TraceError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if select.rate_hz.is_some() && ext != "npy" {
        return Err(TraceError::select(
            path,
            "a sampling rate (--rate) applies only to .npy traces; this file carries its own times",
        ));
    }
    match ext.as_str() {
        "abf" => abf::read(path, select),
        "npy" => npy::read(path, select),
        "nwb" => read_nwb(path, select),
        _ => {
            if select.sweep.is_some() {
                return Err(TraceError::select(
                    path,
                    "a sweep (--sweep) applies only to ABF and NWB recordings; a text file's traces are named by \
                     their column or key (--channel)",
                ));
            }
            let mut traces = read_text(path, unit)?;
            if let Some(c) = &select.channel {
                traces.retain(|t| &t.id == c);
                if traces.is_empty() {
                    return Err(TraceError::select(
                        path,
                        format!(
                            "no trace named {c:?} (--channel); the file's traces: {}",
                            names(&read_text(path, unit)?)
                        ),
                    ));
                }
            }
            Ok(traces)
        }
    }
}

fn names(traces: &[Trace]) -> String {
    let mut s: Vec<&str> = traces.iter().take(10).map(|t| t.id.as_str()).collect();
    if traces.len() > 10 {
        s.push("...");
    }
    s.join(", ")
}

#[cfg(feature = "nwb")]
fn read_nwb(path: &Path, select: &TraceSelect) -> Result<Vec<Trace>, TraceError> {
    nwb::read(path, select)
}

#[cfg(not(feature = "nwb"))]
fn read_nwb(path: &Path, _select: &TraceSelect) -> Result<Vec<Trace>, TraceError> {
    Err(TraceError::recording(
        path,
        "this spikepop was built without NWB support; rebuild it with the default features (or `--features spikepop/nwb`)",
    ))
}

/// Keeps the sweep that `select` asks for (all when it asks for none), or says which sweeps there are.
fn pick_sweeps(
    path: &Path,
    count: u32,
    select: &TraceSelect,
) -> Result<std::ops::Range<u32>, TraceError> {
    match select.sweep {
        None => Ok(0..count),
        Some(s) if s < count => Ok(s..s + 1),
        Some(s) => Err(TraceError::select(
            path,
            format!("no sweep {s} (--sweep); the file has {count} sweep(s), numbered from 0"),
        )),
    }
}

const TIME: [&str; 4] = ["t", "time", "time_ms", "time_s"];
const VOLTAGE: [&str; 4] = ["V", "v", "V_mV", "voltage"];

/// Whether a table header is the long trace layout (a time and a voltage column), by which a file is told to
/// be traces without `--format trace`; the wide layout (time, then any columns) needs the format given.
pub fn is_trace_header(columns: &[impl AsRef<str>]) -> bool {
    let has = |names: &[&str]| columns.iter().any(|c| names.contains(&c.as_ref().trim()));
    has(&TIME) && has(&VOLTAGE)
}

/// Reads every trace of a text file.
fn read_text(path: &Path, unit: TimeUnit) -> Result<Vec<Trace>, TraceError> {
    let io = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read(path).map_err(io)?;
    let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b'\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| header_error(path, first_line, &e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let time = header.iter().position(|h| TIME.contains(&h.as_str()));
    let voltage = header.iter().position(|h| VOLTAGE.contains(&h.as_str()));
    let (time, long) = match (time, voltage) {
        (Some(t), Some(v)) => (t, Some(v)),
        (Some(0), None) if header.len() >= 2 => (0, None),
        _ => {
            return Err(header_error(
                path,
                first_line,
                "expected a time column (t, time, time_ms or time_s) and a voltage column (V, v, V_mV or \
                 voltage) with key columns such as ID, or a time column first and one column per trace",
            ));
        }
    };
    let to_ms = if header[time] == "time_s" {
        1000.0
    } else {
        unit.to_ms()
    };
    let number = |row: usize, field: usize, cell: Option<&str>| -> Result<f64, TraceError> {
        let cell = cell.ok_or_else(|| TraceError::Cell {
            path: path.to_path_buf(),
            row,
            line: row + 1,
            field: header[field].clone(),
            what: "missing; expected one value per column".into(),
        })?;
        cell.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| TraceError::Cell {
                path: path.to_path_buf(),
                row,
                line: row + 1,
                field: header[field].clone(),
                what: format!("{}: expected a finite number", crate::error::excerpt(cell)),
            })
    };
    let mut traces: Vec<Trace> = match long {
        Some(_) => Vec::new(),
        None => header[1..]
            .iter()
            .map(|h| Trace {
                id: h.clone(),
                t_ms: Vec::new(),
                v_mv: Vec::new(),
            })
            .collect(),
    };
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| TraceError::Cell {
            path: path.to_path_buf(),
            row,
            line: row + 1,
            field: String::new(),
            what: e.to_string(),
        })?;
        rows += 1;
        let t = to_ms * number(row, time, record.get(time))?;
        match long {
            Some(v) => {
                let key: Vec<&str> = (0..header.len())
                    .filter(|&c| c != time && c != v)
                    .map(|c| record.get(c).unwrap_or("").trim())
                    .collect();
                let key = key.join("/");
                let k = *by_key.entry(key.clone()).or_insert_with(|| {
                    traces.push(Trace {
                        id: key,
                        t_ms: Vec::new(),
                        v_mv: Vec::new(),
                    });
                    traces.len() - 1
                });
                let volts = number(row, v, record.get(v))?;
                traces[k].t_ms.push(t);
                traces[k].v_mv.push(volts);
            }
            None => {
                for (c, trace) in traces.iter_mut().enumerate() {
                    let volts = number(row, c + 1, record.get(c + 1))?;
                    trace.t_ms.push(t);
                    trace.v_mv.push(volts);
                }
            }
        }
    }
    if rows == 0 {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(traces)
}

fn header_error(path: &Path, line: &[u8], what: &str) -> TraceError {
    TraceError::Header {
        path: path.to_path_buf(),
        header: crate::error::excerpt(&String::from_utf8_lossy(line)),
        what: what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn both_layouts_read_to_traces() {
        let long = file("ID,model,t,V\n1,0,0,-60\n1,0,0.5,-50\n2,3,0,-61\n1,0,1.0,12.5\n");
        let t = read_traces(long.path(), TimeUnit::Ms, &TraceSelect::default()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].id, "1/0");
        assert_eq!(t[0].t_ms, [0.0, 0.5, 1.0]);
        assert_eq!(t[0].v_mv, [-60.0, -50.0, 12.5]);
        assert_eq!(t[1].id, "2/3");
        let wide = file("time_s\tcell a\tcell b\n0\t-60\t-70\n0.001\t-59\t-69\n");
        let t = read_traces(wide.path(), TimeUnit::Ms, &TraceSelect::default()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].id, "cell b");
        assert_eq!(t[1].t_ms, [0.0, 1.0]);
        assert_eq!(t[1].v_mv, [-70.0, -69.0]);
    }

    #[test]
    fn bad_files_name_the_row_and_the_field() {
        let bad = file("ID,t,V\n1,0,-60\n1,0.5,oops\n");
        let e = read_traces(bad.path(), TimeUnit::Ms, &TraceSelect::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"row 2 (line 3), field V: "oops": expected a finite number"#),
            "{e}"
        );
        let short = file("t,a,b\n0,1\n");
        let e = read_traces(short.path(), TimeUnit::Ms, &TraceSelect::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1 (line 2), field b: missing"), "{e}");
        let header = file("ID,spiking_times\n1,\"[1, 2]\"\n");
        let e = read_traces(header.path(), TimeUnit::Ms, &TraceSelect::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a time column"), "{e}");
        let empty = file("t,V,ID\n");
        assert!(matches!(
            read_traces(empty.path(), TimeUnit::Ms, &TraceSelect::default()),
            Err(TraceError::Empty { .. })
        ));
    }
}
