//! Serving beside training through the model seam: a service takes whole nodes from
//! training while its replicas need them, and every request is accounted for.

use std::path::{Path, PathBuf};

use dcsim::scenario::Scenario;
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

#[test]
fn serving_takes_gpus_from_training_and_serves_every_request() {
    let with = Scenario::load(&repo("scenarios/mixed-training-inference.toml")).unwrap();
    let mut without = with.clone();
    without.config.services.clear();
    let (a, b) = (run(&with), run(&without));
    let serving = a.models.serving.as_ref().unwrap();
    let r = &serving[0].report;
    // 2,000-row slice × 12 copies, all served (none dropped, none left).
    assert_eq!((r.requests, r.served), (24_000, 24_000));
    // The service holds at least 2 of the 8 nodes throughout, so the same training jobs
    // wait longer on the 6 or fewer left than on all 8.
    assert!(serving[0].nodes_over_time.iter().all(|x| x.1 >= 2));
    assert!(
        a.summary.wait_s.mean > b.summary.wait_s.mean,
        "{} vs {}",
        a.summary.wait_s.mean,
        b.summary.wait_s.mean
    );
    assert!(b.models.serving.is_none());
}

#[test]
fn a_replica_larger_than_any_node_is_a_clear_error() {
    let mut s = Scenario::load(&repo("scenarios/mixed-training-inference.toml")).unwrap();
    s.config.services[0].gpus_per_replica = 16;
    let e = s.prepare(s.config.seed).map(|_| ()).unwrap_err().to_string();
    assert!(
        e.contains("services[0].gpus_per_replica") && e.contains("fits no node"),
        "{e}"
    );
}

/// The mixed scenario with `from` replaced by `to` in its text, prepared: the error.
fn prepare_error(from: &str, to: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("scenarios/mixed-training-inference.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text
        .replace(from, to)
        .replace(
            "../topologies/h100-64.toml",
            repo("topologies/h100-64.toml").to_str().unwrap(),
        )
        .replace(
            "data/azure_code_slice.csv",
            repo("scenarios/data/azure_code_slice.csv").to_str().unwrap(),
        );
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let s = Scenario::load(&path).unwrap();
    s.prepare(s.config.seed).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn bad_services_name_the_key_and_what_was_expected() {
    // Zero replicas with a non-empty trace: nothing could ever serve it.
    let e = prepare_error(
        r#"scaling = { policy = "queue_length", per_replica = 16, min = 2, max = 4 }"#,
        r#"scaling = { policy = "fixed", replicas = 0 }"#,
    );
    assert!(
        e.contains("services[0].scaling") && e.contains("can never have a replica"),
        "{e}"
    );
    // A model whose weights fit no replica of the node's GPUs (Llama2-70B, 138 GB, on one
    // 80 GB H100).
    let e = prepare_error("gpus_per_replica = 8", "gpus_per_replica = 1");
    assert!(
        e.contains("services[0].gpus_per_replica") && e.contains("use more GPUs per replica"),
        "{e}"
    );
    // A GPU model the cluster has no node of.
    let e = prepare_error(r#"gpu = "H100-SXM5""#, r#"gpu = "B200""#);
    assert!(
        e.contains("services[0].gpu") && e.contains("no node of GPU model `B200`"),
        "{e}"
    );
}
