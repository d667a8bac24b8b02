//! The seed population, neuromodulation (spec `models.md` 6.2 and 6.3 tables) and the population
//! generator: exactly N models, non-negative, at their targets, reproducible whatever the threads.

use proptest::prelude::*;
use spikepop_dics::population::gamma_matching_uniform;
use spikepop_dics::{
    ChannelSet, Error, Generator, GeneratorOptions, Kernel, Population, SetupError, SolveError,
    SolveMode, TargetSpec, compensate, generate,
};
use spikepop_models::{DA, Model, STG};

/// (g_s*, g_u*), pair, [(channel, value); 2], achieved DICs.
type ModulationRow<A> = (f64, f64, &'static str, [(&'static str, f64); 2], A);

fn near(a: f64, b: f64, abs: f64) -> bool {
    (a - b).abs() <= abs
}

fn stg_seed() -> Vec<f64> {
    // Kd 105, CaT 5, CaS 14, KCa 160, leak 0.0105 (no scaling: leak = mean), then Na, A, H solved.
    let generator = Generator::new(&STG, &GeneratorOptions::default()).unwrap();
    let mut g = vec![0.0, 105.0, 5.0, 14.0, 160.0, 0.0, 0.0, 0.0105];
    let sol = generator.solve_seed(&mut g).unwrap();
    assert!(
        near(sol.dics.g_f, -6.2, 1e-12)
            && near(sol.dics.g_s, 4.0, 1e-12)
            && near(sol.dics.g_u, 5.0, 1e-12)
    );
    g
}

#[test]
fn leak_gamma_parameters() {
    let (k, theta) = gamma_matching_uniform(0.007, 0.014);
    assert!(near(k, 27.0, 1e-12) && near(theta, 3.88888888889e-4, 1e-15));
    let (k, theta) = gamma_matching_uniform(0.0087, 0.017);
    assert!(near(k, 28.7628102773, 1e-9) && near(theta, 4.46757457847e-4, 1e-15));
}

#[test]
fn stg_seed_cell_spec_6_2() {
    let g = stg_seed();
    assert!(near(g[0], 6865.689218303348, 1e-9), "Na {}", g[0]);
    assert!(near(g[5], 366.7231129086097, 1e-10), "A {}", g[5]);
    assert!(near(g[6], 0.33428284501779454, 1e-14), "H {}", g[6]);
}

#[test]
fn stg_modulation_table_spec_6_2() {
    let seed = stg_seed();
    let opts = GeneratorOptions {
        mode: SolveMode::reference_schedule(5),
        ..Default::default()
    };
    let generator = Generator::new(&STG, &opts).unwrap();
    // (g_s*, g_u*), pair, [(channel, value)], achieved (g_f, g_s, g_u); values printed to 8 / 6 decimals.
    let table: [ModulationRow<[f64; 3]>; 5] = [
        (
            2.0,
            3.0,
            "A,H",
            [("A", 292.04667456), ("H", 0.21873354)],
            [-7.015754, 2.0, 3.0],
        ),
        (
            12.0,
            2.41,
            "A,H",
            [("A", 665.42886629), ("H", 0.24185945)],
            [-5.073041, 12.0, 2.41],
        ),
        (
            -4.0,
            7.85,
            "CaS,H",
            [("CaS", 33.23802729), ("H", 0.50353886)],
            [-5.212059, -4.00000002, 7.84999999],
        ),
        (
            -9.31,
            10.42,
            "CaS,H",
            [("CaS", 46.40161544), ("H", 0.64738146)],
            [-4.416985, -9.31000031, 10.41999984],
        ),
        (
            3.0,
            -1.0,
            "CaS,A",
            [("CaS", 163.24746794), ("A", 2467.72664379)],
            [7.304625, 3.170193, -0.896688],
        ),
    ];
    for (gs, gu, pair, values, achieved) in table {
        assert_eq!(generator.pair_for(gs, gu).names(&STG, ","), pair);
        let mut g = seed.clone();
        let sol = generator.modulate(&mut g, gs, gu).unwrap();
        for (ch, v) in values {
            let got = g[STG.channel_index(ch).unwrap()];
            assert!(
                near(got, v, 5e-9 + 1e-12 * v.abs()),
                "({gs}, {gu}) {ch}: {got} vs {v}"
            );
        }
        let d = sol.dics;
        assert!(near(d.g_f, achieved[0], 5e-7), "({gs}, {gu}) g_f {}", d.g_f);
        let dec = if pair == "CaS,A" { 5e-7 } else { 5e-9 };
        assert!(
            near(d.g_s, achieved[1], dec) && near(d.g_u, achieved[2], dec),
            "({gs}, {gu}): {d:?}"
        );
    }
}

