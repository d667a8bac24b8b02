//! Expressions of the membrane voltage, as written in model files: parsed once, then evaluated generically,
//! so the same expression gives values (`f64`) and exact derivatives (dual numbers) like every [`VFn`].
//!
//! The grammar: numbers, the variable `V` (mV), `+ - * / ^` (with the usual precedence; `^` binds tightest
//! and to the right, and `-V^2` is `-(V^2)`), parentheses, the functions `exp`, `log` (natural), `sqrt` and
//! `tanh`, and the standard forms of [`STANDARD_FORMS`], written as calls whose first argument is `V` and whose
//! other arguments are numbers (`gsig(V, 0, 1, -5.29, 25.5)`). An expression that is a single standard form
//! (or a product of two `gsig`, or a number) becomes that [`VFn`] itself, so a model written with the
//! standard forms computes exactly what the same model declared in Rust computes.

use winnow::ascii::{float, multispace0};
use winnow::combinator::{
    Infix, Prefix, alt, delimited, dispatch, expression, fail, opt, separated,
};
use winnow::error::ContextError;
use winnow::prelude::*;
use winnow::token::{any, take_while};

use crate::vfn::{Real, Sig, VFn};

/// A parsed expression of V.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// The membrane voltage (mV).
    V,
    /// `-a`.
    Neg(Box<Expr>),
    /// `a op b`.
    Bin(Op, Box<Expr>, Box<Expr>),
    /// `f(a)`.
    Func(Func, Box<Expr>),
    /// A standard form of V.
    Form(VFn),
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

/// A function of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `exp`
    Exp,
    /// `log` (natural)
    Log,
    /// `sqrt`
    Sqrt,
    /// `tanh`
    Tanh,
}

/// The standard forms: name, parameters after `V`, and the formula (for the docs and `model show`).
pub const STANDARD_FORMS: [(&str, &[&str], &str); 7] = [
    (
        "gsig",
        &["a", "b", "c", "d"],
        "a + b / (1 + exp((V + d) / c))",
    ),
    ("exp_rate", &["a", "k"], "a * exp(k * V)"),
    (
        "inv_exp_sum",
        &["base", "scale", "v1", "k1", "v2", "k2"],
        "base + scale / (exp((V + v1) / k1) + exp((V + v2) / k2))",
    ),
    (
        "inv_rate_sum",
        &["base", "a1", "k1", "a2", "k2"],
        "base + 1 / (a1 * exp(k1 * V) + a2 * exp(k2 * V))",
    ),
    (
        "inv_linoid_exp",
        &["base", "p", "q", "r", "s", "a", "k"],
        "base + 1 / (-(p + q * V) / (exp(r + s * V) - 1) + a * exp(k * V))",
    ),
    (
        "mg_block",
        &["mg", "k", "div"],
        "1 / (1 + mg * exp(-k * V) / div)",
    ),
    (
        "linoid",
        &["a", "v0", "k"],
        "a * (V - v0) / (1 - exp(-(V - v0) / k)), a * k at V = v0",
    ),
];

fn form(name: &str, p: &[f64]) -> VFn {
    match name {
        "gsig" => VFn::Sig(Sig::new(p[0], p[1], p[2], p[3])),
        "exp_rate" => VFn::Exp { a: p[0], k: p[1] },
        "inv_exp_sum" => VFn::InvExpSum {
            base: p[0],
            scale: p[1],
            v1: p[2],
            k1: p[3],
            v2: p[4],
            k2: p[5],
        },
        "inv_rate_sum" => VFn::InvRateSum {
            base: p[0],
            a1: p[1],
            k1: p[2],
            a2: p[3],
            k2: p[4],
        },
        "inv_linoid_exp" => VFn::InvLinoidExp {
            base: p[0],
            p: p[1],
            q: p[2],
            r: p[3],
            s: p[4],
            a: p[5],
            k: p[6],
        },
        "mg_block" => VFn::MgBlock {
            mg: p[0],
            k: p[1],
            div: p[2],
        },
        "linoid" => VFn::Linoid {
            a: p[0],
            v0: p[1],
            k: p[2],
        },
        _ => unreachable!("checked against STANDARD_FORMS"),
    }
}

