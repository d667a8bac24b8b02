//! The whole job for a file of recordings: DIC distribution per recording (from the learned predictor or
//! given), then [`reconstruct`] for each, and the two tables users read (`population.csv`, `summary.csv`).
//!
//! The command line (`spikepop reconstruct`) and the graphical interface both call [`run`] and the writers
//! here, so they produce the same bytes for the same seed.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;

use spikepop_dics::{Generator, GeneratorOptions, SetupError};
use spikepop_models::Model;
use spikepop_predict::{Ood, Prediction, Predictor};
use spikepop_spikes::SpikeTrain;
use spikepop_spikes::features::{COLUMNS, Classifier, Features, Label};

use crate::search::{Prior, Reconstruction, SearchError, SearchSettings, reconstruct_with_rate};

/// Where each recording's DIC distribution comes from.
pub enum Priors<'a> {
    /// The learned predictor (its mean and calibrated sd of g_s and g_u).
    Predictor(&'a Predictor),
    /// Given per recording ID (for example read from the output of `spikepop predict`); `None` marks a
    /// silent recording. `source` names where they came from, for messages.
    Table {
        /// Distribution per ID.
        priors: HashMap<String, Option<Prior>>,
        /// The file (or other source) they were read from.
        source: String,
    },
}

/// What the predictor said about one recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicted {
    /// The DIC distribution used as the first proposal (`None` for a silent recording).
    pub prior: Option<Prior>,
    /// What the recording's firing rate alone says about its DICs (the predictor's rate-only baseline of
    /// tonic trains),
    /// for a tonic recording whose rate lies in the training range and a predictor that has the baseline;
    /// part of a tonic population's DIC targets are drawn from it
    /// ([`SearchSettings::tonic_rate_share`](crate::SearchSettings::tonic_rate_share)).
    pub rate: Option<Prior>,
    /// The predictor's most probable label (`None` when the distribution was given, not predicted).
    pub label: Option<Label>,
    /// The predictor's label probabilities, in the order of `spikepop_predict::features::LABELS`.
    pub probabilities: Vec<f64>,
    /// Why the recording is out of the predictor's domain (written `range`, `rate`, `windows`, joined by
    /// `+`); empty when it is not, or when the distribution was given.
    pub ood: Ood,
}

/// The outcome for one recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The recording's ID.
    pub id: String,
    /// The first DIC distribution.
    pub predicted: Predicted,
    /// The reconstruction, or why there is none (in words).
    pub result: Result<Reconstruction, String>,
}

impl Outcome {
    /// A one-line status: `ok`, `silent: no population`, `budget spent: k of N verified`, or the error; when
    /// the recording is out of the predictor's domain, followed by `; out of domain: <reasons>` (its
    /// population was searched from a wide distribution, not from a confident prediction).
    pub fn status(&self, settings: &SearchSettings) -> String {
        let s = self.status_alone(settings);
        if self.predicted.ood.is_empty() {
            s
        } else {
            format!("{s}; out of domain: {}", self.predicted.ood)
        }
    }

    fn status_alone(&self, settings: &SearchSettings) -> String {
        match &self.result {
            Err(e) => format!("error: {e}"),
            Ok(r) if r.features.label == Label::Silent => "silent: no population".into(),
            Ok(_) if !settings.verify => "not verified (--no-verify)".into(),
            Ok(r) if r.members.len() < settings.n => {
                format!(
                    "budget spent: {} of {} verified",
                    r.members.len(),
                    settings.n
                )
            }
            Ok(_) => "ok".into(),
        }
    }
}

/// Why the job could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The population generator rejected its settings.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The run was interrupted.
    #[error("interrupted")]
    Interrupted,
}

/// The DIC distributions of every recording, in order.
pub fn predict_all(trains: &[SpikeTrain], priors: &Priors) -> Vec<Result<Predicted, String>> {
    match priors {
        Priors::Predictor(p) => {
            let times: Vec<&[f64]> = trains.iter().map(|t| t.times_ms.as_slice()).collect();
            p.predict_many(&times)
                .into_iter()
                .zip(&times)
                .map(|(pred, times)| {
                    Ok(match pred {
                        Prediction::Silent => Predicted {
                            prior: None,
                            rate: None,
                            label: Some(Label::Silent),
                            probabilities: Vec::new(),
                            ood: Ood::default(),
                        },
                        Prediction::Spiking {
                            label, output, ood, ..
                        } => Predicted {
                            prior: Some(Prior {
                                g_s: output.g_s,
                                sd_g_s: output.sd_g_s,
                                g_u: output.g_u,
                                sd_g_u: output.sd_g_u,
                            }),
                            rate: rate_reading(p, times, label, ood),
                            label: Some(label),
                            probabilities: output.p.iter().map(|&p| f64::from(p)).collect(),
                            ood,
                        },
                    })
                })
                .collect()
        }
        Priors::Table { priors, source } => trains
            .iter()
            .map(|t| match priors.get(&t.id) {
                Some(prior) => Ok(Predicted {
                    prior: *prior,
                    rate: None,
                    label: None,
                    probabilities: Vec::new(),
                    ood: Ood::default(),
                }),
                None => Err(format!("no DIC distribution for ID {} in {source}", t.id)),
            })
            .collect(),
    }
}

