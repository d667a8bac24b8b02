//! `spikepop detect` against the simulator: traces that `spikepop simulate --traces` writes at every step,
//! searched with the simulator's own rule (an upward crossing of +10 mV re-armed below 0 mV), give back the
//! spike times the simulator wrote, within one step (0.05 ms); and what goes wrong is said.

use std::path::Path;
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn ok(args: &[&str]) {
    let o = spikepop(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `ID -> spike times` of a reference-layout CSV (`ID[,model,n_spikes],spiking_times`); the simulator's
/// `ID,model` key is joined by `/`, as the trace reader names its traces.
fn trains(path: &Path) -> Vec<(String, Vec<f64>)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (id, model, times) = (
        col("ID").unwrap(),
        col("model"),
        col("spiking_times").unwrap(),
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let key = match model {
                Some(m) => format!("{}/{}", &rec[id], &rec[m]),
                None => rec[id].to_string(),
            };
            (key, spikepop_spikes::parse_train(&rec[times]).unwrap())
        })
        .collect()
}

#[test]
fn detected_spikes_are_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // Tonic and bursting STG models (g_s 4 and -6).
    ok(&[
        "generate",
        "--model",
        "stg",
        "--gs",
        "4",
        "--gu",
        "5",
        "-n",
        "3",
        "--seed",
        "1",
        "-o",
        &p("a.csv"),
    ]);
    ok(&[
        "generate",
        "--model",
        "stg",
        "--gs",
        "-6",
        "--gu",
        "8",
        "-n",
        "3",
        "--seed",
        "2",
        "-o",
        &p("b.csv"),
    ]);
    for (pop, traces, spikes, found) in [
        ("a.csv", "ta.csv", "sa.csv", "da.csv"),
        ("b.csv", "tb.csv", "sb.csv", "db.csv"),
    ] {
        ok(&[
            "simulate",
            "--model",
            "stg",
            "--input",
            &p(pop),
            "--duration",
            "5000",
            "--traces",
            &p(traces),
            "--trace-every",
            "1",
            "-o",
            &p(spikes),
        ]);
        ok(&[
            "detect",
            "--input",
            &p(traces),
            "--threshold",
            "10",
            "-o",
            &p(found),
        ]);
        let want = trains(Path::new(&p(spikes)));
        let got = trains(Path::new(&p(found)));
        assert_eq!(want.len(), got.len());
        for ((wk, w), (gk, g)) in want.iter().zip(&got) {
            assert_eq!(wk, gk);
            assert!(!w.is_empty(), "{wk} fires");
            assert_eq!(w.len(), g.len(), "{wk}: {w:?} vs {g:?}");
            for (a, b) in w.iter().zip(g) {
                assert!((a - b).abs() <= 0.05, "{wk}: {a} vs {b}");
            }
        }
    }
    // The detected file is a spike-time input like any other.
    ok(&["features", "--input", &p("db.csv"), "-o", &p("f.csv")]);
    let f = std::fs::read_to_string(p("f.csv")).unwrap();
    assert_eq!(
        f.lines().filter(|l| l.contains(",bursting,")).count(),
        3,
        "{f}"
    );
    // And every command reads the traces themselves, with the same detection options: the same features.
    ok(&[
        "features",
        "--input",
        &p("tb.csv"),
        "--threshold",
        "10",
        "-o",
        &p("g.csv"),
    ]);
    assert_eq!(std::fs::read_to_string(p("g.csv")).unwrap(), f);
    // A reconstruction from traces records how their spikes were detected.
    ok(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &p("tb.csv"),
        "--threshold",
        "10",
        "-n",
        "2",
        "--no-verify",
        "-o",
        &p("rec"),
    ]);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("rec/run.json")).unwrap()).unwrap();
    assert_eq!(run["format"], "trace");
    assert_eq!(run["detection"]["threshold_mv"], 10.0);
    assert_eq!(run["detection"]["at"], "crossing");
    // Detection options are refused for spike-time files.
    let o = spikepop(&[
        "features",
        "--input",
        &p("db.csv"),
        "--threshold",
        "10",
        "-o",
        &p("h.csv"),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("spike detection options apply only to voltage traces"),
        "{e}"
    );
}

#[test]
fn a_trace_without_crossings_and_bad_input_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(p("flat.csv"), "t,cell\n0,-70\n0.1,-40\n0.2,-70\n").unwrap();
    let o = spikepop(&["detect", "--input", &p("flat.csv"), "-o", &p("out.csv")]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("no upward crossing of 0 mV; the trace spans -70.0 to -40.0 mV (a threshold to try: -55.0 mV"),
        "{e}"
    );
    assert!(!Path::new(&p("out.csv")).exists());
    let o = spikepop(&[
        "detect",
        "--input",
        &p("flat.csv"),
        "--hysteresis",
        "0",
        "-o",
        &p("out.csv"),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("invalid --hysteresis 0: expected a number of mV > 0"),
        "{e}"
    );
    std::fs::write(p("bad.csv"), "t,V,ID\n0,-70,a\n0.1,x,a\n").unwrap();
    let o = spikepop(&["detect", "--input", &p("bad.csv"), "-o", &p("out.csv")]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("row 2 (line 3), field V"), "{e}");
}
