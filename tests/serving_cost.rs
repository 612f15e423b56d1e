//! Cost per 1,000 requests and per million tokens from the bill (`[economics]`): a
//! service billed at hand-worked rates.

use std::path::{Path, PathBuf};

use dcsim::economics::bill;
use dcsim::scenario::Scenario;
use dcsim::serving::cost::service_cost;
use dcsim::sim::Simulation;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn a_service_costs_its_energy_and_gpu_hours_at_the_bills_rates() {
    // mixed-training-inference (8 DGX H100, the Azure code slice × 12 on Llama2-70B) with
    // power on, $0.10 per IT kWh and DGX H100s at $250,000 less $25,000 residual over 4
    // years: (250,000 − 25,000) / 48 months = $4,687.50 per node-month, spread over
    // January 2023's 744 hours and 8 GPUs = $0.7875 per GPU-hour.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("scenarios/mixed-training-inference.toml"))
        .unwrap()
        .replace(
            "../topologies/h100-64.toml",
            repo("topologies/h100-64.toml").to_str().unwrap(),
        )
        .replace(
            "data/azure_code_slice.csv",
            repo("scenarios/data/azure_code_slice.csv").to_str().unwrap(),
        );
    let extra = r#"
[power]
mode = "oversubscription"
capping = "proportional"
curve = "fan2007"

[economics]
currency = "USD"
start = "2023-01-01T00:00:00Z"

[economics.electricity]
billed_on = "it"
flat_per_kwh = 0.10

[[economics.capex]]
gpu_model = "H100-SXM5"
price_per_node = 250000
life_years = 4
residual_per_node = 25000
nodes = 8
"#;
    let path = dir.path().join("s.toml");
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    let s = Scenario::load(&path).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    let econ = p.economics.as_ref().unwrap();
    let mut sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    for m in p.models {
        sim = sim.with_model(m);
    }
    let out = sim.run(&mut |_| {});
    let b = bill(econ, &out, &p.workload, &p.cluster).unwrap();
    let svc = &out.models.serving.as_ref().unwrap()[0];
    let c = service_cost(&svc.name, &svc.report, &b).unwrap();
    assert!((c.per_it_kwh - 0.10).abs() < 1e-9, "{}", c.per_it_kwh);
    // Within 0.01%: the bill's capex covers the run to its last millisecond, its hours
    // are the power series' span.
    assert!((c.per_gpu_hour / 0.7875 - 1.0).abs() < 1e-4, "{}", c.per_gpu_hour);
    let r = &svc.report;
    let total = r.energy_kwh * 0.10 + r.gpu_hours * c.per_gpu_hour;
    assert!((c.per_1000_requests - total * 1e3 / r.served as f64).abs() < 1e-9);
    assert!((c.per_million_tokens - total * 1e6 / r.tokens_served).abs() < 1e-9);
    // The slice's 2,000 requests × 12, every token counted once.
    assert_eq!(r.served, 24_000);
    assert!(r.tokens_served > 24_000.0);
}
