//! `spikepop._native`: the Rust side of the Python package. Thin: every format and every computation is a
//! call into the library crates that the command line also uses, so both give the same bytes for the same
//! inputs. The Python side (`python/spikepop/__init__.py`) turns inputs into trains and outputs into pandas.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use spikepop_dics::{Generator, GeneratorOptions, SetupError, TargetSpec};
use spikepop_models::Model;
use spikepop_models::sim::{Settings, simulate_batch};
use spikepop_predict::Predictor;
use spikepop_reconstruct::files::{self, PriorSource, Rendered};
use spikepop_reconstruct::table::{PopulationTable, Vth};
use spikepop_reconstruct::{Options, PipelineError, Priors, SearchSettings, pipeline};
use spikepop_spikes::features::{Classifier, Features};
use spikepop_spikes::{Format, ReadOptions, SpikeTrain, TimeUnit};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(pythonic(&e.to_string()))
}

/// A library message worded for Python: a command-line flag it names (`--p-clean`, `--gs-range`) becomes the
/// argument of the same meaning (`p_clean`, `gs_range`), by the rule every function follows.
fn pythonic(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        let (before, flag) = rest.split_at(at);
        out.push_str(before);
        let starts_word = out
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || "([`'\"".contains(c));
        let name_len = flag[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(flag.len() - 2);
        let name = &flag[2..2 + name_len];
        if starts_word && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push_str(&name.replace('-', "_"));
        } else {
            out.push_str(&flag[..2 + name_len]);
        }
        rest = &flag[2 + name_len..];
    }
    out.push_str(rest);
    out
}

/// The model named `model`: a built-in name or a model file's path.
fn model(model: &str) -> PyResult<&'static Model> {
    spikepop_models::registry::resolve(model).map_err(value_error)
}

/// Trains from parallel lists of IDs and times (ms), checked: finite, and sorted (sorted here if not).
fn trains(ids: Vec<String>, times: Vec<PyReadonlyArray1<'_, f64>>) -> PyResult<Vec<SpikeTrain>> {
    if ids.len() != times.len() {
        return Err(value_error(format!(
            "{} IDs for {} trains",
            ids.len(),
            times.len()
        )));
    }
    ids.into_iter()
        .zip(times)
        .map(|(id, t)| {
            let mut times_ms = t.as_slice().map(<[f64]>::to_vec).unwrap_or_else(|_| {
                t.as_array().iter().copied().collect()
            });
            if let Some(x) = times_ms.iter().find(|x| !x.is_finite()) {
                return Err(value_error(format!(
                    "train {id}: spike time {x} is not a finite number; spike times must be finite (ms)"
                )));
            }
            times_ms.sort_by(f64::total_cmp);
            Ok(SpikeTrain { id, times_ms })
        })
        .collect()
}

/// Runs `f` on `threads` worker threads (all cores when `None`).
fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(value_error("threads=0: expected at least 1"));
        }
        b = b.num_threads(n);
    }
    Ok(b.build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the worker threads: {e}")))?
        .install(f))
}

/// Runs `work` on `threads` worker threads while the calling thread keeps the interpreter: every 100 ms it
/// calls `tick` (progress) and checks for Ctrl-C, which sets `cancel` (the work is expected to stop soon
/// after) and is returned as the error once the work has stopped.
fn interruptible<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    cancel: &AtomicBool,
    work: impl FnOnce() -> T + Send,
    mut tick: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<T> {
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| with_threads(threads, work));
        let mut interrupted = None;
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(Duration::from_millis(100)));
            if let Err(e) = py.check_signals() {
                cancel.store(true, Ordering::Relaxed);
                interrupted = Some(e);
                break;
            }
            tick(py)?;
        }
        let result = py.detach(|| worker.join());
        if let Some(e) = interrupted {
            return Err(e);
        }
        result.map_err(|_| PyRuntimeError::new_err("the run panicked"))?
    })
}

/// The version of the library.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The built-in models' names.
#[pyfunction]
fn models() -> Vec<&'static str> {
    spikepop_models::registry::BUILT_IN
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// Reads every train of a file: (IDs, times in ms, the format read, warnings).
#[pyfunction]
#[pyo3(signature = (path, format=None, unit=None))]
#[allow(clippy::type_complexity)]
fn read<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: Option<&str>,
    unit: Option<&str>,
) -> PyResult<(
    Vec<String>,
    Vec<Bound<'py, PyArray1<f64>>>,
    &'static str,
    Vec<String>,
)> {
    let opts = ReadOptions {
        format: format
            .map(|f| f.parse::<Format>())
            .transpose()
            .map_err(value_error)?,
        unit: unit
            .map(|u| u.parse::<TimeUnit>())
            .transpose()
            .map_err(value_error)?,
        ..Default::default()
    };
    if !path.exists() {
        return Err(PyOSError::new_err(format!(
            "{}: no such file",
            path.display()
        )));
    }
    let rec = py
        .detach(|| spikepop_spikes::read_trains(&path, &opts))
        .map_err(value_error)?;
    let ids = rec.trains.iter().map(|t| t.id.clone()).collect();
    let arrays = rec
        .trains
        .iter()
        .map(|t| PyArray1::from_slice(py, &t.times_ms))
        .collect();
    Ok((ids, arrays, rec.format.as_str(), rec.warnings))
}

