//! The model seam (DESIGN.md, "Models plug in through one seam"): a toy model uses each
//! call a model has, on hand-worked cases, and the core applies it.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use dcsim::engine::SimTime;
use dcsim::metrics::{JobRecord, Summary};
use dcsim::model::{Admission, AfterFailure, Model, ModelCtx, ModelOutputs, StopLoss, TakeOut};
use dcsim::rate::Factor;
use dcsim::scheduler::{registry, GpuGrant, QueuedJob};
use dcsim::sim::{RunOutput, SimConfig, Simulation};
use dcsim::topology::{Cluster, NodeId};
use dcsim::workload::{JobId, Workload};

/// What the toy model does, each at a time given in seconds.
#[derive(Default, Clone)]
struct Script {
    /// Sets its factor of every job that starts to this value.
    factor_on_start: Option<f64>,
    /// (time, node, how): takes the node out.
    take_out: Vec<(u64, u32, TakeOut)>,
    /// (time, node): brings it back.
    bring_back: Vec<(u64, u32)>,
    /// (time, job, lost s, restore s): fails the job (`ctx.fail`), its stop costing the
    /// lost work and restore given (`Model::stop_loss`).
    interrupt: Vec<(u64, u32, f64, f64)>,
}

/// Calls the toy model heard, shared with the test.
#[derive(Default)]
struct Heard {
    starts: Vec<(u32, u64)>,
    stops: Vec<(u32, u64)>,
    refusals: u32,
    work_done_at_interrupt: Vec<f64>,
    finished: bool,
}

struct Toy {
    script: Script,
    heard: Rc<RefCell<Heard>>,
    scheduled: bool,
    /// The cost of the stop it asked for, in ms, until the core asks.
    loss: Option<StopLoss>,
}

/// Event tokens: the kind in the high bits, the index of the scripted action below.
const TAKE_OUT: u64 = 1 << 32;
const BRING_BACK: u64 = 2 << 32;
const INTERRUPT: u64 = 3 << 32;

impl Model for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>, job: JobId, grants: &[GpuGrant]) {
        assert!(!grants.is_empty());
        self.heard
            .borrow_mut()
            .starts
            .push((job.0, ctx.now().as_ms() / 1000));
        if let Some(f) = self.script.factor_on_start {
            ctx.set_factor(job, Factor::Network, f);
        }
    }

    fn on_stop(&mut self, ctx: &mut ModelCtx<'_>, job: JobId) {
        // The grants are still visible while the stop is announced.
        assert!(!ctx.grants(job).is_empty());
        self.heard
            .borrow_mut()
            .stops
            .push((job.0, ctx.now().as_ms() / 1000));
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, token: u64) {
        let i = (token & 0xffff_ffff) as usize;
        match token & !0xffff_ffff {
            TAKE_OUT => {
                let (_, n, how) = self.script.take_out[i];
                ctx.take_out(NodeId(n), how);
            }
            BRING_BACK => ctx.bring_back(NodeId(self.script.bring_back[i].1)),
            INTERRUPT => {
                let (_, j, lost, restore) = self.script.interrupt[i];
                let done = ctx.work_done_in_run_ms(JobId(j));
                self.heard.borrow_mut().work_done_at_interrupt.push(done);
                self.loss = Some(StopLoss {
                    lost_ms: lost * 1000.0,
                    restore_ms: restore * 1000.0,
                });
                ctx.fail(JobId(j), AfterFailure::Requeue);
            }
            _ => unreachable!("unknown token {token}"),
        }
    }

    fn stop_loss(&mut self, _job: JobId, _done_ms: f64) -> Option<StopLoss> {
        self.loss.take()
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        if std::mem::replace(&mut self.scheduled, true) {
            return;
        }
        let s = &self.script;
        for (i, &(t, _, _)) in s.take_out.iter().enumerate() {
            ctx.schedule(SimTime::from_secs(t), TAKE_OUT | i as u64);
        }
        for (i, &(t, _)) in s.bring_back.iter().enumerate() {
            ctx.schedule(SimTime::from_secs(t), BRING_BACK | i as u64);
        }
        for (i, &(t, ..)) in s.interrupt.iter().enumerate() {
            ctx.schedule(SimTime::from_secs(t), INTERRUPT | i as u64);
        }
    }

    fn finish(
        self: Box<Self>,
        _end: SimTime,
        _workload: &Workload,
        _jobs: &[JobRecord],
        _summary: &mut Summary,
        _out: &mut ModelOutputs,
    ) {
        self.heard.borrow_mut().finished = true;
    }
}