/// Why an expression could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// Not an expression of the grammar.
    #[error("cannot read `{text}` as an expression (at character {at})")]
    Syntax {
        /// The expression.
        text: String,
        /// Where reading stopped (1-based character).
        at: usize,
    },
    /// A name that is neither `V` nor a known function.
    #[error("unknown variable `{0}`: expressions are functions of the membrane voltage `V` alone")]
    UnknownVariable(String),
    /// A call of an unknown function.
    #[error(
        "unknown function `{0}`: expected exp, log, sqrt, tanh or a standard form (gsig, exp_rate, \
         inv_exp_sum, inv_rate_sum, inv_linoid_exp, mg_block, linoid)"
    )]
    UnknownFunction(String),
    /// A call with the wrong arguments.
    #[error("`{name}` takes {expected}")]
    Arguments {
        /// The function.
        name: String,
        /// What it takes.
        expected: String,
    },
}

/// A raw parse tree, before names are resolved.
enum Raw {
    Num(f64),
    Name(String),
    Call(String, Vec<Raw>),
    Neg(Box<Raw>),
    Bin(Op, Box<Raw>, Box<Raw>),
}

fn ws<'i, O>(p: impl Parser<&'i str, O, ContextError>) -> impl Parser<&'i str, O, ContextError> {
    delimited(multispace0, p, multispace0)
}

fn operand(i: &mut &str) -> winnow::Result<Raw> {
    ws(alt((
        (
            take_while(1.., |c: char| c.is_ascii_alphanumeric() || c == '_')
                .verify(|s: &str| s.starts_with(|c: char| c.is_ascii_alphabetic())),
            opt(delimited(
                ws('('),
                separated(1.., parse_raw, ws(',')),
                ws(')'),
            )),
        )
            .map(|(name, args): (&str, Option<Vec<Raw>>)| match args {
                Some(a) => Raw::Call(name.to_string(), a),
                None => Raw::Name(name.to_string()),
            }),
        float.map(Raw::Num),
        delimited(ws('('), parse_raw, ws(')')),
    )))
    .parse_next(i)
}

fn parse_raw(i: &mut &str) -> winnow::Result<Raw> {
    fn bin(op: Op, a: Raw, b: Raw) -> winnow::Result<Raw> {
        Ok(Raw::Bin(op, Box::new(a), Box::new(b)))
    }
    expression(operand)
        .prefix(ws(dispatch! {any;
            '-' => Prefix(9, |_: &mut &str, a| Ok(Raw::Neg(Box::new(a)))),
            '+' => Prefix(9, |_: &mut &str, a| Ok(a)),
            _ => fail,
        }))
        .infix(ws(dispatch! {any;
            '+' => Infix::Left(5, |_: &mut &str, a, b| bin(Op::Add, a, b)),
            '-' => Infix::Left(5, |_: &mut &str, a, b| bin(Op::Sub, a, b)),
            '*' => Infix::Left(7, |_: &mut &str, a, b| bin(Op::Mul, a, b)),
            '/' => Infix::Left(7, |_: &mut &str, a, b| bin(Op::Div, a, b)),
            '^' => Infix::Right(11, |_: &mut &str, a, b| bin(Op::Pow, a, b)),
            _ => fail,
        }))
        .parse_next(i)
}

impl Raw {
    fn resolve(self) -> Result<Expr, ExprError> {
        Ok(match self {
            Raw::Num(x) => Expr::Num(x),
            Raw::Name(n) if n == "V" => Expr::V,
            Raw::Name(n) => return Err(ExprError::UnknownVariable(n)),
            Raw::Neg(a) => match a.resolve()? {
                Expr::Num(x) => Expr::Num(-x),
                a => Expr::Neg(Box::new(a)),
            },
            Raw::Bin(op, a, b) => {
                let e = Expr::Bin(op, Box::new(a.resolve()?), Box::new(b.resolve()?));
                match &e {
                    // Numbers combined are a number (so `2 ^ (1/2)` is a constant power).
                    Expr::Bin(_, a, b) if matches!((&**a, &**b), (Expr::Num(_), Expr::Num(_))) => {
                        Expr::Num(e.eval(0.0))
                    }
                    _ => e,
                }
            }
            Raw::Call(name, args) => {
                let func = match name.as_str() {
                    "exp" => Some(Func::Exp),
                    "log" => Some(Func::Log),
                    "sqrt" => Some(Func::Sqrt),
                    "tanh" => Some(Func::Tanh),
                    _ => None,
                };
                if let Some(f) = func {
                    let [arg]: [Raw; 1] = args.try_into().map_err(|_| ExprError::Arguments {
                        name: name.clone(),
                        expected: "one argument".into(),
                    })?;
                    return Ok(Expr::Func(f, Box::new(arg.resolve()?)));
                }
                let Some((_, params, _)) = STANDARD_FORMS.iter().find(|(n, _, _)| *n == name)
                else {
                    return Err(ExprError::UnknownFunction(name));
                };
                let wrong = || ExprError::Arguments {
                    name: name.clone(),
                    expected: format!("V and {} numbers ({})", params.len(), params.join(", ")),
                };
                let mut args = args.into_iter();
                if !matches!(args.next(), Some(Raw::Name(v)) if v == "V") {
                    return Err(wrong());
                }
                let p = args
                    .map(|a| match a.resolve()? {
                        Expr::Num(x) => Ok(x),
                        _ => Err(wrong()),
                    })
                    .collect::<Result<Vec<f64>, _>>()?;
                if p.len() != params.len() {
                    return Err(wrong());
                }
                Expr::Form(form(&name, &p))
            }
        })
    }
}

