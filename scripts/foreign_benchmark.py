#!/usr/bin/env python3
"""Build a "foreign" spike-train benchmark: trains of cells with known DICs (g_s, g_u), simulated WITHOUT
spikepop's own simulator.

The model equations (STG, Liu et al. 1998; DA, Qian et al. 2014) are written here from the text of
shared/spec/models.md (sections 1-3) only, in plain Python/numpy/scipy, as an implementation independent of
spikepop's Rust code. spikepop itself is used for two things only:
  * `spikepop generate` makes the conductance sets with known DICs (the achieved g_s, g_u it reports are the truth);
  * `spikepop simulate` makes the long-recording domains (long1m/long10m/long60m), where the injected noise hides
    the integrator.

Cells. Targets (g_s*, g_u*) are drawn with numpy default_rng(seed), uniform, pairwise (prefix-stable):
STG g_s in [-20, 20], g_u in [0, 20]; DA g_s in [-10, 15], g_u in [0, 20]. spikepop generates one cell per
target (some targets give no cell). The cells are simulated in the `ref-app` domain in draw order and the
first N that fire at least 3 spikes there are kept; every domain holds the same N cells (IDs c0000, c0001, ...
are the draw indices, so a gap in the IDs is a silent or rejected candidate).

Windows: STG is simulated 0 -> 6000 ms and the spikes in [3000, 6000) are kept (3000 ms); DA 0 -> 12000 ms,
kept [3000, 12000) (9000 ms). Every domain writes its spike times on that clock (a kept window starts at
3000 ms), so all domains look alike.

Spike detection ("grid rule", models.md section 1): on the output grid t_k (np.arange(3000, T, dt)), a spike is
the first sample above +10 mV of an upward crossing, kept only if a later downward 0 mV crossing exists in the
window; a window that starts above +10 mV does not count that excursion.

Domains (one CSV each):
  ref-app      scipy BDF rtol 1e-3 atol 1e-6 (the reference application's integrator), from the default
               initial state u0, 0.05-ms output grid, grid rule.
  ref-gen      BDF rtol 1e-2 atol 1e-4 (the reference's dataset generator), output grid 0.1 ms (STG) /
               0.05 ms (DA), grid rule.
  lsoda-tight  LSODA rtol/atol tight (see TIGHT below), spike times = exact upward +10 mV crossings located by
               solve_ivp events (root finding on the dense output), kept if a later downward 0 mV event falls
               in the window (not quantised).
  random-init  as ref-app, but started from a random state per cell: V ~ U[-70, -40] mV, every gate ~ U[0, 1]
               (DA ERG: (closed, open, inactivated) uniform on the simplex, so that o + i <= 1),
               STG Ca ~ U[0.5, 500] uM (the cells of shared/reference span about
               2 to 1400 uM over a cycle).
  settled      36-s transient: BDF rtol 1e-2 atol 1e-4 from u0 over 0 -> 30000 ms, then BDF rtol 1e-3 atol 1e-6
               over 6000 ms more (the cell leaves the loose integrator's cycle) and the kept window (3000 /
               9000 ms) on a 0.05-ms grid, grid rule; times shifted by -33000 ms so that the window is
               [3000, 6000) / [3000, 12000). (Until session 21 the window began at the switch of integrator
               and carried that relaxation, now the relaxing domain: not a settled cell.)
  relaxing     what settled was until session 21: BDF rtol 1e-2 atol 1e-4 from u0 over 0 -> 30000 ms, then
               BDF rtol 1e-3 atol 1e-6 for the kept window at once, times shifted by -27000 ms: a cell relaxing
               from the loose integrator's cycle to the accurate one, a slow drift of its rate (log-ISI trend
               over 3 s: 0.6% median on 62 tonic STG cells, up to 9%) that has nothing to do with a start from
               rest.
  noise2, noise5, noise10
               current noise of pre-filter std 2, 5, 10 uA/cm2 with the reference generator's recipe: white
               N(0, sigma) on the output grid over the WHOLE [0, T] (not only after the transient, which was a
               bug of the reference), 4th-order Butterworth low-pass at 1 kHz applied with filtfilt,
               I_noise(t) by linear interpolation, added to dV/dt; output grid 0.1 ms (STG) / 0.05 ms (DA);
               seeded per cell. Integrator: LSODA rtol 1e-5 atol 1e-7 with max_step = the grid step, NOT the
               reference generator's BDF rtol 1e-2 (which steps over the noise and, for slow cells, makes
               spurious noise-driven spikes; see NOISE_TOL).
  grid10k, grid20k
               from the lsoda-tight trains: each spike moved to the first sample at or after it of a 0.1-ms /
               0.05-ms grid whose offset is drawn per cell (U[0, dt)).
  jitter05     from lsoda-tight: Gaussian jitter of sd 0.5 ms per spike, re-sorted; spikes pushed out of the
               window are dropped.
  drop03       from lsoda-tight: each spike removed with probability 0.03.
  long1m, long10m, long60m
               `spikepop simulate --transient 30000 --noise 5` (spikepop's own simulator), kept duration 60,000 /
               600,000 / 3,600,000 ms; times shifted so that the recording starts at 3000 ms. First M cells only.

The DA tau_m_Na(V) has a pole and a negative window just above V* = -19.565/0.5052 mV (models.md section 3);
every DA simulation here replaces it, for |V - V*| < 0.01 mV, by the straight line between its values at
V* -/+ 0.01 mV (the guard of shared/reference/README.md section 6), so all domains share one model.
BDF and LSODA are given the exact analytic Jacobian (it changes the step sequence, not the solution).

Output layout (OUT/<model>/):
  benchmark.json  {"format": "spikepop-benchmark", "version": 1, "model", "seed", "cells",
                   "domains": [{"name", "file", "simulator", "description", "cells", "noise"}, ...]}
                  noise: the sd of the current noise (uA/cm2) in the noisy and long domains, absent elsewhere
  <domain>.csv    ID,g_s,g_u,duration_ms,n_spikes,spiking_times,<conductances in the spec's order>
                  spiking_times = "[t1, t2, ...]" in ms (repr floats); duration_ms = kept window length.

Usage (from the repository root; requirements in scripts/requirements-benchmark.txt; needs a built
target/release/spikepop):
  full version:
    python3 scripts/foreign_benchmark.py --model stg --cells 240 --long-cells 24 --seed 1000 \\
        --out benchmarks/foreign --jobs 16
    python3 scripts/foreign_benchmark.py --model da --cells 120 --long-cells 12 --seed 2000 \\
        --out benchmarks/foreign --jobs 16
  small (committed) version, benchmarks/foreign-small (about 35-40 min of one core in all, 14 MB):
    python3 scripts/foreign_benchmark.py --model stg --cells 40 --long-cells 8 --seed 1000 \\
        --out benchmarks/foreign-small --limit settled=24,relaxing=24,long60m=6
    python3 scripts/foreign_benchmark.py --model da --cells 20 --long-cells 4 --seed 2000 \\
        --out benchmarks/foreign-small --limit settled=12,relaxing=12
  Other options: --domains a,b,... (default: all; domains other than ref-app reuse the cells of an existing
  OUT/<model>/ref-app.csv made with the same seed and --cells), --limit DOMAIN=K (only the first K cells in
  that domain), --candidates K, --spikepop PATH, --jobs J (processes, default 1),
  --validate REFDIR (checks the simulator on the spec's section-14 numbers and on REFDIR/sims_<model>.csv,
  e.g. /work/shared/reference, then exits), --time-cells K (CPU seconds per cell per domain; writes nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp
from scipy.signal import butter, filtfilt

csv.field_size_limit(sys.maxsize)  # long recordings hold megabyte-sized spiking_times cells

# ---------------------------------------------------------------------------------------------------------------
# Models (shared/spec/models.md, sections 2 and 3)
# ---------------------------------------------------------------------------------------------------------------

STG_G = ["g_Na", "g_Kd", "g_CaT", "g_CaS", "g_KCa", "g_A", "g_H", "g_leak"]
DA_G = ["g_Na", "g_Kd", "g_CaL", "g_CaN", "g_ERG", "g_NMDA", "g_leak"]

_INF = math.inf


def _safe_exp(z: float) -> float:
    """math.exp that returns inf instead of raising (overflow gives inf, as numpy would)."""
    return math.exp(z) if z < 709.0 else _INF


def _sg(z: float, E=math.exp) -> float:
    """1/(1+exp(z)), the logistic part of gsig."""
    return 1.0 / (1.0 + E(z))


def _gsig_d(V: float, A: float, B: float, C: float, D: float, E=_safe_exp):
    """gsig(V;A,B,C,D) and its V derivative."""
    s = 1.0 / (1.0 + E((V + D) / C))
    return A + B * s, -B / C * s * (1.0 - s)


# ---- STG ------------------------------------------------------------------------------------------------------

STG_E_NA, STG_E_K, STG_E_H, STG_E_CA, STG_E_L = 50.0, -80.0, -20.0, 80.0, -50.0
STG_TAU_CA, STG_ALPHA_CA, STG_BETA_CA = 20.0, 0.94, 0.05


def _stg_rates(V: float, Ca: float, E):
    """(x_inf, tau) for the 11 STG gates, in state order."""
    mNa = 1.0 / (1.0 + E((V + 25.5) / -5.29))
    t_mNa = 1.32 - 1.26 / (1.0 + E((V + 120.0) / -25.0))
    hNa = 1.0 / (1.0 + E((V + 48.9) / 5.18))
    t_hNa = (0.67 / (1.0 + E((V + 62.9) / -10.0))) * (1.5 + 1.0 / (1.0 + E((V + 34.9) / 3.6)))
    mKd = 1.0 / (1.0 + E((V + 12.3) / -11.8))
    t_mKd = 7.2 - 6.4 / (1.0 + E((V + 28.3) / -19.2))
    mCaT = 1.0 / (1.0 + E((V + 27.1) / -7.2))
    t_mCaT = 21.7 - 21.3 / (1.0 + E((V + 68.1) / -20.5))
    hCaT = 1.0 / (1.0 + E((V + 32.1) / 5.5))
    t_hCaT = 105.0 - 89.8 / (1.0 + E((V + 55.0) / -16.9))
    mCaS = 1.0 / (1.0 + E((V + 33.0) / -8.1))
    t_mCaS = 1.4 + 7.0 / (E((V + 27.0) / 10.0) + E((V + 70.0) / -13.0))
    hCaS = 1.0 / (1.0 + E((V + 60.0) / 6.2))
    t_hCaS = 60.0 + 150.0 / (E((V + 55.0) / 9.0) + E((V + 65.0) / -16.0))
    mKCa = Ca / (Ca + 3.0) / (1.0 + E((V + 28.3) / -12.6))
    t_mKCa = 90.3 - 75.1 / (1.0 + E((V + 46.0) / -22.7))
    mA = 1.0 / (1.0 + E((V + 27.2) / -8.7))
    t_mA = 11.6 - 10.4 / (1.0 + E((V + 32.9) / -15.2))
    hA = 1.0 / (1.0 + E((V + 56.9) / 4.9))
    t_hA = 38.6 - 29.2 / (1.0 + E((V + 38.9) / -26.5))
    mH = 1.0 / (1.0 + E((V + 70.0) / 6.0))
    t_mH = 272.0 + 1499.0 / (1.0 + E((V + 42.2) / -8.73))
    return ((mNa, t_mNa), (hNa, t_hNa), (mKd, t_mKd), (mCaT, t_mCaT), (hCaT, t_hCaT), (mCaS, t_mCaS),
            (hCaS, t_hCaS), (mKCa, t_mKCa), (mA, t_mA), (hA, t_hA), (mH, t_mH))


def stg_u0() -> list[float]:
    """Default initial state: V0 = -70, Ca0 = 0.5, every gate at x_inf(-70) (m_KCa at m_inf(-70, 0.5))."""
    r = _stg_rates(-70.0, 0.5, math.exp)
    return [-70.0] + [x for x, _ in r] + [0.5]


def make_stg(g, noise=None):
    """(fun, jac) for one STG cell. noise: None or (t0, dt, list of samples) added to dV/dt (linear interp)."""
    gNa, gKd, gCaT, gCaS, gKCa, gA, gH, gL = (float(x) for x in g)
    ENa, EK, EH, ECa, EL = STG_E_NA, STG_E_K, STG_E_H, STG_E_CA, STG_E_L
    a_tau = STG_ALPHA_CA / STG_TAU_CA
    inv_tca = 1.0 / STG_TAU_CA
    beta_tau = STG_BETA_CA / STG_TAU_CA
    noise_f = _make_noise(noise)

    def body(t, y, E):
        V, mNa, hNa, mKd, mCaT, hCaT, mCaS, hCaS, mKCa, mA, hA, mH, Ca = y.tolist()
        (imNa, tmNa), (ihNa, thNa), (imKd, tmKd), (imCaT, tmCaT), (ihCaT, thCaT), (imCaS, tmCaS), \
            (ihCaS, thCaS), (imKCa, tmKCa), (imA, tmA), (ihA, thA), (imH, tmH) = _stg_rates(V, Ca, E)
        ICa = (gCaT * mCaT * mCaT * mCaT * hCaT + gCaS * mCaS * mCaS * mCaS * hCaS) * (V - ECa)
        m2 = mKd * mKd
        k2 = mKCa * mKCa
        I = (gNa * mNa * mNa * mNa * hNa * (V - ENa) + gKd * m2 * m2 * (V - EK) + ICa
             + gKCa * k2 * k2 * (V - EK) + gA * mA * mA * mA * hA * (V - EK) + gH * mH * (V - EH) + gL * (V - EL))
        dV = -I if noise_f is None else noise_f(t) - I
        return [dV, (imNa - mNa) / tmNa, (ihNa - hNa) / thNa, (imKd - mKd) / tmKd, (imCaT - mCaT) / tmCaT,
                (ihCaT - hCaT) / thCaT, (imCaS - mCaS) / tmCaS, (ihCaS - hCaS) / thCaS, (imKCa - mKCa) / tmKCa,
                (imA - mA) / tmA, (ihA - hA) / thA, (imH - mH) / tmH, -a_tau * ICa - inv_tca * Ca + beta_tau]

    fun = _guarded(body)

    def jac(t, y):
        V, mNa, hNa, mKd, mCaT, hCaT, mCaS, hCaS, mKCa, mA, hA, mH, Ca = y.tolist()
        E = _safe_exp
        J = np.zeros((13, 13))
        # gate x_inf, x_inf', tau, tau'
        gates = []
        gates.append((_gsig_d(V, 0, 1, -5.29, 25.5), _gsig_d(V, 1.32, -1.26, -25, 120)))
        P, dP = _gsig_d(V, 0, 0.67, -10, 62.9)
        Q, dQ = _gsig_d(V, 1.5, 1, 3.6, 34.9)
        gates.append((_gsig_d(V, 0, 1, 5.18, 48.9), (P * Q, dP * Q + P * dQ)))
        gates.append((_gsig_d(V, 0, 1, -11.8, 12.3), _gsig_d(V, 7.2, -6.4, -19.2, 28.3)))
        gates.append((_gsig_d(V, 0, 1, -7.2, 27.1), _gsig_d(V, 21.7, -21.3, -20.5, 68.1)))
        gates.append((_gsig_d(V, 0, 1, 5.5, 32.1), _gsig_d(V, 105, -89.8, -16.9, 55)))
        e1, e2 = E((V + 27.0) / 10.0), E((V + 70.0) / -13.0)
        den = e1 + e2
        gates.append((_gsig_d(V, 0, 1, -8.1, 33), (1.4 + 7.0 / den, -7.0 * (e1 / 10.0 - e2 / 13.0) / den / den)))
        e1, e2 = E((V + 55.0) / 9.0), E((V + 65.0) / -16.0)
        den = e1 + e2
        gates.append((_gsig_d(V, 0, 1, 6.2, 60), (60.0 + 150.0 / den, -150.0 * (e1 / 9.0 - e2 / 16.0) / den / den)))
        kinf, dkinf = _gsig_d(V, 0, 1, -12.6, 28.3)
        cfac = Ca / (Ca + 3.0)
        gates.append(((cfac * kinf, cfac * dkinf), _gsig_d(V, 90.3, -75.1, -22.7, 46)))
        gates.append((_gsig_d(V, 0, 1, -8.7, 27.2), _gsig_d(V, 11.6, -10.4, -15.2, 32.9)))
        gates.append((_gsig_d(V, 0, 1, 4.9, 56.9), _gsig_d(V, 38.6, -29.2, -26.5, 38.9)))
        gates.append((_gsig_d(V, 0, 1, 6, 70), _gsig_d(V, 272, 1499, -8.73, 42.2)))
        x = (mNa, hNa, mKd, mCaT, hCaT, mCaS, hCaS, mKCa, mA, hA, mH)
        for k, ((xi, dxi), (tau, dtau)) in enumerate(gates):
            J[k + 1, 0] = dxi / tau - (xi - x[k]) * dtau / (tau * tau)
            J[k + 1, k + 1] = -1.0 / tau
        tk = gates[7][1][0]
        J[8, 12] = 3.0 / ((Ca + 3.0) ** 2) * kinf / tk
        # V row
        GNa, GKd = mNa ** 3 * hNa, mKd ** 4
        GCaT, GCaS = mCaT ** 3 * hCaT, mCaS ** 3 * hCaS
        GKCa, GA = mKCa ** 4, mA ** 3 * hA
        J[0, 0] = -(gNa * GNa + gKd * GKd + gCaT * GCaT + gCaS * GCaS + gKCa * GKCa + gA * GA + gH * mH + gL)
        J[0, 1] = -gNa * 3 * mNa ** 2 * hNa * (V - ENa)
        J[0, 2] = -gNa * mNa ** 3 * (V - ENa)
        J[0, 3] = -gKd * 4 * mKd ** 3 * (V - EK)
        dCaT_m = gCaT * 3 * mCaT ** 2 * hCaT * (V - ECa)
        dCaT_h = gCaT * mCaT ** 3 * (V - ECa)
        dCaS_m = gCaS * 3 * mCaS ** 2 * hCaS * (V - ECa)
        dCaS_h = gCaS * mCaS ** 3 * (V - ECa)
        J[0, 4], J[0, 5], J[0, 6], J[0, 7] = -dCaT_m, -dCaT_h, -dCaS_m, -dCaS_h
        J[0, 8] = -gKCa * 4 * mKCa ** 3 * (V - EK)
        J[0, 9] = -gA * 3 * mA ** 2 * hA * (V - EK)
        J[0, 10] = -gA * mA ** 3 * (V - EK)
        J[0, 11] = -gH * (V - EH)
        # Ca row
        J[12, 0] = -a_tau * (gCaT * GCaT + gCaS * GCaS)
        J[12, 4], J[12, 5], J[12, 6], J[12, 7] = -a_tau * dCaT_m, -a_tau * dCaT_h, -a_tau * dCaS_m, -a_tau * dCaS_h
        J[12, 12] = -inv_tca
        return _finite(J)

    return fun, jac


# ---- DA -------------------------------------------------------------------------------------------------------

DA_E_NA, DA_E_K, DA_E_CA, DA_E_L, DA_MG = 60.0, -85.0, 60.0, -50.0, 1.4
DA_VSTAR = -19.565 / 0.5052
DA_GUARD = 0.01


def _da_tau_mna_verbatim(V: float, E=_safe_exp):
    """Verbatim tau_m_Na(V) and its derivative."""
    ee = E(-19.565 - 0.5052 * V)
    q = 1.0 / (ee - 1.0)
    N = 15.6504 + 0.4043 * V
    ex = 3.0212 * E(-0.007463 * V)
    Dn = -N * q + ex
    # d/dV[-N/(ee-1)] = -0.4043 q - 0.5052 N ee q^2, and ee q^2 = q (1 + q)
    dDn = -0.4043 * q - 0.5052 * N * q * (1.0 + q) - 0.007463 * ex
    return 0.01 + 1.0 / Dn, -dDn / (Dn * Dn)


_DA_TAU_LO = _da_tau_mna_verbatim(DA_VSTAR - DA_GUARD)[0]
_DA_TAU_HI = _da_tau_mna_verbatim(DA_VSTAR + DA_GUARD)[0]
_DA_TAU_SLOPE = (_DA_TAU_HI - _DA_TAU_LO) / (2 * DA_GUARD)


def da_tau_mna(V: float):
    """Guarded tau_m_Na(V) and its derivative (straight line for |V - V*| < 0.01 mV)."""
    if abs(V - DA_VSTAR) < DA_GUARD:
        return _DA_TAU_LO + _DA_TAU_SLOPE * (V - (DA_VSTAR - DA_GUARD)), _DA_TAU_SLOPE
    return _da_tau_mna_verbatim(V)


def _da_rates(V: float, E):
    mNa = 1.0 / (1.0 + E((V + 30.0907) / -9.7264))
    if abs(V - DA_VSTAR) < DA_GUARD:
        t_mNa = _DA_TAU_LO + _DA_TAU_SLOPE * (V - (DA_VSTAR - DA_GUARD))
    else:
        t_mNa = 0.01 + 1.0 / (-(15.6504 + 0.4043 * V) / (E(-19.565 - 0.5052 * V) - 1.0) + 3.0212 * E(-0.007463 * V))
    hNa = 1.0 / (1.0 + E((V + 54.0289) / 10.7665))
    t_hNa = 0.4 + 1.0 / (5.0754e-4 * E(-0.063213 * V) + 9.7529 * E(0.13442 * V))
    n = 1.0 / (1.0 + E((V + 25.0) / -12.0))
    t_n = 20.0 - 18.0 / (1.0 + E((V + 38.0) / -10.0))
    mL = 1.0 / (1.0 + E((V + 50.0) / -2.0))
    t_mL = 30.0 - 28.0 / (1.0 + E((V + 45.0) / -3.0))
    mN = 1.0 / (1.0 + E((V + 30.0) / -7.0))
    t_mN = 30.0 - 25.0 / (1.0 + E((V + 55.0) / -6.0))
    return (mNa, t_mNa), (hNa, t_hNa), (n, t_n), (mL, t_mL), (mN, t_mN)


def _da_erg(V: float, E):
    return (0.0036 * E(0.0759 * V), 1.2523e-5 * E(-0.0671 * V), 0.1 * E(0.1189 * V), 0.003 * E(-0.0733 * V))


def da_u0() -> list[float]:
    """Default initial state: V0 = -90, gates at x_inf(-90), o_ERG = a0(-90), i_ERG = 0."""
    r = _da_rates(-90.0, math.exp)
    a0 = _da_erg(-90.0, math.exp)[0]
    return [-90.0] + [x for x, _ in r] + [a0, 0.0]


def make_da(g, noise=None):
    """(fun, jac) for one DA cell (guarded tau_m_Na)."""
    gNa, gKd, gCaL, gCaN, gERG, gNMDA, gL = (float(x) for x in g)
    ENa, EK, ECa, EL = DA_E_NA, DA_E_K, DA_E_CA, DA_E_L
    mg10 = DA_MG / 10.0
    noise_f = _make_noise(noise)

    def body(t, y, E):
        V, m, h, n, mL, mN, o, i = y.tolist()
        (im, tm), (ih, th), (inn, tn), (imL, tmL), (imN, tmN) = _da_rates(V, E)
        a0, b0, ai, bi = _da_erg(V, E)
        B = 1.0 / (1.0 + mg10 * E(-0.08 * V))
        n3 = n * n * n
        I = (gNa * m * m * m * h * (V - ENa) + gKd * n3 * (V - EK) + gCaL * mL * mL * (V - ECa)
             + gCaN * mN * (V - ECa) + gERG * o * (V - EK) + gL * (V - EL) + gNMDA * V * B)
        dV = -I if noise_f is None else noise_f(t) - I
        return [dV, (im - m) / tm, (ih - h) / th, (inn - n) / tn, (imL - mL) / tmL, (imN - mN) / tmN,
                a0 * (1.0 - o - i) + bi * i - o * (ai + b0), ai * o - bi * i]

    fun = _guarded(body)

    def jac(t, y):
        V, m, h, n, mL, mN, o, i = y.tolist()
        E = _safe_exp
        J = np.zeros((8, 8))
        gates = [(_gsig_d(V, 0, 1, -9.7264, 30.0907), da_tau_mna(V))]
        ih, dih = _gsig_d(V, 0, 1, 10.7665, 54.0289)
        f1, f2 = 5.0754e-4 * E(-0.063213 * V), 9.7529 * E(0.13442 * V)
        S = f1 + f2
        gates.append(((ih, dih), (0.4 + 1.0 / S, -(-0.063213 * f1 + 0.13442 * f2) / (S * S))))
        gates.append((_gsig_d(V, 0, 1, -12, 25), _gsig_d(V, 20, -18, -10, 38)))
        gates.append((_gsig_d(V, 0, 1, -2, 50), _gsig_d(V, 30, -28, -3, 45)))
        gates.append((_gsig_d(V, 0, 1, -7, 30), _gsig_d(V, 30, -25, -6, 55)))
        x = (m, h, n, mL, mN)
        for k, ((xi, dxi), (tau, dtau)) in enumerate(gates):
            J[k + 1, 0] = dxi / tau - (xi - x[k]) * dtau / (tau * tau)
            J[k + 1, k + 1] = -1.0 / tau
        a0, b0, ai, bi = _da_erg(V, E)
        da0, db0, dai, dbi = 0.0759 * a0, -0.0671 * b0, 0.1189 * ai, -0.0733 * bi
        J[6, 0] = da0 * (1.0 - o - i) + dbi * i - o * (dai + db0)
        J[6, 6] = -a0 - ai - b0
        J[6, 7] = -a0 + bi
        J[7, 0] = dai * o - dbi * i
        J[7, 6] = ai
        J[7, 7] = -bi
        ex = mg10 * E(-0.08 * V)
        B = 1.0 / (1.0 + ex)
        dB = B * B * ex * 0.08
        J[0, 0] = -(gNa * m ** 3 * h + gKd * n ** 3 + gCaL * mL * mL + gCaN * mN + gERG * o + gL
                    + gNMDA * (B + V * dB))
        J[0, 1] = -gNa * 3 * m * m * h * (V - ENa)
        J[0, 2] = -gNa * m ** 3 * (V - ENa)
        J[0, 3] = -gKd * 3 * n * n * (V - EK)
        J[0, 4] = -gCaL * 2 * mL * (V - ECa)
        J[0, 5] = -gCaN * (V - ECa)
        J[0, 6] = -gERG * (V - EK)
        return _finite(J)

    return fun, jac


def _guarded(body):
    """The RHS `fun(t, y)` of `body(t, y, exp)`: math.exp for speed, _fallback where it overflows."""
    def fun(t, y):
        try:
            return body(t, y, math.exp)
        except (OverflowError, ZeroDivisionError):
            return _fallback(body, t, y)
    return fun


def _fallback(body, t, y):
    """RHS at a far-off trial state (a Newton iterate): overflow gives inf as in numpy; a division by zero gives a
    non-finite vector, which makes scipy reject the step, as the reference's numpy code would."""
    try:
        return body(t, y, _safe_exp)
    except (OverflowError, ZeroDivisionError):
        return [math.nan] * len(y)


