//! Model files: a conductance-based model, its DIC settings, its population recipe and its training range in
//! one TOML file (`docs/models.md`). The built-in models are such files ([`crate::registry`]).
//!
//! A file is read once into a [`Model`] that lives as long as the program (its tables are leaked, a few
//! kilobytes per model), so a model read from a file is used exactly like a built-in one. Every expression is
//! parsed ([`crate::expr`]) and checked on [-100, 60] mV before the model is returned.

use std::fmt::Write as _;

use serde::Deserialize;
use toml::Spanned;

use crate::expr::Expr;
use crate::model::{Calcium, Channel, DicTimescale, Gate, Gating, Model, TauRef};
use crate::recipe::{
    PairCondition, PairRule, Placeholder, PopulationSettings, Training, UniformDraw,
};
use crate::sim::POLE_GUARD_MV;
use crate::vfn::VFn;

/// The largest number of channels (leak included) a model may have.
pub const MAX_CHANNELS: usize = 16;

/// The voltage range on which every expression of a model file must be finite (and time constants
/// positive, steady states within [0, 1], rates non-negative), mV.
pub const CHECK_RANGE_MV: (f64, f64) = (-100.0, 60.0);

/// Why a model file was refused: the file, the line (when known), the field, and what was expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{source_name}{}: {field}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct ModelFileError {
    /// The file (or `built-in stg`).
    pub source_name: String,
    /// 1-based line of the offending table or value, when known.
    pub line: Option<usize>,
    /// The field, e.g. `channel Na, gate m_Na, tau`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    name: String,
    title: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    v0: f64,
    simulation: FileSimulation,
    dics: FileDics,
    calcium: Option<Spanned<FileCalcium>>,
    channel: Vec<Spanned<FileChannel>>,
    population: Option<Spanned<FilePopulation>>,
    training: Spanned<FileTraining>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSimulation {
    duration: f64,
    transient: f64,
    noise_dt: f64,
    #[serde(default = "default_dt")]
    dt: f64,
    #[serde(default = "default_threshold")]
    spike_threshold: f64,
    #[serde(default = "default_reset")]
    spike_reset: f64,
}

fn default_threshold() -> f64 {
    crate::sim::SPIKE_THRESHOLD_MV
}

fn default_reset() -> f64 {
    crate::sim::SPIKE_RESET_MV
}