impl Expr {
    /// Parses an expression of V.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let raw = parse_raw.parse(text).map_err(|e| ExprError::Syntax {
            text: text.to_string(),
            at: text[..e.offset()].chars().count() + 1,
        })?;
        raw.resolve()
    }

    /// The expression as a voltage function: a number or a standard form (or a product of two `gsig`) as
    /// itself, anything else as [`VFn::Expr`] (leaked: a model lives as long as the program).
    pub fn into_vfn(self) -> VFn {
        match self {
            Expr::Num(x) => VFn::Const(x),
            Expr::Form(f) => f,
            Expr::Bin(Op::Mul, a, b) => match (*a, *b) {
                (Expr::Form(VFn::Sig(s1)), Expr::Form(VFn::Sig(s2))) => VFn::SigProd(s1, s2),
                (a, b) => VFn::Expr(Box::leak(Box::new(Expr::Bin(
                    Op::Mul,
                    Box::new(a),
                    Box::new(b),
                )))),
            },
            e => VFn::Expr(Box::leak(Box::new(e))),
        }
    }

    /// Evaluates the expression at `v`, generically (values or dual numbers).
    pub fn eval<D: Real>(&self, v: D) -> D {
        match self {
            Expr::Num(x) => D::from(*x),
            Expr::V => v,
            Expr::Neg(a) => -a.eval(v),
            Expr::Bin(op, a, b) => {
                let x = a.eval(v);
                match op {
                    Op::Add => x + b.eval(v),
                    Op::Sub => x - b.eval(v),
                    Op::Mul => x * b.eval(v),
                    Op::Div => x / b.eval(v),
                    Op::Pow => match **b {
                        Expr::Num(n) if n.fract() == 0.0 && n.abs() < 64.0 => x.powi(n as i32),
                        Expr::Num(n) => x.powf(n),
                        _ => (x.ln() * b.eval(v)).exp_portable(),
                    },
                }
            }
            Expr::Func(f, a) => {
                let x = a.eval(v);
                match f {
                    Func::Exp => x.exp_portable(),
                    Func::Log => x.ln(),
                    Func::Sqrt => x.sqrt(),
                    Func::Tanh => x.tanh(),
                }
            }
            Expr::Form(f) => f.eval(v),
        }
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Num(x) => write!(f, "{}", Num(*x)),
            Expr::V => write!(f, "V"),
            Expr::Neg(a) => write!(f, "-({a})"),
            Expr::Bin(op, a, b) => write!(f, "({a} {} {b})", op.symbol(PowSyntax::Caret)),
            Expr::Func(func, a) => write!(f, "{}({a})", func.name()),
            Expr::Form(v) => write!(f, "{v}"),
        }
    }
}

impl Op {
    /// The operator as written, powers in `pow`'s syntax.
    pub fn symbol(self, pow: PowSyntax) -> &'static str {
        match (self, pow) {
            (Op::Add, _) => "+",
            (Op::Sub, _) => "-",
            (Op::Mul, _) => "*",
            (Op::Div, _) => "/",
            (Op::Pow, PowSyntax::Caret) => "^",
            (Op::Pow, PowSyntax::StarStar) => "**",
        }
    }
}

