//! Every reader on a small valid file and on malformed ones. The valid files of all formats hold the same three
//! trains (1: tonic, 2: bursting, 3: two spikes), so every format must give the same trains and features.

use std::path::{Path, PathBuf};

use spikepop_spikes::features::{Classifier, Features, Label};
use spikepop_spikes::{
    Format, ReadError, ReadOptions, Recordings, SpikeTrain, TimeUnit, guess_format, read_trains,
};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/data")
        .join(rel)
}

fn read(rel: &str) -> Recordings {
    read_with(rel, ReadOptions::default())
}

fn read_with(rel: &str, opts: ReadOptions) -> Recordings {
    read_trains(&data(rel), &opts).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn error(rel: &str, opts: ReadOptions) -> String {
    match read_trains(&data(rel), &opts) {
        Ok(r) => panic!("{rel}: expected an error, got {} trains", r.trains.len()),
        Err(e) => e.to_string(),
    }
}

fn tonic() -> Vec<f64> {
    (0..8).map(|i| 10.0 + 100.0 * i as f64).collect()
}

fn bursting() -> Vec<f64> {
    [20.0, 220.0, 420.0, 620.0]
        .iter()
        .flat_map(|o| (0..4).map(move |k| o + 5.0 * k as f64))
        .collect()
}

fn silent() -> Vec<f64> {
    vec![50.0, 400.0]
}

/// Trains 1 to 3 of `rec` equal the common test trains (to 1e-9 ms: seconds and samples are converted).
fn assert_common_trains(what: &str, rec: &Recordings) {
    for (id, expected) in [("1", tonic()), ("2", bursting()), ("3", silent())] {
        let train = rec
            .trains
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("{what}: no ID {id}"));
        assert_eq!(train.times_ms.len(), expected.len(), "{what}: ID {id}");
        for (a, b) in train.times_ms.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-9, "{what}: ID {id}: {a} != {b}");
        }
    }
}

fn write_temp(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

// ---------------------------------------------------------------- reference format

#[test]
fn reference_valid() {
    let rec = read("reference/valid.csv");
    assert_eq!(rec.format, Format::Reference);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_common_trains("reference", &rec);
    assert!(rec.trains[3].times_ms.is_empty(), "[] is an empty train");
    assert!(
        rec.trains[4].times_ms.is_empty(),
        "an empty cell is an empty train"
    );
}

#[test]
fn reference_without_id_numbers_rows_and_warns() {
    let rec = read("reference/no_id.csv");
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(rec.warnings.len(), 1);
    assert!(
        rec.warnings[0].contains("no ID column"),
        "{:?}",
        rec.warnings
    );
    assert_common_trains("reference without ID", &rec);
}

#[test]
fn reference_unclosed_bracket() {
    let err = error("reference/unclosed.csv", ReadOptions::default());
    let expected = format!(
        "{}: row 3 (line 4), field spiking_times: unclosed bracket, expected \"[t1, t2, ...]\"",
        data("reference/unclosed.csv").display()
    );
    assert_eq!(err, expected);
}

#[test]
fn reference_nan_in_a_train() {
    let err = error("reference/nan_time.csv", ReadOptions::default());
    assert!(err.ends_with("nan_time.csv: row 2 (line 3), field spiking_times: value 2 (NaN) is not a finite number; spike times must be finite"), "{err}");
}

#[test]
fn reference_ids_stay_text_and_oddities_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(
        dir.path(),
        "ids.csv",
        "ID,spiking_times\n007,\"[3.0, 1.0, 2.0, 2.0]\"\n1.0,NaN\ncell A,\"[1. 2.\n 3.]\"\n007,[]\n",
    );
    let rec = read_trains(&p, &ReadOptions::default()).unwrap();
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["007", "1.0", "cell A", "007"]);
    assert_eq!(rec.trains[0].times_ms, [1.0, 2.0, 3.0]);
    assert!(rec.trains[1].times_ms.is_empty());
    assert_eq!(rec.trains[2].times_ms, [1.0, 2.0, 3.0]);
    let w = rec.warnings.join("\n");
    assert!(
        w.contains("1 spike time(s) out of order in 1 train(s) (ID 007); they were sorted"),
        "{w}"
    );
    assert!(
        w.contains("1 exact duplicate spike time(s) in 1 train(s) (ID 007)"),
        "{w}"
    );
    assert!(w.contains("1 row(s) have NaN as spiking_times"), "{w}");
    assert!(
        w.contains("1 ID(s) name more than one train (ID 007)"),
        "{w}"
    );
}