def _finite(J):
    """Jacobians only steer Newton: replace the nan/inf of far-off trial states by finite numbers."""
    if not np.isfinite(J).all():
        J = np.nan_to_num(J, nan=0.0, posinf=1e300, neginf=-1e300)
    return J


def _make_noise(noise):
    """Scalar linear interpolation of noise samples on t0 + k dt (np.interp, clamped at the ends)."""
    if noise is None:
        return None
    t0, dt, samples = noise
    samples = list(samples)
    last = len(samples) - 1
    inv = 1.0 / dt

    def f(t):
        x = (t - t0) * inv
        k = int(x)
        if x <= 0.0:
            return samples[0]
        if k >= last:
            return samples[last]
        a = samples[k]
        return a + (samples[k + 1] - a) * (x - k)

    return f


MODELS = {
    "stg": {"G": STG_G, "make": make_stg, "u0": stg_u0, "T": 6000.0, "gs": (-20.0, 20.0), "gu": (0.0, 20.0),
            "gen_dt": 0.1},
    "da": {"G": DA_G, "make": make_da, "u0": da_u0, "T": 12000.0, "gs": (-10.0, 15.0), "gu": (0.0, 20.0),
           "gen_dt": 0.05},
}
WINDOW_START = 3000.0


# ---------------------------------------------------------------------------------------------------------------
# Simulation and spike detection
# ---------------------------------------------------------------------------------------------------------------


