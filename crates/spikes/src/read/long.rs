//! The long table: a CSV or TSV with one spike per row, columns `ID` and `time` (`time_ms` or `time_s` name their
//! unit), optionally a `unit` column (`ms` or `s`, the same on every row). Rows of one ID need not be contiguous.
//! A row with an empty time declares a train without adding a spike (a unit that never fired).
//!
//! This is the format for large data sets (millions of rows), so it has a fast path: a file without any quote
//! character is split by hand in one pass over its bytes, and plain decimals are converted exactly without the
//! general float parser. Files with quotes go through the `csv` crate (one reused `ByteRecord`). Either way, memory
//! is only allocated when a new ID appears and when a train grows.

use std::collections::HashMap;
use std::path::Path;

use csv::ByteRecord;

use super::{SpikeTrain, TimeUnit, check_time, csv_error, delimiter_of};
use crate::error::{Location, ReadError};

/// `Some(unit named by the column, if any)` when `name` is a time column of a long table.
pub(super) fn time_column_unit(name: &str) -> Option<Option<TimeUnit>> {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "time" | "spike_time" => Some(None),
        "time_ms" | "spike_time_ms" => Some(Some(TimeUnit::Ms)),
        "time_s" | "spike_time_s" => Some(Some(TimeUnit::S)),
        _ => None,
    }
}

pub(super) fn read(
    path: &Path,
    unit: Option<TimeUnit>,
    _warnings: &mut Vec<String>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let is_tsv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    if bytes.contains(&b'"') {
        read_with_csv(path, bytes, is_tsv, unit)
    } else {
        read_plain(path, bytes, is_tsv, unit)
    }
}

/// The columns of the table and the state of the rows read so far.
struct Table<'p> {
    path: &'p Path,
    n_fields: usize,
    id_col: usize,
    time_col: usize,
    time_name: String,
    unit_col: Option<usize>,
    /// The unit of the whole table, and what fixed it (column name, --unit, first unit cell).
    table_unit: Option<(TimeUnit, String)>,
    factor: f64,
    trains: Vec<SpikeTrain>,
    index: HashMap<Box<[u8]>, usize>,
    current: Option<usize>,
    current_id: Vec<u8>,
}

impl<'p> Table<'p> {
    fn new(path: &'p Path, names: &[String], unit: Option<TimeUnit>) -> Result<Self, ReadError> {
        let found = names.join(",");
        let expected = "expected columns ID,time (or time_ms, time_s) and optionally unit";
        let Some(id_col) = names.iter().position(|n| n.eq_ignore_ascii_case("ID")) else {
            return Err(ReadError::invalid(
                path,
                Location::Header,
                format!("no ID column (found {found}), {expected}"),
            ));
        };
        let Some((time_col, column_unit)) = names
            .iter()
            .enumerate()
            .find_map(|(i, n)| time_column_unit(n).map(|u| (i, u)))
        else {
            return Err(ReadError::invalid(
                path,
                Location::Header,
                format!("no time column (found {found}), {expected}"),
            ));
        };
        let time_name = names[time_col].clone();
        if let (Some(given), Some(named)) = (unit, column_unit)
            && given != named
        {
            return Err(ReadError::invalid(
                path,
                Location::Header,
                format!(
                    "column {time_name} is in {} but --unit {} was given (mixed units)",
                    named.as_str(),
                    given.as_str()
                ),
            ));
        }
        let table_unit = column_unit
            .map(|u| (u, format!("column {time_name}")))
            .or_else(|| unit.map(|u| (u, "--unit".to_string())));
        Ok(Table {
            path,
            n_fields: names.len(),
            id_col,
            time_col,
            time_name,
            unit_col: names.iter().position(|n| n.eq_ignore_ascii_case("unit")),
            factor: table_unit.as_ref().map_or(1.0, |(u, _)| u.to_ms()),
            table_unit,
            trains: Vec::new(),
            index: HashMap::new(),
            current: None,
            current_id: Vec::new(),
        })
    }