/// Spike times from a reference-layout cell (`"[t1, t2, ...]"`; `[]`, empty and `NaN` are empty trains).
#[pyfunction]
fn parse_train<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let t = text.trim();
    let times = if t.is_empty() || t.eq_ignore_ascii_case("nan") {
        Vec::new()
    } else {
        spikepop_spikes::parse_train(t)
            .map_err(|e| value_error(format!("spiking_times {}: {e}", &t[..t.len().min(40)])))?
    };
    Ok(PyArray1::from_vec(py, times))
}

/// The features file of `spikepop features`, as text.
#[pyfunction]
fn features_csv(
    py: Python<'_>,
    ids: Vec<String>,
    times: Vec<PyReadonlyArray1<'_, f64>>,
) -> PyResult<String> {
    let trains = trains(ids, times)?;
    let out = py.detach(|| {
        let f: Vec<Features> = trains
            .iter()
            .map(|t| Features::of(&t.times_ms, &Classifier::Default))
            .collect();
        let mut buf = Vec::new();
        spikepop_spikes::features::write_csv(&mut buf, &trains, &f).map(|_| buf)
    });
    String::from_utf8(out.map_err(value_error)?).map_err(value_error)
}

/// The predictions file of `spikepop predict`, as text.
#[pyfunction]
#[pyo3(signature = (ids, times, model_name, weights=None, threads=None, noise=None))]
fn predict_csv(
    py: Python<'_>,
    ids: Vec<String>,
    times: Vec<PyReadonlyArray1<'_, f64>>,
    model_name: &str,
    weights: Option<PathBuf>,
    threads: Option<usize>,
    noise: Option<f64>,
) -> PyResult<String> {
    let model = model(model_name)?;
    let trains = trains(ids, times)?;
    let mut predictor = Predictor::for_model(model, weights.as_deref()).map_err(value_error)?;
    predictor
        .tell_noise(noise)
        .map_err(|e| value_error(format!("noise={}: {e}", noise.unwrap_or(f64::NAN))))?;
    let buf = py.detach(|| {
        with_threads(threads, || {
            let t: Vec<&[f64]> = trains.iter().map(|t| t.times_ms.as_slice()).collect();
            let preds = predictor.predict_many(&t);
            let ids: Vec<&str> = trains.iter().map(|t| t.id.as_str()).collect();
            let mut buf = Vec::new();
            spikepop_predict::write_csv(&mut buf, &ids, &preds).map(|_| buf)
        })
    })?;
    String::from_utf8(buf.map_err(value_error)?).map_err(value_error)
}

/// The settings of `reconstruct`, as the Python function's keyword arguments give them (`None`: the
/// command line's default).
#[derive(FromPyObject)]
struct SettingsArgs {
    n: usize,
    seed: u64,
    max_candidates: Option<usize>,
    verify: bool,
    refine_rounds: Option<usize>,
    tonic_spread: Option<f64>,
    tonic_tries: Option<usize>,
    tonic_rate_share: Option<f64>,
    bursting_spread: Option<f64>,
    min_window: Option<f64>,
    noise: Option<f64>,
    dt: Option<f64>,
    tol_rate: Option<f64>,
    tol_period: Option<f64>,
    tol_spikes_per_burst: Option<f64>,
    tol_burst_duration: Option<f64>,
}

impl SettingsArgs {
    /// The search settings, exactly as `spikepop reconstruct` builds them from the same values; an error
    /// names the argument at fault.
    fn settings(&self, model: &'static Model) -> PyResult<SearchSettings> {
        Options {
            n: self.n,
            seed: self.seed,
            max_candidates: self.max_candidates,
            no_verify: !self.verify,
            refine_rounds: self.refine_rounds,
            tonic_spread: self.tonic_spread,
            tonic_tries: self.tonic_tries,
            tonic_rate_share: self.tonic_rate_share,
            bursting_spread: self.bursting_spread,
            min_window: self.min_window,
            noise: self.noise,
            dt: self.dt,
            tol_rate: self.tol_rate,
            tol_period: self.tol_period,
            tol_spikes_per_burst: self.tol_spikes_per_burst,
            tol_burst_duration: self.tol_burst_duration,
        }
        .settings(model)
        .map_err(|e| value_error(format!("{}={e}", e.setting.name())))
    }
}

