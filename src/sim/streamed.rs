//! Set-up of a streamed run ([`Simulation::streamed`]): the survey of its generator for
//! the whole workload's facts, and the screen of which jobs the cluster can host (shared
//! with [`Simulation::new`]).

use std::collections::BTreeMap;

use super::{Mode, Parts, SimConfig, Simulation, SkipReason, Status};
use crate::engine::SimTime;
use crate::scheduler::placement::TaskMix;
use crate::scheduler::Placement;
use crate::scheduler::{FreeCapacity, ModelMask, PlacementRequest, QueuePolicy};
use crate::speed::SpeedTable;
use crate::topology::{Cluster, GpuModelId};
use crate::workload::synthetic::Generator;
use crate::workload::{
    Arrivals, GpuDemand, GpuTypeSet, HostDemand, JobFeed, JobSpec, Workload, WorkloadError,
};

/// What decides whether the cluster can host a job, and so its status before the
/// run: its allowed GPU types (bits), demand, CPU and memory, and whether it has a
/// recorded start. Jobs alike in these are alike to set-up.
pub(super) type SurveyKey = (u64, GpuDemand, HostDemand, bool);

/// The [`SurveyKey`] of a job.
pub(super) fn survey_key(spec: &JobSpec) -> SurveyKey {
    (
        spec.gpu_types.0,
        spec.demand,
        spec.host,
        spec.recorded_start.is_some(),
    )
}

/// A job's status before the run, from its [`SurveyKey`] and allowed `models`: pending,
/// or skipped and why. Depends on the cluster as installed (capacity, nodes, CPU and
/// memory), not on what is allocated; `hostable` caches [`FreeCapacity::could_host`].
pub(super) fn screen(
    &(_, demand, host, recorded): &SurveyKey,
    models: ModelMask,
    free: &FreeCapacity,
    mode: Mode,
    hostable: &mut BTreeMap<(u64, u32, HostDemand), bool>,
) -> Status {
    let fits_somewhere = free
        .models()
        .filter(|m| models.allows(m.0 as usize))
        .any(|m| free.capacity(m) >= u64::from(demand.gpus));
    if models.0 == 0 {
        Status::Skipped(SkipReason::NoMatchingGpuModel)
    } else if !fits_somewhere {
        Status::Skipped(SkipReason::LargerThanCluster)
    } else if mode == Mode::Queue
        && free.tracks_host()
        && !*hostable
            .entry((models.0, demand.gpus, host))
            .or_insert_with(|| free.could_host(models, demand.gpus, host))
    {
        Status::Skipped(SkipReason::LargerThanNodes)
    } else if mode == Mode::AsRecorded && !recorded {
        Status::Skipped(SkipReason::NoRecordedStart)
    } else {
        Status::Pending
    }
}

/// Facts of a streamed run's whole workload, found before it runs
/// ([`Simulation::streamed`]); a run of a workload held whole reads them off its jobs.
pub(super) struct Facts {
    /// Jobs the cluster cannot host, by reason.
    pub(super) skipped: BTreeMap<&'static str, u64>,
    /// First and last submission of the jobs that run, if any.
    pub(super) window: Option<(SimTime, SimTime)>,
    /// First submission of any job.
    pub(super) first_submit: Option<SimTime>,
}

