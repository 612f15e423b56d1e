//! Running a sweep's points: one single-threaded simulation per run, runs in parallel on
//! the rayon pool, each finished run appended to the journal.
//!
//! A cluster and a workload are built once and reused by every run that needs the same
//! one (same topology overrides; same workload section, and the same seed for a synthetic
//! workload), from a small cache bounded by the number of threads, so a sweep's cost per
//! run is the simulation, not the loading.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::columnar::TableFormat;
use crate::metrics::{OutputLevel, Recording, Summary};
use crate::scenario::{Policies, Scenario, ScenarioError};
use crate::sim::Simulation;
use crate::topology::LoadReport;
use crate::workload::Workload;

use super::inputs::{self, InputFile};
use super::journal::{self, Header, Index, Row, Writer};
use super::output::{self, Assembled};
use super::overrides::{Override, Target};
use super::spec::Grid;
use super::{figures, SweepError};

/// `--shard i/n`: this process runs the points `p` with `p mod n = i` (`0 ≤ i < n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// Shards in all.
    pub count: u64,
}

impl Shard {
    /// Parses `i/n`.
    pub fn parse(text: &str) -> Result<Shard, SweepError> {
        let bad = |why: &str| SweepError::Invalid(format!("--shard {text}: {why}"));
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, e.g. 0/4"))?;
        let index: u64 = i.trim().parse().map_err(|_| bad("I is not a whole number"))?;
        let count: u64 = n.trim().parse().map_err(|_| bad("N is not a whole number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "index out of range: I must be 0..{} (0-based)",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether point `p` is this shard's.
    pub fn owns(&self, p: u64) -> bool {
        p % self.count == self.index
    }
}

/// A scenario with its grid, ready to run.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The scenario with the command line's `--set` overrides (none of the grid).
    pub scenario: Scenario,
    /// The scenario file's text (each point re-reads it with its overrides).
    text: String,
    /// The command line's `--set` overrides.
    pub sets: Vec<Override>,
    /// The grid.
    pub grid: Grid,
    /// Hash of what decides the results: scenario and topology text, `--set`, and the
    /// input files' hashes (hex).
    pub hash: String,
    /// Every file the sweep's points read, with its hash.
    pub inputs: Vec<InputFile>,
}

/// Where and how to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Output directory.
    pub dir: PathBuf,
    /// Run only this shard's points (no result files then: `dcsim merge` writes them).
    pub shard: Option<Shard>,
    /// Start over when the directory holds another sweep's journal or results.
    pub force: bool,
    /// Write `sweep.csv` and `sweep_summary.csv` as CSV or as Parquet (`--format`).
    pub format: TableFormat,
}

/// What a sweep call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Runs this call (or shard) is responsible for.
    pub runs: u64,
    /// Of these, runs found done in the journal (a resumed sweep).
    pub resumed: u64,
    /// Whether `sweep.csv` and `sweep_summary.csv` were written (not for a shard).
    pub wrote_files: bool,
}

/// Cached values, at most `cap` of them, oldest dropped first.
struct Cache<T> {
    cap: usize,
    items: Mutex<VecDeque<(String, Arc<T>)>>,
}

impl<T> Cache<T> {
    fn new(cap: usize) -> Self {
        Cache {
            cap: cap.max(1),
            items: Mutex::new(VecDeque::new()),
        }
    }

    fn get_or<E>(&self, key: String, make: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        let lock = || self.items.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, v)) = lock().iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(make()?);
        let mut items = lock();
        if items.len() >= self.cap {
            items.pop_front();
        }
        items.push_back((key, Arc::clone(&v)));
        Ok(v)
    }
}

/// The clusters and workloads of recent runs.
pub struct Caches {
    topology: Cache<LoadReport>,
    workload: Cache<Workload>,
}

impl Caches {
    /// Caches sized for the current rayon pool.
    pub fn new() -> Caches {
        let n = 2 * rayon::current_num_threads();
        Caches {
            topology: Cache::new(n),
            workload: Cache::new(n),
        }
    }
}

impl Default for Caches {
    fn default() -> Self {
        Caches::new()
    }
}

fn fnv_hex(parts: &[&str]) -> String {
    let mut h = fnv::FnvHasher::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0xff]);
    }
    format!("{:016x}", h.finish())
}