/// The whole `reconstruct` job: (population.csv, summary.csv, run.json) as bytes. `progress(done, total)`
/// is called from the calling thread about 10 times a second; Ctrl-C stops the run (KeyboardInterrupt).
#[pyfunction]
#[pyo3(signature = (ids, times, model_name, settings, input, format, weights=None, prior=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn reconstruct(
    py: Python<'_>,
    ids: Vec<String>,
    times: Vec<PyReadonlyArray1<'_, f64>>,
    model_name: &str,
    settings: SettingsArgs,
    input: String,
    format: String,
    weights: Option<PathBuf>,
    prior: Option<PathBuf>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let model = model(model_name)?;
    let search = settings.settings(model)?;
    let trains = trains(ids, times)?;
    let predictor;
    let (priors, source) = match &prior {
        Some(path) => (
            Priors::Table {
                priors: files::read_priors(path).map_err(value_error)?,
                source: path.display().to_string(),
            },
            PriorSource::File(path.display().to_string()),
        ),
        None => {
            predictor = Predictor::for_model(model, weights.as_deref()).map_err(value_error)?;
            let source = PriorSource::Weights {
                name: weights.as_ref().map_or_else(
                    || format!("built-in {}", model.name),
                    |p| p.display().to_string(),
                ),
                sha256: predictor.weights.sha256(),
            };
            (Priors::Predictor(&predictor), source)
        }
    };
    let cancel = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let total = trains.len();
    let seed = settings.seed;
    let outcomes = interruptible(
        py,
        threads,
        &cancel,
        || {
            pipeline::run(
                model,
                &trains,
                &priors,
                &search,
                seed,
                &|d| done.store(d, Ordering::Relaxed),
                &cancel,
            )
        },
        |py| match &progress {
            Some(p) => p
                .call1(py, (done.load(Ordering::Relaxed), total))
                .map(|_| ()),
            None => Ok(()),
        },
    )?;
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(PipelineError::Interrupted) => {
            return Err(PyKeyboardInterrupt::new_err("reconstruction interrupted"));
        }
        Err(e) => return Err(PyRuntimeError::new_err(e.to_string())),
    };
    if let Some(p) = &progress {
        p.call1(py, (total, total))?;
    }
    // Python reads traces with the default detection (`read(path, format="trace")`).
    let detection = (format == spikepop_spikes::Format::Trace.as_str())
        .then(spikepop_spikes::detect::DetectOptions::default);
    let run = files::run_record(
        model,
        &input,
        &format,
        detection.as_ref(),
        &source,
        seed,
        &search,
    );
    let r = Rendered::new(model, &outcomes, &search, &run);
    Ok((r.population, r.summary, r.run))
}

/// `spikepop dataset`: simulates a training set into the folder `output` (resumable, sharded). Returns the
/// manifest (JSON), the part file written, the models simulated by this call, its seconds and warnings.
/// `progress(done, total)` counts models; Ctrl-C stops after the group in progress (KeyboardInterrupt; the
/// folder can be resumed).
#[pyfunction]
#[pyo3(signature = (model_name, targets, output, per_target, seed, noise, duration, transient, dt, gs_range, gu_range, shard, format, resume, group_targets, threads, progress))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn dataset(
    py: Python<'_>,
    model_name: &str,
    targets: u64,
    output: PathBuf,
    per_target: Option<u32>,
    seed: u64,
    noise: f64,
    duration: Option<f64>,
    transient: Option<f64>,
    dt: Option<f64>,
    gs_range: Option<(f64, f64)>,
    gu_range: Option<(f64, f64)>,
    shard: &str,
    format: &str,
    resume: bool,
    group_targets: Option<u64>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String, u64, f64, Vec<String>)> {
    use spikepop_dataset::{Format as DataFormat, Hooks, Outcome, Plan, RunOptions, Shard, Spec};
    let model = model(model_name)?;
    let mut spec = Spec::new(model);
    spec.seed = seed;
    spec.targets = targets;
    spec.per_target = per_target.unwrap_or(spec.per_target);
    spec.noise = noise;
    spec.dt = dt.unwrap_or(spec.dt);
    spec.transient = transient.unwrap_or(spec.transient);
    spec.duration = duration.unwrap_or(spec.duration);
    for (name, range, field) in [
        ("gs_range", gs_range, &mut spec.gs_range),
        ("gu_range", gu_range, &mut spec.gu_range),
    ] {
        if let Some((a, b)) = range {
            spikepop_dataset::check_range(name, [a, b]).map_err(value_error)?;
            *field = [a, b];
        }
    }
    let opts = RunOptions {
        dir: output,
        shard: shard
            .parse::<Shard>()
            .map_err(|e| value_error(format!("shard={e}")))?,
        format: format
            .parse::<DataFormat>()
            .map_err(|e| value_error(format!("format={e}")))?,
        resume,
        group_targets,
    };
    let m = u64::from(spec.per_target);
    let plan = Plan::open(spec, opts).map_err(value_error)?;
    let range = plan.shard_targets();
    let total = (range.end - range.start) * m;
    let done = std::sync::atomic::AtomicU64::new(plan.done_targets() * m);
    let warnings = std::sync::Mutex::new(Vec::new());
    let cancel = AtomicBool::new(false);
    let on_models = |n: u64| {
        done.fetch_add(n, Ordering::Relaxed);
    };
    let on_infeasible = |t: u64, e: &spikepop_dics::Infeasible| {
        if let Ok(mut w) = warnings.lock() {
            w.push(format!("target {t} skipped (no rows): {e}"));
        }
    };
    let outcome = interruptible(
        py,
        threads,
        &cancel,
        || {
            plan.execute(&Hooks {
                cancel: &cancel,
                on_models: &on_models,
                on_infeasible: &on_infeasible,
                on_group: &|_| {},
            })
        },
        |py| match &progress {
            Some(p) => p
                .call1(py, (done.load(Ordering::Relaxed), total))
                .map(|_| ()),
            None => Ok(()),
        },
    )?
    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let warnings = warnings.into_inner().unwrap_or_default();
    match outcome {
        Outcome::Interrupted {
            done_targets,
            shard_targets,
            ..
        } => Err(PyKeyboardInterrupt::new_err(format!(
            "interrupted after {done_targets} of {shard_targets} targets; the folder is consistent: \
             call again with resume=True to continue"
        ))),
        Outcome::Complete(r) => {
            if let Some(p) = &progress {
                p.call1(py, (total, total))?;
            }
            let manifest = serde_json::to_string(&r.manifest)
                .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
            Ok((
                manifest,
                r.part.display().to_string(),
                r.simulated,
                r.elapsed.as_secs_f64(),
                warnings,
            ))
        }
    }
}

