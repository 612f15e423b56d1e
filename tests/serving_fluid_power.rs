//! Fluid-mode services under the cluster's power caps: the same coupling as request mode
//! (`src/power/loads.rs`, `src/serving/engine.rs`), one step per fluid interval. Worked
//! by hand on two nodes behind a feed that binds, then fluid against request by request
//! on one capped case.

mod common;

use std::path::Path;

use dcsim::hardware;
use dcsim::power::{self, Capping, Curve, PowerConfig, PowerMode};
use dcsim::scheduler::registry;
use dcsim::serving::config::ServiceConfig;
use dcsim::serving::engine::ServiceOutput;
use dcsim::sim::{RunOutput, SimConfig, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::topology::Cluster;

/// Runs `cluster` (two one-node racks) with one 8-GPU training job of `train_s` nominal
/// seconds at u = 1 and the service of `service` (a `[[services]]` table), power on under
/// `capping` with the feed at `feed_w`: no node base power, linear curve, lowest cap 25%
/// of TDP, α = 1.
fn run(cluster: &Cluster, capping: Capping, feed_w: f64, train_s: f64, service: &str) -> RunOutput {
    let mut topo = TopologyPower::uncapped(cluster);
    topo.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    topo.feed_w = feed_w;
    let mut cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        capping,
        curve: Curve::Linear,
        min_gpu_cap_share: 0.25,
        perf_exponent: 1.0,
        ..PowerConfig::default()
    };
    cfg.utilization.training = 1.0;
    let w = common::workload(vec![common::job(0.0, train_s, 8, 1000)]);
    let mut p = power::setup(&cfg, cluster, &topo, w.jobs.len(), Path::new("."), 0)
        .unwrap()
        .unwrap();
    let link = p.link_loads();
    let svc: ServiceConfig = toml::from_str(service).unwrap();
    let serving =
        dcsim::serving::engine::setup(&[svc], &[], cluster, Path::new("."), 3, Some(&link)).unwrap();
    Simulation::new(
        cluster,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(p))
    .with_model(Box::new(serving))
    .run(&mut |_| {})
}

/// One replica on one 8-GPU node of the test GPU (400 W TDP, 50 W idle), serving one
/// request at a time for its recorded (exponential, mean 1 s) execution time: Poisson
/// 0.25 requests/s for an hour, in `mode`, per-minute intervals.
fn exec_service(mode: &str) -> String {
    format!(
        r#"
name = "s"
gpu = "A"
gpus_per_replica = 8
mode = "{mode}"
interval_s = 60
scaling = {{ policy = "fixed", replicas = 1 }}
requests = {{ kind = "generated", duration_s = 3600, arrivals = {{ process = "poisson", rate_per_s = 0.25 }}, sizes = {{ dist = "exponential_exec", mean_s = 1.0 }} }}
"#
    )
}

