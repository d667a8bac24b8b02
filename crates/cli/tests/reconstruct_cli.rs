//! `spikepop reconstruct` end to end with a DIC file: a tonic, a bursting and a silent recording, the
//! output files, reproducibility, and a malformed input.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::AtomicBool;

use spikepop_models::STG;
use spikepop_models::cells::{STG_REFERENCE_ID0, STG_SEED};
use spikepop_models::sim::{Compiled, Settings};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn recordings(dir: &Path) -> (String, String) {
    let s = Settings::for_model(&STG);
    let c = Compiled::new(&STG, s.dt);
    let train = |g: &[f64]| {
        spikepop_spikes::format_train(&c.run(g, &s, None, &AtomicBool::new(false)).spikes)
    };
    let rec = dir.join("rec.csv");
    std::fs::write(
        &rec,
        format!(
            "ID,spiking_times\ncell A,\"{}\"\nb2,\"{}\"\nquiet,\"[3100.0, 3900.0]\"\n",
            train(&STG_SEED),
            train(&STG_REFERENCE_ID0)
        ),
    )
    .unwrap();
    let prior = dir.join("dics.csv");
    std::fs::write(&prior, "ID,label,g_s,sd_g_s,g_u,sd_g_u\ncell A,tonic,4,2,5,2\nb2,bursting,-15,2,2,1\nquiet,silent,,,,\n").unwrap();
    (
        rec.to_str().unwrap().to_string(),
        prior.to_str().unwrap().to_string(),
    )
}

/// The position of each named column of a CSV file's header.
fn columns(path: &Path) -> impl Fn(&str) -> usize + use<> {
    let header = csv::Reader::from_path(path)
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    move |name| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

fn read(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn tonic_bursting_and_silent_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, prior) = recordings(dir.path());
    let out = dir.path().join("out");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &rec,
        "--prior",
        &prior,
        "-n",
        "12",
        "--seed",
        "5",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pop = read(&out.join("population.csv"));
    assert_eq!(
        pop.len(),
        24,
        "12 verified models for each spiking recording"
    );
    assert!(pop.iter().all(|r| &r[r.len() - 1] == "true"));
    assert!(pop.iter().filter(|r| &r[0] == "cell A").count() == 12);
    let summary = read(&out.join("summary.csv"));
    assert_eq!(summary.len(), 3, "silent recordings are reported");
    let labels: Vec<&str> = summary.iter().map(|r| &r[1]).collect();
    assert_eq!(labels, ["tonic", "bursting", "silent"]);
    let header = csv::Reader::from_path(out.join("summary.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&summary[2][col("status")], "silent: no population");
    assert_eq!(&summary[0][col("status")], "ok");
    // The width of each population: its central 90% along g_s and g_u, ordered; none for the silent one.
    for r in &summary[..2] {
        let q = |c: &str| r[col(c)].parse::<f64>().unwrap();
        assert!(q("pop_g_s_q05") <= q("pop_g_s_q95") && q("pop_g_u_q05") <= q("pop_g_u_q95"));
        assert!(r[col("ood")].is_empty());
    }
    assert_eq!(&summary[2][col("pop_g_s_q05")], "NaN");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["seed"], 5);
    assert_eq!(run["n"], 12);

    // The same seed again (with another thread count) gives the same files.
    let out2 = dir.path().join("out2");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &rec,
        "--prior",
        &prior,
        "-n",
        "12",
        "--seed",
        "5",
        "--threads",
        "1",
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for f in ["population.csv", "summary.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn no_verify_is_the_reference_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, prior) = recordings(dir.path());
    let out = dir.path().join("out");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &rec,
        "--prior",
        &prior,
        "-n",
        "16",
        "--no-verify",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pop = read(&out.join("population.csv"));
    assert_eq!(pop.len(), 32);
    assert!(
        pop.iter()
            .all(|r| r[r.len() - 1].is_empty() && &r[r.len() - 2] == "NaN")
    );
}

#[test]
fn malformed_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (input, prior) = recordings(dir.path());
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "ID,spiking_times\n1,\"[3000.0, 3100.0\"\n").unwrap();
    let out = dir.path().join("out");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        bad.to_str().unwrap(),
        "--prior",
        &prior,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv") && err.contains("bracket"), "{err}");
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "no temporary folder left: {left:?}");

    // An output folder that holds other files is refused before any work, and left as it was.
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &input,
        "--prior",
        &prior,
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not an earlier reconstruction"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);

    // A tonic spread below 1 would narrow the prediction: named, nothing written.
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &input,
        "--prior",
        &prior,
        "--tonic-spread",
        "0.5",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--tonic-spread 0.5"), "{err}");
    assert!(!out.exists());

    // The page and the command line share one check: a negative tolerance is refused by both.
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &input,
        "--prior",
        &prior,
        "--tol-rate=-0.1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid --tol-rate -0.1: expected a number >= 0"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Without `--prior`, the built-in predictor gives each recording's DIC distribution: the README's main job
