//! Errors of the readers and of the `"[t1, t2, ...]"` parser.
//!
//! Every [`ReadError`] names the file, the place in it and what was expected, so that the command line can
//! print it as one sentence, for example
//! `stg_set.csv: row 3 (line 4), field spiking_times: unclosed bracket, expected "[t1, t2, ...]"`.

use std::fmt;
use std::path::PathBuf;

/// Where in a file a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (a missing column, a truncated array, an unreadable HDF5 file).
    File,
    /// The header line of a table.
    Header,
    /// A data row of a table: `row` counts data rows from 1 (the header is not a row), `line` is the line of the
    /// file where the row starts (1-based, the header included), `field` names the column when one is at fault.
    Row {
        /// Data row, 1-based, header excluded.
        row: u64,
        /// Line of the file where the row starts, 1-based.
        line: u64,
        /// Column at fault, when one is.
        field: Option<String>,
    },
    /// A line of a text file (1-based).
    Line(u64),
    /// An element of an array (0-based index), e.g. of `spike_times.npy` or of an NWB dataset.
    Element(u64),
    /// A named part of a container file, e.g. the HDF5 dataset `units/spike_times`.
    Part(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Header => write!(f, "header"),
            Location::Row { row, line, field } => {
                write!(f, "row {row} (line {line})")?;
                if let Some(field) = field {
                    write!(f, ", field {field}")?;
                }
                Ok(())
            }
            Location::Line(line) => write!(f, "line {line}"),
            Location::Element(i) => write!(f, "element {i}"),
            Location::Part(name) => write!(f, "{name}"),
        }
    }
}

/// `": "` after a location that prints something, nothing after [`Location::File`].
fn sep(at: &Location) -> &'static str {
    if matches!(at, Location::File) {
        ""
    } else {
        ": "
    }
}

/// A spike-train file could not be read. The Display is one line naming the file, the place and the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The operating system refused to open or read the file (the cause is the error's source).
    #[error("{}: cannot read", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its content is not what its format requires.
    #[error("{}: {at}{}{problem}", file.display(), sep(at))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Where in the file.
        at: Location,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// The format could not be told from the file name or its header.
    #[error(
        "{}: cannot tell the format ({why}); pass --format reference|long|text|phy|nwb",
        file.display()
    )]
    UnknownFormat {
        /// The file.
        file: PathBuf,
        /// Why not.
        why: String,
    },
    /// A voltage trace file cannot be read.
    #[error(transparent)]
    Trace(#[from] crate::traces::TraceError),
    /// A trace's samples cannot be searched for spikes.
    #[error("{}: trace {trace}: {problem}", file.display())]
    Detect {
        /// The file.
        file: PathBuf,
        /// The trace.
        trace: String,
        /// What is wrong with its samples.
        problem: crate::detect::DetectError,
    },
    /// An option does not apply to this format (e.g. a sampling rate for a CSV file).
    #[error("{}: {problem}", file.display())]
    Option {
        /// The file.
        file: PathBuf,
        /// Which option and why.
        problem: String,
    },
    /// The file is an NWB file but this build has no NWB support.
    #[error(
        "{}: this build of spikepop cannot read NWB files; rebuild it with the default features (or `--features nwb`)",
        file.display()
    )]
    NwbNotEnabled {
        /// The file.
        file: PathBuf,
    },
}

impl ReadError {
    pub(crate) fn invalid(
        file: impl Into<PathBuf>,
        at: Location,
        problem: impl Into<String>,
    ) -> Self {
        ReadError::Invalid {
            file: file.into(),
            at,
            problem: problem.into(),
        }
    }

    pub(crate) fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReadError::Io {
            file: file.into(),
            source,
        }
    }
}

/// A `"[t1, t2, ...]"` string could not be parsed by [`crate::parse_train`].
///
/// Values are numbered from 1 in the messages (the first time is "value 1").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainParseError {
    /// The string does not start with `[`.
    #[error("does not start with \"[\", expected \"[t1, t2, ...]\"")]
    MissingOpenBracket,
    /// The string has no closing `]`.
    #[error("unclosed bracket, expected \"[t1, t2, ...]\"")]
    UnclosedBracket,
    /// Something follows the closing `]`.
    #[error(
        "unexpected text {} after the closing bracket, expected \"[t1, t2, ...]\"",
        excerpt(text)
    )]
    TrailingText {
        /// What follows the bracket.
        text: String,
    },
    /// Two commas with nothing between them (or a leading or trailing comma).
    #[error(
        "value {index} is empty (two commas in a row, or a comma at an end), expected \"[t1, t2, ...]\""
    )]
    EmptyValue {
        /// 1-based position of the empty value.
        index: usize,
    },
    /// A value is not a number.
    #[error("value {index} ({}) is not a number", excerpt(text))]
    NotANumber {
        /// 1-based position of the value.
        index: usize,
        /// The text found.
        text: String,
    },
    /// A value is NaN or infinite.
    #[error("value {index} ({text}) is not a finite number; spike times must be finite")]
    NotFinite {
        /// 1-based position of the value.
        index: usize,
        /// The text found.
        text: String,
    },
}

/// A short, escaped quotation of `text` for an error message: at most 80 characters, control and other
/// unprintable characters escaped, and how much was left out when the text is longer (a binary file's first
/// "line" can be kilobytes of noise).
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    let n = text.chars().count();
    let head: String = text.chars().take(MAX).collect();
    let quoted = format!("{head:?}");
    if n > MAX {
        format!("{quoted}... ({n} characters in all)")
    } else {
        quoted
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn long_or_binary_text_is_quoted_short_and_escaped() {
        assert_eq!(excerpt("ID,times"), "\"ID,times\"");
        let noise: String = (0..5000u32)
            .map(|i| char::from_u32(i % 0x2FF).unwrap())
            .collect();
        let e = excerpt(&noise);
        assert!(e.ends_with("... (5000 characters in all)"), "{e}");
        assert!(e.len() < 400 && !e.chars().any(|c| c.is_control()), "{e}");
    }
}
