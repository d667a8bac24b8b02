//! NEURON: one NMODL mechanism per channel (and one for intracellular calcium), and a Python script that builds
//! every member as a single compartment.
//!
//! Units: NEURON's densities are S/cm^2 and mA/cm^2, spikepop's mS/cm^2 and uA/cm^2, so each `gbar` is the
//! member's conductance times 1e-3 and the currents come out 1e-3 times spikepop's, which NEURON divides by a
//! capacitance of 1 uF/cm^2 in mV/ms: the same dynamics. Calcium carriers write `ica`; the calcium mechanism
//! keeps `cai` in mM (spikepop's Ca in uM, times 1e-3).

use spikepop_models::Model;
use spikepop_models::expr::{PowSyntax, explicit};
use spikepop_models::model::{Channel, Gating};

use crate::common::{self, ident, inactivated, py_float, py_str};
use crate::{File, Population};

fn f(v: &spikepop_models::vfn::VFn) -> String {
    explicit(v, "v", PowSyntax::Caret)
}

/// The suffix of a channel's mechanism (`stg_Na`).
pub fn suffix(model: &Model, ch: &Channel) -> String {
    format!("{}_{}", ident(model.name), ident(ch.name))
}

fn calcium_suffix(model: &Model) -> String {
    format!("{}_calcium", ident(model.name))
}

/// A time constant in NMODL: the formula, or a call of a FUNCTION that bridges its pole as spikepop does
/// (whose definition is pushed to `functions`).
fn tau_text(tau: &spikepop_models::vfn::VFn, name: &str, functions: &mut Vec<String>) -> String {
    match common::pole_bridge(tau) {
        None => f(tau),
        Some((p, a, b)) => {
            let w = spikepop_models::sim::POLE_GUARD_MV;
            functions.push(format!(
                "FUNCTION tau_{name}(v (mV)) (ms) {{\n\
                 \x20   : the formula has a pole at {p:?} mV; spikepop bridges it linearly within {w:?} mV\n\
                 \x20   if (fabs(v - ({p:?})) < {w:?}) {{\n\
                 \x20       tau_{name} = {a:?} + ({b:?} - ({a:?})) * (v - ({lo:?})) / {w2:?}\n\
                 \x20   }} else {{\n\
                 \x20       tau_{name} = {formula}\n\
                 \x20   }}\n}}\n",
                lo = p - w,
                w2 = 2.0 * w,
                formula = f(tau),
            ));
            format!("tau_{name}(v)")
        }
    }
}

/// The NMODL mechanism of channel `c`; `states` is the model's initial gate states
/// ([`common::initial_states`]).
fn mechanism(model: &Model, c: usize, states: &[(String, f64)]) -> String {
    let ch = &model.channels[c];
    let sfx = suffix(model, ch);
    let carrier = model.calcium.is_some_and(|ca| ca.carriers.contains(&c));
    let reads_ca = ch
        .gates
        .iter()
        .any(|g| matches!(g.gating, Gating::CaDependent { .. }));
    let mut state_names = Vec::new();
    let mut init = Vec::new();
    let mut derivs = Vec::new();
    let mut factors = vec!["gbar".to_string()];
    let mut functions = Vec::new();
    for g in ch.gates {
        let s = ident(g.name);
        let x = match g.gating {
            Gating::Instant { inf } => f(&inf),
            _ => s.clone(),
        };
        factors.push(if g.power == 1 {
            x
        } else {
            format!("{x}^{}", g.power)
        });
        let mut start = |name: &str| {
            let x0 = states
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0.0, |(_, x)| *x);
            state_names.push(name.to_string());
            init.push(format!("    {name} = {x0:?}"));
        };
        match g.gating {
            Gating::Hh { inf, tau } => {
                start(&s);
                let tau = tau_text(&tau, &s, &mut functions);
                derivs.push(format!("    {s}' = ({} - {s}) / {tau}", f(&inf)));
            }
            Gating::CaDependent { inf, kd, tau } => {
                start(&s);
                let tau = tau_text(&tau, &s, &mut functions);
                derivs.push(format!(
                    "    {s}' = ((1000 * cai) / ((1000 * cai) + {kd:?}) * {} - {s}) / {tau}",
                    f(&inf)
                ));
            }
            Gating::Instant { .. } => {}
            Gating::Kinetic { a0, b0, ai, bi, .. } => {
                let i = inactivated(g);
                start(&s);
                start(&i);
                derivs.push(format!(
                    "    {s}' = {} * (1 - {s} - {i}) + {} * {i} - {s} * ({} + {})",
                    f(&a0),
                    f(&bi),
                    f(&ai),
                    f(&b0)
                ));
                derivs.push(format!("    {i}' = {} * {s} - {} * {i}", f(&ai), f(&bi)));
            }
        }
    }
    let (current, ion) = if carrier && reads_ca {
        ("ica", "    USEION ca READ cai WRITE ica\n".to_string())
    } else if carrier {
        ("ica", "    USEION ca WRITE ica\n".to_string())
    } else if reads_ca {
        (
            "i",
            "    USEION ca READ cai\n    NONSPECIFIC_CURRENT i\n".to_string(),
        )
    } else {
        ("i", "    NONSPECIFIC_CURRENT i\n".to_string())
    };
    let assigned_ca = if reads_ca { "    cai (mM)\n" } else { "" };
    let has_states = !state_names.is_empty();
    let mut out = format!(
        ": {title}: channel {name} (written by `spikepop export --format neuron`).\n\
         : I = g * prod(x^p) * (v - e); gbar in S/cm2 is spikepop's g (mS/cm2) times 1e-3.\n\n\
         NEURON {{\n    SUFFIX {sfx}\n{ion}    RANGE gbar, e\n}}\n\n\
         UNITS {{\n    (mA) = (milliamp)\n    (mV) = (millivolt)\n    (S) = (siemens)\n}}\n\n\
         PARAMETER {{\n    gbar = 0 (S/cm2)\n    e = {e:?} (mV)\n}}\n\n\
         ASSIGNED {{\n    v (mV)\n    {current} (mA/cm2)\n{assigned_ca}}}\n\n",
        title = common::title(model),
        name = ch.name,
        e = ch.reversal,
    );
    if has_states {
        out.push_str(&format!("STATE {{ {} }}\n\n", state_names.join(" ")));
    }
    out.push_str("BREAKPOINT {\n");
    if has_states {
        out.push_str("    SOLVE states METHOD derivimplicit\n");
    }
    out.push_str(&format!(
        "    {current} = {} * (v - e)\n}}\n",
        factors.join(" * ")
    ));
    if has_states {
        out.push_str(&format!(
            "\nINITIAL {{\n{}\n}}\n\nDERIVATIVE states {{\n{}\n}}\n",
            init.join("\n"),
            derivs.join("\n")
        ));
    }
    for fun in functions {
        out.push('\n');
        out.push_str(&fun);
    }
    out
}

