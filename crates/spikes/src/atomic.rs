//! Outputs written atomically: every file and folder spikepop writes appears at its path complete or not at
//! all. The content goes to a temporary file (or folder) beside the destination, which is renamed over it
//! only once written and synced; on an error, or an interruption, nothing half-written is left behind.
//!
//! Temporary files are created with the mode a plain `File::create` would give (0666, less the umask;
//! folders 0777 less the umask), so outputs can be read by whoever the user's umask lets read them, as with
//! any other program's files (a temporary file's usual 0600 would survive the rename).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile, TempDir};

/// Prefix of every temporary file and folder, so that leftovers of a killed process are recognisable.
pub const TMP_PREFIX: &str = ".spikepop-";

/// Why an atomic write failed: what was being done, to which path, and the system's error.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct AtomicWriteError {
    /// What was being done ("create a temporary file in", "write", "move the output into place at", ...).
    pub action: &'static str,
    /// The path concerned.
    pub path: PathBuf,
    /// The system's error.
    pub source: io::Error,
}

fn error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> AtomicWriteError {
    let path = path.to_path_buf();
    move |source| AtomicWriteError {
        action,
        path,
        source,
    }
}

/// The folder `path` lives in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn builder(mode: u32) -> Builder<'static, 'static> {
    let mut b = Builder::new();
    b.prefix(TMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The system applies the umask to the mode asked for, as it does for any new file.
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    b
}

/// A temporary file beside `path`, with a plain file's mode; [`commit`] moves it into place.
pub fn temp_file_beside(path: &Path) -> Result<NamedTempFile, AtomicWriteError> {
    let dir = parent(path);
    builder(0o666)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(error("create a temporary file in", dir))
}

/// Syncs `tmp` and renames it over `path`.
pub fn commit(tmp: NamedTempFile, path: &Path) -> Result<(), AtomicWriteError> {
    tmp.as_file().sync_all().map_err(error("write", path))?;
    tmp.persist(path)
        .map_err(|e| error("move the output into place at", path)(e.error))?;
    Ok(())
}

/// Writes `path` atomically: `fill` writes into a buffered temporary file beside it, which replaces `path`
/// only when `fill` succeeds. `fill`'s own errors pass through unchanged.
pub fn write_file<E, F>(path: &Path, fill: F) -> Result<(), E>
where
    E: From<AtomicWriteError>,
    F: FnOnce(&mut dyn Write) -> Result<(), E>,
{
    let tmp = temp_file_beside(path)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush().map_err(error("write", path))?;
    }
    commit(tmp, path)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    write_file(path, |w| w.write_all(bytes).map_err(error("write", path)))
}

/// Fills a fresh temporary folder beside `out` (a folder's mode: 0777 less the umask), then moves it into
/// place, replacing an existing `out` (the caller decides whether one may be replaced). `fill`'s own errors
/// pass through unchanged; the temporary folder is removed on any error.
pub fn write_dir<E, F>(out: &Path, fill: F) -> Result<(), E>
where
    E: From<AtomicWriteError>,
    F: FnOnce(&Path) -> Result<(), E>,
{
    let dir = parent(out);
    let tmp: TempDir = builder(0o777)
        .tempdir_in(dir)
        .map_err(error("create a temporary folder in", dir))?;
    fill(tmp.path())?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(error("replace", out))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        error("move the outputs into", out)(e)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn outputs_appear_whole_with_the_modes_of_plain_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.csv");
        write_bytes(&out, b"x,y\n").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"x,y\n");
        let plain = dir.path().join("plain.csv");
        std::fs::File::create(&plain).unwrap();
        let folder = dir.path().join("out");
        write_dir(&folder, |p: &Path| write_bytes(&p.join("b.csv"), b"1\n")).unwrap();
        assert_eq!(std::fs::read(folder.join("b.csv")).unwrap(), b"1\n");
        let plain_dir = dir.path().join("plain");
        std::fs::create_dir(&plain_dir).unwrap();
        #[cfg(unix)]
        {
            // Whatever the umask, the same mode as a file or folder made the ordinary way.
            assert_eq!(mode(&out), mode(&plain));
            assert_eq!(mode(&folder.join("b.csv")), mode(&plain));
            assert_eq!(mode(&folder), mode(&plain_dir));
            assert_ne!(
                mode(&out),
                0o600,
                "a temporary file's mode survived the rename"
            );
        }
        // A failed fill leaves neither the file nor a temporary one behind, and keeps an older file.
        let err: Result<(), AtomicWriteError> = write_file(&out, |w| {
            w.write_all(b"half").unwrap();
            Err(error("write", Path::new("x"))(io::Error::other("stop")))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&out).unwrap(), b"x,y\n");
        let err: Result<(), AtomicWriteError> = write_dir(&dir.path().join("never"), |_: &Path| {
            Err(error("write", Path::new("x"))(io::Error::other("stop")))
        });
        assert!(err.is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with(TMP_PREFIX) && n != "never"),
            "{names:?}"
        );
    }
}
