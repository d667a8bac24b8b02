// spikepop gui: the page's behaviour. Plain JavaScript, no framework: the server does the work and draws
// the figures (SVG); this script sends the user's choices and shows the answers.
"use strict";

const $ = (id) => document.getElementById(id);

// Files of a Kilosort/phy folder that the reader uses (the others, often large, are not uploaded).
const PHY_FILES = ["spike_times.npy", "spike_clusters.npy", "spike_templates.npy", "params.py",
  "cluster_group.tsv", "cluster_KSLabel.tsv"];

const ui = { page: 0, recording: null, models: [], maxModels: 8, events: null };

// ---------------------------------------------------------------------------------------------------------
// Talking to the server

/** Fetches JSON; throws an Error carrying the server's message when the request fails. */
async function api(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new Error("The spikepop server does not answer. Is `spikepop gui` still running?");
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `The server answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return body;
}

function show(el, on) { el.hidden = !on; }

function showError(el, message) {
  el.textContent = message || "";
  show(el, Boolean(message));
}

function fmt(x, digits = 2) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

function withSd(g, key) {
  return g ? `${fmt(g[key])} ± ${fmt(g["sd_" + key])}` : "–";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Load

async function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) form.append("file", f, f.name);
  form.append("format", $("format").value);
  form.append("unit", $("unit").value);
  form.append("rate", $("rate").value.trim());
  if ($("only-good").checked) form.append("only_good", "on");
  form.append("threshold", $("threshold").value.trim());
  form.append("channel", $("channel").value.trim());
  form.append("sweep", $("sweep").value.trim());
  const names = files.map((f) => f.name).join(", ");
  $("load-status").textContent = `Reading ${names}…`;
  showError($("load-error"), "");
  try {
    const preview = await api("/api/load", { method: "POST", body: form });
    $("load-status").textContent = "";
    showPreview(preview);
    resetResults();
  } catch (e) {
    $("load-status").textContent = "";
    showError($("load-error"), `${names} could not be loaded. ${e.message}`);
  }
}

/** Sends the chosen model file and weights; the model joins the model list, selected. */
async function uploadModel() {
  const model = $("model-file").files[0];
  const weights = $("weights-file").files[0];
  showError($("model-error"), "");
  if (!model || !weights) {
    showError($("model-error"), "Choose a model file (.toml) and the weights trained for it (.safetensors).");
    return;
  }
  const form = new FormData();
  form.append("model", model, model.name);
  form.append("weights", weights, weights.name);
  try {
    const m = await api("/api/model", { method: "POST", body: form });
    let option = [...$("model").options].find((o) => o.value === m.value);
    if (!option) {
      option = document.createElement("option");
      option.value = m.value;
      $("model").appendChild(option);
    }
    option.textContent = m.label;
    $("model").value = m.value;
  } catch (e) {
    showError($("model-error"), `${model.name} could not be used. ${e.message}`);
  }
}

/** The files of a drop: one file, several files, or the phy files of a dropped folder. */
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items]
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  const folder = entries.find((e) => e.isDirectory);
  if (!folder) return phyOnly([...dataTransfer.files]);
  const children = await new Promise((resolve, reject) => folder.createReader().readEntries(resolve, reject));
  const files = await Promise.all(children.filter((e) => e.isFile && PHY_FILES.includes(e.name))
    .map((e) => new Promise((resolve, reject) => e.file(resolve, reject))));
  if (!files.length) throw new Error(`The folder ${folder.name} has none of ${PHY_FILES.join(", ")}.`);
  return files;
}

/** Several files are the files of one phy folder: keep those the reader needs. */
function phyOnly(files) {
  return files.length > 1 ? files.filter((f) => PHY_FILES.includes(f.name)) : files;
}

function showPreview(p) {
  if (!p) { show($("preview"), false); return; }
  const labels = Object.entries(p.labels).map(([k, v]) => `${v} ${k}`).join(", ");
  $("preview-summary").textContent =
    `${p.name}: ${p.recordings} recording${p.recordings === 1 ? "" : "s"} (${p.format} format), ` +
    `${p.spikes} spikes; ${labels}.`;
  const warnings = $("preview-warnings");
  warnings.replaceChildren(...p.warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = w;
    return li;
  }));
  const body = $("preview-table").tBodies[0];
  body.replaceChildren(...p.rows.map((r) => {
    const tr = document.createElement("tr");
    cell(tr, r.id); cell(tr, r.spikes); cell(tr, r.label); cell(tr, fmt(r.rate_hz));
    return tr;
  }));
  if (p.recordings > p.rows.length) {
    const tr = document.createElement("tr");
    cell(tr, `… ${p.recordings - p.rows.length} more`).colSpan = 4;
    body.appendChild(tr);
  }
  showThreshold(p.voltage);
  show($("preview"), true);
  drawFigure($("preview-raster"), "/api/plot/preview.svg");
  $("run").disabled = false;
  $("run-status").textContent = "Ready.";
}

/** A voltage recording's threshold control: the slider spans the traces' range, set at the threshold used. */
function showThreshold(v) {
  show($("threshold-control"), Boolean(v));
  showError($("detect-error"), "");
  if (!v) return;
  const slider = $("threshold-slider");
  const lo = v.v_min_mv ?? v.threshold_mv - 50;
  const hi = v.v_max_mv ?? v.threshold_mv + 50;
  slider.min = Math.floor(Math.min(lo, v.threshold_mv));
  slider.max = Math.ceil(Math.max(hi, v.threshold_mv));
  slider.value = v.threshold_mv;
  $("threshold-value").value = v.threshold_mv;
}

/** Detects the loaded recording's spikes again at the chosen threshold and shows the new preview. */
async function detectAgain() {
  const text = $("threshold-value").value.trim();
  const threshold = Number(text);
  showError($("detect-error"), "");
  if (text === "" || !Number.isFinite(threshold)) {
    showError($("detect-error"), `Spike threshold: \`${text}\` is not a voltage in mV.`);
    return;
  }
  $("detect-status").textContent = `Detecting at ${threshold} mV…`;
  try {
    const preview = await api("/api/detect", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ threshold_mv: threshold }),
    });
    $("detect-status").textContent = "";
    showPreview(preview);
    resetResults();
  } catch (e) {
    $("detect-status").textContent = "";
    showError($("detect-error"), e.message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Settings and 3. Run

function optionalNumber(id) {
  const v = $(id).value.trim();
  if (v === "") return null;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`${$(id).parentElement.textContent.trim()}: \`${v}\` is not a number.`);
  return x;
}

function settings() {
  const n = Number($("n").value);
  if (!Number.isInteger(n) || n < 1) throw new Error("Population size: a whole number of at least 1.");
  return {
    model: $("model").value,
    n,
    verify: $("verify").checked,
    seed: $("seed").value.trim(),
    max_candidates: optionalNumber("max_candidates"),
    refine_rounds: optionalNumber("refine_rounds"),
    tol_rate: optionalNumber("tol_rate"),
    tol_period: optionalNumber("tol_period"),
    tol_spikes_per_burst: optionalNumber("tol_spikes_per_burst"),
    tol_burst_duration: optionalNumber("tol_burst_duration"),
    min_window: optionalNumber("min_window"),
    noise: optionalNumber("noise"),
    dt: optionalNumber("dt"),
  };
}

async function startRun() {
  showError($("run-error"), "");
  try {
    const body = JSON.stringify(settings());
    resetResults();
    await api("/api/run", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    follow();
  } catch (e) {
    showError($("run-error"), e.message);
  }
}

/** Follows the run's progress over server-sent events until it ends. */
function follow() {
  if (ui.events) ui.events.close();
  const events = new EventSource("/api/events");
  ui.events = events;
  events.onmessage = (message) => {
    const status = JSON.parse(message.data);
    showStatus(status);
    if (!["running", "idle"].includes(status.state)) {
      events.close();
      ui.events = null;
    }
  };
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) {
      showError($("run-error"), "Lost the connection to the spikepop server.");
    }
  };
}

