//! Power: model figures against their sources, exact energy conservation, a throttled
//! job's end time worked by hand, and property tests that no cap is ever exceeded
//! (admission: by an independent sweep over the run's segments; oversubscription: at
//! every change point, by driving the power state directly).

mod common;

use std::path::Path;

use proptest::prelude::*;

use dcsim::engine::SimTime;
use dcsim::hardware;
use dcsim::power::{self, model, Capping, Curve, PowerConfig, PowerMode, PowerRun, PowerTree};
use dcsim::scheduler::{registry, GpuGrant};
use dcsim::sim::{RunOutput, SimConfig, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::topology::{Cluster, NodeId};
use dcsim::workload::{JobKind, JobSpec, Workload};

fn run_with(cluster: &Cluster, topo: &TopologyPower, w: &Workload, cfg: &PowerConfig) -> RunOutput {
    run_queue(cluster, topo, w, cfg, "fifo")
}

fn run_queue(
    cluster: &Cluster,
    topo: &TopologyPower,
    w: &Workload,
    cfg: &PowerConfig,
    queue: &str,
) -> RunOutput {
    let p = power::setup(cfg, cluster, topo, w.jobs.len(), Path::new("."), 0)
        .expect("valid power set-up")
        .expect("power on");
    Simulation::new(
        cluster,
        w,
        registry::queue_policy(queue).unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(p))
    .run(&mut |_| {})
}

/// No base power, so hand calculations involve GPUs only.
fn bare(cluster: &Cluster) -> TopologyPower {
    let mut t = TopologyPower::uncapped(cluster);
    t.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    t
}

/// The ISCA 2007 curve: f(u) = 2u − u^1.4 (Fan, Weber, Barroso, Section 4), and the
/// linear model f(u) = u, on an H100 SXM5 (catalog: 700 W TDP, idle 105 W = 15%).
#[test]
fn model_figures_match_sources() {
    let h100 = hardware::lookup("H100-SXM5").unwrap();
    assert_eq!(h100.tdp_w, 700.0); // NVIDIA H100 datasheet: SXM5 up to 700 W
    assert_eq!(h100.idle_w, 105.0); // 15% of TDP (estimate, 10–20% rule)
    for (name, tdp) in [
        ("A100-SXM4-80GB", 400.0),
        ("V100-SXM2-16GB", 300.0),
        ("T4", 70.0),
        ("MI300X", 750.0),
    ] {
        let g = hardware::lookup(name).unwrap_or_else(|| panic!("{name} in catalog"));
        assert_eq!(g.tdp_w, tdp, "{name}");
    }
    let (idle, tdp) = (h100.idle_w, h100.tdp_w);
    // u = 0: idle. u = 1: 2 − 1 = 1, TDP.
    assert_eq!(model::gpu_power_w(Curve::Fan2007, idle, tdp, 0.0), 105.0);
    assert_eq!(model::gpu_power_w(Curve::Fan2007, idle, tdp, 1.0), 700.0);
    // u = 0.5: 2·0.5 − 0.5^1.4 = 1 − 0.378929 = 0.621071; 105 + 595·0.621071 = 474.537 W.
    let half = model::gpu_power_w(Curve::Fan2007, idle, tdp, 0.5);
    assert!((half - 474.537).abs() < 1e-3, "{half}");
    // Linear at 0.5: 105 + 297.5 = 402.5 W.
    assert_eq!(model::gpu_power_w(Curve::Linear, idle, tdp, 0.5), 402.5);
    // Performance at a cap: (cap / demand)^α; uncapped = 1.
    assert_eq!(model::perf_at_cap(350.0, 700.0, 1.0), 0.5);
    assert!((model::perf_at_cap(350.0, 700.0, 1.0 / 3.0) - 0.5f64.powf(1.0 / 3.0)).abs() < 1e-15);
    assert_eq!(model::perf_at_cap(700.0, 600.0, 1.0 / 3.0), 1.0);
}

/// A DGX H100-class node (8 × H100 SXM5, `topologies/h100-64.toml`, default node base
/// power) against NVIDIA's system figures: maximum input 10.2 kW (DGX H100 user guide, as
/// quoted in `shared/reference/README.md` and confirmed with search); typical draw under
/// load 6.5–8.5 kW (a third-party summary of the same documentation, weaker). Ours: at
/// nameplate 8 × 700 W + 1,400 W base = 7.0 kW, below the PSU maximum; one training job
/// on all 8 GPUs (u = 0.9 on the ISCA 2007 curve: 105 + 595 × (1.8 − 0.9^1.4) = 662.6 W
/// per GPU) draws 5,300.8 + 1,400 = 6,700.8 W, inside the typical band, near its low end
/// (the base is a constant 25% of GPU TDP, an assumption).
#[test]
fn dgx_h100_node_power_against_nvidia_figures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let r = dcsim::topology::load_report(&root.join("topologies/h100-64.toml")).unwrap();
    let cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        ..PowerConfig::default()
    };
    let tree = PowerTree::build(&r.cluster, &r.power, &cfg).unwrap();
    let per_node = tree.nameplate_w[tree.first_rack as usize] / 4.0;
    assert!(
        (per_node - 7000.0).abs() < 1e-9 && per_node < 10_200.0,
        "{per_node}"
    );
    let w = common::workload(vec![common::job(0.0, 1000.0, 8, 1000)]);
    let out = run_with(&r.cluster, &r.power, &w, &cfg);
    let node_w = out.models.power.unwrap().job_energy_j[0] / 1000.0;
    assert!((node_w - 6700.8).abs() < 0.1, "{node_w}");
    assert!((6500.0..=8500.0).contains(&node_w));
}

