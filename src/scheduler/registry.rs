//! Name → policy. Adding a policy is one file plus one entry here.

use super::params::{ParamDoc, PolicyError, PolicyParams};
use super::placement::{
    BestFit, Consolidate, DotProduct, Fgd, FirstFit, GpuClustering, GpuPacking, Locality, ModelAffinity,
    Pooled, RandomFit, TopoAware, WorstFit,
};
use super::queue::{
    gittins_from_params, CheapHours, Conservative, Easy, FairShare, Fifo, FifoSkip, Priority, Qssf, Quota,
    Sjf, Srtf, Tiresias, CHEAP_HOURS_PARAMS, ESTIMATE_PARAMS,
};
use super::traits::{Placement, QueuePolicy};
use crate::engine::SimTime;

/// One registry entry: name, one-line description with its source, parameters,
/// constructor.
pub struct Entry<T: ?Sized> {
    /// Registry name.
    pub name: &'static str,
    /// What it does and where it comes from.
    pub about: &'static str,
    /// Its parameters.
    pub params: &'static [ParamDoc],
    /// Makes a fresh instance from its parameters.
    pub make: fn(&mut PolicyParams) -> Result<Box<T>, PolicyError>,
}

/// Queue policies.
pub const QUEUE_POLICIES: &[Entry<dyn QueuePolicy>] = &[
    Entry {
        name: "fifo",
        about: "strict first-in first-out; the head blocks the queue",
        params: &[],
        make: |_| Ok(Box::new(Fifo::default())),
    },
    Entry {
        name: "fifo-skip",
        about: "FIFO order, skipping jobs that do not fit (greedy, no reservation)",
        params: &[],
        make: |_| Ok(Box::new(FifoSkip::default())),
    },
    Entry {
        name: "sjf",
        about: "shortest (estimated) job first, skipping jobs that do not fit; non-preemptive",
        params: &ESTIMATE_PARAMS,
        make: |p| Ok(Box::new(Sjf::from_params(p)?)),
    },
    Entry {
        name: "srtf",
        about: "shortest remaining time first; evicts much longer running jobs (Tiresias, NSDI 2019)",
        params: &SRTF_PARAMS,
        make: |p| Ok(Box::new(Srtf::from_params(p)?)),
    },
    Entry {
        name: "easy",
        about: "FIFO with EASY backfilling: the head's reservation is never delayed (Lifka 1995)",
        params: &BACKFILL_PARAMS,
        make: |p| Ok(Box::new(Easy::from_params(p)?)),
    },
    Entry {
        name: "conservative",
        about: "FIFO with conservative backfilling: no waiting job's reservation is delayed (Mu'alem & Feitelson 2001)",
        params: &BACKFILL_PARAMS,
        make: |p| Ok(Box::new(Conservative::from_params(p)?)),
    },
    Entry {
        name: "cheap-hours",
        about: "FIFO that holds low-priority (deferrable) jobs for cheap or clean hours: a fixed daily window, or each day's lowest hours of the [economics] price or carbon series",
        params: &CHEAP_HOURS_PARAMS,
        make: |p| Ok(Box::new(CheapHours::from_params(p)?)),
    },
    Entry {
        name: "priority",
        about: "highest priority first (ties FIFO); may evict strictly lower-priority running jobs",
        params: &[ParamDoc {
            key: "preempt",
            default: "true",
            about: "whether a waiting job may evict strictly lower-priority running jobs",
        }],
        make: |p| Ok(Box::new(Priority::from_params(p)?)),
    },
    Entry {
        name: "tiresias",
        about: "Tiresias discretized 2D-LAS: K queues by attained GPU-service, FIFO within, preemptive (Gu et al., NSDI 2019)",
        params: TIRESIAS_PARAMS,
        make: |p| Ok(Box::new(Tiresias::from_params(p, "tiresias", None)?)),
    },
    Entry {
        name: "gittins",
        about: "Tiresias discretized 2D-Gittins index, service distribution learned from finished jobs (Gu et al., NSDI 2019)",
        params: TIRESIAS_PARAMS,
        make: |p| Ok(Box::new(gittins_from_params(p)?)),
    },
    Entry {
        name: "qssf",
        about: "quasi-shortest-service-first: GPUs x duration predicted from the submitter's finished jobs, skip if no fit (Hu et al., SC 2021)",
        params: &[
            ParamDoc {
                key: "history",
                default: "10",
                about: "finished jobs averaged per (user | tenant | any, GPU demand) group",
            },
            ParamDoc {
                key: "default_duration_s",
                default: "3600.0",
                about: "predicted duration, seconds, before any job has finished",
            },
        ],
        make: |p| Ok(Box::new(Qssf::from_params(p)?)),
    },
    Entry {
        name: "quota",
        about: "per-tenant GPU quotas (Philly/PAI virtual clusters), FIFO within a tenant, optional lending with reclaim by preemption",
        params: &[
            ParamDoc {
                key: "quotas",
                default: "{}",
                about: "table tenant name = GPUs",
            },
            ParamDoc {
                key: "default_quota",
                default: "unlimited",
                about: "GPUs for tenants not in `quotas`",
            },
            ParamDoc {
                key: "borrow",
                default: "false",
                about: "lend idle quota; lenders reclaim it by preempting borrowers (latest started first)",
            },
        ],
        make: |p| Ok(Box::new(Quota::from_params(p)?)),
    },
    Entry {
        name: "fair-share",
        about: "weighted fair share: lowest GPU share / weight starts next (DRF, Ghodsi et al., NSDI 2011; Slurm fair-share factor)",
        params: &[
            ParamDoc {
                key: "weights",
                default: "{} (each tenant 1)",
                about: "table tenant name = weight > 0",
            },
            ParamDoc {
                key: "measure",
                default: "\"gpus\"",
                about: "\"gpus\": GPUs held now; \"gpu_time\": GPU-time used, decayed",
            },
            ParamDoc {
                key: "decay_half_life_s",
                default: "0",
                about: "half-life of past usage under measure = \"gpu_time\", seconds; 0: no decay",
            },
        ],
        make: |p| Ok(Box::new(FairShare::from_params(p)?)),
    },
];

