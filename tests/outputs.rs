//! Outputs never damage or escape what the user has, and errors name what the user wrote
//! (issue 9): safe scenario names, refused `--output` targets, interrupts, stale
//! temporaries, one-line errors without backtraces, and keyed input errors.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `dcsim` in `cwd` with `RUST_BACKTRACE=1` set, as many Rust users have it.
fn dcsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("dcsim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small valid scenario with absolute input paths; `@NAME@` is its name.
const GOOD: &str = r#"name = "@NAME@"
seed = 1
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "generic"
path = "@REPO@/tests/data/generic_small.csv"
"#;

fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join("s.toml");
    let text = body
        .replace("@REPO@", env!("CARGO_MANIFEST_DIR"))
        .replace("@NAME@", name);
    fs::write(&p, text).unwrap();
    p
}

/// A work folder holding `output/` with a README and an earlier run, as users have it.
fn workspace() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    fs::create_dir_all(out.join("earlier")).unwrap();
    fs::write(out.join("README"), "notes").unwrap();
    fs::write(out.join("earlier/summary.json"), "{}").unwrap();
    tmp
}

/// Names in `dir` (sorted), to see that nothing was added or removed.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A user error is exactly one line, `error: ...`, with no backtrace and no
/// "Caused by" list, even with `RUST_BACKTRACE=1`.
fn assert_one_line_error(o: &Output) -> String {
    let e = stderr(o);
    assert!(!o.status.success(), "expected a failure");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("error: "), "{e}");
    assert!(!e.contains("acktrace") && !e.contains("Caused by"), "{e}");
    e
}

#[test]
fn unsafe_scenario_names_are_refused_with_key_and_line() {
    for name in ["", "..", "../x", "/tmp/x", ".hidden", "a/b", "a b", "-x"] {
        let tmp = workspace();
        let s = scenario(tmp.path(), name, GOOD);
        let o = dcsim_in(tmp.path(), &["run", s.to_str().unwrap(), "--force"]);
        let e = assert_one_line_error(&o);
        // `name` is on line 1 of GOOD.
        assert!(e.contains("s.toml:1: `name`"), "{name:?}: {e}");
        assert_eq!(
            listing(&tmp.path().join("output")),
            ["README", "earlier"],
            "{name:?}"
        );
        assert_eq!(
            listing(tmp.path()),
            ["output", "s.toml"],
            "{name:?} wrote outside output/"
        );
    }
}