#[test]
fn stg_fixed_point_convergence_spec_6_2() {
    // Achieved g_s for (-4, 7.85) after iterations = 0, 1, 2, 5, 10 (printed digits).
    let seed = stg_seed();
    let k = Kernel::new(&STG, -51.0);
    let placeholder = 34.12021074772369 - 2.3296612301271464 * -4.0;
    for (it, want, tol) in [
        (0, -4.2054, 5e-5),
        (1, -4.00824, 5e-6),
        (2, -4.000326, 5e-7),
        (5, -4.00000002, 5e-9),
        (10, -4.0, 5e-10),
    ] {
        let mut g = seed.clone();
        g[3] = placeholder;
        let sol = compensate(
            &k,
            &mut g,
            &["CaS", "H"],
            [None, Some(-4.0), Some(7.85)],
            SolveMode::reference_schedule(it),
        )
        .unwrap();
        assert_eq!(sol.n_solves, it + 1);
        assert!(
            near(sol.dics.g_s, want, tol),
            "iterations {it}: g_s {}",
            sol.dics.g_s
        );
    }
    // Converged: exact, and the g_u < 0 case where 5 iterations are far off.
    for (gs, gu, set) in [(-4.0, 7.85, ["CaS", "H"]), (3.0, -1.0, ["CaS", "A"])] {
        let mut g = seed.clone();
        g[3] = 34.12021074772369 - 2.3296612301271464 * gs;
        let sol = compensate(
            &k,
            &mut g,
            &set,
            [None, Some(gs), Some(gu)],
            SolveMode::converged(),
        )
        .unwrap();
        assert!(
            near(sol.dics.g_s, gs, 1e-12) && near(sol.dics.g_u, gu, 1e-12),
            "{sol:?}"
        );
        assert!(sol.n_solves <= 8, "{} Newton steps", sol.n_solves);
    }
}

#[test]
fn da_seed_and_modulation_spec_6_3() {
    let generator = Generator::new(&DA, &GeneratorOptions::default()).unwrap();
    let mut seed = vec![0.0, 8.0, 0.045, 0.0, 0.0, 0.012, 0.01285];
    generator.solve_seed(&mut seed).unwrap();
    assert!(near(seed[0], 35.46934803014296, 1e-11), "Na {}", seed[0]);
    assert!(near(seed[3], 0.04069634820398918, 1e-15), "CaN {}", seed[3]);
    assert!(near(seed[4], 0.15015869937543488, 1e-15), "ERG {}", seed[4]);
    let table: [ModulationRow<f64>; 4] = [
        (
            6.316,
            1.149,
            "ERG,Kd",
            [("Kd", 36.11383617), ("ERG", 0.01130017)],
            -13.106169,
        ),
        (
            -1.958,
            3.34,
            "ERG,CaL",
            [("CaL", 0.15965465), ("ERG", 0.12777224)],
            -13.080111,
        ),
        (
            10.0,
            15.0,
            "ERG,Kd",
            [("Kd", 53.92184382), ("ERG", 0.51073655)],
            -8.945873,
        ),
        (
            -8.0,
            2.0,
            "ERG,CaL",
            [("CaL", 0.44148678), ("ERG", 0.17155836)],
            -12.683431,
        ),
    ];
    for (gs, gu, pair, values, g_f) in table {
        // The pair is printed in channel order by `names`.
        let set = generator.pair_for(gs, gu);
        assert_eq!(
            set,
            &ChannelSet::new(&DA, &pair.split(',').collect::<Vec<_>>()).unwrap()
        );
        let mut g = seed.clone();
        let sol = generator.modulate(&mut g, gs, gu).unwrap();
        for (ch, v) in values {
            let got = g[DA.channel_index(ch).unwrap()];
            assert!(near(got, v, 5e-9), "({gs}, {gu}) {ch}: {got} vs {v}");
        }
        assert!(near(sol.dics.g_f, g_f, 5e-7), "g_f {}", sol.dics.g_f);
        assert!(near(sol.dics.g_s, gs, 1e-12) && near(sol.dics.g_u, gu, 1e-12));
    }
}

