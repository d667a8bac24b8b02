//! Readers: one module per format, a format guess from the path, and the normalisation every train goes through
//! (times in ms, sorted, exact duplicates removed, all reported as warnings).

mod long;
pub(crate) mod npy;
#[cfg(feature = "nwb")]
mod nwb;
mod phy;
mod reference;
mod text;

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Location, ReadError};

/// One spike train: an identifier (always text, as found in the file) and its spike times in milliseconds.
///
/// Trains returned by [`read_trains`] are sorted, free of exact duplicates, finite and non-negative.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTrain {
    /// Identifier: the `ID` cell, the unit or cluster id, or the 1-based row or line number when the file has none.
    pub id: String,
    /// Spike times in ms.
    pub times_ms: Vec<f64>,
}

/// What [`read_trains`] returns: the trains in file order and what was noticed on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Recordings {
    /// The trains, in the order of the file (phy: by increasing cluster id).
    pub trains: Vec<SpikeTrain>,
    /// One line per kind of thing worth telling the user (sorted trains, removed duplicates, missing IDs, ...),
    /// each starting with the file name. The command line prints them on stderr.
    pub warnings: Vec<String>,
    /// The format that was read (given or guessed).
    pub format: Format,
}

/// The spike-train file formats. See `docs/features.md` for each one's exact layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// CSV with an optional `ID` column and a `spiking_times` column of `"[t1, t2, ...]"` strings (ms).
    Reference,
    /// CSV or TSV with one spike per row: columns `ID` and `time` (or `time_ms`, `time_s`).
    Long,
    /// Text with one train per line: times separated by whitespace and/or commas, optionally after `ID:`.
    Text,
    /// Kilosort/phy output folder: `spike_times.npy` (samples), `spike_clusters.npy`, `params.py`.
    Phy,
    /// NWB 2 file: the `units` table (`spike_times` in s, `spike_times_index`, `id`).
    Nwb,
    /// Membrane-potential traces (CSV/TSV, [`crate::traces`]): spike times by [`crate::detect`] with
    /// [`ReadOptions::detect`].
    Trace,
}

impl Format {
    /// Every format, in documentation order.
    pub const ALL: [Format; 6] = [
        Format::Reference,
        Format::Long,
        Format::Text,
        Format::Phy,
        Format::Nwb,
        Format::Trace,
    ];

    /// The name used by `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Reference => "reference",
            Format::Long => "long",
            Format::Text => "text",
            Format::Phy => "phy",
            Format::Nwb => "nwb",
            Format::Trace => "trace",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown format {s:?}, expected reference, long, text, phy, nwb or trace")
            })
    }
}

/// Unit of the times in a table or text file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Milliseconds (the default).
    #[default]
    Ms,
    /// Seconds.
    S,
}

impl TimeUnit {
    /// Milliseconds per unit.
    pub fn to_ms(self) -> f64 {
        match self {
            TimeUnit::Ms => 1.0,
            TimeUnit::S => 1000.0,
        }
    }

    /// `"ms"` or `"s"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        }
    }
}

impl FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            x if x.eq_ignore_ascii_case("ms") => Ok(TimeUnit::Ms),
            x if x.eq_ignore_ascii_case("s") => Ok(TimeUnit::S),
            x => Err(format!("unknown time unit {x:?}, expected ms or s")),
        }
    }
}

/// How to read a file. `Default` reads any format guessed from the path, times in ms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadOptions {
    /// The format; `None` guesses it from the path (extension, folder, CSV header).
    pub format: Option<Format>,
    /// Unit of the times of the reference, long and text formats; `None` means ms (or the unit named by a
    /// `time_ms`/`time_s` column or a `unit` column of a long table). Phy (samples) and NWB (seconds) fix their
    /// own unit, and giving one for them is an error.
    pub unit: Option<TimeUnit>,
    /// Sampling rate in Hz of a phy folder (overrides `params.py`) or of `.npy` voltage traces. An error for the
    /// other formats.
    pub rate: Option<f64>,
    /// Phy only: keep the clusters marked `good` in `cluster_group.tsv`. An error for the other formats.
    pub only_good: bool,
    /// Voltage traces only: how spikes are detected. Anything but the default is an error for the other
    /// formats.
    pub detect: crate::detect::DetectOptions,
    /// Voltage recordings only: one channel (an ABF channel's name or index, an NWB series, a text file's trace
    /// or a `.npy` column); `None` reads every voltage channel. An error for the other formats.
    pub channel: Option<String>,
    /// Voltage recordings only: one sweep (0-based) of an ABF or NWB file; `None` reads every sweep.
    pub sweep: Option<u32>,
}

