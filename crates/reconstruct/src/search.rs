//! The reconstruction loop: propose over the DIC distribution, simulate, verify, refine.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use spikepop_dics::{Dics, Generator, Infeasible, TargetSpec};
use spikepop_models::sim::{Compiled, Settings, SettingsError, stream_seed};
use spikepop_spikes::features::{Classifier, Features, Label};

use crate::verify::{Tolerances, verify};

/// A Gaussian distribution of (g_s, g_u): the predictor's output, or a refined one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    /// Mean g_s.
    pub g_s: f64,
    /// Standard deviation of g_s.
    pub sd_g_s: f64,
    /// Mean g_u.
    pub g_u: f64,
    /// Standard deviation of g_u.
    pub sd_g_u: f64,
}

impl Prior {
    /// Log density (up to a constant) at (g_s, g_u).
    fn log_pdf(&self, g_s: f64, g_u: f64) -> f64 {
        let zs = (g_s - self.g_s) / self.sd_g_s;
        let zu = (g_u - self.g_u) / self.sd_g_u;
        -0.5 * (zs * zs + zu * zu) - self.sd_g_s.ln() - self.sd_g_u.ln()
    }

    /// The same centre with both standard deviations doubled.
    fn wider(self) -> Prior {
        Prior {
            sd_g_s: 2.0 * self.sd_g_s,
            sd_g_u: 2.0 * self.sd_g_u,
            ..self
        }
    }

    fn target(&self) -> TargetSpec {
        TargetSpec::gaussian(self.g_s, self.g_u, self.sd_g_s, self.sd_g_u)
    }
}

/// The shortest window simulated after the transient (ms), unless set otherwise. A candidate's features are
/// measured on a window as long as the recording (and at least this long), so both carry the same amount of
/// information; simulating more would cost time without making the comparison fairer.
pub const DEFAULT_MIN_WINDOW_MS: f64 = 1000.0;

/// Inter-spike intervals a verification window holds at the least, when the recording is longer.
pub const WINDOW_ISIS: f64 = 100.0;
/// Burst periods a verification window holds at the least, when the recording is longer.
pub const WINDOW_PERIODS: f64 = 10.0;

