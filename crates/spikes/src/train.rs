//! The `"[t1, t2, ...]"` spike-time string of the reference CSV format: the one place that writes and parses it.

use std::fmt::Write as _;

use crate::error::TrainParseError;

/// Formats spike times as `"[t1, t2, ...]"` (comma and space separated, in brackets), the cell format of the
/// reference CSV. Each time is written with Rust's shortest round-trip representation (`{:?}`), so
/// [`parse_train`] (and numpy or pandas) read back exactly the same `f64` values; integers print as `3045.0`.
///
/// ```
/// use spikepop_spikes::{format_train, parse_train};
/// let times = [3057.0500000002075, 3157.1, 4000.0];
/// let s = format_train(&times);
/// assert_eq!(s, "[3057.0500000002075, 3157.1, 4000.0]");
/// assert_eq!(parse_train(&s).unwrap(), times);
/// assert_eq!(format_train(&[]), "[]");
/// ```
pub fn format_train(times: &[f64]) -> String {
    let mut s = String::with_capacity(2 + times.len() * 12);
    s.push('[');
    for (i, t) in times.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(s, "{t:?}");
    }
    s.push(']');
    s
}

/// Parses a `"[t1, t2, ...]"` string into times, in the order written (no sorting, no unit conversion).
///
/// Accepted: surrounding whitespace, `[]` (an empty train), values separated by commas and/or whitespace (numpy's
/// `str(array)` writes `[1. 2. 3.]`, possibly over several lines), any number syntax that Rust's `f64` parser
/// accepts (`12`, `12.5`, `1.25e3`). Rejected, with the position of the culprit: a missing `[` or `]`, text after
/// the `]`, an empty value (`1,,2`, a leading or trailing comma), a value that is not a number, NaN and infinities.
///
/// ```
/// use spikepop_spikes::parse_train;
/// assert_eq!(parse_train(" [1, 2.5,3e1] ").unwrap(), vec![1.0, 2.5, 30.0]);
/// assert_eq!(parse_train("[1. 2.\n 3.]").unwrap(), vec![1.0, 2.0, 3.0]);
/// assert!(parse_train("[1, 2").is_err());
/// ```
pub fn parse_train(s: &str) -> Result<Vec<f64>, TrainParseError> {
    let t = s.trim();
    let Some(rest) = t.strip_prefix('[') else {
        return Err(TrainParseError::MissingOpenBracket);
    };
    let Some(close) = rest.rfind(']') else {
        return Err(TrainParseError::UnclosedBracket);
    };
    let after = &rest[close + 1..];
    if !after.is_empty() {
        return Err(TrainParseError::TrailingText {
            text: after.to_string(),
        });
    }
    let mut times = Vec::new();
    split_values(&rest[..close], |index, text| {
        times.push(parse_time(index, text)?);
        Ok(())
    })?;
    Ok(times)
}

/// Parses one finite number; `index` (1-based) is only used in the error.
pub(crate) fn parse_time(index: usize, text: &str) -> Result<f64, TrainParseError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(TrainParseError::NotFinite {
            index,
            text: text.to_string(),
        }),
        Err(_) => Err(TrainParseError::NotANumber {
            index,
            text: text.to_string(),
        }),
    }
}

/// Calls `f(index, value)` (index 1-based) for each value of a list separated by commas and/or whitespace.
/// An empty value between two commas, or a comma at either end, is an error.
pub(crate) fn split_values<'a>(
    s: &'a str,
    mut f: impl FnMut(usize, &'a str) -> Result<(), TrainParseError>,
) -> Result<(), TrainParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut count = 0;
    let mut pending_comma = false;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            if pending_comma {
                return Err(TrainParseError::EmptyValue { index: count + 1 });
            }
            return Ok(());
        }
        if b[i] == b',' {
            if pending_comma || count == 0 {
                return Err(TrainParseError::EmptyValue { index: count + 1 });
            }
            pending_comma = true;
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b',' {
            i += 1;
        }
        count += 1;
        pending_comma = false;
        // `start..i` is bounded by ASCII bytes or the ends, so it lies on char boundaries.
        f(count, &s[start..i])?;
    }
}

/// Writes trains in the reference CSV layout: `ID,spiking_times`, one row per train, the times as
/// [`format_train`] writes them (what every command reads back exactly).
pub fn write_reference_csv(
    w: impl std::io::Write,
    trains: &[crate::SpikeTrain],
) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(["ID", "spiking_times"])?;
    for t in trains {
        csv.write_record([t.id.as_str(), format_train(&t.times_ms).as_str()])?;
    }
    csv.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_values() {
        let times = [
            0.0,
            1e-7,
            0.1 + 0.2,
            3045.0,
            1.0e16,
            123456.789,
            f64::MIN_POSITIVE,
        ];
        assert_eq!(parse_train(&format_train(&times)).unwrap(), times);
    }

    #[test]
    fn empty_forms() {
        assert_eq!(parse_train("[]").unwrap(), Vec::<f64>::new());
        assert_eq!(parse_train("  [  ]\n").unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse_train("1, 2"),
            Err(TrainParseError::MissingOpenBracket)
        );
        assert_eq!(parse_train("[1, 2"), Err(TrainParseError::UnclosedBracket));
        assert_eq!(
            parse_train("[1,,2]"),
            Err(TrainParseError::EmptyValue { index: 2 })
        );
        assert_eq!(
            parse_train("[,1]"),
            Err(TrainParseError::EmptyValue { index: 1 })
        );
        assert_eq!(
            parse_train("[1, 2,]"),
            Err(TrainParseError::EmptyValue { index: 3 })
        );
        assert_eq!(
            parse_train("[1, two]"),
            Err(TrainParseError::NotANumber {
                index: 2,
                text: "two".into()
            })
        );
        assert_eq!(
            parse_train("[1, nan]"),
            Err(TrainParseError::NotFinite {
                index: 2,
                text: "nan".into()
            })
        );
        assert_eq!(
            parse_train("[1] x"),
            Err(TrainParseError::TrailingText { text: " x".into() })
        );
        let msg = parse_train("[1, 2").unwrap_err().to_string();
        assert_eq!(msg, "unclosed bracket, expected \"[t1, t2, ...]\"");
    }
}
