//! Scenario files: one what-if each (`scenarios/*.toml`), parsed strictly and validated,
//! then built into the cluster, workload and policies a run needs.
//!
//! Relative paths in a scenario are relative to the scenario file. Unknown keys are
//! errors that name the key and its line, so a typo never silently changes a study; so
//! are values found wrong later (a missing topology, a bad transform), named by the key
//! the user wrote. `name` becomes a folder name (`output/<name>`), so it is limited to
//! a safe alphabet.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::budget::{BudgetConfig, BudgetError};
use crate::economics::{EconError, Economics, EconomicsConfig};
use crate::engine::RngStreams;
use crate::metrics::MetricsConfig;
use crate::model::Model;
use crate::network::{NetworkConfig, NetworkModel};
use crate::power::{self, PowerConfig, PowerRun};
use crate::reliability::{ReliabilityConfig, ReliabilityModel};
use crate::scheduler::params::PolicyError;
use crate::scheduler::registry;
use crate::scheduler::signal::{HourlySignal, SignalKind};
use crate::scheduler::{Placement, QueuePolicy};
use crate::sim::{Mode, ModelChoice, PreemptionCost, SimConfig};
use crate::speed::{SpeedError, SpeedTable};
use crate::sweep::overrides::{self, Override, OverrideError, Target};
use crate::sweep::SweepSpec;
use crate::topology::{self, Cluster, LoadReport, TopologyError};
use crate::workload::adapters::{self, TraceFormat};
use crate::workload::synthetic::{self, Generator, SyntheticConfig};
use crate::workload::transform::{self, TransformConfig};
use crate::workload::{Workload, WorkloadError};

/// Why a scenario could not be loaded or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for a scenario (unknown key, wrong type, ...).
    #[error("{path}:{line}: `{key}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value (0 if unknown).
        line: usize,
        /// Dotted key path.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{}{}: `{key}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key (or of its nearest table) where the file has it.
        line: Option<usize>,
        /// Dotted key path.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The topology failed to load.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The workload failed to load.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A price, carbon or region file of `[economics]` failed to load.
    #[error(transparent)]
    Economics(EconError),
    /// A `--set KEY=VALUE` names no key of the file, or gives a value the key does not
    /// accept (the message names the key and, for an unknown key, the valid ones).
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// A policy name is unknown.
    #[error("{path}: {source}")]
    Policy {
        /// The scenario file.
        path: PathBuf,
        /// Which name, and the valid ones.
        #[source]
        source: PolicyError,
    },
}

/// A scenario file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioConfig {
    /// Name; the default output directory is `output/<name>`.
    pub name: String,
    /// What the scenario asks, for the reader.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream in the run.
    #[serde(default)]
    pub seed: u64,
    /// `queue` (policies decide) or `as-recorded` (jobs start when the trace says).
    #[serde(default)]
    pub mode: Mode,
    /// The cluster.
    pub topology: TopologySection,
    /// The jobs.
    pub workload: WorkloadSection,
    /// The policies.
    #[serde(default)]
    pub scheduler: SchedulerSection,
    /// Power model, caps and energy accounting (absent or `mode = "off"`: none).
    #[serde(default)]
    pub power: Option<PowerConfig>,
    /// Failures, repairs and checkpoints (`[reliability]`; absent: nothing fails).
    #[serde(default)]
    pub reliability: Option<ReliabilityConfig>,
    /// Network fabric model (`[network]`; the topology needs a `[fabric]`): absent, off.
    #[serde(default)]
    pub network: Option<NetworkConfig>,
    /// How figures are taken (`[metrics]`: the utilization window).
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[sweep]`: the grid `dcsim sweep` runs (ignored by `run`); see `docs/sweeps.md`.
    #[serde(default)]
    pub sweep: Option<SweepSpec>,
    /// `[[services]]`: inference services beside the workload (see [`crate::serving`]).
    #[serde(default)]
    pub services: Vec<crate::serving::config::ServiceConfig>,
    /// `[[instance_services]]`: services replayed from a trace of long-running
    /// instances (see [`crate::serving::instances`]).
    #[serde(default)]
    pub instance_services: Vec<crate::serving::instances::InstanceServices>,
    /// `[budget]`: months, growth and fleet `dcsim budget` runs (ignored by `run`); see
    /// `docs/budget.md`.
    #[serde(default)]
    pub budget: Option<BudgetConfig>,
    /// `[economics]`: money and carbon of the run (absent: none); see `docs/economics.md`.
    #[serde(default)]
    pub economics: Option<EconomicsConfig>,
}

/// `[topology]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySection {
    /// A `topologies/*.toml` file.
    pub path: PathBuf,
}