fn default_dt() -> f64 {
    crate::sim::DEFAULT_DT
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FileTau {
    Gate(String),
    Const(f64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDics {
    vth: f64,
    fast: Spanned<FileTau>,
    slow: Spanned<FileTau>,
    ultraslow: Spanned<FileTau>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCalcium {
    tau: f64,
    alpha: f64,
    beta: f64,
    carriers: Vec<String>,
    initial: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChannel {
    name: String,
    reversal: f64,
    #[serde(default)]
    gate: Vec<Spanned<FileGate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGate {
    name: String,
    power: i32,
    inf: Option<Spanned<String>>,
    tau: Option<Spanned<String>>,
    calcium_kd: Option<f64>,
    #[serde(default)]
    instant: bool,
    kinetic: Option<Spanned<FileKinetic>>,
    dic: Option<FileForced>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKinetic {
    a0: Spanned<String>,
    b0: Spanned<String>,
    ai: Spanned<String>,
    bi: Spanned<String>,
    init_open: Spanned<String>,
    init_inactivated: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForced {
    w_fs: f64,
    w_su: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePopulation {
    leak: [f64; 2],
    leak_mean: f64,
    seed_channels: [String; 3],
    seed_targets: [f64; 3],
    uniform: Vec<FileUniform>,
    pair: Vec<Spanned<FilePair>>,
    #[serde(default)]
    placeholder: Vec<FilePlaceholder>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUniform {
    channel: String,
    range: [f64; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePair {
    when: Option<String>,
    channels: [String; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlaceholder {
    channel: String,
    intercept: f64,
    slope: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTraining {
    g_s: [f64; 2],
    g_u: [f64; 2],
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// Reads a model file's text. `source_name` names it in errors (a path, or `built-in stg`).
pub fn parse(text: &str, source_name: &str) -> Result<Model, ModelFileError> {
    Reader { text, source_name }.read()
}

struct Reader<'a> {
    text: &'a str,
    source_name: &'a str,
}

/// What a voltage function must satisfy on [`CHECK_RANGE_MV`].
#[derive(Clone, Copy)]
enum Check {
    Positive,
    Fraction,
    NonNegative,
}

impl Reader<'_> {
    fn line(&self, span: std::ops::Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn err(&self, line: Option<usize>, field: &str, message: impl Into<String>) -> ModelFileError {
        ModelFileError {
            source_name: self.source_name.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Parses and checks one expression.
    fn vfn(&self, e: &Spanned<String>, field: &str, check: Check) -> Result<VFn, ModelFileError> {
        let line = Some(self.line(e.span()));
        let f = Expr::parse(e.get_ref())
            .map_err(|x| self.err(line, field, x.to_string()))?
            .into_vfn();
        let (lo, hi) = CHECK_RANGE_MV;
        let steps = ((hi - lo) / 0.01).round() as usize;
        for k in 0..=steps {
            let v = lo + (hi - lo) * k as f64 / steps as f64;
            if f.pole().is_some_and(|p| (v - p).abs() < POLE_GUARD_MV) {
                continue; // bridged by the simulator
            }
            let x = f.at(v);
            let (ok, what) = match check {
                Check::Positive => (x.is_finite() && x > 0.0, "a positive time constant (ms)"),
                Check::Fraction => (
                    x.is_finite() && (0.0..=1.0).contains(&x),
                    "a fraction between 0 and 1",
                ),
                Check::NonNegative => (x.is_finite() && x >= 0.0, "a non-negative rate (1/ms)"),
            };
            if !ok {
                return Err(self.err(
                    line,
                    field,
                    format!(
                        "`{}` is {x} at V = {v:.2} mV; expected {what} everywhere on [{lo}, {hi}] mV",
                        e.get_ref()
                    ),
                ));
            }
        }
        Ok(f)
    }

    fn read(&self) -> Result<Model, ModelFileError> {
        let m: FileModel = toml::from_str(self.text).map_err(|e| {
            let line = e.span().map(|s| self.line(s));
            self.err(line, "file", e.message().to_string())
        })?;
        let top = |field: &str, msg: String| self.err(None, field, msg);
        if m.name.trim().is_empty() || m.name.chars().any(|c| c.is_whitespace()) {
            return Err(top(
                "name",
                format!("`{}`: expected a short name without spaces", m.name),
            ));
        }
        for (field, x) in [("v0", m.v0), ("dics.vth", m.dics.vth)] {
            if !x.is_finite() {
                return Err(top(field, format!("{x}: expected a voltage in mV")));
            }
        }
        let s = &m.simulation;
        if !(s.transient >= 0.0 && s.duration > s.transient && s.duration.is_finite()) {
            return Err(top(
                "simulation",
                format!(
                    "duration {} and transient {}: expected 0 <= transient < duration (ms)",
                    s.duration, s.transient
                ),
            ));
        }
        if !(s.dt > 0.0 && s.dt <= 1.0) {
            return Err(top(
                "simulation.dt",
                format!("{}: expected a step in (0, 1] ms", s.dt),
            ));
        }
        if !(s.spike_reset < s.spike_threshold
            && s.spike_threshold.is_finite()
            && s.spike_reset.is_finite())
        {
            return Err(top(
                "simulation.spike_reset",
                format!(
                    "{} with spike_threshold {}: expected a reset below the threshold (mV)",
                    s.spike_reset, s.spike_threshold
                ),
            ));
        }
        if !(s.noise_dt > 0.0 && s.noise_dt.is_finite()) {
            return Err(top(
                "simulation.noise_dt",
                format!("{}: expected a positive step (ms)", s.noise_dt),
            ));
        }

        // Channels and gates.
        if m.channel.is_empty() || m.channel.len() > MAX_CHANNELS {
            return Err(top(
                "channel",
                format!(
                    "{} channels: expected 1 to {MAX_CHANNELS}, the leak included",
                    m.channel.len()
                ),
            ));
        }
        let mut channels = Vec::new();
        let mut gate_names: Vec<(String, usize, usize)> = Vec::new();
        for (ci, c) in m.channel.iter().enumerate() {
            let line = Some(self.line(c.span()));
            let c = c.get_ref();
            let field = format!("channel {}", c.name);
            if c.name.is_empty()
                || !c
                    .name
                    .chars()
                    .all(|x| x.is_ascii_alphanumeric() || x == '_')
            {
                return Err(self.err(line, &field, "expected a name of letters, digits and `_`"));
            }
            if channels.iter().any(|x: &Channel| x.name == c.name) {
                return Err(self.err(line, &field, "a second channel with this name"));
            }
            if !c.reversal.is_finite() {
                return Err(self.err(
                    line,
                    &format!("{field}, reversal"),
                    "expected a potential in mV",
                ));
            }
            let mut gates = Vec::new();
            for (gi, g) in c.gate.iter().enumerate() {
                let gline = Some(self.line(g.span()));
                let g = g.get_ref();
                let gfield = format!("{field}, gate {}", g.name);
                if g.name.is_empty() || gate_names.iter().any(|(n, _, _)| *n == g.name) {
                    return Err(self.err(
                        gline,
                        &gfield,
                        "expected a gate name used once in the model",
                    ));
                }
                if !(1..=8).contains(&g.power) {
                    return Err(self.err(
                        gline,
                        &format!("{gfield}, power"),
                        format!("{}: expected 1 to 8", g.power),
                    ));
                }
                let missing = |what: &str| {
                    self.err(
                        gline,
                        &gfield,
                        format!("no `{what}`: a gate of this kind needs one"),
                    )
                };
                let refuse = |e: &Option<Spanned<String>>, what: &str, kind: &str| match e {
                    Some(_) => Err(self.err(
                        gline,
                        &gfield,
                        format!("`{what}` is not used by a {kind} gate"),
                    )),
                    None => Ok(()),
                };
                let sub = |what: &str| format!("{gfield}, {what}");
                let gating = if let Some(k) = &g.kinetic {
                    refuse(&g.inf, "inf", "kinetic")?;
                    refuse(&g.tau, "tau", "kinetic")?;
                    let k = k.get_ref();
                    let rate =
                        |e, n: &str| self.vfn(e, &sub(&format!("kinetic.{n}")), Check::NonNegative);
                    let frac =
                        |e, n: &str| self.vfn(e, &sub(&format!("kinetic.{n}")), Check::Fraction);
                    Gating::Kinetic {
                        a0: rate(&k.a0, "a0")?,
                        b0: rate(&k.b0, "b0")?,
                        ai: rate(&k.ai, "ai")?,
                        bi: rate(&k.bi, "bi")?,
                        init_open: frac(&k.init_open, "init_open")?,
                        init_inactivated: frac(&k.init_inactivated, "init_inactivated")?,
                    }
                } else if g.instant {
                    refuse(&g.tau, "tau", "instantaneous")?;
                    Gating::Instant {
                        inf: self.vfn(
                            g.inf.as_ref().ok_or_else(|| missing("inf"))?,
                            &sub("inf"),
                            Check::Fraction,
                        )?,
                    }
                } else {
                    let inf = self.vfn(
                        g.inf.as_ref().ok_or_else(|| missing("inf"))?,
                        &sub("inf"),
                        Check::Fraction,
                    )?;
                    let tau = self.vfn(
                        g.tau.as_ref().ok_or_else(|| missing("tau"))?,
                        &sub("tau"),
                        Check::Positive,
                    )?;
                    match g.calcium_kd {
                        Some(kd) if kd > 0.0 && kd.is_finite() => {
                            Gating::CaDependent { inf, kd, tau }
                        }
                        Some(kd) => {
                            return Err(self.err(
                                gline,
                                &sub("calcium_kd"),
                                format!("{kd}: expected a positive concentration"),
                            ));
                        }
                        None => Gating::Hh { inf, tau },
                    }
                };
                if g.calcium_kd.is_some() && !matches!(gating, Gating::CaDependent { .. }) {
                    return Err(self.err(
                        gline,
                        &sub("calcium_kd"),
                        "only a gate with `inf` and `tau` depends on calcium",
                    ));
                }
                if g.calcium_kd.is_some() && m.calcium.is_none() {
                    return Err(self.err(
                        gline,
                        &sub("calcium_kd"),
                        "the model has no [calcium] section",
                    ));
                }
                let dic = match &g.dic {
                    None => DicTimescale::OwnTau,
                    Some(f) if (0.0..=1.0).contains(&f.w_fs) && (0.0..=1.0).contains(&f.w_su) => {
                        DicTimescale::Forced {
                            w_fs: f.w_fs,
                            w_su: f.w_su,
                        }
                    }
                    Some(_) => {
                        return Err(self.err(
                            gline,
                            &sub("dic"),
                            "expected weights w_fs and w_su between 0 and 1",
                        ));
                    }
                };
                if matches!(gating, Gating::Kinetic { .. } | Gating::Instant { .. })
                    && dic == DicTimescale::OwnTau
                {
                    return Err(self.err(
                        gline,
                        &gfield,
                        "a gate without a time constant needs `dic = { w_fs = .., w_su = .. }` (how its feedback splits between the timescales)",
                    ));
                }
                gate_names.push((g.name.clone(), ci, gi));
                gates.push(Gate {
                    name: leak_str(&g.name),
                    power: g.power,
                    gating,
                    dic,
                });
            }
            channels.push(Channel {
                name: leak_str(&c.name),
                column: leak_str(&format!("g_{}", c.name)),
                reversal: c.reversal,
                gates: leak_slice(gates),
            });
        }
        let leaks = channels.iter().filter(|c| c.gates.is_empty()).count();
        if leaks != 1 {
            return Err(top(
                "channel",
                format!("{leaks} channels without gates: expected exactly one leak"),
            ));
        }
        let channel = |name: &str, field: &str, line: Option<usize>| {
            channels.iter().position(|c| c.name == name).ok_or_else(|| {
                self.err(
                    line,
                    field,
                    format!(
                        "no channel `{name}` in the model (channels: {})",
                        channels
                            .iter()
                            .map(|c| c.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        };

        // Calcium.
        let calcium = match &m.calcium {
            None => None,
            Some(c) => {
                let line = Some(self.line(c.span()));
                let c = c.get_ref();
                if !(c.tau > 0.0 && c.alpha.is_finite() && c.beta.is_finite() && c.initial >= 0.0) {
                    return Err(self.err(
                        line,
                        "calcium",
                        "expected tau > 0, finite alpha and beta, initial >= 0",
                    ));
                }
                let carriers = c
                    .carriers
                    .iter()
                    .map(|n| channel(n, "calcium.carriers", line))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(Calcium {
                    tau: c.tau,
                    alpha: c.alpha,
                    beta: c.beta,
                    carriers: leak_slice(carriers),
                    initial: c.initial,
                })
            }
        };

        // DIC timescales.
        let tau_ref = |t: &Spanned<FileTau>, field: &str| -> Result<TauRef, ModelFileError> {
            let line = Some(self.line(t.span()));
            match t.get_ref() {
                FileTau::Const(x) if *x > 0.0 && x.is_finite() => Ok(TauRef::Const(*x)),
                FileTau::Const(x) => Err(self.err(
                    line,
                    field,
                    format!("{x}: expected a positive time constant (ms) or a gate name"),
                )),
                FileTau::Gate(n) => {
                    let Some(&(_, channel, gate)) = gate_names.iter().find(|(g, _, _)| g == n)
                    else {
                        return Err(self.err(line, field, format!("no gate `{n}` in the model")));
                    };
                    if Model::gate_tau(&channels[channel].gates[gate], 0.0).is_none() {
                        return Err(self.err(
                            line,
                            field,
                            format!("gate `{n}` has no time constant"),
                        ));
                    }
                    Ok(TauRef::Gate { channel, gate })
                }
            }
        };
        let timescales = [
            tau_ref(&m.dics.fast, "dics.fast")?,
            tau_ref(&m.dics.slow, "dics.slow")?,
            tau_ref(&m.dics.ultraslow, "dics.ultraslow")?,
        ];

        // Population recipe.
        let population = match &m.population {
            None => None,
            Some(p) => {
                let line = Some(self.line(p.span()));
                let p = p.get_ref();
                let f = "population";
                if !(p.leak[0] > 0.0 && p.leak[1] > p.leak[0] && p.leak_mean > 0.0) {
                    return Err(self.err(
                        line,
                        "population.leak",
                        "expected 0 < leak[0] < leak[1] and leak_mean > 0",
                    ));
                }
                let uniform = p
                    .uniform
                    .iter()
                    .map(|u| {
                        channel(&u.channel, "population.uniform", line)?;
                        if !(u.range[0] >= 0.0
                            && u.range[1] >= u.range[0]
                            && u.range[1].is_finite())
                        {
                            return Err(self.err(
                                line,
                                "population.uniform",
                                format!(
                                    "{}: range {:?}: expected 0 <= lo <= hi",
                                    u.channel, u.range
                                ),
                            ));
                        }
                        Ok(UniformDraw {
                            channel: channels[channel(&u.channel, f, line)?].name,
                            lo: u.range[0],
                            hi: u.range[1],
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let seed_channels = p
                    .seed_channels
                    .iter()
                    .map(|n| Ok(channels[channel(n, "population.seed_channels", line)?].name))
                    .collect::<Result<Vec<_>, ModelFileError>>()?;
                let mut pair_rules = Vec::new();
                for (k, r) in p.pair.iter().enumerate() {
                    let rline = Some(self.line(r.span()));
                    let r = r.get_ref();
                    let when = match r
                        .when
                        .as_deref()
                        .map(str::split_whitespace)
                        .map(|w| w.collect::<Vec<_>>())
                    {
                        None => PairCondition::Always,
                        Some(w) => {
                            match (w.as_slice(), w.get(2).and_then(|x| x.parse::<f64>().ok())) {
                                (["g_u", "<", _], Some(x)) => PairCondition::GuBelow(x),
                                (["g_s", "<", _], Some(x)) => PairCondition::GsBelow(x),
                                _ => {
                                    return Err(self.err(
                                        rline,
                                        "population.pair.when",
                                        format!(
                                            "`{}`: expected `g_s < X` or `g_u < X`",
                                            r.when.as_deref().unwrap_or_default()
                                        ),
                                    ));
                                }
                            }
                        }
                    };
                    if (k + 1 == p.pair.len()) != (when == PairCondition::Always) {
                        return Err(self.err(rline, "population.pair", "every rule but the last needs `when`, and the last one applies always (no `when`)"));
                    }
                    let a =
                        channels[channel(&r.channels[0], "population.pair.channels", rline)?].name;
                    let b =
                        channels[channel(&r.channels[1], "population.pair.channels", rline)?].name;
                    pair_rules.push(PairRule { when, pair: [a, b] });
                }
                if pair_rules.is_empty() {
                    return Err(self.err(
                        line,
                        "population.pair",
                        "expected at least one rule (the last without `when`)",
                    ));
                }
                let placeholders = p
                    .placeholder
                    .iter()
                    .map(|h| {
                        Ok(Placeholder {
                            channel: channels[channel(&h.channel, "population.placeholder", line)?]
                                .name,
                            intercept: h.intercept,
                            slope: h.slope,
                        })
                    })
                    .collect::<Result<Vec<_>, ModelFileError>>()?;
                Some(PopulationSettings {
                    model: leak_str(&m.name),
                    uniform: leak_slice(uniform),
                    leak_range: (p.leak[0], p.leak[1]),
                    leak_mean: p.leak_mean,
                    seed_channels: leak_slice(seed_channels),
                    seed_targets: p.seed_targets,
                    pair_rules: leak_slice(pair_rules),
                    placeholders: leak_slice(placeholders),
                })
            }
        };

        let tline = Some(self.line(m.training.span()));
        let t = m.training.get_ref();
        for (f, r) in [("training.g_s", t.g_s), ("training.g_u", t.g_u)] {
            if !(r[0].is_finite() && r[1].is_finite() && r[0] < r[1]) {
                return Err(self.err(tline, f, format!("{r:?}: expected [lo, hi] with lo < hi")));
            }
        }

        Ok(Model {
            name: leak_str(&m.name),
            title: leak_str(&m.title),
            channels: leak_slice(channels),
            calcium,
            v0: m.v0,
            timescales,
            default_vth: m.dics.vth,
            default_duration: m.simulation.duration,
            default_transient: m.simulation.transient,
            noise_dt: m.simulation.noise_dt,
            default_dt: m.simulation.dt,
            spike_threshold: m.simulation.spike_threshold,
            spike_reset: m.simulation.spike_reset,
            population,
            training: Training {
                g_s: t.g_s,
                g_u: t.g_u,
            },
        })
    }
}

/// The SHA-256 (hex) of a model's canonical file ([`to_toml`] without a source): equal for equal models
/// however their files are laid out or commented. Weights record it, so they are used with their model only.
pub fn fingerprint(model: &Model) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(to_toml(model, "").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

/// Writes `model` in the model-file format; [`parse`] reads it back to an equal model. `source` is written
/// as the file's `source` (the citation).
pub fn to_toml(model: &Model, source: &str) -> String {
    let mut o = String::new();
    let n = |x: f64| format!("{x:?}");
    let _ = writeln!(o, "name = {}", q(model.name));
    let _ = writeln!(o, "title = {}", q(model.title));
    let _ = writeln!(o, "source = {}", q(source));
    let _ = writeln!(o, "v0 = {}", n(model.v0));
    let _ = writeln!(o, "\n[simulation]");
    let _ = writeln!(o, "duration = {}", n(model.default_duration));
    let _ = writeln!(o, "transient = {}", n(model.default_transient));
    let _ = writeln!(o, "noise_dt = {}", n(model.noise_dt));
    if model.default_dt != crate::sim::DEFAULT_DT {
        let _ = writeln!(o, "dt = {}", n(model.default_dt));
    }
    if (model.spike_threshold, model.spike_reset)
        != (crate::sim::SPIKE_THRESHOLD_MV, crate::sim::SPIKE_RESET_MV)
    {
        let _ = writeln!(o, "spike_threshold = {}", n(model.spike_threshold));
        let _ = writeln!(o, "spike_reset = {}", n(model.spike_reset));
    }
    let _ = writeln!(o, "\n[dics]");
    let _ = writeln!(o, "vth = {}", n(model.default_vth));
    for (name, t) in ["fast", "slow", "ultraslow"].iter().zip(model.timescales) {
        let v = match t {
            TauRef::Const(x) => n(x),
            TauRef::Gate { channel, gate } => q(model.channels[channel].gates[gate].name),
        };
        let _ = writeln!(o, "{name} = {v}");
    }
    if let Some(c) = model.calcium {
        let _ = writeln!(o, "\n[calcium]");
        let _ = writeln!(
            o,
            "tau = {}\nalpha = {}\nbeta = {}",
            n(c.tau),
            n(c.alpha),
            n(c.beta)
        );
        let carriers: Vec<String> = c
            .carriers
            .iter()
            .map(|&k| q(model.channels[k].name))
            .collect();
        let _ = writeln!(o, "carriers = [{}]", carriers.join(", "));
        let _ = writeln!(o, "initial = {}", n(c.initial));
    }
    for c in model.channels {
        let _ = writeln!(
            o,
            "\n[[channel]]\nname = {}\nreversal = {}",
            q(c.name),
            n(c.reversal)
        );
        for g in c.gates {
            let _ = writeln!(
                o,
                "\n[[channel.gate]]\nname = {}\npower = {}",
                q(g.name),
                g.power
            );
            let e = |f: VFn| q(&f.to_string());
            match g.gating {
                Gating::Hh { inf, tau } => {
                    let _ = writeln!(o, "inf = {}\ntau = {}", e(inf), e(tau));
                }
                Gating::CaDependent { inf, kd, tau } => {
                    let _ = writeln!(
                        o,
                        "inf = {}\ntau = {}\ncalcium_kd = {}",
                        e(inf),
                        e(tau),
                        n(kd)
                    );
                }
                Gating::Instant { inf } => {
                    let _ = writeln!(o, "instant = true\ninf = {}", e(inf));
                }
                Gating::Kinetic {
                    a0,
                    b0,
                    ai,
                    bi,
                    init_open,
                    init_inactivated,
                } => {
                    let _ = writeln!(
                        o,
                        "kinetic = {{ a0 = {}, b0 = {}, ai = {}, bi = {}, init_open = {}, init_inactivated = {} }}",
                        e(a0),
                        e(b0),
                        e(ai),
                        e(bi),
                        e(init_open),
                        e(init_inactivated)
                    );
                }
            }
            if let DicTimescale::Forced { w_fs, w_su } = g.dic {
                let _ = writeln!(o, "dic = {{ w_fs = {}, w_su = {} }}", n(w_fs), n(w_su));
            }
        }
    }
    if let Some(p) = &model.population {
        let _ = writeln!(o, "\n[population]");
        let _ = writeln!(
            o,
            "leak = [{}, {}]\nleak_mean = {}",
            n(p.leak_range.0),
            n(p.leak_range.1),
            n(p.leak_mean)
        );
        let seeds: Vec<String> = p.seed_channels.iter().map(|s| q(s)).collect();
        let _ = writeln!(o, "seed_channels = [{}]", seeds.join(", "));
        let t = p.seed_targets;
        let _ = writeln!(o, "seed_targets = [{}, {}, {}]", n(t[0]), n(t[1]), n(t[2]));
        for u in p.uniform {
            let _ = writeln!(
                o,
                "\n[[population.uniform]]\nchannel = {}\nrange = [{}, {}]",
                q(u.channel),
                n(u.lo),
                n(u.hi)
            );
        }
        for r in p.pair_rules {
            let _ = writeln!(o, "\n[[population.pair]]");
            match r.when {
                PairCondition::GsBelow(x) => {
                    let _ = writeln!(o, "when = \"g_s < {}\"", n(x));
                }
                PairCondition::GuBelow(x) => {
                    let _ = writeln!(o, "when = \"g_u < {}\"", n(x));
                }
                PairCondition::Always => {}
            }
            let _ = writeln!(o, "channels = [{}, {}]", q(r.pair[0]), q(r.pair[1]));
        }
        for h in p.placeholders {
            let _ = writeln!(
                o,
                "\n[[population.placeholder]]\nchannel = {}\nintercept = {}\nslope = {}",
                q(h.channel),
                n(h.intercept),
                n(h.slope)
            );
        }
    }
    let t = model.training;
    let _ = writeln!(
        o,
        "\n[training]\ng_s = [{}, {}]\ng_u = [{}, {}]",
        n(t.g_s[0]),
        n(t.g_s[1]),
        n(t.g_u[0]),
        n(t.g_u[1])
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::BUILT_IN;

    fn stg_text() -> &'static str {
        BUILT_IN[0].1
    }

    #[test]
    fn the_built_in_files_are_the_built_in_models() {
        assert_eq!(parse(stg_text(), "stg.toml").unwrap(), crate::STG);
        assert_eq!(parse(BUILT_IN[1].1, "da.toml").unwrap(), crate::DA);
        for m in [&crate::STG, &crate::DA] {
            assert_eq!(parse(&to_toml(m, "x"), "written").unwrap(), *m);
        }
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(stg_text().contains(from), "{from}");
        stg_text().replacen(from, to, 1)
    }

    fn error(text: &str) -> ModelFileError {
        parse(text, "my.toml").unwrap_err()
    }

    #[test]
    fn a_free_expression_is_a_model_too() {
        // tau_m_Kd written out instead of as `gsig`: the same values, another representation.
        let text = edit(
            r#"tau = "gsig(V, 7.2, -6.4, -19.2, 28.3)""#,
            r#"tau = "7.2 - 6.4 / (1 + exp((V + 28.3) / -19.2))""#,
        );
        let m = parse(&text, "free.toml").unwrap();
        let Gating::Hh { tau, .. } = m.channels[1].gates[0].gating else {
            panic!()
        };
        assert!(matches!(tau, VFn::Expr(_)));
        let Gating::Hh { tau: t0, .. } = crate::STG.channels[1].gates[0].gating else {
            panic!()
        };
        for v in [-90.0, -51.0, -20.0, 30.0] {
            assert!((tau.at(v) - t0.at(v)).abs() < 1e-12 * t0.at(v));
        }
        // Written back and read again: the same model.
        assert_eq!(parse(&to_toml(&m, ""), "again").unwrap(), m);
    }

    #[test]
    fn a_model_may_set_its_step_and_its_spike_rule() {
        let text = edit(
            "noise_dt = 0.1\n",
            "noise_dt = 0.1\ndt = 0.01\nspike_threshold = -20.0\nspike_reset = -40.0\n",
        );
        let m = parse(&text, "rule.toml").unwrap();
        assert_eq!(
            (m.default_dt, m.spike_threshold, m.spike_reset),
            (0.01, -20.0, -40.0)
        );
        assert_eq!(parse(&to_toml(&m, ""), "again").unwrap(), m);
        // The same cell, the same spikes, each found earlier on its upstroke.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let settings = crate::sim::Settings {
            dt: 0.01,
            ..crate::sim::Settings::for_model(&crate::STG)
        };
        let run = |model: &Model| {
            crate::sim::Compiled::new(model, 0.01)
                .run(&crate::cells::STG_SEED, &settings, None, &stop)
                .spikes
        };
        let (ours, reference) = (run(&m), run(&crate::STG));
        assert!(!reference.is_empty());
        assert_eq!(ours.len(), reference.len());
        assert!(
            ours.iter()
                .zip(&reference)
                .all(|(a, b)| a < b && b - a < 1.0)
        );
        let e = error(&edit(
            "noise_dt = 0.1\n",
            "noise_dt = 0.1\nspike_reset = 20.0\n",
        ));
        assert!(
            e.field == "simulation.spike_reset" && e.message.contains("below the threshold"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_name_the_line_the_field_and_what_was_expected() {
        let e = error(&edit(
            r#"inf = "gsig(V, 0.0, 1.0, -5.29, 25.5)""#,
            r#"inf = "Ca / (Ca + 3)""#,
        ));
        assert_eq!(e.field, "channel Na, gate m_Na, inf");
        assert!(e.message.contains("unknown variable `Ca`"), "{e}");
        let line = stg_text()
            .lines()
            .position(|l| l.contains("-5.29, 25.5"))
            .unwrap()
            + 1;
        assert_eq!(e.line, Some(line));
        assert!(
            e.to_string().starts_with(&format!(
                "my.toml, line {line}: channel Na, gate m_Na, inf: "
            )),
            "{e}"
        );

        let e = error(&edit("tau = \"gsig(V, 7.2, -6.4, -19.2, 28.3)\"\n", ""));
        assert!(
            e.field == "channel Kd, gate m_Kd" && e.message.contains("no `tau`"),
            "{e}"
        );

        let e = error(&edit(
            r#"tau = "gsig(V, 7.2, -6.4, -19.2, 28.3)""#,
            r#"tau = "V + 70""#,
        ));
        assert!(
            e.message.contains("expected a positive time constant")
                && e.message.contains("V = -100.00"),
            "{e}"
        );

        let e = error(&edit(
            r#"tau = "gsig(V, 7.2, -6.4, -19.2, 28.3)""#,
            r#"tau = "sqrt(V)""#,
        ));
        assert!(e.message.contains("is NaN at V = -100.00"), "{e}");

        let e = error(&edit(
            r#"channels = ["A", "H"]"#,
            r#"channels = ["A", "Kv3"]"#,
        ));
        assert!(
            e.field == "population.pair.channels" && e.message.contains("no channel `Kv3`"),
            "{e}"
        );

        let e = error(&edit(
            "carriers = [\"CaT\", \"CaS\"]",
            "carriers = [\"CaT\", \"CaX\"]",
        ));
        assert!(
            e.field == "calcium.carriers" && e.message.contains("no channel `CaX`"),
            "{e}"
        );

        let e = error(&edit("ultraslow = \"m_H\"", "ultraslow = \"m_Q\""));
        assert!(
            e.field == "dics.ultraslow" && e.message.contains("no gate `m_Q`"),
            "{e}"
        );

        let e = error(&edit("power = 3", "power = 3\nspeed = 2"));
        assert!(
            e.message.contains("unknown field `speed`") && e.line.is_some(),
            "{e}"
        );

        let e = error(&edit("reversal = 50.0", "reversal = \"fifty\""));
        assert!(
            e.line.is_some() && e.message.contains("expected f64"),
            "{e}"
        );

        let e = error(&edit(
            "name = \"leak\"\nreversal = -50.0",
            "name = \"Na\"\nreversal = -50.0",
        ));
        assert!(e.message.contains("a second channel"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Mutated files are read or refused, never a panic.
        #[test]
        fn mutated_files_are_read_or_refused(at in 0usize..10_000, len in 0usize..40, with in "[ -~\\n]{0,12}") {
            let text = stg_text();
            let a = at % text.len();
            let b = (a + len).min(text.len());
            if text.is_char_boundary(a) && text.is_char_boundary(b) {
                let mutated = format!("{}{}{}", &text[..a], with, &text[b..]);
                if let Err(e) = parse(&mutated, "m.toml") {
                    proptest::prop_assert!(e.to_string().starts_with("m.toml"));
                }
            }
        }
    }
}