fn hand_config() -> PowerConfig {
    let mut cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        curve: Curve::Linear,
        min_gpu_cap_share: 0.25,
        perf_exponent: 1.0,
        ..PowerConfig::default()
    };
    cfg.utilization.training = 1.0;
    cfg
}

/// One 8-GPU node (test GPUs: 400 W TDP, 50 W idle), no base power, a rack cap of
/// 1,600 W, linear curve at u = 1, lowest cap 25% (100 W), α = 1.
///
/// One job on all 8 GPUs demands 8 × 400 = 3,200 W. Fixed: 8 × 100 W (idle + down to
/// the lowest cap) = 800 W; throttleable: 8 × 300 = 2,400 W; budget 1,600 − 800 = 800 W
/// → x = 1/3, each GPU capped at 100 + 300/3 = 200 W: half its power. Speed
/// (200/400)^1 = 0.5, so 3,000 s of work ends at 6,000 s.
#[test]
fn throttled_job_end_time_by_hand() {
    let c = common::cluster(&[("A", 1, 8)]);
    let mut topo = bare(&c);
    topo.rack_cap_w[0] = 1600.0;
    let w = common::workload(vec![common::job(0.0, 3000.0, 8, 1000)]);
    let out = run_with(&c, &topo, &w, &hand_config());
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(6000)));
    let p = out.models.power.unwrap();
    // It draws 1,600 W for 6,000 s: 9.6 MJ = 2.6667 kWh, all of the rack's energy.
    assert!((p.job_energy_j[0] - 1600.0 * 6000.0).abs() < 1e-6);
    // Slowdown: 8 GPUs × (1 − 0.5) × 6,000 s = 24,000 GPU-s = 6.6667 GPU-h.
    assert!((p.summary.throttle_slowdown_gpu_hours - 24000.0 / 3600.0).abs() < 1e-9);
    assert!((p.summary.hours_at_cap - 6000.0 / 3600.0).abs() < 1e-12);
}

/// A rack's cooling capacity caps it as its electrical cap does (all its power becomes
/// heat): the case above with 1,600 W of cooling and no electrical cap ends the same way,
/// at 6,000 s; and the tree's cap is the lower of the two.
#[test]
fn cooling_capacity_throttles_like_a_cap() {
    let c = common::cluster(&[("A", 1, 8)]);
    let mut topo = bare(&c);
    topo.rack_cooling_w[0] = 1600.0;
    let w = common::workload(vec![common::job(0.0, 3000.0, 8, 1000)]);
    let out = run_with(&c, &topo, &w, &hand_config());
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(6000)));
    topo.rack_cap_w[0] = 2000.0;
    let tree = PowerTree::build(&c, &topo, &hand_config()).unwrap();
    let r = tree.first_rack as usize;
    assert_eq!((tree.cap_w[r], tree.cooling_w[r]), (1600.0, 1600.0));
    topo.rack_cap_w[0] = 1000.0;
    let tree = PowerTree::build(
        &c,
        &topo,
        &PowerConfig {
            mode: PowerMode::Admission,
            ..hand_config()
        },
    )
    .unwrap();
    assert_eq!(tree.cap_w[r], 1000.0);
}

/// A utilization the trace measured replaces the assumed one for the job's kind. One
/// 8-GPU node (400 W TDP, 50 W idle, no base power), linear curve, training assumed at
/// u = 1: a job measured at u = 0.5 draws 8 × (50 + 350 × 0.5) = 1,800 W, 1.8 MJ over
/// 1,000 s; the same job without a measurement draws 8 × 400 W, 3.2 MJ.
#[test]
fn measured_utilization_sets_job_power() {
    let c = common::cluster(&[("A", 1, 8)]);
    let mut measured = common::job(0.0, 1000.0, 8, 1000);
    measured.gpu_util = Some(0.5);
    for (job, joules) in [(measured, 1.8e6), (common::job(0.0, 1000.0, 8, 1000), 3.2e6)] {
        let out = run_with(&c, &bare(&c), &common::workload(vec![job]), &hand_config());
        let e = out.models.power.unwrap().job_energy_j[0];
        assert!((e - joules).abs() < 1e-6, "{e} vs {joules}");
    }
}

