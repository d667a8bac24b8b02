//! The dopaminergic (DA) neuron of Qian et al. (2014), as coded by the reference system.
//!
//! State: `[V, m_Na, h_Na, n_Kd, m_CaL, m_CaN, o_ERG, i_ERG]`;
//! conductances: `[g_Na, g_Kd, g_CaL, g_CaN, g_ERG, g_NMDA, g_leak]` (mS/cm^2).

use crate::model::{Channel, DicTimescale, Gate, Gating, Model, TauRef};
use crate::recipe::{PairCondition, PairRule, PopulationSettings, Training, UniformDraw};
use crate::vfn::{Sig, VFn};

const fn sig(a: f64, b: f64, c: f64, d: f64) -> VFn {
    VFn::Sig(Sig::new(a, b, c, d))
}
const fn unit(c: f64, d: f64) -> VFn {
    VFn::Sig(Sig::unit(c, d))
}
const fn hh(name: &'static str, power: i32, inf: VFn, tau: VFn) -> Gate {
    Gate {
        name,
        power,
        gating: Gating::Hh { inf, tau },
        dic: DicTimescale::OwnTau,
    }
}

const E_NA: f64 = 60.0;
const E_K: f64 = -85.0;
const E_CA: f64 = 60.0;
const E_NMDA: f64 = 0.0;
const E_LEAK: f64 = -50.0;
/// Extracellular magnesium (mM) of the NMDA block.
const MG: f64 = 1.4;

/// ERG closed-to-open rate, also its initial open fraction (the reference starts o_ERG at a0(V0)).
const ERG_A0: VFn = VFn::Exp {
    a: 0.0036,
    k: 0.0759,
};

const CHANNELS: [Channel; 7] = [
    Channel {
        name: "Na",
        column: "g_Na",
        reversal: E_NA,
        gates: &[
            hh(
                "m_Na",
                3,
                unit(-9.7264, 30.0907),
                VFn::InvLinoidExp {
                    base: 0.01,
                    p: 15.6504,
                    q: 0.4043,
                    r: -19.565,
                    s: -0.5052,
                    a: 3.0212,
                    k: -0.007463,
                },
            ),
            hh(
                "h_Na",
                1,
                unit(10.7665, 54.0289),
                VFn::InvRateSum {
                    base: 0.4,
                    a1: 5.0754e-4,
                    k1: -0.063213,
                    a2: 9.7529,
                    k2: 0.13442,
                },
            ),
        ],
    },
    Channel {
        name: "Kd",
        column: "g_Kd",
        reversal: E_K,
        gates: &[hh(
            "n_Kd",
            3,
            unit(-12.0, 25.0),
            sig(20.0, -18.0, -10.0, 38.0),
        )],
    },
    Channel {
        name: "CaL",
        column: "g_CaL",
        reversal: E_CA,
        gates: &[hh(
            "m_CaL",
            2,
            unit(-2.0, 50.0),
            sig(30.0, -28.0, -3.0, 45.0),
        )],
    },
    Channel {
        name: "CaN",
        column: "g_CaN",
        reversal: E_CA,
        gates: &[hh(
            "m_CaN",
            1,
            unit(-7.0, 30.0),
            sig(30.0, -25.0, -6.0, 55.0),
        )],
    },
    Channel {
        name: "ERG",
        column: "g_ERG",
        reversal: E_K,
        gates: &[Gate {
            name: "o_ERG",
            power: 1,
            gating: Gating::Kinetic {
                a0: ERG_A0,
                b0: VFn::Exp {
                    a: 1.2523e-5,
                    k: -0.0671,
                },
                ai: VFn::Exp { a: 0.1, k: 0.1189 },
                bi: VFn::Exp {
                    a: 0.003,
                    k: -0.0733,
                },
                init_open: ERG_A0,
                init_inactivated: VFn::Const(0.0),
            },
            // The reference treats ERG as entirely ultraslow.
            dic: DicTimescale::Forced {
                w_fs: 0.0,
                w_su: 0.0,
            },
        }],
    },
    Channel {
        name: "NMDA",
        column: "g_NMDA",
        reversal: E_NMDA,
        gates: &[Gate {
            name: "B_NMDA",
            power: 1,
            gating: Gating::Instant {
                inf: VFn::MgBlock {
                    mg: MG,
                    k: 0.08,
                    div: 10.0,
                },
            },
            // The reference treats the instantaneous Mg block as entirely fast.
            dic: DicTimescale::Forced {
                w_fs: 1.0,
                w_su: 1.0,
            },
        }],
    },
    Channel {
        name: "leak",
        column: "g_leak",
        reversal: E_LEAK,
        gates: &[],
    },
];

/// The DA model (Qian et al. 2014).
pub static DA: Model = Model {
    name: "da",
    title: "dopaminergic neuron (Qian et al. 2014)",
    channels: &CHANNELS,
    calcium: None,
    v0: -90.0,
    timescales: [
        TauRef::Gate {
            channel: 0,
            gate: 0,
        },
        TauRef::Gate {
            channel: 1,
            gate: 0,
        },
        TauRef::Const(100.0),
    ],
    default_vth: -55.5,
    default_duration: 12000.0,
    default_transient: 3000.0,
    noise_dt: 0.05,
    default_dt: crate::sim::DEFAULT_DT,
    spike_threshold: crate::sim::SPIKE_THRESHOLD_MV,
    spike_reset: crate::sim::SPIKE_RESET_MV,
    // DA (spec 6.3): Kd U(6,10), CaL U(0.015,0.075), NMDA 0.012, g_leak Gamma(28.76, 4.468e-4), Na, CaN,
    // ERG solved for (-12.95, 0.5, 5); pairs g_s* < 0 -> ERG,CaL; else ERG,Kd.
    population: Some(PopulationSettings {
        model: "da",
        uniform: &[
            UniformDraw {
                channel: "Kd",
                lo: 6.0,
                hi: 10.0,
            },
            UniformDraw {
                channel: "CaL",
                lo: 0.015,
                hi: 0.075,
            },
            UniformDraw {
                channel: "NMDA",
                lo: 0.012,
                hi: 0.012,
            },
        ],
        leak_range: (0.0087, 0.017),
        leak_mean: 0.01285,
        seed_channels: &["Na", "CaN", "ERG"],
        seed_targets: [-12.95, 0.5, 5.0],
        pair_rules: &[
            PairRule {
                when: PairCondition::GsBelow(0.0),
                pair: ["ERG", "CaL"],
            },
            PairRule {
                when: PairCondition::Always,
                pair: ["ERG", "Kd"],
            },
        ],
        placeholders: &[],
    }),
    // The reference's training range (spec `reference-system.md` section 12).
    training: Training {
        g_s: [-10.0, 15.0],
        g_u: [0.0, 20.0],
    },
};