function showStatus(status) {
  const running = status.state === "running";
  $("run").disabled = running || $("preview").hidden;
  show($("cancel"), running);
  show($("progress"), running);
  if (running) {
    $("progress").max = Math.max(status.total, 1);
    $("progress").value = status.done;
    $("run-status").textContent = `Reconstructing: ${status.done} of ${status.total} recordings done…`;
  } else if (status.state === "done") {
    $("run-status").textContent = `Done: ${status.recordings} recordings, ${status.verified} verified models, ` +
      `in ${fmt(status.seconds, 1)} s.`;
    loadPage(0);
  } else if (status.state === "cancelled") {
    $("run-status").textContent = "Cancelled: no results were kept.";
  } else if (status.state === "failed") {
    $("run-status").textContent = "The run failed.";
    showError($("run-error"), status.error);
  } else {
    $("run-status").textContent = $("preview").hidden ? "Load a file first." : "Ready.";
  }
}

async function cancelRun() {
  try {
    await api("/api/cancel", { method: "POST" });
    $("run-status").textContent = "Cancelling…";
  } catch (e) {
    showError($("run-error"), e.message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 4. Results

function resetResults() {
  show($("results-section"), false);
  show($("detail"), false);
  ui.recording = null;
}

async function loadPage(page) {
  try {
    const r = await api(`/api/results?page=${page}`);
    ui.page = r.page;
    $("results-summary").textContent =
      `${r.total} recording${r.total === 1 ? "" : "s"}, model ${r.model.toUpperCase()}, ` +
      `${r.n} models each, seed ${r.seed}${r.verify ? "" : ", not verified"}. Select a recording to see its plots.`;
    const body = $("results-table").tBodies[0];
    body.replaceChildren(...r.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.index = row.index;
      tr.tabIndex = 0;
      cell(tr, row.id); cell(tr, row.label); cell(tr, row.spikes);
      cell(tr, withSd(row.predicted, "g_s")); cell(tr, withSd(row.predicted, "g_u"));
      cell(tr, withSd(row.refined, "g_s")); cell(tr, withSd(row.refined, "g_u"));
      cell(tr, row.acceptance === null ? "–" : `${fmt(100 * row.acceptance, 0)}%`);
      cell(tr, `${row.verified} / ${r.n}`);
      cell(tr, row.status).className = row.status === "ok" ? "ok" : "note";
      if (row.index === ui.recording) tr.classList.add("selected");
      tr.onclick = () => selectRecording(row.index);
      tr.onkeydown = (e) => { if (e.key === "Enter") selectRecording(row.index); };
      return tr;
    }));
    $("page-info").textContent = `page ${r.page + 1} of ${r.pages}`;
    $("prev").disabled = r.page === 0;
    $("next").disabled = r.page + 1 >= r.pages;
    show($("results-section"), true);
  } catch (e) {
    showError($("run-error"), e.message);
  }
}

async function selectRecording(index) {
  ui.recording = index;
  for (const tr of $("results-table").tBodies[0].rows) {
    tr.classList.toggle("selected", Number(tr.dataset.index) === index);
  }
  showError($("detail-error"), "");
  let d;
  try {
    d = await api(`/api/recording/${index}`);
  } catch (e) {
    showError($("detail-error"), e.message);
    return;
  }
  const row = d.row;
  $("detail-title").textContent = `Recording ${row.id}: ${row.label}, ${row.spikes} spikes, ` +
    `${row.population} models (${row.status})`;
  showError($("detail-error"), d.error ? `No population for this recording: ${d.error}` : "");
  ui.maxModels = d.max_models;
  $("max-models").textContent = d.max_models;
  ui.models = d.suggested.slice();
  const list = $("models");
  list.replaceChildren(...d.members.map((m) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = m.model;
    box.checked = ui.models.includes(m.model);
    box.onchange = () => toggleModel(box);
    label.append(box, ` model ${m.model}: g_s ${fmt(m.g_s)}, g_u ${fmt(m.g_u)}, score ${fmt(m.score, 3)}`);
    return label;
  }));
  $("trace-duration").value = d.trace_defaults.duration;
  $("trace-transient").value = d.trace_defaults.transient;
  $("trace-dt").value = d.trace_defaults.dt;
  show($("detail"), true);
  const hasPopulation = d.members.length > 0;
  drawRaster();
  for (const id of ["fig-dic", "fig-conductances", "fig-traces"]) show($(id), hasPopulation);
  show($("trace-form"), hasPopulation);
  if (hasPopulation) {
    drawFigure(holder("fig-dic"), plotUrl("dic"));
    drawFigure(holder("fig-conductances"), plotUrl("conductances"));
    drawTraces();
  }
}

