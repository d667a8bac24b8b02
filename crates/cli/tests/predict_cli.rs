//! `spikepop train`, `calibrate`, `evaluate` and `predict` end to end on a tiny synthetic data set: weights and checkpoints
//! written, resume, the error table, the predictions file (silent rows included) and bad weights files.

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

fn err(o: &Output) -> String {
    assert!(!o.status.success(), "should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn train_str(t: &[f64]) -> String {
    let v: Vec<String> = t.iter().map(|x| format!("{x}")).collect();
    format!("\"[{}]\"", v.join(", "))
}

/// Tonic trains (g_s from the rate) and bursting trains (g_u from the period), `n` of each.
fn write_data(path: &Path, n: usize, offset: usize) {
    let mut s = String::from("ID,g_s,g_u,target,spiking_times\n");
    for i in 0..n {
        let k = (i + offset) as f64;
        let period = 40.0 + (k * 7.0) % 60.0;
        let tonic: Vec<f64> = (0..40).map(|j| 3000.0 + period * j as f64).collect();
        s.push_str(&format!(
            "t{i},{},{},{},{}\n",
            period / 10.0,
            2.0,
            2 * i,
            train_str(&tonic)
        ));
        let bp = 400.0 + (k * 37.0) % 600.0;
        let mut b = Vec::new();
        for j in 0..5 {
            for q in 0..4 {
                b.push(3000.0 + bp * j as f64 + 10.0 * q as f64);
            }
        }
        s.push_str(&format!(
            "b{i},-8,{},{},{}\n",
            bp / 100.0,
            2 * i + 1,
            train_str(&b)
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn train_resume_evaluate_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    write_data(&data, 60, 0);
    write_data(&test, 10, 1000);
    let w = dir.path().join("w.safetensors");
    let args = [
        "train",
        "--model",
        "stg",
        "--data",
        p(&data),
        "-o",
        p(&w),
        "--epochs",
        "3",
        "--hidden",
        "16,16",
        "--batch",
        "16",
        "--seed",
        "2",
    ];
    ok(&spikepop(&args));
    assert!(w.is_file());
    let ckpt = dir.path().join("w.safetensors.ckpt");
    for f in [
        "last.safetensors",
        "best.safetensors",
        "optimizer.bpk",
        "state.txt",
    ] {
        assert!(ckpt.join(f).is_file(), "{f} missing");
    }
    let first = std::fs::read(&w).unwrap();
    // Resuming a finished run gives the same weights.
    // A --beta outside [0, 1] is refused before any data is read.
    let mut bad = args.to_vec();
    bad.extend(["--beta", "1.5", "--loss", "laplace"]);
    let e = err(&spikepop(&bad));
    assert!(e.contains("--beta 1.5") && e.contains("from 0 to 1"), "{e}");
    // So are augmentation settings outside their range.
    let mut bad = args.to_vec();
    bad.extend(["--p-clean", "2"]);
    let e = err(&spikepop(&bad));
    assert!(
        e.contains("--p-clean 2") && e.contains("probability"),
        "{e}"
    );
    let e = err(&spikepop(
        &[args.as_slice(), &["--resolution-ms=-1"]].concat(),
    ));
    assert!(e.contains("--resolution-ms -1"), "{e}");
    let mut resume = args.to_vec();
    resume.push("--resume");
    ok(&spikepop(&resume));
    assert_eq!(std::fs::read(&w).unwrap(), first);

    // --resolution-ms: recorded in the weights, which then blur every train they are given (reproducibly).
    let blurred = dir.path().join("blurred.safetensors");
    let mut res = args.to_vec();
    res[6] = p(&blurred);
    res.extend(["--resolution-ms", "0.5"]);
    ok(&spikepop(&res));
    let bytes = std::fs::read(&blurred).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains(r#""resolution_ms":"0.5""#));
    let predict_with = |weights: &std::path::Path, out: &std::path::Path| {
        ok(&spikepop(&[
            "predict",
            "--model",
            "stg",
            "--input",
            p(&test),
            "--weights",
            p(weights),
            "-o",
            p(out),
        ]));
        std::fs::read_to_string(out).unwrap()
    };
    let a = predict_with(&blurred, &dir.path().join("a.csv"));
    assert_eq!(a, predict_with(&blurred, &dir.path().join("b.csv")));
    assert_ne!(a, predict_with(&w, &dir.path().join("c.csv")));

    let evaluate = |extra: &[&str]| {
        let mut a = vec![
            "evaluate",
            "--model",
            "stg",
            "--data",
            p(&test),
            "--weights",
            p(&w),
        ];
        a.extend_from_slice(extra);
        spikepop(&a)
    };
    let table = ok(&evaluate(&[]));
    assert!(table.contains("| all | 20 |"), "{table}");
    assert!(
        table.contains("| tonic | 10 |") && table.contains("| bursting | 10 |"),
        "{table}"
    );
    assert!(table.contains("in 1 sd g_s"), "{table}");

    // --intervals: the same table, then 95% bootstrap intervals per row over the targets (20 here), seeded.
    let boot = ok(&evaluate(&["--intervals", "200", "--seed", "3"]));
    assert!(boot.starts_with(table.trim_end()), "{boot}");
    assert!(
        boot.contains("95% intervals (bootstrap over targets)") && boot.contains("| all | 20 | "),
        "{boot}"
    );
    assert_eq!(boot, ok(&evaluate(&["--intervals", "200", "--seed", "3"])));

    // --jitter-ms and --drop perturb the test trains, seeded: another table, the same one for the same seed.
    let perturbed = ["--jitter-ms", "2", "--drop", "0.05", "--seed", "4"];
    let jittered = ok(&evaluate(&perturbed));
    assert_ne!(jittered, table);
    assert_eq!(jittered, ok(&evaluate(&perturbed)));
    let e = err(&evaluate(&["--drop", "1"]));
    assert!(e.contains("--drop 1") && e.contains("probability"), "{e}");
    let e = err(&evaluate(&["--jitter-ms=-1"]));
    assert!(e.contains("--jitter-ms -1"), "{e}");
    // --grid-ms puts the spikes on a sampling grid: a coarse one (5 ms) changes the table.
    assert_ne!(ok(&evaluate(&["--grid-ms", "5"])), table);
    let e = err(&evaluate(&["--grid-ms", "nan"]));
    assert!(e.contains("--grid-ms NaN"), "{e}");

    // --same-cells-as: only the cells that fire in the other set (here, the same cells with the bursting
    // trains silent) are scored; cells whose DICs differ are refused.
    let test_text = std::fs::read_to_string(&test).unwrap();
    let quiet: String = test_text
        .lines()
        .map(|l| match l.find(",\"[") {
            Some(k) if l.starts_with('b') => format!("{},\"[]\"\n", &l[..k]),
            _ => format!("{l}\n"),
        })
        .collect();
    let other = dir.path().join("other.csv");
    std::fs::write(&other, &quiet).unwrap();
    let same = ["--same-cells-as", p(&other)];
    let table = ok(&evaluate(&same));
    assert!(table.contains("| all | 10 |"), "{table}");
    assert!(
        table.contains("| tonic | 10 |") && !table.contains("| bursting |"),
        "{table}"
    );
    std::fs::write(&other, quiet.replacen("t0,", "t0,99", 1)).unwrap();
    let e = err(&evaluate(&same));
    assert!(e.contains("ID t0") && e.contains("same cells"), "{e}");

    // calibrate: new temperatures on other data, the same network (same centres, rescaled sds).
    let recal = dir.path().join("recal.safetensors");
    let calibrate = |data: &Path| {
        spikepop(&[
            "calibrate",
            "--model",
            "stg",
            "--data",
            p(data),
            "--weights",
            p(&w),
            "-o",
            p(&recal),
        ])
    };
    let note = calibrate(&data);
    ok(&note);
    let note = String::from_utf8_lossy(&note.stderr).into_owned();
    assert!(note.contains("calibrated on 120 firing trains"), "{note}");
    let recal_bytes = std::fs::read(&recal).unwrap();
    ok(&calibrate(&data));
    assert_eq!(std::fs::read(&recal).unwrap(), recal_bytes);
    let before = predict_with(&w, &dir.path().join("d.csv"));
    let after = predict_with(&recal, &dir.path().join("e.csv"));
    assert_ne!(before, after);
    for (b, a) in before.lines().zip(after.lines()).skip(1) {
        let (b, a): (Vec<&str>, Vec<&str>) = (b.split(',').collect(), a.split(',').collect());
        assert_eq!((b[0], b[1], b[2], b[4]), (a[0], a[1], a[2], a[4]));
    }
    // Too few trains, or weights of another model, are refused.
    let e = err(&calibrate(&test));
    assert!(
        e.contains(p(&test)) && e.contains("20 firing trains") && e.contains("at least 50"),
        "{e}"
    );
    let e = err(&spikepop(&[
        "calibrate",
        "--model",
        "da",
        "--data",
        p(&data),
        "--weights",
        p(&w),
        "-o",
        p(&recal),
    ]));
    assert!(e.contains("trained for the stg model"), "{e}");
    // The bound of irregular patterns needs 100 irregular trains; these noise-free trains have few.
    let e = err(&spikepop(&[
        "calibrate",
        "--model",
        "stg",
        "--pattern-data",
        p(&data),
        "--weights",
        p(&w),
        "-o",
        p(&recal),
    ]));
    assert!(
        e.contains(p(&data)) && e.contains("irregular trains") && e.contains("at least 100"),
        "{e}"
    );

    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "ID,spiking_times\nA,\"[3000, 3050, 3100, 3150, 3200, 3250, 3300]\"\nB,\"[3000]\"\nC,\"[]\"\n",
    )
    .unwrap();
    let out = dir.path().join("dics.csv");
    ok(&spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(&input),
        "--weights",
        p(&w),
        "-o",
        p(&out),
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "ID,label,g_s,sd_g_s,g_u,sd_g_u,p_tonic,p_bursting,p_irregular,ood,windows"
    );
    let a: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(a[0], "A");
    assert!(
        ["tonic", "bursting", "irregular"].contains(&a[1]),
        "{}",
        lines[1]
    );
    let p_sum: f64 = a[6..9].iter().map(|v| v.parse::<f64>().unwrap()).sum();
    assert!((p_sum - 1.0).abs() < 1e-3, "{}", lines[1]);
    assert!(a[3].parse::<f64>().unwrap() > 0.0 && a[5].parse::<f64>().unwrap() > 0.0);
    assert_eq!(lines[1].split(',').count(), 11);
    // One window (a short train); `ood` empty or a known reason.
    assert_eq!(a[10], "1");
    assert!(
        a[9].split('+')
            .all(|r| ["", "range", "rate", "windows"].contains(&r)),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "B,silent,,,,,,,,,");
    assert_eq!(lines[3], "C,silent,,,,,,,,,");

    // Weights for another model, and files that are not weights, are refused with a clear message.
    let e = err(&spikepop(&[
        "predict",
        "--model",
        "da",
        "--input",
        p(&input),
        "--weights",
        p(&w),
        "-o",
        p(&out),
    ]));
    assert!(e.contains("trained for the stg model"), "{e}");
    let e = err(&spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(&input),
        "--weights",
        p(&data),
        "-o",
        p(&out),
    ]));
    assert!(e.contains("not a safetensors file"), "{e}");
}

#[test]
fn built_in_weights_predict_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dics.csv");
    let example =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../examples/stg_set.csv");
    let o = spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(&example),
        "-o",
        p(&out),
    ]);
    if !o.status.success() {
        // A build without shipped weights says so.
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("--weights"), "{e}");
        return;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 6, "{text}");
}

