//! What a run with power on produces: the `power` section of `summary.json`, the
//! `power.csv` series and per-job energy.

use serde::Serialize;

use crate::engine::SimTime;
use crate::facility::Facility;

use super::levels::PowerLevels;

/// Energy of one tenant's jobs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantEnergy {
    /// Tenant name.
    pub tenant: String,
    /// Energy attributed to its jobs, MWh.
    pub energy_mwh: f64,
}

/// The `power` section of `summary.json`. Energies in MWh, power in kW.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerSummary {
    /// `admission` or `oversubscription`.
    pub mode: &'static str,
    /// Capping policy name.
    pub capping: &'static str,
    /// IT energy (nodes, GPUs, rack and row equipment), MWh.
    pub it_energy_mwh: f64,
    /// IT + cooling + distribution losses, MWh.
    pub facility_energy_mwh: f64,
    /// Cooling energy, MWh.
    pub cooling_energy_mwh: f64,
    /// Distribution-loss energy, MWh.
    pub losses_energy_mwh: f64,
    /// Energy attributed to jobs, MWh.
    pub jobs_energy_mwh: f64,
    /// Energy of inference services' replicas (their nodes' base, idle and busy
    /// power), MWh; present when the run has services. IT energy = jobs + services +
    /// idle + overhead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services_energy_mwh: Option<f64>,
    /// Energy of GPUs and node bases no job held, MWh.
    pub idle_energy_mwh: f64,
    /// Energy of rack and row equipment, MWh.
    pub overhead_energy_mwh: f64,
    /// IT power with every GPU at TDP (nameplate), kW.
    pub nameplate_it_kw: f64,
    /// Highest IT power, kW.
    pub peak_it_kw: f64,
    /// Highest facility power (IT + cooling + losses), kW: the most of `facility_kw` in
    /// `power.csv`, which is what the utility feed must carry.
    pub peak_facility_kw: f64,
    /// 99th percentile of IT power over time (time-weighted), kW.
    pub p99_it_kw: f64,
    /// Mean IT power over the run, kW.
    pub mean_it_kw: f64,
    /// The feed's cap, kW (null: none).
    pub feed_kw: Option<f64>,
    /// Facility energy / IT energy (energy-weighted mean PUE).
    pub mean_pue: f64,
    /// Hours during which a cap bound: GPUs were throttled (oversubscription) or a job
    /// waited refused for power (admission).
    pub hours_at_cap: f64,
    /// GPU-hours of progress lost to throttling: ∫ Σ_jobs GPUs · (1 − rate) dt.
    pub throttle_slowdown_gpu_hours: f64,
    /// The most GPUs throttled at once.
    pub peak_throttled_gpus: u32,
    /// Start attempts refused for power (admission).
    pub power_refusals: u64,
    /// Jobs refused for power at least once (admission).
    pub jobs_power_delayed: u64,
    /// Total time jobs waited while refused for power, hours.
    pub power_wait_hours: f64,
    /// Energy per tenant, by tenant name.
    pub tenants: Vec<TenantEnergy>,
}

/// Power over time, one row per change point (piecewise constant until the next row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSeries {
    /// Hall names (width of `hall_w` rows).
    pub halls: Vec<String>,
    /// Row times.
    pub time: Vec<SimTime>,
    /// IT power, W.
    pub it_w: Vec<f64>,
    /// IT power per hall, W, `halls.len()` values per row; empty with a single hall,
    /// whose power is `it_w`.
    pub hall_w: Vec<f64>,
    /// GPUs throttled.
    pub throttled_gpus: Vec<u32>,
}

impl PowerSeries {
    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Power of hall `h` in row `i`, W.
    pub fn hall(&self, i: usize, h: usize) -> f64 {
        if self.hall_w.is_empty() {
            self.it_w[i]
        } else {
            self.hall_w[i * self.halls.len() + h]
        }
    }
}

/// The highest facility power (IT + cooling + losses), kW, over `series` closed at
/// `end`: each row's IT power at the start of the row and at every weather change inside
/// it (the overhead is constant between those), as `power.csv` lists them.
pub fn peak_facility_kw(series: &PowerSeries, facility: &Facility, end: SimTime) -> f64 {
    let mut peak: f64 = 0.0;
    for (i, &start) in series.time.iter().enumerate() {
        let it_kw = series.it_w[i] / 1000.0;
        let until = series.time.get(i + 1).copied().unwrap_or(end).max(start);
        let mut t = start;
        loop {
            peak = peak.max(it_kw + facility.overhead_kw(it_kw, t).total_kw());
            t = facility.next_change_after(t);
            if t >= until {
                break;
            }
        }
    }
    peak
}

/// Everything power accounting produced in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerOutput {
    /// Headline figures.
    pub summary: PowerSummary,
    /// The `power.csv` series.
    pub series: PowerSeries,
    /// Energy attributed to each job, J, in job-id order.
    pub job_energy_j: Vec<f64>,
    /// Time each job waited while refused for power, in job-id order (admission mode;
    /// empty otherwise).
    pub job_power_wait: Vec<SimTime>,
    /// Per-interval mean and peak power of every level of the tree.
    pub levels: PowerLevels,
    /// The facility model, which gives each row's cooling and losses from its IT power
    /// and time.
    pub facility: Facility,
}
