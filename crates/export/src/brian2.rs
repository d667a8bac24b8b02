//! Brian2: the model's equations (dimensionless, in mV and ms) and one `NeuronGroup` for the population.

use spikepop_models::Model;
use spikepop_models::expr::{PowSyntax, explicit};
use spikepop_models::model::Gating;

use crate::common::{self, ident, inactivated, py_float, py_str};
use crate::{File, Population};

/// The equations of `model` in Brian2's syntax, every variable dimensionless (mV, ms, mS/cm^2, uA/cm^2).
pub fn equations(model: &Model) -> String {
    let f = |v: &spikepop_models::vfn::VFn| explicit(v, "V", PowSyntax::StarStar);
    let t = |v: &spikepop_models::vfn::VFn| common::tau_masked(v, "V", PowSyntax::StarStar);
    let mut currents = Vec::new();
    let mut lines = Vec::new();
    for ch in model.channels {
        let name = ident(ch.name);
        let mut factors = vec![format!("g_{name}")];
        for g in ch.gates {
            let x = match g.gating {
                Gating::Instant { inf } => f(&inf),
                _ => ident(g.name),
            };
            factors.push(if g.power == 1 {
                x
            } else {
                format!("{x}**{}", g.power)
            });
            let s = ident(g.name);
            match g.gating {
                Gating::Hh { inf, tau } => {
                    lines.push(format!(
                        "d{s}/dt = ({} - {s}) / {} / ms : 1",
                        f(&inf),
                        t(&tau)
                    ));
                }
                Gating::CaDependent { inf, kd, tau } => lines.push(format!(
                    "d{s}/dt = (Ca / (Ca + {}) * {} - {s}) / {} / ms : 1",
                    py_float(kd),
                    f(&inf),
                    t(&tau)
                )),
                Gating::Instant { .. } => {}
                Gating::Kinetic { a0, b0, ai, bi, .. } => {
                    let i = inactivated(g);
                    lines.push(format!(
                        "d{s}/dt = ({} * (1 - {s} - {i}) + {} * {i} - {s} * ({} + {})) / ms : 1",
                        f(&a0),
                        f(&bi),
                        f(&ai),
                        f(&b0)
                    ));
                    lines.push(format!(
                        "d{i}/dt = ({} * {s} - {} * {i}) / ms : 1",
                        f(&ai),
                        f(&bi)
                    ));
                }
            }
        }
        lines.push(format!(
            "I_{name} = {} * (V - {}) : 1",
            factors.join(" * "),
            spikepop_models::expr::number(ch.reversal)
        ));
        lines.push(format!("g_{name} : 1 (constant)"));
        currents.push(format!("I_{name}"));
    }
    if let Some(c) = model.calcium {
        let carriers: Vec<String> = c
            .carriers
            .iter()
            .map(|&k| format!("I_{}", ident(model.channels[k].name)))
            .collect();
        lines.push(format!(
            "dCa/dt = (-{} * ({}) - Ca + {}) / {} / ms : 1",
            py_float(c.alpha),
            carriers.join(" + "),
            py_float(c.beta),
            py_float(c.tau)
        ));
    }
    let mut out = format!("dV/dt = (I_ext - ({})) / ms : 1\n", currents.join(" + "));
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str("I_ext : 1 (constant)\n");
    out
}

/// The integration method `run.py` uses by default. Brian2's `exponential_euler` treats each equation as
/// linear in its own variable: exact for gates, and stable for the very stiff membrane equation of models with
/// fast sodium conductances in the thousands of mS/cm^2 (STG), where `rk4` at 0.01 ms diverges. A current
/// that is not linear in V (an instantaneous gate, such as DA's NMDA magnesium block) breaks that premise:
/// on the DA example, `exponential_euler` gave a tonic member 29.0 Hz instead of 34.1 (even at 0.002 ms),
/// while `rk4` at 0.01 ms gave 34.07 Hz, within 0.02% of NEURON and spikepop (scripts/interop_check.py).
pub fn default_method(model: &Model) -> &'static str {
    let nonlinear = model
        .channels
        .iter()
        .flat_map(|c| c.gates)
        .any(|g| matches!(g.gating, Gating::Instant { .. }));
    if nonlinear {
        "rk4"
    } else {
        "exponential_euler"
    }
}