/// The cells of the `| <label> |` row of an error table, trimmed: "", label, n, MAE g_s, median g_s, ...
fn table_row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(&format!("| {label} |")))
        .unwrap_or_else(|| panic!("no {label} row in {table}"))
        .split('|')
        .map(str::trim)
        .collect()
}

/// The coverages of the `| <label> |` row of an error table: 1 sd g_s, 1 sd g_u, 2 sd g_s, 2 sd g_u (percent).
fn coverages(table: &str, label: &str) -> Vec<f64> {
    table_row(table, label)
        .iter()
        .filter_map(|f| f.strip_suffix('%')?.parse().ok())
        .take(4)
        .collect()
}

/// Runs `spikepop dataset --model stg --format csv -o OUT` with `args` (targets, seed, step, ...).
fn stg_dataset(out: &Path, args: &[&str]) {
    let mut a = vec!["dataset", "--model", "stg", "--format", "csv", "-o", p(out)];
    a.extend_from_slice(args);
    ok(&spikepop(&a));
}

#[test]
fn calibrating_the_built_in_weights_on_simulations() {
    // 400 STG simulations; the built-in network recalibrated on them covers them inside the 1-sd band
    // (60-76%) for every DIC and label and at least the 2-sd band's 90%, and the file records what it was
    // calibrated on. (Above 98% inside 2 sd is allowed: the errors of tonic trains from a bounded training
    // range are lighter-tailed than a Gaussian, and one factor cannot put both coverages at their centres.)
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cal");
    stg_dataset(
        &data,
        &[
            "--targets",
            "100",
            "--per-target",
            "4",
            "--seed",
            "5",
            "--dt",
            "0.0125",
        ],
    );
    let w = dir.path().join("recal.safetensors");
    ok(&spikepop(&[
        "calibrate",
        "--model",
        "stg",
        "--data",
        p(&data),
        "-o",
        p(&w),
    ]));
    let bytes = std::fs::read(&w).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains(r#""calibration_data":""#));
    let table = ok(&spikepop(&[
        "evaluate",
        "--model",
        "stg",
        "--data",
        p(&data),
        "--weights",
        p(&w),
    ]));
    for label in ["tonic", "bursting"] {
        let c = coverages(&table, label);
        assert!(
            c[..2].iter().all(|v| (60.0..=76.0).contains(v))
                && c[2..].iter().all(|v| (90.0..=99.9).contains(v)),
            "{label}: {c:?}\n{table}"
        );
    }
}

/// `train` records the integration steps of its noise-free `spikepop dataset` sources in the weights
/// (`sim_dt_ms`), and `evaluate` says when noise-free test trains were simulated at another step coarser than
/// the finest, whose spike-time error is above what the network was trained to read.
#[test]
fn the_training_step_is_recorded_and_a_coarser_test_step_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, dt: &str, noise: &str| {
        let out = dir.path().join(name);
        stg_dataset(
            &out,
            &[
                "--targets",
                "6",
                "--per-target",
                "2",
                "--seed",
                "5",
                "--duration",
                "4000",
                "--dt",
                dt,
                "--noise",
                noise,
            ],
        );
        out
    };
    let fine = make("fine", "0.025", "0");
    let noisy = make("noisy", "0.05", "5");
    let coarse = make("coarse", "0.05", "0");
    let between = make("between", "0.04", "0");
    let w = dir.path().join("w.safetensors");
    let train = |data: &[&Path]| {
        let mut a = vec![
            "train",
            "--model",
            "stg",
            "-o",
            p(&w),
            "--epochs",
            "1",
            "--hidden",
            "8",
        ];
        for d in data {
            a.extend(["--data", p(d)]);
        }
        ok(&spikepop(&a));
        String::from_utf8_lossy(&std::fs::read(&w).unwrap()).into_owned()
    };
    // Noisy sources do not count: the noise hides the integrator.
    assert!(train(&[&fine, &noisy]).contains(r#""sim_dt_ms":"0.025""#));
    let evaluate = |data: &Path| {
        let o = spikepop(&[
            "evaluate",
            "--model",
            "stg",
            "--data",
            p(data),
            "--weights",
            p(&w),
        ]);
        ok(&o);
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let note = evaluate(&coarse);
    assert!(
        note.contains("dt 0.05 ms") && note.contains("dt 0.025 ms") && note.contains("--dt 0.025"),
        "{note}"
    );
    assert!(!evaluate(&fine).contains("note:"));
    assert!(!evaluate(&noisy).contains("note:"));
    // Noise-free sources at two steps: both are recorded, and a test set at either is the network's own; one at
    // a step between them is not.
    assert!(train(&[&coarse, &fine, &noisy]).contains(r#""sim_dt_ms":"0.025,0.05""#));
    assert!(!evaluate(&coarse).contains("note:"));
    assert!(!evaluate(&fine).contains("note:"));
    let note = evaluate(&between);
    assert!(
        note.contains("dt 0.04 ms")
            && note.contains("dt 0.025 and 0.05 ms")
            && note.contains("--dt 0.025"),
        "{note}"
    );
    // Data without a manifest: no step is recorded.
    let bare = dir.path().join("bare.csv");
    std::fs::copy(fine.join("part-0.csv"), &bare).unwrap();
    assert!(!train(&[&bare]).contains("sim_dt_ms"));
    assert!(!evaluate(&coarse).contains("note:"));
}

/// A recorded cell has fired for minutes and settled; the test splits start every cell from rest 3 s before the
/// window, where a network can read how the cell settles (`notes/predictor-log.md` section 4g). On settled tonic
/// cells (30-s transient) that reading is gone, and the built-in network must say so: most true DICs inside 2 sd
/// (the network of session 8, trained without settled cells, had 58% for g_s and 66% for g_u there; the
/// built-in one 99.3% and 96.4% on the 1,027 settled tonic trains of the seed-2 split).
#[test]
fn the_built_in_stg_network_is_not_overconfident_on_settled_cells() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("settled");
    stg_dataset(
        &data,
        &[
            "--targets",
            "40",
            "--per-target",
            "2",
            "--seed",
            "41",
            "--dt",
            "0.0125",
            "--duration",
            "33000",
            "--transient",
            "30000",
        ],
    );
    let table = ok(&spikepop(&[
        "evaluate",
        "--model",
        "stg",
        "--data",
        p(&data),
    ]));
    let n: usize = table_row(&table, "tonic")[2].parse().unwrap();
    assert!(n >= 20, "only {n} tonic trains\n{table}");
    let c = coverages(&table, "tonic");
    assert!(
        c[2] >= 85.0 && c[3] >= 85.0,
        "tonic 2-sd coverage {c:?}\n{table}"
    );
}

/// spikepop's default step (0.05 ms) puts a structured spike-time error of about 0.014 ms into the trains, and
/// 0.025 ms one of about 0.003 ms, which a network trained only at the fine step reads as a settling. The
/// built-in STG network was trained on several steps (`notes/predictor-log.md` section 4h): on 0.05-ms and
/// 0.025-ms trains it reads the seed-42 cells below as well as at the fine step (0.0125 ms) and stays
/// calibrated (tonic MAE g_s 4.10, 4.16 and 4.11, 100% inside 2 sd; the network of session 9, trained at the
/// fine step only, had 6.80 and 80% at 0.05 ms).
#[test]
fn the_built_in_stg_network_reads_trains_of_the_default_step() {
    let tonic_mae = |dt: &str| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("step");
        stg_dataset(
            &data,
            &[
                "--targets",
                "50",
                "--per-target",
                "2",
                "--seed",
                "42",
                "--dt",
                dt,
            ],
        );
        let out = spikepop(&["evaluate", "--model", "stg", "--data", p(&data)]);
        let table = ok(&out);
        let tonic = table_row(&table, "tonic");
        let n: usize = tonic[2].parse().unwrap();
        assert!(n >= 20, "dt {dt}: only {n} tonic trains\n{table}");
        let c = coverages(&table, "tonic");
        assert!(
            c[2] >= 85.0,
            "dt {dt}: tonic 2-sd coverage of g_s {c:?}\n{table}"
        );
        (tonic[3].parse::<f64>().unwrap(), out, table)
    };
    let (fine, _, _) = tonic_mae("0.0125");
    for dt in ["0.05", "0.025"] {
        let (mae_g_s, out, table) = tonic_mae(dt);
        // The step is one of the network's training steps: no note that the scores are not its own.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("note:"), "dt {dt}: {stderr}");
        assert!(
            mae_g_s <= 1.1 * fine,
            "dt {dt}: tonic MAE g_s {mae_g_s} against {fine} at 0.0125 ms\n{table}"
        );
    }
}

// Trains spikepop did not simulate: long recordings read in windows, trains out of the predictor's domain
// flagged and widened, and a bad `evaluate --benchmark` folder.

fn root() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..")
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

/// `spikepop predict --model stg` of `input` into `out`, read back ([`predictions`]).
fn predict_stg(input: &Path, out: &Path) -> Vec<std::collections::HashMap<String, String>> {
    ok(&spikepop(&[
        "predict",
        "--model",
        "stg",
        "--input",
        p(input),
        "-o",
        p(out),
    ]));
    predictions(out)
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
    let cell = text.lines().nth(1).unwrap();
    let times =
        spikepop_spikes::parse_train(&cell[cell.find('[').unwrap()..=cell.rfind(']').unwrap()])
            .unwrap();
    assert!(times.len() > 4500, "{}", times.len());
    let first: Vec<f64> = times
        .iter()
        .copied()
        .filter(|t| *t < times[0] + 3000.0)
        .collect();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        format!(
            "ID,spiking_times\nwhole,{}\nfirst3s,{}\n",
            train_str(&times),
            train_str(&first)
        ),
    )
    .unwrap();
    let rows = predict_stg(&input, &dir.path().join("dics.csv"));
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
    let row = &predict_stg(&poisson, &dir.path().join("p.csv"))[0];
    assert!(!row["ood"].is_empty(), "{row:?}");
    assert!(
        num(row, "sd_g_s") >= 10.0 && num(row, "sd_g_u") >= 5.0,
        "{row:?}"
    );
}

/// Poisson trains at a rate STG cells fire at (10 Hz, a minute each) are irregular at every time scale, as no
/// irregular training train of the STG model is: out of domain (`pattern`), with at least the training spread.
/// Gamma-2 renewal trains of the same rate (CV about 0.71) are irregular the way a noisy cell can be: not flagged.
#[test]
fn a_poisson_train_at_a_cell_s_rate_is_out_of_domain() {
    if !built_in("stg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (kind, flagged) in [("poisson", true), ("irregular", false)] {
        let input = dir.path().join(format!("{kind}.csv"));
        ok(&spikepop(&[
            "synth",
            "--kind",
            kind,
            "--rate",
            "10",
            "--duration",
            "60000",
            "-n",
            "20",
            "--seed",
            "8",
            "-o",
            p(&input),
        ]));
        let rows = predict_stg(&input, &dir.path().join(format!("{kind}-dics.csv")));
        assert_eq!(rows.len(), 20);
        for row in &rows {
            assert_eq!(row["ood"].contains("pattern"), flagged, "{kind}: {row:?}");
            if flagged {
                let sd: f64 = row["sd_g_s"].parse().unwrap();
                assert!(sd >= 10.0, "{row:?}");
            }
        }
    }
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

/// `--noise` tells the built-in DA network the sd of the recordings' current noise: a slow noisy DA train then
/// gets the g_u of a cell of that amplitude (c0002 of the foreign benchmark: true g_u 5.38, read 11.1 ± 4.7 from
/// the spike times alone at sigma 2), and `evaluate --noise` measures it. Weights that do not read the amplitude
/// (the CA1 example's) refuse it, naming the flag, and so does a negative amplitude.
#[test]
fn the_noise_amplitude_is_told_to_the_weights_that_read_it() {
    if !built_in("da") || !built_in("stg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let noise2 = root().join("benchmarks/foreign-small/da/noise2.csv");
    let read = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        let mut args = vec![
            "predict",
            "--model",
            "da",
            "--input",
            p(&noise2),
            "-o",
            p(&out),
        ];
        args.extend_from_slice(extra);
        ok(&spikepop(&args));
        predictions(&out)
    };
    let untold = read(&[], "untold.csv");
    let told = read(&["--noise", "2"], "told.csv");
    let row = |rows: &[std::collections::HashMap<String, String>], k: &str| -> f64 {
        rows.iter().find(|r| r["ID"] == "c0002").unwrap()[k]
            .parse()
            .unwrap()
    };
    assert!(
        (row(&told, "g_u") - 5.38).abs() < row(&told, "sd_g_u")
            && row(&told, "sd_g_u") < 0.5 * row(&untold, "sd_g_u"),
        "told g_u {} ± {}, untold {} ± {}",
        row(&told, "g_u"),
        row(&told, "sd_g_u"),
        row(&untold, "g_u"),
        row(&untold, "sd_g_u")
    );
    let table = ok(&spikepop(&[
        "evaluate",
        "--model",
        "da",
        "--data",
        p(&noise2),
        "--noise",
        "2",
    ]));
    let all = table_row(&table, "all");
    let gu_mae: f64 = all[5].parse().unwrap();
    assert!(gu_mae <= 0.95, "{table}");
    // The benchmark table tells each noisy domain its own amplitude (benchmark.json's `noise`), in rows of
    // their own: the told noise-2 row is the table above, the untold one is not.
    let csv_out = dir.path().join("bench.csv");
    ok(&spikepop(&[
        "evaluate",
        "--model",
        "da",
        "--benchmark",
        p(&root().join("benchmarks/foreign-small/da")),
        "-o",
        p(&csv_out),
    ]));
    let rows: Vec<std::collections::HashMap<String, String>> = csv::Reader::from_path(&csv_out)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect();
    let noise2_all = |told: &str| {
        let r = rows
            .iter()
            .find(|r| r["domain"] == "noise2" && r["group"] == "all" && r["told_noise"] == told)
            .unwrap();
        r["mae_g_u"].parse::<f64>().unwrap()
    };
    assert!(
        (noise2_all("2") - gu_mae).abs() < 0.006 && noise2_all("") > 2.0 * gu_mae,
        "told {}, untold {}, --data --noise 2 {gu_mae}",
        noise2_all("2"),
        noise2_all("")
    );
    let told_domains: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r["told_noise"].is_empty())
        .map(|r| r["domain"].as_str())
        .collect();
    assert_eq!(
        told_domains.into_iter().collect::<Vec<_>>(),
        [
            "long10m", "long1m", "long60m", "noise10", "noise2", "noise5"
        ]
    );

    let e = err(&spikepop(&[
        "predict",
        "--model",
        p(&root().join("examples/models/ca1_golomb2006.toml")),
        "--weights",
        p(&root().join("examples/models/ca1_golomb2006.safetensors")),
        "--input",
        p(&root().join("examples/stg_set.csv")),
        "--noise",
        "5",
        "-o",
        p(&dir.path().join("x.csv")),
    ]));
    assert!(
        e.contains("--noise") && e.contains("do not read the noise amplitude"),
        "{e}"
    );
    assert!(!dir.path().join("x.csv").exists());
    let e = err(&spikepop(&[
        "predict",
        "--model",
        "da",
        "--input",
        p(&noise2),
        "--noise=-1",
        "-o",
        p(&dir.path().join("y.csv")),
    ]));
    assert!(e.contains("--noise") && e.contains("-1"), "{e}");
}
