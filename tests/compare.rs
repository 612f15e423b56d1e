//! `dcsim compare`: thread-count independence, the confidence-interval and fairness
//! arithmetic on hand-worked samples, agreement with direct runs, bad input, and the
//! policy table in docs/policies.md kept in step with the registry.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcsim::compare::{self, CompareConfig, CompareError, Comparison, Estimate, FIGURES};
use dcsim::scenario::Scenario;
use dcsim::scheduler::params::ParamDoc;
use dcsim::scheduler::registry::{self, Entry};
use dcsim::sim::Simulation;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn dcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dcsim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A contended synthetic scenario (so policies and replications differ): 600 jobs of
/// 1–8 GPUs from 3 tenants at offered load 1.1 on the 40-GPU tiny cluster.
const SYNTHETIC: &str = r#"
name = "cmp-synth"
seed = 7
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 600
arrival = { process = "poisson", offered_load = 1.1 }
gpus = { dist = "choice", values = [1, 2, 4, 8] }
duration = { dist = "exponential", mean_s = 3600.0 }
tenants = 3
tenant_assignment = "uniform"
"#;

fn synthetic_scenario(dir: &tempfile::TempDir) -> PathBuf {
    let p = dir.path().join("cmp-synth.toml");
    fs::write(&p, SYNTHETIC.replace("@REPO@", env!("CARGO_MANIFEST_DIR"))).unwrap();
    p
}