/// Same node and cap; job A (4 GPUs, 3,000 s) at 0, job B (4 GPUs, 1,000 s) at 1,000 s.
///
/// A alone: fixed = 8 × 50 (idle) + 4 × 50 (A down to 100 W) = 600 W; throttleable
/// 4 × 300 = 1,200 W; budget 1,000 W → x = 5/6, cap 100 + 250 = 350 W, speed 0.875.
/// By 1,000 s A has done 875 s of work. Both: fixed 800 W, throttleable 2,400 W,
/// x = 1/3, cap 200 W, speed 0.5 each: B's 1,000 s of work ends at 3,000 s; A does 1,000
/// s more (1,875 done). A alone again at 0.875: 1,125 / 0.875 = 1,285.714 s → ends at
/// 4,285.715 s (the engine rounds a finish up to the next millisecond).
#[test]
fn rates_follow_other_jobs_by_hand() {
    let c = common::cluster(&[("A", 1, 8)]);
    let mut topo = bare(&c);
    topo.rack_cap_w[0] = 1600.0;
    let w = common::workload(vec![
        common::job(0.0, 3000.0, 4, 1000),
        common::job(1000.0, 1000.0, 4, 1000),
    ]);
    let out = run_with(&c, &topo, &w, &hand_config());
    assert_eq!(out.jobs[1].end, Some(SimTime::from_secs(3000)));
    let a_end = out.jobs[0].end.unwrap().as_ms();
    assert!((4_285_714..=4_285_716).contains(&a_end), "{a_end}");
}

fn conservation(out: &RunOutput) -> (f64, f64) {
    let s = &out.models.power.as_ref().unwrap().summary;
    let parts = s.jobs_energy_mwh + s.idle_energy_mwh + s.overhead_energy_mwh;
    (s.it_energy_mwh, parts)
}

/// ∫ IT power dt = Σ job energy + idle energy + overheads. Both sides are sums of the
/// same watts in different orders; the bound 1e-9 relative covers their rounding
/// (each sum of n terms errs by at most n·ε ≈ 1e-13 for these runs).
#[test]
fn energy_is_conserved() {
    let c = common::cluster(&[("A", 4, 8), ("B", 3, 4)]);
    let mut topo = TopologyPower::uncapped(&c);
    topo.rack_overhead_w = 300.0;
    topo.row_overhead_w = 1000.0;
    topo.rack_cap_w = vec![9000.0, 4000.0];
    let mut jobs = Vec::new();
    for i in 0..300 {
        let mut j = common::job(
            f64::from(i * 37 % 5000),
            f64::from(100 + i * 53 % 2000),
            1 + i % 8,
            1000,
        );
        j.kind = [JobKind::Training, JobKind::Inference, JobKind::Eval][i as usize % 3];
        j.priority = (i % 3) as i32;
        jobs.push(j);
    }
    let w = common::workload(jobs);
    for capping in [Capping::Static, Capping::Proportional, Capping::Priority] {
        let cfg = PowerConfig {
            mode: PowerMode::Oversubscription,
            capping,
            ..PowerConfig::default()
        };
        let out = run_with(&c, &topo, &w, &cfg);
        let (it, parts) = conservation(&out);
        assert!(it > 0.0);
        assert!((it - parts).abs() <= 1e-9 * it, "{capping:?}: {it} vs {parts}");
        // The series integrates to the same IT energy.
        let p = out.models.power.as_ref().unwrap();
        let end = out.series.time.last().copied().unwrap();
        let s = &p.series;
        let series_j: f64 = (0..s.len())
            .map(|i| {
                let until = s.time.get(i + 1).copied().unwrap_or(end);
                s.it_w[i] * (until - s.time[i]).as_secs_f64()
            })
            .sum();
        assert!(
            (series_j / 3.6e9 - it).abs() <= 1e-9 * it,
            "{capping:?}: series {} vs {it}",
            series_j / 3.6e9
        );
        // Energy ≥ idle power × time (nothing draws less than idle).
        let idle_floor_w: f64 = 4.0 * 8.0 * 150.0 + 3.0 * 4.0 * 150.0 + 2.0 * 300.0 + 1000.0;
        let span = (end - s.time[0]).as_secs_f64();
        assert!(it * 3.6e9 >= idle_floor_w * span * (1.0 - 1e-12));
    }
}

