//! Model files end to end: `model show` a built-in, edit one reversal potential, and every command runs the
//! changed model; weights belong to their model; a bad file is named with its line.

use std::path::Path;
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn ok(args: &[&str]) -> String {
    let o = spikepop(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let o = spikepop(args);
    assert!(!o.status.success(), "{args:?} should fail");
    String::from_utf8(o.stderr).unwrap()
}

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Generates 3 models of `model` at (g_s, g_u) and checks with `spikepop dics` that they reach it.
fn populations_reach(dir: &Path, model: &str, g_s: f64, g_u: f64, seed: &str) {
    let population = dir.join("population.csv");
    let (gs, gu) = (g_s.to_string(), g_u.to_string());
    ok(&[
        "generate",
        "--model",
        model,
        "--gs",
        &gs,
        "--gu",
        &gu,
        "-n",
        "3",
        "--seed",
        seed,
        "-o",
        s(&population),
    ]);
    let dics = dir.join("dics.csv");
    ok(&[
        "dics",
        "--model",
        model,
        "--input",
        s(&population),
        "-o",
        s(&dics),
    ]);
    for row in std::fs::read_to_string(&dics).unwrap().lines().skip(1) {
        let f: Vec<f64> = row.split(',').skip(3).map(|x| x.parse().unwrap()).collect();
        assert!(
            (f[1] - g_s).abs() < 1e-6 && (f[2] - g_u).abs() < 1e-6,
            "{row}"
        );
    }
}

#[test]
fn an_edited_built_in_file_is_a_model_every_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let shown = ok(&["model", "show", "stg"]);
    assert!(ok(&["model", "list"]).starts_with("stg "));
    // The built-in file, unchanged, is the built-in model: the same spikes.
    let same = dir.path().join("same.toml");
    std::fs::write(&same, &shown).unwrap();
    // E_K from -80 to -75 mV (the Kd, KCa and A channels' reversal).
    assert_eq!(shown.matches("reversal = -80.0").count(), 3);
    let edited = dir.path().join("my.toml");
    std::fs::write(
        &edited,
        shown.replace("reversal = -80.0", "reversal = -75.0"),
    )
    .unwrap();
    let pop = example("stg_population.csv");
    let run = |model: &Path, out: &str| {
        let o = dir.path().join(out);
        ok(&[
            "simulate",
            "--model",
            s(model),
            "--input",
            &pop,
            "-o",
            s(&o),
        ]);
        std::fs::read_to_string(o).unwrap()
    };
    let built_in = dir.path().join("stg.csv");
    ok(&[
        "simulate",
        "--model",
        "stg",
        "--input",
        &pop,
        "-o",
        s(&built_in),
    ]);
    let built_in = std::fs::read_to_string(built_in).unwrap();
    assert_eq!(run(&same, "same.csv"), built_in);
    let changed = run(&edited, "my.csv");
    assert_ne!(changed, built_in);
    assert_eq!(changed.lines().count(), built_in.lines().count());

    // check: the nominal seed's DICs are its seed targets (-6.2, 4, 5), whatever E_K.
    let report = ok(&["model", "check", s(&edited)]);
    assert!(
        report.contains("is valid") && report.contains("g_f -6.2000, g_s 4.0000, g_u 5.0000"),
        "{report}"
    );

    // DICs and populations of the edited model; the built-in weights do not serve it.
    populations_reach(dir.path(), s(&edited), 2.0, 5.0, "1");
    let err = fails(&[
        "predict",
        "--model",
        s(&edited),
        "--input",
        &example("stg_set.csv"),
        "-o",
        s(&dir.path().join("p.csv")),
    ]);
    assert!(
        err.contains("differs from the built-in `stg`") && err.contains("--weights"),
        "{err}"
    );
    // The unchanged copy is the built-in model, so its weights apply.
    ok(&[
        "predict",
        "--model",
        s(&same),
        "--input",
        &example("stg_set.csv"),
        "-o",
        s(&dir.path().join("p.csv")),
    ]);
}

#[test]
fn bad_model_files_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let shown = ok(&["model", "show", "da"]);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        shown.replacen(
            "inf = \"gsig(V, 0.0, 1.0, -12.0, 25.0)\"",
            "inf = \"gsig(V, 0.0, 1.0, -12.0, 25.0) * n\"",
            1,
        ),
    )
    .unwrap();
    let line = shown
        .lines()
        .position(|l| l.contains("-12.0, 25.0"))
        .unwrap()
        + 1;
    let err = fails(&["model", "check", s(&bad)]);
    assert!(
        err.contains(&format!(
            "bad.toml, line {line}: channel Kd, gate n_Kd, inf: unknown variable `n`"
        )),
        "{err}"
    );
    let err = fails(&[
        "simulate", "--model", "hh", "--input", "x.csv", "-o", "y.csv",
    ]);
    assert!(
        err.contains("unknown model `hh`: expected stg, da or the path of a model file"),
        "{err}"
    );
}

/// The third model, a file only (`examples/models/ca1_golomb2006.toml`: the CA1 pyramidal cell of Golomb,
/// Yue and Yaari 2006 in zero extracellular calcium): its nominal cell bursts as the paper's Fig. 6Da and the
/// authors' XPP file do, every 191.1 ms with 6 spikes per burst (191.10 ms is an independent LSODA run of
/// the authors' equations; their figure shows bursts at about 32, 228 and 420 ms). Populations reach their
/// target DICs.
#[test]
fn a_published_model_from_a_file_bursts_as_its_paper_reports() {
    let dir = tempfile::tempdir().unwrap();
    let ca1 = example("models/ca1_golomb2006.toml");
    let pop = dir.path().join("nominal.csv");
    std::fs::write(
        &pop,
        "ID,g_Na,g_NaP,g_Kdr,g_A,g_M,g_leak\nnominal,35,0.3,6,1.4,1.0,0.05\n",
    )
    .unwrap();
    let spikes = dir.path().join("spikes.csv");
    ok(&[
        "simulate",
        "--model",
        &ca1,
        "--input",
        s(&pop),
        "-o",
        s(&spikes),
    ]);
    let features = dir.path().join("features.csv");
    ok(&["features", "--input", s(&spikes), "-o", s(&features)]);
    let text = std::fs::read_to_string(&features).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let get = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(get("label"), "bursting");
    let period: f64 = get("inter_burst_period_ms").parse().unwrap();
    assert!((period - 191.1).abs() < 0.02 * 191.1, "period {period} ms");
    let per_burst: f64 = get("spikes_per_burst").parse().unwrap();
    assert!(
        (per_burst - 6.0).abs() < 0.5,
        "{per_burst} spikes per burst"
    );

    populations_reach(dir.path(), &ca1, -0.5, 1.5, "2");
}
