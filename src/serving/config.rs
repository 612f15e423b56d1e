//! `[[services]]` scenario tables: what one inference service is and how it runs.

use std::path::Path;

use serde::Deserialize;

use super::autoscale::ScalePolicy;
use super::error::ServingError;
use super::fluid::{demand_of_rate, demand_of_trace, Demand};
use super::generate::{apply_bursts, generate, Arrivals, Burst, Sizes};
use super::perf::{efficiency_for, llm, ReplicaPerf, DECODE_POWER_SHARE, LLM_NAMES};
use super::profile::builtin;
use super::replicas::{ServiceSettings, Split};
use super::report::Slo;
use super::request::RequestTrace;
use super::traces::{read_azure, read_genai};
use crate::engine::RngStreams;
use crate::hardware::GpuSpec;

/// Where a service's requests come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestSource {
    /// An Azure LLM inference 2023 CSV (path relative to the scenario file).
    Azure {
        /// The CSV.
        path: std::path::PathBuf,
        /// Copies of the trace end to end (default 1): the hour-long trace made longer.
        #[serde(default = "one")]
        repeat: u32,
    },
    /// The Alibaba GenAI 2026 request CSV (recorded execution times; no `model` needed).
    Genai {
        /// The CSV.
        path: std::path::PathBuf,
    },
    /// A generator.
    Generated {
        /// The arrival process.
        arrivals: Arrivals,
        /// Request sizes.
        sizes: Sizes,
        /// Length of the generated trace, in seconds.
        duration_s: f64,
    },
}

fn one() -> u32 {
    1
}

fn default_interval() -> f64 {
    60.0
}

fn default_decode_power_share() -> f64 {
    DECODE_POWER_SHARE
}

fn default_max_batch_tokens() -> u32 {
    4096
}

fn default_max_batch() -> u32 {
    64
}

/// How a service's requests are simulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One by one, every iteration of every replica ([`super::replicas`]).
    #[default]
    Requests,
    /// As a per-interval arrival rate against capacity with a queueing approximation
    /// ([`super::fluid`]): for runs of millions of requests.
    Fluid,
}

/// How a service's prefill time is modelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefillModel {
    /// Follow a measured profile where one exists for the model, GPU and GPUs per
    /// replica ([`super::profile::builtin`]), else the roofline.
    #[default]
    Measured,
    /// The roofline formula of [`super::perf`] always.
    Roofline,
}

/// One `[[services]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Name, for outputs.
    pub name: String,
    /// Built-in LLM served (see [`crate::serving::perf::llm`]); leave out for requests
    /// with recorded execution times.
    #[serde(default)]
    pub model: Option<String>,
    /// GPU model of the replicas (catalog or topology name).
    pub gpu: String,
    /// GPUs per replica (tensor parallel, within one node).
    pub gpus_per_replica: u32,
    /// Most sequences per iteration (default 64).
    #[serde(default = "default_max_batch")]
    pub max_batch: u32,
    /// Most prompt tokens prefilled per iteration (default 4,096: vLLM's
    /// `max_num_batched_tokens` without chunked prefill is the model's context length,
    /// 4,096 for Llama 2).
    #[serde(default = "default_max_batch_tokens")]
    pub max_batch_tokens: u32,
    /// Replica count policy.
    pub scaling: ScalePolicy,
    /// Seconds between autoscaling decisions (default 60).
    #[serde(default = "default_interval")]
    pub interval_s: f64,
    /// Model load time of a new replica, in seconds (default 0).
    #[serde(default)]
    pub load_time_s: f64,
    /// Requests.
    pub requests: RequestSource,
    /// Windows of extra load.
    #[serde(default)]
    pub bursts: Vec<Burst>,
    /// Latency objectives (default Vidur's).
    #[serde(default)]
    pub slo: Slo,
    /// Share of the idle-to-TDP power range a decode-only iteration draws (prefill draws
    /// all of it). Default [`DECODE_POWER_SHARE`], fitted to SplitwiseSim's measured
    /// power (docs/validation.md).
    #[serde(default = "default_decode_power_share")]
    pub decode_power_share: f64,
    /// Cap on the service's GPU power, kW (request mode only): iterations that would
    /// exceed it run at a lower clock (see [`super::replicas::MIN_CLOCK`]).
    #[serde(default)]
    pub power_cap_kw: Option<f64>,
    /// `requests` (default) or `fluid`; the fluid interval is `interval_s`.
    #[serde(default)]
    pub mode: Mode,
    /// `measured` (default: a measured prefill profile where one exists) or `roofline`.
    #[serde(default)]
    pub prefill_model: PrefillModel,
    /// Splitwise's phase split (request mode; any scaling that keeps at least 2
    /// replicas, each pool keeping its initial share): prefill and decode on separate
    /// replicas.
    #[serde(default)]
    pub split: Option<SplitConfig>,
}

