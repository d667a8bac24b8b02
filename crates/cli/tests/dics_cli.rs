//! `spikepop generate` and `spikepop dics` end to end: generate -> dics round trip, targets files,
//! reproducibility, generate -> simulate, and every bad input (one error line, no output file).

use std::path::Path;
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
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

fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn col(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn generate_then_dics_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (model, gs, gu, channels) in [
        (
            "stg",
            "-4",
            "7.85",
            vec![
                "g_Na", "g_Kd", "g_CaT", "g_CaS", "g_KCa", "g_A", "g_H", "g_leak",
            ],
        ),
        (
            "stg",
            "3",
            "-1",
            vec![
                "g_Na", "g_Kd", "g_CaT", "g_CaS", "g_KCa", "g_A", "g_H", "g_leak",
            ],
        ),
        (
            "da",
            "6.316",
            "1.149",
            vec![
                "g_Na", "g_Kd", "g_CaL", "g_CaN", "g_ERG", "g_NMDA", "g_leak",
            ],
        ),
    ] {
        let pop = dir.path().join(format!("{model}_pop.csv"));
        let o = spikepop(&[
            "generate",
            "--model",
            model,
            "--gs",
            gs,
            "--gu",
            gu,
            "-n",
            "40",
            "--seed",
            "9",
            "--id",
            "cell",
            "-o",
            p(&pop),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (h, rows) = read(&pop);
        let mut expected = vec!["ID", "model"];
        expected.extend(&channels);
        expected.extend(["g_f", "g_s", "g_u"]);
        assert_eq!(h, expected);
        assert_eq!(rows.len(), 40);
        for (k, r) in rows.iter().enumerate() {
            assert_eq!(r[0], "cell");
            assert_eq!(r[1], k.to_string());
            for v in &r[2..2 + channels.len()] {
                assert!(v.parse::<f64>().unwrap() >= 0.0, "negative conductance {v}");
            }
        }
        let out = dir.path().join(format!("{model}_dics.csv"));
        let o = spikepop(&["dics", "--model", model, "--input", p(&pop), "-o", p(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (dh, drows) = read(&out);
        assert_eq!(dh, ["ID", "model", "V_th", "g_f", "g_s", "g_u", "g_t"]);
        assert_eq!(drows.len(), 40);
        let (gs, gu): (f64, f64) = (gs.parse().unwrap(), gu.parse().unwrap());
        for (r, g) in drows.iter().zip(&rows) {
            let v = |i: usize| r[i].parse::<f64>().unwrap();
            assert_eq!(v(2), if model == "stg" { -51.0 } else { -55.5 });
            assert!(
                (v(4) - gs).abs() <= 1e-8 * gs.abs().max(1.0),
                "g_s {} vs {gs}",
                r[4]
            );
            assert!(
                (v(5) - gu).abs() <= 1e-8 * gu.abs().max(1.0),
                "g_u {} vs {gu}",
                r[5]
            );
            assert!((v(6) - (v(3) + v(4) + v(5))).abs() <= 1e-12 * v(6).abs().max(1.0));
            // The generator's own g_f column agrees with dics.
            let gf: f64 = g[col(&h, "g_f")].parse().unwrap();
            assert!((gf - v(3)).abs() <= 1e-9 * gf.abs().max(1.0));
        }
    }
}

#[test]
fn dics_without_model_column_and_with_auto_vth() {
    let dir = tempfile::tempdir().unwrap();
    let pop = dir.path().join("pop.csv");
    // The spec 5.6 STG vector (its V_th is found) and a pure leak (g_t = 1 everywhere: no crossing).
    std::fs::write(
        &pop,
        "ID,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak\nspec,3000,105,5,14,160,300,0.35,0.0105\nleak,0,0,0,0,0,0,0,0.01\n",
    )
    .unwrap();
    let out = dir.path().join("d.csv");
    let o = spikepop(&["dics", "--model", "stg", "--input", p(&pop), "-o", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, rows) = read(&out);
    assert_eq!(h, ["ID", "V_th", "g_f", "g_s", "g_u", "g_t"]);
    let gf: f64 = rows[0][2].parse().unwrap();
    assert!((gf - -0.51232229797).abs() < 1e-9);
    assert_eq!(rows[1][2..], ["1", "0", "0", "1"]);

    let o = spikepop(&[
        "dics",
        "--model",
        "stg",
        "--input",
        p(&pop),
        "--vth",
        "auto",
        "--threads",
        "1",
        "-o",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 model(s) have no downward zero crossing"),
        "{}",
        stderr(&o)
    );
    let (_, rows) = read(&out);
    let vth: f64 = rows[0][1].parse().unwrap();
    let gt: f64 = rows[0][5].parse().unwrap();
    assert!(
        vth > -90.0 && vth < 0.0 && gt.abs() < 1e-6,
        "V_th {vth}, g_t {gt}"
    );
    assert_eq!(rows[1][1..], ["NaN", "NaN", "NaN", "NaN", "NaN"]);

    let o = spikepop(&[
        "dics",
        "--model",
        "stg",
        "--input",
        p(&pop),
        "--vth",
        "-45",
        "-o",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&out).1[0][1], "-45");
}

#[test]
fn targets_file_with_distributions_and_reproducibility() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.csv");
    std::fs::write(
        &targets,
        "ID,g_s,g_u,sd_g_s,sd_g_u\nburster,-4,7.85,0.5,0.5\nspiker,3,-1,0,0\ntonic,10,5,1,1\n",
    )
    .unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let args = |out: &Path, threads: &str| {
        spikepop(&[
            "generate",
            "--model",
            "stg",
            "--targets",
            p(&targets),
            "-n",
            "300",
            "--seed",
            "5",
            "--threads",
            threads,
            "-o",
            p(out),
        ])
    };
    let o = args(&a, "1");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = args(&b, "2");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "output depends on --threads"
    );
    let (h, rows) = read(&a);
    assert_eq!(rows.len(), 900);
    let gs = col(&h, "g_s");
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids[0], "burster");
    assert_eq!(ids[300], "spiker");
    assert_eq!(rows[299][1], "299");
    assert_eq!(rows[300][1], "0");
    // The point target is exact; the distributions spread.
    for r in &rows[300..600] {
        assert!((r[gs].parse::<f64>().unwrap() - 3.0).abs() < 1e-8);
    }
    let spread: Vec<f64> = rows[..300].iter().map(|r| r[gs].parse().unwrap()).collect();
    let mean = spread.iter().sum::<f64>() / 300.0;
    assert!(
        (mean + 4.0).abs() < 0.15 && spread.iter().any(|&x| (x + 4.0).abs() > 0.3),
        "mean {mean}"
    );
    // A different seed gives different models.
    let o = spikepop(&[
        "generate",
        "--model",
        "stg",
        "--targets",
        p(&targets),
        "-n",
        "300",
        "--seed",
        "6",
        "-o",
        p(&b),
    ]);
    assert!(o.status.success());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn generated_population_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let pop = dir.path().join("pop.csv");
    let o = spikepop(&[
        "generate",
        "--model",
        "stg",
        "--gs",
        "-4",
        "--gu",
        "7.85",
        "-n",
        "3",
        "-o",
        p(&pop),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let spikes = dir.path().join("spikes.csv");
    let o = spikepop(&[
        "simulate",
        "--model",
        "stg",
        "--input",
        p(&pop),
        "--duration",
        "1500",
        "--transient",
        "500",
        "-o",
        p(&spikes),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, rows) = read(&spikes);
    assert_eq!(h[..2], ["ID", "model"]);
    assert_eq!(rows.len(), 3);
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| {
        std::fs::write(d.join(name), text).unwrap();
        d.join(name).to_str().unwrap().to_string()
    };
    let no_cols = write("t_cols.csv", "ID,g_s\na,1\n");
    let not_num = write("t_num.csv", "ID,g_s,g_u\na,1,x\n");
    let neg_sd = write("t_sd.csv", "ID,g_s,g_u,sd_g_s\na,1,2,-1\n");
    let dup = write("t_dup.csv", "ID,g_s,g_u\na,1,2\na,1,3\n");
    let empty = write("t_empty.csv", "ID,g_s,g_u\n");
    let nan = write("t_nan.csv", "ID,g_s,g_u\na,NaN,2\n");
    let out = d.join("out.csv");
    let o = p(&out);
    fn generate_args<'a>(o: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec!["generate", "-o", o];
        a.extend(extra);
        a
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            generate_args(
                o,
                &[
                    "--model", "stg", "--gs", "2", "--gu", "3", "--pair", "A,Foo",
                ],
            ),
            "unknown channel `Foo`",
        ),
        (
            generate_args(
                o,
                &[
                    "--model", "stg", "--gs", "2", "--gu", "3", "--pair", "Na,Kd",
                ],
            ),
            "Na,Kd cannot move (g_s, g_u)",
        ),
        (
            generate_args(
                o,
                &[
                    "--model", "da", "--gs", "2", "--gu", "3", "--pair", "Kd,NMDA",
                ],
            ),
            "cannot move (g_s, g_u)",
        ),
        (
            generate_args(
                o,
                &["--model", "stg", "--gs", "2", "--gu", "3", "--pair", "A"],
            ),
            "exactly 2 channels",
        ),
        (
            generate_args(
                o,
                &[
                    "--model", "stg", "--gs", "2", "--gu", "3", "--pair", "A,leak",
                ],
            ),
            "leak",
        ),
        (
            generate_args(o, &["--model", "stg", "--gs", "NaN", "--gu", "3"]),
            "--gs: g_s is NaN",
        ),
        (
            generate_args(o, &["--model", "stg", "--gs", "1", "--gu", "inf"]),
            "--gu: g_u is inf",
        ),
        (
            generate_args(
                o,
                &["--model", "stg", "--gs", "1", "--gu", "2", "--gu-sd", "-1"],
            ),
            "--gu-sd",
        ),
        (
            generate_args(o, &["--model", "stg", "--gs", "2", "--gu", "3", "-n", "0"]),
            "population size is 0",
        ),
        (
            generate_args(o, &["--model", "xyz", "--gs", "2", "--gu", "3"]),
            "unknown model `xyz`",
        ),
        (
            generate_args(o, &["--model", "da", "--gs", "5", "--gu", "0"]),
            "100.0% of the 16000 seeds",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &no_cols]),
            "expected the columns ID,g_s,g_u",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &not_num]),
            "line 2, field g_u: `x`",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &neg_sd]),
            "field sd_g_s: `-1`",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &dup]),
            "duplicate ID a",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &empty]),
            "no data rows",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", &nan]),
            "field g_s: `NaN`",
        ),
        (
            generate_args(o, &["--model", "stg", "--targets", "/nonexistent/t.csv"]),
            "cannot open the targets file",
        ),
        (
            vec!["dics", "--model", "stg", "--input", &no_cols, "-o", o],
            "missing conductance column",
        ),
        (
            vec![
                "dics",
                "--model",
                "stg",
                "--input",
                "/nonexistent/p.csv",
                "-o",
                o,
            ],
            "cannot open",
        ),
    ];
    let keep = [
        "t_cols.csv",
        "t_num.csv",
        "t_sd.csv",
        "t_dup.csv",
        "t_empty.csv",
        "t_nan.csv",
    ];
    for (args, message) in cases {
        let r = spikepop(&args);
        assert!(!r.status.success(), "{args:?} should fail");
        let err = stderr(&r);
        assert!(
            err.contains(message),
            "{args:?}: expected `{message}` in: {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one error line expected: {err}"
        );
        assert!(err.starts_with("error: "), "{err}");
        assert_only(d, &keep);
    }
    // dics: a zero leak, a bad --vth.
    let zero_leak = write(
        "zero_leak.csv",
        "ID,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak\na,1,1,1,1,1,1,1,0\n",
    );
    let r = spikepop(&["dics", "--model", "stg", "--input", &zero_leak, "-o", o]);
    assert!(
        !r.status.success() && stderr(&r).contains("g_leak is 0"),
        "{}",
        stderr(&r)
    );
    let r = spikepop(&[
        "dics", "--model", "stg", "--input", &zero_leak, "--vth", "soon", "-o", o,
    ]);
    assert!(
        !r.status.success() && stderr(&r).contains("neither a voltage"),
        "{}",
        stderr(&r)
    );
    assert!(!out.exists());
}
