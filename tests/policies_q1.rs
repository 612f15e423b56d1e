//! The duration-aware, backfilling and preemptive queue policies (sjf, srtf, easy,
//! conservative, priority): hand-worked schedules, property tests, and the published
//! direction on the real Philly trace.

mod common;

use std::path::Path;

use proptest::prelude::*;

use dcsim::engine::SimTime;
use dcsim::metrics::Outcome;
use dcsim::scheduler::params::PolicyError;
use dcsim::scheduler::registry;
use dcsim::sim::{PreemptionCost, RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::adapters::{read_trace, TraceFormat};
use dcsim::workload::transform::{self, TransformConfig};
use dcsim::workload::{JobSpec, Workload};

/// Runs `queue` (with its `[scheduler.params.<queue>]` table written as TOML in
/// `params`) and `placement` on `cluster`.
fn run_on(
    cluster: &Cluster,
    w: &Workload,
    queue: &str,
    params: &str,
    placement: &str,
    config: SimConfig,
) -> RunOutput {
    let table: toml::Table = toml::from_str(params).expect("test params parse");
    let policy = registry::build_queue(queue, &table, 42).expect("known policy, valid params");
    Simulation::new(
        cluster,
        w,
        policy,
        registry::placement(placement).expect("known placement"),
        config,
    )
    .run(&mut |_| {})
}

/// Start times in seconds, in job order, on one node of `gpus` GPUs.
fn starts(gpus: u32, jobs: Vec<JobSpec>, queue: &str, params: &str) -> Vec<u64> {
    let c = common::cluster(&[("A", 1, gpus)]);
    let w = common::workload(jobs);
    run_on(&c, &w, queue, params, "best-fit", SimConfig::default())
        .jobs
        .iter()
        .map(|r| r.start.expect("every job runs").as_ms() / 1000)
        .collect()
}

fn prio(mut j: JobSpec, p: i32) -> JobSpec {
    j.priority = p;
    j
}

/// 5 s to restore a checkpoint, checkpoints free (taken at preemption).
const RESTORE_5S: SimConfig = SimConfig {
    mode: dcsim::sim::Mode::Queue,
    preemption: PreemptionCost {
        checkpoint_interval_s: 0.0,
        restore_s: 5.0,
    },
    model_choice: dcsim::sim::ModelChoice::Placement,
};

/// One 4-GPU node. a (submit 0, 10 s, 4 GPUs); b (1, 30 s, 2); c (2, 5 s, 2); d (3, 10 s, 2).
fn sjf_jobs() -> Vec<JobSpec> {
    vec![
        common::job(0.0, 10.0, 4, 1000),
        common::job(1.0, 30.0, 2, 1000),
        common::job(2.0, 5.0, 2, 1000),
        common::job(3.0, 10.0, 2, 1000),
    ]
}

#[test]
fn sjf_starts_the_shortest_waiting_job_first() {
    // a holds the node 0–10. At 10, b, c, d wait; SJF offers c (5 s), then d (10 s):
    // both start at 10 and fill the node. c ends at 15 and b (30 s) starts then.
    // FIFO-skip would start b and c at 10 and d at 15.
    assert_eq!(starts(4, sjf_jobs(), "sjf", ""), vec![0, 15, 10, 10]);
    assert_eq!(starts(4, sjf_jobs(), "fifo-skip", ""), vec![0, 10, 10, 15]);
}

#[test]
fn sjf_noisy_estimates_are_deterministic_and_exact_at_zero_sigma() {
    let exact = r#"estimate = "noisy"
error_sigma = 0.0"#;
    assert_eq!(starts(4, sjf_jobs(), "sjf", exact), vec![0, 15, 10, 10]);
    // σ = 1: some order, but the same one every run for the same seed.
    let noisy = r#"estimate = "noisy"
error_sigma = 1.0"#;
    assert_eq!(
        starts(4, sjf_jobs(), "sjf", noisy),
        starts(4, sjf_jobs(), "sjf", noisy)
    );
}

#[test]
fn estimate_params_are_checked() {
    let bad: toml::Table = toml::from_str(r#"estimate = "psychic""#).unwrap();
    let err = registry::build_queue("sjf", &bad, 0).err().expect("rejected");
    assert!(matches!(err, PolicyError::Param { .. }));
    assert!(err.to_string().contains("scheduler.params.sjf.estimate"), "{err}");
    let neg: toml::Table = toml::from_str("error_sigma = -1.0").unwrap();
    assert!(registry::build_queue("srtf", &neg, 0).is_err());
    let typo: toml::Table = toml::from_str("bf_max_jobs = 3").unwrap();
    assert!(registry::build_queue("easy", &typo, 0).is_err());
}

#[test]
fn easy_backfills_a_job_that_ends_before_the_shadow_time_and_refuses_one_that_would_not() {
    // One 4-GPU node. a (0, 10 s, 2 GPUs) runs 0–10. b (1, 10 s, 4) is the head and
    // blocks: its shadow time is 10 (a's end), with 2 + 2 − 4 = 0 extra GPUs.
    // c (2, 20 s, 1) fits now but would run to 22 > 10 and there is no extra GPU:
    // refused. d (3, 5 s, 1) ends at 8 ≤ 10: backfilled at 3. b starts at 10 as
    // reserved and ends at 20; c then starts at 20. FIFO-skip, with no reservation,
    // starts c at 2 and d at 3, and b waits for c's end at 22.
    let jobs = vec![
        common::job(0.0, 10.0, 2, 1000),
        common::job(1.0, 10.0, 4, 1000),
        common::job(2.0, 20.0, 1, 1000),
        common::job(3.0, 5.0, 1, 1000),
    ];
    assert_eq!(starts(4, jobs.clone(), "easy", ""), vec![0, 10, 20, 3]);
    assert_eq!(starts(4, jobs, "fifo-skip", ""), vec![0, 22, 2, 3]);
}

/// One 8-GPU node. a (0, 10 s, 6 GPUs); b (1, 10 s, 4); c (2, 10 s, 4); d (3, 30 s, 2).
fn easy_vs_conservative_jobs() -> Vec<JobSpec> {
    vec![
        common::job(0.0, 10.0, 6, 1000),
        common::job(1.0, 10.0, 4, 1000),
        common::job(2.0, 10.0, 4, 1000),
        common::job(3.0, 30.0, 2, 1000),
    ]
}

#[test]
fn easy_backfills_into_extra_gpus_even_if_that_delays_the_second_job() {
    // a runs 0–10, 2 GPUs free. Head b: shadow 10 (a's end frees 6), extra 2 + 6 − 4 = 4.
    // d (2 GPUs, to 33) fits now and uses 2 of the 4 extra GPUs: backfilled at 3.
    // At 10 b starts (6 free), leaving 2: c (4) waits for b's end at 20.
    assert_eq!(
        starts(8, easy_vs_conservative_jobs(), "easy", ""),
        vec![0, 10, 20, 3]
    );
}

#[test]
fn conservative_refuses_the_backfill_that_would_delay_a_later_reservation() {
    // Profile at 3: 2 GPUs free until 10, 8 after. b reserves [10, 20) × 4, c reserves
    // [10, 20) × 4 (the node is full then). d needs 2 GPUs for 30 s from 3: the window
    // crosses [10, 20) with 0 free, so d is reserved at 20 and does not start now.
    // At 10 b and c start together; d starts at 20. c starts 10 s earlier than under EASY.
    assert_eq!(
        starts(8, easy_vs_conservative_jobs(), "conservative", ""),
        vec![0, 10, 10, 20]
    );
}

#[test]
fn srtf_preempts_a_much_longer_job_and_the_victim_pays_the_restore() {
    // One 4-GPU node, restore 5 s, checkpoints free. a (0, 100 s, 4) runs from 0.
    // b (10, 10 s, 4) arrives: a has 90 s left > 2 × 10 s, so a is evicted at 10 and b
    // runs 10–20. a restarts at 20 with 90 s of work plus 5 s of restore: ends at 115.
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(10.0, 10.0, 4, 1000),
    ]);
    let out = run_on(&c, &w, "srtf", "", "best-fit", RESTORE_5S);
    let (a, b) = (&out.jobs[0], &out.jobs[1]);
    assert_eq!(
        (b.start, b.end),
        (Some(SimTime::from_secs(10)), Some(SimTime::from_secs(20)))
    );
    assert_eq!(
        (a.start, a.end, a.preemptions),
        (Some(SimTime::ZERO), Some(SimTime::from_secs(115)), 1)
    );
    assert_eq!(a.busy, SimTime::from_secs(10 + 95));
}

