//! The reference classifier reproduces spec `models.md` section 4's table on the reference application's example
//! input (`stg_set.csv`, copied into the test data), to the table's printed precision.

use std::path::PathBuf;

use spikepop_spikes::features::{Classifier, Features, Label};
use spikepop_spikes::{Format, ReadOptions, read_trains};

fn stg_set() -> Vec<spikepop_spikes::SpikeTrain> {
    let path = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/data/reference/stg_set.csv");
    let rec = read_trains(&path, &ReadOptions::default()).unwrap();
    assert_eq!(rec.format, Format::Reference);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    rec.trains
}

/// `value` equals `printed` to the printed number of decimals (within half a unit of the last digit).
fn assert_printed(what: &str, value: f64, printed: &str) {
    let decimals = printed.split('.').nth(1).map_or(0, str::len) as i32;
    let half_unit = 0.5 * 10f64.powi(-decimals);
    let expected: f64 = printed.parse().unwrap();
    assert!(
        (value - expected).abs() <= half_unit * (1.0 + 1e-9),
        "{what}: got {value}, the spec prints {printed}"
    );
}

#[test]
fn reproduces_the_spec_table() {
    // ID, n, CV, label, f_spiking | (nbr, dur, f_intra, f_inter)
    let tonic = [("1", 10, "0.0008", "9.9773")];
    let bursting = [
        ("2", 16, "0.7979", ["2.0", "15.667", "127.85", "7.7095"]),
        ("3", 23, "1.0441", ["3.0", "24.592", "121.99", "7.5409"]),
        ("4", 35, "1.4522", ["5.0", "35.370", "141.36", "6.8062"]),
        ("5", 16, "0.5211", ["2.0", "29.950", "66.780", "8.2576"]),
    ];
    let trains = stg_set();
    assert_eq!(trains.len(), 5);
    let by_id = |id: &str| trains.iter().find(|t| t.id == id).unwrap();
    for (id, n, cv, f_spiking) in tonic {
        let f = Features::of(&by_id(id).times_ms, &Classifier::Reference);
        assert_eq!(f.n_spikes, n);
        assert_eq!(f.label, Label::Tonic);
        assert_eq!(f.label.reference_code(), 1);
        assert_printed("CV", f.cv, cv);
        assert_printed("f_spiking", f.f_spiking_hz, f_spiking);
        assert!(f.nbr_spikes_bursting.is_nan() && f.n_bursts.is_nan());
    }
    for (id, n, cv, [nbr, dur, f_intra, f_inter]) in bursting {
        let f = Features::of(&by_id(id).times_ms, &Classifier::Reference);
        assert_eq!(f.n_spikes, n, "ID {id}");
        assert_eq!(f.label, Label::Bursting, "ID {id}");
        assert_eq!(f.label.reference_code(), 2);
        assert_printed("CV", f.cv, cv);
        assert_printed("nbr_spikes_bursting", f.nbr_spikes_bursting, nbr);
        assert_printed("duration_bursting", f.duration_bursting_ms, dur);
        assert_printed("f_intra_bursting", f.f_intra_bursting_hz, f_intra);
        assert_printed("f_inter_bursting", f.f_inter_bursting_hz, f_inter);
        assert!(f.f_spiking_hz.is_nan());
        // The physiologist's intra-burst frequency is (k-1)/duration, the reference's k/duration.
        let k = f.spikes_per_burst;
        assert!(
            (f.intra_burst_hz - f.f_intra_bursting_hz * (k - 1.0) / k).abs() < 0.5,
            "ID {id}"
        );
    }
}

#[test]
fn default_classifier_agrees_on_the_example() {
    let labels: Vec<Label> = stg_set()
        .iter()
        .map(|t| Features::of(&t.times_ms, &Classifier::Default).label)
        .collect();
    assert_eq!(
        labels,
        [
            Label::Tonic,
            Label::Bursting,
            Label::Bursting,
            Label::Bursting,
            Label::Bursting
        ]
    );
}

#[test]
fn reference_rule_edge_cases() {
    // Fewer than 3 spikes: silent, everything but the count and (for 2 spikes) duration and rate is NaN.
    let f = Features::of(&[10.0, 20.0], &Classifier::Reference);
    assert_eq!(f.label, Label::Silent);
    assert_eq!(f.duration_ms, 10.0);
    assert!(f.cv.is_nan() && f.f_spiking_hz.is_nan() && f.nbr_spikes_bursting.is_nan());
    // Two bursts only: both are dropped as possibly truncated, so the four reference features are NaN.
    let two_bursts = [0.0, 5.0, 10.0, 200.0, 205.0, 210.0];
    let f = Features::of(&two_bursts, &Classifier::Reference);
    assert_eq!(f.label, Label::Bursting);
    assert_eq!(f.n_bursts, 2.0);
    assert!(f.nbr_spikes_bursting.is_nan() && f.duration_bursting_ms.is_nan());
    assert!(f.f_intra_bursting_hz.is_nan() && f.f_inter_bursting_hz.is_nan());
    // Three bursts: one is measured, f_inter is NaN (a single burst has no period).
    let three = [0.0, 5.0, 10.0, 200.0, 205.0, 210.0, 400.0, 405.0, 410.0];
    let f = Features::of(&three, &Classifier::Reference);
    assert_eq!(f.nbr_spikes_bursting, 3.0);
    assert_eq!(f.duration_bursting_ms, 10.0);
    assert!((f.f_intra_bursting_hz - 300.0).abs() < 1e-9);
    assert!(f.f_inter_bursting_hz.is_nan());
    assert!((f.intra_burst_hz - 200.0).abs() < 1e-9);
}