/// `power_levels.csv` against an independent sweep of the run's segments: with no caps,
/// a rack draws its static power (node base, GPU idle, equipment) plus, for every GPU
/// share a job holds there, that share of (P(u of the job's kind) − idle); a row or hall
/// adds its children and its own equipment. Per interval, the time-weighted mean and the
/// highest value held for a positive time must match the simulator's, at every level,
/// and the intervals must tile the run on the configured grid.
#[test]
fn power_levels_match_an_independent_sweep() {
    let c = common::cluster(&[("A", 4, 8), ("B", 3, 4)]);
    let mut topo = TopologyPower::uncapped(&c);
    topo.rack_overhead_w = 300.0;
    topo.row_overhead_w = 1000.0;
    let mut jobs = Vec::new();
    for i in 0..200u32 {
        let mut j = common::job(
            f64::from(i * 37 % 5000),
            f64::from(100 + i * 53 % 2000),
            1 + i % 8,
            1000,
        );
        j.kind = [JobKind::Training, JobKind::Inference, JobKind::Eval][i as usize % 3];
        jobs.push(j);
    }
    let w = common::workload(jobs);
    let cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        levels_interval_s: 700.0,
        ..PowerConfig::default()
    };
    let out = run_with(&c, &topo, &w, &cfg);
    let tree = PowerTree::build(&c, &topo, &cfg).unwrap();
    let n = tree.len();
    // Power steps per tree node from the segments.
    let mut steps: Vec<(SimTime, usize, f64)> = Vec::new();
    for seg in &out.segments {
        let spec = &w.jobs[seg.job.0 as usize];
        for g in &out.grants[seg.first_grant as usize..(seg.first_grant + seg.grants) as usize] {
            let node = &c.nodes[g.node.0 as usize];
            let m = &c.models[node.model.0 as usize];
            let u = cfg.utilization.of(spec.kind);
            let dynamic = model::gpu_power_w(cfg.curve, m.idle_w, m.tdp_w, u) - m.idle_w;
            let add = f64::from(g.gpus.count_ones()) * f64::from(seg.milli_per_gpu) / 1000.0 * dynamic;
            let mut i = tree.first_rack as usize + node.rack.0 as usize;
            loop {
                steps.push((seg.start, i, add));
                steps.push((seg.end, i, -add));
                if i == 0 {
                    break;
                }
                i = tree.parent[i] as usize;
            }
        }
    }
    steps.sort_by_key(|s| s.0);
    let levels = &out.models.power.as_ref().unwrap().levels;
    assert_eq!(levels.interval, SimTime::from_secs(700));
    let mut rows = levels.rows();
    let mut power: Vec<f64> = (0..n).map(|i| static_w(&tree, i)).collect();
    let (first, end) = (steps[0].0, out.series.time.last().copied().unwrap());
    let mut k = 0;
    let mut t = first;
    let mut checked = 0;
    while t < end {
        let next = SimTime((t.as_ms() / 700_000 + 1) * 700_000).min(end);
        // Mean and peak per node over [t, next) from the steps.
        let (mut energy, mut peak) = (vec![0.0; n], vec![f64::NEG_INFINITY; n]);
        let mut u = t;
        while u < next {
            while k < steps.len() && steps[k].0 <= u {
                power[steps[k].1] += steps[k].2;
                k += 1;
            }
            let v = steps.get(k).map_or(next, |s| s.0).min(next);
            for i in 0..n {
                energy[i] += power[i] * (v - u).as_secs_f64();
                peak[i] = peak[i].max(power[i]);
            }
            u = v;
        }
        for i in 0..n {
            let r = rows.next().expect("a row per node per interval");
            assert_eq!((r.start, r.end, r.node as usize), (t, next, i));
            let mean = energy[i] / (next - t).as_secs_f64();
            assert!(
                (r.mean_w - mean).abs() < 1e-6,
                "{}: mean {} vs {mean}",
                tree.names[i],
                r.mean_w
            );
            assert!(
                (r.peak_w - peak[i]).abs() < 1e-6,
                "{}: peak {} vs {}",
                tree.names[i],
                r.peak_w,
                peak[i]
            );
            checked += 1;
        }
        t = next;
    }
    assert!(rows.next().is_none());
    assert!(checked > 10 * n, "{checked} rows checked");
}

/// Admission routes around a power-limited rack. Two racks of one 8-GPU node each (test
/// GPUs: 400 W TDP, 50 W idle, no base power); rack 0 capped at its idle 400 W + 4 GPUs ×
/// 350 W = 1,800 W. Job a (4 GPUs) starts at 0 on node 0. Job b (4 GPUs) at 10 s: best
/// fit proposes node 0 (4 free, the tightest), which would put rack 0 at 3,200 W; with
/// rack 0 hidden placement proposes node 1, so b starts at once there, never refused.
/// With the feed capped instead (800 W idle + 1,400 W), no rack helps: b waits for a to
/// end at 1,000 s, and its 990 s wait is attributed to power.
#[test]
fn admission_routes_around_a_capped_rack() {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let w = common::workload(vec![
        common::job(0.0, 1000.0, 4, 1000),
        common::job(10.0, 1000.0, 4, 1000),
    ]);
    let cfg = PowerConfig {
        mode: PowerMode::Admission,
        ..PowerConfig::default()
    };
    let mut topo = bare(&c);
    topo.rack_cap_w[0] = 1800.0;
    let out = run_with(&c, &topo, &w, &cfg);
    assert_eq!(out.jobs[1].start, Some(SimTime::from_secs(10)));
    let seg = out.segments.iter().find(|s| s.job.0 == 1).unwrap();
    assert_eq!(out.grants[seg.first_grant as usize].node, NodeId(1));
    let p = &out.models.power.as_ref().unwrap().summary;
    assert_eq!((p.power_refusals, p.jobs_power_delayed), (0, 0));

    let mut topo = bare(&c);
    topo.feed_w = 800.0 + 1400.0;
    let out = run_with(&c, &topo, &w, &cfg);
    assert_eq!(out.jobs[1].start, Some(SimTime::from_secs(1000)));
    let p = &out.models.power.as_ref().unwrap().summary;
    assert_eq!(p.jobs_power_delayed, 1);
    assert!(p.power_refusals >= 1);
    assert!((p.power_wait_hours - 990.0 / 3600.0).abs() < 1e-12);
}

