#!/usr/bin/env python3
"""Spike trains of CA1 cells (Golomb, Yue & Yaari 2006, zero extracellular calcium; the model of
examples/models/ca1_golomb2006.toml) integrated by scipy's LSODA, independently of spikepop's simulator.

The equations are typed from the paper and the authors' XPP file zca.ode (ModelDB 66268), not from spikepop:
  C dV/dt = -gL (V - VL) - gNa m^3 h (V - 55) - gNaP p (V - 55) - gKdr n^4 (V + 90) - gA a^3 b (V + 90)
            - gM z (V + 90) + Iapp,
  m = G(V; -30, 9.5), p = G(V; -47, 3), a = G(V; -50, 20) instantaneous, G(V; t, s) = 1 / (1 + exp(-(V - t) / s));
  dh/dt = phi (G(V; -45, -7) - h) / (1 + 7.5 G(V; -40.5, -6)), dn/dt = phi (G(V; -35, 10) - n) / (1 + 5 G(V; -27, -15)),
  db/dt = (G(V; -80, -6) - b) / 15, dz/dt = (G(V; -39, 5) - z) / 75, phi = 10, C = 1.
The model file folds the applied current into the leak (VL + Iapp / gL = -56.76172 mV at gL = 0.05), so a cell
with another g_leak has the bias g_leak (-56.76172 + 70); this script does the same. Every gate starts at its
steady state at V = -70 mV. Spikes: upward crossings of +10 mV (linearly interpolated on the 0.01-ms output
grid), kept once V falls below 0 mV, after the transient.

Usage: python3 scripts/ca1_lsoda.py --input POP.csv --out TRAINS.csv [--duration 6000] [--transient 3000]
POP.csv: `spikepop generate --model examples/models/ca1_golomb2006.toml ...` output (ID, model, g_..., g_s, g_u).
TRAINS.csv: ID,g_s,g_u,duration_ms,n_spikes,spiking_times (what `spikepop evaluate --data` and `reconstruct` read).
"""
import argparse
import csv
import sys

import numpy as np
from scipy.integrate import solve_ivp

VL_FOLDED = -56.76172
CHANNELS = ["g_Na", "g_NaP", "g_Kdr", "g_A", "g_M", "g_leak"]


def G(V, t, s):
    return 1.0 / (1.0 + np.exp(-(V - t) / s))


def rhs(g):
    gNa, gNaP, gKdr, gA, gM, gL = g
    iapp = gL * (VL_FOLDED + 70.0)

    def f(t, y):
        V, h, n, b, z = y
        i_ion = (gNa * G(V, -30, 9.5) ** 3 * h * (V - 55.0) + gNaP * G(V, -47, 3) * (V - 55.0)
                 + gKdr * n ** 4 * (V + 90.0) + gA * G(V, -50, 20) ** 3 * b * (V + 90.0)
                 + gM * z * (V + 90.0) + gL * (V + 70.0))
        return [-i_ion + iapp,
                10.0 * (G(V, -45, -7) - h) / (1.0 + 7.5 * G(V, -40.5, -6)),
                10.0 * (G(V, -35, 10) - n) / (1.0 + 5.0 * G(V, -27, -15)),
                (G(V, -80, -6) - b) / 15.0,
                (G(V, -39, 5) - z) / 75.0]
    return f


def spikes(t, v, transient):
    out, pending = [], []
    for k in range(1, len(t)):
        if v[k - 1] <= 10.0 < v[k]:
            tc = t[k - 1] + (t[k] - t[k - 1]) * (10.0 - v[k - 1]) / (v[k] - v[k - 1])
            if tc >= transient:
                pending.append(tc)
        elif v[k - 1] >= 0.0 > v[k] and pending:
            out += pending
            pending = []
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=6000.0)
    ap.add_argument("--transient", type=float, default=3000.0)
    a = ap.parse_args()
    V0 = -70.0
    y0 = [V0, G(V0, -45, -7), G(V0, -35, 10), G(V0, -80, -6), G(V0, -39, 5)]
    rows = list(csv.DictReader(open(a.input)))
    with open(a.out + ".tmp", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ID", "g_s", "g_u", "duration_ms", "n_spikes", "spiking_times"])
        for i, r in enumerate(rows):
            g = [float(r[c]) for c in CHANNELS]
            grid = np.arange(0.0, a.duration + 1e-9, 0.01)
            sol = solve_ivp(rhs(g), (0.0, a.duration), y0, method="LSODA", t_eval=grid, rtol=1e-8, atol=1e-10,
                            max_step=0.05)
            sp = spikes(sol.t, sol.y[0], a.transient)
            ident = f"{r['ID']}_{r.get('model', i)}"
            w.writerow([ident, r["g_s"], r["g_u"], a.duration - a.transient, len(sp),
                        "[" + ", ".join(f"{x:.4f}" for x in sp) + "]"])
            print(f"{i + 1}/{len(rows)} {ident}: {len(sp)} spikes", file=sys.stderr, flush=True)
    import os
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
