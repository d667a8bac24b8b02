//! `spikepop features`: read spike trains in any supported format and write one row of features per train, or
//! print a summary table.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use rayon::prelude::*;
use spikepop_spikes::features::{Classifier, Features};

// The reader options moved to `input`; kept visible here for the commands that import them from here.
use crate::input::InputArgs;
#[allow(unused_imports)]
pub(crate) use crate::input::{FormatArg, OnlyArg, UnitArg};
use crate::output::write_atomic;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ClassifierArg {
    /// spikepop's rule: silent, tonic, bursting or irregular (see docs/features.md).
    Default,
    /// The reference application's rule (CV <= 0.15 tonic, else bursting), with its burst features.
    Reference,
}

/// Arguments of `spikepop features`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepop features --input stg_set.csv -o features.csv\n  spikepop features --input spikes.tsv --unit s --summary\n  spikepop features --input kilosort_out/ --only good -o features.csv\n  spikepop features --input session.nwb --classifier reference -o features.csv\n\nFeature definitions and file formats: docs/features.md"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Rule that labels each train and finds its bursts.
    #[arg(long, value_enum, default_value = "default")]
    classifier: ClassifierArg,
    /// Features CSV to write, one row per train ("-" for standard output).
    #[arg(
        short = 'o',
        long,
        value_name = "FEATURES.csv",
        required_unless_present = "summary"
    )]
    output: Option<PathBuf>,
    /// Print a summary table (trains per label, median rates, ...) on the terminal.
    #[arg(long)]
    summary: bool,
}

/// Runs `spikepop features`.
pub fn run(args: Args) -> Result<()> {
    let classifier = match args.classifier {
        ClassifierArg::Default => Classifier::Default,
        ClassifierArg::Reference => Classifier::Reference,
    };
    let recordings = args.input.read()?;
    let features: Vec<Features> = recordings
        .trains
        .par_iter()
        .map(|t| Features::of(&t.times_ms, &classifier))
        .collect();

    if let Some(out) = &args.output {
        if out.as_os_str() == "-" {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            spikepop_spikes::features::write_csv(&mut lock, &recordings.trains, &features)
                .context("cannot write the features to standard output")?;
            lock.flush()?;
        } else {
            write_atomic(out, |w| {
                spikepop_spikes::features::write_csv(w, &recordings.trains, &features)?;
                Ok(())
            })
            .with_context(|| format!("cannot write {}", out.display()))?;
        }
    }
    if args.summary {
        print!(
            "{}",
            spikepop_spikes::features::summary_table(
                &args.input.input.display().to_string(),
                &recordings.format.to_string(),
                &features,
                &classifier,
            )
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rel: &str) -> PathBuf {
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("../spikes/tests/data")
            .join(rel)
    }

    fn args(input: PathBuf, output: Option<PathBuf>) -> Args {
        Args {
            input: InputArgs {
                input,
                format: None,
                unit: None,
                rate: None,
                only: None,
                detect: Default::default(),
            },
            classifier: ClassifierArg::Default,
            output,
            summary: false,
        }
    }

    #[test]
    fn writes_one_row_per_train_with_text_ids() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("features.csv");
        run(Args {
            classifier: ClassifierArg::Reference,
            ..args(data("reference/stg_set.csv"), Some(out.clone()))
        })
        .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0], spikepop_spikes::features::COLUMNS.join(","));
        assert!(lines[1].starts_with("1,tonic,10,"), "{}", lines[1]);
        assert!(lines[2].starts_with("2,bursting,16,"), "{}", lines[2]);
        assert!(
            lines[1].contains(",NaN,"),
            "not-applicable features are NaN: {}",
            lines[1]
        );
    }

    #[test]
    fn a_bad_file_leaves_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("features.csv");
        let err = run(args(data("reference/unclosed.csv"), Some(out.clone()))).unwrap_err();
        assert!(
            format!("{err:#}").contains("row 3 (line 4), field spiking_times: unclosed bracket"),
            "{err:#}"
        );
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary file left behind"
        );
    }
}
