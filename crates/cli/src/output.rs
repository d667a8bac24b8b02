//! Atomic output files and terminal progress shared by every subcommand.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `path` atomically: `fill` writes into a temporary file in the same folder, which is renamed over
/// `path` only when `fill` succeeds; the file gets a plain file's mode (the umask's). On error (or
/// interruption) no partial file is left behind.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    spikepop_spikes::atomic::write_file(path, fill)
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, ETA {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// The process-wide interruption flag, set by Ctrl-C (the handler is installed on first use). Long loops
/// poll it and stop early; the command then fails without writing its outputs.
pub fn cancel_flag() -> &'static std::sync::atomic::AtomicBool {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};
    static FLAG: AtomicBool = AtomicBool::new(false);
    static HANDLER: OnceLock<()> = OnceLock::new();
    HANDLER.get_or_init(|| {
        // If another handler is already installed there is nothing better to do than to keep it.
        let _ = ctrlc::set_handler(|| FLAG.store(true, Ordering::SeqCst));
    });
    &FLAG
}

/// Fails with a clear message if the user interrupted the run.
pub fn check_interrupted() -> Result<()> {
    if cancel_flag().load(std::sync::atomic::Ordering::SeqCst) {
        anyhow::bail!("interrupted: no output was written");
    }
    Ok(())
}

/// Runs `f` on a rayon pool of `threads` threads (all cores when `None`).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        anyhow::ensure!(n > 0, "invalid --threads 0: expected at least 1");
        b = b.num_threads(n);
    }
    Ok(b.build()
        .context("cannot start the worker threads")?
        .install(f))
}

/// The model given on the command line: a built-in name or a model file's path (`--model`).
pub fn model_by_name(name: &str) -> Result<&'static spikepop_models::Model> {
    Ok(spikepop_models::registry::resolve(name)?)
}
