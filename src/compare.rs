//! Policy comparison: one workload run under every (queue policy × placement) pair, with
//! replications, reported as mean and 95% confidence interval per figure.
//!
//! # What runs
//!
//! [`compare`] loads the scenario's cluster once and its workload once per distinct seed,
//! then runs every (queue, placement, replication) triple as its own single-threaded,
//! deterministic [`Simulation`]. The runs are spread over the current rayon thread pool
//! (parallelism across runs, never inside one) and collected in a fixed order, so the
//! results are identical whatever the number of threads.
//!
//! # Replications and seeds
//!
//! Replication `r` (0-based) of every policy pair runs with seed `seed + r` (wrapping),
//! where `seed` is the scenario's seed or the one given on the command line. That seed
//! drives everything random in the run: a synthetic workload's generator and every
//! policy's own random streams (`[scheduler.params.<policy>]` tables apply as in
//! `dcsim run`). All policy pairs of one replication therefore see the same jobs (common
//! random numbers). A trace workload is the same in every replication; its replications
//! differ only where a policy draws random numbers, and with deterministic policies they
//! are identical (a confidence interval of 0).
//!
//! # Statistics
//!
//! Every figure is the mean over the `n` replications with a two-sided 95% confidence
//! interval from Student's t distribution with `n − 1` degrees of freedom:
//! `x̄ ± t(0.975, n−1) · s / √n`, with `s` the sample standard deviation (divisor `n − 1`)
//! (NIST/SEMATECH e-Handbook of Statistical Methods, §7.2.2.1 "Confidence limits for the
//! mean", <https://www.itl.nist.gov/div898/handbook/prc/section2/prc221.htm>). The
//! half-width is reported as the `_ci95` column; with one replication it is empty.
//!
//! Fairness is Jain's index over the tenants' mean bounded slowdowns,
//! `J = (Σx)² / (n · Σx²)`, which is 1 when every tenant sees the same slowdown and `1/n`
//! when one tenant takes all of it (R. Jain, D.-M. Chiu, W. Hawe, "A Quantitative Measure
//! of Fairness and Discrimination for Resource Allocation in Shared Computer Systems",
//! DEC-TR-301, 1984).
//!
//! # Outputs
//!
//! [`write_compare`] writes, atomically (a temporary sibling directory renamed into
//! place) and never over an existing directory without `force`:
//!
//! - `compare.csv`: one row per policy pair. Columns `name` (`queue/placement`), `queue`,
//!   `placement`, `replications`, then for each figure of [`FIGURES`] two columns:
//!   `<figure>` (mean over replications) and `<figure>_ci95` (half-width of its 95%
//!   interval). A column no row has a value for is left out ([`csv_columns`]): every
//!   `_ci95` with one replication, and figures the runs did not produce (energy with
//!   power off, fragmentation when not measured).
//! - `compare_tenants.csv`: one row per policy pair and tenant. Columns `name`, `queue`,
//!   `placement`, `tenant`, `replications` (replications in which the tenant had jobs),
//!   then mean and `_ci95` of `jobs`, `mean_wait_s`, `mean_not_running_s` and
//!   `mean_bounded_slowdown` (`_ci95`
//!   left out with one replication).
//!
//! Each run applies the scenario's `[metrics]` settings and, when `[power]` is on, runs
//! with power accounting, as `dcsim run` does.
//!
//! Numbers are written in Rust's shortest round-trip form, so a value read back equals
//! the value computed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::columnar::{self, TableFormat};
use crate::engine::SimTime;
use crate::metrics::{JobRecord, OutputLevel, Recording, SeriesResolution, Summary, UtilizationWindow};
use crate::plots;
use crate::report::{self, FileWriter, ReportError};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::Simulation;
use crate::topology::TopologyError;
use crate::workload::Workload;

