//! The one job schema every trace adapter and generator produces.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::engine::SimTime;

/// A job's name from its trace. Names of up to 24 bytes (every synthetic `s{i}` and
/// most trace ids) are stored inline, so generating or loading a million jobs makes no
/// per-job heap allocation for the name; longer names fall back to the heap.
pub type JobName = compact_str::CompactString;

/// Dense index of a job in its [`Workload`], assigned after sorting by submit time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct JobId(pub u32);

/// Index of a tenant (virtual cluster, team, trace file) in [`Workload::tenants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct TenantId(pub u32);

/// Index of a workload class (the kind of model a job trains, e.g. `resnet50`) in
/// [`Workload::classes`]; GPU speed may depend on it (`speed_by_class` in topologies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ClassId(pub u32);

/// Index of a user in [`Workload::users`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UserId(pub u32);

/// What a job does; power and priority models key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Model training (batch, preemptible in principle).
    #[default]
    Training,
    /// Model serving (latency-sensitive).
    Inference,
    /// Evaluation or debugging runs.
    Eval,
}

impl JobKind {
    /// Parses `training`, `inference` or `eval` (case-insensitive).
    pub fn parse(s: &str) -> Option<JobKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "training" | "train" => Some(JobKind::Training),
            "inference" | "serving" => Some(JobKind::Inference),
            "eval" | "evaluation" => Some(JobKind::Eval),
            _ => None,
        }
    }

    /// The lowercase name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inference",
            JobKind::Eval => "eval",
        }
    }
}

/// The most jobs one run may have: job ids are 32-bit ([`JobId`]), so 2³² − 1.
///
/// Only a workload generated as the run reads it ([`crate::workload::synthetic::Generator`])
/// comes near this; a workload held whole is limited to [`MAX_HELD_JOBS`].
pub const MAX_JOBS: u64 = u32::MAX as u64;

/// The most jobs a workload held whole (`Vec<JobSpec>`: read from traces, transformed,
/// or generated for a run that needs every job at once) may have: 50 million.
///
/// A [`JobSpec`] takes about 135 bytes, so 50 million jobs already need about 7 GB; the
/// public traces dcsim reads hold at most a few hundred thousand jobs. Checking the count
/// up front turns a request like `tile = 1000000000` into an error naming the key and the
/// product instead of an allocation failure that aborts the process. Larger synthetic
/// workloads run without models or economics, which generate jobs as they
/// arrive and keep only those in flight (up to [`MAX_JOBS`]).
pub const MAX_HELD_JOBS: u64 = 50_000_000;

/// Checks that a workload held whole of `count` jobs, described by `what` (e.g. "tile ×
/// jobs = 1000000000 × 4"), is within [`MAX_HELD_JOBS`]; the error names `key`.
pub(crate) fn check_job_count(
    key: &str,
    count: u128,
    what: impl FnOnce() -> String,
) -> Result<(), crate::workload::WorkloadError> {
    if count > u128::from(MAX_HELD_JOBS) {
        return Err(crate::workload::WorkloadError::Invalid {
            key: key.to_string(),
            message: format!(
                "{} = {count} jobs exceeds the limit of {MAX_HELD_JOBS} jobs for a workload held whole",
                what()
            ),
        });
    }
    Ok(())
}

/// Thousandths of one GPU: the unit of fractional GPU sharing (1000 = a whole GPU).
pub const MILLI_PER_GPU: u32 = 1000;

/// The GPUs a job asks for: `gpus` GPUs, each at `milli_per_gpu` thousandths.
///
/// A whole-GPU gang has `milli_per_gpu == 1000`; a sharing job (openb's `gpu_milli`)
/// asks for one GPU at less than 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GpuDemand {
    /// GPUs in the gang: at least 1, except for the CPU-only pods that the inflation
    /// experiment draws (0, whole).
    pub gpus: u32,
    /// Share of each GPU, in 1..=1000.
    pub milli_per_gpu: u32,
}

impl GpuDemand {
    /// `n` whole GPUs.
    pub const fn whole(n: u32) -> Self {
        GpuDemand {
            gpus: n,
            milli_per_gpu: MILLI_PER_GPU,
        }
    }

    /// A share of one GPU, in thousandths (1000 is one whole GPU).
    pub const fn share(milli: u32) -> Self {
        GpuDemand {
            gpus: 1,
            milli_per_gpu: milli,
        }
    }

    /// Whether the job takes whole GPUs.
    pub const fn is_whole(self) -> bool {
        self.milli_per_gpu == MILLI_PER_GPU
    }

    /// Total demand in thousandths of a GPU.
    pub const fn total_milli(self) -> u64 {
        self.gpus as u64 * self.milli_per_gpu as u64
    }

    /// Total demand in GPUs (fractional for sharing jobs).
    pub fn gpus_f64(self) -> f64 {
        self.total_milli() as f64 / f64::from(MILLI_PER_GPU)
    }
}

impl fmt::Display for GpuDemand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_whole() {
            write!(f, "{}", self.gpus)
        } else {
            write!(
                f,
                "{}.{:03}",
                self.total_milli() / 1000,
                self.total_milli() % 1000
            )
        }
    }
}