impl ReadOptions {
    /// The traces that a voltage recording is read for.
    pub fn trace_select(&self) -> crate::traces::TraceSelect {
        crate::traces::TraceSelect {
            channel: self.channel.clone(),
            sweep: self.sweep,
            rate_hz: self.rate,
        }
    }
}

/// Reads every spike train of `path` (a file, or a phy folder).
///
/// The format is `opts.format` or is guessed: a folder, `params.py`, a `spike_*.npy` file or a `.npy` file next to
/// a `params.py` is phy; any other `.npy` and `.abf` are voltage traces; `.nwb` is NWB (traces when it has no
/// units table but current-clamp series); `.txt` is text; `.csv`/`.tsv` are reference when the header has a
/// `spiking_times` column, traces when it has time and voltage columns, and long when it has `time`, `time_ms`
/// or `time_s`. Times come back in ms, each train sorted and without exact duplicates; what
/// was changed is said in [`Recordings::warnings`]. NaN, infinite and negative times are errors naming their place.
pub fn read_trains(path: &Path, opts: &ReadOptions) -> Result<Recordings, ReadError> {
    let format = match opts.format {
        Some(f) => f,
        None => guess_format(path)?,
    };
    check_options(path, format, opts)?;
    let mut warnings = Vec::new();
    let mut trains = match format {
        Format::Reference => reference::read(path, opts.unit.unwrap_or_default(), &mut warnings)?,
        Format::Long => long::read(path, opts.unit, &mut warnings)?,
        Format::Text => text::read(path, opts.unit.unwrap_or_default(), &mut warnings)?,
        Format::Phy => phy::read(&phy::folder(path), opts, &mut warnings)?,
        Format::Nwb => read_nwb(path, &mut warnings)?,
        Format::Trace => return read_checked_recording(path, opts).map(|(_, r)| r),
    };
    normalise(path, format, &mut trains, &mut warnings);
    Ok(Recordings {
        trains,
        warnings,
        format,
    })
}

/// A voltage recording's traces (those `opts` picks) and the spike trains detected in them, from one reading:
/// [`read_trains`] for a recording, with the traces kept (to draw them, or to detect again at another
/// threshold with [`spikes_of_traces`]). The options are checked as [`read_trains`] checks them.
pub fn read_recording(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Vec<crate::traces::Trace>, Recordings), ReadError> {
    check_options(path, Format::Trace, opts)?;
    read_checked_recording(path, opts)
}

fn read_checked_recording(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Vec<crate::traces::Trace>, Recordings), ReadError> {
    let traces =
        crate::traces::read_traces(path, opts.unit.unwrap_or_default(), &opts.trace_select())?;
    let recordings = spikes_of_traces(path, &traces, &opts.detect)?;
    Ok((traces, recordings))
}

/// The spike trains that `detect` finds in `traces` (read from `path`, which messages name), one per trace and
/// in the same order, as [`read_trains`] gives them for a voltage recording: a trace without spikes is an
/// empty train and a warning with its range and a threshold to try. Detecting again on traces already read
/// (a new threshold, say) needs no second reading of the file.
pub fn spikes_of_traces(
    path: &Path,
    traces: &[crate::traces::Trace],
    detect: &crate::detect::DetectOptions,
) -> Result<Recordings, ReadError> {
    let mut warnings = Vec::new();
    let mut quiet = 0;
    let mut trains = Vec::with_capacity(traces.len());
    for t in traces {
        let times_ms = crate::detect::detect(&t.t_ms, &t.v_mv, detect).map_err(|problem| {
            ReadError::Detect {
                file: path.to_path_buf(),
                trace: t.id.clone(),
                problem,
            }
        })?;
        if times_ms.is_empty() {
            quiet += 1;
            if quiet <= 5 {
                warnings.push(format!(
                    "trace {}: {}",
                    t.id,
                    crate::detect::NoSpikes {
                        v_mv: &t.v_mv,
                        threshold_mv: detect.threshold_mv
                    }
                ));
            }
        }
        trains.push(SpikeTrain {
            id: t.id.clone(),
            times_ms,
        });
    }
    normalise(path, Format::Trace, &mut trains, &mut warnings);
    Ok(Recordings {
        trains,
        warnings,
        format: Format::Trace,
    })
}

#[cfg(feature = "nwb")]
fn nwb_holds_traces(path: &Path) -> bool {
    crate::traces::nwb::holds_traces(path)
}

#[cfg(not(feature = "nwb"))]
fn nwb_holds_traces(_path: &Path) -> bool {
    false
}

