//! Preemption must free something the waiter can use (issue 10): every preemptive policy
//! evicts only running jobs whose release lets placement place the waiter, and never a
//! job on a GPU model the waiter may not use. Hand-built cases from the issue, then a
//! property test over heterogeneous, type-constrained and fractional workloads.

mod common;

use proptest::prelude::*;

use dcsim::engine::SimTime;
use dcsim::scheduler::registry;
use dcsim::sim::{PreemptionCost, RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::{GpuTypeSet, JobSpec, Workload};

/// Checkpoints free, 5 s to restore (the setting).
const RESTORE_5S: PreemptionCost = PreemptionCost {
    checkpoint_interval_s: 0.0,
    restore_s: 5.0,
};

/// Runs `w` on `c` under `queue` (parameters as TOML), best-fit placement, restore 5 s.
fn run(c: &Cluster, w: &Workload, queue: &str, params: &str) -> RunOutput {
    run_with(c, w, queue, params, "best-fit")
}

/// [`run`] with another placement.
fn run_with(c: &Cluster, w: &Workload, queue: &str, params: &str, placement: &str) -> RunOutput {
    let table: toml::Table = toml::from_str(params).unwrap();
    Simulation::new(
        c,
        w,
        registry::build_queue(queue, &table, 0).unwrap(),
        registry::placement(placement).unwrap(),
        SimConfig {
            preemption: RESTORE_5S,
            ..SimConfig::default()
        },
    )
    .run(&mut |_| {})
}

/// `j` restricted to the workload's GPU type `t` (an index into `Workload::gpu_types`).
fn only(mut j: JobSpec, t: u32) -> JobSpec {
    j.gpu_types = GpuTypeSet(1 << t);
    j
}

/// `jobs` as a workload whose GPU type names are `types`.
fn typed(jobs: Vec<JobSpec>, types: &[&str]) -> Workload {
    let mut w = common::workload(jobs);
    w.gpu_types = types.iter().map(|t| t.to_string()).collect();
    w
}

/// The first case: one 4×H100 node, one 4×A100 node, one threshold at 100
/// GPU-s. H0..H14 (0 s, 4 H100 GPUs, H100 only, 20 s each: 80 GPU-s, so they never leave
/// the top queue) run back to back on the H100s, Hk from 20k s; U (0 s, 4 GPUs, any
/// model, 500 s) takes the A100s and passes 100 GPU-s at 25 s. Passes with an H-job
/// waiting and U in the lower queue come at 25 s (U's crossing), at each H-job start
/// 40, 60, …, 260 s and at each H-job's would-be crossing 45, 65, …, 265 s (a wake-up
/// 25 s after its start): 25 passes. Before this fix each evicted U (lower queue,
/// allowed models overlapping the waiter's) although U runs on A100s the waiter cannot
/// use: 25 evictions, U ending at 500 + 25 × 5 = 625 s (the run of this kind:
/// 26 and 630 s). No H-job can start before its predecessor ends whatever is evicted, so
/// nothing may be evicted: U ends at 500 s and the H-jobs keep their start times.
#[test]
fn tiresias_and_gittins_never_evict_a_job_on_a_model_the_waiter_cannot_use() {
    let c = common::cluster(&[("H100", 1, 4), ("A100", 1, 4)]);
    let mut jobs = vec![only(common::job(0.0, 20.0, 4, 1000), 0)];
    jobs.push(common::job(0.0, 500.0, 4, 1000));
    jobs.extend((1..15).map(|_| only(common::job(0.0, 20.0, 4, 1000), 0)));
    let w = typed(jobs, &["H100"]);
    for policy in ["tiresias", "gittins"] {
        let out = run(&c, &w, policy, "thresholds_gpu_s = [100.0]");
        let u = &out.jobs[1];
        assert_eq!(
            (u.preemptions, u.end),
            (0, Some(SimTime::from_secs(500))),
            "{policy}"
        );
        for (k, h) in out.jobs.iter().filter(|j| j.id.0 != 1).enumerate() {
            assert_eq!(h.start, Some(SimTime::from_secs(20 * k as u64)), "{policy} H{k}");
        }
    }
}

/// The second case: one node of two A GPUs and one of a single B GPU. N1, N2
/// (0 s, 0.6 GPU, A only, 40 s) and V1, V2 (0 s, 0.3 GPU, A only, 1000 s) fill the A
/// GPUs to 0.9 each (best-fit puts a V beside each N). W (10 s, 0.7 GPU, A only, 20 s)
/// has 0.2 GPU free by pooled count; evicting V1 and V2 makes it 0.8 ≥ 0.7 by count,
/// yet each GPU then has only 0.4 free, so W cannot start until an N ends at 40 s.
/// F1, F2 (20 and 30 s, one whole B GPU, B only, 1 s) start at once on B: their
/// arrivals and ends make passes at 20, 21, 30 and 31 s. Before this fix, at 10 s and at
/// each of those passes the V's were evicted and restarted (5 evictions each under
/// both srtf and priority; the run of this kind: 5 under srtf, 4 under
/// priority), paying 5 s of restore each time. Under srtf the V's are victims
/// (1000 s left > 2 × 20 s), the N's are not (they end by 40 s, within twice W's 20 s);
/// under priority W and the N's have priority 1, the V's 0.
#[test]
fn srtf_and_priority_never_evict_for_a_share_no_single_gpu_would_then_hold() {
    let c = common::cluster(&[("A", 1, 2), ("B", 1, 1)]);
    let prio = |mut j: JobSpec, p: i32| {
        j.priority = p;
        j
    };
    let a = |s: f64, d: f64, m: u32, p: i32| prio(only(common::job(s, d, 1, m), 0), p);
    let jobs = vec![
        a(0.0, 40.0, 600, 1),
        a(0.0, 40.0, 600, 1),
        a(0.0, 1000.0, 300, 0),
        a(0.0, 1000.0, 300, 0),
        a(10.0, 20.0, 700, 1),
        only(common::job(20.0, 1.0, 1, 1000), 1),
        only(common::job(30.0, 1.0, 1, 1000), 1),
    ];
    let w = typed(jobs, &["A", "B"]);
    for policy in ["srtf", "priority"] {
        let out = run(&c, &w, policy, "");
        let evictions: Vec<u32> = out.jobs.iter().map(|j| j.preemptions).collect();
        assert_eq!(evictions, vec![0; 7], "{policy}");
        assert_eq!(out.jobs[4].start, Some(SimTime::from_secs(40)), "{policy}");
        assert_eq!(out.jobs[2].end, Some(SimTime::from_secs(1000)), "{policy}");
    }
}

/// Tiresias counts a fractional job's service at its GPU share. One 1-GPU node, one
/// threshold at 100 GPU-s. A (0 s, 0.5 GPU, 500 s) earns 0.5 GPU-s per second, so it
/// crosses 100 GPU-s at 200 s, not at 100 s as a whole GPU would. B (150 s, 1 GPU, 10 s)
/// cannot share the GPU and, in the top queue like A, waits until A's demotion at 200 s
/// (the crossing wake-up), then preempts it and runs 200–210. A resumes at 210 with
/// 300 s of work plus 5 s of restore, ending at 515. Before this fix A counted as a whole
/// GPU, was demoted at 100 s and preempted at B's arrival, 150 s.
#[test]
fn tiresias_counts_a_fractional_jobs_service_at_its_share() {
    let c = common::cluster(&[("A", 1, 1)]);
    let w = common::workload(vec![
        common::job(0.0, 500.0, 1, 500),
        common::job(150.0, 10.0, 1, 1000),
    ]);
    for policy in ["tiresias", "gittins"] {
        let out = run(&c, &w, policy, "thresholds_gpu_s = [100.0]");
        let (a, b) = (&out.jobs[0], &out.jobs[1]);
        assert_eq!(
            (b.start, b.end),
            (Some(SimTime::from_secs(200)), Some(SimTime::from_secs(210))),
            "{policy}"
        );
        assert_eq!(
            (a.preemptions, a.end),
            (1, Some(SimTime::from_secs(515))),
            "{policy}"
        );
    }
}

/// A random heterogeneous cluster: 1–3 groups of (model, nodes, GPUs per node).
fn arb_cluster() -> impl Strategy<Value = Vec<(&'static str, u32, u32)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["A", "B", "C"]),
            1u32..4,
            prop::sample::select(vec![1u32, 2, 4, 8]),
        ),
        1..4,
    )
}

