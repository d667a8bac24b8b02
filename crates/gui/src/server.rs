//! The routes: the page, loading, the run and its progress, the results, the figures and the exports.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `GET /assets/{file}` | the page |
//! | `POST /api/model` | a model file and its weights (multipart: `model`, `weights`) -> offered as `uploaded` |
//! | `POST /api/load` | a spike file or voltage recording (multipart: `file`, `format`, `unit`, `rate`, `only_good`, `threshold`, `channel`, `sweep`) -> its preview |
//! | `POST /api/detect` | the loaded voltage recording's spikes detected again (JSON `{"threshold_mv": T}`) -> its preview |
//! | `GET /api/state` | the loaded file's preview and the run's status (a reloaded page restores itself) |
//! | `POST /api/run`, `POST /api/cancel` | start (JSON settings) or cancel the reconstruction |
//! | `GET /api/events` | the run's status as server-sent events |
//! | `GET /api/results?page=P&per_page=K` | one page of the results table |
//! | `GET /api/recording/{index}` | one recording: predictions, its population, trace defaults |
//! | `GET /api/plot/{preview,raster,dic,conductances,traces}.svg` | figures (`?recording=I&models=0,1&...`) |
//! | `GET /api/export/{population,summary,traces}.csv` | downloads |
//!
//! Errors are JSON `{"error": "..."}` with a sentence the page shows as it is.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use spikepop_reconstruct::{Outcome, Prior};

use crate::assets;
use crate::error::ApiError;
use crate::job::{self, RunRequest};
use crate::load::{self, finite};
use crate::plots::{self, Gaussian, RasterRow, TracePanel};
use crate::state::{AppState, Loaded, Results, RunStatus, Voltage};
use crate::traces::{self, RASTER_WINDOW_MS, Selection};

type Shared = State<Arc<AppState>>;

/// Trains drawn in the preview raster.
const PREVIEW_TRAINS: usize = 20;
/// Traces of a voltage recording drawn in the preview.
const PREVIEW_TRACES: usize = 3;
/// Rows of a results page unless asked otherwise, and at most.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;
/// Models suggested for the rasters and traces of a recording.
const SUGGESTED_MODELS: usize = 3;

/// The server's routes over `app`.
pub fn router(app: Arc<AppState>) -> Router {
    // The limit covers the whole multipart body; the form's other fields need a little room.
    let body_limit = app.max_upload_bytes.saturating_add(64 * 1024);
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::file))
        .route("/api/load", post(load_file))
        .route("/api/detect", post(detect))
        .route("/api/model", post(load_model))
        .route("/api/state", get(state))
        .route("/api/run", post(run))
        .route("/api/cancel", post(cancel))
        .route("/api/events", get(events))
        .route("/api/results", get(results_page))
        .route("/api/recording/{index}", get(recording))
        .route("/api/plot/preview.svg", get(preview_plot))
        .route("/api/plot/{name}", get(plot))
        .route("/api/export/traces.csv", get(export_traces))
        .route("/api/export/{name}", get(export_table))
        .fallback(|| async { ApiError::missing("No such page.") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(local_only))
        .with_state(app)
}

/// Refuses requests addressed to any other host name than this machine's loopback, so that a web page
/// elsewhere cannot reach the server through a DNS name that points at 127.0.0.1.
async fn local_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if matches!(name, "127.0.0.1" | "localhost" | "[::1]") {
        next.run(req).await
    } else {
        ApiError::with_status(
            StatusCode::FORBIDDEN,
            "spikepop gui answers only to http://127.0.0.1 and http://localhost.",
        )
        .into_response()
    }
}

async fn load_file(
    State(app): Shared,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    if app.session().running {
        return Err(ApiError::busy(
            "A reconstruction is running: cancel it or wait for it before loading another file.",
        ));
    }
    let loaded = load::read_upload(form?, app.max_upload_bytes).await?;
    keep(
        &app,
        loaded,
        "A reconstruction started while the file was loading; load it again when it ends.",
    )
}

/// Makes `loaded` the session's data (the last results were of other spikes, so they go) and answers its
/// preview; refused with `busy` when a run started meanwhile.
fn keep(app: &AppState, loaded: Loaded, busy: &str) -> Result<Json<Value>, ApiError> {
    let loaded = Arc::new(loaded);
    let preview = load::preview(&loaded);
    {
        let mut session = app.session();
        if session.running {
            return Err(ApiError::busy(busy));
        }
        session.data = Some(loaded);
        session.results = None;
    }
    app.status.send_replace(RunStatus::Idle);
    Ok(Json(preview))
}

