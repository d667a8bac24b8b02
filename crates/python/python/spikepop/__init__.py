"""spikepop: from recorded spike times to populations of conductance-based neuron models.

The same library as the ``spikepop`` command line, for notebooks and analysis pipelines::

    import spikepop
    trains = spikepop.read("examples/stg_set.csv")          # {ID: spike times in ms}
    spikepop.features(trains)                               # pandas DataFrame, one row per train
    spikepop.predict(trains, model="stg")                   # DICs (g_s, g_u) with their sd, label
    result = spikepop.reconstruct(trains, model="stg", n=100, seed=1)
    result.population, result.summary, result.settings      # DataFrames and the run's settings
    result.save("out/stg")                                  # exactly the files of `spikepop reconstruct`

Trains can be given as a file path (any format the command line reads), a dict ``{ID: times}``, a list of
arrays (IDs "1", "2", ...), a pandas DataFrame in one of the CSV layouts (``ID`` and ``spiking_times``: the
reference layout; ``ID`` and ``time``, ``time_ms`` or ``time_s``, one spike per row: the long layout), or a list of ``neo.SpikeTrain`` objects (converted to ms). Times are in ms. Every function takes
the same names and defaults as the command line's flags (``--tol-rate`` is ``tol_rate``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _native

__version__: str = _native.version()

__all__ = [
    "Reconstruction",
    "dataset",
    "detect",
    "dics",
    "evaluate",
    "export",
    "features",
    "generate",
    "models",
    "predict",
    "read",
    "reconstruct",
    "simulate",
    "synth",
    "train",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]
Trains = Union[PathLike, Mapping[Any, Any], Sequence[Any], "pd.DataFrame"]


def _whole(**least: Tuple[Any, int]) -> None:
    """Checks whole-number arguments: ``name=(value, least)``; ``None`` values keep their default."""
    for name, (value, low) in least.items():
        if value is None:
            continue
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r}: expected a whole number of at least {low}")


def models() -> List[str]:
    """The names of the built-in models (``stg``, ``da``). Any function also takes a model file's path."""
    return list(_native.models())


def read(path: PathLike, format: Optional[str] = None, unit: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Reads every spike train of a file, as ``spikepop features --input`` does.

    Args:
        path: a file (reference CSV, long table, text, NWB) or a phy/Kilosort folder.
        format: ``reference``, ``long``, ``text``, ``phy`` or ``nwb``; guessed from the path when None.
        unit: ``ms`` or ``s`` for the reference, long and text formats (default ms).

    Returns:
        ``{ID: spike times in ms}`` in the file's order. What the reader noticed (sorted trains, removed
        duplicates) is reported with :func:`warnings.warn`.
    """
    ids, times, _ = _read(path, format, unit)
    return dict(zip(ids, times))


def synth(
    kind: str = "tonic",
    n: int = 1,
    seed: int = 0,
    *,
    rate: Optional[float] = None,
    period: Optional[float] = None,
    spikes_per_burst: Optional[int] = None,
    intra_hz: Optional[float] = None,
    duration: float = 10_000.0,
    jitter: float = 0.0,
    drop: float = 0.0,
) -> Dict[str, np.ndarray]:
    """Synthetic spike trains with known structure (``spikepop synth``): ``{ID: spike times in ms}``.

    Args:
        kind: ``tonic`` (regular at ``rate`` Hz, default 10), ``bursting`` (``spikes_per_burst`` spikes, default
            5, at ``intra_hz``, default 100, every ``period`` ms, default 1000), ``poisson`` or ``irregular``
            (gamma, shape 2) at ``rate``.
        n: trains; seed: random seed (the same trains for the same seed).
        duration: ms; jitter: sd of Gaussian jitter on every spike (ms); drop: probability of missing a spike.
    """
    _whole(n=(n, 1), seed=(seed, 0))
    ids, times = _native.synth(kind, n, seed, float(duration), float(jitter), float(drop), rate=rate,
                               period=period, spikes_per_burst=spikes_per_burst, intra_hz=intra_hz)
    return dict(zip(ids, times))


def _read(path: PathLike, format: Optional[str], unit: Optional[str]) -> Tuple[List[str], List[np.ndarray], str]:
    """IDs, times and the format of a file; what the reader noticed becomes a warning (at the user's call)."""
    ids, times, fmt, notes = _native.read(os.fspath(path), format, unit)
    for note in notes:
        warnings.warn(note, stacklevel=4)
    return list(ids), list(times), fmt


def _times(x: Any) -> np.ndarray:
    """Spike times in ms as a float array: numpy-like, or a neo/quantities object (converted to ms)."""
    if hasattr(x, "rescale"):
        x = x.rescale("ms").magnitude
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64).ravel())


