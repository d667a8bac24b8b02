//! Population files and what is computed from them, shared by the command line (`spikepop dics`,
//! `spikepop simulate`) and the Python package: a population table (one conductance vector per row, keyed by
//! `ID` and an optional `model` number), its DICs at a threshold voltage, and its simulated spike times.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;
use spikepop_dics::{Dics, Kernel, VthFinder};
use spikepop_models::Model;
use spikepop_models::sim::Outcome;
use spikepop_spikes::format_train;

/// A population table that cannot be used: where (the file when there is one, the line, the field) and what
/// is wrong, with what was expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{}{}{problem}",
    file.as_ref().map_or(String::new(), |f| format!("{}: ", f.display())),
    if *line > 0 { format!("line {line}") } else { String::new() },
    match (field, *line > 0) {
        (Some(f), true) => format!(", field {f}: "),
        (Some(f), false) => format!("field {f}: "),
        (None, true) => ": ".to_string(),
        (None, false) => String::new(),
    })]
pub struct TableError {
    /// The file, when the table came from one.
    pub file: Option<PathBuf>,
    /// The line of the file (1 is the header), or the 1-based row of a table given in memory; 0 for the
    /// table as a whole.
    pub line: u64,
    /// The column, when one is at fault.
    pub field: Option<String>,
    /// What is wrong, and what was expected.
    pub problem: String,
}

/// The error maker of a table read from `path`: (line, field, problem) -> [`TableError`].
pub(crate) fn located(path: &Path) -> impl Fn(u64, Option<&str>, String) -> TableError + '_ {
    move |line, field, problem| TableError {
        file: Some(path.to_path_buf()),
        line,
        field: field.map(str::to_string),
        problem,
    }
}

/// Opens a CSV table (`what` names it in errors) and reads its header line.
pub(crate) fn open_table(
    path: &Path,
    what: &str,
) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord), TableError> {
    let err = located(path);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| err(0, None, format!("cannot open the {what} ({e})")))?;
    let headers = rdr
        .headers()
        .map_err(|e| err(1, None, format!("cannot read the header line ({e})")))?
        .clone();
    Ok((rdr, headers))
}

/// Why a record of a table cannot be read (malformed CSV), located.
pub(crate) fn malformed(path: &Path, e: csv::Error) -> TableError {
    let line = e.position().map_or(0, |p| p.line());
    located(path)(line, None, format!("malformed CSV ({e})"))
}

/// Conductance vectors: one per row, in the model's channel order.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationTable {
    /// The `ID` of each row, as text.
    pub ids: Vec<String>,
    /// The `model` column of each row, when the table has one (as text).
    pub members: Option<Vec<String>>,
    /// Conductances of each row, in the model's channel order (mS/cm^2).
    pub g: Vec<Vec<f64>>,
}

impl PopulationTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// A table from its columns, checked as a file's rows are: non-empty IDs, each (ID, model) once, finite
    /// conductances >= 0, `g` rows as long as the model's channels. Errors name the 1-based row.
    pub fn new(
        model: &Model,
        ids: Vec<String>,
        members: Option<Vec<String>>,
        g: Vec<Vec<f64>>,
    ) -> Result<PopulationTable, TableError> {
        if ids.len() != g.len() || members.as_ref().is_some_and(|m| m.len() != ids.len()) {
            return Err(TableError {
                file: None,
                line: 0,
                field: None,
                problem: format!("{} IDs for {} conductance rows", ids.len(), g.len()),
            });
        }
        let names: Vec<&str> = model.conductance_names().collect();
        let mut seen = HashSet::new();
        for (i, (id, row)) in ids.iter().zip(&g).enumerate() {
            let member = members.as_ref().map(|m| m[i].as_str());
            check_row(&names, (i + 1) as u64, id, member, row, &mut seen).map_err(
                |(line, field, problem)| TableError {
                    file: None,
                    line,
                    field,
                    problem,
                },
            )?;
        }
        Ok(PopulationTable { ids, members, g })
    }

    /// Reads a population CSV for `model`: an `ID` column, an optional `model` column and one column per
    /// conductance (`g_Na`, ...) in any order; extra columns are ignored. Errors name the file, the line and
    /// the field.
    pub fn read(path: &Path, model: &Model) -> Result<PopulationTable, TableError> {
        let err = located(path);
        let (mut rdr, headers) = open_table(path, "population file")?;
        let names: Vec<&str> = model.conductance_names().collect();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(err(
                0,
                None,
                "the file is empty; expected a header line with ID and the conductance columns"
                    .into(),
            ));
        }
        let col = |n: &str| headers.iter().position(|h| h == n);
        let id_col = col("ID").ok_or_else(|| {
            err(
                1,
                None,
                format!(
                    "no `ID` column; expected columns ID,[model,]{}",
                    names.join(",")
                ),
            )
        })?;
        let member_col = col("model");
        let mut g_cols = Vec::new();
        for &c in &names {
            match col(c) {
                Some(i) => g_cols.push(i),
                None => {
                    return Err(err(
                        1,
                        None,
                        format!(
                            "missing conductance column `{c}` (the {} model needs {})",
                            model.name.to_uppercase(),
                            names.join(",")
                        ),
                    ));
                }
            }
        }
        let mut table = PopulationTable {
            ids: Vec::new(),
            members: member_col.map(|_| Vec::new()),
            g: Vec::new(),
        };
        let mut seen = HashSet::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| malformed(path, e))?;
            let line = rec.position().map_or(0, |p| p.line());
            let id = rec.get(id_col).unwrap_or("").to_string();
            let member = member_col.map(|c| rec.get(c).unwrap_or("").to_string());
            let mut g = Vec::with_capacity(g_cols.len());
            for (&name, &c) in names.iter().zip(&g_cols) {
                let raw = rec.get(c).unwrap_or("");
                g.push(raw.parse::<f64>().map_err(|_| {
                    err(
                        line,
                        Some(name),
                        format!("`{raw}` is not a number; expected a conductance >= 0 in mS/cm^2"),
                    )
                })?);
            }
            check_row(&names, line, &id, member.as_deref(), &g, &mut seen).map_err(
                |(line, field, problem)| TableError {
                    file: Some(path.to_path_buf()),
                    line,
                    field,
                    problem,
                },
            )?;
            table.ids.push(id);
            if let (Some(ms), Some(m)) = (table.members.as_mut(), member) {
                ms.push(m);
            }
            table.g.push(g);
        }
        if table.is_empty() {
            return Err(err(
                0,
                None,
                "no data rows after the header; expected one row per model".into(),
            ));
        }
        Ok(table)
    }

    /// The key columns of the files written from this table: `ID`, and `model` when it has one.
    fn key_header(&self) -> &'static [&'static str] {
        if self.members.is_some() {
            &["ID", "model"]
        } else {
            &["ID"]
        }
    }

    fn key(&self, i: usize) -> Vec<String> {
        let mut k = vec![self.ids[i].clone()];
        if let Some(m) = &self.members {
            k.push(m[i].clone());
        }
        k
    }
}

