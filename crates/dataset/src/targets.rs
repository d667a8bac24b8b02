//! The targets of a dataset: a Latin hypercube over the (g_s, g_u) range, a pure function of the seed, N and the
//! ranges. Every shard draws the whole hypercube and keeps its own block, so no shard depends on another.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The ChaCha8 stream the targets are drawn from (the key is the seed). The population generator uses
/// streams `t << 32 | k` with `t < N <= 2^32 - 1`, which never reach this one.
pub const TARGET_STREAM: u64 = u64::MAX;

/// N targets `[g_s, g_u]` by Latin hypercube sampling: each range is cut into N equal strata, each stratum of
/// each dimension holds exactly one target, and the pairing of strata is random.
///
/// Draws, in this order, from the seed's ChaCha8 stream [`TARGET_STREAM`]: a uniform shuffle of the g_s strata,
/// a uniform shuffle of the g_u strata, then for each target the offsets `u_s`, `u_u` in [0, 1) within its
/// strata; target i is `lo + (hi - lo) (stratum_i + u_i) / N` in each dimension. A degenerate range (`lo ==
/// hi`) gives that value for every target.
pub fn latin_hypercube(seed: u64, n: u64, gs_range: [f64; 2], gu_range: [f64; 2]) -> Vec<[f64; 2]> {
    let n_usize = usize::try_from(n).expect("the number of targets fits in memory");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(TARGET_STREAM);
    let mut strata_s: Vec<u32> = (0..n_usize as u32).collect();
    let mut strata_u = strata_s.clone();
    strata_s.shuffle(&mut rng);
    strata_u.shuffle(&mut rng);
    let at = |[lo, hi]: [f64; 2], stratum: u32, u: f64| {
        if lo == hi {
            lo
        } else {
            lo + (hi - lo) * ((stratum as f64 + u) / n as f64)
        }
    };
    strata_s
        .iter()
        .zip(&strata_u)
        .map(|(&s, &u)| {
            let (us, uu) = (rng.random::<f64>(), rng.random::<f64>());
            [at(gs_range, s, us), at(gu_range, u, uu)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_per_stratum_in_each_dimension() {
        let n = 1000;
        let t = latin_hypercube(7, n, [-20.0, 20.0], [0.0, 20.0]);
        assert_eq!(t.len(), n as usize);
        for (d, [lo, hi]) in [(0, [-20.0, 20.0]), (1, [0.0, 20.0])] {
            let mut seen = vec![false; n as usize];
            for x in &t {
                assert!(x[d] >= lo && x[d] < hi);
                let s = ((x[d] - lo) / (hi - lo) * n as f64).floor() as usize;
                assert!(!seen[s], "stratum {s} of dimension {d} twice");
                seen[s] = true;
            }
        }
    }

    #[test]
    fn seeded_and_reproducible() {
        let a = latin_hypercube(1, 50, [-10.0, 15.0], [0.0, 20.0]);
        assert_eq!(a, latin_hypercube(1, 50, [-10.0, 15.0], [0.0, 20.0]));
        assert_ne!(a, latin_hypercube(2, 50, [-10.0, 15.0], [0.0, 20.0]));
        let fixed = latin_hypercube(1, 5, [3.0, 3.0], [0.0, 1.0]);
        assert!(fixed.iter().all(|x| x[0] == 3.0));
    }
}
