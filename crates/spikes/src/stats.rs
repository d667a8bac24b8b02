//! Small statistics shared by every crate: quantiles and medians.

/// The `q`-quantile (0 to 1) of sorted values, by linear interpolation between the closest ranks; `sorted`
/// must not be empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let x = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = x as usize; // x >= 0: truncation is the floor
    let frac = x - i as f64;
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// The `q`-quantiles of any values (sorted here, NaNs last); NaN for each when there are none.
pub fn quantiles<const N: usize>(values: impl IntoIterator<Item = f64>, q: [f64; N]) -> [f64; N] {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return [f64::NAN; N];
    }
    v.sort_unstable_by(f64::total_cmp);
    q.map(|q| quantile(&v, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!((quantile(&v, 0.05) - 1.15).abs() < 1e-12);
        assert_eq!(
            quantiles([4.0, f64::NAN, 1.0, 3.0, 2.0], [0.5, 1.0]),
            [2.5, 4.0]
        );
        assert!(quantiles([], [0.5])[0].is_nan());
    }
}