impl Func {
    /// The function's name as written (`exp`, `log`, `sqrt`, `tanh`).
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Tanh => "tanh",
        }
    }
}

/// `x` as a term of an expression in any of the target languages: the shortest text that reads back to the
/// same `f64`, in parentheses when negative (so that `V - (-80.0)` never reads as `V - -80.0`).
pub fn number(x: f64) -> String {
    if x < 0.0 || (x == 0.0 && x.is_sign_negative()) {
        format!("({x:?})")
    } else {
        format!("{x:?}")
    }
}

/// A number printed so that it reads back to the same `f64` (Rust's shortest round-trip form).
struct Num(f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Display for VFn {
    /// The function as an expression of the model-file grammar, which parses back to the same function.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let call = |f: &mut std::fmt::Formatter<'_>, name: &str, p: &[f64]| {
            write!(f, "{name}(V")?;
            for x in p {
                write!(f, ", {}", Num(*x))?;
            }
            write!(f, ")")
        };
        match *self {
            VFn::Const(c) => write!(f, "{}", Num(c)),
            VFn::Sig(s) => call(f, "gsig", &[s.a, s.b, s.c, s.d]),
            VFn::SigProd(s1, s2) => {
                call(f, "gsig", &[s1.a, s1.b, s1.c, s1.d])?;
                write!(f, " * ")?;
                call(f, "gsig", &[s2.a, s2.b, s2.c, s2.d])
            }
            VFn::Exp { a, k } => call(f, "exp_rate", &[a, k]),
            VFn::InvExpSum {
                base,
                scale,
                v1,
                k1,
                v2,
                k2,
            } => call(f, "inv_exp_sum", &[base, scale, v1, k1, v2, k2]),
            VFn::InvRateSum {
                base,
                a1,
                k1,
                a2,
                k2,
            } => call(f, "inv_rate_sum", &[base, a1, k1, a2, k2]),
            VFn::InvLinoidExp {
                base,
                p,
                q,
                r,
                s,
                a,
                k,
            } => call(f, "inv_linoid_exp", &[base, p, q, r, s, a, k]),
            VFn::MgBlock { mg, k, div } => call(f, "mg_block", &[mg, k, div]),
            VFn::Linoid { a, v0, k } => call(f, "linoid", &[a, v0, k]),
            VFn::Expr(e) => write!(f, "{e}"),
        }
    }
}

/// How a target language writes a power (`^` in NMODL and LEMS, `**` in Python and Brian2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowSyntax {
    /// `a ^ b`
    Caret,
    /// `a ** b`
    StarStar,
}

/// `f` written out with elementary operations only (`+ - * /`, powers, `exp`, `log`, `sqrt`, `tanh`), in
/// the voltage variable `v`: the text that another simulator's equations (NMODL, LEMS, Brian2) read. Every
/// number is printed to round-trip, negative ones in parentheses. The standard forms expand to their
/// formulas ([`STANDARD_FORMS`]); the linoid's removable singularity is left to the target (the formula is
/// 0/0 exactly at `V = v0` only).
pub fn explicit(f: &VFn, v: &str, pow: PowSyntax) -> String {
    let n = number;
    let sig = |s: &Sig| {
        format!(
            "({} + {} / (1 + exp(({v} + {}) / {})))",
            n(s.a),
            n(s.b),
            n(s.d),
            n(s.c)
        )
    };
    match f {
        VFn::Const(c) => n(*c),
        VFn::Sig(s) => sig(s),
        VFn::SigProd(s1, s2) => format!("({} * {})", sig(s1), sig(s2)),
        VFn::InvExpSum {
            base,
            scale,
            v1,
            k1,
            v2,
            k2,
        } => format!(
            "({} + {} / (exp(({v} + {}) / {}) + exp(({v} + {}) / {})))",
            n(*base),
            n(*scale),
            n(*v1),
            n(*k1),
            n(*v2),
            n(*k2)
        ),
        VFn::Exp { a, k } => format!("({} * exp({} * {v}))", n(*a), n(*k)),
        VFn::InvRateSum {
            base,
            a1,
            k1,
            a2,
            k2,
        } => format!(
            "({} + 1 / ({} * exp({} * {v}) + {} * exp({} * {v})))",
            n(*base),
            n(*a1),
            n(*k1),
            n(*a2),
            n(*k2)
        ),
        VFn::InvLinoidExp {
            base,
            p,
            q,
            r,
            s,
            a,
            k,
        } => format!(
            "({} + 1 / (-({} + {} * {v}) / (exp({} + {} * {v}) - 1) + {} * exp({} * {v})))",
            n(*base),
            n(*p),
            n(*q),
            n(*r),
            n(*s),
            n(*a),
            n(*k)
        ),
        VFn::MgBlock { mg, k, div } => format!(
            "(1 / (1 + {} * exp(-{} * {v}) / {}))",
            n(*mg),
            n(*k),
            n(*div)
        ),
        VFn::Linoid { a, v0, k } => format!(
            "({} * ({v} - {}) / (1 - exp(-({v} - {}) / {})))",
            n(*a),
            n(*v0),
            n(*v0),
            n(*k)
        ),
        VFn::Expr(e) => explicit_expr(e, v, pow),
    }
}

