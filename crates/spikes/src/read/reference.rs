//! The reference format: a CSV (or TSV) with an optional `ID` column and a `spiking_times` column whose cells hold
//! `"[t1, t2, ...]"` strings (ms unless told otherwise). `[]`, an empty cell and `NaN` are empty trains.

use std::path::Path;

use csv::ByteRecord;

use super::{SpikeTrain, TimeUnit, csv_error, csv_reader};
use crate::error::{Location, ReadError};
use crate::train::parse_train;

/// Name of the column of spike-time strings.
pub(super) const TIMES_COLUMN: &str = "spiking_times";
/// Name of the identifier column.
pub(super) const ID_COLUMN: &str = "ID";

pub(super) fn read(
    path: &Path,
    unit: TimeUnit,
    warnings: &mut Vec<String>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    let file = path.display();
    let mut rdr = csv_reader(path)?;
    let headers = rdr
        .byte_headers()
        .map_err(|e| csv_error(path, e, 0))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let Some(times_col) = find(TIMES_COLUMN) else {
        return Err(ReadError::invalid(
            path,
            Location::Header,
            format!(
                "no spiking_times column (found {}), expected ID,spiking_times",
                super::header_text(&headers)
            ),
        ));
    };
    let id_col = find(ID_COLUMN);
    if id_col.is_none() {
        warnings.push(format!(
            "{file}: no ID column; the trains are named by their row number (1, 2, ...)"
        ));
    }
    let factor = unit.to_ms();
    let mut trains = Vec::new();
    let mut nan_cells = 0usize;
    let mut rec = ByteRecord::new();
    let mut row = 0u64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, e, row)),
        }
        row += 1;
        let line = rec.position().map_or(0, |p| p.line());
        let at = |field: &str| Location::Row {
            row,
            line,
            field: Some(field.to_string()),
        };
        let text = |col: usize, field: &str| -> Result<&str, ReadError> {
            std::str::from_utf8(rec.get(col).unwrap_or_default())
                .map(str::trim)
                .map_err(|_| {
                    ReadError::invalid(
                        path,
                        at(field),
                        "not valid UTF-8 text; save the file as UTF-8",
                    )
                })
        };
        let id = match id_col {
            Some(col) => {
                let id = text(col, ID_COLUMN)?;
                if id.is_empty() {
                    return Err(ReadError::invalid(
                        path,
                        at(ID_COLUMN),
                        "empty ID; every row needs one (or drop the ID column to number the rows)",
                    ));
                }
                id.to_string()
            }
            None => row.to_string(),
        };
        let cell = text(times_col, TIMES_COLUMN)?;
        let mut times = if cell.is_empty() {
            Vec::new()
        } else if cell.eq_ignore_ascii_case("nan") {
            nan_cells += 1;
            Vec::new()
        } else {
            parse_train(cell)
                .map_err(|e| ReadError::invalid(path, at(TIMES_COLUMN), e.to_string()))?
        };
        for (i, t) in times.iter_mut().enumerate() {
            if *t < 0.0 {
                return Err(ReadError::invalid(
                    path,
                    at(TIMES_COLUMN),
                    format!(
                        "value {} ({t}) is negative; spike times must be finite and non-negative",
                        i + 1
                    ),
                ));
            }
            *t *= factor;
        }
        trains.push(SpikeTrain {
            id,
            times_ms: times,
        });
    }
    if nan_cells > 0 {
        warnings.push(format!(
            "{file}: {nan_cells} row(s) have NaN as spiking_times; they were read as empty trains"
        ));
    }
    Ok(trains)
}