/// `[workload]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSection {
    /// A trace format name (`dcsim trace formats`), or `synthetic`.
    pub format: String,
    /// The trace file.
    pub path: Option<PathBuf>,
    /// Several trace files of one format, merged (e.g. one per ITP cluster).
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Generator settings, with `format = "synthetic"`.
    pub synthetic: Option<SyntheticConfig>,
    /// A real trace to resample from, for `empirical` generator distributions.
    pub empirical: Option<TraceSource>,
    /// Window, scaling, tiling and filters applied after loading.
    #[serde(default)]
    pub transform: TransformConfig,
    /// The GPU model (a topology model name) the trace's durations were measured on;
    /// jobs then run at their GPU's speed relative to it (see [`crate::speed`]).
    /// Not given: durations are run times on whichever model a job runs on.
    pub measured_on: Option<String>,
}

/// A trace file and its format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSource {
    /// Format name.
    pub format: String,
    /// The file.
    pub path: PathBuf,
}

/// `[scheduler]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSection {
    /// Queue policy name (`dcsim policies`).
    #[serde(default = "default_queue")]
    pub queue: String,
    /// Placement policy name (`dcsim policies`).
    #[serde(default = "default_placement")]
    pub placement: String,
    /// What preempting a job costs.
    #[serde(default)]
    pub preemption: PreemptionCost,
    /// Which GPU model a job goes to: `"placement"` (the placement policy decides) or
    /// `"fastest"` (fastest model for the job's class first).
    #[serde(default)]
    pub model_choice: ModelChoice,
    /// Parameters per policy name: `[scheduler.params.<policy>]` (`dcsim policies`).
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, toml::Table>,
}

fn default_queue() -> String {
    "fifo".into()
}

fn default_placement() -> String {
    "best-fit".into()
}

impl Default for SchedulerSection {
    fn default() -> Self {
        SchedulerSection {
            queue: default_queue(),
            placement: default_placement(),
            preemption: PreemptionCost::default(),
            model_choice: ModelChoice::default(),
            params: Default::default(),
        }
    }
}

/// A loaded scenario: the parsed config and where it came from.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file.
    pub path: PathBuf,
    /// Its contents, `--set` overrides applied.
    pub config: ScenarioConfig,
    /// Its text, to find a key's line for errors found after parsing.
    text: String,
    /// The `--set` overrides it was loaded with; those of the topology apply when the
    /// topology is loaded ([`Scenario::load_topology`]).
    pub overrides: Vec<Override>,
}

/// The per-run parts of a run: fresh policies and models.
pub struct Policies {
    /// A fresh queue policy.
    pub queue: Box<dyn QueuePolicy>,
    /// A fresh placement policy.
    pub placement: Box<dyn Placement>,
    /// The models beside the scheduler for the run (power, when `[power]` turns it
    /// on; ...), in the order they are called.
    pub models: Vec<Box<dyn Model>>,
}

/// Everything a run needs, built from a scenario.
pub struct Prepared {
    /// The cluster.
    pub cluster: Cluster,
    /// The jobs, transforms applied.
    pub workload: Workload,
    /// A fresh queue policy.
    pub queue: Box<dyn QueuePolicy>,
    /// A fresh placement policy.
    pub placement: Box<dyn Placement>,
    /// The models beside the scheduler for the run (power, when `[power]` turns it
    /// on; ...), in the order they are called.
    pub models: Vec<Box<dyn Model>>,
    /// The cost model, when `[economics]` is present.
    pub economics: Option<Economics>,
}