/// The predictor of `priors` told the current noise the candidates are simulated with, when they are
/// simulated with noise and the predictor reads the noise amplitude ([`Predictor::tell_noise`]) but was not
/// told one; `None` otherwise (the priors are used as they are).
fn told_noise(priors: &Priors, settings: &SearchSettings) -> Option<Predictor> {
    let sigma = settings.sim.noise_sigma;
    match priors {
        Priors::Predictor(p) if sigma > 0.0 && p.weights.noise_input && p.noise().is_none() => {
            let mut told = (*p).clone();
            told.tell_noise(Some(sigma)).ok()?;
            Some(told)
        }
        _ => None,
    }
}

/// The rate-only reading of a tonic train ([`Predicted::rate`]): the weights' tonic rate baseline, or their
/// rate baseline of every firing train when they have no tonic one; `None` for other labels, for a rate
/// outside the training range (the prediction is then widened instead) and for weights without a baseline.
fn rate_reading(p: &Predictor, times: &[f64], label: Label, ood: Ood) -> Option<Prior> {
    if label != Label::Tonic || ood.contains(Ood::RATE) {
        return None;
    }
    let w = &p.weights;
    let (c, sd) = w
        .tonic_rate_baseline
        .as_ref()
        .or(w.rate_baseline.as_ref())?
        .predict(times)?;
    Some(Prior {
        g_s: c[0],
        sd_g_s: sd[0],
        g_u: c[1],
        sd_g_u: sd[1],
    })
}

/// Reconstructs every recording: one [`Outcome`] per train, in order. `progress` is called after each
/// recording. A recording that fails (no reachable DICs, no distribution) gets its error in its outcome;
/// the others go on. Deterministic for `seed` whatever the number of threads.
pub fn run(
    model: &'static Model,
    trains: &[SpikeTrain],
    priors: &Priors,
    settings: &SearchSettings,
    seed: u64,
    progress: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<Outcome>, PipelineError> {
    let generator = Generator::new(
        model,
        &GeneratorOptions {
            seed,
            ..Default::default()
        },
    )?;
    let told = told_noise(priors, settings);
    let told_priors = told.as_ref().map(Priors::Predictor);
    let predicted = predict_all(trains, told_priors.as_ref().unwrap_or(priors));
    let mut out = Vec::with_capacity(trains.len());
    for (i, (t, p)) in trains.iter().zip(predicted).enumerate() {
        let outcome = match p {
            Err(e) => Outcome {
                id: t.id.clone(),
                predicted: Predicted {
                    prior: None,
                    rate: None,
                    label: None,
                    probabilities: Vec::new(),
                    ood: Ood::default(),
                },
                result: Err(e),
            },
            Ok(predicted) => {
                let result = match predicted.prior {
                    Some(prior) => reconstruct_with_rate(
                        &generator,
                        &t.times_ms,
                        prior,
                        predicted.rate,
                        settings,
                        i,
                        cancel,
                    ),
                    None => Ok(Reconstruction::unsearched(Features::of(
                        &t.times_ms,
                        &Classifier::Default,
                    ))),
                };
                let result = match result {
                    Err(SearchError::Interrupted) => return Err(PipelineError::Interrupted),
                    Ok(r) if predicted.prior.is_none() && r.features.label != Label::Silent => {
                        Err(format!(
                            "the recording fires ({}) but its DIC distribution is empty",
                            r.features.label.as_str()
                        ))
                    }
                    r => r.map_err(|e| e.to_string()),
                };
                Outcome {
                    id: t.id.clone(),
                    predicted,
                    result,
                }
            }
        };
        out.push(outcome);
        progress(i + 1);
    }
    Ok(out)
}

/// Recordings listed one per line by [`report`]; the rest are counted.
pub const REPORT_LINES: usize = 20;

/// The report `spikepop reconstruct` prints: how many recordings were reconstructed into `out`, then one line
/// per recording (the first [`REPORT_LINES`]): its label, prediction, verified count and status.
pub fn report(outcomes: &[Outcome], settings: &SearchSettings, out: &str) -> String {
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let mut s = format!(
        "reconstructed {ok} of {} recordings into {out}\n",
        outcomes.len()
    );
    for o in outcomes.iter().take(REPORT_LINES) {
        let line = match (&o.result, o.predicted.prior) {
            (Ok(r), Some(p)) => format!(
                "{:<10} predicted g_s {:6.2} ± {:4.2}, g_u {:6.2} ± {:4.2}; {} of {} candidates verified",
                r.features.label.as_str(),
                p.g_s,
                p.sd_g_s,
                p.g_u,
                p.sd_g_u,
                r.verified_found,
                r.candidates_tried
            ),
            _ => String::new(),
        };
        s += &format!("  {:<12} {line} [{}]\n", o.id, o.status(settings));
    }
    if outcomes.len() > REPORT_LINES {
        s += &format!(
            "  ... ({} more in summary.csv)\n",
            outcomes.len() - REPORT_LINES
        );
    }
    s
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else {
        x.to_string()
    }
}

/// Quotes a CSV field when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn prior_cells(p: Option<Prior>) -> [f64; 4] {
    p.map_or([f64::NAN; 4], |p| [p.g_s, p.sd_g_s, p.g_u, p.sd_g_u])
}