function toggleModel(box) {
  const k = Number(box.value);
  if (box.checked) {
    if (ui.models.length >= ui.maxModels) {
      box.checked = false;
      showError($("detail-error"), `At most ${ui.maxModels} models at a time: untick one first.`);
      return;
    }
    ui.models.push(k);
  } else {
    ui.models = ui.models.filter((m) => m !== k);
  }
  showError($("detail-error"), "");
  drawRaster();
  drawTraces();
}

function holder(figureId) { return $(figureId).querySelector(".svg-holder"); }

function plotUrl(kind, extra = {}) {
  const q = new URLSearchParams({ recording: ui.recording, models: ui.models.join(","), ...extra });
  return `/api/plot/${kind}.svg?${q}`;
}

function traceParams() {
  return {
    duration: $("trace-duration").value.trim(),
    transient: $("trace-transient").value.trim(),
    dt: $("trace-dt").value.trim(),
  };
}

function drawRaster() { drawFigure(holder("fig-raster"), plotUrl("raster")); }

function drawTraces() {
  const params = traceParams();
  const q = new URLSearchParams({ recording: ui.recording, models: ui.models.join(","), ...params });
  $("export-traces").href = `/api/export/traces.csv?${q}`;
  if (!ui.models.length) {
    holder("fig-traces").replaceChildren(message("Tick at least one model to see its voltage trace."));
    return;
  }
  drawFigure(holder("fig-traces"), plotUrl("traces", params));
}

