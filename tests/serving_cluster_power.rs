//! The cluster's power caps reach inference services: a service's replicas draw power
//! in the tree beside the jobs, and under `priority` capping they keep it until training
//! beneath the binding cap is at its lowest cap. Worked by hand on the power state, then
//! measured on the mixed training-and-inference scenario.

mod common;

use std::path::{Path, PathBuf};

use dcsim::engine::SimTime;
use dcsim::power::{self, Capping, Curve, LoadChange, LoadFactor, PowerConfig, PowerMode};
use dcsim::scenario::Scenario;
use dcsim::scheduler::GpuGrant;
use dcsim::sim::{RunOutput, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::topology::NodeId;

/// Two racks of one 8-GPU node each (test GPUs: 400 W TDP, 50 W idle), no base power,
/// linear curve, lowest cap 25% (100 W), α = 1; a training job at u = 1 on node 1 and a
/// service drawing half its idle-to-TDP range on node 0's 8 GPUs, under a feed cap.
///
/// Demand: training 8 × 400 = 3,200 W (fixed 8 × 100 = 800, throttleable 8 × 300 =
/// 2,400); service 8 × (50 + 0.5 × 350) = 8 × 225 = 1,800 W (fixed 800, throttleable
/// 8 × 125 = 1,000). Fixed in all: 1,600 W. Returns (training speed, service factor,
/// IT power).
fn settle(capping: Capping, feed_w: f64) -> (f64, LoadFactor, f64) {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let mut topo = TopologyPower::uncapped(&c);
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
    let mut p = power::setup(&cfg, &c, &topo, 1, Path::new("."), 0)
        .unwrap()
        .unwrap();
    let link = p.link_loads();
    let job = common::job(0.0, 1000.0, 8, 1000);
    let t = SimTime::ZERO;
    p.start(
        t,
        0,
        &[GpuGrant {
            node: NodeId(1),
            gpus: 0xff,
        }],
        &job,
    );
    link.push(LoadChange::Start {
        id: 0,
        node: NodeId(0),
        gpus: 8,
        share: 0.5,
    });
    p.apply_loads(t);
    let mut changes = Vec::new();
    p.settle(t, &mut changes);
    p.route_loads(&mut changes);
    let training = changes.iter().find(|j| j.0 == 0).map_or(1.0, |j| j.1);
    (training, link.factor(0), p.it_w())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn priority_capping_throttles_training_before_a_service() {
    // Feed 4,000 W: 2,400 W throttleable budget. The service (highest class) keeps its
    // 1,000 W; training gets 1,400 of 2,400: x = 7/12, each GPU 100 + 300 × 7/12 = 275 W,
    // speed 275 / 400 = 0.6875.
    let (training, service, it) = settle(Capping::Priority, 4000.0);
    assert!(close(training, 0.6875), "{training}");
    assert_eq!(service, LoadFactor::FULL);
    assert!(close(it, 4000.0), "{it}");

    // Feed 2,000 W: 400 W throttleable. Training is at its floor (100 W per GPU, speed
    // 0.25) and the service keeps 400 of its 1,000 W: x = 0.4, each GPU 100 + 0.4 × 125 =
    // 150 W of its 225 W demand: speed 150 / 225 = 2/3, busy power (150 − 50) / (225 − 50)
    // = 4/7 of its own.
    let (training, service, it) = settle(Capping::Priority, 2000.0);
    assert!(close(training, 0.25), "{training}");
    assert!(close(service.rate, 2.0 / 3.0), "{service:?}");
    assert!(close(service.busy_scale, 4.0 / 7.0), "{service:?}");
    assert!(close(it, 2000.0), "{it}");

    // Proportional capping, feed 4,000 W: both keep 2,400 / 3,400 of their throttleable
    // power, so the service slows too: (100 + 125 × 12/17) / 225.
    let (training, service, _) = settle(Capping::Proportional, 4000.0);
    assert!(
        close(training, (100.0 + 300.0 * 12.0 / 17.0) / 400.0),
        "{training}"
    );
    assert!(
        close(service.rate, (100.0 + 125.0 * 12.0 / 17.0) / 225.0),
        "{service:?}"
    );

    // No cap: nothing is throttled, and the tree draws both in full.
    let (training, service, it) = settle(Capping::Priority, f64::INFINITY);
    assert_eq!((training, service), (1.0, LoadFactor::FULL));
    assert!(close(it, 5000.0), "{it}");
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// `mixed-training-inference` (8 DGX H100: Poisson 8-GPU training at load 0.7 beside
/// the Azure code slice × 12 on 2-4 Llama2-70B replicas), with power on under
/// `capping` and the site feed capped at `feed_kw` (none: uncapped); without `capping`,
/// power off.
fn mixed(feed_kw: Option<f64>, capping: Option<&str>) -> RunOutput {
    let dir = tempfile::tempdir().unwrap();
    let mut topo = std::fs::read_to_string(repo("topologies/h100-64.toml")).unwrap();
    if let Some(kw) = feed_kw {
        topo.push_str(&format!("\n[power]\nfeed_kw = {kw}\n"));
    }
    std::fs::write(dir.path().join("t.toml"), topo).unwrap();
    let mut text = std::fs::read_to_string(repo("scenarios/mixed-training-inference.toml"))
        .unwrap()
        .replace("../topologies/h100-64.toml", "t.toml")
        .replace(
            "data/azure_code_slice.csv",
            repo("scenarios/data/azure_code_slice.csv").to_str().unwrap(),
        );
    if let Some(c) = capping {
        text.push_str(&format!(
            "\n[power]\nmode = \"oversubscription\"\ncapping = \"{c}\"\n"
        ));
    }
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let s = Scenario::load(&path).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    let mut sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    for m in p.models {
        sim = sim.with_model(m);
    }
    sim.run(&mut |_| {})
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn the_mixed_scenario_under_a_feed_cap_throttles_training_first() {
    let off = mixed(None, None);
    let service = |o: &RunOutput| o.models.serving.as_ref().unwrap()[0].report.clone();
    let base = service(&off);
    for (feed, capping) in [
        (None, "priority"),
        (Some(40.0), "priority"),
        (Some(40.0), "proportional"),
        (Some(27.0), "priority"),
        (Some(27.0), "proportional"),
    ] {
        let out = mixed(feed, Some(capping));
        let r = service(&out);
        let p = &out.models.power.as_ref().unwrap().summary;
        let what = format!("{feed:?} kW {capping}");
        assert_eq!(r.served, 24_000, "{what}");
        // No cap is exceeded, and every joule is somewhere: IT = jobs + services + idle
        // + rack and row equipment.
        if let Some(kw) = feed {
            assert!(p.peak_it_kw <= kw + 1e-6, "{what}: {}", p.peak_it_kw);
        }
        let parts =
            p.jobs_energy_mwh + p.services_energy_mwh.unwrap() + p.idle_energy_mwh + p.overhead_energy_mwh;
        assert!(
            rel(parts, p.it_energy_mwh) < 1e-9,
            "{what}: {parts} vs {}",
            p.it_energy_mwh
        );
        match (feed, capping) {
            (None, _) => {
                // Uncapped, the stepped service is the service simulated alone.
                assert_eq!(r.throttled_share, 0.0);
                assert_eq!(r.ttft_s, base.ttft_s);
                assert_eq!(r.e2e_s, base.e2e_s);
                assert!(rel(r.energy_kwh, base.energy_kwh) < 1e-9);
                assert_eq!(p.throttle_slowdown_gpu_hours, 0.0);
            }
            (Some(40.0), "priority") => {
                // 40 kW of a 53 kW peak: training is throttled (to no lower than its
                // floor), the service not at all.
                assert!(p.throttle_slowdown_gpu_hours > 10.0, "{what}");
                assert_eq!(r.throttled_share, 0.0, "{what}");
                assert_eq!(r.e2e_s, base.e2e_s, "{what}");
                assert!(out.summary.jct_s.mean > off.summary.jct_s.mean * 1.1, "{what}");
            }
            (Some(40.0), _) => {
                // Proportional: the service gives up the same share as training.
                assert!(r.throttled_share > 0.05, "{what}: {}", r.throttled_share);
                assert!(r.e2e_s.mean > base.e2e_s.mean, "{what}");
            }
            (Some(_), "priority") => {
                // 27 kW, barely above the floor (base, idle and every GPU at its lowest
                // cap: 24.6 kW): training hits its floor and the service slows too,
                // less than under proportional capping (checked below).
                assert!(r.throttled_share > 0.0, "{what}");
                assert!(r.e2e_s.mean > base.e2e_s.mean, "{what}");
            }
            _ => {}
        }
        eprintln!(
            "{what}: service throttled {:.3}, TTFT p90 {:.2} s, e2e mean {:.2} s, SLO {:.3}, kWh {:.2}; training JCT mean {:.0} s, slowdown {:.1} GPU-h, peak {:.1} kW, services {:.4} MWh",
            r.throttled_share,
            r.ttft_p90_s,
            r.e2e_s.mean,
            r.slo_attainment,
            r.energy_kwh,
            out.summary.jct_s.mean,
            p.throttle_slowdown_gpu_hours,
            p.peak_it_kw,
            p.services_energy_mwh.unwrap()
        );
    }
    let (a, b) = (
        mixed(Some(27.0), Some("priority")),
        mixed(Some(27.0), Some("proportional")),
    );
    assert!(service(&a).throttled_share < service(&b).throttled_share);
    assert!(service(&a).e2e_s.mean < service(&b).e2e_s.mean);
}