fn service(out: &RunOutput) -> &ServiceOutput {
    &out.models.serving.as_ref().unwrap()[0]
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

const J_PER_MWH: f64 = 3.6e9;

/// Every joule is somewhere: IT = jobs + services + idle + rack and row equipment.
fn conserved(out: &RunOutput) {
    let p = &out.models.power.as_ref().unwrap().summary;
    let parts =
        p.jobs_energy_mwh + p.services_energy_mwh.unwrap() + p.idle_energy_mwh + p.overhead_energy_mwh;
    assert!(
        rel(parts, p.it_energy_mwh) < 1e-9,
        "{parts} vs {}",
        p.it_energy_mwh
    );
}

/// The fluid service is busy λ·E[exec] / speed = 0.25 / r of the time at speed r, so
/// each GPU asks for d(r) = 50 + 350 × 0.25 / r W; the caps leave it k W per GPU and the
/// speed k / d (α = 1). Both feeds below bind in every interval.
///
/// Priority, feed 1,800 W: the floors (100 W per GPU, 16 GPUs) take 1,600 W; the service
/// ranks first and its throttleable demand 8 × (d − 100) ≥ 8 × 37.5 = 300 W exceeds the
/// 200 W left, so training sits at its floor (speed 100 / 400 = 0.25) and the service
/// keeps k = 125 W per GPU: 1,000 W, whatever its demand. Its speed settles where
/// r·d(r) = 125: 50 r + 87.5 = 125, r = 0.75 (the map r → 125 / d(r) contracts by 0.7
/// an interval, from r = 1 in the first interval, which runs before any settle). At
/// r = 0.75 the replica is M/M/1 with μ = 0.75/s, λ = 0.25/s: time in system
/// 1 / (μ − λ) = 2 s, the highest interval mean (earlier intervals ran faster).
///
/// A 900 s training job at speed 0.25 ends at 3,600 s, when the service's hour ends:
/// IT 1,800 W × 3,600 s, jobs 800 W × 3,600 s, services 1,000 W × 3,600 s, no idle.
#[test]
fn a_fluid_service_under_priority_capping_keeps_its_share_and_slows_by_the_caps() {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let out = run(&c, Capping::Priority, 1800.0, 900.0, &exec_service("fluid"));
    conserved(&out);
    let p = &out.models.power.as_ref().unwrap().summary;
    let s = &service(&out).report;
    let hour = 3600.0;
    assert!(
        rel(out.jobs[0].end.unwrap().as_secs_f64(), hour) < 1e-9,
        "{}",
        out.jobs[0].end.unwrap().as_secs_f64()
    );
    assert!(
        rel(p.it_energy_mwh * J_PER_MWH, 1800.0 * hour) < 1e-9,
        "{}",
        p.it_energy_mwh
    );
    assert!(
        rel(p.jobs_energy_mwh * J_PER_MWH, 800.0 * hour) < 1e-9,
        "{}",
        p.jobs_energy_mwh
    );
    let services_j = p.services_energy_mwh.unwrap() * J_PER_MWH;
    assert!(rel(services_j, 1000.0 * hour) < 1e-9, "{services_j}");
    assert!(p.idle_energy_mwh.abs() < 1e-12, "{}", p.idle_energy_mwh);
    // The service: every request served, every interval but the first (0.25 × 60
    // requests each) slowed, its time in system settling at M/M/1's 2 s.
    assert_eq!(s.in_system_at_end, 0);
    assert!(
        rel(s.throttled_share, 59.0 / 60.0) < 1e-9,
        "{}",
        s.throttled_share
    );
    assert!(rel(s.e2e_s.max, 2.0) < 1e-3, "{:?}", s.e2e_s);
    // Its own energy lags the caps by an interval (the first runs unthrottled at 1,100
    // W): within 1% of the tree's.
    let own_j = s.energy_kwh * 3.6e6;
    assert!(
        own_j > services_j && rel(own_j, services_j) < 0.01,
        "{own_j} vs {services_j}"
    );
    eprintln!(
        "priority: service {:.0} J (own {own_j:.0} J), e2e mean {:.3} s max {:.4} s",
        services_j, s.e2e_s.mean, s.e2e_s.max
    );
}

/// Proportional capping, the same feed: both give up the same share x of their power
/// above the floor, x = 200 / (8 × 300 + 8 × (d − 100)), the service keeps
/// k = 100 + (d − 100)·x and runs at k / d. The fixed point of r → k(d(r)) / d(r),
/// iterated here from the formulas (not the simulator), is r* = 0.42202: the service
/// slows more than under priority, time in system 1 / (r* − 0.25) = 5.813 s. A 2,000 s
/// training job outlasts the hour.
#[test]
fn a_fluid_service_under_proportional_capping_slows_with_training() {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let out = run(&c, Capping::Proportional, 1800.0, 2000.0, &exec_service("fluid"));
    conserved(&out);
    let mut r = 1.0f64;
    for _ in 0..1000 {
        let d = 50.0 + 350.0 * 0.25 / r;
        let x = 200.0 / (8.0 * 300.0 + 8.0 * (d - 100.0));
        r = (100.0 + (d - 100.0) * x) / d;
    }
    let w = 1.0 / (r - 0.25);
    let s = &service(&out).report;
    assert!(rel(r, 0.42202) < 1e-4, "{r}");
    assert!(rel(s.e2e_s.max, w) < 1e-3, "{:?} vs {w}", s.e2e_s);
    // The feed binds from start to end: IT = 1,800 W over the run.
    let p = &out.models.power.as_ref().unwrap().summary;
    let end = out.jobs[0].end.unwrap().as_secs_f64();
    assert!(end > 3600.0);
    assert!(
        rel(p.it_energy_mwh * J_PER_MWH, 1800.0 * end) < 1e-9,
        "{}",
        p.it_energy_mwh
    );
    eprintln!(
        "proportional: r* {r:.5}, e2e max {:.4} s vs {w:.4} s",
        s.e2e_s.max
    );
}

/// Two nodes of 8 H100 (catalog: 700 W TDP, 105 W idle; lowest cap 175 W), one
/// Llama2-70B replica on one, Poisson `rate` requests/s of 1,000 prompt and 100 output
/// tokens for an hour in `mode`, beside a training job on the other.
fn h100_service(mode: &str, rate: f64) -> String {
    format!(
        r#"
name = "s"
model = "llama2-70b"
gpu = "H100-SXM5"
gpus_per_replica = 8
mode = "{mode}"
interval_s = 60
scaling = {{ policy = "fixed", replicas = 1 }}
requests = {{ kind = "generated", duration_s = 3600, arrivals = {{ process = "poisson", rate_per_s = {rate} }}, sizes = {{ dist = "fixed", prompt_tokens = 1000, output_tokens = 100 }} }}
"#
    )
}

fn h100_pair() -> Cluster {
    let mut c = common::cluster(&[("H100-SXM5", 1, 8), ("H100-SXM5", 1, 8)]);
    c.models[0] = hardware::lookup("H100-SXM5").unwrap();
    c
}

/// Fluid and request by request agree under the caps: the same service, same training
/// job, a feed that leaves the service less than it asks for under priority capping
/// (training at its floor), and proportional capping at the same feed. The service's
/// energy in the power tree, its own energy, its throttled share and its mean latency
/// are compared (request mode's demand is its mean over each second, fluid's the
/// interval's mean).
#[test]
fn fluid_and_request_mode_agree_under_a_cap() {
    let c = h100_pair();
    // Uncapped, to size the feed: the service's own mean draw.
    let free = run(
        &c,
        Capping::Priority,
        f64::INFINITY,
        2.0 * 3600.0,
        &h100_service("requests", 1.0),
    );
    let demand_w = service(&free).report.energy_kwh * 3.6e6 / 3600.0;
    // Training at its floor (8 × 175 W) and the service left 85% of its demand.
    let feed = 8.0 * 175.0 + 0.85 * demand_w;
    eprintln!("service demand {demand_w:.0} W, feed {feed:.0} W");
    for capping in [Capping::Priority, Capping::Proportional] {
        let (req, flu) = (
            run(&c, capping, feed, 2.0 * 3600.0, &h100_service("requests", 1.0)),
            run(&c, capping, feed, 2.0 * 3600.0, &h100_service("fluid", 1.0)),
        );
        conserved(&req);
        conserved(&flu);
        let tree = |o: &RunOutput| {
            o.models
                .power
                .as_ref()
                .unwrap()
                .summary
                .services_energy_mwh
                .unwrap()
                * J_PER_MWH
        };
        let (a, b) = (service(&req).report.clone(), service(&flu).report.clone());
        eprintln!(
            "{capping:?}: tree J {:.0} / {:.0}, own kWh {:.3} / {:.3}, throttled {:.3} / {:.3}, e2e mean {:.3} / {:.3} s, TTFT mean {:.3} / {:.3} s",
            tree(&req),
            tree(&flu),
            a.energy_kwh,
            b.energy_kwh,
            a.throttled_share,
            b.throttled_share,
            a.e2e_s.mean,
            b.e2e_s.mean,
            a.ttft_s.mean,
            b.ttft_s.mean
        );
        assert!(a.throttled_share > 0.5 && b.throttled_share > 0.5, "{capping:?}");
        assert!(rel(tree(&flu), tree(&req)) < 0.03, "{capping:?}");
        assert!(rel(b.energy_kwh, a.energy_kwh) < 0.03, "{capping:?}");
        assert!(rel(b.e2e_s.mean, a.e2e_s.mean) < 0.05, "{capping:?}");
    }
}