/// The body of `POST /api/detect`.
#[derive(Deserialize)]
struct DetectRequest {
    /// The new spike threshold (mV).
    threshold_mv: f64,
}

async fn detect(
    State(app): Shared,
    body: Result<Json<DetectRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body?;
    if app.session().running {
        return Err(ApiError::busy(
            "A reconstruction is running: cancel it or wait for it before changing the threshold.",
        ));
    }
    let data = app.data()?;
    let loaded = blocking(move || load::redetect(&data, req.threshold_mv)).await?;
    keep(
        &app,
        loaded,
        "A reconstruction started while the spikes were being detected; set the threshold again when it ends.",
    )
}

async fn load_model(
    State(app): Shared,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let uploaded = load::read_model_upload(form?, app.max_upload_bytes).await?;
    let reply = json!({
        "value": crate::state::UPLOADED,
        "label": format!("{} ({}, from {})", uploaded.model.name, uploaded.model.title, uploaded.file),
    });
    let mut session = app.session();
    if session.running {
        return Err(ApiError::busy(
            "A reconstruction is running: cancel it or wait for it before changing the model.",
        ));
    }
    session.uploaded = Some(uploaded);
    Ok(Json(reply))
}

async fn state(State(app): Shared) -> Json<Value> {
    let data = app.session().data.clone();
    Json(json!({
        "data": data.as_deref().map(load::preview),
        "status": *app.status.borrow(),
    }))
}

async fn run(
    State(app): Shared,
    body: Result<Json<RunRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body?;
    let recordings = job::start(&app, &req)?;
    Ok(Json(json!({ "recordings": recordings })))
}

async fn cancel(State(app): Shared) -> Json<Value> {
    let running = app.session().running;
    if running {
        app.cancel.store(true, Ordering::SeqCst);
    }
    Json(json!({ "cancelling": running }))
}

/// The run's status now and at every change, as `data: {"state": ...}` events.
async fn events(State(app): Shared) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.status.subscribe();
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let status = rx.borrow_and_update().clone();
        let data = serde_json::to_string(&status).unwrap_or_else(|_| "{}".into());
        Some((Ok(Event::default().data(data)), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
    per_page: Option<usize>,
}

fn gaussian(p: Option<Prior>) -> Option<Gaussian> {
    p.map(|p| Gaussian {
        g_s: p.g_s,
        sd_g_s: p.sd_g_s,
        g_u: p.g_u,
        sd_g_u: p.sd_g_u,
    })
}

fn prior_json(p: Option<Prior>) -> Value {
    match p {
        Some(p) => json!({
            "g_s": finite(p.g_s), "sd_g_s": finite(p.sd_g_s),
            "g_u": finite(p.g_u), "sd_g_u": finite(p.sd_g_u),
        }),
        None => Value::Null,
    }
}

/// The table row of one recording.
fn summary_row(results: &Results, index: usize, o: &Outcome) -> Value {
    let train = &results.data.trains[index];
    let label = results.data.features[index].label.as_str();
    let (refined, acceptance, verified, population) = match &o.result {
        Ok(r) => (
            r.refined,
            finite(r.acceptance()).filter(|_| results.settings.verify),
            r.members.iter().filter(|m| m.verified).count(),
            r.members.len(),
        ),
        Err(_) => (None, None, 0, 0),
    };
    json!({
        "index": index,
        "id": o.id,
        "label": label,
        "spikes": train.times_ms.len(),
        "predicted": prior_json(o.predicted.prior),
        "refined": prior_json(refined),
        "acceptance": acceptance,
        "verified": verified,
        "population": population,
        "status": o.status(&results.settings),
        "ood": o.predicted.ood.to_string(),
    })
}

async fn results_page(
    State(app): Shared,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query?;
    let results = app.results()?;
    let per_page = q.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let total = results.outcomes.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = q.page.unwrap_or(0).min(pages - 1);
    let rows: Vec<Value> = results
        .outcomes
        .iter()
        .enumerate()
        .skip(page * per_page)
        .take(per_page)
        .map(|(i, o)| summary_row(&results, i, o))
        .collect();
    Ok(Json(json!({
        "model": results.model.name,
        "seed": results.seed.to_string(),
        "n": results.settings.n,
        "verify": results.settings.verify,
        "total": total,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "rows": rows,
    })))
}

async fn recording(
    State(app): Shared,
    index: Result<Path<usize>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(index) = index?;
    let results = app.results()?;
    let outcome = results
        .outcomes
        .get(index)
        .ok_or_else(|| ApiError::missing(format!("There is no recording number {}.", index + 1)))?;
    let members = outcome
        .result
        .as_ref()
        .map(|r| r.members.as_slice())
        .unwrap_or_default();
    let mut by_score: Vec<usize> = (0..members.len()).collect();
    by_score.sort_by(|&a, &b| members[a].distance.total_cmp(&members[b].distance));
    let suggested: Vec<usize> = by_score.into_iter().take(SUGGESTED_MODELS).collect();
    let sim = &results.settings.sim;
    Ok(Json(json!({
        "row": summary_row(&results, index, outcome),
        "error": outcome.result.as_ref().err(),
        "channels": results.model.conductance_names().collect::<Vec<_>>(),
        "members": members.iter().enumerate().map(|(k, m)| json!({
            "model": k,
            "g_s": finite(m.dics.g_s),
            "g_u": finite(m.dics.g_u),
            "score": finite(m.distance),
            "verified": m.verified,
        })).collect::<Vec<_>>(),
        "suggested": suggested,
        "trace_defaults": {
            "duration": sim.transient + 2000.0,
            "transient": sim.transient,
            "dt": sim.dt,
        },
        "max_models": traces::MAX_MODELS,
    })))
}

/// Runs CPU work (simulations, drawing) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        ApiError::internal("Drawing the figure failed unexpectedly; please report it.")
    })?
}

