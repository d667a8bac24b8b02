"""The Python package against the command line: same files for the same inputs and seed, the same errors
worded for Python, and the input forms a notebook user has (paths, dicts, lists, DataFrames, neo-like
objects). The command line is `SPIKEPOP_BIN` or the release build in the repository's target folder."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spikepop

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "stg_set.csv"


def cli():
    exe = os.environ.get("SPIKEPOP_BIN") or str(ROOT / "target" / "release" / "spikepop")
    if not Path(exe).exists():
        pytest.skip(f"no spikepop binary at {exe}; build it with cargo build --release")
    return exe


def run_cli(*args):
    out = subprocess.run([cli(), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def test_reconstruct_saves_exactly_the_command_lines_files(tmp_path):
    run_cli("reconstruct", "--model", "stg", "--input", EXAMPLE, "-n", 12, "--seed", 7, "--bursting-spread", 2,
            "--max-candidates", 250, "-o", tmp_path / "cli")
    result = spikepop.reconstruct(str(EXAMPLE), model="stg", n=12, seed=7, bursting_spread=2.0, max_candidates=250,
                                  progress=False)
    result.save(tmp_path / "py")
    for name in ["population.csv", "summary.csv", "run.json"]:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    # What the objects hold is what the files say.
    # Five recordings, all firing, 12 models each, but for the doublets of recording 5 (acceptance about 0.06),
    # which with a budget of 250 candidates (the default is 30 n = 360) and the bursting spread of 2 finds fewer
    # (7 with the STG network of session 25, 11 with that of session 28) and says so.
    assert list(result.summary["ID"]) == ["1", "2", "3", "4", "5"]
    statuses = list(result.summary["status"])
    assert statuses[:4] == ["ok"] * 4
    found = re.fullmatch(r"budget spent: (\d+) of 12 verified", statuses[4])
    assert found and 0 < int(found.group(1)) < 12, statuses[4]
    assert len(result.population) == 4 * 12 + int(found.group(1))
    assert (result.population.groupby("ID").size() == [12, 12, 12, 12, int(found.group(1))]).all()
    assert result.settings["seed"] == 7 and result.settings["n"] == 12 and result.settings["bursting_spread"] == 2.0
    assert result.settings["max_candidates"] == 250
    assert result.settings["tolerances"]["rate"] == 0.1


def test_features_and_predictions_are_the_command_lines(tmp_path):
    run_cli("features", "--input", EXAMPLE, "-o", tmp_path / "f.csv")
    run_cli("predict", "--model", "stg", "--input", EXAMPLE, "-o", tmp_path / "p.csv")
    trains = spikepop.read(EXAMPLE)
    f = spikepop.features(trains)
    pd.testing.assert_frame_equal(f, pd.read_csv(tmp_path / "f.csv", dtype={"ID": str}))
    p = spikepop.predict(trains, model="stg")
    pd.testing.assert_frame_equal(p, pd.read_csv(tmp_path / "p.csv", dtype={"ID": str}))
    assert list(p["label"]) == ["tonic", "bursting", "bursting", "bursting", "bursting"]



def test_a_told_noise_amplitude_is_the_command_line_s(tmp_path):
    noisy = ROOT / "benchmarks" / "foreign-small" / "da" / "noise2.csv"
    run_cli("predict", "--model", "da", "--input", noisy, "--noise", 2, "-o", tmp_path / "p.csv")
    p = spikepop.predict(str(noisy), model="da", noise=2.0)
    pd.testing.assert_frame_equal(p, pd.read_csv(tmp_path / "p.csv", dtype={"ID": str}))
    untold = spikepop.predict(str(noisy), model="da")
    assert (p["sd_g_u"] < untold["sd_g_u"]).mean() > 0.5
    ca1 = ROOT / "examples" / "models" / "ca1_golomb2006"
    with pytest.raises(ValueError, match="noise=5: these weights do not read the noise amplitude"):
        spikepop.predict(str(EXAMPLE), model=str(ca1) + ".toml", weights=str(ca1) + ".safetensors", noise=5.0)

def test_every_input_form_gives_the_same_trains():
    trains = spikepop.read(EXAMPLE)
    assert list(trains) == ["1", "2", "3", "4", "5"]
    assert all(isinstance(t, np.ndarray) and t.dtype == np.float64 for t in trains.values())
    want = spikepop.features(trains)

    class Quantity:  # what neo.SpikeTrain offers: rescale("ms").magnitude, and a name
        def __init__(self, seconds, name):
            self.seconds, self.name = seconds, name

        def rescale(self, unit):
            assert unit == "ms"
            return type("Q", (), {"magnitude": self.seconds * 1000.0})()

    forms = [
        str(EXAMPLE),
        EXAMPLE,
        {k: list(v) for k, v in trains.items()},
        [v for v in trains.values()],
        [Quantity(v / 1000.0, k) for k, v in trains.items()],
        pd.read_csv(EXAMPLE, dtype={"ID": str}),
        # The long layout, one spike per row, in seconds.
        pd.DataFrame(
            [(k, t / 1000.0) for k, v in trains.items() for t in v], columns=["ID", "time_s"]
        ),
    ]
    for form in forms:
        got = spikepop.features(form)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


def test_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"tol_rate=-0.5: expected a number >= 0"):
        spikepop.reconstruct(str(EXAMPLE), tol_rate=-0.5, progress=False)
    with pytest.raises(ValueError, match=r"tonic_spread=0.5: expected a number of at least 1"):
        spikepop.reconstruct(str(EXAMPLE), tonic_spread=0.5, progress=False)
    with pytest.raises(ValueError, match=r"bursting_spread=0.5: expected a number of at least 1"):
        spikepop.reconstruct(str(EXAMPLE), bursting_spread=0.5, progress=False)
    with pytest.raises(ValueError, match=r"n=0: expected a whole number of at least 1"):
        spikepop.reconstruct(str(EXAMPLE), n=0, progress=False)
    with pytest.raises(ValueError, match="unknown model|no such|cannot"):
        spikepop.predict(str(EXAMPLE), model="no-such-model")
    with pytest.raises(OSError, match="no such file"):
        spikepop.read(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="not a finite number"):
        spikepop.features({"a": [1.0, float("nan"), 3.0]})
    bad = tmp_path / "bad.csv"
    bad.write_text('ID,spiking_times\n1,"[3000.0, 3100.0"\n')
    with pytest.raises(ValueError, match=r"bad.csv.*bracket"):
        spikepop.read(bad)
    # Nothing half-written: a refused folder is left as it was.
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    result = spikepop.reconstruct({"1": spikepop.read(EXAMPLE)["1"]}, n=2, seed=1, progress=False)
    with pytest.raises(OSError, match="not an earlier reconstruction"):
        result.save(keep)
    assert [p.name for p in keep.iterdir()] == ["notes.txt"]


def test_progress_is_reported_and_ctrl_c_stops_the_run():
    seen = []
    spikepop.reconstruct(str(EXAMPLE), n=4, seed=1, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (5, 5) and all(t == 5 for _, t in seen)
    # A long run (1,000 models per recording) interrupted after half a second stops promptly. Python's own
    # handler turns the signal into KeyboardInterrupt; a process started with SIGINT ignored (a background job
    # of a non-interactive shell) has none until it is installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            spikepop.reconstruct(str(EXAMPLE), n=1000, seed=1, progress=False)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_the_quickstart_runs():
    pytest.importorskip("matplotlib")
    script = ROOT / "examples" / "python" / "quickstart.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr
    # 50 models for each of the five recordings within a budget of 1,500 each; the doublets of recording 5
    # (acceptance about 0.04) need about 1,100 candidates (the budget-spent path: the test above).
    assert "5 recordings, 5 ok, 250 models" in out.stdout
    assert "budget spent" not in out.stdout
    assert (ROOT / "out" / "quickstart.png").stat().st_size > 10_000


def test_dics_and_simulate_are_the_command_lines(tmp_path):
    pop_file = ROOT / "examples" / "stg_population.csv"
    run_cli("dics", "--model", "stg", "--input", pop_file, "-o", tmp_path / "d.csv")
    run_cli("simulate", "--model", "stg", "--input", pop_file, "--duration", 4000, "--noise", 2, "--seed", 5, "-o", tmp_path / "s.csv")
    want_d = pd.read_csv(tmp_path / "d.csv", dtype={"ID": str})
    pd.testing.assert_frame_equal(spikepop.dics(pop_file, model="stg"), want_d)
    sims = spikepop.simulate(pop_file, model="stg", duration=4000, noise=2, seed=5)
    want_s = pd.read_csv(tmp_path / "s.csv", dtype={"ID": str})
    assert list(sims["ID"]) == list(want_s["ID"]) and list(sims["n_spikes"]) == list(want_s["n_spikes"])
    for got, text in zip(sims["spiking_times"], want_s["spiking_times"]):
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, np.array(json.loads(text)))
    # A population as a DataFrame (a reconstruction's) gives the same as its file.
    frame = pd.read_csv(pop_file, dtype={"ID": str})
    pd.testing.assert_frame_equal(spikepop.dics(frame, model="stg"), want_d)
    # Its DICs are those the reconstruction aimed at (g_s, g_u of population.csv).
    result = spikepop.reconstruct({"1": spikepop.read(EXAMPLE)["1"]}, n=5, seed=2, progress=False)
    d = spikepop.dics(result.population, model="stg")
    np.testing.assert_allclose(d["g_s"], result.population["g_s"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(d["g_u"], result.population["g_u"], rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="missing column"):
        spikepop.dics(frame.drop(columns=["g_Na"]), model="stg")
    bad = frame.copy()
    bad.loc[1, "g_Kd"] = -1.0
    with pytest.raises(ValueError, match=r"line 2, field g_Kd: -1; expected a finite conductance >= 0"):
        spikepop.simulate(bad, model="stg", duration=100)
    with pytest.raises(ValueError, match=r"dt=0 ms; expected a step > 0"):
        spikepop.simulate(pop_file, model="stg", dt=0.0)


def test_generate_is_the_command_lines(tmp_path):
    run_cli("generate", "--model", "stg", "--gs", 4, "--gu", 5, "--gs-sd", 1, "-n", 6, "--seed", 3, "--id", "a", "-o", tmp_path / "g.csv")
    want = pd.read_csv(tmp_path / "g.csv", dtype={"ID": str})
    got = spikepop.generate(model="stg", g_s=4, g_u=5, sd_g_s=1, n=6, seed=3, id="a")
    pd.testing.assert_frame_equal(got, want)
    # Many targets: a file or a DataFrame, the same models.
    targets = tmp_path / "t.csv"
    targets.write_text("ID,g_s,g_u\nx,-4,6\ny,8,3\n")
    run_cli("generate", "--model", "stg", "--targets", targets, "-n", 3, "--seed", 1, "-o", tmp_path / "gt.csv")
    want = pd.read_csv(tmp_path / "gt.csv", dtype={"ID": str})
    pd.testing.assert_frame_equal(spikepop.generate(model="stg", targets=targets, n=3, seed=1), want)
    frame = pd.DataFrame({"ID": ["x", "y"], "g_s": [-4.0, 8.0], "g_u": [6.0, 3.0]})
    pd.testing.assert_frame_equal(spikepop.generate(model="stg", targets=frame, n=3, seed=1), want)
    # Exact compensation: the DICs of the generated models are their targets.
    d = spikepop.dics(want, model="stg")
    np.testing.assert_allclose(d["g_s"], np.repeat([-4.0, 8.0], 3), atol=1e-6)
    with pytest.raises(ValueError, match=r"^sd_g_s: "):
        spikepop.generate(model="stg", g_s=1, g_u=1, sd_g_s=-1)
    with pytest.raises(ValueError, match=r"^pair: "):
        spikepop.generate(model="stg", g_s=1, g_u=1, pair=["Na", "nope"])


def test_synth_is_the_command_lines(tmp_path):
    run_cli("synth", "--kind", "bursting", "--period", 800, "--spikes-per-burst", 4, "--jitter", 0.5, "-n", 3, "--seed", 9, "-o", tmp_path / "b.csv")
    want = spikepop.read(tmp_path / "b.csv")
    got = spikepop.synth("bursting", n=3, seed=9, period=800, spikes_per_burst=4, jitter=0.5)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-9)
    f = spikepop.features(got)
    assert (f["label"] == "bursting").all()
    np.testing.assert_allclose(f["spikes_per_burst"], 4.0, atol=0.2)
    with pytest.raises(ValueError, match="kind='wavy'"):
        spikepop.synth("wavy")


def safetensors_parts(path):
    """(header, tensor bytes) of a safetensors file: an 8-byte little-endian length, a JSON header, data."""
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def test_dataset_and_train_are_the_command_lines(tmp_path):
    # The same data set, written by each: the same bytes.
    run_cli("dataset", "--model", "stg", "--targets", 24, "--per-target", 4, "--seed", 3, "--format", "csv",
            "-o", tmp_path / "cli-data")
    seen = []
    made = spikepop.dataset("stg", 24, tmp_path / "py-data", per_target=4, seed=3, format="csv",
                            progress=lambda done, total: seen.append((done, total)))
    part = Path(made["file"])
    assert part.parent == tmp_path / "py-data"
    assert part.read_bytes() == (tmp_path / "cli-data" / part.name).read_bytes()
    assert made["manifest"]["summary"]["rows"] == 96 and made["simulated"] == 96
    assert seen[-1] == (96, 96)
    # Done already: nothing more to simulate.
    assert spikepop.dataset("stg", 24, tmp_path / "py-data", per_target=4, seed=3, format="csv",
                            resume=True, progress=False)["simulated"] == 0
    with pytest.raises(ValueError, match="gs_range"):
        spikepop.dataset("stg", 4, tmp_path / "bad", gs_range=(5, -5), progress=False)

    # The same training run, on one thread each: the same weights, which predict like any weights.
    settings = dict(epochs=3, hidden="16,16", batch=32, seed=5)
    run_cli("train", "--model", "stg", "--data", tmp_path / "cli-data", "-o", tmp_path / "cli.safetensors",
            "--threads", 1, *[a for k, v in settings.items() for a in (f"--{k}", v)])
    lines = []
    trained = spikepop.train("stg", tmp_path / "py-data", tmp_path / "py.safetensors", threads=1,
                             epochs=3, hidden=[16, 16], batch=32, seed=5,
                             progress=lambda done, total, message: lines.append(message))
    assert trained["epochs"] == 3 and 1 <= trained["best_epoch"] <= 3
    assert trained["train_trains"] + trained["val_trains"] == 96
    assert len(trained["history"]) == 3 and all(np.isfinite(trained["history"]).flat)
    py_header, py_tensors = safetensors_parts(tmp_path / "py.safetensors")
    cli_header, cli_tensors = safetensors_parts(tmp_path / "cli.safetensors")
    assert py_tensors == cli_tensors
    # The notes name the data folder, which differs; everything else is the same.
    assert py_header["__metadata__"].pop("data") == str(tmp_path / "py-data")
    assert cli_header["__metadata__"].pop("data") == str(tmp_path / "cli-data")
    assert py_header == cli_header
    p = spikepop.predict(str(EXAMPLE), model="stg", weights=tmp_path / "py.safetensors")
    assert len(p) == 5 and np.isfinite(p["g_s"]).all()
    with pytest.raises(ValueError, match="loss"):
        spikepop.train("stg", tmp_path / "py-data", tmp_path / "x.safetensors", loss="cauchy", progress=False)
    # The library's checks, worded with the argument's name, not the command line's flag.
    with pytest.raises(ValueError, match=r"^invalid p_clean 2: ") as e:
        spikepop.train("stg", tmp_path / "py-data", tmp_path / "x.safetensors", p_clean=2.0, progress=False)
    assert "--" not in str(e.value)
    with pytest.raises(ValueError, match="^targets 5000000000: at most") as e:
        spikepop.dataset("stg", 5_000_000_000, tmp_path / "bad2", progress=False)
    assert "--" not in str(e.value)


def test_evaluate_is_the_command_lines(tmp_path):
    bench = ROOT / "benchmarks" / "foreign-small" / "stg"
    run_cli("evaluate", "--model", "stg", "--benchmark", bench, "-o", tmp_path / "bench.csv")
    table = spikepop.evaluate("stg", benchmark=bench)
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "bench.csv"))
    pooled = table[(table["domain"] == "all domains") & (table["group"] == "tonic")].iloc[0]
    # The network against the rate alone on the pooled tonic trains (docs/predictor.md: 4.91 against 5.73).
    assert pooled["mae_g_s"] < pooled["baseline_mae_g_s"]
    test = bench / "ref-app.csv"
    run_cli("evaluate", "--model", "stg", "--data", test, "--jitter-ms", 0.5, "--drop", 0.03, "--seed", 2,
            "-o", tmp_path / "t.csv")
    one = spikepop.evaluate("stg", test, jitter_ms=0.5, drop=0.03, seed=2)
    pd.testing.assert_frame_equal(one, pd.read_csv(tmp_path / "t.csv"))
    assert list(one["group"][:1]) == ["all"] and one["n"][0] == 40
    with pytest.raises(ValueError, match="drop="):
        spikepop.evaluate("stg", test, drop=1.5)
    with pytest.raises(ValueError, match="data .* or benchmark"):
        spikepop.evaluate("stg")


def test_detect_is_the_command_lines(tmp_path):
    run_cli("generate", "--model", "stg", "--gs", "4", "--gu", "5", "-n", 2, "--seed", 1, "-o", tmp_path / "pop.csv")
    run_cli("simulate", "--model", "stg", "--input", tmp_path / "pop.csv", "--duration", 4000,
            "--traces", tmp_path / "traces.csv", "--trace-every", 1, "-o", tmp_path / "spikes.csv")
    run_cli("detect", "--input", tmp_path / "traces.csv", "--threshold", 10, "-o", tmp_path / "detected.csv")
    found = spikepop.detect(tmp_path / "traces.csv", threshold=10)
    assert found.keys() == spikepop.read(tmp_path / "detected.csv").keys()
    for k, v in spikepop.read(tmp_path / "detected.csv").items():
        np.testing.assert_allclose(found[k], v, rtol=0, atol=1e-9)
    # Arrays in, the same spikes out; the simulator's own spike times within a step.
    trace = pd.read_csv(tmp_path / "traces.csv")
    first = trace[(trace["ID"] == 0) & (trace["model"] == 0)]
    again = spikepop.detect({"cell": (first["t"].to_numpy(), first["V"].to_numpy())}, threshold=10)
    np.testing.assert_allclose(again["cell"], found["0/0"], rtol=0, atol=1e-9)
    simulated = spikepop.simulate(tmp_path / "pop.csv", model="stg", duration=4000)
    np.testing.assert_allclose(found["0/0"], simulated["spiking_times"][0], rtol=0, atol=0.05)
    with pytest.raises(ValueError, match="hysteresis="):
        spikepop.detect(tmp_path / "traces.csv", hysteresis=0)


def test_detect_reads_voltage_recordings():
    # The bundled ABF recording (scipy-simulated cells, pyabf's writer) and a .npy array: the true spike times
    # of scripts/make_trace_testdata.py within one sample (0.1 ms).
    expected = pd.read_csv(ROOT / "crates/spikes/tests/data/traces/expected.csv")
    found = spikepop.detect(ROOT / "examples/stg_recording.abf")
    assert sorted(found) == ["sweep0", "sweep1"]
    for _, row in expected[expected["file"] == "examples/stg_recording.abf"].iterrows():
        truth = np.array(json.loads(row["spiking_times"]))
        np.testing.assert_allclose(found[row["trace"]], truth, rtol=0, atol=0.1)
    one = spikepop.detect(ROOT / "examples/stg_recording.abf", sweep=1)
    assert list(one) == ["sweep1"]
    npy = spikepop.detect(ROOT / "crates/spikes/tests/data/traces/scipy_tonic.npy", rate_hz=10_000)
    assert len(npy["trace"]) == 16
    with pytest.raises(ValueError, match="no sweep 4"):
        spikepop.detect(ROOT / "examples/stg_recording.abf", sweep=4)


def test_export_is_the_command_lines(tmp_path):
    pop = ROOT / "examples" / "stg_population.csv"
    for fmt in ["neuron", "brian2", "neuroml"]:
        run_cli("export", "--model", "stg", "--input", pop, "--format", fmt, "-o", tmp_path / f"cli_{fmt}")
        written = spikepop.export(str(pop), tmp_path / f"py_{fmt}", fmt, model="stg")
        names = sorted(Path(f).name for f in written)
        assert names == sorted(p.name for p in (tmp_path / f"cli_{fmt}").iterdir())
        for name in names:
            assert (tmp_path / f"py_{fmt}" / name).read_bytes() == (tmp_path / f"cli_{fmt}" / name).read_bytes(), name
    # A DataFrame gives the same folder as its file; members with a model column are named ID/model. The numbers
    # are read with float(), correctly rounded (older pandas' default parser can be one ulp off).
    rows = pd.read_csv(pop, dtype=str)
    frame = rows.assign(**{c: [float(x) for x in rows[c]] for c in rows.columns if c.startswith("g_")})
    spikepop.export(frame, tmp_path / "frame", "brian2")
    assert (tmp_path / "frame" / "run.py").read_bytes() == (tmp_path / "py_brian2" / "run.py").read_bytes()
    assert 'IDS = ["burster_gs-15_gu2/0", ' in (tmp_path / "frame" / "run.py").read_text()
    with pytest.raises(ValueError, match="format=\"nest\""):
        spikepop.export(frame, tmp_path / "bad", "nest")
    assert not (tmp_path / "bad").exists()
