//! Populations that contain the cell, on trains spikepop did not simulate: the committed foreign benchmarks
//! (`benchmarks/foreign-small` and, at the reference's scale, `benchmarks/foreign-240`: scipy's integrators,
//! `scripts/foreign_benchmark.py`). For each tonic or bursting recording, is the true cell's (g_s, g_u) inside
//! its population's central 90%? The target is 85% of recordings per label and domain; about 20
//! recordings per label and domain in the small benchmark (one is 5 points), about 117 in the large one.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use spikepop_models::Model;
use spikepop_predict::Predictor;
use spikepop_predict::benchmark::Benchmark;
use spikepop_reconstruct::SearchSettings;
use spikepop_reconstruct::pipeline::{self, Priors};
use spikepop_reconstruct::search::{DEFAULT_TONIC_RATE_SHARE, DEFAULT_TONIC_TRIES};
use spikepop_spikes::SpikeTrain;
use spikepop_spikes::features::{Classifier, Features, Label};

/// Shares of the tonic recordings of `domain` whose true g_s, g_u lie in their population's central 90%
/// (`spikepop reconstruct --model <model> --input <domain>.csv -n 40 --seed 1 --tonic-tries <tries>
/// --tonic-rate-share <share>`).
fn containment(
    model: &'static Model,
    domain: &str,
    tries: usize,
    share: f64,
) -> Option<(f64, f64, usize)> {
    contained(model, SMALL, domain, Label::Tonic, &|s| {
        s.tonic_tries = tries;
        s.tonic_rate_share = share;
    })
}

/// The committed benchmarks, folders of `benchmarks/`.
const SMALL: &str = "foreign-small";
const LARGE: &str = "foreign-240";

/// Shares of the recordings of `domain` of the benchmark `folder` with `label` whose true g_s, g_u lie in their
/// population's central 90%, with the default settings changed by `set`. Bursting recordings are first kept alone (the file that
/// `spikepop features` labels bursting, in the benchmark's order), as docs/reconstruct.md measures them.
fn contained(
    model: &'static Model,
    folder: &str,
    domain: &str,
    label: Label,
    set: &dyn Fn(&mut SearchSettings),
) -> Option<(f64, f64, usize)> {
    if spikepop_predict::embedded_bytes(model.name).is_none() {
        eprintln!("no {} weights built in; nothing to check", model.name);
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../benchmarks")
        .join(folder)
        .join(model.name);
    let bench = Benchmark::read(&dir).unwrap();
    let samples = &bench
        .domains
        .iter()
        .find(|d| d.name == domain)
        .unwrap()
        .samples;
    let samples: Vec<_> = samples
        .iter()
        .filter(|s| {
            label == Label::Tonic || Features::of(&s.times_ms, &Classifier::Default).label == label
        })
        .collect();
    let trains: Vec<SpikeTrain> = samples
        .iter()
        .map(|s| SpikeTrain {
            id: s.id.clone(),
            times_ms: s.times_ms.clone(),
        })
        .collect();
    let predictor = Predictor::embedded(model.name).unwrap();
    let mut settings = SearchSettings::for_model(model, 40);
    set(&mut settings);
    let out = pipeline::run(
        model,
        &trains,
        &Priors::Predictor(&predictor),
        &settings,
        1,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let (mut n, mut s_in, mut u_in) = (0, 0, 0);
    for (o, truth) in out.iter().zip(samples) {
        let r = o.result.as_ref().unwrap();
        if r.features.label != label {
            continue;
        }
        assert_eq!(r.members.len(), 40, "{}: {}", o.id, o.status(&settings));
        let [s0, s1, u0, u1] = r.width();
        n += 1;
        s_in += usize::from((s0..=s1).contains(&truth.g_s));
        u_in += usize::from((u0..=u1).contains(&truth.g_u));
    }
    let (s, u) = (s_in as f64 / n as f64, u_in as f64 / n as f64);
    eprintln!(
        "{} {folder} {domain}: {n} {} recordings, g_s {s:.2}, g_u {u:.2}",
        model.name,
        label.as_str()
    );
    Some((s, u, n))
}

/// STG tonic cells integrated by LSODA at tight tolerance, at the reference's scale (240 cells, 122 tonic
/// recordings): 91.8% / 92.6% with the networks of sessions 25 and 28 alike (docs/reconstruct.md). The 20 tonic
/// recordings of the small benchmark, where one recording is 5 points, held 85% / 95% (70% / 90% with one try per
/// target) with the network of session 22, and 80% and 75% of g_s with those of sessions 25 and 28, one cell apart.
#[test]
fn stg_tonic_populations_contain_cells_of_another_integrator() {
    let Some((s, u, n)) = contained(
        &spikepop_models::STG,
        LARGE,
        "lsoda-tight",
        Label::Tonic,
        &|_| {},
    ) else {
        return;
    };
    assert!(n >= 100, "{n} tonic recordings");
    assert!(s >= 0.85 && u >= 0.85, "g_s {s}, g_u {u}");
}

/// DA tonic cells of the reference application's integrator: 94% / 100% (89% / 89% with one try).
#[test]
fn da_tonic_populations_contain_cells_of_another_integrator() {
    let Some((s, u, n)) = containment(
        &spikepop_models::DA,
        "ref-app",
        DEFAULT_TONIC_TRIES,
        DEFAULT_TONIC_RATE_SHARE,
    ) else {
        return;
    };
    assert!(n >= 15, "{n} tonic recordings");
    assert!(s >= 0.85 && u >= 0.85, "g_s {s}, g_u {u}");
}

/// STG cells that have fired for 36 s (scipy's BDF): their trains are periodic, so the rate is nearly all they
/// say. With a quarter of the targets from the tonic rate reading: 85% / 92% of 13 recordings (the network of
/// session 22 with its tonic rate reading fitted on all its training trains, more than half noisy: 77% / 100%). (On the cells the
/// benchmark called settled before session 21, now its `relaxing` domain, the network then built in read some
/// trains confidently wrong, c0007: g_s 0.42 +- 0.85, true 6.80; the rate's share held 92% / 100%, 69% / 92%
/// without it.)
#[test]
fn stg_tonic_populations_contain_settled_cells() {
    let Some((s, u, n)) = containment(
        &spikepop_models::STG,
        "settled",
        DEFAULT_TONIC_TRIES,
        DEFAULT_TONIC_RATE_SHARE,
    ) else {
        return;
    };
    assert!(n >= 10, "{n} tonic recordings");
    assert!(s >= 0.8 && u >= 0.9, "g_s {s}, g_u {u}");
}

/// STG bursting cells whose trains lost 3% of their spikes, at the reference's scale (240 cells, 117 bursting
/// recordings, searched from this file of bursting recordings alone): with the default bursting spread (1.7)
/// 90% / 97%, with 1.4 86% (the network built in before session 21, whose bursting sd was 6% wider: 89% with
/// 1.4, 81% with 1.25); 20 recordings of the small benchmark move by 5 points a recording, which hid it. (The
/// network of session 22 holds 91.5% / 97.4% of the whole domain's bursting recordings, docs/reconstruct.md.)
#[test]
fn stg_bursting_populations_contain_cells_with_missed_spikes() {
    let Some((s, u, n)) = contained(
        &spikepop_models::STG,
        LARGE,
        "drop03",
        Label::Bursting,
        &|_| {},
    ) else {
        return;
    };
    assert!(n >= 100, "{n} bursting recordings");
    assert!(s >= 0.85 && u >= 0.9, "g_s {s}, g_u {u}");
}
