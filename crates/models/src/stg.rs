//! The stomatogastric ganglion (STG) neuron of Liu et al. (1998), as coded by the reference system.
//!
//! State: `[V, m_Na, h_Na, m_Kd, m_CaT, h_CaT, m_CaS, h_CaS, m_KCa, m_A, h_A, m_H, Ca]`;
//! conductances: `[g_Na, g_Kd, g_CaT, g_CaS, g_KCa, g_A, g_H, g_leak]` (mS/cm^2).

use crate::model::{Calcium, Channel, DicTimescale::OwnTau, Gate, Gating, Model, TauRef};
use crate::recipe::{
    PairCondition, PairRule, Placeholder, PopulationSettings, Training, UniformDraw,
};
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
        dic: OwnTau,
    }
}

const E_NA: f64 = 50.0;
const E_K: f64 = -80.0;
const E_CA: f64 = 80.0;
const E_H: f64 = -20.0;
const E_LEAK: f64 = -50.0;

const CHANNELS: [Channel; 8] = [
    Channel {
        name: "Na",
        column: "g_Na",
        reversal: E_NA,
        gates: &[
            hh("m_Na", 3, unit(-5.29, 25.5), sig(1.32, -1.26, -25.0, 120.0)),
            hh(
                "h_Na",
                1,
                unit(5.18, 48.9),
                VFn::SigProd(
                    Sig::new(0.0, 0.67, -10.0, 62.9),
                    Sig::new(1.5, 1.0, 3.6, 34.9),
                ),
            ),
        ],
    },
    Channel {
        name: "Kd",
        column: "g_Kd",
        reversal: E_K,
        gates: &[hh(
            "m_Kd",
            4,
            unit(-11.8, 12.3),
            sig(7.2, -6.4, -19.2, 28.3),
        )],
    },
    Channel {
        name: "CaT",
        column: "g_CaT",
        reversal: E_CA,
        gates: &[
            hh("m_CaT", 3, unit(-7.2, 27.1), sig(21.7, -21.3, -20.5, 68.1)),
            hh("h_CaT", 1, unit(5.5, 32.1), sig(105.0, -89.8, -16.9, 55.0)),
        ],
    },
    Channel {
        name: "CaS",
        column: "g_CaS",
        reversal: E_CA,
        gates: &[
            hh(
                "m_CaS",
                3,
                unit(-8.1, 33.0),
                VFn::InvExpSum {
                    base: 1.4,
                    scale: 7.0,
                    v1: 27.0,
                    k1: 10.0,
                    v2: 70.0,
                    k2: -13.0,
                },
            ),
            hh(
                "h_CaS",
                1,
                unit(6.2, 60.0),
                VFn::InvExpSum {
                    base: 60.0,
                    scale: 150.0,
                    v1: 55.0,
                    k1: 9.0,
                    v2: 65.0,
                    k2: -16.0,
                },
            ),
        ],
    },
    Channel {
        name: "KCa",
        column: "g_KCa",
        reversal: E_K,
        gates: &[Gate {
            name: "m_KCa",
            power: 4,
            gating: Gating::CaDependent {
                inf: unit(-12.6, 28.3),
                kd: 3.0,
                tau: sig(90.3, -75.1, -22.7, 46.0),
            },
            dic: OwnTau,
        }],
    },
    Channel {
        name: "A",
        column: "g_A",
        reversal: E_K,
        gates: &[
            hh("m_A", 3, unit(-8.7, 27.2), sig(11.6, -10.4, -15.2, 32.9)),
            hh("h_A", 1, unit(4.9, 56.9), sig(38.6, -29.2, -26.5, 38.9)),
        ],
    },
    Channel {
        name: "H",
        column: "g_H",
        reversal: E_H,
        gates: &[hh(
            "m_H",
            1,
            unit(6.0, 70.0),
            sig(272.0, 1499.0, -8.73, 42.2),
        )],
    },
    Channel {
        name: "leak",
        column: "g_leak",
        reversal: E_LEAK,
        gates: &[],
    },
];

/// The STG model (Liu et al. 1998).
pub static STG: Model = Model {
    name: "stg",
    title: "stomatogastric ganglion neuron (Liu et al. 1998)",
    channels: &CHANNELS,
    calcium: Some(Calcium {
        tau: 20.0,
        alpha: 0.94,
        beta: 0.05,
        carriers: &[2, 3],
        initial: 0.5,
    }),
    v0: -70.0,
    timescales: [
        TauRef::Gate {
            channel: 0,
            gate: 0,
        },
        TauRef::Gate {
            channel: 1,
            gate: 0,
        },
        TauRef::Gate {
            channel: 6,
            gate: 0,
        },
    ],
    default_vth: -51.0,
    default_duration: 6000.0,
    default_transient: 3000.0,
    noise_dt: 0.1,
    default_dt: crate::sim::DEFAULT_DT,
    spike_threshold: crate::sim::SPIKE_THRESHOLD_MV,
    spike_reset: crate::sim::SPIKE_RESET_MV,
    // STG (spec 6.2): Kd U(70,140), CaT U(3,7), CaS U(6,22), KCa U(140,180), g_leak Gamma(27, 3.888e-4),
    // Na, A, H solved for (-6.2, 4, 5); pairs g_u* < 0 -> CaS,A; g_s* < 0 -> CaS,H; else A,H.
    population: Some(PopulationSettings {
        model: "stg",
        uniform: &[
            UniformDraw {
                channel: "Kd",
                lo: 70.0,
                hi: 140.0,
            },
            UniformDraw {
                channel: "CaT",
                lo: 3.0,
                hi: 7.0,
            },
            UniformDraw {
                channel: "CaS",
                lo: 6.0,
                hi: 22.0,
            },
            UniformDraw {
                channel: "KCa",
                lo: 140.0,
                hi: 180.0,
            },
        ],
        leak_range: (0.007, 0.014),
        leak_mean: 0.0105,
        seed_channels: &["Na", "A", "H"],
        seed_targets: [-6.2, 4.0, 5.0],
        pair_rules: &[
            PairRule {
                when: PairCondition::GuBelow(0.0),
                pair: ["CaS", "A"],
            },
            PairRule {
                when: PairCondition::GsBelow(0.0),
                pair: ["CaS", "H"],
            },
            PairRule {
                when: PairCondition::Always,
                pair: ["A", "H"],
            },
        ],
        placeholders: &[
            Placeholder {
                channel: "CaS",
                intercept: 34.12021074772369,
                slope: -2.3296612301271464,
            },
            Placeholder {
                channel: "CaT",
                intercept: 6.0,
                slope: 0.0,
            },
        ],
    }),
    // The reference's training range (spec `reference-system.md` section 12).
    training: Training {
        g_s: [-20.0, 20.0],
        g_u: [0.0, 20.0],
    },
};
