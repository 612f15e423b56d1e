//! The issue-4 part-2 queue policies (tiresias, gittins, qssf, quota, fair-share): one
//! hand-worked case each with every start and end written out, a quota property test, and
//! the published directions on the real Philly and ITP traces (skipped, with a note, when
//! `../shared/traces` is absent: reported as ignored, see build.rs).

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use dcsim::engine::SimTime;
use dcsim::scheduler::queue::GittinsEstimator;
use dcsim::scheduler::registry;
use dcsim::sim::{PreemptionCost, RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::adapters::{read_trace, TraceFormat};
use dcsim::workload::transform::{self, TransformConfig};
use dcsim::workload::{JobSpec, TenantId, UserId, Workload};

/// Runs `w` on `c` under `queue` with its parameters written as TOML, best-fit placement.
fn run(c: &Cluster, w: &Workload, queue: &str, params: &str) -> RunOutput {
    let table: toml::Table = toml::from_str(params).unwrap();
    Simulation::new(
        c,
        w,
        registry::build_queue(queue, &table, 0).unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .run(&mut |_| {})
}

fn secs(s: u64) -> Option<SimTime> {
    Some(SimTime::from_secs(s))
}

/// (start, end) of job `i`, in whole seconds.
fn span(out: &RunOutput, i: usize) -> (Option<SimTime>, Option<SimTime>) {
    (out.jobs[i].start, out.jobs[i].end)
}

fn tenant(mut j: JobSpec, t: u32) -> JobSpec {
    j.tenant = TenantId(t);
    j
}

fn user(mut j: JobSpec, u: u32) -> JobSpec {
    j.user = Some(UserId(u));
    j
}

fn two_tenants(jobs: Vec<JobSpec>) -> Workload {
    let mut w = common::workload(jobs);
    w.tenants = vec!["a".into(), "b".into()];
    w
}

// ---------------------------------------------------------------- Tiresias (2D-LAS)

/// One 4-GPU node, one threshold at 100 GPU-s (so a 4-GPU job is demoted after 25 s).
/// A (0 s, 4 GPUs, 100 s) runs alone and passes 100 GPU-s at 25 s. B (40 s, 4 GPUs,
/// 10 s) arrives in the top queue, A is now in the lower one: B preempts A at 40, runs
/// 40–50, and A resumes at 50 with 60 s left, ending at 110.
#[test]
fn tiresias_newcomer_preempts_a_demoted_job_which_then_resumes() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(40.0, 10.0, 4, 1000),
    ]);
    for policy in ["tiresias", "gittins"] {
        let out = run(&c, &w, policy, "thresholds_gpu_s = [100.0]");
        assert_eq!(span(&out, 1), (secs(40), secs(50)), "{policy}");
        assert_eq!(span(&out, 0), (secs(0), secs(110)), "{policy}");
        assert_eq!(out.jobs[0].preemptions, 1, "{policy}");
    }
}

/// The demotion happens without any other event: A (0 s, 4 GPUs, 100 s) and C (10 s,
/// 4 GPUs, 100 s) share the top queue at 10 s (A has 40 GPU-s), so C waits FIFO. A
/// crosses 100 GPU-s at 25 s — the policy's wake-up — and C preempts it at 25. C crosses
/// at 50 and joins A in the lower queue; same queue, no preemption: C runs to 125, A
/// resumes with 75 s left and ends at 200.
#[test]
fn tiresias_demotes_at_the_threshold_crossing_via_a_wake_up() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(10.0, 100.0, 4, 1000),
    ]);
    let out = run(&c, &w, "tiresias", "thresholds_gpu_s = [100.0]");
    assert_eq!(span(&out, 1), (secs(25), secs(125)));
    assert_eq!(span(&out, 0), (secs(0), secs(200)));
    assert_eq!((out.jobs[0].preemptions, out.jobs[1].preemptions), (1, 0));
}

