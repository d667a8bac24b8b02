//! Loading a spike file: the upload (one file, or the files of a Kilosort/phy folder) is written to a
//! temporary folder under its own name, read with [`spikepop_spikes::read_trains`] exactly as the command
//! line reads a path, measured, and summarised for the page's preview.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use serde_json::{Value, json};
use spikepop_spikes::detect::{DetectError, DetectOptions, suggest_threshold};
use spikepop_spikes::features::{Classifier, Features};
use spikepop_spikes::{
    Format, ReadError, ReadOptions, Recordings, TimeUnit, guess_format, read_recording,
    read_trains, spikes_of_traces,
};

use crate::error::ApiError;
use crate::state::{Loaded, Voltage};

/// Trains listed in the preview table.
const PREVIEW_ROWS: usize = 100;

/// The command line's names of the reading options in the readers' messages, and the page's names.
const OPTION_NAMES: [(&str, &str); 9] = [
    (
        "pass --format reference|long|text|phy|nwb",
        "choose the format under Reading options",
    ),
    ("--rate HZ", "the sampling rate under Reading options"),
    ("--rate", "the sampling rate option"),
    ("--only good", "the option \"only units curated as good\""),
    ("--unit", "the time unit"),
    ("(--format trace)", "(format \"voltage recording\")"),
    ("detection option threshold", "the spike threshold"),
    ("(--channel)", "(the channel under Reading options)"),
    ("(--sweep)", "(the sweep under Reading options)"),
];

/// Reads an upload: the `file` fields (one file, or several files of one phy folder) and the reading
/// options `format` (`auto` or a format name), `unit` (`auto`, `ms` or `s`), `rate` (Hz, phy), `only_good`
/// (phy), and for voltage recordings `threshold` (mV), `channel` and `sweep`; empty fields keep the defaults.
pub async fn read_upload(mut form: Multipart, max_bytes: usize) -> Result<Loaded, ApiError> {
    let dir = tempfile::Builder::new()
        .prefix("spikepop-gui-")
        .tempdir()
        .map_err(|e| ApiError::internal(format!("cannot create a temporary folder: {e}")))?;
    let mut files: Vec<String> = Vec::new();
    let mut opts = ReadOptions::default();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| upload_error(e, max_bytes))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let file_name = safe_file_name(field.file_name().unwrap_or_default());
                if files.contains(&file_name) {
                    return Err(ApiError::bad(format!(
                        "Two of the uploaded files are named {file_name}; upload one file, or the files of one phy folder."
                    )));
                }
                save(field, &dir.path().join(&file_name), max_bytes).await?;
                files.push(file_name);
            }
            "format" => {
                opts.format = match text(field, max_bytes).await?.as_str() {
                    "" | "auto" => None,
                    f => Some(Format::from_str(f).map_err(ApiError::bad)?),
                }
            }
            "unit" => {
                opts.unit = match text(field, max_bytes).await?.as_str() {
                    "" | "auto" => None,
                    u => Some(TimeUnit::from_str(u).map_err(ApiError::bad)?),
                }
            }
            "rate" => {
                let t = text(field, max_bytes).await?;
                if !t.is_empty() {
                    opts.rate = Some(t.parse().map_err(|_| {
                        ApiError::bad(format!(
                            "The sampling rate `{t}` is not a number of Hz (for example 30000)."
                        ))
                    })?);
                }
            }
            "only_good" => {
                opts.only_good = matches!(text(field, max_bytes).await?.as_str(), "on" | "true")
            }
            "threshold" => {
                let t = text(field, max_bytes).await?;
                if !t.is_empty() {
                    opts.detect.threshold_mv = threshold(&t)?;
                }
            }
            "channel" => {
                let t = text(field, max_bytes).await?;
                opts.channel = (!t.is_empty()).then_some(t);
            }
            "sweep" => {
                let t = text(field, max_bytes).await?;
                if !t.is_empty() {
                    opts.sweep = Some(t.parse().map_err(|_| {
                        ApiError::bad(format!(
                            "The sweep `{t}` is not a sweep number (0 for the first sweep)."
                        ))
                    })?);
                }
            }
            _ => {}
        }
    }
    let (path, name) = match files.as_slice() {
        [] => {
            return Err(ApiError::bad(
                "No file was received: choose a spike file to load.",
            ));
        }
        [one] => (dir.path().join(one), one.clone()),
        many => (
            dir.path().to_path_buf(),
            format!("phy folder ({})", many.join(", ")),
        ),
    };
    let label = name.clone();
    let dir_path = dir.path().to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || read(&path, &opts, &dir_path, name))
        .await
        .map_err(|_| ApiError::internal(format!("{label}: the reader failed unexpectedly")))?;
    drop(dir);
    loaded
}

