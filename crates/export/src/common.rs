//! What every export shares: the names of the model's state variables and their initial values, Python
//! literals, the spike-file writer of the run scripts and the conventions of the README.

use spikepop_models::Model;
use spikepop_models::expr::{PowSyntax, explicit, number};
use spikepop_models::model::{Gate, Gating};
use spikepop_models::sim::POLE_GUARD_MV;
use spikepop_models::vfn::VFn;

use crate::Population;

/// `s` as an identifier of NMODL and Python: letters, digits and `_`, not starting with a digit.
pub fn ident(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'x');
    }
    out
}

/// The state variable of a kinetic gate's inactivated fraction (its open fraction is the gate's own name).
pub fn inactivated(gate: &Gate) -> String {
    format!("{}_inact", ident(gate.name))
}

/// The initial value of every gate state (`(name, value)`, in the model's state order) and of calcium: the
/// model's own initial state ([`Model::initial_state`]), so every simulator starts where spikepop does.
pub fn initial_states(model: &Model) -> (Vec<(String, f64)>, Option<f64>) {
    let u = model.initial_state();
    let mut k = 1;
    let mut out = Vec::new();
    for g in model.channels.iter().flat_map(|c| c.gates) {
        match g.gating {
            Gating::Instant { .. } => {}
            Gating::Kinetic { .. } => {
                out.push((ident(g.name), u[k]));
                out.push((inactivated(g), u[k + 1]));
                k += 2;
            }
            Gating::Hh { .. } | Gating::CaDependent { .. } => {
                out.push((ident(g.name), u[k]));
                k += 1;
            }
        }
    }
    let ca = model.calcium.map(|_| u[k]);
    (out, ca)
}

/// A time constant with a pole (DA's `tau_m_Na`, [`VFn::pole`]) as spikepop's simulator evaluates it:
/// within [`POLE_GUARD_MV`] of the pole, the straight line between its values at the window's ends; `None`
/// for a time constant without a pole. Returns `(pole, value at the window's lower end, at its upper end)`.
pub fn pole_bridge(tau: &VFn) -> Option<(f64, f64, f64)> {
    let p = tau.pole()?;
    Some((p, tau.at(p - POLE_GUARD_MV), tau.at(p + POLE_GUARD_MV)))
}

/// A time constant written out for an equation language whose only conditional is arithmetic on a
/// comparison (`int(abs(V - p) < w)` in Brian2): the formula outside the guard window, the bridge inside.
pub fn tau_masked(tau: &VFn, v: &str, pow: PowSyntax) -> String {
    let text = explicit(tau, v, pow);
    match pole_bridge(tau) {
        None => text,
        Some((p, a, b)) => {
            let inside = format!(
                "int(abs({v} - {}) < {})",
                number(p),
                py_float(POLE_GUARD_MV)
            );
            let line = format!(
                "({} + ({} - {}) * ({v} - {}) / {})",
                number(a),
                number(b),
                number(a),
                number(p - POLE_GUARD_MV),
                py_float(2.0 * POLE_GUARD_MV)
            );
            format!("({inside} * {line} + (1 - {inside}) * {text})")
        }
    }
}

/// The model's title on one line (control characters as spaces), for comments, docstrings and READMEs.
pub fn title(model: &Model) -> String {
    model
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` inside a Python docstring: backslashes and double quotes escaped.
pub fn py_doc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Python float literal that reads back to `x` (finite): Rust's shortest round-trip form (`1.0`, `1e-5`),
/// which Python reads as the same float.
pub fn py_float(x: f64) -> String {
    format!("{x:?}")
}

/// A Python string literal.
pub fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Python lines that define the members: `IDS = [...]` and `CONDUCTANCES = {"g_Na": [...], ...}`.
pub fn py_members(model: &Model, pop: Population) -> String {
    let ids: Vec<String> = pop.ids.iter().map(|s| py_str(s)).collect();
    let mut out = format!("IDS = [{}]\n", ids.join(", "));
    out.push_str("# Maximal conductances (mS/cm^2), one per member, in the order of IDS.\nCONDUCTANCES = {\n");
    for (c, ch) in model.channels.iter().enumerate() {
        let v: Vec<String> = pop.g.iter().map(|row| py_float(row[c])).collect();
        out.push_str(&format!("    {}: [{}],\n", py_str(ch.column), v.join(", ")));
    }
    out.push_str("}\n");
    out
}

/// The Python function that writes spike trains in the reference CSV layout, atomically.
pub const PY_WRITE_SPIKES: &str = r#"def write_spikes(path, trains):
    """Writes {ID: [times in ms]} as ID,n_spikes,spiking_times (the reference CSV layout), atomically."""
    tmp = path + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "n_spikes", "spiking_times"])
        for member, times in trains.items():
            w.writerow([member, len(times), "[" + ", ".join(repr(float(t)) for t in times) + "]"])
    os.replace(tmp, path)
"#;

/// The README paragraph on the conventions every export maps.
pub fn conventions(model: &Model) -> String {
    let calcium = match model.calcium {
        Some(c) => format!(
            "- Intracellular calcium (uM): dCa/dt = (-{alpha} I_Ca - Ca + {beta}) / {tau} ms, I_Ca the current of {carriers} \
             (uA/cm^2), Ca starting at {init} uM.\n",
            alpha = c.alpha,
            beta = c.beta,
            tau = c.tau,
            carriers = c
                .carriers
                .iter()
                .map(|&k| model.channels[k].name)
                .collect::<Vec<_>>()
                .join(" and "),
            init = c.initial,
        ),
        None => String::new(),
    };
    format!(
        "## Conventions\n\n\
         - Units as in spikepop: membrane potential in mV, time in ms, maximal conductances in mS/cm^2, currents \
         in uA/cm^2, a specific membrane capacitance of 1 uF/cm^2. A single isopotential compartment: every \
         quantity is a density, so the area does not enter the dynamics.\n\
         - Each channel's current is g * prod(x^p) * (V - E) with a fixed reversal potential E; every rate \
         function is the model's own, written out in elementary operations.\n\
         {calcium}\
         - Initial state: V = {v0} mV, every gate at the value spikepop starts it at (its steady state there; \
         kinetic schemes at their declared initial fractions).\n\
         - Simulated for {dur} ms; spikes are kept after the first {tr} ms (the transient), in absolute ms, as \
         `spikepop simulate` writes them. A spike is an upward crossing of {th} mV; spikepop also requires a \
         fall below {reset} mV before the next one.\n",
        v0 = model.v0,
        dur = model.default_duration,
        tr = model.default_transient,
        th = model.spike_threshold,
        reset = model.spike_reset,
    )
}
