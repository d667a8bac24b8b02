//! NeuroML 2: one file per ion channel, the members as `cell`s (a single segment each) in one network, and
//! a LEMS simulation of that network.
//!
//! Every rate function is a LEMS `ComponentType` of its own (extending `baseVoltageDepVariable` for a steady
//! state, `baseVoltageDepTime` for a time constant, their `Conc` forms for calcium-dependent gates), written
//! in the dimensionless voltage `V = v / 1 mV` with the model's own formula; NeuroML's standard HH gates
//! (`gateHHtauInf`, `gateHHInstantaneous`) hold them. A channel with a kinetic scheme (DA's ERG) is an
//! `ionChannelKS` whose `gateKS` has the states C, O, I and two `tauInfTransition`s (a forward rate `a` and
//! a backward rate `b` are `inf = a / (a + b)` over `tau = 1 / (a + b)`). Intracellular calcium is NeuroML's
//! `fixedFactorConcentrationModel`, which is spikepop's equation with `restingConc = beta`, `decayConstant =
//! tau` and `rho = alpha / tau` (in uM/ms per uA/cm^2, written in SI units).

use spikepop_models::Model;
use spikepop_models::expr::{PowSyntax, explicit, number};
use spikepop_models::model::{Channel, Gate, Gating};
use spikepop_models::sim::POLE_GUARD_MV;
use spikepop_models::vfn::VFn;

use crate::common::{self, ident, py_float, py_str};
use crate::{ExportError, File, Population};

/// The NeuroML schema the files declare.
const NML_HEADER: &str = r#"<neuroml xmlns="http://www.neuroml.org/schema/neuroml2"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://www.neuroml.org/schema/neuroml2 https://raw.github.com/NeuroML/NeuroML2/development/Schemas/NeuroML2/NeuroML_v2.3.xsd""#;