def _parse_cell(cell: Any) -> np.ndarray:
    """A ``spiking_times`` cell: the reference layout's ``"[t1, t2, ...]"`` text (read by the library's
    parser), or a sequence."""
    if isinstance(cell, str):
        return _native.parse_train(cell)
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return np.empty(0)
    return _times(cell)


def _trains(trains: Trains, format: Optional[str] = None, unit: Optional[str] = None) -> Tuple[List[str], List[np.ndarray], str, str]:
    """IDs, times, and how `run.json` names the input and its format."""
    if isinstance(trains, (str, os.PathLike)):
        ids, times, fmt = _read(trains, format, unit)
        return ids, times, os.fspath(trains), fmt
    if isinstance(trains, pd.DataFrame):
        time_columns = {"time", "spike_time", "time_ms", "spike_time_ms", "time_s", "spike_time_s"}
        if "spiking_times" not in trains.columns and any(str(c).strip().lower() in time_columns for c in trains.columns):
            # The long layout (one spike per row): read exactly as the command line reads such a file.
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "trains.csv")
                trains.to_csv(path, index=False)
                ids, times, _, notes = _native.read(path, "long", unit)
            for note in notes:
                warnings.warn(note.replace(path, "DataFrame"), stacklevel=3)
            return list(ids), list(times), "<python>", "python"
        if "spiking_times" not in trains.columns:
            raise ValueError(
                "a DataFrame of trains needs a spiking_times column (the reference layout) or a time column "
                f"(time, time_ms or time_s: the long layout, one spike per row); found {list(trains.columns)}"
            )
        ids = [str(i) for i in trains["ID"]] if "ID" in trains.columns else [str(i + 1) for i in range(len(trains))]
        return ids, [_parse_cell(c) for c in trains["spiking_times"]], "<python>", "python"
    if isinstance(trains, Mapping):
        return [str(k) for k in trains.keys()], [_times(v) for v in trains.values()], "<python>", "python"
    if isinstance(trains, Iterable):
        items = list(trains)
        ids = []
        for i, t in enumerate(items):
            name = getattr(t, "name", None)
            ids.append(str(name) if isinstance(name, str) and name else str(i + 1))
        return ids, [_times(t) for t in items], "<python>", "python"
    raise TypeError(
        f"trains: expected a path, a dict of arrays, a list of arrays or neo SpikeTrains, or a DataFrame; got {type(trains).__name__}"
    )


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"ID": str}, keep_default_na=True)


def features(trains: Trains) -> pd.DataFrame:
    """The firing-pattern features of every train (the columns of ``spikepop features``): label, rate, ISI
    statistics, burst statistics. NaN where a feature does not apply."""
    ids, times, _, _ = _trains(trains)
    return _frame(_native.features_csv(ids, times))


def predict(trains: Trains, model: str = "stg", weights: Optional[PathLike] = None, threads: Optional[int] = None, noise: Optional[float] = None) -> pd.DataFrame:
    """The predicted DICs of every train (the columns of ``spikepop predict``): ``ID, label, g_s, sd_g_s,
    g_u, sd_g_u, p_<label>..., ood, windows``.

    Args:
        trains: see the module's documentation.
        model: a built-in model's name or a model file's path.
        weights: a weights file written by ``spikepop train`` (default: the built-in weights).
        threads: worker threads (default: all cores); results do not depend on it.
        noise: the sd of the recordings' current noise in uA/cm² (0: noise-free), when known, for weights
            that read it (the built-in STG and DA weights; ``spikepop predict --noise``); default: not told.
    """
    ids, times, _, _ = _trains(trains)
    w = os.fspath(weights) if weights is not None else None
    return _frame(_native.predict_csv(ids, times, model, w, threads, noise))


Population = Union[PathLike, "pd.DataFrame"]


