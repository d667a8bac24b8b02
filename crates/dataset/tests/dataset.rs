//! The dataset guarantees: shards merged == the unsharded run, row for row; a resumed run == an uninterrupted one;
//! splits by target, seeded; files read back exactly; bad requests fail before anything is written.
//! Short simulations (1500 ms, 500 ms transient) keep these fast.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use spikepop_dataset::{
    Error, Format, Hooks, Manifest, Outcome, Plan, Row, RunOptions, Shard, Spec, SplitOptions,
    merge, read_rows, split,
};
use spikepop_models::{DA, STG};

fn spec(model: &'static spikepop_models::Model, n: u64, m: u32) -> Spec {
    let mut s = Spec::new(model);
    s.seed = 11;
    s.targets = n;
    s.per_target = m;
    s.duration = 1500.0;
    s.transient = 500.0;
    s
}

fn opts(dir: &Path, shard: Shard, format: Format, group: u64) -> RunOptions {
    RunOptions {
        dir: dir.to_path_buf(),
        shard,
        format,
        resume: false,
        group_targets: Some(group),
    }
}

/// Runs to completion on `threads` threads and returns the part file.
fn make(spec: &Spec, o: RunOptions, threads: usize) -> PathBuf {
    let cancel = AtomicBool::new(false);
    let plan = Plan::open(spec.clone(), o).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    match pool
        .install(|| plan.execute(&Hooks::quiet(&cancel)))
        .unwrap()
    {
        Outcome::Complete(r) => r.part,
        Outcome::Interrupted { .. } => panic!("not interrupted"),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn check_shards_merge_to_the_unsharded_run(spec: Spec, format: Format) {
    let tmp = tempfile::tempdir().unwrap();
    let whole_dir = tmp.path().join("whole");
    let whole = make(&spec, opts(&whole_dir, Shard::WHOLE, format, 2), 2);
    let whole_rows = read_rows(&whole).unwrap();
    assert_eq!(whole_rows.len() as u64, spec.rows());
    assert_eq!(
        files_in(&whole_dir),
        ["dataset.json", &format!("part-0.{format}")]
    );

    // Three shards, each with its own group size and thread count.
    let mut dirs = Vec::new();
    for (i, (group, threads)) in [(1, 1), (3, 2), (2, 1)].into_iter().enumerate() {
        let dir = tmp.path().join(format!("shard-{i}"));
        let part = make(
            &spec,
            opts(
                &dir,
                Shard {
                    index: i as u64,
                    count: 3,
                },
                format,
                group,
            ),
            threads,
        );
        let rows = read_rows(&part).unwrap();
        let r = Shard {
            index: i as u64,
            count: 3,
        }
        .range(spec.targets);
        assert!(rows.iter().all(|row| r.contains(&row.target)));
        dirs.push(dir);
    }
    // Merge in any order of arguments.
    dirs.reverse();
    let out = tmp.path().join("merged");
    let merged = merge(&dirs, &out).unwrap();
    let merged_rows = read_rows(&out.join(merged.part_file())).unwrap();
    assert_eq!(merged_rows.len(), whole_rows.len());
    for (a, b) in merged_rows.iter().zip(&whole_rows) {
        assert_eq!(a, b, "row ID {}", b.id);
    }
    // The merged folder is the unsharded one: same manifest, same bytes.
    assert_eq!(merged, Manifest::read(&whole_dir).unwrap());
    assert_eq!(
        std::fs::read(out.join(merged.part_file())).unwrap(),
        std::fs::read(&whole).unwrap()
    );
}

#[test]
fn each_row_is_what_simulate_one_gives_for_its_id() {
    // Lock-step lanes and grouping must not change a model's simulation or its noise stream.
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(&STG, 3, 3);
    s.noise = 3.0;
    let rows = read_rows(&make(
        &s,
        opts(tmp.path(), Shard::WHOLE, Format::Parquet, 2),
        2,
    ))
    .unwrap();
    let settings = s.sim_settings();
    let compiled = spikepop_models::sim::Compiled::new(&STG, s.dt);
    let cancel = AtomicBool::new(false);
    for r in &rows {
        let out = spikepop_models::sim::simulate_one(
            &compiled,
            &r.conductances,
            &settings,
            r.id,
            &cancel,
        );
        assert_eq!(out.spikes, r.spikes, "row ID {}", r.id);
    }
    // The noise matters: without it the spikes differ.
    let mut quiet = settings.clone();
    quiet.noise_sigma = 0.0;
    assert!(rows.iter().any(|r| {
        spikepop_models::sim::simulate_one(&compiled, &r.conductances, &quiet, r.id, &cancel).spikes
            != r.spikes
    }));
}

#[test]
fn stg_shards_merged_equal_the_unsharded_run_with_noise() {
    let mut s = spec(&STG, 7, 3);
    s.noise = 2.0;
    check_shards_merge_to_the_unsharded_run(s, Format::Parquet);
}

#[test]
fn da_csv_shards_merged_equal_the_unsharded_run() {
    check_shards_merge_to_the_unsharded_run(spec(&DA, 5, 2), Format::Csv);
}

#[test]
fn rows_are_identified_ordered_and_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(&STG, 6, 4);
    let rows = read_rows(&make(
        &s,
        opts(tmp.path(), Shard::WHOLE, Format::Parquet, 4),
        2,
    ))
    .unwrap();
    let targets = spikepop_dataset::latin_hypercube(s.seed, s.targets, s.gs_range, s.gu_range);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.id, i as u64);
        assert_eq!((r.target, r.model), (i as u64 / 4, i as u32 % 4));
        assert_eq!([r.target_g_s, r.target_g_u], targets[r.target as usize]);
        // The generator reaches its target to 1e-9 relative.
        assert!((r.achieved[1] - r.target_g_s).abs() <= 1e-8 * r.target_g_s.abs().max(1.0));
        assert!((r.achieved[2] - r.target_g_u).abs() <= 1e-8 * r.target_g_u.abs().max(1.0));
        assert_eq!(r.vth, -51.0);
        assert!(r.conductances.iter().all(|g| *g >= 0.0));
        assert_eq!(r.n_spikes as usize, r.spikes.len());
        assert!(r.spikes.iter().all(|t| (500.0..1500.0).contains(t)));
        assert!(r.finite);
    }
}