/// `s` escaped for an XML attribute or text (control characters, which XML 1.0 does not allow, as spaces).
fn xml(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `s` for an XML comment, which holds no `--`.
fn comment(s: &str) -> String {
    let mut s = s.to_string();
    while s.contains("--") {
        s = s.replace("--", "- -");
    }
    s
}

/// A formula of the dimensionless voltage `V`.
fn f(v: &VFn) -> String {
    explicit(v, "V", PowSyntax::Caret)
}

/// The id of a channel (`stg_Na`), also its file's stem.
fn channel_id(model: &Model, ch: &Channel) -> String {
    format!("{}_{}", ident(model.name), ident(ch.name))
}

fn calcium_id(model: &Model) -> String {
    format!("{}_calcium", ident(model.name))
}

/// What a LEMS `ComponentType` of one rate function exposes.
#[derive(Clone, Copy)]
enum Kind {
    /// A steady state `x` (dimensionless) of `V`.
    Inf,
    /// A steady state `x` of `V` times `Ca / (Ca + kd)`, Ca in uM.
    InfCa(f64),
    /// A time constant `t` (ms) of `V`.
    Tau,
}

/// The `ComponentType` named `name` for the function `v`; a time constant with a pole (DA's `tau_m_Na`) is
/// bridged linearly within [`POLE_GUARD_MV`] of it, as spikepop's simulator does.
fn component_type(name: &str, v: &VFn, kind: Kind) -> String {
    let bridge = match kind {
        Kind::Tau => common::pole_bridge(v),
        _ => None,
    };
    formula_type(name, &f(v), kind, bridge)
}

/// The `ComponentType` named `name` whose exposure is `formula`, a text in the dimensionless voltage `V`
/// (times `Ca / (Ca + kd)` for [`Kind::InfCa`], in ms for [`Kind::Tau`]); `bridge` ([`common::pole_bridge`])
/// replaces the formula by a straight line within [`POLE_GUARD_MV`] of a pole.
fn formula_type(name: &str, formula: &str, kind: Kind, bridge: Option<(f64, f64, f64)>) -> String {
    let (base, exposure, dim) = match kind {
        Kind::Inf => ("baseVoltageDepVariable", "x", "none"),
        Kind::InfCa(_) => ("baseVoltageConcDepVariable", "x", "none"),
        Kind::Tau => ("baseVoltageDepTime", "t", "time"),
    };
    let mut constants = vec![("VOLT_SCALE", "voltage", "1mV")];
    let mut lines = vec![
        "<DerivedVariable name=\"V\" dimension=\"none\" value=\"v / VOLT_SCALE\"/>".to_string(),
    ];
    let scaled = |text: &str| match kind {
        Kind::Inf => text.to_string(),
        Kind::InfCa(kd) => format!("ca / (ca + {}) * {text}", number(kd)),
        Kind::Tau => format!("({text}) * TIME_SCALE"),
    };
    match kind {
        Kind::Inf => {}
        Kind::InfCa(_) => {
            constants.push(("CONC_SCALE", "concentration", "0.001mM"));
            lines.push(
                "<DerivedVariable name=\"ca\" dimension=\"none\" value=\"caConc / CONC_SCALE\"/>"
                    .to_string(),
            );
        }
        Kind::Tau => constants.push(("TIME_SCALE", "time", "1ms")),
    }
    match bridge {
        None => lines.push(format!(
            "<DerivedVariable name=\"{exposure}\" dimension=\"{dim}\" exposure=\"{exposure}\" value=\"{}\"/>",
            xml(&scaled(formula))
        )),
        Some((p, a, b)) => {
            let w = POLE_GUARD_MV;
            let dist2 = format!("(V - {p}) * (V - {p})", p = number(p));
            let line = format!(
                "{} + ({} - {}) * (V - {}) / {}",
                number(a),
                number(b),
                number(a),
                number(p - w),
                py_float(2.0 * w)
            );
            // The schema wants conditional variables after the others: this one is the exposure.
            lines.push(format!(
                "<!-- the formula has a pole at {p:?} mV; spikepop bridges it linearly within {w:?} mV -->\n\
                 \x20           <ConditionalDerivedVariable name=\"{exposure}\" dimension=\"{dim}\" exposure=\"{exposure}\">\n\
                 \x20               <Case condition=\"{near}\" value=\"{line}\"/>\n\
                 \x20               <Case condition=\"{far}\" value=\"{formula}\"/>\n\
                 \x20           </ConditionalDerivedVariable>",
                near = xml(&format!("{dist2} .lt. {}", py_float(w * w))),
                far = xml(&format!("{dist2} .geq. {}", py_float(w * w))),
                line = xml(&scaled(&line)),
                formula = xml(&scaled(formula)),
            ));
        }
    }
    let constants: String = constants
        .iter()
        .map(|(n, d, v)| {
            format!("        <Constant name=\"{n}\" dimension=\"{d}\" value=\"{v}\"/>\n")
        })
        .collect();
    format!(
        "    <ComponentType name=\"{name}\" extends=\"{base}\">\n{constants}        <Dynamics>\n{}\n        </Dynamics>\n    </ComponentType>\n",
        lines
            .iter()
            .map(|l| format!("            {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// The rate `a` (forward) and `b` (backward) of a two-state transition as a steady state `a / (a + b)` and
/// a time constant `1 / (a + b)` (`NAME_inf`, `NAME_tau`).
fn transition_types(name: &str, a: &VFn, b: &VFn) -> String {
    let (fa, fb) = (f(a), f(b));
    formula_type(
        &format!("{name}_inf"),
        &format!("{fa} / ({fa} + {fb})"),
        Kind::Inf,
        None,
    ) + &formula_type(
        &format!("{name}_tau"),
        &format!("1 / ({fa} + {fb})"),
        Kind::Tau,
        None,
    )
}

/// The steady-state and time-constant types of an HH or calcium-dependent gate (`None` for other gates).
fn hh_types(id: &str, g: &Gate) -> Option<(String, String, String)> {
    let (inf, tau, kind) = match g.gating {
        Gating::Hh { inf, tau } => (inf, tau, Kind::Inf),
        Gating::CaDependent { inf, kd, tau } => (inf, tau, Kind::InfCa(kd)),
        _ => return None,
    };
    let gid = ident(g.name);
    let (ni, nt) = (format!("{id}_{gid}_inf"), format!("{id}_{gid}_tau"));
    let types = component_type(&ni, &inf, kind) + &component_type(&nt, &tau, Kind::Tau);
    Some((types, ni, nt))
}

/// The file of channel `ch`: its rate functions' component types and the channel.
fn channel_file(model: &Model, c: usize) -> String {
    let ch = &model.channels[c];
    let id = channel_id(model, ch);
    let kinetic = ch
        .gates
        .iter()
        .any(|g| matches!(g.gating, Gating::Kinetic { .. }));
    let mut types = String::new();
    // Every gate is a `gate` with its kind as `type`: the schema holds one kind of typed gate element per
    // channel, and `gate` elements of any kinds mix.
    let mut gates = String::new();
    for g in ch.gates {
        let gid = ident(g.name);
        let p = g.power;
        match g.gating {
            Gating::Hh { .. } | Gating::CaDependent { .. } => {
                let (t, ni, nt) = hh_types(&id, g).expect("an HH gate");
                types.push_str(&t);
                if kinetic {
                    gates.push_str(&format!(
                        "        <gateKS id=\"{gid}\" instances=\"{p}\">\n\
                         \x20           <closedState id=\"{gid}_c\"/>\n\
                         \x20           <openState id=\"{gid}_o\"/>\n\
                         \x20           <tauInfTransition id=\"{gid}_co\" from=\"{gid}_c\" to=\"{gid}_o\">\n\
                         \x20               <steadyState type=\"{ni}\"/>\n\
                         \x20               <timeCourse type=\"{nt}\"/>\n\
                         \x20           </tauInfTransition>\n\
                         \x20       </gateKS>\n"
                    ));
                } else {
                    gates.push_str(&format!(
                        "        <gate id=\"{gid}\" type=\"gateHHtauInf\" instances=\"{p}\">\n\
                         \x20           <timeCourse type=\"{nt}\"/>\n\
                         \x20           <steadyState type=\"{ni}\"/>\n\
                         \x20       </gate>\n"
                    ));
                }
            }
            Gating::Instant { inf } => {
                let ni = format!("{id}_{gid}_inf");
                types.push_str(&component_type(&ni, &inf, Kind::Inf));
                gates.push_str(&format!(
                    "        <gate id=\"{gid}\" type=\"gateHHInstantaneous\" instances=\"{p}\">\n\
                     \x20           <steadyState type=\"{ni}\"/>\n\
                     \x20       </gate>\n"
                ));
            }
            Gating::Kinetic { a0, b0, ai, bi, .. } => {
                let (co, oi) = (format!("{id}_{gid}_co"), format!("{id}_{gid}_oi"));
                types.push_str(&transition_types(&co, &a0, &b0));
                types.push_str(&transition_types(&oi, &ai, &bi));
                gates.push_str(&format!(
                    "        <!-- C <-> O (a0, b0) <-> I (ai, bi); O conducts -->\n\
                     \x20       <gateKS id=\"{gid}\" instances=\"{p}\">\n\
                     \x20           <closedState id=\"{gid}_c\"/>\n\
                     \x20           <closedState id=\"{gid}_i\"/>\n\
                     \x20           <openState id=\"{gid}_o\"/>\n\
                     \x20           <tauInfTransition id=\"{gid}_co\" from=\"{gid}_c\" to=\"{gid}_o\">\n\
                     \x20               <steadyState type=\"{co}_inf\"/>\n\
                     \x20               <timeCourse type=\"{co}_tau\"/>\n\
                     \x20           </tauInfTransition>\n\
                     \x20           <tauInfTransition id=\"{gid}_oi\" from=\"{gid}_o\" to=\"{gid}_i\">\n\
                     \x20               <steadyState type=\"{oi}_inf\"/>\n\
                     \x20               <timeCourse type=\"{oi}_tau\"/>\n\
                     \x20           </tauInfTransition>\n\
                     \x20       </gateKS>\n"
                ));
            }
        }
    }
    let species = match ion(model, c) {
        Some(ion) => format!(" species=\"{ion}\""),
        None => String::new(),
    };
    // The schema wants the channel before the component types.
    let channel = if kinetic {
        format!(
            "    <ionChannelKS id=\"{id}\"{species} conductance=\"10pS\">\n{gates}    </ionChannelKS>\n"
        )
    } else if ch.gates.is_empty() {
        format!(
            "    <ionChannel id=\"{id}\" type=\"ionChannelPassive\"{species} conductance=\"10pS\"/>\n"
        )
    } else {
        format!(
            "    <ionChannelHH id=\"{id}\"{species} conductance=\"10pS\">\n{gates}    </ionChannelHH>\n"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{NML_HEADER}\n         id=\"{id}\">\n\n\
         \x20   <notes>{title}: channel {name}, I = g * prod(x^p) * (V - E) (written by `spikepop export --format neuroml`). \
         Each rate function is the model's own, in V = v / 1 mV; time constants in ms.</notes>\n\n\
         {channel}\n{types}\n</neuroml>\n",
        title = xml(&common::title(model)),
        name = xml(ch.name),
    )
}

/// The ion a channel's current is carried by, as NeuroML names it: `ca` for the calcium carriers; for a
/// channel whose gates read calcium, an ion of its own, `ion<k>` with k the channel's position (spikepop's
/// models name no ions, and NEURON, into which jNeuroML translates the cell, reads `cai` only through an
/// ion's `USEION`; the name holds no `ca`, which jNeuroML would take for calcium); `None` (non-specific) for
/// the others.
fn ion(model: &Model, c: usize) -> Option<String> {
    let ch = &model.channels[c];
    if model.calcium.is_some_and(|ca| ca.carriers.contains(&c)) {
        Some("ca".to_string())
    } else if ch
        .gates
        .iter()
        .any(|g| matches!(g.gating, Gating::CaDependent { .. }))
    {
        Some(format!("ion{c}"))
    } else {
        None
    }
}

/// Refuses a model that NeuroML cannot express: an instantaneous gate in a channel with a kinetic scheme.
pub fn check(model: &Model) -> Result<(), ExportError> {
    for ch in model.channels {
        let has = |kinetic: bool| {
            ch.gates.iter().any(|g| match g.gating {
                Gating::Kinetic { .. } => kinetic,
                Gating::Instant { .. } => !kinetic,
                _ => false,
            })
        };
        if has(true) && has(false) {
            return Err(ExportError::Unsupported {
                channel: ch.name.to_string(),
                format: "neuroml",
                why: "NeuroML's kinetic-scheme channels (ionChannelKS) hold no instantaneous gate"
                    .to_string(),
            });
        }
    }
    Ok(())
}

/// The calcium file: NeuroML's fixed-factor concentration model with spikepop's constants.
fn calcium_file(model: &Model) -> Option<String> {
    let c = model.calcium?;
    // spikepop: dCa/dt = alpha J / tau - (Ca - beta) / tau, Ca in uM, J the inward current density in
    // uA/cm^2 (= 100 J' for J' in A/m^2), t in ms; 1 uM/ms = 1 mol/(m^3 s). So rho = 100 alpha / tau SI.
    let rho = 100.0 * c.alpha / c.tau;
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{NML_HEADER}\n         id=\"{id}\">\n\n\
         \x20   <notes>{title}: intracellular calcium (written by `spikepop export --format neuroml`). spikepop's \
         dCa/dt = (-alpha I_Ca - Ca + beta) / tau with alpha = {alpha:?}, beta = {beta:?} uM, tau = {tau:?} ms \
         is the fixed-factor model with restingConc = beta, decayConstant = tau and rho = alpha / tau (in SI \
         units, 100 alpha / tau).</notes>\n\n\
         \x20   <fixedFactorConcentrationModel id=\"{id}\" ion=\"ca\" restingConc=\"{rest:?}mM\" decayConstant=\"{tau:?}ms\" \
         rho=\"{rho:?}mol_per_m_per_A_per_s\"/>\n\n</neuroml>\n",
        id = calcium_id(model),
        title = xml(&common::title(model)),
        alpha = c.alpha,
        beta = c.beta,
        tau = c.tau,
        rest = c.beta * 1e-3,
    ))
}

/// The ids of the members' cells (`m0_c0001`): unique whatever the members' names.
fn cell_ids(pop: Population) -> Vec<String> {
    pop.ids
        .iter()
        .enumerate()
        .map(|(k, id)| format!("m{k}_{}", ident(id)))
        .collect()
}

/// The network file: every member as a `cell` of one segment, and a network with one population per member.
fn network_file(model: &Model, pop: Population, includes: &[String]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{NML_HEADER}\n         id=\"{id}_population\">\n\n\
         \x20   <notes>{title}: {n} members of a spikepop population (written by `spikepop export --format neuroml`), \
         each a single isopotential segment.</notes>\n\n",
        id = ident(model.name),
        title = xml(&common::title(model)),
        n = pop.ids.len(),
    );
    for f in includes {
        out.push_str(&format!("    <include href=\"{}\"/>\n", xml(f)));
    }
    out.push('\n');
    let cells = cell_ids(pop);
    for (k, cell) in cells.iter().enumerate() {
        out.push_str(&format!(
            "    <cell id=\"{cell}\">\n\
             \x20       <notes>member {member}</notes>\n\
             \x20       <morphology id=\"{cell}_morphology\">\n\
             \x20           <segment id=\"0\" name=\"soma\">\n\
             \x20               <proximal x=\"0\" y=\"0\" z=\"0\" diameter=\"10\"/>\n\
             \x20               <distal x=\"10\" y=\"0\" z=\"0\" diameter=\"10\"/>\n\
             \x20           </segment>\n\
             \x20       </morphology>\n\
             \x20       <biophysicalProperties id=\"{cell}_biophysics\">\n\
             \x20           <membraneProperties>\n",
            member = xml(&pop.ids[k]),
        ));
        for (c, ch) in model.channels.iter().enumerate() {
            let ion = ion(model, c).unwrap_or_else(|| "non_specific".to_string());
            out.push_str(&format!(
                "                <channelDensity id=\"{cid}\" ionChannel=\"{cid}\" condDensity=\"{g:?}mS_per_cm2\" \
                 erev=\"{e:?}mV\" ion=\"{ion}\"/>\n",
                cid = channel_id(model, ch),
                g = pop.g[k][c],
                e = ch.reversal,
            ));
        }
        out.push_str(&format!(
            "                <spikeThresh value=\"{th:?}mV\"/>\n\
             \x20               <specificCapacitance value=\"1.0uF_per_cm2\"/>\n\
             \x20               <initMembPotential value=\"{v0:?}mV\"/>\n\
             \x20           </membraneProperties>\n\
             \x20           <intracellularProperties>\n",
            th = model.spike_threshold,
            v0 = model.v0,
        ));
        if let Some(ca) = model.calcium {
            out.push_str(&format!(
                "                <species id=\"ca\" ion=\"ca\" concentrationModel=\"{cm}\" \
                 initialConcentration=\"{init:?}mM\" initialExtConcentration=\"2.0mM\"/>\n",
                cm = calcium_id(model),
                init = ca.initial * 1e-3,
            ));
        }
        out.push_str(
            "            </intracellularProperties>\n        </biophysicalProperties>\n    </cell>\n\n",
        );
    }
    out.push_str("    <network id=\"network\">\n");
    for (k, cell) in cells.iter().enumerate() {
        out.push_str(&format!(
            "        <population id=\"pop{k}\" component=\"{cell}\" size=\"1\"/>\n"
        ));
    }
    out.push_str("    </network>\n\n</neuroml>\n");
    out
}

/// The LEMS simulation of the network, with every member's spikes in one event file.
fn lems_file(model: &Model, pop: Population, network: &str) -> String {
    let mut sel = String::new();
    for (k, cell) in cell_ids(pop).iter().enumerate() {
        sel.push_str(&format!(
            "            <EventSelection id=\"{k}\" select=\"pop{k}/0/{cell}\" eventPort=\"spike\"/>\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Lems xmlns=\"http://www.neuroml.org/lems/0.7.6\">\n\n\
         \x20   <!-- {title}: the population's simulation (written by spikepop export, format neuroml). Run it with \
         pynml LEMS_{id}.xml -neuron -run -nogui (NEURON) or pynml LEMS_{id}.xml -nogui (jLEMS). -->\n\n\
         \x20   <Target component=\"sim\"/>\n\n\
         \x20   <Include file=\"Cells.xml\"/>\n\
         \x20   <Include file=\"Networks.xml\"/>\n\
         \x20   <Include file=\"Simulation.xml\"/>\n\
         \x20   <Include file=\"{network}\"/>\n\n\
         \x20   <Simulation id=\"sim\" length=\"{dur:?}ms\" step=\"{dt:?}ms\" target=\"network\">\n\
         \x20       <EventOutputFile id=\"spikes\" fileName=\"spikes_neuroml.events\" format=\"ID_TIME\">\n\
         {sel}\
         \x20       </EventOutputFile>\n\
         \x20   </Simulation>\n\n</Lems>\n",
        title = comment(&xml(&common::title(model))),
        id = lems_stem(model),
        dur = model.default_duration,
        dt = NEUROML_DT_MS,
    )
}

fn lems_stem(model: &Model) -> String {
    format!("{}_population", ident(model.name))
}

/// The NeuroML export's files, for a model that passed [`check`].
pub fn files(model: &Model, pop: Population) -> Vec<File> {
    let mut out = Vec::new();
    let mut includes = Vec::new();
    for (c, ch) in model.channels.iter().enumerate() {
        let name = format!("{}.channel.nml", channel_id(model, ch));
        out.push(File {
            name: name.clone(),
            text: channel_file(model, c),
        });
        includes.push(name);
    }
    if let Some(text) = calcium_file(model) {
        let name = format!("{}.nml", calcium_id(model));
        out.push(File {
            name: name.clone(),
            text,
        });
        includes.push(name);
    }
    let stem = lems_stem(model);
    let network = format!("{stem}.net.nml");
    out.push(File {
        name: network.clone(),
        text: network_file(model, pop, &includes),
    });
    let lems = format!("LEMS_{stem}.xml");
    out.push(File {
        name: lems.clone(),
        text: lems_file(model, pop, &network),
    });
    let ids: Vec<String> = pop.ids.iter().map(|s| py_str(s)).collect();
    let script = format!(
        r#"#!/usr/bin/env python3
"""{title}: {n} members of a spikepop population in NeuroML 2 (written by `spikepop export --format neuroml`).

    pip install pyneuroml neuron     # and Java, for jNeuroML
    python3 run.py [--validate] [--duration MS] [--transient MS] [--rtol R] [--atol A] [--dt MS] [-o spikes_neuroml.csv]

validates the NeuroML files (--validate), has jNeuroML translate the LEMS simulation into NEURON (mechanisms and a
script), compiles the mechanisms, simulates every member with CVODE (or NEURON's fixed step with --dt) and writes
their spike times (ms, after the transient) as ID,n_spikes,spiking_times. The README beside this script states
the conventions.
"""
import argparse
import csv
import glob
import os
import shutil
import subprocess
import sys

from pyneuroml import pynml

HERE = os.path.dirname(os.path.abspath(__file__))
LEMS = {lems}
# The members, in the order of the network's populations (pop0, pop1, ...) and of the event file's ids.
IDS = [{ids}]
DURATION_MS = {duration}
TRANSIENT_MS = {transient}


{write_spikes}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--validate", action="store_true", help="validate every NeuroML file first (jNeuroML)")
    p.add_argument("--duration", type=float, default=DURATION_MS, help="simulated time (ms)")
    p.add_argument("--transient", type=float, default=TRANSIENT_MS, help="initial time left out (ms)")
    p.add_argument("--rtol", type=float, default=1e-7, help="CVODE relative tolerance")
    p.add_argument("--atol", type=float, default=1e-8, help="CVODE absolute tolerance")
    p.add_argument("--dt", type=float, help="NEURON's fixed step (ms) instead of CVODE")
    p.add_argument("-o", "--output", default="spikes_neuroml.csv")
    a = p.parse_args()
    output = os.path.abspath(a.output)
    os.chdir(HERE)
    if a.validate:
        for f in sorted(glob.glob("*.nml")):
            if not pynml.validate_neuroml2(f):
                raise SystemExit("%s is not valid NeuroML 2" % f)
    nrnivmodl = shutil.which("nrnivmodl") or shutil.which("nrnivmodl", path=os.path.dirname(sys.executable))
    if nrnivmodl is None:
        raise SystemExit("NEURON's nrnivmodl is not on the PATH (pip install neuron)")
    # jNeuroML finds NEURON through NEURON_HOME (bin/nrnivmodl below it), as pip installs it.
    os.environ.setdefault("NEURON_HOME", os.path.dirname(os.path.dirname(nrnivmodl)))
    if not pynml.run_lems_with_jneuroml_neuron(LEMS, nogui=True, only_generate_scripts=True, compile_mods=False,
                                               exit_on_fail=False):
        raise SystemExit("jNeuroML could not translate %s into NEURON" % LEMS)
    r = subprocess.run([nrnivmodl], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("nrnivmodl failed on jNeuroML's mechanisms:\n" + (r.stdout + r.stderr)[-3000:])
    if os.path.exists("spikes_neuroml.events"):
        os.remove("spikes_neuroml.events")
    # jNeuroML's script, with CVODE stepping each member on its own (local steps: the members do not interact).
    script = os.path.splitext(LEMS)[0] + "_nrn"
    if a.dt:
        code = "import %s as m; m.NeuronSimulation(tstop=%r, dt=%r).run()" % (script, a.duration, a.dt)
    else:
        code = ("import %s as m; from neuron import h; s = m.NeuronSimulation(tstop=%r, abs_tol=%r, rel_tol=%r); "
                "h.CVode().use_local_dt(1); s.run()" % (script, a.duration, a.atol, a.rtol))
    # jNeuroML's script reports its own failures on stdout and exits 0: no event file means it failed.
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists("spikes_neuroml.events"):
        raise SystemExit("the NEURON simulation failed:\n" + (r.stdout + r.stderr)[-3000:])
    trains = {{member: [] for member in IDS}}
    with open("spikes_neuroml.events") as f:
        for line in f:
            k, t = line.split()
            t_ms = float(t) * 1000.0  # seconds in the event file
            if t_ms >= a.transient:
                trains[IDS[int(k)]].append(t_ms)
    write_spikes(output, {{m: sorted(t) for m, t in trains.items()}})


if __name__ == "__main__":
    main()
"#,
        title = common::py_doc(&common::title(model)),
        n = pop.ids.len(),
        lems = py_str(&lems),
        ids = ids.join(", "),
        duration = py_float(model.default_duration),
        transient = py_float(model.default_transient),
        write_spikes = common::PY_WRITE_SPIKES,
    );
    out.push(File {
        name: "run.py".into(),
        text: script,
    });
    let readme = format!(
        "# {title}: a spikepop population in NeuroML 2\n\n\
         Written by `spikepop export --model {name} --format neuroml`: {n} members.\n\n\
         ```sh\npip install pyneuroml neuron        # jNeuroML (in pyNeuroML) also needs Java, 11 or later\n\
         pynml -validate *.nml                # the NeuroML validator\n\
         python3 run.py                       # simulates the members in NEURON, writes spikes_neuroml.csv\n```\n\n\
         - `{example}.channel.nml` and the other channel files: one ion channel each, with every rate function a \
         LEMS `ComponentType` in the dimensionless voltage `V = v / 1 mV` (the model's own formula; time constants \
         in ms), held by NeuroML's standard gates (`gate` of type `gateHHtauInf` or `gateHHInstantaneous`). A \
         kinetic scheme C <-> O <-> I is an `ionChannelKS` whose `gateKS` has two `tauInfTransition`s: rates a \
         (forward) and b (backward) as inf = a / (a + b) over tau = 1 / (a + b).{ca}\n\
         - `{stem}.net.nml`: every member as a `cell` (`m<k>_<ID>`, a single segment 10 um long and wide; \
         `channelDensity` in mS/cm^2 with a fixed `erev`; `specificCapacitance` 1 uF/cm^2; `initMembPotential` \
         {v0} mV; `spikeThresh` {th} mV) and a network with one population of one cell per member (`pop<k>`, \
         in the order of the members).\n\
         - `LEMS_{stem}.xml`: a simulation of the network ({dur} ms, fixed step {dt} ms) that records every \
         member's spikes in `spikes_neuroml.events` (ids in member order, times in seconds). \
         `pynml LEMS_{stem}.xml -neuron -run -nogui` runs it as it is in NEURON (implicit Euler at that step: \
         close to spikepop for STG and DA, a few percent off for models with steeper currents); jLEMS \
         (`pynml LEMS_{stem}.xml -nogui`) integrates with forward Euler, which needs a far smaller step.\n\
         - `run.py` validates the files (`--validate`), has jNeuroML translate the simulation into NEURON \
         (`LEMS_{stem}_nrn.py` and one `.mod` file per channel), compiles the mechanisms and simulates every member \
         with CVODE, each with its own steps (relative tolerance 1e-7, absolute 1e-8: `--rtol`, `--atol`; `--dt` \
         for the fixed step instead), and writes the spike times after the transient to `spikes_neuroml.csv`.\n\n\
         jNeuroML's translation gives NEURON one reversal potential per ion in a cell: a channel whose gates read \
         calcium carries an ion of its own (`ion<k>`, k its position among the channels), and the calcium \
         carriers share `eca`, so they must share their reversal potential for NEURON (they do in the built-in \
         models).{ks}\n\n{conv}",
        title = common::title(model),
        name = model.name,
        n = pop.ids.len(),
        example = channel_id(model, &model.channels[0]),
        ca = if model.calcium.is_some() {
            format!(
                "\n- `{}.nml`: intracellular calcium as NeuroML's `fixedFactorConcentrationModel` (below); the \
                 calcium carriers' `channelDensity` has `ion=\"ca\"`, and calcium-dependent gates read `caConc`.",
                calcium_id(model)
            )
        } else {
            String::new()
        },
        v0 = model.v0,
        th = model.spike_threshold,
        dur = model.default_duration,
        dt = NEUROML_DT_MS,
        ks = if model
            .channels
            .iter()
            .flat_map(|c| c.gates)
            .any(|g| matches!(g.gating, Gating::Kinetic { .. }))
        {
            " NeuroML declares no initial occupancy for a kinetic scheme's states: jNeuroML's NEURON translation \
             starts them at their steady state at the initial voltage, where spikepop starts them at the model's \
             declared fractions (below); the difference is gone long before the transient ends (the DA members \
             fire as in spikepop to 0.2%)."
        } else {
            ""
        },
        conv = common::conventions(model),
    );
    out.push(File {
        name: "README.md".into(),
        text: readme,
    });
    out
}

/// The fixed step of the LEMS simulation file (ms), for simulators that read it as it is (`pynml LEMS_*.xml
/// -neuron -run`, implicit Euler): within 0.1% of spikepop on STG and DA, not on a model as steep as the CA1
/// file's (5-10% off); `run.py` integrates with CVODE instead.
pub const NEUROML_DT_MS: f64 = 0.0025;

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use spikepop_models::file::{parse, to_toml};

    use super::*;

    fn ca1() -> Model {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/models/ca1_golomb2006.toml"
        );
        parse(&std::fs::read_to_string(path).unwrap(), path).unwrap()
    }

    /// `text`, a quantity such as `12.5mS_per_cm2`, as its number and unit.
    fn quantity(text: &str) -> (f64, &str) {
        let k = text
            .find(|c: char| c.is_ascii_alphabetic() && c != 'e')
            .unwrap();
        (text[..k].parse().unwrap(), &text[k..])
    }

    /// Reads every file of an export of `model`'s population back as XML and checks that what refers to
    /// something finds it: includes, ion channels, gate component types, cells, populations and the event
    /// selections; that each member's conductances and the calcium constants are the model's; and returns
    /// the files by name.
    fn check(model: &Model, g: &[Vec<f64>]) -> HashMap<String, String> {
        let ids: Vec<String> = (0..g.len()).map(|k| format!("cell {k}/a")).collect();
        let files: HashMap<String, String> =
            crate::files(model, Population { ids: &ids, g }, crate::Format::NeuroMl)
                .unwrap()
                .into_iter()
                .map(|f| (f.name, f.text))
                .collect();
        let mut channels = HashSet::new();
        for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".channel.nml")) {
            let doc = roxmltree::Document::parse(text).unwrap();
            let types: HashSet<&str> = doc
                .descendants()
                .filter(|n| n.has_tag_name("ComponentType"))
                .map(|n| n.attribute("name").unwrap())
                .collect();
            for n in doc.descendants() {
                if n.has_tag_name("steadyState") || n.has_tag_name("timeCourse") {
                    let t = n.attribute("type").unwrap();
                    assert!(types.contains(t), "{name}: {t} is not defined");
                }
                if n.tag_name().name().starts_with("ionChannel") {
                    channels.insert(n.attribute("id").unwrap().to_string());
                }
            }
        }
        assert_eq!(channels.len(), model.channels.len());
        let stem = lems_stem(model);
        let net = roxmltree::Document::parse(&files[&format!("{stem}.net.nml")]).unwrap();
        for inc in net.descendants().filter(|n| n.has_tag_name("include")) {
            assert!(files.contains_key(inc.attribute("href").unwrap()));
        }
        let cells: Vec<_> = net
            .descendants()
            .filter(|n| n.has_tag_name("cell"))
            .collect();
        assert_eq!(cells.len(), g.len());
        for (k, cell) in cells.iter().enumerate() {
            let dens: Vec<_> = cell
                .descendants()
                .filter(|n| n.has_tag_name("channelDensity"))
                .collect();
            assert_eq!(dens.len(), model.channels.len());
            for (c, d) in dens.iter().enumerate() {
                assert!(channels.contains(d.attribute("ionChannel").unwrap()));
                assert_eq!(
                    quantity(d.attribute("condDensity").unwrap()),
                    (g[k][c], "mS_per_cm2")
                );
                assert_eq!(
                    quantity(d.attribute("erev").unwrap()),
                    (model.channels[c].reversal, "mV")
                );
            }
            let pop = net
                .descendants()
                .find(|n| n.attribute("id") == Some(&format!("pop{k}")))
                .unwrap();
            assert_eq!(pop.attribute("component"), cell.attribute("id"));
        }
        if let Some(ca) = model.calcium {
            let doc =
                roxmltree::Document::parse(&files[&format!("{}.nml", calcium_id(model))]).unwrap();
            let m = doc
                .descendants()
                .find(|n| n.has_tag_name("fixedFactorConcentrationModel"))
                .unwrap();
            // dCa/dt in uM/ms for an inward current density J in uA/cm^2 is alpha J / tau; in SI units
            // (mol/m^3/s for A/m^2, 1 uA/cm^2 = 0.01 A/m^2 and 1 uM/ms = 1 mol/m^3/s) that is rho.
            let (rho, unit) = quantity(m.attribute("rho").unwrap());
            assert_eq!(unit, "mol_per_m_per_A_per_s");
            assert!((rho * 0.01 - ca.alpha / ca.tau).abs() < 1e-12 * rho);
            assert_eq!(
                quantity(m.attribute("decayConstant").unwrap()),
                (ca.tau, "ms")
            );
            let (rest, unit) = quantity(m.attribute("restingConc").unwrap());
            assert_eq!(unit, "mM");
            assert!((rest * 1e3 - ca.beta).abs() < 1e-12);
        }
        let lems = roxmltree::Document::parse(&files[&format!("LEMS_{stem}.xml")]).unwrap();
        let selections: Vec<_> = lems
            .descendants()
            .filter(|n| n.has_tag_name("EventSelection"))
            .map(|n| n.attribute("select").unwrap().to_string())
            .collect();
        let cell_ids: Vec<_> = cells.iter().map(|c| c.attribute("id").unwrap()).collect();
        assert_eq!(
            selections,
            (0..g.len())
                .map(|k| format!("pop{k}/0/{}", cell_ids[k]))
                .collect::<Vec<_>>()
        );
        let listed: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
        assert!(files["run.py"].contains(&format!("IDS = [{}]", listed.join(", "))));
        files
    }

    #[test]
    fn every_reference_resolves_for_the_built_in_models_and_a_model_file() {
        for model in [&spikepop_models::STG, &spikepop_models::DA, &ca1()] {
            let n = model.channels.len();
            let g = vec![
                (0..n).map(|c| 0.5 + c as f64).collect(),
                (0..n).map(|c| 1e-5 * (c + 1) as f64).collect(),
            ];
            check(model, &g);
        }
    }

    #[test]
    fn gates_become_the_neuroml_elements_of_their_kind() {
        let g = vec![vec![1.0; spikepop_models::DA.channels.len()]];
        let f = check(&spikepop_models::DA, &g);
        // The ERG scheme: an ionChannelKS with C, I closed and O open, and two transitions.
        let erg = roxmltree::Document::parse(&f["da_ERG.channel.nml"]).unwrap();
        let ks = erg
            .descendants()
            .find(|n| n.has_tag_name("gateKS"))
            .unwrap();
        let kinds: Vec<_> = ks
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            kinds,
            [
                "closedState",
                "closedState",
                "openState",
                "tauInfTransition",
                "tauInfTransition"
            ]
        );
        // DA's tau_m_Na pole is bridged in a conditional variable that is the exposure.
        assert!(f["da_Na.channel.nml"].contains("<ConditionalDerivedVariable name=\"t\""));
        assert!(f["da_NMDA.channel.nml"].contains("type=\"gateHHInstantaneous\""));
        // STG's KCa reads calcium, and the carriers carry it.
        let g = vec![vec![1.0; spikepop_models::STG.channels.len()]];
        let f = check(&spikepop_models::STG, &g);
        assert!(f["stg_KCa.channel.nml"].contains("extends=\"baseVoltageConcDepVariable\""));
        assert!(f["stg_KCa.channel.nml"].contains("species=\"ion4\""));
        assert!(f["stg_CaT.channel.nml"].contains("species=\"ca\""));
        assert!(!f["stg_Na.channel.nml"].contains("species="));
    }

    /// DA's model file with one more gate in its ERG channel, after the kinetic one.
    fn da_with_erg_gate(gate: &str) -> Result<Vec<File>, ExportError> {
        let text = to_toml(&spikepop_models::DA, "test");
        let erg = text.find("name = \"ERG\"").unwrap();
        let end = erg + text[erg..].find("dic = ").unwrap();
        let end = end + text[end..].find('\n').unwrap() + 1;
        let text = format!("{}\n[[channel.gate]]\n{gate}{}", &text[..end], &text[end..]);
        let m = parse(&text, "da2.toml").unwrap();
        let g = vec![vec![1.0; m.channels.len()]];
        crate::files(
            &m,
            Population {
                ids: &["a".into()],
                g: &g,
            },
            crate::Format::NeuroMl,
        )
    }

    #[test]
    fn a_kinetic_channel_holds_hh_gates_and_refuses_instantaneous_ones() {
        let f = da_with_erg_gate(
            "name = \"x_ERG\"\npower = 2\ninf = \"gsig(V, 0.0, 1.0, -5.0, 20.0)\"\ntau = \"5.0\"\n",
        )
        .unwrap();
        let erg = &f
            .iter()
            .find(|f| f.name == "da_ERG.channel.nml")
            .unwrap()
            .text;
        let doc = roxmltree::Document::parse(erg).unwrap();
        let gates: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("gateKS"))
            .map(|n| {
                (
                    n.attribute("id").unwrap(),
                    n.attribute("instances").unwrap(),
                )
            })
            .collect();
        assert_eq!(gates, [("o_ERG", "1"), ("x_ERG", "2")]);
        let e = da_with_erg_gate(
            "name = \"b_ERG\"\npower = 1\ninstant = true\ninf = \"mg_block(V, 1.4, 0.08, 10.0)\"\ndic = { w_fs = 1.0, w_su = 1.0 }\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "channel ERG: cannot be written as neuroml: NeuroML's kinetic-scheme channels (ionChannelKS) hold no \
             instantaneous gate"
        );
    }
}