/// Checks one row; the error is (line, field, problem).
fn check_row(
    names: &[&str],
    line: u64,
    id: &str,
    member: Option<&str>,
    g: &[f64],
    seen: &mut HashSet<(String, Option<String>)>,
) -> Result<(), (u64, Option<String>, String)> {
    if id.is_empty() {
        return Err((
            line,
            Some("ID".into()),
            "empty; expected an identifier".into(),
        ));
    }
    if g.len() != names.len() {
        return Err((
            line,
            None,
            format!(
                "{} conductances; expected {} ({})",
                g.len(),
                names.len(),
                names.join(",")
            ),
        ));
    }
    for (name, &v) in names.iter().zip(g) {
        if !(v.is_finite() && v >= 0.0) {
            return Err((
                line,
                Some(name.to_string()),
                format!("{v}; expected a finite conductance >= 0 in mS/cm^2"),
            ));
        }
    }
    if !seen.insert((id.to_string(), member.map(str::to_string))) {
        return Err((
            line,
            None,
            match member {
                Some(m) => format!(
                    "duplicate key (ID {id}, model {m}); each (ID, model) pair must appear once"
                ),
                None => format!(
                    "duplicate ID {id}; give a `model` column to hold several models per ID"
                ),
            },
        ));
    }
    Ok(())
}

/// Where the DICs are evaluated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Vth {
    /// The first downward zero crossing of g_t(V) on [-90, 0] mV, per model (NaN when there is none).
    Auto,
    /// A fixed voltage (mV).
    Fixed(f64),
}

impl FromStr for Vth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Vth::Auto);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Vth::Fixed(v)),
            _ => Err(format!("`{s}` is neither a voltage in mV nor `auto`")),
        }
    }
}

/// The threshold voltage and the DICs of every row (in parallel on rayon's current pool). An error names
/// the first row whose g_leak is not positive (the DICs are divided by it).
pub fn dics(
    model: &'static Model,
    table: &PopulationTable,
    vth: Vth,
) -> Result<Vec<(f64, Dics)>, TableError> {
    let leak = model.leak_index();
    if let Some(i) = table.g.iter().position(|g| g[leak] <= 0.0) {
        return Err(TableError {
            file: None,
            line: 0,
            field: None,
            problem: format!(
                "ID {}: g_leak is {}; the DICs are divided by g_leak, which must be > 0",
                table.ids[i], table.g[i][leak]
            ),
        });
    }
    Ok(match vth {
        Vth::Fixed(v) => {
            let k = Kernel::new(model, v);
            table.g.par_iter().map(|g| (v, k.dics(g))).collect()
        }
        Vth::Auto => {
            let finder = VthFinder::new(model);
            table
                .g
                .par_iter()
                .map(|g| match finder.find(g) {
                    Some(v) => (v, Kernel::new(model, v).dics(g)),
                    None => (f64::NAN, Dics::NAN),
                })
                .collect()
        }
    })
}

