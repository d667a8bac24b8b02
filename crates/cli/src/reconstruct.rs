//! `spikepop reconstruct`: from spike times to a verified degenerate population, one per recording.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use spikepop_dics::{Generator, GeneratorOptions};
use spikepop_models::sim::DEFAULT_DT;
use spikepop_reconstruct::{Prior, Reconstruction, SearchSettings, Tolerances, reconstruct};
use spikepop_spikes::features::{COLUMNS, Label};

use crate::input::InputArgs;
use crate::output::{cancel_flag, check_interrupted, model_by_name, progress, with_threads};

/// Reconstruct a verified population of models for every recording of a file.
#[derive(clap::Args)]
#[command(
    after_help = "Outputs in OUTDIR: population.csv (the verified models), summary.csv (one row per \
recording) and run.json (every setting, to repeat the run exactly). See docs/reconstruct.md."
)]
pub struct Args {
    /// Neuron model: stg or da.
    #[arg(long)]
    model: String,
    #[command(flatten)]
    input: InputArgs,
    /// Verified models wanted per recording.
    #[arg(short = 'n', long = "size", default_value_t = 100)]
    n: usize,
    /// Random seed (candidates); the run is reproducible for a seed whatever the threads.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (created; replaced if it holds an earlier reconstruction).
    #[arg(short, long, value_name = "OUTDIR")]
    output: PathBuf,
    /// DIC distribution per recording: a CSV with `ID,g_s,sd_g_s,g_u,sd_g_u` (what `spikepop predict`
    /// writes). Rows with empty DICs are silent recordings.
    #[arg(long, value_name = "DICS.csv")]
    prior: PathBuf,
    /// Candidates simulated at most per recording [default: 20 N].
    #[arg(long)]
    max_candidates: Option<usize>,
    /// Generate N candidates from the prediction without simulating or verifying them (the reference's
    /// behaviour).
    #[arg(long)]
    no_verify: bool,
    /// Relative tolerance on the rate of tonic and irregular recordings.
    #[arg(long, default_value_t = Tolerances::default().rate)]
    tol_rate: f64,
    /// Relative tolerance on the inter-burst period.
    #[arg(long, default_value_t = Tolerances::default().period)]
    tol_period: f64,
    /// Absolute tolerance on the mean spikes per burst.
    #[arg(long, default_value_t = Tolerances::default().spikes_per_burst)]
    tol_spikes_per_burst: f64,
    /// Relative tolerance on the mean burst duration.
    #[arg(long, default_value_t = Tolerances::default().burst_duration)]
    tol_burst_duration: f64,
    /// Refinement rounds (re-centring the DIC distribution on verified candidates).
    #[arg(long, default_value_t = 2)]
    refine_rounds: usize,
    /// Integration step of the verification simulations (ms).
    #[arg(long, default_value_t = DEFAULT_DT)]
    dt: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Reads the per-recording DIC distributions of a predictions file.
fn read_priors(path: &Path) -> Result<HashMap<String, Option<Prior>>> {
    let name = path.display();
    let (mut rdr, h) = crate::output::open_csv(path, "DIC file")?;
    let col = |c: &str| {
        h.iter().position(|x| x == c).with_context(|| {
            format!("{name}: line 1: no `{c}` column; expected ID,g_s,sd_g_s,g_u,sd_g_u")
        })
    };
    let cols = [
        col("ID")?,
        col("g_s")?,
        col("sd_g_s")?,
        col("g_u")?,
        col("sd_g_u")?,
    ];
    let mut out = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{name}: malformed CSV"))?;
        let line = rec.position().map_or(0, |p| p.line());
        let id = rec[cols[0]].to_string();
        let fields: Vec<&str> = cols[1..]
            .iter()
            .map(|&c| rec.get(c).unwrap_or("").trim())
            .collect();
        let prior = if fields.iter().all(|f| f.is_empty()) {
            None
        } else {
            let mut v = [0.0; 4];
            for (k, (f, what)) in fields
                .iter()
                .zip(["g_s", "sd_g_s", "g_u", "sd_g_u"])
                .enumerate()
            {
                v[k] = f
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .with_context(|| {
                        format!(
                            "{name}: line {line}, field {what}: `{f}`; expected a finite number"
                        )
                    })?;
            }
            if v[1] < 0.0 || v[3] < 0.0 {
                bail!("{name}: line {line}: a standard deviation is negative; expected sd >= 0");
            }
            Some(Prior {
                g_s: v[0],
                sd_g_s: v[1],
                g_u: v[2],
                sd_g_u: v[3],
            })
        };
        if out.insert(id.clone(), prior).is_some() {
            bail!("{name}: line {line}: duplicate ID {id}");
        }
    }
    Ok(out)
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else {
        x.to_string()
    }
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    anyhow::ensure!(
        args.n > 0,
        "invalid --size 0: expected at least one model per recording"
    );
    let recordings = args.input.read()?;
    let priors = read_priors(&args.prior)?;
    let mut settings = SearchSettings::for_model(model, args.n);
    settings.max_candidates = args.max_candidates.unwrap_or(20 * args.n);
    settings.verify = !args.no_verify;
    settings.refine_rounds = args.refine_rounds;
    settings.sim.dt = args.dt;
    settings.tolerances = Tolerances {
        rate: args.tol_rate,
        period: args.tol_period,
        spikes_per_burst: args.tol_spikes_per_burst,
        burst_duration: args.tol_burst_duration,
    };
    settings
        .sim
        .validate()
        .map_err(|e| anyhow::anyhow!("--{}", e.to_string().trim_start_matches("invalid ")))?;
    let generator = Generator::new(
        model,
        &GeneratorOptions {
            seed: args.seed,
            ..Default::default()
        },
    )?;
    let cancel = cancel_flag();
    let bar = progress(recordings.trains.len() as u64, "reconstructing");
    let results: Vec<(Option<Prior>, Result<Reconstruction, String>)> =
        with_threads(args.threads, || {
            recordings
                .trains
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let prior = priors.get(&t.id).copied().flatten();
                    let r = match prior {
                        Some(p) => reconstruct(&generator, &t.times_ms, p, &settings, i, cancel)
                            .map_err(|e| e.to_string()),
                        None if t.times_ms.len() < 3 => reconstruct(
                            &generator,
                            &t.times_ms,
                            Prior {
                                g_s: 0.0,
                                sd_g_s: 1.0,
                                g_u: 0.0,
                                sd_g_u: 1.0,
                            },
                            &settings,
                            i,
                            cancel,
                        )
                        .map_err(|e| e.to_string()),
                        None => Err(format!(
                            "no DIC distribution for ID {} in {}",
                            t.id,
                            args.prior.display()
                        )),
                    };
                    bar.inc(1);
                    (prior, r)
                })
                .collect()
        })?;
    bar.finish_and_clear();
    check_interrupted()?;

    let names: Vec<&str> = model.conductance_names().collect();
    write_outdir(&args.output, |dir| {
        let mut pop = std::io::BufWriter::new(std::fs::File::create(dir.join("population.csv"))?);
        writeln!(
            pop,
            "ID,model,{},g_f,g_s,g_u,score,verified",
            names.join(",")
        )?;
        let mut sum = std::io::BufWriter::new(std::fs::File::create(dir.join("summary.csv"))?);
        writeln!(
            sum,
            "{},pred_g_s,pred_sd_g_s,pred_g_u,pred_sd_g_u,refined_g_s,refined_sd_g_s,refined_g_u,refined_sd_g_u,\
             candidates,acceptance,verified,status",
            COLUMNS.join(",")
        )?;
        for (t, (prior, r)) in recordings.trains.iter().zip(&results) {
            let id = csv_field(&t.id);
            let p = prior.map_or([f64::NAN; 4], |p| [p.g_s, p.sd_g_s, p.g_u, p.sd_g_u]);
            match r {
                Ok(r) => {
                    for (k, m) in r.members.iter().enumerate() {
                        let g: Vec<String> = m.g.iter().map(|x| x.to_string()).collect();
                        writeln!(
                            pop,
                            "{id},{k},{},{},{},{},{},{}",
                            g.join(","),
                            m.dics.g_f,
                            m.dics.g_s,
                            m.dics.g_u,
                            fmt(m.distance),
                            if settings.verify {
                                m.verified.to_string()
                            } else {
                                String::new()
                            }
                        )?;
                    }
                    let f = &r.features;
                    let q = r
                        .refined
                        .map_or([f64::NAN; 4], |p| [p.g_s, p.sd_g_s, p.g_u, p.sd_g_u]);
                    let status = if f.label == Label::Silent {
                        "silent: no population".to_string()
                    } else if !settings.verify {
                        "not verified (--no-verify)".to_string()
                    } else if r.members.len() < args.n {
                        format!("budget spent: {} of {} verified", r.members.len(), args.n)
                    } else {
                        "ok".to_string()
                    };
                    let vals: Vec<String> = f.values().iter().map(|&x| fmt(x)).collect();
                    writeln!(
                        sum,
                        "{id},{},{},{},{},{},{},{}",
                        f.label.as_str(),
                        vals.join(","),
                        [p, q]
                            .concat()
                            .iter()
                            .map(|&x| fmt(x))
                            .collect::<Vec<_>>()
                            .join(","),
                        r.candidates_tried,
                        fmt(r.acceptance()),
                        r.members.iter().filter(|m| m.verified).count(),
                        status
                    )?;
                }
                Err(e) => {
                    let blanks = vec!["NaN"; COLUMNS.len() - 2].join(",");
                    let pq = [p, [f64::NAN; 4]]
                        .concat()
                        .iter()
                        .map(|&x| fmt(x))
                        .collect::<Vec<_>>()
                        .join(",");
                    writeln!(
                        sum,
                        "{id},,{blanks},{pq},0,NaN,0,{}",
                        csv_field(&format!("error: {e}"))
                    )?;
                }
            }
        }
        pop.flush()?;
        sum.flush()?;
        let run = serde_json::json!({
            "spikepop": env!("CARGO_PKG_VERSION"),
            "command": "reconstruct",
            "model": model.name,
            "input": args.input.input.display().to_string(),
            "format": recordings.format.as_str(),
            "prior": args.prior.display().to_string(),
            "seed": args.seed,
            "n": args.n,
            "max_candidates": settings.max_candidates,
            "verify": settings.verify,
            "refine_rounds": settings.refine_rounds,
            "tolerances": {
                "rate": settings.tolerances.rate,
                "period": settings.tolerances.period,
                "spikes_per_burst": settings.tolerances.spikes_per_burst,
                "burst_duration": settings.tolerances.burst_duration,
            },
            "simulation": {
                "dt": settings.sim.dt,
                "transient": settings.sim.transient,
                "min_window": settings.min_window,
            },
            "vth": model.default_vth,
        });
        std::fs::write(
            dir.join("run.json"),
            serde_json::to_string_pretty(&run)? + "\n",
        )?;
        Ok(())
    })?;
    let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
    eprintln!(
        "reconstructed {ok} of {} recordings into {}",
        recordings.trains.len(),
        args.output.display()
    );
    for (t, (_, r)) in recordings.trains.iter().zip(&results) {
        if let Err(e) = r {
            eprintln!("warning: ID {}: {e}", t.id);
        }
    }
    Ok(())
}

/// Quotes a CSV field when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Fills a fresh temporary folder next to `out`, then moves it into place, so `out` is never half-written.
/// An existing `out` is replaced only if it holds an earlier reconstruction (a `run.json`) or is empty.
fn write_outdir(out: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if out.exists() {
        let empty = out
            .read_dir()
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !(empty || out.join("run.json").exists()) {
            bail!(
                "{}: exists and is not an earlier reconstruction; choose another --output",
                out.display()
            );
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".spikepop-reconstruct-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    fill(tmp.path()).with_context(|| format!("cannot write the outputs for {}", out.display()))?;
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let tmp = tmp.keep();
    std::fs::rename(&tmp, out)
        .with_context(|| format!("cannot move the outputs into {}", out.display()))?;
    Ok(())
}
