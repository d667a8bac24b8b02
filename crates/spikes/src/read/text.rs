//! The text format: one train per line, times separated by whitespace and/or commas, optionally preceded by an
//! identifier and a colon (`cell_a: 10.5 20.1`). Lines starting with `#` are comments. A blank line is an empty
//! train, except blank lines at the end of the file. Trains without an identifier are numbered 1, 2, ... in file
//! order (comments not counted).

use std::path::Path;

use super::{SpikeTrain, TimeUnit, check_time};
use crate::error::{Location, ReadError};
use crate::train::{parse_time, split_values};

pub(super) fn read(
    path: &Path,
    unit: TimeUnit,
    _warnings: &mut Vec<String>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            return Err(ReadError::invalid(
                path,
                Location::Line(line),
                "not valid UTF-8 text; save the file as UTF-8",
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let factor = unit.to_ms();
    let mut trains = Vec::new();
    for (i, raw) in lines[..last].iter().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let (id, values) = match line.split_once(':') {
            Some((id, rest)) => {
                let id = id.trim();
                if id.is_empty() {
                    return Err(ReadError::invalid(
                        path,
                        Location::Line(line_no),
                        "empty identifier before \":\", expected \"ID: t1 t2 ...\" or just \"t1 t2 ...\"",
                    ));
                }
                (id.to_string(), rest)
            }
            None => ((trains.len() + 1).to_string(), line),
        };
        let mut times = Vec::new();
        split_values(values, |index, value| {
            times.push(parse_time(index, value)?);
            Ok(())
        })
        .map_err(|e| ReadError::invalid(path, Location::Line(line_no), e.to_string()))?;
        for (k, t) in times.iter_mut().enumerate() {
            *t *= factor;
            check_time(
                path,
                || Location::Line(line_no),
                *t,
                &format!("{} (value {})", *t / factor, k + 1),
            )?;
        }
        trains.push(SpikeTrain {
            id,
            times_ms: times,
        });
    }
    Ok(trains)
}
