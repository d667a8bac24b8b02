//! # spikepop-gui: the graphical interface
//!
//! `spikepop gui` starts a small web server on 127.0.0.1 (never on another interface) and opens its page in
//! the browser. The page takes a user through the pipeline in the order of the work: load a spike file (any
//! format the readers know), choose the settings, run the reconstruction with live progress and a cancel
//! button, inspect each recording (rasters, the DIC plane, conductance distributions, voltage traces simulated
//! on demand), and export the tables and figures.
//!
//! The server calls the same library functions as `spikepop reconstruct`
//! ([`spikepop_reconstruct::pipeline::run`], [`spikepop_reconstruct::pipeline::write_population`], ...), so a
//! downloaded `population.csv` is byte-identical to the command line's for the same seed. Figures are drawn on
//! the server as SVG with `plotters` ([`plots`]); the page (`crates/gui/assets`, embedded in the binary) is
//! plain HTML, CSS and JavaScript. `docs/gui.md` describes the page, the flags and the limits.

#![deny(missing_docs)]

mod assets;
mod error;
mod job;
mod load;
pub mod plots;
mod server;
mod state;
mod traces;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use tokio::net::TcpListener;

/// The port tried first when none is given; if it is taken, any free port is used instead.
pub const DEFAULT_PORT: u16 = 8600;
/// The default upload limit, in MB.
pub const DEFAULT_MAX_UPLOAD_MB: usize = 100;

/// How to start the interface.
#[derive(Clone, Debug)]
pub struct Options {
    /// Port on 127.0.0.1; `Some(0)` picks any free port, `None` tries [`DEFAULT_PORT`] and falls back to a
    /// free one.
    pub port: Option<u16>,
    /// Open the page in the default browser once the server listens.
    pub open_browser: bool,
    /// Largest upload accepted (bytes); larger files are refused with a message.
    pub max_upload_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: None,
            open_browser: true,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_MB * 1024 * 1024,
        }
    }
}

/// Runs the interface until the process is stopped: binds 127.0.0.1, prints the page's address on stdout
/// (`spikepop gui: serving http://127.0.0.1:PORT/`), opens the browser if asked, and serves.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async {
        let listener = bind(opts.port).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let mut stdout = std::io::stdout();
        writeln!(stdout, "spikepop gui: serving {url} (Ctrl-C stops it)")?;
        stdout.flush()?;
        if opts.open_browser
            && let Err(e) = open::that_detached(&url)
        {
            eprintln!("spikepop gui: could not open a browser ({e}); open {url} yourself");
        }
        serve(listener, opts.max_upload_bytes).await
    })
}

/// Serves the interface on `listener` until the process is stopped.
pub async fn serve(listener: TcpListener, max_upload_bytes: usize) -> anyhow::Result<()> {
    let app = server::router(state::AppState::new(max_upload_bytes));
    axum::serve(listener, app)
        .await
        .context("the web server stopped")
}

/// Binds 127.0.0.1 on the chosen port (see [`Options::port`]).
async fn bind(port: Option<u16>) -> anyhow::Result<TcpListener> {
    let at = |p: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
    match port {
        Some(p) => TcpListener::bind(at(p)).await.with_context(|| {
            format!("cannot listen on 127.0.0.1:{p}; is it taken? choose another --port (0: any free port)")
        }),
        None => match TcpListener::bind(at(DEFAULT_PORT)).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(at(0))
                .await
                .context("cannot listen on any port of 127.0.0.1"),
        },
    }
}