/// Training progress for Python: batches done of the total, and the last epoch's line.
#[derive(Default)]
struct TrainProgress {
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
    message: std::sync::Mutex<String>,
}

impl spikepop_predict::train::Progress for TrainProgress {
    fn start(&self, epochs: usize, batches: usize, start: usize) {
        self.total
            .store((epochs * batches) as u64, Ordering::Relaxed);
        self.done.store((start * batches) as u64, Ordering::Relaxed);
    }
    fn batch(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    fn epoch(&self, epoch: usize, train_loss: f64, val_loss: f64) {
        if let Ok(mut m) = self.message.lock() {
            *m = format!("epoch {epoch}: train loss {train_loss:.4}, val loss {val_loss:.4}");
        }
    }
}

/// The training options of `spikepop train`; `None` keeps the command line's default.
#[derive(FromPyObject)]
struct TrainArgs {
    epochs: Option<usize>,
    seed: u64,
    resume: bool,
    hidden: Option<Vec<usize>>,
    batch: Option<usize>,
    lr: Option<f64>,
    loss: Option<String>,
    beta: Option<f64>,
    p_clean: Option<f64>,
    max_jitter_ms: Option<f64>,
    p_log_jitter: Option<f64>,
    p_quantize: Option<f64>,
    max_drop: Option<f64>,
    p_window: Option<f64>,
    resolution_ms: Option<f64>,
    p_isi_noise: Option<f64>,
    max_isi_noise: Option<f64>,
    p_solver_noise: Option<f64>,
    max_solver_noise: Option<f64>,
    p_drift: Option<f64>,
    max_drift: Option<f64>,
    features_version: Option<u32>,
    p_noise_told: Option<f64>,
    init: Option<PathBuf>,
}

/// `spikepop train`: trains the predictor on `data` (validated on `val`, or on 10% of the targets), writes
/// the weights to `output` (checkpoints beside it, `<output>.ckpt`) and returns a JSON summary.
/// `progress(done, total, message)` counts batches; Ctrl-C stops between batches (KeyboardInterrupt; call
/// again with resume=True to continue from the last checkpoint).
#[pyfunction]
#[pyo3(signature = (model_name, data, output, val, args, threads, progress))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    model_name: &str,
    data: Vec<PathBuf>,
    output: PathBuf,
    val: Option<PathBuf>,
    args: TrainArgs,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    use spikepop_predict::augment::Augment;
    use spikepop_predict::train::{
        InitFrom, TrainConfig, checkpoint_path, record_provenance, train,
    };
    let model = model(model_name)?;
    let d = Augment::default();
    let c = TrainConfig::default();
    let cfg = TrainConfig {
        model: model.name.to_string(),
        hidden: args.hidden.unwrap_or(c.hidden),
        epochs: args.epochs.unwrap_or(c.epochs),
        batch: args.batch.unwrap_or(c.batch),
        lr: args.lr.unwrap_or(c.lr),
        seed: args.seed,
        loss: match &args.loss {
            Some(l) => l.parse().map_err(|e| value_error(format!("loss={e}")))?,
            None => c.loss,
        },
        beta: args.beta.unwrap_or(c.beta),
        augment: Augment {
            p_clean: args.p_clean.unwrap_or(d.p_clean),
            p_window: args.p_window.unwrap_or(d.p_window),
            max_drop: args.max_drop.unwrap_or(d.max_drop),
            max_jitter_ms: args.max_jitter_ms.unwrap_or(d.max_jitter_ms),
            p_log_jitter: args.p_log_jitter.unwrap_or(d.p_log_jitter),
            p_quantize: args.p_quantize.unwrap_or(d.p_quantize),
            resolution_ms: args.resolution_ms.unwrap_or(d.resolution_ms),
            p_isi_noise: args.p_isi_noise.unwrap_or(d.p_isi_noise),
            max_isi_noise: args.max_isi_noise.unwrap_or(d.max_isi_noise),
            p_solver_noise: args.p_solver_noise.unwrap_or(d.p_solver_noise),
            max_solver_noise: args.max_solver_noise.unwrap_or(d.max_solver_noise),
            p_drift: args.p_drift.unwrap_or(d.p_drift),
            max_drift: args.max_drift.unwrap_or(d.max_drift),
        },
        init: match &args.init {
            Some(path) => {
                Some(InitFrom::read(path).map_err(|e| value_error(format!("init: {e:#}")))?)
            }
            None => None,
        },
        features_version: args.features_version.unwrap_or(c.features_version),
        p_noise_told: args.p_noise_told.unwrap_or(c.p_noise_told),
        ..c
    };
    cfg.validate().map_err(|e| value_error(format!("{e:#}")))?;
    let (train_set, val_set) = py
        .detach(|| spikepop_predict::samples::training_sets(&data, val.as_deref(), args.seed))
        .map_err(|e| value_error(format!("{e:#}")))?;
    let ckpt = checkpoint_path(&output);
    let bar = TrainProgress::default();
    let cancel = AtomicBool::new(false);
    let trained = interruptible(
        py,
        threads,
        &cancel,
        || {
            train(
                &cfg,
                &train_set,
                &val_set,
                Some(&ckpt),
                args.resume,
                &bar,
                &cancel,
            )
        },
        |py| match &progress {
            Some(p) => {
                let message = bar.message.lock().map(|m| m.clone()).unwrap_or_default();
                p.call1(
                    py,
                    (
                        bar.done.load(Ordering::Relaxed),
                        bar.total.load(Ordering::Relaxed),
                        message,
                    ),
                )
                .map(|_| ())
            }
            None => Ok(()),
        },
    )?;
    let trained = match trained {
        Ok(t) => t,
        Err(_) if cancel.load(Ordering::Relaxed) => {
            return Err(PyKeyboardInterrupt::new_err(
                "training interrupted: call again with resume=True to continue from the last checkpoint",
            ));
        }
        Err(e) => return Err(PyRuntimeError::new_err(pythonic(&format!("{e:#}")))),
    };
    let mut w = trained.weights;
    record_provenance(&mut w, model, &data, args.init.as_deref());
    let bytes = w.to_bytes();
    py.detach(|| spikepop_spikes::atomic::write_bytes(&output, &bytes))
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(serde_json::json!({
        "output": output.display().to_string(),
        "train_trains": train_set.len(),
        "val_trains": val_set.len(),
        "epochs": trained.history.len(),
        "best_epoch": trained.best_epoch,
        "history": trained.history,
        "temperature": w.temperature,
        "parameters": w.n_params(),
    })
    .to_string())
}