/// How long each candidate is simulated after the transient (ms): as long as the recording, but no longer
/// than it takes to see its statistics (100 of its mean inter-spike intervals, and 10 of its burst periods
/// when it bursts), and at least `min_window`. The recording's rate, period and burst statistics, against which
/// a candidate is verified, are measured on the whole recording; a 3-s recording is matched by 3 s of
/// simulation, and a 1-hour one at 8 Hz by 12.5 s, not by an hour.
pub fn verification_window(recording: &[f64], features: &Features, min_window: f64) -> f64 {
    let span = match (recording.first(), recording.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let mut enough = if recording.len() >= 2 {
        WINDOW_ISIS * span / (recording.len() - 1) as f64
    } else {
        span
    };
    if features.inter_burst_period_ms.is_finite() {
        enough = enough.max(WINDOW_PERIODS * features.inter_burst_period_ms);
    }
    min_window.max(span.min(enough))
}

/// Candidates simulated at most per verified model wanted, by default: N models get a budget of 30 N.
pub const BUDGET_PER_MODEL: usize = 30;

/// Default [`SearchSettings::tonic_spread`]: on trains spikepop did not simulate, it gives tonic populations
/// about the g_s spread of the prediction itself and raises the share of cells inside their population's
/// central 90% (docs/reconstruct.md).
pub const DEFAULT_TONIC_SPREAD: f64 = 2.0;

/// Default [`SearchSettings::bursting_spread`]: on the bursting recordings of 240 STG cells that spikepop did not
/// simulate (other integrators, sampling, jitter, missed spikes, settled and noisy cells), 1.7 puts the true g_s
/// inside the population's central 90% for 87.7-95.7% of them in every domain; it replaced 1.4, which held 81% of
/// the recordings with missed spikes for up to 4% fewer candidates (docs/reconstruct.md).
pub const DEFAULT_BURSTING_SPREAD: f64 = 1.7;

/// Default [`SearchSettings::tonic_rate_share`]: on trains spikepop did not simulate, a quarter of the targets
/// from the tonic rate reading put the true DICs of relaxing STG cells (what the benchmark called settled
/// before session 21), which the network then built in read confidently wrong, inside their population's
/// central 90% in 92% of recordings (69% with none) and leaves the other domains within one or two recordings of where
/// they were (84% of the nine domains' tonic recordings contained without it, 83% with it);
/// half of them costs 5-15 points in most domains, as the population's quantiles follow the rate's wider
/// distribution (docs/reconstruct.md).
pub const DEFAULT_TONIC_RATE_SHARE: f64 = 0.25;

/// Default [`SearchSettings::tonic_tries`]: on trains spikepop did not simulate, it puts the true DICs of
/// tonic cells inside their population's central 90% in 80-85% of STG recordings (70% with 1), at about
/// 2.5 times the candidates (docs/reconstruct.md).
pub const DEFAULT_TONIC_TRIES: usize = 8;

/// Settings of [`reconstruct`].
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSettings {
    /// Verified models wanted per recording.
    pub n: usize,
    /// Candidates simulated at most per recording (the budget).
    pub max_candidates: usize,
    /// Verification tolerances.
    pub tolerances: Tolerances,
    /// Simulation step, transient and noise; the duration is set per recording (see `min_window`).
    pub sim: Settings,
    /// Shortest window simulated after the transient (ms); longer recordings get their own span.
    pub min_window: f64,
    /// Rounds after which the proposal is re-centred on the verified candidates.
    pub refine_rounds: usize,
    /// `false` reproduces the reference: N candidates from the prior, neither simulated nor checked.
    pub verify: bool,
    /// Smallest proposal standard deviation (DIC units), so a refined proposal keeps exploring.
    pub min_sd: f64,
    /// Factor on both standard deviations of the prediction for tonic recordings (1 keeps the prediction).
    /// A tonic train pins down mainly its rate, which many (g_s, g_u) share, and fewer of the models drawn
    /// near the edges of the prediction fire at that rate, so without this the population piles up near the
    /// prediction's centre and misses cells whose g_s lies in those edges (see [`DEFAULT_TONIC_SPREAD`]).
    pub tonic_spread: f64,
    /// Factor on both standard deviations of the prediction for bursting and irregular recordings (1 keeps
    /// the prediction). Verification (spikes per burst, period, burst duration) keeps only the models that
    /// burst like the recording, so a wider search costs candidates, not accuracy, and lets the population
    /// reach cells in the prediction's tails (see [`DEFAULT_BURSTING_SPREAD`]).
    pub bursting_spread: f64,
    /// For tonic recordings, models tried per DIC target drawn from the prediction before the target is
    /// given up (each with fresh conductances compensated to the same DICs); 1 draws every candidate from
    /// the refined proposal, as for bursting recordings. At a DIC where only some of the models fire at the
    /// recorded rate, the first try often fails; without retries the population thins out there, which is
    /// most of the set of DICs that share a tonic cell's rate (see [`DEFAULT_TONIC_TRIES`]).
    pub tonic_tries: usize,
    /// For tonic recordings with a rate-only reading (the predictor's rate baseline at the recording's firing
    /// rate, [`reconstruct_with_rate`]), the share of DIC targets drawn from that reading instead of the
    /// prediction, from 0 to 1. A noise-free tonic train says little beyond its rate, and the network reads
    /// the rest confidently wrong for some cells (a drifting rate, another integrator); the rate-only reading
    /// spans every DIC of the training range that fires at that rate, so the population covers them too
    /// (see [`DEFAULT_TONIC_RATE_SHARE`]).
    pub tonic_rate_share: f64,
}

impl SearchSettings {
    /// Defaults for `model`: its transient, a window of at least [`DEFAULT_MIN_WINDOW_MS`] (longer
    /// recordings get their own span), a budget of [`BUDGET_PER_MODEL`] N candidates and two refinement rounds.
    pub fn for_model(model: &spikepop_models::Model, n: usize) -> Self {
        Self {
            n,
            max_candidates: BUDGET_PER_MODEL * n,
            tolerances: Tolerances::default(),
            sim: Settings::for_model(model),
            min_window: DEFAULT_MIN_WINDOW_MS,
            refine_rounds: 2,
            verify: true,
            min_sd: 0.25,
            tonic_spread: DEFAULT_TONIC_SPREAD,
            bursting_spread: DEFAULT_BURSTING_SPREAD,
            tonic_tries: DEFAULT_TONIC_TRIES,
            tonic_rate_share: DEFAULT_TONIC_RATE_SHARE,
        }
    }
}

/// One candidate model.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Conductances, in the model's channel order.
    pub g: Vec<f64>,
    /// Its DICs at the generator's V_th (g_s and g_u are the target it drew).
    pub dics: Dics,
    /// Log-ISI distance of its simulation to the recording (NaN when not simulated).
    pub distance: f64,
    /// Whether its simulation reproduces the recording (`false` when not simulated).
    pub verified: bool,
    /// Log density of the proposal it was drawn from, at its (g_s, g_u) (for importance weights).
    proposal_log_pdf: f64,
}

