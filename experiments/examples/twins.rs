//! How much a spike train can say about its DICs at all: "twins" are trains of a pool (training data) with the
//! same number of spikes as a test train and every log ISI within `eps` of it, so that a predictor reading the
//! trains to that relative precision cannot tell them apart. For two cells X and Y drawn from the same
//! conditional distribution, E|X - Y| <= 2 E|X - m| for any m, so half the mean |g_test - g_twin| bounds from
//! below the mean absolute error of any predictor that reads the trains to precision `eps` (the bound is that of
//! the population the pool and the test set are drawn from). Printed per `eps`, for the test trains of one label
//! that have a twin, next to the error of a network on the same trains; and, on the test trains with at least 15
//! twins, the ratio of E|X - median| to E|X - Y| / 2 among the twins, the factor from the bound to the error of
//! their median (1.41 for a Gaussian).
//!
//! If finer precision carried more information, the bound would fall as `eps` shrinks; if it stays flat, the
//! trains do not say more than the bound allows at any precision the data resolve (notes/predictor-log.md, 4i).
//!
//! `cargo run --release --manifest-path experiments/Cargo.toml --example twins -- --model da --pool A.csv --pool B.csv --test T.csv
//! [--weights W] [--label tonic]`

use std::collections::HashMap;
use std::path::PathBuf;

use spikepop_predict::Prediction;
use spikepop_predict::Predictor;
use spikepop_predict::data::{Sample, csv_files, read_csv};
use spikepop_predict::eval::median;
use spikepop_predict::features::LABELS;
use spikepop_spikes::features::{Classifier, Features, Label};

const EPS: [f64; 6] = [1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5];
const MIN_GROUP: usize = 15;

struct Train {
    log_isi: Vec<f64>,
    dics: [f64; 2],
}

fn read(paths: &[PathBuf]) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for p in paths {
        for f in csv_files(p)? {
            out.extend(read_csv(&f)?);
        }
    }
    Ok(out)
}

fn of_label(samples: &[Sample], label: Label) -> Vec<(usize, Train)> {
    samples
        .iter()
        .enumerate()
        .filter(|(_, s)| Features::of(&s.times_ms, &Classifier::Default).label == label)
        .map(|(i, s)| {
            let log_isi = s.times_ms.windows(2).map(|w| (w[1] - w[0]).ln()).collect();
            (
                i,
                Train {
                    log_isi,
                    dics: [s.g_s, s.g_u],
                },
            )
        })
        .collect()
}

#[derive(Default)]
struct Row {
    trains: usize,
    twins: Vec<usize>,
    bound: [f64; 2],
    network: [f64; 2],
    /// Over the trains with at least MIN_GROUP twins: sum of E|X - median| and of E|X - Y| / 2 (g_s).
    spread: [f64; 2],
    groups: usize,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut pool, mut test, mut model, mut weights, mut label) =
        (Vec::new(), Vec::new(), None, None, "tonic".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{a}: expected a value"))
        };
        match a.as_str() {
            "--pool" => pool.push(PathBuf::from(val()?)),
            "--test" => test.push(PathBuf::from(val()?)),
            "--model" => model = Some(val()?.clone()),
            "--weights" => weights = Some(PathBuf::from(val()?)),
            "--label" => label = val()?.clone(),
            _ => anyhow::bail!(
                "usage: twins --model stg|da --pool DATA [--pool DATA ...] --test DATA [--weights W] [--label tonic|bursting|irregular]"
            ),
        }
    }
    let model = model.ok_or_else(|| anyhow::anyhow!("--model is required"))?;
    anyhow::ensure!(
        !pool.is_empty() && !test.is_empty(),
        "--pool and --test are required"
    );
    let label = match label.as_str() {
        "tonic" => Label::Tonic,
        "bursting" => Label::Bursting,
        "irregular" => Label::Irregular,
        other => anyhow::bail!("--label {other}: expected one of {LABELS:?}"),
    };
    let predictor =
        Predictor::for_model(spikepop_models::registry::resolve(&model)?, weights.as_deref())?;

    let pool = of_label(&read(&pool)?, label);
    let test_samples = read(&test)?;
    let test = of_label(&test_samples, label);
    let trains: Vec<&[f64]> = test
        .iter()
        .map(|(i, _)| test_samples[*i].times_ms.as_slice())
        .collect();
    let centres: Vec<[f64; 2]> = predictor
        .predict_many(&trains)
        .into_iter()
        .map(|p| match p {
            Prediction::Spiking { output, .. } => [output.g_s, output.g_u],
            Prediction::Silent => unreachable!("trains of a firing label have 3 spikes or more"),
        })
        .collect();

    let mut by_len: HashMap<usize, Vec<&Train>> = HashMap::new();
    for (_, t) in &pool {
        by_len.entry(t.log_isi.len()).or_default().push(t);
    }
    let mut rows: Vec<Row> = EPS.iter().map(|_| Row::default()).collect();
    for ((_, t), centre) in test.iter().zip(&centres) {
        let Some(same_len) = by_len.get(&t.log_isi.len()) else {
            continue;
        };
        // The largest |log ISI difference| to each pool train of the same length.
        let dist: Vec<(f64, &Train)> = same_len
            .iter()
            .map(|p| {
                let d = p
                    .log_isi
                    .iter()
                    .zip(&t.log_isi)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                (d, *p)
            })
            .collect();
        for (row, &eps) in rows.iter_mut().zip(&EPS) {
            let twins: Vec<&Train> = dist
                .iter()
                .filter(|(d, _)| *d < eps)
                .map(|(_, p)| *p)
                .collect();
            if twins.is_empty() {
                continue;
            }
            row.trains += 1;
            row.twins.push(twins.len());
            for (k, (&truth, &c)) in t.dics.iter().zip(centre).enumerate() {
                let diff: f64 = twins.iter().map(|p| (p.dics[k] - truth).abs()).sum();
                row.bound[k] += diff / twins.len() as f64 / 2.0;
                row.network[k] += (c - truth).abs();
            }
            if twins.len() >= MIN_GROUP {
                let mut g: Vec<f64> = twins.iter().map(|p| p.dics[0]).collect();
                let n = g.len() as f64;
                let pairs: f64 = g
                    .iter()
                    .map(|a| g.iter().map(|b| (a - b).abs()).sum::<f64>())
                    .sum();
                row.spread[1] += pairs / (n * (n - 1.0)) / 2.0;
                let m = median(&mut g);
                row.spread[0] += g.iter().map(|x| (x - m).abs()).sum::<f64>() / n;
                row.groups += 1;
            }
        }
    }

    println!(
        "{} {label:?} trains: {} in the pool, {} in the test set",
        model,
        pool.len(),
        test.len()
    );
    println!(
        "| eps (log ISI) | test trains with a twin | twins (median) | bound g_s | bound g_u | network g_s | network g_u | E|X-med| / (E|X-Y|/2), g_s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (row, eps) in rows.iter_mut().zip(EPS) {
        if row.trains == 0 {
            println!("| {eps:.0e} | 0 | | | | | | |");
            continue;
        }
        let n = row.trains as f64;
        let twins = median(&mut row.twins.iter().map(|&v| v as f64).collect::<Vec<_>>());
        let ratio = if row.groups > 0 {
            format!(
                "{:.2} ({} trains)",
                row.spread[0] / row.spread[1],
                row.groups
            )
        } else {
            String::new()
        };
        println!(
            "| {eps:.0e} | {} | {twins:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {ratio} |",
            row.trains,
            row.bound[0] / n,
            row.bound[1] / n,
            row.network[0] / n,
            row.network[1] / n
        );
    }
    Ok(())
}