/// `spikepop evaluate`: the predictor's error table on a test set (`data`) or a benchmark folder
/// (`benchmark`), as the CSV of `spikepop evaluate -o`, and the notes the command line prints.
#[pyfunction]
#[pyo3(signature = (model_name, data=None, benchmark=None, weights=None, baseline_data=None, same_cells_as=None, jitter_ms=0.0, drop=0.0, grid_ms=0.0, seed=0, copies=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn evaluate_csv(
    py: Python<'_>,
    model_name: &str,
    data: Option<PathBuf>,
    benchmark: Option<PathBuf>,
    weights: Option<PathBuf>,
    baseline_data: Option<PathBuf>,
    same_cells_as: Option<PathBuf>,
    jitter_ms: f64,
    drop: f64,
    grid_ms: f64,
    seed: u64,
    copies: Option<usize>,
    threads: Option<usize>,
) -> PyResult<(String, Vec<String>)> {
    use spikepop_predict::samples::{TestOptions, benchmark_report, test_set};
    let model = model(model_name)?;
    let mut predictor = Predictor::for_model(model, weights.as_deref()).map_err(value_error)?;
    if let Some(c) = copies {
        if c == 0 {
            return Err(value_error("copies=0: expected 1 or more"));
        }
        predictor.copies = c;
    }
    let mut out = Vec::new();
    let fail = |e: anyhow::Error| value_error(format!("{e:#}"));
    let notes = match (data, benchmark) {
        (None, Some(dir)) => {
            let (report, notes) = py
                .detach(|| {
                    with_threads(threads, || {
                        benchmark_report(&predictor, &dir, baseline_data.as_deref())
                    })
                })?
                .map_err(fail)?;
            report.write_csv(&mut out)?;
            notes
        }
        (Some(data), None) => {
            let opts = TestOptions {
                same_cells_as,
                jitter_ms,
                drop,
                grid_ms,
                seed,
            };
            let (samples, notes) = py
                .detach(|| test_set(&predictor, &data, &opts))
                .map_err(fail)?;
            let report = py.detach(|| {
                with_threads(threads, || {
                    spikepop_predict::eval::evaluate(&predictor, &samples)
                })
            })?;
            report.write_csv(&mut out)?;
            notes
        }
        _ => {
            return Err(value_error(
                "give data (a test set) or benchmark (a benchmark folder), not both",
            ));
        }
    };
    Ok((String::from_utf8_lossy(&out).into_owned(), notes))
}