fn names(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn csv_bytes(c: &Comparison) -> (Vec<u8>, Vec<u8>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    compare::write_compare_csv(&mut a, c).unwrap();
    compare::write_tenants_csv(&mut b, c).unwrap();
    (a, b)
}

fn with_threads(n: usize, s: &Scenario, cfg: &CompareConfig) -> Comparison {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    pool.install(|| compare::compare(s, cfg)).unwrap()
}

#[test]
fn one_and_two_threads_give_byte_identical_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Scenario::load(&synthetic_scenario(&tmp)).unwrap();
    let cfg = CompareConfig {
        queues: names(&["fifo", "fifo-skip"]),
        placements: names(&["best-fit", "first-fit"]),
        replications: 3,
        seed: 7,
    };
    let one = with_threads(1, &s, &cfg);
    let two = with_threads(2, &s, &cfg);
    let (c1, t1) = csv_bytes(&one);
    let (c2, t2) = csv_bytes(&two);
    assert!(c1 == c2, "compare.csv differs between 1 and 2 threads");
    assert!(t1 == t2, "compare_tenants.csv differs between 1 and 2 threads");
    // The workload is contended and random: the CI columns are filled and not all zero,
    // and the policies do not all agree (otherwise this test would prove little).
    assert_eq!(one.rows.len(), 4);
    let wait = |i: usize| *one.rows[i].figure("wait_mean_s").unwrap();
    assert!(wait(0).ci95.unwrap() > 0.0, "{:?}", wait(0));
    assert_ne!(
        wait(0).mean,
        wait(2).mean,
        "fifo and fifo-skip agree on a contended load"
    );
    // 4 pairs × 3 tenants.
    assert_eq!(one.tenants.len(), 12);

    // The same through the command line, with --jobs 1 and --jobs 2.
    let scenario = synthetic_scenario(&tmp);
    let mut files = Vec::new();
    for jobs in ["1", "2"] {
        let out = tmp.path().join(format!("cli-{jobs}"));
        let o = dcsim(&[
            "compare",
            scenario.to_str().unwrap(),
            "--policies",
            "fifo,fifo-skip",
            "--placements",
            "best-fit,first-fit",
            "--replications",
            "3",
            "--jobs",
            jobs,
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        files.push(fs::read(out.join("compare.csv")).unwrap());
    }
    assert!(files[0] == files[1], "dcsim compare --jobs 1 and --jobs 2 differ");
    assert!(files[0] == c1, "the command line and the library differ");
}

#[test]
fn replication_r_runs_with_seed_plus_r() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Scenario::load(&synthetic_scenario(&tmp)).unwrap();
    let cfg = CompareConfig {
        queues: names(&["fifo-skip"]),
        placements: names(&["best-fit"]),
        replications: 2,
        seed: 100,
    };
    let c = with_threads(2, &s, &cfg);
    for (r, run) in c.runs.iter().enumerate() {
        assert_eq!(run.seed, 100 + r as u64);
        // The same run, done directly with that seed.
        let p = s.prepare(run.seed).unwrap();
        let placement = s.placement_policy("best-fit", run.seed).unwrap();
        let queue = s.queue_policy("fifo-skip", run.seed).unwrap();
        let out = Simulation::new(&p.cluster, &p.workload, queue, placement, s.sim_config()).run(&mut |_| {});
        assert_eq!(run.summary, out.summary, "replication {r}");
    }
    assert_ne!(
        c.runs[0].summary, c.runs[1].summary,
        "replications drew the same jobs"
    );
}

#[test]
fn ci_of_one_two_three_four() {
    // Values 1, 2, 3, 4: mean 2.5; s² = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, s = 1.290994;
    // t(0.975, 3) = 3.182446 (NIST/SEMATECH e-Handbook, Table 1.3.6.7.2: 3.182);
    // half-width = 3.182446 × 1.290994 / √4 = 2.054260.
    let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(e.n, 4);
    assert_eq!(e.mean, Some(2.5));
    let hw = e.ci95.unwrap();
    assert!((hw - 2.054260).abs() < 1e-5, "{hw}");
    // One value: a mean, no interval. None: neither.
    assert_eq!(Estimate::of(&[3.0]).ci95, None);
    assert_eq!(Estimate::of(&[3.0]).mean, Some(3.0));
    assert_eq!(Estimate::of(&[]).mean, None);
    // Equal values: zero width.
    assert_eq!(Estimate::of(&[5.0, 5.0, 5.0]).ci95, Some(0.0));
}

#[test]
fn t_quantiles_match_the_table() {
    // NIST/SEMATECH e-Handbook Table 1.3.6.7.2, column 0.975 (three decimals), and for
    // more than 30 d.o.f. the values 2.021 (40), 2.000 (60), 1.980 (120), 1.960 (∞).
    for (df, t) in [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (10, 2.228),
        (30, 2.042),
        (40, 2.021),
    ] {
        assert!(
            (compare::t_975(df) - t).abs() < 5e-4,
            "t({df}) = {}",
            compare::t_975(df)
        );
    }
    for (df, t) in [(60, 2.000), (120, 1.980), (1_000_000, 1.960)] {
        assert!(
            (compare::t_975(df) - t).abs() < 5e-4,
            "t({df}) = {}",
            compare::t_975(df)
        );
    }
    // The expansion continues the table smoothly: t(31) = 2.039513.
    assert!((compare::t_975(31) - 2.039513).abs() < 1e-5);
}

#[test]
fn jain_index_hand_worked() {
    // J = (Σx)² / (n Σx²) (Jain, Chiu, Hawe, DEC-TR-301, 1984).
    // [1,1,1,1]: 16 / (4 × 4) = 1. [1,0,0,0]: 1 / (4 × 1) = 0.25. [1,3]: 16 / (2 × 10) = 0.8.
    assert_eq!(compare::jain_index(&[1.0, 1.0, 1.0, 1.0]), Some(1.0));
    assert_eq!(compare::jain_index(&[1.0, 0.0, 0.0, 0.0]), Some(0.25));
    assert_eq!(compare::jain_index(&[1.0, 3.0]), Some(0.8));
    assert_eq!(compare::jain_index(&[]), None);
    assert_eq!(compare::jain_index(&[0.0, 0.0]), None);
}

#[test]
fn philly_slice_rows_equal_direct_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let o = dcsim(&[
        "compare",
        "scenarios/philly-slice.toml",
        "--policies",
        "fifo,fifo-skip",
        "--placements",
        "best-fit,first-fit",
        "--jobs",
        "2",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for name in [
        "fifo/best-fit",
        "fifo/first-fit",
        "fifo-skip/best-fit",
        "fifo-skip/first-fit",
    ] {
        assert!(stdout.contains(name), "table lacks {name}:\n{stdout}");
    }

    let mut rdr = csv::Reader::from_path(out.join("compare.csv")).unwrap();
    let header = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4, "one row per (queue, placement)");
    // One replication: no `_ci95` column (it would be empty), and no column for a
    // figure these runs do not produce (fragmentation, energy).
    assert!(!header.iter().any(|h| h.ends_with("_ci95")), "{header:?}");

    let s = Scenario::load(&repo("scenarios/philly-slice.toml")).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    for row in &rows {
        let (q, pl) = (&row[1], &row[2]);
        assert_eq!(&row[0], format!("{q}/{pl}"));
        assert_eq!(&row[3], "1");
        let direct = Simulation::new(
            &p.cluster,
            &p.workload,
            s.queue_policy(q, s.config.seed).unwrap(),
            s.placement_policy(pl, s.config.seed).unwrap(),
            s.sim_config(),
        )
        .run(&mut |_| {})
        .summary;
        for f in FIGURES {
            let col = header.iter().position(|h| h == f.name);
            let want = (f.get)(&direct);
            let got: Option<f64> = col.map(|col| row[col].parse().unwrap());
            assert_eq!(got, want, "{q}/{pl} {}", f.name);
        }
    }
    let tenants = fs::read_to_string(out.join("compare_tenants.csv")).unwrap();
    let tenant_rows = tenants.lines().count() - 1;
    assert_eq!(
        tenant_rows,
        4 * p.workload.tenants.len(),
        "one row per pair and tenant"
    );
}

#[test]
fn unknown_policy_lists_the_valid_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let o = dcsim(&[
        "compare",
        "scenarios/philly-slice.toml",
        "--policies",
        "fifo,nope",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("unknown queue policy `nope`"), "{err}");
    for e in registry::QUEUE_POLICIES {
        assert!(err.contains(e.name), "error does not list {}: {err}", e.name);
    }
    assert!(!out.exists(), "nothing written on error");

    let o = dcsim(&[
        "compare",
        "scenarios/philly-slice.toml",
        "--policies",
        "fifo",
        "--placements",
        "worst-fitt",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown placement policy `worst-fitt`"),
        "{}",
        stderr(&o)
    );

    // Library: a name twice, and zero replications.
    let s = Scenario::load(&repo("scenarios/philly-slice.toml")).unwrap();
    let mut cfg = CompareConfig {
        queues: names(&["fifo", "fifo"]),
        placements: names(&["best-fit"]),
        replications: 1,
        seed: 1,
    };
    assert!(matches!(
        compare::compare(&s, &cfg),
        Err(CompareError::Invalid(_))
    ));
    cfg.queues = names(&["fifo"]);
    cfg.replications = 0;
    assert!(matches!(
        compare::compare(&s, &cfg),
        Err(CompareError::Invalid(_))
    ));
}

#[test]
fn an_existing_output_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    fs::create_dir(&out).unwrap();
    // An earlier comparison (its compare.csv marks it as one; --force replaces only such
    // a folder, tests/outputs.rs) with a file added by hand.
    fs::write(out.join("compare.csv"), "earlier").unwrap();
    fs::write(out.join("keep.txt"), "earlier").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "compare",
            "scenarios/philly-slice.toml",
            "--policies",
            "fifo",
            "--output",
            out.to_str().unwrap(),
        ];
        if force {
            a.push("--force");
        }
        dcsim(&a)
    };
    let o = args(false);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert!(out.join("keep.txt").exists(), "the earlier output was touched");

    let o = args(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("compare.csv").exists());
    assert!(
        !out.join("keep.txt").exists(),
        "--force replaces the directory whole"
    );
    // No temporary directories left beside it.
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---- docs/policies.md is generated from the registry --------------------------------

