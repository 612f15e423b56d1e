//! Long-running service instances replayed as each service's replicas over time:
//! Alibaba's GPU-disaggregated DLRM inference trace (2025,
//! `disaggregated_DLRM_trace.csv`; Yang et al., NSDI 2025), one row per instance of a
//! service (`app_name`) with its creation, scheduling and deletion times.
//!
//! The trace records no requests, only which instances were alive when, so a service
//! here is its replicas: no request is simulated and latency figures stay empty
//! (`requests` 0, `slo_met` false: nothing was measured). The rows are read by the
//! workload's `dlrm` adapter ([`crate::workload::adapters`]), so rows map, are skipped
//! and fail exactly as a `dlrm` job trace does: an instance is alive from its recorded
//! start (`scheduled_time`) for its duration (to the trace's end when it outlived it),
//! holds its GPU demand, and belongs to the service its tenant (`app_name`) names;
//! CPU-node rows and rows that never ran are counted by reason, not kept.
//!
//! Per service: replicas over time (live instances at each change), GPU-hours (the
//! integral of live GPUs), energy (GPU-hours at idle plus `power_share` of the
//! idle-to-TDP range: the trace records no load, so the share is the scenario's stated
//! assumption) and peak draw. A `{name}` total over every service holds whole nodes of
//! the GPU model while its live GPUs need them (instances of all services packed
//! together, as the trace's GPU nodes host several services), so the run's training
//! jobs and power see them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ServingError;
use super::report::{Drops, ServiceReport, Slo};
use crate::metrics::Distribution;
use crate::workload::adapters::{read_trace, TraceFormat};
use crate::workload::MILLI_PER_GPU;

/// One `[[instance_services]]` table: a trace of instances replayed as services.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceServices {
    /// Name of the total; each service is reported as `{name}/{app_name}`.
    pub name: String,
    /// The DLRM instance CSV (relative to the scenario file).
    pub path: PathBuf,
    /// GPU model of the GPU instances (catalog or topology name).
    pub gpu: String,
    /// Share of the idle-to-TDP power range a GPU instance draws (default 0: idle; the
    /// trace records no load, so any other figure is the scenario's assumption).
    #[serde(default)]
    pub power_share: f64,
}

impl InstanceServices {
    /// Checks the fields; `key` is the table's dotted path (`instance_services[0]`).
    pub fn validate(&self, key: &str) -> Result<(), ServingError> {
        if !(0.0..=1.0).contains(&self.power_share) {
            return Err(ServingError::config(
                format!("{key}.power_share"),
                "expected a share 0 to 1",
            ));
        }
        Ok(())
    }
}

/// One instance: alive over [start, end) seconds, holding `gpus` GPUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instance {
    /// Index of its service in [`InstanceTrace::apps`].
    pub app: u32,
    /// Seconds from the trace start.
    pub start_s: f64,
    /// Seconds from the trace start.
    pub end_s: f64,
    /// GPUs held.
    pub gpus: f64,
}

/// The instances of a trace, by service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceTrace {
    /// Service names (`app_name`), in order of first appearance.
    pub apps: Vec<String>,
    /// The instances kept.
    pub instances: Vec<Instance>,
    /// End of the replay: the latest instance end, seconds (instances that outlived
    /// the trace end at its last recorded time).
    pub end_s: f64,
    /// Rows skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// Reads a DLRM instance trace through the workload's `dlrm` adapter: one instance per
/// job, its service the job's tenant.
pub fn read_dlrm_instances(path: &Path) -> Result<InstanceTrace, ServingError> {
    let w = read_trace(TraceFormat::Dlrm, path)?;
    let instances: Vec<Instance> = w
        .jobs
        .iter()
        .map(|j| {
            let start = j.recorded_start.unwrap_or(j.submit);
            Instance {
                app: j.tenant.0,
                start_s: start.as_secs_f64(),
                end_s: (start + j.duration).as_secs_f64(),
                gpus: j.demand.total_milli() as f64 / f64::from(MILLI_PER_GPU),
            }
        })
        .collect();
    Ok(InstanceTrace {
        end_s: instances.iter().map(|i| i.end_s).fold(0.0, f64::max),
        apps: w.tenants,
        instances,
        skipped: (w.skipped.reasons.into_iter())
            .map(|(reason, c)| (reason, c.count))
            .collect(),
    })
}

/// Replicas, GPUs and energy of one group of instances over a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The figures, as a service reports them (no requests: see the module docs).
    pub report: ServiceReport,
    /// (time s, live GPUs) at each change, from time 0.
    pub gpus_over_time: Vec<(f64, f64)>,
}

