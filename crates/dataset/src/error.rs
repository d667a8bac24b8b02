//! Errors of the dataset crate: every message is one line that names the flag, file or column at fault.

use std::path::{Path, PathBuf};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid (a flag value, a shard spec, settings that do not match a manifest). The message
    /// names the flag.
    #[error("{0}")]
    Invalid(String),
    /// An output could not be written atomically.
    #[error(transparent)]
    Write(#[from] spikepop_spikes::atomic::AtomicWriteError),
    /// A file or folder could not be read or written.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A CSV file could not be read or written.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// A file exists but does not hold what a dataset file holds (missing column, bad value, rows out of order).
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the row or column.
        message: String,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { path, what, source }
    }

    pub(crate) fn parquet(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Parquet { path, source }
    }

    pub(crate) fn csv(path: &Path) -> impl FnOnce(csv::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Csv { path, source }
    }

    pub(crate) fn malformed(path: &Path, message: impl Into<String>) -> Error {
        Error::Malformed {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