class SimulationError(RuntimeError):
    pass


def grid_spikes(t: np.ndarray, V: np.ndarray) -> list[float]:
    """models.md section 1: first grid sample above +10 mV of each upward crossing, if a later 0 mV downward
    crossing exists (no interpolation)."""
    above = V > 10.0
    below = V < 0.0
    starts = np.flatnonzero(~above[:-1] & above[1:]) + 1
    ends = np.flatnonzero(~below[:-1] & below[1:]) + 1
    if len(starts) == 0 or len(ends) == 0:
        return []
    starts = starts[starts < ends[-1]]
    return t[starts].tolist()


def _solve(fun, jac, span, y0, cell_id, what, **kw):
    sol = solve_ivp(fun, span, y0, jac=jac, **kw)
    if sol.status != 0:
        raise SimulationError(f"cell {cell_id}: {what}: solve_ivp failed at t={sol.t[-1] if len(sol.t) else '?'}: "
                              f"{sol.message}")
    return sol


def simulate_grid(model: str, g, y0, t0: float, t1: float, t_eval: np.ndarray, rtol: float, atol: float,
                  cell_id: str = "?", noise=None, t_out: np.ndarray | None = None, method: str = "BDF",
                  max_step: float = np.inf) -> list[float]:
    """BDF (or `method`) from t0 to t1, V read at t_eval from the solver's dense output, spikes by the grid rule.
    The spike times are read from t_out (same length as t_eval; default t_eval)."""
    fun, jac = MODELS[model]["make"](g, noise)
    sol = _solve(fun, jac, (t0, t1), y0, cell_id, method, method=method, t_eval=t_eval, rtol=rtol, atol=atol,
                 max_step=max_step)
    if len(sol.t) != len(t_eval):
        raise SimulationError(f"cell {cell_id}: BDF returned {len(sol.t)} of {len(t_eval)} output samples")
    return grid_spikes(sol.t if t_out is None else t_out, sol.y[0])