/// Stops a run after `after` groups, through the cancel flag.
fn interrupted(spec: &Spec, o: RunOptions, after: usize) -> (u64, u64) {
    let cancel = AtomicBool::new(false);
    let groups = AtomicUsize::new(0);
    let on_group = |_| {
        if groups.fetch_add(1, Ordering::SeqCst) + 1 == after {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let hooks = Hooks {
        cancel: &cancel,
        on_models: &|_| {},
        on_infeasible: &|_, _| {},
        on_group: &on_group,
    };
    match Plan::open(spec.clone(), o)
        .unwrap()
        .execute(&hooks)
        .unwrap()
    {
        Outcome::Interrupted {
            done_targets,
            simulated,
            ..
        } => (done_targets, simulated),
        Outcome::Complete(_) => panic!("should have stopped"),
    }
}

#[test]
fn resume_after_an_interruption_and_a_crash_gives_the_uninterrupted_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(&STG, 6, 2);
    s.noise = 1.0;
    let reference = read_rows(&make(
        &s,
        opts(&tmp.path().join("ref"), Shard::WHOLE, Format::Parquet, 6),
        2,
    ))
    .unwrap();

    let dir = tmp.path().join("run");
    let (done, simulated) = interrupted(&s, opts(&dir, Shard::WHOLE, Format::Parquet, 1), 3);
    assert_eq!((done, simulated), (3, 6));
    // Consistent on disk: the manifest, three groups, no part file yet.
    let m = Manifest::read(&dir).unwrap();
    assert!(!m.complete);
    assert_eq!(files_in(&dir), ["dataset.json", "part-0.inprogress"]);
    let staging = dir.join("part-0.inprogress");
    assert_eq!(files_in(&staging).len(), 3);
    // A crash in the middle of the fourth group: a half-written temporary file, and the third group lost.
    std::fs::write(staging.join(".tmp-abc123"), b"PAR1 half a group").unwrap();
    std::fs::remove_file(staging.join("targets-0000000002-0000000003.parquet")).unwrap();

    // Resuming with other settings is refused, naming them.
    let mut other = s.clone();
    other.seed = 12;
    let mut o = opts(&dir, Shard::WHOLE, Format::Parquet, 2);
    o.resume = true;
    let e = Plan::open(other, o.clone()).err().unwrap().to_string();
    assert!(
        e.contains("--resume") && e.contains("seed: 12 vs 11"),
        "{e}"
    );
    // Without --resume the folder is not touched.
    let mut fresh = o.clone();
    fresh.resume = false;
    let e = Plan::open(s.clone(), fresh).err().unwrap().to_string();
    assert!(e.contains("--resume"), "{e}");

    // Resume with another group size: the rows are those of the uninterrupted run.
    let plan = Plan::open(s.clone(), o.clone()).unwrap();
    assert_eq!(plan.done_targets(), 2);
    let cancel = AtomicBool::new(false);
    let Outcome::Complete(r) = plan.execute(&Hooks::quiet(&cancel)).unwrap() else {
        panic!("complete")
    };
    assert_eq!(r.simulated, 8);
    assert_eq!(read_rows(&r.part).unwrap(), reference);
    assert_eq!(files_in(&dir), ["dataset.json", "part-0.parquet"]);
    assert_eq!(r.manifest, Manifest::read(&tmp.path().join("ref")).unwrap());

    // Resuming a complete folder does nothing.
    let Outcome::Complete(again) = Plan::open(s, o)
        .unwrap()
        .execute(&Hooks::quiet(&cancel))
        .unwrap()
    else {
        panic!("complete")
    };
    assert_eq!(again.simulated, 0);
}

#[test]
fn resume_without_a_folder_starts_one() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(&DA, 2, 1);
    let mut o = opts(&tmp.path().join("new"), Shard::WHOLE, Format::Csv, 1);
    o.resume = true;
    let cancel = AtomicBool::new(false);
    let out = Plan::open(s, o)
        .unwrap()
        .execute(&Hooks::quiet(&cancel))
        .unwrap();
    assert!(matches!(out, Outcome::Complete(r) if r.summary().rows == 2));
}