/// The result for one recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction {
    /// The recording's features (default classifier).
    pub features: Features,
    /// The returned population: N verified models (fewer if the budget ran out), or N unverified
    /// candidates without verification. Empty for a silent recording.
    pub members: Vec<Member>,
    /// Candidates generated (and simulated, with verification).
    pub candidates_tried: usize,
    /// Candidates that passed verification (may exceed N within the last round).
    pub verified_found: usize,
    /// The DIC distribution re-centred on the verified candidates (importance-weighted), when any passed.
    pub refined: Option<Prior>,
    /// Coefficient of variation of each conductance over every candidate tried.
    pub candidates_cv: Vec<f64>,
    /// Candidates rejected, by the first criterion they failed (`label`, `rate`, `period`, `spikes per
    /// burst`, `burst duration`, `not finite`).
    pub rejected: BTreeMap<&'static str, usize>,
}

impl Reconstruction {
    /// The result before any search: the features, no candidates.
    pub fn unsearched(features: Features) -> Self {
        Reconstruction {
            features,
            members: Vec::new(),
            candidates_tried: 0,
            verified_found: 0,
            refined: None,
            candidates_cv: Vec::new(),
            rejected: BTreeMap::new(),
        }
    }

    /// Verified fraction of the candidates tried.
    pub fn acceptance(&self) -> f64 {
        if self.candidates_tried == 0 {
            f64::NAN
        } else {
            self.verified_found as f64 / self.candidates_tried as f64
        }
    }

    /// How wide the returned population is: the 5% and 95% quantiles of its g_s, then of its g_u (NaN
    /// without members).
    pub fn width(&self) -> [f64; 4] {
        let q = |f: fn(&Member) -> f64| {
            spikepop_spikes::stats::quantiles(self.members.iter().map(f), [0.05, 0.95])
        };
        let [a, b] = q(|m| m.dics.g_s);
        let [c, d] = q(|m| m.dics.g_u);
        [a, b, c, d]
    }

    /// Coefficient of variation of each conductance over the returned population.
    pub fn members_cv(&self) -> Vec<f64> {
        cv_per_channel(self.members.iter().map(|m| m.g.as_slice()))
    }
}

/// Why a recording could not be reconstructed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The DIC distribution cannot be reached with non-negative conductances.
    #[error("no model reaches the DIC distribution: {0}")]
    Infeasible(#[from] Infeasible),
    /// Invalid simulation settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The run was interrupted.
    #[error("interrupted")]
    Interrupted,
}

/// Coefficient of variation (sd / mean) of each channel over a set of conductance vectors.
pub fn cv_per_channel<'a>(rows: impl Iterator<Item = &'a [f64]>) -> Vec<f64> {
    let rows: Vec<&[f64]> = rows.collect();
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    (0..first.len())
        .map(|c| {
            let n = rows.len() as f64;
            let mean = rows.iter().map(|r| r[c]).sum::<f64>() / n;
            let var = rows.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / n;
            var.sqrt() / mean
        })
        .collect()
}

/// Reconstructs one recording (spike times in ms, sorted): see the crate documentation. `index` selects
/// the random streams (use the recording's position in its file), so results are reproducible for the
/// generator's seed whatever the number of threads.
pub fn reconstruct(
    generator: &Generator,
    recording: &[f64],
    prior: Prior,
    settings: &SearchSettings,
    index: usize,
    cancel: &AtomicBool,
) -> Result<Reconstruction, SearchError> {
    reconstruct_with_rate(generator, recording, prior, None, settings, index, cancel)
}