#[cfg(unix)]
#[test]
fn force_never_replaces_what_is_not_an_earlier_output() {
    let tmp = workspace();
    let s = scenario(tmp.path(), "t", GOOD);
    let s = s.to_str().unwrap();
    fs::write(tmp.path().join("plain"), "keep").unwrap();
    fs::create_dir(tmp.path().join("notes")).unwrap();
    fs::write(tmp.path().join("notes/todo.txt"), "keep").unwrap();
    std::os::unix::fs::symlink("notes", tmp.path().join("link")).unwrap();
    for (target, why) in [
        ("plain", "is a file, not a folder"),
        (".", "not a folder name"),
        ("..", "not a folder name"),
        ("/", "not a folder name"),
        ("link", "is a link"),
        ("output", "holds the folder earlier"),
        ("notes", "holds none of"),
    ] {
        for cmd in [
            vec!["run", s, "-o", target, "--force"],
            vec!["compare", s, "--policies", "fifo", "-o", target, "--force"],
        ] {
            let o = dcsim_in(tmp.path(), &cmd);
            let e = assert_one_line_error(&o);
            assert!(e.contains(why), "{cmd:?}: {e}");
        }
    }
    assert_eq!(fs::read_to_string(tmp.path().join("plain")).unwrap(), "keep");
    assert_eq!(
        fs::read_to_string(tmp.path().join("notes/todo.txt")).unwrap(),
        "keep"
    );
    assert_eq!(listing(&tmp.path().join("output")), ["README", "earlier"]);
    assert_eq!(
        listing(tmp.path()),
        ["link", "notes", "output", "plain", "s.toml"]
    );
    // The folder the command runs in, named by its full path.
    let notes = tmp.path().join("notes");
    let o = dcsim_in(&notes, &["run", s, "-o", notes.to_str().unwrap(), "--force"]);
    assert!(assert_one_line_error(&o).contains("holds the working directory"));
    // Single-file outputs refuse a folder in their place.
    fs::create_dir_all(tmp.path().join("infl/inflation.csv")).unwrap();
    let o = dcsim_in(
        tmp.path(),
        &[
            "inflate",
            s,
            "--policies",
            "best-fit",
            "--seeds",
            "1",
            "-o",
            "infl",
            "--force",
        ],
    );
    assert!(assert_one_line_error(&o).contains("is a folder, not a file"));
    let trace = format!("{}/tests/data/generic_small.csv", env!("CARGO_MANIFEST_DIR"));
    let o = dcsim_in(
        tmp.path(),
        &[
            "trace", "convert", &trace, "-f", "generic", "-o", "notes", "--force",
        ],
    );
    assert!(assert_one_line_error(&o).contains("is a folder, not a file"));
    assert_eq!(listing(&tmp.path().join("notes")), ["todo.txt"]);
    // An earlier run is still replaced, and by default into output/<name> only.
    for _ in 0..2 {
        let o = dcsim_in(tmp.path(), &["run", s, "--force"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(listing(&tmp.path().join("output")), ["README", "earlier", "t"]);
}

#[test]
fn a_later_run_removes_stale_temporaries_of_its_own_target_only() {
    let tmp = workspace();
    let s = scenario(tmp.path(), "t", GOOD);
    let out = tmp.path().join("output");
    // Linux caps PIDs at 2^22 (PID_MAX_LIMIT), so 999999999 is a process long gone;
    // this test's own PID is alive.
    let live = format!(".t.tmp-{}", std::process::id());
    for d in [".t.tmp-999999999", ".t.old-999999999", ".u.tmp-999999999", &live] {
        fs::create_dir(out.join(d)).unwrap();
        fs::write(out.join(d).join("jobs.csv"), "x").unwrap();
    }
    let o = dcsim_in(tmp.path(), &["run", s.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want = vec![".u.tmp-999999999", &live, "README", "earlier", "t"];
    want.sort();
    assert_eq!(listing(&out), want);
}

#[cfg(unix)]
#[test]
fn sigterm_while_writing_removes_the_temporary_and_fails() {
    // The tables stream into the staged folder while the run goes (issue 17), so this
    // interrupts the run itself, mid-way through writing jobs.csv.
    let tmp = tempfile::tempdir().unwrap();
    // 400,000 jobs write about 100 MB (jobs.csv + timeseries.csv), over a second here.
    let body = r#"name = "big"
seed = 1
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 400000
arrival = { process = "poisson", offered_load = 0.5 }
gpus = { dist = "choice", values = [1, 2, 4] }
duration = { dist = "exponential", mean_s = 600.0 }
"#;
    let s = scenario(tmp.path(), "big", body);
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(["run", s.to_str().unwrap(), "-o", "big"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let temp = tmp.path().join(format!(".big.tmp-{}", child.id()));
    let t0 = Instant::now();
    // jobs.csv streams as jobs end: the run is still going while its first rows land.
    while !fs::metadata(temp.join("jobs.csv")).is_ok_and(|m| m.len() > 0) {
        assert!(child.try_wait().unwrap().is_none(), "dcsim ended before it wrote");
        assert!(t0.elapsed() < Duration::from_secs(120), "no temporary appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    // 130: dcsim's exit status for an interrupt (128 + SIGINT, as shells report).
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_eq!(
        listing(tmp.path()),
        ["s.toml"],
        "a temporary or a partial run was left"
    );
}

#[test]
fn input_errors_name_the_scenario_key_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        // (edit to GOOD, what the one-line error must hold)
        (
            ("topologies/tiny.toml", "topologies/nope.toml"),
            vec!["s.toml:4: `topology.path`", "nope.toml does not exist"],
        ),
        (
            ("generic_small.csv", ""),
            vec!["s.toml:7: `workload.path`", "is a folder; expected a file"],
        ),
        (
            (
                "generic_small.csv\"",
                "generic_small.csv\"\n[workload.transform]\nload_scale = 0.0",
            ),
            vec!["s.toml:9: `workload.transform.load_scale`", "must be > 0"],
        ),
    ];
    for ((from, to), want) in cases {
        let s = scenario(tmp.path(), "t", &GOOD.replace(from, to));
        for cmd in ["validate", "run"] {
            let o = dcsim_in(tmp.path(), &[cmd, s.to_str().unwrap()]);
            let e = assert_one_line_error(&o);
            for w in &want {
                assert!(e.contains(w), "{cmd}: want {w:?} in {e}");
            }
        }
    }
}

#[test]
fn io_errors_are_one_line_without_a_repeated_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dcsim_in(tmp.path(), &["validate", "nope.toml"]);
    let e = assert_one_line_error(&o);
    // The OS's message ("... (os error 2)") appears once, after the path.
    assert!(e.starts_with("error: nope.toml: "), "{e}");
    assert_eq!(e.matches("(os error").count(), 1, "{e}");
}

#[test]
fn progress_hears_of_every_byte_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let a = |w: &mut dyn std::io::Write| w.write_all(&[b'a'; 100_000]);
    let b = |w: &mut dyn std::io::Write| w.write_all(b"bb");
    let files: [(&str, &dcsim::output::FileWriter); 2] = [("a", &a), ("b", &b)];
    let seen = std::sync::atomic::AtomicU64::new(0);
    dcsim::output::write_dir(&dir, false, &files, &|n| {
        seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    // 100,000 + 2 bytes, as the two writers wrote them.
    assert_eq!(seen.into_inner(), 100_002);
    assert_eq!(fs::read(dir.join("a")).unwrap().len(), 100_000);
    assert_eq!(listing(tmp.path()), ["d"]);
}