#[test]
fn reference_negative_time_and_bad_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(
        dir.path(),
        "neg.csv",
        "ID,spiking_times\na,\"[1.0, -2.0]\"\n",
    );
    let err = read_trains(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("row 1 (line 2), field spiking_times: value 2 (-2) is negative; spike times must be finite and non-negative"), "{err}");
    let p = write_temp(
        dir.path(),
        "fields.csv",
        "ID,spiking_times\na,[1.0]\nb,[2.0],extra\n",
    );
    let err = read_trains(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("fields.csv: row 2 (line 3): 3 fields, expected 2 like the header"),
        "{err}"
    );
    let p = write_temp(
        dir.path(),
        "text.csv",
        "ID,spiking_times\na,\"[1.0, 2.0x]\"\n",
    );
    let err = read_trains(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("row 1 (line 2), field spiking_times: value 2 (\"2.0x\") is not a number"),
        "{err}"
    );
}

// ---------------------------------------------------------------- long format

#[test]
fn long_valid_csv_and_tsv_in_seconds() {
    let rec = read("long/valid.csv");
    assert_eq!(rec.format, Format::Long);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    assert_eq!(rec.trains.len(), 3);
    assert_common_trains("long csv", &rec);

    let rec = read_with(
        "long/valid_s.tsv",
        ReadOptions {
            unit: Some(TimeUnit::S),
            ..Default::default()
        },
    );
    assert_common_trains("long tsv in s", &rec);
}

#[test]
fn long_unsorted_rows_are_grouped_sorted_and_deduplicated() {
    let rec = read("long/unsorted.csv");
    assert_eq!(
        rec.trains,
        vec![
            SpikeTrain {
                id: "1".into(),
                times_ms: vec![10.0, 20.0, 30.0]
            },
            SpikeTrain {
                id: "2".into(),
                times_ms: vec![1.0, 5.0]
            },
        ]
    );
    let w = rec.warnings.join("\n");
    assert!(
        w.contains("2 spike time(s) out of order in 2 train(s) (ID 1, 2); they were sorted"),
        "{w}"
    );
    assert!(
        w.contains("1 exact duplicate spike time(s) in 1 train(s) (ID 1); the copies were removed"),
        "{w}"
    );
}

#[test]
fn long_text_in_a_time_field() {
    let err = error("long/text_in_time.csv", ReadOptions::default());
    assert!(err.ends_with("text_in_time.csv: row 3 (line 4), field time: \"thirty\" is not a number, expected a spike time"), "{err}");
}

#[test]
fn long_negative_time() {
    let err = error("long/negative.csv", ReadOptions::default());
    assert!(err.ends_with("negative.csv: row 2 (line 3), field time: time -20.0 is negative; spike times must be finite and non-negative"), "{err}");
}

#[test]
fn long_mixed_units() {
    let err = error("long/mixed_units.csv", ReadOptions::default());
    assert!(err.ends_with("mixed_units.csv: row 3 (line 4), field unit: unit s but row 1 says ms (mixed units); use one unit for the whole table"), "{err}");
    let err = error(
        "long/mixed_units.csv",
        ReadOptions {
            unit: Some(TimeUnit::S),
            ..Default::default()
        },
    );
    assert!(
        err.contains("row 1 (line 2), field unit: unit ms but --unit says s (mixed units)"),
        "{err}"
    );
}

