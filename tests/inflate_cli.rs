//! End-to-end: `dcsim inflate` on the bundled openb scenario, and its answers to bad input.

use std::fs;
use std::process::{Command, Output};

fn dcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dcsim runs")
}

#[test]
fn inflate_writes_one_row_per_step_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("infl");
    let out_s = out.to_str().unwrap();
    let args = [
        "inflate",
        "scenarios/default.toml",
        "--policies",
        "best-fit,random",
        "--seeds",
        "2",
        "--output",
        out_s,
    ];
    let o = dcsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(out.join("inflation.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "policy,seed,arrived_fraction,allocated_fraction,unallocated_gpus,frag_gpus"
    );
    // 2 policies × 2 seeds × 100 steps of 1%.
    assert_eq!(lines.len(), 1 + 2 * 2 * 100);
    assert!(lines[1].starts_with("best-fit,42,0.01"));
    // An existing file is kept without --force, replaced identically with it.
    let again = dcsim(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(dcsim(&forced).status.success());
    assert_eq!(fs::read_to_string(out.join("inflation.csv")).unwrap(), text);
}

#[test]
fn inflate_rejects_an_unknown_policy_and_zero_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = dcsim(&[
        "inflate",
        "scenarios/default.toml",
        "--policies",
        "nope",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope") && err.contains("fgd"), "{err}");
    let o = dcsim(&["inflate", "scenarios/default.toml", "--seeds", "0"]);
    assert!(!o.status.success());
    assert!(!out.exists());
}

/// Every pod list that ships with openb (21 files, the 5-column multigpuNN lists
/// included) loads for the inflation draw with every row accounted for, and
/// `dcsim inflate` runs on it against the real openb cluster. Before: the multigpu lists
/// failed with "missing column `gpu_spec`".
#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn every_openb_pod_list_loads_and_inflates() {
    use dcsim::workload::adapters::{read_traces_keeping_cpu_only, TraceFormat};
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = repo.join("../shared/traces/alibaba-openb-2023");
    let tmp = tempfile::tempdir().unwrap();
    let mut lists = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("openb_pod_list_") {
            continue;
        }
        lists += 1;
        // Data rows counted by the csv crate directly: none may be lost.
        let rows = csv::Reader::from_path(&path).unwrap().records().count() as u64;
        let w = read_traces_keeping_cpu_only(TraceFormat::Openb, std::slice::from_ref(&path))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(w.rows_read, rows, "{name}");
        assert_eq!(w.jobs.len() as u64 + w.skipped.total(), rows, "{name}");
        let scenario = tmp.path().join("s.toml");
        fs::write(
            &scenario,
            format!(
                "name = \"x\"\n[topology]\npath = \"{}\"\n[workload]\nformat = \"openb\"\npath = \"{}\"\n",
                repo.join("topologies/openb.toml").display(),
                path.display()
            ),
        )
        .unwrap();
        let out = tmp.path().join(&name);
        let o = dcsim(&[
            "inflate",
            scenario.to_str().unwrap(),
            "--policies",
            "best-fit",
            "--seeds",
            "1",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // One header and 100 rows of 1% steps.
        let csv = fs::read_to_string(out.join("inflation.csv")).unwrap();
        assert_eq!(csv.lines().count(), 101, "{name}");
    }
    // The folder holds 21 pod lists (its README: gpuspec33, multigpu50 and gpushare60
    // are deliberately left out); a lower count would mean the walk missed some.
    assert_eq!(lists, 21);
}