/// Host resources a job asks for besides GPUs: CPU and memory, for the whole job
/// (0 = no demand, what every trace without these columns gets).
///
/// A node whose CPU or memory is exhausted cannot take a job that asks for them, which
/// strands its idle GPUs (Weng et al., ATC 2023, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct HostDemand {
    /// CPU in thousandths of a core.
    pub cpu_milli: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
}

impl HostDemand {
    /// No CPU or memory asked for.
    pub const NONE: HostDemand = HostDemand {
        cpu_milli: 0,
        memory_mib: 0,
    };

    /// Whether nothing is asked for.
    pub const fn is_none(self) -> bool {
        self.cpu_milli == 0 && self.memory_mib == 0
    }

    /// The part a node holding `gpus` of the job's `total` GPUs takes: the demand in
    /// proportion to GPUs, rounded up (all of it when one node holds the whole job), so
    /// that it depends on that node's grant alone.
    pub fn part(self, gpus: u32, total: u32) -> HostDemand {
        if gpus >= total || total == 0 {
            return self;
        }
        let part = |v: u32| (u64::from(v) * u64::from(gpus)).div_ceil(u64::from(total)) as u32;
        HostDemand {
            cpu_milli: part(self.cpu_milli),
            memory_mib: part(self.memory_mib),
        }
    }
}

/// A set of allowed GPU types, as bits over [`Workload::gpu_types`] (at most 64 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct GpuTypeSet(pub u64);

impl GpuTypeSet {
    /// No constraint: any GPU model will do.
    pub const ANY: GpuTypeSet = GpuTypeSet(0);

    /// Whether the job runs on any GPU model.
    pub const fn is_any(self) -> bool {
        self.0 == 0
    }

    /// Whether type index `i` is allowed (always true for [`GpuTypeSet::ANY`]).
    pub const fn allows(self, i: usize) -> bool {
        self.0 == 0 || (self.0 >> i) & 1 == 1
    }

    /// Indices of the named types in the set.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |i| (self.0 >> i) & 1 == 1)
    }
}

/// One job (or pod, or instance) as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSpec {
    /// Dense id, in submit order.
    pub id: JobId,
    /// The job's id or name in its source trace.
    pub name: JobName,
    /// When the job is submitted.
    pub submit: SimTime,
    /// Work at nominal speed: the run time on GPUs of rate 1.0.
    pub duration: SimTime,
    /// GPUs requested.
    pub demand: GpuDemand,
    /// CPU and memory requested (openb pods; none elsewhere).
    pub host: HostDemand,
    /// GPU models the job may run on.
    pub gpu_types: GpuTypeSet,
    /// Tenant (virtual cluster, team, cluster file).
    pub tenant: TenantId,
    /// Submitting user, where the trace has one.
    pub user: Option<UserId>,
    /// Higher runs first under priority-aware policies.
    pub priority: i32,
    /// Training, inference or eval.
    pub kind: JobKind,
    /// The start time the trace recorded, for as-recorded replay.
    pub recorded_start: Option<SimTime>,
    /// True when the trace did not record an end (the job outlived the trace); its
    /// `duration` then runs to the end of the trace.
    pub open_ended: bool,
    /// Mean GPU utilization in [0, 1], where the trace records one (e.g. from DCGM);
    /// power models use it instead of the default for the job's kind.
    pub gpu_util: Option<f64>,
    /// Workload class, where the trace names one: how fast each GPU model runs the
    /// job depends on it (a ResNet and a Transformer do not speed up alike).
    pub class: Option<ClassId>,
    /// Communication profile, where the trace gives one (generic CSV columns); the
    /// network model falls back to its defaults for what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<Box<CommHints>>,
    /// Size of the job's checkpoint, GB, where the trace gives one (generic CSV column
    /// `checkpoint_gb`); with `[reliability.storage]` it sets the job's write time ahead
    /// of its class's model size and the configured size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_gb: Option<f64>,
}

/// What a trace says about a job's communication: the network model's profile
/// ([`crate::network::CommProfile`]) overrides and its parallelism.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CommHints {
    /// Gradient all-reduced per iteration, GB (None: the model's default).
    pub gradient_gb: Option<f64>,
    /// Compute time of one iteration, ms (None: the model's default).
    pub compute_ms: Option<f64>,
    /// Share of compute that communication hides behind, in [0, 1] (None: default).
    pub overlap: Option<f64>,
    /// Tensor-parallel degree: GPUs of one tensor-parallel group, which must fit in one
    /// NVLink domain (1: none).
    pub tp: u32,
    /// Pipeline stages, laid across nodes (1: none).
    pub pp: u32,
}

impl Default for CommHints {
    fn default() -> Self {
        CommHints {
            gradient_gb: None,
            compute_ms: None,
            overlap: None,
            tp: 1,
            pp: 1,
        }
    }
}

