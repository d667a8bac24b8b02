//! Reconstruction end to end on recordings simulated from known models: tonic, bursting, silent, a poor
//! prior, determinism, and an independent re-simulation of the returned models at half the step.

use std::sync::atomic::AtomicBool;

use spikepop_dics::{Generator, GeneratorOptions};
use spikepop_models::cells::{STG_REFERENCE_ID0, STG_SEED};
use spikepop_models::sim::{Compiled, Settings};
use spikepop_models::{Model, STG};
use spikepop_reconstruct::{Prior, SearchSettings, reconstruct, verify};
use spikepop_spikes::features::{Classifier, Features, Label};

fn record(model: &Model, g: &[f64]) -> Vec<f64> {
    let s = Settings::for_model(model);
    Compiled::new(model, s.dt)
        .run(g, &s, None, &AtomicBool::new(false))
        .spikes
}

fn generator(seed: u64) -> Generator {
    Generator::new(
        &STG,
        &GeneratorOptions {
            seed,
            ..Default::default()
        },
    )
    .unwrap()
}

fn check_population(
    recording: &[f64],
    prior: Prior,
    n: usize,
) -> spikepop_reconstruct::Reconstruction {
    let settings = SearchSettings::for_model(&STG, n);
    let r = reconstruct(
        &generator(3),
        recording,
        prior,
        &settings,
        0,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        r.members.len(),
        n,
        "{} verified of {} tried",
        r.verified_found,
        r.candidates_tried
    );
    assert!(
        r.members
            .iter()
            .all(|m| m.verified && m.g.iter().all(|&g| g >= 0.0))
    );
    assert!(r.candidates_tried <= settings.max_candidates);
    // Degeneracy survives verification: the population is not one model.
    let cv = r.members_cv();
    assert!(
        cv.iter().take(7).filter(|&&c| c > 0.05).count() >= 4,
        "conductance CVs {cv:?}"
    );
    // An independent re-simulation at half the step reproduces the recording too.
    let rec_f = Features::of(recording, &Classifier::Default);
    let mut fine = Settings::for_model(&STG);
    fine.dt /= 2.0;
    let compiled = Compiled::new(&STG, fine.dt);
    let pass = r
        .members
        .iter()
        .filter(|m| {
            let o = compiled.run(&m.g, &fine, None, &AtomicBool::new(false));
            verify(&rec_f, recording, &o.spikes, &settings.tolerances).verified
        })
        .count();
    assert!(pass as f64 >= 0.9 * n as f64, "{pass} of {n} pass at dt/2");
    r
}

#[test]
fn tonic_recording() {
    let rec = record(&STG, &STG_SEED);
    assert_eq!(Features::of(&rec, &Classifier::Default).label, Label::Tonic);
    let r = check_population(
        &rec,
        Prior {
            g_s: 4.0,
            sd_g_s: 2.0,
            g_u: 5.0,
            sd_g_u: 2.0,
        },
        24,
    );
    let refined = r.refined.unwrap();
    assert!(refined.g_s.is_finite() && refined.sd_g_s > 0.0);
}

#[test]
fn bursting_recording_with_a_poor_prior_converges() {
    let rec = record(&STG, &STG_REFERENCE_ID0);
    assert_eq!(
        Features::of(&rec, &Classifier::Default).label,
        Label::Bursting
    );
    // The true DICs are (-15, 2); start 5 units away in g_s.
    let r = check_population(
        &rec,
        Prior {
            g_s: -10.0,
            sd_g_s: 2.0,
            g_u: 2.0,
            sd_g_u: 1.0,
        },
        16,
    );
    let refined = r.refined.unwrap();
    assert!(
        (refined.g_s - -15.0).abs() < (-10.0f64 - -15.0).abs(),
        "refined {refined:?} moved towards -15"
    );
}

#[test]
fn silent_recording_is_reported_not_dropped() {
    let settings = SearchSettings::for_model(&STG, 10);
    let r = reconstruct(
        &generator(1),
        &[3000.0, 3500.0],
        Prior {
            g_s: 0.0,
            sd_g_s: 1.0,
            g_u: 5.0,
            sd_g_u: 1.0,
        },
        &settings,
        0,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.features.label, Label::Silent);
    assert!(r.members.is_empty());
    assert_eq!(r.candidates_tried, 0);
}