#[test]
fn srtf_does_not_preempt_within_the_anti_thrash_factor() {
    // a (0, 100 s, 4) has 40 s left when b (60, 30 s, 4) arrives: 40 ≤ 2 × 30, so no
    // eviction; b starts when a ends at 100.
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(60.0, 30.0, 4, 1000),
    ]);
    let out = run_on(&c, &w, "srtf", "", "best-fit", RESTORE_5S);
    assert_eq!(out.jobs[1].start, Some(SimTime::from_secs(100)));
    assert_eq!(out.summary.preemptions, 0);
    // With the factor at 1, 40 > 30 suffices: b evicts a at 60, runs 60–90; a restarts
    // at 90 with 40 + 5 s: ends at 135.
    let out = run_on(&c, &w, "srtf", "preempt_factor = 1.0", "best-fit", RESTORE_5S);
    assert_eq!(out.jobs[1].start, Some(SimTime::from_secs(60)));
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(135)));
}

#[test]
fn priority_evicts_the_lowest_priority_victim_first() {
    // One 4-GPU node, restore 5 s. a (0, 100 s, 2 GPUs, priority −1) and c (5, 100 s, 2,
    // priority 0) fill it. b (10, 10 s, 2, priority 1) evicts a (lowest priority, though
    // c started later), runs 10–20. a restarts at 20 with 90 + 5 s: ends at 115; c ends
    // at 105 untouched.
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        prio(common::job(0.0, 100.0, 2, 1000), -1),
        prio(common::job(5.0, 100.0, 2, 1000), 0),
        prio(common::job(10.0, 10.0, 2, 1000), 1),
    ]);
    let out = run_on(&c, &w, "priority", "", "best-fit", RESTORE_5S);
    let ends: Vec<u64> = out.jobs.iter().map(|r| r.end.unwrap().as_ms() / 1000).collect();
    assert_eq!(ends, vec![115, 105, 20]);
    assert_eq!(out.jobs[0].preemptions, 1);
}

