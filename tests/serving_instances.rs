//! Long-running instances replayed as services (`[[instance_services]]`,
//! src/serving/instances.rs): Alibaba's DLRM 2025 trace against figures computed here
//! from the raw file by a plain scan, and bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcsim::scenario::Scenario;
use dcsim::serving::instances::read_dlrm_instances;
use dcsim::sim::{RunOutput, Simulation};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn run(s: &Scenario) -> RunOutput {
    let p = s.prepare(s.config.seed).unwrap();
    let mut sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    for m in p.models {
        sim = sim.with_model(m);
    }
    sim.run(&mut |_| {})
}

/// Per app from the raw CSV, GPU rows only (role HN, gpu_request > 0), rows created
/// but never scheduled left out: (GPU-seconds, peak concurrent instances), and the
/// peak of all apps' GPUs together. An instance lives from scheduled_time (empty: 0) to
/// deletion_time (empty: the largest time in the file); the peak is a sweep over the
/// sorted start/end times with ends first at equal times.
fn scan(path: &Path) -> (BTreeMap<String, (f64, u32)>, f64) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (role, app, gpu, created, sched, deleted) = (
        col("role"),
        col("app_name"),
        col("gpu_request"),
        col("creation_time"),
        col("scheduled_time"),
        col("deletion_time"),
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let end = rows
        .iter()
        .flat_map(|r| [&r[created], &r[sched], &r[deleted]].map(|s| s.parse::<f64>().unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let mut spans: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for r in &rows {
        let g: f64 = r[gpu].parse().unwrap();
        if &r[role] == "CN" || g == 0.0 || (!r[created].is_empty() && r[sched].is_empty()) {
            continue;
        }
        let s = r[sched].parse().unwrap_or(0.0);
        let e = r[deleted].parse().unwrap_or(end);
        spans.entry(r[app].to_string()).or_default().push((s, e, g));
    }
    let peak = |xs: &mut dyn Iterator<Item = &(f64, f64, f64)>, weight: bool| {
        let mut ev: Vec<(f64, i32, f64)> = xs.flat_map(|&(s, e, g)| [(s, 1, g), (e, -1, g)]).collect();
        ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut now, mut most) = (0.0f64, 0.0f64);
        for (_, d, g) in ev {
            now += f64::from(d) * if weight { g } else { 1.0 };
            most = most.max(now);
        }
        most
    };
    let per_app = spans
        .iter()
        .map(|(a, xs)| {
            let gpu_s = xs.iter().map(|&(s, e, g)| (e - s) * g).sum::<f64>();
            (a.clone(), (gpu_s, peak(&mut xs.iter(), false) as u32))
        })
        .collect();
    let total_peak = peak(&mut spans.values().flatten(), true);
    (per_app, total_peak)
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn dlrm_services_reproduce_the_traces_gpu_hours_and_peaks() {
    // Reference: the raw file scanned above. The topology file's derivation
    // (topologies/dlrm-2025.toml) found 3,412 GPUs at the peak by its own sweep.
    let s = Scenario::load(&repo("scenarios/dlrm-services.toml")).unwrap();
    let (per_app, total_peak) = scan(&repo(
        "../shared/traces/alibaba-dlrm-2025/disaggregated_DLRM_trace.csv",
    ));
    assert_eq!(per_app.len(), 156);
    assert_eq!(total_peak, 3412.0);
    let out = run(&s);
    let serving = out.models.serving.as_ref().unwrap();
    // One output per service, then the total.
    assert_eq!(serving.len(), 157);
    // power_share 0: every GPU at the catalog A10's idle draw (the topology's GPU).
    let idle_kw = dcsim::hardware::lookup("A10").unwrap().idle_w / 1e3;
    let mut gpu_h = 0.0;
    for o in &serving[..156] {
        let app = o.name.strip_prefix("dlrm/").unwrap();
        let (gpu_s, peak) = per_app[app];
        let r = &o.report;
        assert!((r.gpu_hours / (gpu_s / 3600.0) - 1.0).abs() < 1e-9, "{app}");
        let most = r.replicas_over_time.iter().map(|x| x.1).max().unwrap();
        assert_eq!(most, peak, "{app}");
        assert!(
            (r.energy_kwh - r.gpu_hours * idle_kw).abs() < 1e-9 * r.energy_kwh.max(1.0),
            "{app}"
        );
        assert!(o.nodes_over_time.is_empty());
        gpu_h += r.gpu_hours;
    }
    let total = &serving[156];
    assert_eq!(total.name, "dlrm");
    assert!((total.report.gpu_hours / gpu_h - 1.0).abs() < 1e-9);
    assert_eq!(total.skipped_rows.get("cpu_only"), Some(&16_485));
    let scanned: f64 = per_app.values().map(|x| x.0).sum::<f64>() / 3600.0;
    assert!((total.report.gpu_hours / scanned - 1.0).abs() < 1e-9);
    assert!((total.report.peak_kw - total_peak * idle_kw).abs() < 1e-9);
    // The total holds whole 8-GPU nodes: 3,412 GPUs need 427 of the 427.
    let nodes = total.nodes_over_time.iter().map(|x| x.1).max().unwrap();
    assert_eq!(nodes, 427);
    // Every skipped row is counted: 16,485 CPU rows, and no GPU row is left out here.
    let t = read_dlrm_instances(&repo(
        "../shared/traces/alibaba-dlrm-2025/disaggregated_DLRM_trace.csv",
    ))
    .unwrap();
    assert_eq!(t.skipped.get("cpu_only"), Some(&16_485));
    assert_eq!(t.instances.len() as u64 + t.skipped.values().sum::<u64>(), 23_871);
}

/// A trace file with `rows` under the DLRM header, in a temporary folder.
fn trace(rows: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let text = format!(
        "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time\n{rows}"
    );
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn instances_follow_the_adapters_mapping_and_count_every_skip() {
    let (_d, path) = trace(concat!(
        "i0,HN,a,1,1,1,1,0,0,1,1,1,1,-1,,,100\n",
        "i1,HN,a,1,1,1,1,0,0,1,1,1,1,-1,10,20,\n",
        "i2,CN,b,1,1,0,0,0,0,1,1,1,1,-1,5,5,50\n",
        "i3,HN,b,1,1,1,1,0,0,1,1,1,1,-1,30,,\n",
        "i4,HN,b,1,1,1,1,0,0,1,1,1,1,-1,60,50,200\n",
    ));
    let t = read_dlrm_instances(&path).unwrap();
    // i0 from 0 to 100; i1 from 20 to the end (200, the largest time in the file).
    assert_eq!(t.end_s, 200.0);
    assert_eq!(t.apps, ["a"]);
    let spans: Vec<(f64, f64)> = t.instances.iter().map(|i| (i.start_s, i.end_s)).collect();
    assert_eq!(spans, [(0.0, 100.0), (20.0, 200.0)]);
    let skipped: Vec<(&str, u64)> = t.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        skipped,
        [
            ("cpu_only", 1),
            ("never_scheduled", 1),
            ("scheduled_before_creation", 1)
        ]
    );
}

#[test]
fn bad_instance_rows_name_the_file_and_line() {
    let (_d, path) = trace("i0,HN,a,1,1,1,1,0,0,1,1,1,1,-1,,,100\ni1,HN,a,1,1,x,1,0,0,1,1,1,1,-1,,,\n");
    let e = read_dlrm_instances(&path).unwrap_err().to_string();
    assert!(
        e.contains("t.csv:3") && e.contains("column `gpu_request`") && e.contains("`x`"),
        "{e}"
    );
    let (_d, path) = trace("i0,HN,a,1,1,1,1,0,0,1,1,1,1,-1,,-5,\n");
    let e = read_dlrm_instances(&path).unwrap_err().to_string();
    assert!(
        e.contains("t.csv:2") && e.contains("column `scheduled_time`") && e.contains("`-5`"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.csv");
    std::fs::write(&p, "instance_sn,role\ni0,HN\n").unwrap();
    let e = read_dlrm_instances(&p).unwrap_err().to_string();
    assert!(
        e.contains("h.csv") && e.contains("missing column `app_name`"),
        "{e}"
    );
}

/// A scenario on the 8 × DGX H100 topology replaying `rows` as instance services with
/// `extra` lines in the table, in a temporary folder: the loaded scenario.
fn scenario(rows: &str, extra: &str) -> (tempfile::TempDir, tempfile::TempDir, Scenario) {
    let (d, path) = trace(rows);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"t\"\n[topology]\npath = \"{}\"\n[workload]\nformat = \"synthetic\"\n\
         [workload.synthetic]\njobs = 2\narrival = {{ process = \"poisson\", offered_load = 0.3 }}\n\
         gpus = {{ dist = \"constant\", value = 8 }}\nduration = {{ dist = \"exponential\", mean_s = 600.0 }}\n\
         [[instance_services]]\nname = \"x\"\npath = \"{}\"\n{extra}\n",
        repo("topologies/h100-64.toml").display(),
        path.display()
    );
    let p = dir.path().join("s.toml");
    std::fs::write(&p, text).unwrap();
    let s = Scenario::load(&p).unwrap();
    (d, dir, s)
}

#[test]
fn instance_services_take_whole_nodes_and_bad_settings_name_their_key() {
    // Hand-worked: app a holds 9 GPUs over [0, 100) (one 8-GPU and one 1-GPU instance),
    // app b 1 GPU over [50, 200): 10 GPUs at most, 2 nodes, then 1 node from 100 s.
    let rows = concat!(
        "i0,HN,a,1,1,8,8,0,0,1,1,1,1,-1,,,100\n",
        "i1,HN,a,1,1,1,1,0,0,1,1,1,1,-1,,,100\n",
        "i2,HN,b,1,1,1,1,0,0,1,1,1,1,-1,40,50,200\n",
    );
    let (_a, _b, s) = scenario(rows, "gpu = \"H100\"\npower_share = 1.0");
    let out = run(&s);
    let serving = out.models.serving.as_ref().unwrap();
    let names: Vec<&str> = serving.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["x/a", "x/b", "x"]);
    let tdp_kw = dcsim::hardware::lookup("H100").unwrap().tdp_w / 1e3;
    assert!((serving[0].report.gpu_hours - 900.0 / 3600.0).abs() < 1e-12);
    assert!((serving[1].report.energy_kwh - 150.0 / 3600.0 * tdp_kw).abs() < 1e-12);
    assert_eq!(
        serving[2].report.replicas_over_time,
        [(0.0, 2), (50.0, 3), (100.0, 1), (200.0, 0)]
    );
    assert!((serving[2].report.peak_kw - 10.0 * tdp_kw).abs() < 1e-12);
    assert_eq!(serving[2].nodes_over_time, [(0.0, 2), (100.0, 1), (200.0, 0)]);

    let err = |extra: &str| {
        let (_a, _b, s) = scenario(rows, extra);
        s.prepare(s.config.seed).map(|_| ()).unwrap_err().to_string()
    };
    let e = err("gpu = \"A10\"");
    assert!(
        e.contains("instance_services[0].gpu") && e.contains("no node of GPU model `A10`"),
        "{e}"
    );
    let e = err("gpu = \"H100\"\npower_share = 2.0");
    assert!(e.contains("instance_services[0].power_share"), "{e}");
    // 80 instances of 1 GPU at once on 64 GPUs.
    let many: String = (0..80)
        .map(|i| format!("i{i},HN,a,1,1,1,1,0,0,1,1,1,1,-1,,,10\n"))
        .collect();
    let (_a, _b, s) = scenario(&many, "gpu = \"H100\"");
    let e = s.prepare(s.config.seed).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("up to 80 GPUs at once") && e.contains("64"), "{e}");
}