def simulate_events(model: str, g, y0, T: float, rtol: float, atol: float, method: str = "LSODA",
                    cell_id: str = "?"):
    """Tight integration; spikes = upward +10 mV events at t >= 3000 before the last downward 0 mV event in
    [3000, T] (shared/reference README rule). Times are root-found on the dense output (not quantised)."""
    fun, jac = MODELS[model]["make"](g)

    def up(t, y):
        return y[0] - 10.0

    def down(t, y):
        return y[0]

    up.direction = 1.0
    down.direction = -1.0
    sol = _solve(fun, jac, (0.0, T), y0, cell_id, method, method=method, rtol=rtol, atol=atol, events=(up, down))
    ups = sol.t_events[0]
    downs = sol.t_events[1]
    ups = ups[ups >= WINDOW_START]
    downs = downs[downs >= WINDOW_START]
    if len(ups) == 0 or len(downs) == 0:
        return []
    return ups[ups < downs[-1]].tolist()


def filtered_noise(sigma: float, T: float, dt: float, rng: np.random.Generator):
    """The reference generator's recipe: white N(0, sigma) on the grid k*dt over [0, T], 4th-order Butterworth
    low-pass at 1 kHz (fs = 1000/dt Hz), filtfilt. Returns (t0, dt, samples)."""
    n = int(round(T / dt)) + 1
    white = rng.normal(0.0, sigma, n)
    b, a = butter(4, 1000.0, btype="low", fs=1000.0 / dt)
    return 0.0, dt, filtfilt(b, a, white).tolist()


# ---------------------------------------------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------------------------------------------

TIGHT = {"stg": (1e-8, 1e-10), "da": (1e-7, 1e-9)}  # the tolerances of shared/reference sims_*.csv
STG_CA_RANGE = (0.5, 500.0)  # uM; the cells of shared/reference span about 2 to 1400 uM over a cycle
SETTLE_MS = 30000.0
# The settled cells' last stretch before the window, at the window's integrator (BDF rtol 1e-3): a cell carried
# by the loose integrator (rtol 1e-2) sits on that integrator's cycle, whose ISIs differ from the accurate one's
# by up to 14%, and relaxes to the accurate cycle once the integrator changes, a log-ISI trend of 0.4-9% over
# the next 3 s (median 0.6% on 62 tonic cells, against 0.06% for a cell 3 s from rest): the window must start
# after that relaxation, not at the switch. On four such cells it was 0.4-9% in the first 3 s after the switch
# and 0.02-1% in the next three, where the integrator's own white ISI noise gives trend estimates of about 0.1%.
SETTLE_TIGHT_MS = 6000.0
NOISE_SIGMA = {"noise2": 2.0, "noise5": 5.0, "noise10": 10.0}
# The reference generator's BDF rtol 1e-2 (no max_step) steps over the noise: a slow DA cell (reference ID 20,
# sigma 5) fired 20 and 16 spikes for two noise draws against 13 and 14 with LSODA 1e-6 or with BDF 1e-2 and
# max_step = grid step (which costs 40 s per DA cell). LSODA 1e-5/1e-7 with max_step = grid step agrees with
# LSODA 1e-6 and costs about what BDF 1e-2 did.
NOISE_TOL = (1e-5, 1e-7)
LONG_KEPT = {"long1m": 60000.0, "long10m": 600000.0, "long60m": 3600000.0}
LONG_NOISE, LONG_TRANSIENT = 5.0, 30000.0
# per-domain salts of the per-cell random streams: default_rng([seed, salt, cell index])
SALT = {"random-init": 11, "noise2": 21, "noise5": 22, "noise10": 23, "grid10k": 31, "grid20k": 32,
        "jitter05": 33, "drop03": 34, "long1m": 41, "long10m": 42, "long60m": 43, "targets": 1}