fn calcium_mechanism(model: &Model) -> Option<String> {
    let c = model.calcium?;
    Some(format!(
        ": {title}: intracellular calcium (written by `spikepop export --format neuron`).\n\
         : spikepop: dCa/dt = (-alpha I_Ca - Ca + beta) / tau, Ca in uM and I_Ca in uA/cm2; here cai = Ca * 1e-3 \
         (mM) and ica = I_Ca * 1e-3 (mA/cm2).\n\n\
         NEURON {{\n    SUFFIX {sfx}\n    USEION ca READ ica WRITE cai\n    RANGE alpha, beta, tau\n}}\n\n\
         UNITS {{\n    (mA) = (milliamp)\n    (mM) = (milli/liter)\n}}\n\n\
         PARAMETER {{\n    alpha = {alpha:?}\n    beta = {beta:?}\n    tau = {tau:?} (ms)\n}}\n\n\
         ASSIGNED {{\n    ica (mA/cm2)\n}}\n\n\
         STATE {{ cai (mM) }}\n\n\
         BREAKPOINT {{\n    SOLVE states METHOD derivimplicit\n}}\n\n\
         INITIAL {{\n    cai = {init:?}\n}}\n\n\
         DERIVATIVE states {{\n    cai' = (-alpha * ica - cai + beta * 1e-3) / tau\n}}\n",
        title = common::title(model),
        sfx = calcium_suffix(model),
        alpha = c.alpha,
        beta = c.beta,
        tau = c.tau,
        init = c.initial * 1e-3,
    ))
}