def _population(population: Population, model: str) -> Dict[str, Any]:
    """How the native side takes a population: a file path, or columns from a DataFrame with ``ID``, an
    optional ``model`` and one column per conductance of the model (the layout of ``population.csv``)."""
    if isinstance(population, (str, os.PathLike)):
        return {"path": os.fspath(population)}
    if isinstance(population, pd.DataFrame):
        names = _native.conductances(model)
        missing = [c for c in ["ID", *names] if c not in population.columns]
        if missing:
            raise ValueError(
                f"population: missing column(s) {', '.join(missing)}; expected ID,[model,]{','.join(names)}"
            )
        ids = [str(i) for i in population["ID"]]
        members = [str(m) for m in population["model"]] if "model" in population.columns else None
        g = population[names].to_numpy(dtype=np.float64).tolist()
        return {"columns": (ids, members, g)}
    raise TypeError(f"population: expected a path or a DataFrame; got {type(population).__name__}")


def generate(
    model: str = "stg",
    g_s: Optional[float] = None,
    g_u: Optional[float] = None,
    n: int = 16,
    seed: int = 0,
    *,
    sd_g_s: float = 0.0,
    sd_g_u: float = 0.0,
    id: str = "0",
    targets: Union[None, PathLike, "pd.DataFrame"] = None,
    pair: Optional[Sequence[str]] = None,
    vth: Optional[float] = None,
    max_attempts: int = 1000,
    threads: Optional[int] = None,
) -> pd.DataFrame:
    """Populations of models whose slow and ultraslow DICs reach targets (``spikepop generate``):
    ``ID, model, g_<channel>..., g_f, g_s, g_u``, exactly ``n`` per target, every conductance >= 0.

    Args:
        model: a built-in model's name or a model file's path.
        g_s, g_u: one target (with ``sd_g_s``, ``sd_g_u``: each model draws its own target from a Gaussian;
            ``id`` names it); or ``targets``: a CSV's path or a DataFrame with ``ID, g_s, g_u`` and optionally
            ``sd_g_s, sd_g_u``.
        n: models per target. seed: random seed; the result does not depend on ``threads``.
        pair: the two channels compensated, e.g. ``["A", "H"]`` (default: the model's rule per target).
        vth: the voltage (mV) of the DICs (default the model's V_th). max_attempts: seeds a model may try.
    """
    _whole(n=(n, 1), seed=(seed, 0), max_attempts=(max_attempts, 1))
    kwargs: Dict[str, Any] = dict(n=n, seed=seed, pair=list(pair) if pair is not None else None, vth=vth,
                                  max_attempts=max_attempts, threads=threads)
    if targets is not None:
        if g_s is not None or g_u is not None:
            raise ValueError("give g_s and g_u, or targets, not both")
        if isinstance(targets, pd.DataFrame):
            missing = [c for c in ("ID", "g_s", "g_u") if c not in targets.columns]
            if missing:
                raise ValueError(f"targets: missing column(s) {', '.join(missing)}; expected ID,g_s,g_u[,sd_g_s,sd_g_u]")
            rows = [
                (str(r["ID"]), float(r["g_s"]), float(r["g_u"]), float(r.get("sd_g_s", 0.0)), float(r.get("sd_g_u", 0.0)))
                for _, r in targets.iterrows()
            ]
            text = _native.generate_csv(model, targets=rows, **kwargs)
        else:
            text = _native.generate_csv(model, targets_path=os.fspath(targets), **kwargs)
    else:
        if g_s is None or g_u is None:
            raise ValueError("give g_s and g_u, or targets")
        text = _native.generate_csv(model, targets=[(str(id), float(g_s), float(g_u), float(sd_g_s), float(sd_g_u))], **kwargs)
    return _frame(text)


def dics(population: Population, model: str = "stg", vth: Union[None, float, str] = None, threads: Optional[int] = None) -> pd.DataFrame:
    """The threshold voltage and the DICs of every model of a population (``spikepop dics``):
    ``ID, [model,] V_th, g_f, g_s, g_u, g_t``, dimensionless (divided by g_leak).

    Args:
        population: a population file's path or a DataFrame in its layout (``ID``, optional ``model``, one
            column per conductance, e.g. ``Reconstruction.population``).
        model: a built-in model's name or a model file's path.
        vth: the voltage (mV) of the DICs, or ``"auto"`` for each model's first downward zero crossing of g_t
            on [-90, 0] mV; default the model's V_th.
        threads: worker threads (default: all cores); results do not depend on it.
    """
    v = None if vth is None else str(vth)
    return _frame(_native.dics_csv(model, vth=v, threads=threads, **_population(population, model)))