/// Starvation guard (PROMOTEKNOB = 1). A (0 s, 4 GPUs, 100 s) is demoted at 25 s and
/// preempted at 40 by B1 (40 s, 20 s); having run 40 s, A may wait 1 × 40 s, until 80.
/// B1 runs 40–60, B2 (50 s, 20 s) 60–80. At 80 A is promoted (its service counted afresh)
/// and, submitted first, starts before B3 (70 s, 20 s). A crosses 100 GPU-s of fresh
/// service at 105, B3 preempts it and runs 105–125; A resumes at 125 with 35 s left and
/// ends at 160. Without the guard B3 runs 80–100 and A resumes at 100, also ending at 160.
#[test]
fn tiresias_starvation_guard_promotes_a_starved_job() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(40.0, 20.0, 4, 1000),
        common::job(50.0, 20.0, 4, 1000),
        common::job(70.0, 20.0, 4, 1000),
    ]);
    let guarded = run(
        &c,
        &w,
        "tiresias",
        "thresholds_gpu_s = [100.0]\nstarvation_factor = 1.0",
    );
    assert_eq!(span(&guarded, 1), (secs(40), secs(60)));
    assert_eq!(span(&guarded, 2), (secs(60), secs(80)));
    assert_eq!(span(&guarded, 3), (secs(105), secs(125)));
    assert_eq!(span(&guarded, 0), (secs(0), secs(160)));
    assert_eq!(guarded.jobs[0].preemptions, 2);
    let plain = run(&c, &w, "tiresias", "thresholds_gpu_s = [100.0]");
    assert_eq!(span(&plain, 3), (secs(80), secs(100)));
    assert_eq!(span(&plain, 0), (secs(0), secs(160)));
    assert_eq!(plain.jobs[0].preemptions, 1);
}

// ---------------------------------------------------------------- Gittins

/// The estimator against the formula worked by hand. Finished services 10, 10 and 100
/// GPU-ms (distinct histogram bins, so bin means are exact). From a = 0 with no quantum
/// end: G = P(S < ∞) / E[S] = 1 / 40. With the quantum ending at θ = 50:
/// P(S ≤ 50) = 2/3, E[min(S, 50)] = (10 + 10 + 50) / 3, G = 2 / 70. From a = 10 only
/// the 100 remains: G = 1 / 90 without an end, 0 with θ = 50.
#[test]
fn gittins_index_matches_the_hand_computation() {
    let mut g = GittinsEstimator::default();
    assert_eq!(g.index(0, None), None);
    for s in [10, 10, 100] {
        g.record(s);
    }
    let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-12;
    assert!(close(g.index(0, None), 1.0 / 40.0));
    assert!(close(g.index(0, Some(50)), 2.0 / 70.0));
    assert!(close(g.index(10, None), 1.0 / 90.0));
    assert!(close(g.index(10, Some(50)), 0.0));
    assert!(g.rank(0, Some(50)) < g.rank(10, None), "higher index ranks first");
}

// ---------------------------------------------------------------- QSSF