pub fn files(model: &Model, pop: Population) -> Vec<File> {
    let mut out = Vec::new();
    let mut mechs = Vec::new();
    let mut gbar = Vec::new();
    let (states, _) = common::initial_states(model);
    for (c, ch) in model.channels.iter().enumerate() {
        let sfx = suffix(model, ch);
        out.push(File {
            name: format!("{sfx}.mod"),
            text: mechanism(model, c, &states),
        });
        gbar.push(format!("    ({}, {}),", py_str(&sfx), py_str(ch.column)));
        mechs.push(sfx);
    }
    if let Some(text) = calcium_mechanism(model) {
        let sfx = calcium_suffix(model);
        out.push(File {
            name: format!("{sfx}.mod"),
            text,
        });
        mechs.push(sfx);
    }
    let mech_list: Vec<String> = mechs.iter().map(|m| py_str(m)).collect();
    let script = format!(
        r#"#!/usr/bin/env python3
"""{title}: {n} members of a spikepop population for NEURON (written by `spikepop export --format neuron`).

    nrnivmodl            # once, in this folder: compiles the .mod files
    python3 run.py [--duration MS] [--transient MS] [--rtol R] [--atol A] [-o spikes_neuron.csv]

builds every member as a single compartment, simulates them with CVODE and writes their spike times (ms,
after the transient) as ID,n_spikes,spiking_times. The README beside this script states the conventions.
"""
import argparse
import csv
import os

from neuron import h, load_mechanisms

HERE = os.path.dirname(os.path.abspath(__file__))

MODEL = {model}
{members}
# Every mechanism inserted in a member, and (mechanism, conductance column) for each channel's gbar.
MECHANISMS = [{mech_list}]
GBAR = [
{gbar}
]
V0_MV = {v0}
DURATION_MS = {duration}
TRANSIENT_MS = {transient}
SPIKE_THRESHOLD_MV = {threshold}


def _loaded():
    """The names of the density mechanisms NEURON knows."""
    kinds, name, names = h.MechanismType(0), h.ref(""), set()
    for i in range(int(kinds.count())):
        kinds.select(i)
        kinds.selected(name)
        names.add(name[0])
    return names


# NEURON loads the mechanisms compiled in the working folder by itself; from elsewhere, load this folder's.
if not set(MECHANISMS) <= _loaded():
    load_mechanisms(HERE)
h.load_file("stdrun.hoc")


def build(k, name=None):
    """Member k (in the order of IDS) as a single-compartment Section with its conductances."""
    sec = h.Section(name=name or "member%d" % k)
    sec.nseg = 1
    sec.L = sec.diam = 10.0  # um; every quantity is a density, so the size does not enter the dynamics
    sec.cm = 1.0  # uF/cm2
    for mech in MECHANISMS:
        sec.insert(mech)
    for mech, column in GBAR:
        setattr(sec(0.5), "gbar_" + mech, CONDUCTANCES[column][k] * 1e-3)  # mS/cm2 -> S/cm2
    return sec


{write_spikes}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=DURATION_MS, help="simulated time (ms)")
    p.add_argument("--transient", type=float, default=TRANSIENT_MS, help="initial time left out (ms)")
    p.add_argument("--rtol", type=float, default=1e-8, help="CVODE relative tolerance")
    p.add_argument("--atol", type=float, default=1e-8, help="CVODE absolute tolerance")
    p.add_argument("-o", "--output", default="spikes_neuron.csv")
    a = p.parse_args()
    cells, records = [], []
    for k in range(len(IDS)):
        sec = build(k)
        times = h.Vector()
        nc = h.NetCon(sec(0.5)._ref_v, None, sec=sec)
        nc.threshold = SPIKE_THRESHOLD_MV
        nc.record(times)
        cells.append((sec, nc))
        records.append(times)
    cvode = h.CVode()
    cvode.active(1)
    cvode.rtol(a.rtol)
    cvode.atol(a.atol)
    h.finitialize(V0_MV)
    h.continuerun(a.duration)
    write_spikes(a.output, {{member: [t for t in records[k] if t >= a.transient] for k, member in enumerate(IDS)}})


if __name__ == "__main__":
    main()
"#,
        title = common::py_doc(&common::title(model)),
        n = pop.ids.len(),
        model = py_str(model.name),
        members = common::py_members(model, pop),
        mech_list = mech_list.join(", "),
        gbar = gbar.join("\n"),
        v0 = py_float(model.v0),
        duration = py_float(model.default_duration),
        transient = py_float(model.default_transient),
        threshold = py_float(model.spike_threshold),
        write_spikes = common::PY_WRITE_SPIKES,
    );
    let readme = format!(
        "# {title}: a spikepop population for NEURON\n\n\
         Written by `spikepop export --model {name} --format neuron`: {n} members, {m} mechanisms.\n\n\
         ```sh\npip install neuron\nnrnivmodl                 # compiles the .mod files of this folder\n\
         python3 run.py            # writes spikes_neuron.csv\n```\n\n\
         Each channel is one NMODL mechanism (`{example}.mod`, suffix `{example}`: `gbar` in S/cm^2, the reversal \
         `e` in mV){ca}. `run.py` builds member k with `build(k)`, a single compartment (10 um long and wide, \
         `cm` 1 uF/cm^2) with every mechanism inserted and each `gbar` set to the member's conductance times \
         1e-3 (spikepop's mS/cm^2 in S/cm^2); use it to put the members into models of your own. It integrates \
         with CVODE (relative and absolute tolerance 1e-8, `--rtol`, `--atol`) and records spikes with a \
         `NetCon` on `v` at {th} mV, whose crossing time CVODE interpolates; the `NetCon` re-arms when `v` falls \
         below {th} mV, where spikepop waits for a fall below {reset} mV.\n\n{conv}",
        title = common::title(model),
        name = model.name,
        n = pop.ids.len(),
        m = mechs.len(),
        example = suffix(model, &model.channels[0]),
        ca = if model.calcium.is_some() {
            format!(
                "; calcium is `{}.mod` (`cai` in mM, written from `ica`), which the calcium carriers write and \
                 calcium-dependent gates read",
                calcium_suffix(model)
            )
        } else {
            String::new()
        },
        th = model.spike_threshold,
        reset = model.spike_reset,
        conv = common::conventions(model),
    );
    out.push(File {
        name: "run.py".into(),
        text: script,
    });
    out.push(File {
        name: "README.md".into(),
        text: readme,
    });
    out
}