#[test]
fn reproducible_whatever_the_threads() {
    let rec = record(&STG, &STG_SEED);
    let prior = Prior {
        g_s: 4.0,
        sd_g_s: 2.0,
        g_u: 5.0,
        sd_g_u: 2.0,
    };
    let settings = SearchSettings::for_model(&STG, 8);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                reconstruct(
                    &generator(9),
                    &rec,
                    prior,
                    &settings,
                    4,
                    &AtomicBool::new(false),
                )
                .unwrap()
            })
    };
    // Debug strings, so that the NaN features (not applicable to tonic trains) compare equal.
    assert_eq!(format!("{:?}", run(1)), format!("{:?}", run(2)));
}

#[test]
fn without_verification_it_is_the_reference_behaviour() {
    let rec = record(&STG, &STG_SEED);
    let mut settings = SearchSettings::for_model(&STG, 16);
    settings.verify = false;
    let r = reconstruct(
        &generator(2),
        &rec,
        Prior {
            g_s: 4.0,
            sd_g_s: 1.0,
            g_u: 5.0,
            sd_g_u: 1.0,
        },
        &settings,
        0,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.members.len(), 16);
    assert!(r.members.iter().all(|m| !m.verified && m.distance.is_nan()));
}

/// The population's g_s spread (5% to 95%) for `rec` with the given tonic spread.
fn g_s_width(rec: &[f64], prior: Prior, tonic_spread: f64) -> (f64, Vec<Vec<f64>>) {
    let mut settings = SearchSettings::for_model(&STG, 40);
    settings.tonic_spread = tonic_spread;
    let r = reconstruct(
        &generator(5),
        rec,
        prior,
        &settings,
        0,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.members.len(), 40);
    let [lo, hi, _, _] = r.width();
    (hi - lo, r.members.iter().map(|m| m.g.clone()).collect())
}

#[test]
fn a_tonic_population_spreads_along_its_rate_and_a_bursting_one_does_not_move() {
    // A tonic train pins its rate, not g_s: with the default spread the population covers more of the
    // prediction's g_s range than the prediction restricted to that rate does.
    let tonic = record(&STG, &STG_SEED);
    let prior = Prior {
        g_s: 6.0,
        sd_g_s: 4.0,
        g_u: 5.0,
        sd_g_u: 2.0,
    };
    let (narrow, _) = g_s_width(&tonic, prior, 1.0);
    let (wide, _) = g_s_width(
        &tonic,
        prior,
        spikepop_reconstruct::search::DEFAULT_TONIC_SPREAD,
    );
    assert!(
        wide > 1.2 * narrow,
        "g_s 90% width {wide} vs {narrow} without spread"
    );
    // Bursting recordings pin more than their rate: the setting leaves them alone, model for model.
    let bursting = record(&STG, &STG_REFERENCE_ID0);
    let prior = Prior {
        g_s: -15.0,
        sd_g_s: 1.0,
        g_u: 2.0,
        sd_g_u: 1.0,
    };
    assert_eq!(
        g_s_width(&bursting, prior, 1.0).1,
        g_s_width(&bursting, prior, 3.0).1
    );
}

#[test]
fn the_bursting_spread_widens_a_bursting_population_and_leaves_a_tonic_one_alone() {
    let population = |rec: &[f64], prior: Prior, bursting_spread: f64| {
        let mut settings = SearchSettings::for_model(&STG, 40);
        settings.bursting_spread = bursting_spread;
        let r = reconstruct(
            &generator(5),
            rec,
            prior,
            &settings,
            0,
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(r.members.len(), 40);
        let [lo, hi, _, _] = r.width();
        (
            hi - lo,
            r.members.iter().map(|m| m.g.clone()).collect::<Vec<_>>(),
        )
    };
    let bursting = record(&STG, &STG_REFERENCE_ID0);
    let prior = Prior {
        g_s: -15.0,
        sd_g_s: 1.0,
        g_u: 2.0,
        sd_g_u: 1.0,
    };
    let (narrow, _) = population(&bursting, prior, 1.0);
    let (wide, _) = population(&bursting, prior, 2.0);
    assert!(
        wide > 1.2 * narrow,
        "g_s 90% width {wide} with spread 2 vs {narrow} with 1"
    );
    let tonic = record(&STG, &STG_SEED);
    let prior = Prior {
        g_s: 6.0,
        sd_g_s: 4.0,
        g_u: 5.0,
        sd_g_u: 2.0,
    };
    assert_eq!(
        population(&tonic, prior, 1.0).1,
        population(&tonic, prior, 2.0).1
    );
}
