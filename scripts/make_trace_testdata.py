#!/usr/bin/env python3
"""Write the voltage-recording test files of spikepop-spikes and the bundled example recording.

Two STG cells of the foreign benchmark (benchmarks/foreign-small/stg/ref-app.csv: c0000, tonic; c0001,
bursting) are simulated twice:

- by scipy (the independent implementation of scripts/foreign_benchmark.py, written from shared/spec/models.md):
  BDF rtol 1e-8 atol 1e-10 from the default initial state, V sampled at 10 kHz from 3000 ms on; the true spike
  times are the upward 0 mV crossings that solve_ivp's event finder locates on the dense output;
- by spikepop (`spikepop simulate --traces`, dt 0.05 ms, every second step kept: 10 kHz); the true spike times
  are its own (+10 mV grid rule, models.md section 1).

Files (small; committed):
  examples/stg_recording.abf                  scipy, 3 s per cell, ABF 1 written by pyabf (sweep 0: c0000,
                                              sweep 1: c0001), mV; the README's main job can take it as input
  crates/spikes/tests/data/traces/scipy_tonic.npy     scipy, c0000, first 1 s, float32 mV (rate 10 kHz)
  crates/spikes/tests/data/traces/spikepop_stg.nwb    spikepop, both cells, 2 s each, two CurrentClampSeries
                                                      (int16 data, conversion to volts), written by pynwb
  crates/spikes/tests/data/traces/pclamp_ic_ramp.abf  an ABF 2 current-clamp recording made by pCLAMP
                                                      (pyABF's test corpus, MIT; see README.md there), copied
                                                      when --pyabf-data is given
  crates/spikes/tests/data/traces/expected.csv        file,trace,source,truth_threshold_mv,spiking_times: the
                                                      true spike times per trace (ms from the trace's start); for
                                                      the pCLAMP file, the interpolated 0 mV upward crossings
                                                      that numpy finds in pyabf's reading of it

Usage (from the repository root, with target/release/spikepop built):
  pip install numpy scipy pyabf pynwb
  python3 scripts/make_trace_testdata.py [--pyabf-data PATH/TO/pyABF/data/abfs]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import foreign_benchmark as fb  # noqa: E402

OUT = ROOT / "crates" / "spikes" / "tests" / "data" / "traces"
RATE_HZ = 10_000.0
START_MS = 3000.0
CELLS = ["c0000", "c0001"]


def cells() -> list[dict]:
    with open(ROOT / "benchmarks" / "foreign-small" / "stg" / "ref-app.csv") as f:
        rows = {r["ID"]: r for r in csv.DictReader(f)}
    return [rows[c] for c in CELLS]


def scipy_trace(row: dict, kept_ms: float):
    """V at RATE_HZ over [START_MS, START_MS + kept_ms) and the exact 0 mV upward crossings there (ms from the
    window's start)."""
    g = [float(row[k]) for k in fb.STG_G]
    fun, jac = fb.make_stg(g)

    def up(t, y):
        return y[0]

    up.direction = 1.0
    end = START_MS + kept_ms
    sol = solve_ivp(fun, (0.0, end), fb.stg_u0(), method="BDF", jac=jac, rtol=1e-8, atol=1e-10,
                    dense_output=True, events=up)
    assert sol.status == 0, sol.message
    t = START_MS + np.arange(int(round(kept_ms * RATE_HZ / 1000.0))) / RATE_HZ * 1000.0
    v = sol.sol(t)[0]
    spikes = [s - START_MS for s in sol.t_events[0] if START_MS <= s < t[-1]]
    return v, spikes


def spikepop_traces(spikepop: str, rows: list[dict], kept_ms: float):
    with tempfile.TemporaryDirectory() as d:
        pop = Path(d) / "pop.csv"
        with open(pop, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["ID"] + fb.STG_G)
            for r in rows:
                w.writerow([r["ID"]] + [r[k] for k in fb.STG_G])
        spikes, traces = Path(d) / "spikes.csv", Path(d) / "traces.csv"
        subprocess.run([spikepop, "simulate", "--model", "stg", "--input", str(pop), "-o", str(spikes),
                        "--duration", str(START_MS + kept_ms), "--transient", str(START_MS),
                        "--traces", str(traces), "--trace-every", "2"], check=True)
        volts: dict[str, list[tuple[float, float]]] = {}
        with open(traces) as f:
            for r in csv.DictReader(f):
                volts.setdefault(r["ID"], []).append((float(r["t"]), float(r["V"])))
        truth = {}
        with open(spikes) as f:
            for r in csv.DictReader(f):
                truth[r["ID"]] = [float(x) for x in r["spiking_times"].strip("[]").split(",") if x.strip()]
    out = []
    for r in rows:
        tv = np.array(volts[r["ID"]])
        t0 = tv[0, 0]
        out.append((tv[:, 1], [s - t0 for s in truth[r["ID"]]], t0))
    return out


def crossings(v: np.ndarray, rate_hz: float, threshold: float = 0.0, hysteresis: float = 10.0,
              refractory_ms: float = 1.0) -> list[float]:
    """Upward threshold crossings, linearly interpolated, re-armed after falling hysteresis below it."""
    out, armed = [], True
    dt = 1000.0 / rate_hz
    for k in range(1, len(v)):
        if not armed and v[k] < threshold - hysteresis:
            armed = True
        if armed and v[k - 1] < threshold <= v[k]:
            t = (k - 1 + (threshold - v[k - 1]) / (v[k] - v[k - 1])) * dt
            if not out or t - out[-1] >= refractory_ms:
                out.append(t)
                armed = False
    return out


def fmt(ts) -> str:
    return "[" + ", ".join(repr(float(t)) for t in ts) + "]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spikepop", default=str(ROOT / "target" / "release" / "spikepop"))
    ap.add_argument("--pyabf-data", type=Path, default=None,
                    help="pyABF's data/abfs folder, to copy its 17o05027_ic_ramp.abf (ABF 2, current clamp)")
    a = ap.parse_args()
    import pyabf.abfWriter
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries

    OUT.mkdir(parents=True, exist_ok=True)
    rows = cells()
    expected = []

    # scipy, 3 s per cell, ABF 1 (pyabf's writer): the bundled example recording
    sims = [scipy_trace(r, 3000.0) for r in rows]
    example = ROOT / "examples" / "stg_recording.abf"
    pyabf.abfWriter.writeABF1(np.array([v for v, _ in sims]), str(example), RATE_HZ, units="mV")
    for k, (r, (_, s)) in enumerate(zip(rows, sims)):
        expected.append(["examples/stg_recording.abf", f"sweep{k}", f"scipy {r['ID']}", 0.0, fmt(s)])

    # scipy, the tonic cell's first second, .npy float32
    v, s = sims[0]
    n = int(RATE_HZ)
    np.save(OUT / "scipy_tonic.npy", v[:n].astype(np.float32))
    expected.append(["crates/spikes/tests/data/traces/scipy_tonic.npy", "trace", f"scipy {rows[0]['ID']}", 0.0,
                     fmt([x for x in s if x < (n - 1) * 1000.0 / RATE_HZ])])

    # spikepop, 2 s per cell, NWB current clamp (int16, conversion to volts)
    nwb = NWBFile(session_description="spikepop trace reader test data: STG cells simulated by spikepop",
                  identifier="spikepop-spikes-test-traces",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device(name="simulator")
    electrode = nwb.create_icephys_electrode(name="elec0", description="simulated", device=device)
    conversion = 1e-5  # one count = 10 uV
    for k, (r, (vv, ss, _)) in enumerate(zip(rows, spikepop_traces(a.spikepop, rows, 2000.0))):
        counts = np.round(vv / 1000.0 / conversion).astype(np.int16)
        name = f"ccs_{r['ID']}"
        nwb.add_acquisition(CurrentClampSeries(name=name, data=counts, conversion=conversion, electrode=electrode,
                                               rate=RATE_HZ, starting_time=0.0, sweep_number=np.uint32(k), gain=1.0))
        expected.append(["crates/spikes/tests/data/traces/spikepop_stg.nwb", name, f"spikepop {r['ID']}", 10.0,
                         fmt(ss)])
    with NWBHDF5IO(str(OUT / "spikepop_stg.nwb"), "w") as io:
        io.write(nwb, cache_spec=False)

    # pCLAMP, ABF 2 (pyABF's corpus): spike times from pyabf's reading and numpy
    if a.pyabf_data is not None:
        src = a.pyabf_data / "17o05027_ic_ramp.abf"
        dst = OUT / "pclamp_ic_ramp.abf"
        dst.write_bytes(src.read_bytes())
    dst = OUT / "pclamp_ic_ramp.abf"
    if dst.exists():
        abf = pyabf.ABF(str(dst))
        for sweep in abf.sweepList:
            abf.setSweep(sweep)
            expected.append(["crates/spikes/tests/data/traces/pclamp_ic_ramp.abf", f"sweep{sweep}",
                             "pCLAMP (pyabf + numpy)", 0.0,
                             fmt(crossings(np.asarray(abf.sweepY, dtype=float), abf.sampleRate))])

    with open(OUT / "expected.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "trace", "source", "truth_threshold_mv", "spiking_times"])
        w.writerows(expected)
    for e in expected:
        print(f"{e[0]} {e[1]} ({e[2]}): {e[4].count(',') + 1} spikes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
