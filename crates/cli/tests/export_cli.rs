//! `spikepop export` end to end: the bundled populations written for NEURON, Brian2 and NeuroML, and bad input.
//! That the exports simulate like spikepop (and that the NeuroML files validate) is checked by running them in
//! those simulators (scripts/interop_check.py, run by scripts/test).

use std::path::Path;
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

/// `spikepop export --model MODEL --input INPUT --format FORMAT -o OUT`.
fn export(model: &str, input: &str, format: &str, out: &Path) -> Output {
    spikepop(&[
        "export",
        "--model",
        model,
        "--input",
        input,
        "--format",
        format,
        "-o",
        out.to_str().unwrap(),
    ])
}

fn example(name: &str) -> String {
    format!(
        "{}/../../examples/{name}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The numbers of the Python list that follows `key` on one line of `text`.
fn py_list(text: &str, key: &str) -> Vec<f64> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no {key}"));
    let inner = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
    inner.split(", ").map(|x| x.parse().unwrap()).collect()
}

#[test]
fn the_bundled_populations_are_written_for_neuron_and_brian2() {
    let dir = tempfile::tempdir().unwrap();
    let csv = read(Path::new(&example("stg_population.csv")));
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for format in ["neuron", "brian2"] {
        let out = dir.path().join(format);
        let o = export("stg", &example("stg_population.csv"), format, &out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let script = read(&out.join("run.py"));
        // Every member, named ID/model, with its conductances exactly as in the file.
        let ids: Vec<String> = rows
            .iter()
            .map(|r| format!("\"{}/{}\"", r[0], r[1]))
            .collect();
        assert!(
            script.contains(&format!("IDS = [{}]", ids.join(", "))),
            "{script}"
        );
        for (c, name) in [
            "g_Na", "g_Kd", "g_CaT", "g_CaS", "g_KCa", "g_A", "g_H", "g_leak",
        ]
        .iter()
        .enumerate()
        {
            let want: Vec<f64> = rows.iter().map(|r| r[2 + c].parse().unwrap()).collect();
            assert_eq!(
                py_list(&script, &format!("\"{name}\":")),
                want,
                "{format} {name}"
            );
        }
        let readme = read(&out.join("README.md"));
        assert!(
            readme.contains("1 uF/cm^2") && readme.contains("V = -70 mV"),
            "{readme}"
        );
        assert!(
            readme.contains("dCa/dt = (-0.94 I_Ca - Ca + 0.05) / 20 ms"),
            "{readme}"
        );
    }
    // NEURON: one mechanism per channel and one for calcium, which the carriers write and KCa reads.
    let n = dir.path().join("neuron");
    let mut mods: Vec<String> = std::fs::read_dir(&n)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".mod"))
        .collect();
    mods.sort();
    assert_eq!(
        mods,
        [
            "stg_A.mod",
            "stg_CaS.mod",
            "stg_CaT.mod",
            "stg_H.mod",
            "stg_KCa.mod",
            "stg_Kd.mod",
            "stg_Na.mod",
            "stg_calcium.mod",
            "stg_leak.mod"
        ]
    );
    assert!(read(&n.join("stg_CaT.mod")).contains("USEION ca WRITE ica"));
    assert!(read(&n.join("stg_KCa.mod")).contains("USEION ca READ cai"));
    assert!(read(&n.join("stg_calcium.mod")).contains("USEION ca READ ica WRITE cai"));
    let na = read(&n.join("stg_Na.mod"));
    assert!(
        na.contains("SUFFIX stg_Na")
            && na.contains("e = 50.0 (mV)")
            && na.contains("i = gbar * m_Na^3 * h_Na * (v - e)"),
        "{na}"
    );
    // Brian2: the STG membrane equation is stiff (exponential Euler); DA's NMDA block is not linear in V (rk4),
    // and DA's sodium time constant keeps spikepop's bridge over its pole.
    assert!(read(&dir.path().join("brian2/run.py")).contains("METHOD = \"exponential_euler\""));
    let da = dir.path().join("da");
    let o = export("da", &example("da_population.csv"), "brian2", &da);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script = read(&da.join("run.py"));
    assert!(
        script.contains("METHOD = \"rk4\"")
            && script.contains("int(abs(V - (-38.72723673792558)) < 0.01)"),
        "{script}"
    );
}