/// Spike times detected in membrane-potential traces: given `path` (a recording: ABF, NWB, .npy, CSV/TSV) or
/// `traces` (IDs, times in ms and voltages in mV). Returns (IDs, spike times, the reader's warnings: traces
/// without spikes).
#[pyfunction]
#[pyo3(signature = (path, traces, threshold, hysteresis, refractory, min_slope, at, unit, channel=None, sweep=None, rate_hz=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn detect<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    traces: Option<
        Vec<(
            String,
            PyReadonlyArray1<'py, f64>,
            PyReadonlyArray1<'py, f64>,
        )>,
    >,
    threshold: f64,
    hysteresis: f64,
    refractory: f64,
    min_slope: Option<f64>,
    at: &str,
    unit: Option<&str>,
    channel: Option<String>,
    sweep: Option<u32>,
    rate_hz: Option<f64>,
) -> PyResult<(Vec<String>, Vec<Bound<'py, PyArray1<f64>>>, Vec<String>)> {
    use spikepop_spikes::detect::{DetectError, DetectOptions, detect};
    let opts = DetectOptions {
        threshold_mv: threshold,
        hysteresis_mv: hysteresis,
        refractory_ms: refractory,
        min_slope,
        time: at.parse().map_err(|e| value_error(format!("at={e}")))?,
    };
    opts.check().map_err(|e| match &e {
        DetectError::Option { setting, .. } => value_error(format!("{}={e}", setting.name())),
        _ => value_error(e),
    })?;
    let unit = match unit {
        None | Some("ms") => TimeUnit::Ms,
        Some("s") => TimeUnit::S,
        Some(u) => return Err(value_error(format!("unit={u:?}: expected \"ms\" or \"s\""))),
    };
    let mut warnings = Vec::new();
    let trains: Vec<SpikeTrain> = match (path, traces) {
        // The command line's reader: the same traces, detection and warnings.
        (Some(p), None) => {
            let opts = ReadOptions {
                format: Some(Format::Trace),
                unit: Some(unit),
                rate: rate_hz,
                detect: opts,
                channel,
                sweep,
                ..ReadOptions::default()
            };
            let rec = py
                .detach(|| spikepop_spikes::read_trains(&p, &opts))
                .map_err(|e| match e {
                    spikepop_spikes::ReadError::Trace(
                        spikepop_spikes::traces::TraceError::Io { .. },
                    ) => PyOSError::new_err(format!("{:#}", anyhow::Error::from(e))),
                    e => value_error(e),
                })?;
            warnings = rec.warnings;
            rec.trains
        }
        (None, Some(list)) => list
            .into_iter()
            .map(|(id, t, v)| {
                detect(t.as_slice()?, v.as_slice()?, &opts)
                    .map(|times_ms| SpikeTrain {
                        id: id.clone(),
                        times_ms,
                    })
                    .map_err(|e| value_error(format!("trace {id}: {e}")))
            })
            .collect::<PyResult<_>>()?,
        _ => return Err(value_error("give a trace file's path or traces, not both")),
    };
    let ids = trains.iter().map(|t| t.id.clone()).collect();
    let out = trains
        .into_iter()
        .map(|t| PyArray1::from_vec(py, t.times_ms))
        .collect();
    Ok((ids, out, warnings))
}

/// Writes the three files of a reconstruction into a folder, atomically, as `spikepop reconstruct` does.
#[pyfunction]
fn save(
    py: Python<'_>,
    out: PathBuf,
    population: Vec<u8>,
    summary: Vec<u8>,
    run: Vec<u8>,
) -> PyResult<()> {
    let r = Rendered {
        population,
        summary,
        run,
    };
    py.detach(|| r.save(&out))
        .map_err(|e| PyOSError::new_err(e.to_string()))
}

/// The conductance columns of `model`, in its channel order.
#[pyfunction]
fn conductances(model_name: &str) -> PyResult<Vec<&'static str>> {
    Ok(model(model_name)?.conductance_names().collect())
}

/// A population given as columns: IDs, the `model` column when there is one, conductance rows.
type Columns = (Vec<String>, Option<Vec<String>>, Vec<Vec<f64>>);

