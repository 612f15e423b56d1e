//! Failures, repairs and checkpoints through the engine (issue 15), against closed
//! forms and published figures.

mod common;

use dcsim::engine::{RngStreams, SimTime};
use dcsim::model::Model;
use dcsim::reliability::config::{CheckpointConfig, CordonConfig, RepairDist, SpareConfig, SparePer};
use dcsim::reliability::{
    daly_expected_wall, daly_interval, Cause, CheckpointPolicy, Component, ComponentKind, LoggedFailure,
    ReliabilityModel,
};
use dcsim::scheduler::registry;
use dcsim::sim::{RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::Workload;

fn node_cause(per_node_day: f64, repair_h: f64) -> Cause {
    Cause {
        name: "node".into(),
        component: ComponentKind::Node,
        per_component_day: per_node_day,
        lifetime: dcsim::reliability::config::Lifetime::Exponential,
        shape: 1.0,
        repair_h,
        repair: RepairDist::Fixed,
    }
}

fn run(c: &Cluster, w: &Workload, causes: &[Cause], ckpt: CheckpointConfig, seed: u64) -> RunOutput {
    let model = ReliabilityModel::new(c, w, causes, None, ckpt, None, None, 0, &RngStreams::new(seed));
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

fn fixed(interval_min: f64, cost_s: f64, restart_s: f64) -> CheckpointConfig {
    CheckpointConfig {
        policy: CheckpointPolicy::Fixed,
        interval_min,
        cost_s,
        restart_s,
        ..CheckpointConfig::default()
    }
}

/// One 8-GPU job of 50,000 h of work on one node failing at M = 6 h (4 per node-day),
/// repaired at once; δ = 5 min, R = 10 min (Daly 2006's case). Its simulated wall time
/// matches Daly's expected wall time M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T_s/τ within 2% at
/// several intervals, and the best of the grid is Daly's optimum (57 min). The same seed
/// gives every interval the same failure times.
#[test]
fn wall_time_follows_daly_and_optimum_is_dalys_interval() {
    let c = common::cluster(&[("H100", 1, 8)]);
    let ts_h = 50_000.0;
    let w = common::workload(vec![common::job(0.0, ts_h * 3600.0, 8, 1000)]);
    let (m, d, r) = (360.0, 5.0, 10.0);
    let opt = daly_interval(d, m);
    let mut walls = Vec::new();
    for f in [0.5, 0.67, 1.0, 1.5, 2.0] {
        let tau = opt * f;
        let out = run(&c, &w, &[node_cause(4.0, 0.0)], fixed(tau, d * 60.0, r * 60.0), 1);
        let end = out.jobs[0].end.expect("the job finishes");
        let wall_min = end.as_secs_f64() / 60.0;
        let want = daly_expected_wall(ts_h * 60.0, tau, d, r, m);
        assert!(
            (wall_min / want - 1.0).abs() < 0.02,
            "τ = {tau:.1} min: {wall_min:.0} vs Daly {want:.0}"
        );
        walls.push(wall_min);
    }
    let best = walls
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(best, 2, "walls {walls:?}");
}

fn repo(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// `llama3-54d`: interruptions of the one 16,384-GPU job in its first 54 days against
/// the Llama 3 report's 419 (Poisson σ ≈ 20.5, so ± 41 is 2σ), and its cause mix
/// against Table 5 by Pearson chi-square: the seven largest causes and the rest pooled
/// (so no expected count is below 5), 7 degrees of freedom, 0.1% critical value 24.32.
#[test]
fn llama3_54d_count_and_cause_mix() {
    let s = dcsim::scenario::Scenario::load(&repo("scenarios/llama3-54d.toml")).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    let out = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config())
        .with_models(p.models)
        .run(&mut |_| {});
    let r = out.models.reliability.as_ref().expect("reliability on");
    let day54 = SimTime::from_secs(54 * 86_400);
    let hits: Vec<_> = r
        .failures
        .iter()
        .filter(|f| f.jobs_hit > 0 && f.at < day54)
        .collect();
    assert!(
        (hits.len() as f64 - 419.0).abs() <= 41.0,
        "{} interruptions",
        hits.len()
    );
    let table = dcsim::reliability::presets::LLAMA3_TABLE5;
    let mut observed = [0u64; 8];
    for f in &hits {
        let i = table.iter().position(|t| t.0 == r.causes[f.cause]).unwrap();
        observed[i.min(7)] += 1;
    }
    let n = hits.len() as f64;
    let chi2: f64 = (0..8)
        .map(|k| {
            let count: u32 = if k < 7 {
                table[k].2
            } else {
                table[7..].iter().map(|t| t.2).sum()
            };
            let e = n * f64::from(count) / 419.0;
            (observed[k] as f64 - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 24.32, "chi-square {chi2}: {observed:?}");
    assert_eq!(out.jobs[0].outcome, dcsim::metrics::Outcome::Completed);
    let ett = r.summary.largest_job_effective_training_time.unwrap();
    assert!(ett > 0.8 && ett < 1.0, "effective training time {ett}");
}

/// Kokolis et al.'s job MTTF model, MTTF = 1 / (nodes × r), from RSC-1's per-node rate
/// r = 6.5 per 1,000 node-days: 8-GPU, 64-GPU and 512-GPU jobs (1, 8 and 64 nodes)
/// running back to back on a 64-node cluster, repairs instant. Observed MTTF per size
/// (hours run per interruption) within 3σ of 1/(n·r) (σ = MTTF/√interruptions).
#[test]
fn kokolis_mttf_scales_as_one_over_nodes() {
    let c = common::cluster(&[("H100", 64, 8)]);
    let rate = 6.5e-3;
    let mut jobs = Vec::new();
    for gpus in [8u32, 64, 512] {
        // 26,000 node-days of work per size: about 26,000 · r ≈ 170 interruptions each.
        let days = 26_000.0 / f64::from(gpus / 8);
        jobs.push(common::job(0.0, days * 86_400.0, gpus, 1000));
    }
    let w = common::workload(jobs);
    // Free hourly checkpoints, so that long jobs finish; they do not change when
    // failures happen.
    let out = run(&c, &w, &[node_cause(rate, 0.0)], fixed(60.0, 0.0, 0.0), 3);
    let r = out.models.reliability.unwrap();
    for (gpus, nodes) in [(8u32, 1.0), (64, 8.0), (512, 64.0)] {
        let got = r.summary.mttf_h_by_job_gpus[&gpus];
        let want = 24.0 / (nodes * rate);
        let n = r
            .jobs
            .iter()
            .zip(&out.jobs)
            .find(|(_, j)| j.demand.gpus == gpus)
            .unwrap()
            .0
            .interruptions;
        let sigma = want / f64::from(n).sqrt();
        assert!(
            (got - want).abs() < 3.0 * sigma,
            "{gpus} GPUs: {got:.1} h vs {want:.1} h ({n} interruptions)"
        );
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Whatever the rates, intervals and costs: every job completes with all its
        /// work done, the engine's lost work is the model's, and no failure costs a job
        /// more than the work since its last checkpoint (one interval τ).
        #[test]
        fn no_checkpointed_work_lost(
            per_day in 0.2f64..5.0,
            interval_min in 5.0f64..120.0,
            cost_s in 0.0f64..300.0,
            restart_s in 0.0f64..600.0,
            seed in 0u64..1000,
        ) {
            let c = common::cluster(&[("H100", 4, 8)]);
            let w = common::workload(vec![
                common::job(0.0, 2.0 * 86_400.0, 16, 1000),
                common::job(100.0, 86_400.0, 8, 1000),
                common::job(200.0, 3.0 * 86_400.0, 8, 1000),
            ]);
            let out = run(&c, &w, &[node_cause(per_day, 0.5)], fixed(interval_min, cost_s, restart_s), seed);
            let r = out.models.reliability.unwrap();
            for (rec, j) in out.jobs.iter().zip(&r.jobs) {
                prop_assert_eq!(rec.outcome, dcsim::metrics::Outcome::Completed);
                let model_lost_h = j.lost_gpu_h;
                let engine_lost_h = rec.lost_work.as_secs_f64() / 3600.0 * f64::from(rec.demand.gpus);
                prop_assert!((model_lost_h - engine_lost_h).abs() < 1e-3 * (1.0 + engine_lost_h), "{} vs {}", model_lost_h, engine_lost_h);
            }
            for f in &r.failures {
                let bound = f64::from(f.gpus_of_jobs_hit) * interval_min / 60.0;
                prop_assert!(f.lost_gpu_h <= bound + 1e-4, "{} > {}", f.lost_gpu_h, bound);
            }
        }

        /// The same with checkpoints written to a shared tier (writes cut short by
        /// failures and the tier re-shared) and a retry limit: a job completes, or ends
        /// failed only at its limit + 1st failure; the engine's lost work is the model's;
        /// a completed job held its GPUs for its work, the work it redid, its restores
        /// and its checkpoint writes, no less and no more (to the millisecond per stop).
        /// Half the cases write in two stages (`ssd_gbps`): node failures then also
        /// lose local copies not yet drained, and the same accounting holds.
        #[test]
        fn storage_and_retry_limit_keep_the_accounting(
            per_day in 0.2f64..5.0,
            interval_min in 5.0f64..120.0,
            size_gb in 10.0f64..5000.0,
            shared_gbps in 1.0f64..100.0,
            limit in proptest::option::of(0u32..4),
            ssd_gbps in proptest::option::of(1.0f64..50.0),
            seed in 0u64..1000,
        ) {
            use dcsim::metrics::Outcome;
            use dcsim::reliability::config::StorageConfig;
            let c = common::cluster(&[("H100", 4, 8)]);
            let w = common::workload(vec![
                common::job(0.0, 2.0 * 86_400.0, 16, 1000),
                common::job(0.0, 86_400.0, 8, 1000),
                common::job(0.0, 3.0 * 86_400.0, 8, 1000),
            ]);
            let ckpt = CheckpointConfig { size_gb, ..fixed(interval_min, 0.0, 60.0) };
            let storage = StorageConfig { node_gbps: 10.0, shared_gbps: Some(shared_gbps), ssd_gbps, ..StorageConfig::default() };
            let model = ReliabilityModel::new(&c, &w, &[node_cause(per_day, 0.5)], None, ckpt, None, None, 0, &RngStreams::new(seed))
                .with_storage(Some(storage))
                .with_retry_limit(limit);
            let out = Simulation::new(
                &c,
                &w,
                registry::queue_policy("fifo").unwrap(),
                registry::placement("first-fit").unwrap(),
                SimConfig::default(),
            )
            .with_models(vec![Box::new(model) as Box<dyn Model>])
            .run(&mut |_| {});
            let r = out.models.reliability.unwrap();
            for ((rec, j), spec) in out.jobs.iter().zip(&r.jobs).zip(&w.jobs) {
                let engine_lost_h = rec.lost_work.as_secs_f64() / 3600.0 * f64::from(rec.demand.gpus);
                prop_assert!((j.lost_gpu_h - engine_lost_h).abs() < 1e-3 * (1.0 + engine_lost_h), "{} vs {}", j.lost_gpu_h, engine_lost_h);
                match rec.outcome {
                    Outcome::Completed => {
                        prop_assert!(limit.is_none_or(|l| j.interruptions <= l));
                        let held = rec.busy.as_secs_f64();
                        let due = spec.duration.as_secs_f64() + rec.lost_work.as_secs_f64() + j.restart_s + j.checkpoint_s;
                        let slack = 0.002 * f64::from(2 * j.checkpoints + j.interruptions + 1);
                        prop_assert!((held - due).abs() <= slack, "held {} vs due {}", held, due);
                    }
                    Outcome::Failed => prop_assert_eq!(Some(j.interruptions), limit.map(|l| l + 1)),
                    other => prop_assert!(false, "job {} {:?}", rec.id.0, other),
                }
            }
        }
    }
}

/// Bad input in a scenario names the key and its line.
#[test]
fn bad_reliability_input_names_key_and_line() {
    let text = "name = \"x\"\n[topology]\npath = \"t.toml\"\n[workload]\nformat = \"generic\"\npath = \"j.csv\"\n\
                [reliability]\n[[reliability.causes]]\nname = \"gpu\"\ncomponent = \"gpu\"\nper_component_day = -0.5\n";
    let e = dcsim::scenario::Scenario::parse(text, std::path::Path::new("s.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reliability.causes[0].per_component_day") && e.contains("expected a number > 0"),
        "{e}"
    );
    let e = dcsim::scenario::Scenario::parse(
        &text.replace("\"gpu\"\nper", "\"toaster\"\nper"),
        std::path::Path::new("s.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("s.toml:10") && e.contains("toaster"), "{e}");
}

/// Runs `w` on `c` with failures replayed from `log` (cause "node", repaired in
/// `repair_h` fixed hours), no checkpoints, free restarts.
fn run_log(
    c: &Cluster,
    w: &Workload,
    log: Vec<(f64, u64)>,
    repair_h: f64,
    spares: Option<SpareConfig>,
    cordon: Option<CordonConfig>,
    max_repairs: u32,
) -> RunOutput {
    let log = log
        .into_iter()
        .map(|(at_s, node)| LoggedFailure {
            at: SimTime::try_from_secs_f64(at_s).unwrap(),
            component: Component {
                kind: ComponentKind::Node,
                index: node,
            },
            cause: "node".into(),
        })
        .collect();
    let none = CheckpointConfig {
        policy: CheckpointPolicy::None,
        interval_min: 0.0,
        cost_s: 0.0,
        restart_s: 0.0,
        ..CheckpointConfig::default()
    };
    let model = ReliabilityModel::new(
        c,
        w,
        &[node_cause(1.0, repair_h)],
        Some(log),
        none,
        spares,
        cordon,
        max_repairs,
        &RngStreams::new(1),
    );
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

/// Hand-worked: 3 nodes of 8 GPUs in one rack, a 2 h job of 16 GPUs from t = 0 on
/// nodes 0 and 1, node 0 fails at 1 h (the job loses its hour: no checkpoints) and takes
/// 5 h to repair. With one hot spare per rack (node 2) swapping in after 10 min the job
/// restarts at 1 h 10 min and ends at 3 h 10 min; without spares it waits for the
/// repair and ends at 6 h + 2 h = 8 h.
#[test]
fn hot_spare_swaps_in_after_its_delay() {
    let c = common::cluster(&[("H100", 3, 8)]);
    let w = common::workload(vec![common::job(0.0, 7200.0, 16, 1000)]);
    let spare = SpareConfig {
        per: SparePer::Rack,
        count: 1,
        swap_min: 10.0,
    };
    let with = run_log(&c, &w, vec![(3600.0, 0)], 5.0, Some(spare), None, 0);
    assert_eq!(with.jobs[0].end, Some(SimTime::from_secs(3 * 3600 + 600)));
    let without = run_log(&c, &w, vec![(3600.0, 0)], 5.0, None, None, 0);
    // Node 2 is free without spares: the job restarts at once on nodes 1 and 2.
    assert_eq!(without.jobs[0].end, Some(SimTime::from_secs(3 * 3600)));
    let w24 = common::workload(vec![common::job(0.0, 7200.0, 24, 1000)]);
    let whole = run_log(&c, &w24, vec![(3600.0, 0)], 5.0, None, None, 0);
    assert_eq!(whole.jobs[0].end, Some(SimTime::from_secs(8 * 3600)));
}

/// Hot spares are set aside before the first placement: 3 nodes of 8 GPUs in one rack,
/// one spare per rack, three 1 h jobs of 8 GPUs at t = 0 and no failure. Two run 0–1 h on
/// the two working nodes and the third waits for one: it ends at 2 h, not 1 h (as it did
/// when spares were set aside only after the first scheduling pass).
#[test]
fn spares_are_set_aside_before_any_job_starts() {
    let c = common::cluster(&[("H100", 3, 8)]);
    let w = common::workload((0..3).map(|_| common::job(0.0, 3600.0, 8, 1000)).collect());
    let spare = SpareConfig {
        per: SparePer::Rack,
        count: 1,
        swap_min: 10.0,
    };
    let out = run_log(&c, &w, vec![], 5.0, Some(spare), None, 0);
    let ends: Vec<_> = out.jobs.iter().map(|j| j.end).collect();
    let h = |x: u64| Some(SimTime::from_secs(x * 3600));
    assert_eq!(ends, vec![h(1), h(1), h(2)]);
}

/// Hand-worked: a 24-GPU job on all 3 nodes, nodes 0 and 1 fail at 1 h and 1 h + 1 s,
/// repairs take 2 h. With one repair at a time node 1's repair starts at 3 h and ends at
/// 5 h, so the job restarts at 5 h and ends at 7 h; with no limit it ends at 5 h + 1 s.
/// With cordoning after one failure the nodes never come back and the job stays
/// unfinished (not dropped).
#[test]
fn repair_limit_and_cordoning() {
    let c = common::cluster(&[("H100", 3, 8)]);
    let w = common::workload(vec![common::job(0.0, 7200.0, 24, 1000)]);
    let log = vec![(3600.0, 0), (3601.0, 1)];
    let one = run_log(&c, &w, log.clone(), 2.0, None, None, 1);
    assert_eq!(one.jobs[0].end, Some(SimTime::from_secs(7 * 3600)));
    let any = run_log(&c, &w, log.clone(), 2.0, None, None, 0);
    assert_eq!(any.jobs[0].end, Some(SimTime::from_secs(5 * 3600 + 1)));
    let cordon = CordonConfig {
        failures: 1,
        window_h: 24.0,
    };
    let lemon = run_log(&c, &w, log, 2.0, None, Some(cordon), 0);
    assert_eq!(lemon.jobs[0].outcome, dcsim::metrics::Outcome::Unfinished);
}

/// A node failure replayed at each of `at_s` on node 0 (cause "node", repaired at once),
/// checkpoints `ckpt`, `retry_limit`, under `queue`.
fn run_failing(
    c: &Cluster,
    w: &Workload,
    at_s: &[f64],
    ckpt: CheckpointConfig,
    retry_limit: Option<u32>,
    queue: Box<dyn dcsim::scheduler::QueuePolicy>,
) -> RunOutput {
    let log = at_s
        .iter()
        .map(|&t| LoggedFailure {
            at: SimTime::try_from_secs_f64(t).unwrap(),
            component: Component {
                kind: ComponentKind::Node,
                index: 0,
            },
            cause: "node".into(),
        })
        .collect();
    let model = ReliabilityModel::new(
        c,
        w,
        &[node_cause(1.0, 0.0)],
        Some(log),
        ckpt,
        None,
        None,
        0,
        &RngStreams::new(1),
    )
    .with_retry_limit(retry_limit);
    Simulation::new(
        c,
        w,
        queue,
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

/// Hand-worked retry limit: one 8-GPU node, a 2 h job from t = 0, no checkpoints, the
/// node failing at 1 h and 2 h 30 min and repaired at once. Unlimited: it loses its
/// first hour, restarts at 1 h, loses 1 h 30 min at 2 h 30 min and ends at 4 h 30 min.
/// With `retry_limit = 1` the second failure ends it as failed at 2 h 30 min; with 0,
/// the first at 1 h. A failed job counts in `jobs_failed`, not among the completed.
#[test]
fn retry_limit_ends_a_job_as_failed() {
    let c = common::cluster(&[("H100", 1, 8)]);
    let w = common::workload(vec![common::job(0.0, 7200.0, 8, 1000)]);
    let none = CheckpointConfig::default();
    let fifo = || registry::queue_policy("fifo").unwrap();
    let at = [3600.0, 9000.0];
    let free = run_failing(&c, &w, &at, none, None, fifo());
    assert_eq!(free.jobs[0].outcome, dcsim::metrics::Outcome::Completed);
    assert_eq!(free.jobs[0].end, Some(SimTime::from_secs(16_200)));
    assert_eq!(free.jobs[0].lost_work, SimTime::from_secs(3600 + 5400));
    assert_eq!(free.summary.jobs_failed, 0);
    for (limit, end) in [(1, 9000), (0, 3600)] {
        let out = run_failing(&c, &w, &at, none, Some(limit), fifo());
        let j = &out.jobs[0];
        assert_eq!(j.outcome, dcsim::metrics::Outcome::Failed, "limit {limit}");
        assert_eq!(
            (j.start, j.end),
            (Some(SimTime::ZERO), Some(SimTime::from_secs(end)))
        );
        assert_eq!((out.summary.jobs_failed, out.summary.completed), (1, 0));
        let r = out.models.reliability.unwrap();
        assert_eq!(r.jobs[0].interruptions, limit + 1);
    }
}

/// Highest priority first; a waiting job evicts a lower-priority running one (the test
/// double of `tests/preemption.rs`).
#[derive(Default)]
struct EvictLowerPriority {
    waiting: Vec<dcsim::scheduler::QueuedJob>,
}

impl dcsim::scheduler::QueuePolicy for EvictLowerPriority {
    fn name(&self) -> &'static str {
        "test-evict"
    }

    fn enqueue(&mut self, job: dcsim::scheduler::QueuedJob) {
        self.waiting.push(job);
        self.waiting
            .sort_by_key(|j| (std::cmp::Reverse(j.priority), j.submit, j.id));
    }

    fn schedule(&mut self, ctx: &mut dyn dcsim::scheduler::SchedContext) {
        while let Some(head) = self.waiting.first().copied() {
            if ctx.try_start(&head) {
                self.waiting.remove(0);
                continue;
            }
            let victim = (ctx.running().iter())
                .find(|r| r.job.priority < head.priority)
                .map(|r| r.job.id);
            match victim.and_then(|v| ctx.preempt(v)) {
                Some(evicted) => self.enqueue(evicted),
                None => break,
            }
        }
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// Preemption reuses the failure path's checkpoint accounting (`Model::stop_loss`),
/// hand-worked: one 8-GPU node, A (3 h of work, priority 0) from t = 0 checkpointing
/// every 60 min at no cost with a 2 min restart; B (10 min, priority 1) arrives at
/// 1 h 45 min and evicts A. A loses the 45 min since its checkpoint at 1 h (the
/// scenario's own preemption rule, free here, would lose nothing), B runs to 1 h 55 min,
/// A resumes with 2 h of work plus its 2 min restore and ends at 3 h 57 min. No failure
/// happens.
#[test]
fn preemption_loses_the_work_since_the_models_checkpoint() {
    let c = common::cluster(&[("H100", 1, 8)]);
    let mut b = common::job(6300.0, 600.0, 8, 1000);
    b.priority = 1;
    let w = common::workload(vec![common::job(0.0, 3.0 * 3600.0, 8, 1000), b]);
    let out = run_failing(
        &c,
        &w,
        &[],
        fixed(60.0, 0.0, 120.0),
        None,
        Box::new(EvictLowerPriority::default()),
    );
    let (a, b) = (&out.jobs[0], &out.jobs[1]);
    assert_eq!(b.end, Some(SimTime::from_secs(6900)));
    assert_eq!(a.preemptions, 1);
    assert_eq!(a.lost_work, SimTime::from_secs(45 * 60));
    assert_eq!(a.end, Some(SimTime::from_secs(3 * 3600 + 57 * 60)));
    let r = out.models.reliability.unwrap();
    assert!(
        (r.jobs[0].lost_gpu_h - 0.75 * 8.0).abs() < 1e-9,
        "{}",
        r.jobs[0].lost_gpu_h
    );
    assert_eq!(r.jobs[0].interruptions, 0);
}

/// `n` one-node jobs of 8 GPUs and 90 min of work from t = 0 on 4 nodes, checkpointing
/// every 60 min a 1,000 GB checkpoint to `storage`; no failure.
fn checkpoint_wave(n: usize, storage: dcsim::reliability::config::StorageConfig) -> RunOutput {
    let c = common::cluster(&[("H100", 4, 8)]);
    let w = common::workload((0..n).map(|_| common::job(0.0, 5400.0, 8, 1000)).collect());
    let ckpt = CheckpointConfig {
        size_gb: 1000.0,
        ..fixed(60.0, 0.0, 0.0)
    };
    let model = ReliabilityModel::new(
        &c,
        &w,
        &[node_cause(1.0, 0.0)],
        Some(vec![]),
        ckpt,
        None,
        None,
        0,
        &RngStreams::new(1),
    )
    .with_storage(Some(storage));
    Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

/// A synchronous checkpoint of N jobs on a shared tier takes N× one job's time when the
/// tier is the bottleneck, hand-worked: each job's nodes write at 100 GB/s, the tier
/// gives 10 GB/s in all, so one job writes its 1,000 GB in 100 s and N jobs writing at
/// once share the tier (10/N GB/s each, max-min) and each take N × 100 s; every job then
/// ends at 90 min + N × 100 s. When the tier is not the bottleneck (1,000 GB/s) each
/// write takes 10 s at its nodes' bound, whatever N.
#[test]
fn synchronous_checkpoints_share_the_tier() {
    use dcsim::reliability::config::StorageConfig;
    for n in 1..=4 {
        let slow = StorageConfig {
            node_gbps: 100.0,
            shared_gbps: Some(10.0),
            ..StorageConfig::default()
        };
        let fast = StorageConfig {
            shared_gbps: Some(1000.0),
            ..slow.clone()
        };
        for (storage, each_s) in [(slow, 100 * n as u64), (fast, 10)] {
            let out = checkpoint_wave(n, storage);
            let r = out.models.reliability.unwrap();
            for (rec, j) in out.jobs.iter().zip(&r.jobs) {
                assert_eq!(j.checkpoints, 1);
                assert!(
                    (j.checkpoint_s - each_s as f64).abs() < 1e-9,
                    "n {n}: {}",
                    j.checkpoint_s
                );
                assert_eq!(rec.end, Some(SimTime::from_secs(5400 + each_s)), "n {n}");
            }
        }
    }
}

/// Fault isolation, hand-worked: 3 nodes of 8 GPUs, node 0 fails at 30 min and is
/// repaired at once. At 1 h a large job (8 GPUs, `large_job_gpus = 8`) and a small one
/// (4 GPUs) arrive: first-fit puts the large one on node 0 without isolation, on node 1
/// with it (node 0 is noisy for 24 h), and the small one on node 0 either way. A large
/// job arriving after the window (24 h 30 min + 1 s) may use node 0 again.
#[test]
fn isolation_keeps_large_jobs_off_noisy_nodes() {
    use dcsim::reliability::config::IsolationConfig;
    let c = common::cluster(&[("H100", 3, 8)]);
    let w = common::workload(vec![
        common::job(3600.0, 600.0, 8, 1000),
        common::job(3600.0, 600.0, 4, 1000),
        common::job(88_201.0, 600.0, 8, 1000),
    ]);
    let nodes_of = |isolation: Option<IsolationConfig>| {
        let log = vec![LoggedFailure {
            at: SimTime::from_secs(1800),
            component: Component {
                kind: ComponentKind::Node,
                index: 0,
            },
            cause: "node".into(),
        }];
        let model = ReliabilityModel::new(
            &c,
            &w,
            &[node_cause(1.0, 0.0)],
            Some(log),
            CheckpointConfig::default(),
            None,
            None,
            0,
            &RngStreams::new(1),
        )
        .with_isolation(isolation);
        let out = Simulation::new(
            &c,
            &w,
            registry::queue_policy("fifo").unwrap(),
            registry::placement("first-fit").unwrap(),
            SimConfig::default(),
        )
        .with_models(vec![Box::new(model) as Box<dyn Model>])
        .run(&mut |_| {});
        let mut nodes = vec![u32::MAX; 3];
        for s in &out.segments {
            nodes[s.job.0 as usize] = out.grants[s.first_grant as usize].node.0;
        }
        nodes
    };
    assert_eq!(nodes_of(None), vec![0, 1, 0]);
    let iso = IsolationConfig {
        large_job_gpus: 8,
        failures: 1,
        window_h: 24.0,
        separate: false,
        separate_per: None,
    };
    assert_eq!(nodes_of(Some(iso)), vec![1, 0, 0]);
}

/// Packing small jobs away from large ones, hand-worked: 2 nodes of 8 GPUs, a 12-GPU
/// job (large from 12) for 1 h and a 4-GPU job for 1 h, both at t = 0. First-fit puts the
/// large one on all of node 0 and half of node 1; the small one fits in node 1's other
/// half and ends at 1 h, unless `separate` keeps it off node 1: then it waits for the
/// large one to end and runs 1–2 h.
#[test]
fn separate_keeps_small_jobs_off_nodes_of_large_ones() {
    let c = common::cluster(&[("H100", 2, 8)]);
    let w = common::workload(vec![
        common::job(0.0, 3600.0, 12, 1000),
        common::job(0.0, 3600.0, 4, 1000),
    ]);
    let small = |separate: bool| {
        let out = run_separated(&c, &w, 12, separate, None);
        assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(3600)));
        out.jobs[1].end
    };
    assert_eq!(small(false), Some(SimTime::from_secs(3600)));
    assert_eq!(small(true), Some(SimTime::from_secs(7200)));
}

/// `w` on `c` (first-fit, no failure) with `isolation.separate` for jobs of
/// `large_job_gpus` and up, per `per`.
fn run_separated(
    c: &Cluster,
    w: &Workload,
    large_job_gpus: u32,
    separate: bool,
    per: Option<dcsim::reliability::config::SeparatePer>,
) -> RunOutput {
    use dcsim::reliability::config::IsolationConfig;
    let iso = IsolationConfig {
        large_job_gpus,
        failures: 1,
        window_h: 24.0,
        separate,
        separate_per: per,
    };
    let model = ReliabilityModel::new(
        c,
        w,
        &[node_cause(1.0, 0.0)],
        Some(vec![]),
        CheckpointConfig::default(),
        None,
        None,
        0,
        &RngStreams::new(1),
    )
    .with_isolation(Some(iso));
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

/// Separation per rack, hand-worked: rack 0 holds nodes 0 and 1, rack 1 node 2 (8 GPUs
/// each); an 8-GPU job (large from 8) and a 4-GPU job of 1 h at t = 0. First-fit puts
/// the large one on node 0. Per node, the small one goes to node 1, beside it in rack 0;
/// per rack it goes to node 2. On one rack of 2 nodes it still runs at once on node 1
/// per node, but per rack it waits for the large one and runs 1–2 h on node 0.
#[test]
fn separate_per_rack_keeps_racks_apart() {
    use dcsim::reliability::config::SeparatePer;
    let w = common::workload(vec![
        common::job(0.0, 3600.0, 8, 1000),
        common::job(0.0, 3600.0, 4, 1000),
    ]);
    let node_of_small = |c: &Cluster, per| {
        let out = run_separated(c, &w, 8, true, per);
        let seg = out.segments.iter().find(|s| s.job.0 == 1).unwrap();
        (out.grants[seg.first_grant as usize].node.0, out.jobs[1].end)
    };
    let two_racks = common::cluster(&[("H100", 2, 8), ("H100", 1, 8)]);
    let hour = |h: u64| Some(SimTime::from_secs(h * 3600));
    assert_eq!(node_of_small(&two_racks, None), (1, hour(1)));
    assert_eq!(node_of_small(&two_racks, Some(SeparatePer::Node)), (1, hour(1)));
    assert_eq!(node_of_small(&two_racks, Some(SeparatePer::Rack)), (2, hour(1)));
    let one_rack = common::cluster(&[("H100", 2, 8)]);
    assert_eq!(node_of_small(&one_rack, Some(SeparatePer::Node)), (1, hour(1)));
    assert_eq!(node_of_small(&one_rack, Some(SeparatePer::Rack)), (0, hour(2)));
}

/// `n` 8-GPU jobs of 3 h of work, one a node, checkpointing 1,000 GB every 60 min in two
/// stages (local SSD at 100 GB/s, then a drain at the node's 10 GB/s to a `shared_gbps`
/// shared tier), with one failure of node 0 replayed at `fail_s` of `cause` (component
/// `node`, repaired at once); `keeps_local` as in `[reliability.storage]`.
fn two_stage_run(n: usize, shared_gbps: f64, fail_s: f64, cause: &str, keeps_local: &[&str]) -> RunOutput {
    let c = common::cluster(&[("H100", n as u32, 8)]);
    let w = common::workload((0..n).map(|_| common::job(0.0, 10_800.0, 8, 1000)).collect());
    let log = vec![node_failure(fail_s, 0, cause)];
    run_two_stage(
        &c,
        &w,
        log,
        shared_gbps,
        keeps_local,
        registry::queue_policy("fifo").unwrap(),
    )
}

/// A failure of node `node` at `at_s` from `cause`, as a log row.
fn node_failure(at_s: f64, node: u64, cause: &str) -> LoggedFailure {
    LoggedFailure {
        at: SimTime::try_from_secs_f64(at_s).unwrap(),
        component: Component {
            kind: ComponentKind::Node,
            index: node,
        },
        cause: cause.into(),
    }
}

/// `w` on `c` under `queue`, with the failures of `log` (causes `node` and
/// `software-bug`, repaired at once) and 1,000 GB checkpoints every 60 min written in
/// two stages: local SSD at 100 GB/s, then a drain at the node's 10 GB/s to a
/// `shared_gbps` tier; `keeps_local` as in `[reliability.storage]`.
fn run_two_stage(
    c: &Cluster,
    w: &Workload,
    log: Vec<LoggedFailure>,
    shared_gbps: f64,
    keeps_local: &[&str],
    queue: Box<dyn dcsim::scheduler::QueuePolicy>,
) -> RunOutput {
    use dcsim::reliability::config::StorageConfig;
    let ckpt = CheckpointConfig {
        size_gb: 1000.0,
        ..fixed(60.0, 0.0, 0.0)
    };
    let software = Cause {
        name: "software-bug".into(),
        ..node_cause(1.0, 0.0)
    };
    let storage = StorageConfig {
        node_gbps: 10.0,
        shared_gbps: Some(shared_gbps),
        ssd_gbps: Some(100.0),
        keeps_local: keeps_local.iter().map(|s| s.to_string()).collect(),
    };
    let model = ReliabilityModel::new(
        c,
        w,
        &[node_cause(1.0, 0.0), software],
        Some(log),
        ckpt,
        None,
        None,
        0,
        &RngStreams::new(1),
    )
    .with_storage(Some(storage));
    Simulation::new(
        c,
        w,
        queue,
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

/// Two-stage checkpoints, hand-worked. The job pauses only for its SSD write, 1,000 GB
/// / 100 GB/s = 10 s (3,600–3,610 s); the drain then takes 1,000 GB / 10 GB/s = 100 s
/// on the idle tier (3,610–3,710 s) while the job trains on.
/// * A node failure at 3,660 s, 50 s into the drain, takes the only copy of the 1 h
///   checkpoint: the job restores from its start and loses all 3,650 s of work; it
///   reruns 3 h with two 10 s pauses and ends at 3,660 + 10,800 + 20 = 14,480 s.
/// * The same failure from a cause listed in `keeps_local` (a software bug: the SSD
///   survives) restores from the local copy: 50 s lost, 2 h left with one pause, end
///   3,660 + 7,200 + 10 = 10,870 s.
/// * A node failure at 3,720 s, after the drain, restores from the drained copy: 110 s
///   lost, end 3,720 + 7,200 + 10 = 10,930 s.
#[test]
fn two_stage_checkpoint_lost_before_its_drain() {
    for (fail_s, cause, keeps, lost_s, end_s, ckpts) in [
        (3660.0, "node", &[][..], 3650.0, 14_480, 3),
        (3660.0, "software-bug", &["software-bug"][..], 50.0, 10_870, 2),
        (3660.0, "software-bug", &[][..], 3650.0, 14_480, 3),
        (3720.0, "node", &[][..], 110.0, 10_930, 2),
    ] {
        let out = two_stage_run(1, 100.0, fail_s, cause, keeps);
        let r = out.models.reliability.unwrap();
        let j = &r.jobs[0];
        assert_eq!(
            out.jobs[0].end,
            Some(SimTime::from_secs(end_s)),
            "{cause} at {fail_s}"
        );
        assert_eq!(j.interruptions, 1);
        assert_eq!(j.checkpoints, ckpts, "{cause} at {fail_s}");
        assert!(
            (j.checkpoint_s - 10.0 * f64::from(ckpts)).abs() < 1e-9,
            "{}",
            j.checkpoint_s
        );
        assert!(
            (j.lost_gpu_h - lost_s * 8.0 / 3600.0).abs() < 1e-9,
            "{cause} at {fail_s}: {}",
            j.lost_gpu_h
        );
    }
}

/// Checkpoint sizes from the model a job trains, hand-worked: two one-node jobs of 90
/// min, checkpointing at 60 min to a 1,000 GB/s tier at 100 GB/s a node. The job of
/// class `llama-70b` (70 B parameters × 14 bytes, mixed-precision Adam after ZeRO §3.1)
/// writes 980 GB in 9.8 s and ends at 5,409.8 s; the job without a class writes the
/// configured 1,000 GB in 10 s and ends at 5,410 s. A class the workload lacks is an
/// error naming its key.
#[test]
fn checkpoint_size_from_the_model() {
    use dcsim::reliability::config::{ModelSizeConfig, StorageConfig};
    let c = common::cluster(&[("H100", 2, 8)]);
    let mut w = common::workload(vec![
        common::job(0.0, 5400.0, 8, 1000),
        common::job(0.0, 5400.0, 8, 1000),
    ]);
    w.classes = vec!["llama-70b".into()];
    w.jobs[0].class = Some(dcsim::workload::ClassId(0));
    let ckpt = CheckpointConfig {
        size_gb: 1000.0,
        ..fixed(60.0, 0.0, 0.0)
    };
    let sizes = ModelSizeConfig {
        bytes_per_param: 14.0,
        params_b: [("llama-70b".to_string(), 70.0)].into_iter().collect(),
    };
    let storage = StorageConfig {
        node_gbps: 100.0,
        shared_gbps: Some(1000.0),
        ..StorageConfig::default()
    };
    let model = |w: &dcsim::workload::Workload, sizes: &ModelSizeConfig| {
        ReliabilityModel::new(
            &c,
            w,
            &[node_cause(1.0, 0.0)],
            Some(vec![]),
            ckpt,
            None,
            None,
            0,
            &RngStreams::new(1),
        )
        .with_storage(Some(storage.clone()))
        .with_model_sizes(w, Some(sizes))
    };
    let m = model(&w, &sizes).unwrap();
    let out = Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(m) as Box<dyn Model>])
    .run(&mut |_| {});
    let r = out.models.reliability.unwrap();
    assert!(
        (r.jobs[0].checkpoint_s - 9.8).abs() < 1e-9,
        "{}",
        r.jobs[0].checkpoint_s
    );
    assert!(
        (r.jobs[1].checkpoint_s - 10.0).abs() < 1e-9,
        "{}",
        r.jobs[1].checkpoint_s
    );
    assert_eq!(out.jobs[0].end, Some(SimTime(5_409_800)));
    assert_eq!(out.jobs[1].end, Some(SimTime(5_410_000)));
    let wrong = ModelSizeConfig {
        params_b: [("gpt-3".to_string(), 175.0)].into_iter().collect(),
        ..sizes
    };
    let e = model(&w, &wrong).err().unwrap();
    assert_eq!(e.key, "reliability.model_size.params_b.gpt-3");
}

/// Drains share the tier max-min, hand-worked: two jobs as in
/// `two_stage_checkpoint_lost_before_its_drain` on a 10 GB/s tier drain their 1,000 GB
/// at 5 GB/s each from 3,610 s, so at 3,760 s (a failure of node 0) job 0's copy has
/// 750 GB drained and is lost: 3,750 s lost, end 3,760 + 10,800 + 20 = 14,580 s. Job 1
/// then drains its last 250 GB alone at 10 GB/s and ends untouched at 10,800 + 20 s.
/// Alone on the tier job 0's drain ends at 3,710 s and the same failure costs it 150 s:
/// end 3,760 + 7,200 + 10 = 10,970 s.
#[test]
fn drains_share_the_tier() {
    let two = two_stage_run(2, 10.0, 3760.0, "node", &[]);
    let r = two.models.reliability.unwrap();
    assert_eq!(two.jobs[0].end, Some(SimTime::from_secs(14_580)));
    assert!(
        (r.jobs[0].lost_gpu_h - 3750.0 * 8.0 / 3600.0).abs() < 1e-9,
        "{}",
        r.jobs[0].lost_gpu_h
    );
    assert_eq!(two.jobs[1].end, Some(SimTime::from_secs(10_820)));
    assert_eq!(r.jobs[1].interruptions, 0);
    let one = two_stage_run(1, 10.0, 3760.0, "node", &[]);
    let r = one.models.reliability.unwrap();
    assert_eq!(one.jobs[0].end, Some(SimTime::from_secs(10_970)));
    assert!(
        (r.jobs[0].lost_gpu_h - 150.0 * 8.0 / 3600.0).abs() < 1e-9,
        "{}",
        r.jobs[0].lost_gpu_h
    );
}

/// A preempted job's local copy that has not drained is lost, hand-worked: one 8-GPU
/// node; A (3 h of work, priority 0) pauses 10 s for its SSD write at 1 h (3,600–3,610 s)
/// and drains 1,000 GB at 10 GB/s (3,610–3,710 s); B (10 min, priority 1) arrives and
/// evicts A.
/// * At 3,660 s, 50 s into the drain: A's nodes go to B and its undrained copy with
///   them, so A restores from its start: 3,650 s lost. B runs to 4,260 s; A reruns 3 h
///   with two 10 s pauses and ends at 4,260 + 10,800 + 20 = 15,080 s.
/// * At 3,720 s, after the drain: A restores from the drained copy, 110 s lost; B runs
///   to 4,320 s and A ends at 4,320 + 7,200 + 10 = 11,530 s.
#[test]
fn preemption_loses_an_undrained_copy() {
    let c = common::cluster(&[("H100", 1, 8)]);
    for (evict_s, lost_s, end_s) in [(3660.0, 3650, 15_080), (3720.0, 110, 11_530)] {
        let mut b = common::job(evict_s, 600.0, 8, 1000);
        b.priority = 1;
        let w = common::workload(vec![common::job(0.0, 10_800.0, 8, 1000), b]);
        let out = run_two_stage(
            &c,
            &w,
            vec![],
            100.0,
            &[],
            Box::new(EvictLowerPriority::default()),
        );
        let a = &out.jobs[0];
        assert_eq!(a.preemptions, 1);
        assert_eq!(a.lost_work, SimTime::from_secs(lost_s), "evicted at {evict_s}");
        assert_eq!(a.end, Some(SimTime::from_secs(end_s)), "evicted at {evict_s}");
        let r = out.models.reliability.unwrap();
        assert!(
            (r.jobs[0].lost_gpu_h - lost_s as f64 * 8.0 / 3600.0).abs() < 1e-9,
            "{}",
            r.jobs[0].lost_gpu_h
        );
        assert_eq!(r.jobs[0].interruptions, 0);
    }
}

/// A finished job's last checkpoint need not drain: its drain is dropped and its share
/// of the tier goes to the others, hand-worked. Two one-node jobs on a 10 GB/s tier: X
/// (1 h 50 s of work) and Y (3 h) write at 1 h (pause to 3,610 s) and drain 1,000 GB
/// each at 5 GB/s. X ends at 3,660 s with 250 GB drained; Y, 250 GB drained too, drains
/// its last 750 GB alone at 10 GB/s and is safe at 3,735 s (had X's drain gone on, both
/// would end at 3,810 s). Y's node fails at 3,750 s: Y restores from the drained copy
/// and loses 140 s (else 3,740 s), ending at 3,750 + 7,200 + 10 = 10,960 s.
#[test]
fn a_finished_jobs_drain_frees_the_tier() {
    let c = common::cluster(&[("H100", 2, 8)]);
    let w = common::workload(vec![
        common::job(0.0, 3650.0, 8, 1000),
        common::job(0.0, 10_800.0, 8, 1000),
    ]);
    let log = vec![node_failure(3750.0, 1, "node")];
    let out = run_two_stage(&c, &w, log, 10.0, &[], registry::queue_policy("fifo").unwrap());
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(3660)));
    assert_eq!(out.jobs[1].lost_work, SimTime::from_secs(140));
    assert_eq!(out.jobs[1].end, Some(SimTime::from_secs(10_960)));
}

/// A job's own checkpoint size from the generic CSV (`checkpoint_gb`), hand-worked: read
/// and written back; a bad cell is an error naming its line and column; and in a run it
/// comes before the class's model size. Jobs of 90 min checkpoint at 60 min at 100 GB/s
/// a node to a 1,000 GB/s tier: `a` (class `llama-70b`, 980 GB by model) gives 500 GB,
/// 5 s, ending at 5,405 s; `b` (no size, no class) writes the configured 1,000 GB, 10 s,
/// ending at 5,410 s.
#[test]
fn checkpoint_size_from_the_trace() {
    use dcsim::reliability::config::{ModelSizeConfig, StorageConfig};
    use dcsim::workload::adapters::{read_trace, write_generic, TraceFormat};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(
        &p,
        "id,submit_s,duration_s,gpus,class,checkpoint_gb\na,0,5400,8,llama-70b,500\nb,0,5400,8,,\n",
    )
    .unwrap();
    let w = read_trace(TraceFormat::Generic, &p).unwrap();
    assert_eq!(
        (w.jobs[0].checkpoint_gb, w.jobs[1].checkpoint_gb),
        (Some(500.0), None)
    );
    let mut out = Vec::new();
    write_generic(&w, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with(",class,checkpoint_gb"),
        "{text}"
    );
    let q = dir.path().join("back.csv");
    std::fs::write(&q, &text).unwrap();
    let back = read_trace(TraceFormat::Generic, &q).unwrap();
    assert_eq!(back.jobs[0].checkpoint_gb, Some(500.0));
    for bad in ["0", "-3", "big", "inf"] {
        std::fs::write(
            &q,
            format!("id,submit_s,duration_s,gpus,checkpoint_gb\na,0,1,1,10\nb,0,1,1,{bad}\n"),
        )
        .unwrap();
        match read_trace(TraceFormat::Generic, &q) {
            Err(dcsim::workload::WorkloadError::Row { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(
                    message.contains("`checkpoint_gb`") && message.contains(bad),
                    "{message}"
                );
            }
            other => panic!("expected a row error for {bad}, got {other:?}"),
        }
    }
    let c = common::cluster(&[("H100", 2, 8)]);
    let sizes = ModelSizeConfig {
        bytes_per_param: 14.0,
        params_b: [("llama-70b".to_string(), 70.0)].into_iter().collect(),
    };
    let model = ReliabilityModel::new(
        &c,
        &w,
        &[node_cause(1.0, 0.0)],
        Some(vec![]),
        CheckpointConfig {
            size_gb: 1000.0,
            ..fixed(60.0, 0.0, 0.0)
        },
        None,
        None,
        0,
        &RngStreams::new(1),
    )
    .with_storage(Some(StorageConfig {
        node_gbps: 100.0,
        shared_gbps: Some(1000.0),
        ..StorageConfig::default()
    }))
    .with_model_sizes(&w, Some(&sizes))
    .unwrap();
    let out = Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {});
    let r = out.models.reliability.unwrap();
    assert!(
        (r.jobs[0].checkpoint_s - 5.0).abs() < 1e-9,
        "{}",
        r.jobs[0].checkpoint_s
    );
    assert!(
        (r.jobs[1].checkpoint_s - 10.0).abs() < 1e-9,
        "{}",
        r.jobs[1].checkpoint_s
    );
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(5405)));
    assert_eq!(out.jobs[1].end, Some(SimTime::from_secs(5410)));
}

/// A rack-level failure takes down everything below it, hand-worked: rack 0 holds nodes
/// 0 and 1, rack 1 node 2; three 8-GPU jobs of 2 h from t = 0, one a node, no
/// checkpoints. A failure of rack 0's PDU (or its leaf switch) at 1 h, repaired at once,
/// stops the two jobs in rack 0: blast radius 2 jobs, 16 GPUs idled, 16 GPU-hours lost;
/// both rerun 2 h and end at 3 h, while the job in rack 1 ends at 2 h untouched.
#[test]
fn a_rack_failure_stops_every_job_below_it() {
    let c = common::cluster(&[("H100", 2, 8), ("H100", 1, 8)]);
    let w = common::workload((0..3).map(|_| common::job(0.0, 7200.0, 8, 1000)).collect());
    for kind in [ComponentKind::RackPdu, ComponentKind::LeafSwitch] {
        let log = vec![LoggedFailure {
            at: SimTime::from_secs(3600),
            component: Component { kind, index: 0 },
            cause: "rack".into(),
        }];
        let model = ReliabilityModel::new(
            &c,
            &w,
            &[node_cause(1.0, 0.0)],
            Some(log),
            CheckpointConfig::default(),
            None,
            None,
            0,
            &RngStreams::new(1),
        );
        let out = Simulation::new(
            &c,
            &w,
            registry::queue_policy("fifo").unwrap(),
            registry::placement("first-fit").unwrap(),
            SimConfig::default(),
        )
        .with_models(vec![Box::new(model) as Box<dyn Model>])
        .run(&mut |_| {});
        let ends: Vec<_> = out.jobs.iter().map(|j| j.end).collect();
        let h = |n: u64| Some(SimTime::from_secs(n * 3600));
        assert_eq!(ends, vec![h(3), h(3), h(2)], "{kind:?}");
        let r = out.models.reliability.unwrap();
        let f = &r.failures[0];
        assert_eq!(
            (f.jobs_hit, f.gpus_idled, f.gpus_of_jobs_hit),
            (2, 16, 16),
            "{kind:?}"
        );
        assert!((f.lost_gpu_h - 16.0).abs() < 1e-9, "{}", f.lost_gpu_h);
        assert_eq!(r.jobs[2].interruptions, 0);
    }
}