/// A synthetic workload that a run generates as it reads it instead of holding it whole
/// ([`crate::sim::Simulation::streamed`], issue 17): the generator's settings and its
/// empirical source.
pub struct SyntheticJobs {
    cfg: SyntheticConfig,
    empirical: Option<Workload>,
    seed: u64,
    capacity_gpus: u64,
}

impl SyntheticJobs {
    /// A generator of the jobs, from the first. Its settings were checked when this
    /// was made ([`Scenario::prepare_streamed`]), so this fails only if they were not.
    pub fn generator(&self) -> Result<Generator<'_>, WorkloadError> {
        Generator::new(
            &self.cfg,
            &RngStreams::new(self.seed),
            0,
            self.empirical.as_ref(),
            self.capacity_gpus,
        )
    }

    /// Jobs generated in all.
    pub fn len(&self) -> u64 {
        self.cfg.jobs
    }

    /// Whether no job is generated (never: a synthetic workload has at least one).
    pub fn is_empty(&self) -> bool {
        self.cfg.jobs == 0
    }
}

impl Scenario {
    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Reads and parses a scenario file with `--set` overrides applied.
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_with(&text, path, overrides)
    }

    /// Parses scenario text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        Self::parse_with(text, path, &[])
    }

    /// Parses scenario text with `--set` overrides: they are written into the parsed TOML
    /// tree before it is deserialised, so the file's own checks apply to them. An error
    /// the file alone also has is reported with its line; one the overrides cause names
    /// the override.
    pub fn parse_with(text: &str, path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let config = if overrides.iter().any(|o| o.target() == Target::Scenario) {
            let mut table: toml::Table = match toml::from_str(text) {
                Ok(t) => t,
                Err(_) => {
                    return Err(Self::parse_config(text, path)
                        .err()
                        .unwrap_or_else(|| unparsable(path)))
                }
            };
            overrides::apply_all(&mut table, overrides, Target::Scenario)?;
            match serde_path_to_error::deserialize(toml::Value::Table(table)) {
                Ok(c) => c,
                Err(e) => {
                    let key = e.path().to_string();
                    let message = e.into_inner().message().to_string();
                    Self::parse_config(text, path)?;
                    return Err(blame(overrides, Target::Scenario, &key, &message).into());
                }
            }
        } else {
            Self::parse_config(text, path)?
        };
        let scenario = Scenario {
            path: path.to_path_buf(),
            config,
            text: text.to_string(),
            overrides: overrides.to_vec(),
        };
        scenario.validate()?;
        Ok(scenario)
    }

    fn parse_config(text: &str, path: &Path) -> Result<ScenarioConfig, ScenarioError> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            ScenarioError::Parse {
                path: path.to_path_buf(),
                line,
                key,
                message: inner.message().to_string(),
            }
        })
    }

    /// The topology file's path.
    pub fn topology_path(&self) -> PathBuf {
        self.resolve(&self.config.topology.path)
    }

    /// Loads and builds the topology, its `--set topology.*` overrides applied (an error
    /// the file alone also has is reported with its line; one the overrides cause names
    /// the override).
    pub fn load_topology(&self) -> Result<LoadReport, ScenarioError> {
        let path = self.input_file("topology.path", &self.config.topology.path)?;
        if !self.overrides.iter().any(|o| o.target() == Target::Topology) {
            return Ok(topology::load_report(&path)?);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Io {
            path: path.clone(),
            source,
        })?;
        let file_error = || topology::config::TopologyFile::parse(&text, &path).err();
        let mut table: toml::Table = match toml::from_str(&text) {
            Ok(t) => t,
            Err(_) => return Err(file_error().map_or_else(|| unparsable(&path), Into::into)),
        };
        overrides::apply_all(&mut table, &self.overrides, Target::Topology)?;
        let changed = toml::to_string(&table).map_err(|e| OverrideError {
            set: self
                .overrides
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            message: e.to_string(),
        })?;
        match topology::parse_report(&changed, &path) {
            Err(TopologyError::Parse { key, message, .. }) => Err(match file_error() {
                Some(e) => e.into(),
                None => blame(&self.overrides, Target::Topology, &key, &message).into(),
            }),
            other => Ok(other?),
        }
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.clone(),
            line: key_line(&self.text, key),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A generator or transform error (keyed relative to `[workload]`) named by its
    /// scenario key and line; other workload errors pass through.
    pub fn workload_err(&self, e: WorkloadError) -> ScenarioError {
        match e {
            WorkloadError::Invalid { key, message } => self.invalid(&format!("workload.{key}"), message),
            other => ScenarioError::Workload(other),
        }
    }

    /// Resolves the input file `p` written at `key`; an error names the key when the
    /// file does not exist or is a folder.
    fn input_file(&self, key: &str, p: &Path) -> Result<PathBuf, ScenarioError> {
        let path = self.resolve(p);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                Err(self.invalid(key, format!("{} is a folder; expected a file", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(self.invalid(key, format!("{} does not exist", path.display())))
            }
            _ => Ok(path),
        }
    }

    fn policy_err(&self, source: PolicyError) -> ScenarioError {
        ScenarioError::Policy {
            path: self.path.clone(),
            source,
        }
    }

    /// Checks cross-field rules and names, without reading any other file.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let w = &self.config.workload;
        if !safe_name(&self.config.name) {
            return Err(self.invalid(
                "name",
                format!(
                    "{:?} cannot name the output folder: use 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`, starting with a letter or digit",
                    self.config.name
                ),
            ));
        }
        self.queue_policy(&self.config.scheduler.queue, self.config.seed)?;
        self.placement_policy(&self.config.scheduler.placement, self.config.seed)?;
        if w.format == "synthetic" {
            if w.synthetic.is_none() {
                return Err(self.invalid(
                    "workload.synthetic",
                    "format = \"synthetic\" needs a [workload.synthetic] table",
                ));
            }
            if w.path.is_some() || !w.paths.is_empty() {
                return Err(self.invalid("workload.path", "a synthetic workload reads no trace file"));
            }
        } else {
            self.format(&w.format, "workload.format")?;
            if w.synthetic.is_some() {
                return Err(self.invalid("workload.synthetic", "only allowed with format = \"synthetic\""));
            }
            if w.path.is_some() != w.paths.is_empty() {
                return Err(self.invalid("workload.path", "give exactly one of `path` or `paths`"));
            }
        }
        let pre = &self.config.scheduler.preemption;
        for (key, v) in [
            ("checkpoint_interval_s", pre.checkpoint_interval_s),
            ("restore_s", pre.restore_s),
        ] {
            if let Err(e) = crate::engine::SimTime::try_from_secs_f64(v) {
                return Err(self.invalid(&format!("scheduler.preemption.{key}"), e.to_string()));
            }
        }
        if let Some((key, message)) = self.config.metrics.validate() {
            return Err(self.invalid(key, message));
        }
        if let Some(e) = &w.empirical {
            self.format(&e.format, "workload.empirical.format")?;
        }
        if let Some(p) = &self.config.power {
            if let Some((key, message)) = p.validate().into_iter().next() {
                return Err(self.invalid(&key, message));
            }
        }
        if let Some(r) = &self.config.reliability {
            r.validate().map_err(|e| self.invalid(&e.key, e.message))?;
        }
        if let Some(Err((key, message))) = self.config.network.as_ref().map(NetworkConfig::validate) {
            return Err(self.invalid(&format!("network.{key}"), message));
        }
        if let Some(b) = &self.config.budget {
            b.validate().map_err(|e| self.budget_err(e))?;
        }
        Ok(())
    }

    /// A `[budget]` error, named by its key and line.
    pub fn budget_err(&self, e: BudgetError) -> ScenarioError {
        match e {
            BudgetError::Invalid { key, message } => self.invalid(&key, message),
        }
    }

    fn format(&self, name: &str, key: &str) -> Result<TraceFormat, ScenarioError> {
        TraceFormat::parse(name).ok_or_else(|| {
            let valid: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
            self.invalid(
                key,
                format!(
                    "unknown format `{name}`; expected one of: {}, synthetic",
                    valid.join(", ")
                ),
            )
        })
    }

    /// The run settings that are not policies.
    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            mode: self.config.mode,
            preemption: self.config.scheduler.preemption,
            model_choice: self.config.scheduler.model_choice,
        }
    }

    /// Resolves a path written in the scenario against the scenario's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// Loads the topology and workload and makes the policies; `seed` overrides the
    /// scenario's seed.
    pub fn prepare(&self, seed: u64) -> Result<Prepared, ScenarioError> {
        let report = self.load_topology()?;
        let workload = self.load_workload(seed, report.cluster.total_gpus())?;
        let Policies {
            queue,
            placement,
            models,
        } = self.policies(&report, &workload, seed)?;
        let economics = self.economics(&report.cluster)?;
        if let Some(e) = &economics {
            // Price and carbon series must cover at least every arrival, checked now
            // rather than after the run.
            let last = workload.jobs.iter().map(|j| j.submit.as_ms()).max().unwrap_or(0);
            e.check_coverage(crate::engine::SimTime::ZERO, crate::engine::SimTime(last + 1))
                .map_err(ScenarioError::Economics)?;
        }
        Ok(Prepared {
            models,
            economics,
            cluster: report.cluster,
            workload,
            queue,
            placement,
        })
    }

    /// Whether a run of this scenario can generate its jobs as it reads them
    /// ([`Scenario::prepare_streamed`]): a synthetic workload without transforms, in
    /// queue mode, with nothing that reads the whole workload or the job records at the
    /// end (power, reliability, network, services, instance services, economics).
    pub fn streams_jobs(&self) -> bool {
        let c = &self.config;
        c.workload.synthetic.is_some()
            && c.workload.transform == TransformConfig::default()
            && c.mode == Mode::Queue
            && c.power.is_none()
            && c.reliability.is_none()
            && c.network.is_none()
            && c.services.is_empty()
            && c.instance_services.is_empty()
            && c.economics.is_none()
    }

    /// [`Scenario::prepare`] for a run that generates its jobs as it reads them: the
    /// prepared workload is the generator's frame (tenants, rows read; no jobs) and the
    /// jobs come from the [`SyntheticJobs`] returned. Only for a scenario that
    /// [`Scenario::streams_jobs`] (an error names `workload.synthetic` otherwise).
    pub fn prepare_streamed(&self, seed: u64) -> Result<(Prepared, SyntheticJobs), ScenarioError> {
        if !self.streams_jobs() {
            return Err(self.invalid(
                "workload.synthetic",
                "only a synthetic workload without transforms, power, reliability, network, services, \
                 instance services or economics, in queue mode, is generated as the run reads it",
            ));
        }
        let report = self.load_topology()?;
        let w = &self.config.workload;
        let jobs = SyntheticJobs {
            cfg: w
                .synthetic
                .clone()
                .unwrap_or_else(|| unreachable!("checked by streams_jobs")),
            empirical: self.empirical()?,
            seed,
            capacity_gpus: report.cluster.total_gpus(),
        };
        let mut workload = jobs.generator().map_err(|e| self.workload_err(e))?.frame();
        workload.measured_on = w.measured_on.clone();
        let Policies {
            queue,
            placement,
            models,
        } = self.policies(&report, &workload, seed)?;
        let prepared = Prepared {
            models,
            economics: None,
            cluster: report.cluster,
            workload,
            queue,
            placement,
        };
        Ok((prepared, jobs))
    }

    /// Fresh policies and models for one run on a loaded cluster and workload
    /// (what [`Scenario::prepare`] adds to them; sweeps reuse a cluster and workload
    /// across runs).
    pub fn policies(
        &self,
        report: &LoadReport,
        workload: &Workload,
        seed: u64,
    ) -> Result<Policies, ScenarioError> {
        SpeedTable::new(&report.cluster, workload).map_err(|e| {
            let key = match e {
                SpeedError::UnknownModel { .. } => "workload.measured_on",
                SpeedError::MissingClass { .. } => "topology.path",
            };
            self.invalid(key, e.to_string())
        })?;
        let queue = self.queue_policy(&self.config.scheduler.queue, seed)?;
        self.check_tenants(queue.as_ref(), workload)?;
        Ok(Policies {
            queue,
            placement: self.placement_on(&self.config.scheduler.placement, seed, report)?,
            models: self.models(report, workload, seed)?,
        })
    }

    /// Fresh models for one run (see [`crate::model`]), in the order they are called:
    /// each model the scenario turns on adds one line here.
    pub fn models(
        &self,
        report: &LoadReport,
        workload: &Workload,
        seed: u64,
    ) -> Result<Vec<Box<dyn Model>>, ScenarioError> {
        let mut models: Vec<Box<dyn Model>> = Vec::new();
        // Services draw power under the caps beside the jobs (crate::power::loads).
        let mut loads = None;
        if let Some(mut p) = self.power_run(&report.cluster, &report.power, workload.jobs.len(), seed)? {
            if !self.config.services.is_empty() {
                loads = Some(p.link_loads());
            }
            models.push(Box::new(p));
        }
        if let Some(r) = &self.config.reliability {
            models.push(Box::new(self.reliability_model(
                r,
                &report.cluster,
                workload,
                seed,
            )?));
        }
        if let Some(cfg) = &self.config.network {
            let fabric = report.fabric.clone().ok_or_else(|| {
                self.invalid(
                    "network",
                    "the network model needs a [fabric] in the topology file (docs/topologies.md)",
                )
            })?;
            crate::network::model::check_domains(&fabric, workload)
                .map_err(|m| self.invalid("workload.path", m))?;
            models.push(Box::new(NetworkModel::new(
                &report.cluster,
                fabric,
                cfg,
                workload.jobs.len(),
            )));
        }
        if !self.config.services.is_empty() || !self.config.instance_services.is_empty() {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            let serving = crate::serving::engine::setup(
                &self.config.services,
                &self.config.instance_services,
                &report.cluster,
                dir,
                seed,
                loads.as_ref(),
            )
            .map_err(|e| match e {
                crate::serving::ServingError::Config { key, msg } => self.invalid(&key, msg),
                other => self.invalid("services", other.to_string()),
            })?;
            models.push(Box::new(serving));
        }
        Ok(models)
    }

    /// The reliability model of one run: `[reliability]` checked against `cluster`, its
    /// failure log read when it names one.
    fn reliability_model(
        &self,
        cfg: &ReliabilityConfig,
        cluster: &Cluster,
        workload: &Workload,
        seed: u64,
    ) -> Result<ReliabilityModel, ScenarioError> {
        let invalid = |e: crate::reliability::ReliabilityError| self.invalid(&e.key, e.message);
        cfg.validate_for(cluster).map_err(invalid)?;
        let streams = RngStreams::new(seed);
        let log = match &cfg.log {
            Some(p) => {
                let path = self.input_file("reliability.log", p)?;
                Some(
                    crate::reliability::read_log(&path, cluster, &streams).map_err(|e| {
                        ScenarioError::Invalid {
                            path: path.clone(),
                            line: None,
                            key: e.key,
                            message: e.message,
                        }
                    })?,
                )
            }
            None => None,
        };
        ReliabilityModel::new(
            cluster,
            workload,
            &cfg.causes().map_err(invalid)?,
            log,
            cfg.checkpoint,
            cfg.spares,
            cfg.cordon,
            cfg.max_concurrent_repairs,
            &streams,
        )
        .with_retry_limit(cfg.retry_limit)
        .with_storage(cfg.storage.clone())
        .with_isolation(cfg.isolation)
        .with_model_sizes(workload, cfg.model_size.as_ref())
        .map_err(invalid)
    }

    /// Power accounting for one run of `jobs` jobs on `cluster` (`power` from the
    /// topology file), or `None` when the scenario has power off.
    pub fn power_run(
        &self,
        cluster: &Cluster,
        power: &crate::topology::config::TopologyPower,
        jobs: usize,
        seed: u64,
    ) -> Result<Option<PowerRun>, ScenarioError> {
        match &self.config.power {
            Some(cfg) => {
                let dir = self.path.parent().unwrap_or(Path::new("."));
                power::setup(cfg, cluster, power, jobs, dir, seed)
                    .map_err(|e| self.invalid(&format!("power ({})", e.key), e.message))
            }
            None => Ok(None),
        }
    }

    /// The validated `[economics]` for `cluster` (`None` without one); it needs power
    /// accounting on, since it bills the power series.
    pub fn economics(&self, cluster: &Cluster) -> Result<Option<Economics>, ScenarioError> {
        let Some(cfg) = &self.config.economics else {
            return Ok(None);
        };
        if self.config.power.is_none() {
            return Err(self.invalid("economics", EconError::NoPower.to_string()));
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        // One calendar: with [budget], t = 0 is local midnight of its first day.
        let first_day = match &self.config.budget {
            Some(b) => Some(b.first_day().map_err(|e| self.budget_err(e))?),
            None => None,
        };
        Economics::with_start(cfg, dir, cluster, first_day)
            .map(Some)
            .map_err(|e| match e {
                EconError::Invalid { key, message } => self.invalid(&format!("economics.{key}"), message),
                other => ScenarioError::Economics(other),
            })
    }

    /// Fails if the queue policy's parameters name tenants the workload does not have.
    pub fn check_tenants(&self, queue: &dyn QueuePolicy, workload: &Workload) -> Result<(), ScenarioError> {
        let unknown = queue.unknown_tenants(&workload.tenants);
        if unknown.is_empty() {
            return Ok(());
        }
        let mut known = workload.tenants.clone();
        known.sort();
        Err(self.invalid(
            &format!("scheduler.params.{}", queue.name()),
            format!(
                "no tenant named {} in the workload; its tenants are: {}",
                unknown.join(", "),
                known.join(", ")
            ),
        ))
    }

    /// The queue policy `name` with its `[scheduler.params.<name>]` table.
    pub fn queue_policy(&self, name: &str, seed: u64) -> Result<Box<dyn QueuePolicy>, ScenarioError> {
        let empty = toml::Table::new();
        let params = self.config.scheduler.params.get(name).unwrap_or(&empty);
        let mut queue = registry::build_queue(name, params, seed).map_err(|e| self.policy_err(e))?;
        if let Some(kind) = queue.wants_signal() {
            queue.bind_signal(&self.signal(name, kind)?);
        }
        Ok(queue)
    }

    /// The hourly price or carbon signal queue policy `name` follows, from `[economics]`
    /// on the bill's calendar.
    fn signal(&self, name: &str, kind: SignalKind) -> Result<HourlySignal, ScenarioError> {
        let Some(cfg) = &self.config.economics else {
            return Err(self.invalid(
                &format!("scheduler.params.{name}.signal"),
                format!(
                    "signal = \"{}\" follows the [economics] series: add an [economics] section",
                    kind.as_str()
                ),
            ));
        };
        let first_day = match &self.config.budget {
            Some(b) => Some(b.first_day().map_err(|e| self.budget_err(e))?),
            None => None,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::economics::signal::hourly(cfg, dir, first_day, kind).map_err(|e| match e {
            EconError::Invalid { key, message } => self.invalid(&format!("economics.{key}"), message),
            other => ScenarioError::Economics(other),
        })
    }

    /// The placement policy `name` with its `[scheduler.params.<name>]` table.
    pub fn placement_policy(&self, name: &str, seed: u64) -> Result<Box<dyn Placement>, ScenarioError> {
        let empty = toml::Table::new();
        let params = self.config.scheduler.params.get(name).unwrap_or(&empty);
        registry::build_placement(name, params, seed).map_err(|e| self.policy_err(e))
    }

    /// [`Scenario::placement_policy`] bound to the loaded topology's fabric, when it has
    /// one (topology-aware placement groups nodes by its leaves).
    pub fn placement_on(
        &self,
        name: &str,
        seed: u64,
        report: &LoadReport,
    ) -> Result<Box<dyn Placement>, ScenarioError> {
        let mut placement = self.placement_policy(name, seed)?;
        if let Some(fabric) = &report.fabric {
            placement.bind_fabric(fabric);
        }
        Ok(placement)
    }

    /// Loads (or generates) the workload and applies its transforms.
    pub fn load_workload(&self, seed: u64, capacity_gpus: u64) -> Result<Workload, ScenarioError> {
        self.read_workload(seed, capacity_gpus, false)
    }

    /// Like [`Scenario::load_workload`], with openb's CPU-only pods kept as 0-GPU jobs
    /// ([`adapters::read_traces_keeping_cpu_only`]): the inflation experiment's draw.
    pub fn load_workload_keeping_cpu_only(
        &self,
        seed: u64,
        capacity_gpus: u64,
    ) -> Result<Workload, ScenarioError> {
        self.read_workload(seed, capacity_gpus, true)
    }

    /// The empirical source trace of a synthetic workload, when it names one.
    fn empirical(&self) -> Result<Option<Workload>, ScenarioError> {
        match &self.config.workload.empirical {
            Some(src) => {
                let f = self.format(&src.format, "workload.empirical.format")?;
                let path = self.input_file("workload.empirical.path", &src.path)?;
                Ok(Some(adapters::read_trace(f, &path)?))
            }
            None => Ok(None),
        }
    }

    fn read_workload(
        &self,
        seed: u64,
        capacity_gpus: u64,
        keep_cpu_only: bool,
    ) -> Result<Workload, ScenarioError> {
        let w = &self.config.workload;
        let raw = match &w.synthetic {
            Some(cfg) => {
                let empirical = self.empirical()?;
                synthetic::generate(cfg, &RngStreams::new(seed), 0, empirical.as_ref(), capacity_gpus)
                    .map_err(|e| self.workload_err(e))?
            }
            None => {
                let f = self.format(&w.format, "workload.format")?;
                let keyed = w.path.iter().map(|p| ("workload.path".to_string(), p));
                let listed = w
                    .paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("workload.paths[{i}]"), p));
                let paths = keyed
                    .chain(listed)
                    .map(|(key, p)| self.input_file(&key, p))
                    .collect::<Result<Vec<_>, _>>()?;
                if keep_cpu_only {
                    adapters::read_traces_keeping_cpu_only(f, &paths)?
                } else {
                    adapters::read_traces(f, &paths)?
                }
            }
        };
        let mut workload = transform::apply(raw, &w.transform).map_err(|e| self.workload_err(e))?;
        workload.measured_on = w.measured_on.clone();
        Ok(workload)
    }
}