/// SRTF's parameters: the run-time estimate and its anti-thrash factor.
const SRTF_PARAMS: [ParamDoc; 3] = [
    ESTIMATE_PARAMS[0],
    ESTIMATE_PARAMS[1],
    ParamDoc {
        key: "preempt_factor",
        default: "2.0",
        about: "evict a running job only if its estimated remaining time exceeds this × the newcomer's (≥ 1)",
    },
];

/// The backfilling policies' parameters: the run-time estimate and the depth bound.
const BACKFILL_PARAMS: [ParamDoc; 3] = [
    ESTIMATE_PARAMS[0],
    ESTIMATE_PARAMS[1],
    ParamDoc {
        key: "bf_max_job_test",
        default: "100",
        about: "waiting jobs one backfill pass examines (Slurm's bf_max_job_test)",
    },
];

/// Parameters of `tiresias` and `gittins`.
const TIRESIAS_PARAMS: &[ParamDoc] = &[
    ParamDoc {
        key: "thresholds_gpu_s",
        default: "[3600.0]",
        about: "attained-service thresholds between the K queues, GPU-seconds, strictly increasing (K = len + 1)",
    },
    ParamDoc {
        key: "starvation_factor",
        default: "0",
        about: "promote a job to the top queue once it has waited this many times its executed time (PROMOTEKNOB); 0 disables",
    },
];