/// Why a comparison could not be run or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// The scenario, its workload or a policy name is invalid (the policy error lists the
    /// valid names).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The topology failed to load.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The comparison request itself is invalid (no policies, a name twice, zero
    /// replications).
    #[error("{0}")]
    Invalid(String),
    /// The outputs could not be written, or the output directory already exists.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A run could not be billed (`[economics]`).
    #[error(transparent)]
    Economics(#[from] crate::economics::EconError),
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareConfig {
    /// Queue policy names (`dcsim policies`), in output order.
    pub queues: Vec<String>,
    /// Placement policy names, in output order.
    pub placements: Vec<String>,
    /// Replications per policy pair (at least 1).
    pub replications: u32,
    /// Base seed; replication `r` uses `seed + r`.
    pub seed: u64,
}

impl CompareConfig {
    /// The seed of replication `rep`.
    pub fn seed_of(&self, rep: u32) -> u64 {
        self.seed.wrapping_add(u64::from(rep))
    }
}

/// One figure of a run: its column name and how it is read from the run's summary.
pub struct Figure {
    /// Column name in `compare.csv` (unit in the suffix).
    pub name: &'static str,
    /// Meaning.
    pub about: &'static str,
    /// Its value for one run, or `None` where undefined (e.g. fairness without tenants).
    pub get: fn(&Summary) -> Option<f64>,
}

/// The figures reported per policy pair, in column order; `compare.csv` and the tests
/// pick every figure up from here.
pub const FIGURES: &[Figure] = &[
    Figure {
        name: "jct_mean_s",
        about: "mean job completion time (submit to end), s",
        get: |s| Some(s.jct_s.mean),
    },
    Figure {
        name: "jct_p50_s",
        about: "median job completion time, s",
        get: |s| Some(s.jct_s.p50),
    },
    Figure {
        name: "jct_p95_s",
        about: "95th percentile job completion time, s",
        get: |s| Some(s.jct_s.p95),
    },
    Figure {
        name: "jct_p99_s",
        about: "99th percentile job completion time, s",
        get: |s| Some(s.jct_s.p99),
    },
    Figure {
        name: "not_running_mean_s",
        about: "mean time not running between submit and end (queued or suspended), s",
        get: |s| Some(s.not_running_s.mean),
    },
    Figure {
        name: "not_running_p50_s",
        about: "median time not running, s",
        get: |s| Some(s.not_running_s.p50),
    },
    Figure {
        name: "not_running_p95_s",
        about: "95th percentile time not running, s",
        get: |s| Some(s.not_running_s.p95),
    },
    Figure {
        name: "not_running_p99_s",
        about: "99th percentile time not running, s",
        get: |s| Some(s.not_running_s.p99),
    },
    Figure {
        name: "wait_mean_s",
        about: "mean wait to the first start (submit to first start), s",
        get: |s| Some(s.wait_s.mean),
    },
    Figure {
        name: "wait_p50_s",
        about: "median wait to the first start, s",
        get: |s| Some(s.wait_s.p50),
    },
    Figure {
        name: "wait_p95_s",
        about: "95th percentile wait to the first start, s",
        get: |s| Some(s.wait_s.p95),
    },
    Figure {
        name: "wait_p99_s",
        about: "99th percentile wait to the first start, s",
        get: |s| Some(s.wait_s.p99),
    },
    Figure {
        name: "bounded_slowdown_mean",
        about: "mean bounded slowdown (τ = 10 s)",
        get: |s| Some(s.bounded_slowdown.mean),
    },
    Figure {
        name: "gpu_utilization",
        about: "allocated GPU-time / (cluster GPUs × makespan), 0..1",
        get: |s| Some(s.gpu_utilization),
    },
    Figure {
        name: "gpu_utilization_window",
        about: "allocated GPU-time / (cluster GPUs × window), 0..1; window: the arrivals \
                (first to last submit) or the scenario's [metrics] utilization_window_s",
        get: |s| Some(s.gpu_utilization_window),
    },
    Figure {
        name: "makespan_s",
        about: "first submission to last end, s",
        get: |s| Some(s.makespan_s),
    },
    Figure {
        name: "preemptions",
        about: "preemptions, all jobs",
        get: |s| Some(s.preemptions as f64),
    },
    Figure {
        name: "lost_gpu_hours",
        about: "GPU-hours of work lost to preemptions",
        get: |s| Some(s.lost_gpu_hours),
    },
    Figure {
        name: "fairness_jain",
        about: "Jain's index over tenants' mean bounded slowdowns, 1/n..1",
        get: fairness,
    },
    Figure {
        name: "mean_frag_gpus",
        about: "time-average fragmented GPUs (FGD paper's measure, ATC 2023)",
        get: |s| s.mean_frag_gpus,
    },
    Figure {
        name: "it_energy_mwh",
        about: "IT energy, MWh (power on only)",
        get: |s| s.power.as_ref().map(|p| p.it_energy_mwh),
    },
    Figure {
        name: "facility_energy_mwh",
        about: "facility energy (IT + cooling + losses), MWh (power on only)",
        get: |s| s.power.as_ref().map(|p| p.facility_energy_mwh),
    },
    Figure {
        name: "mean_pue",
        about: "facility energy / IT energy (power on only)",
        get: |s| s.power.as_ref().map(|p| p.mean_pue),
    },
    Figure {
        name: "peak_it_kw",
        about: "highest IT power, kW (power on only)",
        get: |s| s.power.as_ref().map(|p| p.peak_it_kw),
    },
    Figure {
        name: "peak_facility_kw",
        about: "highest facility power, kW (power on only)",
        get: |s| s.power.as_ref().map(|p| p.peak_facility_kw),
    },
    Figure {
        name: "total_cost",
        about: "total cost in the scenario's currency ([economics] only)",
        get: |s| s.economics.as_ref().map(|e| e.total()),
    },
    Figure {
        name: "co2_t",
        about: "tonnes CO2 of facility energy ([economics] with carbon only)",
        get: |s| s.economics.as_ref().map(|e| e.totals.co2_t),
    },
    Figure {
        name: "cost_per_gpu_hour",
        about: "total cost per allocated GPU-hour ([economics] only)",
        get: |s| {
            s.economics
                .as_ref()
                .and_then(|e| e.totals.per_gpu_hour())
                .map(crate::economics::bill::to_f64)
        },
    },
];

/// Jain's fairness index of the tenants' mean bounded slowdowns (tenants whose jobs ran).
pub fn fairness(s: &Summary) -> Option<f64> {
    let xs: Vec<f64> = s
        .tenants
        .iter()
        .filter(|t| t.ran > 0)
        .map(|t| t.mean_bounded_slowdown)
        .collect();
    jain_index(&xs)
}

/// Jain's fairness index `J = (Σx)² / (n · Σx²)` (Jain, Chiu, Hawe, DEC-TR-301, 1984):
/// 1 when all values are equal, `1/n` when one value holds everything. `None` for an
/// empty list or all zeros, where it is undefined.
pub fn jain_index(xs: &[f64]) -> Option<f64> {
    let sum: f64 = xs.iter().sum();
    let sum_sq: f64 = xs.iter().map(|x| x * x).sum();
    (!xs.is_empty() && sum_sq > 0.0).then(|| sum * sum / (xs.len() as f64 * sum_sq))
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom, to six
/// decimals. They agree with NIST/SEMATECH e-Handbook Table 1.3.6.7.2 (Critical values of
/// the Student's t distribution, column 0.975, three decimals) and were checked to six
/// decimals by integrating the t density numerically.
const T_975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
    2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
    2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df ≥ 1`).
///
/// Up to 30 d.o.f. from a six-decimal table that agrees with NIST/SEMATECH e-Handbook Table
/// 1.3.6.7.2; beyond, from the Cornish–Fisher expansion in
/// 1/df (Abramowitz & Stegun, Handbook of Mathematical Functions, 26.7.5), which is within
/// 1e-6 of the exact value there (t(40) = 2.021075, t(120) = 1.979930). `df = 0` has no
/// quantile and returns infinity.
pub fn t_975(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df as usize - 1],
        _ => {
            let z = 1.959_963_984_540_054_f64; // Φ⁻¹(0.975)
            let n = df as f64;
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
            let g4 =
                (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5) - 1920.0 * z.powi(3) - 945.0 * z)
                    / 92160.0;
            z + g1 / n + g2 / n.powi(2) + g3 / n.powi(3) + g4 / n.powi(4)
        }
    }
}

/// A figure over replications: mean and half-width of its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Replications the mean is over.
    pub n: u32,
    /// Mean, or `None` with no values.
    pub mean: Option<f64>,
    /// Half-width `t(0.975, n−1) · s / √n`, or `None` with fewer than two values.
    pub ci95: Option<f64>,
    /// Sample standard deviation `s` (divisor `n − 1`), or `None` with fewer than two
    /// values.
    pub std: Option<f64>,
}

impl Estimate {
    /// Mean and 95% Student-t confidence half-width of `values` (see the module docs).
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                n: 0,
                mean: None,
                ci95: None,
                std: None,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n >= 2).then(|| {
            let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt()
        });
        Estimate {
            n: n as u32,
            mean: Some(mean),
            ci95: std.map(|s| t_975(n as u64 - 1) * s / (n as f64).sqrt()),
            std,
        }
    }
}

/// One simulation run of a comparison.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Queue policy name.
    pub queue: String,
    /// Placement policy name.
    pub placement: String,
    /// Replication index, from 0.
    pub replication: u32,
    /// The seed it ran with.
    pub seed: u64,
    /// Its summary.
    pub summary: Summary,
    /// Quantiles of the waits of the jobs that started, s ([`plots::cdf::quantiles`]).
    pub wait_quantiles: Vec<f64>,
    /// Quantiles of their completion times, s.
    pub jct_quantiles: Vec<f64>,
}

/// One policy pair's figures over replications.
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// Queue policy name.
    pub queue: String,
    /// Placement policy name.
    pub placement: String,
    /// Replications run.
    pub replications: u32,
    /// One estimate per entry of [`FIGURES`], in that order.
    pub figures: Vec<Estimate>,
}

impl CompareRow {
    /// `queue/placement`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.queue, self.placement)
    }

    /// The estimate of the figure called `name`, if there is one.
    pub fn figure(&self, name: &str) -> Option<&Estimate> {
        FIGURES
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| self.figures.get(i))
    }
}

/// One tenant's results under one policy pair, over replications.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// Queue policy name.
    pub queue: String,
    /// Placement policy name.
    pub placement: String,
    /// Tenant name.
    pub tenant: String,
    /// Jobs submitted by the tenant.
    pub jobs: Estimate,
    /// Mean wait to the first start of its jobs that ran, seconds.
    pub mean_wait_s: Estimate,
    /// Mean time not running (queued or suspended) of its jobs that ran, seconds.
    pub mean_not_running_s: Estimate,
    /// Mean bounded slowdown of its jobs that ran.
    pub mean_bounded_slowdown: Estimate,
}

/// The result of a comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// The scenario's description.
    pub description: String,
    /// Topology file, as the scenario names it.
    pub topology: String,
    /// The workload ([`plots::workload_label`]).
    pub workload: String,
    /// What was compared.
    pub config: CompareConfig,
    /// Every run, ordered by queue, placement, replication.
    pub runs: Vec<RunResult>,
    /// One row per policy pair, queues outer, placements inner, in the requested order.
    pub rows: Vec<CompareRow>,
    /// Per-tenant rows, by policy pair (same order as `rows`) then tenant name.
    pub tenants: Vec<TenantRow>,
}

fn check_names(kind: &str, names: &[String]) -> Result<(), CompareError> {
    if names.is_empty() {
        return Err(CompareError::Invalid(format!("no {kind} policies to compare")));
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(CompareError::Invalid(format!(
                "{kind} policy `{n}` is listed twice"
            )));
        }
    }
    Ok(())
}

/// Runs the comparison on the current rayon thread pool (wrap the call in
/// `ThreadPool::install` to choose the number of threads). The results do not depend on
/// the number of threads.
pub fn compare(scenario: &Scenario, config: &CompareConfig) -> Result<Comparison, CompareError> {
    check_names("queue", &config.queues)?;
    check_names("placement", &config.placements)?;
    if config.replications == 0 {
        return Err(CompareError::Invalid("replications must be at least 1".into()));
    }
    // Fail on an unknown name before loading anything (the error lists the valid names).
    for q in &config.queues {
        scenario.queue_policy(q, config.seed)?;
    }
    for p in &config.placements {
        scenario.placement_policy(p, config.seed)?;
    }

    let report = scenario.load_topology()?;
    let cluster = &report.cluster;
    let econ = scenario.economics(cluster)?;
    // A trace workload does not depend on the seed: load it once for every replication.
    let seeded = scenario.config.workload.synthetic.is_some();
    let seeds: Vec<u64> = if seeded {
        (0..config.replications).map(|r| config.seed_of(r)).collect()
    } else {
        vec![config.seed]
    };
    let workloads: Vec<Workload> = seeds
        .par_iter()
        .map(|&seed| scenario.load_workload(seed, cluster.total_gpus()))
        .collect::<Result<_, _>>()?;
    for q in &config.queues {
        scenario.check_tenants(scenario.queue_policy(q, config.seed)?.as_ref(), &workloads[0])?;
    }

    let mut plan = Vec::new();
    for q in &config.queues {
        for p in &config.placements {
            for r in 0..config.replications {
                plan.push((q, p, r));
            }
        }
    }
    let runs: Vec<RunResult> = plan
        .par_iter()
        .map(|&(q, p, r)| -> Result<RunResult, CompareError> {
            let seed = config.seed_of(r);
            let workload = &workloads[if seeded { r as usize } else { 0 }];
            let sim = Simulation::new(
                cluster,
                workload,
                scenario.queue_policy(q, seed)?,
                scenario.placement_on(p, seed, &report)?,
                scenario.sim_config(),
            )
            .with_models(scenario.models(&report, workload, seed)?);
            // The comparison draws CDFs of waits and JCTs: it keeps the jobs, not the series.
            let mut out = sim
                .with_recording(Recording {
                    level: OutputLevel::Jobs,
                    resolution: SeriesResolution::ChangePoints,
                    utilization_window: scenario.config.metrics.window(),
                    keep_segments: econ.is_some(),
                })
                .run(&mut |_| {});
            if let Some(e) = &econ {
                let bill = crate::economics::bill(e, &out, workload, cluster)?;
                out.summary.economics = Some(crate::economics::EconSummary::of(&bill));
            }
            let secs = |f: fn(&JobRecord) -> Option<SimTime>| -> Vec<f64> {
                out.jobs
                    .iter()
                    .filter_map(|j| f(j).map(SimTime::as_secs_f64))
                    .collect()
            };
            Ok(RunResult {
                queue: q.clone(),
                placement: p.clone(),
                replication: r,
                seed,
                wait_quantiles: plots::cdf::quantiles(&mut secs(JobRecord::wait)),
                jct_quantiles: plots::cdf::quantiles(&mut secs(JobRecord::jct)),
                summary: out.summary,
            })
        })
        .collect::<Result<_, _>>()?;

    let mut rows = Vec::new();
    let mut tenants = Vec::new();
    for group in runs.chunks(config.replications as usize) {
        let first = &group[0];
        let figures = FIGURES
            .iter()
            .map(|f| {
                let values: Vec<f64> = group.iter().filter_map(|run| (f.get)(&run.summary)).collect();
                Estimate::of(&values)
            })
            .collect();
        rows.push(CompareRow {
            queue: first.queue.clone(),
            placement: first.placement.clone(),
            replications: group.len() as u32,
            figures,
        });
        let mut by_tenant: BTreeMap<&str, [Vec<f64>; 4]> = BTreeMap::new();
        for run in group {
            for t in &run.summary.tenants {
                let v = by_tenant.entry(t.tenant.as_str()).or_default();
                v[0].push(t.jobs as f64);
                if t.ran > 0 {
                    v[1].push(t.mean_wait_s);
                    v[2].push(t.mean_bounded_slowdown);
                    v[3].push(t.mean_not_running_s);
                }
            }
        }
        for (tenant, [jobs, wait, sd, not_running]) in by_tenant {
            tenants.push(TenantRow {
                queue: first.queue.clone(),
                placement: first.placement.clone(),
                tenant: tenant.to_string(),
                jobs: Estimate::of(&jobs),
                mean_wait_s: Estimate::of(&wait),
                mean_not_running_s: Estimate::of(&not_running),
                mean_bounded_slowdown: Estimate::of(&sd),
            });
        }
    }
    Ok(Comparison {
        scenario: scenario.config.name.clone(),
        description: scenario.config.description.clone(),
        topology: scenario.config.topology.path.display().to_string(),
        workload: plots::workload_label(&scenario.config),
        config: config.clone(),
        runs,
        rows,
        tenants,
    })
}

/// Appends `x` to a CSV line: shortest round-trip form, empty for `None`.
fn push_num(line: &mut String, x: Option<f64>) {
    line.push(',');
    if let Some(x) = x {
        let _ = write!(line, "{x}");
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Which columns of each figure `compare.csv` holds: (figure index, mean column,
/// `_ci95` column). A column no row has a value for (a figure the runs did not produce,
/// such as energy with power off, or every `_ci95` with one replication) is left out, so
/// readers never meet an all-empty column (pandas reads one as NaN, DuckDB as VARCHAR).
pub fn csv_columns(c: &Comparison) -> Vec<(usize, bool, bool)> {
    (0..FIGURES.len())
        .map(|i| {
            let figures = || c.rows.iter().filter_map(|r| r.figures.get(i));
            (
                i,
                figures().any(|e| e.mean.is_some()),
                figures().any(|e| e.ci95.is_some()),
            )
        })
        .filter(|&(_, mean, _)| mean)
        .collect()
}

/// Writes `compare.csv` (columns in the module docs).
pub fn write_compare_csv(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let columns = csv_columns(c);
    let mut line = String::from("name,queue,placement,replications");
    for &(i, _, ci) in &columns {
        let _ = write!(line, ",{}", FIGURES[i].name);
        if ci {
            let _ = write!(line, ",{}_ci95", FIGURES[i].name);
        }
    }
    writeln!(w, "{line}")?;
    for row in &c.rows {
        line.clear();
        let _ = write!(
            line,
            "{},{},{},{}",
            field(&row.name()),
            field(&row.queue),
            field(&row.placement),
            row.replications
        );
        for &(i, _, ci) in &columns {
            push_num(&mut line, row.figures[i].mean);
            if ci {
                push_num(&mut line, row.figures[i].ci95);
            }
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// Writes `compare_tenants.csv` (columns in the module docs).
/// A `_ci95` column no row has a value for (one replication) is left out, as in
/// `compare.csv`.
pub fn write_tenants_csv(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let fields = |t: &TenantRow| {
        [
            t.jobs,
            t.mean_wait_s,
            t.mean_not_running_s,
            t.mean_bounded_slowdown,
        ]
    };
    let mut ci = [false; 4];
    for t in &c.tenants {
        for (k, e) in fields(t).iter().enumerate() {
            ci[k] |= e.ci95.is_some();
        }
    }
    let mut line = String::from("name,queue,placement,tenant,replications");
    for (name, ci) in [
        "jobs",
        "mean_wait_s",
        "mean_not_running_s",
        "mean_bounded_slowdown",
    ]
    .iter()
    .zip(ci)
    {
        let _ = write!(line, ",{name}");
        if ci {
            let _ = write!(line, ",{name}_ci95");
        }
    }
    writeln!(w, "{line}")?;
    for t in &c.tenants {
        line.clear();
        let _ = write!(
            line,
            "{},{},{},{},{}",
            field(&format!("{}/{}", t.queue, t.placement)),
            field(&t.queue),
            field(&t.placement),
            field(&t.tenant),
            t.jobs.n
        );
        for (e, ci) in fields(t).iter().zip(ci) {
            push_num(&mut line, e.mean);
            if ci {
                push_num(&mut line, e.ci95);
            }
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// Writes `compare_quantiles.csv`: per policy pair and metric (`wait`, `jct`), the
/// quantiles of [`plots::cdf`] averaged over replications quantile by quantile.
pub fn write_quantiles_csv(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(w, "name,queue,placement,metric,quantile,value_s")?;
    let mut line = String::new();
    for group in c.runs.chunks(c.config.replications.max(1) as usize) {
        let first = &group[0];
        let name = field(&format!("{}/{}", first.queue, first.placement));
        for (metric, get) in [
            (
                "wait",
                (|r: &RunResult| &r.wait_quantiles) as fn(&RunResult) -> &Vec<f64>,
            ),
            ("jct", |r: &RunResult| &r.jct_quantiles),
        ] {
            let runs: Vec<&Vec<f64>> = group.iter().map(get).filter(|q| !q.is_empty()).collect();
            for k in 0..runs.first().map_or(0, |q| q.len()) {
                let mean = runs.iter().map(|q| q[k]).sum::<f64>() / runs.len() as f64;
                line.clear();
                let _ = write!(
                    line,
                    "{name},{},{},{metric},{},{mean}",
                    field(&first.queue),
                    field(&first.placement),
                    plots::cdf::probability(k)
                );
                writeln!(w, "{line}")?;
            }
        }
    }
    Ok(())
}

/// Writes `compare.json`: what was compared (scenario, description, topology, workload,
/// policies, replications, seed, dcsim version), for the report.
pub fn write_meta_json(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let meta = serde_json::json!({
        "scenario": c.scenario,
        "description": c.description,
        "topology": c.topology,
        "workload": c.workload,
        "queue_policies": c.config.queues,
        "placements": c.config.placements,
        "replications": c.config.replications,
        "seed": c.config.seed,
        "dcsim_version": env!("CARGO_PKG_VERSION"),
    });
    serde_json::to_writer_pretty(&mut *w, &meta)?;
    writeln!(w)
}

/// The files a comparison folder holds: what marks a folder as an earlier comparison
/// that `--force` may replace.
pub const COMPARE_FILES: [&str; 4] = [
    "compare.csv",
    "compare_tenants.csv",
    "compare_quantiles.csv",
    "compare.json",
];

/// Writes `compare.csv`, `compare_tenants.csv`, `compare_quantiles.csv` and
/// `compare.json` into `dir` atomically (see [`report::write_dir`]); refuses to replace
/// an existing `dir` unless `force`. `finish` (e.g. the report) runs on the complete
/// files before they are moved into place.
pub fn write_compare(
    dir: &Path,
    force: bool,
    c: &Comparison,
    finish: Option<&report::Finish>,
) -> Result<(), CompareError> {
    write_compare_as(dir, force, c, TableFormat::Csv, finish)
}

/// [`write_compare`] with the tables in `format`: as Parquet, each CSV table is written
/// as a `.parquet` file of the same stem and columns; `compare.json` stays JSON.
pub fn write_compare_as(
    dir: &Path,
    force: bool,
    c: &Comparison,
    format: TableFormat,
    finish: Option<&report::Finish>,
) -> Result<(), CompareError> {
    let main = |w: &mut dyn Write| write_compare_csv(w, c);
    let tenants = |w: &mut dyn Write| write_tenants_csv(w, c);
    let quantiles = |w: &mut dyn Write| write_quantiles_csv(w, c);
    let meta = |w: &mut dyn Write| write_meta_json(w, c);
    let [m, t, q, j] = COMPARE_FILES;
    let files: [(&str, &FileWriter); 4] = [(m, &main), (t, &tenants), (q, &quantiles), (j, &meta)];
    columnar::write_dir_as(dir, force, &files, format, &|_| {}, finish)?;
    Ok(())
}

/// A readable table of the headline figures, one line per policy pair: means, with
/// `±` the 95% half-width when there are replications. Times in hours.
///
/// "not run" is the time a job spent not running between submit and end (queued or
/// suspended): under preemptive policies the wait to the first start is near zero and
/// says nothing. Utilization is over the window the header names (`arrivals`: first to
/// last submit; `window`: the scenario's `[metrics] utilization_window_s`), not the
/// makespan, whose drain makes every policy look alike. Energy and peak facility power
/// appear when the runs had power on.
pub fn table(c: &Comparison) -> String {
    let window = match c.runs.first().map(|r| r.summary.utilization_window) {
        Some(UtilizationWindow::Configured) => "util % window",
        _ => "util % arrivals",
    };
    let mut cols: Vec<(&str, &str, f64)> = vec![
        ("JCT mean h", "jct_mean_s", 3600.0),
        ("JCT p95 h", "jct_p95_s", 3600.0),
        ("not run mean h", "not_running_mean_s", 3600.0),
        ("not run p95 h", "not_running_p95_s", 3600.0),
        ("slowdown", "bounded_slowdown_mean", 1.0),
        (window, "gpu_utilization_window", 0.01),
        ("makespan h", "makespan_s", 3600.0),
        ("Jain", "fairness_jain", 1.0),
    ];
    if c.runs.iter().any(|r| r.summary.power.is_some()) {
        cols.push(("IT MWh", "it_energy_mwh", 1.0));
        cols.push(("facility MWh", "facility_energy_mwh", 1.0));
        cols.push(("peak fac. kW", "peak_facility_kw", 1.0));
    }
    let cell = |e: Option<&Estimate>, scale: f64| match e.and_then(|e| e.mean.map(|m| (m, e.ci95))) {
        None => "-".to_string(),
        Some((m, None)) => format!("{:.3}", m / scale),
        Some((m, Some(ci))) => format!("{:.3} ±{:.3}", m / scale, ci / scale),
    };
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["policy".to_string(), "reps".to_string()];
    header.extend(cols.iter().map(|c| c.0.to_string()));
    header.push("preempt".into());
    grid.push(header);
    for row in &c.rows {
        let mut line = vec![row.name(), row.replications.to_string()];
        line.extend(cols.iter().map(|&(_, fig, scale)| cell(row.figure(fig), scale)));
        line.push(cell(row.figure("preemptions"), 1.0));
        grid.push(line);
    }
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|i| grid.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &grid {
        for (i, (cell, w)) in line.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{cell}", " ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}