/// A model that refuses every job before a time, then admits.
struct Gate {
    until: SimTime,
    now: SimTime,
    heard: Rc<RefCell<Heard>>,
}

impl Model for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }

    fn admits(&mut self, _job: &QueuedJob, _grants: &[GpuGrant], _avoid: &mut Vec<NodeId>) -> Admission {
        if self.now < self.until {
            Admission::Refuse
        } else {
            Admission::Admit
        }
    }

    fn on_refused(&mut self, _now: SimTime, _job: JobId) {
        self.heard.borrow_mut().refusals += 1;
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, _token: u64) {
        self.now = ctx.now();
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        self.now = ctx.now();
        if self.now < self.until {
            ctx.schedule(self.until, 0);
        }
    }

    fn finish(
        self: Box<Self>,
        _end: SimTime,
        _workload: &Workload,
        _jobs: &[JobRecord],
        _summary: &mut Summary,
        _out: &mut ModelOutputs,
    ) {
    }
}

fn run(c: &Cluster, w: &Workload, models: Vec<Box<dyn Model>>) -> RunOutput {
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(models)
    .run(&mut |_| {})
}

fn toy(script: Script) -> (Box<dyn Model>, Rc<RefCell<Heard>>) {
    let heard = Rc::new(RefCell::new(Heard::default()));
    let m = Toy {
        script,
        heard: heard.clone(),
        scheduled: false,
        loss: None,
    };
    (Box::new(m), heard)
}

fn end_s(r: &JobRecord) -> f64 {
    r.end.expect("finished").as_ms() as f64 / 1000.0
}