/// A job no rack could ever admit is not lost: it waits to the end of the run and is
/// reported unfinished, refused for power, its wait to the end counted as power wait. One 8-GPU node (400 W TDP, 50 W idle, no
/// base power), rack capped at its 400 W idle + 2 GPUs × 350 W = 1,100 W; an 8-GPU job
/// needs 2,800 W more than idle and never starts, while a 2-GPU job after it runs.
#[test]
fn a_job_no_cap_admits_waits_and_is_reported() {
    let c = common::cluster(&[("A", 1, 8)]);
    let mut topo = bare(&c);
    topo.rack_cap_w[0] = 1100.0;
    let w = common::workload(vec![
        common::job(0.0, 100.0, 8, 1000),
        common::job(1.0, 100.0, 2, 1000),
    ]);
    let cfg = PowerConfig {
        mode: PowerMode::Admission,
        ..PowerConfig::default()
    };
    let out = run_queue(&c, &topo, &w, &cfg, "fifo-skip");
    assert_eq!(out.jobs[0].outcome, dcsim::metrics::Outcome::Unfinished);
    assert_eq!(out.jobs[1].end, Some(SimTime::from_secs(101)));
    assert_eq!(out.summary.unfinished, 1);
    // Its wait, still open at the run's end (101 s), counts as power wait.
    let s = out.models.power.unwrap().summary;
    assert_eq!(s.jobs_power_delayed, 1);
    assert!(
        (s.power_wait_hours - 101.0 / 3600.0).abs() < 1e-12,
        "{}",
        s.power_wait_hours
    );
}

/// Priority capping across racks. Two racks of one 8-GPU node each (test GPUs 400 W TDP,
/// 50 W idle, no base power), linear curve, every job at u = 1, lowest cap 100 W, α = 1;
/// the feed capped at 4,800 W. An inference job (10,000 s of work) fills node 0, a
/// training job (3,000 s) node 1: demand 16 × 400 = 6,400 W, fixed 16 × 100 = 1,600 W,
/// throttleable 16 × 300 = 4,800 W, of which the feed leaves 3,200 W.
/// - `priority`: inference keeps all 2,400 W; training gets 800 of its 2,400 W, each GPU
///   100 + 100 = 200 W, speed 0.5: it ends at 6,000 s, inference at 10,000 s.
/// - `proportional`: both keep 2/3, 300 W per GPU, speed 0.75: training ends at 4,000 s;
///   inference has done 3,000 s by then and ends 7,000 s later, at 11,000 s.
#[test]
fn priority_capping_spares_inference_in_another_rack() {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let mut topo = bare(&c);
    topo.feed_w = 4800.0;
    let mut inference = common::job(0.0, 10_000.0, 8, 1000);
    inference.kind = JobKind::Inference;
    let w = common::workload(vec![inference, common::job(0.0, 3000.0, 8, 1000)]);
    for (capping, ends) in [
        (Capping::Priority, [10_000, 6000]),
        (Capping::Proportional, [11_000, 4000]),
    ] {
        let mut cfg = PowerConfig {
            capping,
            ..hand_config()
        };
        cfg.utilization.inference = 1.0;
        let out = run_with(&c, &topo, &w, &cfg);
        let got = [0, 1].map(|j| out.jobs[j].end.unwrap().as_ms());
        assert_eq!(got, ends.map(|s| s * 1000), "{capping:?}");
    }
}

/// Random caps at every level, from the floor (static power) upwards.
fn caps(c: &Cluster, topo: &mut TopologyPower, cfg: &PowerConfig, f: &[f64; 4]) {
    let tree = PowerTree::build(
        c,
        topo,
        &PowerConfig {
            mode: PowerMode::Admission,
            ..cfg.clone()
        },
    )
    .unwrap();
    let (floor, top) = (&tree.floor_w, &tree.nameplate_w);
    let at = |i: usize, k: f64| floor[i] + k * (top[i] - floor[i]);
    topo.feed_w = at(0, f[0]);
    topo.hall_cap_w = at(tree.first_hall as usize, f[1]);
    // One cap for every row: the largest row's figure (so no row's cap is below its floor).
    topo.row_cap_w = (tree.first_row as usize..tree.first_rack as usize)
        .map(|i| at(i, f[2]))
        .fold(0.0, f64::max);
    for (k, cap) in topo.rack_cap_w.iter_mut().enumerate() {
        *cap = at(tree.first_rack as usize + k, f[3]);
    }
}

