//! Every output is written atomically and gets the mode the user's umask gives any new file or folder (not a
//! temporary file's 0600), so colleagues on a shared server can read it.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn example(name: &str) -> String {
    format!(
        "{}/../../examples/{name}",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    )
}

/// Runs `spikepop ARGS` under `umask`.
fn spikepop_with_umask(umask: &str, args: &[&str]) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("sh runs");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn outputs_get_the_modes_the_umask_gives() {
    for (umask, file, folder) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let run = |args: &[&str]| spikepop_with_umask(umask, args);
        run(&[
            "synth",
            "--kind",
            "tonic",
            "--rate",
            "8",
            "--seed",
            "1",
            "-o",
            &p("synth.csv"),
        ]);
        run(&[
            "features",
            "--input",
            &example("stg_set.csv"),
            "-o",
            &p("features.csv"),
        ]);
        run(&[
            "predict",
            "--model",
            "stg",
            "--input",
            &example("stg_set.csv"),
            "-o",
            &p("predict.csv"),
        ]);
        run(&[
            "generate",
            "--model",
            "stg",
            "--gs",
            "4",
            "--gu",
            "5",
            "-n",
            "2",
            "-o",
            &p("generate.csv"),
        ]);
        run(&[
            "dics",
            "--model",
            "stg",
            "--input",
            &p("generate.csv"),
            "-o",
            &p("dics.csv"),
        ]);
        run(&[
            "simulate",
            "--model",
            "stg",
            "--input",
            &p("generate.csv"),
            "--duration",
            "500",
            "--transient",
            "0",
            "-o",
            &p("simulate.csv"),
        ]);
        run(&[
            "reconstruct",
            "--model",
            "stg",
            "--input",
            &p("synth.csv"),
            "-n",
            "2",
            "--seed",
            "1",
            "-o",
            &p("rec"),
        ]);
        for name in [
            "synth.csv",
            "features.csv",
            "predict.csv",
            "generate.csv",
            "dics.csv",
            "simulate.csv",
            "rec/population.csv",
            "rec/summary.csv",
            "rec/run.json",
        ] {
            assert_eq!(
                mode(&dir.path().join(name)),
                file,
                "{name} under umask {umask}"
            );
        }
        assert_eq!(
            mode(&dir.path().join("rec")),
            folder,
            "rec/ under umask {umask}"
        );
    }
}