    /// Adds one data row (`row` counts data rows from 1, `line` is the line of the file).
    fn row(&mut self, row: u64, line: u64, fields: &Fields) -> Result<(), ReadError> {
        let path = self.path;
        let at = |field: &str| Location::Row {
            row,
            line,
            field: Some(field.to_string()),
        };
        if let Some(uc) = self.unit_col {
            let cell = String::from_utf8_lossy(fields.get(uc));
            let row_unit: TimeUnit = cell
                .parse()
                .map_err(|e: String| ReadError::invalid(path, at("unit"), e))?;
            match &self.table_unit {
                Some((u, _)) if *u == row_unit => {}
                Some((u, source)) => {
                    return Err(ReadError::invalid(
                        path,
                        at("unit"),
                        format!(
                            "unit {} but {source} says {} (mixed units); use one unit for the whole table",
                            row_unit.as_str(),
                            u.as_str()
                        ),
                    ));
                }
                None => {
                    self.table_unit = Some((row_unit, format!("row {row}")));
                    self.factor = row_unit.to_ms();
                }
            }
        }
        let id = fields.get(self.id_col);
        let idx = match self.current {
            Some(i) if id == self.current_id.as_slice() => i,
            _ => {
                if id.is_empty() {
                    return Err(ReadError::invalid(
                        path,
                        at("ID"),
                        "empty ID; every row needs one",
                    ));
                }
                let i = match self.index.get(id) {
                    Some(&i) => i,
                    None => {
                        let text = std::str::from_utf8(id).map_err(|_| {
                            ReadError::invalid(
                                path,
                                at("ID"),
                                "not valid UTF-8 text; save the file as UTF-8",
                            )
                        })?;
                        // Room for as many spikes as the trains so far hold on average.
                        let spikes: usize = self
                            .trains
                            .iter()
                            .rev()
                            .take(8)
                            .map(|t| t.times_ms.len())
                            .sum();
                        let capacity = (spikes / self.trains.len().clamp(1, 8)).max(4);
                        self.trains.push(SpikeTrain {
                            id: text.to_string(),
                            times_ms: Vec::with_capacity(capacity),
                        });
                        self.index.insert(id.into(), self.trains.len() - 1);
                        self.trains.len() - 1
                    }
                };
                self.current = Some(i);
                self.current_id.clear();
                self.current_id.extend_from_slice(id);
                i
            }
        };
        let cell = fields.get(self.time_col);
        if cell.is_empty() {
            return Ok(());
        }
        let Some(value) = parse_number(cell) else {
            return Err(ReadError::invalid(
                path,
                at(&self.time_name),
                format!(
                    "{} is not a number, expected a spike time",
                    crate::error::excerpt(&String::from_utf8_lossy(cell))
                ),
            ));
        };
        let t = value * self.factor;
        if !(t.is_finite() && t >= 0.0) {
            check_time(
                path,
                || at(&self.time_name),
                t,
                &String::from_utf8_lossy(cell),
            )?;
        }
        self.trains[idx].times_ms.push(t);
        Ok(())
    }
}

/// The fields of one row that the table uses, trimmed of ASCII spaces.
struct Fields<'a> {
    cells: [&'a [u8]; 3],
    cols: [usize; 3],
}

impl<'a> Fields<'a> {
    fn for_table(table: &Table) -> Self {
        Fields {
            cells: [&[]; 3],
            cols: [
                table.id_col,
                table.time_col,
                table.unit_col.unwrap_or(usize::MAX),
            ],
        }
    }

    /// Keeps field `col` if the table uses it.
    #[inline]
    fn offer(&mut self, col: usize, cell: &'a [u8]) {
        for k in 0..3 {
            if self.cols[k] == col {
                self.cells[k] = cell.trim_ascii();
            }
        }
    }

    fn clear(&mut self) {
        self.cells = [&[]; 3];
    }

    fn get(&self, col: usize) -> &'a [u8] {
        (0..3)
            .find(|&k| self.cols[k] == col)
            .map_or(&[], |k| self.cells[k])
    }
}