/// on the bundled example. The predicted columns are `spikepop predict`'s, and every recording gets its
/// verified population.
#[test]
fn built_in_predictor_on_the_bundled_example() {
    let dir = tempfile::tempdir().unwrap();
    let example = &format!(
        "{}/../../examples/stg_set.csv",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    );
    // As in the README, `-o out/stg` where `out` does not exist yet.
    let out = dir.path().join("out/stg");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        example,
        "-n",
        "10",
        // Recording 5's doublets are rare among candidates (about 4% pass): a larger budget than 20 N.
        "--max-candidates",
        "1000",
        "--seed",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = read(&out.join("summary.csv"));
    assert_eq!(summary.len(), 5);
    let col = columns(&out.join("summary.csv"));
    for r in &summary {
        assert_eq!(&r[col("status")], "ok", "{r:?}");
        assert_eq!(&r[col("verified")], "10");
    }
    let labels: Vec<&str> = summary.iter().map(|r| &r[1]).collect();
    assert_eq!(
        labels,
        ["tonic", "bursting", "bursting", "bursting", "bursting"]
    );
    let pop = read(&out.join("population.csv"));
    assert_eq!(pop.len(), 50);

    let dics = dir.path().join("dics.csv");
    let o = spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        example,
        "-o",
        dics.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for (s, p) in summary.iter().zip(read(&dics)) {
        for (a, b) in [
            ("pred_g_s", 2),
            ("pred_sd_g_s", 3),
            ("pred_g_u", 4),
            ("pred_sd_g_u", 5),
        ] {
            let x: f64 = s[col(a)].parse().unwrap();
            let y: f64 = p[b].parse().unwrap();
            assert!((x - y).abs() <= 5e-5, "{a}: {x} vs {y}");
        }
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["prior"]["weights"], "built-in stg");
    assert_eq!(run["prior"]["weights_sha256"].as_str().unwrap().len(), 64);
}

