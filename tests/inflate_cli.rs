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