SIM_DOMAINS = ["ref-app", "ref-gen", "lsoda-tight", "random-init", "settled", "relaxing", "noise2", "noise5",
               "noise10"]
DERIVED_DOMAINS = ["grid10k", "grid20k", "jitter05", "drop03"]
LONG_DOMAINS = ["long1m", "long10m", "long60m"]
ALL_DOMAINS = SIM_DOMAINS + DERIVED_DOMAINS + LONG_DOMAINS


def _g(x: float) -> str:
    """1e-08 -> 1e-8."""
    return ("%g" % x).replace("e-0", "e-")


def kept_ms(model: str) -> float:
    return MODELS[model]["T"] - WINDOW_START


def domain_info(model: str, name: str) -> tuple[str, str]:
    """(simulator, description) written into benchmark.json."""
    gdt = MODELS[model]["gen_dt"]
    kept = kept_ms(model)
    rt, at = TIGHT[model]
    span = f"0 -> {MODELS[model]['T']:.0f} ms, kept [3000, {MODELS[model]['T']:.0f})"
    rule = "first grid sample above +10 mV (models.md section 1)"
    if name == "ref-app":
        return (f"scipy BDF rtol 1e-3 atol 1e-6, 0.05-ms output grid; {span}; spikes = {rule}",
                "the reference application's integrator, from rest (default u0)")
    if name == "ref-gen":
        return (f"scipy BDF rtol 1e-2 atol 1e-4, {gdt}-ms output grid; {span}; spikes = {rule}",
                "the reference dataset generator's integrator, from rest (default u0)")
    if name == "lsoda-tight":
        return (f"scipy LSODA rtol {_g(rt)} atol {_g(at)}; {span}; spikes = upward +10 mV crossings found by solve_ivp "
                "events (exact, not quantised), kept if a later downward 0 mV crossing is in the window",
                "an accurate independent solution, from rest (default u0)")
    if name == "random-init":
        ca = f", Ca ~ U[{STG_CA_RANGE[0]:g}, {STG_CA_RANGE[1]:g}] uM" if model == "stg" else \
            ", ERG (C, o, i) uniform on the simplex"
        return (f"scipy BDF rtol 1e-3 atol 1e-6, 0.05-ms output grid; {span}; spikes = {rule}",
                f"as ref-app from a random initial state per cell: V ~ U[-70, -40] mV, gates ~ U[0, 1]{ca}")
    if name == "settled":
        start = SETTLE_MS + SETTLE_TIGHT_MS
        return (f"scipy BDF rtol 1e-2 atol 1e-4 over 0 -> {SETTLE_MS:.0f} ms, then BDF rtol 1e-3 atol 1e-6 over "
                f"{SETTLE_MS:.0f} -> {start + kept:.0f} ms, the last {kept:.0f} ms on a 0.05-ms grid; spikes = {rule}",
                f"{start / 1000:.0f}-s transient from rest (the last {SETTLE_TIGHT_MS / 1000:.0f} s at the window's "
                "integrator, so that the cell has left the loose integrator's cycle); times shifted by "
                f"-{start - WINDOW_START:.0f} ms so the kept window is [3000, {3000 + kept:.0f})")
    if name == "relaxing":
        return (f"scipy BDF rtol 1e-2 atol 1e-4 over 0 -> {SETTLE_MS:.0f} ms, then BDF rtol 1e-3 atol 1e-6 for "
                f"{kept:.0f} ms on a 0.05-ms grid; spikes = {rule}",
                f"{SETTLE_MS / 1000:.0f}-s transient from rest at the loose integrator, then the accurate one: the "
                "window shows the cell relaxing from the loose integrator's cycle to the accurate one (a slow drift "
                f"of its rate); times shifted by -{SETTLE_MS - WINDOW_START:.0f} ms so the kept window is "
                f"[3000, {3000 + kept:.0f})")
    if name in NOISE_SIGMA:
        s = NOISE_SIGMA[name]
        return (f"scipy LSODA rtol {_g(NOISE_TOL[0])} atol {_g(NOISE_TOL[1])} max_step {gdt} ms, {gdt}-ms output grid; "
                f"{span}; spikes = {rule}; current noise: white "
                f"N(0, {s:g}) on the {gdt}-ms grid over [0, {MODELS[model]['T']:.0f}], 4th-order Butterworth 1 kHz "
                "low-pass with filtfilt, linear interpolation, added to dV/dt",
                f"the reference generator's noisy simulation, sigma {s:g} uA/cm2 (noise also during the transient), "
                "seeded per cell, from rest")
    if name in ("grid10k", "grid20k"):
        dt = 0.1 if name == "grid10k" else 0.05
        return (f"derived from lsoda-tight: each spike moved to the first sample at or after it of a {dt}-ms grid "
                "with a per-cell offset ~ U[0, dt)",
                f"a {1 / dt:.0f}-kHz recording's sampling of the accurate trains")
    if name == "jitter05":
        return ("derived from lsoda-tight: Gaussian jitter sd 0.5 ms per spike, re-sorted, spikes leaving the window "
                "dropped", "spike-time jitter of a recording")
    if name == "drop03":
        return ("derived from lsoda-tight: each spike removed with probability 0.03",
                "missed spikes of a recording")
    if name in LONG_KEPT:
        kept_l = LONG_KEPT[name]
        return (f"spikepop simulate (its own simulator) --transient 30000 --noise 5, kept {kept_l:.0f} ms",
                f"a long noisy recording ({kept_l / 60000:.0f} min) after a 30-s transient; times shifted by -27000 ms "
                f"so the recording is [3000, {3000 + kept_l:.0f})")
    raise ValueError(name)


def random_state(model: str, rng: np.random.Generator) -> list[float]:
    V = rng.uniform(-70.0, -40.0)
    if model == "stg":
        return [V] + rng.uniform(0.0, 1.0, 11).tolist() + [rng.uniform(*STG_CA_RANGE)]
    gates = rng.uniform(0.0, 1.0, 5).tolist()
    c, o, i = rng.dirichlet([1.0, 1.0, 1.0]).tolist()
    return [V] + gates + [o, i]


def cell_rng(seed: int, domain: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SALT[domain], index])


def run_sim_domain(domain: str, model: str, seed: int, cell: dict) -> list[float]:
    """Spike times (ms, window clock) of one cell in one simulated domain."""
    m = MODELS[model]
    T, g, cid = m["T"], cell["g"], cell["id"]
    if domain == "ref-app":
        return simulate_grid(model, g, m["u0"](), 0.0, T, np.arange(WINDOW_START, T, 0.05), 1e-3, 1e-6, cid)
    if domain == "ref-gen":
        return simulate_grid(model, g, m["u0"](), 0.0, T, np.arange(WINDOW_START, T, m["gen_dt"]), 1e-2, 1e-4, cid)
    if domain == "lsoda-tight":
        rt, at = TIGHT[model]
        return simulate_events(model, g, m["u0"](), T, rt, at, cell_id=cid)
    if domain == "random-init":
        y0 = random_state(model, cell_rng(seed, domain, cell["index"]))
        return simulate_grid(model, g, y0, 0.0, T, np.arange(WINDOW_START, T, 0.05), 1e-3, 1e-6, cid)
    if domain in ("settled", "relaxing"):
        fun, jac = m["make"](g)
        sol = _solve(fun, jac, (0.0, SETTLE_MS), m["u0"](), cid, "settle BDF", method="BDF", rtol=1e-2, atol=1e-4,
                     t_eval=[SETTLE_MS])
        t_out = np.arange(WINDOW_START, T, 0.05)
        start = SETTLE_MS + (SETTLE_TIGHT_MS if domain == "settled" else 0.0)
        return simulate_grid(model, g, sol.y[:, -1], SETTLE_MS, start + kept_ms(model), t_out + (start - WINDOW_START),
                             1e-3, 1e-6, cid, t_out=t_out)
    if domain in NOISE_SIGMA:
        noise = filtered_noise(NOISE_SIGMA[domain], T, m["gen_dt"], cell_rng(seed, domain, cell["index"]))
        return simulate_grid(model, g, m["u0"](), 0.0, T, np.arange(WINDOW_START, T, m["gen_dt"]), NOISE_TOL[0],
                             NOISE_TOL[1], cid, noise=noise, method="LSODA", max_step=m["gen_dt"])
    raise ValueError(domain)