fn arb_cluster() -> impl Strategy<Value = Vec<(&'static str, u32, u32)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["A", "B"]),
            1u32..5,
            prop::sample::select(vec![1u32, 2, 4, 8]),
        ),
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Admission never exceeds a cap: sweeping the run's segments independently of the
    /// simulator, at every instant static power plus running jobs' GPUs at TDP stays
    /// under every cap (actual power is below that reservation).
    #[test]
    fn admission_never_exceeds_a_cap(
        cluster in arb_cluster(),
        raw in prop::collection::vec((0u32..400, 1u32..300, 1u32..9), 1..80),
        f in prop::array::uniform4(0.0f64..1.2),
    ) {
        let c = common::cluster(&cluster);
        let cfg = PowerConfig { mode: PowerMode::Admission, ..PowerConfig::default() };
        let mut topo = TopologyPower::uncapped(&c);
        caps(&c, &mut topo, &cfg, &f);
        let w = common::workload(raw.iter().map(|&(s, d, g)| common::job(f64::from(s), f64::from(d), g, 1000)).collect());
        let out = run_with(&c, &topo, &w, &cfg);
        let tree = PowerTree::build(&c, &topo, &cfg).unwrap();
        // Reservation of each segment per tree node.
        let mut events: Vec<(SimTime, u8, usize, f64)> = Vec::new();
        for seg in &out.segments {
            for g in &out.grants[seg.first_grant as usize..(seg.first_grant + seg.grants) as usize] {
                let node = &c.nodes[g.node.0 as usize];
                let m = &c.models[node.model.0 as usize];
                let add = f64::from(g.gpus.count_ones()) * (m.tdp_w - m.idle_w);
                let mut i = tree.first_rack as usize + node.rack.0 as usize;
                loop {
                    events.push((seg.end, 0, i, -add));
                    events.push((seg.start, 1, i, add));
                    if i == 0 { break; }
                    i = tree.parent[i] as usize;
                }
            }
        }
        events.sort_by_key(|e| (e.0, e.1));
        let mut reserved: Vec<f64> = (0..tree.len()).map(|i| static_w(&tree, i)).collect();
        for (_, _, i, d) in events {
            reserved[i] += d;
            prop_assert!(reserved[i] <= tree.cap_w[i] + 1e-6 || d < 0.0,
                "{}: {} W over cap {} W", tree.names[i], reserved[i], tree.cap_w[i]);
        }
    }

    /// Oversubscription: at every change point, after throttling, the power under each
    /// cap is at most the cap; speeds stay in (0, 1]; and the incremental recomputation
    /// equals a recomputation from scratch.
    #[test]
    fn throttling_keeps_every_cap(
        cluster in arb_cluster(),
        ops in prop::collection::vec((any::<bool>(), 0usize..64, 1u32..9, 0usize..3, -1i32..2), 1..120),
        f in prop::array::uniform4(0.0f64..1.2),
        capping in prop::sample::select(vec![Capping::Static, Capping::Proportional, Capping::Priority]),
    ) {
        let c = common::cluster(&cluster);
        let cfg = PowerConfig { mode: PowerMode::Oversubscription, capping, ..PowerConfig::default() };
        let mut topo = TopologyPower::uncapped(&c);
        caps(&c, &mut topo, &cfg, &f);
        let jobs = ops.len();
        let mut run = power::setup(&cfg, &c, &topo, jobs, Path::new("."), 0).unwrap().unwrap();
        let mut free: Vec<u64> = c.nodes.iter().map(|n| if n.gpus == 64 { u64::MAX } else { (1u64 << n.gpus) - 1 }).collect();
        let mut running: Vec<(u32, Vec<GpuGrant>, JobSpec)> = Vec::new();
        let mut rates = vec![1.0f64; jobs];
        let mut out = Vec::new();
        for (k, &(start, pick, gpus, kind, prio)) in ops.iter().enumerate() {
            let now = SimTime::from_secs(k as u64 * 10);
            if start || running.is_empty() {
                // First-fit: up to `gpus` free GPUs on one node of the picked model.
                let model = c.nodes[pick % c.nodes.len()].model;
                let Some(n) = (0..c.nodes.len()).find(|&n| c.nodes[n].model == model && free[n].count_ones() >= gpus.min(c.nodes[n].gpus)) else { continue };
                let want = gpus.min(c.nodes[n].gpus);
                let mut mask = 0u64;
                for b in 0..64 {
                    if mask.count_ones() == want { break; }
                    if free[n] >> b & 1 == 1 { mask |= 1 << b; }
                }
                free[n] &= !mask;
                let grants = vec![GpuGrant { node: NodeId(n as u32), gpus: mask }];
                let mut spec = common::job(0.0, 1.0, want, 1000);
                spec.kind = [JobKind::Training, JobKind::Inference, JobKind::Eval][kind];
                spec.priority = prio;
                run.start(now, k as u32, &grants, &spec);
                running.push((k as u32, grants, spec));
            } else {
                let (job, grants, _) = running.swap_remove(pick % running.len());
                for g in &grants { free[g.node.0 as usize] |= g.gpus; }
                run.stop(now, job);
            }
            out.clear();
            run.settle(now, &mut out);
            for &(j, r) in &out { rates[j as usize] = r; }
            for (i, (p, cap)) in run.levels().into_iter().enumerate() {
                prop_assert!(p <= cap + 1e-6, "node {i}: {p} W over cap {cap} W");
            }
            for (j, _, _) in &running {
                let r = rates[*j as usize];
                prop_assert!(r > 0.0 && r <= 1.0, "rate {r}");
            }
            // From scratch: a fresh state with the same running jobs, settled once.
            let mut fresh = power::setup(&cfg, &c, &topo, jobs, Path::new("."), 0).unwrap().unwrap();
            for (j, grants, spec) in &running {
                fresh.start(now, *j, grants, spec);
            }
            let mut fresh_out = Vec::new();
            fresh.settle(now, &mut fresh_out);
            for &(j, r) in &fresh_out {
                prop_assert!((rates[j as usize] - r).abs() < 1e-9, "job {j}: incremental {} vs scratch {r}", rates[j as usize]);
            }
            prop_assert!((fresh.it_w() - run.it_w()).abs() < 1e-6);
        }
    }
}

/// Static power of tree node `i`'s subtree: node base, GPU idle and equipment.
fn static_w(tree: &PowerTree, i: usize) -> f64 {
    let mut own = vec![0.0; tree.len()];
    own.copy_from_slice(&tree.own_w);
    for k in (1..tree.len()).rev() {
        let p = tree.parent[k] as usize;
        own[p] += own[k];
    }
    own[i]
}

