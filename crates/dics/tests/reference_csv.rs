//! DICs, V_th and compensation against the reference CSVs (`shared/reference/README.md` sections 1-4,
//! copied to `tests/data/`).

use std::collections::HashMap;

use spikepop_dics::{
    ChannelSet, Generator, GeneratorOptions, Kernel, Problem, SolveMode, VthFinder, find_vth,
};
use spikepop_models::{DA, Model, STG};

struct Table {
    rows: Vec<HashMap<String, String>>,
}

impl Table {
    fn read(name: &str) -> Table {
        let path = format!(
            "{}/tests/data/{name}",
            std::env::var("CARGO_MANIFEST_DIR").unwrap()
        );
        let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let headers = rdr.headers().unwrap().clone();
        let rows = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect();
        Table { rows }
    }
}

fn f(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .parse()
        .unwrap()
}

fn conductances(model: &Model, row: &HashMap<String, String>, prefix: &str) -> Vec<f64> {
    model
        .conductance_names()
        .map(|c| f(row, &format!("{prefix}{c}")))
        .collect()
}

fn abs_rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

fn check_dics_file(model: &'static Model, file: &str) {
    let t = Table::read(file);
    assert_eq!(t.rows.len(), 600);
    let mut kernels: HashMap<u64, Kernel> = HashMap::new();
    let mut worst: f64 = 0.0;
    for row in &t.rows {
        let g = conductances(model, row, "");
        let v = f(row, "V");
        let k = kernels
            .entry(v.to_bits())
            .or_insert_with(|| Kernel::new(model, v));
        let d = k.dics(&g);
        for (got, col) in [
            (d.g_f, "g_f"),
            (d.g_s, "g_s"),
            (d.g_u, "g_u"),
            (d.g_t(), "g_t"),
        ] {
            let e = abs_rel(got, f(row, col));
            worst = worst.max(e);
            assert!(
                e <= 1e-9,
                "{file} ID {} V {v} {col}: {got} vs {}",
                row["ID"],
                row[col]
            );
        }
    }
    assert_eq!(kernels.len(), 3);
    eprintln!("{file}: worst |a-b|/max(1,|b|) = {worst:.2e}");
}

#[test]
fn dics_stg_csv() {
    check_dics_file(&STG, "dics_stg.csv");
}

#[test]
fn dics_da_csv() {
    check_dics_file(&DA, "dics_da.csv");
}

fn check_vth_file(model: &'static Model, dics_file: &str, vth_file: &str) {
    let vectors = Table::read(dics_file);
    let vth = Table::read(vth_file);
    assert_eq!(vth.rows.len(), 20);
    let finder = VthFinder::new(model);
    for row in &vth.rows {
        let id = &row["ID"];
        let g = conductances(
            model,
            vectors.rows.iter().find(|r| &r["ID"] == id).unwrap(),
            "",
        );
        let want = f(row, "V_th");
        let got = finder
            .find(&g)
            .unwrap_or_else(|| panic!("{vth_file} ID {id}: no crossing"));
        assert!(
            (got - want).abs() <= 1e-8,
            "{vth_file} ID {id}: {got} vs {want}"
        );
        // The unscanned path agrees bit for bit.
        assert_eq!(find_vth(model, &g), Some(got));
    }
}

#[test]
fn vth_stg_csv() {
    check_vth_file(&STG, "dics_stg.csv", "vth_stg.csv");
}

#[test]
fn vth_da_csv() {
    check_vth_file(&DA, "dics_da.csv", "vth_da.csv");
}

#[test]
fn vth_none_without_crossing() {
    // A pure leak: g_t = 1 everywhere.
    let mut g = vec![0.0; STG.n_channels()];
    g[STG.leak_index()] = 0.01;
    assert_eq!(find_vth(&STG, &g), None);
    assert_eq!(VthFinder::new(&STG).find(&g), None);
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / b.abs() }
}

