//! Reading population files: one conductance vector per row, keyed by `ID` (text) and an optional
//! `model` number (several models per ID).

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use spikepop_models::Model;

/// Conductance vectors read from a population CSV.
pub struct Population {
    /// The `ID` of each row, kept as text.
    pub ids: Vec<String>,
    /// The `model` column of each row, when the file has one (kept as text).
    pub members: Option<Vec<String>>,
    /// Conductances of each row, in the model's channel order.
    pub g: Vec<Vec<f64>>,
}

impl Population {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Reads a population CSV for `model`: an `ID` column, an optional `model` column and one column per
/// conductance (`g_Na`, ...) in any order; extra columns are ignored. Every error names the file, the line
/// and the field.
pub fn read_population(path: &Path, model: &Model) -> Result<Population> {
    let name = path.display();
    let (mut rdr, headers) = crate::output::open_csv(path, "population file")?;
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        bail!(
            "{name}: the file is empty; expected a header line with ID and the conductance columns"
        );
    }
    let col = |n: &str| headers.iter().position(|h| h == n);
    let Some(id_col) = col("ID") else {
        bail!(
            "{name}: line 1: no `ID` column; expected columns ID,[model,]{}",
            model.conductance_names().collect::<Vec<_>>().join(",")
        );
    };
    let member_col = col("model");
    let mut g_cols = Vec::new();
    for c in model.conductance_names() {
        match col(c) {
            Some(i) => g_cols.push((c, i)),
            None => bail!(
                "{name}: line 1: missing conductance column `{c}` (the {} model needs {})",
                model.name.to_uppercase(),
                model.conductance_names().collect::<Vec<_>>().join(",")
            ),
        }
    }
    let mut pop = Population {
        ids: Vec::new(),
        members: member_col.map(|_| Vec::new()),
        g: Vec::new(),
    };
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{name}: malformed CSV"))?;
        let line = rec.position().map_or(0, |p| p.line());
        let id = rec.get(id_col).unwrap_or("").to_string();
        if id.is_empty() {
            bail!("{name}: line {line}, field ID: empty; expected an identifier");
        }
        let member = member_col.map(|c| rec.get(c).unwrap_or("").to_string());
        if !seen.insert((id.clone(), member.clone())) {
            match &member {
                Some(m) => bail!(
                    "{name}: line {line}: duplicate key (ID {id}, model {m}); each (ID, model) pair must appear once"
                ),
                None => bail!(
                    "{name}: line {line}: duplicate ID {id}; give a `model` column to hold several models per ID"
                ),
            }
        }
        let mut g = Vec::with_capacity(g_cols.len());
        for &(cname, c) in &g_cols {
            let raw = rec.get(c).unwrap_or("");
            let v: f64 = raw.parse().map_err(|_| {
                anyhow::anyhow!("{name}: line {line}, field {cname}: `{raw}` is not a number; expected a conductance >= 0 in mS/cm^2")
            })?;
            if !v.is_finite() || v < 0.0 {
                bail!(
                    "{name}: line {line}, field {cname}: {raw}; expected a finite conductance >= 0 in mS/cm^2"
                );
            }
            g.push(v);
        }
        pop.ids.push(id);
        if let (Some(ms), Some(m)) = (pop.members.as_mut(), member) {
            ms.push(m);
        }
        pop.g.push(g);
    }
    if pop.ids.is_empty() {
        bail!("{name}: no data rows after the header; expected one row per model");
    }
    Ok(pop)
}
