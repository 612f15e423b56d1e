//! A sweep run for real on a cluster engine: a single-node Slurm started on localhost
//! runs the job array `dcsim sweep --emit slurm` writes, then its dependent merge job;
//! the merged files must equal a single-machine sweep byte for byte.
//!
//! Set-up (known to work with Debian's Slurm 22.05): a private munge daemon with its own
//! key and socket, `ProctrackType=proctrack/linuxproc`, `TaskPlugin=task/none`,
//! `SelectType=select/cons_tres`, no cgroup.conf, one node with the machine's CPUs, and
//! private ports, state and spool directories, so nothing of the machine's own Slurm or
//! munge is touched. The daemons are stopped when the test ends, pass or fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the whole array and merge may take before the test gives up.
const WAIT: Duration = Duration::from_secs(300);

/// Daemons started by the test, killed (by their own process id) when dropped.
struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn found(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dcsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
}

/// The small M/M/c sweep of tests/sweep.rs: 6 points x 2 replications.
fn write_scenario(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("servers.toml"),
        "name = \"servers\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 8\nracks_per_row = 8\n\
         rows_per_hall = 40\n[[nodes]]\nname = \"server\"\ngpu = \"H100-SXM5\"\ngpus = 1\ncount = 30\n",
    )
    .unwrap();
    let path = dir.join("scenario.toml");
    std::fs::write(
        &path,
        r#"name = "slurm-test"
seed = 7
[topology]
path = "servers.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 400
arrival = { process = "poisson", rate_per_hour = 20.0 }
gpus = { dist = "constant", value = 1 }
duration = { dist = "exponential", mean_s = 3600.0 }
[scheduler]
queue = "fifo"
placement = "pooled"
[sweep]
replications = 2
[[sweep.axis]]
key = "topology.nodes.server.count"
range = { from = 22, to = 26, step = 2 }
[[sweep.axis]]
key = "workload.transform.load_scale"
values = [1.0, 1.1]
"#,
    )
    .unwrap();
    path
}

#[test]
#[ignore = "needs Slurm and munge (Debian: slurmctld slurmd munge); .ci/run installs them and runs this test with --include-ignored"]
fn slurm_job_array_and_merge_equal_the_single_machine_sweep() {
    for p in ["munged", "slurmctld", "slurmd", "sbatch"] {
        assert!(
            found(p),
            "`{p}` is not installed (apt-get install slurmctld slurmd munge)"
        );
    }
    let tmp = tempfile::Builder::new()
        .prefix("dcsim-slurm")
        .tempdir_in("/tmp")
        .unwrap();
    let dir = tmp.path();
    let scenario = write_scenario(dir);

    // The single-machine reference.
    run(dcsim()
        .arg("sweep")
        .arg(&scenario)
        .arg("-o")
        .arg(dir.join("single")));

    // munge: a private key and socket.
    let key = dir.join("munge.key");
    std::fs::write(
        &key,
        (0..1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sock = dir.join("munge.sock");
    let mut daemons = Daemons(Vec::new());
    daemons.0.push(
        Command::new("munged")
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", sock.display()))
            .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
            .arg(format!("--log-file={}", dir.join("munged.log").display()))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("munged starts"),
    );

    // slurm.conf: one node with this machine's CPUs, private ports and directories.
    let host = run(Command::new("hostname").arg("-s")).trim().to_string();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    for d in ["state", "spool"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let conf = dir.join("slurm.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=dcsimtest\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={port}\nSlurmdPort={}\n\
             SlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\nReturnToService=2\n\
             MpiDefault=none\nJobCompType=jobcomp/none\nAccountingStorageType=accounting_storage/none\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            port + 1,
            sock.display()
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500)); // munged creates its socket
    for daemon in ["slurmctld", "slurmd"] {
        let mut cmd = Command::new(daemon);
        cmd.arg("-D").arg("-f").arg(&conf).env("SLURM_CONF", &conf);
        if daemon == "slurmctld" {
            cmd.arg("-i"); // ignore (absent) saved state
        }
        daemons.0.push(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("daemon starts"),
        );
    }

    // Emit the array (4 tasks for 6 points: tasks 0 and 1 run two points each), submit.
    let out = dir.join("cluster");
    run(dcsim()
        .arg("sweep")
        .arg(&scenario)
        .arg("--emit")
        .arg("slurm")
        .arg("--slurm-tasks")
        .arg("4")
        .arg("-o")
        .arg(&out));
    let array = std::fs::read_to_string(out.join("slurm/array.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-3\n"), "{array}");
    let started = Instant::now();
    let submitted = loop {
        let r = Command::new("sh")
            .arg(out.join("slurm/submit.sh"))
            .env("SLURM_CONF", &conf)
            .output()
            .unwrap();
        if r.status.success() {
            break String::from_utf8_lossy(&r.stdout).into_owned();
        }
        // slurmctld may still be starting.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "submit failed: {}\n{}",
            String::from_utf8_lossy(&r.stderr),
            std::fs::read_to_string(dir.join("slurmctld.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(submitted.contains("array job"), "{submitted}");

    let merged = out.join("sweep.csv");
    let summary = out.join("sweep_summary.csv");
    while !(merged.exists() && summary.exists()) {
        if started.elapsed() > WAIT {
            let logs = std::fs::read_dir(out.join("slurm/logs"))
                .map(|it| {
                    it.flatten()
                        .map(|e| {
                            format!(
                                "{}:\n{}",
                                e.path().display(),
                                std::fs::read_to_string(e.path()).unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            panic!(
                "no merged files after {WAIT:?}\nsqueue:\n{}\njob logs:\n{logs}\nslurmctld.log:\n{}\nslurmd.log:\n{}",
                Command::new("squeue")
                    .env("SLURM_CONF", &conf)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default(),
                std::fs::read_to_string(dir.join("slurmctld.log")).unwrap_or_default(),
                std::fs::read_to_string(dir.join("slurmd.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The merge writes each file under a temporary name and renames it: once both exist
    // they are complete.
    let single = dir.join("single");
    for f in ["sweep.csv", "sweep_summary.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(single.join(f)).unwrap(),
            "{f}: Slurm array + merge vs one machine"
        );
    }
    drop(daemons);
}