#[test]
fn compensation_stg_csv() {
    let t = Table::read("compensation_stg.csv");
    assert_eq!(t.rows.len(), 30);
    let k = Kernel::new(&STG, -51.0);
    let mut worst_conv: f64 = 0.0;
    let mut worst_ref5: f64 = 0.0;
    let mut newton_steps = Vec::new();
    for row in &t.rows {
        let case = &row["case"];
        let pair: Vec<&str> = row["pair"].split('/').collect();
        let (ts, tu) = (f(row, "target_g_s"), f(row, "target_g_u"));
        let seed = conductances(&STG, row, "seed_");
        let set = ChannelSet::new(&STG, &pair).unwrap();
        let cas = STG.channel_index("CaS").unwrap();
        let placeholder = f(row, "init_g_CaS_placeholder");
        assert_eq!(placeholder, 34.12021074772369 - 2.3296612301271464 * ts);

        // The seed's DICs.
        let d = k.dics(&seed);
        for (got, col) in [
            (d.g_f, "seed_g_f"),
            (d.g_s, "seed_g_s"),
            (d.g_u, "seed_g_u"),
        ] {
            assert!(abs_rel(got, f(row, col)) <= 1e-9, "case {case} {col}");
        }

        for (mode, prefix) in [
            (SolveMode::converged(), "conv_"),
            (SolveMode::reference_schedule(5), "ref5_"),
        ] {
            let problem = Problem::new(&STG, set, [false, true, true], mode).unwrap();
            let mut g = seed.clone();
            for &i in set.indices() {
                g[i] = if i == cas { placeholder } else { 0.0 };
            }
            let sol = problem
                .solve(&k, &mut g, &[f64::NAN, ts, tu])
                .unwrap_or_else(|e| panic!("case {case}: {e}"));
            let want = conductances(&STG, row, prefix);
            for (i, (a, b)) in g.iter().zip(&want).enumerate() {
                let e = rel(*a, *b);
                if prefix == "conv_" {
                    worst_conv = worst_conv.max(e);
                    assert!(
                        e <= 1e-8,
                        "case {case} {prefix}{}: {a} vs {b}",
                        STG.channels[i].column
                    );
                } else {
                    worst_ref5 = worst_ref5.max(e);
                    assert!(
                        e <= 1e-8,
                        "case {case} {prefix}{}: {a} vs {b}",
                        STG.channels[i].column
                    );
                }
            }
            for (got, col) in [
                (sol.dics.g_f, "g_f"),
                (sol.dics.g_s, "g_s"),
                (sol.dics.g_u, "g_u"),
            ] {
                let want = f(row, &format!("{prefix}{col}"));
                assert!(
                    abs_rel(got, want) <= 1e-8,
                    "case {case} {prefix}{col}: {got} vs {want}"
                );
            }
            if prefix == "conv_" {
                assert!(
                    (sol.dics.g_s - ts).abs() <= 1e-11 && (sol.dics.g_u - tu).abs() <= 1e-11,
                    "case {case}"
                );
                newton_steps.push((row["pair"].clone(), sol.n_solves));
                let nonneg = g.iter().all(|&x| x >= 0.0);
                assert_eq!(
                    nonneg.to_string(),
                    row["conv_nonnegative"].to_lowercase(),
                    "case {case}"
                );
            } else {
                let expected = if set.contains(cas) { 6 } else { 1 };
                assert_eq!(sol.n_solves, expected);
            }
        }

        // The generator's modulation step (pair rule and placeholder line) gives the same.
        let generator = Generator::new(&STG, &GeneratorOptions::default()).unwrap();
        assert_eq!(generator.pair_for(ts, tu), &set, "case {case}");
        let mut g = seed.clone();
        generator.modulate(&mut g, ts, tu).unwrap();
        let want = conductances(&STG, row, "conv_");
        for (a, b) in g.iter().zip(&want) {
            assert!(rel(*a, *b) <= 1e-8, "case {case} modulate: {a} vs {b}");
        }
    }
    eprintln!(
        "compensation_stg: worst relative error conv {worst_conv:.2e}, ref5 {worst_ref5:.2e}"
    );
    eprintln!("Newton solves per case: {newton_steps:?}");
}

#[test]
fn compensation_da_csv() {
    let t = Table::read("compensation_da.csv");
    assert_eq!(t.rows.len(), 20);
    let k = Kernel::new(&DA, -55.5);
    let generator = Generator::new(&DA, &GeneratorOptions::default()).unwrap();
    for row in &t.rows {
        let case = &row["case"];
        let pair: Vec<&str> = row["pair"].split('/').collect();
        let (ts, tu) = (f(row, "target_g_s"), f(row, "target_g_u"));
        let seed = conductances(&DA, row, "seed_");
        let set = ChannelSet::new(&DA, &pair).unwrap();
        assert_eq!(generator.pair_for(ts, tu), &set);
        for mode in [SolveMode::converged(), SolveMode::reference_schedule(5)] {
            let problem = Problem::new(&DA, set, [false, true, true], mode).unwrap();
            let mut g = seed.clone();
            let sol = problem.solve(&k, &mut g, &[f64::NAN, ts, tu]).unwrap();
            assert_eq!(sol.n_solves, 1);
            let want = conductances(&DA, row, "result_");
            for (i, (a, b)) in g.iter().zip(&want).enumerate() {
                assert!(
                    rel(*a, *b) <= 1e-8,
                    "case {case} {}: {a} vs {b}",
                    DA.channels[i].column
                );
            }
            for (got, col) in [
                (sol.dics.g_f, "g_f"),
                (sol.dics.g_s, "g_s"),
                (sol.dics.g_u, "g_u"),
            ] {
                let want = f(row, &format!("result_{col}"));
                assert!(
                    abs_rel(got, want) <= 1e-9,
                    "case {case} {col}: {got} vs {want}"
                );
            }
            let nonneg = g.iter().all(|&x| x >= 0.0);
            assert_eq!(
                nonneg.to_string(),
                row["result_nonnegative"].to_lowercase(),
                "case {case}"
            );
        }
    }
}

/// The seed step of both CSVs: Na, A, H (STG) or Na, CaN, ERG (DA) solved from the drawn channels.
#[test]
fn seed_solve_matches_csv() {
    for (model, file) in [(&STG, "compensation_stg.csv"), (&DA, "compensation_da.csv")] {
        let generator = Generator::new(model, &GeneratorOptions::default()).unwrap();
        let solved: Vec<usize> = generator
            .settings()
            .seed_channels
            .iter()
            .map(|c| model.channel_index(c).unwrap())
            .collect();
        for row in &Table::read(file).rows {
            let want = conductances(model, row, "seed_");
            let mut g = want.clone();
            for &i in &solved {
                g[i] = 0.0;
            }
            generator.solve_seed(&mut g).unwrap();
            for (a, b) in g.iter().zip(&want) {
                assert!(
                    rel(*a, *b) <= 1e-9,
                    "{file} case {}: {a} vs {b}",
                    row["case"]
                );
            }
        }
    }
}