/// Random jobs: whole gangs of 1–8 GPUs and fractional shares, each on any model or
/// restricted to a non-empty subset of A, B, C, with a priority of 0–2 and one of two
/// tenants.
fn arb_jobs() -> impl Strategy<Value = Vec<JobSpec>> {
    prop::collection::vec(
        (
            0u32..300,
            1u32..200,
            prop_oneof![2 => (1u32..9).prop_map(|g| (g, 1000)), 1 => (50u32..1000).prop_map(|m| (1, m))],
            0u64..8,
            0i32..3,
            0u32..2,
        ),
        1..60,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(s, d, (g, m), types, priority, tenant)| {
                let mut j = common::job(f64::from(s), f64::from(d), g, m);
                j.gpu_types = GpuTypeSet(types % 8);
                j.priority = priority;
                j.tenant = dcsim::workload::TenantId(tenant);
                j
            })
            .collect()
    })
}

/// Every preemptive policy, with parameters that make it preempt often.
const PREEMPTIVE: &[(&str, &str)] = &[
    ("tiresias", "thresholds_gpu_s = [50.0]"),
    ("gittins", "thresholds_gpu_s = [50.0]"),
    ("srtf", "preempt_factor = 1.0"),
    ("priority", ""),
    ("quota", "borrow = true\ndefault_quota = 2.0"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// No eviction is followed by the waiter failing to start in the same pass: every
    /// run segment that ends in a preemption at time t shares a node with a segment of
    /// another job that starts at t (the waiter, placed on what the victims freed).
    /// Without the what-if placement this fails: victims on GPU models the waiter cannot
    /// use, or sets whose shares pool enough but fit no GPU, restart alone.
    #[test]
    fn every_eviction_lets_a_waiter_start_on_the_victims_nodes(
        cluster in arb_cluster(), jobs in arb_jobs(),
        policy in prop::sample::select(PREEMPTIVE.to_vec()),
        placement in prop::sample::select(registry::PLACEMENTS.iter().map(|e| e.name).collect::<Vec<_>>()),
    ) {
        let c = common::cluster(&cluster);
        let mut w = typed(jobs, &["A", "B", "C"]);
        w.tenants = vec!["t0".into(), "t1".into()];
        let out = run_with(&c, &w, policy.0, policy.1, placement);
        let nodes = |seg: &dcsim::metrics::Segment| {
            out.grants[seg.first_grant as usize..(seg.first_grant + seg.grants) as usize]
                .iter()
                .map(|g| g.node)
                .collect::<Vec<_>>()
        };
        for seg in &out.segments {
            let job = &out.jobs[seg.job.0 as usize];
            if job.end == Some(seg.end) {
                continue; // the job's last run: it finished, nobody evicted it
            }
            let held = nodes(seg);
            let waiter = out.segments.iter().any(|s| {
                s.job != seg.job && s.start == seg.end && nodes(s).iter().any(|n| held.contains(n))
            });
            prop_assert!(waiter, "{policy:?} {placement}: job {} evicted at {:?} for nobody", seg.job.0, seg.end);
        }
    }
}

/// Quota lending: tenant a (quota 8 GPUs) runs H0..H4 (0 s, 4 H100 GPUs, H100 only,
/// 20 s each) back to back on the 4×H100 node; tenant b (quota 0) borrows the 4×A100
/// node for U (0 s, 4 GPUs, any model, 500 s). From 20 s an H-job of a waits within its
/// quota; before this fix it reclaimed from U (b over quota, allowed models overlapping)
/// although U's A100s are of no use to it. U was evicted at 20 s and 60 s (an evicted
/// job queues again only after the pass, so at 40 s U was restarting, not running) and
/// ran 0–20, 40–60 and 80–550 s: 500 s of work plus 2 × 5 s of restore, 40 s waiting.
/// Now nobody is evicted: U ends at 500 s, Hk starts at 20k s as before.
#[test]
fn quota_never_reclaims_gpus_the_lender_cannot_use() {
    let c = common::cluster(&[("H100", 1, 4), ("A100", 1, 4)]);
    let tenant = |mut j: JobSpec, t: u32| {
        j.tenant = dcsim::workload::TenantId(t);
        j
    };
    let mut jobs = vec![tenant(only(common::job(0.0, 20.0, 4, 1000), 0), 0)];
    jobs.push(tenant(common::job(0.0, 500.0, 4, 1000), 1));
    jobs.extend((1..5).map(|_| tenant(only(common::job(0.0, 20.0, 4, 1000), 0), 0)));
    let mut w = typed(jobs, &["H100"]);
    w.tenants = vec!["a".into(), "b".into()];
    let out = run(&c, &w, "quota", "borrow = true\nquotas = { a = 8, b = 0 }");
    let u = &out.jobs[1];
    assert_eq!((u.preemptions, u.end), (0, Some(SimTime::from_secs(500))));
    for (k, h) in out.jobs.iter().filter(|j| j.id.0 != 1).enumerate() {
        assert_eq!(h.start, Some(SimTime::from_secs(20 * k as u64)), "H{k}");
    }
}
