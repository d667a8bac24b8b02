#!/usr/bin/env python3
"""Is a long recording read at least as well as its first seconds? (issue 21, "any length")

Cells with known DICs are settled for 30 s and recorded for MINUTES with current noise of sd SIGMA by
`spikepop simulate` (the noise hides the simulator's fine structure; scipy's integrators are far too slow for
minutes). Each recording is then cut to its first few seconds (CUTS) and every version is read by `spikepop
predict`, not told and told the amplitude (`--noise SIGMA`). Printed per label (the label of the whole
recording): MAE of g_s / g_u and the share of true g_s inside the predicted 1 sd and 2 sd for each cut, then the
paired difference of the absolute errors, whole recording minus the reference cut, with its bootstrap sd over
the cells (2,000 draws). Cells silent in any cut are left out.

Cells: --cells FILE, a CSV with ID, g_s, g_u and the model's conductance columns (e.g. a foreign benchmark's
ref-app.csv), or --draw N: N targets uniform over the benchmark's range (STG g_s in [-20, 20], g_u in [0, 20];
DA g_s in [-10, 15], g_u in [0, 20]; numpy default_rng(--draw-seed)), one `spikepop generate --seed DRAW_SEED`
model each (unreachable targets are skipped).

Usage (from the repository root, with a built target/release/spikepop; numpy):
  python3 experiments/long_recordings.py --model stg --cells benchmarks/foreign-240/stg/ref-app.csv \\
      --sigma 5 --minutes 10 --seed 5001 --cuts 3,10,60
The tables of docs/predictor.md (section 3, "Long recordings, at scale") are these runs: STG --sigma 2 --seed
5002, --sigma 5 --seed 5001, --sigma 10 --seed 5003 (10 minutes each), --sigma 5 --minutes 60 --seed 5004 (about
12 minutes on 2 cores); DA
  python3 experiments/long_recordings.py --model da --draw 300 --sigma S --minutes 10 --seed SEED --cuts 10,60
with S 2, 5, 10 and SEED 6002, 6003, 6004 (--draw-seed 7000, the default).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

csv.field_size_limit(sys.maxsize)

CONDUCTANCES = {
    "stg": ["g_Na", "g_Kd", "g_CaT", "g_CaS", "g_KCa", "g_A", "g_H", "g_leak"],
    "da": ["g_Na", "g_Kd", "g_CaL", "g_CaN", "g_ERG", "g_NMDA", "g_leak"],
}
RANGE = {"stg": ((-20.0, 20.0), (0.0, 20.0)), "da": ((-10.0, 15.0), (0.0, 20.0))}
TRANSIENT_MS = 30000.0
START_MS = 3000.0  # the recordings are written on the benchmarks' clock: the first kept spike at 3000 ms or later


def run(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {p.returncode}): {p.stderr.strip()}")


def draw_cells(spikepop: str, model: str, n: int, seed: int, work: Path) -> list[dict]:
    rng = np.random.default_rng(seed)
    (gs_lo, gs_hi), (gu_lo, gu_hi) = RANGE[model]
    cells = []
    for i in range(n):
        gs, gu = rng.uniform(gs_lo, gs_hi), rng.uniform(gu_lo, gu_hi)
        out = work / "one.csv"
        p = subprocess.run([spikepop, "generate", "--model", model, "--gs", f"{gs:.6f}", "--gu", f"{gu:.6f}", "-n", "1",
                            "--id", f"d{i:04d}", "--seed", str(seed), "-o", str(out)], capture_output=True, text=True)
        if p.returncode == 0:
            cells.extend(csv.DictReader(open(out, newline="")))
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(CONDUCTANCES), required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--cells", type=Path, help="CSV of cells: ID, g_s, g_u and the conductances")
    src.add_argument("--draw", type=int, help="draw this many cells instead")
    ap.add_argument("--sigma", type=float, required=True, help="current noise sd (uA/cm2)")
    ap.add_argument("--minutes", type=float, required=True, help="length of the whole recording")
    ap.add_argument("--seed", type=int, required=True, help="noise seed")
    ap.add_argument("--draw-seed", type=int, default=7000, help="seed of --draw's targets and models")
    ap.add_argument("--cuts", default="3,10,60", help="first seconds to compare, comma-separated; the whole "
                    "recording is compared (paired) with the 10-s cut when listed, else with the first cut")
    ap.add_argument("--spikepop", default="target/release/spikepop")
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    a = ap.parse_args()
    cuts = [float(c) for c in a.cuts.split(",")] + [a.minutes * 60.0]
    ref = cuts.index(10.0) if 10.0 in cuts else 0
    threads = [] if a.threads == 0 else ["--threads", str(a.threads)]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if a.cells:
            cells = list(csv.DictReader(open(a.cells, newline="")))
        else:
            cells = draw_cells(a.spikepop, a.model, a.draw, a.draw_seed, work)
        g = CONDUCTANCES[a.model]
        pop = work / "pop.csv"
        with open(pop, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["ID"] + g)
            for c in cells:
                w.writerow([c["ID"]] + [c[k] for k in g])
        spikes = work / "spikes.csv"
        run([a.spikepop, "simulate", "--model", a.model, "--input", str(pop), "--duration",
             repr(TRANSIENT_MS + a.minutes * 60000.0), "--transient", repr(TRANSIENT_MS), "--noise", repr(a.sigma),
             "--seed", str(a.seed), "-o", str(spikes)] + threads)
        trains = {r["ID"]: [float(x) for x in r["spiking_times"].strip("[]").split(",") if x.strip()]
                  for r in csv.DictReader(open(spikes, newline=""))}
        truth = {c["ID"]: (float(c["g_s"]), float(c["g_u"])) for c in cells}
        preds = {}
        for told in (False, True):
            for cut in cuts:
                train_csv = work / f"cut{cut:g}.csv"
                with open(train_csv, "w", newline="") as f:
                    w = csv.writer(f, lineterminator="\n")
                    w.writerow(["ID", "spiking_times"])
                    for c in cells:
                        ts = [t - TRANSIENT_MS + START_MS for t in trains[c["ID"]] if t < TRANSIENT_MS + cut * 1000.0]
                        w.writerow([c["ID"], "[" + ", ".join(repr(t) for t in ts) + "]"])
                out = work / "pred.csv"
                run([a.spikepop, "predict", "--model", a.model, "--input", str(train_csv), "-o", str(out)]
                    + (["--noise", repr(a.sigma)] if told else []) + threads)
                preds[told, cut] = {r["ID"]: r for r in csv.DictReader(open(out, newline=""))}

    def firing(r: dict) -> bool:
        try:
            return np.isfinite(float(r["g_s"]))
        except ValueError:
            return False

    ids = [c["ID"] for c in cells if all(firing(p[c["ID"]]) for p in preds.values())]
    print(f"{a.model}, sigma {a.sigma:g}, {a.minutes:g} min: {len(ids)} of {len(cells)} cells fire in every cut")
    rng = np.random.default_rng(0)
    for told in (False, True):
        whole = preds[told, cuts[-1]]
        for label in ("all", "tonic", "bursting", "irregular"):
            sel = [i for i in ids if label == "all" or whole[i]["label"] == label]
            if not sel:
                continue
            errs, parts = [], []
            for cut in cuts:
                p = preds[told, cut]
                e = np.array([[abs(float(p[i][k]) - truth[i][d]) for d, k in enumerate(("g_s", "g_u"))] for i in sel])
                z = e[:, 0] / np.array([float(p[i]["sd_g_s"]) for i in sel])
                errs.append(e)
                parts.append(f"{cut:g} s {e[:, 0].mean():.2f} / {e[:, 1].mean():.2f} "
                             f"({100 * np.mean(z <= 1):.0f}%, {100 * np.mean(z <= 2):.0f}%)")
            d = errs[-1] - errs[ref]
            boot = np.array([d[rng.integers(0, len(d), len(d))].mean(axis=0) for _ in range(2000)])
            print(f"{'told' if told else 'not told':8s} {label:9s} n={len(sel):3d} | " + " | ".join(parts)
                  + f" | whole - {cuts[ref]:g} s: {d[:, 0].mean():+.3f} ({boot[:, 0].std():.3f}) / "
                  f"{d[:, 1].mean():+.3f} ({boot[:, 1].std():.3f})")


if __name__ == "__main__":
    main()