/// `split` of a `[[services]]` table.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Replicas that only prefill, of the initial count (autoscaling keeps the share);
    /// the others only decode.
    pub prefill_replicas: u32,
    /// Bandwidth of the KV-cache hand-over, GB/s (default 400: a DGX H100's eight
    /// 400 Gb/s ConnectX-7 ports, NVIDIA DGX H100 user guide).
    #[serde(default = "default_kv_link_gb_s")]
    pub kv_link_gb_s: f64,
}

fn default_kv_link_gb_s() -> f64 {
    400.0
}

impl SplitConfig {
    /// The simulator's form.
    pub fn split(&self) -> Split {
        Split {
            prefill_replicas: self.prefill_replicas,
            kv_link_bytes_per_s: self.kv_link_gb_s * 1e9,
        }
    }
}

impl ServiceConfig {
    /// The service's requests, bursts applied; paths relative to `dir`. `index` keys the
    /// random streams so services draw independently.
    pub fn requests(&self, dir: &Path, seed: u64, index: usize) -> Result<RequestTrace, ServingError> {
        let streams = RngStreams::new(seed);
        let mut rng = streams.stream(&format!("serving.{index}.requests"), 0);
        let mut trace = match &self.requests {
            RequestSource::Azure { path, repeat } => repeat_trace(read_azure(&dir.join(path))?, *repeat),
            RequestSource::Genai { path } => read_genai(&dir.join(path))?,
            RequestSource::Generated {
                arrivals,
                sizes,
                duration_s,
            } => {
                return Ok(generate(arrivals, &self.bursts, sizes, *duration_s, &mut rng));
            }
        };
        apply_bursts(&mut trace, &self.bursts, &mut rng);
        Ok(trace)
    }

    /// The service's demand per interval for fluid mode: a generator's rate integrated
    /// in closed form (no request drawn), a trace's requests binned.
    pub fn demand(
        &self,
        dir: &Path,
        seed: u64,
        index: usize,
        perf: Option<&ReplicaPerf>,
    ) -> Result<Demand, ServingError> {
        if let RequestSource::Generated {
            arrivals,
            sizes,
            duration_s,
        } = &self.requests
        {
            return Ok(demand_of_rate(
                arrivals,
                &self.bursts,
                sizes,
                *duration_s,
                perf,
                self.interval_s,
            ));
        }
        let trace = self.requests(dir, seed, index)?;
        Ok(demand_of_trace(&trace.requests, perf, self.interval_s))
    }