/// `mode = "off"` builds no power state; any other mode does.
#[test]
fn power_off_builds_nothing() {
    let c = common::cluster(&[("A", 1, 8)]);
    let topo = TopologyPower::uncapped(&c);
    let off = power::setup(&PowerConfig::default(), &c, &topo, 1, Path::new("."), 0).unwrap();
    assert!(off.is_none());
    let on: Option<PowerRun> = power::setup(&hand_config(), &c, &topo, 1, Path::new("."), 0).unwrap();
    assert!(on.is_some());
}

/// Runs a bundled power scenario on the ITP trace in `../shared` (callers are marked
/// `cfg_attr(not(dcsim_shared), ignore = "needs ../shared")`, see build.rs).
fn run_scenario(name: &str) -> RunOutput {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = dcsim::scenario::Scenario::load(&root.join(format!("scenarios/{name}.toml"))).unwrap();
    let p = scenario.prepare(scenario.config.seed).unwrap();
    let sim = Simulation::new(
        &p.cluster,
        &p.workload,
        p.queue,
        p.placement,
        scenario.sim_config(),
    );
    sim.with_models(p.models).run(&mut |_| {})
}

/// IT power the model must draw with the cluster's allocation at row `i` of the run's time
/// series, worked independently of the power engine: node base power, plus per model each
/// busy GPU at idle + (TDP − idle) · f(u) for training (u = `training_u`, every job of
/// these traces is training) and each free GPU at idle (docs/topologies.md). The rack and
/// row equipment of these topologies is zero (asserted).
fn it_w_at(
    out: &RunOutput,
    c: &Cluster,
    topo: &TopologyPower,
    curve: Curve,
    training_u: f64,
    i: usize,
) -> f64 {
    assert_eq!((topo.rack_overhead_w, topo.row_overhead_w), (0.0, 0.0));
    let s = &out.series;
    let base: f64 = topo.node_base_w.iter().sum();
    c.models
        .iter()
        .enumerate()
        .map(|(m, g)| {
            let total = c.gpus_of(dcsim::topology::GpuModelId(m as u16)) as f64;
            let busy = s.busy_milli_by_model[i * s.models + m] as f64 / 1000.0;
            busy * model::gpu_power_w(curve, g.idle_w, g.tdp_w, training_u) + (total - busy) * g.idle_w
        })
        .sum::<f64>()
        + base
}

/// The ISCA 2007 nameplate gap on two real traces, against the source's own figure.
///
/// Fan, Weber, Barroso (ISCA 2007, abstract, confirmed against the paper's text) find
/// "a noticeable gap (7 - 16%) between achieved and theoretical aggregate peak power
/// usage at the cluster level (thousands of servers)". The gap is set by
/// how full the cluster gets at its busiest and by how far below TDP a busy GPU draws;
/// the test first checks the observed peak against that hand model of the run's own
/// allocation (at every change point), then places each trace against the 7–16%:
///
/// - ITP cluster04 is sized to its own peak GPU demand, so at the peak almost every GPU
///   is busy and only f(0.9) = 0.937 of the dynamic range separates it from nameplate:
///   the gap (4.5%) is below the source's 7% and no larger than with every GPU busy.
/// - Philly's replayed cluster is lightly loaded (15% GPU utilization over the makespan),
///   so even its busiest moment leaves half its GPUs idle and the gap (36%) is above the
///   source's 16%.
#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn isca_2007_gap_on_real_traces_against_the_sources_range() {
    let (lo, hi) = (0.07, 0.16); // Fan et al.'s cluster-level range
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = run_scenario("power-nameplate");
    let cfg = PowerConfig::default();
    let u = cfg.utilization.training;
    let report = dcsim::topology::load_report(&root.join("topologies/itp-cluster04-power.toml")).unwrap();
    let (c, topo) = (&report.cluster, &report.power);
    let s = base.summary.power.as_ref().unwrap();
    assert_eq!(s.nameplate_it_kw, 762.0); // 254 × (8 × 300 W + 600 W base)
    let hand_peak = (0..base.series.len())
        .map(|i| it_w_at(&base, c, topo, Curve::Fan2007, u, i))
        .fold(0.0, f64::max);
    assert!(
        (s.peak_it_kw * 1000.0 - hand_peak).abs() < 1e-6 * hand_peak,
        "{} vs {hand_peak}",
        s.peak_it_kw
    );
    let gap = 1.0 - s.peak_it_kw / s.nameplate_it_kw;
    let g = &c.models[0];
    let full = 254.0 * 600.0 + 2032.0 * model::gpu_power_w(Curve::Fan2007, g.idle_w, g.tdp_w, u);
    let gap_full = 1.0 - full / 762_000.0;
    eprintln!("ITP: gap {gap:.4} (every GPU busy: {gap_full:.4}); source {lo}–{hi}");
    assert!(gap > 0.0 && gap < lo, "ITP gap {gap}");
    assert!(
        gap >= gap_full - 1e-12,
        "ITP gap {gap} below the all-busy gap {gap_full}"
    );
    assert!(s.p99_it_kw < s.peak_it_kw);

    let over = run_scenario("power-oversubscription");
    let o = over.summary.power.as_ref().unwrap();
    assert!(o.peak_it_kw <= 762.0 + 1e-6, "feed exceeded: {}", o.peak_it_kw);
    assert!(o.hours_at_cap > 0.0);
    assert!(o.throttle_slowdown_gpu_hours < 1e-3 * over.summary.allocated_gpu_hours);

    // Philly 2017 on its published cluster, power on (default curve: ISCA 2007's).
    let mut philly = dcsim::scenario::Scenario::load(&root.join("scenarios/philly.toml")).unwrap();
    philly.config.power = Some(PowerConfig {
        mode: PowerMode::Oversubscription,
        ..PowerConfig::default()
    });
    let p = philly.prepare(philly.config.seed).unwrap();
    let report = dcsim::topology::load_report(&root.join("topologies/philly.toml")).unwrap();
    let out = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, philly.sim_config())
        .with_models(p.models)
        .run(&mut |_| {});
    let s = out.summary.power.as_ref().unwrap();
    let hand_peak = (0..out.series.len())
        .map(|i| it_w_at(&out, &report.cluster, &report.power, Curve::Fan2007, u, i))
        .fold(0.0, f64::max);
    assert!(
        (s.peak_it_kw * 1000.0 - hand_peak).abs() < 1e-6 * hand_peak,
        "{} vs {hand_peak}",
        s.peak_it_kw
    );
    let gap = 1.0 - s.peak_it_kw / s.nameplate_it_kw;
    let busiest = out.summary.peak_busy_gpus / out.summary.cluster_gpus as f64;
    eprintln!("Philly: gap {gap:.4}, busiest {busiest:.3} of GPUs busy; source {lo}–{hi}");
    assert!(gap > hi, "Philly gap {gap}");
    assert!(busiest < 0.9, "Philly's busiest moment: {busiest}");
}