def derive(domain: str, model: str, seed: int, cell: dict, tight: list[float]) -> list[float]:
    """Recording-like trains derived from the lsoda-tight train of the same cell."""
    rng = cell_rng(seed, domain, cell["index"])
    lo, hi = WINDOW_START, MODELS[model]["T"]
    t = np.asarray(tight, dtype=float)
    if domain in ("grid10k", "grid20k"):
        dt = 0.1 if domain == "grid10k" else 0.05
        off = rng.uniform(0.0, dt)
        k = np.ceil((t - off) / dt)
        out = off + k * dt
        out = np.where(out < t, out + dt, out)  # guard the rounding of ceil((t - off)/dt) * dt
        out = out[out < hi]
    elif domain == "jitter05":
        out = np.sort(t + rng.normal(0.0, 0.5, len(t)))
        out = out[(out >= lo) & (out < hi)]
    elif domain == "drop03":
        out = t[rng.uniform(0.0, 1.0, len(t)) >= 0.03]
    else:
        raise ValueError(domain)
    return out.tolist()


def _worker(task):
    import warnings
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    domain, model, seed, cell = task
    t0 = time.process_time()
    try:
        spikes = run_sim_domain(domain, model, seed, cell)
    except SimulationError as e:
        return cell["id"], None, time.process_time() - t0, str(e)
    return cell["id"], spikes, time.process_time() - t0, None


# ---------------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------------


class BenchmarkError(RuntimeError):
    pass


def fmt_times(ts) -> str:
    return "[" + ", ".join(repr(float(t)) for t in ts) + "]"


def parse_times(s: str) -> list[float]:
    s = s.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise BenchmarkError(f"bad spiking_times cell {s[:40]!r}")
    body = s[1:-1].strip()
    return [float(x) for x in body.split(",")] if body else []


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_domain_csv(path: Path, model: str, cells: list[dict], trains: dict, duration: float) -> None:
    import io
    G = MODELS[model]["G"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["ID", "g_s", "g_u", "duration_ms", "n_spikes", "spiking_times"] + G)
    for c in cells:
        ts = trains[c["id"]]
        w.writerow([c["id"], repr(c["g_s"]), repr(c["g_u"]), repr(float(duration)), len(ts), fmt_times(ts)]
                   + [repr(x) for x in c["g"]])
    atomic_write_text(path, buf.getvalue())