#[test]
fn long_unit_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(dir.path(), "s.csv", "id,time_s\nx,0.5\nx,1.5\ny,\n");
    let rec = read_trains(&p, &ReadOptions::default()).unwrap();
    assert_eq!(rec.trains[0].times_ms, [500.0, 1500.0]);
    assert_eq!(
        rec.trains[1],
        SpikeTrain {
            id: "y".into(),
            times_ms: vec![]
        },
        "an empty time declares a train"
    );
    let err = read_trains(
        &p,
        &ReadOptions {
            unit: Some(TimeUnit::Ms),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with("s.csv: header: column time_s is in s but --unit ms was given (mixed units)"),
        "{err}"
    );
    let p = write_temp(dir.path(), "u.csv", "ID,time,unit\n1,0.25,s\n1,0.5,s\n");
    let rec = read_trains(&p, &ReadOptions::default()).unwrap();
    assert_eq!(rec.trains[0].times_ms, [250.0, 500.0]);
    let p = write_temp(dir.path(), "nocol.csv", "ID,when\n1,2\n");
    let err = read_trains(
        &p,
        &ReadOptions {
            format: Some(Format::Long),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("header: no time column (found ID,when)"),
        "{err}"
    );
}

#[test]
fn long_quoted_fields_comments_and_crlf() {
    // Quotes send the file through the csv crate, the others through the fast path: same trains either way.
    let dir = tempfile::tempdir().unwrap();
    let quoted = write_temp(
        dir.path(),
        "q.csv",
        "# exported by hand\r\nID,time\r\n\"cell, a\",1.5\r\n\"cell, a\",0.5\r\nb,2\r\n\r\n# end\r\n",
    );
    let plain = write_temp(
        dir.path(),
        "p.csv",
        "# exported by hand\r\nID,time\r\ncell a,1.5\r\ncell a,0.5\r\nb,2\r\n\r\n# end\r\n",
    );
    let q = read_trains(&quoted, &ReadOptions::default()).unwrap();
    let p = read_trains(&plain, &ReadOptions::default()).unwrap();
    assert_eq!(
        q.trains[0],
        SpikeTrain {
            id: "cell, a".into(),
            times_ms: vec![0.5, 1.5]
        }
    );
    assert_eq!(
        p.trains[0],
        SpikeTrain {
            id: "cell a".into(),
            times_ms: vec![0.5, 1.5]
        }
    );
    assert_eq!(q.trains[1], p.trains[1]);
    for (name, content) in [
        ("bad_q.csv", "ID,time\n\"a\",1\n\"a\",x\n"),
        ("bad_p.csv", "ID,time\na,1\na,x\n"),
    ] {
        let f = write_temp(dir.path(), name, content);
        let err = read_trains(&f, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!(
                "{name}: row 2 (line 3), field time: \"x\" is not a number, expected a spike time"
            )),
            "{err}"
        );
    }
    for (name, content) in [
        ("short_q.csv", "ID,time\n\"a\",1\n\"a\"\n"),
        ("short_p.csv", "ID,time\na,1\na\n"),
    ] {
        let f = write_temp(dir.path(), name, content);
        let err = read_trains(&f, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!(
                "{name}: row 2 (line 3): 1 fields, expected 2 like the header"
            )),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------- text format

#[test]
fn text_valid() {
    let rec = read("text/valid.txt");
    assert_eq!(rec.format, Format::Text);
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_common_trains("text", &rec);

    let rec = read("text/named.txt");
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["cell_a", "cell_b", "cell_c"]);
    assert_eq!(rec.trains[0].times_ms, tonic());
    assert!(rec.trains[2].times_ms.is_empty());
}

#[test]
fn text_with_a_word_in_a_time_field() {
    let err = error("text/bad.txt", ReadOptions::default());
    assert_eq!(
        err,
        format!(
            "{}: line 3: value 3 (\"oops\") is not a number",
            data("text/bad.txt").display()
        )
    );
}

#[test]
fn text_in_seconds_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(dir.path(), "s.txt", "0.1 0.2\n\n0.3,0.4\n\n\n");
    let rec = read_trains(
        &p,
        &ReadOptions {
            unit: Some(TimeUnit::S),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        rec.trains.len(),
        3,
        "a blank line inside is an empty train, blank lines at the end are not"
    );
    assert_eq!(rec.trains[0].times_ms, [100.0, 200.0]);
    assert!(rec.trains[1].times_ms.is_empty());
    let p = write_temp(dir.path(), "neg.txt", "1 2\n3 -4\n");
    let err = read_trains(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("neg.txt: line 2: time -4 (value 2) is negative; spike times must be finite and non-negative"), "{err}");
}

// ---------------------------------------------------------------- phy format

#[test]
fn phy_valid_folder() {
    let rec = read("phy/valid");
    assert_eq!(rec.format, Format::Phy);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_common_trains("phy", &rec);
    // A file inside the folder names the folder.
    assert_eq!(read("phy/valid/params.py").trains, rec.trains);
}

#[test]
fn phy_only_good_and_rate() {
    let rec = read_with(
        "phy/valid",
        ReadOptions {
            only_good: true,
            ..Default::default()
        },
    );
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2"], "cluster 3 is mua");
    let rec = read_with(
        "phy/valid",
        ReadOptions {
            rate: Some(15000.0),
            ..Default::default()
        },
    );
    assert!(
        rec.warnings[0].contains("--rate 15000 Hz overrides sample_rate = 30000"),
        "{:?}",
        rec.warnings
    );
    assert_eq!(
        rec.trains[0].times_ms[0], 20.0,
        "samples at half the rate are twice as late"
    );
}

#[test]
fn phy_mismatched_array_lengths() {
    let err = error("phy/mismatched", ReadOptions::default());
    let expected = format!(
        "{}: 25 entries but spike_times.npy has 26 spikes; expected one cluster id per spike",
        data("phy/mismatched/spike_clusters.npy").display()
    );
    assert_eq!(err, expected);
}

#[test]
fn phy_without_params_needs_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["spike_times.npy", "spike_clusters.npy"] {
        std::fs::copy(data("phy/valid").join(f), dir.path().join(f)).unwrap();
    }
    let err = read_trains(dir.path(), &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("no params.py to give the sampling rate; pass it with --rate HZ"),
        "{err}"
    );
    let rec = read_trains(
        dir.path(),
        &ReadOptions {
            rate: Some(30000.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_common_trains("phy with --rate", &rec);
    let err = read_trains(
        dir.path(),
        &ReadOptions {
            only_good: true,
            rate: Some(3e4),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--only good needs cluster_group.tsv"), "{err}");
    // A truncated array.
    let bytes = std::fs::read(dir.path().join("spike_times.npy")).unwrap();
    std::fs::write(
        dir.path().join("spike_times.npy"),
        &bytes[..bytes.len() - 4],
    )
    .unwrap();
    let err = read_trains(
        dir.path(),
        &ReadOptions {
            rate: Some(3e4),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("spike_times.npy: the header announces 26 values (208 bytes) but 204 bytes of data follow (truncated file?)"), "{err}");
}

// ---------------------------------------------------------------- NWB

#[cfg(feature = "nwb")]
#[test]
fn nwb_valid() {
    let rec = read("nwb/units.nwb");
    assert_eq!(rec.format, Format::Nwb);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let ids: Vec<&str> = rec.trains.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert_common_trains("nwb", &rec);
    assert!(rec.trains[3].times_ms.is_empty(), "unit 4 has no spike");
}

#[cfg(feature = "nwb")]
#[test]
fn nwb_truncated() {
    let err = error("nwb/truncated.nwb", ReadOptions::default());
    let prefix = format!(
        "{}: not a readable NWB (HDF5) file, truncated or damaged?",
        data("nwb/truncated.nwb").display()
    );
    assert!(err.starts_with(&prefix), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[cfg(not(feature = "nwb"))]
#[test]
fn nwb_without_the_feature_says_how_to_get_it() {
    let err = error("nwb/units.nwb", ReadOptions::default());
    assert!(
        err.contains("rebuild it with the default features (or `--features nwb`)"),
        "{err}"
    );
}

// ---------------------------------------------------------------- all formats

#[test]
fn every_format_gives_the_same_features() {
    let mut sets = vec![
        ("reference", read("reference/valid.csv")),
        ("long", read("long/valid.csv")),
        (
            "long tsv (s)",
            read_with(
                "long/valid_s.tsv",
                ReadOptions {
                    unit: Some(TimeUnit::S),
                    ..Default::default()
                },
            ),
        ),
        ("text", read("text/valid.txt")),
        ("phy", read("phy/valid")),
    ];
    if cfg!(feature = "nwb") {
        sets.push(("nwb", read("nwb/units.nwb")));
    }
    let features = |rec: &Recordings, id: &str| {
        let t = rec.trains.iter().find(|t| t.id == id).unwrap();
        Features::of(&t.times_ms, &Classifier::Default)
    };
    let (_, first) = &sets[0];
    for id in ["1", "2", "3"] {
        let expected = features(first, id);
        for (name, rec) in &sets {
            let got = features(rec, id);
            assert_eq!(got.label, expected.label, "{name} ID {id}");
            for (a, b) in got.values().iter().zip(expected.values()) {
                assert!(
                    a.is_nan() && b.is_nan() || (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{name} ID {id}: {a} != {b}"
                );
            }
        }
    }
    assert_eq!(features(first, "1").label, Label::Tonic);
    assert_eq!(features(first, "2").label, Label::Bursting);
    assert_eq!(features(first, "3").label, Label::Silent);
}

#[test]
fn formats_are_guessed_from_the_path() {
    assert_eq!(
        guess_format(&data("reference/valid.csv")).unwrap(),
        Format::Reference
    );
    assert_eq!(guess_format(&data("long/valid.csv")).unwrap(), Format::Long);
    assert_eq!(
        guess_format(&data("long/valid_s.tsv")).unwrap(),
        Format::Long
    );
    assert_eq!(guess_format(&data("text/valid.txt")).unwrap(), Format::Text);
    assert_eq!(guess_format(&data("phy/valid")).unwrap(), Format::Phy);
    assert_eq!(
        guess_format(&data("phy/valid/spike_times.npy")).unwrap(),
        Format::Phy
    );
    assert_eq!(guess_format(&data("nwb/units.nwb")).unwrap(), Format::Nwb);
    let dir = tempfile::tempdir().unwrap();
    let p = write_temp(dir.path(), "x.dat", "1 2 3\n");
    let err = guess_format(&p).unwrap_err().to_string();
    assert!(err.ends_with("x.dat: cannot tell the format (unknown extension .dat); pass --format reference|long|text|phy|nwb"), "{err}");
    // A binary file named .csv: its "header" is kilobytes of noise, quoted short and escaped.
    let noise: String = (1..5000u32)
        .filter_map(|i| char::from_u32((i.wrapping_mul(2_654_435_761) >> 15) % 0x7FF))
        .filter(|c| !matches!(c, '\n' | '\r' | ',' | '\t'))
        .collect();
    let noisy = dir.path().join("noise.csv");
    std::fs::write(&noisy, &noise).unwrap();
    let err = guess_format(&noisy).unwrap_err().to_string();
    assert!(
        err.len() < 600 && err.contains("characters in all)"),
        "{err}"
    );
    let rec = read_trains(
        &p,
        &ReadOptions {
            format: Some(Format::Text),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rec.trains[0].times_ms, [1.0, 2.0, 3.0]);
    let p = write_temp(dir.path(), "x.csv", "a,b\n1,2\n");
    let err = guess_format(&p).unwrap_err().to_string();
    assert!(err.contains("neither a spiking_times column"), "{err}");
}

#[test]
fn options_that_do_not_apply_are_errors() {
    let err = error(
        "reference/valid.csv",
        ReadOptions {
            rate: Some(30000.0),
            ..Default::default()
        },
    );
    assert!(
        err.contains(
            "a sampling rate (--rate) applies only to phy folders and .npy voltage traces, not to the reference format"
        ),
        "{err}"
    );
    let err = error(
        "long/valid.csv",
        ReadOptions {
            only_good: true,
            ..Default::default()
        },
    );
    assert!(
        err.contains("--only good applies only to phy folders"),
        "{err}"
    );
    let err = error(
        "phy/valid",
        ReadOptions {
            unit: Some(TimeUnit::S),
            ..Default::default()
        },
    );
    assert!(
        err.contains("--unit s does not apply to phy folders"),
        "{err}"
    );
    let err = error(
        "phy/valid",
        ReadOptions {
            rate: Some(-1.0),
            ..Default::default()
        },
    );
    assert!(err.contains("must be a positive number of Hz"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_trains(&data("reference/nope.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Io { .. }));
    assert!(err.to_string().ends_with("nope.csv: cannot read"), "{err}");
}