#[cfg(feature = "nwb")]
fn read_nwb(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<SpikeTrain>, ReadError> {
    nwb::read(path, warnings)
}

#[cfg(not(feature = "nwb"))]
fn read_nwb(path: &Path, _warnings: &mut Vec<String>) -> Result<Vec<SpikeTrain>, ReadError> {
    Err(ReadError::NwbNotEnabled {
        file: path.to_path_buf(),
    })
}

fn check_options(path: &Path, format: Format, opts: &ReadOptions) -> Result<(), ReadError> {
    let refuse = |problem: String| {
        Err(ReadError::Option {
            file: path.to_path_buf(),
            problem,
        })
    };
    if opts.rate.is_some() && !matches!(format, Format::Phy | Format::Trace) {
        return refuse(format!(
            "a sampling rate (--rate) applies only to phy folders and .npy voltage traces, not to the {format} format"
        ));
    }
    if format != Format::Trace {
        if let Some(c) = &opts.channel {
            return refuse(format!(
                "a channel (--channel {c}) applies only to voltage recordings (--format trace), not to the {format} format"
            ));
        }
        if let Some(s) = opts.sweep {
            return refuse(format!(
                "a sweep (--sweep {s}) applies only to voltage recordings (--format trace), not to the {format} format"
            ));
        }
    }
    if opts.detect != crate::detect::DetectOptions::default() && format != Format::Trace {
        return refuse(format!(
            "spike detection options apply only to voltage traces (--format trace), not to the {format} format"
        ));
    }
    if let Err(crate::detect::DetectError::Option {
        setting,
        value,
        expected,
    }) = opts.detect.check()
    {
        return refuse(format!(
            "detection option {}: {value}: expected {expected}",
            setting.name()
        ));
    }
    if opts.only_good && format != Format::Phy {
        return refuse(format!(
            "--only good applies only to phy folders (cluster_group.tsv), not to the {format} format"
        ));
    }
    if let Some(unit) = opts.unit {
        match format {
            Format::Phy => {
                return refuse(format!(
                    "--unit {} does not apply to phy folders: spike_times.npy is in samples (see --rate)",
                    unit.as_str()
                ));
            }
            Format::Nwb => {
                return refuse(format!(
                    "--unit {} does not apply to NWB files: their spike times are in seconds by definition",
                    unit.as_str()
                ));
            }
            _ => {}
        }
    }
    if let Some(rate) = opts.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return refuse(format!(
            "the sampling rate must be a positive number of Hz, got {rate}"
        ));
    }
    Ok(())
}

/// Guesses the format of `path`; see [`read_trains`].
pub fn guess_format(path: &Path) -> Result<Format, ReadError> {
    if path.is_dir() {
        return Ok(Format::Phy);
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if name == "params.py"
        || (ext == "npy"
            && (name.starts_with("spike_")
                || path.parent().is_some_and(|d| d.join("params.py").exists())))
    {
        return Ok(Format::Phy);
    }
    match ext.as_str() {
        "npy" | "abf" => Ok(Format::Trace),
        "nwb" if nwb_holds_traces(path) => Ok(Format::Trace),
        "nwb" => Ok(Format::Nwb),
        "txt" => Ok(Format::Text),
        "csv" | "tsv" => {
            let header = first_line(path)?;
            let cols = split_header(&header);
            if cols
                .iter()
                .any(|c| c.eq_ignore_ascii_case(reference::TIMES_COLUMN))
            {
                Ok(Format::Reference)
            } else if crate::traces::is_trace_header(&cols) {
                Ok(Format::Trace)
            } else if cols.iter().any(|c| long::time_column_unit(c).is_some()) {
                Ok(Format::Long)
            } else {
                Err(ReadError::UnknownFormat {
                    file: path.to_path_buf(),
                    why: format!(
                        "its header {} has neither a spiking_times column (reference format) nor a time column (long format)",
                        crate::error::excerpt(&header)
                    ),
                })
            }
        }
        _ => Err(ReadError::UnknownFormat {
            file: path.to_path_buf(),
            why: if ext.is_empty() {
                "the name has no extension".to_string()
            } else {
                format!("unknown extension .{ext}")
            },
        }),
    }
}

/// The header line of a table: its first line that is neither blank nor a `#` comment, without the end of line
/// and byte-order mark.
fn first_line(path: &Path) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ReadError::io(path, e))?;
        let text = String::from_utf8_lossy(&line);
        let text = text
            .trim_start_matches('\u{feff}')
            .trim_end_matches(['\r', '\n']);
        if n == 0 || !(text.trim().is_empty() || text.starts_with('#')) {
            return Ok(text.to_string());
        }
    }
}

/// Header cells, split on the delimiter the line uses (tab when it has tabs and no comma).
fn split_header(line: &str) -> Vec<&str> {
    let d = delimiter_of(line);
    line.split(d as char)
        .map(|c| c.trim().trim_matches('"').trim())
        .collect()
}