proptest! {
    /// The weighted quickselect behind `p99_it_kw` equals a plain sort-and-scan.
    #[test]
    fn time_weighted_quantile_matches_sorting(
        rows in prop::collection::vec((0u32..1000, 0u64..50), 1..400),
        q in 0.0f64..1.0,
    ) {
        let mut t = 0u64;
        let (mut time, mut value) = (Vec::new(), Vec::new());
        for &(v, d) in &rows {
            time.push(SimTime(t));
            value.push(f64::from(v));
            t += d;
        }
        let end = SimTime(t);
        let got = power::run::time_weighted_quantile(&time, &value, end, q);
        let mut pairs: Vec<(f64, u64)> = (0..time.len())
            .map(|i| (value[i], time.get(i + 1).copied().unwrap_or(end).as_ms() - time[i].as_ms()))
            .collect();
        let total: u64 = pairs.iter().map(|p| p.1).sum();
        let want = if total == 0 {
            value.iter().copied().fold(0.0, f64::max)
        } else {
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut acc = 0u64;
            let mut out = pairs.last().unwrap().0;
            for (v, d) in &pairs {
                acc += d;
                if acc as f64 >= q * total as f64 {
                    out = *v;
                    break;
                }
            }
            out
        };
        prop_assert_eq!(got, want);
    }
}

/// `levels_interval_s` below a second is refused with its key named.
#[test]
fn a_bad_levels_interval_is_named() {
    for bad in [0.0, -5.0, f64::NAN] {
        let cfg = PowerConfig {
            levels_interval_s: bad,
            ..PowerConfig::default()
        };
        let issues = cfg.validate();
        assert!(
            issues.iter().any(|(k, _)| k == "power.levels_interval_s"),
            "{bad}: {issues:?}"
        );
    }
    assert!(PowerConfig::default().validate().is_empty());
}

/// `power.peak_facility_kw` is the most of `power.csv`'s `facility_kw` (IT + cooling +
/// losses), read back from the written file: here under a hot-dry plant whose overhead
/// changes every hour with the weather as well as with IT power, over a 3-day run; and it
/// exceeds the peak IT power by the plant's overhead.
#[test]
fn peak_facility_power_is_the_most_of_power_csv() {
    let c = common::cluster(&[("A", 4, 8)]);
    let jobs: Vec<JobSpec> = (0..40)
        .map(|i| {
            common::job(
                f64::from(i) * 5_400.0,
                3_600.0 * f64::from(1 + i % 7),
                1 + i % 8,
                1000,
            )
        })
        .collect();
    let w = common::workload(jobs);
    let mut cfg = hand_config();
    cfg.facility = dcsim::facility::FacilityConfig {
        climate: Some("hot-dry".into()),
        ..Default::default()
    };
    let out = run_with(&c, &TopologyPower::uncapped(&c), &w, &cfg);
    let p = out.models.power.as_ref().unwrap();
    let mut buf = Vec::new();
    dcsim::report::write_power(&mut buf, p, out.series.time.last().copied()).unwrap();
    let mut rdr = csv::Reader::from_reader(buf.as_slice());
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "facility_kw")
        .unwrap();
    let rows: Vec<f64> = rdr.records().map(|r| r.unwrap()[col].parse().unwrap()).collect();
    assert!(rows.len() > 72, "weather rows: {}", rows.len());
    let most = rows.iter().copied().fold(0.0, f64::max);
    let s = &p.summary;
    assert!(
        (s.peak_facility_kw - most).abs() <= 5e-4,
        "{} vs {most}",
        s.peak_facility_kw
    );
    assert!(s.peak_facility_kw > s.peak_it_kw);
}