impl<'a> Simulation<'a> {
    /// Prepares a run whose jobs are generated as they arrive and dropped once they
    /// end, so that what it holds follows the jobs in flight, not the workload's
    /// length (issue 17). `frame` is the workload around the jobs (tenants, rows read;
    /// no jobs: [`Generator::frame`]). The run is the one [`Simulation::new`] makes of
    /// the workload [`crate::workload::synthetic::generate`] would build from the same
    /// generator, and its outputs are the same.
    ///
    /// The facts set-up needs of the whole workload (whether any job shares a GPU or asks
    /// for CPU and memory, which jobs the cluster can host, the arrival window, the task
    /// mix) come from one pass over a clone of the generator before the run
    /// ([`Generator::survey`]: submissions and demands only), which keeps a count per
    /// distinct kind of request, not per job; that pass also finds any error a job would
    /// raise (a submission past the horizon), before anything runs.
    ///
    /// Models read the whole workload, so a streamed run has none; queue mode only
    /// (generated jobs have no recorded start, so as recorded none would run).
    ///
    /// # Panics
    ///
    /// As [`Simulation::new`]; and in as-recorded mode.
    pub fn streamed(
        cluster: &Cluster,
        frame: &'a Workload,
        jobs: Generator<'a>,
        mut queue: Box<dyn QueuePolicy>,
        placement: Box<dyn Placement>,
        config: SimConfig,
    ) -> Result<Self, WorkloadError> {
        assert_eq!(
            config.mode,
            Mode::Queue,
            "a streamed run arrives in id order: queue mode only"
        );
        let mut kinds: BTreeMap<SurveyKey, (u64, SimTime, SimTime)> = BTreeMap::new();
        jobs.clone().survey(|submit, demand| {
            // A generated job's other fields of its key are the same for all.
            let key = (GpuTypeSet::ANY.0, demand, HostDemand::NONE, false);
            let (n, first, last) = kinds.entry(key).or_insert((0, submit, submit));
            *n += 1;
            *first = (*first).min(submit);
            *last = (*last).max(submit);
        })?;
        queue.bind_tenants(&frame.tenants);
        let speeds = SpeedTable::new(cluster, frame).unwrap_or_else(|e| panic!("{e}"));
        let mut free = FreeCapacity::new(cluster, kinds.keys().any(|k| !k.1.is_whole()));
        if kinds.keys().any(|k| !k.2.is_none()) {
            free.track_host(cluster);
        }
        placement.prepare(&mut free);
        let mut hostable: BTreeMap<(u64, u32, HostDemand), bool> = BTreeMap::new();
        let model_of_type: Vec<Option<GpuModelId>> =
            frame.gpu_types.iter().map(|t| cluster.model_by_name(t)).collect();
        let all_models = ModelMask(free.models().fold(0, |m, id| m | 1 << id.0));
        let models_of = |k: &SurveyKey| ModelMask::resolve(GpuTypeSet(k.0), &model_of_type, all_models);
        let screened: BTreeMap<SurveyKey, Status> = kinds
            .keys()
            .map(|k| (*k, screen(k, models_of(k), &free, config.mode, &mut hostable)))
            .collect();
        let mut facts = Facts {
            skipped: BTreeMap::new(),
            window: None,
            first_submit: None,
        };
        let mut arriving = 0usize;
        for (k, &(n, first, last)) in &kinds {
            facts.first_submit = Some(facts.first_submit.map_or(first, |f: SimTime| f.min(first)));
            match screened[k] {
                Status::Skipped(r) => *facts.skipped.entry(r.as_str()).or_insert(0) += n,
                _ => {
                    arriving += n as usize;
                    facts.window = Some(
                        facts
                            .window
                            .map_or((first, last), |(a, b)| (first.min(a), last.max(b))),
                    );
                }
            }
        }
        let track_frag = kinds.keys().any(|k| !k.1.is_whole()) || placement.uses_task_mix();
        if track_frag {
            free.track_fragmentation(TaskMix::from_counts(
                cluster.models.len(),
                kinds
                    .iter()
                    .filter(|(k, _)| screened[*k] == Status::Pending)
                    .map(|(k, &(n, _, _))| {
                        let request = PlacementRequest {
                            tp: 1,
                            demand: k.1,
                            models: models_of(k),
                            host: k.2,
                        };
                        (request, n)
                    }),
            ));
        }
        Ok(Simulation::assemble(Parts {
            cluster,
            workload: frame,
            feed: JobFeed::stream(jobs),
            queue,
            placement,
            config,
            free,
            speeds,
            initial: Vec::new(),
            screened: screened.iter().map(|(k, s)| (k.1, *s)).collect(),
            model_of_type,
            all_models,
            arrivals: Arrivals::in_id_order(arriving),
            facts: Some(facts),
        }))
    }
}