fn explicit_expr(e: &Expr, v: &str, pow: PowSyntax) -> String {
    match e {
        Expr::Num(x) => number(*x),
        Expr::V => v.to_string(),
        Expr::Neg(a) => format!("(-{})", explicit_expr(a, v, pow)),
        Expr::Bin(op, a, b) => format!(
            "({} {} {})",
            explicit_expr(a, v, pow),
            op.symbol(pow),
            explicit_expr(b, v, pow)
        ),
        Expr::Func(func, a) => format!("{}({})", func.name(), explicit_expr(a, v, pow)),
        Expr::Form(f) => explicit(f, v, pow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, v: f64) -> f64 {
        Expr::parse(text).unwrap().into_vfn().at(v)
    }

    /// Evaluates an explicit formula in `V` with a tiny evaluator of its own: Python-like syntax through the
    /// model-file parser itself (which reads `^`), so the check is that the text means the same function.
    fn reparse(text: &str, v: f64) -> f64 {
        Expr::parse(text).unwrap().eval(v)
    }

    #[test]
    fn explicit_formulas_compute_the_same_function() {
        let mut checked = 0;
        for model in crate::ALL {
            for g in model.channels.iter().flat_map(|c| c.gates) {
                let fs: Vec<VFn> = match g.gating {
                    crate::model::Gating::Hh { inf, tau } => vec![inf, tau],
                    crate::model::Gating::CaDependent { inf, tau, .. } => vec![inf, tau],
                    crate::model::Gating::Instant { inf } => vec![inf],
                    crate::model::Gating::Kinetic {
                        a0,
                        b0,
                        ai,
                        bi,
                        init_open,
                        init_inactivated,
                    } => {
                        vec![a0, b0, ai, bi, init_open, init_inactivated]
                    }
                };
                for f in fs {
                    let text = explicit(&f, "V", PowSyntax::Caret);
                    assert!(!text.contains("gsig") && !text.contains("_"), "{text}");
                    for v in [-90.0, -71.3, -51.0, -20.0, 0.3, 35.0] {
                        let (a, b) = (f.at(v), reparse(&text, v));
                        assert!(
                            (a - b).abs() <= 1e-12 * a.abs().max(1e-300),
                            "{text} at {v}: {a} {b}"
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "{checked}");
        // Model-file expressions, with powers in both syntaxes and a linoid away from its singularity.
        let e = Expr::parse("linoid(V, 0.1, -40, 10) + 2 ^ (V / 50) - -V^2 * tanh(V / 30)")
            .unwrap()
            .into_vfn();
        let caret = explicit(&e, "V", PowSyntax::Caret);
        let stars = explicit(&e, "v", PowSyntax::StarStar);
        assert_eq!(caret.replace('^', "**").replace('V', "v"), stars);
        for v in [-63.0, -10.0, 12.5] {
            assert!((e.at(v) - reparse(&caret, v)).abs() < 1e-12 * e.at(v).abs());
        }
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(at("1 + 2 * 3", 0.0), 7.0);
        assert_eq!(at("(1 + 2) * 3", 0.0), 9.0);
        assert_eq!(at("2 ^ 3 ^ 2", 0.0), 512.0);
        assert_eq!(at("-V^2", 3.0), -9.0);
        assert_eq!(at("10 - 4 - 3", 0.0), 3.0);
        assert_eq!(at("8 / 4 / 2", 0.0), 1.0);
        assert_eq!(at("2*-V", 1.5), -3.0);
        assert_eq!(at("1e-3 * V", 2000.0), 2.0);
        assert!((at("exp(log(V)) + sqrt(V) - tanh(0)", 4.0) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn standard_forms_are_the_declared_functions_and_print_back() {
        let f = Expr::parse("gsig(V, 1.32, -1.26, -25, 120) * gsig(V, 0, 1, 3.6, 34.9)")
            .unwrap()
            .into_vfn();
        assert_eq!(
            f,
            VFn::SigProd(Sig::new(1.32, -1.26, -25.0, 120.0), Sig::unit(3.6, 34.9))
        );
        assert_eq!(Expr::parse(&f.to_string()).unwrap().into_vfn(), f);
        // A free expression: printed, re-read and evaluated again, the same values and derivatives.
        let text = "0.5 * (1 + tanh((V + 40) / 15)) / (1 + exp(-(V + 20) / 7)) ^ 2";
        let f = Expr::parse(text).unwrap().into_vfn();
        assert!(matches!(f, VFn::Expr(_)));
        let g = Expr::parse(&f.to_string()).unwrap().into_vfn();
        for v in [-80.0, -40.0, 0.0, 30.0] {
            assert_eq!(f.eval_d(v), g.eval_d(v));
        }
    }

    #[test]
    fn derivatives_are_exact() {
        // d/dV of a / (1 + exp((V + d) / c)) against its closed form.
        let f = Expr::parse("3 / (1 + exp((V + 20) / -5))")
            .unwrap()
            .into_vfn();
        for v in [-60.0, -20.0, 10.0] {
            let e = ((v + 20.0) / -5.0f64).exp();
            let exact = -3.0 * e / (-5.0 * (1.0 + e) * (1.0 + e));
            let (_, d) = f.eval_d(v);
            assert!(
                (d - exact).abs() <= 1e-15 * exact.abs().max(1e-300),
                "{d} {exact}"
            );
        }
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let err = |t: &str| Expr::parse(t).unwrap_err().to_string();
        assert!(err("Ca / (Ca + 3)").contains("unknown variable `Ca`"));
        assert!(err("foo(V)").contains("unknown function `foo`"));
        assert!(err("gsig(V, 1, 2)").contains("V and 4 numbers (a, b, c, d)"));
        assert!(err("gsig(V, 1, 2, V, 3)").contains("V and 4 numbers"));
        assert!(err("exp(V, 2)").contains("one argument"));
        let e = err("1 + * 2");
        assert!(e.contains("cannot read `1 + * 2`"), "{e}");
        assert!(err("(V + 1").contains("cannot read"));
        assert!(err("").contains("cannot read"));
    }
}

#[cfg(test)]
mod linoid_tests {
    use super::*;

    #[test]
    fn the_linoid_is_smooth_through_its_removable_singularity() {
        // Hodgkin and Huxley's alpha_n (1952, in the modern sign convention): 0.01 (V + 55) / (1 - exp(-(V + 55) / 10)).
        let f = Expr::parse("linoid(V, 0.01, -55, 10)").unwrap().into_vfn();
        let closed = |v: f64| 0.01 * (v + 55.0) / (1.0 - (-(v + 55.0) / 10.0).exp());
        assert!((f.at(-55.0) - 0.1).abs() < 1e-15);
        for v in [-100.0, -70.0, -55.01, -54.999, -30.0, 40.0] {
            assert!((f.at(v) - closed(v)).abs() < 1e-12 * closed(v), "{v}");
        }
        // Exact derivative on both sides and at the singularity (d/dV = a / 2 there).
        let (_, d0) = f.eval_d(-55.0);
        assert!((d0 - 0.005).abs() < 1e-15, "{d0}");
        for v in [-55.0 - 1e-3, -55.0 + 1e-3] {
            let (_, d) = f.eval_d(v);
            let h = 1e-6;
            let fd = (closed(v + h) - closed(v - h)) / (2.0 * h);
            assert!((d - fd).abs() < 1e-7, "{v}: {d} {fd}");
        }
        // The classic form typed out is 0/0 at -55 mV; the model-file check refuses it there.
        let typed = Expr::parse("0.01 * (V + 55) / (1 - exp(-(V + 55) / 10))")
            .unwrap()
            .into_vfn();
        assert!(typed.at(-55.0).is_nan());
        assert_eq!(Expr::parse(&f.to_string()).unwrap().into_vfn(), f);
    }
}