/// A population table from a file (`path`) or from columns (`ids`, `members`, `g`), checked.
fn table(
    model: &'static Model,
    path: Option<PathBuf>,
    columns: Option<Columns>,
) -> PyResult<PopulationTable> {
    match (path, columns) {
        (Some(p), _) => {
            if !p.exists() {
                return Err(PyOSError::new_err(format!("{}: no such file", p.display())));
            }
            PopulationTable::read(&p, model).map_err(value_error)
        }
        (None, Some((ids, members, g))) => {
            PopulationTable::new(model, ids, members, g).map_err(value_error)
        }
        (None, None) => Err(value_error("no population given")),
    }
}

/// `spikepop export`: the population written for `format` (`neuron`, `brian2`, `neuroml`) into the folder `output`;
/// the paths of the files written.
#[pyfunction]
#[pyo3(signature = (model_name, format, output, path=None, columns=None))]
fn export(
    model_name: &str,
    format: &str,
    output: PathBuf,
    path: Option<PathBuf>,
    columns: Option<Columns>,
) -> PyResult<Vec<PathBuf>> {
    let model = model(model_name)?;
    let format: spikepop_export::Format = format
        .parse()
        .map_err(|e| value_error(format!("format={format:?}: {e}")))?;
    let t = table(model, path, columns)?;
    let ids = spikepop_export::member_names(&t.ids, t.members.as_deref());
    let files = spikepop_export::files(
        model,
        spikepop_export::Population { ids: &ids, g: &t.g },
        format,
    )
    .map_err(value_error)?;
    spikepop_export::write(&output, &files).map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(files.iter().map(|f| output.join(&f.name)).collect())
}

/// The DICs file of `spikepop dics`, as text.
#[pyfunction]
#[pyo3(signature = (model_name, path=None, columns=None, vth=None, threads=None))]
fn dics_csv(
    py: Python<'_>,
    model_name: &str,
    path: Option<PathBuf>,
    columns: Option<Columns>,
    vth: Option<String>,
    threads: Option<usize>,
) -> PyResult<String> {
    let model = model(model_name)?;
    let t = table(model, path, columns)?;
    let vth = match vth {
        Some(v) => v
            .parse::<Vth>()
            .map_err(|e| value_error(format!("vth={v}: {e}")))?,
        None => Vth::Fixed(model.default_vth),
    };
    let buf = py.detach(|| {
        with_threads(threads, || {
            let rows = spikepop_reconstruct::table::dics(model, &t, vth).map_err(value_error)?;
            let mut buf = Vec::new();
            spikepop_reconstruct::table::write_dics(&mut buf, &t, &rows).map_err(value_error)?;
            Ok::<_, PyErr>(buf)
        })
    })??;
    String::from_utf8(buf).map_err(value_error)
}

