//! One row per simulated model, and the column layout shared by the Parquet and CSV files.
//!
//! Columns, in order (the same names in both formats):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `ID` | int64 | `target * M + model`: unique in a dataset, the reference's numbering |
//! | `g_s`, `g_u` | double | the target DICs (the reference's training labels) |
//! | `g_Na`, ..., `g_leak` | double | the conductances (mS/cm^2), in the model's channel order |
//! | `target` | int64 | index of the target in the Latin hypercube, 0..N-1 |
//! | `model` | int32 | index of the model within its target, 0..M-1 |
//! | `V_th` | double | the threshold voltage at which the DICs are computed (mV) |
//! | `achieved_g_f`, `achieved_g_s`, `achieved_g_u` | double | the model's DICs at V_th |
//! | `label` | string | silent, tonic, bursting or irregular (spikepop's default classifier) |
//! | `label_reference` | string | silent, tonic or bursting (the reference application's classifier) |
//! | `finite` | boolean | false if the simulation became non-finite and stopped early (rare; spikes up to there) |
//! | `n_spikes` | int64 | spikes after the transient |
//! | `duration_ms`, ..., `f_inter_bursting_hz` | double | the features of `spikepop_spikes::features` (NaN: does not apply) |
//! | `spiking_times` | `list<double>` (Parquet), `"[t1, t2, ...]"` (CSV) | spike times after the transient, absolute ms |
//!
//! The four reference burst features (`nbr_spikes_bursting`, ...) come from the reference classifier, every
//! other feature from the default classifier.

use spikepop_spikes::features::{COLUMNS, Classifier, Features, Label};

/// The columns before the conductances.
pub const HEAD: [&str; 3] = ["ID", "g_s", "g_u"];
/// The columns between the conductances and the features.
pub const MIDDLE: [&str; 10] = [
    "target",
    "model",
    "V_th",
    "achieved_g_f",
    "achieved_g_s",
    "achieved_g_u",
    "label",
    "label_reference",
    "finite",
    "n_spikes",
];
/// The last column.
pub const SPIKES: &str = "spiking_times";

/// Feature columns taken from the reference classifier's measurement.
const REFERENCE_ONLY: [&str; 4] = [
    "nbr_spikes_bursting",
    "duration_bursting_ms",
    "f_intra_bursting_hz",
    "f_inter_bursting_hz",
];

/// The variable part of the columns: the conductance names and the feature names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Conductance columns (`g_Na`, ...), in the model's channel order.
    pub conductances: Vec<String>,
    /// Feature columns after `n_spikes`.
    pub features: Vec<String>,
}

impl Layout {
    /// The layout of a dataset of `model`.
    pub fn for_model(model: &spikepop_models::Model) -> Layout {
        Layout {
            conductances: model.conductance_names().map(String::from).collect(),
            features: COLUMNS[2..]
                .iter()
                .filter(|c| **c != "n_spikes")
                .map(|c| c.to_string())
                .collect(),
        }
    }

    /// Every column name, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
        c.extend(self.conductances.iter().cloned());
        c.extend(MIDDLE.iter().map(|s| s.to_string()));
        c.extend(self.features.iter().cloned());
        c.push(SPIKES.to_string());
        c
    }

    /// Recovers the layout from a file's column names, checking the fixed columns; `Err` says what is wrong.
    pub fn from_columns(cols: &[String]) -> Result<Layout, String> {
        let expect = |i: usize, name: &str| -> Result<(), String> {
            match cols.get(i) {
                Some(c) if c == name => Ok(()),
                Some(c) => Err(format!(
                    "column {} is `{c}`; expected `{name}` (not a spikepop dataset file?)",
                    i + 1
                )),
                None => Err(format!(
                    "{} columns; expected `{name}` as column {} (not a spikepop dataset file?)",
                    cols.len(),
                    i + 1
                )),
            }
        };
        for (i, h) in HEAD.iter().enumerate() {
            expect(i, h)?;
        }
        let mid = cols
            .iter()
            .position(|c| c == MIDDLE[0])
            .ok_or_else(|| format!("no `{}` column (not a spikepop dataset file?)", MIDDLE[0]))?;
        for (i, m) in MIDDLE.iter().enumerate() {
            expect(mid + i, m)?;
        }
        if cols.last().map(String::as_str) != Some(SPIKES) {
            return Err(format!(
                "the last column is not `{SPIKES}` (not a spikepop dataset file?)"
            ));
        }
        Ok(Layout {
            conductances: cols[HEAD.len()..mid].to_vec(),
            features: cols[mid + MIDDLE.len()..cols.len() - 1].to_vec(),
        })
    }
}