/// Reads and measures the saved upload; messages name the user's file, not the temporary folder.
fn read(path: &Path, opts: &ReadOptions, dir: &Path, name: String) -> Result<Loaded, ApiError> {
    let tidy = |msg: String| {
        let mut msg = msg
            .replace(&format!("{}/", dir.display()), "")
            .replace(&dir.display().to_string(), "the uploaded folder");
        for (flag, field) in OPTION_NAMES {
            msg = msg.replace(flag, field);
        }
        msg
    };
    let error = |e: ReadError| {
        let mut msg = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        ApiError::bad(tidy(msg))
    };
    let format = match opts.format {
        Some(f) => f,
        None => guess_format(path).map_err(error)?,
    };
    // A voltage recording's traces stay with it, for the preview and for detecting again.
    let (recordings, voltage) = if format == Format::Trace {
        let (traces, recordings) = read_recording(path, opts).map_err(error)?;
        let voltage = Voltage {
            traces: Arc::new(traces),
            detect: opts.detect,
        };
        (recordings, Some(Arc::new(voltage)))
    } else {
        (read_trains(path, opts).map_err(error)?, None)
    };
    loaded(name, recordings, voltage, tidy)
}

/// The loaded file of `recordings`, measured.
fn loaded(
    name: String,
    recordings: Recordings,
    voltage: Option<Arc<Voltage>>,
    tidy: impl Fn(String) -> String,
) -> Result<Loaded, ApiError> {
    if recordings.trains.is_empty() {
        return Err(ApiError::bad(format!(
            "{name}: the file holds no spike trains."
        )));
    }
    let features = recordings
        .trains
        .iter()
        .map(|t| Features::of(&t.times_ms, &Classifier::Default))
        .collect();
    Ok(Loaded {
        name,
        format: recordings.format,
        trains: recordings.trains,
        features,
        warnings: recordings.warnings.into_iter().map(tidy).collect(),
        voltage,
    })
}

/// A spike threshold typed by the user (mV).
fn threshold(text: &str) -> Result<f64, ApiError> {
    let bad = || {
        ApiError::bad(format!(
            "The spike threshold `{text}` is not a voltage in mV (for example -20)."
        ))
    };
    let mv: f64 = text.parse().map_err(|_| bad())?;
    mv.is_finite().then_some(mv).ok_or_else(bad)
}

/// The loaded voltage recording `data` with its spikes detected again at `threshold_mv` (the other detection
/// options unchanged).
pub fn redetect(data: &Loaded, threshold_mv: f64) -> Result<Loaded, ApiError> {
    let voltage = data.voltage.as_ref().ok_or_else(|| {
        ApiError::bad(format!(
            "{}: a spike threshold applies only to voltage recordings; this file holds spike times.",
            data.name
        ))
    })?;
    let detect = DetectOptions {
        threshold_mv,
        ..voltage.detect
    };
    if let Err(DetectError::Option {
        value, expected, ..
    }) = detect.check()
    {
        return Err(ApiError::bad(format!(
            "The spike threshold {value} mV is not usable: expected {expected}."
        )));
    }
    let recordings = spikes_of_traces(Path::new(&data.name), &voltage.traces, &detect)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let voltage = Voltage {
        traces: Arc::clone(&voltage.traces),
        detect,
    };
    loaded(
        data.name.clone(),
        recordings,
        Some(Arc::new(voltage)),
        |m| m,
    )
}

/// Writes one uploaded file, chunk by chunk.
async fn save(mut field: Field<'_>, path: &PathBuf, max_bytes: usize) -> Result<(), ApiError> {
    let write_error = |e: std::io::Error| {
        ApiError::internal(format!("cannot store the upload in a temporary file: {e}"))
    };
    let mut file = std::fs::File::create(path).map_err(write_error)?;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| upload_error(e, max_bytes))?
    {
        file.write_all(&chunk).map_err(write_error)?;
    }
    file.flush().map_err(write_error)
}

/// A text field of the form, trimmed.
async fn text(field: Field<'_>, max_bytes: usize) -> Result<String, ApiError> {
    Ok(field
        .text()
        .await
        .map_err(|e| upload_error(e, max_bytes))?
        .trim()
        .to_string())
}