#[test]
fn split_keeps_targets_together_and_is_seeded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(&STG, 20, 2);
    s.duration = 800.0;
    s.transient = 300.0;
    let data = tmp.path().join("data");
    let all = read_rows(&make(&s, opts(&data, Shard::WHOLE, Format::Parquet, 10), 2)).unwrap();
    let run = |seed: u64, name: &str| {
        let out = tmp.path().join(name);
        let m = split(
            &data,
            &out,
            SplitOptions {
                val: 0.2,
                test: 0.1,
                seed,
            },
        )
        .unwrap();
        let info = m.split.unwrap();
        let sets: Vec<Vec<Row>> = ["train", "val", "test"]
            .iter()
            .map(|k| read_rows(&out.join(&info.sets[*k].file)).unwrap())
            .collect();
        assert_eq!(
            [&info.sets["train"], &info.sets["val"], &info.sets["test"]]
                .map(|c| (c.targets, c.rows)),
            [(14, 28), (4, 8), (2, 4)]
        );
        sets
    };
    let a = run(3, "a");
    // Every row once, no target in two sets, each set in dataset order.
    let mut union: Vec<Row> = a.iter().flatten().cloned().collect();
    union.sort_by_key(|r| r.id);
    assert_eq!(union, all);
    let target_sets = |sets: &[Vec<Row>]| -> Vec<Vec<u64>> {
        sets.iter()
            .map(|rows| {
                assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
                let mut t: Vec<u64> = rows.iter().map(|r| r.target).collect();
                t.dedup();
                t
            })
            .collect()
    };
    let ta = target_sets(&a);
    for i in 0..3 {
        for j in 0..i {
            assert!(ta[i].iter().all(|t| !ta[j].contains(t)));
        }
    }
    assert_eq!(target_sets(&run(3, "b")), ta, "same seed, same split");
    assert_ne!(target_sets(&run(4, "c")), ta, "another seed, another split");

    // Bad fractions: one clear error, nothing written.
    for (val, test, what) in [
        (0.6, 0.5, "val + test < 1"),
        (-0.1, 0.1, "[0, 1)"),
        (0.01, 0.1, "empty"),
    ] {
        let out = tmp.path().join("bad");
        let e = split(&data, &out, SplitOptions { val, test, seed: 0 })
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
        assert!(!out.exists());
    }
}

#[test]
fn infeasible_targets_have_no_rows_and_are_listed() {
    // DA with g_u = 0 and g_s >= 0: every seed gives a negative g_ERG.
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(&DA, 3, 2);
    s.gs_range = [1.0, 2.0];
    s.gu_range = [0.0, 0.0];
    let seen = std::sync::Mutex::new(Vec::new());
    let on_infeasible = |t: u64, _: &spikepop_dics::Infeasible| seen.lock().unwrap().push(t);
    let cancel = AtomicBool::new(false);
    let hooks = Hooks {
        cancel: &cancel,
        on_models: &|_| {},
        on_infeasible: &on_infeasible,
        on_group: &|_| {},
    };
    let plan = Plan::open(s, opts(tmp.path(), Shard::WHOLE, Format::Parquet, 2)).unwrap();
    let Outcome::Complete(r) = plan.execute(&hooks).unwrap() else {
        panic!()
    };
    assert_eq!(r.summary().rows, 0);
    assert_eq!(r.summary().infeasible_targets, [0, 1, 2]);
    assert_eq!(read_rows(&r.part).unwrap().len(), 0);
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, [0, 1, 2]);
}

