//! `spikepop model`: list the built-in models, print a model file, check one.

use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::{Args as ClapArgs, Subcommand};
use spikepop_dics::{Generator, GeneratorOptions, Kernel};
use spikepop_models::file::to_toml;
use spikepop_models::registry::{self, BUILT_IN};
use spikepop_models::sim::{Compiled, Settings};
use spikepop_spikes::features::{Classifier, Features};

use crate::output::model_by_name;

#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The built-in models, by name.
    List,
    /// Print a model file: a built-in one (`stg`, `da`) to start your own from, or a file as spikepop reads it.
    Show {
        /// A built-in name or the path of a model file.
        model: String,
    },
    /// Validate a model file and print its DICs at V_th, and its firing, for its nominal seed cell.
    Check {
        /// A built-in name or the path of a model file.
        model: String,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::List => {
            for (name, _) in BUILT_IN {
                let m = registry::built_in(name).expect("listed");
                println!("{name:<6} {}", m.title);
            }
        }
        Command::Show { model } => match registry::built_in_file(&model) {
            Some(text) => print!("{text}"),
            None => print!("{}", to_toml(model_by_name(&model)?, "")),
        },
        Command::Check { model: name } => check(&name)?,
    }
    Ok(())
}

fn check(name: &str) -> Result<()> {
    let model = model_by_name(name)?;
    let channels: Vec<&str> = model.channels.iter().map(|c| c.name).collect();
    println!("{name}: model `{}` ({}) is valid", model.name, model.title);
    println!(
        "  {} state variables ({}); {} channels ({}){}",
        model.n_states(),
        model.state_names().join(", "),
        model.n_channels(),
        channels.join(", "),
        if model.calcium.is_some() {
            "; calcium dynamics"
        } else {
            ""
        }
    );
    println!(
        "  training range: g_s [{}, {}], g_u [{}, {}]",
        model.training.g_s[0], model.training.g_s[1], model.training.g_u[0], model.training.g_u[1]
    );
    let Some(recipe) = model.population.as_ref() else {
        println!(
            "  no [population] section: simulate and dics work; generate, dataset, train and reconstruct need one"
        );
        return Ok(());
    };
    let generator = Generator::new(model, &GeneratorOptions::default())?;
    let g = generator.nominal_seed()?;
    let [gf, gs, gu] = recipe.seed_targets;
    println!(
        "  nominal seed (drawn channels at their range midpoints, mean leak; {} solved for g_f {gf}, g_s {gs}, g_u {gu}):",
        recipe.seed_channels.join(", ")
    );
    let cols: Vec<String> = model
        .conductance_names()
        .zip(&g)
        .map(|(c, x)| format!("{c} {x:.6}"))
        .collect();
    println!("    {}", cols.join(", "));
    let d = Kernel::new(model, model.default_vth).dics(&g);
    println!(
        "  DICs at V_th {} mV: g_f {:.4}, g_s {:.4}, g_u {:.4}",
        model.default_vth, d.g_f, d.g_s, d.g_u
    );
    let s = Settings::for_model(model);
    let out = Compiled::new(model, s.dt).run(&g, &s, None, &AtomicBool::new(false));
    let f = Features::of(&out.spikes, &Classifier::Default);
    println!(
        "  simulated {} ms (dt {} ms, the first {} ms dropped): {} spikes, {}, {:.2} Hz",
        s.duration,
        s.dt,
        s.transient,
        out.spikes.len(),
        f.label.as_str(),
        f.mean_rate_hz
    );
    Ok(())
}
