//! Features measured on synthetic trains whose truth is known.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use spikepop_spikes::features::{self, Classifier, Features, Label};
use spikepop_spikes::synth::{self, Kind, SynthError, SynthParams};
use spikepop_spikes::{format_train, parse_train};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn bursting(period: f64, k: usize, intra: f64) -> SynthParams {
    SynthParams {
        kind: Kind::Bursting,
        period_ms: period,
        spikes_per_burst: k,
        intra_hz: intra,
        duration_ms: 20.0 * period,
        ..Default::default()
    }
}

fn labels(p: &SynthParams, n: usize, seed: u64, classifier: Classifier) -> Vec<Label> {
    synth::trains(p, n, seed)
        .unwrap()
        .iter()
        .map(|t| Features::of(&t.times_ms, &classifier).label)
        .collect()
}

#[test]
fn bursting_train_is_measured_exactly() {
    for (period, k, intra) in [
        (1000.0, 5, 100.0),
        (750.0, 3, 50.0),
        (400.0, 8, 250.0),
        (2000.0, 2, 20.0),
    ] {
        let p = bursting(period, k, intra);
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let t = synth::train(&p, &mut rng);
            for classifier in [Classifier::Default, Classifier::Reference] {
                let f = Features::of(&t, &classifier);
                let what = format!(
                    "period {period}, {k} spikes at {intra} Hz, seed {seed}, {classifier:?}"
                );
                assert_eq!(f.label, Label::Bursting, "{what}");
                assert!(
                    f.n_bursts == 20.0 || f.n_bursts == 19.0,
                    "{what}: {} bursts",
                    f.n_bursts
                );
                assert_eq!(f.spikes_per_burst, k as f64, "{what}");
                let duration = (k - 1) as f64 * 1000.0 / intra;
                assert!(
                    close(f.burst_duration_ms, duration),
                    "{what}: {}",
                    f.burst_duration_ms
                );
                assert!(
                    close(f.intra_burst_hz, intra),
                    "{what}: {}",
                    f.intra_burst_hz
                );
                assert!(
                    close(f.inter_burst_period_ms, period),
                    "{what}: {}",
                    f.inter_burst_period_ms
                );
                assert!(close(f.inter_burst_hz, 1000.0 / period), "{what}");
                assert!(close(f.duty_cycle, duration / period), "{what}");
                assert!(f.f_spiking_hz.is_nan(), "{what}");
            }
            assert_eq!(
                features::bursts(&t, &Classifier::Default).len() as f64,
                Features::of(&t, &Classifier::Default).n_bursts
            );
        }
    }
}

#[test]
fn jitter_and_missing_spikes_do_not_change_a_bursting_label() {
    for (period, k, intra) in [(1000.0, 5, 100.0), (600.0, 4, 80.0), (1500.0, 10, 150.0)] {
        let p = SynthParams {
            jitter_ms: 2.0,
            drop: 0.05,
            ..bursting(period, k, intra)
        };
        let got = labels(&p, 50, 7, Classifier::Default);
        assert!(
            got.iter().all(|&l| l == Label::Bursting),
            "period {period}, {k} spikes at {intra} Hz: {got:?}"
        );
        // Spikes per burst is still about right.
        for t in synth::trains(&p, 10, 8).unwrap() {
            let f = Features::of(&t.times_ms, &Classifier::Default);
            let expected = k as f64 * (1.0 - p.drop);
            assert!(
                (f.spikes_per_burst - expected).abs() < 0.6,
                "{} vs {expected}",
                f.spikes_per_burst
            );
            assert!(
                (f.inter_burst_period_ms - period).abs() < 0.05 * period,
                "{}",
                f.inter_burst_period_ms
            );
        }
    }
}

#[test]
fn tonic_stays_tonic() {
    for rate in [2.0, 10.0, 40.0] {
        let clean = SynthParams {
            kind: Kind::Tonic,
            rate_hz: rate,
            ..Default::default()
        };
        for p in [
            clean.clone(),
            SynthParams {
                jitter_ms: 2.0,
                drop: 0.05,
                ..clean
            },
        ] {
            let got = labels(&p, 50, 11, Classifier::Default);
            assert!(got.iter().all(|&l| l == Label::Tonic), "{p:?}: {got:?}");
        }
        let t = &synth::trains(
            &SynthParams {
                kind: Kind::Tonic,
                rate_hz: rate,
                ..Default::default()
            },
            1,
            3,
        )
        .unwrap()[0];
        let f = Features::of(&t.times_ms, &Classifier::Default);
        assert!(
            close(f.mean_rate_hz, rate)
                && close(f.f_spiking_hz, rate)
                && close(f.isi_mean_ms, 1000.0 / rate)
        );
        assert!(f.cv < 1e-9 && f.cv2 < 1e-9 && f.lv < 1e-9);
        assert!(f.n_bursts.is_nan() && f.spikes_per_burst.is_nan() && f.duty_cycle.is_nan());
    }
}

