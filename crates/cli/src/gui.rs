//! `spikepop gui`: the graphical interface, a page served on this computer only.

use anyhow::Result;

/// Start the graphical interface: a local web page to load spike trains, run the reconstruction, look at
/// the results and export them.
#[derive(clap::Args)]
#[command(
    after_help = "The server listens on 127.0.0.1 only (never on another interface) and prints the page's \
address; Ctrl-C stops it. See docs/gui.md."
)]
pub struct Args {
    /// Port on 127.0.0.1 (0: any free port) [default: 8600, or any free port if it is taken].
    #[arg(long)]
    port: Option<u16>,
    /// Print the address without opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// Largest spike file the page accepts, in MB.
    #[arg(long, value_name = "MB", default_value_t = spikepop_gui::DEFAULT_MAX_UPLOAD_MB)]
    max_upload_mb: usize,
}

pub fn run(args: Args) -> Result<()> {
    anyhow::ensure!(
        args.max_upload_mb > 0,
        "invalid --max-upload-mb 0: expected at least 1"
    );
    spikepop_gui::run(spikepop_gui::Options {
        port: args.port,
        open_browser: !args.no_browser,
        max_upload_bytes: args.max_upload_mb.saturating_mul(1024 * 1024),
    })
}