fn drawn(svg: anyhow::Result<String>) -> Result<String, ApiError> {
    svg.map_err(|e| ApiError::internal(format!("Cannot draw the figure: {e}")))
}

/// An SVG response; with a file name, as a download.
fn svg_response(svg: String, download: Option<String>) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
    if let Some(name) = download {
        attach(&mut response, &name);
    }
    response
}

fn csv_response(body: Vec<u8>, name: &str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    attach(&mut response, name);
    response
}

fn attach(response: &mut Response, name: &str) {
    let value = format!("attachment; filename=\"{name}\"");
    if let Ok(v) = header::HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
}

/// A file name made of the recording's ID (letters, digits, `-` and `_` only).
fn file_stem(kind: &str, id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{kind}-{id}")
}

async fn preview_plot(State(app): Shared) -> Result<Response, ApiError> {
    let data = app.data()?;
    let svg = blocking(move || {
        if let Some(voltage) = &data.voltage {
            return voltage_preview(&data, voltage);
        }
        let shown = &data.trains[..data.trains.len().min(PREVIEW_TRAINS)];
        let (first, last) = shown
            .iter()
            .filter_map(|t| Some((*t.times_ms.first()?, *t.times_ms.last()?)))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (f, l)| {
                (a.min(f), b.max(l))
            });
        let pad = 0.02 * (last - first).max(1.0);
        let rows: Vec<RasterRow> = shown
            .iter()
            .map(|t| RasterRow {
                name: t.id.clone(),
                times: t.times_ms.clone(),
                color: plotters::style::BLACK,
            })
            .collect();
        let title = if data.trains.len() > shown.len() {
            format!(
                "{}: the first {} of {} trains",
                data.name,
                shown.len(),
                data.trains.len()
            )
        } else {
            data.name.clone()
        };
        drawn(plots::raster(
            &title,
            &rows,
            "time (ms)",
            (first - pad).max(0.0)..last + pad,
        ))
    })
    .await?;
    Ok(svg_response(svg, None))
}

/// A voltage recording's first traces, with the detected spikes and the threshold.
fn voltage_preview(data: &Loaded, voltage: &Voltage) -> Result<String, ApiError> {
    let threshold = voltage.detect.threshold_mv;
    let panels: Vec<TracePanel> = voltage
        .traces
        .iter()
        .zip(&data.trains)
        .take(PREVIEW_TRACES)
        .map(|(trace, train)| TracePanel {
            name: format!(
                "{}: {} spike{}",
                trace.id,
                train.times_ms.len(),
                if train.times_ms.len() == 1 { "" } else { "s" }
            ),
            t: &trace.t_ms,
            v: &trace.v_mv,
            spikes: &train.times_ms,
            threshold_mv: Some(threshold),
        })
        .collect();
    let shown = if voltage.traces.len() > panels.len() {
        format!(
            ", the first {} of {} traces",
            panels.len(),
            voltage.traces.len()
        )
    } else {
        String::new()
    };
    drawn(plots::traces(
        &format!("{}: spikes at {threshold} mV (dashed){shown}", data.name),
        &panels,
    ))
}