#[test]
fn priority_evicts_the_most_recently_started_among_equals() {
    // As above with a and c both at priority 0: c (started at 5) is evicted. It did 5 s,
    // restarts at 20 with 95 + 5 s: ends at 120; a ends at 100. With preempt = false b
    // waits for a's end at 100.
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        prio(common::job(0.0, 100.0, 2, 1000), 0),
        prio(common::job(5.0, 100.0, 2, 1000), 0),
        prio(common::job(10.0, 10.0, 2, 1000), 1),
    ]);
    let out = run_on(&c, &w, "priority", "", "best-fit", RESTORE_5S);
    let ends: Vec<u64> = out.jobs.iter().map(|r| r.end.unwrap().as_ms() / 1000).collect();
    assert_eq!(ends, vec![100, 120, 20]);
    let out = run_on(&c, &w, "priority", "preempt = false", "best-fit", RESTORE_5S);
    assert_eq!(out.jobs[2].start, Some(SimTime::from_secs(100)));
    assert_eq!(out.summary.preemptions, 0);
}

/// The EASY guarantee, checked from the outside. Job j (FIFO order = id order) becomes
/// the head at τ = max(submit_j, starts of all jobs before it). Its reservation then is
/// the earliest t ≥ τ at which the jobs running at τ (started by τ, ending after τ;
/// jobs behind j that started at τ itself were backfilled in that same pass after the
/// reservation was made, so they are left out) have released enough GPUs for j.
/// EASY must start j no later than that.
///
/// Sound here because the setting makes EASY's assumptions exact: one GPU model,
/// whole-GPU jobs and pooled placement (a job fits iff enough GPUs are free, so the
/// policy's pooled count is placement's), oracle run times, no preemption. Backfilled
/// jobs either end by the shadow time or use GPUs beyond the head's need, so the
/// recomputed reservation never moves later (Mu'alem & Feitelson 2001).
fn check_easy_guarantee(gpus_total: u32, w: &Workload, out: &RunOutput) -> Result<(), TestCaseError> {
    let jobs: Vec<_> = out
        .jobs
        .iter()
        .filter(|r| r.outcome != Outcome::Skipped)
        .collect();
    let mut prefix_start = SimTime::ZERO;
    for (k, j) in jobs.iter().enumerate() {
        let tau = j.submit.max(prefix_start);
        let start = j.start.unwrap();
        prefix_start = prefix_start.max(start);
        if start == tau {
            continue;
        }
        let need = w.jobs[j.id.0 as usize].demand.gpus;
        let mut ends: Vec<(SimTime, u32)> = jobs
            .iter()
            .enumerate()
            .filter(|&(i, r)| {
                let (s, e) = (r.start.unwrap(), r.end.unwrap());
                s <= tau && e > tau && !(i > k && s == tau)
            })
            .map(|(_, r)| (r.end.unwrap(), r.demand.gpus))
            .collect();
        ends.sort();
        let mut free = gpus_total - ends.iter().map(|e| e.1).sum::<u32>();
        let mut shadow = tau;
        for (t, g) in ends {
            if free >= need {
                break;
            }
            free += g;
            shadow = t;
        }
        prop_assert!(
            start <= shadow,
            "job {} became head at {tau}, reservation {shadow}, started {start}",
            j.id.0
        );
    }
    Ok(())
}

