//! Shipped topologies load and match their sources; bad input gives errors that
//! name the file, key or line.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use dcsim::topology::config::TopologyFile;
use dcsim::topology::{self, Cluster, TopologyError};
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn topo(name: &str) -> PathBuf {
    root().join("topologies").join(name)
}

/// The shared trace folder (callers are marked
/// `cfg_attr(not(dcsim_shared), ignore = "needs ../shared")`, see build.rs).
fn shared() -> PathBuf {
    root().join("../shared/traces")
}

/// Whether every node list a topology names exists; prints a note when not.
fn lists_present(path: &Path) -> bool {
    let text = fs::read_to_string(path).expect("topology readable");
    let file = TopologyFile::parse(&text, path).expect("topology parses");
    for l in &file.node_list {
        let p = path.parent().expect("has folder").join(&l.path);
        if !p.exists() {
            // With ../shared present (build.rs), a missing list is a failure, not a skip.
            if cfg!(dcsim_shared) {
                panic!("{}: node list {} is absent", path.display(), p.display());
            }
            return false;
        }
    }
    true
}

/// (nodes with GPUs, GPUs, CPU-only nodes, GPUs per model) summed straight from a
/// node list CSV, independently of the crate's reader.
fn csv_sums(path: &Path, gpu_col: &str, model_col: &str) -> (u64, u64, u64, HashMap<String, u64>) {
    let text = fs::read_to_string(path).expect("node list readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let gi = header.iter().position(|h| *h == gpu_col).expect("gpu column");
    let mi = header.iter().position(|h| *h == model_col).expect("model column");
    let (mut nodes, mut gpus, mut cpu_only) = (0, 0, 0);
    let mut per_model = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let g: u64 = f[gi].parse().expect("gpu count");
        if g == 0 {
            cpu_only += 1;
        } else {
            nodes += 1;
            gpus += g;
            *per_model.entry(f[mi].to_owned()).or_insert(0) += g;
        }
    }
    (nodes, gpus, cpu_only, per_model)
}

/// Every rack holds one GPU model, nodes of a rack are contiguous, and ids are in range.
fn assert_well_formed(c: &Cluster, max_per_rack: usize) {
    let mut per_rack: HashMap<u32, (u16, usize)> = HashMap::new();
    let mut last_rack = 0;
    for n in &c.nodes {
        assert!(
            n.rack.0 >= last_rack,
            "{}: nodes of a rack must be contiguous",
            c.name
        );
        last_rack = n.rack.0;
        assert!((n.rack.0 as usize) < c.racks.len());
        assert!((n.model.0 as usize) < c.models.len());
        assert!(n.gpus > 0, "{}: no CPU-only node in the GPU cluster", c.name);
        let e = per_rack.entry(n.rack.0).or_insert((n.model.0, 0));
        assert_eq!(
            e.0, n.model.0,
            "{}: rack {} mixes GPU models",
            c.name, c.racks[n.rack.0 as usize].name
        );
        e.1 += 1;
    }
    assert_eq!(per_rack.len(), c.racks.len(), "{}: no empty racks", c.name);
    assert!(
        per_rack.values().all(|(_, k)| *k <= max_per_rack),
        "{}: rack over capacity",
        c.name
    );
    for r in &c.racks {
        assert!((r.row.0 as usize) < c.rows.len());
    }
    for r in &c.rows {
        assert!((r.hall.0 as usize) < c.halls.len());
    }
}

#[test]
fn every_shipped_topology_loads() {
    let mut loaded = 0;
    for entry in fs::read_dir(root().join("topologies")).expect("topologies folder") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") || !lists_present(&path) {
            continue;
        }
        let c = topology::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.total_gpus() > 0, "{}", path.display());
        assert_well_formed(&c, 16);
        for m in &c.models {
            assert!(
                !m.source.is_empty() && m.idle_w < m.tdp_w,
                "{}: {}",
                path.display(),
                m.name
            );
        }
        loaded += 1;
    }
    assert!(loaded >= 14, "only {loaded} topologies loaded");
}