/// The DA example (simulated from `examples/da_set_models.csv`): the built-in DA predictor and the
/// verification find every spiking recording's population, the silent one is reported, and the refined DICs
/// of the bursting recordings lie close to those of the models that fired them.
#[test]
fn da_example_recovers_the_true_dics_of_bursters() {
    let dir = tempfile::tempdir().unwrap();
    let examples = format!(
        "{}/../../examples",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    );
    let truth = dir.path().join("truth.csv");
    let o = spikepop(&[
        "dics",
        "--model",
        "da",
        "--input",
        &format!("{examples}/da_set_models.csv"),
        "-o",
        truth.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "da",
        "--input",
        &format!("{examples}/da_set.csv"),
        "-n",
        "8",
        // DA bursters pass about 1 time in 10 (README): a larger budget than 20 N.
        "--max-candidates",
        "1000",
        "--seed",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let col = columns(&out.join("summary.csv"));
    let summary = read(&out.join("summary.csv"));
    let labels: Vec<&str> = summary.iter().map(|r| &r[1]).collect();
    assert_eq!(labels, ["tonic", "tonic", "bursting", "bursting", "silent"]);
    let truth = read(&truth);
    for (s, t) in summary.iter().zip(&truth) {
        if &s[1] == "silent" {
            assert_eq!(&s[col("status")], "silent: no population");
            continue;
        }
        assert_eq!(&s[col("status")], "ok", "{s:?}");
        if &s[1] == "bursting" {
            for (est, true_col) in [("refined_g_s", 3), ("refined_g_u", 4)] {
                let x: f64 = s[col(est)].parse().unwrap();
                let y: f64 = t[true_col].parse().unwrap();
                assert!((x - y).abs() < 1.0, "ID {}: {est} {x} vs true {y}", &s[0]);
            }
        }
    }
}

/// `reconstruct --noise` simulates its candidates with that noise and tells the built-in DA predictor the same
/// amplitude: its predicted DICs are those of `predict --noise`, and without `--noise` those of `predict`.
#[test]
fn the_noise_of_the_candidates_is_told_to_the_predictor() {
    let dir = tempfile::tempdir().unwrap();
    let bench = format!(
        "{}/../../benchmarks/foreign-small/da/noise2.csv",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    );
    // Two slow noisy cells (c0002, c0010), 9 s each.
    let text = std::fs::read_to_string(&bench).unwrap();
    let mut lines = text.lines();
    let mut two = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.starts_with("c0002,") || l.starts_with("c0010,")) {
        two.push_str(l);
        two.push('\n');
    }
    let input = dir.path().join("two.csv");
    std::fs::write(&input, two).unwrap();
    let input = input.to_str().unwrap();
    for noise in [None, Some("2")] {
        let tag = noise.unwrap_or("none");
        let pred = dir.path().join(format!("pred-{tag}.csv"));
        let out = dir.path().join(format!("out-{tag}"));
        let mut p = vec![
            "predict",
            "--model",
            "da",
            "--input",
            input,
            "-o",
            pred.to_str().unwrap(),
        ];
        let mut r = vec![
            "reconstruct",
            "--model",
            "da",
            "--input",
            input,
            "-n",
            "1",
            "--max-candidates",
            "3",
            "--seed",
            "1",
            "-o",
            out.to_str().unwrap(),
        ];
        if let Some(s) = noise {
            p.extend(["--noise", s]);
            r.extend(["--noise", s]);
        }
        for args in [&p, &r] {
            let o = spikepop(args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let (pc, sc) = (columns(&pred), columns(&out.join("summary.csv")));
        for (a, b) in read(&pred)
            .iter()
            .zip(read(&out.join("summary.csv")).iter())
        {
            assert_eq!(a[pc("ID")], b[sc("ID")]);
            let x: f64 = a[pc("g_u")].parse().unwrap();
            let y: f64 = b[sc("pred_g_u")].parse().unwrap();
            assert!((x - y).abs() < 1e-3, "{tag}: predict {x}, reconstruct {y}");
        }
    }
    // Told, the two cells (true g_u 5.38 and 5.34) are read within 1.5; untold, 4 or more away.
    let told = read(&dir.path().join("out-2/summary.csv"));
    let untold = read(&dir.path().join("out-none/summary.csv"));
    let sc = columns(&dir.path().join("out-2/summary.csv"));
    for (t, u) in told.iter().zip(&untold) {
        let (t, u): (f64, f64) = (
            t[sc("pred_g_u")].parse().unwrap(),
            u[sc("pred_g_u")].parse().unwrap(),
        );
        assert!(
            (t - 5.36).abs() < 1.5 && (u - 5.36).abs() > 3.0,
            "told {t}, untold {u}"
        );
    }
}