#[test]
fn bad_requests_fail_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let fails = |s: Spec, o: RunOptions, what: &str| {
        let e = Plan::open(s, o).err().expect("should fail");
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains(what), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(!dir.exists(), "{e}: nothing written");
    };
    let o = opts(&dir, Shard::WHOLE, Format::Parquet, 1);
    fails(spec(&STG, 0, 2), o.clone(), "--targets 0");
    fails(spec(&STG, 2, 0), o.clone(), "--per-target 0");
    let mut s = spec(&STG, 2, 2);
    s.gs_range = [5.0, -5.0];
    fails(s, o.clone(), "--gs-range 5,-5: the range is reversed");
    let mut s = spec(&STG, 2, 2);
    s.gu_range = [0.0, f64::NAN];
    fails(s, o.clone(), "--gu-range");
    let mut s = spec(&STG, 2, 2);
    s.transient = 2000.0;
    fails(s, o.clone(), "--transient");
    let mut s = spec(&STG, 2, 2);
    s.dt = 0.0;
    fails(s, o.clone(), "--dt");
    let mut s = spec(&STG, 2, 2);
    s.noise = -1.0;
    fails(s, o.clone(), "--noise");
    fails(
        spec(&STG, 2, 2),
        opts(&dir, Shard { index: 0, count: 3 }, Format::Parquet, 1),
        "--shard 0/3",
    );
    fails(
        spec(&STG, 2, 2),
        opts(&dir, Shard::WHOLE, Format::Parquet, 0),
        "--group-targets 0",
    );
    assert!(
        "3/2"
            .parse::<Shard>()
            .unwrap_err()
            .to_string()
            .starts_with("--shard 3/2:")
    );

    // Merging: missing shards, mixed settings, incomplete folders.
    let s = spec(&STG, 2, 1);
    let d0 = tmp.path().join("s0");
    let d1 = tmp.path().join("s1");
    make(
        &s,
        opts(&d0, Shard { index: 0, count: 2 }, Format::Parquet, 1),
        1,
    );
    let out = tmp.path().join("m");
    let e = merge(std::slice::from_ref(&d0), &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("shard(s) 1 of 2 missing"), "{e}");
    let e = merge(&[d0.clone(), d0.clone()], &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("both shard 0/2"), "{e}");
    let mut other = s.clone();
    other.noise = 1.0;
    make(
        &other,
        opts(&d1, Shard { index: 1, count: 2 }, Format::Parquet, 1),
        1,
    );
    let e = merge(&[d0.clone(), d1.clone()], &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("noise: 0.0 vs 1.0"), "{e}");
    assert!(!out.exists());
}

#[test]
fn parquet_and_csv_read_back_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = spikepop_dataset::Layout::for_model(&DA);
    let rows: Vec<Row> = (0..10u64)
        .map(|i| {
            let spikes: Vec<f64> = (0..i % 4)
                .map(|j| 3000.1 + 1e-9 * i as f64 + 77.7 * j as f64)
                .collect();
            let (label, label_reference, features) = spikepop_dataset::row::measure(&spikes);
            Row {
                id: i,
                target_g_s: -1.0 / 3.0 * i as f64,
                target_g_u: f64::MIN_POSITIVE * i as f64,
                conductances: (0..layout.conductances.len())
                    .map(|c| 1e-7 + c as f64 * 0.1)
                    .collect(),
                target: i / 2,
                model: (i % 2) as u32,
                vth: -55.5,
                achieved: [1e300, -0.0, 2.5],
                label,
                label_reference,
                finite: i != 3,
                n_spikes: spikes.len() as u64,
                features,
                spikes,
            }
        })
        .collect();
    assert!(rows.iter().any(|r| r.features.iter().any(|f| f.is_nan())));
    for format in [Format::Parquet, Format::Csv] {
        let path = tmp.path().join(format!("rows.{format}"));
        // Row groups of 3: four groups, the last one short.
        let mut sink = spikepop_dataset::Sink::create(&path, format, &layout, 3).unwrap();
        for r in &rows {
            sink.push(r.clone()).unwrap();
        }
        assert!(!path.exists(), "nothing at the path before commit");
        assert_eq!(sink.commit().unwrap(), 10);
        let src = spikepop_dataset::Source::open(&path, format).unwrap();
        assert_eq!(src.layout(), &layout);
        assert_eq!(src.read_all().unwrap(), rows, "{format}");
    }
    // A file that is not a dataset is refused with its name.
    let bogus = tmp.path().join("bogus.csv");
    std::fs::write(&bogus, "ID,spiking_times\n1,[1.0]\n").unwrap();
    let e = read_rows(&bogus).unwrap_err().to_string();
    assert!(
        e.contains("bogus.csv") && e.contains("not a spikepop dataset"),
        "{e}"
    );
    let bogus = tmp.path().join("bogus.parquet");
    std::fs::write(&bogus, "PAR1 not really").unwrap();
    assert!(
        read_rows(&bogus)
            .unwrap_err()
            .to_string()
            .contains("bogus.parquet")
    );
}