const BEGIN: &str = "<!-- BEGIN GENERATED: policy tables -->";
const END: &str = "<!-- END GENERATED: policy tables -->";

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn params_cell(params: &[ParamDoc]) -> String {
    if params.is_empty() {
        return "—".into();
    }
    params
        .iter()
        .map(|p| format!("`{}` = `{}`: {}", p.key, p.default, cell(p.about)))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn table<T: ?Sized>(title: &str, key: &str, entries: &[Entry<T>]) -> String {
    let mut s = format!(
        "### {title} (`[scheduler] {key} = \"...\"`)\n\n| policy | what it does, and its source | parameters (`[scheduler.params.<policy>]`: key = default) |\n| --- | --- | --- |\n"
    );
    for e in entries {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            e.name,
            cell(e.about),
            params_cell(e.params)
        ));
    }
    s
}

/// The generated part of docs/policies.md, from the registry.
fn generated_tables() -> String {
    format!(
        "{BEGIN}\n{}\n{}{END}",
        table("Queue policies", "queue", registry::QUEUE_POLICIES),
        table("Placement policies", "placement", registry::PLACEMENTS)
    )
}

/// Fails when docs/policies.md does not hold exactly the tables the registry generates.
/// `DCSIM_BLESS=1 cargo test --release --test compare policies_doc` rewrites them.
#[test]
fn policies_doc_matches_the_registry() {
    let path = repo("docs/policies.md");
    let text = fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        panic!("docs/policies.md lacks the {BEGIN} … {END} markers");
    };
    let current = &text[b..e + END.len()];
    let want = generated_tables();
    if current != want {
        if std::env::var_os("DCSIM_BLESS").is_some() {
            fs::write(&path, format!("{}{want}{}", &text[..b], &text[e + END.len()..])).unwrap();
        } else {
            panic!(
                "docs/policies.md is out of date with src/scheduler/registry.rs; run \
                 `DCSIM_BLESS=1 cargo test --release --test compare policies_doc`. Expected:\n{want}"
            );
        }
    }
}

/// `dcsim policies` lists every registry entry with its description and parameters, as
/// the doc does.
#[test]
fn policies_command_lists_every_entry() {
    let o = dcsim(&["policies"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let doc = fs::read_to_string(repo("docs/policies.md")).unwrap();
    let check = |name: &str, about: &str, params: &[ParamDoc]| {
        assert!(
            out.contains(name) && out.contains(about),
            "dcsim policies lacks {name}"
        );
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/policies.md lacks {name}"
        );
        for p in params {
            assert!(
                out.contains(&format!("{} = {}", p.key, p.default)),
                "dcsim policies lacks {name}.{}",
                p.key
            );
        }
    };
    for e in registry::QUEUE_POLICIES {
        check(e.name, e.about, e.params);
    }
    for e in registry::PLACEMENTS {
        check(e.name, e.about, e.params);
    }
}
