//! DIC weights, sensitivity matrices and DICs against `spec/models.md` sections 5.3, 5.4 and 5.6.

use spikepop_dics::{Kernel, Timescale, dics, sensitivities, sensitivities_direct};
use spikepop_models::{DA, STG};

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300) || (a == 0.0 && b == 0.0)
}

fn weight<'a>(k: &'a Kernel, channel: &str, name: &str) -> &'a spikepop_dics::GateWeights {
    let ci = k.model().channel_index(channel).unwrap();
    k.gate_weights()
        .iter()
        .find(|w| w.channel == ci && w.name == name)
        .unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn stg_weights_at_minus_51() {
    let k = Kernel::new(&STG, -51.0);
    let [tf, ts, tu] = k.reference_taus();
    assert!(close(tf, 0.1350007011, 1e-9), "tau_f {tf}");
    assert!(close(ts, 5.698301448, 1e-9), "tau_s {ts}");
    assert!(close(tu, 672.7844016, 1e-9), "tau_u {tu}");
    // (channel, gate, tau, w_fs, w_su), spec 5.3.
    let table = [
        ("Na", "m_Na", 0.1350007011, 1.0, 1.0),
        ("Na", "h_Na", 1.278489924, 0.3993136205, 1.0),
        ("Kd", "m_Kd", 5.698301448, 0.0, 1.0),
        ("CaT", "m_CaT", 6.848981032, 0.0, 0.9614500422),
        ("CaT", "h_CaT", 54.81105825, 0.0, 0.5255497808),
        ("CaS", "m_CaS", 23.09888533, 0.0, 0.7066566973),
        ("CaS", "h_CaS", 135.8922839, 0.0, 0.3352496951),
        ("KCa", "m_KCa", 56.86882347, 0.0, 0.5178253366),
        ("KCa", "Ca", 20.0, 0.0, 0.7368483418),
        ("A", "m_A", 9.175575205, 0.0, 0.9001569257),
        ("A", "h_A", 27.2764791, 0.0, 0.6718146411),
        ("H", "m_H", 672.7844016, 0.0, 0.0),
    ];
    for (ch, name, tau, w_fs, w_su) in table {
        let w = weight(&k, ch, name);
        assert!(
            close(w.tau.unwrap(), tau, 1e-9),
            "{name}: tau {:?} vs {tau}",
            w.tau
        );
        // The table has 10 significant digits; m_Na sits exactly at tau_f (w = 1).
        assert!(
            (w.w_fs - w_fs).abs() <= 1e-9,
            "{name}: w_fs {} vs {w_fs}",
            w.w_fs
        );
        assert!(
            (w.w_su - w_su).abs() <= 1e-9,
            "{name}: w_su {} vs {w_su}",
            w.w_su
        );
    }
}

#[test]
fn da_weights_at_minus_55_5() {
    let k = Kernel::new(&DA, -55.5);
    let [tf, ts, tu] = k.reference_taus();
    assert!(close(tf, 0.2286767, 1e-6), "tau_f {tf}");
    assert!(close(ts, 17.33515, 1e-6), "tau_s {ts}");
    assert_eq!(tu, 100.0);
    let table = [
        ("Na", "m_Na", Some(0.22868), 1.0, 1.0),
        ("Na", "h_Na", Some(44.7254), 0.0, 0.4591494813),
        ("Kd", "n_Kd", Some(17.3352), 0.0, 1.0),
        ("CaL", "m_CaL", Some(29.1793), 0.0, 0.7028579321),
        ("CaN", "m_CaN", Some(18.0205), 0.0, 0.9778733314),
        ("ERG", "o_ERG", None, 0.0, 0.0),
        ("NMDA", "B_NMDA", None, 1.0, 1.0),
    ];
    for (ch, name, tau, w_fs, w_su) in table {
        let w = weight(&k, ch, name);
        match tau {
            // Printed to 5-6 significant digits.
            Some(t) => assert!(
                close(w.tau.unwrap(), t, 5e-5),
                "{name}: tau {:?} vs {t}",
                w.tau
            ),
            None => assert_eq!(w.tau, None, "{name} has forced weights"),
        }
        assert!(
            (w.w_fs - w_fs).abs() <= 1e-9,
            "{name}: w_fs {} vs {w_fs}",
            w.w_fs
        );
        assert!(
            (w.w_su - w_su).abs() <= 1e-9,
            "{name}: w_su {} vs {w_su}",
            w.w_su
        );
    }
}