fn arb_whole_jobs() -> impl Strategy<Value = Vec<JobSpec>> {
    prop::collection::vec((0u32..200, 1u32..100, 1u32..9), 1..60).prop_map(|v| {
        v.into_iter()
            .map(|(s, d, g)| common::job(f64::from(s), f64::from(d), g, 1000))
            .collect()
    })
}

/// Random jobs, whole gangs and fractional shares (as in tests/invariants.rs).
fn arb_mixed_jobs() -> impl Strategy<Value = Vec<JobSpec>> {
    prop::collection::vec(
        (
            0u32..300,
            1u32..200,
            prop_oneof![3 => (1u32..9).prop_map(|g| (g, 1000)), 1 => (1u32..1000).prop_map(|m| (1, m))],
            -1i32..2,
        ),
        1..80,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(s, d, (g, m), p)| prio(common::job(f64::from(s), f64::from(d), g, m), p))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// EASY never starts the head later than its reservation (see `check_easy_guarantee`).
    #[test]
    fn easy_never_delays_the_heads_reservation(nodes in 1u32..5, per_node in prop::sample::select(vec![1u32, 2, 4, 8]),
                                               jobs in arb_whole_jobs()) {
        let c = common::cluster(&[("A", nodes, per_node)]);
        let w = common::workload(jobs);
        let out = run_on(&c, &w, "easy", "", "pooled", SimConfig::default());
        check_easy_guarantee(nodes * per_node, &w, &out)?;
    }

    /// With free preemption (no lost work, no restore), every policy's busy GPU-time,
    /// from the segments and from the time series, equals Σ GPUs × duration over the
    /// jobs that ran: preemption and backfilling move work, never create or lose it.
    #[test]
    fn busy_gpu_time_equals_demand_under_every_policy(jobs in arb_mixed_jobs(),
                                                      queue in prop::sample::select(
                                                          registry::QUEUE_POLICIES.iter().map(|e| e.name).collect::<Vec<_>>())) {
        let c = common::cluster(&[("A", 2, 4), ("B", 1, 8)]);
        let w = common::workload(jobs);
        let out = run_on(&c, &w, queue, "", "best-fit", SimConfig::default());
        let demand: u128 = out.jobs.iter().filter(|r| r.outcome != Outcome::Skipped).map(|r| {
            u128::from(r.demand.total_milli()) * u128::from(w.jobs[r.id.0 as usize].duration.as_ms())
        }).sum();
        let from_segments: u128 = out.segments.iter().map(|g| {
            u128::from(w.jobs[g.job.0 as usize].demand.total_milli()) * u128::from((g.end - g.start).as_ms())
        }).sum();
        prop_assert_eq!(from_segments, demand);
        prop_assert_eq!(out.series.busy_integral(), demand);
    }
}

