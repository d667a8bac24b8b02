//! Small dense solves (1x1 to 3x3) on the stack: column equilibration, Gaussian elimination with partial
//! pivoting and a 1-norm condition number, so that a singular or ill-conditioned system is reported for
//! the one model it belongs to.

use crate::error::SolveError;

/// The largest accepted condition number of the column-equilibrated matrix (1-norm).
pub const MAX_CONDITION: f64 = 1e12;

/// A factorised small matrix (`n <= 3`): column scaling, the LU factors with partial pivoting (row
/// permutation applied) and the condition number, ready to solve any number of right-hand sides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lu {
    n: usize,
    m: [[f64; 3]; 3],
    perm: [usize; 3],
    scale: [f64; 3],
    cond: f64,
}

impl Lu {
    /// Factorises the leading `n x n` block of `a`.
    ///
    /// The columns are first scaled to unit largest entry (the unknowns are conductances of very
    /// different sizes), then factorised with partial pivoting. Errors: [`SolveError::NonFinite`] for a
    /// NaN or infinite entry, [`SolveError::Singular`] for a zero column or pivot,
    /// [`SolveError::IllConditioned`] when the 1-norm condition number of the scaled matrix (from the
    /// closed-form adjugate) exceeds [`MAX_CONDITION`].
    pub fn new(n: usize, a: &[[f64; 3]; 3]) -> Result<Self, SolveError> {
        assert!((1..=3).contains(&n), "1x1 to 3x3 systems only");
        let mut m = [[0.0; 3]; 3];
        let mut scale = [1.0; 3];
        for j in 0..n {
            let mut c: f64 = 0.0;
            for row in a.iter().take(n) {
                let v = row[j];
                if !v.is_finite() {
                    return Err(SolveError::NonFinite);
                }
                c = c.max(v.abs());
            }
            if c == 0.0 {
                return Err(SolveError::Singular);
            }
            scale[j] = 1.0 / c;
            for i in 0..n {
                m[i][j] = a[i][j] * scale[j];
            }
        }
        let norm_a = (0..n)
            .map(|j| (0..n).map(|i| m[i][j].abs()).sum::<f64>())
            .fold(0.0, f64::max);
        // ||M^-1||_1 = ||adj(M)||_1 / |det M|, in closed form for n <= 3.
        let (det, adj_norm) = match n {
            1 => (m[0][0], 1.0),
            2 => (
                m[0][0] * m[1][1] - m[0][1] * m[1][0],
                (m[1][1].abs() + m[1][0].abs()).max(m[0][1].abs() + m[0][0].abs()),
            ),
            _ => {
                // Cofactor matrix C; adj = C^T, so the column sums of adj are the row sums of C.
                let c = |i: usize, j: usize| {
                    let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
                    let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
                    m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
                };
                let cof = [
                    [c(0, 0), c(0, 1), c(0, 2)],
                    [c(1, 0), c(1, 1), c(1, 2)],
                    [c(2, 0), c(2, 1), c(2, 2)],
                ];
                let det = m[0][0] * cof[0][0] + m[0][1] * cof[0][1] + m[0][2] * cof[0][2];
                let norm = cof
                    .iter()
                    .map(|r| r.iter().map(|v| v.abs()).sum::<f64>())
                    .fold(0.0, f64::max);
                (det, norm)
            }
        };
        if det == 0.0 {
            return Err(SolveError::Singular);
        }
        let cond = norm_a * adj_norm / det.abs();
        if !cond.is_finite() {
            return Err(SolveError::Singular);
        }
        if cond > MAX_CONDITION {
            return Err(SolveError::IllConditioned(cond));
        }
        let mut perm = [0, 1, 2];
        for k in 0..n {
            let mut p = k;
            for i in k + 1..n {
                if m[i][k].abs() > m[p][k].abs() {
                    p = i;
                }
            }
            if m[p][k] == 0.0 {
                return Err(SolveError::Singular);
            }
            m.swap(k, p);
            perm.swap(k, p);
            for i in k + 1..n {
                let f = m[i][k] / m[k][k];
                m[i][k] = f;
                for j in k + 1..n {
                    m[i][j] -= f * m[k][j];
                }
            }
        }
        Ok(Self {
            n,
            m,
            perm,
            scale,
            cond,
        })
    }

    /// The condition number (1-norm, column-equilibrated).
    pub fn condition(&self) -> f64 {
        self.cond
    }

    /// Solves `a x = b`; [`SolveError::NonFinite`] if `b` is not finite.
    #[inline]
    pub fn solve(&self, b: &[f64; 3]) -> Result<[f64; 3], SolveError> {
        let n = self.n;
        if b[..n].iter().any(|v| !v.is_finite()) {
            return Err(SolveError::NonFinite);
        }
        let m = &self.m;
        let mut y = [0.0; 3];
        for i in 0..n {
            let mut s = b[self.perm[i]];
            for j in 0..i {
                s -= m[i][j] * y[j];
            }
            y[i] = s;
        }
        let mut x = [0.0; 3];
        for i in (0..n).rev() {
            let mut s = y[i];
            for j in i + 1..n {
                s -= m[i][j] * x[j];
            }
            x[i] = s / m[i][i];
        }
        for j in 0..n {
            x[j] *= self.scale[j];
        }
        Ok(x)
    }
}

/// Solves `a x = b` for the leading `n x n` block (`n <= 3`): [`Lu::new`] then [`Lu::solve`].
#[inline]
pub fn solve(n: usize, a: &[[f64; 3]; 3], b: &[f64; 3]) -> Result<[f64; 3], SolveError> {
    Lu::new(n, a)?.solve(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_pivots() {
        let a = [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1e-3]];
        let x = solve(3, &a, &[4.0, 9.0, 2e-3]).unwrap();
        assert_eq!(x, [3.0, 2.0, 2.0]);
        let a = [[1e3, 2.0, 0.0], [1.0, 3e-4, 0.0], [0.0; 3]];
        let x = solve(2, &a, &[1e3 + 2.0, 1.0 + 3e-4, 0.0]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12);
        assert_eq!(
            solve(1, &[[4.0, 0.0, 0.0], [0.0; 3], [0.0; 3]], &[2.0, 0.0, 0.0]).unwrap()[0],
            0.5
        );
    }

    #[test]
    fn singular_and_ill_conditioned() {
        let a = [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0; 3]];
        assert_eq!(solve(2, &a, &[1.0, 1.0, 0.0]), Err(SolveError::Singular));
        let a = [[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0; 3]];
        assert!(matches!(
            solve(2, &a, &[1.0, 1.0, 0.0]),
            Err(SolveError::Singular | SolveError::IllConditioned(_))
        ));
        let a = [[1.0, 1.0, 0.0], [1.0, 1.0 + 1e-14, 0.0], [0.0; 3]];
        assert!(matches!(
            solve(2, &a, &[1.0, 1.0, 0.0]),
            Err(SolveError::IllConditioned(_))
        ));
        let a = [[f64::NAN, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0; 3]];
        assert_eq!(solve(2, &a, &[1.0, 1.0, 0.0]), Err(SolveError::NonFinite));
    }
}