/// A model's own factor scales the pace: 100 s of work at factor 0.5 ends at 200 s.
#[test]
fn a_models_factor_slows_the_job() {
    let c = common::cluster(&[("A", 1, 1)]);
    let w = common::workload(vec![common::job(0.0, 100.0, 1, 1000)]);
    let (m, heard) = toy(Script {
        factor_on_start: Some(0.5),
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    assert_eq!(end_s(&out.jobs[0]), 200.0);
    let h = heard.borrow();
    assert_eq!(
        (h.starts.clone(), h.stops.clone()),
        (vec![(0, 0)], vec![(0, 200)])
    );
    assert!(h.finished);
}

/// An interruption at 60 s of a 100 s job, losing 20 s of work and restoring for 5 s,
/// with the GPU free again at once: it has 100 − 60 + 20 + 5 = 65 s left, ends at 125 s,
/// and its lost work is recorded.
#[test]
fn an_interruption_requeues_the_remainder_with_its_loss() {
    let c = common::cluster(&[("A", 1, 1)]);
    let w = common::workload(vec![common::job(0.0, 100.0, 1, 1000)]);
    let (m, heard) = toy(Script {
        interrupt: vec![(60, 0, 20.0, 5.0)],
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    assert_eq!(end_s(&out.jobs[0]), 125.0);
    assert_eq!(out.jobs[0].lost_work, SimTime::from_secs(20));
    assert_eq!(out.jobs[0].preemptions, 0, "an interruption is not a preemption");
    let h = heard.borrow();
    assert_eq!(h.work_done_at_interrupt, vec![60_000.0]);
    assert_eq!(h.starts, vec![(0, 0), (0, 60)]);
    assert_eq!(h.stops, vec![(0, 60), (0, 125)]);
}

/// The loss is capped by the work done in the run: losing "1,000 s" at 30 s loses 30 s.
#[test]
fn an_interruption_never_loses_more_than_the_run_did() {
    let c = common::cluster(&[("A", 1, 1)]);
    let w = common::workload(vec![common::job(0.0, 100.0, 1, 1000)]);
    let (m, _) = toy(Script {
        interrupt: vec![(30, 0, 1000.0, 0.0)],
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    assert_eq!(end_s(&out.jobs[0]), 130.0);
    assert_eq!(out.jobs[0].lost_work, SimTime::from_secs(30));
}

/// Two one-GPU nodes, three 100 s jobs at 0. Node 0 is taken out at once at 50 s and
/// brought back at 400 s. j0 (node 0) is interrupted at 50 s under the scenario's rule
/// (free preemption: nothing lost) and waits behind j2, which j1's node takes at 100 s:
/// j2 runs 100–200, j0 resumes on node 1 at 200 with 50 s left and ends at 250.
#[test]
fn a_node_taken_out_now_stops_its_jobs_and_hides_its_gpus_until_back() {
    let c = common::cluster(&[("A", 2, 1)]);
    let w = common::workload((0..3).map(|_| common::job(0.0, 100.0, 1, 1000)).collect());
    let (m, _) = toy(Script {
        take_out: vec![(50, 0, TakeOut::Now)],
        bring_back: vec![(400, 0)],
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    let ends: Vec<f64> = out.jobs.iter().map(end_s).collect();
    assert_eq!(ends, vec![250.0, 100.0, 200.0]);
}

/// Draining: node 0 leaves service at 50 s but its job finishes there at 100 s; the
/// third job then waits for node 1 (free at 100 s) rather than taking node 0.
#[test]
fn a_drained_node_finishes_its_jobs_and_takes_no_new_ones() {
    let c = common::cluster(&[("A", 2, 1)]);
    let mut jobs: Vec<_> = (0..2).map(|_| common::job(0.0, 100.0, 1, 1000)).collect();
    jobs.push(common::job(0.0, 100.0, 1, 1000));
    jobs.push(common::job(0.0, 100.0, 1, 1000));
    let w = common::workload(jobs);
    let (m, _) = toy(Script {
        take_out: vec![(50, 0, TakeOut::Drain)],
        bring_back: vec![(1000, 0)],
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    let ends: Vec<f64> = out.jobs.iter().map(end_s).collect();
    // j0 on node 0 and j1 on node 1 end at 100; j2 takes node 1 (100–200), j3 node 1
    // again (200–300): node 0 stays out until 1,000 s.
    assert_eq!(ends, vec![100.0, 100.0, 200.0, 300.0]);
}

/// A node brought back is placeable again at once: the fourth job above takes node 0
/// at 150 s when it returns then.
#[test]
fn a_node_brought_back_is_placeable_at_once() {
    let c = common::cluster(&[("A", 2, 1)]);
    let w = common::workload((0..4).map(|_| common::job(0.0, 100.0, 1, 1000)).collect());
    let (m, _) = toy(Script {
        take_out: vec![(50, 0, TakeOut::Drain)],
        bring_back: vec![(150, 0)],
        ..Script::default()
    });
    let out = run(&c, &w, vec![m]);
    let ends: Vec<f64> = out.jobs.iter().map(end_s).collect();
    assert_eq!(ends, vec![100.0, 100.0, 200.0, 250.0]);
}

/// A refusing model keeps jobs waiting (and hears each refusal) until it admits them:
/// both jobs start at 30 s.
#[test]
fn a_refusal_makes_the_job_wait_until_admitted() {
    let c = common::cluster(&[("A", 2, 1)]);
    let w = common::workload((0..2).map(|_| common::job(0.0, 100.0, 1, 1000)).collect());
    let heard = Rc::new(RefCell::new(Heard::default()));
    let gate = Gate {
        until: SimTime::from_secs(30),
        now: SimTime::ZERO,
        heard: heard.clone(),
    };
    let out = run(&c, &w, vec![Box::new(gate)]);
    let ends: Vec<f64> = out.jobs.iter().map(end_s).collect();
    assert_eq!(ends, vec![130.0, 130.0]);
    assert!(heard.borrow().refusals >= 1);
}