fn check_population(model: &Model, pop: &Population, n: usize, target: Option<(f64, f64)>) {
    assert_eq!(pop.len(), n);
    let k = Kernel::new(
        spikepop_models::by_name(model.name).unwrap(),
        model.default_vth,
    );
    for (g, d) in pop.iter() {
        assert!(
            g.iter().all(|&x| x >= 0.0 && x.is_finite()),
            "negative conductance {g:?}"
        );
        let again = k.dics(g);
        assert!(
            near(again.g_s, d.g_s, 1e-9 * d.g_s.abs().max(1.0))
                && near(again.g_u, d.g_u, 1e-9 * d.g_u.abs().max(1.0))
        );
        if let Some((gs, gu)) = target {
            assert!(
                near(d.g_s, gs, 1e-8 * gs.abs().max(1.0)),
                "g_s {} vs {gs}",
                d.g_s
            );
            assert!(
                near(d.g_u, gu, 1e-8 * gu.abs().max(1.0)),
                "g_u {} vs {gu}",
                d.g_u
            );
        }
    }
}

#[test]
fn exactly_n_models_on_the_reference_grid() {
    let opts = GeneratorOptions {
        seed: 7,
        ..Default::default()
    };
    let mut targets = Vec::new();
    for gu in [0.0, 2.0, 5.0, 10.0, 20.0] {
        for gs in [-20.0, -10.0, -4.0, 0.0, 4.0, 10.0, 20.0] {
            targets.push(TargetSpec::point(gs, gu));
        }
    }
    let pops = generate(&STG, &targets, 200, &opts).unwrap();
    for (t, p) in targets.iter().zip(&pops) {
        let p = p.as_ref().unwrap_or_else(|e| panic!("{t:?}: {e}"));
        check_population(&STG, p, 200, Some((t.g_s, t.g_u)));
    }
    let mut targets = Vec::new();
    for gu in [2.0, 5.0, 10.0, 20.0] {
        for gs in [-10.0, -5.0, 0.0, 5.0, 10.0, 15.0] {
            targets.push(TargetSpec::point(gs, gu));
        }
    }
    let pops = generate(&DA, &targets, 200, &opts).unwrap();
    for (t, p) in targets.iter().zip(&pops) {
        check_population(&DA, p.as_ref().unwrap(), 200, Some((t.g_s, t.g_u)));
    }
}

#[test]
fn deterministic_whatever_the_threads() {
    let targets = [
        TargetSpec::point(-4.0, 7.85),
        TargetSpec::gaussian(3.0, 5.0, 1.0, 2.0),
        TargetSpec::point(3.0, -1.0),
    ];
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let opts = GeneratorOptions {
                seed,
                ..Default::default()
            };
            generate(&STG, &targets, 300, &opts)
                .unwrap()
                .into_iter()
                .map(|p| p.unwrap())
                .collect::<Vec<_>>()
        })
    };
    let one = run(1, 42);
    assert_eq!(one, run(2, 42));
    assert_eq!(one, run(3, 42));
    let other = run(2, 43);
    assert_ne!(one[0].conductances(0), other[0].conductances(0));
    // Model k of a target does not depend on n either.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let small = pool.install(|| {
        generate(
            &STG,
            &targets[..1],
            20,
            &GeneratorOptions {
                seed: 42,
                ..Default::default()
            },
        )
        .unwrap()
    });
    let small = small[0].as_ref().unwrap();
    for k in 0..20 {
        assert_eq!(small.conductances(k), one[0].conductances(k));
    }
}