async fn plot(
    State(app): Shared,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<Selection>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (Path(name), Query(sel)) = (name?, query?);
    let results = app.results()?;
    let kind = name.strip_suffix(".svg").unwrap_or(&name).to_string();
    let index = sel.recording;
    let id = results
        .outcomes
        .get(index)
        .map(|o| o.id.clone())
        .unwrap_or_default();
    let download = sel
        .download
        .is_some()
        .then(|| format!("{}.svg", file_stem(&kind, &id)));
    let svg = blocking(move || match kind.as_str() {
        "raster" => raster_figure(&results, &sel),
        "dic" => dic_figure(&results, &sel),
        "conductances" => conductance_figure(&results, &sel),
        "traces" => trace_figure(&results, &sel),
        _ => Err(ApiError::missing(format!(
            "No figure named {name}: raster, dic, conductances or traces."
        ))),
    })
    .await?;
    Ok(svg_response(svg, download))
}

/// The recording above a few of its models, simulated as the verification simulated them.
fn raster_figure(results: &Results, sel: &Selection) -> Result<String, ApiError> {
    let train = results.data.trains.get(sel.recording).ok_or_else(|| {
        ApiError::missing(format!(
            "There is no recording number {}.",
            sel.recording + 1
        ))
    })?;
    let members = sel.members(results).unwrap_or_default();
    let chosen = sel.model_indices(members.len())?;
    let settings = traces::raster_settings(results, &train.times_ms);
    let sims = traces::simulate(results.model, members, &chosen, &settings)?;
    let window = settings.duration - settings.transient;
    let t0 = train.times_ms.first().copied().unwrap_or(0.0);
    let mut rows = vec![RasterRow {
        name: "recording".into(),
        times: train.times_ms.iter().map(|t| t - t0).collect(),
        color: plotters::style::BLACK,
    }];
    for (i, (k, o)) in chosen.iter().zip(&sims).enumerate() {
        rows.push(RasterRow {
            name: format!("model {k}"),
            times: o.spikes.iter().map(|t| t - settings.transient).collect(),
            color: plots::model_color(i),
        });
    }
    let span = train.times_ms.last().copied().unwrap_or(t0) - t0;
    let title = if span > RASTER_WINDOW_MS {
        format!(
            "Recording {}: the first {} s and its models",
            train.id,
            RASTER_WINDOW_MS / 1000.0
        )
    } else {
        format!("Recording {} and its models", train.id)
    };
    drawn(plots::raster(
        &title,
        &rows,
        "time (ms): recording from its first spike, models after the transient",
        0.0..window,
    ))
}

fn dic_figure(results: &Results, sel: &Selection) -> Result<String, ApiError> {
    let members = sel.members(results)?;
    let outcome = &results.outcomes[sel.recording];
    let refined = outcome.result.as_ref().ok().and_then(|r| r.refined);
    let points: Vec<(f64, f64)> = members.iter().map(|m| (m.dics.g_s, m.dics.g_u)).collect();
    drawn(plots::dic_plane(
        &format!("Recording {}: DIC plane", outcome.id),
        &points,
        gaussian(outcome.predicted.prior),
        gaussian(refined),
    ))
}

fn conductance_figure(results: &Results, sel: &Selection) -> Result<String, ApiError> {
    let members = sel.members(results)?;
    let id = &results.outcomes[sel.recording].id;
    let names: Vec<&str> = results.model.conductance_names().collect();
    let values: Vec<Vec<f64>> = (0..names.len())
        .map(|c| members.iter().map(|m| m.g[c]).collect())
        .collect();
    drawn(plots::conductance_spread(
        &format!("Recording {id}: conductances of {} models", members.len()),
        &names,
        &values,
    ))
}

fn trace_figure(results: &Results, sel: &Selection) -> Result<String, ApiError> {
    let (chosen, outcomes, settings) = simulate_traces(results, sel)?;
    let id = &results.outcomes[sel.recording].id;
    let named: Vec<(String, _)> = chosen
        .iter()
        .zip(outcomes)
        .map(|(k, o)| {
            let name = if o.finite {
                format!("model {k}")
            } else {
                format!("model {k} (the simulation diverged and stopped)")
            };
            (name, o.trace.unwrap_or_default())
        })
        .collect();
    let panels: Vec<TracePanel> = named
        .iter()
        .map(|(name, trace)| TracePanel {
            name: name.clone(),
            t: &trace.t,
            v: &trace.v,
            spikes: &[],
            threshold_mv: None,
        })
        .collect();
    drawn(plots::traces(
        &format!(
            "Recording {id}: voltage traces ({} to {} ms, dt {} ms)",
            settings.transient, settings.duration, settings.dt
        ),
        &panels,
    ))
}

