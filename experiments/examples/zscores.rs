//! Prints, for each train of a spike file (any format `spikepop` reads), its standardised features
//! `(x - x_mean) / x_sd` under a weights file, largest |z| first: which features put a train outside the
//! training data.
//!
//! `cargo run --release --manifest-path experiments/Cargo.toml --example zscores -- WEIGHTS.safetensors FILE.csv [TOP]`

use spikepop_predict::features::{NAMES, features};
use spikepop_predict::net::Weights;
use spikepop_spikes::{ReadOptions, read_trains};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(w), Some(f)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: zscores WEIGHTS.safetensors FILE.csv [TOP]");
    };
    let top: usize = args.get(3).map_or(Ok(8), |s| s.parse())?;
    let weights = Weights::from_bytes(&std::fs::read(w)?)?;
    for t in read_trains(std::path::Path::new(f), &ReadOptions::default())?.trains {
        let Some((x, label)) = features(&t.times_ms) else {
            println!("{}: silent", t.id);
            continue;
        };
        let mut z: Vec<(f32, &str)> = x
            .iter()
            .zip(weights.x_mean.iter().zip(&weights.x_sd))
            .zip(NAMES)
            .map(|((v, (m, s)), n)| ((v - m) / s, n))
            .collect();
        z.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
        let shown: Vec<String> = z
            .iter()
            .take(top)
            .map(|(v, n)| format!("{n} {v:+.1}"))
            .collect();
        println!("{} ({label:?}): {}", t.id, shown.join(", "));
    }
    Ok(())
}