#[test]
fn distribution_targets_draw_per_model() {
    let opts = GeneratorOptions {
        seed: 1,
        ..Default::default()
    };
    let t = TargetSpec::gaussian(2.0, 6.0, 1.5, 1.0);
    let pop = generate(&STG, &[t], 2000, &opts)
        .unwrap()
        .remove(0)
        .unwrap();
    check_population(&STG, &pop, 2000, None);
    let n = pop.len() as f64;
    let gs: Vec<f64> = pop.iter().map(|(_, d)| d.g_s).collect();
    let gu: Vec<f64> = pop.iter().map(|(_, d)| d.g_u).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
    let sd = |v: &[f64]| (v.iter().map(|x| (x - mean(v)).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        near(mean(&gs), 2.0, 0.15) && near(sd(&gs), 1.5, 0.15),
        "g_s mean {} sd {}",
        mean(&gs),
        sd(&gs)
    );
    assert!(
        near(mean(&gu), 6.0, 0.1) && near(sd(&gu), 1.0, 0.1),
        "g_u mean {} sd {}",
        mean(&gu),
        sd(&gu)
    );
    // Negative g_s draws use CaS,H and positive ones A,H: both kinds are present.
    assert!(gs.iter().any(|&x| x < 0.0) && gs.iter().any(|&x| x > 0.0));
}

#[test]
fn infeasible_target_is_a_clear_error() {
    // DA with g_u = 0 and g_s >= 0: ERG goes negative for every seed (the reference returns nothing).
    let opts = GeneratorOptions {
        max_attempts: 50,
        ..Default::default()
    };
    let r = generate(
        &DA,
        &[TargetSpec::point(5.0, 0.0), TargetSpec::point(5.0, 5.0)],
        100,
        &opts,
    )
    .unwrap();
    let err = r[0].as_ref().unwrap_err();
    assert_eq!(err.failed_fraction(), 1.0);
    assert_eq!(err.negative, err.attempts);
    assert_eq!(err.attempts, 16 * 50);
    let msg = err.to_string();
    assert!(msg.contains("100.0% of the 800 seeds"), "{msg}");
    assert!(msg.contains("non-negative"), "{msg}");
    assert_eq!(r[1].as_ref().unwrap().len(), 100);
}

#[test]
fn user_pairs() {
    // STG A,H for a negative g_s target (not the reference's choice), and CaT,H with its 6.0 placeholder.
    for pair in [["A", "H"], ["CaT", "H"]] {
        let opts = GeneratorOptions {
            pair: Some(pair.map(String::from).to_vec()),
            seed: 3,
            ..Default::default()
        };
        let generator = Generator::new(&STG, &opts).unwrap();
        assert_eq!(
            generator.pair_for(-1.0, 5.0).names(&STG, ","),
            pair.join(",")
        );
        match generator
            .generate(&[TargetSpec::point(-1.0, 5.0)], 50)
            .unwrap()
            .remove(0)
        {
            Ok(pop) => check_population(&STG, &pop, 50, Some((-1.0, 5.0))),
            Err(e) => assert!(e.to_string().contains("non-negative"), "{e}"),
        }
    }
}

#[test]
fn bad_requests() {
    let with_pair = |model: &'static Model, p: &[&str]| {
        Generator::new(
            model,
            &GeneratorOptions {
                pair: Some(p.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            },
        )
        .unwrap_err()
    };
    assert!(matches!(
        with_pair(&STG, &["A", "Foo"]),
        SetupError::UnknownChannel { .. }
    ));
    assert!(matches!(with_pair(&STG, &["A", "leak"]), SetupError::Leak));
    assert!(matches!(
        with_pair(&STG, &["A", "A"]),
        SetupError::DuplicateChannel(_)
    ));
    assert!(matches!(
        with_pair(&STG, &["A", "H", "Na"]),
        SetupError::PairSize(3)
    ));
    // Na and Kd have no ultraslow sensitivity in STG; NMDA is forced fast in DA.
    let e = with_pair(&STG, &["Na", "Kd"]);
    assert!(matches!(e, SetupError::UnsolvablePair { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Na,Kd cannot move (g_s, g_u)"),
        "{e}"
    );
    assert!(matches!(
        with_pair(&DA, &["Kd", "NMDA"]),
        SetupError::UnsolvablePair { .. }
    ));
    let g = Generator::new(&STG, &GeneratorOptions::default()).unwrap();
    assert_eq!(
        g.generate(&[TargetSpec::point(1.0, 1.0)], 0),
        Err(SetupError::EmptyPopulation)
    );
    assert!(matches!(
        g.generate(&[TargetSpec::point(f64::NAN, 1.0)], 1),
        Err(SetupError::BadTarget { name: "g_s", .. })
    ));
    assert!(matches!(
        g.generate(&[TargetSpec::gaussian(1.0, 1.0, 0.0, -1.0)], 1),
        Err(SetupError::BadTarget { name: "sd_g_u", .. })
    ));
    assert!(matches!(
        Generator::new(
            &STG,
            &GeneratorOptions {
                vth: Some(f64::NAN),
                ..Default::default()
            }
        ),
        Err(SetupError::BadVoltage(_))
    ));
    // The compensation API: counts, leak, non-finite targets, singular per model.
    let k = Kernel::new(&STG, -51.0);
    let mut g = stg_seed();
    let e = compensate(
        &k,
        &mut g,
        &["A", "H"],
        [None, Some(1.0), None],
        SolveMode::converged(),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Setup(SetupError::CountMismatch {
            channels: 2,
            targets: 1
        })
    ));
    let e = compensate(
        &k,
        &mut g,
        &["A"],
        [None, Some(f64::INFINITY), None],
        SolveMode::converged(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Setup(SetupError::BadTarget { .. })));
    let e = compensate(
        &k,
        &mut g,
        &["Na", "Kd"],
        [None, Some(1.0), Some(1.0)],
        SolveMode::converged(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Solve(SolveError::Singular | SolveError::IllConditioned(_))
        ),
        "{e:?}"
    );
    // One model of three g_s/g_u/g_f targets solved for Na, A, H: the seed problem itself.
    let mut g = stg_seed();
    let sol = compensate(
        &k,
        &mut g,
        &["H", "A", "Na"],
        [Some(-6.0), Some(3.0), Some(4.0)],
        SolveMode::converged(),
    )
    .unwrap();
    assert!(
        near(sol.dics.g_f, -6.0, 1e-12)
            && near(sol.dics.g_s, 3.0, 1e-12)
            && near(sol.dics.g_u, 4.0, 1e-12)
    );
}

#[test]
fn calcium_carrier_and_kca_in_one_set() {
    // A 3-channel nonlinear set (both carriers and KCa) converges by Newton.
    let k = Kernel::new(&STG, -51.0);
    let mut g = stg_seed();
    let sol = compensate(
        &k,
        &mut g,
        &["CaT", "CaS", "KCa"],
        [Some(-5.0), Some(2.0), Some(5.5)],
        SolveMode::converged(),
    )
    .unwrap();
    let d = k.dics(&g);
    assert!(
        near(d.g_f, -5.0, 1e-11) && near(d.g_s, 2.0, 1e-11) && near(d.g_u, 5.5, 1e-11),
        "{d:?} {sol:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn stg_random_targets(gs in -20.0f64..20.0, gu in 0.0f64..20.0, seed in any::<u64>()) {
        let opts = GeneratorOptions { seed, max_attempts: 200, ..Default::default() };
        match generate(&STG, &[TargetSpec::point(gs, gu)], 24, &opts).unwrap().remove(0) {
            Ok(pop) => check_population(&STG, &pop, 24, Some((gs, gu))),
            Err(e) => prop_assert!(e.to_string().contains("non-negative") && e.failed_fraction() > 0.0, "{}", e),
        }
    }

    #[test]
    fn da_random_targets(gs in -10.0f64..15.0, gu in 1.5f64..20.0, seed in any::<u64>()) {
        let opts = GeneratorOptions { seed, max_attempts: 200, ..Default::default() };
        match generate(&DA, &[TargetSpec::point(gs, gu)], 24, &opts).unwrap().remove(0) {
            Ok(pop) => check_population(&DA, &pop, 24, Some((gs, gu))),
            Err(e) => prop_assert!(e.to_string().contains("non-negative") && e.failed_fraction() > 0.0, "{}", e),
        }
    }
}

#[test]
fn reference_schedule_population_is_generated_off_target() {
    // The reference's 6 solves leave CaS,A models far from the target; they are still generated.
    let opts = GeneratorOptions {
        mode: SolveMode::reference_schedule(5),
        seed: 2,
        ..Default::default()
    };
    let pop = generate(&STG, &[TargetSpec::point(3.0, -1.0)], 50, &opts)
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(pop.len(), 50);
    let worst = pop
        .iter()
        .map(|(_, d)| (d.g_u + 1.0).abs())
        .fold(0.0, f64::max);
    assert!(worst > 0.05, "ref5 should be off target, worst {worst}");
    let pop = generate(&STG, &[TargetSpec::point(2.0, 3.0)], 50, &opts)
        .unwrap()
        .remove(0)
        .unwrap();
    check_population(&STG, &pop, 50, Some((2.0, 3.0)));
}