/// Longest scenario name: a folder name well within every file system's limit.
const MAX_NAME: usize = 100;

/// Whether `name` is safe as one folder name: ASCII letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit (so never empty, hidden, `..`, or a path).
fn safe_name(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The 1-based line of dotted `key` (e.g. `workload.transform.load_scale`, or
/// `workload.paths[1]`) in scenario `text`: of the key's value, or of the deepest table
/// on its path that the file has; `None` if not even the first part is there.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = doc.as_item();
    let mut span = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(next) = item.as_table_like().and_then(|t| t.get(name)) else {
            break;
        };
        item = next;
        span = item.span().or(span);
        if let Some(i) = index {
            match item.as_array().and_then(|a| a.get(i)) {
                Some(v) => span = v.span().or(span),
                None => break,
            }
            break;
        }
    }
    span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
}

/// The error for a file that is not TOML but whose typed parse did not fail (not expected:
/// both read the same text).
fn unparsable(path: &Path) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        line: None,
        key: String::new(),
        message: "not a valid TOML file".into(),
    }
}

/// An error that only appears with overrides, put on the overrides of `target` whose key
/// is on the error's path (all of them when none is).
fn blame(overrides: &[Override], target: Target, key: &str, message: &str) -> OverrideError {
    let ours: Vec<&Override> = overrides.iter().filter(|o| o.target() == target).collect();
    let on_path: Vec<&Override> = ours
        .iter()
        .copied()
        .filter(|o| {
            let k = o.file_key();
            key.is_empty() || k.starts_with(key) || key.starts_with(k)
        })
        .collect();
    let named = if on_path.is_empty() { ours } else { on_path };
    let at = if key.is_empty() || key == "." {
        String::new()
    } else {
        let prefix = if target == Target::Topology {
            "topology."
        } else {
            ""
        };
        format!("`{prefix}{key}`: ")
    };
    // `power.feed_kw` and the like live in the topology file: say how to reach them.
    let hint = if target == Target::Scenario && message.contains("unknown field") {
        " (keys of the topology file take the prefix `topology.`, e.g. `topology.power.feed_kw`)"
    } else {
        ""
    };
    OverrideError {
        set: named
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join(" --set "),
        message: format!("{at}{}{hint}", message.trim()),
    }
}