/// [`reconstruct`] with, for a tonic recording, a second DIC distribution: what the recording's firing rate
/// alone says (the predictor's rate baseline), from which [`SearchSettings::tonic_rate_share`] of the DIC
/// targets are drawn. The refined distribution still weighs the population by `prior`.
pub fn reconstruct_with_rate(
    generator: &Generator,
    recording: &[f64],
    prior: Prior,
    rate: Option<Prior>,
    settings: &SearchSettings,
    index: usize,
    cancel: &AtomicBool,
) -> Result<Reconstruction, SearchError> {
    let features = Features::of(recording, &Classifier::Default);
    let model = generator.model();
    let mut out = Reconstruction::unsearched(features);
    if out.features.label == Label::Silent || settings.n == 0 {
        return Ok(out);
    }
    let floor = |sd: f64| sd.max(settings.min_sd);
    let spread = if out.features.label == Label::Tonic {
        settings.tonic_spread
    } else {
        settings.bursting_spread
    };
    let prior = Prior {
        sd_g_s: floor(prior.sd_g_s) * spread,
        sd_g_u: floor(prior.sd_g_u) * spread,
        ..prior
    };
    if !settings.verify {
        let pop = generator.generate_target(
            index * STREAMS_PER_RECORDING,
            &prior.target(),
            settings.n,
        )?;
        out.members = pop
            .iter()
            .map(|(g, dics)| Member {
                g: g.to_vec(),
                dics,
                distance: f64::NAN,
                verified: false,
                proposal_log_pdf: prior.log_pdf(dics.g_s, dics.g_u),
            })
            .collect();
        out.candidates_tried = settings.n;
        out.candidates_cv = out.members_cv();
        return Ok(out);
    }

    let mut sim = settings.sim.clone();
    sim.duration =
        sim.transient + verification_window(recording, &out.features, settings.min_window);
    sim.trace_every = None;
    sim.validate()?;
    let mut run = Run {
        // One coefficient table for every round of this recording.
        compiled: Compiled::new(model, sim.dt),
        sim,
        base_seed: settings.sim.seed,
        recording,
        tolerances: &settings.tolerances,
        cancel,
        all: Vec::new(),
        verified: Vec::new(),
    };
    if out.features.label == Label::Tonic && settings.tonic_tries > 1 {
        let rate = rate
            .filter(|_| settings.tonic_rate_share > 0.0)
            .map(|r| Prior {
                sd_g_s: floor(r.sd_g_s),
                sd_g_u: floor(r.sd_g_u),
                ..r
            });
        per_target(generator, &mut run, &mut out, prior, rate, settings, index)?;
    } else {
        let mut proposal = prior;
        let mut round = 0;
        let mut late = 0;
        while run.verified.len() < settings.n && out.candidates_tried < settings.max_candidates {
            if cancel.load(Ordering::Relaxed) {
                return Err(SearchError::Interrupted);
            }
            let missing = settings.n - run.verified.len();
            let batch = (2 * missing)
                .max(16)
                .min(settings.max_candidates - out.candidates_tried);
            let log_pdf = |d: &Dics| proposal.log_pdf(d.g_s, d.g_u);
            let candidates = draw(
                generator,
                index,
                round,
                &mut late,
                &proposal.target(),
                batch,
            )?
            .into_iter()
            .map(|(g, d)| (g, d, log_pdf(&d)))
            .collect();
            let first_new = run.all.len();
            run.simulate(candidates, noise_stream(index, round), &mut out)?;
            out.candidates_tried += batch;
            if round < settings.refine_rounds {
                proposal = match fit(&run.all[first_new..], &prior) {
                    Some(p) => Prior {
                        sd_g_s: floor(p.sd_g_s),
                        sd_g_u: floor(p.sd_g_u),
                        ..p
                    },
                    // Nothing verified yet: look wider around the same centre.
                    None => proposal.wider(),
                };
            }
            round += 1;
        }
    }
    let Run { all, verified, .. } = run;
    out.verified_found = verified.len();
    out.refined = fit(&all, &prior);
    out.candidates_cv = cv_per_channel(all.iter().map(|m| m.g.as_slice()));
    out.members = verified
        .iter()
        .take(settings.n)
        .map(|&i| all[i].clone())
        .collect();
    Ok(out)
}

/// Candidate streams of the generator per recording: recording i draws round r from stream
/// `64 i + r`; the last one is continued for every later round.
const STREAMS_PER_RECORDING: usize = 64;