#[test]
fn poisson_and_gamma_trains_are_irregular() {
    for rate in [5.0, 10.0, 30.0] {
        for kind in [Kind::Poisson, Kind::Irregular] {
            let p = SynthParams {
                kind,
                rate_hz: rate,
                duration_ms: 20_000.0,
                ..Default::default()
            };
            let got = labels(&p, 100, 5, Classifier::Default);
            assert!(
                got.iter().all(|&l| l == Label::Irregular),
                "{kind:?} at {rate} Hz: {got:?}"
            );
        }
    }
    // Poisson statistics: CV, CV2 and LV near 1.
    let p = SynthParams {
        kind: Kind::Poisson,
        rate_hz: 20.0,
        duration_ms: 500_000.0,
        ..Default::default()
    };
    let t = &synth::trains(&p, 1, 1).unwrap()[0];
    let f = Features::of(&t.times_ms, &Classifier::Default);
    assert!((f.mean_rate_hz - 20.0).abs() < 0.5, "{}", f.mean_rate_hz);
    assert!(
        (f.cv - 1.0).abs() < 0.05 && (f.cv2 - 1.0).abs() < 0.05 && (f.lv - 1.0).abs() < 0.05,
        "{f:?}"
    );
    // The reference rule has no irregular label: it calls Poisson firing bursting.
    assert_eq!(
        Features::of(&t.times_ms, &Classifier::Reference).label,
        Label::Bursting
    );
}

#[test]
fn synthetic_trains_are_reproducible() {
    let p = SynthParams {
        kind: Kind::Bursting,
        jitter_ms: 1.0,
        drop: 0.1,
        ..Default::default()
    };
    let a = synth::trains(&p, 3, 42).unwrap();
    assert_eq!(a, synth::trains(&p, 3, 42).unwrap());
    assert_ne!(a, synth::trains(&p, 3, 43).unwrap());
    let ids: Vec<&str> = a.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    for t in &a {
        assert!(t.times_ms.windows(2).all(|w| w[0] < w[1]));
        assert!(t.times_ms.iter().all(|&x| (0.0..10_000.0).contains(&x)));
        assert_eq!(parse_train(&format_train(&t.times_ms)).unwrap(), t.times_ms);
    }
}

#[test]
fn invalid_synth_parameters_are_refused() {
    let bad = SynthParams {
        kind: Kind::Bursting,
        spikes_per_burst: 20,
        intra_hz: 10.0,
        ..Default::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(SynthError::BurstTooLong { .. })
    ));
    let bad = SynthParams {
        drop: 1.0,
        ..Default::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "--drop must be in [0, 1), got 1"
    );
    let bad = SynthParams {
        rate_hz: 0.0,
        ..Default::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "--rate must be a positive number, got 0"
    );
    let bad = SynthParams {
        rate_hz: 1e9,
        ..Default::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(SynthError::TooManySpikes { .. })
    ));
}

#[test]
fn not_applicable_features_are_nan() {
    let f = Features::of(&[], &Classifier::Default);
    assert_eq!(f.label, Label::Silent);
    assert_eq!(f.n_spikes, 0);
    assert!(f.values()[1..].iter().all(|v| v.is_nan()));
    let f = Features::of(&[5.0], &Classifier::Default);
    assert!(f.values()[1..].iter().all(|v| v.is_nan()));
    let f = Features::of(&[5.0, 15.0], &Classifier::Default);
    assert_eq!(
        (f.duration_ms, f.isi_mean_ms, f.mean_rate_hz),
        (10.0, 10.0, 100.0)
    );
    assert!(f.cv.is_nan() && f.cv2.is_nan() && f.lv.is_nan() && f.f_spiking_hz.is_nan());
}

#[test]
fn regular_train_with_a_few_gaps_is_tonic_not_bursting() {
    // A clock with two missing spikes: CV rises above 0.15 but the ISIs stay locally regular, and the long ISIs
    // are only 2x the others.
    let mut t: Vec<f64> = (0..40).map(|i| 100.0 * i as f64).collect();
    t.remove(30);
    t.remove(10);
    let f = Features::of(&t, &Classifier::Default);
    assert_eq!(f.label, Label::Tonic, "{f:?}");
    assert!(f.cv > 0.15);
}

#[test]
fn csv_row_writes_nan_and_text_ids() {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(features::COLUMNS).unwrap();
    Features::of(&[1.0, 2.0, 3.0], &Classifier::Default)
        .write_row("cell, 1", &mut w)
        .unwrap();
    let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("ID,label,n_spikes,duration_ms,mean_rate_hz")
    );
    assert_eq!(
        lines.next().unwrap(),
        "\"cell, 1\",tonic,3,2,1000,1,0,0,0,1000,NaN,NaN,NaN,NaN,NaN,NaN,NaN,NaN,NaN,NaN,NaN"
    );
}