/// One 1-GPU node. History: j0 (user 0, 0 s, 10 s) runs 0–10; j1 (user 1, 10 s, 50 s)
/// runs 10–60; a blocker (user 2, 60 s, 100 s) runs 60–160. j2 (user 1, 70 s, 5 s) and
/// j3 (user 0, 71 s, `d3`) arrive while it runs and are predicted from their users'
/// finished jobs: j2 → 50 s, j3 → 10 s. So QSSF starts j3 at 160 and j2 after it (FIFO
/// would start j2 first). Whatever j3's own duration, it starts at 160.
#[test]
fn qssf_predicts_from_finished_history_only() {
    let c = common::cluster(&[("A", 1, 1)]);
    let wl = |d3: f64| {
        let mut w = common::workload(vec![
            user(common::job(0.0, 10.0, 1, 1000), 0),
            user(common::job(10.0, 50.0, 1, 1000), 1),
            user(common::job(60.0, 100.0, 1, 1000), 2),
            user(common::job(70.0, 5.0, 1, 1000), 1),
            user(common::job(71.0, d3, 1, 1000), 0),
        ]);
        w.users = vec!["u0".into(), "u1".into(), "u2".into()];
        w
    };
    let out = run(&c, &wl(200.0), "qssf", "");
    assert_eq!(span(&out, 0), (secs(0), secs(10)));
    assert_eq!(span(&out, 1), (secs(10), secs(60)));
    assert_eq!(span(&out, 2), (secs(60), secs(160)));
    assert_eq!(span(&out, 4), (secs(160), secs(360)));
    assert_eq!(span(&out, 3), (secs(360), secs(365)));
    for d3 in [1.0, 5.0, 1000.0] {
        let out = run(&c, &wl(d3), "qssf", "");
        assert_eq!(out.jobs[4].start, secs(160), "j3 of {d3} s");
        assert_eq!(
            out.jobs[3].start,
            Some(SimTime::try_from_secs_f64(160.0 + d3).expect("a time in range"))
        );
    }
    let fifo = run(&c, &wl(200.0), "fifo", "");
    assert_eq!(fifo.jobs[3].start, secs(160));
}

// ---------------------------------------------------------------- Quota

/// One 4-GPU node; quotas a = 1, b = 3. a1, a2 (tenant a, 0 s, 1 GPU, 10 s), b1 (b,
/// 0 s, 2 GPUs, 10 s), b2 (b, 5 s, 1 GPU, 10 s).
/// Without borrowing: a2 waits for a1 although a GPU is idle (0–10, 10–20); b1 0–10;
/// b2 takes the idle GPU at 5 (b holds 3 ≤ 3): 5–15.
/// With borrowing: a2 borrows the idle GPU at 0; at 5 b2 is within b's quota but the node
/// is full, so it reclaims the GPU by preempting a2 (a holds 2 > 1): b2 5–15; a2 resumes
/// at 10 when a1 and b1 end, with 5 s left: ends at 15.
#[test]
fn quota_caps_a_tenant_and_lenders_reclaim_borrowed_gpus() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = two_tenants(vec![
        tenant(common::job(0.0, 10.0, 1, 1000), 0),
        tenant(common::job(0.0, 10.0, 1, 1000), 0),
        tenant(common::job(0.0, 10.0, 2, 1000), 1),
        tenant(common::job(5.0, 10.0, 1, 1000), 1),
    ]);
    let strict = run(&c, &w, "quota", "quotas = { a = 1, b = 3 }");
    assert_eq!(span(&strict, 0), (secs(0), secs(10)));
    assert_eq!(span(&strict, 1), (secs(10), secs(20)));
    assert_eq!(span(&strict, 2), (secs(0), secs(10)));
    assert_eq!(span(&strict, 3), (secs(5), secs(15)));
    let lend = run(&c, &w, "quota", "quotas = { a = 1, b = 3 }\nborrow = true");
    assert_eq!(span(&lend, 0), (secs(0), secs(10)));
    assert_eq!(span(&lend, 1), (secs(0), secs(15)));
    assert_eq!(lend.jobs[1].preemptions, 1);
    assert_eq!(span(&lend, 2), (secs(0), secs(10)));
    assert_eq!(span(&lend, 3), (secs(5), secs(15)));
}