#[test]
fn a_malformed_population_names_the_line_and_the_column_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("pop.csv");
    std::fs::write(
        &bad,
        "ID,g_Na,g_Kd,g_CaT,g_CaS,g_KCa,g_A,g_H,g_leak\na,1,2,3,4,5,6,0.1,0.01\nb,1,2,three,4,5,6,0.1,0.01\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = export("stg", bad.to_str().unwrap(), "neuron", &out);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pop.csv")
            && err.contains("line 3")
            && err.contains("g_CaT")
            && err.contains("`three` is not a number"),
        "{err}"
    );
    assert!(!out.exists());
    let o = export("stg", bad.to_str().unwrap(), "nest", &out);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("neuron, brian2"));
    assert!(!out.exists());
}

#[test]
fn reconstruct_exports_its_population_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rec");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        "stg",
        "--input",
        &example("stg_set.csv"),
        "-n",
        "2",
        "--seed",
        "1",
        "--export",
        "neuron,brian2,neuroml",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let population = read(&out.join("population.csv"));
    let members: Vec<String> = population
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("\"{}/{}\"", f[0], f[1])
        })
        .collect();
    // Up to 2 of each of the 5 recordings (the doublet recording may spend its budget of 60 before it finds one).
    assert!((2..=10).contains(&members.len()), "{population}");
    for format in ["neuron", "brian2", "neuroml"] {
        let script = read(&out.join(format).join("run.py"));
        assert!(
            script.contains(&format!("IDS = [{}]", members.join(", "))),
            "{format}"
        );
    }
    assert!(out.join("neuron/stg_calcium.mod").exists());
    assert!(out.join("neuroml/stg_population.net.nml").exists());
}

#[test]
fn the_bundled_population_is_written_in_neuroml() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nml");
    let o = export("stg", &example("stg_population.csv"), "neuroml", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let channels = ["A", "CaS", "CaT", "H", "KCa", "Kd", "Na", "leak"];
    let mut want: Vec<String> = channels
        .iter()
        .map(|c| format!("stg_{c}.channel.nml"))
        .collect();
    want.extend(
        [
            "LEMS_stg_population.xml",
            "README.md",
            "run.py",
            "stg_calcium.nml",
            "stg_population.net.nml",
        ]
        .map(String::from),
    );
    want.sort();
    assert_eq!(names, want);
    // Every member is a cell whose channel densities are its conductances, in the file's order.
    let csv = read(Path::new(&example("stg_population.csv")));
    let net = read(&out.join("stg_population.net.nml"));
    let densities: Vec<f64> = net
        .split("condDensity=\"")
        .skip(1)
        .map(|s| s[..s.find("mS_per_cm2").unwrap()].parse().unwrap())
        .collect();
    let rows: Vec<f64> = csv
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .skip(2)
                .map(|x| x.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(densities, rows);
    let readme = read(&out.join("README.md"));
    assert!(
        readme.contains("fixedFactorConcentrationModel")
            && readme.contains("dCa/dt = (-0.94 I_Ca - Ca + 0.05) / 20 ms"),
        "{readme}"
    );
    assert!(read(&out.join("run.py")).contains("pynml.validate_neuroml2"));
}

#[test]
fn reconstruct_refuses_an_export_that_cannot_hold_the_model_before_it_starts() {
    // DA with an instantaneous gate beside ERG's kinetic scheme: NeuroML's ionChannelKS cannot hold it.
    let dir = tempfile::tempdir().unwrap();
    let o = spikepop(&["model", "show", "da"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let erg = text.find("name = \"ERG\"").unwrap();
    let end = erg + text[erg..].find("dic = ").unwrap();
    let end = end + text[end..].find('\n').unwrap() + 1;
    let file = dir.path().join("da2.toml");
    std::fs::write(
        &file,
        format!(
            "{}\n[[channel.gate]]\nname = \"b_ERG\"\npower = 1\ninstant = true\n\
             inf = \"mg_block(V, 1.4, 0.08, 10.0)\"\ndic = {{ w_fs = 1.0, w_su = 1.0 }}\n{}",
            &text[..end],
            &text[end..]
        ),
    )
    .unwrap();
    let out = dir.path().join("rec");
    let o = spikepop(&[
        "reconstruct",
        "--model",
        file.to_str().unwrap(),
        "--input",
        &example("stg_set.csv"),
        "--export",
        "neuron,neuroml",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--export neuroml: channel ERG: cannot be written as neuroml"),
        "{err}"
    );
    assert!(!out.exists());
    // The NEURON export holds it.
    let pop = dir.path().join("pop.csv");
    std::fs::write(
        &pop,
        "ID,g_Na,g_Kd,g_CaL,g_CaN,g_ERG,g_NMDA,g_leak\na,30,10,0.05,0.5,0.1,0.1,0.01\n",
    )
    .unwrap();
    let o = export(
        file.to_str().unwrap(),
        pop.to_str().unwrap(),
        "neuron",
        &dir.path().join("n"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