pub fn files(model: &Model, pop: Population) -> Vec<File> {
    let (states, ca) = common::initial_states(model);
    let mut init: Vec<String> = vec![format!("    \"V\": {},", py_float(model.v0))];
    init.extend(
        states
            .iter()
            .map(|(n, x)| format!("    {}: {},", py_str(n), py_float(*x))),
    );
    if let Some(ca) = ca {
        init.push(format!("    \"Ca\": {},", py_float(ca)));
    }
    let script = format!(
        r#"#!/usr/bin/env python3
"""{title}: {n} members of a spikepop population for Brian2 (written by `spikepop export --format brian2`).

    python3 run.py [--duration MS] [--transient MS] [--dt MS] [--method {method}] [-o spikes_brian2.csv]

simulates every member in one NeuronGroup and writes their spike times (ms, after the transient) as
ID,n_spikes,spiking_times. The README beside this script states the conventions.
"""
import argparse
import csv
import os

from brian2 import Network, NeuronGroup, SpikeMonitor, defaultclock, ms

MODEL = {model}
{members}
# The model's equations: every variable dimensionless, in mV, ms, mS/cm^2 and uA/cm^2.
EQUATIONS = """
{equations}"""

# The initial state of every member: spikepop's.
INITIAL = {{
{init}
}}

DURATION_MS = {duration}
TRANSIENT_MS = {transient}
SPIKE_THRESHOLD_MV = {threshold}
SPIKE_RESET_MV = {reset}
# The integration method: see the README.
METHOD = {py_method}


def population(method=None):
    """The population as a NeuronGroup (one neuron per member, in the order of IDS) with its initial state."""
    group = NeuronGroup(
        len(IDS),
        EQUATIONS,
        threshold="V > %r" % SPIKE_THRESHOLD_MV,
        refractory="V > %r" % SPIKE_RESET_MV,
        method=method or METHOD,
    )
    for column, values in CONDUCTANCES.items():
        setattr(group, column, values)
    for name, value in INITIAL.items():
        setattr(group, name, value)
    return group


{write_spikes}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=DURATION_MS, help="simulated time (ms)")
    p.add_argument("--transient", type=float, default=TRANSIENT_MS, help="initial time left out (ms)")
    p.add_argument("--dt", type=float, default=0.01, help="integration step (ms)")
    p.add_argument("--method", default=METHOD, help="Brian2 integration method (%(default)s by default; rk4, exponential_euler, ...)")
    p.add_argument("-o", "--output", default="spikes_brian2.csv")
    a = p.parse_args()
    defaultclock.dt = a.dt * ms
    group = population(a.method)
    spikes = SpikeMonitor(group)
    Network(group, spikes).run(a.duration * ms)
    trains = spikes.spike_trains()
    write_spikes(a.output, {{member: [t for t in trains[k] / ms if t >= a.transient] for k, member in enumerate(IDS)}})


if __name__ == "__main__":
    main()
"#,
        title = common::py_doc(&common::title(model)),
        n = pop.ids.len(),
        model = py_str(model.name),
        members = common::py_members(model, pop),
        equations = equations(model),
        init = init.join("\n"),
        duration = py_float(model.default_duration),
        transient = py_float(model.default_transient),
        threshold = py_float(model.spike_threshold),
        reset = py_float(model.spike_reset),
        write_spikes = common::PY_WRITE_SPIKES,
        method = default_method(model),
        py_method = py_str(default_method(model)),
    );
    let readme = format!(
        "# {title}: a spikepop population for Brian2\n\n\
         Written by `spikepop export --model {name} --format brian2`: {n} members.\n\n\
         ```sh\npip install brian2\npython3 run.py            # writes spikes_brian2.csv\n```\n\n\
         `run.py` holds the equations (`EQUATIONS`), the members' conductances (`CONDUCTANCES`) and the initial \
         state (`INITIAL`); `population()` returns the `NeuronGroup`, to use in a network of your own. It \
         integrates with Brian2's `{method}` at 0.01 ms by default (`--method`, `--dt`). `exponential_euler` \
         is stable for the stiff membrane equation of fast sodium conductances in the thousands of mS/cm^2 \
         (STG), where `rk4` at 0.01 ms diverges; a current that is not linear in V (an instantaneous gate, such \
         as DA's NMDA magnesium block) breaks its premise, and such models use `rk4` (on the DA example, \
         `exponential_euler` gave a tonic member 29.0 Hz instead of 34.1). Brian2 records a spike at \
         the step that crosses the threshold (not interpolated), and its refractory condition \
         (`V > {reset}`) stands for spikepop's fall below {reset} mV.\n\n{conv}",
        title = common::title(model),
        name = model.name,
        n = pop.ids.len(),
        reset = model.spike_reset,
        conv = common::conventions(model),
        method = default_method(model),
    );
    vec![
        File {
            name: "run.py".into(),
            text: script,
        },
        File {
            name: "README.md".into(),
            text: readme,
        },
    ]
}
