//! `spikepop synth`: write synthetic spike trains (tonic, bursting, Poisson, irregular) in the reference CSV
//! format, for tests and demos.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use spikepop_spikes::synth::{self, Kind, SynthParams};

use crate::output::write_atomic;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KindArg {
    /// Regular spikes at --rate.
    Tonic,
    /// Bursts of --spikes-per-burst spikes at --intra-hz, one every --period ms.
    Bursting,
    /// Poisson process at --rate (CV 1).
    Poisson,
    /// Gamma renewal process of shape 2 at --rate (CV about 0.71).
    Irregular,
}

/// Arguments of `spikepop synth`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepop synth --kind bursting --period 1000 --spikes-per-burst 5 --intra-hz 100 -n 10 --seed 1 -o bursting.csv\n  spikepop synth --kind tonic --rate 10 --jitter 2 --drop 0.05 -n 100 --seed 2 -o tonic.csv"
)]
pub struct Args {
    /// Kind of train.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Firing rate of tonic, Poisson and irregular trains (Hz) [default: 10].
    #[arg(long, value_name = "HZ")]
    rate: Option<f64>,
    /// Bursting: onset-to-onset period of the bursts (ms) [default: 1000].
    #[arg(long, value_name = "MS")]
    period: Option<f64>,
    /// Bursting: spikes per burst [default: 5].
    #[arg(long, value_name = "K")]
    spikes_per_burst: Option<usize>,
    /// Bursting: intra-burst frequency (Hz) [default: 100].
    #[arg(long, value_name = "F")]
    intra_hz: Option<f64>,
    /// Length of each recording (ms).
    #[arg(long, value_name = "MS", default_value_t = 10_000.0)]
    duration: f64,
    /// Standard deviation of a normal jitter added to every spike (ms).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    jitter: f64,
    /// Probability of deleting each spike, in [0, 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop: f64,
    /// Number of trains (IDs 1 to N).
    #[arg(short = 'n', value_name = "N", default_value_t = 1)]
    n: usize,
    /// Seed of the random generator: the same seed gives the same trains.
    #[arg(long, value_name = "S")]
    seed: u64,
    /// Reference-format CSV to write (ID,spiking_times).
    #[arg(short = 'o', long, value_name = "FILE.csv")]
    output: PathBuf,
}

/// Runs `spikepop synth`.
pub fn run(args: Args) -> Result<()> {
    let defaults = SynthParams::default();
    let kind = match args.kind {
        KindArg::Tonic => Kind::Tonic,
        KindArg::Bursting => Kind::Bursting,
        KindArg::Poisson => Kind::Poisson,
        KindArg::Irregular => Kind::Irregular,
    };
    let ignored = match kind {
        Kind::Bursting => args.rate.is_some().then_some("--rate"),
        _ => (args.period.is_some() || args.spikes_per_burst.is_some() || args.intra_hz.is_some())
            .then_some("--period, --spikes-per-burst and --intra-hz"),
    };
    if let Some(name) = ignored {
        eprintln!(
            "warning: {name}: not used by {} trains, ignored",
            kind.as_str()
        );
    }
    let params = SynthParams {
        kind,
        rate_hz: args.rate.unwrap_or(defaults.rate_hz),
        period_ms: args.period.unwrap_or(defaults.period_ms),
        spikes_per_burst: args.spikes_per_burst.unwrap_or(defaults.spikes_per_burst),
        intra_hz: args.intra_hz.unwrap_or(defaults.intra_hz),
        duration_ms: args.duration,
        jitter_ms: args.jitter,
        drop: args.drop,
    };
    let trains = synth::trains(&params, args.n, args.seed)?;
    write_atomic(&args.output, |w| {
        spikepop_spikes::write_reference_csv(w, &trains)?;
        Ok(())
    })
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    let spikes: usize = trains.iter().map(|t| t.times_ms.len()).sum();
    eprintln!(
        "wrote {} {} train(s), {spikes} spikes, to {}",
        trains.len(),
        kind.as_str(),
        args.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikepop_spikes::features::{Classifier, Features, Label};
    use spikepop_spikes::{ReadOptions, read_trains};

    #[test]
    fn writes_reference_csv_that_reads_back_with_the_right_labels() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.csv");
        let args = Args {
            kind: KindArg::Bursting,
            rate: None,
            period: Some(800.0),
            spikes_per_burst: Some(4),
            intra_hz: Some(120.0),
            duration: 10_000.0,
            jitter: 2.0,
            drop: 0.05,
            n: 5,
            seed: 9,
            output: out.clone(),
        };
        run(args).unwrap();
        let first = std::fs::read(&out).unwrap();
        let rec = read_trains(&out, &ReadOptions::default()).unwrap();
        assert_eq!(rec.trains.len(), 5);
        assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
        for t in &rec.trains {
            assert_eq!(
                Features::of(&t.times_ms, &Classifier::Default).label,
                Label::Bursting
            );
        }
        // Same seed, same file.
        let again = dir.path().join("again.csv");
        run(Args {
            kind: KindArg::Bursting,
            rate: None,
            period: Some(800.0),
            spikes_per_burst: Some(4),
            intra_hz: Some(120.0),
            duration: 10_000.0,
            jitter: 2.0,
            drop: 0.05,
            n: 5,
            seed: 9,
            output: again.clone(),
        })
        .unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), first);
    }

    #[test]
    fn impossible_parameters_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.csv");
        let args = Args {
            kind: KindArg::Poisson,
            rate: Some(-1.0),
            period: None,
            spikes_per_burst: None,
            intra_hz: None,
            duration: 1000.0,
            jitter: 0.0,
            drop: 0.0,
            n: 1,
            seed: 1,
            output: out.clone(),
        };
        let err = run(args).unwrap_err();
        assert_eq!(err.to_string(), "--rate must be a positive number, got -1");
        assert!(!out.exists());
    }
}