/// Replays `instances` over [0, `end_s`]: live instances and GPUs at each change, the
/// integral of live GPUs, and energy with each GPU at `gpu_w` watts.
pub fn replay<'a>(instances: impl Iterator<Item = &'a Instance>, end_s: f64, gpu_w: f64) -> Replay {
    // (time, +1 start / -1 end, GPUs); ends first at equal times.
    let mut events: Vec<(f64, i32, f64)> = Vec::new();
    for i in instances {
        events.push((i.start_s, 1, i.gpus));
        events.push((i.end_s, -1, i.gpus));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut live, mut gpus, mut peak_gpus, mut gpu_s) = (0i64, 0.0f64, 0.0f64, 0.0f64);
    let mut replicas_over_time: Vec<(f64, u32)> = Vec::new();
    let mut gpus_over_time: Vec<(f64, f64)> = Vec::new();
    let (mut k, mut t) = (0, 0.0f64);
    loop {
        while let Some(&(at, d, g)) = events.get(k) {
            if at > t {
                break;
            }
            live += i64::from(d);
            gpus += f64::from(d) * g;
            k += 1;
        }
        // Sums of whole GPU counts are exact; fractional requests may leave a hair.
        if gpus.abs() < 1e-9 {
            gpus = 0.0;
        }
        peak_gpus = peak_gpus.max(gpus);
        if replicas_over_time.last().is_none_or(|l| l.1 != live as u32) {
            replicas_over_time.push((t, live as u32));
        }
        if gpus_over_time.last().is_none_or(|l| l.1 != gpus) {
            gpus_over_time.push((t, gpus));
        }
        if t >= end_s {
            break;
        }
        let next = events.get(k).map_or(end_s, |e| e.0.min(end_s));
        gpu_s += gpus * (next - t);
        t = next;
    }
    let gpu_hours = gpu_s / 3600.0;
    let energy_kwh = gpu_hours * gpu_w / 1e3;
    Replay {
        report: ServiceReport {
            requests: 0,
            arrived: 0,
            served: 0,
            dropped: Drops::default(),
            in_system_at_end: 0,
            not_arrived: 0,
            ttft_s: Distribution::default(),
            ttft_p90_s: 0.0,
            tbt_s: [0.0; 3],
            e2e_s: Distribution::default(),
            slo: Slo::default(),
            slo_attainment: 0.0,
            slo_met: false,
            mean_in_system: 0.0,
            duration_s: end_s,
            gpu_hours,
            energy_kwh,
            peak_kw: peak_gpus * gpu_w / 1e3,
            throttled_share: 0.0,
            tokens_served: 0.0,
            gpu_hours_per_1000: 0.0,
            energy_kwh_per_1000: 0.0,
            replicas_over_time,
        },
        gpus_over_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(app: u32, start_s: f64, end_s: f64, gpus: f64) -> Instance {
        Instance {
            app,
            start_s,
            end_s,
            gpus,
        }
    }

    #[test]
    fn replay_counts_live_instances_and_integrates_gpus() {
        // Hand-worked: 2 GPUs over [0, 100), 1 GPU over [50, 150), a CPU instance over
        // [100, 200), end 200: GPU-seconds 200 + 100 = 300; at 100 one ends and one
        // starts (ends first: 2 live throughout).
        let xs = [
            inst(0, 0.0, 100.0, 2.0),
            inst(0, 50.0, 150.0, 1.0),
            inst(0, 100.0, 200.0, 0.0),
        ];
        let r = replay(xs.iter(), 200.0, 1000.0);
        assert_eq!(
            r.report.replicas_over_time,
            [(0.0, 1), (50.0, 2), (150.0, 1), (200.0, 0)]
        );
        assert_eq!(
            r.gpus_over_time,
            [(0.0, 2.0), (50.0, 3.0), (100.0, 1.0), (150.0, 0.0)]
        );
        assert!((r.report.gpu_hours - 300.0 / 3600.0).abs() < 1e-12);
        assert!((r.report.energy_kwh - 300.0 / 3600.0).abs() < 1e-12);
        assert!((r.report.peak_kw - 3.0).abs() < 1e-12);
        let empty = replay([].iter(), 10.0, 1.0);
        assert_eq!(empty.report.replicas_over_time, [(0.0, 0)]);
        assert_eq!(empty.report.gpu_hours, 0.0);
    }
}