/// One simulated model. `PartialEq` compares floats by their bits (NaN equals NaN), i.e. rows are equal when
/// they would be written identically.
#[derive(Clone, Debug)]
pub struct Row {
    /// `target * M + model`.
    pub id: u64,
    /// Target g_s.
    pub target_g_s: f64,
    /// Target g_u.
    pub target_g_u: f64,
    /// Conductances in the layout's order.
    pub conductances: Vec<f64>,
    /// Target index.
    pub target: u64,
    /// Model index within the target.
    pub model: u32,
    /// Threshold voltage of the DICs (mV).
    pub vth: f64,
    /// Achieved (g_f, g_s, g_u).
    pub achieved: [f64; 3],
    /// Default classifier's label.
    pub label: Label,
    /// Reference classifier's label.
    pub label_reference: Label,
    /// False if the simulation stopped early on a non-finite state.
    pub finite: bool,
    /// Number of spikes after the transient.
    pub n_spikes: u64,
    /// Features in the layout's order.
    pub features: Vec<f64>,
    /// Spike times after the transient (ms).
    pub spikes: Vec<f64>,
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

impl PartialEq for Row {
    fn eq(&self, o: &Row) -> bool {
        self.id == o.id
            && self.target == o.target
            && self.model == o.model
            && same_bits(
                &[self.target_g_s, self.target_g_u, self.vth],
                &[o.target_g_s, o.target_g_u, o.vth],
            )
            && same_bits(&self.achieved, &o.achieved)
            && same_bits(&self.conductances, &o.conductances)
            && self.label == o.label
            && self.label_reference == o.label_reference
            && self.finite == o.finite
            && self.n_spikes == o.n_spikes
            && same_bits(&self.features, &o.features)
            && same_bits(&self.spikes, &o.spikes)
    }
}

/// The label and features of a spike train, in the default layout's feature order: `(label, reference label,
/// features)`.
pub fn measure(spikes: &[f64]) -> (Label, Label, Vec<f64>) {
    let def = Features::of(spikes, &Classifier::Default);
    let rf = Features::of(spikes, &Classifier::Reference);
    let (dv, rv) = (def.values(), rf.values());
    let features = COLUMNS[2..]
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != "n_spikes")
        .map(|(i, c)| {
            if REFERENCE_ONLY.contains(c) {
                rv[i]
            } else {
                dv[i]
            }
        })
        .collect();
    (def.label, rf.label, features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips_through_its_column_names() {
        for m in [&spikepop_models::STG, &spikepop_models::DA] {
            let l = Layout::for_model(m);
            assert_eq!(Layout::from_columns(&l.columns()).unwrap(), l);
            assert_eq!(l.conductances.last().map(String::as_str), Some("g_leak"));
        }
        let mut bad = Layout::for_model(&spikepop_models::STG).columns();
        bad.pop();
        assert!(Layout::from_columns(&bad).is_err());
    }

    #[test]
    fn reference_burst_features_come_from_the_reference_classifier() {
        // Bursts of 4 spikes every 500 ms.
        let t: Vec<f64> = (0..8)
            .flat_map(|b| (0..4).map(move |s| 3000.0 + 500.0 * b as f64 + 10.0 * s as f64))
            .collect();
        let (label, label_ref, f) = measure(&t);
        assert_eq!(label, Label::Bursting);
        assert_eq!(label_ref, Label::Bursting);
        let layout = Layout::for_model(&spikepop_models::STG);
        let at = |name: &str| f[layout.features.iter().position(|c| c == name).unwrap()];
        assert!((at("nbr_spikes_bursting") - 4.0).abs() < 1e-9);
        assert!((at("spikes_per_burst") - 4.0).abs() < 1e-9);
        assert_eq!(f.len(), layout.features.len());
    }
}