#[test]
fn openb_matches_its_node_list() {
    let c = topology::load(&topo("openb.toml")).expect("openb loads");
    let csv = root().join("scenarios/data/openb_node_list_gpu_node.csv");
    let (nodes, gpus, cpu_only, per_model) = csv_sums(&csv, "gpu", "model");
    assert_eq!((nodes, gpus, cpu_only), (1213, 6212, 0));
    assert_eq!(c.nodes.len() as u64, nodes);
    assert_eq!(c.total_gpus(), gpus);
    for (code, want) in per_model {
        let id = c.model_by_name(&code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(c.gpus_of(id), want, "{code}");
    }
    assert_eq!(
        c.nodes.iter().filter(|n| n.name == "openb-node-0000").count(),
        1,
        "names kept"
    );
    assert_well_formed(&c, 8);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn openb_all_node_list_counts_cpu_nodes() {
    let shared = shared();
    let csv = shared.join("alibaba-openb-2023/openb_node_list_all_node.csv");
    let (nodes, gpus, cpu_only, _) = csv_sums(&csv, "gpu", "model");
    let text = format!(
        "name = \"all\"\nsource = \"t\"\n[layout]\nnodes_per_rack = 8\nracks_per_row = 10\nrows_per_hall = 10\n\
         [[gpu_model]]\nname = \"G2\"\ntdp_w = 300.0\nidle_w = 45.0\nmemory_gib = 32.0\nsource = \"assumed\"\n\
         [[gpu_model]]\nname = \"G3\"\ntdp_w = 300.0\nidle_w = 45.0\nmemory_gib = 32.0\nsource = \"assumed\"\n\
         [[node_list]]\npath = {:?}\nformat = \"openb\"\n",
        csv.display().to_string()
    );
    let r = topology::parse_report(&text, Path::new("all.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.cluster.nodes.len() as u64, nodes);
    assert_eq!(r.cluster.total_gpus(), gpus);
    assert_eq!(r.cpu_only_nodes, cpu_only);
    assert_eq!(cpu_only, 310);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn spot_gpu_matches_its_node_list() {
    let path = topo("spot-gpu-2026.toml");
    if !lists_present(&path) {
        return;
    }
    let c = topology::load(&path).expect("spot-gpu loads");
    let csv = root().join("../shared/traces/alibaba-spot-gpu-2026/node_info_df.csv");
    let (nodes, gpus, _, per_model) = csv_sums(&csv, "gpu_capacity_num", "gpu_model");
    assert_eq!((nodes, gpus), (4278, 10412));
    assert_eq!(c.nodes.len() as u64, nodes);
    assert_eq!(c.total_gpus(), gpus);
    for (name, want) in per_model {
        let id = c.model_by_name(&name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(c.gpus_of(id), want, "{name}");
    }
    assert_well_formed(&c, 8);
}

#[test]
fn published_and_derived_sizes() {
    let philly = topology::load(&topo("philly.toml")).expect("philly");
    assert_eq!((philly.nodes.len(), philly.total_gpus()), (552, 2490));
    let hall = topology::load(&topo("h100-b200-hall.toml")).expect("hall");
    assert_eq!((hall.nodes.len(), hall.total_gpus()), (256, 2048));
    assert_eq!((hall.racks.len(), hall.rows.len(), hall.halls.len()), (96, 12, 1));
    let dlrm = topology::load_report(&topo("dlrm-2025.toml")).expect("dlrm");
    assert_eq!(dlrm.cluster.total_gpus(), 3416);
    assert_eq!(dlrm.cpu_only_nodes, 3076);
    let tiny = topology::load(&topo("tiny.toml")).expect("tiny");
    assert_eq!(
        (tiny.nodes.len(), tiny.total_gpus(), tiny.racks.len()),
        (6, 40, 3)
    );
}

/// Each ITP topology holds at least the peak concurrent GPU demand of its job file.
#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn itp_sizes_cover_peak_demand() {
    let shared = shared();
    for n in ["01", "02", "04", "05", "06", "07", "08", "09", "10"] {
        let c = topology::load(&topo(&format!("itp-cluster{n}.toml"))).expect("itp loads");
        let text =
            fs::read_to_string(shared.join(format!("microsoft-itp-2021-elasticflow/raw/cluster{n}.csv")))
                .expect("raw file");
        let mut events: Vec<(f64, i64)> = Vec::new();
        for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            let (s, d, g): (f64, f64, i64) = (
                f[1].parse().expect("submit"),
                f[2].parse().expect("duration"),
                f[3].parse().expect("gpus"),
            );
            events.push((s, g));
            events.push((s + d, -g));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut cur, mut peak) = (0i64, 0i64);
        for (_, g) in events {
            cur += g;
            peak = peak.max(cur);
        }
        let gpus = c.total_gpus() as i64;
        assert!(
            gpus >= peak && gpus < peak + 8,
            "cluster{n}: {gpus} GPUs for a peak of {peak}"
        );
    }
}

const HEAD: &str =
    "name = \"t\"\nsource = \"s\"\n[layout]\nnodes_per_rack = 2\nracks_per_row = 2\nrows_per_hall = 2\n";

fn parse(extra: &str) -> Result<Cluster, TopologyError> {
    topology::parse(&format!("{HEAD}{extra}"), Path::new("bad.toml"))
}

#[test]
fn unknown_key_names_key_and_line() {
    let e = parse("[[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = 8\ncount = 1\ncolour = 3\n")
        .expect_err("unknown key");
    match &e {
        TopologyError::Parse {
            line, key, message, ..
        } => {
            assert_eq!(*line, Some(12));
            assert_eq!(key, "nodes[0].colour");
            assert!(message.contains("colour"));
        }
        other => panic!("wrong error {other}"),
    }
    assert!(e.to_string().contains("bad.toml:12:"), "{e}");
    let e = parse("[[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = \"eight\"\ncount = 1\n")
        .expect_err("bad value");
    assert!(e.to_string().contains("nodes[0].gpus"), "{e}");
}

#[test]
fn unknown_gpu_lists_known_names() {
    let e =
        parse("[[nodes]]\nname = \"a\"\ngpu = \"Z9000\"\ngpus = 8\ncount = 1\n").expect_err("unknown gpu");
    match &e {
        TopologyError::UnknownGpu { key, name, known, .. } => {
            assert_eq!(key, "nodes[0].gpu");
            assert_eq!(name, "Z9000");
            assert!(known.iter().any(|k| k == "H100-SXM5"));
        }
        other => panic!("wrong error {other}"),
    }
    assert!(e.to_string().contains("A100-SXM4-80GB"), "{e}");
}

#[test]
fn missing_node_list_is_an_io_error() {
    let e =
        parse("[[node_list]]\npath = \"no/such/file.csv\"\nformat = \"openb\"\n").expect_err("missing file");
    assert!(
        matches!(&e, TopologyError::Io { path, .. } if path.ends_with("no/such/file.csv")),
        "{e}"
    );
}

#[test]
fn malformed_node_list_row_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("nodes.csv");
    fs::write(
        &csv,
        "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1024,8,T4\nn1,1000,1024,eight,T4\n",
    )
    .expect("write");
    let toml = dir.path().join("t.toml");
    fs::write(
        &toml,
        format!("{HEAD}[[node_list]]\npath = \"nodes.csv\"\nformat = \"openb\"\n"),
    )
    .expect("write");
    let e = topology::load(&toml).expect_err("bad row");
    match &e {
        TopologyError::NodeList { path, line, .. } => {
            assert_eq!(path, &csv);
            assert_eq!(*line, 3);
        }
        other => panic!("wrong error {other}"),
    }
    // An unknown model in a node list names the list and the line.
    fs::write(&csv, "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1024,8,Q7\n").expect("write");
    let e = topology::load(&toml).expect_err("unknown model");
    assert!(
        matches!(&e, TopologyError::UnknownGpu { key, .. } if key.contains("line 2")),
        "{e}"
    );
}

#[test]
fn zero_counts_are_all_reported() {
    let e = topology::parse(
        "name = \"t\"\nsource = \"s\"\n[layout]\nnodes_per_rack = 0\nracks_per_row = 2\nrows_per_hall = 0\n\
         [[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = 8\ncount = 0\n\
         [[gpu_model]]\nname = \"X\"\ntdp_w = 100.0\nidle_w = 100.0\nmemory_gib = 8.0\nsource = \"s\"\n",
        Path::new("z.toml"),
    )
    .expect_err("zero counts");
    let TopologyError::Invalid { issues, .. } = &e else {
        panic!("wrong error {e}")
    };
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    for k in [
        "layout.nodes_per_rack",
        "layout.rows_per_hall",
        "nodes[0].count",
        "gpu_model[0].idle_w",
    ] {
        assert!(keys.contains(&k), "{k} not in {keys:?}");
    }
}

proptest! {
    /// Any mix of groups builds racks that hold one model and at most nodes_per_rack nodes.
    #[test]
    fn groups_rack_homogeneously(groups in prop::collection::vec((1u32..40, 1u32..9, 0usize..3), 1..6),
                                 per_rack in 1u32..9, per_row in 1u32..5, per_hall in 1u32..4) {
        let models = ["H100", "A100", "T4"];
        let mut text = format!("name = \"p\"\nsource = \"s\"\n[layout]\nnodes_per_rack = {per_rack}\n\
                                racks_per_row = {per_row}\nrows_per_hall = {per_hall}\n");
        for (i, (count, gpus, m)) in groups.iter().enumerate() {
            text += &format!("[[nodes]]\nname = \"g{i}\"\ngpu = \"{}\"\ngpus = {gpus}\ncount = {count}\n", models[*m]);
        }
        let c = topology::parse(&text, Path::new("p.toml")).expect("valid");
        let want: u64 = groups.iter().map(|(n, g, _)| u64::from(*n) * u64::from(*g)).sum();
        prop_assert_eq!(c.total_gpus(), want);
        assert_well_formed(&c, per_rack as usize);
        let racks_needed: u32 = groups.iter().map(|(n, _, _)| n.div_ceil(per_rack)).sum();
        prop_assert_eq!(c.racks.len() as u32, racks_needed);
        prop_assert!(c.rows.len() as u32 <= racks_needed);
        prop_assert_eq!(c.halls.len() as u32, (c.rows.len() as u32).div_ceil(per_hall));
    }
}

/// Rack cooling: `cooling = "air" | "liquid"` gives the documented default capacity
/// (`AIR_RACK_COOLING_KW`, `LIQUID_RACK_COOLING_KW`), an explicit `rack_cooling_kw`
/// overrides it, `[power]` sets the default for groups that say nothing, and a bad
/// figure or kind is an error naming the key.
#[test]
fn rack_cooling_capacity_by_kind_and_override() {
    let text = format!(
        "{HEAD}[power]\ncooling = \"air\"\n\
         [[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = 8\ncount = 2\n\
         [[nodes]]\nname = \"b\"\ngpu = \"H100\"\ngpus = 8\ncount = 2\ncooling = \"liquid\"\n\
         [[nodes]]\nname = \"c\"\ngpu = \"H100\"\ngpus = 8\ncount = 2\ncooling = \"liquid\"\nrack_cooling_kw = 80\n"
    );
    let r = topology::parse_report(&text, Path::new("t.toml")).expect("valid");
    assert_eq!(r.power.rack_cooling_w, vec![30_000.0, 132_000.0, 80_000.0]);
    assert_eq!(r.power.rack_cap_w, vec![f64::INFINITY; 3]);
    let e = parse("[[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = 8\ncount = 1\nrack_cooling_kw = -3\n")
        .expect_err("negative capacity");
    assert!(e.to_string().contains("nodes[0].rack_cooling_kw"), "{e}");
    let e = parse("[[nodes]]\nname = \"a\"\ngpu = \"H100\"\ngpus = 8\ncount = 1\ncooling = \"water\"\n")
        .expect_err("unknown kind");
    assert!(e.to_string().contains("cooling"), "{e}");
}
