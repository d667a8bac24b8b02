//! The predictions file (`spikepop predict`): `ID,label,g_s,sd_g_s,g_u,sd_g_u,p_<label>...,ood,windows`, one
//! row per train; silent trains have label `silent` and empty values. Numbers have 4 decimals.

use std::io::Write;

use crate::Prediction;
use crate::features::LABELS;

/// The header of a predictions file.
pub fn header() -> Vec<String> {
    let mut header: Vec<String> = ["ID", "label", "g_s", "sd_g_s", "g_u", "sd_g_u"]
        .map(String::from)
        .to_vec();
    header.extend(LABELS.iter().map(|l| format!("p_{}", l.as_str())));
    header.push("ood".into());
    header.push("windows".into());
    header
}

/// Writes the predictions of the trains named `ids` (in order).
pub fn write_csv(w: impl Write, ids: &[&str], preds: &[Prediction]) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(header())?;
    for (id, p) in ids.iter().zip(preds) {
        let mut row = vec![id.to_string()];
        match p {
            Prediction::Silent => {
                row.push("silent".into());
                row.extend(std::iter::repeat_n(String::new(), 4 + LABELS.len()));
                row.extend([String::new(), String::new()]);
            }
            Prediction::Spiking {
                label,
                output,
                ood,
                windows,
                ..
            } => {
                row.push(label.as_str().into());
                for v in [output.g_s, output.sd_g_s, output.g_u, output.sd_g_u] {
                    row.push(format!("{v:.4}"));
                }
                row.extend(output.p.iter().map(|v| format!("{v:.4}")));
                row.push(ood.to_string());
                row.push(windows.to_string());
            }
        }
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}