/// Writes `population.csv`: `ID,model,<conductances>,g_f,g_s,g_u,score,verified`, one row per returned
/// model (`model` numbers them within a recording; `verified` is empty without verification).
pub fn write_population(
    w: impl Write,
    model: &Model,
    outcomes: &[Outcome],
    verify: bool,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(w);
    let names: Vec<&str> = model.conductance_names().collect();
    writeln!(w, "ID,model,{},g_f,g_s,g_u,score,verified", names.join(","))?;
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        let id = csv_field(&o.id);
        for (k, m) in r.members.iter().enumerate() {
            let g: Vec<String> = m.g.iter().map(|x| x.to_string()).collect();
            writeln!(
                w,
                "{id},{k},{},{},{},{},{},{}",
                g.join(","),
                m.dics.g_f,
                m.dics.g_s,
                m.dics.g_u,
                fmt(m.distance),
                if verify {
                    m.verified.to_string()
                } else {
                    String::new()
                }
            )?;
        }
    }
    w.flush()
}

/// The members of every recording's population as the columns of `population.csv`: each member's `ID`, its
/// `model` (its number within the recording's population) and its conductances, in the file's row order.
pub fn population_columns(outcomes: &[Outcome]) -> (Vec<String>, Vec<String>, Vec<Vec<f64>>) {
    let (mut ids, mut members, mut g) = (Vec::new(), Vec::new(), Vec::new());
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        for (k, m) in r.members.iter().enumerate() {
            ids.push(o.id.clone());
            members.push(k.to_string());
            g.push(m.g.clone());
        }
    }
    (ids, members, g)
}

/// The header of `summary.csv`.
pub fn summary_header() -> String {
    format!(
        "{},pred_g_s,pred_sd_g_s,pred_g_u,pred_sd_g_u,refined_g_s,refined_sd_g_s,refined_g_u,refined_sd_g_u,\
         candidates,acceptance,verified,rejected,status,ood,pop_g_s_q05,pop_g_s_q95,pop_g_u_q05,pop_g_u_q95",
        COLUMNS.join(",")
    )
}

/// Writes `summary.csv`: per recording its features (label first), the predicted and the refined DIC
/// distributions, the candidates tried, the acceptance rate, the verified count, a status, why it is out of
/// the predictor's domain (empty when it is not) and how wide the returned population is: the 5% and 95%
/// quantiles of its g_s and g_u.
pub fn write_summary(
    w: impl Write,
    outcomes: &[Outcome],
    settings: &SearchSettings,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(w);
    writeln!(w, "{}", summary_header())?;
    for o in outcomes {
        let id = csv_field(&o.id);
        let p = prior_cells(o.predicted.prior);
        let status = csv_field(&o.status(settings));
        match &o.result {
            Ok(r) => {
                let f = &r.features;
                let cells: Vec<String> = f
                    .values()
                    .into_iter()
                    .chain(p)
                    .chain(prior_cells(r.refined))
                    .map(fmt)
                    .collect();
                let rejected: Vec<String> = r
                    .rejected
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect();
                let width: Vec<String> = r.width().into_iter().map(fmt).collect();
                writeln!(
                    w,
                    "{id},{},{},{},{},{},{},{status},{},{}",
                    f.label.as_str(),
                    cells.join(","),
                    r.candidates_tried,
                    fmt(r.acceptance()),
                    r.members.iter().filter(|m| m.verified).count(),
                    csv_field(&rejected.join("; ")),
                    csv_field(&o.predicted.ood.to_string()),
                    width.join(","),
                )?;
            }
            Err(_) => {
                let cells: Vec<String> = [f64::NAN; COLUMNS.len() - 2]
                    .into_iter()
                    .chain(p)
                    .chain([f64::NAN; 4])
                    .map(fmt)
                    .collect();
                writeln!(
                    w,
                    "{id},,{},0,NaN,0,,{status},{},NaN,NaN,NaN,NaN",
                    cells.join(","),
                    csv_field(&o.predicted.ood.to_string())
                )?;
            }
        }
    }
    w.flush()
}