def read_domain_csv(path: Path, model: str) -> tuple[list[dict], dict]:
    G = MODELS[model]["G"]
    cells, trains = [], {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            cid = r["ID"]
            cells.append({"id": cid, "index": int(cid.lstrip("c")), "g_s": float(r["g_s"]), "g_u": float(r["g_u"]),
                          "g": [float(r[k]) for k in G]})
            trains[cid] = parse_times(r["spiking_times"])
    return cells, trains


# ---------------------------------------------------------------------------------------------------------------
# Cells: targets, spikepop generate, selection
# ---------------------------------------------------------------------------------------------------------------


def draw_targets(model: str, seed: int, k: int) -> list[tuple[float, float]]:
    """k (g_s*, g_u*) pairs, drawn pairwise so that the first pairs do not depend on k."""
    rng = np.random.default_rng(seed)
    u = rng.random((k, 2))
    (s0, s1), (u0, u1) = MODELS[model]["gs"], MODELS[model]["gu"]
    return [(s0 + (s1 - s0) * a, u0 + (u1 - u0) * b) for a, b in u.tolist()]


def generate_cell(spikepop: str, model: str, seed: int, index: int, target, workdir: Path):
    """One cell for one target with `spikepop generate` (seed = seed * 100000 + index). None if unreachable."""
    cid = f"c{index:04d}"
    tpath = workdir / f"{cid}_targets.csv"
    ppath = workdir / f"{cid}_pop.csv"
    tpath.write_text(f"ID,g_s,g_u\n{cid},{target[0]!r},{target[1]!r}\n")
    cmd = [spikepop, "generate", "--model", model, "--targets", str(tpath), "-n", "1", "--seed",
           str(seed * 100000 + index), "--threads", "1", "-o", str(ppath)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        if "cannot reach" in p.stderr:
            return None
        raise BenchmarkError(f"{' '.join(cmd)} failed (rc {p.returncode}): {p.stderr.strip()}")
    with open(ppath, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != 1 or rows[0]["ID"] != cid:
        raise BenchmarkError(f"spikepop generate wrote {len(rows)} rows for {cid}")
    r = rows[0]
    return {"id": cid, "index": index, "target": target, "g_s": float(r["g_s"]), "g_u": float(r["g_u"]),
            "g": [float(r[k]) for k in MODELS[model]["G"]]}


def run_tasks(tasks, jobs: int):
    """Yield worker results in task order."""
    if jobs <= 1:
        for t in tasks:
            yield _worker(t)
        return
    ctx = mp.get_context("fork")
    with ctx.Pool(jobs) as pool:
        for r in pool.imap(_worker, tasks, chunksize=1):
            yield r


def check(res, domain):
    cid, spikes, secs, err = res
    if err is not None:
        raise BenchmarkError(f"{domain}: {err}")
    return cid, spikes, secs


def select_cells(args, workdir: Path, log) -> tuple[list[dict], dict, list[float]]:
    """Generate candidates in draw order and keep the first N with >= 3 spikes in ref-app.
    Returns (cells, ref-app trains, per-cell seconds)."""
    n = args.cells
    k = args.candidates or (3 * n if args.model == "stg" else 4 * n)
    targets = draw_targets(args.model, args.seed, k)
    cands, rejected = [], 0
    for i, t in enumerate(targets):
        c = generate_cell(args.spikepop, args.model, args.seed, i, t, workdir)
        if c is None:
            rejected += 1
        else:
            cands.append(c)
    log(f"[{args.model}] {len(cands)} candidate cells from {k} targets ({rejected} unreachable targets)")
    kept, trains, secs, silent = [], {}, [], 0
    gen = run_tasks([("ref-app", args.model, args.seed, c) for c in cands], args.jobs)
    t0 = time.time()
    for c, res in zip(cands, gen):
        cid, spikes, s, = check(res, "ref-app")
        secs.append(s)
        if len(spikes) >= 3:
            kept.append(c)
            trains[cid] = spikes
            if len(kept) == n:
                break
        else:
            silent += 1
    gen.close()
    if len(kept) < n:
        raise BenchmarkError(f"only {len(kept)} of {len(cands)} candidates fire >= 3 spikes in ref-app; "
                             f"ask for fewer cells or more candidates (--candidates)")
    log(f"[{args.model}] ref-app: kept {n} cells (skipped {silent} with < 3 spikes; last ID {kept[-1]['id']}), "
        f"{time.time() - t0:.1f} s wall, {sum(secs):.1f} s CPU")
    return kept, trains, secs


# ---------------------------------------------------------------------------------------------------------------
# Long domains (spikepop simulate)
# ---------------------------------------------------------------------------------------------------------------


def run_long(args, domain: str, cells: list[dict], workdir: Path) -> dict:
    kept = LONG_KEPT[domain]
    G = MODELS[args.model]["G"]
    pop = workdir / f"{domain}_pop.csv"
    with open(pop, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ID"] + G)
        for c in cells:
            w.writerow([c["id"]] + [repr(x) for x in c["g"]])
    out = workdir / f"{domain}_spikes.csv"
    cmd = [args.spikepop, "simulate", "--model", args.model, "--input", str(pop), "--duration",
           repr(LONG_TRANSIENT + kept), "--transient", repr(LONG_TRANSIENT), "--noise", repr(LONG_NOISE),
           "--seed", str(args.seed * 100 + SALT[domain]), "--threads", str(max(1, args.jobs)), "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchmarkError(f"{' '.join(cmd)} failed (rc {p.returncode}): {p.stderr.strip()}")
    shift = LONG_TRANSIENT - WINDOW_START
    trains = {}
    with open(out, newline="") as f:
        for r in csv.DictReader(f):
            ts = parse_times(r["spiking_times"])
            trains[r["ID"]] = [t - shift for t in ts if LONG_TRANSIENT <= t < LONG_TRANSIENT + kept]
    missing = [c["id"] for c in cells if c["id"] not in trains]
    if missing:
        raise BenchmarkError(f"spikepop simulate wrote no row for {missing}")
    return trains


# ---------------------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------------------


def update_manifest(outdir: Path, args, n_cells: int, done: dict) -> None:
    """Write benchmark.json, keeping the entries of domains made by earlier runs with the same model, seed, cells."""
    path = outdir / "benchmark.json"
    old = {}
    if path.exists():
        try:
            m = json.loads(path.read_text())
            if (m.get("model"), m.get("seed"), m.get("cells")) == (args.model, args.seed, n_cells):
                old = {d["name"]: d for d in m.get("domains", [])}
        except (json.JSONDecodeError, KeyError, TypeError):
            old = {}
    old.update(done)
    doms = [old[n] for n in ALL_DOMAINS if n in old and (outdir / old[n]["file"]).exists()]
    manifest = {"format": "spikepop-benchmark", "version": 1, "model": args.model, "seed": args.seed,
                "cells": n_cells, "domains": doms}
    atomic_write_text(path, json.dumps(manifest, indent=1) + "\n")


def manifest_entry(model: str, name: str, n: int) -> dict:
    sim, desc = domain_info(model, name)
    entry = {"name": name, "file": f"{name}.csv", "simulator": sim, "description": desc, "cells": n}
    # the sd of the current noise that fired the domain's cells, for `spikepop evaluate --benchmark` to tell
    # predictors that read it (absent: noise-free)
    noise = NOISE_SIGMA.get(name, LONG_NOISE if name.startswith("long") else None)
    if noise is not None:
        entry["noise"] = noise
    return entry


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["stg", "da"], required=True)
    ap.add_argument("--cells", type=int, help="cells per domain (N); required unless --validate")
    ap.add_argument("--long-cells", type=int, default=None, help="cells of the long domains (default: min(N, 8))")
    ap.add_argument("--seed", type=int, help="benchmark seed (use >= 1000: never used for training); required unless "
                    "--validate")
    ap.add_argument("--out", type=Path, help="output folder; files go to OUT/<model>/; required unless --validate")
    ap.add_argument("--domains", default="all", help="comma-separated domain names, or 'all' (default). "
                    "Known: " + ",".join(ALL_DOMAINS))
    ap.add_argument("--spikepop", default=None, help="spikepop binary (default: target/release/spikepop of this "
                    "repository)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--candidates", type=int, default=None,
                    help="targets drawn (default 3N for STG, 4N for DA); the first N spiking cells are kept")
    ap.add_argument("--limit", default="", metavar="DOMAIN=K[,DOMAIN=K...]",
                    help="write only the first K cells for these domains (to bound the cost of slow domains)")
    ap.add_argument("--validate", type=Path, default=None, metavar="REFDIR",
                    help="check the simulator against the spec's section-14 numbers and REFDIR/sims_<model>.csv "
                    "(shared/reference), print a report and exit")
    ap.add_argument("--time-cells", type=int, default=0, metavar="K",
                    help="only time K cells per simulated domain (CPU seconds per cell) and exit; writes nothing")
    a = ap.parse_args(argv)
    if a.validate is not None:
        return a
    missing = [o for o, v in (("--cells", a.cells), ("--seed", a.seed), ("--out", a.out)) if v is None]
    if missing:
        ap.error(f"the following arguments are required: {', '.join(missing)}")
    if a.cells < 1:
        ap.error("--cells must be >= 1")
    if a.long_cells is None:
        a.long_cells = min(a.cells, 8)
    if not 0 <= a.long_cells <= a.cells:
        ap.error("--long-cells must be between 0 and --cells")
    if a.seed < 0:
        ap.error("--seed must be >= 0")
    if a.jobs < 1:
        ap.error("--jobs must be >= 1")
    if a.domains == "all":
        a.domain_list = list(ALL_DOMAINS)
    else:
        a.domain_list = [d.strip() for d in a.domains.split(",") if d.strip()]
        bad = [d for d in a.domain_list if d not in ALL_DOMAINS]
        if bad:
            ap.error(f"unknown domain(s) {bad}; known: {', '.join(ALL_DOMAINS)}")
    a.limits = {}
    for item in [x for x in a.limit.split(",") if x.strip()]:
        name, _, val = item.partition("=")
        name = name.strip()
        if name not in ALL_DOMAINS or not val.strip().isdigit() or int(val) < 1:
            ap.error(f"bad --limit item {item!r} (want DOMAIN=K with K >= 1)")
        a.limits[name] = int(val)
    if a.long_cells == 0:
        a.domain_list = [d for d in a.domain_list if d not in LONG_DOMAINS]
    if a.spikepop is None:
        a.spikepop = str(Path(__file__).resolve().parent.parent / "target" / "release" / "spikepop")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.validate is not None:
        return validate(args.validate, args.model)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    outdir = args.out / args.model
    ref_path = outdir / "ref-app.csv"
    manifest_path = outdir / "benchmark.json"
    need_select = "ref-app" in args.domain_list or args.time_cells > 0
    if not need_select:
        ok = False
        if ref_path.exists() and manifest_path.exists():
            try:
                m = json.loads(manifest_path.read_text())
                ok = (m.get("model"), m.get("seed"), m.get("cells")) == (args.model, args.seed, args.cells)
            except json.JSONDecodeError:
                ok = False
        need_select = not ok
        if need_select:
            log(f"[{args.model}] no ref-app.csv for this model/seed/cells in {outdir}: selecting the cells first")
            args.domain_list.insert(0, "ref-app")
    if need_select or any(d in LONG_DOMAINS for d in args.domain_list):
        if not (os.path.isfile(args.spikepop) and os.access(args.spikepop, os.X_OK)):
            raise BenchmarkError(f"spikepop binary not found at {args.spikepop} (build it with cargo build --release, "
                                 "or pass --spikepop)")

    t_all = time.time()
    with tempfile.TemporaryDirectory(prefix="foreign_benchmark_") as wd:
        workdir = Path(wd)
        if args.time_cells:
            return time_domains(args, workdir, log)
        timings = {}
        if need_select:
            cells, ref_trains, secs = select_cells(args, workdir, log)
            write_domain_csv(ref_path, args.model, cells, ref_trains, kept_ms(args.model))
            update_manifest(outdir, args, len(cells), {"ref-app": manifest_entry(args.model, "ref-app", len(cells))})
            timings["ref-app (selection, all candidates)"] = secs
        else:
            cells, _ = read_domain_csv(ref_path, args.model)
            log(f"[{args.model}] {len(cells)} cells read from {ref_path}")
        n = len(cells)
        tight = None
        for dom in args.domain_list:
            if dom == "ref-app":
                continue
            t0 = time.time()
            subset = cells[:args.limits.get(dom, len(cells))]
            if dom in SIM_DOMAINS:
                trains, secs = {}, []
                for res in run_tasks([(dom, args.model, args.seed, c) for c in subset], args.jobs):
                    cid, spikes, s = check(res, dom)
                    trains[cid] = spikes
                    secs.append(s)
                timings[dom] = secs
                if dom == "lsoda-tight":
                    tight = trains
            elif dom in DERIVED_DOMAINS:
                if tight is None:
                    tp = outdir / "lsoda-tight.csv"
                    if not tp.exists():
                        raise BenchmarkError(f"{dom} needs lsoda-tight: run that domain first (or together)")
                    tcells, tight = read_domain_csv(tp, args.model)
                    if [c["id"] for c in tcells] != [c["id"] for c in cells[:len(tcells)]]:
                        raise BenchmarkError(f"{tp} does not hold the cells of {ref_path}")
                subset = [c for c in subset if c["id"] in tight]
                trains = {c["id"]: derive(dom, args.model, args.seed, c, tight[c["id"]]) for c in subset}
            else:
                subset = cells[:min(args.long_cells, len(subset))]
                trains = run_long(args, dom, subset, workdir)
            duration = LONG_KEPT[dom] if dom in LONG_KEPT else kept_ms(args.model)
            write_domain_csv(outdir / f"{dom}.csv", args.model, subset, trains, duration)
            update_manifest(outdir, args, n, {dom: manifest_entry(args.model, dom, len(subset))})
            ns = [len(trains[c["id"]]) for c in subset]
            cpu = f", {sum(timings[dom]):.1f} s CPU ({np.mean(timings[dom]):.2f} s/cell)" if dom in timings else ""
            log(f"[{args.model}] {dom}: {len(subset)} cells, {sum(ns)} spikes ({sum(1 for x in ns if x < 3)} with < 3), "
                f"{time.time() - t0:.1f} s wall{cpu}")
    log(f"[{args.model}] done in {time.time() - t_all:.1f} s wall -> {outdir}")
    return 0


def train_stats(ts) -> dict:
    """Label and the reference features in float64 (shared/reference README, section 5)."""
    x = np.asarray(ts, dtype=float)
    if len(x) < 3:
        return {"label": 0, "n": len(x)}
    isi = np.diff(x)
    cv = float(isi.std() / isi.mean())
    if cv <= 0.15:
        return {"label": 1, "n": len(x), "cv": cv, "isi_mean": float(isi.mean())}
    thr = (isi.max() + isi.min()) / 2
    bursts = [b for b in np.split(x, np.flatnonzero(isi > thr) + 1) if len(b) > 1][1:-1]
    out = {"label": 2, "n": len(x), "cv": cv, "period": math.nan, "spb": math.nan}
    if bursts:
        out["spb"] = float(np.mean([len(b) for b in bursts]))
        if len(bursts) > 1:
            out["period"] = float(np.mean(np.diff([b[0] for b in bursts])))
    return out


# Section 14 of reference-system.md: app settings (BDF rtol 1e-3, atol 1e-6, from u0, 0 -> 4000, grid 0.05 from
# 2000 ms). (name, model, conductances, reference spike count, reference period / ISI in ms, spikes per burst)
SECTION14 = [
    ("STG 5-spike burster", "stg", (4697.50119, 192.940726, 3.716986, 29.1164335, 116.844777, 263.791575,
                                    0.164750993, 0.00855285962), 60, 167.7, 5),
    ("STG 3-spike burster", "stg", (1978.65163, 176.184886, 3.92066318, 13.6218085, 94.2548146, 139.670733,
                                    0.36195089, 0.00783620352), 45, None, 3),
    ("STG spiking seed cell", "stg", (6865.689218303348, 105, 5, 14, 160, 366.7231129086097, 0.33428284501779454,
                                      0.0105), 26, 76.35, None),
    ("DA spiking seed cell", "da", (35.46934803014296, 8, 0.045, 0.04069634820398918, 0.15015869937543488, 0.012,
                                    0.01285), 2, None, None),
    ("DA modulated cell", "da", (35.46934803014296, 36.11383617, 0.045, 0.04069634820398918, 0.01130017, 0.012,
                                 0.01285), 27, 75.7, None),
]


def validate(refdir: Path, model: str) -> int:
    print(f"# validation of the {model.upper()} simulator")
    m = MODELS[model]
    # u0 and RHS (models.md sections 2 and 3)
    if model == "stg":
        g = (6865.689218303348, 105, 5, 14, 160, 366.7231129086097, 0.33428284501779454, 0.0105)
        r = make_stg(g)[0](0.0, np.array(stg_u0()))
        print(f"RHS at u0: dV/dt {r[0]:.10f} (spec 8.5676799204), dCa/dt {r[12]:.10f} (spec -0.0224101713)")
    else:
        g = (35.46934803014296, 8, 0.045, 0.04069634820398918, 0.15015869937543488, 0.012, 0.01285)
        r = make_da(g)[0](0.0, np.array(da_u0()))
        print(f"RHS at u0: dV/dt {r[0]:.11f} (spec 0.52093962205), do/dt {r[6]:.8g} (spec 3.8667565e-6), "
              f"di/dt {r[7]:.11g} (spec 8.7549091558e-12)")
    for name, mod, g, n_ref, per_ref, spb_ref in SECTION14:
        if mod != model:
            continue
        t0 = time.process_time()
        sp = simulate_grid(model, g, m["u0"](), 0.0, 4000.0, np.arange(2000.0, 4000.0 + 0.05, 0.05), 1e-3, 1e-6)
        st = train_stats(sp)
        per = st.get("period", st.get("isi_mean"))
        print(f"section 14, {name}: {len(sp)} spikes in [2000, 4000] (spec {n_ref}); "
              f"{'period' if 'period' in st else 'mean ISI'} {per if per is None else round(per, 2)} "
              f"(spec {per_ref}); spikes/burst {st.get('spb')} (spec {spb_ref}); first "
              f"{[round(t, 2) for t in sp[:3]]}; {time.process_time() - t0:.1f} s CPU")
    path = refdir / f"sims_{model}.csv"
    if not path.exists():
        print(f"{path} not found: reference simulations skipped")
        return 0
    rows = list(csv.DictReader(open(path, newline="")))
    rt, at = TIGHT[model]
    bad = 0
    worst_rate, worst_per, worst_dt = 0.0, 0.0, 0.0
    t_all = time.process_time()
    for r in rows:
        g = [float(r[k]) for k in m["G"]]
        ref = parse_times(r["spiking_times"])
        sp = simulate_events(model, g, m["u0"](), m["T"], rt, at, cell_id=r["ID"])
        a, b = train_stats(sp), train_stats(ref)
        notes = []
        if a["label"] != b["label"]:
            notes.append(f"label {a['label']} vs {b['label']}")
        if b["label"] == 1 and a["label"] == 1:
            e = abs(a["isi_mean"] / b["isi_mean"] - 1)
            worst_rate = max(worst_rate, e)
            if e > 0.01:
                notes.append(f"ISI {a['isi_mean']:.3f} vs {b['isi_mean']:.3f}")
        if b["label"] == 2 and a["label"] == 2:
            if not (math.isnan(b["period"]) and math.isnan(a["period"])):
                e = abs(a["period"] / b["period"] - 1)
                worst_per = max(worst_per, e)
                if not e <= 0.01:
                    notes.append(f"period {a['period']:.2f} vs {b['period']:.2f}")
            if a["spb"] != b["spb"]:
                notes.append(f"spikes/burst {a['spb']} vs {b['spb']}")
        dmax = None
        if len(sp) == len(ref) and sp:
            dmax = float(np.max(np.abs(np.array(sp) - np.array(ref))))
            worst_dt = max(worst_dt, dmax) if b["label"] == 1 else worst_dt
        if len(sp) != len(ref):
            notes.append(f"n {len(sp)} vs {len(ref)}")
        bad += any(not x.startswith("n ") for x in notes)
        print(f"sims_{model} ID {r['ID']:>2}: label {b['label']} n {len(ref):3d} "
              f"max |dt| {'-' if dmax is None else f'{dmax:.2e}'} ms  {'; '.join(notes) if notes else 'ok'}",
              flush=True)
    print(f"sims_{model}.csv: {len(rows)} cells, {bad} with a different label, rate or burst statistic beyond 1%; "
          f"worst tonic ISI error {worst_rate:.2e}, worst burst period error {worst_per:.2e}, "
          f"worst tonic spike-time difference {worst_dt:.2e} ms; {time.process_time() - t_all:.0f} s CPU")
    return 1 if bad else 0


def time_domains(args, workdir: Path, log) -> int:
    """CPU seconds per cell of every simulated domain on the first K kept cells."""
    k = args.time_cells
    saved = args.cells
    args.cells = k
    cells, _, secs = select_cells(args, workdir, log)
    args.cells = saved
    print(f"# {args.model}: CPU seconds per cell on {k} cells ({', '.join(c['id'] for c in cells)})")
    for dom in [d for d in args.domain_list if d in SIM_DOMAINS]:
        secs = []
        for c in cells:
            _, _, s = check(_worker((dom, args.model, args.seed, c)), dom)
            secs.append(s)
        print(f"{args.model} {dom:12s} " + " ".join(f"{s:6.2f}" for s in secs) + f"   mean {np.mean(secs):.2f}",
              flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchmarkError, SimulationError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