impl JobSpec {
    /// A training job on any GPU model, priority 0, with no CPU or memory demand, user,
    /// recorded start or open end: the common case, to which adapters add what their trace records.
    pub fn new(
        name: impl Into<JobName>,
        submit: SimTime,
        duration: SimTime,
        demand: GpuDemand,
        tenant: TenantId,
    ) -> JobSpec {
        JobSpec {
            id: JobId::default(),
            name: name.into(),
            submit,
            duration,
            demand,
            host: HostDemand::NONE,
            gpu_types: GpuTypeSet::ANY,
            tenant,
            user: None,
            priority: 0,
            kind: JobKind::Training,
            recorded_start: None,
            open_ended: false,
            gpu_util: None,
            class: None,
            comm: None,
            checkpoint_gb: None,
        }
    }
}

/// Rows an adapter or transform did not turn into jobs, counted by reason.
///
/// Nothing is dropped silently: every skip is counted here and reported in the
/// summary, with the first line that hit each reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SkipReport {
    /// Reason → count and the first source location (file:line) that hit it.
    pub reasons: BTreeMap<String, SkipCount>,
}

/// How often one skip reason occurred, and where first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SkipCount {
    /// Rows skipped for this reason.
    pub count: u64,
    /// Where it first occurred (`file:line`, or a transform's name).
    pub first: String,
}

impl SkipReport {
    /// Counts one skipped row.
    pub fn skip(&mut self, reason: &str, at: impl FnOnce() -> String) {
        match self.reasons.get_mut(reason) {
            Some(c) => c.count += 1,
            None => {
                self.reasons.insert(
                    reason.to_string(),
                    SkipCount {
                        count: 1,
                        first: at(),
                    },
                );
            }
        }
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: SkipReport) {
        for (reason, c) in other.reasons {
            let e = self.reasons.entry(reason).or_insert_with(|| SkipCount {
                count: 0,
                first: c.first.clone(),
            });
            e.count += c.count;
        }
    }

    /// Total rows skipped.
    pub fn total(&self) -> u64 {
        self.reasons.values().map(|c| c.count).sum()
    }
}

/// The wall-clock instant a workload's time 0 stands for, as the trace's clock reads it.
///
/// Traces write local wall-clock times, mostly without a zone: `zone` is None unless
/// the trace publishes one, and `start` is then the trace's own reading, not UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEpoch {
    /// The trace clock's reading at time 0.
    pub start: NaiveDateTime,
    /// The clock's time zone (an IANA name such as `US/Pacific`), when published.
    pub zone: Option<&'static str>,
}

/// How [`TraceEpoch::start`] is written in outputs (ISO 8601, no zone, milliseconds).
pub const EPOCH_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f";

impl TraceEpoch {
    /// The trace clock's reading `t` after time 0.
    pub fn at(&self, t: SimTime) -> NaiveDateTime {
        self.start + chrono::TimeDelta::milliseconds(t.as_ms() as i64)
    }
}

impl Serialize for TraceEpoch {
    /// `{"start": "2017-09-04T10:30:41.000", "zone": null}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("TraceEpoch", 2)?;
        st.serialize_field("start", &self.start.format(EPOCH_FORMAT).to_string())?;
        st.serialize_field("zone", &self.zone)?;
        st.end()
    }
}

/// A workload ready to simulate: jobs sorted by `(submit, source order)` with dense ids,
/// plus the name tables their ids index.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Workload {
    /// Jobs in submit order; `jobs[i].id == JobId(i)`.
    pub jobs: Vec<JobSpec>,
    /// Tenant names, indexed by [`TenantId`].
    pub tenants: Vec<String>,
    /// User names, indexed by [`UserId`].
    pub users: Vec<String>,
    /// GPU type names that [`GpuTypeSet`] bits refer to.
    pub gpu_types: Vec<String>,
    /// Workload class names, indexed by [`ClassId`].
    pub classes: Vec<String>,
    /// The GPU model the trace's durations were measured on (a topology model name),
    /// set by the scenario's `workload.measured_on`. None: each job's duration is its
    /// run time on whichever GPU model it runs on, so GPU speed changes nothing.
    pub measured_on: Option<String>,
    /// The calendar instant time 0 stands for, when the trace has real timestamps
    /// (Philly, GenAI); None for traces with relative times and for generated
    /// workloads. Plots draw calendar dates on time axes when it is known.
    pub epoch: Option<TraceEpoch>,
    /// Rows read from the sources (jobs + skipped).
    pub rows_read: u64,
    /// Rows not turned into jobs, by reason.
    pub skipped: SkipReport,
}

impl Workload {
    /// Sorts jobs by `(submit, current order)` and renumbers ids densely.
    pub fn finish(&mut self) {
        if !self.jobs.is_sorted_by_key(|j| j.submit) {
            self.jobs.sort_by_key(|j| j.submit); // stable: equal submits keep source order
        }
        for (i, j) in self.jobs.iter_mut().enumerate() {
            j.id = JobId(i as u32);
        }
    }

    /// The name of a tenant.
    pub fn tenant_name(&self, t: TenantId) -> &str {
        &self.tenants[t.0 as usize]
    }
}

/// Interns names to dense indices (tenants, users, GPU types).
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Interner {
    /// Index of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// Index of `name`, if interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Names in index order.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }

    /// Names in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}