#[test]
fn quota_rejects_bad_params() {
    let bad = |params: &str| {
        let table: toml::Table = toml::from_str(params).unwrap();
        registry::build_queue("quota", &table, 0)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(bad("quotas = { a = -1 }").contains("scheduler.params.quota.quotas"));
    assert!(bad("default_quota = -2").contains("default_quota"));
    assert!(bad("borrow = 1").contains("borrow"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Without borrowing, at every segment start each tenant's running GPUs (rebuilt from
    /// the segments) stay within its quota.
    #[test]
    fn quota_is_never_exceeded(
        nodes in 1u32..4,
        quotas in prop::collection::vec(1u32..9, 3),
        jobs in prop::collection::vec((0u32..300, 1u32..200, 1u32..9, 0u32..3), 1..80),
    ) {
        let c = common::cluster(&[("A", nodes, 8)]);
        let mut w = common::workload(jobs.iter().map(|&(s, d, g, t)| {
            tenant(common::job(f64::from(s), f64::from(d), g, 1000), t)
        }).collect());
        w.tenants = vec!["a".into(), "b".into(), "c".into()];
        let params = format!("quotas = {{ a = {}, b = {}, c = {} }}", quotas[0], quotas[1], quotas[2]);
        let out = run(&c, &w, "quota", &params);
        for seg in &out.segments {
            let t = w.jobs[seg.job.0 as usize].tenant;
            let held: u32 = out.segments.iter()
                .filter(|o| o.start <= seg.start && seg.start < o.end)
                .filter(|o| w.jobs[o.job.0 as usize].tenant == t)
                .map(|o| w.jobs[o.job.0 as usize].demand.gpus)
                .sum();
            prop_assert!(held <= quotas[t.0 as usize], "tenant {} holds {held}", t.0);
        }
        // Every job within its quota (and the cluster) ran; the others never started.
        for r in &out.jobs {
            let fits = r.demand.gpus <= quotas[r.tenant.0 as usize] && r.demand.gpus <= nodes * 8;
            prop_assert_eq!(r.end.is_some(), fits);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The preemptive policies under aggressive settings (low thresholds, a starvation
    /// guard, lending with reclaim, checkpoint loss and restore time): every job finishes
    /// (the first threshold, 100 GPU-s, exceeds 8 GPUs × 2 s of restore, so every run
    /// makes progress; see the `tiresias` module docs), no GPU is ever more than fully allocated (swept from the segments), and each job
    /// held GPUs at least its duration.
    #[test]
    fn preemptive_policies_lose_no_job(
        nodes in 1u32..4,
        jobs in prop::collection::vec((0u32..300, 1u32..200, 1u32..9, 0u32..3), 1..80),
        policy in prop::sample::select(vec![
            ("tiresias", "thresholds_gpu_s = [100.0, 1000.0]\nstarvation_factor = 2.0"),
            ("gittins", "thresholds_gpu_s = [100.0, 1000.0]\nstarvation_factor = 2.0"),
            ("quota", "quotas = { a = 2, b = 4 }\ndefault_quota = 8\nborrow = true"),
        ]),
    ) {
        let c = common::cluster(&[("A", nodes, 8)]);
        let mut w = common::workload(jobs.iter().map(|&(s, d, g, t)| {
            tenant(common::job(f64::from(s), f64::from(d), g.min(nodes * 8), 1000), t)
        }).collect());
        w.tenants = vec!["a".into(), "b".into(), "c".into()];
        let table: toml::Table = toml::from_str(policy.1).unwrap();
        let config = SimConfig {
            preemption: PreemptionCost { checkpoint_interval_s: 7.0, restore_s: 2.0 },
            ..SimConfig::default()
        };
        let out = Simulation::new(
            &c,
            &w,
            registry::build_queue(policy.0, &table, 0).unwrap(),
            registry::placement("best-fit").unwrap(),
            config,
        )
        .run(&mut |_| {});
        for r in &out.jobs {
            prop_assert!(r.end.is_some(), "job {} of {} never finished", r.id.0, policy.0);
            prop_assert!(r.busy >= w.jobs[r.id.0 as usize].duration);
        }
        let mut deltas: Vec<(SimTime, u8, u32, u32, i64)> = Vec::new();
        for seg in &out.segments {
            let grants = &out.grants[seg.first_grant as usize..(seg.first_grant + seg.grants) as usize];
            for g in grants {
                for gpu in (0..64).filter(|i| g.gpus >> i & 1 == 1) {
                    deltas.push((seg.start, 1, g.node.0, gpu, 1));
                    deltas.push((seg.end, 0, g.node.0, gpu, -1));
                }
            }
        }
        deltas.sort();
        let mut used = std::collections::BTreeMap::new();
        for (_, _, node, gpu, d) in deltas {
            let u = used.entry((node, gpu)).or_insert(0i64);
            *u += d;
            prop_assert!((0..=1).contains(u), "GPU {gpu} of node {node} held {u} times");
        }
    }
}

// ---------------------------------------------------------------- Fair share

/// One 3-GPU node, weights a = 2, b = 1; each tenant submits six 1-GPU 100 s jobs at 0.
/// Pass at 0: shares 0/2 = 0/1, tie to a (share 1/2); b (0 < 1/2, share 1); a (1/2 < 1,
/// share 2/2). So a holds 2 GPUs and b 1, their 2:1 weights, in every round while both
/// wait: a ends 2 jobs at each of 100, 200, 300; b one at 100, 200, 300, and its last
/// three, alone, run 300–400.
#[test]
fn fair_share_splits_gpus_by_weight() {
    let c = common::cluster(&[("A", 1, 3)]);
    let mut jobs: Vec<JobSpec> = (0..6)
        .map(|_| tenant(common::job(0.0, 100.0, 1, 1000), 0))
        .collect();
    jobs.extend((0..6).map(|_| tenant(common::job(0.0, 100.0, 1, 1000), 1)));
    let w = two_tenants(jobs);
    let out = run(&c, &w, "fair-share", "weights = { a = 2, b = 1 }");
    let ends = |t: u32| {
        let mut e: Vec<u64> = out
            .jobs
            .iter()
            .filter(|r| r.tenant == TenantId(t))
            .map(|r| r.end.unwrap().as_ms() / 1000)
            .collect();
        e.sort();
        e
    };
    assert_eq!(ends(0), vec![100, 100, 200, 200, 300, 300]);
    assert_eq!(ends(1), vec![100, 200, 300, 400, 400, 400]);
}

/// Under `gpu_time`, past usage counts: tenant a ran alone 0–100 on 2 GPUs (200 GPU-s);
/// at 100 both tenants submit 1-GPU jobs on the 2-GPU node, and b (no usage) gets both
/// GPUs first; with `gpus` they would split 1:1.
#[test]
fn fair_share_gpu_time_remembers_past_usage() {
    let c = common::cluster(&[("A", 1, 2)]);
    let w = two_tenants(vec![
        tenant(common::job(0.0, 100.0, 2, 1000), 0),
        tenant(common::job(100.0, 50.0, 1, 1000), 0),
        tenant(common::job(100.0, 50.0, 1, 1000), 1),
        tenant(common::job(100.0, 50.0, 1, 1000), 1),
    ]);
    let out = run(&c, &w, "fair-share", "measure = \"gpu_time\"");
    assert_eq!(span(&out, 2), (secs(100), secs(150)));
    assert_eq!(span(&out, 3), (secs(100), secs(150)));
    assert_eq!(span(&out, 1), (secs(150), secs(200)));
    let now = run(&c, &w, "fair-share", "");
    assert_eq!(span(&now, 1), (secs(100), secs(150)));
}

// ---------------------------------------------------------------- Real traces

/// A file under `../shared/traces` (callers are marked
/// `cfg_attr(not(dcsim_shared), ignore = "needs ../shared")`, see build.rs).
fn shared(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/traces")
        .join(p)
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Mean JCT (s) of `w` on `c` under `queue`.
fn mean_jct(c: &Cluster, w: &Workload, queue: &str) -> f64 {
    run(c, w, queue, "").summary.jct_s.mean
}

/// `w` with arrivals compressed `load_scale` times.
fn scaled(w: Workload, load_scale: f64) -> Workload {
    transform::apply(
        w,
        &TransformConfig {
            load_scale: Some(load_scale),
            ..TransformConfig::default()
        },
    )
    .unwrap()
}

/// Philly 2017 (82,247 jobs) on its 2,490-GPU cluster. At the trace's own arrival rate
/// the cluster barely queues, so the policies hardly differ; arrivals are compressed 6×
/// (`load_scale = 6`) to create contention. Tiresias (NSDI 2019) reports its 2D-LAS
/// improving average JCT up to 5.5× over a YARN capacity scheduler, with 2D-Gittins as
/// its policy for when the duration distribution is known; Helios (SC 2021)
/// reports QSSF cutting average JCT up to 6.5×. A YARN queue skips jobs that do not fit,
/// so the baseline is FIFO-skip, the strongest simple policy (strict FIFO, with
/// head-of-line blocking, is 3.4× worse than it here and flatters every ratio).
/// Asserted: Tiresias and Gittins at most 0.6 of FIFO-skip's mean JCT (≥ 1.7× better),
/// QSSF at most 0.7 (≥ 1.4×); measured 0.49, 0.47 and 0.55. Short of the published
/// 5.5× and 6.5×: docs/validation.md says why.
#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn philly_las_gittins_and_qssf_cut_mean_jct_vs_fifo_skip() {
    let path = shared("philly-2017-pollux/philly.csv");
    let c = dcsim::topology::load(&repo("topologies/philly.toml")).unwrap();
    let w = scaled(read_trace(TraceFormat::Philly, &path).unwrap(), 6.0);
    let [fifo, skip, las, gittins, qssf] =
        ["fifo", "fifo-skip", "tiresias", "gittins", "qssf"].map(|q| mean_jct(&c, &w, q));
    eprintln!(
        "Philly x6 mean JCT (s): fifo {fifo:.0}, fifo-skip {skip:.0}, tiresias {las:.0} \
         ({:.2} of fifo-skip), gittins {gittins:.0} ({:.2}), qssf {qssf:.0} ({:.2})",
        las / skip,
        gittins / skip,
        qssf / skip
    );
    assert!(las <= 0.6 * skip, "tiresias {las:.0} s vs fifo-skip {skip:.0} s");
    assert!(
        gittins <= 0.6 * skip,
        "gittins {gittins:.0} s vs fifo-skip {skip:.0} s"
    );
    assert!(qssf <= 0.7 * skip, "qssf {qssf:.0} s vs fifo-skip {skip:.0} s");
}

/// ITP 2021 cluster04 (15,802 jobs) on its derived 2,032-GPU cluster, arrivals
/// compressed 6× for contention (at 1× no job waits). Against FIFO-skip, the baseline the
/// papers' claims imply (see the Philly test), only Tiresias's direction holds, and
/// narrowly (measured 0.97 of FIFO-skip); QSSF is worse than FIFO-skip (1.17), short of
/// Helios's direction, because its rolling per-user mean misorders ITP's jobs
/// (docs/validation.md). Asserted: Tiresias no worse than FIFO-skip; QSSF only printed.
#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn itp_tiresias_is_no_worse_than_fifo_skip() {
    let path = shared("microsoft-itp-2021-elasticflow/raw/cluster04.csv");
    let c = dcsim::topology::load(&repo("topologies/itp-cluster04.toml")).unwrap();
    let w = scaled(read_trace(TraceFormat::Itp, &path).unwrap(), 6.0);
    let [fifo, skip, las, qssf] = ["fifo", "fifo-skip", "tiresias", "qssf"].map(|q| mean_jct(&c, &w, q));
    eprintln!(
        "ITP cluster04 x6 mean JCT (s): fifo {fifo:.0}, fifo-skip {skip:.0}, \
         tiresias {las:.0} ({:.2} of fifo-skip), qssf {qssf:.0} ({:.2} of fifo-skip)",
        las / skip,
        qssf / skip
    );
    assert!(las <= skip, "tiresias {las:.0} s vs fifo-skip {skip:.0} s");
}
