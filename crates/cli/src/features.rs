//! `spikepop features`: read spike trains in any supported format and write one row of features per train, or
//! print a summary table.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use rayon::prelude::*;
use spikepop_spikes::Recordings;
use spikepop_spikes::features::{Classifier, Features, Label};

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
            summary(&args.input.input, &recordings, &features, &classifier)
        );
    }
    Ok(())
}

/// Median of the values that are not NaN; NaN when there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// A number for the table: 4 significant digits, `-` for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        "-".to_string()
    } else if v == 0.0 {
        "0".to_string()
    } else if (0.01..1.0e5).contains(&v.abs()) {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 4) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

fn summary(
    input: &Path,
    rec: &Recordings,
    features: &[Features],
    classifier: &Classifier,
) -> String {
    let mut s = String::new();
    let n = features.len();
    let spikes: usize = features.iter().map(|f| f.n_spikes).sum();
    s += &format!(
        "{}: {n} train(s), {spikes} spikes, {} format, {} classifier\n\n",
        input.display(),
        rec.format,
        classifier.as_str()
    );
    s += &format!(
        "{:<10} {:>7} {:>8} {:>15} {:>10} {:>10}\n",
        "label", "trains", "share", "median rate Hz", "median CV", "median CV2"
    );
    for label in Label::ALL {
        let of: Vec<&Features> = features.iter().filter(|f| f.label == label).collect();
        let share = if n == 0 {
            f64::NAN
        } else {
            100.0 * of.len() as f64 / n as f64
        };
        s += &format!(
            "{:<10} {:>7} {:>7.1}% {:>15} {:>10} {:>10}\n",
            label.as_str(),
            of.len(),
            share,
            num(median(of.iter().map(|f| f.mean_rate_hz))),
            num(median(of.iter().map(|f| f.cv))),
            num(median(of.iter().map(|f| f.cv2))),
        );
    }
    s += &format!(
        "{:<10} {:>7} {:>8} {:>15} {:>10} {:>10}\n",
        "all",
        n,
        "",
        num(median(features.iter().map(|f| f.mean_rate_hz))),
        num(median(features.iter().map(|f| f.cv))),
        num(median(features.iter().map(|f| f.cv2))),
    );
    let bursting: Vec<&Features> = features
        .iter()
        .filter(|f| f.label == Label::Bursting)
        .collect();
    if !bursting.is_empty() {
        let med = |get: fn(&Features) -> f64| num(median(bursting.iter().map(|f| get(f))));
        s += &format!(
            "\nbursting trains (medians): {} spikes per burst, burst duration {} ms, intra-burst {} Hz, \
             inter-burst {} Hz (period {} ms), duty cycle {}\n",
            med(|f| f.spikes_per_burst),
            med(|f| f.burst_duration_ms),
            med(|f| f.intra_burst_hz),
            med(|f| f.inter_burst_hz),
            med(|f| f.inter_burst_period_ms),
            med(|f| f.duty_cycle),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikepop_spikes::{ReadOptions, read_trains};

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

    #[test]
    fn summary_counts_labels() {
        let rec = read_trains(&data("reference/valid.csv"), &ReadOptions::default()).unwrap();
        let features: Vec<Features> = rec
            .trains
            .iter()
            .map(|t| Features::of(&t.times_ms, &Classifier::Default))
            .collect();
        let s = summary(
            Path::new("valid.csv"),
            &rec,
            &features,
            &Classifier::Default,
        );
        assert!(
            s.starts_with("valid.csv: 5 train(s), 26 spikes, reference format, default classifier"),
            "{s}"
        );
        assert!(s.contains("silent           3    60.0%"), "{s}");
        assert!(
            s.contains("tonic            1    20.0%           10.00"),
            "{s}"
        );
        assert!(
            s.contains("bursting trains (medians): 4.000 spikes per burst"),
            "{s}"
        );
    }

    #[test]
    fn numbers_for_the_table() {
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(9.97727), "9.977");
        assert_eq!(num(127.85), "127.8");
        assert_eq!(num(0.0008), "8.000e-4");
        assert_eq!(median([3.0, f64::NAN, 1.0, 2.0, 10.0].into_iter()), 2.5);
    }
}