/// The selected models' traces with the user's settings.
fn simulate_traces(
    results: &Results,
    sel: &Selection,
) -> Result<
    (
        Vec<usize>,
        Vec<spikepop_models::sim::Outcome>,
        spikepop_models::sim::Settings,
    ),
    ApiError,
> {
    let members = sel.members(results)?;
    let chosen = sel.model_indices(members.len())?;
    if chosen.is_empty() {
        return Err(ApiError::bad(
            "Select at least one model to simulate its voltage trace.",
        ));
    }
    let settings = sel.trace_settings(&results.settings.sim)?;
    let outcomes = traces::simulate(results.model, members, &chosen, &settings)?;
    Ok((chosen, outcomes, settings))
}

async fn export_traces(
    State(app): Shared,
    query: Result<Query<Selection>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(sel) = query?;
    let results = app.results()?;
    let (csv, name) = blocking(move || {
        let (chosen, outcomes, _) = simulate_traces(&results, &sel)?;
        let name = format!(
            "{}.csv",
            file_stem("traces", &results.outcomes[sel.recording].id)
        );
        Ok((traces::traces_csv(&chosen, &outcomes), name))
    })
    .await?;
    Ok(csv_response(csv.into_bytes(), &name))
}

/// `population.csv` and `summary.csv`, written by the command line's own writers.
async fn export_table(
    State(app): Shared,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let results = app.results()?;
    let mut body = Vec::new();
    let written = match name.as_str() {
        "population.csv" => spikepop_reconstruct::pipeline::write_population(
            &mut body,
            results.model,
            &results.outcomes,
            results.settings.verify,
        ),
        "summary.csv" => spikepop_reconstruct::pipeline::write_summary(
            &mut body,
            &results.outcomes,
            &results.settings,
        ),
        "neuron.zip" | "brian2.zip" | "neuroml.zip" => {
            let format: spikepop_export::Format = name
                .trim_end_matches(".zip")
                .parse()
                .map_err(|e| ApiError::internal(format!("{e}")))?;
            let (ids, members, g) =
                spikepop_reconstruct::pipeline::population_columns(&results.outcomes);
            if ids.is_empty() {
                return Err(ApiError::missing(
                    "The population has no model to export: no recording found one.",
                ));
            }
            let ids = spikepop_export::member_names(&ids, Some(&members));
            let files = spikepop_export::files(
                results.model,
                spikepop_export::Population { ids: &ids, g: &g },
                format,
            )
            .map_err(|e| match e {
                // The model, not the server: a format that cannot express it.
                spikepop_export::ExportError::Unsupported { .. } => ApiError::with_status(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Cannot export: {e}"),
                ),
                e => ApiError::internal(format!("Cannot export: {e}")),
            })?;
            let folder = format!("{}_{}", results.model.name, format);
            let mut response = (
                [(header::CONTENT_TYPE, "application/zip")],
                spikepop_export::zip(&folder, &files),
            )
                .into_response();
            attach(&mut response, &format!("{folder}.zip"));
            return Ok(response);
        }
        _ => {
            return Err(ApiError::missing(format!(
                "No export named {name}: population.csv, summary.csv, traces.csv, neuron.zip, brian2.zip or neuroml.zip."
            )));
        }
    };
    written.map_err(|e| ApiError::internal(format!("Cannot write {name}: {e}")))?;
    Ok(csv_response(body, &name))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    const STG_SET: &str = include_str!("../../../examples/stg_set.csv");

    /// Sends a request to a router over `app`; returns the status and the body as text.
    async fn send(app: &Arc<AppState>, request: Request<Body>) -> (StatusCode, String) {
        let response = router(Arc::clone(app)).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri)
            .header(header::HOST, "127.0.0.1:8600")
            .body(Body::empty())
            .unwrap()
    }

    fn upload(name: &str, content: &str) -> Request<Body> {
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/csv\r\n\r\n{content}\r\n--XyZ--\r\n"
        );
        Request::post("/api/load")
            .header(header::HOST, "localhost:8600")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
            .body(Body::from(body))
            .unwrap()
    }

    fn run_request(json: &str) -> Request<Body> {
        Request::post("/api/run")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string()))
            .unwrap()
    }

    fn error_of(body: &str) -> String {
        let v: Value = serde_json::from_str(body).expect("a JSON error");
        v["error"].as_str().expect("an error message").to_string()
    }

    fn detect_request(json: &str) -> Request<Body> {
        Request::post("/api/detect")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string()))
            .unwrap()
    }

    /// A voltage trace (`t,V`, 0.1-ms samples over 100 ms) resting at -60 mV, with triangular spikes to
    /// +30 mV peaking at 20, 50 and 80 ms and one small bump to -10 mV at 35 ms.
    fn voltage_csv() -> String {
        let mut csv = String::from("t,V\n");
        for i in 0..1000 {
            let t = f64::from(i) * 0.1;
            let bump = |centre: f64, height: f64| (height * (1.0 - (t - centre).abs())).max(0.0);
            let v =
                -60.0 + bump(20.0, 90.0) + bump(50.0, 90.0) + bump(80.0, 90.0) + bump(35.0, 50.0);
            csv.push_str(&format!("{t:.1},{v:.3}\n"));
        }
        csv
    }

    fn spikes_of(preview: &Value) -> u64 {
        preview["spikes"].as_u64().unwrap()
    }

    #[tokio::test]
    async fn a_voltage_recording_is_previewed_and_detected_again_at_a_new_threshold() {
        let app = AppState::new(1 << 20);
        let (status, body) = send(&app, upload("cell.csv", &voltage_csv())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let p: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(p["format"], "trace");
        assert_eq!(spikes_of(&p), 3, "{body}");
        assert_eq!(p["voltage"]["threshold_mv"], 0.0);
        assert!((p["voltage"]["v_min_mv"].as_f64().unwrap() + 60.0).abs() < 1e-9);
        assert!((p["voltage"]["v_max_mv"].as_f64().unwrap() - 30.0).abs() < 1e-9);
        // The preview draws the trace with one mark per detected spike.
        let (status, svg) = send(&app, get("/api/plot/preview.svg")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(svg.contains("spikes at 0 mV"), "{svg}");
        let marks = svg.matches("<polygon").count();

        // Lower: the bump counts too; the spike times are the interpolated crossings.
        let (status, body) = send(&app, detect_request(r#"{"threshold_mv": -20}"#)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let p: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(spikes_of(&p), 4);
        assert_eq!(p["voltage"]["threshold_mv"], -20.0);
        let data = app.data().unwrap();
        let expected = [
            19.0 + 40.0 / 90.0,
            34.0 + 40.0 / 50.0,
            49.0 + 40.0 / 90.0,
            79.0 + 40.0 / 90.0,
        ];
        for (got, want) in data.trains[0].times_ms.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} {want}");
        }
        let (_, svg) = send(&app, get("/api/plot/preview.svg")).await;
        assert_eq!(svg.matches("<polygon").count(), marks + 1);

        // Above every sample: no spike, a warning with a threshold to try, and the run has nothing to read.
        let (status, body) = send(&app, detect_request(r#"{"threshold_mv": 40}"#)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let p: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(spikes_of(&p), 0);
        assert!(
            p["warnings"][0]
                .as_str()
                .unwrap()
                .contains("a threshold to try: -15.0 mV"),
            "{body}"
        );

        // A threshold that is not a number, and a spike-time file, are refused with a sentence.
        let (status, body) = send(&app, detect_request(r#"{"threshold_mv": "high"}"#)).await;
        assert!(status.is_client_error(), "{body}");
        assert!(error_of(&body).contains("threshold_mv"), "{body}");
        let (status, _) = send(&app, upload("set.csv", STG_SET)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = send(&app, detect_request(r#"{"threshold_mv": -20}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            error_of(&body).contains("only to voltage recordings"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_embedded() {
        let app = AppState::new(1 << 20);
        let (status, body) = send(&app, get("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("/assets/app.js"));
        for asset in ["app.js", "style.css"] {
            assert_eq!(
                send(&app, get(&format!("/assets/{asset}"))).await.0,
                StatusCode::OK
            );
        }
        let (status, body) = send(&app, get("/assets/nothing.js")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(error_of(&body).contains("nothing.js"));
    }

    fn model_upload(model: Option<(&str, &str)>, weights: Option<&[u8]>) -> Request<Body> {
        let mut body: Vec<u8> = Vec::new();
        if let Some((name, text)) = model {
            body.extend_from_slice(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"model\"; filename=\"{name}\"\r\n\r\n{text}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some(w) = weights {
            body.extend_from_slice(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"weights\"; filename=\"w.safetensors\"\r\n\r\n",
            );
            body.extend_from_slice(w);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        Request::post("/api/model")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn the_model_list_is_the_registry_and_a_model_file_can_be_uploaded() {
        let app = AppState::new(1 << 22);
        let (_, page) = send(&app, get("/")).await;
        for (name, _) in spikepop_models::registry::BUILT_IN {
            assert!(
                page.contains(&format!("<option value=\"{name}\">")),
                "{name}"
            );
        }
        let stg = spikepop_models::registry::built_in_file("stg").unwrap();
        let Some(weights) = spikepop_predict::embedded_bytes("stg") else {
            return; // a build without weights: nothing to upload
        };
        // A model file without weights, a broken file, and weights of another model are refused.
        let (status, body) = send(&app, model_upload(Some(("mine.toml", stg)), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            error_of(&body).contains("weights trained for mine.toml"),
            "{body}"
        );
        let broken = stg.replacen("power = 3", "power = \"three\"", 1);
        let (_, body) = send(
            &app,
            model_upload(Some(("broken.toml", &broken)), Some(weights)),
        )
        .await;
        assert!(error_of(&body).starts_with("broken.toml, line "), "{body}");
        let edited = stg.replacen("reversal = -80.0", "reversal = -75.0", 1);
        let (status, body) = send(
            &app,
            model_upload(Some(("edited.toml", &edited)), Some(weights)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            error_of(&body).contains("another version of the `stg` model"),
            "{body}"
        );
        assert!(app.session().uploaded.is_none());
        // The built-in file with the built-in weights: offered as `uploaded`, and a run uses it.
        let (status, body) = send(&app, model_upload(Some(("stg.toml", stg)), Some(weights))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["value"], "uploaded");
        assert!(reply["label"].as_str().unwrap().contains("from stg.toml"));
        assert_eq!(
            send(&app, upload("stg_set.csv", STG_SET)).await.0,
            StatusCode::OK
        );
        let (status, body) = send(
            &app,
            run_request(r#"{"model":"uploaded","n":2,"verify":false,"seed":"1"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    #[tokio::test]
    async fn other_host_names_are_refused() {
        let app = AppState::new(1 << 20);
        let request = Request::get("/api/state")
            .header(header::HOST, "attacker.example:8600")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, request).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn bad_uploads_are_explained_and_the_server_goes_on() {
        let app = AppState::new(1 << 20);
        let (status, body) =
            send(&app, upload("bad.csv", "ID,spiking_times\n1,\"[1, x]\"\n")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = error_of(&body);
        assert!(error.starts_with("bad.csv: row 1 (line 2)"), "{error}");
        let (status, body) = send(&app, upload("empty.csv", "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = send(&app, upload("../../x.tsv", "a\tb\n1\t2\n")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            error_of(&body).starts_with("x.tsv: cannot tell the format"),
            "{body}"
        );
        let request = Request::post("/api/load")
            .header(header::HOST, "127.0.0.1")
            .body(Body::from("not a form"))
            .unwrap();
        assert_eq!(send(&app, request).await.0, StatusCode::BAD_REQUEST);
        // Over the limit: 413 with the flag that raises it.
        let small = AppState::new(1000);
        let (status, body) = send(&small, upload("big.txt", &"1 2 3\n".repeat(100_000))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error_of(&body).contains("--max-upload-mb"));
        // Nothing was loaded, and a good file still loads.
        assert_eq!(
            send(&app, get("/api/plot/preview.svg")).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = send(&app, upload("stg_set.csv", STG_SET)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let preview: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(preview["recordings"], 5);
        assert_eq!(preview["labels"]["bursting"], 4);
        let (status, body) = send(&app, get("/api/plot/preview.svg")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with("<svg"));
    }

    #[tokio::test]
    async fn runs_are_refused_with_reasons() {
        let app = AppState::new(1 << 20);
        let stg = r#"{"model":"stg","n":4,"verify":true,"seed":"1"}"#;
        let (status, body) = send(&app, run_request(stg)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&body), "Load a spike file first.");
        let (status, body) = send(&app, run_request("{\"model\": 3}")).await;
        assert!(status.is_client_error());
        assert!(!error_of(&body).is_empty());
        let (status, body) = send(&app, get("/api/results")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(error_of(&body).starts_with("No results yet"));
        send(&app, upload("stg_set.csv", STG_SET)).await;
        if spikepop_predict::Predictor::embedded("da").is_err() {
            let da = r#"{"model":"da","n":4,"verify":true,"seed":"1"}"#;
            let (status, body) = send(&app, run_request(da)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(error_of(&body).starts_with("The DA model has no trained DIC predictor"));
        }

        // One run at a time; cancelling stops it without results.
        let (status, body) = send(&app, run_request(stg)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = send(&app, run_request(stg)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(error_of(&body).contains("already running"));
        assert_eq!(
            send(&app, upload("stg_set.csv", STG_SET)).await.0,
            StatusCode::CONFLICT
        );
        let cancel = Request::post("/api/cancel")
            .header(header::HOST, "127.0.0.1")
            .body(Body::empty())
            .unwrap();
        send(&app, cancel).await;
        let mut rx = app.status.subscribe();
        let end = tokio::time::timeout(
            Duration::from_secs(120),
            rx.wait_for(|s| !matches!(s, RunStatus::Running { .. })),
        )
        .await
        .expect("the run ends")
        .unwrap()
        .clone();
        // The cancel may arrive after the last recording: either way the server is free again.
        assert!(
            matches!(end, RunStatus::Cancelled | RunStatus::Done { .. }),
            "{end:?}"
        );
        assert!(!app.session().running);
    }

    #[tokio::test]
    async fn a_finished_run_serves_tables_and_figures() {
        let app = AppState::new(1 << 20);
        send(&app, upload("stg_set.csv", STG_SET)).await;
        let (status, body) = send(
            &app,
            run_request(r#"{"model":"stg","n":3,"verify":false,"seed":"7"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut rx = app.status.subscribe();
        let end = tokio::time::timeout(
            Duration::from_secs(120),
            rx.wait_for(|s| !matches!(s, RunStatus::Running { .. })),
        )
        .await
        .unwrap()
        .unwrap()
        .clone();
        assert!(
            matches!(end, RunStatus::Done { recordings: 5, .. }),
            "{end:?}"
        );

        let (status, body) = send(&app, get("/api/results?page=0&per_page=2")).await;
        assert_eq!(status, StatusCode::OK);
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                page["pages"].clone(),
                page["rows"].as_array().unwrap().len()
            ),
            (json!(3), 2)
        );
        let (_, body) = send(&app, get("/api/recording/1")).await;
        let detail: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(detail["members"].as_array().unwrap().len(), 3);
        for figure in ["raster", "dic", "conductances", "traces"] {
            let (status, body) = send(
                &app,
                get(&format!(
                    "/api/plot/{figure}.svg?recording=1&models=0,2&duration=3500"
                )),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{figure}: {body}");
            assert!(body.starts_with("<svg"), "{figure}");
        }
        let (status, body) = send(&app, get("/api/plot/traces.svg?recording=1&models=9")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error_of(&body).contains("no model 9"));
        let (status, body) = send(&app, get("/api/plot/dic.svg?recording=x")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = send(
            &app,
            get("/api/export/traces.csv?recording=0&models=1&duration=3100"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with("t_ms,model_1\n3000,"));
        // 3000 to 3100 ms every 0.05 ms, both ends included.
        assert_eq!(body.lines().count(), 1 + 2001);
        let (status, body) = send(&app, get("/api/export/population.csv")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.lines().count(), 1 + 5 * 3);
        // The population for NEURON, Brian2 and NeuroML, one zip each: every member of population.csv, named
        // ID/model.
        let ids: Vec<String> = body
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                format!("\"{}/{}\"", f[0], f[1])
            })
            .collect();
        for (format, extra) in [
            ("neuron", "stg_Na.mod"),
            ("brian2", "README.md"),
            ("neuroml", "stg_population.net.nml"),
        ] {
            let response = router(Arc::clone(&app))
                .oneshot(get(&format!("/api/export/{format}.zip")))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/zip");
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
            let mut script = String::new();
            std::io::Read::read_to_string(
                &mut z.by_name(&format!("stg_{format}/run.py")).unwrap(),
                &mut script,
            )
            .unwrap();
            assert!(
                script.contains(&format!("IDS = [{}]", ids.join(", "))),
                "{format}"
            );
            assert!(
                z.by_name(&format!("stg_{format}/{extra}")).is_ok(),
                "{format}"
            );
        }
        assert_eq!(
            send(&app, get("/api/export/other.csv")).await.0,
            StatusCode::NOT_FOUND
        );
    }
}