impl Sweep {
    /// Loads a scenario with `--set` overrides and expands its `[sweep]` grid; checks
    /// every point's overrides against the scenario (and the first point's against the
    /// topology) before anything runs.
    pub fn load(path: &Path, sets: &[Override]) -> Result<Sweep, SweepError> {
        Self::read(path, sets, true)
    }

    /// Loads a scenario with `--set` overrides as a single point, its `[sweep]` table
    /// ignored (`dcsim plan` varies its own key).
    pub fn load_base(path: &Path, sets: &[Override]) -> Result<Sweep, SweepError> {
        Self::read(path, sets, false)
    }

    fn read(path: &Path, sets: &[Override], with_grid: bool) -> Result<Sweep, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let scenario = Scenario::parse_with(&text, path, sets)?;
        let spec = if with_grid {
            scenario.config.sweep.as_ref()
        } else {
            None
        };
        let grid = Grid::from_spec(spec).map_err(|source| SweepError::Spec {
            path: path.to_path_buf(),
            source,
        })?;
        let keys = grid.keys();
        if let Some(s) = sets.iter().find(|s| keys.contains(&s.key)) {
            return Err(SweepError::Invalid(format!(
                "--set {s}: `{}` is an axis of the sweep; remove one of the two",
                s.key
            )));
        }
        let topo_text = std::fs::read_to_string(scenario.topology_path()).unwrap_or_default();
        let set_text: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let point_sets = (0..grid.points()).map(|p| {
            let mut all = sets.to_vec();
            all.extend(grid.point(p));
            all
        });
        let inputs = inputs::of_points(&text, path, point_sets)?;
        let input_text: Vec<String> = inputs.iter().map(|f| format!("{} {}", f.fnv, f.path)).collect();
        let hash = fnv_hex(&[&text, &topo_text, &set_text.join("\n"), &input_text.join("\n")]);
        let sweep = Sweep {
            scenario,
            text,
            sets: sets.to_vec(),
            grid,
            hash,
            inputs,
        };
        for p in 0..sweep.grid.points() {
            let s = sweep
                .point_scenario(&sweep.grid.point(p))
                .map_err(|e| sweep.at(p, e))?;
            if p == 0 && s.overrides.iter().any(|o| o.target() == Target::Topology) {
                s.load_topology().map_err(|e| sweep.at(p, e))?;
            }
        }
        Ok(sweep)
    }

    fn at(&self, p: u64, source: ScenarioError) -> SweepError {
        let point: Vec<String> = self.grid.point(p).iter().map(|o| o.to_string()).collect();
        SweepError::Scenario {
            point: Some(format!("{p} ({})", point.join(", "))),
            source: Box::new(source),
        }
    }

    /// The scenario with `--set` and then `extra` applied.
    pub fn point_scenario(&self, extra: &[Override]) -> Result<Scenario, ScenarioError> {
        let mut all = self.sets.clone();
        all.extend_from_slice(extra);
        Scenario::parse_with(&self.text, &self.scenario.path, &all)
    }

    /// Runs one replication of the scenario with `extra` overrides; returns its seed and
    /// summary.
    pub fn run_one(
        &self,
        extra: &[Override],
        replication: u32,
        caches: &Caches,
    ) -> Result<(u64, Summary), ScenarioError> {
        let scenario = self.point_scenario(extra)?;
        let seed = scenario.config.seed.wrapping_add(u64::from(replication));
        let mut topo_key = scenario.topology_path().display().to_string();
        for o in scenario
            .overrides
            .iter()
            .filter(|o| o.target() == Target::Topology)
        {
            let _ = write!(topo_key, "|{o}");
        }
        let report = caches.topology.get_or(topo_key, || scenario.load_topology())?;
        let gpus = report.cluster.total_gpus();
        let w = &scenario.config.workload;
        let workload_key = if w.synthetic.is_some() {
            format!("{w:?}|{seed}|{gpus}")
        } else {
            format!("{w:?}")
        };
        let workload = caches
            .workload
            .get_or(workload_key, || scenario.load_workload(seed, gpus))?;
        let Policies {
            queue,
            placement,
            models,
        } = scenario.policies(&report, &workload, seed)?;
        let sim = Simulation::new(
            &report.cluster,
            &workload,
            queue,
            placement,
            scenario.sim_config(),
        )
        .with_models(models);
        // A sweep reads only the summary: its runs keep no records and no series, but
        // take every figure as `dcsim run` does (the point's `[metrics]` settings).
        let recording = Recording {
            level: OutputLevel::Summary,
            utilization_window: scenario.config.metrics.window(),
            // The economics bill reads every run's segments.
            keep_segments: scenario.config.economics.is_some(),
            ..Recording::default()
        };
        let mut out = sim.with_recording(recording).run(&mut |_| {});
        if let Some(e) = scenario.economics(&report.cluster)? {
            let bill = crate::economics::bill(&e, &out, &workload, &report.cluster)
                .map_err(ScenarioError::Economics)?;
            out.summary.economics = Some(crate::economics::EconSummary::of(&bill));
        }
        Ok((seed, out.summary))
    }

    fn header(&self, shard: Option<Shard>) -> Header {
        Header {
            format: journal::FORMAT.into(),
            sweep: self.hash.clone(),
            scenario: self.scenario.config.name.clone(),
            keys: self.grid.keys(),
            points: self.grid.points(),
            replications: self.grid.replications,
            shard: shard.map(|s| (s.index, s.count)),
            inputs: self.inputs.clone(),
        }
    }

    /// Runs the sweep (or one shard of it) into `opts.dir` on the current rayon pool,
    /// resuming from the directory's journal when it holds this sweep's; `progress` is
    /// called with (runs done, runs in all) after each run. Without a shard, writes
    /// `sweep.csv` and `sweep_summary.csv` at the end.
    pub fn run(
        &self,
        opts: &SweepOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SweepReport, SweepError> {
        let dir = &opts.dir;
        let io = |source| SweepError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(journal::FILE);
        let header = self.header(opts.shard);
        let existing = if path.exists() {
            Some(Index::read(&path))
        } else {
            None
        };
        let (mut writer, done) = match existing {
            Some(Ok(ix)) if ix.header == header => {
                (Writer::append(&ix)?, ix.runs.iter().map(|r| r.0).collect())
            }
            Some(Ok(ix)) if !opts.force => {
                return Err(match inputs::first_change(&ix.header.inputs, &header.inputs) {
                    Some(change) => SweepError::InputChanged {
                        dir: dir.clone(),
                        change,
                    },
                    None => SweepError::Changed { dir: dir.clone() },
                })
            }
            Some(_) if !opts.force => return Err(SweepError::Changed { dir: dir.clone() }),
            None if !opts.force && output::has_results(dir) => {
                return Err(SweepError::Changed { dir: dir.clone() })
            }
            _ => (Writer::create(&path, &header)?, Vec::new()),
        };
        let reps = u64::from(self.grid.replications);
        let mine: Vec<u64> = (0..self.grid.points())
            .filter(|&p| opts.shard.is_none_or(|s| s.owns(p)))
            .flat_map(|p| (0..reps).map(move |r| p * reps + r))
            .collect();
        let total = mine.len() as u64;
        let pending: Vec<u64> = mine
            .into_iter()
            .filter(|r| done.binary_search(r).is_err())
            .collect();
        let resumed = total - pending.len() as u64;
        let finished = AtomicU64::new(resumed);
        progress(resumed, total);
        let caches = Caches::new();
        let writer_lock = Mutex::new(&mut writer);
        pending
            .par_iter()
            .try_for_each(|&run| -> Result<(), SweepError> {
                let (point, replication) = (run / reps, (run % reps) as u32);
                let extra = self.grid.point(point);
                let (seed, summary) = self
                    .run_one(&extra, replication, &caches)
                    .map_err(|e| self.at(point, e))?;
                let row = Row {
                    run,
                    point,
                    replication,
                    seed,
                    values: self.grid.cells(point),
                    figures: figures::of(&summary),
                };
                writer_lock.lock().unwrap_or_else(|e| e.into_inner()).push(&row)?;
                progress(finished.fetch_add(1, Ordering::Relaxed) + 1, total);
                Ok(())
            })?;
        drop(writer);
        let wrote_files = opts.shard.is_none();
        if wrote_files {
            Assembled::new(vec![Index::read(&path)?])?.write(dir, opts.format)?;
        }
        Ok(SweepReport {
            runs: total,
            resumed,
            wrote_files,
        })
    }
}
