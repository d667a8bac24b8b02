//! `spikepop dics`: the threshold voltage and the DICs (g_f, g_s, g_u, g_t) of every model of a population
//! file.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Result, bail};
use rayon::prelude::*;
use spikepop_dics::{Dics, Kernel, VthFinder};

use crate::output::{model_by_name, with_threads, write_atomic};
use crate::population::read_population;

/// Where the DICs are evaluated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Vth {
    /// The first downward zero crossing of g_t(V), per model.
    Auto,
    /// A fixed voltage (mV).
    Fixed(f64),
}

impl FromStr for Vth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Vth::Auto);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Vth::Fixed(v)),
            _ => Err(format!("`{s}` is neither a voltage in mV nor `auto`")),
        }
    }
}

/// Compute the threshold voltage and the DICs of every model of a population file.
#[derive(clap::Args)]
pub struct Args {
    /// Neuron model: stg, da, or the path of a model file (`spikepop model show stg` prints one to start from).
    #[arg(long)]
    model: String,
    /// Population CSV: `ID`, optional `model`, one column per conductance (`g_Na`, ...).
    #[arg(long)]
    input: PathBuf,
    /// Output CSV: `ID,[model,]V_th,g_f,g_s,g_u,g_t`; the DICs are dimensionless (divided by g_leak).
    #[arg(short, long)]
    output: PathBuf,
    /// Voltage (mV) at which the DICs are evaluated, or `auto` for each model's first downward zero
    /// crossing of g_t on [-90, 0] mV (NaN when there is none). Default: the model's V_th (STG -51, DA -55.5).
    #[arg(long, allow_negative_numbers = true)]
    vth: Option<Vth>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    let model = model_by_name(&args.model)?;
    let pop = read_population(&args.input, model)?;
    let leak = model.leak_index();
    for (g, id) in pop.g.iter().zip(&pop.ids) {
        if g[leak] <= 0.0 {
            bail!(
                "{}: ID {id}: g_leak is {}; the DICs are divided by g_leak, which must be > 0",
                args.input.display(),
                g[leak]
            );
        }
    }
    let vth = args.vth.unwrap_or(Vth::Fixed(model.default_vth));
    let rows: Vec<(f64, Dics)> = with_threads(args.threads, || match vth {
        Vth::Fixed(v) => {
            let k = Kernel::new(model, v);
            pop.g.par_iter().map(|g| (v, k.dics(g))).collect()
        }
        Vth::Auto => {
            let finder = VthFinder::new(model);
            pop.g
                .par_iter()
                .map(|g| match finder.find(g) {
                    Some(v) => (v, Kernel::new(model, v).dics(g)),
                    None => (f64::NAN, Dics::NAN),
                })
                .collect()
        }
    })?;
    let missing = rows.iter().filter(|(v, _)| v.is_nan()).count();
    write_atomic(&args.output, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let mut header = vec!["ID"];
        if pop.members.is_some() {
            header.push("model");
        }
        header.extend(["V_th", "g_f", "g_s", "g_u", "g_t"]);
        csv.write_record(&header)?;
        for (i, (v, d)) in rows.iter().enumerate() {
            let mut rec = vec![pop.ids[i].clone()];
            if let Some(m) = &pop.members {
                rec.push(m[i].clone());
            }
            rec.extend([v, &d.g_f, &d.g_s, &d.g_u, &d.g_t()].map(|x| x.to_string()));
            csv.write_record(&rec)?;
        }
        csv.flush()?;
        Ok(())
    })?;
    if missing > 0 {
        eprintln!(
            "warning: {missing} model(s) have no downward zero crossing of g_t on [-90, 0] mV; their V_th and DICs are NaN"
        );
    }
    eprintln!(
        "computed the DICs of {} models of {} into {}",
        rows.len(),
        args.input.display(),
        args.output.display()
    );
    Ok(())
}