/// The candidates of round `round` of recording `index`: `batch` models for `target` from the generator's
/// stream `64 index + round`; from round 63 on, the recording's last stream continued (`late` counts the
/// members it has given), so no round redraws another's candidates.
fn draw(
    generator: &Generator,
    index: usize,
    round: usize,
    late: &mut usize,
    target: &TargetSpec,
    batch: usize,
) -> Result<Vec<(Vec<f64>, Dics)>, Infeasible> {
    let first = index * STREAMS_PER_RECORDING;
    if round + 1 < STREAMS_PER_RECORDING {
        return Ok(generator
            .generate_target(first + round, target, batch)?
            .iter()
            .map(|(g, d)| (g.to_vec(), d))
            .collect());
    }
    let draws: Vec<(usize, TargetSpec)> = (*late..*late + batch).map(|k| (k, *target)).collect();
    *late += batch;
    generator
        .generate_streams(first + STREAMS_PER_RECORDING - 1, &draws)
        .into_iter()
        .collect()
}

/// The noise stream of a round of a recording: `64 i + r` for the first 63 rounds, then one of its own.
fn noise_stream(index: usize, round: usize) -> u64 {
    if round + 1 < STREAMS_PER_RECORDING {
        (index * STREAMS_PER_RECORDING + round) as u64
    } else {
        (1 << 63) | ((index as u64) << 32) | round as u64
    }
}

/// What one recording's search carries from round to round: the simulation set-up and every candidate.
struct Run<'a> {
    compiled: Compiled<'a>,
    sim: Settings,
    base_seed: u64,
    recording: &'a [f64],
    tolerances: &'a Tolerances,
    cancel: &'a AtomicBool,
    /// Every candidate simulated, in order.
    all: Vec<Member>,
    /// Indices into `all` of the verified ones.
    verified: Vec<usize>,
}

impl Run<'_> {
    /// Simulates `candidates` (conductances, DICs, log density of the proposal they were drawn from), with
    /// the current noise of `stream`, verifies each against the recording, keeps them all and counts the
    /// rejected ones by reason in `out`. Returns whether each passed.
    fn simulate(
        &mut self,
        candidates: Vec<(Vec<f64>, Dics, f64)>,
        stream: u64,
        out: &mut Reconstruction,
    ) -> Result<Vec<bool>, SearchError> {
        // With current noise, each round of each recording draws fresh noise (seeded, so reproducible).
        let sim = Settings {
            seed: stream_seed(self.base_seed, stream),
            ..self.sim.clone()
        };
        let (g, rest): (Vec<Vec<f64>>, Vec<(Dics, f64)>) =
            candidates.into_iter().map(|(g, d, l)| (g, (d, l))).unzip();
        let sims = self.compiled.simulate_batch(&g, &sim, self.cancel, || {})?;
        if self.cancel.load(Ordering::Relaxed) {
            return Err(SearchError::Interrupted);
        }
        let mut passed = Vec::with_capacity(g.len());
        for ((g, (dics, proposal_log_pdf)), o) in g.into_iter().zip(rest).zip(sims) {
            let v = verify(&out.features, self.recording, &o.spikes, self.tolerances);
            let ok = v.verified && o.finite;
            if ok {
                self.verified.push(self.all.len());
            } else {
                let why = if o.finite {
                    v.failed
                } else {
                    Some("not finite")
                };
                *out.rejected.entry(why.unwrap_or("label")).or_default() += 1;
            }
            passed.push(ok);
            self.all.push(Member {
                g,
                dics,
                distance: v.distance,
                verified: ok,
                proposal_log_pdf,
            });
        }
        Ok(passed)
    }
}

