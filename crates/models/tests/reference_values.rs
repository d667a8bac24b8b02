//! The model definitions against the reference values of `spec/models.md` sections 2 and 3.

use spikepop_models::cells::{DA_SEED, STG_SEED};
use spikepop_models::model::Model;
use spikepop_models::{DA, STG};

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

fn gate<'a>(m: &'a Model, name: &str) -> &'a spikepop_models::model::Gate {
    m.channels
        .iter()
        .flat_map(|c| c.gates)
        .find(|g| g.name == name)
        .unwrap()
}

#[test]
fn stg_initial_state_and_rhs() {
    let u0 = STG.initial_state();
    let expected = [
        -70.0,
        2.2211385722e-4,
        0.98326471601,
        7.4665289624e-3,
        2.5775544546e-3,
        0.99898404433,
        1.0273089664e-2,
        0.83381407107,
        5.0351296899e-3,
        7.2495478081e-3,
        0.93544286282,
        0.5,
        0.5,
    ];
    assert_eq!(u0.len(), 13);
    for (i, (a, b)) in u0.iter().zip(expected).enumerate() {
        assert!(close(*a, b, 1e-9), "u0[{i}] = {a}, expected {b}");
    }
    let g = STG_SEED;
    let mut du = vec![0.0; 13];
    STG.rhs(&g, &u0, 0.0, &mut du);
    assert!(close(du[0], 8.5676799204, 1e-9), "dV/dt = {}", du[0]);
    // The spec prints 9 significant digits here: rounding alone allows 2.3e-9 relative.
    assert!(close(du[12], -0.0224101713, 2.5e-9), "dCa/dt = {}", du[12]);
    for (i, d) in du.iter().enumerate().take(12).skip(1) {
        assert!(
            d.abs() < 1e-15,
            "gate {i} derivative {d} should vanish at u0"
        );
    }
}

#[test]
fn stg_steady_states_at_threshold() {
    let v = -51.0;
    let cases = [
        ("m_Na", 0.0079989341592, 0.00149999077722),
        ("h_Na", 0.599985671266, -0.0463325995254),
        ("m_Kd", 0.0362755652403, 0.00296268208532),
        ("m_CaT", 0.0349101211432, 0.00467936174791),
        ("h_CaT", 0.968821862677, -0.00549201110482),
        ("m_CaS", 0.0977725998508, 0.0108905084653),
        ("h_CaS", 0.189753462748, -0.0247979171166),
        ("m_A", 0.0609032377416, 0.00657402682462),
        ("h_A", 0.230749912697, -0.0362253858138),
        ("m_H", 0.040439564818, -0.00646736773589),
    ];
    for (name, x, dx) in cases {
        let g = gate(&STG, name);
        let val = Model::gate_inf(g, v, 0.5);
        let d = Model::gate_inf(
            g,
            num_dual::Dual64::new(v, 1.0),
            num_dual::Dual64::from(0.5),
        );
        assert!(close(val, x, 1e-10), "{name}: {val} vs {x}");
        assert!(close(d.eps, dx, 1e-10), "{name}': {} vs {dx}", d.eps);
    }
    let kca = Model::gate_inf(gate(&STG, "m_KCa"), v, 0.5);
    assert!(close(kca, 0.0202368505068, 1e-10), "m_KCa {kca}");
}

#[test]
fn da_initial_state_and_rhs() {
    let u0 = DA.initial_state();
    let expected = [
        -90.0,
        2.108952704e-3,
        0.96580956527,
        4.422284953e-3,
        2.061153618e-9,
        1.894059438e-4,
        3.887200079e-6,
        0.0,
    ];
    assert_eq!(u0.len(), 8);
    for (i, (a, b)) in u0.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs(),
            "u0[{i}] = {a}, expected {b}"
        );
    }
    let g = DA_SEED;
    let mut du = vec![0.0; 8];
    DA.rhs(&g, &u0, 0.0, &mut du);
    assert!(close(du[0], 0.52093962205, 1e-9), "dV/dt = {}", du[0]);
    assert!(close(du[6], 3.8667565e-6, 1e-7), "do/dt = {}", du[6]);
    assert!(close(du[7], 8.7549091558e-12, 1e-9), "di/dt = {}", du[7]);
    for (i, d) in du.iter().enumerate().take(6).skip(1) {
        assert!(
            d.abs() < 1e-15,
            "gate {i} derivative {d} should vanish at u0"
        );
    }
}

#[test]
fn da_steady_states_at_threshold() {
    let v = -55.5;
    for (name, x) in [
        ("m_Na", 0.0683442839772),
        ("h_Na", 0.534106151628),
        ("n_Kd", 0.0729883247537),
        ("m_CaL", 0.060086650174),
        ("m_CaN", 0.0255096664461),
    ] {
        let val = Model::gate_inf(gate(&DA, name), v, 0.0);
        assert!(close(val, x, 1e-10), "{name}: {val} vs {x}");
    }
    let erg = gate(&DA, "o_ERG");
    let d = Model::gate_inf(
        erg,
        num_dual::Dual64::new(v, 1.0),
        num_dual::Dual64::from(0.0),
    );
    assert!(close(d.re, 0.0931760486576, 1e-10), "o_ERG {}", d.re);
    assert!(close(d.eps, 0.01208042088, 1e-9), "o_ERG' {}", d.eps);
    let b = Model::gate_inf(
        gate(&DA, "B_NMDA"),
        num_dual::Dual64::new(v, 1.0),
        num_dual::Dual64::from(0.0),
    );
    assert!(close(b.re, 0.0777091840189, 1e-10), "B {}", b.re);
    assert!(close(b.eps, 0.005733637339, 1e-9), "B' {}", b.eps);
}

#[test]
fn state_names_follow_the_spec_order() {
    assert_eq!(
        STG.state_names(),
        [
            "V", "m_Na", "h_Na", "m_Kd", "m_CaT", "h_CaT", "m_CaS", "h_CaS", "m_KCa", "m_A", "h_A",
            "m_H", "Ca"
        ]
    );
    assert_eq!(
        DA.state_names(),
        [
            "V", "m_Na", "h_Na", "n_Kd", "m_CaL", "m_CaN", "o_ERG", "i_ERG"
        ]
    );
    assert_eq!(
        STG.conductance_names().collect::<Vec<_>>().join(","),
        "g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak"
    );
    assert_eq!(
        DA.conductance_names().collect::<Vec<_>>().join(","),
        "g_Na,g_Kd,g_CaL,g_CaN,g_ERG,g_NMDA,g_leak"
    );
}