/// The delimiter of a table, told from its header line: a tab when the line has a tab and no comma.
fn delimiter_of(header: &str) -> u8 {
    if header.contains('\t') && !header.contains(',') {
        b'\t'
    } else {
        b','
    }
}

/// Opens a CSV/TSV reader with the delimiter told from the first line (or the `.tsv` extension).
fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>, ReadError> {
    let header = first_line(path)?;
    let is_tsv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let delimiter = if is_tsv { b'\t' } else { delimiter_of(&header) };
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .comment(Some(b'#'))
        .buffer_capacity(1 << 16)
        .from_reader(file))
}

/// Turns a `csv` crate error into a [`ReadError`] naming the row.
fn csv_error(path: &Path, err: csv::Error, rows_read: u64) -> ReadError {
    let line = err.position().map(|p| p.line());
    let at = |line: Option<u64>| match line {
        Some(1) => Location::Header,
        Some(line) => Location::Row {
            row: rows_read + 1,
            line,
            field: None,
        },
        None => Location::File,
    };
    match err.into_kind() {
        csv::ErrorKind::Io(e) => ReadError::io(path, e),
        csv::ErrorKind::Utf8 { .. } => ReadError::invalid(
            path,
            at(line),
            "not valid UTF-8 text; save the file as UTF-8",
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ReadError::invalid(
            path,
            at(line),
            format!("{len} fields, expected {expected_len} like the header"),
        ),
        other => ReadError::invalid(path, at(line), format!("{other:?}")),
    }
}

/// Checks a time already converted to ms: finite and non-negative.
fn check_time(
    path: &Path,
    at: impl FnOnce() -> Location,
    t_ms: f64,
    text: &str,
) -> Result<(), ReadError> {
    if t_ms.is_finite() && t_ms >= 0.0 {
        Ok(())
    } else {
        let why = if t_ms.is_nan() {
            "is NaN"
        } else if t_ms.is_infinite() {
            "is infinite"
        } else {
            "is negative"
        };
        Err(ReadError::invalid(
            path,
            at(),
            format!("time {text} {why}; spike times must be finite and non-negative"),
        ))
    }
}

/// Sorts each train, removes exact duplicates and reports both, and duplicate IDs, as one warning each.
fn normalise(path: &Path, format: Format, trains: &mut [SpikeTrain], warnings: &mut Vec<String>) {
    let file = path.display();
    let mut unsorted = Tally::default();
    let mut duplicated = Tally::default();
    for train in trains.iter_mut() {
        let t = &mut train.times_ms;
        let descents = t.windows(2).filter(|w| w[1] < w[0]).count();
        if descents > 0 {
            t.sort_unstable_by(f64::total_cmp);
            unsorted.add(&train.id, descents);
        }
        let before = t.len();
        t.dedup();
        if t.len() < before {
            duplicated.add(&train.id, before - t.len());
        }
    }
    if unsorted.trains > 0 {
        warnings.push(format!(
            "{file}: {} spike time(s) out of order in {} train(s) ({}); they were sorted",
            unsorted.items,
            unsorted.trains,
            unsorted.examples()
        ));
    }
    if duplicated.trains > 0 {
        warnings.push(format!(
            "{file}: {} exact duplicate spike time(s) in {} train(s) ({}); the copies were removed",
            duplicated.items,
            duplicated.trains,
            duplicated.examples()
        ));
    }
    if format != Format::Long && format != Format::Phy {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(trains.len());
        let mut repeated = Tally::default();
        for train in trains.iter() {
            let n = seen.entry(train.id.as_str()).or_insert(0);
            *n += 1;
            if *n == 2 {
                repeated.add(&train.id, 1);
            }
        }
        if repeated.trains > 0 {
            warnings.push(format!(
                "{file}: {} ID(s) name more than one train ({}); the trains are kept apart",
                repeated.trains,
                repeated.examples()
            ));
        }
    }
}

/// Counts trains and items for a warning, keeping the first few IDs as examples.
#[derive(Default)]
struct Tally {
    trains: usize,
    items: usize,
    ids: Vec<String>,
}

impl Tally {
    const EXAMPLES: usize = 5;

    fn add(&mut self, id: &str, items: usize) {
        self.trains += 1;
        self.items += items;
        if self.ids.len() < Self::EXAMPLES {
            self.ids.push(id.to_string());
        }
    }

    fn examples(&self) -> String {
        let mut s = format!("ID {}", self.ids.join(", "));
        if self.trains > self.ids.len() {
            s.push_str(", ...");
        }
        s
    }
}

/// The path as given, for messages about a file inside a folder.
fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The header cells joined by commas, for messages.
fn header_text(headers: &csv::ByteRecord) -> String {
    headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect::<Vec<_>>()
        .join(",")
}