/// The fast path: no quotes, so fields are what lies between delimiters; one vectorised pass finds every
/// delimiter and end of line. Blank lines and lines starting with `#` are skipped, as the `csv` crate does.
fn read_plain(
    path: &Path,
    bytes: &[u8],
    is_tsv: bool,
    unit: Option<TimeUnit>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    // The header: the first line that is neither blank nor a comment.
    let mut start = 0;
    let mut line_no = 0u64;
    let header = loop {
        if start >= bytes.len() {
            return Ok(Vec::new());
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        start = end + 1;
        line_no += 1;
        if !(line.trim_ascii().is_empty() || line[0] == b'#') {
            break line;
        }
    };
    let delimiter = if is_tsv {
        b'\t'
    } else {
        delimiter_of(&String::from_utf8_lossy(header))
    };
    let names: Vec<String> = header
        .split(|&b| b == delimiter)
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let mut table = Table::new(path, &names, unit)?;
    let body = bytes.get(start..).unwrap_or_default();
    let mut row = 0u64;
    let mut line_start = 0;
    let mut cell_start = 0;
    let mut n = 0;
    let mut fields = Fields::for_table(&table);
    let mut end_of_line =
        |pos: usize, n: usize, fields: &Fields, line_start: usize| -> Result<(), ReadError> {
            line_no += 1;
            let line = &body[line_start..pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() || line[0] == b'#' {
                return Ok(());
            }
            row += 1;
            if n != table.n_fields {
                return Err(ReadError::invalid(
                    path,
                    Location::Row {
                        row,
                        line: line_no,
                        field: None,
                    },
                    format!("{n} fields, expected {} like the header", table.n_fields),
                ));
            }
            table.row(row, line_no, fields)
        };
    for pos in memchr::memchr2_iter(delimiter, b'\n', body) {
        if body[pos] == delimiter {
            fields.offer(n, &body[cell_start..pos]);
            n += 1;
        } else {
            let cell = &body[cell_start..pos];
            fields.offer(n, cell.strip_suffix(b"\r").unwrap_or(cell));
            end_of_line(pos, n + 1, &fields, line_start)?;
            line_start = pos + 1;
            n = 0;
            fields.clear();
        }
        cell_start = pos + 1;
    }
    if line_start < body.len() {
        fields.offer(n, &body[cell_start..]);
        end_of_line(body.len(), n + 1, &fields, line_start)?;
    }
    Ok(table.trains)
}

/// The general path, for files with quoted fields.
fn read_with_csv(
    path: &Path,
    bytes: &[u8],
    is_tsv: bool,
    unit: Option<TimeUnit>,
) -> Result<Vec<SpikeTrain>, ReadError> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if is_tsv {
        b'\t'
    } else {
        delimiter_of(&String::from_utf8_lossy(first))
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    let headers = rdr
        .byte_headers()
        .map_err(|e| csv_error(path, e, 0))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let mut table = Table::new(path, &names, unit)?;
    let mut rec = ByteRecord::new();
    let mut row = 0u64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, e, row)),
        }
        row += 1;
        let mut fields = Fields::for_table(&table);
        for (i, cell) in rec.iter().enumerate() {
            fields.offer(i, cell);
        }
        table.row(row, rec.position().map_or(0, |p| p.line()), &fields)?;
    }
    Ok(table.trains)
}

/// Powers of ten that are exact in f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a number. Plain decimals (`[-+]digits[.digits]`, at most 15 significant digits) take a fast exact path:
/// the digits form an integer below 2^53 and one correctly rounded division by an exact power of ten gives the
/// correctly rounded value, as the general parser would. Anything else goes to the general parser.
#[inline]
fn parse_number(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell.first() {
        Some(b'-') => (true, &cell[1..]),
        Some(b'+') => (false, &cell[1..]),
        _ => (false, cell),
    };
    let mut mantissa: u64 = 0;
    let mut n_digits = 0usize;
    let mut frac_digits = 0usize;
    let mut seen_point = false;
    let mut plain = !digits.is_empty();
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                n_digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => {
                plain = false;
                break;
            }
        }
    }
    if plain && n_digits > 0 && n_digits <= 15 && frac_digits < POW10.len() {
        let v = mantissa as f64 / POW10[frac_digits];
        return Some(if negative { -v } else { v });
    }
    std::str::from_utf8(cell).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn fast_numbers_equal_the_general_parser() {
        for s in [
            "0",
            "1",
            "12.5",
            "3057.0500000002075",
            "0.1",
            "-0.25",
            "+7",
            "123456.789",
            "999999999999999",
            "1.",
            ".5",
            "0.000000000000000000001",
            "1234567890123456789",
            "1e3",
            "1.5E-3",
            "inf",
            "NaN",
        ] {
            let fast = parse_number(s.as_bytes());
            let general = s.parse::<f64>().ok();
            assert_eq!(fast.map(f64::to_bits), general.map(f64::to_bits), "{s}");
        }
        for bad in ["", "-", ".", "1.2.3", "12a", "thirty"] {
            assert_eq!(parse_number(bad.as_bytes()), None, "{bad}");
        }
        // Every decimal with up to 3 decimals below 10000 s, as a recording writes them.
        for i in (0..10_000_000u64).step_by(7919) {
            let s = format!("{}.{:03}", i / 1000, i % 1000);
            assert_eq!(parse_number(s.as_bytes()), s.parse::<f64>().ok(), "{s}");
        }
    }
}