// ---------------------------------------------------------------------------------------------------------
// Figures: SVG drawn by the server, shown inline, exported as SVG (the server's file) or PNG (drawn here).

function message(text, error = false) {
  const p = document.createElement("p");
  p.className = error ? "error" : "hint";
  p.textContent = text;
  return p;
}

/** Shows the SVG at `url` in `el`, or the server's explanation when it cannot be drawn. */
async function drawFigure(el, url) {
  el.dataset.url = url;
  el.classList.add("loading");
  try {
    const response = await fetch(url);
    const text = await response.text();
    if (el.dataset.url !== url) return; // a newer request replaced this one
    if (!response.ok) {
      let error = text;
      try { error = JSON.parse(text).error; } catch (e) { /* not JSON: keep the text */ }
      el.replaceChildren(message(error, true));
      el.dataset.ready = "";
    } else {
      el.innerHTML = text;
      el.dataset.ready = "yes";
    }
  } catch (e) {
    el.replaceChildren(message("The spikepop server does not answer.", true));
  } finally {
    el.classList.remove("loading");
  }
}

function addExportButtons(figure) {
  const bar = document.createElement("div");
  bar.className = "figure-exports";
  const svg = document.createElement("a");
  svg.className = "button secondary";
  svg.textContent = "SVG";
  svg.href = "#";
  svg.onclick = (e) => {
    const url = figure.querySelector(".svg-holder").dataset.url;
    if (!url) { e.preventDefault(); return; }
    svg.href = `${url}${url.includes("?") ? "&" : "?"}download=1`;
  };
  const png = document.createElement("button");
  png.className = "secondary";
  png.textContent = "PNG";
  png.onclick = () => savePng(figure);
  bar.append("Save figure: ", svg, " ", png);
  figure.appendChild(bar);
}

/** Draws the figure's SVG on a canvas at twice its size and downloads it as PNG. */
function savePng(figure) {
  const el = figure.querySelector(".svg-holder svg");
  if (!el) return;
  const width = Number(el.getAttribute("width"));
  const height = Number(el.getAttribute("height"));
  const blob = new Blob([new XMLSerializer().serializeToString(el)], { type: "image/svg+xml" });
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 2 * width;
    canvas.height = 2 * height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(image.src);
    canvas.toBlob((png) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(png);
      a.download = `${figure.dataset.plot}-${ui.recording === null ? "preview" : ui.recording}.png`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }, "image/png");
  };
  image.src = URL.createObjectURL(blob);
}

// ---------------------------------------------------------------------------------------------------------
// Wiring

function setup() {
  const drop = $("drop");
  $("file").onchange = () => upload([...$("file").files]).finally(() => { $("file").value = ""; });
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    try {
      upload(await droppedFiles(e.dataTransfer));
    } catch (err) {
      showError($("load-error"), err.message);
    }
  };
  $("run").onclick = startRun;
  $("model-upload").onclick = uploadModel;
  $("cancel").onclick = cancelRun;
  $("prev").onclick = () => loadPage(ui.page - 1);
  $("next").onclick = () => loadPage(ui.page + 1);
  $("simulate").onclick = drawTraces;
  $("threshold-slider").oninput = () => { $("threshold-value").value = $("threshold-slider").value; };
  $("threshold-slider").onchange = detectAgain;
  $("threshold-value").onchange = detectAgain;
  $("detect-again").onclick = detectAgain;
  for (const figure of document.querySelectorAll("figure[data-plot]")) addExportButtons(figure);
  restore();
}

/** A reloaded page picks up what the server holds: the loaded file and the run. */
async function restore() {
  try {
    const s = await api("/api/state");
    if (s.data) showPreview(s.data);
    showStatus(s.status);
    if (s.status.state === "running") follow();
  } catch (e) {
    showError($("run-error"), e.message);
  }
}

setup();