def simulate(
    population: Population,
    model: str = "stg",
    duration: Optional[float] = None,
    transient: Optional[float] = None,
    dt: Optional[float] = None,
    noise: float = 0.0,
    seed: int = 0,
    threads: Optional[int] = None,
) -> pd.DataFrame:
    """Simulates every model of a population (``spikepop simulate``): ``ID, [model,] n_spikes,
    spiking_times``, the spike times (absolute ms, after the transient) as numpy arrays.

    Args:
        population: as for :func:`dics`.
        model: a built-in model's name or a model file's path.
        duration, transient, dt: ms; default the model's (STG and DA: 6,000 / 12,000, 3,000, 0.05).
        noise: sigma of the injected current noise (uA/cm^2, 1 kHz low-pass); seed: its seed.
        threads: worker threads (default: all cores); results do not depend on it.

    Ctrl-C (a notebook's interrupt) stops the run with KeyboardInterrupt.
    """
    _whole(seed=(seed, 0))
    text = _native.simulate_csv(
        model,
        duration=duration,
        transient=transient,
        dt=dt,
        noise=noise,
        seed=seed,
        threads=threads,
        **_population(population, model),
    )
    frame = _frame(text)
    frame["spiking_times"] = [_parse_cell(c) for c in frame["spiking_times"]]
    return frame


def export(population: Population, output: PathLike, format: str, model: str = "stg") -> List[str]:
    """Writes a population for another simulator (``spikepop export``): ``format`` ``"neuron"`` (an NMODL
    mechanism per channel and ``run.py``), ``"brian2"`` (``run.py`` with the equations) or ``"neuroml"`` (NeuroML 2
    cells and ion channels, a LEMS simulation and ``run.py``), with a README of the conventions, into the folder
    ``output`` (written whole; an existing folder is replaced). Members of a population with a ``model`` column
    are named ``ID/model``. See docs/interop.md.

    Args:
        population: as for :func:`dics` (a path, or a DataFrame such as ``Reconstruction.population``).
        output: the folder to write.
        format: ``"neuron"``, ``"brian2"`` or ``"neuroml"``.
        model: a built-in model's name or a model file's path.

    Returns:
        The paths of the files written.
    """
    files = _native.export(model, format, os.fspath(output), **_population(population, model))
    return [os.fspath(f) for f in files]


class Reconstruction:
    """What :func:`reconstruct` returns: the population, the summary and the settings of the run."""

    def __init__(self, population: bytes, summary: bytes, run: bytes):
        self._files = (population, summary, run)
        #: The verified models: ``ID, model, g_<channel>..., g_f, g_s, g_u, score, verified``.
        self.population: pd.DataFrame = _frame(population.decode())
        #: One row per recording: label, features, predicted and refined DICs, candidates, status, widths.
        self.summary: pd.DataFrame = _frame(summary.decode())
        #: Every setting of the run (the content of ``run.json``).
        self.settings: Dict[str, Any] = json.loads(run)

    def save(self, directory: PathLike) -> None:
        """Writes ``population.csv``, ``summary.csv`` and ``run.json`` into ``directory``, byte for byte what
        ``spikepop reconstruct -o directory`` writes for the same inputs and seed. The folder appears whole or
        not at all; an existing one is replaced only if it holds an earlier reconstruction."""
        _native.save(os.fspath(directory), *self._files)

    def __repr__(self) -> str:
        n = len(self.summary)
        ok = int((self.summary["status"] == "ok").sum()) if "status" in self.summary else 0
        return f"<spikepop.Reconstruction: {n} recordings, {ok} ok, {len(self.population)} models>"