/// The search of tonic recordings with [`SearchSettings::tonic_tries`] above 1: DIC targets are drawn from `prior`, and each
/// target is tried with fresh conductances (compensated to the same DICs) until one model passes or the
/// target has had its tries. The population then follows the prior over every DIC at which some models
/// reproduce the recording, instead of the prior weighted by how often they do: a DIC where one model in
/// five fires like the recording is as present as one where all do. With a rate-only distribution `rate`,
/// fresh target k is drawn from it when `floor((k + 1) s) > floor(k s)` for the share s
/// ([`SearchSettings::tonic_rate_share`]; every other one for 0.5), from `prior` otherwise.
fn per_target(
    generator: &Generator,
    run: &mut Run<'_>,
    out: &mut Reconstruction,
    prior: Prior,
    rate: Option<Prior>,
    settings: &SearchSettings,
    index: usize,
) -> Result<(), SearchError> {
    // Every draw of this recording has its own stream k in the recording's block of streams.
    let target_index = index * STREAMS_PER_RECORDING;
    let mut next_k = 0;
    // Targets still to try: the point (g_s, g_u) and the tries it has had.
    let mut pending: Vec<(TargetSpec, usize)> = Vec::new();
    let mut draw = prior;
    let mut draw_rate = rate;
    let share = settings.tonic_rate_share.clamp(0.0, 1.0);
    // The density the fresh targets are drawn from (the mixture), for the refined fit's weights.
    let proposal_log_pdf = |d: &Dics| match rate {
        None => prior.log_pdf(d.g_s, d.g_u),
        Some(r) => {
            let (a, b) = (prior.log_pdf(d.g_s, d.g_u), r.log_pdf(d.g_s, d.g_u));
            let m = a.max(b);
            m + ((1.0 - share) * (a - m).exp() + share * (b - m).exp()).ln()
        }
    };
    let mut fresh_drawn = 0usize;
    let mut round = 0;
    while run.verified.len() < settings.n && out.candidates_tried < settings.max_candidates {
        if run.cancel.load(Ordering::Relaxed) {
            return Err(SearchError::Interrupted);
        }
        let missing = settings.n - run.verified.len();
        let room = settings.max_candidates - out.candidates_tried;
        // The oldest targets' next tries first, then fresh targets.
        let retries = pending.len().min(room);
        let fresh = (2 * missing)
            .max(16)
            .saturating_sub(pending.len())
            .min(room - retries);
        let fresh_targets = (fresh_drawn..fresh_drawn + fresh).map(|k| {
            let from_rate = ((k + 1) as f64 * share).floor() > (k as f64 * share).floor();
            match draw_rate {
                Some(r) if from_rate => (r.target(), 0),
                _ => (draw.target(), 0),
            }
        });
        fresh_drawn += fresh;
        let targets: Vec<(TargetSpec, usize)> =
            pending.drain(..retries).chain(fresh_targets).collect();
        let draws: Vec<(usize, TargetSpec)> = targets
            .iter()
            .enumerate()
            .map(|(i, &(t, _))| (next_k + i, t))
            .collect();
        next_k += draws.len();
        out.candidates_tried += draws.len();
        let mut candidates = Vec::with_capacity(draws.len());
        let mut made = Vec::with_capacity(draws.len());
        for (i, m) in generator
            .generate_streams(target_index, &draws)
            .into_iter()
            .enumerate()
        {
            match m {
                Ok((g, d)) => {
                    made.push((i, TargetSpec::point(d.g_s, d.g_u)));
                    candidates.push((g, d, proposal_log_pdf(&d)));
                }
                // The prediction itself cannot be reached.
                Err(e) if i >= retries => return Err(e.into()),
                // This target's conductances could not be compensated this time: a try without a model.
                Err(_) => {}
            }
        }
        let passed = run.simulate(candidates, noise_stream(index, round), out)?;
        // What each target tries next: a retry whose conductances could not be compensated keeps its
        // point, a fresh draw that could not is dropped, a model that failed verification is retried at its
        // DICs.
        let mut again: Vec<Option<TargetSpec>> = targets
            .iter()
            .enumerate()
            .map(|(i, &(t, _))| (i < retries).then_some(t))
            .collect();
        for ((i, point), ok) in made.into_iter().zip(passed) {
            again[i] = (!ok).then_some(point);
        }
        let kept = targets
            .iter()
            .zip(again)
            .filter_map(|(&(_, tries), t)| Some((t?, tries + 1)))
            .filter(|&(_, tries)| tries < settings.tonic_tries);
        // Targets that could not be tried for lack of budget keep their place after these.
        let left = std::mem::take(&mut pending);
        pending.extend(kept);
        pending.extend(left);
        if run.verified.is_empty() && round < settings.refine_rounds {
            // Nothing verified yet: look wider around the same centre.
            draw = draw.wider();
            draw_rate = draw_rate.map(Prior::wider);
        }
        round += 1;
    }
    Ok(())
}