/// Placement policies.
pub const PLACEMENTS: &[Entry<dyn Placement>] = &[
    Entry {
        name: "first-fit",
        about:
            "lowest-numbered node that holds the job; gangs larger than a node spread over the fewest nodes",
        params: &[],
        make: |_| Ok(Box::new(FirstFit)),
    },
    Entry {
        name: "best-fit",
        about: "node (or shared GPU) left with the least free capacity; gangs larger than a node spread",
        params: &[],
        make: |_| Ok(Box::new(BestFit)),
    },
    Entry {
        name: "pooled",
        about: "any free GPUs of the model count, across node boundaries (peer simulators' rule; M/M/c)",
        params: &[],
        make: |_| Ok(Box::new(Pooled)),
    },
    Entry {
        name: "worst-fit",
        about: "node (or shared GPU) left with the most free capacity (spreads load); gangs larger than a node spread",
        params: &[],
        make: |_| Ok(Box::new(WorstFit)),
    },
    Entry {
        name: "random",
        about: "a node drawn uniformly among those that hold the job (seeded stream policy.random.place)",
        params: &[],
        make: |p| Ok(Box::new(RandomFit::new(p.rng("place")))),
    },
    Entry {
        name: "consolidate",
        about: "fewest nodes, then fewest racks: best fit on one node, else a gang inside one rack when it can",
        params: &[],
        make: |_| Ok(Box::new(Consolidate)),
    },
    Entry {
        name: "model-affinity",
        about: "cheapest allowed GPU model first (relative speed, then TDP), best fit within it",
        params: &[],
        make: |_| Ok(Box::new(ModelAffinity)),
    },
    Entry {
        name: "fgd",
        about: "fragmentation gradient descent: least growth of expected GPU fragmentation (Weng et al., ATC 2023)",
        params: &[],
        make: |_| Ok(Box::new(Fgd::default())),
    },
    Entry {
        name: "dot-product",
        about: "smallest dot product of request and free (CPU, GPUs), normalised by the largest node (Tetris; FGD paper baseline)",
        params: &[],
        make: |_| Ok(Box::new(DotProduct::default())),
    },
    Entry {
        name: "gpu-packing",
        about: "shared GPUs first, then free GPUs on used nodes, then idle nodes (FGD paper baseline)",
        params: &[],
        make: |_| Ok(Box::new(GpuPacking)),
    },
    Entry {
        name: "gpu-clustering",
        about: "keep tasks with the same GPU request on the same nodes (FGD paper baseline)",
        params: &[],
        make: |_| Ok(Box::new(GpuClustering::default())),
    },
    Entry {
        name: "topo-aware",
        about: "fewest fabric leaves, then fewest pods: best fit on one node, else the tightest leaf that holds the gang",
        params: &[],
        make: |_| Ok(Box::new(TopoAware::default())),
    },
    Entry {
        name: "locality",
        about: "topo-aware, but a gang waits up to timeout_s for as few leaves as an idle fabric allows (Philly, Jeon et al. ATC 2019)",
        params: &[ParamDoc {
            key: "timeout_s",
            default: "300.0",
            about: "seconds after submission a gang holds out for a consolidated placement, then takes the fewest leaves free",
        }],
        make: |p| {
            let t = p.f64("timeout_s", 300.0)?;
            let timeout = SimTime::try_from_secs_f64(t).map_err(|e| p.error("timeout_s", e.to_string()))?;
            Ok(Box::new(Locality::new(timeout)))
        },
    },
];

fn build<T: ?Sized>(
    table: &[Entry<T>],
    kind: &'static str,
    name: &str,
    params: &toml::Table,
    seed: u64,
) -> Result<Box<T>, PolicyError> {
    let entry = table
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| PolicyError::Unknown {
            kind,
            name: name.to_string(),
            valid: table.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })?;
    let mut p = PolicyParams::new(entry.name, params, seed);
    let policy = (entry.make)(&mut p)?;
    p.finish(entry.params)?;
    Ok(policy)
}

/// The queue policy called `name`, with `params` from its scenario table.
pub fn build_queue(name: &str, params: &toml::Table, seed: u64) -> Result<Box<dyn QueuePolicy>, PolicyError> {
    build(QUEUE_POLICIES, "queue", name, params, seed)
}

/// The placement policy called `name`, with `params` from its scenario table.
pub fn build_placement(
    name: &str,
    params: &toml::Table,
    seed: u64,
) -> Result<Box<dyn Placement>, PolicyError> {
    build(PLACEMENTS, "placement", name, params, seed)
}

/// The queue policy called `name`, with default parameters.
pub fn queue_policy(name: &str) -> Result<Box<dyn QueuePolicy>, PolicyError> {
    build_queue(name, &toml::Table::new(), 0)
}

/// The placement policy called `name`, with default parameters.
pub fn placement(name: &str) -> Result<Box<dyn Placement>, PolicyError> {
    build_placement(name, &toml::Table::new(), 0)
}