def _progress_bar(total: int, desc: str = "reconstructing", unit: str = "recording") -> Optional[Callable[..., None]]:
    """A tqdm bar fed with ``(done, total[, message])``, or None without tqdm. ``total`` may grow later."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    bar = tqdm(total=total or None, desc=desc, unit=unit)

    def update(done: int, _total: int, message: str = "") -> None:
        if _total and bar.total != _total:
            bar.total = _total
        bar.update(done - bar.n)
        if message:
            bar.set_postfix_str(message, refresh=False)
        if _total and done >= _total:
            bar.close()

    return update


def reconstruct(
    trains: Trains,
    model: str = "stg",
    n: int = 100,
    seed: int = 0,
    *,
    weights: Optional[PathLike] = None,
    prior: Optional[PathLike] = None,
    max_candidates: Optional[int] = None,
    verify: bool = True,
    refine_rounds: Optional[int] = None,
    tonic_spread: Optional[float] = None,
    bursting_spread: Optional[float] = None,
    tonic_tries: Optional[int] = None,
    tonic_rate_share: Optional[float] = None,
    min_window: Optional[float] = None,
    noise: Optional[float] = None,
    dt: Optional[float] = None,
    tol_rate: Optional[float] = None,
    tol_period: Optional[float] = None,
    tol_spikes_per_burst: Optional[float] = None,
    tol_burst_duration: Optional[float] = None,
    format: Optional[str] = None,
    unit: Optional[str] = None,
    threads: Optional[int] = None,
    progress: Union[bool, Callable[[int, int], None]] = True,
) -> Reconstruction:
    """Verified degenerate populations, one per recording: ``spikepop reconstruct`` from Python.

    For every recording, the DIC distribution is predicted (or read from ``prior``), candidates are drawn
    over it, simulated and verified against the recording, until ``n`` pass or ``max_candidates`` are spent.
    ``None`` keeps the command line's default for every setting (``docs/reconstruct.md``).

    Args:
        trains: a path (any format the command line reads; ``format`` and ``unit`` as for :func:`read`), or
            trains as described in the module's documentation.
        model: a built-in model's name or a model file's path.
        n: verified models wanted per recording (the command line's ``-n``).
        seed: random seed; the result does not depend on ``threads``.
        weights: predictor weights (default: the built-in weights).
        prior: a CSV of DIC distributions (``ID,g_s,sd_g_s,g_u,sd_g_u``, what ``spikepop predict`` writes)
            instead of the predictor.
        max_candidates: candidates simulated at most per recording (default 30 n).
        verify: False reproduces the reference's behaviour (n candidates, neither simulated nor checked).
        refine_rounds, tonic_spread, tonic_tries, tonic_rate_share, bursting_spread, min_window, noise, dt: the search and
            simulation settings.
        tol_rate, tol_period, tol_spikes_per_burst, tol_burst_duration: verification tolerances.
        threads: worker threads (default: all cores).
        progress: True shows a tqdm bar when tqdm is installed; a callable gets ``(done, total)``.

    Returns:
        A :class:`Reconstruction`. Ctrl-C (or a notebook's interrupt) stops the run with KeyboardInterrupt.
    """
    _whole(n=(n, 1), seed=(seed, 0), max_candidates=(max_candidates, 1), refine_rounds=(refine_rounds, 0),
           tonic_tries=(tonic_tries, 1))
    ids, times, input_name, fmt = _trains(trains, format, unit)
    settings = dict(
        n=n,
        seed=seed,
        max_candidates=max_candidates,
        verify=verify,
        refine_rounds=refine_rounds,
        tonic_spread=tonic_spread,
        tonic_tries=tonic_tries,
        tonic_rate_share=tonic_rate_share,
        bursting_spread=bursting_spread,
        min_window=min_window,
        noise=noise,
        dt=dt,
        tol_rate=tol_rate,
        tol_period=tol_period,
        tol_spikes_per_burst=tol_spikes_per_burst,
        tol_burst_duration=tol_burst_duration,
    )
    callback = _progress_bar(len(ids)) if progress is True else (progress or None)
    files = _native.reconstruct(
        ids,
        times,
        model,
        _Settings(settings),
        input_name,
        fmt,
        os.fspath(weights) if weights is not None else None,
        os.fspath(prior) if prior is not None else None,
        threads,
        callback,
    )
    return Reconstruction(*files)


class _Settings:
    """The keyword arguments of :func:`reconstruct`, read by the native side by attribute."""

    def __init__(self, values: Dict[str, Any]):
        self.__dict__.update(values)


def dataset(
    model: str,
    targets: int,
    output: PathLike,
    *,
    per_target: Optional[int] = None,
    seed: int = 0,
    noise: float = 0.0,
    duration: Optional[float] = None,
    transient: Optional[float] = None,
    dt: Optional[float] = None,
    gs_range: Optional[Tuple[float, float]] = None,
    gu_range: Optional[Tuple[float, float]] = None,
    shard: str = "0/1",
    format: str = "parquet",
    resume: bool = False,
    group_targets: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Union[bool, Callable[[int, int], None]] = True,
) -> Dict[str, Any]:
    """Training data for the predictor: ``spikepop dataset`` from Python.

    Draws ``targets`` (g_s, g_u) targets over the training range (Latin hypercube), generates ``per_target``
    models compensated to each, simulates them and writes one row per model (conductances, DICs, spike
    times, features, label) into the folder ``output``, group by group: an interrupted run keeps every
    finished group and continues with ``resume=True``. ``shard="k/K"`` makes the k-th of K parts of the same
    data set (for clusters; ``spikepop dataset merge`` joins them).

    Args:
        model: a built-in model's name or a model file's path.
        targets: number of (g_s, g_u) targets.
        output: the data set's folder.
        per_target: models per target (default 16).
        seed: random seed of the targets, models and noise.
        noise: current noise sigma (uA/cm^2) of the simulations; 0 for none.
        duration, transient, dt: simulated ms, ms dropped at the start, step (default: the model's).
        gs_range, gu_range: ranges ``(A, B)`` of the targets (default: the model's training range).
        shard, format, resume, group_targets: as the command line's ``--shard``, ``--format`` (parquet or
            csv), ``--resume`` and ``--group-targets``.
        threads: worker threads (default: all cores).
        progress: True shows a tqdm bar (models) when tqdm is installed; a callable gets ``(done, total)``.

    Returns:
        ``{"file": the part file written, "manifest": the folder's manifest (settings and summary: rows,
        label counts), "simulated": models simulated by this call, "seconds": its time}``. Targets whose
        models cannot be compensated are skipped with a warning. Ctrl-C stops after the group in progress
        (KeyboardInterrupt; the folder can be resumed).
    """
    _whole(targets=(targets, 1), per_target=(per_target, 1), seed=(seed, 0), group_targets=(group_targets, 1))
    callback = _progress_bar(0, "simulating", "model") if progress is True else (progress or None)
    manifest, part, simulated, seconds, notes = _native.dataset(
        model,
        int(targets),
        os.fspath(output),
        per_target,
        int(seed),
        float(noise),
        duration,
        transient,
        dt,
        None if gs_range is None else tuple(map(float, gs_range)),
        None if gu_range is None else tuple(map(float, gu_range)),
        shard,
        format,
        bool(resume),
        group_targets,
        threads,
        callback,
    )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return {"file": part, "manifest": json.loads(manifest), "simulated": simulated, "seconds": seconds}


def train(
    model: str,
    data: Union[PathLike, Sequence[PathLike]],
    output: PathLike,
    *,
    val: Optional[PathLike] = None,
    epochs: Optional[int] = None,
    seed: int = 0,
    resume: bool = False,
    hidden: Optional[Sequence[int]] = None,
    batch: Optional[int] = None,
    lr: Optional[float] = None,
    loss: Optional[str] = None,
    beta: Optional[float] = None,
    p_clean: Optional[float] = None,
    max_jitter_ms: Optional[float] = None,
    p_log_jitter: Optional[float] = None,
    p_quantize: Optional[float] = None,
    max_drop: Optional[float] = None,
    p_window: Optional[float] = None,
    resolution_ms: Optional[float] = None,
    init: Optional[PathLike] = None,
    p_isi_noise: Optional[float] = None,
    max_isi_noise: Optional[float] = None,
    features_version: Optional[int] = None,
    p_solver_noise: Optional[float] = None,
    max_solver_noise: Optional[float] = None,
    p_drift: Optional[float] = None,
    max_drift: Optional[float] = None,
    p_noise_told: Optional[float] = None,
    threads: Optional[int] = None,
    progress: Union[bool, Callable[[int, int, str], None]] = True,
) -> Dict[str, Any]:
    """Trains the DIC predictor: ``spikepop train`` from Python.

    Reads the training trains of ``data`` (folders or files written by :func:`dataset`, Parquet or CSV, or any
    CSV with ``g_s, g_u, spiking_times``; a folder with ``train.*`` and ``val.*`` sets gives both), trains
    the network with the augmentations, keeps the epoch of lowest validation loss, calibrates its sd on the
    validation trains and writes the weights (safetensors) to ``output``, usable as ``weights=`` by
    :func:`predict` and :func:`reconstruct`. Checkpoints go to ``<output>.ckpt`` after every epoch.

    Args:
        model: a built-in model's name or a model file's path (the weights serve that model alone).
        data: one path or several.
        output: the weights file to write.
        val: validation data (default: each source's ``val.*`` set, or 10% of its targets held out).
        epochs, seed, hidden, batch, lr, loss (``gaussian`` or ``laplace``), beta: training settings.
        p_clean, max_jitter_ms, p_log_jitter, p_quantize, max_drop, p_window, resolution_ms, p_isi_noise,
            max_isi_noise, p_solver_noise, max_solver_noise, p_drift, max_drift: the augmentations;
            features_version: the feature vector read; p_noise_told: the share of trains told their noise
            amplitude (the network then also reads ``predict(..., noise=...)``).
        init: weights to start from (fine-tuning).
        resume: continue an interrupted run from its last checkpoint (same settings and data).
        threads: worker threads (default: all cores).
        progress: True shows a tqdm bar (batches) when tqdm is installed; a callable gets
            ``(done, total, message)``.

    Every ``None`` keeps the command line's default (``spikepop train --help``).

    Returns:
        ``{"output", "train_trains", "val_trains", "epochs", "best_epoch", "history" (train and validation
        loss per epoch), "temperature", "parameters"}``. Ctrl-C stops between batches (KeyboardInterrupt;
        call again with ``resume=True``).
    """
    _whole(epochs=(epochs, 1), seed=(seed, 0), batch=(batch, 1), features_version=(features_version, 1))
    paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    callback = _progress_bar(0, "training", "batch") if progress is True else (progress or None)
    args = _Settings(dict(
        epochs=epochs,
        seed=int(seed),
        resume=bool(resume),
        hidden=None if hidden is None else [int(h) for h in hidden],
        batch=batch,
        lr=lr,
        loss=loss,
        beta=beta,
        p_clean=p_clean,
        max_jitter_ms=max_jitter_ms,
        p_log_jitter=p_log_jitter,
        p_quantize=p_quantize,
        max_drop=max_drop,
        p_window=p_window,
        resolution_ms=resolution_ms,
        p_isi_noise=p_isi_noise,
        max_isi_noise=max_isi_noise,
        p_solver_noise=p_solver_noise,
        max_solver_noise=max_solver_noise,
        p_drift=p_drift,
        max_drift=max_drift,
        features_version=features_version,
        p_noise_told=p_noise_told,
        init=os.fspath(init) if init is not None else None,
    ))
    summary = _native.train(
        model,
        [os.fspath(p) for p in paths],
        os.fspath(output),
        os.fspath(val) if val is not None else None,
        args,
        threads,
        callback,
    )
    return json.loads(summary)


def evaluate(
    model: str = "stg",
    data: Optional[PathLike] = None,
    *,
    benchmark: Optional[PathLike] = None,
    weights: Optional[PathLike] = None,
    baseline_data: Optional[PathLike] = None,
    same_cells_as: Optional[PathLike] = None,
    jitter_ms: float = 0.0,
    drop: float = 0.0,
    grid_ms: float = 0.0,
    seed: int = 0,
    copies: Optional[int] = None,
    threads: Optional[int] = None,
) -> pd.DataFrame:
    """The predictor's error table: ``spikepop evaluate`` from Python.

    On a test set with known DICs (``data``: a data set, its ``test.*`` set when it has one, or a CSV with
    ``g_s, g_u, spiking_times``), or on a benchmark folder (``benchmark``: every domain, and all of them
    pooled, next to the rate-only baseline and the reference's published figures).

    Args:
        model: a built-in model's name or a model file's path.
        data: the test set (or give ``benchmark``).
        benchmark: a benchmark folder (``benchmarks/foreign-small/stg``).
        weights: predictor weights (default: the built-in ones).
        baseline_data: training trains to fit the rate-only baseline on, for weights without one.
        same_cells_as: keep the cells that fire in this test set too (noisy against noise-free trains).
        jitter_ms, drop, grid_ms, seed: perturb the test trains (spike-time jitter sd, probability of missing
            each spike, sampling grid; seeded).
        copies: blurred copies pooled per train (default 4).
        threads: worker threads (default: all cores).

    Returns:
        A DataFrame with the CSV columns of ``spikepop evaluate -o``: ``[domain,] group, n, mae_g_s,
        mae_g_u, median_g_s, median_g_u, in_1sd_g_s, in_1sd_g_u, in_2sd_g_s, in_2sd_g_u, label_accuracy``
        (shares as fractions), and for a benchmark ``ood_share`` and the baseline's and the reference's
        figures. The notes the command line prints come as warnings.
    """
    _whole(seed=(seed, 0), copies=(copies, 1))
    for name, value in (("jitter_ms", jitter_ms), ("grid_ms", grid_ms)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value!r}: expected a finite number of ms >= 0")
    if not 0 <= drop < 1:
        raise ValueError(f"drop={drop!r}: expected a probability from 0 to below 1")
    path = lambda p: os.fspath(p) if p is not None else None  # noqa: E731
    table, notes = _native.evaluate_csv(
        model,
        path(data),
        path(benchmark),
        path(weights),
        path(baseline_data),
        path(same_cells_as),
        float(jitter_ms),
        float(drop),
        float(grid_ms),
        int(seed),
        copies,
        threads,
    )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return _frame(table)


def detect(
    traces: Union[PathLike, Mapping[Any, Tuple[Any, Any]]],
    *,
    threshold: float = 0.0,
    hysteresis: float = 10.0,
    refractory: float = 1.0,
    min_slope: Optional[float] = None,
    at: str = "crossing",
    unit: Optional[str] = None,
    channel: Optional[Union[str, int]] = None,
    sweep: Optional[int] = None,
    rate_hz: Optional[float] = None,
) -> Dict[str, np.ndarray]:
    """Spike times from membrane-potential traces: ``spikepop detect`` from Python.

    A spike is an upward crossing of ``threshold`` (mV); the next counts only after the trace has fallen
    ``hysteresis`` mV below it and ``refractory`` ms have passed; ``min_slope`` (mV/ms) leaves out slower
    crossings. The time is the crossing, interpolated between samples, or with ``at="peak"`` the highest sample.
    ``threshold=10`` is the simulator's own rule.

    Args:
        traces: a recording's path: Axon ABF 1/2 (``.abf``, every sweep of every voltage channel), NWB current
            clamp (``.nwb``), a numpy array of mV (``.npy``, with ``rate_hz``) or a CSV/TSV trace file (long or
            wide, ``docs/features.md``; ``unit`` as for :func:`read`); or a dict ``{ID: (times in ms, voltages in
            mV)}`` of arrays.
        channel: a file's path only: one channel (an ABF channel's name or index, an NWB series, a text file's
            trace, a ``.npy`` column).
        sweep: a file's path only: one sweep of an ABF or NWB file, from 0.
        rate_hz: the sampling rate of a ``.npy`` array.

    Returns:
        ``{ID: numpy array of spike times in ms}``, which every function taking trains accepts.
    """
    if isinstance(traces, (str, os.PathLike)):
        ids, times, notes = _native.detect(os.fspath(traces), None, float(threshold), float(hysteresis),
                                           float(refractory), min_slope, at, unit,
                                           None if channel is None else str(channel), sweep,
                                           None if rate_hz is None else float(rate_hz))
        for note in notes:
            warnings.warn(note, stacklevel=2)
    else:
        if channel is not None or sweep is not None or rate_hz is not None:
            raise ValueError("channel, sweep and rate_hz apply to a recording's path, not to a dict of traces")
        items = [(str(k), np.ascontiguousarray(t, dtype=float), np.ascontiguousarray(v, dtype=float))
                 for k, (t, v) in traces.items()]
        ids, times, _ = _native.detect(None, items, float(threshold), float(hysteresis), float(refractory),
                                       min_slope, at, unit)
    return dict(zip(ids, times))