/// The spikes file of `spikepop simulate`, as text. Ctrl-C stops the run (KeyboardInterrupt).
#[pyfunction]
#[pyo3(signature = (model_name, path=None, columns=None, duration=None, transient=None, dt=None, noise=0.0, seed=0, threads=None))]
#[allow(clippy::too_many_arguments)]
fn simulate_csv(
    py: Python<'_>,
    model_name: &str,
    path: Option<PathBuf>,
    columns: Option<Columns>,
    duration: Option<f64>,
    transient: Option<f64>,
    dt: Option<f64>,
    noise: f64,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<String> {
    let model = model(model_name)?;
    let t = table(model, path, columns)?;
    let settings = Settings {
        dt: dt.unwrap_or(model.default_dt),
        duration: duration.unwrap_or(model.default_duration),
        transient: transient.unwrap_or(model.default_transient),
        noise_sigma: noise,
        seed,
        trace_every: None,
    };
    settings.validate().map_err(|e| {
        // "invalid dt: ..." names the argument as Python spells it.
        value_error(format!("{}={}", e.0.replace('-', "_"), e.1))
    })?;
    let cancel = AtomicBool::new(false);
    let out = interruptible(
        py,
        threads,
        &cancel,
        || simulate_batch(model, &t.g, &settings, &cancel, || {}),
        |_| Ok(()),
    )?
    .map_err(value_error)?;
    let mut buf = Vec::new();
    spikepop_reconstruct::table::write_spikes(&mut buf, &t, &out).map_err(value_error)?;
    String::from_utf8(buf).map_err(value_error)
}

/// A target as Python gives it: ID, g_s, g_u, sd_g_s, sd_g_u.
type TargetRow = (String, f64, f64, f64, f64);

/// A population-generation setup error, naming the Python argument.
fn setup_error(e: SetupError) -> PyErr {
    match e.setting() {
        Some(name) => value_error(format!("{name}: {e}")),
        None => value_error(e),
    }
}

/// The population file of `spikepop generate`, as text: `n` models per target, from a targets file or from
/// `(ID, g_s, g_u, sd_g_s, sd_g_u)` rows.
#[pyfunction]
#[pyo3(signature = (model_name, targets_path=None, targets=None, n=16, seed=0, pair=None, vth=None, max_attempts=1000, threads=None))]
#[allow(clippy::too_many_arguments)]
fn generate_csv(
    py: Python<'_>,
    model_name: &str,
    targets_path: Option<PathBuf>,
    targets: Option<Vec<TargetRow>>,
    n: usize,
    seed: u64,
    pair: Option<Vec<String>>,
    vth: Option<f64>,
    max_attempts: u32,
    threads: Option<usize>,
) -> PyResult<String> {
    let model = model(model_name)?;
    let targets: Vec<(String, TargetSpec)> = match (targets_path, targets) {
        (Some(p), _) => {
            if !p.exists() {
                return Err(PyOSError::new_err(format!("{}: no such file", p.display())));
            }
            spikepop_reconstruct::table::read_targets(&p).map_err(value_error)?
        }
        (None, Some(rows)) => rows
            .into_iter()
            .map(|(id, gs, gu, sds, sdu)| (id, TargetSpec::gaussian(gs, gu, sds, sdu)))
            .collect(),
        (None, None) => return Err(value_error("give g_s and g_u, or targets")),
    };
    if n == 0 {
        return Err(setup_error(SetupError::EmptyPopulation));
    }
    for (_, t) in &targets {
        t.validate().map_err(setup_error)?;
    }
    let opts = GeneratorOptions {
        vth,
        pair,
        seed,
        max_attempts,
        ..GeneratorOptions::default()
    };
    let generator = Generator::new(model, &opts).map_err(setup_error)?;
    let specs: Vec<TargetSpec> = targets.iter().map(|(_, t)| *t).collect();
    let results = py
        .detach(|| with_threads(threads, || generator.generate(&specs, n)))?
        .map_err(setup_error)?;
    let mut pops = Vec::with_capacity(results.len());
    for ((id, _), r) in targets.iter().zip(results) {
        pops.push(r.map_err(|e| value_error(format!("ID {id}: {e}")))?);
    }
    let ids: Vec<String> = targets.into_iter().map(|(id, _)| id).collect();
    let mut buf = Vec::new();
    spikepop_reconstruct::table::write_generated(&mut buf, model, &ids, &pops)
        .map_err(value_error)?;
    String::from_utf8(buf).map_err(value_error)
}

/// Trains as Python gets them: IDs and times (ms) as numpy arrays.
type Trains<'py> = (Vec<String>, Vec<Bound<'py, PyArray1<f64>>>);

/// Synthetic spike trains (`spikepop synth`): (IDs, times in ms). `None` keeps the library's default.
#[pyfunction]
#[pyo3(signature = (kind, n, seed, duration, jitter, drop, rate=None, period=None, spikes_per_burst=None, intra_hz=None))]
#[allow(clippy::too_many_arguments)]
fn synth<'py>(
    py: Python<'py>,
    kind: &str,
    n: usize,
    seed: u64,
    duration: f64,
    jitter: f64,
    drop: f64,
    rate: Option<f64>,
    period: Option<f64>,
    spikes_per_burst: Option<usize>,
    intra_hz: Option<f64>,
) -> PyResult<Trains<'py>> {
    use spikepop_spikes::synth::{Kind, SynthParams};
    let kind = match kind {
        "tonic" => Kind::Tonic,
        "bursting" => Kind::Bursting,
        "poisson" => Kind::Poisson,
        "irregular" => Kind::Irregular,
        k => {
            return Err(value_error(format!(
                "kind='{k}': expected tonic, bursting, poisson or irregular"
            )));
        }
    };
    let d = SynthParams::default();
    let params = SynthParams {
        kind,
        rate_hz: rate.unwrap_or(d.rate_hz),
        period_ms: period.unwrap_or(d.period_ms),
        spikes_per_burst: spikes_per_burst.unwrap_or(d.spikes_per_burst),
        intra_hz: intra_hz.unwrap_or(d.intra_hz),
        duration_ms: duration,
        jitter_ms: jitter,
        drop,
    };
    let trains = py
        .detach(|| spikepop_spikes::synth::trains(&params, n, seed))
        .map_err(value_error)?;
    Ok((
        trains.iter().map(|t| t.id.clone()).collect(),
        trains
            .iter()
            .map(|t| PyArray1::from_slice(py, &t.times_ms))
            .collect(),
    ))
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(parse_train, m)?)?;
    m.add_function(wrap_pyfunction!(features_csv, m)?)?;
    m.add_function(wrap_pyfunction!(predict_csv, m)?)?;
    m.add_function(wrap_pyfunction!(reconstruct, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    m.add_function(wrap_pyfunction!(conductances, m)?)?;
    m.add_function(wrap_pyfunction!(dics_csv, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_csv, m)?)?;
    m.add_function(wrap_pyfunction!(export, m)?)?;
    m.add_function(wrap_pyfunction!(generate_csv, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add_function(wrap_pyfunction!(dataset, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_csv, m)?)?;
    m.add_function(wrap_pyfunction!(detect, m)?)?;
    Ok(())
}
