//! `spikepop simulate` end to end: the bundled example, the feedback format, and every bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn example(name: &str) -> String {
    format!(
        "{}/../../examples/{name}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Leaves nothing in `dir` but `keep`: no output and no temporary file after a failure.
fn assert_only(dir: &Path, keep: &[&str]) {
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    keep.sort();
    assert_eq!(left, keep, "unexpected files left behind");
}

#[test]
fn simulates_the_bundled_example_with_ids_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spikes.csv");
    let o = spikepop(&[
        "simulate",
        "--model",
        "stg",
        "--input",
        &example("stg_population.csv"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["ID", "model", "n_spikes", "spiking_times"]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][0], "burster_gs-15_gu2");
    for r in &rows {
        let n: usize = r[2].parse().unwrap();
        let times = spikepop_spikes::parse_train(&r[3]).unwrap();
        assert_eq!(times.len(), n);
        assert!(n > 20, "every example model fires: {n}");
        assert!(times.iter().all(|&t| (3000.0..6000.0).contains(&t)));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn results_do_not_depend_on_threads_and_noise_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str, seed: &str, name: &str| -> String {
        let out = dir.path().join(name);
        let o = spikepop(&[
            "simulate",
            "--model",
            "da",
            "--input",
            &example("da_population.csv"),
            "-o",
            out.to_str().unwrap(),
            "--duration",
            "5000",
            "--noise",
            "5",
            "--seed",
            seed,
            "--threads",
            threads,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read_to_string(out).unwrap()
    };
    let a = run("1", "7", "a.csv");
    let b = run("2", "7", "b.csv");
    let c = run("2", "8", "c.csv");
    assert_eq!(a, b, "same seed, different thread counts");
    assert_ne!(a, c, "a different seed gives different noise");
}

#[test]
fn traces_are_written_after_the_transient() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    let tr = dir.path().join("t.csv");
    let o = spikepop(&[
        "simulate",
        "--model",
        "da",
        "--input",
        &example("da_population.csv"),
        "-o",
        out.to_str().unwrap(),
        "--duration",
        "4000",
        "--transient",
        "3500",
        "--traces",
        tr.to_str().unwrap(),
        "--trace-every",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tr).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ID,t,V"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect())
        .collect();
    // 4 models x 500 ms at one sample per 0.5 ms.
    assert!(
        (4 * 1000..=4 * 1002).contains(&rows.len()),
        "{} samples",
        rows.len()
    );
    assert!(
        rows.iter()
            .all(|r| r[0] >= 3500.0 && r[0] <= 4000.0 && (-100.0..80.0).contains(&r[1]))
    );
}

fn bad(content: &str, extra: &[&str]) -> (String, PathBuf, tempfile::TempDir) {
    bad_model("stg", content, extra)
}

fn bad_model(model: &str, content: &str, extra: &[&str]) -> (String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pop.csv");
    std::fs::write(&input, content).unwrap();
    let out = dir.path().join("out.csv");
    let mut args = vec![
        "simulate",
        "--model",
        model,
        "--input",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = spikepop(&args);
    assert!(!o.status.success(), "should fail");
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert_only(dir.path(), &["pop.csv"]);
    (err, input, dir)
}

const HEADER: &str = "ID,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak\n";
const GOOD: &str = "a,7000,100,5,14,160,360,0.33,0.0105\n";

#[test]
fn bad_inputs_get_one_clear_error_and_no_output() {
    let (e, ..) = bad(
        &format!("{HEADER}{GOOD}b,7000,abc,5,14,160,360,0.33,0.0105\n"),
        &[],
    );
    assert!(
        e.contains("pop.csv") && e.contains("line 3") && e.contains("g_Kd") && e.contains("abc"),
        "{e}"
    );
    let (e, ..) = bad(
        &format!("{HEADER}b,NaN,100,5,14,160,360,0.33,0.0105\n"),
        &[],
    );
    assert!(e.contains("line 2") && e.contains("g_Na"), "{e}");
    let (e, ..) = bad(
        &format!("{HEADER}b,inf,100,5,14,160,360,0.33,0.0105\n"),
        &[],
    );
    assert!(e.contains("g_Na") && e.contains("finite"), "{e}");
    let (e, ..) = bad(
        &format!("{HEADER}b,7000,100,5,14,160,-1,0.33,0.0105\n"),
        &[],
    );
    assert!(e.contains("g_A") && e.contains(">= 0"), "{e}");
    let (e, ..) = bad("", &[]);
    assert!(e.contains("empty"), "{e}");
    let (e, ..) = bad(
        "name,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak\nx,1,1,1,1,1,1,1,1\n",
        &[],
    );
    assert!(e.contains("ID"), "{e}");
    let (e, ..) = bad(
        "ID,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_leak\nx,1,1,1,1,1,1,1\n",
        &[],
    );
    assert!(e.contains("missing") && e.contains("g_H"), "{e}");
    let (e, ..) = bad(&format!("{HEADER}{GOOD}{GOOD}"), &[]);
    assert!(e.contains("duplicate") && e.contains("line 3"), "{e}");
    let (e, ..) = bad(
        &format!(
            "ID,model,{}{}",
            &HEADER[3..],
            "a,0,7000,100,5,14,160,360,0.33,0.0105\na,0,7000,100,5,14,160,360,0.33,0.0105\n"
        ),
        &[],
    );
    assert!(e.contains("duplicate") && e.contains("model 0"), "{e}");
    let (e, ..) = bad(&format!("{HEADER}{GOOD}"), &["--dt", "0"]);
    assert!(e.contains("dt"), "{e}");
    let (e, ..) = bad(&format!("{HEADER}{GOOD}"), &["--dt", "-0.1"]);
    assert!(e.contains("dt"), "{e}");
    let (e, ..) = bad(&format!("{HEADER}{GOOD}"), &["--transient", "6000"]);
    assert!(e.contains("transient"), "{e}");
    let (e, ..) = bad_model("xyz", &format!("{HEADER}{GOOD}"), &[]);
    assert!(e.contains("xyz"), "{e}");
}

#[test]
fn ctrl_c_stops_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    // Enough work to still be running when the signal arrives.
    let mut pop = String::from(HEADER);
    for k in 0..400 {
        pop.push_str(&format!("m{k},7000,100,5,14,160,360,0.33,0.0105\n"));
    }
    let input = dir.path().join("pop.csv");
    std::fs::write(&input, pop).unwrap();
    let out = dir.path().join("out.csv");
    let child = Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args([
            "simulate",
            "--model",
            "stg",
            "--input",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--duration", "60000"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(start.elapsed().as_secs_f64() < 20.0, "stops promptly");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_only(dir.path(), &["pop.csv"]);
}
