//! Voltage recordings in (ABF 1 written by pyabf, ABF 2 recorded by pCLAMP, NWB current clamp written by pynwb,
//! .npy): the spike times detected in each file equal the true ones within one sample (0.1 ms at 10 kHz).
//! The truths come from `scripts/make_trace_testdata.py`: the exact 0 mV crossings of an independent scipy
//! simulation, spikepop's own spike times (+10 mV rule), and for the pCLAMP file the crossings that numpy finds
//! in pyabf's reading of it (an independent ABF reader).

use std::path::{Path, PathBuf};

use spikepop_spikes::detect::DetectOptions;
use spikepop_spikes::{Format, ReadOptions, read_trains};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Truth {
    file: String,
    trace: String,
    threshold_mv: f64,
    times: Vec<f64>,
}

fn truths() -> Vec<Truth> {
    let path = root().join("crates/spikes/tests/data/traces/expected.csv");
    let mut r = csv::Reader::from_path(&path).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            Truth {
                file: rec[0].to_string(),
                trace: rec[1].to_string(),
                threshold_mv: rec[3].parse().unwrap(),
                times: spikepop_spikes::parse_train(&rec[4]).unwrap(),
            }
        })
        .collect()
}

fn opts_for(file: &str, threshold_mv: f64) -> ReadOptions {
    ReadOptions {
        rate: file.ends_with(".npy").then_some(10_000.0),
        detect: DetectOptions {
            threshold_mv,
            ..DetectOptions::default()
        },
        ..ReadOptions::default()
    }
}

fn check_file(ext: &str) {
    let truths: Vec<Truth> = truths()
        .into_iter()
        .filter(|t| t.file.ends_with(ext))
        .collect();
    assert!(!truths.is_empty(), "no {ext} file in expected.csv");
    for t in &truths {
        let rec = read_trains(&root().join(&t.file), &opts_for(&t.file, t.threshold_mv)).unwrap();
        assert_eq!(
            rec.format,
            Format::Trace,
            "{} is told to be a voltage recording",
            t.file
        );
        let got = rec
            .trains
            .iter()
            .find(|x| x.id == t.trace)
            .unwrap_or_else(|| panic!("{}: no trace {}", t.file, t.trace));
        assert_eq!(got.times_ms.len(), t.times.len(), "{} {}", t.file, t.trace);
        assert!(
            t.times.len() >= 6,
            "{} {}: a test needs spikes",
            t.file,
            t.trace
        );
        for (a, b) in got.times_ms.iter().zip(&t.times) {
            assert!(
                (a - b).abs() < 0.1,
                "{} {}: detected {a} ms, true {b} ms",
                t.file,
                t.trace
            );
        }
    }
}

#[test]
fn abf_files_give_the_true_spike_times() {
    check_file(".abf");
}

#[test]
fn npy_arrays_give_the_true_spike_times() {
    check_file(".npy");
}

#[cfg(feature = "nwb")]
#[test]
fn nwb_current_clamp_gives_the_true_spike_times() {
    check_file(".nwb");
}

#[test]
fn abf_header_and_sweeps() {
    let info = spikepop_spikes::traces::abf::info(
        &root().join("crates/spikes/tests/data/traces/pclamp_ic_ramp.abf"),
    )
    .unwrap();
    assert_eq!(info.sample_rate_hz, 20_000.0);
    assert_eq!(info.sweeps, 2);
    assert_eq!(info.channels.len(), 1);
    assert_eq!(
        (
            info.channels[0].name.as_str(),
            info.channels[0].unit.as_str()
        ),
        ("IN 0", "mV")
    );
    let file = root().join("examples/stg_recording.abf");
    let one = read_trains(
        &file,
        &ReadOptions {
            sweep: Some(1),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(one.trains.len(), 1);
    assert_eq!(one.trains[0].id, "sweep1");
    let by_name = read_trains(
        &file,
        &ReadOptions {
            channel: Some("0".into()),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(by_name.trains.len(), 2);
}

#[test]
fn selections_the_file_lacks_are_errors_that_say_what_it_has() {
    let abf = root().join("examples/stg_recording.abf");
    let err = |opts: ReadOptions, path: &Path| read_trains(path, &opts).unwrap_err().to_string();
    let e = err(
        ReadOptions {
            sweep: Some(7),
            ..ReadOptions::default()
        },
        &abf,
    );
    assert!(
        e.contains("stg_recording.abf") && e.contains("no sweep 7") && e.contains("2 sweep(s)"),
        "{e}"
    );
    let e = err(
        ReadOptions {
            channel: Some("IN 5".into()),
            ..ReadOptions::default()
        },
        &abf,
    );
    assert!(
        e.contains("no channel \"IN 5\"") && e.contains("0 (ch0 mV)"),
        "{e}"
    );
    let e = err(
        ReadOptions {
            rate: Some(1000.0),
            ..ReadOptions::default()
        },
        &abf,
    );
    assert!(e.contains("applies only to .npy"), "{e}");
    let npy = root().join("crates/spikes/tests/data/traces/scipy_tonic.npy");
    let e = err(ReadOptions::default(), &npy);
    assert!(e.contains("scipy_tonic.npy") && e.contains("--rate"), "{e}");
    let e = err(
        ReadOptions {
            rate: Some(10_000.0),
            channel: Some("3".into()),
            ..ReadOptions::default()
        },
        &npy,
    );
    assert!(
        e.contains("no column \"3\"") && e.contains("1 column(s)"),
        "{e}"
    );
    let csv = root().join("crates/spikes/tests/data/reference/stg_set.csv");
    let e = err(
        ReadOptions {
            sweep: Some(0),
            ..ReadOptions::default()
        },
        &csv,
    );
    assert!(e.contains("applies only to voltage recordings"), "{e}");
}

#[test]
fn a_voltage_clamp_file_says_it_holds_no_membrane_potential() {
    // pyabf's writer, current in pA: what a voltage-clamp recording looks like.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vc.abf");
    let mut bytes = std::fs::read(root().join("examples/stg_recording.abf")).unwrap();
    for i in 0..16 {
        bytes[602 + 8 * i..610 + 8 * i].copy_from_slice(b"pA      ");
    }
    std::fs::write(&path, bytes).unwrap();
    let e = read_trains(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("vc.abf")
            && e.contains("no channel records a membrane potential")
            && e.contains("pA"),
        "{e}"
    );
}