/// Writes the DICs file of `spikepop dics`: `ID,[model,]V_th,g_f,g_s,g_u,g_t`.
pub fn write_dics(w: impl Write, table: &PopulationTable, rows: &[(f64, Dics)]) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = table.key_header().to_vec();
    header.extend(["V_th", "g_f", "g_s", "g_u", "g_t"]);
    csv.write_record(&header)?;
    for (i, (v, d)) in rows.iter().enumerate() {
        let mut rec = table.key(i);
        rec.extend([v, &d.g_f, &d.g_s, &d.g_u, &d.g_t()].map(|x| x.to_string()));
        csv.write_record(&rec)?;
    }
    csv.flush()?;
    Ok(())
}

/// Writes the spikes file of `spikepop simulate`: `ID,[model,]n_spikes,spiking_times` (absolute ms).
pub fn write_spikes(w: impl Write, table: &PopulationTable, out: &[Outcome]) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(
        table
            .key_header()
            .iter()
            .chain(&["n_spikes", "spiking_times"]),
    )?;
    for (i, o) in out.iter().enumerate() {
        let mut rec = table.key(i);
        rec.push(o.spikes.len().to_string());
        rec.push(format_train(&o.spikes));
        csv.write_record(&rec)?;
    }
    csv.flush()?;
    Ok(())
}

/// Writes the voltage traces of `spikepop simulate --traces`: `ID,[model,]t,V` (after the transient).
/// Rows simulated without a trace are skipped.
pub fn write_traces(
    mut w: impl Write,
    table: &PopulationTable,
    out: &[Outcome],
) -> std::io::Result<()> {
    writeln!(w, "{},t,V", table.key_header().join(","))?;
    for (i, o) in out.iter().enumerate() {
        let k = table.key(i).join(",");
        if let Some(tr) = &o.trace {
            for (t, v) in tr.t.iter().zip(&tr.v) {
                writeln!(w, "{k},{t},{v}")?;
            }
        }
    }
    w.flush()
}

/// Reads a targets CSV (`spikepop generate --targets`): `ID,g_s,g_u` and optionally `sd_g_s,sd_g_u`, in any
/// column order, extra columns ignored. Errors name the file, the line and the field.
pub fn read_targets(path: &Path) -> Result<Vec<(String, spikepop_dics::TargetSpec)>, TableError> {
    let err = located(path);
    let (mut rdr, headers) = open_table(path, "targets file")?;
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(id_col), Some(gs_col), Some(gu_col)) = (col("ID"), col("g_s"), col("g_u")) else {
        return Err(err(
            1,
            None,
            "expected the columns ID,g_s,g_u (and optionally sd_g_s,sd_g_u)".into(),
        ));
    };
    let (sd_s_col, sd_u_col) = (col("sd_g_s"), col("sd_g_u"));
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| malformed(path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let id = rec.get(id_col).unwrap_or("").to_string();
        if id.is_empty() {
            return Err(err(
                line,
                Some("ID"),
                "empty; expected an identifier".into(),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(err(
                line,
                None,
                format!("duplicate ID {id}; each target needs its own ID"),
            ));
        }
        let num = |c: Option<usize>, field: &str, sd: bool| -> Result<f64, TableError> {
            let Some(c) = c else { return Ok(0.0) };
            let raw = rec.get(c).unwrap_or("");
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() && (!sd || v >= 0.0) => Ok(v),
                _ => Err(err(
                    line,
                    Some(field),
                    format!(
                        "`{raw}`; expected a finite number{}",
                        if sd { " >= 0" } else { "" }
                    ),
                )),
            }
        };
        let t = spikepop_dics::TargetSpec::gaussian(
            num(Some(gs_col), "g_s", false)?,
            num(Some(gu_col), "g_u", false)?,
            num(sd_s_col, "sd_g_s", true)?,
            num(sd_u_col, "sd_g_u", true)?,
        );
        out.push((id, t));
    }
    if out.is_empty() {
        return Err(err(
            0,
            None,
            "no data rows after the header; expected one target per row".into(),
        ));
    }
    Ok(out)
}

/// Writes the population file of `spikepop generate`: `ID,model,g_...,g_leak,g_f,g_s,g_u`, the populations
/// of `targets` in order (`model` numbers the models of a target).
pub fn write_generated(
    w: impl Write,
    model: &Model,
    ids: &[String],
    populations: &[spikepop_dics::Population],
) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let mut header = vec!["ID", "model"];
    header.extend(model.conductance_names());
    header.extend(["g_f", "g_s", "g_u"]);
    csv.write_record(&header)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for (id, pop) in ids.iter().zip(populations) {
        for (k, (g, d)) in pop.iter().enumerate() {
            rec.clear();
            rec.push(id.clone());
            rec.push(k.to_string());
            rec.extend(g.iter().map(|x| x.to_string()));
            rec.extend([d.g_f, d.g_s, d.g_u].map(|x| x.to_string()));
            csv.write_record(&rec)?;
        }
    }
    csv.flush()?;
    Ok(())
}
