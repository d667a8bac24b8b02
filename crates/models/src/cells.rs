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

/// The DA seed cell of the population generator (crate `spikepop-dics`), in the order of [`crate::DA`].
pub const DA_SEED: [f64; 7] = [
    35.46934803014296,
    8.0,
    0.045,
    0.04069634820398918,
    0.15015869937543488,
    0.012,
    0.01285,
];