    /// Checks every field; `key` is the table's dotted path (`services[0]`).
    pub fn validate(&self, key: &str) -> Result<(), ServingError> {
        self.scaling.validate(&format!("{key}.scaling"))?;
        for (i, b) in self.bursts.iter().enumerate() {
            b.validate(&format!("{key}.bursts[{i}]"))?;
        }
        if let RequestSource::Generated {
            arrivals,
            sizes,
            duration_s,
        } = &self.requests
        {
            arrivals.validate(&format!("{key}.requests.arrivals"))?;
            if !(duration_s.is_finite() && *duration_s > 0.0) {
                return Err(ServingError::config(
                    format!("{key}.requests.duration_s"),
                    "expected seconds > 0",
                ));
            }
            if let Sizes::ExponentialExec { mean_s } = sizes {
                if !(mean_s.is_finite() && *mean_s > 0.0) {
                    return Err(ServingError::config(
                        format!("{key}.requests.sizes.mean_s"),
                        "expected seconds > 0",
                    ));
                }
            }
        }
        if let RequestSource::Azure { repeat: 0, .. } = self.requests {
            return Err(ServingError::config(
                format!("{key}.requests.repeat"),
                "expected at least 1",
            ));
        }
        if self.max_batch == 0 {
            return Err(ServingError::config(
                format!("{key}.max_batch"),
                "expected at least 1",
            ));
        }
        if self.max_batch_tokens == 0 {
            return Err(ServingError::config(
                format!("{key}.max_batch_tokens"),
                "expected at least 1",
            ));
        }
        if !(self.interval_s.is_finite() && self.interval_s > 0.0) {
            return Err(ServingError::config(
                format!("{key}.interval_s"),
                "expected seconds > 0",
            ));
        }
        if !(self.load_time_s.is_finite() && self.load_time_s >= 0.0) {
            return Err(ServingError::config(
                format!("{key}.load_time_s"),
                "expected seconds >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.decode_power_share) {
            return Err(ServingError::config(
                format!("{key}.decode_power_share"),
                "expected a share 0 to 1",
            ));
        }
        if let Some(kw) = self.power_cap_kw {
            if !(kw.is_finite() && kw > 0.0) {
                return Err(ServingError::config(
                    format!("{key}.power_cap_kw"),
                    "expected kW > 0",
                ));
            }
            if self.mode == Mode::Fluid {
                return Err(ServingError::config(
                    format!("{key}.power_cap_kw"),
                    "a service power cap is simulated request by request only; use mode = \"requests\"",
                ));
            }
        }
        if self.split.is_some() && self.mode == Mode::Fluid {
            return Err(ServingError::config(
                format!("{key}.split"),
                "a split service is simulated request by request only; use mode = \"requests\"",
            ));
        }
        if let Some(m) = &self.model {
            if llm(m).is_none() {
                return Err(ServingError::config(
                    format!("{key}.model"),
                    format!("unknown model `{m}`; known: {}", LLM_NAMES.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The performance model on `gpu`, or `None` without `model`.
    pub fn perf(&self, gpu: &GpuSpec, key: &str) -> Result<Option<ReplicaPerf>, ServingError> {
        let Some(m) = &self.model else { return Ok(None) };
        let spec = llm(m)
            .ok_or_else(|| ServingError::config(format!("{key}.model"), format!("unknown model `{m}`")))?;
        let profile = match self.prefill_model {
            PrefillModel::Measured => builtin(spec.name, &gpu.name, self.gpus_per_replica),
            PrefillModel::Roofline => None,
        };
        ReplicaPerf::new(spec, gpu, self.gpus_per_replica, efficiency_for(gpu), key)
            .map(|p| Some(p.with_prefill_profile(profile)))
    }

    /// The simulator settings on `gpu`.
    pub fn settings(&self, gpu: &GpuSpec) -> ServiceSettings {
        ServiceSettings {
            max_batch: self.max_batch,
            max_batch_tokens: self.max_batch_tokens,
            scaling: self.scaling.clone(),
            interval_s: self.interval_s,
            load_time_s: self.load_time_s,
            slo: self.slo,
            speed: 1.0,
            gpus_per_replica: self.gpus_per_replica,
            gpu_idle_w: gpu.idle_w,
            gpu_tdp_w: gpu.tdp_w,
            decode_power_share: self.decode_power_share,
            power_cap_w: self.power_cap_kw.map(|kw| kw * 1e3),
        }
    }
}

/// `copies` of `trace` end to end; copy k is shifted by k × (span + mean gap), so the
/// gap between copies is the trace's mean inter-arrival time.
fn repeat_trace(mut trace: RequestTrace, copies: u32) -> RequestTrace {
    let n = trace.requests.len();
    let (Some(first), Some(last)) = (trace.requests.first(), trace.requests.last()) else {
        return trace;
    };
    let span = last.arrival_s - first.arrival_s;
    let period = if n > 1 { span + span / (n - 1) as f64 } else { 1.0 };
    for k in 1..copies {
        for i in 0..n {
            let r = trace.requests[i];
            trace.requests.push(super::request::Request {
                arrival_s: r.arrival_s + f64::from(k) * period,
                ..r
            });
        }
    }
    trace
}