const STG_G: [f64; 8] = [3000.0, 105.0, 5.0, 14.0, 160.0, 300.0, 0.35, 0.0105];
const STG_S: [[f64; 3]; 8] = [
    [-1.5413525999e-03, 1.3701335239e-04, 0.0],
    [1.6491777013e-04, 1.5624146641e-03, 0.0],
    [3.9256239919e-03, -1.9728937054e-01, -6.5887594583e-03],
    [1.6890865418e-02, -4.2555400841e-01, -2.4672205218e-02],
    [6.1918339624e-06, 1.1126985594e-04, 5.4281785038e-05],
    [4.9644757087e-03, 2.6782209279e-02, -2.7627700231e-03],
    [3.8513871255e+00, 0.0, 1.9094133315e+01],
    [9.5238095238e+01, 0.0, 0.0],
];
const DA_G: [f64; 7] = [30.0, 8.0, 0.045, 0.05, 0.1, 0.012, 0.01285];
const DA_S: [[f64; 3]; 7] = [
    [-4.2712138367e-01, 3.0449457517e-02, 3.5867632568e-02],
    [3.0259173361e-02, 2.0687322654e-01, 0.0],
    [2.8096541083e-01, -2.1438293419e+01, -9.0633093065e+00],
    [1.9851880503e+00, -3.1213734661e+01, -7.0628366602e-01],
    [7.2510543702e+00, 0.0, 2.7733261939e+01],
    [-1.8716551619e+01, 0.0, 0.0],
    [7.7821011673e+01, 0.0, 0.0],
];

/// The spec prints 11 significant digits: rounding alone allows 5e-11 relative, so 1e-9 is a real test.
fn check_s(s: &spikepop_dics::Sensitivities, expected: &[[f64; 3]], names: &[&str]) {
    for (i, row) in expected.iter().enumerate() {
        let got = s.channel(i);
        for x in 0..3 {
            if row[x] == 0.0 {
                assert!(
                    got[x].abs() < 1e-15,
                    "{} S[{x}] = {} should be 0",
                    names[i],
                    got[x]
                );
            } else {
                assert!(
                    close(got[x], row[x], 1e-9),
                    "{} S[{x}] = {} vs {}",
                    names[i],
                    got[x],
                    row[x]
                );
            }
        }
    }
}

#[test]
fn stg_sensitivity_matrix_and_dics() {
    let names: Vec<_> = STG.channels.iter().map(|c| c.name).collect();
    let s = sensitivities(&STG, -51.0, &STG_G);
    check_s(&s, &STG_S, &names);
    check_s(&sensitivities_direct(&STG, -51.0, &STG_G), &STG_S, &names);
    let d = dics(&STG, -51.0, &STG_G);
    let expected = [-0.51232229797, 1.68335658720, 5.48444606876, 6.65548035799];
    for (got, want) in [d.g_f, d.g_s, d.g_u, d.g_t()].into_iter().zip(expected) {
        assert!(close(got, want, 1e-9), "{got} vs {want}");
    }
    let d2 = s.dics(&STG_G);
    assert!(
        close(d2.g_f, d.g_f, 1e-14) && close(d2.g_s, d.g_s, 1e-14) && close(d2.g_u, d.g_u, 1e-14)
    );
    // Unnormalised (printed to 8 significant digits): multiply back by g_leak.
    let un = [-0.0053793841, 0.0176752442, 0.0575866837, 0.0698825438];
    for (got, want) in [d.g_f, d.g_s, d.g_u, d.g_t()].into_iter().zip(un) {
        assert!(
            close(got * 0.0105, want, 1e-8),
            "{} vs {want}",
            got * 0.0105
        );
    }
    assert_eq!(d.get(Timescale::Slow), d.g_s);
}

#[test]
fn da_sensitivity_matrix_and_dics() {
    let names: Vec<_> = DA.channels.iter().map(|c| c.name).collect();
    check_s(&sensitivities(&DA, -55.5, &DA_G), &DA_S, &names);
    check_s(&sensitivities_direct(&DA, -55.5, &DA_G), &DA_S, &names);
    let d = dics(&DA, -55.5, &DA_G);
    let expected = [-10.9591584595, 0.0430596010, 3.4061920689, -7.5099067897];
    for (got, want) in [d.g_f, d.g_s, d.g_u, d.g_t()].into_iter().zip(expected) {
        assert!(close(got, want, 1e-9), "{got} vs {want}");
    }
}

#[test]
fn kernel_matches_the_direct_definition() {
    // Random-ish conductances at many voltages: the factorised kernel equals the unfactorised definition.
    let mut x = 0.123_f64;
    let mut next = || {
        x = (x * 9301.0 + 49297.0) % 233280.0 / 233280.0 + 1e-3;
        x
    };
    for model in [&STG, &DA] {
        for step in 0..40 {
            let v = -85.0 + 2.0 * step as f64;
            let g: Vec<f64> = (0..model.n_channels())
                .map(|i| next() * if i == model.leak_index() { 0.02 } else { 100.0 })
                .collect();
            let a = Kernel::new(model, v).sensitivities(&g);
            let b = sensitivities_direct(model, v, &g);
            for i in 0..model.n_channels() {
                for t in 0..3 {
                    let (p, q) = (a.channel(i)[t], b.channel(i)[t]);
                    assert!(
                        (p - q).abs() <= 1e-12 * q.abs().max(1e-6),
                        "{} V {v} ch {i} t {t}: {p} vs {q}",
                        model.name
                    );
                }
            }
        }
    }
}
