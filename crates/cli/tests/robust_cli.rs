//! Trains spikepop did not simulate, through the command line: long recordings read in windows, trains out of
//! the predictor's domain flagged and widened, and `evaluate --benchmark` on the committed foreign benchmark
//! (`benchmarks/foreign-small`, made by `scripts/foreign_benchmark.py` with scipy's integrators).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn root() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `spikepop predict` rows as maps from column to cell.
fn predictions(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn built_in(model: &str) -> bool {
    let o = spikepop(&[
        "predict",
        "--model",
        model,
        "--input",
        p(&root().join("examples/stg_set.csv")),
        "-o",
        "/dev/null",
    ]);
    o.status.success()
}

/// A 10-minute tonic train at 8 Hz with 0.5 ms of jitter is read as its 3-s pieces are: tonic, in 32 windows,
/// with the DICs that its first 3 s give (within their sd), where one 600-s train used to be called bursting
/// with an sd of hundreds; a Poisson train of 200,000 spikes at a rate no STG model of the training range fires
/// at is flagged out of domain and gets at least the training spread, not a confident number.
#[test]
fn long_and_foreign_trains_get_honest_predictions() {
    if !built_in("stg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.csv");
    let o = spikepop(&[
        "synth",
        "--kind",
        "tonic",
        "--rate",
        "8",
        "--duration",
        "600000",
        "--jitter",
        "0.5",
        "--seed",
        "3",
        "-o",
        p(&long),
    ]);
    ok(&o);
    let text = std::fs::read_to_string(&long).unwrap();
    let times: Vec<f64> = {
        let cell = text.lines().nth(1).unwrap();
        let inner = &cell[cell.find('[').unwrap() + 1..cell.rfind(']').unwrap()];
        inner
            .split(',')
            .map(|v| v.trim().parse().unwrap())
            .collect()
    };
    assert!(times.len() > 4500, "{}", times.len());
    let first: Vec<f64> = times
        .iter()
        .copied()
        .filter(|t| *t < times[0] + 3000.0)
        .collect();
    let fmt = |t: &[f64]| {
        let v: Vec<String> = t.iter().map(|x| x.to_string()).collect();
        format!("\"[{}]\"", v.join(", "))
    };
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        format!(
            "ID,spiking_times\nwhole,{}\nfirst3s,{}\n",
            fmt(&times),
            fmt(&first)
        ),
    )
    .unwrap();
    let out = dir.path().join("dics.csv");
    ok(&spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(&input),
        "-o",
        p(&out),
    ]));
    let rows = predictions(&out);
    let (whole, head) = (&rows[0], &rows[1]);
    assert_eq!(whole["label"], "tonic");
    assert_eq!(whole["windows"], "32");
    assert_eq!(head["windows"], "1");
    let num =
        |r: &std::collections::HashMap<String, String>, c: &str| -> f64 { r[c].parse().unwrap() };
    for d in ["g_s", "g_u"] {
        let sd = num(whole, &format!("sd_{d}"));
        assert!(sd.is_finite() && sd < 20.0, "{d}: sd {sd}");
        let gap = (num(whole, d) - num(head, d)).abs();
        assert!(
            gap < num(head, &format!("sd_{d}")),
            "{d}: {} vs {}",
            num(whole, d),
            num(head, d)
        );
    }

    // 200,000 Poisson spikes at 300 Hz: faster than any training train.
    let poisson = dir.path().join("poisson.csv");
    ok(&spikepop(&[
        "synth",
        "--kind",
        "poisson",
        "--rate",
        "300",
        "--duration",
        "666667",
        "--seed",
        "5",
        "-o",
        p(&poisson),
    ]));
    let out = dir.path().join("p.csv");
    ok(&spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(&poisson),
        "-o",
        p(&out),
    ]));
    let row = &predictions(&out)[0];
    assert!(!row["ood"].is_empty(), "{row:?}");
    assert!(
        num(row, "sd_g_s") >= 10.0 && num(row, "sd_g_u") >= 5.0,
        "{row:?}"
    );
}

/// `evaluate --benchmark` refuses a folder without a manifest, naming it, and one whose domain file is
/// malformed, naming that file and line.
#[test]
fn a_bad_benchmark_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = spikepop(&["evaluate", "--model", "stg", "--benchmark", p(dir.path())]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("benchmark.json"), "{e}");
    std::fs::write(
        dir.path().join("benchmark.json"),
        r#"{"format": "spikepop-benchmark", "version": 1, "model": "stg", "domains": [{"name": "x", "file": "x.csv"}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("x.csv"),
        "ID,g_s,g_u,spiking_times\na,1,2,\"[1, 2, oops]\"\n",
    )
    .unwrap();
    let o = spikepop(&["evaluate", "--model", "stg", "--benchmark", p(dir.path())]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("x.csv") && e.contains("line 2"), "{e}");
}