/// Importance-weighted Gaussian fit of the verified candidates: weight = prior / proposal density at the
/// candidate's DICs, times `exp(-distance / median distance)`, so candidates that both pass and match the
/// ISI distribution closely dominate. `None` when no candidate passed.
fn fit(members: &[Member], prior: &Prior) -> Option<Prior> {
    let ok: Vec<&Member> = members.iter().filter(|m| m.verified).collect();
    if ok.is_empty() {
        return None;
    }
    let mut d: Vec<f64> = ok
        .iter()
        .map(|m| m.distance)
        .filter(|d| d.is_finite())
        .collect();
    d.sort_by(f64::total_cmp);
    let d0 = d.get(d.len() / 2).copied().unwrap_or(1.0).max(1e-3);
    let log_w: Vec<f64> = ok
        .iter()
        .map(|m| {
            prior.log_pdf(m.dics.g_s, m.dics.g_u)
                - m.proposal_log_pdf
                - m.distance.min(50.0 * d0) / d0
        })
        .collect();
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let mean =
        |f: &dyn Fn(&Member) -> f64| ok.iter().zip(&w).map(|(m, w)| w * f(m)).sum::<f64>() / total;
    let (ms, mu) = (mean(&|m| m.dics.g_s), mean(&|m| m.dics.g_u));
    let sd_s = mean(&|m| (m.dics.g_s - ms).powi(2)).sqrt();
    let sd_u = mean(&|m| (m.dics.g_u - mu).powi(2)).sqrt();
    Some(Prior {
        g_s: ms,
        sd_g_s: sd_s,
        g_u: mu,
        sd_g_u: sd_u,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(times: &[f64]) -> f64 {
        verification_window(times, &Features::of(times, &Classifier::Default), 1000.0)
    }

    #[test]
    fn every_round_draws_its_own_candidates() {
        let generator = Generator::new(
            &spikepop_models::STG,
            &spikepop_dics::GeneratorOptions::default(),
        )
        .unwrap();
        let target = TargetSpec::gaussian(4.0, 5.0, 2.0, 2.0);
        let mut late = 0;
        let rounds: Vec<Vec<(Vec<f64>, Dics)>> = (60..68)
            .map(|r| draw(&generator, 3, r, &mut late, &target, 4).unwrap())
            .collect();
        let mut all: Vec<&Vec<f64>> = rounds.iter().flatten().map(|(g, _)| g).collect();
        assert_eq!(all.len(), 32);
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        all.dedup();
        assert_eq!(all.len(), 32, "a round redrew another's candidates");
        // The first 63 rounds and the first batch of the continued stream are what they always were.
        let same = |round: usize, got: &Vec<(Vec<f64>, Dics)>| {
            let pop = generator
                .generate_target(3 * STREAMS_PER_RECORDING + round.min(63), &target, 4)
                .unwrap();
            assert!(
                pop.iter()
                    .zip(got)
                    .all(|((g, _), (h, _))| g == h.as_slice())
            );
        };
        same(60, &rounds[0]);
        same(62, &rounds[2]);
        same(63, &rounds[3]);
    }

    #[test]
    fn the_verification_window_sees_the_statistics_not_the_whole_hour() {
        // 3 s at 8 Hz: the recording's own span (24 intervals are fewer than 100).
        let t: Vec<f64> = (0..25).map(|i| 125.0 * i as f64).collect();
        assert_eq!(window(&t), 3000.0);
        // A short train: at least the minimum window.
        assert_eq!(window(&t[..5]), 1000.0);
        // An hour at 8 Hz: 100 intervals, 12.5 s.
        let t: Vec<f64> = (0..28_801).map(|i| 125.0 * i as f64).collect();
        assert_eq!(window(&t), 12_500.0);
        // Bursts of 20 spikes every 2 s for 10 minutes: 10 periods (20 s) beat 100 intervals (10 s).
        let burst = |k: usize| {
            (0..300)
                .flat_map(move |b| (0..k).map(move |i| 2000.0 * b as f64 + 5.0 * i as f64))
                .collect::<Vec<f64>>()
        };
        let w = window(&burst(20));
        assert!((w - 20_000.0).abs() < 1.0, "{w}");
        // Bursts of 4: 100 intervals (a mean of 500 ms, 50 s) beat 10 periods.
        let t = burst(4);
        let w = window(&t);
        let mean_isi = (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
        assert!((w - 100.0 * mean_isi).abs() < 1e-6 && w > 49_000.0, "{w}");
    }
}