/// The Philly 2017 trace with its arrival rate scaled by `LOAD_SCALE`, on the published
/// Philly cluster (best-fit placement). Replayed as recorded the cluster is 15% busy and
/// nothing queues, so no policy can matter; ×6 makes the offered load about 0.9 of the
/// 2,490 GPUs, and Philly's bursts then build real queues.
const LOAD_SCALE: f64 = 6.0;

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn srtf_and_sjf_cut_mean_jct_against_fifo_on_philly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = root.join("../shared/traces/philly-2017-pollux/philly.csv");
    let cluster = dcsim::topology::load(&root.join("topologies/philly.toml")).expect("topology loads");
    let w = read_trace(TraceFormat::Philly, &trace).expect("trace reads");
    let cfg = TransformConfig {
        load_scale: Some(LOAD_SCALE),
        ..TransformConfig::default()
    };
    let w = transform::apply(w, &cfg).expect("transform applies");
    let jct = |q: &str| {
        let out = run_on(&cluster, &w, q, "", "best-fit", SimConfig::default());
        out.summary.jct_s.mean / 3600.0
    };
    let (fifo, skip, sjf, srtf, easy) = (
        jct("fifo"),
        jct("fifo-skip"),
        jct("sjf"),
        jct("srtf"),
        jct("easy"),
    );
    eprintln!(
        "Philly ×{LOAD_SCALE} load, mean JCT (h): fifo {fifo:.2}, fifo-skip {skip:.2}, sjf {sjf:.2}, \
         srtf {srtf:.2}, easy {easy:.2}"
    );
    // Tiresias (Gu et al., NSDI 2019) reports SRTF-like and LAS policies cutting
    // average JCT several-fold (up to 5.5×) against a YARN capacity scheduler, a FIFO
    // queue that skips jobs that do not fit. The baseline here is therefore FIFO-skip,
    // not strict FIFO (which FIFO-skip itself beats 3.4×): conservative bound, at least
    // 1/0.6 ≈ 1.7× better than FIFO-skip (measured 2.2× and 2.5×; docs/validation.md).
    assert!(sjf <= 0.6 * skip, "sjf {sjf:.2} h vs fifo-skip {skip:.2} h");
    assert!(srtf <= 0.6 * skip, "srtf {srtf:.2} h vs fifo-skip {skip:.2} h");
    // Preempting for short jobs helps beyond ordering the queue.
    assert!(srtf < sjf, "srtf {srtf:.2} h vs sjf {sjf:.2} h");
    // EASY's published gain is over first-come-first-served without backfilling (Lifka,
    // JSSPP 1995; Mu'alem & Feitelson, TPDS 2001), i.e. strict FIFO; its reservations
    // leave it behind FIFO-skip here (docs/validation.md), so strict FIFO is its baseline.
    assert!(easy < fifo, "easy {easy:.2} h vs fifo {fifo:.2} h");
}

#[test]
fn noisy_estimates_run_every_job_and_are_deterministic() {
    // 300 jobs from a fixed linear-congruential sequence on a two-model cluster: every
    // estimate-using policy with σ = 1 completes every job, and two runs agree exactly.
    let mut x: u64 = 12345;
    let mut next = |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let jobs: Vec<JobSpec> = (0..300)
        .map(|_| {
            let (s, d, g) = (next(2000), 1 + next(500), [1, 1, 2, 4, 8][next(5) as usize]);
            common::job(s as f64, d as f64, g, 1000)
        })
        .collect();
    let c = common::cluster(&[("A", 2, 8), ("B", 4, 2)]);
    let w = common::workload(jobs);
    let noisy = "estimate = \"noisy\"\nerror_sigma = 1.0";
    for q in ["sjf", "srtf", "easy", "conservative"] {
        let times = |out: RunOutput| -> Vec<(Option<SimTime>, Option<SimTime>)> {
            out.jobs.iter().map(|r| (r.start, r.end)).collect()
        };
        let a = times(run_on(&c, &w, q, noisy, "best-fit", RESTORE_5S));
        assert!(
            a.iter().all(|(s, e)| s.is_some() && e.is_some()),
            "{q}: a job never ran"
        );
        let b = times(run_on(&c, &w, q, noisy, "best-fit", RESTORE_5S));
        assert_eq!(a, b, "{q}: two runs differ");
    }
}
