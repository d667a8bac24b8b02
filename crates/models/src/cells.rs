//! Example cells from the reference system's documents, shared by tests, benchmarks and profiling examples.

/// A 5-spike STG burster (reference-system.md section 14), conductances in the order of [`crate::STG`].
pub const STG_BURSTER: [f64; 8] = [
    4697.50119,
    192.940726,
    3.716986,
    29.1164335,
    116.844777,
    263.791575,
    0.164750993,
    0.00855285962,
];

/// The DA spiking seed cell of spec section 6.3 (tonic), in the order of [`crate::DA`].
pub const DA_SEED: [f64; 7] = [
    35.46934803014296,
    8.0,
    0.045,
    0.04069634820398918,
    0.15015869937543488,
    0.012,
    0.01285,
];

/// The STG spiking seed cell of spec section 6.2 (tonic; DICs (-6.2, 4, 5)), in the order of [`crate::STG`].
pub const STG_SEED: [f64; 8] = [
    6865.689218303348,
    105.0,
    5.0,
    14.0,
    160.0,
    366.7231129086097,
    0.33428284501779454,
    0.0105,
];

/// Reference simulation ID 0: a 9-spike STG burster at g_s = -15, g_u = 2.
pub const STG_REFERENCE_ID0: [f64; 8] = [
    7515.510111004664,
    88.04568830963828,
    3.285265870278445,
    70.00168206192149,
    165.9954857294661,
    454.8250274841353,
    0.23021182296795978,
    0.01100484230925324,
];
