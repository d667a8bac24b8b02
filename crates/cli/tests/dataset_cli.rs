//! `spikepop dataset` end to end: shards + merge == one run, split, Ctrl-C then --resume, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spikepop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args)
        .output()
        .expect("spikepop runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small STG dataset: 1000 ms simulations, 300 ms transient.
fn make(dir: &Path, extra: &[&str]) -> Output {
    make_seed(dir, "3", extra)
}

fn make_seed(dir: &Path, seed: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "dataset",
        "--model",
        "stg",
        "--targets",
        "5",
        "--per-target",
        "2",
        "--seed",
        seed,
        "--duration",
        "1000",
        "--transient",
        "300",
        "--gs-range",
        "-20,20",
        "-o",
        s(dir),
    ];
    args.extend_from_slice(extra);
    spikepop(&args)
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn shards_merge_into_the_unsharded_run_and_split_by_target() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let o = make(&whole, &["--noise", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("models/s")
            && err.contains("silent fraction")
            && err.contains("wrote 10 rows"),
        "{err}"
    );
    let mut shards = Vec::new();
    for i in 0..2 {
        let dir = tmp.path().join(format!("shard-{i}"));
        let shard = format!("{i}/2");
        let o = make(&dir, &["--noise", "1", "--shard", &shard, "--threads", "1"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(dir.join(format!("part-{i}.parquet")).exists());
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    let o = spikepop(&[
        "dataset",
        "merge",
        s(&shards[1]),
        s(&shards[0]),
        "-o",
        s(&merged),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(merged.join("part-0.parquet")),
        read(whole.join("part-0.parquet"))
    );
    assert_eq!(
        read(merged.join("dataset.json")),
        read(whole.join("dataset.json"))
    );

    let sets = tmp.path().join("sets");
    let o = spikepop(&[
        "dataset",
        "split",
        "--data",
        s(&merged),
        "-o",
        s(&sets),
        "--val",
        "0.2",
        "--test",
        "0.2",
        "--seed",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut rows = 0;
    let mut seen = std::collections::HashSet::new();
    for set in ["train", "val", "test"] {
        let r = spikepop_dataset::read_rows(&sets.join(format!("{set}.parquet"))).unwrap();
        rows += r.len();
        let targets: std::collections::HashSet<u64> = r.iter().map(|x| x.target).collect();
        assert!(
            targets.iter().all(|t| seen.insert(*t)),
            "a target in two sets"
        );
    }
    assert_eq!(rows, 10);
    assert_eq!(seen.len(), 5);

    // The CSV layout: the reference's leading columns and the spike string.
    let csv_dir = tmp.path().join("csv");
    let o = make(&csv_dir, &["--noise", "1", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut rdr = csv::Reader::from_path(csv_dir.join("part-0.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..4], ["ID", "g_s", "g_u", "g_Na"]);
    assert_eq!(header.last().unwrap(), "spiking_times");
    let from_csv = spikepop_dataset::read_rows(&csv_dir.join("part-0.csv")).unwrap();
    let from_parquet = spikepop_dataset::read_rows(&whole.join("part-0.parquet")).unwrap();
    assert_eq!(from_csv, from_parquet);
}

#[test]
fn ctrl_c_leaves_a_folder_that_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |dir: &Path| -> Vec<String> {
        [
            "dataset",
            "--model",
            "stg",
            "--targets",
            "150",
            "--per-target",
            "1",
            "--seed",
            "5",
            "--duration",
            "2000",
            "--transient",
            "500",
            "--threads",
            "1",
            "--group-targets",
            "1",
            "-o",
            s(dir),
        ]
        .map(String::from)
        .to_vec()
    };
    let reference = tmp.path().join("ref");
    let o = Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args(&reference))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let dir = tmp.path().join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_spikepop"))
        .args(args(&dir))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first group is on disk.
    let staging = dir.join("part-0.inprogress");
    let started = std::time::Instant::now();
    while std::fs::read_dir(&staging).map_or(true, |d| d.count() == 0) {
        assert!(started.elapsed().as_secs() < 60, "no group written");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    if o.status.success() {
        // The machine was fast enough to finish first: nothing to resume, but the result must still hold.
        eprintln!("run finished before the interruption: {err}");
    } else {
        assert!(
            err.contains("interrupted") && err.contains("--resume"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!dir.join("part-0.parquet").exists());
        let mut a = args(&dir);
        a.push("--resume".into());
        let o = Command::new(env!("CARGO_BIN_EXE_spikepop"))
            .args(&a)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    }
    assert_eq!(
        read(dir.join("part-0.parquet")),
        read(reference.join("part-0.parquet"))
    );
    assert_eq!(
        read(dir.join("dataset.json")),
        read(reference.join("dataset.json"))
    );
}

/// Runs a failing command: one `error:` line, and nothing new in the temporary folder.
fn fails(args: &[&str], what: &str, tmp: &Path, before: &[&str]) {
    let o = spikepop(args);
    assert!(!o.status.success(), "should fail: {args:?}");
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert!(
        err.starts_with("error: ") && err.contains(what),
        "{what}: {err}"
    );
    let mut left: Vec<String> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, before, "nothing written: {args:?}");
}

#[test]
fn bad_input_gets_one_clear_line_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = s(&out);
    let base = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["dataset", "--model", "stg", "--targets", "4", "-o", o]
            .map(String::from)
            .to_vec();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let cases: &[(&[&str], &str)] = &[
        (&["--shard", "3/2"], "--shard 3/2: shard 3 does not exist"),
        (&["--shard", "1-2"], "--shard 1-2: expected I/K"),
        (&["--shard", "0/5"], "--shard 0/5"),
        (
            &["--gs-range", "5,-5"],
            "--gs-range 5,-5: the range is reversed",
        ),
        (&["--gu-range", "1"], "--gu-range 1: expected two numbers"),
        (&["--per-target", "0"], "--per-target 0"),
        (&["--format", "xml"], "--format xml"),
        (&["--threads", "0"], "--threads 0"),
        (&["--transient", "7000"], "--transient"),
        (&["--dt", "0"], "--dt"),
        (&["--noise", "-1"], "--noise"),
    ];
    for (extra, what) in cases {
        let a = base(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails(&a, what, tmp.path(), &[]);
    }
    let a = ["dataset", "--model", "stg", "--targets", "0", "-o", o];
    fails(&a, "--targets 0", tmp.path(), &[]);
    let a = ["dataset", "--model", "hh", "--targets", "2", "-o", o];
    fails(&a, "unknown model `hh`", tmp.path(), &[]);

    // An existing dataset is not overwritten without --resume.
    let ok = make(&out, &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let before = read(out.join("part-0.parquet"));
    let again = make_seed(&out, "4", &[]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    let resumed = make_seed(&out, "4", &["--resume"]);
    assert!(!resumed.status.success());
    assert!(
        stderr(&resumed).contains("seed: 4 vs 3"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(read(out.join("part-0.parquet")), before);

    // merge and split.
    let m = tmp.path().join("m");
    fails(
        &["dataset", "merge", o, o, "-o", s(&m)],
        "both shard 0/1",
        tmp.path(),
        &["out"],
    );
    fails(
        &["dataset", "merge", s(&tmp.path().join("nope")), "-o", s(&m)],
        "no dataset.json",
        tmp.path(),
        &["out"],
    );
    fails(
        &[
            "dataset",
            "split",
            "--data",
            o,
            "-o",
            s(&m),
            "--val",
            "0.6",
            "--test",
            "0.5",
        ],
        "val + test < 1",
        tmp.path(),
        &["out"],
    );
}

/// `sbatch` stand-in: runs the job (each task of an array, in order) at once, with the Slurm variables set.
const FAKE_SBATCH: &str = r#"#!/bin/bash
array=""; exports=""; script=""
for a in "$@"; do
  case "$a" in
    --array=*) array=${a#--array=} ;;
    --export=*) exports=${a#--export=} ;;
    --*) ;;
    *) script=$a ;;
  esac
done
vars=(); IFS=',' read -ra kv <<< "$exports"
for x in "${kv[@]}"; do [[ $x == ALL ]] || vars+=("$x"); done
id=$((RANDOM + 1000))
if [[ -n $array ]]; then
  for ((i = ${array%-*}; i <= ${array#*-}; i++)); do
    env "${vars[@]}" SLURM_JOB_ID=$id SLURM_ARRAY_JOB_ID=$id SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 \
      bash "$script" >> "$FAKE_LOG" 2>&1 || exit 1
  done
else
  env "${vars[@]}" SLURM_JOB_ID=$id bash "$script" >> "$FAKE_LOG" 2>&1 || exit 1
fi
echo "$id"
"#;

#[test]
fn the_slurm_example_runs_the_shards_then_the_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for (name, text) in [
        ("sbatch", FAKE_SBATCH),
        ("srun", "#!/bin/bash\nexec \"$@\"\n"),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        let status = Command::new("chmod").arg("+x").arg(&p).status().unwrap();
        assert!(status.success());
    }
    let out = tmp.path().join("out");
    let log = tmp.path().join("jobs.log");
    let script = format!(
        "{}/../../examples/slurm/dataset.sbatch",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    );
    let o = Command::new("bash")
        .arg(&script)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("FAKE_LOG", &log)
        .env("SPIKEPOP", env!("CARGO_BIN_EXE_spikepop"))
        .env("MODEL", "stg")
        .env("TARGETS", "5")
        .env("PER_TARGET", "2")
        .env("SEED", "3")
        .env("SHARDS", "3")
        .env("OUT", &out)
        .env("VAL", "0.2")
        .env("TEST", "0.2")
        .env("EXTRA", "--duration 1000 --transient 300")
        .env_remove("SLURM_JOB_ID")
        .output()
        .unwrap();
    let jobs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(o.status.success(), "{}\n{jobs}", stderr(&o));
    for i in 0..3 {
        assert!(
            out.join(format!("shard-{i}/part-{i}.parquet")).exists(),
            "{jobs}"
        );
    }
    for set in ["train", "val", "test"] {
        assert!(out.join(format!("sets/{set}.parquet")).exists(), "{jobs}");
    }
    // The merged shards are the one-machine dataset.
    let one = tmp.path().join("one");
    let o = make(&one, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(out.join("all/part-0.parquet")),
        read(one.join("part-0.parquet"))
    );
}

/// The rows do not depend on the processor either. glibc picks its `exp` (and `log`, `sin`, ...) among code paths
/// for the CPU at start-up; masking FMA and AVX2 (`GLIBC_TUNABLES`) makes this machine run the paths of an older
/// CPU. Before the simulator's rate tables took `exp` from the `libm` crate, nearly every spike time differed
/// between the two runs. (On a CPU without FMA both runs take the same paths and the check is void.)
#[test]
fn rows_do_not_depend_on_the_processors_math_library() {
    let tmp = tempfile::tempdir().unwrap();
    for model in ["stg", "da"] {
        let run = |name: &str, masked: bool| {
            let dir = tmp.path().join(format!("{model}-{name}"));
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_spikepop"));
            cmd.args([
                "dataset",
                "--model",
                model,
                "--targets",
                "4",
                "--per-target",
                "2",
                "--seed",
                "5",
                "--duration",
                "4000",
                "--transient",
                "1000",
                "--format",
                "csv",
                "-o",
                s(&dir),
            ]);
            if masked {
                cmd.env(
                    "GLIBC_TUNABLES",
                    "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX2_Usable,-FMA_Usable",
                );
            }
            let o = cmd.output().expect("spikepop runs");
            assert!(o.status.success(), "{}", stderr(&o));
            read(dir.join("part-0.csv"))
        };
        let native = run("native", false);
        let masked = run("masked", true);
        assert!(
            native.len() > 1000,
            "{model}: {} bytes of rows",
            native.len()
        );
        assert!(
            native == masked,
            "{model}: the rows differ between the two runs"
        );
    }
}