/// The message for an upload that could not be received: too large, or cut off.
fn upload_error(e: MultipartError, max_bytes: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The upload is larger than the limit of {} MB. Start spikepop gui with a larger --max-upload-mb to load it.",
                max_bytes.div_ceil(1024 * 1024)
            ),
        )
    } else {
        ApiError::bad(format!(
            "The upload could not be received: {}",
            e.body_text()
        ))
    }
}

/// The last component of an uploaded file's name, with anything but letters, digits, `.`, `-`, `_` and
/// spaces replaced, so that it can never leave the temporary folder.
fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "upload".to_string()
    } else {
        clean
    }
}

/// What the page's preview shows: the file, the format, counts per label, the first trains, the warnings.
pub fn preview(data: &Loaded) -> Value {
    let mut labels: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &data.features {
        *labels.entry(f.label.as_str()).or_default() += 1;
    }
    let rows: Vec<Value> = data
        .trains
        .iter()
        .zip(&data.features)
        .take(PREVIEW_ROWS)
        .map(|(t, f)| {
            json!({
                "id": t.id,
                "spikes": t.times_ms.len(),
                "label": f.label.as_str(),
                "rate_hz": finite(f.mean_rate_hz),
            })
        })
        .collect();
    let voltage = data.voltage.as_ref().map(|v| {
        let (lo, hi) = v
            .traces
            .iter()
            .flat_map(|t| t.v_mv.iter().copied())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
        json!({
            "threshold_mv": v.detect.threshold_mv,
            "v_min_mv": finite(lo),
            "v_max_mv": finite(hi),
            "suggested_mv": v.traces.first().and_then(|t| suggest_threshold(&t.v_mv)),
            "traces": v.traces.len(),
        })
    });
    json!({
        "name": data.name,
        "format": data.format.as_str(),
        "voltage": voltage,
        "recordings": data.trains.len(),
        "spikes": data.trains.iter().map(|t| t.times_ms.len()).sum::<usize>(),
        "labels": labels,
        "rows": rows,
        "warnings": data.warnings,
    })
}

/// `None` (JSON null) for NaN and infinities, which JSON cannot hold.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Reads an uploaded model (multipart: `model`, the model file; `weights`, its trained weights) into the
/// model and its predictor; errors name the file and what is wrong.
pub async fn read_model_upload(
    mut form: Multipart,
    max_bytes: usize,
) -> Result<crate::state::Uploaded, ApiError> {
    let mut model: Option<(String, String)> = None;
    let mut weights: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| upload_error(e, max_bytes))?
    {
        let part = field.name().unwrap_or_default().to_string();
        let file = safe_file_name(field.file_name().unwrap_or_default());
        let bytes = field
            .bytes()
            .await
            .map_err(|e| upload_error(e, max_bytes))?;
        match part.as_str() {
            "model" => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::bad(format!("{file}: a model file is UTF-8 text (TOML)."))
                })?;
                model = Some((file, text));
            }
            "weights" => weights = Some((file, bytes.to_vec())),
            other => return Err(ApiError::bad(format!("Unexpected upload field `{other}`."))),
        }
    }
    let (file, text) = model.ok_or_else(|| ApiError::bad("Choose a model file (.toml)."))?;
    let model =
        spikepop_models::file::parse(&text, &file).map_err(|e| ApiError::bad(e.to_string()))?;
    if model.population.is_none() {
        return Err(ApiError::bad(format!(
            "{file}: the model has no [population] section, so its populations cannot be generated."
        )));
    }
    let (wfile, bytes) = weights.ok_or_else(|| {
        ApiError::bad(format!(
            "Choose the weights trained for {file} (spikepop train --model {file} ...)."
        ))
    })?;
    let w = spikepop_predict::Weights::from_bytes(&bytes)
        .map_err(|e| ApiError::bad(format!("{wfile}: {e}")))?;
    let predictor = spikepop_predict::Predictor::with_weights_for(w, &model, &wfile)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    // Accepted: the model now lives as long as the server, like a model file read by the command line.
    Ok(crate::state::Uploaded {
        model: Box::leak(Box::new(model)),
        predictor: Arc::new(predictor),
        file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_leave_the_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\data\\set 1.csv"), "set 1.csv");
        assert_eq!(safe_file_name(".."), "upload");
        assert_eq!(safe_file_name(""), "upload");
        assert_eq!(safe_file_name("a;b$.csv"), "a_b_.csv");
        assert_eq!(safe_file_name(".hidden.csv"), "hidden.csv");
    }
}
